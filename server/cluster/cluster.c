/* SPDX-License-Identifier: MIT */
/*
 * cluster.c -- the registry shared through etcd.
 *
 * Keys under the prefix P (default /clusterip/):
 *   P services/NS/NAME              a Service applied through the API of
 *                                   any host: cluster-wide, no lease
 *   P hosts/HOST/services/NS/NAME   a Service of HOST's manifest files
 *   P hosts/HOST/pods/NS/NAME       or Docker; every pod of HOST: held
 *                                   by HOST's lease, which the daemon
 *                                   keeps alive, so they vanish when it
 *                                   dies
 *   P hosts/HOST/endpoints/NS/NAME  an Endpoints object of HOST (files,
 *                                   API): its pods of this host, as one
 *                                   manifest, on HOST's lease
 *   P vips/ADDR                     the etcd key of the Service holding
 *                                   the VIP (IPv4 or IPv6), claimed with a
 *                                   create-if-absent transaction (on the
 *                                   host's lease for a host's Service)
 * Values are {"host": HOST, "object": the object as a manifest}, the
 * allocated VIP written as spec.clusterIP so that every host uses it.
 *
 * A pod registered with a TTL through the API is the exception: its key
 * is on a lease of its own (cluster_podlease.c).
 *
 * This file writes: local changes (any owner but etcd) reach the
 * registry first; the registry tells us, the keys they touch are noted,
 * and a zero-timeout event writes them all in one transaction: one
 * apply, one transaction. A write etcd did not take stays pending and
 * goes again once etcd answers. cluster_read.c applies what the other
 * hosts wrote. When etcd does not answer the daemon keeps what it has
 * and says so once (/readyz, clusterip_etcd_up, the log).
 */
#include "config.h"

#include <sys/types.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "conf.h"
#include "registry.h"
#include "manifest.h"
#include "objjson.h"
#include "metrics.h"
#include "runtime.h"
#include "etcd.h"
#include "cluster.h"
#include "cluster_int.h"

#define CLUSTER_MAX_PASSWORD	4096
/* Write transactions in flight at once. */
#define CLUSTER_MAX_INFLIGHT	4

static struct cluster *cl;

static void	cluster_reg_cb(enum registry_event, const struct service *,
		    const struct pod *, void *);
static void	cluster_schedule(struct cluster *);
static void	cluster_pending_put(struct cluster *, const char *,
		    struct cluster_pending *, bool);

static void
pending_free(void *p)
{
	struct cluster_pending *pd = p;

	if (pd == NULL)
		return;
	free(pd->objkey);
	free(pd->vip);
	free(pd->vip6);
	free(pd);
}

char *
cluster_obj_key(const struct cluster *c, enum registry_kind kind,
    const char *objkey, const struct owner *o)
{
	const char *what = kind == REGISTRY_POD ? "pods" :
	    kind == REGISTRY_ENDPOINTS ? "endpoints" : "services";
	char *k;

	if (kind == REGISTRY_SERVICE && o->kind == OWNER_API) {
		if (asprintf(&k, "%s%s/%s", c->prefix, what, objkey) == -1)
			return NULL;
	} else if (asprintf(&k, "%shosts/%s/%s/%s", c->prefix, c->host, what,
	    objkey) == -1)
		return NULL;
	return k;
}

bool
cluster_key_is_host(const struct cluster *c, const char *key)
{
	return strncmp(key, c->prefix, c->prefixlen) == 0 &&
	    strncmp(key + c->prefixlen, "hosts/", 6) == 0;
}

bool
cluster_pending_has(const struct cluster *c, const char *etcd_key)
{
	return hmap_get(c->pending, etcd_key) != NULL;
}

/* Health: told once per change, as a log line, a metric and /readyz. */
static void
cluster_health_cb(bool up, const char *why, void *arg)
{
	struct cluster *c = arg;

	c->rt->etcd = up ? RT_ETCD_UP : RT_ETCD_DOWN;
	metric_set(c->m_up, up ? 1 : 0);
	if (up) {
		log_info("etcd: reachable; catching up");
		if (c->retry)
			cluster_schedule(c);
		if (!c->loaded)
			cluster_read_prefix(c);
		else
			cluster_watch_resume(c);
	} else {
		log_warnx("etcd: unreachable (%s); serving the last state",
		    why != NULL ? why : "no answer");
		cluster_watch_pause(c);
	}
}

void
cluster_note_later(struct cluster *c, const char *svc_key)
{
	const struct service *svc;
	struct cluster_pending *pd;
	char *k;

	if ((svc = registry_find_service_key(c->rt->reg, svc_key)) == NULL ||
	    svc->owner.kind == OWNER_ETCD)
		return;
	if ((k = cluster_obj_key(c, REGISTRY_SERVICE, svc_key,
	    &svc->owner)) == NULL || (pd = calloc(1, sizeof(*pd))) == NULL ||
	    (pd->objkey = strdup(svc_key)) == NULL) {
		if (k != NULL && pd != NULL)
			pending_free(pd);
		free(k);
		return;
	}
	pd->kind = REGISTRY_SERVICE;
	pd->new_vip = true;
	cluster_pending_put(c, k, pd, true);
	free(k);
	c->retry = true;	/* the tick, or etcd's return, writes it */
}

/* Stores pd under k unless a newer entry is there (keep_newer). */
static void
cluster_pending_put(struct cluster *c, const char *k,
    struct cluster_pending *pd, bool keep_newer)
{
	struct cluster_pending *cur;
	void *old = NULL;

	if (keep_newer && (cur = hmap_get(c->pending, k)) != NULL) {
		cur->new_vip |= pd->new_vip;
		if (cur->vip == NULL) {
			cur->vip = pd->vip;
			pd->vip = NULL;
		}
		if (cur->vip6 == NULL) {
			cur->vip6 = pd->vip6;
			pd->vip6 = NULL;
		}
		pending_free(pd);
		return;
	}
	if (hmap_put(c->pending, k, pd, &old) != 0) {
		log_warnx("etcd: out of memory: %s not published", k);
		pending_free(pd);
		return;
	}
	if (old != NULL) {
		pd->new_vip |= ((struct cluster_pending *)old)->new_vip;
		if (pd->vip == NULL) {
			pd->vip = ((struct cluster_pending *)old)->vip;
			((struct cluster_pending *)old)->vip = NULL;
		}
		if (pd->vip6 == NULL) {
			pd->vip6 = ((struct cluster_pending *)old)->vip6;
			((struct cluster_pending *)old)->vip6 = NULL;
		}
	}
	pending_free(old);
}

void
cluster_note(struct cluster *c, enum registry_kind kind, const char *objkey,
    const struct owner *owner, bool remove, bool new_vip, const char *vip,
    const char *vip6)
{
	struct cluster_pending *pd;
	char *k;

	if (owner->kind == OWNER_ETCD || c->applying)
		return;
	k = cluster_obj_key(c, kind, objkey, owner);
	if (k == NULL || (pd = calloc(1, sizeof(*pd))) == NULL ||
	    (pd->objkey = strdup(objkey)) == NULL ||
	    (vip != NULL && (pd->vip = strdup(vip)) == NULL) ||
	    (vip6 != NULL && (pd->vip6 = strdup(vip6)) == NULL)) {
		if (k != NULL && pd != NULL)
			pending_free(pd);
		free(k);
		log_warnx("etcd: out of memory: %s not published", objkey);
		return;
	}
	pd->kind = kind;
	pd->remove = remove;
	pd->new_vip = new_vip;
	cluster_pending_put(c, k, pd, false);
	free(k);
	cluster_schedule(c);
}

static void
cluster_reg_cb(enum registry_event ev, const struct service *svc,
    const struct pod *pod, void *arg)
{
	struct cluster *c = arg;
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN];

	switch (ev) {
	case REG_SVC_ADDED:
	case REG_SVC_CHANGED:
		cluster_note(c, REGISTRY_SERVICE, svc->key, &svc->owner,
		    false, ev == REG_SVC_ADDED, NULL, NULL);
		break;
	case REG_SVC_REMOVED:
		cluster_note(c, REGISTRY_SERVICE, svc->key, &svc->owner,
		    true, false, svc->vip.s_addr != 0 ?
		    inet4_str(svc->vip, ip) : NULL, in6_is_unset(&svc->ext->vip6) ?
		    NULL : inet_ntop(AF_INET6, &svc->ext->vip6, ip6, sizeof(ip6)));
		break;
	case REG_POD_ADDED:
	case REG_POD_CHANGED:
	case REG_POD_REMOVED:
		if (pod->endpoints_of != NULL)	/* its object goes whole */
			cluster_note(c, REGISTRY_ENDPOINTS, pod->endpoints_of,
			    &pod->owner, false, false, NULL, NULL);
		else
			cluster_note(c, REGISTRY_POD, pod->key, &pod->owner,
			    ev == REG_POD_REMOVED, false, NULL, NULL);
		break;
	case REG_ENDPOINTS_CHANGED:
		break;
	}
}

static void
cluster_schedule(struct cluster *c)
{
	struct timeval tv = { 0, 0 };

	if (!evtimer_pending(c->flush_ev, NULL))
		evtimer_add(c->flush_ev, &tv);
}

/*
 * The allocated VIPs as spec.clusterIP and, with two families,
 * spec.clusterIPs with the families and policy they came from: an IPv6
 * VIP is shared like an IPv4 one. 0, or -1 on OOM.
 */
static int
cluster_svc_vips(const struct service *svc, json_t *spec)
{
	char buf[INET6_ADDRSTRLEN];
	json_t *ips, *fams;
	size_t i, n = svc->nfamilies;
	int rc = 0;

	if (n == 0) {
		if (svc->vip.s_addr == 0)
			return 0;
		inet_ntop(AF_INET, &svc->vip, buf, sizeof(buf));
		return json_object_set_new(spec, "clusterIP",
		    json_string(buf));
	}
	if ((ips = json_array()) == NULL || (fams = json_array()) == NULL) {
		json_decref(ips);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (svc->families[i] == IP_FAMILY_V6) {
			if (in6_is_unset(&svc->ext->vip6))
				break;
			inet_ntop(AF_INET6, &svc->ext->vip6, buf, sizeof(buf));
		} else {
			if (svc->vip.s_addr == 0)
				break;
			inet_ntop(AF_INET, &svc->vip, buf, sizeof(buf));
		}
		rc |= json_array_append_new(ips, json_string(buf));
		rc |= json_array_append_new(fams, json_string(
		    ip_family_name(svc->families[i])));
	}
	if (i < n || json_array_size(ips) == 0) {
		json_decref(ips);
		json_decref(fams);
		return 0;	/* not allocated yet: the next write has it */
	}
	rc |= json_object_set(spec, "clusterIP", json_array_get(ips, 0));
	if (n == 2) {
		rc |= json_object_set_new(spec, "clusterIPs", ips);
		rc |= json_object_set_new(spec, "ipFamilies", fams);
		rc |= json_object_set_new(spec, "ipFamilyPolicy", json_string(
		    ip_family_policy_name(svc->policy)));
	} else {
		json_decref(ips);
		rc |= json_object_set_new(spec, "ipFamilies", fams);
	}
	return rc != 0 ? -1 : 0;
}

/* The value stored for svc or pod: {"host", "object"}. Caller frees. */
static char *
cluster_value(struct cluster *c, const struct service *svc,
    const struct pod *pod)
{
	json_t *obj, *v, *spec;
	char *s;

	if (svc != NULL) {
		obj = objjson_service(svc, OBJJSON_MANIFEST);
		spec = json_object_get(obj, "spec");
		/* The allocated VIPs travel, so every host uses them. */
		if (spec != NULL && svc->type == SVC_CLUSTERIP &&
		    svc->ext->nreq_ips == 0 && cluster_svc_vips(svc, spec) != 0) {
			json_decref(obj);
			obj = NULL;
		}
	} else {
		obj = objjson_pod(pod, OBJJSON_MANIFEST);
		if (obj != NULL && c->adv_ip != NULL &&
		    cluster_pod_via_host(pod) &&
		    cluster_pod_publish(obj, c->adv_ip) != 0) {
			json_decref(obj);
			obj = NULL;
		}
	}
	if (obj == NULL)
		return NULL;
	v = json_pack("{s:s,s:o}", "host", c->host, "object", obj);
	s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	return s;
}

/*
 * The value of the Endpoints object objkey as this host holds it (its
 * pods of any owner but etcd) into *out; *out NULL when it has none
 * left (the key goes). 0, or -1 on OOM.
 */
static int
cluster_eps_value(struct cluster *c, const char *objkey, char **out)
{
	struct pod *const *all;
	struct pod **mine = NULL;
	const char *slash = strchr(objkey, '/');
	char ns[64];
	json_t *obj = NULL, *v = NULL;
	size_t i, n, k = 0;
	int rc = -1;

	*out = NULL;
	n = registry_endpoints_pods(c->rt->reg, objkey, &all);
	if (slash == NULL || (size_t)(slash - objkey) >= sizeof(ns))
		return 0;
	if (n > 0 && (mine = calloc(n, sizeof(*mine))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (all[i]->owner.kind != OWNER_ETCD)
			mine[k++] = all[i];
	if (k == 0) {
		free(mine);
		return 0;
	}
	memcpy(ns, objkey, (size_t)(slash - objkey));
	ns[slash - objkey] = '\0';
	if ((obj = objjson_endpoints_manifest(ns, slash + 1, mine, k)) !=
	    NULL && (v = json_pack("{s:s,s:O}", "host", c->host, "object",
	    obj)) != NULL && (*out = json_dumps(v, JSON_COMPACT)) != NULL)
		rc = 0;
	json_decref(v);
	json_decref(obj);
	free(mine);
	return rc;
}

/* What one flush wrote, kept until etcd said whether it took it. */
struct cluster_flight {
	struct cluster	*c;
	struct hmap	*keys;		/* etcd key -> cluster_pending */
};

static void
cluster_flush_done(const char *error, bool ok, int64_t rev,
    struct etcd_kv *kvs, size_t n, void *arg)
{
	struct cluster_flight *f = arg;
	struct cluster *c = f->c;
	struct cluster_pending *pd;
	struct hmap_iter it;
	const char *k;
	void *val;

	if (error != NULL) {
		metric_add(c->m_txn_fail, 1);
		log_warnx("etcd: %zu change(s) not written (%s); written "
		    "again once etcd answers", hmap_count(f->keys), error);
		/* Back to pending, under what changed since. */
		hmap_iter_init(&it, f->keys);
		while (hmap_iter_next(&it, &k, &val)) {
			pd = hmap_del(f->keys, k);
			cluster_pending_put(c, k, pd, true);
		}
		c->retry = true;
	}
	hmap_free(f->keys, pending_free);
	free(f);
	c->inflight--;
	if (error == NULL && hmap_count(c->pending) > 0)
		cluster_schedule(c);	/* what waited for a free slot */
}

/*
 * Writes the pending keys: one transaction, or several of at most
 * CLUSTER_MAX_TXN_OPS operations when more changed at once than etcd
 * takes in one (its --max-txn-ops, 128 by default).
 */
static void
cluster_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	struct cluster_flight *f = NULL;
	struct cluster_pending *pd;
	struct hmap_iter it;
	struct etcd_txn *t;
	const struct service *svc;
	const struct pod *pod;
	struct cluster_claims *cc = NULL;
	const char *k;
	char *v, ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN];
	void *val;
	int64_t lease;
	size_t nops = 0;
	int rc = 0;

	if (hmap_count(c->pending) == 0 || c->lease == 0)
		return;		/* the lease's grant flushes */
	/*
	 * A few transactions at a time: the rest waits here, not in
	 * libcurl's queue where its timeout would run out (a host
	 * publishing 100,000 objects at start).
	 */
	if (c->inflight >= CLUSTER_MAX_INFLIGHT)
		return;		/* a flush's answer schedules the next */
	if ((t = etcd_txn_new()) == NULL ||
	    (f = calloc(1, sizeof(*f))) == NULL ||
	    (f->keys = hmap_new()) == NULL ||
	    (cc = cluster_claims_new(c)) == NULL) {
		etcd_txn_free(t);
		if (f != NULL)
			hmap_free(f->keys, NULL);
		free(f);
		return;
	}
	c->retry = false;
	c->inflight++;
	f->c = c;
	/* This transaction's share of the pending keys. */
	hmap_iter_init(&it, c->pending);
	while (nops < CLUSTER_MAX_TXN_OPS &&
	    hmap_iter_next(&it, &k, &val)) {
		if (hmap_put(f->keys, k, val, NULL) != 0)
			break;
		hmap_del(c->pending, k);
		nops++;
	}
	if (hmap_count(c->pending) > 0)
		cluster_schedule(c);	/* the rest in the next one */
	hmap_iter_init(&it, f->keys);
	while (rc == 0 && hmap_iter_next(&it, &k, &val)) {
		pd = val;
		if (pd->kind == REGISTRY_ENDPOINTS) {
			if (cluster_eps_value(c, pd->objkey, &v) != 0)
				rc = ERR_NOMEM;
			else if (v == NULL)
				rc = etcd_txn_delete(t, k, strlen(k));
			else
				rc = etcd_txn_put(t, k, strlen(k), v,
				    strlen(v), c->lease);
			free(v);
			continue;
		}
		svc = pd->kind == REGISTRY_SERVICE ?
		    registry_find_service_key(c->rt->reg, pd->objkey) : NULL;
		pod = pd->kind == REGISTRY_POD ?
		    registry_find_pod_key(c->rt->reg, pd->objkey) : NULL;
		if ((svc != NULL && svc->owner.kind == OWNER_ETCD) ||
		    (pod != NULL && pod->owner.kind == OWNER_ETCD))
			svc = NULL, pod = NULL;	/* another host's now */
		if (pd->remove || (svc == NULL && pod == NULL)) {
			rc = etcd_txn_delete(t, k, strlen(k));
			if (pd->vip != NULL)
				cluster_vip_release(c, k, pd->vip);
			if (pd->vip6 != NULL)
				cluster_vip_release(c, k, pd->vip6);
			continue;
		}
		if ((v = cluster_value(c, svc, pod)) == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		lease = cluster_key_is_host(c, k) ? c->lease : 0;
		if (pod != NULL && cluster_podlease_of(c, pd->objkey,
		    &lease) && lease == 0) {
			free(v);	/* its lease's grant writes it */
			continue;
		}
		rc = etcd_txn_put(t, k, strlen(k), v, strlen(v), lease);
		free(v);
		if (svc == NULL || !pd->new_vip || svc->type != SVC_CLUSTERIP)
			continue;
		/* Both families' VIPs are claimed alike, in one batch. */
		if (rc == 0 && svc->vip.s_addr != 0)
			rc = cluster_claims_add(cc, svc->key, k,
			    inet4_str(svc->vip, ip));
		if (rc == 0 && !in6_is_unset(&svc->ext->vip6))
			rc = cluster_claims_add(cc, svc->key, k,
			    inet_ntop(AF_INET6, &svc->ext->vip6, ip6, sizeof(ip6)));
	}
	cluster_claims_send(cc);
	if (rc != 0 || etcd_txn_commit(c->etcd, t, cluster_flush_done,
	    f) != 0) {
		if (rc != 0)
			etcd_txn_free(t);
		cluster_flush_done("cannot send", false, 0, NULL, 0, f);
	}
}

static void
cluster_note_svc_cb(struct service *svc, void *arg)
{
	/* The API's Services are etcd's: ours go only when changed. */
	if (svc->owner.kind != OWNER_API)
		cluster_note(arg, REGISTRY_SERVICE, svc->key, &svc->owner,
		    false, true, NULL, NULL);
}

static void
cluster_note_pod_cb(struct pod *pod, void *arg)
{
	if (pod->endpoints_of != NULL)
		cluster_note(arg, REGISTRY_ENDPOINTS, pod->endpoints_of,
		    &pod->owner, false, false, NULL, NULL);
	else
		cluster_note(arg, REGISTRY_POD, pod->key, &pod->owner, false,
		    false, NULL, NULL);
}

/* Every object of this host: at start, and under a new lease. */
void
cluster_publish_all(struct cluster *c)
{
	registry_foreach_service(c->rt->reg, cluster_note_svc_cb, c);
	registry_foreach_pod(c->rt->reg, cluster_note_pod_cb, c);
	cluster_schedule(c);
}

static void cluster_grant(struct cluster *);

void
cluster_lease_ask(struct cluster *c, bool *granting, int64_t ttl_s,
    etcd_lease_cb *cb, void *arg)
{
	if (*granting)
		return;
	*granting = etcd_lease_grant(c->etcd, ttl_s, cb, arg) == 0;
}

bool
cluster_lease_got(const char *what, const char *name, const char *error,
    int64_t id, int64_t ttl, bool quiet)
{
	if (error != NULL || id == 0) {
		log_warnx("etcd: no lease for %s %s: %s", what, name,
		    error != NULL ? error : "no id");
		return false;
	}
	if (quiet)
		log_debug("etcd: %s %s holds lease %" PRIx64 " (TTL %" PRId64
		    " s)", what, name, (uint64_t)id, ttl);
	else
		log_info("etcd: %s %s holds lease %" PRIx64 " (TTL %" PRId64
		    " s)", what, name, (uint64_t)id, ttl);
	return true;
}

static void
cluster_lease_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct cluster *c = arg;

	c->granting = false;
	if (!cluster_lease_got("host", c->host, error, id, ttl, false))
		return;		/* the tick tries again */
	c->lease = id;
	cluster_publish_all(c);
}

static void
cluster_grant(struct cluster *c)
{
	cluster_lease_ask(c, &c->granting, c->ttl_s, cluster_lease_cb, c);
}

static void
cluster_keepalive_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct cluster *c = arg;

	if (error != NULL)
		return;		/* the health callback said it */
	if (ttl <= 0 && id == c->lease) {
		log_warnx("etcd: the lease of host %s ran out; publishing "
		    "again under a new one", c->host);
		c->lease = 0;
		cluster_grant(c);
	}
}

/* Every third of the TTL: keep the lease alive, or get one. */
static void
cluster_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;

	if (c->lease == 0)
		cluster_grant(c);
	else
		(void)etcd_lease_keepalive(c->etcd, c->lease,
		    cluster_keepalive_cb, c);
	if (!c->loaded)
		cluster_read_prefix(c);
	else if (c->watch == NULL && etcd_is_up(c->etcd))
		cluster_watch_resume(c);
	if (c->retry) {
		cluster_podlease_retry(c);
		cluster_schedule(c);
	}
}

/* The endpoints list, and the password from its file. */
static int
cluster_conf(const struct cip_conf *conf, struct etcd_conf *ec, char ***eps,
    char **password, char *err, size_t errlen)
{
	char *list, *p, *save = NULL, *nl;
	size_t n = 0, len;

	*password = NULL;
	if ((list = strdup(conf->etcd)) == NULL ||
	    (*eps = calloc(strlen(conf->etcd) / 8 + 2, sizeof(**eps))) ==
	    NULL) {
		free(list);
		errf(err, errlen, "out of memory");
		return -1;
	}
	for (p = strtok_r(list, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		(*eps)[n++] = p;	/* list is freed with eps[0] */
	ec->endpoints = (const char *const *)*eps;
	ec->nendpoints = n;
	ec->cacert = conf->etcd_cacert;
	ec->cert = conf->etcd_cert;
	ec->key = conf->etcd_key;
	ec->user = conf->etcd_user;
	if (conf->etcd_password_file != NULL) {
		if ((*password = read_file(conf->etcd_password_file,
		    CLUSTER_MAX_PASSWORD, &len, err, errlen)) == NULL)
			return -1;
		if ((nl = strchr(*password, '\n')) != NULL)
			*nl = '\0';
	}
	ec->password = *password;
	return 0;
}

int
cluster_init(struct runtime *rt)
{
	struct etcd_conf ec = { 0 };
	struct cluster *c;
	struct timeval tv;
	char err[1024], hostname[256], **eps = NULL, *password = NULL;
	const char *host;

	if (rt->conf->etcd == NULL)
		return 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->rt = rt;
	if (cluster_conf(rt->conf, &ec, &eps, &password, err,
	    sizeof(err)) != 0) {
		log_warnx("etcd: %s", err);
		goto fail;
	}
	host = rt->conf->advertise_address;
	if (host == NULL) {
		if (gethostname(hostname, sizeof(hostname)) != 0)
			strlcpy(hostname, "localhost", sizeof(hostname));
		hostname[sizeof(hostname) - 1] = '\0';
		host = hostname;
	}
	if (strchr(host, '/') != NULL || *host == '\0') {
		log_warnx("etcd: host name %s cannot be a key", host);
		goto fail;
	}
	c->etcd = etcd_new(rt->base, &ec);
	if (password != NULL)
		explicit_bzero(password, strlen(password));
	free(password);
	password = NULL;
	if (eps != NULL)
		free(eps[0]);
	free(eps);
	eps = NULL;
	c->ttl_s = (int64_t)(rt->conf->etcd_lease_ttl_ms / 1000);
	if (c->etcd == NULL || (c->host = strdup(host)) == NULL ||
	    (c->prefix = strdup(rt->conf->etcd_prefix)) == NULL ||
	    (c->pending = hmap_new()) == NULL ||
	    (c->lost = hmap_new()) == NULL ||
	    (c->flush_ev = evtimer_new(rt->base, cluster_flush_cb, c)) ==
	    NULL ||
	    (c->tick = event_new(rt->base, -1, EV_PERSIST, cluster_tick_cb,
	    c)) == NULL ||
	    registry_subscribe(rt->reg, cluster_reg_cb, c) != 0 ||
	    cluster_podlease_init(c) != 0)
		goto fail;
	c->prefixlen = strlen(c->prefix);
	if (cluster_publish_addr_ok(rt->conf->advertise_address) &&
	    (c->adv_ip = strdup(rt->conf->advertise_address)) == NULL)
		goto fail;
	c->m_up = metrics_get("clusterip_etcd_up", METRIC_GAUGE,
	    "1 while an etcd member answers", "", NULL, 0);
	c->m_txn_fail = metrics_get("clusterip_etcd_write_failures_total",
	    METRIC_COUNTER, "transactions etcd did not take", "", NULL, 0);
	c->m_vip_conflicts = metrics_get("clusterip_etcd_vip_conflicts_total",
	    METRIC_COUNTER, "VIPs another service held in etcd", "", NULL, 0);
	c->m_remote = metrics_get("clusterip_etcd_changes_total",
	    METRIC_COUNTER, "changes of other hosts applied from etcd", "",
	    NULL, 0);
	etcd_set_health_cb(c->etcd, cluster_health_cb, c);
	rt->etcd = RT_ETCD_DOWN;
	evtimer_add(c->tick, ms_to_tv((uint64_t)c->ttl_s * 1000 / 3, &tv));
	cl = c;
	log_info("etcd: %s as host %s, prefix %s", rt->conf->etcd, c->host,
	    c->prefix);
	cluster_grant(c);
	cluster_read_prefix(c);
	return 0;
fail:
	if (password != NULL)
		explicit_bzero(password, strlen(password));
	free(password);
	if (eps != NULL)
		free(eps[0]);
	free(eps);
	cl = c;
	cluster_shutdown();
	return -1;
}

/* Waiting for the revoke at most this long: a stop is not held up. */
#define CLUSTER_STOP_MS		3000

static void
cluster_stopped(struct cluster *c)
{
	cluster_stop_cb *done = c->stop_cb;

	if (done == NULL)
		return;
	c->stop_cb = NULL;
	if (c->stop_ev != NULL)
		evtimer_del(c->stop_ev);
	done(c->stop_arg);
}

static void
cluster_revoke_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct cluster *c = arg;

	if (error != NULL)
		log_warnx("etcd: lease of host %s not revoked (%s); its keys "
		    "go after the TTL", c->host, error);
	else
		log_info("etcd: lease of host %s revoked", c->host);
	c->lease = 0;
	if (--c->stop_wait == 0)
		cluster_stopped(c);
}

/* A pod's lease: its registrant can no longer renew it here. */
static void
cluster_pod_revoke_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct cluster *c = arg;

	if (--c->stop_wait == 0)
		cluster_stopped(c);
}

static void
cluster_stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;

	log_warnx("etcd: no answer to the revoke of host %s's lease; its "
	    "keys go after the TTL", c->host);
	cluster_stopped(c);
}

void
cluster_stop(cluster_stop_cb *done, void *arg)
{
	struct cluster *c = cl;
	struct timeval tv;

	/* A second signal while the revoke is out stops at once. */
	if (c == NULL || c->lease == 0 || c->stop_cb != NULL ||
	    !etcd_is_up(c->etcd)) {
		done(arg);
		return;
	}
	/* Nothing more is written: a put on the revoked lease would fail. */
	registry_unsubscribe(c->rt->reg, cluster_reg_cb, c);
	evtimer_del(c->flush_ev);
	evtimer_del(c->tick);
	c->stop_cb = done;
	c->stop_arg = arg;
	c->rt->pod_lease = NULL;	/* the API's leases end with us */
	c->rt->pod_renew = NULL;
	c->rt->pod_lease_left = NULL;
	if ((c->stop_ev = evtimer_new(c->rt->base, cluster_stop_timeout_cb,
	    c)) == NULL || etcd_lease_revoke(c->etcd, c->lease,
	    cluster_revoke_cb, c) != 0) {
		cluster_stopped(c);
		return;
	}
	c->stop_wait = 1 + cluster_podlease_revoke_all(c,
	    cluster_pod_revoke_cb);
	evtimer_add(c->stop_ev, ms_to_tv(CLUSTER_STOP_MS, &tv));
}

void
cluster_shutdown(void)
{
	struct cluster *c = cl;

	if (c == NULL)
		return;
	cl = NULL;
	registry_unsubscribe(c->rt->reg, cluster_reg_cb, c);
	c->rt->etcd = RT_ETCD_OFF;
	if (c->flush_ev != NULL)
		event_free(c->flush_ev);
	if (c->tick != NULL)
		event_free(c->tick);
	if (c->stop_ev != NULL)
		event_free(c->stop_ev);
	cluster_podlease_shutdown(c);
	etcd_free(c->etcd);
	hmap_free(c->pending, pending_free);
	hmap_free(c->lost, free);
	cluster_read_free(c);
	free(c->host);
	free(c->adv_ip);
	free(c->prefix);
	free(c);
}
