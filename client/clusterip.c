/* SPDX-License-Identifier: MIT */
/*
 * clusterip.c -- the command-line client: one table of commands, each an
 * API request (or a DNS lookup) whose reply is printed like kubectl.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clusterip/clusterip.h"
#include "util.h"
#include "cli.h"

#define CLI_DEFAULT_SERVER	"http://127.0.0.1:9901"
#define CLI_MAX_INPUT		(64u * 1024 * 1024)

struct cli_ctx {
	struct cip_client	*client;
	const char		*server;	/* URL in use, for hints */
	const char		*ns;
};

struct cli_cmd {
	const char	*name;
	int		(*run)(struct cli_ctx *, struct cli_opts *);
	unsigned	 flags;
	const char	*usage;
	const char	*help;
	bool		 needs_server;
};

static int	cmd_get(struct cli_ctx *, struct cli_opts *);
static int	cmd_describe(struct cli_ctx *, struct cli_opts *);
static int	cmd_apply(struct cli_ctx *, struct cli_opts *);
static int	cmd_delete(struct cli_ctx *, struct cli_opts *);
static int	cmd_register(struct cli_ctx *, struct cli_opts *);
static int	cmd_resolve(struct cli_ctx *, struct cli_opts *);
static int	cmd_version(struct cli_ctx *, struct cli_opts *);
static int	cli_connect(struct cli_ctx *, const struct cli_opts *);
static int	cli_print_versions(struct cli_ctx *, bool);
static int	cli_server_version(struct cli_ctx *, json_t **, char *,
    size_t);
static int	cli_fail(const char *, ...)
    __attribute__((format(printf, 1, 2)));

#define F_CONN	(CLI_FLAG(CLI_F_SERVER) | CLI_FLAG(CLI_F_TOKEN_FILE) | \
	CLI_FLAG(CLI_F_HELP))

static const struct cli_cmd cli_cmds[] = {
	{ "get", cmd_get, F_CONN | CLI_FLAG(CLI_F_NAMESPACE) |
	    CLI_FLAG(CLI_F_ALL_NS) | CLI_FLAG(CLI_F_OUTPUT) |
	    CLI_FLAG(CLI_F_SHOW_LABELS) | CLI_FLAG(CLI_F_SELECTOR) |
	    CLI_FLAG(CLI_F_NO_HEADERS),
	    "get svc|pods|endpoints|all[,...] [NAME] [-n NS | -A] "
	    "[-o wide|json|yaml] [--show-labels] [-l SELECTOR] [--no-headers]",
	    "List services, pods or endpoints (one namespace, default "
	    "\"default\";\n-A for all), as a table or as JSON/YAML. Several "
	    "kinds, comma-separated\n(svc,pods), or all (pods, services, "
	    "endpoints) print one table each,\nnames prefixed by their kind "
	    "(service/backend). --no-headers leaves out\nthe header row.",
	    true },
	{ "describe", cmd_describe, F_CONN | CLI_FLAG(CLI_F_NAMESPACE),
	    "describe svc|pod NAME [-n NS]",
	    "Show a service like kubectl describe (ports, target ports, ready "
	    "endpoints),\nor a pod (labels, IPs, status, the source that owns "
	    "it, container ports,\nconditions).", true },
	{ "apply", cmd_apply, F_CONN | CLI_FLAG(CLI_F_FILE),
	    "apply -f FILE|-",
	    "Create or update the Services, Pods and Endpoints of a YAML or "
	    "JSON file\n(several documents allowed; all or nothing). The API "
	    "then owns them.", true },
	{ "delete", cmd_delete, F_CONN | CLI_FLAG(CLI_F_NAMESPACE),
	    "delete svc|pod NAME [-n NS]",
	    "Delete an object the API owns (objects from files or Docker are "
	    "refused).", true },
	{ "register", cmd_register, F_CONN | CLI_FLAG(CLI_F_NAMESPACE) |
	    CLI_FLAG(CLI_F_LABEL) | CLI_FLAG(CLI_F_IP) | CLI_FLAG(CLI_F_PORT) |
	    CLI_FLAG(CLI_F_TTL) | CLI_FLAG(CLI_F_KEEPALIVE),
	    "register NAME --ip ADDR [--label k=v]... [--port [name=]P[/UDP]]"
	    "... [--ttl 15s] [--keepalive] [-n NS]",
	    "Register a pod with a TTL lease. With --keepalive, stay in the "
	    "foreground,\nrenew the lease every TTL/3 and deregister on "
	    "SIGTERM or SIGINT.", true },
	{ "resolve", cmd_resolve, F_CONN | CLI_FLAG(CLI_F_SRV) |
	    CLI_FLAG(CLI_F_DNS),
	    "resolve NAME [--srv PORTNAME] [--dns ADDR[:PORT]]",
	    "Resolve a service to its virtual IP (and with --srv, its port) "
	    "through DNS.\n--dns names the DNS server; without it, the "
	    "daemon's own DNS address as its\nAPI gives it (GET /version), or "
	    "/etc/resolv.conf's servers when the API\ndoes not answer.", true },
	{ "version", cmd_version, F_CONN,
	    "version",
	    "Print the client's version and, when the daemon answers, the "
	    "server's\n(clusterip --version does the same).", true },
};

static volatile sig_atomic_t cli_stop;

static int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void
cli_usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: clusterip [flags] COMMAND [flags]\n\ncommands:\n");
	for (i = 0; i < CIP_ARRAY_LEN(cli_cmds); i++)
		fprintf(fp, "  %s\n", cli_cmds[i].usage);
	fprintf(fp, "  help\n\n"
	    "  --version           the client's version and, when the daemon "
	    "answers,\n                      the server's\n");
	fprintf(fp, "\nflags of every API command:\n"
	    "  --server URL        daemon API: http://HOST[:PORT], or its unix "
	    "socket as\n"
	    "                      unix:/PATH or unix:///PATH (default "
	    "$CLUSTERIP_SERVER,\n"
	    "                      else %s)\n"
	    "  --token-file FILE   bearer token (default $CLUSTERIP_TOKEN)\n"
	    "  -h, --help          help of a command\n", CLI_DEFAULT_SERVER);
}

static void
cli_cmd_help(const struct cli_cmd *c)
{
	printf("usage: clusterip %s\n\n%s\n", c->usage, c->help);
	if (c->needs_server)
		printf("\n  --server URL        daemon API: http://HOST[:PORT], "
		    "or its unix socket as\n"
		    "                      unix:/PATH or unix:///PATH (default "
		    "$CLUSTERIP_SERVER,\n"
		    "                      else %s)\n"
		    "  --token-file FILE   bearer token (default "
		    "$CLUSTERIP_TOKEN)\n", CLI_DEFAULT_SERVER);
}

/* Reads a whole file ("-": stdin). Calls malloc; caller frees. */
static char *
cli_read_file(const char *path, size_t *lenp)
{
	FILE *fp;
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;

	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > CLI_MAX_INPUT + 4096 + 1 ||
			    (nb = realloc(buf, cap)) == NULL) {
				errno = EFBIG;
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, 4096, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp))
		goto fail;
	if (fp != stdin)
		fclose(fp);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	if (fp != stdin)
		fclose(fp);
	free(buf);
	return NULL;
}

static char *
cli_read_token(const char *path)
{
	char *buf, *p, *end;
	size_t len;

	if ((buf = cli_read_file(path, &len)) == NULL)
		return NULL;
	p = buf + strspn(buf, " \t\r\n");
	end = p + strcspn(p, "\r\n");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	memmove(buf, p, strlen(p) + 1);
	return buf;
}

/*
 * One API call: on a 2xx reply with a JSON body, *out gets it. Anything
 * else prints one line (unless quiet) and returns the HTTP status (or -1
 * when no reply came).
 */
static int
cli_call_q(struct cli_ctx *ctx, const char *method, const char *path,
    const char *ctype, const void *body, size_t len, json_t **out,
    bool quiet)
{
	struct cip_reply r;
	json_error_t jerr;
	json_t *doc;
	char err[512], msg[1024];
	int status;

	*out = NULL;
	if (cip_client_request(ctx->client, method, path, ctype, body, len, &r,
	    err, sizeof(err)) != 0) {
		cli_conn_error(err, cip_client_errno(ctx->client), ctx->server,
		    msg, sizeof(msg));
		if (!quiet)
			cli_fail("%s", msg);
		return -1;
	}
	status = r.status;
	if (status < 200 || status > 299) {
		cli_api_error(status, r.body, r.len, msg, sizeof(msg));
		if (!quiet)
			cli_fail("%s", msg);
		cip_reply_clear(&r);
		return status;
	}
	doc = json_loadb(r.body, r.len, 0, &jerr);
	cip_reply_clear(&r);
	if (doc == NULL) {
		if (!quiet)
			cli_fail("the server sent bad JSON: %s", jerr.text);
		return -1;
	}
	*out = doc;
	return 0;
}

static int
cli_call(struct cli_ctx *ctx, const char *method, const char *path,
    const char *ctype, const void *body, size_t len, json_t **out)
{
	return cli_call_q(ctx, method, path, ctype, body, len, out, false);
}

static int
cli_print_doc(json_t *doc, const char *output)
{
	if (strcmp(output, "yaml") == 0)
		return cli_print_yaml(doc, stdout) == 0 ? 0 :
		    cli_fail("cannot write YAML");
	if (json_dumpf(doc, stdout, JSON_INDENT(4)) != 0)
		return cli_fail("cannot write JSON");
	putchar('\n');
	return 0;
}

/*
 * One kind of a get: the list (or the object NAME) of res, as *doc.
 * Returns 0, or 1 after printing why.
 */
static int
cli_get_one(struct cli_ctx *ctx, struct cli_opts *o, const char *res,
    json_t **doc)
{
	char path[1200], *sel = NULL, q[1100];
	int rc;

	q[0] = '\0';
	if (o->npos != 2 && o->selector != NULL) {
		if ((sel = cli_query_escape(o->selector)) == NULL)
			return cli_fail("out of memory");
		snprintf(q, sizeof(q), "?labelSelector=%s", sel);
		free(sel);
	}
	rc = cli_api_path(path, sizeof(path), res, o->all_ns ? NULL : ctx->ns,
	    o->npos == 2 ? o->pos[1] : NULL, q);
	if (rc != 0)
		return cli_fail("name or selector too long");
	return cli_call(ctx, "GET", path, NULL, NULL, 0, doc) != 0 ? 1 : 0;
}

static int
cmd_get(struct cli_ctx *ctx, struct cli_opts *o)
{
	const char *kinds[CLI_MAX_KINDS], *kind;
	struct cli_view view;
	json_t *doc, *items, *all = NULL, *list;
	char err[256];
	size_t nkinds, k, shown = 0;
	int rc = 0;

	if (o->npos < 1 || o->npos > 2)
		return cli_fail("usage: clusterip get svc|pods|endpoints|all"
		    "[,...] [NAME]");
	if (cli_parse_kinds(o->pos[0], kinds, &nkinds, err, sizeof(err)) != 0)
		return cli_fail("%s", err);
	if (o->npos == 2 && o->all_ns)
		return cli_fail("a NAME cannot be combined with -A");
	memset(&view, 0, sizeof(view));
	view.wide = o->output != NULL && strcmp(o->output, "wide") == 0;
	view.all_ns = o->all_ns;
	view.show_labels = o->show_labels;
	view.no_headers = o->no_headers;
	view.now = time(NULL);
	/* -o json|yaml of several kinds: one List, as kubectl prints it. */
	if (o->output != NULL && !view.wide && nkinds > 1 &&
	    (all = json_array()) == NULL)
		return cli_fail("out of memory");
	for (k = 0; k < nkinds; k++) {
		if (cli_get_one(ctx, o, kinds[k], &doc) != 0) {
			rc = 1;
			continue;
		}
		if (o->output != NULL && !view.wide && all == NULL) {
			rc |= cli_print_doc(doc, o->output);
			json_decref(doc);
			continue;
		}
		if (o->npos == 2) {
			items = json_array();
			json_array_append(items, doc);
		} else
			items = json_incref(json_object_get(doc, "items"));
		if (all != NULL) {
			json_array_extend(all, items);
		} else if (json_array_size(items) > 0) {
			view.prefix = NULL;
			kind = cli_kind_name(kinds[k]);
			if (nkinds > 1) {
				snprintf(err, sizeof(err), "%s/", kind);
				view.prefix = err;
			}
			/* A blank line between the tables of several kinds. */
			if (shown++ > 0)
				putchar('\n');
			if (strcmp(kinds[k], "services") == 0)
				cli_print_services(items, &view, stdout);
			else if (strcmp(kinds[k], "pods") == 0)
				cli_print_pods(items, &view, stdout);
			else
				cli_print_endpoints(items, &view, stdout);
		}
		json_decref(items);
		json_decref(doc);
	}
	if (all != NULL) {
		list = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind",
		    "List", "items", all);
		if (list == NULL)
			return cli_fail("out of memory");
		rc |= cli_print_doc(list, o->output);
		json_decref(list);
	} else if (rc == 0 && shown == 0 && (o->output == NULL || view.wide)) {
		if (o->all_ns)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n",
			    ctx->ns);
	}
	return rc;
}

static int
cmd_describe(struct cli_ctx *ctx, struct cli_opts *o)
{
	const char *res = cli_resource(o->pos[0]);
	json_t *obj, *ep;
	char path[1024];

	if (res == NULL || strcmp(res, "endpoints") == 0 || o->npos != 2)
		return cli_fail("usage: clusterip describe svc|pod NAME "
		    "[-n NS]");
	if (cli_api_path(path, sizeof(path), res, ctx->ns, o->pos[1],
	    NULL) != 0)
		return cli_fail("name too long");
	if (cli_call(ctx, "GET", path, NULL, NULL, 0, &obj) != 0)
		return 1;
	if (strcmp(res, "pods") == 0) {
		cli_describe_pod(obj, stdout);
		json_decref(obj);
		return 0;
	}
	if (cli_api_path(path, sizeof(path), "endpoints", ctx->ns, o->pos[1],
	    NULL) != 0 || cli_call(ctx, "GET", path, NULL, NULL, 0, &ep) != 0) {
		json_decref(obj);
		return 1;
	}
	cli_describe_service(obj, ep, stdout);
	json_decref(obj);
	json_decref(ep);
	return 0;
}

static int
cmd_apply(struct cli_ctx *ctx, struct cli_opts *o)
{
	json_t *doc;
	char *body, *name, path[1024];
	size_t len;

	if (o->file == NULL || o->npos != 0)
		return cli_fail("usage: clusterip apply -f FILE|-");
	if ((body = cli_read_file(o->file, &len)) == NULL)
		return cli_fail("cannot read %s: %s", o->file, strerror(errno));
	name = cli_query_escape(strcmp(o->file, "-") == 0 ? "stdin" :
	    o->file);
	snprintf(path, sizeof(path), "/v1/apply?filename=%s",
	    name ? name : "request");
	free(name);
	if (cli_call(ctx, "POST", path, "application/yaml", body, len,
	    &doc) != 0) {
		free(body);
		return 1;
	}
	free(body);
	cli_print_apply(doc, stdout, stderr);
	json_decref(doc);
	return 0;
}

static int
cmd_delete(struct cli_ctx *ctx, struct cli_opts *o)
{
	const char *res = cli_resource(o->pos[0]);
	json_t *doc;
	char path[1024];

	if (res == NULL || strcmp(res, "endpoints") == 0 || o->npos != 2)
		return cli_fail("usage: clusterip delete svc|pod NAME [-n NS]");
	if (cli_api_path(path, sizeof(path), res, ctx->ns, o->pos[1],
	    NULL) != 0)
		return cli_fail("name too long");
	if (cli_call(ctx, "DELETE", path, NULL, NULL, 0, &doc) != 0)
		return 1;
	printf("%s \"%s\" deleted\n", strcmp(res, "pods") == 0 ? "pod" :
	    "service", o->pos[1]);
	json_decref(doc);
	return 0;
}

/* "[name=]port[/PROTO]" into a registration port object. */
static json_t *
cli_port(const char *spec, char *err, size_t errlen)
{
	char buf[128], *name = NULL, *num, *proto;
	uint64_t port;
	json_t *p;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "--port: too long");
		return NULL;
	}
	strlcpy(buf, spec, sizeof(buf));
	num = buf;
	if ((proto = strchr(buf, '=')) != NULL) {
		*proto = '\0';
		name = buf;
		num = proto + 1;
	}
	if ((proto = strchr(num, '/')) != NULL)
		*proto++ = '\0';
	if (parse_u64(num, &port) != 0 || port < 1 || port > 65535) {
		snprintf(err, errlen, "--port: \"%s\" is not [name=]PORT[/TCP|"
		    "/UDP]", spec);
		return NULL;
	}
	p = json_pack("{s:I}", "port", (json_int_t)port);
	if (name != NULL && *name != '\0')
		json_object_set_new(p, "name", json_string(name));
	if (proto != NULL)
		json_object_set_new(p, "protocol", json_string(proto));
	return p;
}

static void
cli_stop_cb(int sig)
{
	cli_stop = sig;
}

static int
cli_keepalive(struct cli_ctx *ctx, const char *path, const char *body,
    uint64_t ttl_ms)
{
	struct sigaction sa;
	struct timespec ts;
	char hb[1100];
	uint64_t every_ms;
	json_t *doc;
	int st;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_stop_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	every_ms = ttl_ms / 3 ? ttl_ms / 3 : 1;
	snprintf(hb, sizeof(hb), "%s/heartbeat", path);
	while (!cli_stop) {
		/* A signal ends the sleep early. */
		if (nanosleep(ms_to_ts(every_ms, &ts), NULL) == -1 && cli_stop)
			break;
		if (cli_stop)
			break;
		st = cli_call(ctx, "POST", hb, "application/json", "{}", 2,
		    &doc);
		json_decref(doc);
		if (st == 404) {
			/* Expired meanwhile (or the daemon restarted). */
			st = cli_call(ctx, "PUT", path, "application/json",
			    body, strlen(body), &doc);
			json_decref(doc);
			if (st == 0)
				fprintf(stderr, "clusterip: lease renewed by "
				    "registering again\n");
		}
	}
	st = cli_call(ctx, "DELETE", path, NULL, NULL, 0, &doc);
	json_decref(doc);
	if (st == 0)
		printf("pod deregistered\n");
	return st == 0 || st == 404 ? 0 : 1;
}

static int
cmd_register(struct cli_ctx *ctx, struct cli_opts *o)
{
	json_t *doc, *labels, *ports, *p;
	char path[1024], err[256], *body, key[256];
	const char *eq;
	uint64_t ttl_ms = 15000;
	size_t i;
	int rc;

	if (o->npos != 1 || o->ip == NULL)
		return cli_fail("usage: clusterip register NAME --ip ADDR "
		    "[--label k=v] [--port name=P] [--ttl 15s] [--keepalive]");
	if (o->ttl != NULL && (parse_duration_ms(o->ttl, &ttl_ms) != 0 ||
	    ttl_ms < 1000 || ttl_ms > 86400000ull))
		return cli_fail("--ttl: \"%s\" is not a duration of 1s to 24h",
		    o->ttl);
	labels = json_object();
	for (i = 0; i < o->nlabels; i++) {
		eq = strchr(o->labels[i], '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - o->labels[i]),
		    o->labels[i]);
		json_object_set_new(labels, key, json_string(eq + 1));
	}
	ports = json_array();
	for (i = 0; i < o->nports; i++) {
		if ((p = cli_port(o->ports[i], err, sizeof(err))) == NULL) {
			json_decref(labels);
			json_decref(ports);
			return cli_fail("%s", err);
		}
		json_array_append_new(ports, p);
	}
	doc = json_pack("{s:o,s:s,s:o,s:I}", "labels", labels, "ip", o->ip,
	    "ports", ports, "ttlSeconds", (json_int_t)((ttl_ms + 999) / 1000));
	body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (body == NULL)
		return cli_fail("out of memory");
	if (cli_api_path(path, sizeof(path), "pods", ctx->ns, o->pos[0],
	    NULL) != 0) {
		free(body);
		return cli_fail("name too long");
	}
	if (cli_call(ctx, "PUT", path, "application/json", body, strlen(body),
	    &doc) != 0) {
		free(body);
		return 1;
	}
	json_decref(doc);
	printf("pod/%s registered (ttl %llus)\n", o->pos[0],
	    (unsigned long long)((ttl_ms + 999) / 1000));
	fflush(stdout);
	rc = 0;
	if (o->keepalive)
		rc = cli_keepalive(ctx, path, body, ttl_ms);
	free(body);
	return rc;
}

/*
 * GET /version, quietly: the document in *doc, or -1 with the reason in
 * err (an unreachable server with its hint).
 */
static int
cli_server_version(struct cli_ctx *ctx, json_t **doc, char *err,
    size_t errlen)
{
	struct cip_reply r;
	char why[512];
	int rc = -1;

	*doc = NULL;
	if (cip_client_request(ctx->client, "GET", "/version", NULL, NULL, 0,
	    &r, why, sizeof(why)) != 0) {
		cli_conn_error(why, cip_client_errno(ctx->client), ctx->server,
		    err, errlen);
		return -1;
	}
	if (r.status < 200 || r.status > 299)
		cli_api_error(r.status, r.body, r.len, err, errlen);
	else if ((*doc = json_loadb(r.body, r.len, 0, NULL)) == NULL ||
	    !json_is_string(json_object_get(*doc, "version"))) {
		snprintf(err, errlen, "the server sent no version");
		json_decref(*doc);
		*doc = NULL;
	} else
		rc = 0;
	cip_reply_clear(&r);
	return rc;
}

static int
cmd_resolve(struct cli_ctx *ctx, struct cli_opts *o)
{
	struct cip_endpoint ep;
	char err[256], addr[INET_ADDRSTRLEN], dns[128], why[1024];
	const char *server = o->dns, *via = "";
	json_t *doc;
	int st;

	if (o->npos != 1)
		return cli_fail("usage: clusterip resolve NAME [--srv PORTNAME] "
		    "[--dns ADDR[:PORT]]");
	/*
	 * Without --dns, the daemon's own DNS address, as its API names
	 * it; when the API does not answer, resolv.conf's servers.
	 */
	if (server == NULL) {
		cip_client_set_timeout(ctx->client, 3000);
		if (cli_server_version(ctx, &doc, why, sizeof(why)) == 0 &&
		    cli_dns_address(doc, ctx->server, dns, sizeof(dns)) == 0)
			server = dns;
		else
			via = " (through /etc/resolv.conf: the API gave no "
			    "DNS address; see --dns)";
		json_decref(doc);
	}
	st = cip_resolve_blocking(server, o->pos[0], o->srv, &ep, err,
	    sizeof(err));
	if (st != CIP_OK && o->srv != NULL)
		return cli_fail("cannot resolve port %s of %s: %s%s", o->srv,
		    o->pos[0], err, via);
	if (st != CIP_OK)
		return cli_fail("cannot resolve %s: %s%s", o->pos[0], err, via);
	inet_ntop(AF_INET, &ep.addr, addr, sizeof(addr));
	if (ep.port != 0)
		printf("%s %s:%u\n", ep.name, addr, (unsigned)ep.port);
	else
		printf("%s %s\n", ep.name, addr);
	return 0;
}

/*
 * kubectl version: the client's, then the server's when it answers.
 * Returns 0, or 1 (with the reason on stderr) when strict and the
 * server did not answer.
 */
static int
cli_print_versions(struct cli_ctx *ctx, bool strict)
{
	json_t *doc;
	char why[1024];

	printf("Client Version: %s\n", PACKAGE_VERSION);
	fflush(stdout);
	if (ctx->client == NULL)
		return 0;
	if (cli_server_version(ctx, &doc, why, sizeof(why)) != 0) {
		if (strict)
			return cli_fail("%s", why);
		return 0;
	}
	printf("Server Version: %s\n",
	    json_string_value(json_object_get(doc, "version")));
	json_decref(doc);
	return 0;
}

static int
cmd_version(struct cli_ctx *ctx, struct cli_opts *o)
{
	if (o->npos != 0)
		return cli_fail("usage: clusterip version");
	return cli_print_versions(ctx, true);
}

/*
 * The client of the API the flags, $CLUSTERIP_SERVER and
 * $CLUSTERIP_TOKEN name, in ctx. Returns 0, or 1 after printing why.
 */
static int
cli_connect(struct cli_ctx *ctx, const struct cli_opts *o)
{
	const char *server;
	char err[512], *token = NULL;

	server = o->server ? o->server : getenv("CLUSTERIP_SERVER");
	if (server == NULL || *server == '\0')
		server = CLI_DEFAULT_SERVER;
	ctx->server = server;
	if (o->token_file != NULL) {
		if ((token = cli_read_token(o->token_file)) == NULL)
			return cli_fail("cannot read token file %s: %s",
			    o->token_file, strerror(errno));
	} else if (getenv("CLUSTERIP_TOKEN") != NULL &&
	    *getenv("CLUSTERIP_TOKEN") != '\0' &&
	    (token = strdup(getenv("CLUSTERIP_TOKEN"))) == NULL)
		return cli_fail("out of memory");
	ctx->client = cip_client_new(server, token, err, sizeof(err));
	free(token);
	if (ctx->client == NULL)
		return cli_fail("%s", err);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cli_cmd *cmd = NULL;
	struct cli_opts o;
	struct cli_ctx ctx;
	char err[512], **rest;
	size_t i;
	int rc, ci, k, nrest;
	bool version = false;

	signal(SIGPIPE, SIG_IGN);
	memset(&ctx, 0, sizeof(ctx));
	memset(&o, 0, sizeof(o));
	if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL)
		return cli_fail("out of memory");
	if ((ci = cli_command_index(argc, argv)) < 0) {
		nrest = 0;
		for (k = 1; k < argc; k++) {
			if (strcmp(argv[k], "--version") == 0)
				version = true;
			else
				rest[nrest++] = argv[k];
			if (strcmp(argv[k], "-h") == 0 ||
			    strcmp(argv[k], "--help") == 0) {
				free(rest);
				cli_usage(stdout);
				return 0;
			}
		}
		/*
		 * --version: the client's, and the server's when the
		 * daemon that --server (or the environment) names answers.
		 */
		if (version) {
			rc = cli_parse(nrest, rest, F_CONN, &o, err,
			    sizeof(err));
			free(rest);
			if (rc == 0 && cli_connect(&ctx, &o) == 0)
				cip_client_set_timeout(ctx.client, 3000);
			rc = cli_print_versions(&ctx, false);
			cip_client_free(ctx.client);
			return rc;
		}
		free(rest);
		if (argc < 2)
			cli_usage(stderr);
		else
			cli_fail("no command given (see clusterip --help)");
		return 2;
	}
	if (strcmp(argv[ci], "help") == 0) {
		free(rest);
		cli_usage(stdout);
		return 0;
	}
	for (i = 0; i < CIP_ARRAY_LEN(cli_cmds); i++)
		if (strcmp(argv[ci], cli_cmds[i].name) == 0)
			cmd = &cli_cmds[i];
	if (cmd == NULL) {
		free(rest);
		cli_fail("unknown command \"%s\" (see clusterip --help)",
		    argv[ci]);
		return 2;
	}
	/* The flags before the command word, then those after it. */
	nrest = 0;
	for (k = 1; k < argc; k++)
		if (k != ci)
			rest[nrest++] = argv[k];
	rc = cli_parse(nrest, rest, cmd->flags, &o, err, sizeof(err));
	free(rest);
	if (rc != 0) {
		cli_fail("%s (see clusterip %s --help)", err, cmd->name);
		return 2;
	}
	if (o.help) {
		cli_cmd_help(cmd);
		return 0;
	}
	ctx.ns = o.ns != NULL ? o.ns : "default";
	if (cmd->needs_server && cli_connect(&ctx, &o) != 0)
		return 1;
	rc = cmd->run(&ctx, &o);
	cip_client_free(ctx.client);
	return rc;
}
