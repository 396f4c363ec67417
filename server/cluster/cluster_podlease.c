/* SPDX-License-Identifier: MIT */
/*
 * cluster_podlease.c -- a pod registered with a TTL through this host's
 * API holds an etcd lease of its own, of that TTL: its key
 * (P hosts/HOST/pods/NS/NAME) is put on it, each heartbeat keeps it
 * alive, and when the registrant stops, the lease runs out in etcd and
 * the pod vanishes from every host, whether or not this host still
 * runs. A heartbeat sent to another host renews the same lease: that
 * host finds it on the pod's key (podlease_renew), and this host asks
 * etcd before its own timer removes the pod (podlease_left). A lease
 * etcd lost (etcd down past the TTL) is granted again and the pod
 * written again under it.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "registry.h"
#include "runtime.h"
#include "etcd.h"
#include "cluster_int.h"

struct cluster_podlease {
	struct cluster	*c;
	char		*key;		/* the pod's "ns/name" */
	int64_t		 id;		/* 0: not granted (yet) */
	int64_t		 ttl_s;
	bool		 granting;
	bool		 dropped;	/* ended while a grant was out */
};

static void	podlease_grant(struct cluster_podlease *);

static void
podlease_free(void *p)
{
	struct cluster_podlease *pl = p;

	if (pl == NULL)
		return;
	free(pl->key);
	free(pl);
}

static void
podlease_revoke_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	if (error != NULL)
		log_debug("etcd: pod lease %" PRIx64 " not revoked (%s); it "
		    "runs out by its TTL", (uint64_t)id, error);
}

/* Writes the pod again, now under its lease. */
static void
podlease_note(struct cluster_podlease *pl)
{
	const struct pod *pod;

	pod = registry_find_pod_key(pl->c->rt->reg, pl->key);
	if (pod != NULL)
		cluster_note(pl->c, REGISTRY_POD, pl->key, &pod->owner, false,
		    false, NULL, NULL);
}

static void
podlease_grant_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct cluster_podlease *pl = arg;
	struct cluster *c = pl->c;

	pl->granting = false;
	if (pl->dropped) {
		if (error == NULL && id != 0)
			(void)etcd_lease_revoke(c->etcd, id,
			    podlease_revoke_cb, NULL);
		podlease_free(pl);
		return;
	}
	if (!cluster_lease_got("pod", pl->key, error, id, ttl, true)) {
		c->retry = true;	/* the tick grants it again */
		return;
	}
	pl->id = id;
	podlease_note(pl);
}

static void
podlease_grant(struct cluster_podlease *pl)
{
	cluster_lease_ask(pl->c, &pl->granting, pl->ttl_s, podlease_grant_cb,
	    pl);
}

static void
podlease_keepalive_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct cluster *c = arg;
	struct cluster_podlease *pl;
	struct hmap_iter it;
	const char *k;
	void *v;

	if (error != NULL || ttl > 0)
		return;
	/* Gone in etcd while the pod is still registered here. */
	hmap_iter_init(&it, c->podleases);
	while (hmap_iter_next(&it, &k, &v)) {
		pl = v;
		if (pl->id == id) {
			log_warnx("etcd: the lease of pod %s ran out in etcd; "
			    "writing it again under a new one", pl->key);
			pl->id = 0;
			podlease_grant(pl);
			return;
		}
	}
}

/* runtime's pod_lease hook: a registration or heartbeat, or the end. */
static void
podlease_hook(void *arg, const char *pod_key, uint32_t ttl_s)
{
	struct cluster *c = arg;
	struct cluster_podlease *pl;

	pl = hmap_get(c->podleases, pod_key);
	if (ttl_s == 0) {
		if (pl == NULL)
			return;
		hmap_del(c->podleases, pod_key);
		if (pl->granting) {
			pl->dropped = true;	/* the grant's answer frees */
			return;
		}
		if (pl->id != 0)
			(void)etcd_lease_revoke(c->etcd, pl->id,
			    podlease_revoke_cb, NULL);
		podlease_free(pl);
		return;
	}
	if (pl == NULL) {
		if ((pl = calloc(1, sizeof(*pl))) == NULL ||
		    (pl->key = strdup(pod_key)) == NULL ||
		    hmap_put(c->podleases, pl->key, pl, NULL) != 0) {
			log_warnx("etcd: out of memory: pod %s rides on the "
			    "host's lease", pod_key);
			podlease_free(pl);
			return;
		}
		pl->c = c;
	}
	if (pl->ttl_s != (int64_t)ttl_s) {
		/* A new TTL: a new lease; the old one empties and runs out. */
		pl->ttl_s = ttl_s;
		pl->id = 0;
	}
	if (pl->id == 0)
		podlease_grant(pl);
	else
		(void)etcd_lease_keepalive(c->etcd, pl->id,
		    podlease_keepalive_cb, c);
}

/* A question about a pod's lease, until etcd answers. */
struct podlease_ask {
	struct cluster	*c;
	rt_lease_cb	*done;
	void		*done_arg;
	char		*pod_key;
};

static void
podlease_answer(struct podlease_ask *a, int64_t ttl_s)
{
	a->done(ttl_s, a->done_arg);
	free(a->pod_key);
	free(a);
}

static struct podlease_ask *
podlease_ask_new(struct cluster *c, const char *pod_key, rt_lease_cb *done,
    void *done_arg)
{
	struct podlease_ask *a;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->pod_key = strdup(pod_key)) == NULL) {
		free(a);
		return NULL;
	}
	a->c = c;
	a->done = done;
	a->done_arg = done_arg;
	return a;
}

/* A lease's answer: the time left, 0 once gone, -1 without an answer. */
static void
podlease_ttl_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	podlease_answer(arg, error != NULL ? -1 : ttl > 0 ? ttl : 0);
}

/* The pod's key as read: renew the lease it is on, if any. */
static void
podlease_key_cb(const char *error, int64_t rev, struct etcd_kv *kvs,
    size_t n, void *arg)
{
	struct podlease_ask *a = arg;

	if (error != NULL) {
		podlease_answer(a, -1);
		return;
	}
	if (n != 1 || kvs[0].lease == 0) {
		podlease_answer(a, 0);	/* gone, or on its host's lease */
		return;
	}
	log_debug("etcd: heartbeat of pod %s renews lease %" PRIx64,
	    a->pod_key, (uint64_t)kvs[0].lease);
	if (etcd_lease_keepalive(a->c->etcd, kvs[0].lease, podlease_ttl_cb,
	    a) != 0)
		podlease_answer(a, -1);
}

/*
 * runtime's pod_renew hook: a heartbeat for a pod another host
 * registered. Its lease is the one its key is on in etcd.
 */
static int
podlease_renew(void *arg, const char *pod_key, const char *host,
    rt_lease_cb *done, void *done_arg)
{
	struct cluster *c = arg;
	struct podlease_ask *a;
	char *k;

	if (asprintf(&k, "%shosts/%s/pods/%s", c->prefix, host, pod_key) ==
	    -1)
		return -1;
	if ((a = podlease_ask_new(c, pod_key, done, done_arg)) == NULL ||
	    etcd_range(c->etcd, k, strlen(k), false, podlease_key_cb, a) !=
	    0) {
		if (a != NULL)
			free(a->pod_key);
		free(a);
		free(k);
		return -1;
	}
	free(k);
	return 0;
}

/*
 * runtime's pod_lease_left hook: this host's timer for a pod it
 * registered ran out; the lease in etcd says whether heartbeats went
 * elsewhere meanwhile.
 */
static int
podlease_left(void *arg, const char *pod_key, rt_lease_cb *done,
    void *done_arg)
{
	struct cluster *c = arg;
	struct cluster_podlease *pl;
	struct podlease_ask *a;

	pl = hmap_get(c->podleases, pod_key);
	if (pl == NULL || pl->id == 0)
		return -1;	/* no lease in etcd: this host's timer rules */
	if ((a = podlease_ask_new(c, pod_key, done, done_arg)) == NULL)
		return -1;
	if (etcd_lease_ttl(c->etcd, pl->id, podlease_ttl_cb, a) != 0) {
		free(a->pod_key);
		free(a);
		return -1;
	}
	return 0;
}

int
cluster_podlease_init(struct cluster *c)
{
	if ((c->podleases = hmap_new()) == NULL)
		return -1;
	c->rt->pod_lease = podlease_hook;
	c->rt->pod_renew = podlease_renew;
	c->rt->pod_lease_left = podlease_left;
	c->rt->pod_lease_arg = c;
	return 0;
}

void
cluster_podlease_shutdown(struct cluster *c)
{
	if (c->rt->pod_lease_arg == c) {
		c->rt->pod_lease = NULL;
		c->rt->pod_renew = NULL;
		c->rt->pod_lease_left = NULL;
		c->rt->pod_lease_arg = NULL;
	}
	hmap_free(c->podleases, podlease_free);
	c->podleases = NULL;
}

int
cluster_podlease_of(struct cluster *c, const char *pod_key, int64_t *id)
{
	struct cluster_podlease *pl;

	if (c->podleases == NULL ||
	    (pl = hmap_get(c->podleases, pod_key)) == NULL)
		return 0;
	*id = pl->id;
	if (pl->id == 0)
		podlease_grant(pl);
	return 1;
}

void
cluster_podlease_retry(struct cluster *c)
{
	struct hmap_iter it;
	const char *k;
	void *v;

	hmap_iter_init(&it, c->podleases);
	while (hmap_iter_next(&it, &k, &v))
		if (((struct cluster_podlease *)v)->id == 0)
			podlease_grant(v);
}

unsigned
cluster_podlease_revoke_all(struct cluster *c, etcd_lease_cb *cb)
{
	struct cluster_podlease *pl;
	struct hmap_iter it;
	const char *k;
	void *v;
	unsigned n = 0;

	hmap_iter_init(&it, c->podleases);
	while (hmap_iter_next(&it, &k, &v)) {
		pl = v;
		if (pl->id != 0 && etcd_lease_revoke(c->etcd, pl->id, cb,
		    c) == 0)
			n++;
	}
	return n;
}
