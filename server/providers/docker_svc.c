/* SPDX-License-Identifier: MIT */
/* docker_svc.c -- container labels -> the Service they define. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "util.h"
#include "selector.h"
#include "registry.h"
#include "docker_pod.h"
#include "docker_svc.h"
#include "validate.h"

static int	docker_svc_number(const char *, size_t, uint16_t *);
static int	docker_svc_entry(const char *, size_t, struct docker_svc_port *,
		    char *, size_t);
static int	docker_svc_ports(struct docker_svc *, const char *,
		    const char *, bool, char *, size_t);
static void	docker_svc_ports_str(const struct docker_svc *, char *,
		    size_t);

/* 1..65535 in decimal digits only. */
static int
docker_svc_number(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* One entry, blanks trimmed: [NAME:]PORT[:TARGET][/PROTO]. */
static int
docker_svc_entry(const char *s, size_t len, struct docker_svc_port *pp,
    char *err, size_t errlen)
{
	const char *f[3], *slash;
	size_t flen[3], nf = 0, i, start;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	memset(pp, 0, sizeof(*pp));
	pp->proto = CIP_PROTO_TCP;
	if (len == 0) {
		errf(err, errlen, "an empty port");
		return ERR_INVAL;
	}
	if ((slash = memchr(s, '/', len)) != NULL) {
		i = len - (size_t)(slash - s) - 1;
		if (i == 3 && strncasecmp(slash + 1, "tcp", 3) == 0)
			pp->proto = CIP_PROTO_TCP;
		else if (i == 3 && strncasecmp(slash + 1, "udp", 3) == 0)
			pp->proto = CIP_PROTO_UDP;
		else {
			errf(err, errlen, "port \"%.*s\": the protocol is not "
			    "tcp or udp", (int)MINIMUM(len, 64), s);
			return ERR_INVAL;
		}
		len = (size_t)(slash - s);
	}
	for (i = start = 0; i <= len; i++) {
		if (i < len && s[i] != ':')
			continue;
		if (nf == 3)
			goto bad;
		f[nf] = s + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	i = 0;
	if (nf > 0 && flen[0] > 0 && !isdigit((unsigned char)f[0][0])) {
		if (!validate_port_name(f[0], flen[0])) {
			errf(err, errlen, "port name \"%.*s\" is not a "
			    "lowercase IANA service name (at most 15 of "
			    "a-z, 0-9 and '-', one letter at least)",
			    (int)MINIMUM(flen[0], 64), f[0]);
			return ERR_INVAL;
		}
		memcpy(pp->name, f[0], flen[0]);
		pp->name[flen[0]] = '\0';
		i = 1;
	}
	if (nf - i < 1 || nf - i > 2 ||
	    docker_svc_number(f[i], flen[i], &pp->port) != 0)
		goto bad;
	pp->target_port = pp->port;
	if (nf - i == 2 &&
	    docker_svc_number(f[i + 1], flen[i + 1], &pp->target_port) != 0)
		goto bad;
	return 0;
bad:
	errf(err, errlen, "port \"%.*s\" is not [NAME:]PORT[:TARGETPORT]"
	    "[/udp] with ports 1 to 65535", (int)MINIMUM(len, 64), s);
	return ERR_INVAL;
}

/* Parses the value of label (port or ports) into svc's ports. */
static int
docker_svc_ports(struct docker_svc *svc, const char *label,
    const char *value, bool many, char *err, size_t errlen)
{
	struct docker_svc_port *pp;
	const char *p = value, *comma;
	size_t len, j;
	char why[160];

	for (;;) {
		comma = many ? strchr(p, ',') : NULL;
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (svc->nports == DOCKER_SVC_MAX_PORTS) {
			errf(err, errlen, "%s: more than %d ports", label,
			    DOCKER_SVC_MAX_PORTS);
			return ERR_INVAL;
		}
		pp = &svc->ports[svc->nports];
		if (docker_svc_entry(p, len, pp, why, sizeof(why)) != 0) {
			errf(err, errlen, "%s: %s", label, why);
			return ERR_INVAL;
		}
		for (j = 0; j < svc->nports; j++) {
			if (svc->ports[j].port == pp->port &&
			    svc->ports[j].proto == pp->proto) {
				errf(err, errlen, "%s: port %u/%s is listed "
				    "twice", label, pp->port,
				    cip_proto_name(pp->proto));
				return ERR_INVAL;
			}
			if (pp->name[0] != '\0' &&
			    strcmp(svc->ports[j].name, pp->name) == 0) {
				errf(err, errlen, "%s: name \"%s\" is used "
				    "twice", label, pp->name);
				return ERR_INVAL;
			}
		}
		svc->nports++;
		if (svc->nports > 1 && (pp->name[0] == '\0' ||
		    svc->ports[0].name[0] == '\0')) {
			errf(err, errlen, "%s: every port must be named when "
			    "there are several (NAME:PORT)", label);
			return ERR_INVAL;
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

int
docker_svc_from_inspect(const char *json, size_t len,
    struct docker_svc *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *labels;
	const char *name, *ns, *port, *ports, *lb, *aff, *fp;
	int rc = ERR_INVAL, a;

	memset(out, 0, sizeof(*out));
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		errf(err, errlen, "bad JSON at line %d: %s", jerr.line,
		    jerr.text);
		return ERR_INVAL;
	}
	labels = json_object_get(json_object_get(root, "Config"), "Labels");
	if (!json_is_object(labels) ||
	    json_object_get(labels, DOCKER_LABEL_SERVICE) == NULL) {
		rc = 0;
		goto done;
	}
	name = json_string_value(json_object_get(labels,
	    DOCKER_LABEL_SERVICE));
	if (name == NULL || !validate_dns1035_label(name, strlen(name))) {
		errf(err, errlen, DOCKER_LABEL_SERVICE " \"%.64s\" is not a "
		    "service name (a DNS label: a-z first, then a-z, 0-9 and "
		    "'-', at most 63)", name != NULL ? name : "");
		goto done;
	}
	strlcpy(out->name, name, sizeof(out->name));
	ns = json_string_value(json_object_get(labels,
	    DOCKER_LABEL_NAMESPACE));
	if (ns == NULL || !validate_dns_label(ns, strlen(ns)))
		ns = "default";
	strlcpy(out->ns, ns, sizeof(out->ns));

	port = json_string_value(json_object_get(labels, DOCKER_LABEL_PORT));
	ports = json_string_value(json_object_get(labels,
	    DOCKER_LABEL_PORTS));
	if ((port == NULL) == (ports == NULL)) {
		errf(err, errlen, "service %s: give " DOCKER_LABEL_PORT
		    " or " DOCKER_LABEL_PORTS " (%s)", name,
		    port == NULL ? "neither is a string" : "not both");
		goto done;
	}
	if (port != NULL && docker_svc_ports(out, DOCKER_LABEL_PORT, port,
	    false, err, errlen) != 0)
		goto done;
	if (ports != NULL && docker_svc_ports(out, DOCKER_LABEL_PORTS, ports,
	    true, err, errlen) != 0)
		goto done;

	out->algo = LB_RANDOM;
	if (json_object_get(labels, DOCKER_LABEL_LB) != NULL) {
		lb = json_string_value(json_object_get(labels,
		    DOCKER_LABEL_LB));
		if (lb == NULL || (a = lb_algo_parse(lb)) < 0) {
			errf(err, errlen, DOCKER_LABEL_LB " \"%.32s\" is not "
			    "random, round-robin or least-connections",
			    lb != NULL ? lb : "");
			goto done;
		}
		out->algo = (enum lb_algo)a;
		out->algo_explicit = true;
	}
	out->affinity = AFFINITY_NONE;
	if (json_object_get(labels, DOCKER_LABEL_AFFINITY) != NULL) {
		aff = json_string_value(json_object_get(labels,
		    DOCKER_LABEL_AFFINITY));
		if (aff != NULL && strcmp(aff, "ClientIP") == 0)
			out->affinity = AFFINITY_CLIENTIP;
		else if (aff == NULL || strcmp(aff, "None") != 0) {
			errf(err, errlen, DOCKER_LABEL_AFFINITY " \"%.32s\" "
			    "is not None or ClientIP", aff != NULL ? aff : "");
			goto done;
		}
	}
	out->policy = IPFP_UNSET;
	if (json_object_get(labels, DOCKER_LABEL_FAMILY_POLICY) != NULL) {
		fp = json_string_value(json_object_get(labels,
		    DOCKER_LABEL_FAMILY_POLICY));
		if (fp == NULL || *fp == '\0' ||
		    (a = ip_family_policy_parse(fp)) < 0) {
			errf(err, errlen, DOCKER_LABEL_FAMILY_POLICY " \"%.32s\" "
			    "is not SingleStack, PreferDualStack or "
			    "RequireDualStack", fp != NULL ? fp : "");
			goto done;
		}
		out->policy = (enum ip_family_policy)a;
	}
	rc = 1;
done:
	json_decref(root);
	if (rc != 1) {
		/* Nothing half-read leaves. */
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

bool
docker_svc_equal(const struct docker_svc *a, const struct docker_svc *b)
{
	size_t i;

	if (strcmp(a->ns, b->ns) != 0 || strcmp(a->name, b->name) != 0 ||
	    a->nports != b->nports || a->algo_explicit != b->algo_explicit ||
	    (a->algo_explicit && a->algo != b->algo) ||
	    a->affinity != b->affinity || a->policy != b->policy)
		return false;
	for (i = 0; i < a->nports; i++)
		if (strcmp(a->ports[i].name, b->ports[i].name) != 0 ||
		    a->ports[i].port != b->ports[i].port ||
		    a->ports[i].target_port != b->ports[i].target_port ||
		    a->ports[i].proto != b->ports[i].proto)
			return false;
	return true;
}

/* "http:5000->5000/TCP,metrics:9100->9100/TCP". */
static void
docker_svc_ports_str(const struct docker_svc *s, char *buf, size_t len)
{
	const struct docker_svc_port *pp;
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < s->nports && off < len; i++) {
		pp = &s->ports[i];
		n = snprintf(buf + off, len - off, "%s%s%s%u->%u/%s",
		    i > 0 ? "," : "", pp->name, pp->name[0] != '\0' ? ":" : "",
		    pp->port, pp->target_port, cip_proto_name(pp->proto));
		if (n < 0)
			return;
		off += (size_t)n;
	}
}

void
docker_svc_diff(const struct docker_svc *a, const struct docker_svc *b,
    char *buf, size_t len)
{
	char pa[256], pb[256];

	if (len == 0)
		return;
	docker_svc_ports_str(a, pa, sizeof(pa));
	docker_svc_ports_str(b, pb, sizeof(pb));
	if (strcmp(pa, pb) != 0)
		snprintf(buf, len, "ports %s, not %s", pb, pa);
	else if (a->algo_explicit != b->algo_explicit ||
	    (a->algo_explicit && a->algo != b->algo))
		snprintf(buf, len, "lb-algorithm %s, not %s",
		    b->algo_explicit ? lb_algo_name(b->algo) : "(default)",
		    a->algo_explicit ? lb_algo_name(a->algo) : "(default)");
	else if (a->affinity != b->affinity)
		snprintf(buf, len, "affinity %s, not %s",
		    b->affinity == AFFINITY_CLIENTIP ? "ClientIP" : "None",
		    a->affinity == AFFINITY_CLIENTIP ? "ClientIP" : "None");
	else if (a->policy != b->policy)
		snprintf(buf, len, "ip-family-policy %s, not %s",
		    b->policy != IPFP_UNSET ? ip_family_policy_name(b->policy) :
		    "(default)", a->policy != IPFP_UNSET ?
		    ip_family_policy_name(a->policy) : "(default)");
	else
		snprintf(buf, len, "the same definition");
}

struct service *
docker_svc_build(const struct docker_svc *d)
{
	struct service *s;
	struct service_ext *x;
	struct svc_port *sp;
	const char *v = d->name;
	char err[128];
	size_t i;

	if ((s = service_new()) == NULL)
		return NULL;
	if (service_set_name(s, d->ns, d->name) != 0 ||
	    (s->selector = selector_new()) == NULL ||
	    selector_add(s->selector, DOCKER_LABEL_SERVICE, SELECTOR_OP_EQ,
	    &v, 1, err, sizeof(err)) != 0)
		goto fail;
	s->type = SVC_CLUSTERIP;
	if (d->nports > 0 &&
	    (s->ports = calloc(d->nports, sizeof(*s->ports))) == NULL)
		goto fail;
	for (i = 0; i < d->nports; i++) {
		sp = &s->ports[i];
		if (d->ports[i].name[0] != '\0' &&
		    (sp->name = strdup(d->ports[i].name)) == NULL)
			goto fail;
		sp->port = d->ports[i].port;
		sp->target_port = d->ports[i].target_port;
		sp->proto = d->ports[i].proto;
		s->nports++;
	}
	s->algo = d->algo;
	s->algo_explicit = d->algo_explicit;
	s->affinity = d->affinity;
	if (d->algo_explicit || d->policy != service_ext_none.req_policy) {
		if ((x = service_ext_mut(s)) == NULL)
			goto fail;
		x->req_policy = d->policy;
		if (d->algo_explicit && labels_set(&x->annotations,
		    DOCKER_LABEL_LB, lb_algo_name(d->algo)) != 0)
			goto fail;
	}
	return s;
fail:
	service_free(s);
	return NULL;
}
