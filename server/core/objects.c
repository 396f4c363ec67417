/* SPDX-License-Identifier: MIT */
/* objects.c -- services, pods, Endpoints and object sets: construction, comparison, freeing. */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "registry.h"
#include "util.h"

const struct service_ext service_ext_none = {
	.affinity_timeout_s = 10800,
};

const char *
owner_describe(const struct owner *o, char *buf, size_t len)
{
	switch (o->kind) {
	case OWNER_FILE:
		snprintf(buf, len, "file %s", o->id ? o->id : "?");
		break;
	case OWNER_API:
		snprintf(buf, len, "the API");
		break;
	case OWNER_DOCKER:
		/* A container id, or "ns/name" of a Service labels define. */
		if (o->id != NULL && strchr(o->id, '/') != NULL)
			snprintf(buf, len, "docker (label clusterip.io/service "
			    "of the containers of %s)", o->id);
		else
			snprintf(buf, len, "docker container %.12s",
			    o->id ? o->id : "?");
		break;
	case OWNER_ETCD:
		/* id: the host that published it; none: applied cluster-wide. */
		if (o->id != NULL)
			snprintf(buf, len, "etcd (host %s)", o->id);
		else
			snprintf(buf, len, "etcd (the API of any host)");
		break;
	}
	return buf;
}

bool
owner_equal(const struct owner *a, const struct owner *b)
{
	return a->kind == b->kind && streq_null(a->id, b->id);
}

const char *
cip_proto_name(enum cip_proto p)
{
	switch (p) {
	case CIP_PROTO_UDP:
		return "UDP";
	case CIP_PROTO_SCTP:
		return "SCTP";
	default:
		return "TCP";
	}
}

static const char *const lb_names[] = {
	[LB_RANDOM] = "random",
	[LB_ROUND_ROBIN] = "round-robin",
	[LB_LEAST_CONN] = "least-connections",
};

const char *
lb_algo_name(enum lb_algo a)
{
	if ((size_t)a < CIP_ARRAY_LEN(lb_names))
		return lb_names[a];
	return "random";
}

int
lb_algo_parse(const char *s)
{
	size_t i;

	for (i = 0; i < CIP_ARRAY_LEN(lb_names); i++)
		if (strcmp(s, lb_names[i]) == 0)
			return (int)i;
	return -1;
}

bool
pod_ready(const struct pod *p)
{
	return p->declared_ready && p->probe_ok;
}

uint16_t
pod_target_port(const struct pod *p, const struct svc_port *sp)
{
	size_t i;
	uint16_t t;
	bool via_host;

	if (p->endpoints_of != NULL) {
		/* Endpoints ports pair with service ports by name. */
		for (i = 0; i < p->nports; i++)
			if (streq_null(p->ports[i].name, sp->name))
				return p->ports[i].port;
		if (p->nports == 1)
			return p->ports[0].port;
		return 0;
	}
	via_host = labels_get(&p->annotations, ANNOTATION_VIA_HOST_PORT) !=
	    NULL;
	if (sp->target_name == NULL) {
		t = sp->target_port ? sp->target_port : sp->port;
		if (!via_host)
			return t;
		for (i = 0; i < p->nports; i++)
			if (p->ports[i].port == t &&
			    p->ports[i].proto == sp->proto)
				return p->ports[i].host_port;
		return 0;
	}
	for (i = 0; i < p->nports; i++)
		if (p->ports[i].name != NULL &&
		    strcmp(p->ports[i].name, sp->target_name) == 0)
			return via_host ? p->ports[i].host_port :
			    p->ports[i].port;
	return 0;
}

const char *
pod_endpoint_hostname(const struct pod *p, const struct service *svc)
{
	if (p->endpoints_of != NULL)
		return p->hostname;
	if (p->hostname != NULL && p->subdomain != NULL &&
	    strcmp(p->subdomain, svc->name) == 0 &&
	    strcmp(p->ns, svc->ns) == 0)
		return p->hostname;
	return NULL;
}

bool
pod_published(const struct pod *p, const struct service *svc)
{
	if (p->ip.s_addr == 0 && in6_is_unset(&p->ip6))
		return false;
	return pod_ready(p) || svc->publish_not_ready;
}

bool
pod_has_family(const struct pod *p, enum ip_family f)
{
	return f == IP_FAMILY_V6 ? !in6_is_unset(&p->ip6) : p->ip.s_addr != 0;
}

bool
service_has_family(const struct service *s, enum ip_family f)
{
	size_t i;

	for (i = 0; i < s->nfamilies; i++)
		if (s->families[i] == f)
			return true;
	return false;
}

bool
in6_is_unset(const struct in6_addr *a)
{
	static const struct in6_addr any;

	return memcmp(a, &any, sizeof(any)) == 0;
}

char *
in6_dashed(const struct in6_addr *a, char *buf, size_t len)
{
	char *c;

	if (inet_ntop(AF_INET6, a, buf, (socklen_t)len) == NULL) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	for (c = buf; *c != '\0'; c++)
		if (*c == ':')
			*c = '-';
	return buf;
}

const char *
ip_family_name(enum ip_family f)
{
	return f == IP_FAMILY_V6 ? "IPv6" : "IPv4";
}

int
ip_family_parse(const char *s)
{
	if (strcmp(s, "IPv4") == 0)
		return IP_FAMILY_V4;
	if (strcmp(s, "IPv6") == 0)
		return IP_FAMILY_V6;
	return -1;
}

static const char *const ipfp_names[] = {
	[IPFP_UNSET] = "",
	[IPFP_SINGLE_STACK] = "SingleStack",
	[IPFP_PREFER_DUAL_STACK] = "PreferDualStack",
	[IPFP_REQUIRE_DUAL_STACK] = "RequireDualStack",
};

const char *
ip_family_policy_name(enum ip_family_policy p)
{
	if ((size_t)p < CIP_ARRAY_LEN(ipfp_names))
		return ipfp_names[p];
	return "";
}

int
ip_family_policy_parse(const char *s)
{
	size_t i;

	for (i = IPFP_SINGLE_STACK; i < CIP_ARRAY_LEN(ipfp_names); i++)
		if (strcmp(s, ipfp_names[i]) == 0)
			return (int)i;
	return -1;
}

static enum ip_family
other_family(enum ip_family f)
{
	return f == IP_FAMILY_V4 ? IP_FAMILY_V6 : IP_FAMILY_V4;
}

/* As Kubernetes' initIPFamilyFields and validateIPFamilyInfo decide. */
int
service_ip_families(const struct service *s, const enum ip_family *cluster,
    size_t ncluster, enum ip_family_policy *policy, enum ip_family out[2],
    uint8_t *nout, char *err, size_t errlen)
{
	static const enum ip_family v4only[] = { IP_FAMILY_V4 };
	enum ip_family_policy pol = s->ext->req_policy;
	enum ip_family fam[2];
	size_t n = 0, i, k;

	*policy = IPFP_UNSET;
	*nout = 0;
	if (cluster == NULL || ncluster == 0) {
		cluster = v4only;
		ncluster = 1;
	}
	if (s->type == SVC_EXTERNALNAME) {
		if (s->ext->req_policy != IPFP_UNSET) {
			errf(err, errlen, "spec.ipFamilyPolicy: may not be "
			    "set for type ExternalName");
			return ERR_INVAL;
		}
		if (s->ext->nreq_families != 0) {
			errf(err, errlen, "spec.ipFamilies: may not be set "
			    "for type ExternalName");
			return ERR_INVAL;
		}
		return 0;
	}
	if (s->ext->nreq_families > 2 || s->ext->nreq_ips > 2) {
		errf(err, errlen, "spec.%s: may hold at most two entries",
		    s->ext->nreq_ips > 2 ? "clusterIPs" : "ipFamilies");
		return ERR_INVAL;
	}
	if (s->ext->nreq_families == 2 &&
	    s->ext->req_families[0] == s->ext->req_families[1]) {
		errf(err, errlen, "spec.ipFamilies[1]: duplicate value \"%s\"",
		    ip_family_name(s->ext->req_families[1]));
		return ERR_INVAL;
	}
	if (s->ext->nreq_ips == 2 &&
	    s->ext->req_ip_families[0] == s->ext->req_ip_families[1]) {
		errf(err, errlen, "spec.clusterIPs: may hold no more than one "
		    "address per IP family");
		return ERR_INVAL;
	}
	if (pol == IPFP_SINGLE_STACK &&
	    (s->ext->nreq_families == 2 || s->ext->nreq_ips == 2)) {
		errf(err, errlen, "spec.ipFamilyPolicy: must be "
		    "RequireDualStack or PreferDualStack when two '%s' are "
		    "given", s->ext->nreq_ips == 2 ? "clusterIPs" : "ipFamilies");
		return ERR_INVAL;
	}
	for (i = 0; i < s->ext->nreq_families; i++)
		fam[n++] = s->ext->req_families[i];
	/* Families follow clusterIPs, which must agree with ipFamilies. */
	for (i = 0; i < s->ext->nreq_ips; i++) {
		if (i >= n)
			fam[n++] = s->ext->req_ip_families[i];
		else if (fam[i] != s->ext->req_ip_families[i]) {
			errf(err, errlen, "spec.ipFamilies[%zu]: %s does not "
			    "match the family of spec.clusterIPs[%zu]", i,
			    ip_family_name(fam[i]), i);
			return ERR_INVAL;
		}
	}
	if (pol == IPFP_UNSET && n == 2)
		pol = IPFP_REQUIRE_DUAL_STACK;
	/*
	 * Headless without selector: addresses come from Endpoints of any
	 * family, so Kubernetes lets it be dual-stack on any cluster.
	 */
	if (s->type == SVC_HEADLESS && s->selector == NULL) {
		if (pol == IPFP_UNSET)
			pol = IPFP_REQUIRE_DUAL_STACK;
		if (n == 0)
			fam[n++] = cluster[0];
		if (n == 1 && pol != IPFP_SINGLE_STACK)
			fam[n++] = other_family(fam[0]);
		goto done;
	}
	if (pol == IPFP_UNSET)
		pol = IPFP_SINGLE_STACK;
	if (pol == IPFP_REQUIRE_DUAL_STACK && ncluster < 2) {
		errf(err, errlen, "spec.ipFamilyPolicy: RequireDualStack: "
		    "the daemon is not configured for dual-stack services "
		    "(one --vip-range per family)");
		return ERR_INVAL;
	}
	for (i = 0; i < n; i++) {
		for (k = 0; k < ncluster && cluster[k] != fam[i]; k++)
			;
		if (k == ncluster) {
			errf(err, errlen, "spec.%s[%zu]: %s is not configured "
			    "on this daemon (no --vip-range of that family)",
			    i < s->ext->nreq_families ? "ipFamilies" : "clusterIPs",
			    i, ip_family_name(fam[i]));
			return ERR_INVAL;
		}
	}
	if (n == 0)
		fam[n++] = cluster[0];
	if (pol != IPFP_SINGLE_STACK && n == 1 && ncluster == 2)
		fam[n++] = other_family(fam[0]);
done:
	*policy = pol;
	for (i = 0; i < n; i++)
		out[i] = fam[i];
	*nout = (uint8_t)n;
	return 0;
}

/*
 * Namespaces, interned: every object of a namespace points at one copy
 * of its name, counted, freed with the last object. A namespace holds
 * many objects, so a copy of its name in each (100,000 times "default")
 * was a block of its own. The lock is for form: objects are made and
 * freed on the loop.
 */
struct ns_name {
	size_t	 refs;
	char	 name[];
};

static struct hmap	*ns_names;
static pthread_mutex_t	 ns_mu = PTHREAD_MUTEX_INITIALIZER;

static char *
ns_get(const char *ns)
{
	struct ns_name *n;
	size_t len;

	pthread_mutex_lock(&ns_mu);
	if (ns_names == NULL && (ns_names = hmap_new()) == NULL)
		goto fail;
	if ((n = hmap_get(ns_names, ns)) == NULL) {
		len = strlen(ns);
		if ((n = malloc(sizeof(*n) + len + 1)) == NULL)
			goto fail;
		n->refs = 0;
		memcpy(n->name, ns, len + 1);
		if (hmap_put(ns_names, ns, n, NULL) != 0) {
			free(n);
			goto fail;
		}
	}
	n->refs++;
	pthread_mutex_unlock(&ns_mu);
	return n->name;
fail:
	pthread_mutex_unlock(&ns_mu);
	return NULL;
}

static void
ns_put(const char *ns)
{
	struct ns_name *n;

	if (ns == NULL)
		return;
	pthread_mutex_lock(&ns_mu);
	if ((n = hmap_get(ns_names, ns)) != NULL && --n->refs == 0) {
		free(hmap_del(ns_names, ns));
		if (hmap_count(ns_names) == 0) {
			hmap_free(ns_names, NULL);
			ns_names = NULL;
		}
	}
	pthread_mutex_unlock(&ns_mu);
}

/*
 * The key "ns/name" owns a block that name points into (after the
 * slash); ns is the interned namespace (ns_get).
 */
static int
set_names(char **ns, char **name, char **key, const char *n,
    const char *nm)
{
	size_t nlen = strlen(n), mlen = strlen(nm);
	char *k, *in;

	if ((k = malloc(nlen + mlen + 2)) == NULL)
		return ERR_NOMEM;
	if ((in = ns_get(n)) == NULL) {
		free(k);
		return ERR_NOMEM;
	}
	memcpy(k, n, nlen);
	k[nlen] = '/';
	memcpy(k + nlen + 1, nm, mlen + 1);
	free(*key);
	ns_put(*ns);
	*key = k;
	*name = k + nlen + 1;
	*ns = in;
	return 0;
}

/* Frees what set_names set. */
static void
free_names(char *ns, char *key)
{
	free(key);
	ns_put(ns);
}

struct service *
service_new(void)
{
	struct service *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->type = SVC_CLUSTERIP;
	s->ext = &service_ext_none;
	s->algo = LB_RANDOM;
	return s;
}

struct service_ext *
service_ext_mut(struct service *s)
{
	struct service_ext *x;

	if (s->ext != &service_ext_none)
		return (struct service_ext *)(uintptr_t)s->ext;
	if ((x = malloc(sizeof(*x))) == NULL)
		return NULL;
	*x = service_ext_none;
	s->ext = x;
	return x;
}

static bool
service_ext_is_default(const struct service_ext *x)
{
	const struct service_ext *d = &service_ext_none;

	return x->annotations.n == 0 && x->external_name == NULL &&
	    x->requested_vip.s_addr == 0 &&
	    in6_is_unset(&x->requested_vip6) && in6_is_unset(&x->vip6) &&
	    x->affinity_timeout_s == d->affinity_timeout_s &&
	    x->nreq_ips == 0 && x->nreq_families == 0 &&
	    x->req_policy == d->req_policy;
}

int
service_ext_adopt(struct service *s, struct service_ext *x)
{
	struct service_ext *own;

	if (service_ext_is_default(x)) {
		service_ext_clear(x);
		return 0;
	}
	if ((own = service_ext_mut(s)) == NULL)
		return ERR_NOMEM;
	labels_clear(&own->annotations);
	free(own->external_name);
	*own = *x;
	*x = service_ext_none;
	return 0;
}

void
service_ext_clear(struct service_ext *x)
{
	labels_clear(&x->annotations);
	free(x->external_name);
	*x = service_ext_none;
}

int
service_set_name(struct service *s, const char *ns, const char *name)
{
	return set_names(&s->ns, &s->name, &s->key, ns, name);
}

void
service_free(struct service *s)
{
	size_t i;

	if (s == NULL)
		return;
	free_names(s->ns, s->key);
	labels_clear(&s->labels);
	selector_free(s->selector);
	if (s->ext != &service_ext_none) {
		struct service_ext *x = service_ext_mut(s);

		service_ext_clear(x);
		free(x);
	}
	for (i = 0; i < s->nports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].target_name);
		free(s->ports[i].ready);
		free(s->ports[i].ready6);
	}
	free(s->ports);
	/* owner.id belongs to the registry. */
	free(s->members);
	free(s);
}

static bool
svc_ports_equal(const struct service *a, const struct service *b)
{
	size_t i;

	if (a->nports != b->nports)
		return false;
	for (i = 0; i < a->nports; i++) {
		const struct svc_port *x = &a->ports[i], *y = &b->ports[i];
		if (!streq_null(x->name, y->name) || x->port != y->port ||
		    x->target_port != y->target_port ||
		    !streq_null(x->target_name, y->target_name) ||
		    x->proto != y->proto)
			return false;
	}
	return true;
}

bool
service_spec_equal(const struct service *a, const struct service *b)
{
	if ((a->selector == NULL) != (b->selector == NULL))
		return false;
	if (a->selector && !selector_equal(a->selector, b->selector))
		return false;
	return strcmp(a->key, b->key) == 0 &&
	    labels_equal(&a->labels, &b->labels) &&
	    labels_equal(&a->ext->annotations, &b->ext->annotations) &&
	    a->type == b->type &&
	    streq_null(a->ext->external_name, b->ext->external_name) &&
	    a->ext->requested_vip.s_addr == b->ext->requested_vip.s_addr &&
	    memcmp(&a->ext->requested_vip6, &b->ext->requested_vip6,
	    sizeof(a->ext->requested_vip6)) == 0 &&
	    a->ext->nreq_ips == b->ext->nreq_ips &&
	    memcmp(a->ext->req_ip_families, b->ext->req_ip_families,
	    a->ext->nreq_ips * sizeof(a->ext->req_ip_families[0])) == 0 &&
	    a->ext->nreq_families == b->ext->nreq_families &&
	    memcmp(a->ext->req_families, b->ext->req_families,
	    a->ext->nreq_families * sizeof(a->ext->req_families[0])) == 0 &&
	    a->ext->req_policy == b->ext->req_policy &&
	    a->affinity == b->affinity &&
	    a->ext->affinity_timeout_s == b->ext->affinity_timeout_s &&
	    a->algo_explicit == b->algo_explicit &&
	    (!a->algo_explicit || a->algo == b->algo) &&
	    a->publish_not_ready == b->publish_not_ready &&
	    svc_ports_equal(a, b);
}

struct pod *
pod_new(void)
{
	struct pod *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->declared_ready = true;
	p->probe_ok = true;
	p->probe.period_s = 10;
	p->probe.timeout_s = 1;
	p->probe.success_threshold = 1;
	p->probe.failure_threshold = 3;
	return p;
}

int
pod_set_name(struct pod *p, const char *ns, const char *name)
{
	return set_names(&p->ns, &p->name, &p->key, ns, name);
}

void
pod_free(struct pod *p)
{
	size_t i;

	if (p == NULL)
		return;
	free_names(p->ns, p->key);
	labels_clear(&p->labels);
	labels_clear(&p->annotations);
	for (i = 0; i < p->nports; i++)
		free(p->ports[i].name);
	free(p->ports);
	free(p->probe.port_name);
	free(p->probe.path);
	free(p->endpoints_of);
	free(p->hostname);
	free(p->subdomain);
	/* owner.id belongs to the registry. */
	free(p->member_of);
	free(p);
}

bool
probe_equal(const struct probe *a, const struct probe *b)
{
	return a->kind == b->kind && a->port == b->port &&
	    streq_null(a->port_name, b->port_name) &&
	    streq_null(a->path, b->path) &&
	    a->initial_delay_s == b->initial_delay_s &&
	    a->period_s == b->period_s && a->timeout_s == b->timeout_s &&
	    a->success_threshold == b->success_threshold &&
	    a->failure_threshold == b->failure_threshold;
}

bool
pod_spec_equal(const struct pod *a, const struct pod *b)
{
	size_t i;

	if (strcmp(a->key, b->key) != 0 || a->ip.s_addr != b->ip.s_addr ||
	    memcmp(&a->ip6, &b->ip6, sizeof(a->ip6)) != 0 ||
	    a->ip6_primary != b->ip6_primary ||
	    a->nports != b->nports || a->declared_ready != b->declared_ready ||
	    !streq_null(a->endpoints_of, b->endpoints_of) ||
	    !streq_null(a->hostname, b->hostname) ||
	    !streq_null(a->subdomain, b->subdomain) ||
	    !labels_equal(&a->labels, &b->labels) ||
	    !labels_equal(&a->annotations, &b->annotations) ||
	    !probe_equal(&a->probe, &b->probe))
		return false;
	for (i = 0; i < a->nports; i++)
		if (!streq_null(a->ports[i].name, b->ports[i].name) ||
		    a->ports[i].port != b->ports[i].port ||
		    a->ports[i].host_port != b->ports[i].host_port ||
		    a->ports[i].proto != b->ports[i].proto)
			return false;
	return true;
}

struct endpoints *
endpoints_new(void)
{
	return calloc(1, sizeof(struct endpoints));
}

void
endpoints_free(struct endpoints *e)
{
	size_t i;

	if (e == NULL)
		return;
	free(e->ns);
	free(e->name);
	for (i = 0; i < e->naddrs; i++)
		free(e->addrs[i].hostname);
	free(e->addrs);
	for (i = 0; i < e->nports; i++)
		free(e->ports[i].name);
	free(e->ports);
	free(e);
}

int
objset_add_service(struct objset *set, struct service *s)
{
	return PTR_APPEND(set->svcs, set->nsvcs, set->cap_svcs, s);
}

int
objset_add_pod(struct objset *set, struct pod *p)
{
	return PTR_APPEND(set->pods, set->npods, set->cap_pods, p);
}

int
objset_add_endpoints(struct objset *set, struct endpoints *e)
{
	return PTR_APPEND(set->eps, set->neps, set->cap_eps, e);
}

void
objset_clear(struct objset *set)
{
	size_t i;

	for (i = 0; i < set->nsvcs; i++)
		service_free(set->svcs[i]);
	for (i = 0; i < set->npods; i++)
		pod_free(set->pods[i]);
	for (i = 0; i < set->neps; i++)
		endpoints_free(set->eps[i]);
	free(set->svcs);
	free(set->pods);
	free(set->eps);
	memset(set, 0, sizeof(*set));
}
