/* SPDX-License-Identifier: MIT */
/*
 * kmetrics.c -- nftables counters of endpoint chains and of the
 * endpoint-counters sets' elements -> connection metrics.
 */
#include <arpa/inet.h>
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

/* "f:VIP . proto . port : EP . PORT": an endpoint-counters element. */
static void
km_flow(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, bool v6, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? (const void *)&svc->ext->vip6 :
	    (const void *)&svc->vip, a, sizeof(a));
	inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? (const void *)&ep->ip6 :
	    (const void *)&ep->ip, b, sizeof(b));
	snprintf(buf, len, "f:%s . %s . %u : %s . %u", a,
	    sp->proto == CIP_PROTO_UDP ? "udp" : "tcp", (unsigned)sp->port, b,
	    (unsigned)ep->port);
}

/* The series of name, created when absent; NULL on OOM. */
static struct km_ep *
km_get(const char *name)
{
	struct km_ep *e;

	if ((e = hmap_get(km_eps, name)) != NULL)
		return e;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    hmap_put(km_eps, name, e, NULL) != 0) {
		free(e);
		return NULL;
	}
	return e;
}

/*
 * Names one endpoint's chain (round-robin and affinity services) and its
 * endpoint-counters element (the others): the same series.
 */
static void
km_label_ep(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, bool v6, void *arg)
{
	char name[NFTRULES_NAME_MAX], se[512], ee[512];
	struct km_ep *e;

	(void)arg;
	metrics_escape(svc->key, se, sizeof(se));
	metrics_escape(ep->pod->key, ee, sizeof(ee));
	nftrules_ep_chain(svc, sp, ep, v6, name, sizeof(name));
	if ((e = km_get(name)) != NULL)
		snprintf(e->labels, sizeof(e->labels),
		    "service=\"%s\",endpoint=\"%s\"", se, ee);
	km_flow(svc, sp, ep, v6, name, sizeof(name));
	if ((e = km_get(name)) != NULL)
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

/* What a series counted since the last reading, into its metric. */
static void
km_count_packets(struct km_ep *e, uint64_t p)
{
	/* A chain or element made anew counts from 0 again. */
	metric_add(metrics_get(KM_FAMILY, METRIC_COUNTER, KM_HELP, e->labels,
	    NULL, 0), p >= e->last ? p - e->last : p);
	e->last = p;
	e->seen = true;
}

/* A string or an integer of a JSON concatenation, as text. */
static bool
km_field(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		return false;
	return true;
}

/*
 * The counters of an endpoint-counters set's elements: {"elem": {"val":
 * {"concat": [VIP, proto, port, ADDR, PORT]}, "counter": {...}}}, each
 * the series of its flow. Returns the number read.
 */
static int
km_set(json_t *set)
{
	char f[5][64], flow[350];
	json_t *el, *key, *val, *c;
	struct km_ep *e;
	size_t i, j;
	int n = 0;

	json_array_foreach(json_object_get(set, "elem"), i, el) {
		key = json_object_get(el, "elem");
		val = json_object_get(json_object_get(key, "val"), "concat");
		c = json_object_get(json_object_get(key, "counter"), "packets");
		if (json_array_size(val) != 5 || !json_is_integer(c))
			continue;
		for (j = 0; j < 5; j++)
			if (!km_field(json_array_get(val, j), f[j],
			    sizeof(f[j])))
				break;
		if (j < 5)
			continue;
		snprintf(flow, sizeof(flow), "f:%s . %s . %s : %s . %s", f[0],
		    f[1], f[2], f[3], f[4]);
		if ((e = hmap_get(km_eps, flow)) == NULL)
			continue;
		km_count_packets(e, (uint64_t)json_integer_value(c));
		n++;
	}
	return n;
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
		if ((rule = json_object_get(x, "set")) != NULL &&
		    (chain = json_string_value(json_object_get(rule,
		    "name"))) != NULL &&
		    strncmp(chain, "endpoint-counters", 17) == 0) {
			n += km_set(rule);
			continue;
		}
		if ((rule = json_object_get(x, "rule")) == NULL ||
		    (chain = json_string_value(json_object_get(rule,
		    "chain"))) == NULL || strncmp(chain, "ep", 2) != 0 ||
		    (e = hmap_get(km_eps, chain)) == NULL ||
		    (p = km_rule_packets(json_object_get(rule, "expr"))) < 0)
			continue;
		km_count_packets(e, (uint64_t)p);
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
