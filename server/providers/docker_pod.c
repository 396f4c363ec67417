/* SPDX-License-Identifier: MIT */
/* docker_pod.c -- Engine API JSON -> pods, id lists and event verdicts. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "selector.h"
#include "registry.h"
#include "docker_pod.h"
#include "validate.h"

static void	docker_pod_name(const char *, const char *, char *, size_t);
static int	docker_pod_labels(struct pod *, json_t *);
static int	docker_pod_ports(struct pod *, json_t *);
static json_t	*docker_pod_network(json_t *, const char *, const char **);
static void	docker_pod_bindings(struct pod *, json_t *);
static bool	docker_pod_loopback(const char *);

int
docker_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (i >= DOCKER_ID_MAX || !isxdigit((unsigned char)id[i]) ||
		    isupper((unsigned char)id[i]))
			return 0;
	return i > 0;
}

/* "/demo_backend1_1" -> "demo-backend1-1"; the id's first 12 when empty. */
static void
docker_pod_name(const char *cname, const char *id, char *buf, size_t len)
{
	size_t i, n = 0;
	int c;

	if (cname != NULL) {
		for (; *cname == '/'; cname++)
			;
		for (i = 0; cname[i] != '\0' && n + 1 < len && n < 63; i++) {
			c = tolower((unsigned char)cname[i]);
			if (!isalnum(c) && c != '.' && c != '-')
				c = '-';
			if (c > 0x7e)
				c = '-';
			buf[n++] = (char)c;
		}
	}
	while (n > 0 && (buf[n - 1] == '-' || buf[n - 1] == '.'))
		n--;
	buf[n] = '\0';
	i = strspn(buf, "-.");
	memmove(buf, buf + i, n - i + 1);
	if (buf[0] == '\0')
		snprintf(buf, len, "container-%.12s", id);
}

static int
docker_pod_labels(struct pod *p, json_t *labels)
{
	const char *k;
	json_t *v;

	if (!json_is_object(labels))
		return 0;
	json_object_foreach(labels, k, v) {
		/* Compose's paths and hashes are no label values: skip. */
		if (!json_is_string(v) || !selector_valid_key(k) ||
		    !selector_valid_value(json_string_value(v)))
			continue;
		if (labels_set(&p->labels, k, json_string_value(v)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int
docker_pod_ports(struct pod *p, json_t *exposed)
{
	const char *k;
	json_t *v;
	struct pod_port *pp;
	unsigned long port;
	char *ep;
	size_t n;

	if (!json_is_object(exposed) || (n = json_object_size(exposed)) == 0)
		return 0;
	if (n > 1024)
		n = 1024;
	if ((p->ports = calloc(n, sizeof(*p->ports))) == NULL)
		return ERR_NOMEM;
	json_object_foreach(exposed, k, v) {
		if (p->nports == n)
			break;
		port = strtoul(k, &ep, 10);
		if (ep == k || port == 0 || port > 65535)
			continue;
		pp = &p->ports[p->nports];
		pp->port = (uint16_t)port;
		if (strcmp(ep, "/udp") == 0)
			pp->proto = CIP_PROTO_UDP;
		else if (strcmp(ep, "/sctp") == 0)
			pp->proto = CIP_PROTO_SCTP;
		else if (strcmp(ep, "/tcp") == 0 || *ep == '\0')
			pp->proto = CIP_PROTO_TCP;
		else
			continue;
		p->nports++;
	}
	return 0;
}

/*
 * The host ports a port is published on: NetworkSettings.Ports is
 * {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, ...] or null}.
 * The first binding of each exposed port is its hostPort; a binding to
 * a loopback address (-p 127.0.0.1:8080:80) is skipped, as no other
 * host reaches it.
 */
static void
docker_pod_bindings(struct pod *p, json_t *bindings)
{
	const char *hp;
	json_t *list, *b;
	unsigned long v;
	char key[32], *ep;
	size_t i, j;

	if (!json_is_object(bindings))
		return;
	for (i = 0; i < p->nports; i++) {
		snprintf(key, sizeof(key), "%u/%s", p->ports[i].port,
		    p->ports[i].proto == CIP_PROTO_UDP ? "udp" :
		    p->ports[i].proto == CIP_PROTO_SCTP ? "sctp" : "tcp");
		list = json_object_get(bindings, key);
		json_array_foreach(list, j, b) {
			hp = json_string_value(json_object_get(b, "HostPort"));
			if (hp == NULL || docker_pod_loopback(json_string_value(
			    json_object_get(b, "HostIp"))))
				continue;
			v = strtoul(hp, &ep, 10);
			if (ep == hp || *ep != '\0' || v == 0 || v > 65535)
				continue;
			p->ports[i].host_port = (uint16_t)v;
			break;
		}
	}
}

/* True when ip is a loopback address (127.0.0.0/8, ::1). */
static bool
docker_pod_loopback(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* The network entry giving the pod its address, and its name. */
/* True when the network entry net has a non-empty string at key. */
static bool
docker_pod_has_addr(json_t *net, const char *key)
{
	const char *a = json_string_value(json_object_get(net, key));

	return a != NULL && *a != '\0';
}

static json_t *
docker_pod_network(json_t *networks, const char *want, const char **name)
{
	const char *k, *best = NULL;
	json_t *v, *found = NULL;
	size_t klen, wlen;

	if (!json_is_object(networks))
		return NULL;
	json_object_foreach(networks, k, v) {
		if (!json_is_object(v))
			continue;
		if (want != NULL) {
			klen = strlen(k);
			wlen = strlen(want);
			if (strcmp(k, want) == 0 || (klen > wlen + 1 &&
			    k[klen - wlen - 1] == '_' &&
			    strcmp(k + klen - wlen, want) == 0)) {
				*name = k;
				return v;
			}
			continue;
		}
		if (!docker_pod_has_addr(v, "IPAddress") &&
		    !docker_pod_has_addr(v, "GlobalIPv6Address"))
			continue;
		if (best == NULL || strcmp(k, best) < 0) {
			best = k;
			found = v;
		}
	}
	*name = best;
	return found;
}

char *
docker_pod_addrs(const struct pod *p, char *buf, size_t len)
{
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";

	if (p->ip.s_addr != 0)
		inet_ntop(AF_INET, &p->ip, a4, sizeof(a4));
	if (!in6_is_unset(&p->ip6))
		inet_ntop(AF_INET6, &p->ip6, a6, sizeof(a6));
	snprintf(buf, len, "%s%s%s", a4, a4[0] && a6[0] ? " " : "", a6);
	return buf;
}

int
docker_pod_from_inspect(const char *json, size_t len, const char *network,
    struct pod **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *state, *config, *health, *net;
	const char *id, *cname, *ns, *ip, *ip6, *netname = NULL, *hs, *ignore;
	const char *bad = NULL;
	char podname[64];
	struct pod *p = NULL;
	int rc = ERR_INVAL;

	*out = NULL;
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		errf(err, errlen, "bad JSON at line %d: %s", jerr.line,
		    jerr.text);
		return ERR_INVAL;
	}
	if (!json_is_object(root) ||
	    !json_is_string(json_object_get(root, "Id")) ||
	    !docker_id_valid(id = json_string_value(json_object_get(root,
	    "Id")))) {
		errf(err, errlen, "no container id");
		goto done;
	}
	cname = json_string_value(json_object_get(root, "Name"));
	state = json_object_get(root, "State");
	config = json_object_get(root, "Config");
	if (!json_is_object(state) || !json_is_object(config)) {
		errf(err, errlen, "container %.12s: no State or Config", id);
		goto done;
	}
	rc = 0;
	ignore = json_string_value(json_object_get(json_object_get(config,
	    "Labels"), DOCKER_LABEL_IGNORE));
	if (ignore != NULL && strcmp(ignore, "true") == 0) {
		errf(err, errlen, "container %.12s is labelled "
		    DOCKER_LABEL_IGNORE "=true", id);
		goto done;
	}
	if (!json_is_true(json_object_get(state, "Running")) ||
	    json_is_true(json_object_get(state, "Restarting"))) {
		errf(err, errlen, "container %.12s is not running", id);
		goto done;
	}
	net = docker_pod_network(json_object_get(json_object_get(root,
	    "NetworkSettings"), "Networks"), network, &netname);
	/*
	 * Either address may be absent: a network without enable_ipv6 has
	 * no GlobalIPv6Address, an IPv6-only one an empty IPAddress. The
	 * IPv4 address, when there is one, is podIP (listed first).
	 */
	ip = net != NULL ? json_string_value(json_object_get(net,
	    "IPAddress")) : NULL;
	ip6 = net != NULL ? json_string_value(json_object_get(net,
	    "GlobalIPv6Address")) : NULL;
	if (ip != NULL && *ip == '\0')
		ip = NULL;
	if (ip6 != NULL && *ip6 == '\0')
		ip6 = NULL;
	if (ip == NULL && ip6 == NULL) {
		errf(err, errlen, "container %.12s has no address on %s", id,
		    network != NULL ? network : "any network");
		goto done;
	}
	rc = ERR_NOMEM;
	if ((p = pod_new()) == NULL)
		goto done;
	if (ip != NULL && inet_pton(AF_INET, ip, &p->ip) != 1)
		bad = ip;
	else if (ip6 != NULL && (inet_pton(AF_INET6, ip6, &p->ip6) != 1 ||
	    in6_is_unset(&p->ip6)))
		bad = ip6;
	if (bad != NULL) {
		errf(err, errlen, "container %.12s: bad address \"%s\" on %s",
		    id, bad, netname);
		rc = 0;
		goto done;
	}
	p->ip6_primary = ip == NULL;
	ns = json_string_value(json_object_get(json_object_get(config,
	    "Labels"), DOCKER_LABEL_NAMESPACE));
	if (ns == NULL || !validate_dns_label(ns, strlen(ns)))
		ns = "default";
	docker_pod_name(cname, id, podname, sizeof(podname));
	if (pod_set_name(p, ns, podname) != 0 ||
	    docker_pod_labels(p, json_object_get(config, "Labels")) != 0 ||
	    docker_pod_ports(p, json_object_get(config, "ExposedPorts")) != 0)
		goto done;
	docker_pod_bindings(p, json_object_get(json_object_get(root,
	    "NetworkSettings"), "Ports"));
	/* No probe of ours: Docker's health check, when any, decides. */
	p->probe.kind = PROBE_NONE;
	p->probe_ok = true;
	p->declared_ready = !json_is_true(json_object_get(state, "Paused"));
	health = json_object_get(state, "Health");
	if (json_is_object(health) &&
	    (hs = json_string_value(json_object_get(health, "Status"))) !=
	    NULL && strcmp(hs, "none") != 0)
		p->declared_ready = p->declared_ready &&
		    strcmp(hs, "healthy") == 0;
	*out = p;
	p = NULL;
	rc = 0;
done:
	if (rc == ERR_NOMEM)
		errf(err, errlen, "out of memory");
	pod_free(p);
	json_decref(root);
	return rc;
}

int
docker_list_ids(const char *json, size_t len, char ***ids, size_t *nids)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *id;
	size_t i, n = 0;
	char **out = NULL;

	*ids = NULL;
	*nids = 0;
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL)
		return ERR_INVAL;
	if (!json_is_array(root)) {
		json_decref(root);
		return ERR_INVAL;
	}
	if ((out = calloc(json_array_size(root) + 1, sizeof(*out))) == NULL) {
		json_decref(root);
		return ERR_NOMEM;
	}
	json_array_foreach(root, i, v) {
		id = json_string_value(json_object_get(v, "Id"));
		if (id == NULL || !docker_id_valid(id))
			continue;
		if ((out[n] = strdup(id)) == NULL) {
			docker_list_free(out, n);
			json_decref(root);
			return ERR_NOMEM;
		}
		n++;
	}
	json_decref(root);
	*ids = out;
	*nids = n;
	return 0;
}

void
docker_list_free(char **ids, size_t nids)
{
	size_t i;

	for (i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
}

enum docker_event_kind
docker_event_parse(const char *json, size_t len, char *id)
{
	static const char *const changed[] = {
		"start", "die", "stop", "kill", "pause", "unpause", "restart",
		"rename", "update", "oom",
	};
	enum docker_event_kind kind = DOCKER_EVENT_IGNORE;
	json_error_t jerr;
	json_t *root, *actor;
	const char *type, *action, *cid = NULL;
	size_t i;

	id[0] = '\0';
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL)
		return DOCKER_EVENT_IGNORE;
	type = json_string_value(json_object_get(root, "Type"));
	action = json_string_value(json_object_get(root, "Action"));
	actor = json_object_get(root, "Actor");
	if (type == NULL || action == NULL || !json_is_object(actor))
		goto done;
	if (strcmp(type, "container") == 0) {
		cid = json_string_value(json_object_get(actor, "ID"));
		if (strcmp(action, "destroy") == 0)
			kind = DOCKER_EVENT_GONE;
		else if (strncmp(action, "health_status", 13) == 0)
			kind = DOCKER_EVENT_CHANGED;
		for (i = 0; i < CIP_ARRAY_LEN(changed); i++)
			if (strcmp(action, changed[i]) == 0)
				kind = DOCKER_EVENT_CHANGED;
	} else if (strcmp(type, "network") == 0 &&
	    (strcmp(action, "connect") == 0 ||
	    strcmp(action, "disconnect") == 0)) {
		cid = json_string_value(json_object_get(json_object_get(actor,
		    "Attributes"), "container"));
		kind = DOCKER_EVENT_CHANGED;
	}
	if (cid == NULL || !docker_id_valid(cid))
		kind = DOCKER_EVENT_IGNORE;
	else
		strlcpy(id, cid, DOCKER_ID_MAX + 1);
done:
	json_decref(root);
	return kind;
}
