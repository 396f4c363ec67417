/* SPDX-License-Identifier: MIT */
/*
 * cluster_read.c -- the other hosts' objects, out of etcd into the
 * registry: the prefix read at start, then watched from that revision
 * (read again after a compaction, dropping what vanished meanwhile).
 * A host's objects are owned by etcd with the host as id; a Service
 * applied through any host's API is owned by the API here too, so that
 * this host's API may change or delete it like its own. Changes applied
 * here are not written back (cluster->applying).
 *
 * VIPs: the VIP a Service got on the host that published it travels as
 * spec.clusterIP. When two hosts gave one VIP to two Services at once,
 * the one whose claim on P vips/ADDR lost gives the VIP to the winner
 * and takes a new one (cluster_vip_lost).
 */
#include "config.h"

#include <sys/types.h>
#include <arpa/inet.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "registry.h"
#include "manifest.h"
#include "objjson.h"
#include "metrics.h"
#include "runtime.h"
#include "etcd.h"
#include "cluster_int.h"

int
cluster_parse_key(const struct cluster *c, const char *key, char **host,
    enum registry_kind *kind, const char **objkey)
{
	const char *p, *slash;

	*host = NULL;
	if (strncmp(key, c->prefix, c->prefixlen) != 0)
		return -1;
	p = key + c->prefixlen;
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
	} else if (*host != NULL && strncmp(p, "endpoints/", 10) == 0) {
		*kind = REGISTRY_ENDPOINTS;
		p += 10;
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

/* "ns/name" into its parts. Returns 0, or -1 when too long. */
static int
cluster_split(const char *objkey, char *ns, size_t nslen, char *name,
    size_t namelen)
{
	const char *slash = strchr(objkey, '/');
	size_t n;

	if (slash == NULL || (n = (size_t)(slash - objkey)) >= nslen ||
	    strlen(slash + 1) >= namelen)
		return -1;
	memcpy(ns, objkey, n);
	ns[n] = '\0';
	strlcpy(name, slash + 1, namelen);
	return 0;
}

/*
 * The object kv holds, parsed into set (one Service or pod), and its
 * owner into o (o->id, the publishing host, is the caller's to free;
 * NULL for a cluster-wide Service, owned by the API). Returns 0; 1 when
 * it is this host's own (nothing to apply); -1 when it is no object of
 * ours (logged).
 */
static int
cluster_decode(struct cluster *c, const struct etcd_kv *kv, struct owner *o,
    struct objset *set)
{
	enum registry_kind kind;
	struct manifest_report rep;
	const char *objkey, *h;
	json_t *v = NULL;
	char *host = NULL, err[1024] = "";
	int rc = -1;

	memset(&rep, 0, sizeof(rep));
	o->kind = OWNER_ETCD;
	o->id = NULL;
	if (cluster_parse_key(c, kv->key, &host, &kind, &objkey) != 0)
		return -1;	/* a VIP key, or no key of ours */
	if (host != NULL && strcmp(host, c->host) == 0) {
		rc = 1;
		goto out;
	}
	if ((v = json_loadb(kv->value, kv->valuelen, 0, NULL)) == NULL ||
	    (h = json_string_value(json_object_get(v, "host"))) == NULL) {
		log_warnx("etcd: %s: not an object of clusterip", kv->key);
		goto out;
	}
	if (host == NULL && strcmp(h, c->host) == 0) {
		rc = 1;		/* applied here: the registry has it */
		goto out;
	}
	/*
	 * One Service or Pod, or the subsets of one Endpoints object:
	 * parsed from the JSON tree, not its text (100,000 at a join).
	 */
	if (!json_is_object(json_object_get(v, "object")) ||
	    manifest_parse_json(json_object_get(v, "object"), kv->key, set,
	    &rep, err, sizeof(err)) != 0 || (kind == REGISTRY_ENDPOINTS ?
	    set->nsvcs + set->npods != 0 || set->neps == 0 :
	    set->nsvcs + set->npods != 1 || set->neps != 0)) {
		log_warnx("etcd: %s: %s", kv->key, err[0] != '\0' ? err :
		    "not one object");
		objset_clear(set);
		goto out;
	}
	set->published = true;	/* its VIPs are the publishing host's */
	if (host == NULL)
		o->kind = OWNER_API;	/* cluster-wide: any host's API */
	o->id = host;
	host = NULL;
	rc = 0;
out:
	manifest_report_clear(&rep);
	json_decref(v);
	free(host);
	return rc;
}

/*
 * One object as etcd holds it, into the registry. Returns 0, or a
 * ERR_* from the registry (ERR_CONFLICT: a VIP or name is held
 * here by another object).
 */
static int
cluster_apply_kv(struct cluster *c, enum etcd_event ev,
    const struct etcd_kv *kv)
{
	struct owner o = { OWNER_ETCD, NULL };
	enum registry_kind kind;
	struct objset set;
	const char *objkey;
	char *host = NULL, err[1024], ns[64], name[256];
	char vip[INET_ADDRSTRLEN] = "", vip6[INET6_ADDRSTRLEN] = "";
	char *lost = NULL;
	const char *which = NULL;
	int rc = 0;

	memset(&set, 0, sizeof(set));
	if (ev == ETCD_DELETE) {
		if (cluster_parse_key(c, kv->key, &host, &kind, &objkey) != 0 ||
		    (host != NULL && strcmp(host, c->host) == 0))
			goto out;
		o.id = host;
		if (host == NULL)
			o.kind = OWNER_API;
		metric_add(c->m_remote, 1);
		c->applying = true;
		if (cluster_split(objkey, ns, sizeof(ns), name,
		    sizeof(name)) == 0 &&
		    registry_delete(c->rt->reg, kind, ns, name, &o, err,
		    sizeof(err)) == ERR_CONFLICT)
			log_debug("etcd: %s: %s", kv->key, err);
		goto out;
	}
	if (cluster_decode(c, kv, &o, &set) != 0)
		goto out;
	host = o.id;
	metric_add(c->m_remote, 1);
	if (set.nsvcs == 1 && set.svcs[0]->ext->requested_vip.s_addr != 0)
		inet4_str(set.svcs[0]->ext->requested_vip, vip);
	if (set.nsvcs == 1 && !in6_is_unset(&set.svcs[0]->ext->requested_vip6))
		inet_ntop(AF_INET6, &set.svcs[0]->ext->requested_vip6, vip6,
		    sizeof(vip6));
	c->applying = true;
	if ((rc = registry_apply(c->rt->reg, &o, &set, REGISTRY_MERGE, err,
	    sizeof(err))) != 0)
		log_info("etcd: %s not applied: %s", kv->key, err);
	c->applying = false;
	objset_clear(&set);
	if (rc == ERR_CONFLICT && !c->swapping) {
		if (vip[0] != '\0' && (lost = hmap_get(c->lost, vip)) != NULL)
			which = vip;
		else if (vip6[0] != '\0' &&
		    (lost = hmap_get(c->lost, vip6)) != NULL)
			which = vip6;
	}
	if (lost != NULL) {
		/* A VIP a Service of ours lost the race for: give it up. */
		if ((lost = strdup(lost)) != NULL)
			cluster_swap(c, lost, which, kv);
		free(lost);
	}
out:
	c->applying = false;
	objset_clear(&set);
	free(host);
	return rc;
}

static void
cluster_watch_event_cb(enum etcd_event ev, const struct etcd_kv *kv,
    void *arg)
{
	(void)cluster_apply_kv(arg, ev, kv);
}

static void
cluster_watch_state_cb(enum etcd_watch_state st, int64_t rev, void *arg)
{
	struct cluster *c = arg;

	switch (st) {
	case ETCD_WATCH_UP:
		log_debug("etcd: watching %s after revision %" PRId64,
		    c->prefix, rev);
		break;
	case ETCD_WATCH_BROKEN:
		log_debug("etcd: watch broken at revision %" PRId64, rev);
		break;
	case ETCD_WATCH_COMPACTED:
		log_info("etcd: changes up to revision %" PRId64 " were "
		    "compacted away: reading everything again", rev);
		etcd_watch_stop(c->watch);
		c->watch = NULL;
		c->loaded = false;
		cluster_read_prefix(c);
		break;
	}
}

/* What a full read found, to drop what vanished from etcd meanwhile. */
struct cluster_seen {
	struct cluster	*c;
	struct hmap	*keys;		/* "s:ns/name", "p:ns/name" */
	char		**drop;		/* "s:ns/name", "p:ns/name" */
	size_t		 n, cap;
};

/*
 * Notes object kind:objkey for dropping unless the read saw its key
 * (seen: "e:ns/name" for a pod an Endpoints object made, else the same).
 */
static void
cluster_seen_check(struct cluster_seen *s, char kind, const char *objkey,
    const char *seen, const struct owner *o)
{
	char k[320], *ek;
	bool pending;

	if (o->kind != OWNER_ETCD && !(kind == 's' && o->kind == OWNER_API))
		return;
	snprintf(k, sizeof(k), "%c:%s", kind, objkey);
	if (hmap_get(s->keys, seen != NULL ? seen : k) != NULL ||
	    s->n >= s->cap)
		return;
	if (o->kind == OWNER_API) {
		/* Applied here and not written yet: not gone. */
		ek = cluster_obj_key(s->c, REGISTRY_SERVICE, objkey, o);
		pending = ek == NULL || cluster_pending_has(s->c, ek);
		free(ek);
		if (pending)
			return;
	}
	if ((s->drop[s->n] = strdup(k)) != NULL)
		s->n++;
}

static void
cluster_seen_svc_cb(struct service *svc, void *arg)
{
	cluster_seen_check(arg, 's', svc->key, NULL, &svc->owner);
}

static void
cluster_seen_pod_cb(struct pod *pod, void *arg)
{
	char ek[320];

	if (pod->endpoints_of == NULL) {
		cluster_seen_check(arg, 'p', pod->key, NULL, &pod->owner);
		return;
	}
	snprintf(ek, sizeof(ek), "e:%s", pod->endpoints_of);
	cluster_seen_check(arg, 'p', pod->key, ek, &pod->owner);
}

/*
 * After a full read (at start, or after a compaction): objects of etcd,
 * and Services of the API (etcd holds the truth about those), that the
 * read no longer holds were deleted meanwhile.
 */
static void
cluster_drop_stale(struct cluster *c, struct hmap *keys)
{
	struct cluster_seen s = { c, keys, NULL, 0, 0 };
	char ns[64], name[256], err[256];
	size_t i;

	s.cap = registry_count_services(c->rt->reg) +
	    registry_count_pods(c->rt->reg);
	if ((s.drop = calloc(s.cap + 1, sizeof(*s.drop))) == NULL)
		return;
	registry_foreach_service(c->rt->reg, cluster_seen_svc_cb, &s);
	registry_foreach_pod(c->rt->reg, cluster_seen_pod_cb, &s);
	c->applying = true;
	for (i = 0; i < s.n; i++) {
		if (cluster_split(s.drop[i] + 2, ns, sizeof(ns), name,
		    sizeof(name)) == 0) {
			log_info("etcd: %s %s is gone from etcd",
			    s.drop[i][0] == 's' ? "service" : "pod",
			    s.drop[i] + 2);
			registry_delete(c->rt->reg, s.drop[i][0] == 's' ?
			    REGISTRY_SERVICE : REGISTRY_POD, ns, name, NULL,
			    err, sizeof(err));
		}
		free(s.drop[i]);
	}
	c->applying = false;
	free(s.drop);
}

/* The objects of one owner in a full read, applied in one go. */
struct cluster_batch {
	struct owner		 o;
	struct objset		 set;
	struct etcd_kv		*kvs;	/* moved out of the pages */
	size_t			 n, cap;
};

static void
cluster_batch_free(void *p)
{
	struct cluster_batch *b = p;

	objset_clear(&b->set);
	free(b->o.id);
	etcd_kvs_free(b->kvs, b->n);
	free(b);
}

/*
 * Moves one's object (a Service, a Pod, or an Endpoints object's
 * subsets) into set: only one's arrays are left. 0, or -1 on OOM (one
 * keeps what did not move).
 */
static int
cluster_collect_move(struct objset *set, struct objset *one)
{
	size_t i;

	if (one->nsvcs == 1) {
		if (objset_add_service(set, one->svcs[0]) != 0)
			return -1;
		one->nsvcs = 0;
	}
	if (one->npods == 1) {
		if (objset_add_pod(set, one->pods[0]) != 0)
			return -1;
		one->npods = 0;
	}
	for (i = 0; i < one->neps; i++) {
		if (objset_add_endpoints(set, one->eps[i]) != 0) {
			/* The moved ones are set's now. */
			memmove(one->eps, one->eps + i, (one->neps - i) *
			    sizeof(*one->eps));
			one->neps -= i;
			return -1;
		}
	}
	one->neps = 0;
	return 0;
}

/*
 * Collects one page of a full read into batches: one per publishing host
 * (and one for the cluster-wide Services), applied once the last page
 * is in (cluster_apply_batches) so that 100,000 objects cost one
 * registry apply and VIP save per host, not one per page or object.
 */
static void
cluster_collect(struct cluster *c, struct hmap *batches,
    struct etcd_kv *kvs, size_t n)
{
	struct cluster_batch *b;
	struct objset one;
	struct owner o;
	struct etcd_kv *grown;
	const char *k;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&one, 0, sizeof(one));
		if (cluster_decode(c, &kvs[i], &o, &one) != 0)
			continue;
		metric_add(c->m_remote, 1);
		k = o.id != NULL ? o.id : "";
		if ((b = hmap_get(batches, k)) == NULL) {
			if ((b = calloc(1, sizeof(*b))) == NULL ||
			    hmap_put(batches, k, b, NULL) != 0) {
				free(b);
				objset_clear(&one);
				free(o.id);
				continue;
			}
			b->o = o;
			b->set.published = true;
		} else
			free(o.id);
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 64;
			if ((grown = realloc(b->kvs, b->cap *
			    sizeof(*b->kvs))) == NULL) {
				objset_clear(&one);
				continue;
			}
			b->kvs = grown;
		}
		if (cluster_collect_move(&b->set, &one) != 0) {
			objset_clear(&one);
			continue;
		}
		/* The key-value moves in too, for the one-by-one fallback. */
		b->kvs[b->n] = kvs[i];
		kvs[i].key = kvs[i].value = NULL;
		objset_clear(&one);
		b->n++;
	}
}

/*
 * Applies the batches of a full read; a batch the registry refuses (a
 * conflict somewhere in it) is applied object by object instead.
 */
static void
cluster_apply_batches(struct cluster *c, struct hmap *batches)
{
	struct hmap_iter it;
	struct cluster_batch *b;
	const char *k;
	char err[1024];
	void *val;
	size_t i;

	hmap_iter_init(&it, batches);
	while (hmap_iter_next(&it, &k, &val)) {
		b = val;
		c->applying = true;
		if (registry_apply(c->rt->reg, &b->o, &b->set, REGISTRY_MERGE,
		    err, sizeof(err)) != 0) {
			c->applying = false;
			log_info("etcd: %zu object(s) of %s not applied at "
			    "once (%s): one by one", b->n, *k != '\0' ? k :
			    "the API", err);
			objset_clear(&b->set);
			for (i = 0; i < b->n; i++)
				(void)cluster_apply_kv(c, ETCD_PUT, &b->kvs[i]);
		}
		c->applying = false;
	}
}

#ifdef __GLIBC__
static void
cluster_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	malloc_trim(0);
}
#endif

/* Keys a page of a full read holds: the watch starts past them. */
#define CLUSTER_PAGE_KEYS	10000

static void	cluster_read_page(struct cluster *);

static void
cluster_read_reset(struct cluster *c)
{
	if (c->read_ev != NULL)
		evtimer_del(c->read_ev);
	etcd_kvs_free(c->read_kvs, c->read_nkvs);
	c->read_kvs = NULL;
	c->read_nkvs = 0;
	c->read_last = false;
	hmap_free(c->read_keys, NULL);
	c->read_keys = NULL;
	hmap_free(c->read_batches, cluster_batch_free);
	c->read_batches = NULL;
	free(c->read_from);
	c->read_from = NULL;
	c->read_fromlen = 0;
	c->read_rev = 0;
	c->read_n = 0;
	c->read_pages = 0;
}

/* The whole prefix read: what vanished goes, the watch takes over. */
static void
cluster_read_done(struct cluster *c)
{
	cluster_apply_batches(c, c->read_batches);
	cluster_drop_stale(c, c->read_keys);
	c->loaded = true;
	c->watch_rev = c->read_rev;
	log_info("etcd: read %zu key(s) under %s at revision %" PRId64
	    " in %zu page(s): %zu services, %zu pods here", c->read_n,
	    c->prefix, c->read_rev, c->read_pages,
	    registry_count_services(c->rt->reg),
	    registry_count_pods(c->rt->reg));
#ifdef __GLIBC__
	/*
	 * The pages, their JSON trees and every object's manifest are
	 * freed; give the pages back (main.c does the same after the
	 * manifests' first load).
	 */
	if (c->read_n > 1000)
		(void)event_base_once(c->rt->base, -1, EV_TIMEOUT,
		    cluster_trim_cb, NULL, &(struct timeval){ 0, 0 });
#endif
	cluster_read_reset(c);
	cluster_watch_resume(c);
}

/*
 * Decodes the page held in read_kvs into the read's batches and notes
 * its keys; the last page ends the read.
 */
static void
cluster_page_decode(struct cluster *c)
{
	enum registry_kind kind;
	const char *objkey;
	char *host, k[320];
	size_t i, n = c->read_nkvs;
	struct etcd_kv *kvs = c->read_kvs;

	if (kvs == NULL && !c->read_last)
		return;
	/* Keys first: collecting moves them out of the page. */
	for (i = 0; i < n; i++) {
		if (cluster_parse_key(c, kvs[i].key, &host, &kind,
		    &objkey) == 0) {
			snprintf(k, sizeof(k), "%c:%s", kind ==
			    REGISTRY_SERVICE ? 's' : kind == REGISTRY_POD ?
			    'p' : 'e', objkey);
			(void)hmap_put(c->read_keys, k, (void *)1, NULL);
			free(host);
		}
	}
	cluster_collect(c, c->read_batches, kvs, n);
	etcd_kvs_free(kvs, n);
	c->read_kvs = NULL;
	c->read_nkvs = 0;
	if (c->read_last) {
		c->read_last = false;
		cluster_read_done(c);
	}
}

static void
cluster_page_decode_cb(evutil_socket_t fd, short what, void *arg)
{
	cluster_page_decode(arg);
}

/*
 * One page of the full read: the next page is asked for first (from
 * past its last key, at the first page's revision), then this one is
 * decoded from a zero-timeout event, after libcurl sent that request:
 * etcd makes the next page while this one is decoded.
 */
static void
cluster_page_cb(const char *error, int64_t rev, struct etcd_kv *kvs,
    size_t n, bool more, void *arg)
{
	struct cluster *c = arg;
	struct timeval tv = { 0, 0 };
	char *from;
	size_t i;

	c->reading = false;
	if (error != NULL) {
		/* A compacted snapshot included: start over, by the tick. */
		log_warnx("etcd: cannot read %s: %s; trying again",
		    c->prefix, error);
		cluster_read_reset(c);
		return;
	}
	if (c->loaded || c->read_keys == NULL || c->read_batches == NULL)
		return;
	if (c->read_rev == 0)
		c->read_rev = rev;
	cluster_page_decode(c);		/* one left over, if any */
	if (c->read_keys == NULL)
		return;
	c->read_n += n;
	c->read_pages++;
	/* The page is ours: its callback's copy is left empty. */
	if (n > 0 && (c->read_kvs = calloc(n, sizeof(*kvs))) == NULL) {
		cluster_read_reset(c);
		return;		/* the tick starts over */
	}
	if (n > 0)
		memcpy(c->read_kvs, kvs, n * sizeof(*kvs));
	c->read_nkvs = n;
	for (i = 0; i < n; i++)
		kvs[i].key = kvs[i].value = NULL;
	c->read_last = !more || n == 0;
	if (!c->read_last) {
		/* The next page: from the last key with a 0 byte appended. */
		if ((from = malloc(c->read_kvs[n - 1].keylen + 1)) == NULL) {
			cluster_read_reset(c);
			return;
		}
		memcpy(from, c->read_kvs[n - 1].key,
		    c->read_kvs[n - 1].keylen);
		from[c->read_kvs[n - 1].keylen] = '\0';
		free(c->read_from);
		c->read_from = from;
		c->read_fromlen = c->read_kvs[n - 1].keylen + 1;
		cluster_read_page(c);
		if (c->read_keys == NULL)
			return;		/* not sent: reset */
	}
	if (c->read_ev == NULL && (c->read_ev = evtimer_new(c->rt->base,
	    cluster_page_decode_cb, c)) == NULL) {
		cluster_page_decode(c);
		return;
	}
	evtimer_add(c->read_ev, &tv);
}

static void
cluster_read_page(struct cluster *c)
{
	char *end;
	size_t endlen;

	/*
	 * Up to P vips/, which sorts after hosts/ and services/: the VIP
	 * keys (as many as the Services) say nothing a Service's own key
	 * does not, so etcd need not send them.
	 */
	if (asprintf(&end, "%svips/", c->prefix) == -1) {
		cluster_read_reset(c);
		return;
	}
	endlen = strlen(end);
	c->reading = etcd_range_page(c->etcd, c->read_from != NULL ?
	    c->read_from : c->prefix, c->read_from != NULL ?
	    c->read_fromlen : c->prefixlen, end, endlen, c->read_rev,
	    CLUSTER_PAGE_KEYS, cluster_page_cb, c) == 0;
	free(end);
	if (!c->reading)
		cluster_read_reset(c);
}

void
cluster_watch_pause(struct cluster *c)
{
	if (c->watch == NULL)
		return;
	c->watch_rev = etcd_watch_revision(c->watch);
	etcd_watch_stop(c->watch);
	c->watch = NULL;
}

void
cluster_watch_resume(struct cluster *c)
{
	if (c->watch != NULL || !c->loaded)
		return;
	c->watch = etcd_watch_start(c->etcd, c->prefix, c->prefixlen,
	    c->watch_rev + 1, 500, cluster_watch_event_cb,
	    cluster_watch_state_cb, c);
	if (c->watch == NULL)
		c->loaded = false;	/* the tick reads everything again */
}

void
cluster_read_free(struct cluster *c)
{
	cluster_read_reset(c);
	if (c->read_ev != NULL)
		event_free(c->read_ev);
	c->read_ev = NULL;
}

void
cluster_read_prefix(struct cluster *c)
{
	if (c->watch != NULL || c->reading)
		return;
	cluster_read_reset(c);
	if ((c->read_keys = hmap_new()) == NULL ||
	    (c->read_batches = hmap_new()) == NULL) {
		cluster_read_reset(c);
		return;		/* the tick tries again */
	}
	cluster_read_page(c);
}

/*
 * Gives the VIP that svc_key (ours) lost to the winner, whose object is
 * kv, and a new VIP to svc_key: ours out quietly, the winner in, ours
 * back in (a new VIP; noted, so published and claimed again).
 */
/* True when svc holds ip (either family's VIP, as text). */
static bool
cluster_svc_holds(const struct service *svc, const char *ip)
{
	char buf[INET6_ADDRSTRLEN];

	if (svc->vip.s_addr != 0 && strcmp(inet4_str(svc->vip, buf), ip) == 0)
		return true;
	return !in6_is_unset(&svc->ext->vip6) && strcmp(inet_ntop(AF_INET6,
	    &svc->ext->vip6, buf, sizeof(buf)), ip) == 0;
}

void
cluster_swap(struct cluster *c, const char *svc_key, const char *vip,
    const struct etcd_kv *kv)
{
	struct service *svc;
	struct objset set;
	struct manifest_report rep;
	struct owner o = { OWNER_API, NULL };
	json_t *j = NULL;
	char *doc = NULL, err[1024], ns[64], name[256], ip[INET_ADDRSTRLEN];
	char ip6[INET6_ADDRSTRLEN];

	memset(&set, 0, sizeof(set));
	memset(&rep, 0, sizeof(rep));
	svc = registry_find_service_key(c->rt->reg, svc_key);
	if (svc == NULL || svc->owner.kind == OWNER_ETCD ||
	    svc->ext->nreq_ips > 0)
		goto out;	/* gone, not ours, or a VIP asked for */
	if (vip != NULL && !cluster_svc_holds(svc, vip)) {
		/*
		 * Moved already: both its VIPs lost (one race per family),
		 * and the first loss gave it two new ones. The winner just
		 * comes in; moving again would throw those away.
		 */
		free(hmap_del(c->lost, vip));
		log_info("etcd: %s no longer holds VIP %s: not moved again",
		    svc_key, vip);
		c->swapping = true;
		(void)cluster_apply_kv(c, ETCD_PUT, kv);
		c->swapping = false;
		goto out;
	}
	free(hmap_del(c->lost, inet4_str(svc->vip, ip)));
	if (!in6_is_unset(&svc->ext->vip6))
		free(hmap_del(c->lost, inet_ntop(AF_INET6, &svc->ext->vip6, ip6,
		    sizeof(ip6))));
	/* Our declaration, to apply again without its VIP. */
	if ((j = objjson_service(svc, OBJJSON_MANIFEST)) == NULL ||
	    (doc = json_dumps(j, JSON_COMPACT)) == NULL ||
	    manifest_parse_buf(doc, strlen(doc), svc_key, &set, &rep,
	    err, sizeof(err)) != 0 || set.nsvcs != 1 ||
	    cluster_split(svc_key, ns, sizeof(ns), name, sizeof(name)) != 0)
		goto out;
	o.kind = svc->owner.kind;
	if ((o.id = strdup_null(svc->owner.id)) == NULL &&
	    svc->owner.id != NULL)
		goto out;
	c->swapping = true;
	c->applying = true;
	registry_delete(c->rt->reg, REGISTRY_SERVICE, ns, name, NULL, err,
	    sizeof(err));
	c->applying = false;
	if (cluster_apply_kv(c, ETCD_PUT, kv) != 0)
		c->applying = true;	/* no new claim: it would fail again */
	if (registry_apply(c->rt->reg, &o, &set, REGISTRY_MERGE, err,
	    sizeof(err)) != 0)
		log_warnx("etcd: %s could not get another VIP: %s", svc_key,
		    err);
	else if ((svc = registry_find_service_key(c->rt->reg, svc_key)) !=
	    NULL)
		log_info("etcd: %s moved to VIP %s%s%s", svc_key,
		    inet4_str(svc->vip, ip), in6_is_unset(&svc->ext->vip6) ? "" :
		    " ", in6_is_unset(&svc->ext->vip6) ? "" : inet_ntop(AF_INET6,
		    &svc->ext->vip6, ip6, sizeof(ip6)));
	c->applying = false;
	c->swapping = false;
	free(o.id);
out:
	objset_clear(&set);
	manifest_report_clear(&rep);
	json_decref(j);
	free(doc);
}

/* What cluster_vip_lost needs once the winner's object is read. */
struct cluster_swap {
	struct cluster	*c;
	char		*svc_key;
	char		*vip;		/* the one it lost */
};

static void
cluster_swap_cb(const char *error, int64_t rev, struct etcd_kv *kvs,
    size_t n, void *arg)
{
	struct cluster_swap *sw = arg;

	/*
	 * Not written yet (the winner's claim can land before its
	 * object): its arrival through the watch swaps (cluster->lost).
	 */
	if (error == NULL && n == 1)
		cluster_swap(sw->c, sw->svc_key, sw->vip, &kvs[0]);
	free(sw->svc_key);
	free(sw->vip);
	free(sw);
}

void
cluster_vip_lost(struct cluster *c, const char *svc_key, const char *vip,
    const char *holder_key)
{
	struct cluster_swap *sw;
	char *k, *old = NULL;

	if ((k = strdup(svc_key)) != NULL &&
	    hmap_put(c->lost, vip, k, (void **)&old) != 0)
		free(k);
	free(old);
	if ((sw = calloc(1, sizeof(*sw))) == NULL ||
	    (sw->svc_key = strdup(svc_key)) == NULL ||
	    (sw->vip = strdup(vip)) == NULL) {
		if (sw != NULL)
			free(sw->svc_key);
		free(sw);
		return;
	}
	sw->c = c;
	if (etcd_range(c->etcd, holder_key, strlen(holder_key), false,
	    cluster_swap_cb, sw) != 0) {
		free(sw->svc_key);
		free(sw->vip);
		free(sw);
	}
}
