/* SPDX-License-Identifier: MIT */
/*
 * cluster_podlease.c -- a pod registered with a TTL through this host's
 * API holds an etcd lease of its own, of that TTL: its key
 * (P hosts/HOST/pods/NS/NAME) is put on it, each heartbeat keeps it
 * alive, and when the registrant stops, the lease runs out in etcd and
 * the pod vanishes from every host, whether or not this host still
 * runs. A lease etcd lost (etcd down past the TTL) is granted again and
 * the pod written again under it.
 */
#include "config.h"

#include <inttypes.h>
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
	if (error != NULL || id == 0) {
		log_warnx("etcd: no lease for pod %s: %s", pl->key,
		    error != NULL ? error : "no id");
		c->retry = true;	/* the tick grants it again */
		return;
	}
	pl->id = id;
	log_debug("etcd: pod %s holds lease %" PRIx64 " (TTL %" PRId64 " s)",
	    pl->key, (uint64_t)id, ttl);
	podlease_note(pl);
}

static void
podlease_grant(struct cluster_podlease *pl)
{
	if (pl->granting)
		return;
	pl->granting = etcd_lease_grant(pl->c->etcd, pl->ttl_s,
	    podlease_grant_cb, pl) == 0;
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

int
cluster_podlease_init(struct cluster *c)
{
	if ((c->podleases = hmap_new()) == NULL)
		return -1;
	c->rt->pod_lease = podlease_hook;
	c->rt->pod_lease_arg = c;
	return 0;
}

void
cluster_podlease_shutdown(struct cluster *c)
{
	if (c->rt->pod_lease_arg == c) {
		c->rt->pod_lease = NULL;
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
