/* SPDX-License-Identifier: MIT */
/* manifest.c -- Service, Pod and Endpoints documents (YAML or JSON) -> objects. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <jansson.h>

#include "log.h"
#include "manifest.h"
#include "proxymode.h"
#include "registry.h"
#include "util.h"
#include "yamlnode.h"
#include "validate.h"

#define MANIFEST_MAX_WARNINGS	100
#define ANNOTATION_LB		"clusterip.io/lb-algorithm"
/* What spec.publishNotReadyAddresses replaced (Kubernetes 1.11). */
#define ANNOTATION_UNREADY \
	"service.alpha.kubernetes.io/tolerate-unready-endpoints"

#define REASON_WORKLOAD	"clusterip does not run workloads"
#define REASON_CONFIG	"clusterip does not use configuration objects"
#define REASON_OTHER \
	"clusterip serves only v1 Services, Pods and Endpoints"

/* One parse: where objects go, what is skipped or doubtful. */
struct mparse {
	struct objset		*out;
	struct manifest_report	*rep;
};

/*
 * A field of a kind clusterip reads. Fields it ignores on purpose are
 * listed too (with sub NULL; after the comment "Ignored on purpose"
 * where a table has both), so that only unknown ones are warned
 * about, as kubectl's field validation does.
 */
struct mfield {
	const char		*name;
	const struct mfield	*sub;	/* NULL: contents not checked */
	bool			 list;	/* a list of sub mappings */
};

static int parse_doc(struct ynode_ctx *, yaml_node_t *, struct mparse *,
    bool);

static const struct mfield f_metadata[] = {
	{ "name", NULL, false }, { "namespace", NULL, false },
	{ "labels", NULL, false }, { "annotations", NULL, false },
	{ "uid", NULL, false }, { "resourceVersion", NULL, false },
	{ "creationTimestamp", NULL, false }, { "managedFields", NULL, false },
	{ "ownerReferences", NULL, false }, { "generation", NULL, false },
	{ "generateName", NULL, false }, { "finalizers", NULL, false },
	{ "deletionTimestamp", NULL, false },
	{ "deletionGracePeriodSeconds", NULL, false },
	{ "selfLink", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_svc_port[] = {
	{ "name", NULL, false }, { "port", NULL, false },
	{ "targetPort", NULL, false }, { "protocol", NULL, false },
	{ "nodePort", NULL, false }, { "appProtocol", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_client_ip[] = {
	{ "timeoutSeconds", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_affinity_config[] = {
	{ "clientIP", f_client_ip, false },
	{ NULL, NULL, false },
};

static const struct mfield f_svc_spec[] = {
	{ "selector", NULL, false }, { "clusterIP", NULL, false },
	{ "type", NULL, false }, { "externalName", NULL, false },
	{ "ports", f_svc_port, true }, { "sessionAffinity", NULL, false },
	{ "sessionAffinityConfig", f_affinity_config, false },
	{ "publishNotReadyAddresses", NULL, false },
	/* Ignored on purpose. */
	{ "clusterIPs", NULL, false }, { "ipFamilies", NULL, false },
	{ "ipFamilyPolicy", NULL, false },
	{ "externalTrafficPolicy", NULL, false },
	{ "internalTrafficPolicy", NULL, false },
	{ "loadBalancerIP", NULL, false },
	{ "loadBalancerSourceRanges", NULL, false },
	{ "loadBalancerClass", NULL, false },
	{ "healthCheckNodePort", NULL, false },
	{ "allocateLoadBalancerNodePorts", NULL, false },
	{ "externalIPs", NULL, false }, { "trafficDistribution", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_service[] = {
	{ "apiVersion", NULL, false }, { "kind", NULL, false },
	{ "metadata", f_metadata, false }, { "spec", f_svc_spec, false },
	{ "status", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_ctr_port[] = {
	{ "name", NULL, false }, { "containerPort", NULL, false },
	{ "protocol", NULL, false }, { "hostPort", NULL, false },
	{ "hostIP", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_tcp_socket[] = {
	{ "port", NULL, false }, { "host", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_http_get[] = {
	{ "path", NULL, false }, { "port", NULL, false },
	{ "host", NULL, false }, { "scheme", NULL, false },
	{ "httpHeaders", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_probe[] = {
	{ "tcpSocket", f_tcp_socket, false }, { "httpGet", f_http_get, false },
	{ "exec", NULL, false }, { "grpc", NULL, false },
	{ "initialDelaySeconds", NULL, false },
	{ "periodSeconds", NULL, false },
	{ "timeoutSeconds", NULL, false }, { "successThreshold", NULL, false },
	{ "failureThreshold", NULL, false },
	{ "terminationGracePeriodSeconds", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_container[] = {
	{ "name", NULL, false }, { "image", NULL, false },
	{ "ports", f_ctr_port, true }, { "readinessProbe", f_probe, false },
	{ "command", NULL, false }, { "args", NULL, false },
	{ "workingDir", NULL, false }, { "env", NULL, false },
	{ "envFrom", NULL, false }, { "resources", NULL, false },
	{ "resizePolicy", NULL, false }, { "restartPolicy", NULL, false },
	{ "volumeMounts", NULL, false }, { "volumeDevices", NULL, false },
	{ "livenessProbe", NULL, false }, { "startupProbe", NULL, false },
	{ "lifecycle", NULL, false }, { "terminationMessagePath", NULL, false },
	{ "terminationMessagePolicy", NULL, false },
	{ "imagePullPolicy", NULL, false }, { "securityContext", NULL, false },
	{ "stdin", NULL, false }, { "stdinOnce", NULL, false },
	{ "tty", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_pod_spec[] = {
	{ "containers", f_container, true },
	{ "hostname", NULL, false }, { "subdomain", NULL, false },
	/* Ignored on purpose. */
	{ "initContainers", NULL, false },
	{ "ephemeralContainers", NULL, false }, { "volumes", NULL, false },
	{ "restartPolicy", NULL, false },
	{ "terminationGracePeriodSeconds", NULL, false },
	{ "activeDeadlineSeconds", NULL, false }, { "dnsPolicy", NULL, false },
	{ "dnsConfig", NULL, false }, { "nodeSelector", NULL, false },
	{ "nodeName", NULL, false }, { "serviceAccountName", NULL, false },
	{ "serviceAccount", NULL, false },
	{ "automountServiceAccountToken", NULL, false },
	{ "hostNetwork", NULL, false }, { "hostPID", NULL, false },
	{ "hostIPC", NULL, false }, { "hostUsers", NULL, false },
	{ "shareProcessNamespace", NULL, false },
	{ "securityContext", NULL, false },
	{ "imagePullSecrets", NULL, false },
	{ "setHostnameAsFQDN", NULL, false },
	{ "affinity", NULL, false }, { "schedulerName", NULL, false },
	{ "tolerations", NULL, false }, { "hostAliases", NULL, false },
	{ "priorityClassName", NULL, false }, { "priority", NULL, false },
	{ "preemptionPolicy", NULL, false },
	{ "readinessGates", NULL, false }, { "runtimeClassName", NULL, false },
	{ "enableServiceLinks", NULL, false }, { "overhead", NULL, false },
	{ "topologySpreadConstraints", NULL, false }, { "os", NULL, false },
	{ "schedulingGates", NULL, false }, { "resourceClaims", NULL, false },
	{ "resources", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_condition[] = {
	{ "type", NULL, false }, { "status", NULL, false },
	{ "lastProbeTime", NULL, false }, { "lastTransitionTime", NULL, false },
	{ "reason", NULL, false }, { "message", NULL, false },
	{ "observedGeneration", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_pod_status[] = {
	{ "podIP", NULL, false }, { "podIPs", NULL, false },
	{ "conditions", f_condition, true }, { "phase", NULL, false },
	{ "hostIP", NULL, false }, { "hostIPs", NULL, false },
	{ "startTime", NULL, false }, { "containerStatuses", NULL, false },
	{ "initContainerStatuses", NULL, false },
	{ "ephemeralContainerStatuses", NULL, false },
	{ "qosClass", NULL, false }, { "message", NULL, false },
	{ "reason", NULL, false }, { "nominatedNodeName", NULL, false },
	{ "resize", NULL, false }, { "resourceClaimStatuses", NULL, false },
	{ "observedGeneration", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_pod[] = {
	{ "apiVersion", NULL, false }, { "kind", NULL, false },
	{ "metadata", f_metadata, false }, { "spec", f_pod_spec, false },
	{ "status", f_pod_status, false },
	{ NULL, NULL, false },
};

static const struct mfield f_ep_address[] = {
	{ "ip", NULL, false }, { "hostname", NULL, false },
	/* Ignored on purpose. */
	{ "nodeName", NULL, false }, { "targetRef", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_ep_port[] = {
	{ "name", NULL, false }, { "port", NULL, false },
	{ "protocol", NULL, false }, { "appProtocol", NULL, false },
	{ NULL, NULL, false },
};

static const struct mfield f_ep_subset[] = {
	{ "addresses", f_ep_address, true },
	{ "notReadyAddresses", f_ep_address, true },
	{ "ports", f_ep_port, true },
	{ NULL, NULL, false },
};

static const struct mfield f_endpoints[] = {
	{ "apiVersion", NULL, false }, { "kind", NULL, false },
	{ "metadata", f_metadata, false }, { "subsets", f_ep_subset, true },
	{ NULL, NULL, false },
};

static const struct mfield f_list[] = {
	{ "apiVersion", NULL, false }, { "kind", NULL, false },
	{ "metadata", NULL, false }, { "items", NULL, false },
	{ NULL, NULL, false },
};

/* Kinds clusterip skips with a reason of their own; others: REASON_OTHER. */
static const struct {
	const char	*kind;
	const char	*reason;
} skip_reasons[] = {
	{ "Deployment", REASON_WORKLOAD }, { "StatefulSet", REASON_WORKLOAD },
	{ "DaemonSet", REASON_WORKLOAD }, { "ReplicaSet", REASON_WORKLOAD },
	{ "ReplicationController", REASON_WORKLOAD },
	{ "Job", REASON_WORKLOAD }, { "CronJob", REASON_WORKLOAD },
	{ "PodTemplate", REASON_WORKLOAD },
	{ "ConfigMap", REASON_CONFIG }, { "Secret", REASON_CONFIG },
};

static char *
where_dup(const char *name, const yaml_node_t *n)
{
	char *s;

	if (asprintf(&s, "%s:%zu:%zu", name, n->start_mark.line + 1,
	    n->start_mark.column + 1) == -1)
		return NULL;
	return s;
}

/* Notes a field nobody reads at key node k; -1 only when out of memory. */
static int
report_warn(struct ynode_ctx *c, struct mparse *mp, const yaml_node_t *k,
    const char *path)
{
	struct manifest_report *rep = mp->rep;
	struct manifest_warning *w;

	if (rep == NULL)
		return 0;
	if (rep->nwarns == MANIFEST_MAX_WARNINGS) {
		rep->nwarns_dropped++;
		return 0;
	}
	if (rep->nwarns == 0 && (rep->warns = calloc(MANIFEST_MAX_WARNINGS,
	    sizeof(*rep->warns))) == NULL)
		return ynode_fail(c, k, "out of memory");
	w = &rep->warns[rep->nwarns];
	w->line = (uint32_t)k->start_mark.line + 1;
	w->col = (uint32_t)k->start_mark.column + 1;
	if ((w->where = where_dup(c->name, k)) == NULL ||
	    asprintf(&w->msg, "unknown field \"%s\"", path) == -1) {
		free(w->where);
		w->msg = w->where = NULL;
		return ynode_fail(c, k, "out of memory");
	}
	rep->nwarns++;
	return 0;
}

/*
 * Warns about each key of mapping m that tab does not list, descending
 * into the fields tab describes. path is the mapping's dotted path
 * (kubectl's spelling: spec.ports[0].name), restored on return.
 */
static int
check_fields(struct ynode_ctx *c, struct mparse *mp, yaml_node_t *m,
    const struct mfield *tab, char *path, size_t pathlen)
{
	yaml_node_pair_t *pair;
	yaml_node_item_t *it;
	size_t at = strlen(path), i;

	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return 0;
	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
		const char *key = ynode_str(k);
		const struct mfield *f;
		int rc = 0;

		if (key == NULL)
			continue;
		for (f = tab; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		snprintf(path + at, pathlen - at, "%s%s", at ? "." : "", key);
		if (f->name == NULL)
			rc = report_warn(c, mp, k, path);
		else if (f->sub != NULL && !f->list)
			rc = check_fields(c, mp, v, f->sub, path, pathlen);
		else if (f->sub != NULL && v != NULL &&
		    v->type == YAML_SEQUENCE_NODE) {
			size_t at2 = strlen(path);
			for (i = 0, it = v->data.sequence.items.start;
			    rc == 0 && it < v->data.sequence.items.top;
			    it++, i++) {
				snprintf(path + at2, pathlen - at2, "[%zu]", i);
				rc = check_fields(c, mp,
				    yaml_document_get_node(c->doc, *it),
				    f->sub, path, pathlen);
			}
		}
		path[at] = '\0';
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
check_doc_fields(struct ynode_ctx *c, struct mparse *mp, yaml_node_t *doc,
    const struct mfield *tab)
{
	char path[256] = "";

	if (mp->rep == NULL)
		return 0;
	return check_fields(c, mp, doc, tab, path, sizeof(path));
}

static char *
strdup_opt(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

/* Leaves a document of a kind clusterip does not run out, noting why. */
static int
skip_doc(struct ynode_ctx *c, struct mparse *mp, yaml_node_t *doc,
    const char *kind, const char *api)
{
	struct manifest_report *rep = mp->rep;
	struct manifest_skip *sk;
	yaml_node_t *md = ynode_get(c, doc, "metadata");
	const char *reason = REASON_OTHER;
	bool oom = false;
	size_t i;

	for (i = 0; i < CIP_ARRAY_LEN(skip_reasons); i++)
		if (strcmp(skip_reasons[i].kind, kind) == 0)
			reason = skip_reasons[i].reason;
	if (rep == NULL) {
		log_debug("%s:%zu: %s (%s) skipped: %s", c->name,
		    doc->start_mark.line + 1, kind, api, reason);
		return 0;
	}
	if ((sk = reallocarray(rep->skips, rep->nskips + 1,
	    sizeof(*sk))) == NULL)
		return ynode_fail(c, doc, "out of memory");
	rep->skips = sk;
	sk = &rep->skips[rep->nskips];
	memset(sk, 0, sizeof(*sk));
	sk->reason = reason;
	sk->line = (uint32_t)doc->start_mark.line + 1;
	sk->col = (uint32_t)doc->start_mark.column + 1;
	sk->where = where_dup(c->name, doc);
	sk->kind = strdup_opt(kind, &oom);
	sk->api_version = strdup_opt(api, &oom);
	sk->name = strdup_opt(ynode_str(ynode_get(c, md, "name")), &oom);
	sk->ns = strdup_opt(ynode_str(ynode_get(c, md, "namespace")), &oom);
	rep->nskips++;
	if (oom || sk->where == NULL)
		return ynode_fail(c, doc, "out of memory");
	return 0;
}

/*
 * An IPv4 or IPv6 address into *v4 or *v6 (the other untouched), its
 * family in *fam. Refused when that family's slot is already set: one
 * address per family, as Kubernetes allows.
 */
static int
want_ip(struct ynode_ctx *c, yaml_node_t *n, const char *what,
    struct in_addr *v4, struct in6_addr *v6, enum ip_family *fam)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *s;

	if (ynode_want_str(c, n, what, &s) != 0)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1 && a4.s_addr != 0) {
		if (v4->s_addr != 0)
			return ynode_fail(c, n, "%s: a second IPv4 address "
			    "(at most one per family)", what);
		*v4 = a4;
		*fam = IP_FAMILY_V4;
	} else if (inet_pton(AF_INET6, s, &a6) == 1 && !in6_is_unset(&a6)) {
		if (!in6_is_unset(v6))
			return ynode_fail(c, n, "%s: a second IPv6 address "
			    "(at most one per family)", what);
		*v6 = a6;
		*fam = IP_FAMILY_V6;
	} else
		return ynode_fail(c, n, "%s: \"%s\" is not an IPv4 or IPv6 "
		    "address", what, s);
	return 0;
}

/*
 * spec.clusterIP, spec.clusterIPs, spec.ipFamilies, spec.ipFamilyPolicy.
 * Rules that need the daemon's ranges are service_ip_families'.
 */
static int
parse_svc_families(struct ynode_ctx *c, yaml_node_t *spec, struct service *s,
    struct service_ext *x)
{
	yaml_node_t *n, *ips;
	yaml_node_item_t *it;
	const char *str, *first = NULL;
	enum ip_family fam;
	size_t i;
	int v;

	/* ExternalName has no address; service_ip_families refuses the rest. */
	if (s->type != SVC_EXTERNALNAME &&
	    (n = ynode_get(c, spec, "clusterIP")) != NULL &&
	    !ynode_is_null(n)) {
		if (ynode_want_str(c, n, "spec.clusterIP", &str) != 0)
			return -1;
		if (strcmp(str, "None") == 0)
			s->type = SVC_HEADLESS;
		else if (*str != '\0') {
			if (want_ip(c, n, "spec.clusterIP", &x->requested_vip,
			    &x->requested_vip6, &fam) != 0)
				return -1;
			x->req_ip_families[x->nreq_ips++] = fam;
		}
		first = str;
	}
	ips = ynode_get(c, spec, "clusterIPs");
	if (s->type != SVC_EXTERNALNAME && ips != NULL && !ynode_is_null(ips)) {
		if (ynode_want_seq(c, ips, "spec.clusterIPs") != 0)
			return -1;
		for (i = 0, it = ips->data.sequence.items.start;
		    it < ips->data.sequence.items.top; it++, i++) {
			n = yaml_document_get_node(c->doc, *it);
			if (ynode_want_str(c, n, "spec.clusterIPs[]", &str))
				return -1;
			if (i >= 2)
				return ynode_fail(c, n, "spec.clusterIPs: at "
				    "most two addresses, one per family");
			if (i == 0 && first != NULL && *first != '\0') {
				if (strcmp(str, first) != 0)
					return ynode_fail(c, n, "spec.clusterIPs"
					    "[0]: \"%s\" is not spec.clusterIP "
					    "\"%s\"", str, first);
				continue;
			}
			if (strcmp(str, "None") == 0 && i == 0) {
				s->type = SVC_HEADLESS;
				first = str;
				continue;
			}
			if (s->type == SVC_HEADLESS)
				return ynode_fail(c, n, "spec.clusterIPs: "
				    "must be a single \"None\" for a headless "
				    "service");
			if (want_ip(c, n, "spec.clusterIPs[]",
			    &x->requested_vip, &x->requested_vip6, &fam) != 0)
				return -1;
			x->req_ip_families[x->nreq_ips++] = fam;
		}
	}
	n = ynode_get(c, spec, "ipFamilies");
	if (n != NULL && !ynode_is_null(n)) {
		if (ynode_want_seq(c, n, "spec.ipFamilies") != 0)
			return -1;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			yaml_node_t *f = yaml_document_get_node(c->doc, *it);
			if (ynode_want_str(c, f, "spec.ipFamilies[]", &str))
				return -1;
			if ((v = ip_family_parse(str)) < 0)
				return ynode_fail(c, f, "spec.ipFamilies[]: "
				    "\"%s\" is not IPv4 or IPv6", str);
			if (x->nreq_families == 2)
				return ynode_fail(c, f, "spec.ipFamilies: at "
				    "most two families");
			if (x->nreq_families == 1 &&
			    x->req_families[0] == (enum ip_family)v)
				return ynode_fail(c, f, "spec.ipFamilies[1]: "
				    "duplicate value \"%s\"", str);
			x->req_families[x->nreq_families++] =
			    (enum ip_family)v;
		}
	}
	n = ynode_get(c, spec, "ipFamilyPolicy");
	if (n != NULL && !ynode_is_null(n)) {
		if (ynode_want_str(c, n, "spec.ipFamilyPolicy", &str) != 0)
			return -1;
		if ((v = ip_family_policy_parse(str)) < 0)
			return ynode_fail(c, n, "spec.ipFamilyPolicy: \"%s\" "
			    "is not SingleStack, PreferDualStack or "
			    "RequireDualStack", str);
		x->req_policy = (enum ip_family_policy)v;
	}
	return 0;
}

/*
 * status.podIP and status.podIPs (a list of {ip: A}, podIPs[0] being
 * podIP), at most one address per family. One of them is required.
 */
static int
parse_pod_ips(struct ynode_ctx *c, yaml_node_t *doc, yaml_node_t *status,
    struct pod *p)
{
	yaml_node_t *n, *ips;
	yaml_node_item_t *it;
	const char *first = NULL, *str;
	enum ip_family fam;
	size_t i;

	n = status ? ynode_get(c, status, "podIP") : NULL;
	ips = status ? ynode_get(c, status, "podIPs") : NULL;
	if (ips != NULL && ynode_is_null(ips))
		ips = NULL;
	if (n == NULL && ips == NULL)
		return ynode_fail(c, status ? status : doc, "status.podIP: "
		    "missing (a pod needs an address)");
	if (n != NULL) {
		if (want_ip(c, n, "status.podIP", &p->ip, &p->ip6, &fam) != 0)
			return -1;
		p->ip6_primary = fam == IP_FAMILY_V6;
		first = ynode_str(n);
	}
	if (ips == NULL)
		return 0;
	if (ynode_want_seq(c, ips, "status.podIPs") != 0)
		return -1;
	for (i = 0, it = ips->data.sequence.items.start;
	    it < ips->data.sequence.items.top; it++, i++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		if (ynode_want_map(c, e, "status.podIPs[]") != 0)
			return -1;
		if ((n = ynode_get(c, e, "ip")) == NULL)
			return ynode_fail(c, e, "status.podIPs[].ip: missing");
		if (ynode_want_str(c, n, "status.podIPs[].ip", &str) != 0)
			return -1;
		if (i >= 2)
			return ynode_fail(c, n, "status.podIPs: at most two "
			    "addresses, one per family");
		if (i == 0 && first != NULL) {
			if (strcmp(str, first) != 0)
				return ynode_fail(c, n, "status.podIPs[0]: "
				    "\"%s\" is not status.podIP \"%s\"", str,
				    first);
			continue;
		}
		if (want_ip(c, n, "status.podIPs[].ip", &p->ip, &p->ip6,
		    &fam) != 0)
			return -1;
		if (i == 0)
			p->ip6_primary = fam == IP_FAMILY_V6;
	}
	return 0;
}

/*
 * An optional DNS-1123 label (a hostname, a subdomain) into a copy in
 * *out; absent or null leaves *out NULL.
 */
static int
want_label_opt(struct ynode_ctx *c, yaml_node_t *n, const char *what,
    char **out)
{
	const char *s;

	if (n == NULL || ynode_is_null(n))
		return 0;
	if (ynode_want_str(c, n, what, &s) != 0)
		return -1;
	if (!validate_dns_label(s, strlen(s)))
		return ynode_fail(c, n, "%s: \"%s\" is not a valid DNS-1123 "
		    "label", what, s);
	free(*out);
	if ((*out = strdup(s)) == NULL)
		return ynode_fail(c, n, "out of memory");
	return 0;
}

static int
want_proto(struct ynode_ctx *c, yaml_node_t *n, enum cip_proto *out)
{
	const char *s;

	*out = CIP_PROTO_TCP;
	if (n == NULL)
		return 0;
	if (ynode_want_str(c, n, "protocol", &s) != 0)
		return -1;
	if (strcmp(s, "TCP") == 0)
		*out = CIP_PROTO_TCP;
	else if (strcmp(s, "UDP") == 0)
		*out = CIP_PROTO_UDP;
	else if (strcmp(s, "SCTP") == 0)
		*out = CIP_PROTO_SCTP;
	else
		return ynode_fail(c, n, "protocol: \"%s\" is not TCP, UDP or "
		    "SCTP", s);
	return 0;
}

static int
parse_string_map(struct ynode_ctx *c, yaml_node_t *m, const char *what,
    bool check_labels, struct labels *out)
{
	yaml_node_pair_t *pair;
	const char *k, *v;

	if (ynode_is_null(m))
		return 0;
	if (ynode_want_map(c, m, what) != 0)
		return -1;
	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, pair->value);
		if (ynode_want_str(c, kn, what, &k) != 0 ||
		    ynode_want_str(c, vn, k, &v) != 0)
			return -1;
		if (check_labels && !selector_valid_key(k))
			return ynode_fail(c, kn, "%s: invalid key \"%s\"", what,
			    k);
		if (check_labels && !selector_valid_value(v))
			return ynode_fail(c, vn, "%s: invalid value \"%s\"",
			    what, v);
		if (labels_get(out, k) != NULL)
			return ynode_fail(c, kn, "%s: duplicate key \"%s\"",
			    what, k);
		if (labels_set(out, k, v) != 0)
			return ynode_fail(c, vn, "out of memory");
	}
	return 0;
}

struct meta {
	const char	*name;
	const char	*ns;
	yaml_node_t	*node;
};

static int
parse_meta(struct ynode_ctx *c, yaml_node_t *doc, struct meta *m,
    struct labels *labels, struct labels *annotations, bool label_name)
{
	yaml_node_t *md = ynode_get(c, doc, "metadata"), *n;

	m->ns = "default";
	m->node = md;
	if (md == NULL)
		return ynode_fail(c, doc, "metadata: missing");
	if (ynode_want_map(c, md, "metadata") != 0)
		return -1;
	if ((n = ynode_get(c, md, "name")) == NULL)
		return ynode_fail(c, md, "metadata.name: missing");
	if (ynode_want_str(c, n, "metadata.name", &m->name) != 0)
		return -1;
	if (!(label_name ? validate_dns_label(m->name, strlen(m->name)) :
	    validate_dns_subdomain(m->name, strlen(m->name))))
		return ynode_fail(c, n, "metadata.name: \"%s\" is not a valid "
		    "DNS-1123 %s", m->name, label_name ? "label" : "subdomain");
	if ((n = ynode_get(c, md, "namespace")) != NULL &&
	    !ynode_is_null(n)) {
		if (ynode_want_str(c, n, "metadata.namespace", &m->ns) != 0)
			return -1;
		if (!validate_dns_label(m->ns, strlen(m->ns)))
			return ynode_fail(c, n, "metadata.namespace: \"%s\" is "
			    "not a valid DNS-1123 label", m->ns);
	}
	if (labels && parse_string_map(c, ynode_get(c, md, "labels"),
	    "metadata.labels", true, labels) != 0)
		return -1;
	if (annotations && parse_string_map(c, ynode_get(c, md,
	    "annotations"), "metadata.annotations", false, annotations) != 0)
		return -1;
	return 0;
}

/* spec.selector: a plain map, or {matchLabels, matchExpressions}. */
static int
parse_selector(struct ynode_ctx *c, yaml_node_t *n, struct selector **out)
{
	struct labels eq = { 0 };
	struct selector *sel;
	yaml_node_t *ml, *me;
	yaml_node_item_t *it;
	char why[256];
	size_t i;

	*out = NULL;
	if (ynode_is_null(n))
		return 0;
	if (ynode_want_map(c, n, "spec.selector") != 0)
		return -1;
	if ((sel = selector_new()) == NULL)
		return ynode_fail(c, n, "out of memory");
	ml = ynode_get(c, n, "matchLabels");
	me = ynode_get(c, n, "matchExpressions");
	if (ml == NULL && me == NULL) {
		if (parse_string_map(c, n, "spec.selector", true, &eq) != 0)
			goto fail;
	} else if (parse_string_map(c, ml, "matchLabels", true, &eq) != 0)
		goto fail;
	for (i = 0; i < eq.n; i++) {
		const char *v = eq.v[i].value;
		if (selector_add(sel, eq.v[i].key, SELECTOR_OP_EQ, &v, 1, why,
		    sizeof(why)) != 0) {
			ynode_fail(c, n, "spec.selector: %s", why);
			goto fail;
		}
	}
	if (me != NULL && !ynode_is_null(me)) {
		if (ynode_want_seq(c, me, "matchExpressions") != 0)
			goto fail;
		for (it = me->data.sequence.items.start;
		    it < me->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(c->doc, *it);
			yaml_node_t *vals;
			const char *key, *op, *vv[64];
			enum selector_op sop;
			size_t nv = 0;
			if (ynode_want_map(c, e, "matchExpressions[]") != 0 ||
			    ynode_want_str(c, ynode_get(c, e, "key"),
			    "matchExpressions[].key", &key) != 0 ||
			    ynode_want_str(c, ynode_get(c, e, "operator"),
			    "matchExpressions[].operator", &op) != 0)
				goto fail;
			if (strcmp(op, "In") == 0)
				sop = SELECTOR_OP_IN;
			else if (strcmp(op, "NotIn") == 0)
				sop = SELECTOR_OP_NOTIN;
			else if (strcmp(op, "Exists") == 0)
				sop = SELECTOR_OP_EXISTS;
			else if (strcmp(op, "DoesNotExist") == 0)
				sop = SELECTOR_OP_NOTEXISTS;
			else {
				ynode_fail(c, ynode_get(c, e, "operator"),
				    "operator: \"%s\" is not In, NotIn, Exists "
				    "or DoesNotExist", op);
				goto fail;
			}
			vals = ynode_get(c, e, "values");
			if (vals != NULL && !ynode_is_null(vals)) {
				yaml_node_item_t *vi;
				if (ynode_want_seq(c, vals, "values") != 0)
					goto fail;
				for (vi = vals->data.sequence.items.start;
				    vi < vals->data.sequence.items.top; vi++) {
					if (nv == CIP_ARRAY_LEN(vv)) {
						ynode_fail(c, vals, "values: "
						    "more than 64");
						goto fail;
					}
					if (ynode_want_str(c,
					    yaml_document_get_node(c->doc, *vi),
					    "values[]", &vv[nv]) != 0)
						goto fail;
					nv++;
				}
			}
			if (selector_add(sel, key, sop, vv, nv, why,
			    sizeof(why)) != 0) {
				ynode_fail(c, e, "matchExpressions: %s", why);
				goto fail;
			}
		}
	}
	labels_clear(&eq);
	*out = sel;
	return 0;
fail:
	labels_clear(&eq);
	selector_free(sel);
	return -1;
}

static int
parse_svc_ports(struct ynode_ctx *c, yaml_node_t *n, struct service *s)
{
	yaml_node_item_t *it;
	size_t count;

	if (ynode_is_null(n))
		return 0;
	if (ynode_want_seq(c, n, "spec.ports") != 0)
		return -1;
	count = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (count == 0)
		return 0;
	if ((s->ports = calloc(count, sizeof(*s->ports))) == NULL)
		return ynode_fail(c, n, "out of memory");
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t *p = yaml_document_get_node(c->doc, *it), *f;
		struct svc_port *sp = &s->ports[s->nports];
		const char *str;
		uint64_t v;
		size_t j;

		if (ynode_want_map(c, p, "spec.ports[]") != 0)
			return -1;
		s->nports++;
		if ((f = ynode_get(c, p, "name")) != NULL && !ynode_is_null(f)) {
			if (ynode_want_str(c, f, "ports[].name", &str) != 0)
				return -1;
			if (!validate_dns_label(str, strlen(str)))
				return ynode_fail(c, f, "ports[].name: \"%s\" "
				    "is not a valid DNS-1123 label", str);
			if ((sp->name = strdup(str)) == NULL)
				return ynode_fail(c, f, "out of memory");
		}
		if ((f = ynode_get(c, p, "port")) == NULL)
			return ynode_fail(c, p, "ports[].port: missing");
		if (ynode_want_uint(c, f, "ports[].port", 1, 65535, &v) != 0)
			return -1;
		sp->port = (uint16_t)v;
		if ((f = ynode_get(c, p, "targetPort")) != NULL &&
		    !ynode_is_null(f)) {
			if (ynode_is_int(f)) {
				if (ynode_want_uint(c, f, "ports[].targetPort",
				    1, 65535, &v) != 0)
					return -1;
				sp->target_port = (uint16_t)v;
			} else {
				if (ynode_want_str(c, f, "ports[].targetPort",
				    &str) != 0)
					return -1;
				if (!validate_port_name(str, strlen(str)))
					return ynode_fail(c, f, "targetPort: "
					    "\"%s\" is neither a port number "
					    "nor a port name", str);
				if ((sp->target_name = strdup(str)) == NULL)
					return ynode_fail(c, f, "out of memory");
			}
		} else
			sp->target_port = sp->port;
		f = ynode_get(c, p, "protocol");
		if (want_proto(c, f, &sp->proto) != 0)
			return -1;
		if (sp->proto == CIP_PROTO_SCTP)
			return ynode_fail(c, f, "ports[].protocol: SCTP cannot "
			    "be forwarded here (TCP and UDP only)");
		for (j = 0; j + 1 < s->nports; j++) {
			if (s->ports[j].port == sp->port &&
			    s->ports[j].proto == sp->proto)
				return ynode_fail(c, p, "ports[]: port %u/%s "
				    "is listed twice", sp->port,
				    cip_proto_name(sp->proto));
			if (sp->name && streq_null(s->ports[j].name, sp->name))
				return ynode_fail(c, p, "ports[]: name \"%s\" "
				    "is used twice", sp->name);
		}
		if (s->nports > 1 && (sp->name == NULL ||
		    s->ports[0].name == NULL))
			return ynode_fail(c, p, "ports[]: every port must be "
			    "named when there are several");
	}
	return 0;
}

static int
parse_service(struct ynode_ctx *c, yaml_node_t *doc, struct objset *out)
{
	struct service *s;
	struct service_ext x = service_ext_none;
	struct meta m;
	yaml_node_t *spec, *n;
	const char *str;
	uint64_t v;
	size_t l;
	int a;
	bool b;

	if ((s = service_new()) == NULL)
		return ynode_fail(c, doc, "out of memory");
	s->line = (uint32_t)doc->start_mark.line + 1;
	s->col = (uint32_t)doc->start_mark.column + 1;
	if (parse_meta(c, doc, &m, &s->labels, &x.annotations, true) != 0)
		goto fail;
	if (service_set_name(s, m.ns, m.name) != 0) {
		ynode_fail(c, doc, "out of memory");
		goto fail;
	}
	if ((str = labels_get(&x.annotations, ANNOTATION_LB)) != NULL) {
		if ((a = lb_algo_parse(str)) < 0) {
			ynode_fail(c, m.node, "annotation %s: \"%s\" is not "
			    "random, round-robin or least-connections",
			    ANNOTATION_LB, str);
			goto fail;
		}
		s->algo = (enum lb_algo)a;
		s->algo_explicit = true;
	}
	if ((str = labels_get(&x.annotations, PROXYMODE_ANNOTATION)) !=
	    NULL && proxy_mode_parse(str) < 0) {
		ynode_fail(c, m.node, "annotation %s: \"%s\" is not "
		    "userspace or nftables", PROXYMODE_ANNOTATION, str);
		goto fail;
	}
	spec = ynode_get(c, doc, "spec");
	if (spec == NULL) {
		ynode_fail(c, doc, "spec: missing");
		goto fail;
	}
	if (ynode_want_map(c, spec, "spec") != 0)
		goto fail;
	if ((n = ynode_get(c, spec, "type")) != NULL && !ynode_is_null(n)) {
		if (ynode_want_str(c, n, "spec.type", &str) != 0)
			goto fail;
		if (strcmp(str, "ExternalName") == 0)
			s->type = SVC_EXTERNALNAME;
		else if (strcmp(str, "ClusterIP") == 0 ||
		    strcmp(str, "NodePort") == 0 ||
		    strcmp(str, "LoadBalancer") == 0) {
			if (strcmp(str, "ClusterIP") != 0)
				log_debug("%s:%zu: type %s served as ClusterIP",
				    c->name, n->start_mark.line + 1, str);
		} else {
			ynode_fail(c, n, "spec.type: \"%s\" is not ClusterIP "
			    "or ExternalName", str);
			goto fail;
		}
	}
	if (s->type == SVC_EXTERNALNAME) {
		n = ynode_get(c, spec, "externalName");
		if (n == NULL) {
			ynode_fail(c, spec, "spec.externalName: missing for "
			    "type ExternalName");
			goto fail;
		}
		if (ynode_want_str(c, n, "spec.externalName", &str) != 0)
			goto fail;
		/* A fully qualified name: stored without the root's dot. */
		if ((x.external_name = strdup(str)) == NULL)
			goto nomem;
		l = strlen(x.external_name);
		if (l > 1 && x.external_name[l - 1] == '.')
			x.external_name[l - 1] = '\0';
		if (!validate_dns_subdomain(x.external_name,
		    strlen(x.external_name))) {
			ynode_fail(c, n, "spec.externalName: \"%s\" is not a "
			    "valid DNS name", str);
			goto fail;
		}
	}
	if (parse_svc_families(c, spec, s, &x) != 0)
		goto fail;
	if (parse_selector(c, ynode_get(c, spec, "selector"), &s->selector))
		goto fail;
	if (parse_svc_ports(c, ynode_get(c, spec, "ports"), s) != 0)
		goto fail;
	if ((n = ynode_get(c, spec, "sessionAffinity")) != NULL &&
	    !ynode_is_null(n)) {
		if (ynode_want_str(c, n, "spec.sessionAffinity", &str) != 0)
			goto fail;
		if (strcmp(str, "ClientIP") == 0)
			s->affinity = AFFINITY_CLIENTIP;
		else if (strcmp(str, "None") != 0) {
			ynode_fail(c, n, "spec.sessionAffinity: \"%s\" is not "
			    "None or ClientIP", str);
			goto fail;
		}
	}
	n = ynode_get(c, ynode_get(c, ynode_get(c, spec,
	    "sessionAffinityConfig"), "clientIP"), "timeoutSeconds");
	if (n != NULL) {
		if (ynode_want_uint(c, n, "timeoutSeconds", 1, 86400, &v) != 0)
			goto fail;
		x.affinity_timeout_s = (uint32_t)v;
	}
	/* Go's strconv.ParseBool spellings of true, as Kubernetes reads it. */
	if ((str = labels_get(&x.annotations, ANNOTATION_UNREADY)) != NULL)
		s->publish_not_ready = strcmp(str, "true") == 0 ||
		    strcmp(str, "True") == 0 || strcmp(str, "TRUE") == 0 ||
		    strcmp(str, "t") == 0 || strcmp(str, "T") == 0 ||
		    strcmp(str, "1") == 0;
	if ((n = ynode_get(c, spec, "publishNotReadyAddresses")) != NULL &&
	    !ynode_is_null(n)) {
		if (ynode_want_bool(c, n, "spec.publishNotReadyAddresses",
		    &b) != 0)
			goto fail;
		/* Kubernetes honours either. */
		s->publish_not_ready = s->publish_not_ready || b;
	}
	if (service_ext_adopt(s, &x) != 0)
		goto nomem;
	if (objset_add_service(out, s) == 0)
		return 0;
nomem:
	ynode_fail(c, doc, "out of memory");
fail:
	service_ext_clear(&x);
	service_free(s);
	return -1;
}

static int
parse_probe(struct ynode_ctx *c, yaml_node_t *n, struct probe *pr)
{
	static const struct {
		const char	*name;
		size_t		 off;
		uint64_t	 min;
	} nums[] = {
		{ "initialDelaySeconds", offsetof(struct probe,
		    initial_delay_s), 0 },
		{ "periodSeconds", offsetof(struct probe, period_s), 1 },
		{ "timeoutSeconds", offsetof(struct probe, timeout_s), 1 },
		{ "successThreshold", offsetof(struct probe,
		    success_threshold), 1 },
		{ "failureThreshold", offsetof(struct probe,
		    failure_threshold), 1 },
	};
	yaml_node_t *h, *port, *f;
	const char *str;
	uint64_t v;
	size_t i;

	if (ynode_want_map(c, n, "readinessProbe") != 0)
		return -1;
	if ((h = ynode_get(c, n, "tcpSocket")) != NULL)
		pr->kind = PROBE_TCP;
	else if ((h = ynode_get(c, n, "httpGet")) != NULL)
		pr->kind = PROBE_HTTP;
	else {
		log_debug("%s:%zu: readinessProbe without tcpSocket or "
		    "httpGet ignored", c->name, n->start_mark.line + 1);
		return 0;
	}
	if (ynode_want_map(c, h, pr->kind == PROBE_TCP ? "tcpSocket" :
	    "httpGet") != 0)
		return -1;
	if ((port = ynode_get(c, h, "port")) == NULL)
		return ynode_fail(c, h, "readinessProbe port: missing");
	if (ynode_is_int(port)) {
		if (ynode_want_uint(c, port, "readinessProbe port", 1, 65535,
		    &v) != 0)
			return -1;
		pr->port = (uint16_t)v;
	} else {
		if (ynode_want_str(c, port, "readinessProbe port", &str) != 0)
			return -1;
		if ((pr->port_name = strdup(str)) == NULL)
			return ynode_fail(c, port, "out of memory");
	}
	if (pr->kind == PROBE_HTTP) {
		str = "/";
		if ((f = ynode_get(c, h, "path")) != NULL &&
		    ynode_want_str(c, f, "httpGet.path", &str) != 0)
			return -1;
		if (str[0] != '/' || strpbrk(str, " \r\n") != NULL)
			return ynode_fail(c, f, "httpGet.path: \"%s\" is not "
			    "an absolute path", str);
		if ((pr->path = strdup(str)) == NULL)
			return ynode_fail(c, h, "out of memory");
	}
	for (i = 0; i < CIP_ARRAY_LEN(nums); i++) {
		if ((f = ynode_get(c, n, nums[i].name)) == NULL)
			continue;
		if (ynode_want_uint(c, f, nums[i].name, nums[i].min, 86400,
		    &v) != 0)
			return -1;
		*(uint32_t *)(void *)((char *)pr + nums[i].off) = (uint32_t)v;
	}
	return 0;
}

static int
parse_container_ports(struct ynode_ctx *c, yaml_node_t *n, struct pod *p)
{
	yaml_node_item_t *it;
	struct pod_port *np;
	size_t count;

	if (ynode_is_null(n))
		return 0;
	if (ynode_want_seq(c, n, "containers[].ports") != 0)
		return -1;
	count = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (count == 0)
		return 0;
	if ((np = realloc(p->ports, (p->nports + count) *
	    sizeof(*np))) == NULL)
		return ynode_fail(c, n, "out of memory");
	p->ports = np;
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it), *f;
		struct pod_port *pp = &p->ports[p->nports];
		const char *str;
		uint64_t v;

		memset(pp, 0, sizeof(*pp));
		if (ynode_want_map(c, e, "ports[]") != 0)
			return -1;
		p->nports++;
		if ((f = ynode_get(c, e, "containerPort")) == NULL)
			return ynode_fail(c, e, "containerPort: missing");
		if (ynode_want_uint(c, f, "containerPort", 1, 65535, &v) != 0)
			return -1;
		pp->port = (uint16_t)v;
		if ((f = ynode_get(c, e, "name")) != NULL &&
		    !ynode_is_null(f)) {
			if (ynode_want_str(c, f, "ports[].name", &str) != 0)
				return -1;
			if (!validate_port_name(str, strlen(str)))
				return ynode_fail(c, f, "ports[].name: \"%s\" "
				    "is not a valid port name", str);
			if ((pp->name = strdup(str)) == NULL)
				return ynode_fail(c, f, "out of memory");
		}
		if (want_proto(c, ynode_get(c, e, "protocol"), &pp->proto))
			return -1;
		if ((f = ynode_get(c, e, "hostPort")) != NULL &&
		    !ynode_is_null(f)) {
			if (ynode_want_uint(c, f, "hostPort", 1, 65535,
			    &v) != 0)
				return -1;
			pp->host_port = (uint16_t)v;
		}
	}
	return 0;
}

static int
parse_pod(struct ynode_ctx *c, yaml_node_t *doc, struct objset *out)
{
	struct pod *p;
	struct meta m;
	yaml_node_t *spec, *status, *ctrs, *n;
	yaml_node_item_t *it;
	const char *str;

	if ((p = pod_new()) == NULL)
		return ynode_fail(c, doc, "out of memory");
	p->line = (uint32_t)doc->start_mark.line + 1;
	p->col = (uint32_t)doc->start_mark.column + 1;
	if (parse_meta(c, doc, &m, &p->labels, &p->annotations, false) != 0)
		goto fail;
	if (pod_set_name(p, m.ns, m.name) != 0) {
		ynode_fail(c, doc, "out of memory");
		goto fail;
	}
	spec = ynode_get(c, doc, "spec");
	if (spec != NULL && !ynode_is_null(spec)) {
		if (ynode_want_map(c, spec, "spec") != 0 ||
		    want_label_opt(c, ynode_get(c, spec, "hostname"),
		    "spec.hostname", &p->hostname) != 0 ||
		    want_label_opt(c, ynode_get(c, spec, "subdomain"),
		    "spec.subdomain", &p->subdomain) != 0)
			goto fail;
		ctrs = ynode_get(c, spec, "containers");
		if (ctrs != NULL && !ynode_is_null(ctrs)) {
			if (ynode_want_seq(c, ctrs, "spec.containers") != 0)
				goto fail;
			for (it = ctrs->data.sequence.items.start;
			    it < ctrs->data.sequence.items.top; it++) {
				yaml_node_t *ct = yaml_document_get_node(c->doc,
				    *it);
				if (ynode_want_map(c, ct, "containers[]") != 0 ||
				    parse_container_ports(c, ynode_get(c, ct,
				    "ports"), p) != 0)
					goto fail;
				n = ynode_get(c, ct, "readinessProbe");
				if (n != NULL && !ynode_is_null(n) &&
				    p->probe.kind == PROBE_NONE &&
				    parse_probe(c, n, &p->probe) != 0)
					goto fail;
			}
		}
	}
	status = ynode_get(c, doc, "status");
	if (parse_pod_ips(c, doc, status, p) != 0)
		goto fail;
	n = ynode_get(c, status, "conditions");
	if (n != NULL && !ynode_is_null(n)) {
		if (ynode_want_seq(c, n, "status.conditions") != 0)
			goto fail;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			yaml_node_t *cond = yaml_document_get_node(c->doc, *it);
			const char *type, *st;
			if (ynode_want_map(c, cond, "conditions[]") != 0 ||
			    ynode_want_str(c, ynode_get(c, cond, "type"),
			    "conditions[].type", &type) != 0 ||
			    ynode_want_str(c, ynode_get(c, cond, "status"),
			    "conditions[].status", &st) != 0)
				goto fail;
			if (strcmp(type, "Ready") == 0)
				p->declared_ready = strcmp(st, "True") == 0 ||
				    strcmp(st, "true") == 0;
		}
	}
	if (p->probe.kind != PROBE_NONE && p->probe.port == 0) {
		size_t i;
		str = p->probe.port_name;
		for (i = 0; i < p->nports; i++)
			if (streq_null(p->ports[i].name, str))
				break;
		if (i == p->nports) {
			ynode_fail(c, doc, "readinessProbe port \"%s\" names "
			    "no containerPort", str);
			goto fail;
		}
	}
	if (objset_add_pod(out, p) == 0)
		return 0;
	ynode_fail(c, doc, "out of memory");
fail:
	pod_free(p);
	return -1;
}

/* Appends the addresses of list n (addresses or notReadyAddresses) to e. */
static int
parse_ep_addresses(struct ynode_ctx *c, yaml_node_t *n, bool not_ready,
    struct endpoints *e)
{
	struct ep_address *na;
	yaml_node_item_t *jt;
	size_t count;

	if (n == NULL || ynode_is_null(n))
		return 0;
	if (ynode_want_seq(c, n, not_ready ? "notReadyAddresses" :
	    "addresses") != 0)
		return -1;
	count = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (count == 0)
		return 0;
	if ((na = reallocarray(e->addrs, e->naddrs + count,
	    sizeof(*na))) == NULL)
		return ynode_fail(c, n, "out of memory");
	e->addrs = na;
	for (jt = n->data.sequence.items.start;
	    jt < n->data.sequence.items.top; jt++) {
		yaml_node_t *a = yaml_document_get_node(c->doc, *jt);
		struct ep_address *ea = &e->addrs[e->naddrs];
		enum ip_family fam;

		memset(ea, 0, sizeof(*ea));
		ea->not_ready = not_ready;
		if (ynode_want_map(c, a, "addresses[]") != 0 ||
		    want_ip(c, ynode_get(c, a, "ip"), "addresses[].ip",
		    &ea->ip, &ea->ip6, &fam) != 0)
			return -1;
		e->naddrs++;
		if (want_label_opt(c, ynode_get(c, a, "hostname"),
		    "addresses[].hostname", &ea->hostname) != 0)
			return -1;
	}
	return 0;
}

/*
 * One struct endpoints per subset; the registry joins the subsets of an
 * object by address.
 */
static int
parse_endpoints(struct ynode_ctx *c, yaml_node_t *doc, struct objset *out)
{
	struct meta m;
	yaml_node_t *subsets;
	yaml_node_item_t *it, *jt;
	struct endpoints *e = NULL;
	size_t idx = 0;

	if (parse_meta(c, doc, &m, NULL, NULL, true) != 0)
		return -1;
	subsets = ynode_get(c, doc, "subsets");
	if (ynode_is_null(subsets))
		subsets = NULL;
	if (subsets && ynode_want_seq(c, subsets, "subsets") != 0)
		return -1;
	for (it = subsets ? subsets->data.sequence.items.start : NULL;
	    subsets && it < subsets->data.sequence.items.top; it++, idx++) {
		yaml_node_t *ss = yaml_document_get_node(c->doc, *it);
		yaml_node_t *ports;
		size_t np;

		if (ynode_want_map(c, ss, "subsets[]") != 0)
			return -1;
		if ((e = endpoints_new()) == NULL ||
		    (e->ns = strdup(m.ns)) == NULL ||
		    (e->name = strdup(m.name)) == NULL)
			goto nomem;
		e->subset = idx;
		e->line = (uint32_t)ss->start_mark.line + 1;
		e->col = (uint32_t)ss->start_mark.column + 1;
		if (parse_ep_addresses(c, ynode_get(c, ss, "addresses"), false,
		    e) != 0 || parse_ep_addresses(c, ynode_get(c, ss,
		    "notReadyAddresses"), true, e) != 0)
			goto fail;
		ports = ynode_get(c, ss, "ports");
		if (ports && !ynode_is_null(ports) &&
		    ynode_want_seq(c, ports, "ports") != 0)
			goto fail;
		np = ports && ports->type == YAML_SEQUENCE_NODE ?
		    (size_t)(ports->data.sequence.items.top -
		    ports->data.sequence.items.start) : 0;
		if (np && (e->ports = calloc(np, sizeof(*e->ports))) == NULL)
			goto nomem;
		for (jt = np ? ports->data.sequence.items.start : NULL;
		    np && jt < ports->data.sequence.items.top; jt++) {
			yaml_node_t *p = yaml_document_get_node(c->doc, *jt);
			yaml_node_t *f;
			struct pod_port *pp = &e->ports[e->nports];
			const char *str;
			uint64_t v;
			if (ynode_want_map(c, p, "ports[]") != 0 ||
			    ynode_want_uint(c, ynode_get(c, p, "port"),
			    "ports[].port", 1, 65535, &v) != 0)
				goto fail;
			e->nports++;
			pp->port = (uint16_t)v;
			if ((f = ynode_get(c, p, "name")) != NULL &&
			    !ynode_is_null(f)) {
				if (ynode_want_str(c, f, "ports[].name",
				    &str) != 0)
					goto fail;
				if ((pp->name = strdup(str)) == NULL)
					goto nomem;
			}
			if (want_proto(c, ynode_get(c, p, "protocol"),
			    &pp->proto) != 0)
				goto fail;
		}
		if (objset_add_endpoints(out, e) != 0)
			goto nomem;
		e = NULL;
	}
	return 0;
nomem:
	ynode_fail(c, doc, "out of memory");
fail:
	endpoints_free(e);
	return -1;
}

static int
parse_list(struct ynode_ctx *c, yaml_node_t *doc, struct mparse *mp)
{
	yaml_node_t *items = ynode_get(c, doc, "items");
	yaml_node_item_t *it;

	if (ynode_is_null(items))
		return 0;
	if (ynode_want_seq(c, items, "items") != 0)
		return -1;
	for (it = items->data.sequence.items.start;
	    it < items->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(c->doc, *it);
		if (parse_doc(c, n, mp, true) != 0)
			return -1;
	}
	return 0;
}

/*
 * One document, or one item of a List: parsed when clusterip runs its
 * kind, else skipped and noted; its unknown fields are warned about.
 */
static int
parse_doc(struct ynode_ctx *c, yaml_node_t *doc, struct mparse *mp,
    bool in_list)
{
	yaml_node_t *kn, *an;
	const char *kind, *api = "v1";

	if (ynode_is_null(doc))
		return 0;
	if (ynode_want_map(c, doc, "document") != 0)
		return -1;
	if ((kn = ynode_get(c, doc, "kind")) == NULL)
		return ynode_fail(c, doc, "kind: missing");
	if (ynode_want_str(c, kn, "kind", &kind) != 0)
		return -1;
	if ((an = ynode_get(c, doc, "apiVersion")) != NULL &&
	    ynode_want_str(c, an, "apiVersion", &api) != 0)
		return -1;
	if (strcmp(api, "v1") != 0)
		return skip_doc(c, mp, doc, kind, api);
	if (strcmp(kind, "Service") == 0)
		return parse_service(c, doc, mp->out) != 0 ? -1 :
		    check_doc_fields(c, mp, doc, f_service);
	if (strcmp(kind, "Pod") == 0)
		return parse_pod(c, doc, mp->out) != 0 ? -1 :
		    check_doc_fields(c, mp, doc, f_pod);
	if (strcmp(kind, "Endpoints") == 0)
		return parse_endpoints(c, doc, mp->out) != 0 ? -1 :
		    check_doc_fields(c, mp, doc, f_endpoints);
	if (strcmp(kind, "List") == 0 || strcmp(kind, "ServiceList") == 0 ||
	    strcmp(kind, "PodList") == 0 ||
	    strcmp(kind, "EndpointsList") == 0) {
		if (in_list)
			return ynode_fail(c, doc, "a List inside a List");
		return parse_list(c, doc, mp) != 0 ? -1 :
		    check_doc_fields(c, mp, doc, f_list);
	}
	return skip_doc(c, mp, doc, kind, api);
}

static int
manifest_doc_cb(struct ynode_ctx *c, yaml_node_t *root, void *arg)
{
	return parse_doc(c, root, arg, false);
}

/* Moves what a parse into tmp gave to out, or undoes it (loaded != 0). */
static int
manifest_parsed(int loaded, struct objset *tmp, const char *name,
    struct objset *out, struct manifest_report *rep, char *err,
    size_t errlen)
{
	size_t i;
	int rc = 0;

	if (loaded != 0) {
		objset_clear(tmp);
		manifest_report_clear(rep);
		return -1;
	}
	for (i = 0; rc == 0 && i < tmp->nsvcs; i++)
		rc = objset_add_service(out, tmp->svcs[i]);
	for (i = 0; rc == 0 && i < tmp->npods; i++)
		rc = objset_add_pod(out, tmp->pods[i]);
	for (i = 0; rc == 0 && i < tmp->neps; i++)
		rc = objset_add_endpoints(out, tmp->eps[i]);
	free(tmp->svcs);
	free(tmp->pods);
	free(tmp->eps);
	if (rc != 0) {
		errf(err, errlen, "%s: out of memory", name);
		manifest_report_clear(rep);
		return -1;
	}
	out->src = name;
	return 0;
}

int
manifest_parse_buf(const char *buf, size_t len, const char *name,
    struct objset *out, struct manifest_report *rep, char *err,
    size_t errlen)
{
	struct objset tmp = { 0 };
	struct mparse mp = { &tmp, rep };

	return manifest_parsed(ynode_load_each(buf, len, name,
	    manifest_doc_cb, &mp, err, errlen), &tmp, name, out, rep, err,
	    errlen);
}

int
manifest_parse_json(json_t *j, const char *name, struct objset *out,
    struct manifest_report *rep, char *err, size_t errlen)
{
	struct objset tmp = { 0 };
	struct mparse mp = { &tmp, rep };

	return manifest_parsed(ynode_load_json(j, name, manifest_doc_cb, &mp,
	    err, errlen), &tmp, name, out, rep, err, errlen);
}

void
manifest_report_clear(struct manifest_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->nskips; i++) {
		free(rep->skips[i].where);
		free(rep->skips[i].kind);
		free(rep->skips[i].api_version);
		free(rep->skips[i].ns);
		free(rep->skips[i].name);
	}
	for (i = 0; i < rep->nwarns; i++) {
		free(rep->warns[i].where);
		free(rep->warns[i].msg);
	}
	free(rep->skips);
	free(rep->warns);
	memset(rep, 0, sizeof(*rep));
}

void
manifest_skip_format(const struct manifest_skip *sk, char *buf, size_t len)
{
	snprintf(buf, len, "%s: %s%s%s (%s) skipped: %s", sk->where,
	    sk->kind, sk->name ? "/" : "", sk->name ? sk->name : "",
	    sk->api_version, sk->reason);
}

void
manifest_warning_format(const struct manifest_warning *w, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s: warning: %s", w->where, w->msg);
}

void
manifest_report_log(const struct manifest_report *rep, const char *prefix)
{
	char line[1024];
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->nskips; i++) {
		manifest_skip_format(&rep->skips[i], line, sizeof(line));
		log_info("%s%s", prefix, line);
	}
	for (i = 0; i < rep->nwarns; i++) {
		manifest_warning_format(&rep->warns[i], line, sizeof(line));
		log_warnx("%s%s", prefix, line);
	}
	if (rep->nwarns_dropped > 0)
		log_warnx("%s%zu more unknown field(s) not listed", prefix,
		    rep->nwarns_dropped);
}

int
manifest_parse_file(const char *path, struct objset *out,
    struct manifest_report *rep, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int rc;

	if ((buf = read_file(path, MANIFEST_MAX_FILE, &len, err,
	    errlen)) == NULL)
		return -1;
	rc = manifest_parse_buf(buf, len, path, out, rep, err, errlen);
	free(buf);
	return rc;
}
