/* SPDX-License-Identifier: MIT */
/*
 * http_client.c -- HTTP GET and POST on our event_base through libcurl's
 * multi-socket interface: libcurl says which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION: one struct event each) and when to call it
 * back (CURLMOPT_TIMERFUNCTION: one timer); libevent says when a socket
 * is ready and curl_multi_socket_action() does the rest.
 *
 * libcurl refuses to add or remove transfers from inside its own
 * callbacks (CURLM_RECURSIVE_API_CALL), and those are where a user of
 * this module learns things (headers, body bytes). So while libcurl runs
 * (c->in_curl), new requests wait on the list unadded and cancelled
 * ones stay there marked, until libcurl returns and http_client_settle()
 * adds, reaps and reports finished transfers.
 *
 * A request given several servers (bases) that fails before any answer
 * arrived is moved to the next one from http_client_finish(), which runs
 * outside libcurl: the easy handle is taken off the multi handle, given
 * the next URL and added again.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "util.h"
#include "log.h"
#include "curl_dl.h"
#include "http_client.h"

struct http_client_req {
	TAILQ_ENTRY(http_client_req) entry;
	struct http_client	*c;
	CURL			*easy;
	http_client_head_cb	*head_cb;
	http_client_body_cb	*body_cb;
	http_client_done_cb	*done_cb;
	void			*arg;
	struct curl_slist	*headers;	/* the client's and ours */
	char			**bases;	/* copies, or NULL */
	size_t			 nbases;
	size_t			 base;		/* index being tried */
	size_t			 tries;		/* bases tried so far */
	size_t			*member;	/* the caller's, or NULL */
	char			*path;		/* appended to each base */
	char			*body;		/* without body_cb */
	size_t			 bodylen;
	size_t			 bodycap;
	size_t			 max_body;
	bool			 stream;	/* body_cb takes the body */
	bool			 added;		/* to the multi handle */
	bool			 add_failed;
	bool			 cancelled;
	bool			 head_done;
	bool			 too_big;	/* body over max_body */
	char			 errbuf[CURL_ERROR_SIZE];
};

/* One socket libcurl wants watched. */
struct http_client_sock {
	LIST_ENTRY(http_client_sock) entry;
	struct http_client	*c;
	struct event		*ev;
};

struct http_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	TAILQ_HEAD(, http_client_req) reqs;
	LIST_HEAD(, http_client_sock) socks;
	bool			 in_curl;	/* inside socket_action */
	bool			 settle;	/* a request waits for it */
};

/* libcurl's functions, loaded by the first http_client_new. */
static const struct curl_dl *cu;

static int	http_client_socket_cb(CURL *, curl_socket_t, int, void *,
		    void *);
static int	http_client_timer_cb(CURLM *, long, void *);
static void	http_client_io_cb(evutil_socket_t, short, void *);
static void	http_client_timeout_cb(evutil_socket_t, short, void *);
static void	http_client_action(struct http_client *, curl_socket_t, int);
static void	http_client_settle(struct http_client *);
static void	http_client_finish(struct http_client_req *, CURLcode);
static void	http_client_req_free(struct http_client_req *);
static void	http_client_sock_free(struct http_client_sock *);
static size_t	http_client_header_cb(char *, size_t, size_t, void *);
static size_t	http_client_write_cb(char *, size_t, size_t, void *);
static int	http_client_set_url(struct http_client_req *);
static bool	http_client_retry(struct http_client_req *, CURLcode);

struct http_client *
http_client_new(struct event_base *base)
{
	struct http_client *c;

	if ((cu = curl_dl_load()) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	c->base = base;
	TAILQ_INIT(&c->reqs);
	LIST_INIT(&c->socks);
	if ((c->multi = cu->multi_init()) == NULL ||
	    (c->timer = evtimer_new(base, http_client_timeout_cb, c)) ==
	    NULL ||
	    cu->multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION,
	    http_client_socket_cb) != CURLM_OK ||
	    cu->multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    cu->multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION,
	    http_client_timer_cb) != CURLM_OK ||
	    cu->multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK) {
		log_warnx("%s: cannot set up libcurl", __func__);
		http_client_free(c);
		return NULL;
	}
	return c;
}

int
http_client_set_max_connections(struct http_client *c, long n)
{
	if (cu->multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n) !=
	    CURLM_OK) {
		log_warnx("%s: libcurl refused the limit", __func__);
		return -1;
	}
	return 0;
}

void
http_client_free(struct http_client *c)
{
	struct http_client_req *r;
	struct http_client_sock *s;

	if (c == NULL)
		return;
	while ((r = TAILQ_FIRST(&c->reqs)) != NULL)
		http_client_req_free(r);
	if (c->multi != NULL)
		cu->multi_cleanup(c->multi);
	/* libcurl said REMOVE for each socket; in case it did not. */
	while ((s = LIST_FIRST(&c->socks)) != NULL)
		http_client_sock_free(s);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c);
}

/* Points r's handle at its current base + path. 0, or -1. */
static int
http_client_set_url(struct http_client_req *r)
{
	char *url;
	int rc;

	if (r->bases == NULL)
		return 0;
	if (asprintf(&url, "%s%s", r->bases[r->base], r->path) == -1)
		return -1;
	rc = cu->easy_setopt(r->easy, CURLOPT_URL, url) == CURLE_OK ? 0 : -1;
	free(url);
	return rc;
}

/* The header list of one request: the client's, then what o adds. */
static struct curl_slist *
http_client_headers(const struct http_client_opts *o)
{
	struct curl_slist *h = NULL, *n;
	char ct[256];

	if ((h = cu->slist_append(NULL, "Accept: application/json")) == NULL)
		return NULL;
	if (o->post != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s",
		    o->content_type != NULL ? o->content_type :
		    "application/json");
		/* No "Expect: 100-continue" round trip before a body. */
		if ((n = cu->slist_append(h, ct)) == NULL ||
		    (h = n, n = cu->slist_append(h, "Expect:")) == NULL)
			goto fail;
		h = n;
	}
	if (o->auth_header != NULL) {
		if ((n = cu->slist_append(h, o->auth_header)) == NULL)
			goto fail;
		h = n;
	}
	return h;
fail:
	cu->slist_free_all(h);
	return NULL;
}

/* Copies what a retry on another base needs. 0, or -1. */
static int
http_client_copy_bases(struct http_client_req *r,
    const struct http_client_opts *o)
{
	size_t i;

	if (o->nbases == 0)
		return 0;
	if ((r->bases = calloc(o->nbases, sizeof(*r->bases))) == NULL ||
	    (r->path = strdup(o->url)) == NULL)
		return -1;
	r->nbases = o->nbases;
	for (i = 0; i < o->nbases; i++)
		if ((r->bases[i] = strdup(o->bases[i])) == NULL)
			return -1;
	r->member = o->member;
	r->base = o->member != NULL && *o->member < o->nbases ?
	    *o->member : 0;
	r->tries = 1;
	return 0;
}

struct http_client_req *
http_client_get(struct http_client *c, const struct http_client_opts *o)
{
	struct http_client_req *r;
	CURL *e;
	bool ok;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	if ((e = cu->easy_init()) == NULL) {
		log_warnx("%s: curl_easy_init failed", __func__);
		free(r);
		return NULL;
	}
	r->c = c;
	r->easy = e;
	r->head_cb = o->head_cb;
	r->body_cb = o->body_cb;
	r->stream = o->body_cb != NULL;
	r->done_cb = o->done_cb;
	r->arg = o->arg;
	r->max_body = o->max_body;
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	ok = http_client_copy_bases(r, o) == 0 &&
	    (r->headers = http_client_headers(o)) != NULL &&
	    (o->nbases > 0 ? http_client_set_url(r) == 0 :
	    cu->easy_setopt(e, CURLOPT_URL, o->url) == CURLE_OK) &&
	    cu->easy_setopt(e, CURLOPT_PRIVATE, r) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") ==
	    CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_USERAGENT,
	    "clusteripd/" PACKAGE_VERSION) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_HEADERFUNCTION,
	    http_client_header_cb) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_HEADERDATA, r) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_WRITEFUNCTION,
	    http_client_write_cb) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)o->timeout_ms) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)o->connect_timeout_ms) == CURLE_OK &&
	    (o->unix_path == NULL ||
	    cu->easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, o->unix_path) ==
	    CURLE_OK) &&
	    (o->post == NULL ||
	    (cu->easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)o->post_len) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->post) ==
	    CURLE_OK)) &&
	    (o->cacert == NULL ||
	    cu->easy_setopt(e, CURLOPT_CAINFO, o->cacert) == CURLE_OK) &&
	    (o->cert == NULL ||
	    cu->easy_setopt(e, CURLOPT_SSLCERT, o->cert) == CURLE_OK) &&
	    (o->key == NULL ||
	    cu->easy_setopt(e, CURLOPT_SSLKEY, o->key) == CURLE_OK) &&
	    (o->keepalive_s == 0 ||
	    (cu->easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)o->keepalive_s) ==
	    CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_TCP_KEEPINTVL,
	    (long)(o->keepalive_s + 1) / 2) == CURLE_OK)) &&
	    (o->user == NULL ||
	    (cu->easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ==
	    CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_USERNAME, o->user) == CURLE_OK &&
	    cu->easy_setopt(e, CURLOPT_PASSWORD,
	    o->password != NULL ? o->password : "") == CURLE_OK));
	if (!ok) {
		log_warnx("%s: %s: cannot set up the request", __func__,
		    o->url);
		http_client_req_free(r);
		return NULL;
	}
	if (c->in_curl) {
		c->settle = true;	/* added once libcurl returns */
		return r;
	}
	if (cu->multi_add_handle(c->multi, e) != CURLM_OK) {
		log_warnx("%s: %s: cannot start the request", __func__,
		    o->url);
		http_client_req_free(r);
		return NULL;
	}
	r->added = true;
	return r;
}

void
http_client_cancel(struct http_client_req *r)
{
	if (r == NULL || r->cancelled)
		return;
	r->cancelled = true;
	r->head_cb = NULL;
	r->body_cb = NULL;
	r->done_cb = NULL;
	if (r->c->in_curl)
		r->c->settle = true;	/* freed once libcurl returns */
	else
		http_client_req_free(r);
}

static void
http_client_req_free(struct http_client_req *r)
{
	struct http_client *c = r->c;
	size_t i;

	TAILQ_REMOVE(&c->reqs, r, entry);
	if (r->added)
		cu->multi_remove_handle(c->multi, r->easy);
	cu->easy_cleanup(r->easy);
	cu->slist_free_all(r->headers);
	for (i = 0; i < r->nbases && r->bases != NULL; i++)
		free(r->bases[i]);
	free(r->bases);
	free(r->path);
	free(r->body);
	free(r);
}

static void
http_client_sock_free(struct http_client_sock *s)
{
	LIST_REMOVE(s, entry);
	event_free(s->ev);
	free(s);
}

/* libcurl: watch fd for what, or no longer. */
static int
http_client_socket_cb(CURL *e, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct http_client *c = arg;
	struct http_client_sock *s = sockp;
	short events = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL)
			http_client_sock_free(s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (s->ev = event_new(c->base, fd, events, http_client_io_cb,
		    s)) == NULL) {
			log_warn("%s", __func__);
			free(s);
			return -1;
		}
		s->c = c;
		LIST_INSERT_HEAD(&c->socks, s, entry);
		cu->multi_assign(c->multi, fd, s);
	} else {
		event_del(s->ev);
		event_assign(s->ev, c->base, fd, events, http_client_io_cb, s);
	}
	if (event_add(s->ev, NULL) == -1) {
		log_warnx("%s: event_add failed", __func__);
		return -1;
	}
	return 0;
}

/* libcurl: call back in timeout_ms (-1: never). */
static int
http_client_timer_cb(CURLM *m, long timeout_ms, void *arg)
{
	struct http_client *c = arg;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	ms_to_tv((uint64_t)timeout_ms, &tv);
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static void
http_client_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client_sock *s = arg;
	int action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* s may be freed by libcurl's REMOVE: only c from here on. */
	http_client_action(s->c, fd, action);
}

static void
http_client_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	http_client_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static void
http_client_action(struct http_client *c, curl_socket_t fd, int action)
{
	CURLMcode mc;
	int running;

	c->in_curl = true;
	mc = cu->multi_socket_action(c->multi, fd, action, &running);
	c->in_curl = false;
	if (mc != CURLM_OK)
		log_warnx("%s: %s", __func__, cu->multi_strerror(mc));
	http_client_settle(c);
}

/*
 * Outside libcurl: reaps cancelled requests, adds waiting ones, then
 * reports finished transfers. Callbacks called from here may start or
 * cancel requests; libcurl is not running then, so that happens at once.
 */
static void
http_client_settle(struct http_client *c)
{
	struct http_client_req *r, *next;
	CURLMsg *msg;
	CURLcode result;
	void *p;
	int left;

	if (c->settle) {
		c->settle = false;
		for (r = TAILQ_FIRST(&c->reqs); r != NULL; r = next) {
			next = TAILQ_NEXT(r, entry);
			if (r->cancelled)
				http_client_req_free(r);
			else if (!r->added) {
				if (cu->multi_add_handle(c->multi, r->easy) ==
				    CURLM_OK)
					r->added = true;
				else
					r->add_failed = true;
			}
		}
		/* Each report may start or cancel others: look afresh. */
		for (;;) {
			TAILQ_FOREACH(r, &c->reqs, entry)
				if (r->add_failed)
					break;
			if (r == NULL)
				break;
			snprintf(r->errbuf, sizeof(r->errbuf),
			    "cannot start the request");
			http_client_finish(r, CURLE_FAILED_INIT);
		}
	}
	while ((msg = cu->multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		result = msg->data.result;
		if (cu->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &p) != CURLE_OK || p == NULL)
			continue;
		http_client_finish(p, result);
	}
}

/* r's transfer ended with result: tells its owner, then frees it. */
static void
http_client_finish(struct http_client_req *r, CURLcode result)
{
	const char *error = NULL, *body;
	long status = 0;

	if (http_client_retry(r, result))
		return;
	if (r->member != NULL && r->bases != NULL &&
	    (result == CURLE_OK || r->head_done))
		*r->member = r->base;
	cu->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->too_big)
		snprintf(r->errbuf, sizeof(r->errbuf), "body over %zu bytes",
		    r->max_body);
	if (result != CURLE_OK || r->too_big)
		error = r->errbuf[0] != '\0' ? r->errbuf :
		    cu->easy_strerror(result);
	if (r->stream)
		body = NULL;
	else
		body = r->body != NULL ? r->body : "";
	if (r->done_cb != NULL)
		r->done_cb(status, body, r->stream ? 0 : r->bodylen, error,
		    r->arg);
	http_client_req_free(r);
}

/*
 * A transfer that failed before any answer, with bases left untried,
 * starts again on the next one. Returns true when it did (r lives on).
 */
static bool
http_client_retry(struct http_client_req *r, CURLcode result)
{
	struct http_client *c = r->c;

	if (result == CURLE_OK || r->head_done || r->cancelled ||
	    r->bases == NULL || r->tries >= r->nbases || r->too_big)
		return false;
	log_debug("%s: %s%s: %s; trying the next server", __func__,
	    r->bases[r->base], r->path, r->errbuf[0] != '\0' ? r->errbuf :
	    cu->easy_strerror(result));
	if (r->added)
		cu->multi_remove_handle(c->multi, r->easy);
	r->added = false;
	r->base = (r->base + 1) % r->nbases;
	r->tries++;
	r->bodylen = 0;
	r->errbuf[0] = '\0';
	if (http_client_set_url(r) != 0 ||
	    cu->multi_add_handle(c->multi, r->easy) != CURLM_OK)
		return false;
	r->added = true;
	return true;
}

/* libcurl: one header line; an empty one ends a response's head. */
static size_t
http_client_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_client_req *r = arg;
	size_t len = size * n;
	long status = 0;

	if (r->cancelled)
		return 0;
	if (r->head_done || (len > 0 && data[0] != '\r' && data[0] != '\n'))
		return len;
	cu->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200)
		return len;	/* an interim response; the final follows */
	r->head_done = true;
	if (r->head_cb != NULL)
		r->head_cb(status, r->arg);
	return r->cancelled ? 0 : len;
}

/* libcurl: body bytes. Returning less than len fails the transfer. */
static size_t
http_client_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_client_req *r = arg;
	size_t len = size * n, cap;
	char *p;

	if (r->cancelled)
		return 0;
	if (r->stream) {
		r->body_cb(data, len, r->arg);
		return r->cancelled ? 0 : len;
	}
	if (len > r->max_body - r->bodylen) {
		r->too_big = true;
		return 0;
	}
	if (r->bodylen + len + 1 > r->bodycap) {
		cap = r->bodycap == 0 ? 4096 : r->bodycap;
		while (cap < r->bodylen + len + 1)
			cap *= 2;
		if ((p = realloc(r->body, cap)) == NULL) {
			snprintf(r->errbuf, sizeof(r->errbuf), "out of memory");
			return 0;
		}
		r->body = p;
		r->bodycap = cap;
	}
	memcpy(r->body + r->bodylen, data, len);
	r->bodylen += len;
	r->body[r->bodylen] = '\0';
	return len;
}
