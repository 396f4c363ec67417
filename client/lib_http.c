/* SPDX-License-Identifier: MIT */
/*
 * lib_http.c -- libclusterip: blocking client of the control API, over
 * TCP or the daemon's unix socket, with libcurl's easy interface.
 *
 * libcurl frames the requests and replies, connects to a unix socket
 * (CURLOPT_UNIX_SOCKET_PATH) and keeps reading a reply that arrives while
 * the body is still being sent: the daemon refuses a body over its limit
 * with 413 at once and drops the rest, and that 413 is what the caller
 * gets. What is left here: the server URL, the error messages and the
 * wait on a unix socket whose daemon does not accept.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/http.h>

#include "clusterip/clusterip.h"
#include "lib_internal.h"

#define CIP_CLIENT_DEFAULT_PORT		9901
#define CIP_CLIENT_TIMEOUT_MS		10000
#define CIP_CLIENT_MAX_REPLY		(64 * 1024 * 1024)

struct cip_client {
	struct cip_url	 url;
	char		*token;
	unsigned int	 timeout_ms;
	CURL		*curl;
	int		 last_errno;	/* why the last request failed */
};

/* The reply body as it arrives. */
struct cip_sink {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 too_large;
};

static size_t	cip_sink_write(char *, size_t, size_t, void *);
static unsigned int cip_ms_left(const struct timespec *, unsigned int);
static void	cip_sleep_ms(unsigned int);
static bool	cip_header(struct curl_slist **, const char *, const char *,
    const char *);

int
cip_url_parse(const char *url, struct cip_url *u, char *err, size_t errlen)
{
	struct evhttp_uri *uri;
	const char *scheme, *host, *path;
	int port, rc = -1;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "unix:", 5) == 0) {
		/* unix:/PATH, unix:PATH (relative) or unix:///PATH */
		path = url + 5;
		if (strncmp(path, "//", 2) == 0) {
			path += 2;
			if (*path != '/') {
				cip_errf(err, errlen, "bad server URL \"%s\" "
				    "(want unix:///PATH)", url);
				return -1;
			}
		}
		if (*path == '\0') {
			cip_errf(err, errlen, "bad server URL \"%s\" (want "
			    "unix:/PATH)", url);
			return -1;
		}
		/* sun_path holds 108 bytes with the NUL. */
		if (strlen(path) >= sizeof(u->path)) {
			cip_errf(err, errlen, "socket path too long: %s", path);
			return -1;
		}
		u->is_unix = true;
		snprintf(u->path, sizeof(u->path), "%s", path);
		return 0;
	}
	if ((uri = evhttp_uri_parse(url)) == NULL) {
		cip_errf(err, errlen, "bad server URL \"%s\" (want "
		    "http://HOST[:PORT] or unix:/PATH)", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	port = evhttp_uri_get_port(uri);
	if (scheme == NULL || strcasecmp(scheme, "http") != 0 ||
	    host == NULL || *host == '\0' || strlen(host) >= sizeof(u->host) ||
	    strpbrk(host, "/?#@ ") != NULL) {
		cip_errf(err, errlen, "bad server URL \"%s\" (want "
		    "http://HOST[:PORT] or unix:/PATH)", url);
		goto out;
	}
	snprintf(u->host, sizeof(u->host), "%s", host);
	u->port = port > 0 ? (uint16_t)port : CIP_CLIENT_DEFAULT_PORT;
	rc = 0;
out:
	evhttp_uri_free(uri);
	return rc;
}

int
cip_url_request(const struct cip_url *u, const char *path, char *buf,
    size_t len)
{
	int n;

	if (*path != '/' || strpbrk(path, " \t\r\n#") != NULL)
		return -1;
	/* Over a unix socket the host only fills the Host header. */
	if (u->is_unix)
		n = snprintf(buf, len, "http://localhost%s", path);
	else
		n = snprintf(buf, len, "http://%s:%u%s", u->host,
		    (unsigned)u->port, path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *
cip_url_where(const struct cip_url *u, char *buf, size_t len)
{
	if (u->is_unix)
		snprintf(buf, len, "unix:%s", u->path);
	else
		snprintf(buf, len, "http://%s:%u", u->host, (unsigned)u->port);
	return buf;
}

void
cip_curl_error(int code, int os_errno, const char *detail, const char *where,
    char *err, size_t errlen)
{
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		cip_errf(err, errlen, "cannot reach %s: timed out", where);
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		if (os_errno != 0)
			cip_errf(err, errlen, "cannot reach %s: %s", where,
			    strerror(os_errno));
		else
			cip_errf(err, errlen, "cannot reach %s: %s", where,
			    detail != NULL && *detail != '\0' ? detail :
			    curl_easy_strerror((CURLcode)code));
		break;
	case CURLE_GOT_NOTHING:
		cip_errf(err, errlen, "%s: connection closed without a reply",
		    where);
		break;
	case CURLE_WRITE_ERROR:
		cip_errf(err, errlen, "%s: reply too large", where);
		break;
	default:
		cip_errf(err, errlen, "%s: %s", where,
		    detail != NULL && *detail != '\0' ? detail :
		    curl_easy_strerror((CURLcode)code));
		break;
	}
}

struct cip_client *
cip_client_new(const char *url, const char *token, char *err, size_t errlen)
{
	struct cip_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cip_errf(err, errlen, "out of memory");
		return NULL;
	}
	if (cip_url_parse(url, &c->url, err, errlen) != 0) {
		free(c);
		return NULL;
	}
	if (token != NULL && ((c->token = strdup(token)) == NULL ||
	    strpbrk(c->token, "\r\n") != NULL)) {
		cip_errf(err, errlen, c->token == NULL ? "out of memory" :
		    "the token holds a line break");
		free(c->token);
		free(c);
		return NULL;
	}
	/* Counted by libcurl: each client holds one reference. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cip_errf(err, errlen, "cannot initialise libcurl");
		free(c->token);
		free(c);
		return NULL;
	}
	if ((c->curl = curl_easy_init()) == NULL) {
		cip_errf(err, errlen, "cannot initialise libcurl");
		curl_global_cleanup();
		free(c->token);
		free(c);
		return NULL;
	}
	c->timeout_ms = CIP_CLIENT_TIMEOUT_MS;
	return c;
}

void
cip_client_free(struct cip_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	curl_global_cleanup();
	free(c->token);
	free(c);
}

int
cip_client_errno(const struct cip_client *c)
{
	return c->last_errno;
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

/* Milliseconds left of timeout_ms since start (0 when past). */
static unsigned int
cip_ms_left(const struct timespec *start, unsigned int timeout_ms)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
	return ms >= (long long)timeout_ms ? 0 :
	    (unsigned int)((long long)timeout_ms - ms);
}

static void
cip_sleep_ms(unsigned int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* CURLOPT_WRITEFUNCTION: appends to the sink, up to the reply cap. */
static size_t
cip_sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct cip_sink *s = arg;
	size_t n = size * nmemb, cap;
	char *nb;

	if (n > CIP_CLIENT_MAX_REPLY - s->len) {
		s->too_large = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		cap = s->cap ? s->cap : 16384;
		while (cap < s->len + n + 1)
			cap *= 2;
		if ((nb = realloc(s->buf, cap)) == NULL)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* Appends "name: prefixvalue" to list; false when out of memory. */
static bool
cip_header(struct curl_slist **list, const char *name, const char *prefix,
    const char *value)
{
	struct curl_slist *l;
	char *line;

	if (asprintf(&line, "%s: %s%s", name, prefix, value) < 0)
		return false;
	l = curl_slist_append(*list, line);
	free(line);
	if (l == NULL)
		return false;
	*list = l;
	return true;
}

int
cip_client_request(struct cip_client *c, const char *method,
    const char *path, const char *content_type, const void *body,
    size_t len, struct cip_reply *reply, char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	struct cip_sink sink;
	CURL *h = c->curl;
	CURLcode rc;
	char url[2048], where[400], cerr[CURL_ERROR_SIZE], *ct = NULL;
	struct timespec start;
	long status = 0, os_errno = 0;
	unsigned int wait_ms, left_ms;
	bool ok;
	int ret = -1;

	memset(reply, 0, sizeof(*reply));
	memset(&sink, 0, sizeof(sink));
	c->last_errno = EINVAL;
	cip_url_where(&c->url, where, sizeof(where));
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0) {
		cip_errf(err, errlen, "unsupported method %s", method);
		return -1;
	}
	if (cip_url_request(&c->url, path, url, sizeof(url)) != 0 ||
	    (content_type != NULL && strpbrk(content_type, "\r\n") != NULL)) {
		cip_errf(err, errlen, "bad request path or header");
		return -1;
	}
	ok = cip_header(&hdrs, "Accept", "", "application/json");
	if (ok && c->token != NULL)
		ok = cip_header(&hdrs, "Authorization", "Bearer ", c->token);
	if (ok && body != NULL)
		ok = cip_header(&hdrs, "Content-Type", "",
		    content_type != NULL ? content_type : "application/json");
	/* The body goes at once: no wait for a 100 Continue. */
	if (ok)
		ok = (hdrs = curl_slist_append(hdrs, "Expect:")) != NULL;
	if (!ok) {
		cip_errf(err, errlen, "out of memory");
		goto out;
	}
	curl_easy_reset(h);
	cerr[0] = '\0';
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	if (c->url.is_unix)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->url.path);
	/* The daemon is reached directly, whatever http_proxy says. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cip_sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body != NULL ? len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ?
		    body : "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (wait_ms = 10;; wait_ms = wait_ms < 160 ? wait_ms * 2 : wait_ms) {
		rc = curl_easy_perform(h);
		os_errno = 0;
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
		/*
		 * A unix socket whose listen queue is full (a daemon that
		 * stopped accepting) fails a non-blocking connect() with
		 * EAGAIN, which libcurl reports as a failed connect without
		 * an errno: nothing was sent, so wait and try again until
		 * the timeout, as a connect over TCP would wait.
		 */
		if (!c->url.is_unix || rc != CURLE_COULDNT_CONNECT ||
		    (os_errno != 0 && os_errno != EAGAIN))
			break;
		if ((left_ms = cip_ms_left(&start, c->timeout_ms)) == 0) {
			rc = CURLE_OPERATION_TIMEDOUT;
			break;
		}
		cip_sleep_ms(wait_ms < left_ms ? wait_ms : left_ms);
		if ((left_ms = cip_ms_left(&start, c->timeout_ms)) == 0) {
			rc = CURLE_OPERATION_TIMEDOUT;
			break;
		}
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left_ms);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
	}
	if (rc != CURLE_OK) {
		c->last_errno = rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT :
		    os_errno != 0 ? (int)os_errno : EIO;
		cip_curl_error((int)rc, sink.too_large ? 0 : (int)os_errno,
		    cerr, where, err, errlen);
		if (sink.too_large)
			cip_errf(err, errlen, "%s: reply too large", where);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	if (sink.buf == NULL && (sink.buf = calloc(1, 1)) == NULL) {
		cip_errf(err, errlen, "out of memory");
		goto out;
	}
	c->last_errno = 0;
	reply->status = (int)status;
	reply->body = sink.buf;
	reply->len = sink.len;
	sink.buf = NULL;
	if (ct != NULL)
		snprintf(reply->content_type, sizeof(reply->content_type),
		    "%s", ct);
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	free(sink.buf);
	return ret;
}
