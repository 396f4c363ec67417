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
 *   P vips/ADDR                     "NS/NAME": the VIP's holder, claimed
 *                                   with a create-if-absent transaction
 * Values are {"host": HOST, "object": the object as a manifest}, the
 * allocated VIP written as spec.clusterIP so that every host uses it.
 *
 * Local changes (any owner but etcd) reach the registry first; the
 * registry tells us, the keys they touch are noted, and a zero-timeout
 * event writes them all in one transaction: one apply, one
 * transaction. Other hosts' objects come from a read of the prefix at
 * start, then a watch from that revision, and are applied to the
 * registry owned by etcd (id: the host that published them; none for
 * cluster-wide ones). When etcd does not answer the daemon keeps what it
 * has, says so (/readyz, clusterip_etcd_up, one log line), and when
 * etcd answers again it publishes everything of its own again while the
 * watch resumes where it stopped.
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

#define CLUSTER_MAX_PASSWORD	4096

/* A key to write at the next flush: put the object, or delete. */
struct cluster_pending {
	enum registry_kind	 kind;
	char			*objkey;	/* "ns/name" */
	bool			 remove;
	bool			 new_vip;	/* claim the VIP key too */
};

struct cluster {
	struct runtime		*rt;
	struct etcd		*etcd;
	struct etcd_watch	*watch;
	char			*prefix;
	size_t			 prefixlen;
	char			*host;
	int64_t			 lease;		/* 0: none yet */
	int64_t			 ttl_s;
	bool			 granting;
	bool			 loaded;	/* the prefix was read once */
	bool			 republish;	/* a write failed: all again */
	struct hmap		*pending;	/* etcd key -> cluster_pending */
	struct event		*flush_ev;
	struct event		*tick;		/* keepalive, retries */
	struct metric		*m_up;
	struct metric		*m_txn_fail;
	struct metric		*m_vip_conflicts;
	struct metric		*m_remote;
};

static struct cluster *cl;

static void	cluster_reg_cb(enum registry_event, const struct service *,
		    const struct pod *, void *);
static void	cluster_read_prefix(struct cluster *);
static void	cluster_schedule(struct cluster *);
static void	cluster_publish_all(struct cluster *);

static void
pending_free(void *p)
{
	struct cluster_pending *pd = p;

	if (pd == NULL)
		return;
	free(pd->objkey);
	free(pd);
}

/* P + "services/" + key, or P + "hosts/H/" + what + key. Caller frees. */
static char *
cluster_key(const struct cluster *c, const char *what, const char *objkey,
    bool host)
{
	char *k;

	if (host) {
		if (asprintf(&k, "%shosts/%s/%s/%s", c->prefix, c->host, what,
		    objkey) == -1)
			return NULL;
	} else if (asprintf(&k, "%s%s/%s", c->prefix, what, objkey) == -1)
		return NULL;
	return k;
}

/* Health: told once per change, as a log line, a metric and /readyz. */
static void
cluster_health_cb(bool up, const char *why, void *arg)
{
	struct cluster *c = arg;

	c->rt->etcd = up ? RT_ETCD_UP : RT_ETCD_DOWN;
	metric_set(c->m_up, up ? 1 : 0);
	if (up) {
		log_info("etcd: reachable again; catching up");
		if (c->republish || c->lease == 0)
			cluster_publish_all(c);
		if (!c->loaded)
			cluster_read_prefix(c);
	} else {
		log_warnx("etcd: unreachable (%s); serving the last state",
		    why != NULL ? why : "no answer");
		c->republish = true;
	}
}

/* Notes a local object's key for the next flush. */
static void
cluster_note(struct cluster *c, enum registry_kind kind, const char *objkey,
    const struct owner *owner, bool remove, bool new_vip)
{
	struct cluster_pending *pd;
	void *old = NULL;
	char *k;
	bool host;

	if (owner->kind == OWNER_ETCD)
		return;
	host = kind == REGISTRY_POD || owner->kind != OWNER_API;
	k = cluster_key(c, kind == REGISTRY_POD ? "pods" : "services", objkey,
	    host);
	if (k == NULL || (pd = calloc(1, sizeof(*pd))) == NULL ||
	    (pd->objkey = strdup(objkey)) == NULL) {
		if (k != NULL)
			free(pd);
		free(k);
		log_warnx("etcd: out of memory; publishing everything later");
		c->republish = true;
		return;
	}
	pd->kind = kind;
	pd->remove = remove;
	pd->new_vip = new_vip;
	if (hmap_put(c->pending, k, pd, &old) != 0) {
		pending_free(pd);
		c->republish = true;
	} else {
		if (old != NULL)
			pd->new_vip |= ((struct cluster_pending *)old)->new_vip;
		pending_free(old);
	}
	free(k);
	cluster_schedule(c);
}

static void
cluster_reg_cb(enum registry_event ev, const struct service *svc,
    const struct pod *pod, void *arg)
{
	struct cluster *c = arg;

	switch (ev) {
	case REG_SVC_ADDED:
	case REG_SVC_CHANGED:
	case REG_SVC_REMOVED:
		cluster_note(c, REGISTRY_SERVICE, svc->key, &svc->owner,
		    ev == REG_SVC_REMOVED, ev == REG_SVC_ADDED);
		break;
	case REG_POD_ADDED:
	case REG_POD_CHANGED:
	case REG_POD_REMOVED:
		if (pod->endpoints_of != NULL)
			break;	/* its Endpoints object is not shared yet */
		cluster_note(c, REGISTRY_POD, pod->key, &pod->owner,
		    ev == REG_POD_REMOVED, false);
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

/* The value stored for svc or pod: {"host", "object"}. Caller frees. */
static char *
cluster_value(struct cluster *c, const struct service *svc,
    const struct pod *pod)
{
	json_t *obj, *v, *spec;
	char ip[INET_ADDRSTRLEN], *s;

	if (svc != NULL) {
		obj = objjson_service(svc, OBJJSON_MANIFEST);
		spec = json_object_get(obj, "spec");
		/* The allocated VIP travels, so every host answers it. */
		if (spec != NULL && svc->type == SVC_CLUSTERIP &&
		    svc->nreq_ips == 0 && svc->vip.s_addr != 0)
			json_object_set_new(spec, "clusterIP",
			    json_string(inet4_str(svc->vip, ip)));
	} else
		obj = objjson_pod(pod, OBJJSON_MANIFEST);
	if (obj == NULL)
		return NULL;
	v = json_pack("{s:s,s:o}", "host", c->host, "object", obj);
	s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	return s;
}

struct cluster_vip_claim {
	struct cluster	*c;
	char		*holder;	/* "ns/name" */
	char		*addr;
};

static void
cluster_vip_cb(const char *error, bool ok, int64_t rev, struct etcd_kv *kvs,
    size_t n, void *arg)
{
	struct cluster_vip_claim *vc = arg;

	if (error != NULL)
		log_warnx("etcd: VIP %s of %s not claimed: %s", vc->addr,
		    vc->holder, error);
	else if (!ok && (n == 0 || strcmp(kvs[0].value, vc->holder) != 0)) {
		metric_add(vc->c->m_vip_conflicts, 1);
		log_warnx("etcd: VIP %s of %s is held by %s in etcd",
		    vc->addr, vc->holder, n > 0 ? kvs[0].value : "?");
	}
	free(vc->holder);
	free(vc->addr);
	free(vc);
}

/* Claims svc's VIP cluster-wide: create-if-absent on P vips/ADDR. */
static void
cluster_claim_vip(struct cluster *c, const struct service *svc)
{
	struct cluster_vip_claim *vc;
	struct etcd_txn *t;
	char ip[INET_ADDRSTRLEN], *k = NULL;

	if (svc->type != SVC_CLUSTERIP || svc->vip.s_addr == 0)
		return;
	inet4_str(svc->vip, ip);
	if ((vc = calloc(1, sizeof(*vc))) == NULL ||
	    (vc->holder = strdup(svc->key)) == NULL ||
	    (vc->addr = strdup(ip)) == NULL ||
	    asprintf(&k, "%svips/%s", c->prefix, ip) == -1 ||
	    (t = etcd_txn_new()) == NULL) {
		if (vc != NULL) {
			free(vc->holder);
			free(vc->addr);
		}
		free(vc);
		free(k);
		return;
	}
	vc->c = c;
	if (etcd_txn_cmp_absent(t, k, strlen(k)) != 0 ||
	    etcd_txn_put(t, k, strlen(k), svc->key, strlen(svc->key), 0) !=
	    0 || etcd_txn_on_failure_get(t, k, strlen(k)) != 0 ||
	    etcd_txn_commit(c->etcd, t, cluster_vip_cb, vc) != 0) {
		etcd_txn_free(t);
		free(vc->holder);
		free(vc->addr);
		free(vc);
	}
	free(k);
}

static void
cluster_flush_done(const char *error, bool ok, int64_t rev,
    struct etcd_kv *kvs, size_t n, void *arg)
{
	struct cluster *c = arg;

	if (error == NULL)
		return;
	metric_add(c->m_txn_fail, 1);
	log_warnx("etcd: changes not written (%s); written again once etcd "
	    "answers", error);
	c->republish = true;
}

/* Writes every pending key in one transaction. */
static void
cluster_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	struct cluster_pending *pd;
	struct hmap_iter it;
	struct etcd_txn *t;
	const struct service *svc;
	const struct pod *pod;
	const char *k;
	char *v;
	void *val;
	int rc = 0;
	size_t nops = 0;

	if (hmap_count(c->pending) == 0 || c->lease == 0)
		return;		/* the lease's grant flushes */
	if ((t = etcd_txn_new()) == NULL)
		return;
	hmap_iter_init(&it, c->pending);
	while (rc == 0 && hmap_iter_next(&it, &k, &val)) {
		pd = val;
		svc = pd->kind == REGISTRY_SERVICE ?
		    registry_find_service_key(c->rt->reg, pd->objkey) : NULL;
		pod = pd->kind == REGISTRY_POD ?
		    registry_find_pod_key(c->rt->reg, pd->objkey) : NULL;
		if ((svc != NULL && svc->owner.kind == OWNER_ETCD) ||
		    (pod != NULL && pod->owner.kind == OWNER_ETCD))
			svc = NULL, pod = NULL;	/* another host's now */
		if (pd->remove || (svc == NULL && pod == NULL)) {
			rc = etcd_txn_delete(t, k, strlen(k));
		} else if ((v = cluster_value(c, svc, pod)) != NULL) {
			rc = etcd_txn_put(t, k, strlen(k), v, strlen(v),
			    strstr(k + c->prefixlen, "hosts/") == k +
			    c->prefixlen ? c->lease : 0);
			free(v);
			if (svc != NULL && pd->new_vip &&
			    svc->owner.kind == OWNER_API)
				cluster_claim_vip(c, svc);
		}
		nops++;
	}
	hmap_free(c->pending, pending_free);
	if ((c->pending = hmap_new()) == NULL)
		fatalx("out of memory");
	if (rc != 0 || nops == 0) {
		etcd_txn_free(t);
		return;
	}
	if (etcd_txn_commit(c->etcd, t, cluster_flush_done, c) != 0)
		c->republish = true;
}

static void
cluster_note_svc_cb(struct service *svc, void *arg)
{
	cluster_note(arg, REGISTRY_SERVICE, svc->key, &svc->owner, false,
	    true);
}

static void
cluster_note_pod_cb(struct pod *pod, void *arg)
{
	if (pod->endpoints_of == NULL)
		cluster_note(arg, REGISTRY_POD, pod->key, &pod->owner, false,
		    false);
}

/* Every local object again: at start, after a lost lease or write. */
static void
cluster_publish_all(struct cluster *c)
{
	c->republish = false;
	registry_foreach_service(c->rt->reg, cluster_note_svc_cb, c);
	registry_foreach_pod(c->rt->reg, cluster_note_pod_cb, c);
	cluster_schedule(c);
}

static void cluster_grant(struct cluster *);

static void
cluster_lease_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct cluster *c = arg;

	c->granting = false;
	if (error != NULL || id == 0) {
		log_warnx("etcd: no lease for host %s: %s", c->host,
		    error != NULL ? error : "no id");
		return;		/* the tick tries again */
	}
	c->lease = id;
	log_info("etcd: host %s holds lease %" PRIx64 " (TTL %" PRId64 " s)",
	    c->host, (uint64_t)id, ttl);
	cluster_publish_all(c);
}

static void
cluster_grant(struct cluster *c)
{
	if (c->granting)
		return;
	c->granting = etcd_lease_grant(c->etcd, c->ttl_s, cluster_lease_cb,
	    c) == 0;
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
	else if (c->republish && etcd_is_up(c->etcd))
		cluster_publish_all(c);
}

/*
 * Splits a key under the prefix: the publishing host (NULL for
 * cluster-wide), the kind, the object key. Returns 0, or -1 when the key
 * is not an object's.
 */
static int
cluster_parse_key(const struct cluster *c, const char *key, char **host,
    enum registry_kind *kind, const char **objkey)
{
	const char *p = key + c->prefixlen, *slash;

	*host = NULL;
	if (strncmp(p, "hosts/", 6) == 0) {
		p += 6;
		if ((slash = strchr(p, '/')) == NULL || slash == p)
			return -1;
		if ((*host = strndup(p, (size_t)(slash - p))) == NULL)
			return -1;
		p = slash + 1;
	}
	if (strncmp(p, "services/", 9) == 0) {
		*kind = REGISTRY_SERVICE;
		p += 9;
	} else if (strncmp(p, "pods/", 5) == 0) {
		*kind = REGISTRY_POD;
		p += 5;
	} else
		goto fail;
	if ((slash = strchr(p, '/')) == NULL || slash == p ||
	    slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
		goto fail;
	*objkey = p;
	return 0;
fail:
	free(*host);
	*host = NULL;
	return -1;
}

/* Another host's object, as etcd holds it, into the registry. */
static void
cluster_apply_kv(struct cluster *c, enum etcd_event ev,
    const struct etcd_kv *kv)
{
	struct owner o = { OWNER_ETCD, NULL };
	enum registry_kind kind;
	struct objset set;
	struct manifest_report rep;
	const char *objkey, *h, *slash;
	json_t *v = NULL;
	char *host = NULL, *doc = NULL, err[1024], ns[64], name[256];
	size_t nslen;

	if (kv->keylen < c->prefixlen || cluster_parse_key(c, kv->key, &host,
	    &kind, &objkey) != 0)
		goto out;
	if (host != NULL && strcmp(host, c->host) == 0)
		goto out;	/* our own */
	o.id = host;
	metric_add(c->m_remote, 1);
	if (ev == ETCD_DELETE) {
		slash = strchr(objkey, '/');
		nslen = (size_t)(slash - objkey);
		if (nslen >= sizeof(ns) || strlen(slash + 1) >= sizeof(name))
			goto out;
		memcpy(ns, objkey, nslen);
		ns[nslen] = '\0';
		strlcpy(name, slash + 1, sizeof(name));
		if (registry_delete(c->rt->reg, kind, ns, name, &o, err,
		    sizeof(err)) == CIP_E_CONFLICT)
			log_debug("etcd: %s: %s", kv->key, err);
		goto out;
	}
	if ((v = json_loadb(kv->value, kv->valuelen, 0, NULL)) == NULL ||
	    (h = json_string_value(json_object_get(v, "host"))) == NULL) {
		log_warnx("etcd: %s: not an object of clusterip", kv->key);
		goto out;
	}
	if (strcmp(h, c->host) == 0)
		goto out;	/* applied here: the API's copy is ours */
	if ((doc = json_dumps(json_object_get(v, "object"),
	    JSON_COMPACT)) == NULL)
		goto out;
	memset(&set, 0, sizeof(set));
	memset(&rep, 0, sizeof(rep));
	if (manifest_parse_buf(doc, strlen(doc), kv->key, &set, &rep, err,
	    sizeof(err)) != 0 || set.nsvcs + set.npods != 1)
		log_warnx("etcd: %s: %s", kv->key, err);
	else if (registry_apply(c->rt->reg, &o, &set, REGISTRY_MERGE, err,
	    sizeof(err)) != 0)
		log_warnx("etcd: %s not applied: %s", kv->key, err);
	objset_clear(&set);
	manifest_report_clear(&rep);
out:
	json_decref(v);
	free(doc);
	free(host);
}

static void
cluster_watch_event_cb(enum etcd_event ev, const struct etcd_kv *kv,
    void *arg)
{
	cluster_apply_kv(arg, ev, kv);
}

static void
cluster_watch_state_cb(enum etcd_watch_state st, int64_t rev, void *arg)
{
	struct cluster *c = arg;

	switch (st) {
	case ETCD_WATCH_UP:
		log_debug("etcd: watching %s from revision %" PRId64,
		    c->prefix, rev + 1);
		break;
	case ETCD_WATCH_BROKEN:
		log_debug("etcd: watch broken at revision %" PRId64, rev);
		break;
	case ETCD_WATCH_COMPACTED:
		log_info("etcd: changes after revision %" PRId64 " were "
		    "compacted away: reading everything again", rev);
		etcd_watch_stop(c->watch);
		c->watch = NULL;
		c->loaded = false;
		cluster_read_prefix(c);
		break;
	}
}

struct cluster_seen {
	struct hmap	*keys;		/* "s:ns/name", "p:ns/name" */
	struct cluster	*c;
	struct service	**svcs;
	struct pod	**pods;
	size_t		 nsvcs, npods, cap_svcs, cap_pods;
};

static void
cluster_stale_svc_cb(struct service *svc, void *arg)
{
	struct cluster_seen *s = arg;
	char k[320];

	if (svc->owner.kind != OWNER_ETCD)
		return;
	snprintf(k, sizeof(k), "s:%s", svc->key);
	if (hmap_get(s->keys, k) == NULL && s->nsvcs < s->cap_svcs)
		s->svcs[s->nsvcs++] = svc;
}

static void
cluster_stale_pod_cb(struct pod *pod, void *arg)
{
	struct cluster_seen *s = arg;
	char k[320];

	if (pod->owner.kind != OWNER_ETCD)
		return;
	snprintf(k, sizeof(k), "p:%s", pod->key);
	if (hmap_get(s->keys, k) == NULL && s->npods < s->cap_pods)
		s->pods[s->npods++] = pod;
}

/*
 * After a full read (at start, or after a compaction): objects from etcd
 * that the read no longer holds were deleted meanwhile.
 */
static void
cluster_drop_stale(struct cluster *c, struct hmap *keys)
{
	struct cluster_seen s = { keys, c, NULL, NULL, 0, 0, 0, 0 };
	char err[256];
	size_t i;

	s.cap_svcs = registry_count_services(c->rt->reg);
	s.cap_pods = registry_count_pods(c->rt->reg);
	s.svcs = calloc(s.cap_svcs + 1, sizeof(*s.svcs));
	s.pods = calloc(s.cap_pods + 1, sizeof(*s.pods));
	if (s.svcs == NULL || s.pods == NULL)
		goto out;
	registry_foreach_service(c->rt->reg, cluster_stale_svc_cb, &s);
	registry_foreach_pod(c->rt->reg, cluster_stale_pod_cb, &s);
	for (i = 0; i < s.nsvcs; i++)
		registry_delete(c->rt->reg, REGISTRY_SERVICE, s.svcs[i]->ns,
		    s.svcs[i]->name, NULL, err, sizeof(err));
	for (i = 0; i < s.npods; i++)
		registry_delete(c->rt->reg, REGISTRY_POD, s.pods[i]->ns,
		    s.pods[i]->name, NULL, err, sizeof(err));
out:
	free(s.svcs);
	free(s.pods);
}

static void
cluster_range_cb(const char *error, int64_t rev, struct etcd_kv *kvs,
    size_t n, void *arg)
{
	struct cluster *c = arg;
	struct hmap *keys;
	enum registry_kind kind;
	const char *objkey;
	char *host, k[320];
	size_t i;

	if (error != NULL) {
		log_warnx("etcd: cannot read %s: %s; trying again",
		    c->prefix, error);
		return;		/* the tick tries again */
	}
	if (c->loaded)
		return;		/* two reads crossed */
	if ((keys = hmap_new()) == NULL)
		return;
	for (i = 0; i < n; i++) {
		cluster_apply_kv(c, ETCD_PUT, &kvs[i]);
		if (cluster_parse_key(c, kvs[i].key, &host, &kind,
		    &objkey) == 0) {
			snprintf(k, sizeof(k), "%c:%s", kind ==
			    REGISTRY_SERVICE ? 's' : 'p', objkey);
			(void)hmap_put(keys, k, (void *)1, NULL);
			free(host);
		}
	}
	cluster_drop_stale(c, keys);
	hmap_free(keys, NULL);
	c->loaded = true;
	log_info("etcd: read %zu key(s) under %s at revision %" PRId64
	    ": %zu services, %zu pods here", n, c->prefix, rev,
	    registry_count_services(c->rt->reg),
	    registry_count_pods(c->rt->reg));
	c->watch = etcd_watch_start(c->etcd, c->prefix, c->prefixlen,
	    rev + 1, 500, cluster_watch_event_cb, cluster_watch_state_cb, c);
	if (c->watch == NULL)
		c->loaded = false;	/* the tick tries again */
}

static void
cluster_read_prefix(struct cluster *c)
{
	if (c->watch != NULL)
		return;
	(void)etcd_range(c->etcd, c->prefix, c->prefixlen, true,
	    cluster_range_cb, c);
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
	    (c->flush_ev = evtimer_new(rt->base, cluster_flush_cb, c)) ==
	    NULL ||
	    (c->tick = event_new(rt->base, -1, EV_PERSIST, cluster_tick_cb,
	    c)) == NULL ||
	    registry_subscribe(rt->reg, cluster_reg_cb, c) != 0)
		goto fail;
	c->prefixlen = strlen(c->prefix);
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
	etcd_free(c->etcd);
	hmap_free(c->pending, pending_free);
	free(c->host);
	free(c->prefix);
	free(c);
}
