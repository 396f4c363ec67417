/* SPDX-License-Identifier: MIT */
/*
 * conf.c -- clusteripd.yaml -> struct cip_conf. The option table drives
 * parsing, defaults, flags and printing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "conf.h"
#include "dns_acl.h"
#include "log.h"
#include "proxymode.h"
#include "registry.h"
#include "util.h"
#include "yamlnode.h"

#define CONF_MAX_FILE	(1024 * 1024)

enum conf_type {
	CONF_STR,	/* char *; "" or absent = NULL where nullable */
	CONF_LIST,	/* struct strlist */
	CONF_UINT,	/* uint64_t with min/max */
	CONF_MS,	/* uint64_t milliseconds; "500ms", "2s", or a number of ms */
	CONF_BOOL,
};

struct conf_option {
	struct conf_option_info	 info;
	enum conf_type		 type;
	size_t			 off;
	const char		*def;	/* default as text; NULL = unset */
	uint64_t		 min, max;
	/* default computed at run time; an empty value also means it */
	const char		*(*def_fn)(void);
};

#define O(f)	offsetof(struct cip_conf, f)
#define STR(n, f, d, h)		{ { n, h, NULL, false, false }, CONF_STR, O(f), d, 0, 0, NULL }
#define STRFN(n, f, fn, h)	{ { n, h, NULL, false, false }, CONF_STR, O(f), NULL, 0, 0, fn }
#define LIST(n, f, d, h)	{ { n, h, NULL, true, false }, CONF_LIST, O(f), d, 0, 0, NULL }
#define UINT(n, f, d, lo, hi, h) { { n, h, NULL, false, false }, CONF_UINT, O(f), d, lo, hi, NULL }
#define MS(n, f, d, lo, hi, h)	{ { n, h, NULL, false, false }, CONF_MS, O(f), d, lo, hi, NULL }
#define BOOL(n, f, d, h)	{ { n, h, "true", false, true }, CONF_BOOL, O(f), d, 0, 1, NULL }

static const struct conf_option options[] = {
	STR("log-level", log_level, "info", "error, warn, info or debug"),
	STRFN("state-dir", state_dir, conf_default_state_dir,
	    "where VIP allocations and API objects persist"),
	STR("manifests", manifests, NULL,
	    "manifest file or directory, watched for changes"),
	STR("user", user, NULL,
	    "after binding, run as this user with only the capabilities "
	    "the mode needs (started as root)"),
	LIST("dns-listen", dns_listen, "127.0.0.1:5300",
	    "DNS address:port, UDP and TCP"),
	STR("cluster-domain", cluster_domain, "cluster.local",
	    "the cluster DNS domain"),
	STR("dns-short-names", dns_short_names, "all",
	    "short names answered: all (S, S.N, S.N.svc), single-label "
	    "(S, S.N.svc) or off"),
	UINT("dns-ttl", dns_ttl_s, "5", 0, 86400, "TTL of answers, seconds"),
	UINT("dns-negative-ttl", dns_negative_ttl_s, "5", 0, 86400,
	    "TTL of NXDOMAIN/NODATA (SOA minimum), seconds"),
	UINT("edns-payload", edns_payload, "1232", 512, 4096,
	    "EDNS0 UDP payload size we announce"),
	UINT("dns-tcp-max-clients", dns_tcp_max_clients, "256", 1, 65536,
	    "concurrent DNS TCP connections"),
	MS("dns-tcp-idle-timeout", dns_tcp_idle_timeout_ms, "10s", 100,
	    3600000, "idle DNS TCP connections are closed after this"),
	LIST("upstream", upstream, NULL,
	    "upstream resolver ADDR[:PORT] (default: "
	    "/etc/resolv.conf)"),
	MS("upstream-timeout", upstream_timeout_ms, "2s", 10, 60000,
	    "give up on the upstreams after this (SERVFAIL)"),
	UINT("upstream-max-inflight", upstream_max_inflight, "1000", 1,
	    1000000, "forwarded queries in flight at once"),
	UINT("dns-cache-size", dns_cache_size, "10000", 0, 10000000,
	    "forwarded answers cached (0 disables)"),
	/*
	 * Who may use the forwarder: loopback, the private and CGNAT
	 * ranges, link-local (never routed, so never the open Internet)
	 * and the VIP range. Entries are separated by spaces here.
	 */
	LIST("dns-allow", dns_allow, "127.0.0.0/8 ::1/128 10.0.0.0/8 "
	    "172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 169.254.0.0/16 "
	    "fc00::/7 fe80::/10 " DNS_ACL_VIP_RANGE,
	    "client CIDR for which other names are forwarded (\"vip-range\": "
	    "the VIP range); others get REFUSED"),
	LIST("vip-range", vip_range, "127.96.0.0/16",
	    "CIDR the VIPs come from, one per family (IPv4 /8-/30, IPv6 "
	    "/96-/126); the first is the primary family"),
	STR("vip-interface", vip_interface, NULL,
	    "add VIPs to this interface (interface mode); unset: loopback"),
	STR("lb-algorithm", lb_algorithm, "random",
	    "random, round-robin or least-connections"),
	STR("proxy-mode", proxy_mode, "userspace", "userspace (the forwarder) or nftables (the kernel path)"),
	BOOL("kernel-conntrack-events", kernel_ct_events, "false",
	    "kernel path: read conntrack's destroy events for connect "
	    "failures and closed connections' last bytes (costs CPU per "
	    "connection)"),
	MS("proxy-connect-timeout", proxy_connect_timeout_ms, "1s", 10,
	    600000, "connect to an endpoint, per try"),
	UINT("proxy-connect-retries", proxy_connect_retries, "3", 0, 16,
	    "other endpoints tried after a failed connect"),
	MS("proxy-idle-timeout", proxy_idle_timeout_ms, "0", 0, 86400000,
	    "close idle forwarded connections (0: never)"),
	MS("proxy-drain-timeout", proxy_drain_timeout_ms, "0", 0, 86400000,
	    "close connections of removed endpoints after this (0: never)"),
	UINT("proxy-max-sessions", proxy_max_sessions, "100000", 1, 10000000,
	    "forwarded connections at once"),
	MS("udp-idle-timeout", udp_idle_timeout_ms, "30s", 100, 86400000,
	    "UDP flows expire after this"),
	STR("api-listen", api_listen, "127.0.0.1:9901",
	    "control API address:port (\"none\": off)"),
	STR("api-socket", api_socket, NULL, "control API unix socket"),
	STR("api-token-file", api_token_file, NULL,
	    "file holding the bearer token the API requires"),
	BOOL("api-insecure", api_insecure, "false",
	    "allow a non-loopback API address without a token"),
	UINT("api-max-body", api_max_body, "1048576", 1024, 1073741824,
	    "largest API request body, bytes"),
	MS("api-timeout", api_timeout_ms, "30s", 100, 3600000,
	    "API requests slower than this are dropped"),
	STR("docker", docker, NULL,
	    "follow Docker containers through this socket"),
	STR("docker-network", docker_network, NULL,
	    "use container addresses on this network (default: any)"),
	STR("etcd", etcd, NULL, "etcd member URLs, comma-separated: share "
	    "the registry with the other hosts"),
	STR("etcd-prefix", etcd_prefix, "/clusterip/", "etcd key prefix"),
	STR("etcd-cacert", etcd_cacert, NULL,
	    "PEM file of the CA that signed the etcd members' certificates"),
	STR("etcd-cert", etcd_cert, NULL,
	    "PEM client certificate for etcd"),
	STR("etcd-key", etcd_key, NULL, "PEM key of etcd-cert"),
	STR("etcd-user", etcd_user, NULL, "etcd user (etcd's token auth)"),
	STR("etcd-password-file", etcd_password_file, NULL,
	    "file holding the password of etcd-user"),
	MS("etcd-lease-ttl", etcd_lease_ttl_ms, "15s", 2000, 3600000,
	    "this host's objects vanish from etcd this long after it dies"),
	STR("advertise-address", advertise_address, NULL,
	    "this host's name in etcd and the address other hosts reach it "
	    "at (default: the host name)"),
};

/*
 * Root gets LOCALSTATEDIR/lib/clusterip; anybody else, who could not
 * create that, the XDG state directory. Who started the process decides,
 * so that a reload after --user dropped root keeps the same default.
 */
const char *
conf_default_state_dir(void)
{
	static char path[PATH_MAX];
	static int started_as_root = -1;
	const char *base, *sub = "/.local/state";
	struct passwd *pw;

	if (started_as_root == -1)
		started_as_root = geteuid() == 0;
	if (started_as_root)
		return LOCALSTATEDIR "/lib/clusterip";
	if ((base = getenv("XDG_STATE_HOME")) != NULL && base[0] == '/')
		sub = "";
	else if ((base = getenv("HOME")) == NULL || base[0] != '/') {
		if ((pw = getpwuid(geteuid())) == NULL ||
		    pw->pw_dir == NULL || pw->pw_dir[0] != '/')
			return LOCALSTATEDIR "/lib/clusterip";
		base = pw->pw_dir;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s%s/clusterip", base,
	    sub) >= sizeof(path))
		return LOCALSTATEDIR "/lib/clusterip";
	return path;
}

/* etcd: URLs of http or https members; a prefix that is a key path. */
static int
conf_check_etcd(const struct cip_conf *c, char *err, size_t errlen)
{
	const char *p = c->etcd, *end;
	size_t n;

	for (;;) {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (!((n > 7 && strncmp(p, "http://", 7) == 0) ||
		    (n > 8 && strncmp(p, "https://", 8) == 0))) {
			errf(err, errlen, "etcd: \"%.*s\" is not an http:// "
			    "or https:// URL", (int)n, p);
			return -1;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (c->etcd_prefix == NULL || c->etcd_prefix[0] != '/' ||
	    c->etcd_prefix[strlen(c->etcd_prefix) - 1] != '/') {
		errf(err, errlen, "etcd-prefix: must start and end with /");
		return -1;
	}
	if ((c->etcd_cert == NULL) != (c->etcd_key == NULL)) {
		errf(err, errlen, "etcd-cert and etcd-key go together");
		return -1;
	}
	if (c->etcd_password_file != NULL && c->etcd_user == NULL) {
		errf(err, errlen, "etcd-password-file needs etcd-user");
		return -1;
	}
	return 0;
}

static const struct conf_option *
conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < CIP_ARRAY_LEN(options); i++)
		if (strcmp(options[i].info.name, name) == 0)
			return &options[i];
	return NULL;
}

size_t
conf_option_count(void)
{
	return CIP_ARRAY_LEN(options);
}

const struct conf_option_info *
conf_option(size_t i)
{
	static struct conf_option_info docker;

	if (i >= CIP_ARRAY_LEN(options))
		return NULL;
	if (strcmp(options[i].info.name, "docker") == 0) {
		docker = options[i].info;
		docker.flag_default = "/var/run/docker.sock";
		return &docker;
	}
	return &options[i].info;
}

bool
strlist_equal(const struct strlist *a, const struct strlist *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

const char *
conf_vip_range(const struct cip_conf *c, int af)
{
	size_t i;

	for (i = 0; i < c->vip_range.n; i++)
		if ((strchr(c->vip_range.v[i], ':') != NULL) ==
		    (af == AF_INET6))
			return c->vip_range.v[i];
	return NULL;
}

static void
strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
strlist_add(struct strlist *l, const char *s)
{
	char **nv;

	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	l->v = nv;
	if ((l->v[l->n] = strdup(s)) == NULL)
		return -1;
	l->n++;
	return 0;
}

/* Sets one value of o from text; for lists, appends. */
static int
conf_set_value(struct cip_conf *c, const struct conf_option *o,
    const char *text, char *err, size_t errlen)
{
	void *field = (char *)c + o->off;
	uint64_t v;

	switch (o->type) {
	case CONF_STR: {
		char **sp = field, *dup = NULL;
		if ((text == NULL || *text == '\0') && o->def_fn != NULL)
			text = o->def_fn();
		if (text != NULL && *text != '\0' &&
		    (dup = strdup(text)) == NULL)
			goto nomem;
		free(*sp);
		*sp = dup;
		return 0;
	}
	case CONF_LIST:
		if (text == NULL || *text == '\0')
			return 0;
		if (strlist_add(field, text) != 0)
			goto nomem;
		return 0;
	case CONF_UINT:
		if (parse_u64(text, &v) != 0) {
			errf(err, errlen, "%s: \"%s\" is not a whole number",
			    o->info.name, text);
			return -1;
		}
		break;
	case CONF_MS:
		if (parse_u64(text, &v) != 0 &&
		    parse_duration_ms(text, &v) != 0) {
			errf(err, errlen, "%s: \"%s\" is not a duration "
			    "(500ms, 2s, 1m)", o->info.name, text);
			return -1;
		}
		break;
	case CONF_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0)
			*(bool *)field = true;
		else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0)
			*(bool *)field = false;
		else {
			errf(err, errlen, "%s: \"%s\" is not true or false",
			    o->info.name, text);
			return -1;
		}
		return 0;
	}
	if (v < o->min || v > o->max) {
		errf(err, errlen, "%s: %llu is out of range %llu..%llu",
		    o->info.name, (unsigned long long)v,
		    (unsigned long long)o->min, (unsigned long long)o->max);
		return -1;
	}
	*(uint64_t *)field = v;
	return 0;
nomem:
	errf(err, errlen, "out of memory");
	return -1;
}

/* A list's default: its entries separated by spaces. */
static int
conf_set_list_default(struct cip_conf *c, const struct conf_option *o)
{
	const char *p = o->def, *end;
	char one[256];
	size_t len;

	while (*p != '\0') {
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		if ((len = (size_t)(end - p)) >= sizeof(one))
			return -1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (len > 0 && conf_set_value(c, o, one, NULL, 0) != 0)
			return -1;
		p = *end != '\0' ? end + 1 : end;
	}
	return 0;
}

struct cip_conf *
conf_new_defaults(void)
{
	struct cip_conf *c;
	size_t i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	for (i = 0; i < CIP_ARRAY_LEN(options); i++) {
		if (options[i].def == NULL && options[i].def_fn == NULL)
			continue;
		if (options[i].type == CONF_LIST) {
			if (conf_set_list_default(c, &options[i]) != 0) {
				conf_free(c);
				return NULL;
			}
			continue;
		}
		if (conf_set_value(c, &options[i], options[i].def_fn ?
		    options[i].def_fn() : options[i].def, NULL, 0) != 0) {
			conf_free(c);
			return NULL;
		}
	}
	return c;
}

void
conf_free(struct cip_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CIP_ARRAY_LEN(options); i++) {
		void *field = (char *)c + options[i].off;
		if (options[i].type == CONF_STR)
			free(*(char **)field);
		else if (options[i].type == CONF_LIST)
			strlist_clear(field);
	}
	free(c);
}

int
conf_set(struct cip_conf *c, const char *name, const char *text,
    bool first_of_list, char *err, size_t errlen)
{
	const struct conf_option *o = conf_find(name);

	if (o == NULL) {
		errf(err, errlen, "unknown option \"%s\"", name);
		return -1;
	}
	if (o->type == CONF_LIST && first_of_list)
		strlist_clear((struct strlist *)(void *)((char *)c + o->off));
	return conf_set_value(c, o, text, err, errlen);
}

/* Scalar text of a node for an option, with the type checked. */
static int
conf_node_text(struct ynode_ctx *y, yaml_node_t *n,
    const struct conf_option *o, const char **text)
{
	bool b;
	uint64_t v;

	if (ynode_is_null(n)) {
		*text = "";
		return 0;
	}
	switch (o->type) {
	case CONF_UINT:
		return ynode_want_uint(y, n, o->info.name, o->min, o->max, &v) ?
		    -1 : ynode_want_str(y, n, o->info.name, text);
	case CONF_BOOL:
		if (ynode_want_bool(y, n, o->info.name, &b) != 0)
			return -1;
		*text = b ? "true" : "false";
		return 0;
	default:
		return ynode_want_str(y, n, o->info.name, text);
	}
}

static int
conf_apply_doc(struct cip_conf *c, struct ynode_ctx *y, yaml_node_t *root)
{
	yaml_node_pair_t *pair;
	char why[256];

	if (ynode_is_null(root))
		return 0;
	if (ynode_want_map(y, root, "configuration") != 0)
		return -1;
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, pair->value);
		const struct conf_option *o;
		const char *key, *text;

		if (ynode_want_str(y, k, "option name", &key) != 0)
			return -1;
		if ((o = conf_find(key)) == NULL)
			return ynode_fail(y, k, "unknown option \"%s\"", key);
		if (o->type == CONF_LIST) {
			yaml_node_item_t *it;
			strlist_clear((struct strlist *)(void *)((char *)c +
			    o->off));
			if (ynode_is_null(v))
				continue;
			if (v->type == YAML_SCALAR_NODE) {
				if (conf_set_value(c, o, ynode_str(v), why,
				    sizeof(why)) != 0)
					return ynode_fail(y, v, "%s", why);
				continue;
			}
			if (ynode_want_seq(y, v, key) != 0)
				return -1;
			for (it = v->data.sequence.items.start;
			    it < v->data.sequence.items.top; it++) {
				yaml_node_t *e = yaml_document_get_node(y->doc,
				    *it);
				if (ynode_want_str(y, e, key, &text) != 0)
					return -1;
				if (conf_set_value(c, o, text, why,
				    sizeof(why)) != 0)
					return ynode_fail(y, e, "%s", why);
			}
			continue;
		}
		if (conf_node_text(y, v, o, &text) != 0)
			return -1;
		if (conf_set_value(c, o, text, why, sizeof(why)) != 0)
			return ynode_fail(y, v, "%s", why);
	}
	return 0;
}

struct conf_load {
	struct cip_conf	*conf;
	int		 ndocs;
};

static int
conf_doc_cb(struct ynode_ctx *y, yaml_node_t *root, void *arg)
{
	struct conf_load *l = arg;

	if (++l->ndocs > 1)
		return ynode_fail(y, root, "one document expected");
	return conf_apply_doc(l->conf, y, root);
}

int
conf_parse_buf(struct cip_conf *c, const char *buf, size_t len,
    const char *name, char *err, size_t errlen)
{
	struct conf_load l = { c, 0 };

	if (ynode_load_each(buf, len, name, conf_doc_cb, &l, err, errlen) != 0)
		return -1;
	if (conf_validate(c, err, errlen) != 0) {
		char why[512];
		strlcpy(why, err ? err : "", sizeof(why));
		errf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	return 0;
}

int
conf_parse_file(struct cip_conf *c, const char *path, char *err,
    size_t errlen)
{
	size_t len;
	char *buf;
	int rc;

	if ((buf = read_file(path, CONF_MAX_FILE, &len, err, errlen)) == NULL)
		return -1;
	rc = conf_parse_buf(c, buf, len, path, err, errlen);
	free(buf);
	return rc;
}

int
conf_validate(const struct cip_conf *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct in_addr net;
	unsigned prefix;
	size_t i;

	if (log_parse_level(c->log_level ? c->log_level : "") < 0) {
		errf(err, errlen, "log-level: \"%s\" is not error, warn, info "
		    "or debug", c->log_level ? c->log_level : "");
		return -1;
	}
	for (i = 0; i < c->dns_listen.n; i++)
		if (parse_hostport(c->dns_listen.v[i], 53, &ss, &sl) != 0) {
			errf(err, errlen, "dns-listen: \"%s\" is not "
			    "ADDR[:PORT]", c->dns_listen.v[i]);
			return -1;
		}
	for (i = 0; i < c->upstream.n; i++)
		if (parse_hostport(c->upstream.v[i], 53, &ss, &sl) != 0) {
			errf(err, errlen, "upstream: \"%s\" is not ADDR[:PORT]",
			    c->upstream.v[i]);
			return -1;
		}
	if (c->api_listen && strcmp(c->api_listen, "none") != 0 &&
	    parse_hostport(c->api_listen, 9901, &ss, &sl) != 0) {
		errf(err, errlen, "api-listen: \"%s\" is not ADDR:PORT or none",
		    c->api_listen);
		return -1;
	}
	if (c->vip_range.n == 0 || c->vip_range.n > 2) {
		errf(err, errlen, "vip-range: one or two ranges (one per "
		    "family), not %zu", c->vip_range.n);
		return -1;
	}
	for (i = 0; i < c->vip_range.n; i++) {
		const char *r = c->vip_range.v[i];
		struct in6_addr net6;

		if (parse_cidr4(r, &net, &prefix) == 0) {
			if (prefix >= 8 && prefix <= 30)
				continue;
		} else if (parse_cidr6(r, &net6, &prefix) == 0) {
			if (prefix >= 96 && prefix <= 126)
				continue;
		}
		errf(err, errlen, "vip-range: \"%s\" is not an IPv4 CIDR "
		    "from /8 to /30 or an IPv6 one from /96 to /126", r);
		return -1;
	}
	if (c->vip_range.n == 2 && (strchr(c->vip_range.v[0], ':') != NULL) ==
	    (strchr(c->vip_range.v[1], ':') != NULL)) {
		errf(err, errlen, "vip-range: %s and %s are of one family "
		    "(one range per family)", c->vip_range.v[0],
		    c->vip_range.v[1]);
		return -1;
	}
	if (c->lb_algorithm == NULL || lb_algo_parse(c->lb_algorithm) < 0) {
		errf(err, errlen, "lb-algorithm: \"%s\" is not random, "
		    "round-robin or least-connections",
		    c->lb_algorithm ? c->lb_algorithm : "");
		return -1;
	}
	if (proxy_mode_parse(c->proxy_mode) < 0) {
		errf(err, errlen, "proxy-mode: \"%s\" is not userspace or "
		    "nftables", c->proxy_mode ? c->proxy_mode : "");
		return -1;
	}
	if (c->dns_short_names == NULL ||
	    (strcmp(c->dns_short_names, "all") != 0 &&
	    strcmp(c->dns_short_names, "single-label") != 0 &&
	    strcmp(c->dns_short_names, "off") != 0)) {
		errf(err, errlen, "dns-short-names: \"%s\" is not all, "
		    "single-label or off",
		    c->dns_short_names ? c->dns_short_names : "");
		return -1;
	}
	for (i = 0; i < c->dns_allow.n; i++) {
		struct dns_acl_entry e;
		char why[256];

		if (strcmp(c->dns_allow.v[i], DNS_ACL_VIP_RANGE) != 0 &&
		    dns_acl_parse(c->dns_allow.v[i], &e, why,
		    sizeof(why)) != 0) {
			errf(err, errlen, "dns-allow: %s", why);
			return -1;
		}
	}
	if (c->cluster_domain == NULL || c->cluster_domain[0] == '\0' ||
	    c->cluster_domain[0] == '.' || strlen(c->cluster_domain) > 200) {
		errf(err, errlen, "cluster-domain: must be a domain name");
		return -1;
	}
	if (c->etcd != NULL && conf_check_etcd(c, err, errlen) != 0)
		return -1;
	if (c->state_dir == NULL) {
		errf(err, errlen, "state-dir: must be set");
		return -1;
	}
	return 0;
}

/* Prints a string so that YAML reads it back unchanged. */
static void
conf_print_str(FILE *fp, const char *s)
{
	const char *p;

	fputc('"', fp);
	for (p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fputc('"', fp);
}

void
conf_print(const struct cip_conf *c, FILE *fp)
{
	size_t i, j;

	for (i = 0; i < CIP_ARRAY_LEN(options); i++) {
		const struct conf_option *o = &options[i];
		const void *field = (const char *)c + o->off;

		fprintf(fp, "# %s\n%s:", o->info.help, o->info.name);
		switch (o->type) {
		case CONF_STR:
			if (*(char *const *)field == NULL)
				fputs(" ~", fp);
			else {
				fputc(' ', fp);
				conf_print_str(fp, *(char *const *)field);
			}
			break;
		case CONF_LIST: {
			const struct strlist *l = field;
			if (l->n == 0)
				fputs(" []", fp);
			for (j = 0; j < l->n; j++) {
				fputs("\n  - ", fp);
				conf_print_str(fp, l->v[j]);
			}
			break;
		}
		case CONF_UINT:
			fprintf(fp, " %llu",
			    (unsigned long long)*(const uint64_t *)field);
			break;
		case CONF_MS:
			fprintf(fp, " %llums",
			    (unsigned long long)*(const uint64_t *)field);
			break;
		case CONF_BOOL:
			fputs(*(const bool *)field ? " true" : " false", fp);
			break;
		}
		fputc('\n', fp);
	}
}
