/* SPDX-License-Identifier: MIT */
/*
 * test_http_client.c -- http_client against a small HTTP server on a unix
 * socket, both on one event_base: whole bodies, a chunked stream (head
 * before body), the body cap, 404, a refused connection, a timeout,
 * requests started and cancelled from inside the callbacks, a POST whose
 * body the server echoes, and a request moving past a server that
 * refuses to one that answers (the server also listens on 127.0.0.1).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "util.h"
#include "http_client.h"

/* The server's answers, by path. */
static const char resp_len[] = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n"
    "Content-Type: application/json\r\nConnection: close\r\n\r\n[1,2,3]";
static const char resp_404[] = "HTTP/1.1 404 Not Found\r\n"
    "Content-Length: 31\r\nConnection: close\r\n\r\n"
    "{\"message\":\"No such container\"}";
static const char resp_stream_head[] = "HTTP/1.1 200 OK\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";
static const char resp_stream_body[] = "6\r\n{\"a\":1\r\n3;ext=1\r\n}\n{\r\n"
    "5\r\n\"b\":2\r\n2\r\n}\n\r\n0\r\n\r\n";

struct fixture;

struct srv_conn {
	struct fixture		*f;
	size_t			 slot;		/* in f->conns */
	struct bufferevent	*bev;
	struct event		*later;		/* the stream's chunks */
	bool			 answered;
};

struct fixture {
	struct event_base	*base;
	struct evconnlistener	*lis;
	struct evconnlistener	*tcp;		/* 127.0.0.1:tcp_port */
	uint16_t		 tcp_port;
	struct http_client	*c;
	char			 path[108];
	char			 url[64];
	char			 request[2048];	/* the last request's head */
	struct srv_conn		*conns[16];	/* the server's, open */
	/* What the client reported. */
	int			 heads, dones, bodies;
	long			 head_status, status;
	char			 body[256];
	size_t			 bodylen;
	bool			 body_before_head;
	char			 error[256];
	bool			 failed;
	int			 pending;	/* requests still running */
	/* Actions from inside callbacks. */
	bool			 cancel_in_head;
	bool			 start_in_body;
	struct http_client_req	*req;
};

static void
srv_free(struct srv_conn *sc)
{
	sc->f->conns[sc->slot] = NULL;
	if (sc->later != NULL)
		event_free(sc->later);
	bufferevent_free(sc->bev);
	free(sc);
}

static void
srv_write_cb(struct bufferevent *bev, void *arg)
{
	struct srv_conn *sc = arg;

	if (sc->answered && sc->later == NULL)
		srv_free(sc);	/* all written: close */
}

static void
srv_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv_conn *sc = arg;

	event_free(sc->later);
	sc->later = NULL;
	bufferevent_write(sc->bev, resp_stream_body,
	    sizeof(resp_stream_body) - 1);
}

static void
srv_read_cb(struct bufferevent *bev, void *arg)
{
	struct srv_conn *sc = arg;
	struct fixture *f = sc->f;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	struct timeval tv = { 0, 30000 };
	size_t n;

	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0 || sc->answered)
		return;
	n = MINIMUM((size_t)end.pos, sizeof(f->request) - 1);
	evbuffer_copyout(in, f->request, n);
	f->request[n] = '\0';
	if (evbuffer_search(in, "POST /echo ", 11, NULL).pos == 0) {
		/* Answers once the whole body (Content-Length) is in. */
		const char *cl = strstr(f->request, "Content-Length: ");
		char echo[2048];
		size_t blen;

		assert_non_null(cl);
		blen = strtoul(cl + 16, NULL, 10);
		assert_true(blen < sizeof(echo));
		if (evbuffer_get_length(in) < (size_t)end.pos + 4 + blen)
			return;
		evbuffer_drain(in, (size_t)end.pos + 4);
		evbuffer_remove(in, echo, blen);
		sc->answered = true;
		bufferevent_write(bev, "HTTP/1.1 200 OK\r\nConnection: close"
		    "\r\n", 35);
		evbuffer_add_printf(bufferevent_get_output(bev),
		    "Content-Length: %zu\r\n\r\n", blen);
		bufferevent_write(bev, echo, blen);
		return;
	}
	sc->answered = true;
	if (evbuffer_search(in, "GET /len ", 9, NULL).pos == 0)
		bufferevent_write(bev, resp_len, sizeof(resp_len) - 1);
	else if (evbuffer_search(in, "GET /404 ", 9, NULL).pos == 0)
		bufferevent_write(bev, resp_404, sizeof(resp_404) - 1);
	else if (evbuffer_search(in, "GET /stream ", 12, NULL).pos == 0) {
		bufferevent_write(bev, resp_stream_head,
		    sizeof(resp_stream_head) - 1);
		sc->later = evtimer_new(bufferevent_get_base(bev),
		    srv_later_cb, sc);
		evtimer_add(sc->later, &tv);
	}
	/* /silent: never answers. */
}

static void
srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
	srv_free(arg);
}

static void
srv_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct fixture *f = arg;
	struct srv_conn *sc;

	sc = calloc(1, sizeof(*sc));
	assert_non_null(sc);
	sc->f = f;
	while (sc->slot < CIP_ARRAY_LEN(f->conns) && f->conns[sc->slot])
		sc->slot++;
	assert_true(sc->slot < CIP_ARRAY_LEN(f->conns));
	f->conns[sc->slot] = sc;
	sc->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(sc->bev);
	bufferevent_setcb(sc->bev, srv_read_cb, srv_write_cb, srv_event_cb,
	    sc);
	bufferevent_enable(sc->bev, EV_READ | EV_WRITE);
}

static int
setup(void **state)
{
	struct fixture *f;
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	socklen_t slen;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_non_null(f->base = event_base_new());
	snprintf(f->path, sizeof(f->path), "/tmp/test_http_client.%d.sock",
	    (int)getpid());
	unlink(f->path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, f->path, sizeof(sun.sun_path));
	f->lis = evconnlistener_new_bind(f->base, srv_accept_cb, f,
	    LEV_OPT_CLOSE_ON_FREE, 16, (struct sockaddr *)&sun, sizeof(sun));
	assert_non_null(f->lis);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->tcp = evconnlistener_new_bind(f->base, srv_accept_cb, f,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(f->tcp);
	slen = sizeof(sin);
	assert_int_equal(getsockname(evconnlistener_get_fd(f->tcp),
	    (struct sockaddr *)&sin, &slen), 0);
	f->tcp_port = ntohs(sin.sin_port);
	assert_non_null(f->c = http_client_new(f->base));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	http_client_free(f->c);
	for (i = 0; i < CIP_ARRAY_LEN(f->conns); i++)
		if (f->conns[i] != NULL)
			srv_free(f->conns[i]);
	evconnlistener_free(f->lis);
	evconnlistener_free(f->tcp);
	unlink(f->path);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void
done_cb(long status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct fixture *f = arg;

	f->dones++;
	f->status = status;
	if (body != NULL) {
		assert_int_equal(body[len], '\0');
		f->bodylen = MINIMUM(len, sizeof(f->body) - 1);
		memcpy(f->body, body, f->bodylen);
	}
	f->failed = error != NULL;
	if (error != NULL)
		strlcpy(f->error, error, sizeof(f->error));
	f->req = NULL;
	if (--f->pending == 0)
		event_base_loopexit(f->base, NULL);
}

static void
head_cb(long status, void *arg)
{
	struct fixture *f = arg;

	f->heads++;
	f->head_status = status;
	if (f->cancel_in_head) {
		http_client_cancel(f->req);
		f->req = NULL;
		if (--f->pending == 0)
			event_base_loopexit(f->base, NULL);
	}
}

static void
body_cb(const char *data, size_t len, void *arg)
{
	struct fixture *f = arg;
	struct http_client_opts o = { 0 };
	size_t n;

	if (f->heads == 0)
		f->body_before_head = true;
	f->bodies++;
	n = MINIMUM(len, sizeof(f->body) - 1 - f->bodylen);
	memcpy(f->body + f->bodylen, data, n);
	f->bodylen += n;
	if (f->start_in_body) {
		f->start_in_body = false;
		o.url = "http://docker/len";
		o.unix_path = f->path;
		o.max_body = 1024;
		o.timeout_ms = 5000;
		o.done_cb = done_cb;
		o.arg = f;
		assert_non_null(http_client_get(f->c, &o));
		f->pending++;
	}
}

/* Starts GET path; runs the loop until every request is done. */
static void
get(struct fixture *f, const char *path, bool stream, size_t max_body,
    uint64_t timeout_ms)
{
	struct http_client_opts o = { 0 };
	char url[128];
	struct timeval guard = { 10, 0 };

	snprintf(url, sizeof(url), "http://docker%s", path);
	o.url = url;
	o.unix_path = f->path;
	o.max_body = max_body;
	o.timeout_ms = timeout_ms;
	o.connect_timeout_ms = 2000;
	o.head_cb = head_cb;
	o.body_cb = stream ? body_cb : NULL;
	o.done_cb = done_cb;
	o.arg = f;
	assert_non_null(f->req = http_client_get(f->c, &o));
	f->pending++;
	event_base_loopexit(f->base, &guard);
	event_base_dispatch(f->base);
	assert_int_equal(f->pending, 0);
}

static void
test_http_client_get_whole(void **state)
{
	struct fixture *f = *state;

	get(f, "/len", false, 1024, 5000);
	assert_int_equal(f->dones, 1);
	assert_false(f->failed);
	assert_int_equal(f->heads, 1);
	assert_int_equal(f->status, 200);
	assert_int_equal(f->bodylen, 7);
	assert_memory_equal(f->body, "[1,2,3]", 7);
	assert_non_null(strstr(f->request, "GET /len HTTP/1.1\r\n"));
	assert_non_null(strstr(f->request, "\r\nHost: docker\r\n"));
	assert_non_null(strstr(f->request, "\r\nAccept: application/json"));
}

static void
test_http_client_get_404(void **state)
{
	struct fixture *f = *state;

	get(f, "/404", false, 1024, 5000);
	assert_false(f->failed);
	assert_int_equal(f->status, 404);
	assert_int_equal(f->bodylen, 31);
}

/* The head comes before any body byte; the chunks arrive unwrapped. */
static void
test_http_client_stream(void **state)
{
	struct fixture *f = *state;

	get(f, "/stream", true, 0, 0);
	assert_int_equal(f->dones, 1);
	assert_false(f->failed);
	assert_int_equal(f->heads, 1);
	assert_int_equal(f->head_status, 200);
	assert_false(f->body_before_head);
	assert_int_equal(f->bodylen, 16);
	assert_memory_equal(f->body, "{\"a\":1}\n{\"b\":2}\n", 16);
}

static void
test_http_client_too_big(void **state)
{
	struct fixture *f = *state;

	get(f, "/len", false, 6, 5000);
	assert_true(f->failed);
	assert_non_null(strstr(f->error, "body over 6 bytes"));
}

static void
test_http_client_refused(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);	/* nobody listens there now */
	get(f, "/len", false, 1024, 5000);
	assert_true(f->failed);
	assert_int_equal(f->status, 0);
	assert_int_equal(f->heads, 0);
}

static void
test_http_client_timeout(void **state)
{
	struct fixture *f = *state;

	get(f, "/silent", false, 1024, 200);
	assert_true(f->failed);
	assert_int_equal(f->heads, 0);
}

/* Cancelled from its own head callback: no more callbacks, no leak. */
static void
test_http_client_cancel_in_head(void **state)
{
	struct fixture *f = *state;

	f->cancel_in_head = true;
	get(f, "/stream", true, 0, 0);
	assert_int_equal(f->heads, 1);
	assert_int_equal(f->bodies, 0);
	assert_int_equal(f->dones, 0);
	/* The client still works. */
	f->cancel_in_head = false;
	get(f, "/len", false, 1024, 5000);
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->status, 200);
}

/* A request started from inside libcurl runs once libcurl returns. */
static void
test_http_client_start_in_body(void **state)
{
	struct fixture *f = *state;

	f->start_in_body = true;
	get(f, "/stream", true, 0, 0);
	assert_int_equal(f->dones, 2);
	assert_false(f->failed);
	assert_int_equal(f->status, 200);
}

/* Freeing the client with requests in flight calls nothing back. */
static void
test_http_client_free_busy(void **state)
{
	struct fixture *f = *state;
	struct http_client_opts o = { 0 };
	struct timeval tv = { 0, 100000 };

	o.url = "http://docker/silent";
	o.unix_path = f->path;
	o.max_body = 1024;
	o.done_cb = done_cb;
	o.arg = f;
	assert_non_null(http_client_get(f->c, &o));
	assert_non_null(http_client_get(f->c, &o));
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
	http_client_free(f->c);
	f->c = NULL;
	assert_int_equal(f->dones, 0);
}

/* Runs the loop until every request is done. */
static void
run(struct fixture *f)
{
	struct timeval guard = { 10, 0 };

	event_base_loopexit(f->base, &guard);
	event_base_dispatch(f->base);
	assert_int_equal(f->pending, 0);
}

/* A POST carries its body and a JSON content type, with no Expect. */
static void
test_http_client_post(void **state)
{
	struct fixture *f = *state;
	struct http_client_opts o = { 0 };
	char big[1500];

	memset(big, 'x', sizeof(big));
	big[0] = '"';
	big[sizeof(big) - 1] = '"';
	o.url = "http://etcd/echo";
	o.unix_path = f->path;
	o.post = big;
	o.post_len = sizeof(big);
	o.auth_header = "Authorization: tok123";
	o.max_body = 4096;
	o.timeout_ms = 5000;
	o.done_cb = done_cb;
	o.arg = f;
	assert_non_null(f->req = http_client_get(f->c, &o));
	f->pending++;
	run(f);
	assert_false(f->failed);
	assert_int_equal(f->status, 200);
	assert_int_equal(f->bodylen, sizeof(f->body) - 1);
	assert_memory_equal(f->body, big, f->bodylen);
	assert_non_null(strstr(f->request, "POST /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(f->request,
	    "\r\nContent-Type: application/json"));
	assert_non_null(strstr(f->request, "\r\nAuthorization: tok123"));
	assert_null(strstr(f->request, "Expect:"));
}

/*
 * Bases: a port nobody listens on, then the server. The request moves
 * on, and *member names the one that answered; the next request starts
 * there. With every base refusing, the request fails after each was
 * tried once.
 */
static void
test_http_client_failover(void **state)
{
	struct fixture *f = *state;
	struct http_client_opts o = { 0 };
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	char dead[64], live[64];
	const char *bases[3];
	size_t member = 0;
	int fd;

	/* A port that was free a moment ago: bound, then closed. */
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u",
	    ntohs(sin.sin_port));
	snprintf(live, sizeof(live), "http://127.0.0.1:%u", f->tcp_port);
	bases[0] = dead;
	bases[1] = dead;
	bases[2] = live;
	o.url = "/len";
	o.bases = bases;
	o.nbases = 3;
	o.member = &member;
	o.max_body = 1024;
	o.timeout_ms = 5000;
	o.connect_timeout_ms = 2000;
	o.done_cb = done_cb;
	o.arg = f;
	assert_non_null(f->req = http_client_get(f->c, &o));
	f->pending++;
	run(f);
	assert_false(f->failed);
	assert_int_equal(f->status, 200);
	assert_int_equal(member, 2);
	assert_memory_equal(f->body, "[1,2,3]", 7);

	/* Every base refuses: one failure, after the last one tried. */
	bases[2] = dead;
	member = 1;
	f->dones = 0;
	assert_non_null(f->req = http_client_get(f->c, &o));
	f->pending++;
	run(f);
	assert_int_equal(f->dones, 1);
	assert_true(f->failed);
	assert_int_equal(f->status, 0);
	assert_int_equal(member, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http_client_get_whole,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_get_404,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_stream,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_too_big,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_timeout,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_cancel_in_head,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_start_in_body,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_free_busy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_post,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_client_failover,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
