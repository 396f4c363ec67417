/* SPDX-License-Identifier: MIT */
/* objjson.c -- services, pods and endpoints as Kubernetes-shaped JSON. */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "util.h"
#include "selector.h"
#include "registry.h"
#include "objjson.h"
#include "validate.h"

/* Presentation form of the address of family f of a (v4, v6) pair. */
static const char *
objjson_addr(enum ip_family f, struct in_addr v4, const struct in6_addr *v6,
    char *buf, size_t len)
{
	if (f == IP_FAMILY_V6)
		return inet_ntop(AF_INET6, v6, buf, (socklen_t)len);
	return inet_ntop(AF_INET, &v4, buf, (socklen_t)len);
}

/*
 * The family of a member's address in the service's Endpoints: the
 * service's primary one when the pod has it (Endpoints hold one family).
 */
static enum ip_family
objjson_member_family(const struct pod *p, const struct service *svc)
{
	enum ip_family f = svc->nfamilies ? svc->families[0] : IP_FAMILY_V4;

	if (pod_has_family(p, f))
		return f;
	return p->ip.s_addr != 0 ? IP_FAMILY_V4 : IP_FAMILY_V6;
}

/* The single address of a pod made from an Endpoints address. */
static const char *
objjson_pod_addr(const struct pod *p, char *buf, size_t len)
{
	return objjson_addr(p->ip.s_addr == 0 ? IP_FAMILY_V6 : IP_FAMILY_V4,
	    p->ip, &p->ip6, buf, len);
}

static int	objjson_set(json_t *, const char *, json_t *);
static json_t	*objjson_labels(const struct labels *);
static json_t	*objjson_metadata(const char *, const char *,
    const struct labels *, const struct labels *, const struct owner *,
    time_t, enum objjson_mode);
static json_t	*objjson_doc(const char *, json_t *);
static json_t	*objjson_selector(const struct selector *);
static json_t	*objjson_probe(const struct probe *);

/*
 * Sets key to val (reference stolen) unless val is NULL, which is an
 * allocation failure upstream. Returns 0 or -1.
 */
static int
objjson_set(json_t *obj, const char *key, json_t *val)
{
	if (obj == NULL || val == NULL) {
		json_decref(val);
		return -1;
	}
	return json_object_set_new(obj, key, val);
}

const char *
objjson_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strlcpy(buf, "1970-01-01T00:00:00Z", len);
	return buf;
}

static json_t *
objjson_labels(const struct labels *l)
{
	json_t *o;
	size_t i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (objjson_set(o, l->v[i].key,
		    json_string(l->v[i].value)) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *
objjson_metadata(const char *ns, const char *name, const struct labels *lab,
    const struct labels *ann, const struct owner *owner, time_t created,
    enum objjson_mode mode)
{
	json_t *md;
	char buf[128];
	int rc = 0;

	if ((md = json_object()) == NULL)
		return NULL;
	rc |= objjson_set(md, "name", json_string(name));
	rc |= objjson_set(md, "namespace", json_string(ns));
	if (lab->n > 0)
		rc |= objjson_set(md, "labels", objjson_labels(lab));
	if (ann->n > 0)
		rc |= objjson_set(md, "annotations", objjson_labels(ann));
	if (mode == OBJJSON_STATE) {
		if (created != 0)
			rc |= objjson_set(md, "creationTimestamp",
			    json_string(objjson_time(created, buf,
			    sizeof(buf))));
		rc |= objjson_set(md, "owner",
		    json_string(owner_describe(owner, buf, sizeof(buf))));
	}
	if (rc != 0) {
		json_decref(md);
		return NULL;
	}
	return md;
}

/* { apiVersion: v1, kind, metadata }, taking the metadata's reference. */
static json_t *
objjson_doc(const char *kind, json_t *metadata)
{
	if (metadata == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", kind,
	    "metadata", metadata);
}

/*
 * A map selector is a plain object like a Service's spec.selector; any
 * other is a LabelSelector (matchLabels + matchExpressions).
 */
static json_t *
objjson_selector(const struct selector *sel)
{
	static const char *const ops[] = {
		[SELECTOR_OP_IN] = "In",
		[SELECTOR_OP_NOTIN] = "NotIn",
		[SELECTOR_OP_NEQ] = "NotIn",
		[SELECTOR_OP_EXISTS] = "Exists",
		[SELECTOR_OP_NOTEXISTS] = "DoesNotExist",
	};
	const struct selector_req *r;
	json_t *map, *exprs = NULL, *e, *vals, *out;
	size_t i, j;
	int rc = 0;

	if ((map = json_object()) == NULL)
		return NULL;
	for (i = 0; i < sel->nreqs; i++) {
		r = &sel->reqs[i];
		if (r->op == SELECTOR_OP_EQ && r->nvalues == 1) {
			rc |= objjson_set(map, r->key,
			    json_string(r->values[0]));
			continue;
		}
		if (exprs == NULL && (exprs = json_array()) == NULL) {
			rc = -1;
			break;
		}
		e = json_object();
		rc |= objjson_set(e, "key", json_string(r->key));
		rc |= objjson_set(e, "operator", json_string(ops[r->op]));
		if (r->nvalues > 0) {
			vals = json_array();
			for (j = 0; j < r->nvalues && vals != NULL; j++)
				rc |= json_array_append_new(vals,
				    json_string(r->values[j]));
			rc |= objjson_set(e, "values", vals);
		}
		if (e == NULL || json_array_append_new(exprs, e) != 0)
			rc = -1;
	}
	if (rc != 0) {
		json_decref(map);
		json_decref(exprs);
		return NULL;
	}
	if (exprs == NULL)
		return map;
	out = json_object();
	if (json_object_size(map) > 0)
		rc |= objjson_set(out, "matchLabels", map);
	else
		json_decref(map);
	rc |= objjson_set(out, "matchExpressions", exprs);
	if (rc != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *
objjson_service(const struct service *svc, enum objjson_mode mode)
{
	const struct svc_port *sp;
	json_t *doc, *spec, *ports, *p, *ips, *cfg;
	char ip[INET6_ADDRSTRLEN];
	size_t i;
	int rc = 0;

	if ((doc = objjson_doc("Service", objjson_metadata(svc->ns, svc->name,
	    &svc->labels, &svc->ext->annotations, &svc->owner, svc->created,
	    mode))) == NULL)
		return NULL;
	spec = json_object();
	rc |= objjson_set(doc, "spec", spec);
	if (rc != 0)
		goto fail;
	rc |= objjson_set(spec, "type", json_string(
	    svc->type == SVC_EXTERNALNAME ? "ExternalName" : "ClusterIP"));
	if (svc->selector != NULL)
		rc |= objjson_set(spec, "selector",
		    objjson_selector(svc->selector));
	if (svc->type == SVC_HEADLESS) {
		rc |= objjson_set(spec, "clusterIP", json_string("None"));
		if (mode == OBJJSON_STATE)
			rc |= objjson_set(spec, "clusterIPs",
			    json_pack("[s]", "None"));
	} else if (svc->type == SVC_CLUSTERIP && mode == OBJJSON_MANIFEST &&
	    svc->ext->nreq_ips > 0) {
		rc |= objjson_set(spec, "clusterIP", json_string(objjson_addr(
		    svc->ext->req_ip_families[0], svc->ext->requested_vip,
		    &svc->ext->requested_vip6, ip, sizeof(ip))));
		if (svc->ext->nreq_ips == 2 && (ips = json_array()) != NULL) {
			for (i = 0; i < 2; i++)
				rc |= json_array_append_new(ips, json_string(
				    objjson_addr(svc->ext->req_ip_families[i],
				    svc->ext->requested_vip, &svc->ext->requested_vip6,
				    ip, sizeof(ip))));
			rc |= objjson_set(spec, "clusterIPs", ips);
		}
	} else if (svc->type == SVC_CLUSTERIP && mode == OBJJSON_STATE &&
	    (svc->vip.s_addr != 0 || !in6_is_unset(&svc->ext->vip6))) {
		ips = json_array();
		for (i = 0; ips != NULL && i < svc->nfamilies; i++)
			rc |= json_array_append_new(ips, json_string(
			    objjson_addr(svc->families[i], svc->vip,
			    &svc->ext->vip6, ip, sizeof(ip))));
		if (ips != NULL && svc->nfamilies == 0)
			rc |= json_array_append_new(ips, json_string(
			    inet4_str(svc->vip, ip)));
		rc |= objjson_set(spec, "clusterIP",
		    json_incref(json_array_get(ips, 0)));
		rc |= objjson_set(spec, "clusterIPs", ips);
	}
	if (svc->type == SVC_EXTERNALNAME && svc->ext->external_name != NULL)
		rc |= objjson_set(spec, "externalName",
		    json_string(svc->ext->external_name));
	ports = json_array();
	for (i = 0; i < svc->nports && ports != NULL; i++) {
		sp = &svc->ports[i];
		p = json_object();
		if (sp->name != NULL)
			rc |= objjson_set(p, "name", json_string(sp->name));
		rc |= objjson_set(p, "port", json_integer(sp->port));
		if (sp->target_name != NULL)
			rc |= objjson_set(p, "targetPort",
			    json_string(sp->target_name));
		else
			rc |= objjson_set(p, "targetPort",
			    json_integer(sp->target_port));
		rc |= objjson_set(p, "protocol",
		    json_string(cip_proto_name(sp->proto)));
		if (p == NULL || json_array_append_new(ports, p) != 0)
			rc = -1;
	}
	rc |= objjson_set(spec, "ports", ports);
	rc |= objjson_set(spec, "sessionAffinity", json_string(
	    svc->affinity == AFFINITY_CLIENTIP ? "ClientIP" : "None"));
	if (svc->affinity == AFFINITY_CLIENTIP) {
		cfg = json_pack("{s:{s:I}}", "clientIP", "timeoutSeconds",
		    (json_int_t)svc->ext->affinity_timeout_s);
		rc |= objjson_set(spec, "sessionAffinityConfig", cfg);
	}
	if (svc->publish_not_ready)
		rc |= objjson_set(spec, "publishNotReadyAddresses",
		    json_true());
	if (mode == OBJJSON_STATE && svc->type != SVC_EXTERNALNAME &&
	    svc->nfamilies == 0) {
		rc |= objjson_set(spec, "ipFamilies", json_pack("[s]", "IPv4"));
		rc |= objjson_set(spec, "ipFamilyPolicy",
		    json_string("SingleStack"));
	} else if (mode == OBJJSON_STATE && svc->type != SVC_EXTERNALNAME) {
		ips = json_array();
		for (i = 0; ips != NULL && i < svc->nfamilies; i++)
			rc |= json_array_append_new(ips, json_string(
			    ip_family_name(svc->families[i])));
		rc |= objjson_set(spec, "ipFamilies", ips);
		rc |= objjson_set(spec, "ipFamilyPolicy",
		    json_string(ip_family_policy_name(svc->policy)));
	} else if (mode == OBJJSON_MANIFEST) {
		if (svc->ext->nreq_families > 0 && (ips = json_array()) != NULL) {
			for (i = 0; i < svc->ext->nreq_families; i++)
				rc |= json_array_append_new(ips, json_string(
				    ip_family_name(svc->ext->req_families[i])));
			rc |= objjson_set(spec, "ipFamilies", ips);
		}
		if (svc->ext->req_policy != IPFP_UNSET)
			rc |= objjson_set(spec, "ipFamilyPolicy", json_string(
			    ip_family_policy_name(svc->ext->req_policy)));
	}
	if (mode == OBJJSON_STATE)
		rc |= objjson_set(doc, "status",
		    json_pack("{s:{}}", "loadBalancer"));
	if (rc != 0)
		goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

static json_t *
objjson_probe(const struct probe *pr)
{
	json_t *o, *port;

	if (pr->port_name != NULL)
		port = json_string(pr->port_name);
	else
		port = json_integer(pr->port);
	if (port == NULL)
		return NULL;
	if (pr->kind == PROBE_HTTP)
		o = json_pack("{s:{s:s,s:o}}", "httpGet", "path",
		    pr->path != NULL ? pr->path : "/", "port", port);
	else
		o = json_pack("{s:{s:o}}", "tcpSocket", "port", port);
	if (o == NULL)
		return NULL;
	if (objjson_set(o, "initialDelaySeconds",
	    json_integer(pr->initial_delay_s)) != 0 ||
	    objjson_set(o, "periodSeconds", json_integer(pr->period_s)) != 0 ||
	    objjson_set(o, "timeoutSeconds", json_integer(pr->timeout_s)) != 0 ||
	    objjson_set(o, "successThreshold",
	    json_integer(pr->success_threshold)) != 0 ||
	    objjson_set(o, "failureThreshold",
	    json_integer(pr->failure_threshold)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
objjson_pod(const struct pod *pod, enum objjson_mode mode)
{
	json_t *doc, *spec, *ctr, *ports, *p, *status, *cond;
	char ip[INET6_ADDRSTRLEN], ts[32];
	bool ready;
	size_t i;
	int rc = 0;

	if ((doc = objjson_doc("Pod", objjson_metadata(pod->ns, pod->name,
	    &pod->labels, &pod->annotations, &pod->owner, pod->created,
	    mode))) == NULL)
		return NULL;
	spec = json_object();
	ctr = json_object();
	ports = json_array();
	for (i = 0; i < pod->nports && ports != NULL; i++) {
		p = json_object();
		if (pod->ports[i].name != NULL)
			rc |= objjson_set(p, "name",
			    json_string(pod->ports[i].name));
		rc |= objjson_set(p, "containerPort",
		    json_integer(pod->ports[i].port));
		rc |= objjson_set(p, "protocol",
		    json_string(cip_proto_name(pod->ports[i].proto)));
		if (pod->ports[i].host_port != 0)
			rc |= objjson_set(p, "hostPort",
			    json_integer(pod->ports[i].host_port));
		if (p == NULL || json_array_append_new(ports, p) != 0)
			rc = -1;
	}
	rc |= objjson_set(ctr, "name", json_string("main"));
	rc |= objjson_set(ctr, "ports", ports);
	if (pod->probe.kind != PROBE_NONE)
		rc |= objjson_set(ctr, "readinessProbe",
		    objjson_probe(&pod->probe));
	rc |= objjson_set(spec, "containers", json_pack("[o]", ctr));
	if (pod->hostname != NULL && pod->endpoints_of == NULL)
		rc |= objjson_set(spec, "hostname",
		    json_string(pod->hostname));
	if (pod->subdomain != NULL)
		rc |= objjson_set(spec, "subdomain",
		    json_string(pod->subdomain));
	/* The host that published it through etcd, as Kubernetes' node. */
	if (mode == OBJJSON_STATE && pod->owner.kind == OWNER_ETCD &&
	    pod->owner.id != NULL)
		rc |= objjson_set(spec, "nodeName",
		    json_string(pod->owner.id));
	rc |= objjson_set(doc, "spec", spec);
	if (rc != 0)
		goto fail;

	status = json_object();
	rc |= objjson_set(doc, "status", status);
	if (rc != 0)
		goto fail;
	if (mode == OBJJSON_STATE) {
		ready = pod_ready(pod);
		rc |= objjson_set(status, "phase", json_string("Running"));
		cond = json_pack("[{s:s,s:s}]", "type", "Ready", "status",
		    ready ? "True" : "False");
		rc |= objjson_set(status, "conditions", cond);
		if (pod->created != 0)
			rc |= objjson_set(status, "startTime", json_string(
			    objjson_time(pod->created, ts, sizeof(ts))));
	} else if (!pod->declared_ready) {
		cond = json_pack("[{s:s,s:s}]", "type", "Ready", "status",
		    "False");
		rc |= objjson_set(status, "conditions", cond);
	}
	{
		enum ip_family f[2];
		size_t n = 0;
		json_t *ips = json_array();

		bool has4 = pod->ip.s_addr != 0;
		bool has6 = !in6_is_unset(&pod->ip6);

		if (has6 && (pod->ip6_primary || !has4)) {
			f[n++] = IP_FAMILY_V6;
			if (has4)
				f[n++] = IP_FAMILY_V4;
		} else {
			f[n++] = IP_FAMILY_V4;
			if (has6)
				f[n++] = IP_FAMILY_V6;
		}
		for (i = 0; ips != NULL && i < n; i++)
			rc |= json_array_append_new(ips, json_pack("{s:s}",
			    "ip", objjson_addr(f[i], pod->ip, &pod->ip6, ip,
			    sizeof(ip))));
		rc |= objjson_set(status, "podIP", json_string(objjson_addr(
		    f[0], pod->ip, &pod->ip6, ip, sizeof(ip))));
		if (mode == OBJJSON_STATE || n == 2)
			rc |= objjson_set(status, "podIPs", ips);
		else
			json_decref(ips);
	}
	if (rc != 0)
		goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

/* One subset: a port list and the addresses that resolve to it. */
struct ep_subset {
	uint16_t	*ports;		/* per service port; 0 = unresolved */
	json_t		*ready;
	json_t		*not_ready;
};

/* Addresses in the order Kubernetes gives them: by IP, then by name. */
static int
objjson_cmp_pod_ip(const void *a, const void *b)
{
	const struct pod *x = *(struct pod *const *)a;
	const struct pod *y = *(struct pod *const *)b;
	uint32_t ix = ntohl(x->ip.s_addr), iy = ntohl(y->ip.s_addr);
	int c;

	if (ix != iy)
		return ix < iy ? -1 : 1;
	if ((c = memcmp(&x->ip6, &y->ip6, sizeof(x->ip6))) != 0)
		return c;
	return strcmp(x->key, y->key);
}

json_t *
objjson_endpoints(const struct service *svc)
{
	struct ep_subset *subs = NULL, *s;
	const struct pod *pod;
	struct pod **sorted = NULL;
	json_t *doc, *subsets = NULL, *sj, *ports, *p, *addr;
	uint16_t *cur = NULL;
	char ip[INET6_ADDRSTRLEN], ts[32];
	size_t i, j, k, nsubs = 0, nresolved;
	int rc = 0;

	if ((doc = json_object()) == NULL)
		return NULL;
	rc |= objjson_set(doc, "apiVersion", json_string("v1"));
	rc |= objjson_set(doc, "kind", json_string("Endpoints"));
	rc |= objjson_set(doc, "metadata", json_pack("{s:s,s:s}", "name",
	    svc->name, "namespace", svc->ns));
	if (rc == 0 && svc->created != 0)
		rc |= objjson_set(json_object_get(doc, "metadata"),
		    "creationTimestamp", json_string(objjson_time(svc->created,
		    ts, sizeof(ts))));
	if (rc != 0 || svc->type == SVC_EXTERNALNAME || svc->nmembers == 0)
		goto out;
	if ((subs = calloc(svc->nmembers, sizeof(*subs))) == NULL ||
	    (cur = calloc(svc->nports ? svc->nports : 1,
	    sizeof(*cur))) == NULL) {
		rc = -1;
		goto out;
	}
	if ((sorted = calloc(svc->nmembers, sizeof(*sorted))) == NULL) {
		rc = -1;
		goto out;
	}
	memcpy(sorted, svc->members, svc->nmembers * sizeof(*sorted));
	qsort(sorted, svc->nmembers, sizeof(*sorted), objjson_cmp_pod_ip);
	for (i = 0; i < svc->nmembers; i++) {
		pod = sorted[i];
		nresolved = 0;
		for (j = 0; j < svc->nports; j++) {
			cur[j] = pod_target_port(pod, &svc->ports[j]);
			if (cur[j] != 0)
				nresolved++;
		}
		/* Kubernetes leaves out a pod none of whose ports resolve. */
		if (svc->nports > 0 && nresolved == 0)
			continue;
		for (k = 0; k < nsubs; k++)
			if (memcmp(subs[k].ports, cur,
			    svc->nports * sizeof(*cur)) == 0)
				break;
		if (k == nsubs) {
			s = &subs[nsubs++];
			s->ports = calloc(svc->nports ? svc->nports : 1,
			    sizeof(*cur));
			s->ready = json_array();
			s->not_ready = json_array();
			if (s->ports == NULL || s->ready == NULL ||
			    s->not_ready == NULL) {
				rc = -1;
				goto out;
			}
			memcpy(s->ports, cur, svc->nports * sizeof(*cur));
		}
		s = &subs[k];
		addr = json_pack("{s:s,s:{s:s,s:s,s:s}}", "ip",
		    objjson_addr(objjson_member_family(pod, svc), pod->ip,
		    &pod->ip6, ip, sizeof(ip)), "targetRef", "kind", "Pod",
		    "name", pod->name, "namespace", pod->ns);
		if (addr != NULL && pod_endpoint_hostname(pod, svc) != NULL &&
		    objjson_set(addr, "hostname", json_string(
		    pod_endpoint_hostname(pod, svc))) != 0) {
			rc = -1;
			goto out;
		}
		/* As Kubernetes lists them: published ones are "ready". */
		if (addr == NULL || json_array_append_new(pod_published(pod,
		    svc) ? s->ready : s->not_ready, addr) != 0) {
			rc = -1;
			goto out;
		}
	}
	if (nsubs == 0)
		goto out;
	if ((subsets = json_array()) == NULL) {
		rc = -1;
		goto out;
	}
	for (k = 0; k < nsubs; k++) {
		s = &subs[k];
		sj = json_object();
		if (json_array_size(s->ready) > 0)
			rc |= objjson_set(sj, "addresses", json_incref(s->ready));
		if (json_array_size(s->not_ready) > 0)
			rc |= objjson_set(sj, "notReadyAddresses",
			    json_incref(s->not_ready));
		ports = json_array();
		for (j = 0; j < svc->nports && ports != NULL; j++) {
			if (s->ports[j] == 0)
				continue;
			p = json_object();
			if (svc->ports[j].name != NULL)
				rc |= objjson_set(p, "name",
				    json_string(svc->ports[j].name));
			rc |= objjson_set(p, "port", json_integer(s->ports[j]));
			rc |= objjson_set(p, "protocol", json_string(
			    cip_proto_name(svc->ports[j].proto)));
			if (p == NULL || json_array_append_new(ports, p) != 0)
				rc = -1;
		}
		rc |= objjson_set(sj, "ports", ports);
		if (sj == NULL || json_array_append_new(subsets, sj) != 0)
			rc = -1;
	}
	rc |= objjson_set(doc, "subsets", subsets);
out:
	for (k = 0; k < nsubs; k++) {
		free(subs[k].ports);
		json_decref(subs[k].ready);
		json_decref(subs[k].not_ready);
	}
	free(subs);
	free(cur);
	free(sorted);
	if (rc != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* True when two pods from one Endpoints object list the same ports. */
static bool
objjson_same_ports(const struct pod *a, const struct pod *b)
{
	size_t i;

	if (a->nports != b->nports)
		return false;
	for (i = 0; i < a->nports; i++)
		if (!streq_null(a->ports[i].name, b->ports[i].name) ||
		    a->ports[i].port != b->ports[i].port ||
		    a->ports[i].proto != b->ports[i].proto)
			return false;
	return true;
}

/* The ports of an Endpoints-derived pod as a subset's "ports". */
static json_t *
objjson_ep_ports(const struct pod *pod)
{
	json_t *ports, *p;
	size_t i;
	int rc = 0;

	if ((ports = json_array()) == NULL)
		return NULL;
	for (i = 0; i < pod->nports; i++) {
		p = json_object();
		if (pod->ports[i].name != NULL)
			rc |= objjson_set(p, "name",
			    json_string(pod->ports[i].name));
		rc |= objjson_set(p, "port", json_integer(pod->ports[i].port));
		rc |= objjson_set(p, "protocol",
		    json_string(cip_proto_name(pod->ports[i].proto)));
		if (p == NULL || json_array_append_new(ports, p) != 0)
			rc = -1;
	}
	if (rc != 0) {
		json_decref(ports);
		return NULL;
	}
	return ports;
}

/*
 * One subset per distinct port list, as the object was written (the
 * registry joins an address's subsets into one pod); not-ready pods
 * under notReadyAddresses, hostnames kept.
 */
json_t *
objjson_endpoints_manifest(const char *ns, const char *name,
    struct pod *const *pods, size_t npods)
{
	json_t *doc, *subsets, *sj, *addr, *list, *ports;
	char ip[INET6_ADDRSTRLEN];
	size_t i, j, *sub = NULL;	/* subset of each pod */
	int rc = 0;

	doc = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind",
	    "Endpoints", "metadata", "name", name, "namespace", ns);
	if (doc == NULL)
		return NULL;
	if ((subsets = json_array()) == NULL ||
	    objjson_set(doc, "subsets", subsets) != 0) {
		json_decref(doc);
		return NULL;
	}
	if (npods > 0 && (sub = calloc(npods, sizeof(*sub))) == NULL)
		rc = -1;
	for (i = 0; i < npods && rc == 0; i++) {
		for (j = 0; j < i; j++)
			if (objjson_same_ports(pods[j], pods[i]))
				break;
		if (j < i)
			sub[i] = sub[j];
		else {
			sub[i] = json_array_size(subsets);
			ports = objjson_ep_ports(pods[i]);
			sj = ports == NULL ? NULL : json_pack("{s:[],s:[],s:o}",
			    "addresses", "notReadyAddresses", "ports", ports);
			if (sj == NULL || json_array_append_new(subsets,
			    sj) != 0) {
				rc = -1;
				break;
			}
		}
		sj = json_array_get(subsets, sub[i]);
		addr = json_pack("{s:s}", "ip",
		    objjson_pod_addr(pods[i], ip, sizeof(ip)));
		if (addr != NULL && pods[i]->hostname != NULL)
			rc |= objjson_set(addr, "hostname",
			    json_string(pods[i]->hostname));
		list = json_object_get(sj, pods[i]->declared_ready ?
		    "addresses" : "notReadyAddresses");
		if (addr == NULL || list == NULL) {
			json_decref(addr);
			rc = -1;
		} else if (json_array_append_new(list, addr) != 0)
			rc = -1;
	}
	/* Empty address lists are left out, as Kubernetes writes them. */
	for (i = 0; rc == 0 && i < json_array_size(subsets); i++) {
		sj = json_array_get(subsets, i);
		if (json_array_size(json_object_get(sj, "addresses")) == 0)
			json_object_del(sj, "addresses");
		if (json_array_size(json_object_get(sj,
		    "notReadyAddresses")) == 0)
			json_object_del(sj, "notReadyAddresses");
	}
	free(sub);
	if (rc != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

json_t *
objjson_list(const char *kind, json_t *items)
{
	if (items == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:{},s:o}", "apiVersion", "v1", "kind",
	    kind, "metadata", "items", items);
}

static int
objjson_parse_ports(json_t *arr, struct pod *pod, char *err, size_t errlen)
{
	json_t *p, *v;
	const char *key, *proto;
	json_int_t port;
	size_t i;

	if (!json_is_array(arr)) {
		errf(err, errlen, "ports: must be a list");
		return ERR_INVAL;
	}
	if (json_array_size(arr) > OBJJSON_MAX_PORTS) {
		errf(err, errlen, "ports: more than %d", OBJJSON_MAX_PORTS);
		return ERR_INVAL;
	}
	pod->nports = 0;
	if (json_array_size(arr) == 0)
		return 0;
	pod->ports = calloc(json_array_size(arr), sizeof(*pod->ports));
	if (pod->ports == NULL)
		return ERR_NOMEM;
	json_array_foreach(arr, i, p) {
		struct pod_port *pp = &pod->ports[pod->nports];

		if (!json_is_object(p)) {
			errf(err, errlen, "ports[%zu]: must be an object", i);
			return ERR_INVAL;
		}
		pp->proto = CIP_PROTO_TCP;
		pod->nports++;
		json_object_foreach(p, key, v) {
			if (strcmp(key, "name") == 0) {
				if (!json_is_string(v) ||
				    !validate_port_name(json_string_value(v),
				    strlen(json_string_value(v)))) {
					errf(err, errlen, "ports[%zu].name: "
					    "must be a port name (1-15 "
					    "characters)", i);
					return ERR_INVAL;
				}
				if ((pp->name = strdup(
				    json_string_value(v))) == NULL)
					return ERR_NOMEM;
			} else if (strcmp(key, "port") == 0 ||
			    strcmp(key, "containerPort") == 0) {
				port = json_is_integer(v) ?
				    json_integer_value(v) : 0;
				if (port < 1 || port > 65535) {
					errf(err, errlen, "ports[%zu].%s: must "
					    "be an integer 1-65535", i, key);
					return ERR_INVAL;
				}
				pp->port = (uint16_t)port;
			} else if (strcmp(key, "protocol") == 0) {
				proto = json_is_string(v) ?
				    json_string_value(v) : "";
				if (strcmp(proto, "TCP") == 0)
					pp->proto = CIP_PROTO_TCP;
				else if (strcmp(proto, "UDP") == 0)
					pp->proto = CIP_PROTO_UDP;
				else if (strcmp(proto, "SCTP") == 0)
					pp->proto = CIP_PROTO_SCTP;
				else {
					errf(err, errlen, "ports[%zu].protocol: "
					    "must be TCP, UDP or SCTP", i);
					return ERR_INVAL;
				}
			} else {
				errf(err, errlen, "ports[%zu]: unknown field "
				    "\"%s\"", i, key);
				return ERR_INVAL;
			}
		}
		if (pp->port == 0) {
			errf(err, errlen, "ports[%zu]: port is required", i);
			return ERR_INVAL;
		}
	}
	return 0;
}

static int
objjson_parse_map(json_t *obj, const char *what, struct labels *out,
    bool check, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		errf(err, errlen, "%s: must be an object of strings", what);
		return ERR_INVAL;
	}
	json_object_foreach(obj, key, v) {
		if (!json_is_string(v)) {
			errf(err, errlen, "%s.%s: must be a string", what, key);
			return ERR_INVAL;
		}
		if (check && (!selector_valid_key(key) ||
		    !selector_valid_value(json_string_value(v)))) {
			errf(err, errlen, "%s: invalid label %s=%s", what, key,
			    json_string_value(v));
			return ERR_INVAL;
		}
		if (labels_set(out, key, json_string_value(v)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

int
objjson_parse_registration(const char *body, size_t len, const char *ns,
    const char *name, struct pod **out, uint32_t *ttl_s, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *doc, *v;
	struct pod *pod = NULL;
	const char *key;
	json_int_t ttl = OBJJSON_TTL_DEFAULT_S;
	bool have_ip = false;
	int rc = ERR_INVAL;

	*out = NULL;
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		errf(err, errlen, "body:%d:%d: %s", jerr.line, jerr.column,
		    jerr.text);
		return ERR_INVAL;
	}
	if (!json_is_object(doc)) {
		errf(err, errlen, "body: must be a JSON object");
		goto out;
	}
	if ((pod = pod_new()) == NULL || pod_set_name(pod, ns, name) != 0) {
		rc = ERR_NOMEM;
		goto out;
	}
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "labels") == 0)
			rc = objjson_parse_map(v, key, &pod->labels, true, err,
			    errlen);
		else if (strcmp(key, "annotations") == 0)
			rc = objjson_parse_map(v, key, &pod->annotations,
			    false, err, errlen);
		else if (strcmp(key, "ip") == 0) {
			rc = 0;
			if (!json_is_string(v) || (inet_pton(AF_INET,
			    json_string_value(v), &pod->ip) != 1 &&
			    inet_pton(AF_INET6, json_string_value(v),
			    &pod->ip6) != 1)) {
				errf(err, errlen, "ip: must be an IPv4 or "
				    "IPv6 address");
				rc = ERR_INVAL;
			}
			pod->ip6_primary = pod->ip.s_addr == 0;
			have_ip = true;
		} else if (strcmp(key, "ports") == 0)
			rc = objjson_parse_ports(v, pod, err, errlen);
		else if (strcmp(key, "ttlSeconds") == 0) {
			rc = 0;
			ttl = json_is_integer(v) ? json_integer_value(v) : -1;
			if (ttl < 1 || ttl > OBJJSON_TTL_MAX_S) {
				errf(err, errlen, "ttlSeconds: must be an "
				    "integer 1-%d", OBJJSON_TTL_MAX_S);
				rc = ERR_INVAL;
			}
		} else if (strcmp(key, "ready") == 0) {
			rc = 0;
			if (!json_is_boolean(v)) {
				errf(err, errlen, "ready: must be a boolean");
				rc = ERR_INVAL;
			}
			pod->declared_ready = json_is_true(v);
		} else {
			errf(err, errlen, "unknown field \"%s\"", key);
			rc = ERR_INVAL;
		}
		if (rc != 0)
			goto out;
	}
	if (!have_ip) {
		errf(err, errlen, "ip: required");
		rc = ERR_INVAL;
		goto out;
	}
	*ttl_s = (uint32_t)ttl;
	*out = pod;
	pod = NULL;
	rc = 0;
out:
	pod_free(pod);
	json_decref(doc);
	return rc;
}
