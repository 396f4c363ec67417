/* SPDX-License-Identifier: MIT */
/*
 * kmetrics_ct.c -- conntrack entries of the table's translations ->
 * open connections, bytes and connect failures per endpoint and per
 * service: a dump at each scrape, and the destroy events between two.
 * A scrape's dump and its sums run on the state writer's thread
 * (statewr_task); the loop only names the flows to look for before,
 * and sets the series after.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctevents.h"
#include "ctstats.h"
#include "hmap.h"
#include "kmetrics.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "statewr.h"
#include "util.h"

#define KMC_ACTIVE	"clusterip_forward_connections_active"
#define KMC_BYTES	"clusterip_forward_bytes_total"
#define KMC_FAIL	"clusterip_forward_connect_failures_total"
#define KMC_SVC_FAIL	"clusterip_service_connect_failures_total"
#define KMC_SVC_ACTIVE	"clusterip_service_connections_active"
#define KMC_SVC_BYTES	"clusterip_service_bytes_total"
/* Flows with events not yet scraped, at most (others' DNAT too). */
#define KMC_PEND_MAX	65536
/* Events held while a dump runs, at most. */
#define KMC_HELD_MAX	65536

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

/*
 * One scrape's read: the flows are named on the loop, the dump and the
 * sums are made on the writer thread, the series set on the loop.
 */
struct kmc_walk {
	bool		(*want)(const struct service *);
	struct hmap	*targets;	/* flow key -> struct kmc_series */
	struct hmap	*series;	/* labels -> struct kmc_series */
	struct hmap	*sums;		/* service labels -> its sums */
	struct hmap	*pend;		/* the events up to the dump */
	struct hmap	*cts;		/* kmc_cts, the writer's meanwhile */
	int		 n;
	int		 rc;		/* entries of the table's, or -1 */
	bool		 orphan;	/* shut down meanwhile */
	uint64_t	 loop_us;	/* loop time before the hand-over */
	void		(*done)(void *);
	void		*arg;
};

static struct kmc_series *kmc_svc_sums(struct hmap *, const char *);
static void	kmc_event_cb(const struct ctstats_entry *, void *);

/*
 * Entry id -> struct kmc_ct, kept from one dump to the next. Only the
 * writer thread touches it while a read runs (kmc_busy), only the loop
 * otherwise: the events of that time wait in kmc_held.
 */
static struct hmap	*kmc_cts;
/* Flow key -> struct kmc_pend, taken by each scrape. */
static struct hmap	*kmc_pend;
static struct ctevents	*kmc_events;
static struct kmc_walk	*kmc_busy;
static struct ctstats_entry *kmc_held;
static size_t		 kmc_nheld, kmc_held_cap, kmc_held_lost;

/* Microseconds of CLOCK_MONOTONIC. */
static uint64_t
kmc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

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
kmc_delta(struct hmap *cts, const struct ctstats_entry *e, bool gone,
    uint64_t *to_ep, uint64_t *to_client)
{
	struct kmc_ct *c;
	char id[16];

	snprintf(id, sizeof(id), "%u", e->id);
	if ((c = hmap_get(cts, id)) == NULL && !gone) {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    hmap_put(cts, id, c, NULL) != 0) {
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
		free(hmap_del(cts, id));
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
	if (kmc_busy != NULL) {
		/* kmc_cts is the writer's now: after its dump. */
		if (kmc_nheld == kmc_held_cap) {
			size_t cap = kmc_held_cap ? kmc_held_cap * 2 : 256;
			struct ctstats_entry *n;

			if (cap > KMC_HELD_MAX || (n = reallocarray(kmc_held,
			    cap, sizeof(*n))) == NULL) {
				kmc_held_lost++;
				return;
			}
			kmc_held = n;
			kmc_held_cap = cap;
		}
		kmc_held[kmc_nheld++] = *e;
		return;
	}
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
		kmc_delta(kmc_cts, e, true, &p->to_ep, &p->to_client);
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
		kmc_delta(w->cts, e, false, &s->to_ep, &s->to_client);
}

static void
kmc_walk_free(struct kmc_walk *w)
{
	if (w == NULL)
		return;
	hmap_free(w->targets, NULL);
	hmap_free(w->series, free);
	hmap_free(w->sums, free);
	hmap_free(w->pend, free);
	free(w);
}

/*
 * On the writer thread: the dump, the events up to it, the sums per
 * service, and the entries forgotten; nothing of the loop's but
 * kmc_cts, which is the writer's while the read runs.
 */
static void
kmc_work(void *arg)
{
	struct kmc_walk *w = arg;
	struct hmap_iter it;
	struct kmc_series *s;
	struct kmc_ct *c;
	uint64_t t0, t1;
	const char *key;
	char err[256];
	void *val;

	t0 = kmc_now_us();
	if (ctstats_dump(kmc_entry_cb, w, err, sizeof(err)) < 0) {
		log_debug("kernel: connections not read: %s", err);
		w->rc = -1;
		return;
	}
	/* What destroy events brought, to the flows' series. */
	hmap_iter_init(&it, w->pend);
	while (hmap_iter_next(&it, &key, &val)) {
		struct kmc_pend *p = val;

		if ((s = hmap_get(w->targets, key)) != NULL) {
			s->to_ep += p->to_ep;
			s->to_client += p->to_client;
			s->fail += p->fail;
		}
	}
	hmap_iter_init(&it, w->series);
	while (hmap_iter_next(&it, &key, &val))
		kmc_svc_sum(w->sums, val);
	/*
	 * Entries absent from two dumps in a row: forgotten (their destroy
	 * event was lost). One absence may be an event still queued.
	 */
	hmap_iter_init(&it, w->cts);
	while (hmap_iter_next(&it, &key, &val)) {
		c = val;
		if (++c->missed > 2)
			free(hmap_del(w->cts, key));
	}
	w->rc = w->n;
	t1 = kmc_now_us();
	log_debug("kernel: conntrack read: %d entries of the table's, "
	    "%.3f ms on thread %ld", w->n, (double)(t1 - t0) / 1e3,
	    (long)gettid());
}

/* On the loop: one read's figures into the series. */
static void
kmc_publish(const struct kmc_walk *w)
{
	struct hmap_iter it;
	struct kmc_series *s;
	const char *key;
	void *val;

	hmap_iter_init(&it, w->series);
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
	hmap_iter_init(&it, w->sums);
	while (hmap_iter_next(&it, &key, &val))
		kmc_svc_set(val);
}

/*
 * A read that failed: the events it took still count at the next one
 * (before the ones that came since).
 */
static void
kmc_pend_keep(struct kmc_walk *w)
{
	struct hmap_iter it;
	struct kmc_pend *p, *q;
	const char *key;
	void *val;

	hmap_iter_init(&it, kmc_pend);
	while (hmap_iter_next(&it, &key, &val)) {
		q = val;
		if ((p = hmap_get(w->pend, key)) != NULL) {
			p->to_ep += q->to_ep;
			p->to_client += q->to_client;
			p->fail += q->fail;
		} else if (hmap_put(w->pend, key, q, NULL) == 0)
			continue;
		free(q);
	}
	hmap_free(kmc_pend, NULL);
	kmc_pend = w->pend;
	w->pend = NULL;
}

/*
 * On the loop, after kmc_work: the series set, the events held meanwhile
 * counted, the scrape told.
 */
static void
kmc_done_cb(void *arg, int err)
{
	struct kmc_walk *w = arg;
	void (*done)(void *) = w->done;
	void *done_arg = w->arg;
	uint64_t t0 = kmc_now_us();
	unsigned long ev_read, ev_kept;
	size_t i, n;

	(void)err;
	if (w->orphan) {
		/* kmetrics_conntrack_shutdown left these to this read. */
		hmap_free(w->cts, free);
		kmc_walk_free(w);
		done(done_arg);
		return;
	}
	kmc_busy = NULL;
	if (w->rc >= 0)
		kmc_publish(w);
	else
		kmc_pend_keep(w);
	n = kmc_nheld;
	kmc_nheld = 0;
	for (i = 0; i < n; i++)
		kmc_event_cb(&kmc_held[i], NULL);
	if (kmc_held_cap > 1024) {
		free(kmc_held);
		kmc_held = NULL;
		kmc_held_cap = 0;
	}
	if (kmc_held_lost > 0) {
		log_debug("kernel: %zu conntrack events not counted (held "
		    "during a dump)", kmc_held_lost);
		kmc_held_lost = 0;
	}
	ctevents_counts(kmc_events, &ev_read, &ev_kept);
	log_debug("kernel: conntrack read handed over on thread %ld: the "
	    "loop spent %.3f ms before, %.3f ms after; destroy events so "
	    "far: %lu read, %lu translated", (long)gettid(),
	    (double)w->loop_us / 1e3, (double)(kmc_now_us() - t0) / 1e3,
	    ev_read, ev_kept);
	kmc_walk_free(w);
	done(done_arg);
}

int
kmetrics_conntrack_start(struct statewr *sw, const struct registry *reg,
    bool (*want)(const struct service *), void (*done)(void *), void *arg)
{
	struct kmc_walk *w;
	uint64_t t0 = kmc_now_us();

	if (kmc_busy != NULL)
		return -1;
	if ((kmc_cts == NULL && (kmc_cts = hmap_new()) == NULL) ||
	    (kmc_pend == NULL && (kmc_pend = hmap_new()) == NULL) ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->want = want;
	w->done = done;
	w->arg = arg;
	w->cts = kmc_cts;
	if ((w->targets = hmap_new()) == NULL ||
	    (w->series = hmap_new()) == NULL ||
	    (w->sums = hmap_new()) == NULL)
		goto fail;
	registry_foreach_service(reg, kmc_svc, w);
	if (hmap_count(w->targets) == 0)
		goto fail;
	/* Entries destroyed before the dump: their events first. */
	ctevents_drain(kmc_events);
	w->pend = kmc_pend;
	if ((kmc_pend = hmap_new()) == NULL) {
		kmc_pend = w->pend;
		w->pend = NULL;
		goto fail;
	}
	w->loop_us = kmc_now_us() - t0;
	kmc_busy = w;
	if (statewr_task(sw, kmc_work, kmc_done_cb, w) != 0) {
		kmc_busy = NULL;
		/* Those events still count, at the next read. */
		hmap_free(kmc_pend, free);
		kmc_pend = w->pend;
		w->pend = NULL;
		goto fail;
	}
	return 0;
fail:
	kmc_walk_free(w);
	return -1;
}

int
kmetrics_conntrack_events(struct event_base *base, const char *const *ranges,
    size_t n)
{
	char err[256];

	if ((kmc_cts == NULL && (kmc_cts = hmap_new()) == NULL) ||
	    (kmc_pend == NULL && (kmc_pend = hmap_new()) == NULL))
		return -1;
	if ((kmc_events = ctevents_open(base, ranges, n, kmc_event_cb, NULL, err,
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
	if (kmc_busy != NULL) {
		/* The writer still reads kmc_cts: its read frees it. */
		kmc_busy->orphan = true;
		kmc_busy = NULL;
	} else
		hmap_free(kmc_cts, free);
	kmc_cts = NULL;
	free(kmc_held);
	kmc_held = NULL;
	kmc_nheld = kmc_held_cap = kmc_held_lost = 0;
	hmap_free(kmc_pend, free);
	kmc_pend = NULL;
}
