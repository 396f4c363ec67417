/* SPDX-License-Identifier: MIT */
/*
 * kmetrics_ct.c -- conntrack entries of the table's translations ->
 * open connections, bytes and connect failures per endpoint and per
 * service: a dump at each scrape, and the destroy events between two.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctevents.h"
#include "ctstats.h"
#include "hmap.h"
#include "kmetrics.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "util.h"

#define KMC_ACTIVE	"clusterip_forward_connections_active"
#define KMC_BYTES	"clusterip_forward_bytes_total"
#define KMC_FAIL	"clusterip_forward_connect_failures_total"
#define KMC_SVC_FAIL	"clusterip_service_connect_failures_total"
#define KMC_SVC_ACTIVE	"clusterip_service_connections_active"
#define KMC_SVC_BYTES	"clusterip_service_bytes_total"
/* Flows with events not yet scraped, at most (others' DNAT too). */
#define KMC_PEND_MAX	65536

/* One (service, endpoint) series: what this scrape found for it. */
struct kmc_series {
	char		 labels[1200];
	char		 svc_labels[600];
	int64_t		 open;
	uint64_t	 to_ep, to_client, fail;
};

/* A conntrack entry's counters at the last dump. */
struct kmc_ct {
	uint64_t	 orig, reply;
	int		 missed;	/* dumps in a row without it */
};

/* What the destroy events of one flow brought since the last scrape. */
struct kmc_pend {
	uint64_t	 to_ep, to_client, fail;
};

struct kmc_walk {
	bool		(*want)(const struct service *);
	struct hmap	*targets;	/* flow key -> struct kmc_series */
	struct hmap	*series;	/* labels -> struct kmc_series */
	struct hmap	*sums;		/* service labels -> its sums */
	int		 n;
};

static struct kmc_series *kmc_svc_sums(struct hmap *, const char *);

/* Entry id -> struct kmc_ct, kept from one dump to the next. */
static struct hmap	*kmc_cts;
/* Flow key -> struct kmc_pend, emptied at each scrape. */
static struct hmap	*kmc_pend;
static struct ctevents	*kmc_events;

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
	snprintf(s->svc_labels, sizeof(s->svc_labels), "service=\"%s\"", se);
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
	    v6 ? (const void *)&svc->ext->vip6 : (const void *)&svc->vip, sp->port,
	    v6 ? (const void *)&ep->ip6 : (const void *)&ep->ip, ep->port);
	(void)hmap_put(w->targets, key, s, NULL);
}

/* The flows of one kernel service's ready endpoints, both families. */
static void
kmc_svc(struct service *svc, void *arg)
{
	struct kmc_walk *w = arg;
	char se[512], l[600];

	if (!w->want(svc))
		return;
	/* Its sums even without endpoints: 0 open, not what was. */
	metrics_escape(svc->key, se, sizeof(se));
	snprintf(l, sizeof(l), "service=\"%s\"", se);
	(void)kmc_svc_sums(w->sums, l);
	kmetrics_each_ep(svc, kmc_ep, w);
}

/*
 * What the entry's counters grew by since they were last read; gone
 * (a destroy event) forgets the entry.
 */
static void
kmc_delta(const struct ctstats_entry *e, bool gone, uint64_t *to_ep,
    uint64_t *to_client)
{
	struct kmc_ct *c;
	char id[16];

	snprintf(id, sizeof(id), "%u", e->id);
	if ((c = hmap_get(kmc_cts, id)) == NULL && !gone) {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    hmap_put(kmc_cts, id, c, NULL) != 0) {
			free(c);
			return;
		}
	}
	/* Unseen, or lower than last time (an id reused): all of it. */
	*to_ep += c != NULL && e->bytes_orig >= c->orig ?
	    e->bytes_orig - c->orig : e->bytes_orig;
	*to_client += c != NULL && e->bytes_reply >= c->reply ?
	    e->bytes_reply - c->reply : e->bytes_reply;
	if (c == NULL)
		return;
	if (gone) {
		free(hmap_del(kmc_cts, id));
		return;
	}
	c->orig = e->bytes_orig;
	c->reply = e->bytes_reply;
	c->missed = 0;
}

/*
 * A translated entry left conntrack: its last bytes, and a failed
 * connect when a TCP one never completed its handshake (refused, or no
 * answer), kept for the next scrape.
 */
static void
kmc_event_cb(const struct ctstats_entry *e, void *arg)
{
	struct kmc_pend *p;
	char key[160];

	(void)arg;
	if (kmc_pend == NULL || kmc_cts == NULL)
		return;
	kmc_key(key, sizeof(key), e->af, e->l4, e->vip, e->vport, e->ep,
	    e->ep_port);
	if ((p = hmap_get(kmc_pend, key)) == NULL) {
		if (hmap_count(kmc_pend) >= KMC_PEND_MAX ||
		    (p = calloc(1, sizeof(*p))) == NULL)
			return;
		if (hmap_put(kmc_pend, key, p, NULL) != 0) {
			free(p);
			return;
		}
	}
	if (e->l4 == IPPROTO_TCP && !e->assured)
		p->fail++;
	if (e->has_bytes)
		kmc_delta(e, true, &p->to_ep, &p->to_client);
}

/*
 * The bytes series the userspace forwarder keeps (family, with help):
 * its labels, then direction.
 */
static void
kmc_add_bytes(const char *family, const char *help, const char *labels,
    const char *dir, uint64_t n)
{
	char l[1300];

	snprintf(l, sizeof(l), "%s,direction=\"%s\"", labels, dir);
	metric_add(metrics_get(family, METRIC_COUNTER, help, l, NULL, 0), n);
}

/* A service's sums of this scrape, made empty when absent; NULL on OOM. */
static struct kmc_series *
kmc_svc_sums(struct hmap *sums, const char *svc_labels)
{
	struct kmc_series *t;

	if ((t = hmap_get(sums, svc_labels)) != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	strlcpy(t->svc_labels, svc_labels, sizeof(t->svc_labels));
	if (hmap_put(sums, svc_labels, t, NULL) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* One scrape's sums per service: ep's added to its service's. */
static void
kmc_svc_sum(struct hmap *sums, const struct kmc_series *ep)
{
	struct kmc_series *t;

	if ((t = kmc_svc_sums(sums, ep->svc_labels)) == NULL)
		return;
	t->open += ep->open;
	t->to_ep += ep->to_ep;
	t->to_client += ep->to_client;
}

/* A service's sums into the series the userspace forwarder keeps. */
static void
kmc_svc_set(const struct kmc_series *t)
{
	metric_set(metrics_get(KMC_SVC_ACTIVE, METRIC_GAUGE,
	    "Open forwarded connections of a service.", t->svc_labels, NULL,
	    0), t->open);
	if (t->to_ep == 0 && t->to_client == 0)
		return;
	kmc_add_bytes(KMC_SVC_BYTES, "Bytes forwarded for a service.",
	    t->svc_labels, "to_endpoint", t->to_ep);
	kmc_add_bytes(KMC_SVC_BYTES, "Bytes forwarded for a service.",
	    t->svc_labels, "to_client", t->to_client);
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
		kmc_delta(e, false, &s->to_ep, &s->to_client);
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
	    (kmc_pend == NULL && (kmc_pend = hmap_new()) == NULL) ||
	    (w.targets = hmap_new()) == NULL ||
	    (w.series = hmap_new()) == NULL ||
	    (w.sums = hmap_new()) == NULL) {
		hmap_free(w.targets, NULL);
		hmap_free(w.series, NULL);
		return -1;
	}
	registry_foreach_service(reg, kmc_svc, &w);
	rc = 0;
	if (hmap_count(w.targets) == 0)
		goto out;
	rc = -1;
	/* Entries destroyed before the dump: their events first. */
	ctevents_drain(kmc_events);
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
	/* What destroy events brought, to the flows' series. */
	hmap_iter_init(&it, kmc_pend);
	while (hmap_iter_next(&it, &key, &val)) {
		struct kmc_pend *p = val;

		if ((s = hmap_get(w.targets, key)) != NULL) {
			s->to_ep += p->to_ep;
			s->to_client += p->to_client;
			s->fail += p->fail;
		}
	}
	hmap_free(kmc_pend, free);
	kmc_pend = hmap_new();
	hmap_iter_init(&it, w.series);
	while (hmap_iter_next(&it, &key, &val)) {
		s = val;
		metric_set(metrics_get(KMC_ACTIVE, METRIC_GAUGE,
		    "Open forwarded connections.", s->labels, NULL, 0),
		    s->open);
		if (s->fail > 0) {
			metric_add(metrics_get(KMC_FAIL, METRIC_COUNTER,
			    "Connects to an endpoint that failed.", s->labels,
			    NULL, 0), s->fail);
			metric_add(metrics_get(KMC_SVC_FAIL, METRIC_COUNTER,
			    "Connects to a service's endpoints that failed.",
			    s->svc_labels, NULL, 0), s->fail);
		}
		if (s->to_ep == 0 && s->to_client == 0)
			continue;
		kmc_add_bytes(KMC_BYTES, "Bytes forwarded.", s->labels,
		    "to_endpoint", s->to_ep);
		kmc_add_bytes(KMC_BYTES, "Bytes forwarded.", s->labels,
		    "to_client", s->to_client);
	}
	hmap_iter_init(&it, w.series);
	while (hmap_iter_next(&it, &key, &val))
		kmc_svc_sum(w.sums, val);
	hmap_iter_init(&it, w.sums);
	while (hmap_iter_next(&it, &key, &val))
		kmc_svc_set(val);
	/*
	 * Entries absent from two dumps in a row: forgotten (their destroy
	 * event was lost). One absence may be an event still queued.
	 */
	hmap_iter_init(&it, kmc_cts);
	while (hmap_iter_next(&it, &key, &val)) {
		c = val;
		if (++c->missed > 2)
			free(hmap_del(kmc_cts, key));
	}
out:
	hmap_free(w.targets, NULL);
	hmap_free(w.series, free);
	hmap_free(w.sums, free);
	return rc;
}

int
kmetrics_conntrack_events(struct event_base *base)
{
	char err[256];

	if ((kmc_cts == NULL && (kmc_cts = hmap_new()) == NULL) ||
	    (kmc_pend == NULL && (kmc_pend = hmap_new()) == NULL))
		return -1;
	if ((kmc_events = ctevents_open(base, kmc_event_cb, NULL, err,
	    sizeof(err))) == NULL) {
		log_warnx("kernel: connect failures and the last bytes of "
		    "closed connections not counted: %s", err);
		return -1;
	}
	return 0;
}

void
kmetrics_conntrack_shutdown(void)
{
	ctevents_free(kmc_events);
	kmc_events = NULL;
	hmap_free(kmc_cts, free);
	kmc_cts = NULL;
	hmap_free(kmc_pend, free);
	kmc_pend = NULL;
}
