/* SPDX-License-Identifier: MIT */
/*
 * kmetrics_ct.c -- conntrack entries of the table's translations ->
 * open connections and bytes per endpoint, at each scrape.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctstats.h"
#include "hmap.h"
#include "kmetrics.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "util.h"

#define KMC_ACTIVE	"clusterip_forward_connections_active"
#define KMC_BYTES	"clusterip_forward_bytes_total"

/* One (service, endpoint) series: what this dump found for it. */
struct kmc_series {
	char		 labels[1200];
	int64_t		 open;
	uint64_t	 to_ep, to_client;
};

/* A conntrack entry's counters at the last dump. */
struct kmc_ct {
	uint64_t	 orig, reply;
	bool		 seen;
};

struct kmc_walk {
	bool		(*want)(const struct service *);
	struct hmap	*targets;	/* flow key -> struct kmc_series */
	struct hmap	*series;	/* labels -> struct kmc_series */
	int		 n;
};

/* Entry id -> struct kmc_ct, kept from one dump to the next. */
static struct hmap	*kmc_cts;

/* "af/proto/VIP/port/EP/port": the same from registry and conntrack. */
static void
kmc_key(char *buf, size_t len, int af, int l4, const void *vip,
    uint16_t vport, const void *ep, uint16_t ep_port)
{
	char v[INET6_ADDRSTRLEN], e[INET6_ADDRSTRLEN];

	inet_ntop(af, vip, v, sizeof(v));
	inet_ntop(af, ep, e, sizeof(e));
	snprintf(buf, len, "%d/%d/%s/%u/%s/%u", af, l4, v, vport, e,
	    ep_port);
}

static struct kmc_series *
kmc_series_get(struct kmc_walk *w, const char *se, const struct pod *pod)
{
	struct kmc_series *s;
	char ee[512], labels[1200];

	metrics_escape(pod->key, ee, sizeof(ee));
	snprintf(labels, sizeof(labels), "service=\"%s\",endpoint=\"%s\"",
	    se, ee);
	if ((s = hmap_get(w->series, labels)) != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	strlcpy(s->labels, labels, sizeof(s->labels));
	if (hmap_put(w->series, labels, s, NULL) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* The flow of one ready endpoint, and its series. */
static void
kmc_ep(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, bool v6, void *arg)
{
	struct kmc_walk *w = arg;
	struct kmc_series *s;
	char se[512], key[160];

	metrics_escape(svc->key, se, sizeof(se));
	if ((s = kmc_series_get(w, se, ep->pod)) == NULL)
		return;
	kmc_key(key, sizeof(key), v6 ? AF_INET6 : AF_INET,
	    sp->proto == CIP_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP,
	    v6 ? (const void *)&svc->vip6 : (const void *)&svc->vip, sp->port,
	    v6 ? (const void *)&ep->ip6 : (const void *)&ep->ip, ep->port);
	(void)hmap_put(w->targets, key, s, NULL);
}

/* The flows of one kernel service's ready endpoints, both families. */
static void
kmc_svc(struct service *svc, void *arg)
{
	struct kmc_walk *w = arg;

	if (w->want(svc))
		kmetrics_each_ep(svc, kmc_ep, w);
}

/* What the entry's counters grew by since the last dump. */
static void
kmc_bytes(struct kmc_series *s, const struct ctstats_entry *e)
{
	struct kmc_ct *c;
	char id[16];

	snprintf(id, sizeof(id), "%u", e->id);
	if ((c = hmap_get(kmc_cts, id)) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    hmap_put(kmc_cts, id, c, NULL) != 0) {
			free(c);
			return;
		}
	}
	/* Lower than last time: an id reused by a new entry. */
	s->to_ep += e->bytes_orig >= c->orig ? e->bytes_orig - c->orig :
	    e->bytes_orig;
	s->to_client += e->bytes_reply >= c->reply ?
	    e->bytes_reply - c->reply : e->bytes_reply;
	c->orig = e->bytes_orig;
	c->reply = e->bytes_reply;
	c->seen = true;
}

/* The series the userspace forwarder keeps: its labels, then direction. */
static void
kmc_add_bytes(const char *labels, const char *dir, uint64_t n)
{
	char l[1300];

	snprintf(l, sizeof(l), "%s,direction=\"%s\"", labels, dir);
	metric_add(metrics_get(KMC_BYTES, METRIC_COUNTER, "Bytes forwarded.",
	    l, NULL, 0), n);
}

static void
kmc_entry_cb(const struct ctstats_entry *e, void *arg)
{
	struct kmc_walk *w = arg;
	struct kmc_series *s;
	char key[160];

	kmc_key(key, sizeof(key), e->af, e->l4, e->vip, e->vport, e->ep,
	    e->ep_port);
	if ((s = hmap_get(w->targets, key)) == NULL)
		return;
	w->n++;
	if (e->open)
		s->open++;
	if (e->has_bytes)
		kmc_bytes(s, e);
}

int
kmetrics_conntrack(const struct registry *reg,
    bool (*want)(const struct service *))
{
	struct kmc_walk w = { .want = want };
	struct hmap_iter it;
	struct kmc_series *s;
	struct kmc_ct *c;
	struct timespec t0, t1;
	const char *key;
	char err[256];
	void *val;
	int rc;

	if ((kmc_cts == NULL && (kmc_cts = hmap_new()) == NULL) ||
	    (w.targets = hmap_new()) == NULL ||
	    (w.series = hmap_new()) == NULL) {
		hmap_free(w.targets, NULL);
		return -1;
	}
	registry_foreach_service(reg, kmc_svc, &w);
	rc = 0;
	if (hmap_count(w.targets) == 0)
		goto out;
	rc = -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ctstats_dump(kmc_entry_cb, &w, err, sizeof(err)) < 0) {
		log_debug("kernel: connections not read: %s", err);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("kernel: conntrack read: %d entries of the table's, %.3f ms",
	    w.n, (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	rc = w.n;
	hmap_iter_init(&it, w.series);
	while (hmap_iter_next(&it, &key, &val)) {
		s = val;
		metric_set(metrics_get(KMC_ACTIVE, METRIC_GAUGE,
		    "Open forwarded connections.", s->labels, NULL, 0),
		    s->open);
		if (s->to_ep == 0 && s->to_client == 0)
			continue;
		kmc_add_bytes(s->labels, "to_endpoint", s->to_ep);
		kmc_add_bytes(s->labels, "to_client", s->to_client);
	}
	/* Entries gone from conntrack: forgotten. */
	hmap_iter_init(&it, kmc_cts);
	while (hmap_iter_next(&it, &key, &val)) {
		c = val;
		if (!c->seen)
			free(hmap_del(kmc_cts, key));
		else
			c->seen = false;
	}
out:
	hmap_free(w.targets, NULL);
	hmap_free(w.series, free);
	return rc;
}

void
kmetrics_conntrack_shutdown(void)
{
	hmap_free(kmc_cts, free);
	kmc_cts = NULL;
}
