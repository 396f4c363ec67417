/* SPDX-License-Identifier: MIT */
/* kmetrics.c -- nftables counters of endpoint chains -> connection metrics. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hmap.h"
#include "kmetrics.h"
#include "log.h"
#include "metrics.h"
#include "nftapply.h"
#include "nftrules.h"
#include "registry.h"

#define KM_FAMILY	"clusterip_forward_connections_total"
#define KM_HELP		"Connections forwarded to an endpoint."

/* Endpoint chain -> what it counted at the last poll, and its series. */
struct km_ep {
	uint64_t	 last;
	char		 labels[1200];
	bool		 seen;
};

static struct hmap	*km_eps;

struct km_walk {
	bool		(*want)(const struct service *);
};

void
kmetrics_each_ep(const struct service *svc,
    void (*fn)(const struct service *, const struct svc_port *,
    const struct svc_endpoint *, bool, void *), void *arg)
{
	size_t i, j;

	for (i = 0; i < svc->nports; i++) {
		const struct svc_port *sp = &svc->ports[i];

		for (j = 0; sp->ready != NULL && j < sp->ready->n; j++)
			fn(svc, sp, &sp->ready->v[j], false, arg);
		for (j = 0; sp->ready6 != NULL && j < sp->ready6->n; j++)
			fn(svc, sp, &sp->ready6->v[j], true, arg);
	}
}

/* Names one endpoint chain and its series. */
static void
km_label_ep(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, bool v6, void *arg)
{
	char chain[NFTRULES_NAME_MAX], se[512], ee[512];
	struct km_ep *e;

	(void)arg;
	nftrules_ep_chain(svc, sp, ep, v6, chain, sizeof(chain));
	if ((e = hmap_get(km_eps, chain)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    hmap_put(km_eps, chain, e, NULL) != 0) {
			free(e);
			return;
		}
	}
	metrics_escape(svc->key, se, sizeof(se));
	metrics_escape(ep->pod->key, ee, sizeof(ee));
	snprintf(e->labels, sizeof(e->labels),
	    "service=\"%s\",endpoint=\"%s\"", se, ee);
}

/* Names the endpoint chains (both families) of one kernel service. */
static void
km_label_svc(struct service *svc, void *arg)
{
	struct km_walk *w = arg;

	if (w->want(svc))
		kmetrics_each_ep(svc, km_label_ep, NULL);
}

/* The packets of the first counter of a rule's expressions, or -1. */
static long long
km_rule_packets(json_t *expr)
{
	json_t *x, *c;
	size_t i;

	json_array_foreach(expr, i, x)
		if ((c = json_object_get(x, "counter")) != NULL &&
		    json_is_integer(json_object_get(c, "packets")))
			return json_integer_value(json_object_get(c,
			    "packets"));
	return -1;
}

int
kmetrics_poll(struct nftapply *nft, const struct nftrules_opts *o,
    const struct registry *reg, bool (*want)(const struct service *))
{
	struct km_walk w = { want };
	struct hmap_iter it;
	const char *out, *key, *chain;
	char cmd[128], err[512];
	json_error_t jerr;
	json_t *doc, *x, *rule;
	struct km_ep *e;
	long long p;
	void *val;
	size_t i;
	int n = 0;

	if (km_eps == NULL && (km_eps = hmap_new()) == NULL)
		return -1;
	registry_foreach_service(reg, km_label_svc, &w);
	snprintf(cmd, sizeof(cmd), "list table inet %s",
	    o->table ? o->table : NFTRULES_TABLE);
	if ((out = nftapply_list_json(nft, cmd, err, sizeof(err))) == NULL) {
		log_debug("kernel: counters not read: %s", err);
		return -1;
	}
	if ((doc = json_loads(out, 0, &jerr)) == NULL) {
		log_debug("kernel: counters: %s", jerr.text);
		return -1;
	}
	json_array_foreach(json_object_get(doc, "nftables"), i, x) {
		if ((rule = json_object_get(x, "rule")) == NULL ||
		    (chain = json_string_value(json_object_get(rule,
		    "chain"))) == NULL || strncmp(chain, "ep", 2) != 0 ||
		    (e = hmap_get(km_eps, chain)) == NULL ||
		    (p = km_rule_packets(json_object_get(rule, "expr"))) < 0)
			continue;
		/* A chain made anew counts from 0 again. */
		metric_add(metrics_get(KM_FAMILY, METRIC_COUNTER, KM_HELP,
		    e->labels, NULL, 0), (uint64_t)p >= e->last ?
		    (uint64_t)p - e->last : (uint64_t)p);
		e->last = (uint64_t)p;
		e->seen = true;
		n++;
	}
	json_decref(doc);
	/* Chains no longer in the table: forgotten. */
	hmap_iter_init(&it, km_eps);
	while (hmap_iter_next(&it, &key, &val)) {
		e = val;
		if (!e->seen)
			free(hmap_del(km_eps, key));
		else
			e->seen = false;
	}
	return n;
}

void
kmetrics_shutdown(void)
{
	hmap_free(km_eps, free);
	km_eps = NULL;
}
