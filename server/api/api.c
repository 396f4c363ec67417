/* SPDX-License-Identifier: MIT */
/*
 * api.c -- the HTTP/JSON control API: listeners, limits, authentication,
 * dispatch to one handler per route, health, readiness and metrics.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "util.h"
#include "listen_guard.h"
#include "log.h"
#include "conf.h"
#include "hmap.h"
#include "metrics.h"
#include "registry.h"
#include "runtime.h"
#include "api.h"
#include "statewr.h"
#include "api_internal.h"

#define API_DEFAULT_PORT	9901
#define API_TOKEN_MAX		4096

static struct api *api_server;

static int	api_read_token(const char *, char **, char *, size_t);
static int	api_addr_loopback(const struct sockaddr_storage *);
static int	api_bind_tcp(struct api *, const char *);
static int	api_bind_unix(struct api *, const char *);
static void	api_request_cb(struct evhttp_request *, void *);
static void	api_count(int);
static void	api_metrics(struct api *, struct evhttp_request *);
static void	api_version(struct api *, struct evhttp_request *);

void
api_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *buf;
	const char *reason;
	char *text = NULL;

	api_count(code);
	buf = evbuffer_new();
	if (body != NULL)
		text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(body);
	if (buf == NULL || text == NULL) {
		/* Not evhttp_send_error(): its page is HTML. */
		static const char oom[] = "{\"error\": \"out of memory\"}\n";

		free(text);
		if (buf != NULL)
			evbuffer_add(buf, oom, sizeof(oom) - 1);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "application/json");
		evhttp_send_reply(req, 500, "Internal Server Error", buf);
		if (buf != NULL)
			evbuffer_free(buf);
		return;
	}
	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	switch (code) {
	case 200: reason = "OK"; break;
	case 201: reason = "Created"; break;
	case 400: reason = "Bad Request"; break;
	case 401: reason = "Unauthorized"; break;
	case 404: reason = "Not Found"; break;
	case 405: reason = "Method Not Allowed"; break;
	case 409: reason = "Conflict"; break;
	case 413: reason = "Payload Too Large"; break;
	case 414: reason = "URI Too Long"; break;
	case 415: reason = "Unsupported Media Type"; break;
	case 417: reason = "Expectation Failed"; break;
	case 431: reason = "Request Header Fields Too Large"; break;
	case 501: reason = "Not Implemented"; break;
	case 503: reason = "Service Unavailable"; break;
	default: reason = code >= 500 ? "Internal Server Error" : "Error";
	}
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

/* A reply waiting for the state files. */
struct api_durable {
	struct evhttp_request	*req;
	int			 code;
	json_t			*body;
	char			 failmsg[128];
};

static void
api_durable_cb(void *arg, int err)
{
	struct api_durable *d = arg;

	if (err != 0) {
		json_decref(d->body);
		api_reply_error(d->req, 500, "%s", d->failmsg);
	} else
		api_reply_json(d->req, d->code, d->body);
	free(d);
}

void
api_reply_durable(struct api *api, struct evhttp_request *req, int code,
    json_t *body, const char *failmsg)
{
	struct api_durable *d;

	if (api->rt->sw == NULL) {
		api_reply_json(req, code, body);
		return;
	}
	/*
	 * evhttp keeps a request we have not answered even when its
	 * client leaves, and frees it when the answer comes: req stays
	 * valid until the callback.
	 */
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		json_decref(body);
		api_reply_error(req, 500, "out of memory");
		return;
	}
	d->req = req;
	d->code = code;
	d->body = body;
	strlcpy(d->failmsg, failmsg, sizeof(d->failmsg));
	if (statewr_barrier(api->rt->sw, api_durable_cb, d) != 0) {
		json_decref(body);
		free(d);
		api_reply_error(req, 500, "out of memory");
	}
}

void
api_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("api: %s: %d %s", evhttp_request_get_uri(req), code, msg);
	api_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

char *
api_request_body(struct evhttp_request *req, size_t *lenp)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const struct cip_conf *conf = api_server->rt->conf;
	size_t len = evbuffer_get_length(in);
	char *body;

	/*
	 * evhttp refuses larger bodies before reading them (with the limit
	 * at start); this covers a limit changed since.
	 */
	if (conf->api_max_body > 0 && len > conf->api_max_body) {
		api_reply_error(req, 413, "body of %zu bytes exceeds the limit "
		    "of %llu", len, (unsigned long long)conf->api_max_body);
		return NULL;
	}
	if ((body = malloc(len + 1)) == NULL) {
		api_reply_error(req, 500, "out of memory");
		return NULL;
	}
	if (evbuffer_remove(in, body, len) != (int)len) {
		free(body);
		api_reply_error(req, 500, "cannot read the body");
		return NULL;
	}
	body[len] = '\0';
	*lenp = len;
	return body;
}

static void
api_count(int code)
{
	char labels[32];

	snprintf(labels, sizeof(labels), "code=\"%d\"", code);
	metric_add(metrics_get("clusterip_api_requests_total", METRIC_COUNTER,
	    "Control API requests by status code.", labels, NULL, 0), 1);
}

/*
 * Ready once started; with --etcd, "etcd" says whether it answers: an
 * unreachable etcd is no failure, the daemon serves its last state.
 */
static void
api_readyz(struct api *api, struct evhttp_request *req)
{
	json_t *b;

	b = json_pack("{s:s}", "status", api->rt->ready ? "ready" :
	    "starting");
	if (b != NULL && api->rt->etcd != RT_ETCD_OFF)
		json_object_set_new(b, "etcd", json_string(api->rt->etcd ==
		    RT_ETCD_UP ? "connected" : "unreachable"));
	api_reply_json(req, api->rt->ready ? 200 : 503, b);
}

/*
 * The scrape's answer, once the series read on demand are fresh (the
 * kernel path's conntrack dump runs off the loop). Runs before
 * api_shutdown: that read is a state writer task, and the writer is
 * freed first.
 */
static void
api_metrics_send(void *arg)
{
	struct evhttp_request *req = arg;
	struct api *api = api_server;
	struct evbuffer *buf;
	char *text;
	size_t len;

	if (api == NULL)
		return;
	metric_set(metrics_get("clusterip_build_info", METRIC_GAUGE,
	    "Build information of clusteripd.", "version=\"" PACKAGE_VERSION
	    "\"", NULL, 0), 1);
	metric_set(metrics_get("clusterip_services", METRIC_GAUGE,
	    "Services in the registry.", "", NULL, 0),
	    (int64_t)registry_count_services(api->rt->reg));
	metric_set(metrics_get("clusterip_pods", METRIC_GAUGE,
	    "Pods (endpoints) in the registry.", "", NULL, 0),
	    (int64_t)registry_count_pods(api->rt->reg));
	metric_set(metrics_get("clusterip_api_leases", METRIC_GAUGE,
	    "Pods registered through the API with a TTL lease.", "", NULL, 0),
	    (int64_t)hmap_count(api->leases));
	api_count(200);
	if ((text = metrics_render(&len)) == NULL ||
	    (buf = evbuffer_new()) == NULL) {
		free(text);
		api_reply_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(buf, text, len);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

/* /metrics: answered when the collectors are done (api_metrics_send). */
static void
api_metrics(struct api *api, struct evhttp_request *req)
{
	(void)api;
	if (metrics_collect(api_metrics_send, req) != 0)
		api_reply_error(req, 500, "out of memory");
}

json_t *
api_version_doc(const struct cip_conf *conf)
{
	json_t *doc, *dns;
	size_t i;

	if ((dns = json_array()) == NULL)
		return NULL;
	for (i = 0; i < conf->dns_listen.n; i++)
		if (json_array_append_new(dns,
		    json_string(conf->dns_listen.v[i])) != 0) {
			json_decref(dns);
			return NULL;
		}
	doc = json_pack("{s:s,s:o,s:s}", "version", PACKAGE_VERSION,
	    "dnsListen", dns, "clusterDomain", conf->cluster_domain != NULL ?
	    conf->cluster_domain : "cluster.local");
	return doc;
}

static void
api_version(struct api *api, struct evhttp_request *req)
{
	json_t *doc;

	if ((doc = api_version_doc(api->rt->conf)) == NULL) {
		api_reply_error(req, 500, "out of memory");
		return;
	}
	api_reply_json(req, 200, doc);
}

static unsigned
api_method_bit(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return API_M_GET;
	case EVHTTP_REQ_HEAD: return API_M_HEAD;
	case EVHTTP_REQ_POST: return API_M_POST;
	case EVHTTP_REQ_PUT: return API_M_PUT;
	case EVHTTP_REQ_DELETE: return API_M_DELETE;
	default: return 0;
	}
}

/*
 * evhttp frames a body by the first Content-Length, and takes a
 * Transfer-Encoding other than "chunked" for none: with a second
 * Content-Length or such a Transfer-Encoding, what follows the body it
 * read may be the rest of this request. Such a request is refused and
 * its connection closed.
 */
const char *
api_framing_bad(const struct evkeyvalq *hdrs)
{
	const struct evkeyval *h;
	unsigned ncl = 0, nte = 0;

	TAILQ_FOREACH(h, hdrs, next) {
		if (strcasecmp(h->key, "Content-Length") == 0)
			ncl++;
		else if (strcasecmp(h->key, "Transfer-Encoding") == 0) {
			if (strcasecmp(h->value, "chunked") != 0)
				return "unsupported Transfer-Encoding";
			nte++;
		}
	}
	if (ncl > 1 || nte > 1 || (ncl > 0 && nte > 0))
		return "conflicting Content-Length and Transfer-Encoding";
	return NULL;
}

static void
api_request_cb(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct api_route route;
	const char *path, *bad;
	char allow[64];

	/*
	 * evhttp enforced the limits before calling here (a refused request
	 * never reaches a route), whatever the route and the token.
	 */
	if ((bad = api_framing_bad(hdrs)) != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		api_reply_error(req, 400, "%s", bad);
		return;
	}
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	api_route_match(path, &route);
	if (route.id != API_R_HEALTHZ &&
	    !api_auth_ok(evhttp_find_header(hdrs, "Authorization"),
	    api->token)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"clusterip\"");
		api_reply_error(req, 401, "missing or wrong bearer token");
		return;
	}
	if (route.id == API_R_NONE) {
		api_reply_error(req, 404, "no such route: %s", path);
		return;
	}
	if ((route.methods & api_method_bit(cmd)) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", api_route_allow(route.methods, allow,
		    sizeof(allow)));
		api_reply_error(req, 405, "method not allowed on %s", path);
		return;
	}
	if (route.bad != NULL) {
		api_reply_error(req, 400, "%s in %s", route.bad, path);
		return;
	}
	switch (route.id) {
	case API_R_HEALTHZ:
		api_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
		break;
	case API_R_READYZ:
		api_readyz(api, req);
		break;
	case API_R_METRICS:
		api_metrics(api, req);
		break;
	case API_R_VERSION:
		api_version(api, req);
		break;
	case API_R_APPLY:
		api_objects_apply(api, req);
		break;
	case API_R_SERVICES:
	case API_R_PODS:
	case API_R_ENDPOINTS_LIST:
		api_objects_list(api, req, &route);
		break;
	case API_R_SERVICE:
	case API_R_POD:
	case API_R_ENDPOINTS:
		if (cmd == EVHTTP_REQ_DELETE)
			api_objects_delete(api, req, &route);
		else if (cmd == EVHTTP_REQ_PUT)
			api_lease_register(api, req, &route);
		else
			api_objects_get(api, req, &route);
		break;
	case API_R_HEARTBEAT:
		api_lease_heartbeat(api, req, &route);
		break;
	case API_R_NONE:
		break;
	}
}

/*
 * Reads the token file: the first line, surrounding blanks removed.
 * Calls malloc; caller frees *out. 0, or -1 with a reason in err.
 */
static int
api_read_token(const char *path, char **out, char *err, size_t errlen)
{
	char buf[API_TOKEN_MAX + 2], *p, *end;
	size_t n;
	FILE *fp;
	int rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		errf(err, errlen, "api-token-file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (n > API_TOKEN_MAX) {
		errf(err, errlen, "api-token-file %s: longer than %d bytes",
		    path, API_TOKEN_MAX);
		goto done;
	}
	p = buf + strspn(buf, " \t\r\n");
	end = p + strcspn(p, "\r\n");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	if (*p == '\0') {
		errf(err, errlen, "api-token-file %s is empty", path);
		goto done;
	}
	if ((*out = strdup(p)) == NULL) {
		errf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* 1 when the address is a loopback one, else 0. */
static int
api_addr_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)ss)->
		    sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr);
}

int
api_check_conf(const struct cip_conf *conf, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct stat st;
	char *token = NULL;
	bool tcp, sock, has_token;

	tcp = conf->api_listen != NULL && conf->api_listen[0] != '\0' &&
	    strcmp(conf->api_listen, "none") != 0;
	sock = conf->api_socket != NULL && conf->api_socket[0] != '\0';
	has_token = conf->api_token_file != NULL &&
	    conf->api_token_file[0] != '\0';
	if (tcp) {
		if (parse_hostport(conf->api_listen, API_DEFAULT_PORT, &ss,
		    &sslen) != 0) {
			errf(err, errlen, "api-listen: \"%s\" is not "
			    "ADDR:PORT or none", conf->api_listen);
			return -1;
		}
		if (!api_addr_loopback(&ss) && !has_token &&
		    !conf->api_insecure) {
			errf(err, errlen, "api-listen: refusing to listen on "
			    "non-loopback %s without api-token-file (set "
			    "api-insecure to allow)", conf->api_listen);
			return -1;
		}
	}
	if ((tcp || sock) && has_token) {
		if (api_read_token(conf->api_token_file, &token, err,
		    errlen) != 0)
			return -1;
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (sock) {
		if (strlen(conf->api_socket) >=
		    sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
			errf(err, errlen, "api-socket: path too long: %s",
			    conf->api_socket);
			return -1;
		}
		if (lstat(conf->api_socket, &st) == 0 &&
		    !S_ISSOCK(st.st_mode)) {
			errf(err, errlen, "api-socket: %s exists and is not a "
			    "socket", conf->api_socket);
			return -1;
		}
	}
	return 0;
}

static int
api_bind_tcp(struct api *api, const char *listen)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	if (parse_hostport(listen, API_DEFAULT_PORT, &ss, &sslen) != 0) {
		log_warnx("api: bad listen address %s", listen);
		return -1;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	if ((bound = evhttp_bind_socket_with_handle(api->http, host, port)) ==
	    NULL) {
		log_warn("api: cannot listen on %s", listen);
		return -1;
	}
	/* evhttp leaves its listeners enabled, which spins on EMFILE. */
	api->tcp_listener = evhttp_bound_socket_get_listener(bound);
	if (listen_guard_add(api->guard, api->tcp_listener) != 0) {
		log_warnx("api: out of memory");
		return -1;
	}
	log_info("api: listening on http://%s", listen);
	return 0;
}

static int
api_bind_unix(struct api *api, const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("api: socket path too long: %s", path);
		return -1;
	}
	/* A stale socket from an earlier run is replaced, nothing else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("api: %s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("api: socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 64) == -1) {
		log_warn("api: cannot listen on %s", path);
		close(fd);
		return -1;
	}
	api->unix_listener = evconnlistener_new(api->rt->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (api->unix_listener == NULL) {
		log_warnx("api: cannot watch %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	if (evhttp_bind_listener(api->http, api->unix_listener) == NULL) {
		log_warnx("api: cannot serve %s", path);
		evconnlistener_free(api->unix_listener);
		api->unix_listener = NULL;
		unlink(path);
		return -1;
	}
	if (listen_guard_add(api->guard, api->unix_listener) != 0 ||
	    (api->unix_path = strdup(path)) == NULL) {
		log_warnx("api: out of memory");
		return -1;
	}
	log_info("api: listening on unix:%s", path);
	return 0;
}

int
api_init(struct runtime *rt)
{
	const struct cip_conf *conf = rt->conf;
	struct api *api;
	struct timeval tv;
	char err[512];
	bool tcp, sock;

	tcp = conf->api_listen != NULL && conf->api_listen[0] != '\0' &&
	    strcmp(conf->api_listen, "none") != 0;
	sock = conf->api_socket != NULL && conf->api_socket[0] != '\0';
	if (!tcp && !sock) {
		log_info("api: disabled");
		return 0;
	}
	/* The rules --check-config applies, so that both refuse alike. */
	if (api_check_conf(conf, err, sizeof(err)) != 0) {
		log_warnx("api: %s", err);
		return -1;
	}
	if (api_server != NULL) {
		log_warnx("api: already running");
		return -1;
	}
	if ((api = calloc(1, sizeof(*api))) == NULL) {
		log_warn("api");
		return -1;
	}
	api_server = api;
	api->rt = rt;
	api->owner.kind = OWNER_API;
	api->owner.id = NULL;
	if (conf->api_token_file != NULL && conf->api_token_file[0] != '\0' &&
	    api_read_token(conf->api_token_file, &api->token, err,
	    sizeof(err)) != 0) {
		log_warnx("api: %s", err);
		goto fail;
	}
	if ((api->http = evhttp_new(rt->base)) == NULL) {
		log_warnx("api: cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_gencb(api->http, api_request_cb, api);
	/*
	 * Every method evhttp knows reaches the router, which answers 405 in
	 * JSON; evhttp answers 501 to any other.
	 */
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	/*
	 * The limits are evhttp's own, which answer with its HTML pages: 413
	 * from a Content-Length over the limit before the body is read (and
	 * at once to "Expect: 100-continue"), or as soon as a chunked body's
	 * chunk sizes add up past it; 400 for a head (or a trailer) over
	 * API_MAX_HEADERS_SIZE. The connection closes after such an answer.
	 * No lingering close (EVHTTP_SERVER_LINGERING_CLOSE): it would read
	 * a refused body to its end before answering, and never answer a
	 * client waiting for "100 Continue".
	 */
	evhttp_set_max_body_size(api->http, conf->api_max_body > 0 ?
	    (ev_ssize_t)conf->api_max_body : -1);
	evhttp_set_max_headers_size(api->http, API_MAX_HEADERS_SIZE);
	if (conf->api_timeout_ms > 0) {
		evhttp_set_timeout_tv(api->http,
		    ms_to_tv(conf->api_timeout_ms, &tv));
	}
	if (api_lease_init(api) != 0)
		goto fail;
	if ((api->guard = listen_guard_new(rt->base, "api", 1000)) == NULL) {
		log_warnx("api: out of memory");
		goto fail;
	}
	if (tcp && api_bind_tcp(api, conf->api_listen) != 0)
		goto fail;
	if (sock && api_bind_unix(api, conf->api_socket) != 0)
		goto fail;
	if (api_store_load(api) != 0)
		goto fail;
	return 0;
fail:
	api_shutdown();
	return -1;
}

void
api_shutdown(void)
{
	struct api *api = api_server;

	if (api == NULL)
		return;
	api_server = NULL;
	api_lease_shutdown(api);
	/* evhttp_free frees the listeners bound to it. */
	if (api->http != NULL)
		evhttp_free(api->http);
	else if (api->unix_listener != NULL)
		evconnlistener_free(api->unix_listener);
	listen_guard_free(api->guard);
	if (api->unix_path != NULL)
		unlink(api->unix_path);
	free(api->unix_path);
	free(api->state_path);
	if (api->token != NULL) {
		explicit_bzero(api->token, strlen(api->token));
		free(api->token);
	}
	free(api);
}
