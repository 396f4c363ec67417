/* SPDX-License-Identifier: MIT */
/*
 * cluster_vip.c -- VIPs agreed on cluster-wide: a Service's VIP stays the
 * one server/core/vip.c derives from its name, and is claimed with a
 * create-if-absent transaction on P vips/ADDR naming the Service's etcd
 * key. Claims go in batches: all keys absent -> all put; otherwise the
 * failure branch reads them, and each claim is ours already, lost (the
 * Service moves: cluster_vip_lost), or still open (claimed again in the
 * next batch).
 */
#include "config.h"

#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "metrics.h"
#include "etcd.h"
#include "cluster_int.h"

struct cluster_claim {
	char		*svc_key;	/* "ns/name" */
	char		*holder;	/* the Service's etcd key */
	char		*vip_key;	/* P vips/ADDR */
};

struct cluster_claims {
	struct cluster		*c;
	struct cluster_claim	 v[CLUSTER_MAX_TXN_OPS];
	size_t			 n;
};

struct cluster_claims *
cluster_claims_new(struct cluster *c)
{
	struct cluster_claims *cc;

	if ((cc = calloc(1, sizeof(*cc))) != NULL)
		cc->c = c;
	return cc;
}

static void
cluster_claims_free(struct cluster_claims *cc)
{
	size_t i;

	if (cc == NULL)
		return;
	for (i = 0; i < cc->n; i++) {
		free(cc->v[i].svc_key);
		free(cc->v[i].holder);
		free(cc->v[i].vip_key);
	}
	free(cc);
}

/* True when key names an object under this host's own key space. */
static bool
cluster_is_own(const struct cluster *c, const char *key)
{
	size_t hl = strlen(c->host);

	return cluster_key_is_host(c, key) &&
	    strncmp(key + c->prefixlen + 6, c->host, hl) == 0 &&
	    key[c->prefixlen + 6 + hl] == '/';
}

static void
cluster_claims_cb(const char *error, bool ok, int64_t rev,
    struct etcd_kv *kvs, size_t n, void *arg)
{
	struct cluster_claims *cc = arg, *again = NULL;
	struct cluster *c = cc->c;
	struct cluster_claim *cl;
	const char *held;
	size_t i, j;

	if (error != NULL) {
		log_warnx("etcd: %zu VIP claim(s) not sent: %s; again with "
		    "the next write", cc->n, error);
		for (i = 0; i < cc->n; i++)
			cluster_note_later(c, cc->v[i].svc_key);
		goto out;
	}
	if (ok)
		goto out;
	for (i = 0; i < cc->n; i++) {
		cl = &cc->v[i];
		held = NULL;
		for (j = 0; j < n && held == NULL; j++)
			if (strcmp(kvs[j].key, cl->vip_key) == 0)
				held = kvs[j].value;
		if (held == NULL) {
			/* Free: it failed with the others; claim again. */
			if (again == NULL &&
			    (again = cluster_claims_new(c)) == NULL)
				continue;
			(void)cluster_claims_add(again, cl->svc_key,
			    cl->holder, cl->vip_key + c->prefixlen + 5);
		} else if (strcmp(held, cl->holder) != 0) {
			metric_add(c->m_vip_conflicts, 1);
			log_info("etcd: %s is held by %s, not %s: choosing "
			    "another", cl->vip_key, held, cl->holder);
			/* A leftover of our own is no rival. */
			if (!cluster_is_own(c, held))
				cluster_vip_lost(c, cl->svc_key,
				    cl->vip_key + c->prefixlen + 5, held);
		}
	}
	cluster_claims_send(again);
out:
	cluster_claims_free(cc);
}

int
cluster_claims_add(struct cluster_claims *cc, const char *svc_key,
    const char *holder, const char *ip)
{
	struct cluster_claim *cl = &cc->v[cc->n];
	char *vk;

	if (asprintf(&vk, "%svips/%s", cc->c->prefix, ip) == -1)
		return ERR_NOMEM;
	cl->vip_key = vk;
	if ((cl->svc_key = strdup(svc_key)) == NULL ||
	    (cl->holder = strdup(holder)) == NULL) {
		free(cl->svc_key);
		free(cl->vip_key);
		memset(cl, 0, sizeof(*cl));
		return ERR_NOMEM;
	}
	if (++cc->n == CLUSTER_MAX_TXN_OPS) {
		/* Full: this batch goes, the caller's continues empty. */
		struct cluster_claims *full;

		if ((full = malloc(sizeof(*full))) == NULL)
			return ERR_NOMEM;
		memcpy(full, cc, sizeof(*full));
		cc->n = 0;
		cluster_claims_send(full);
	}
	return 0;
}

void
cluster_claims_send(struct cluster_claims *cc)
{
	struct cluster *c;
	struct etcd_txn *t;
	struct cluster_claim *cl;
	size_t i, kl;
	int rc = 0;

	if (cc == NULL)
		return;
	c = cc->c;
	if (cc->n == 0 || (t = etcd_txn_new()) == NULL) {
		cluster_claims_free(cc);
		return;
	}
	for (i = 0; i < cc->n && rc == 0; i++) {
		cl = &cc->v[i];
		kl = strlen(cl->vip_key);
		rc = etcd_txn_cmp_absent(t, cl->vip_key, kl);
		if (rc == 0)
			rc = etcd_txn_put(t, cl->vip_key, kl, cl->holder,
			    strlen(cl->holder), cluster_key_is_host(c,
			    cl->holder) ? c->lease : 0);
		if (rc == 0)
			rc = etcd_txn_on_failure_get(t, cl->vip_key, kl);
	}
	if (rc != 0) {
		etcd_txn_free(t);
		cluster_claims_cb("out of memory", false, 0, NULL, 0, cc);
		return;
	}
	if (etcd_txn_commit(c->etcd, t, cluster_claims_cb, cc) != 0)
		cluster_claims_cb("cannot send", false, 0, NULL, 0, cc);
}

static void
cluster_release_cb(const char *error, bool ok, int64_t rev,
    struct etcd_kv *kvs, size_t n, void *arg)
{
	if (error != NULL)
		log_warnx("etcd: releasing VIP %s: %s", (char *)arg, error);
	free(arg);
}

void
cluster_vip_release(struct cluster *c, const char *holder, const char *ip)
{
	struct etcd_txn *t;
	char *vk;
	size_t kl;

	if (asprintf(&vk, "%svips/%s", c->prefix, ip) == -1)
		return;
	kl = strlen(vk);
	if ((t = etcd_txn_new()) == NULL ||
	    etcd_txn_cmp_value(t, vk, kl, holder, strlen(holder)) != 0 ||
	    etcd_txn_delete(t, vk, kl) != 0) {
		etcd_txn_free(t);
		free(vk);
		return;
	}
	if (etcd_txn_commit(c->etcd, t, cluster_release_cb, vk) != 0)
		free(vk);
}
