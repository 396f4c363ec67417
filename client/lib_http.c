/* SPDX-License-Identifier: MIT */
/* lib_http.c -- libclusterip: blocking client of the control API (evhttp). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "clusterip/clusterip.h"
#include "lib_internal.h"

#define CIP_CLIENT_DEFAULT_PORT		9901
#define CIP_CLIENT_TIMEOUT_MS		10000
#define CIP_CLIENT_MAX_REPLY		(64 * 1024 * 1024)

struct cip_client {
	char		*host;
	uint16_t	 port;
	char		*token;
	unsigned int	 timeout_ms;
};

/* One request in flight. */
struct cip_call {
	struct cip_reply	*reply;
	int			 done;
	int			 failed;
	enum evhttp_request_error error;
};

void
cip_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct cip_client *
cip_client_new(const char *url, const char *token, char *err, size_t errlen)
{
	struct evhttp_uri *uri;
	struct cip_client *c = NULL;
	const char *scheme, *host;
	int port;

	if ((uri = evhttp_uri_parse(url)) == NULL) {
		cip_errf(err, errlen, "bad server URL \"%s\"", url);
		return NULL;
	}
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	port = evhttp_uri_get_port(uri);
	if (scheme == NULL || strcasecmp(scheme, "http") != 0 ||
	    host == NULL || *host == '\0') {
		cip_errf(err, errlen, "bad server URL \"%s\" (want "
		    "http://HOST[:PORT])", url);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->host = strdup(host)) == NULL ||
	    (token != NULL && (c->token = strdup(token)) == NULL)) {
		cip_errf(err, errlen, "out of memory");
		cip_client_free(c);
		c = NULL;
		goto out;
	}
	c->port = port > 0 ? (uint16_t)port : CIP_CLIENT_DEFAULT_PORT;
	c->timeout_ms = CIP_CLIENT_TIMEOUT_MS;
out:
	evhttp_uri_free(uri);
	return c;
}

void
cip_client_free(struct cip_client *c)
{
	if (c == NULL)
		return;
	free(c->host);
	free(c->token);
	free(c);
}

void
cip_client_set_timeout(struct cip_client *c, unsigned int ms)
{
	c->timeout_ms = ms > 0 ? ms : CIP_CLIENT_TIMEOUT_MS;
}

void
cip_reply_clear(struct cip_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void
cip_call_done_cb(struct evhttp_request *req, void *arg)
{
	struct cip_call *call = arg;
	struct evbuffer *in;
	const char *ct;
	size_t len;

	call->done = 1;
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		call->failed = 1;
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	if ((call->reply->body = malloc(len + 1)) == NULL) {
		call->failed = 1;
		return;
	}
	evbuffer_remove(in, call->reply->body, len);
	call->reply->body[len] = '\0';
	call->reply->len = len;
	call->reply->status = evhttp_request_get_response_code(req);
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct != NULL)
		snprintf(call->reply->content_type,
		    sizeof(call->reply->content_type), "%s", ct);
}

static void
cip_call_error_cb(enum evhttp_request_error error, void *arg)
{
	struct cip_call *call = arg;

	call->failed = 1;
	call->error = error;
}

static const char *
cip_call_strerror(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		return "timed out";
	case EVREQ_HTTP_EOF:
		return "connection refused or closed";
	case EVREQ_HTTP_INVALID_HEADER:
		return "malformed reply";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection failed";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "reply too large";
	default:
		return "request failed";
	}
}

int
cip_client_request(struct cip_client *c, const char *method,
    const char *path, const char *content_type, const void *body,
    size_t len, struct cip_reply *reply, char *err, size_t errlen)
{
	struct event_base *base = NULL;
	struct evhttp_connection *conn = NULL;
	struct evhttp_request *req;
	struct evkeyvalq *hdrs;
	struct cip_call call;
	enum evhttp_cmd_type cmd;
	struct timeval tv;
	char auth[4200], hostport[300];
	int rc = -1;

	memset(reply, 0, sizeof(*reply));
	memset(&call, 0, sizeof(call));
	call.reply = reply;
	if (strcmp(method, "GET") == 0)
		cmd = EVHTTP_REQ_GET;
	else if (strcmp(method, "POST") == 0)
		cmd = EVHTTP_REQ_POST;
	else if (strcmp(method, "PUT") == 0)
		cmd = EVHTTP_REQ_PUT;
	else if (strcmp(method, "DELETE") == 0)
		cmd = EVHTTP_REQ_DELETE;
	else {
		cip_errf(err, errlen, "unsupported method %s", method);
		return -1;
	}
	if ((base = event_base_new()) == NULL ||
	    (conn = evhttp_connection_base_new(base, NULL, c->host,
	    c->port)) == NULL) {
		cip_errf(err, errlen, "out of memory");
		goto out;
	}
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	evhttp_connection_set_timeout_tv(conn, &tv);
	evhttp_connection_set_retries(conn, 0);
	evhttp_connection_set_max_body_size(conn, CIP_CLIENT_MAX_REPLY);
	if ((req = evhttp_request_new(cip_call_done_cb, &call)) == NULL) {
		cip_errf(err, errlen, "out of memory");
		goto out;
	}
	evhttp_request_set_error_cb(req, cip_call_error_cb);
	hdrs = evhttp_request_get_output_headers(req);
	snprintf(hostport, sizeof(hostport), "%s:%u", c->host,
	    (unsigned)c->port);
	evhttp_add_header(hdrs, "Host", hostport);
	evhttp_add_header(hdrs, "Accept", "application/json");
	evhttp_add_header(hdrs, "Connection", "close");
	if (c->token != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", c->token);
		evhttp_add_header(hdrs, "Authorization", auth);
	}
	if (body != NULL) {
		evhttp_add_header(hdrs, "Content-Type", content_type ?
		    content_type : "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	}
	/* evhttp owns req from here, even on failure. */
	if (evhttp_make_request(conn, req, cmd, path) != 0) {
		cip_errf(err, errlen, "cannot send the request to http://%s",
		    hostport);
		goto out;
	}
	while (!call.done && !call.failed)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			break;
	if (call.failed || !call.done) {
		cip_errf(err, errlen, "cannot reach http://%s: %s", hostport,
		    cip_call_strerror(call.error));
		cip_reply_clear(reply);
		goto out;
	}
	rc = 0;
out:
	if (conn != NULL)
		evhttp_connection_free(conn);
	if (base != NULL)
		event_base_free(base);
	return rc;
}
