/* SPDX-License-Identifier: MIT */
/*
 * frontapp.c -- the seed's front app: for each request, resolves
 * "backend", fetches its quote of the day from backend:5000 and shows
 * "Hi there!" with it. A backend failure gives a 502 that says why.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "clusterip/clusterip.h"
#include "demo_addr.h"

#define FRONT_DEFAULT_LISTEN	"0.0.0.0:8080"
#define FRONT_DEFAULT_BACKEND	"backend"
#define FRONT_BACKEND_PORT	5000
#define FRONT_MAX_QUOTE		4096

struct front {
	struct event_base	*base;
	struct cip_resolver	*dns;		/* --dns; NULL: glibc */
	const char		*backend;	/* name to resolve */
	uint16_t		 backend_port;
	int			 timeout_s;
	int			 resolved_fd[2]; /* lookups done */
	struct event		*resolved_ev;
	bool			 verbose;
};

/* One client request in flight. */
struct front_req {
	struct front		*fr;
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;	/* to the backend */
	char			 addr[INET6_ADDRSTRLEN];
	enum evhttp_request_error be_error;
	bool			 be_failed;
};

/* A glibc getaddrinfo run on its own thread, handed back via a pipe. */
struct front_lookup {
	struct front_req	*freq;
	char			*name;
	int			 gai_error;
	int			 sys_errno;
	struct addrinfo		*res;
};

static void	front_request_cb(struct evhttp_request *, void *);
static void	front_resolve(struct front_req *);
static void	front_resolved(struct front_req *, int, const char *,
		    struct addrinfo *);
static void	front_cip_cb(int, const struct cip_endpoint *, const char *,
		    void *);
static void	*front_lookup_thread(void *);
static void	front_lookup_done_cb(evutil_socket_t, short, void *);
static void	front_fetch(struct front_req *);
static void	front_fetch_done_cb(struct evhttp_request *, void *);
static void	front_fetch_error_cb(enum evhttp_request_error, void *);
static void	front_evcon_free_cb(evutil_socket_t, short, void *);
static void	front_reply_502(struct front_req *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	front_req_free(struct front_req *);
static const char *front_http_error(enum evhttp_request_error);
static void	front_signal_cb(evutil_socket_t, short, void *);
static int	front_setup_dns(struct front *, const char *);
static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: frontapp [--listen ADDR:PORT] "
	    "[--dns ADDR[:PORT]] [--backend NAME[:PORT]] [--timeout SECONDS] "
	    "[--verbose]\n"
	    "  Resolves the backend (default \"" FRONT_DEFAULT_BACKEND
	    ":5000\") per request with the\n"
	    "  system resolver, or with libclusterip through the DNS server\n"
	    "  given by --dns.\n"
	    "  Default listen address: " FRONT_DEFAULT_LISTEN "\n");
	exit(2);
}

static void
front_req_free(struct front_req *freq)
{
	static const struct timeval now = { 0, 0 };

	if (freq->evcon != NULL && event_base_once(freq->fr->base, -1,
	    EV_TIMEOUT, front_evcon_free_cb, freq->evcon, &now) == -1)
		fprintf(stderr, "frontapp: cannot free a connection\n");
	free(freq);
}

static void
front_reply_502(struct front_req *freq, const char *fmt, ...)
{
	struct evbuffer *body;
	va_list ap;

	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(freq->req, 502, NULL);
		goto done;
	}
	evbuffer_add_printf(body, "Hi there!\nBad gateway: ");
	va_start(ap, fmt);
	evbuffer_add_vprintf(body, fmt, ap);
	va_end(ap);
	evbuffer_add_printf(body, "\n");
	evhttp_add_header(evhttp_request_get_output_headers(freq->req),
	    "Content-Type", "text/plain; charset=utf-8");
	evhttp_send_reply(freq->req, 502, "Bad Gateway", body);
	evbuffer_free(body);
done:
	front_req_free(freq);
}

static void
front_request_cb(struct evhttp_request *req, void *arg)
{
	struct front *fr = arg;
	struct front_req *freq;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	if ((freq = calloc(1, sizeof(*freq))) == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	freq->fr = fr;
	freq->req = req;
	front_resolve(freq);
}

static void
front_resolve(struct front_req *freq)
{
	struct front *fr = freq->fr;
	struct front_lookup *lk;
	pthread_attr_t attr;
	pthread_t tid;

	if (fr->dns != NULL) {
		if (cip_resolve(fr->dns, fr->backend, NULL, front_cip_cb,
		    freq) == -1)
			front_reply_502(freq, "cannot resolve %s: bad name",
			    fr->backend);
		return;
	}
	if ((lk = calloc(1, sizeof(*lk))) == NULL ||
	    (lk->name = strdup(fr->backend)) == NULL) {
		free(lk);
		front_reply_502(freq, "cannot resolve %s: out of memory",
		    fr->backend);
		return;
	}
	lk->freq = freq;
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
	    pthread_create(&tid, &attr, front_lookup_thread, lk) != 0) {
		free(lk->name);
		free(lk);
		front_reply_502(freq, "cannot resolve %s: no thread",
		    fr->backend);
		return;
	}
	pthread_attr_destroy(&attr);
}

static void *
front_lookup_thread(void *arg)
{
	struct front_lookup *lk = arg;
	struct addrinfo hints;
	ssize_t n;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	lk->gai_error = getaddrinfo(lk->name, NULL, &hints, &lk->res);
	lk->sys_errno = errno;
	/* A pointer is far below PIPE_BUF: the write is atomic. */
	do {
		n = write(lk->freq->fr->resolved_fd[1], &lk, sizeof(lk));
	} while (n == -1 && errno == EINTR);
	return NULL;
}

static void
front_lookup_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct front_lookup *lk;
	ssize_t n;
	const char *why;

	for (;;) {
		n = read(fd, &lk, sizeof(lk));
		if (n != (ssize_t)sizeof(lk))
			return;
		why = NULL;
		if (lk->gai_error == EAI_SYSTEM)
			why = strerror(lk->sys_errno);
		else if (lk->gai_error != 0)
			why = gai_strerror(lk->gai_error);
		front_resolved(lk->freq, lk->gai_error, why, lk->res);
		if (lk->res != NULL)
			freeaddrinfo(lk->res);
		free(lk->name);
		free(lk);
	}
}

static void
front_cip_cb(int status, const struct cip_endpoint *ep, const char *reason,
    void *arg)
{
	struct front_req *freq = arg;
	struct addrinfo ai;
	struct sockaddr_in sin;

	if (status == CIP_ECANCELLED) {
		/* The loop is going away: no reply can be sent. */
		front_req_free(freq);
		return;
	}
	if (status != CIP_OK) {
		front_resolved(freq, status, reason != NULL ? reason :
		    "failed", NULL);
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = ep->addr;
	memset(&ai, 0, sizeof(ai));
	ai.ai_family = AF_INET;
	ai.ai_addr = (struct sockaddr *)&sin;
	ai.ai_addrlen = sizeof(sin);
	front_resolved(freq, 0, NULL, &ai);
}

static void
front_resolved(struct front_req *freq, int error, const char *why,
    struct addrinfo *res)
{
	struct front *fr = freq->fr;
	struct sockaddr_in *sin;

	if (error != 0 || res == NULL) {
		front_reply_502(freq, "cannot resolve %s: %s", fr->backend,
		    why != NULL ? why : "no address");
		return;
	}
	sin = (struct sockaddr_in *)res->ai_addr;
	inet_ntop(AF_INET, &sin->sin_addr, freq->addr, sizeof(freq->addr));
	if (fr->verbose)
		fprintf(stderr, "frontapp: %s is %s\n", fr->backend,
		    freq->addr);
	front_fetch(freq);
}

static void
front_fetch(struct front_req *freq)
{
	struct front *fr = freq->fr;
	struct evhttp_connection *evcon;
	struct evhttp_request *bereq;
	char host[300];

	evcon = evhttp_connection_base_new(fr->base, NULL, freq->addr,
	    fr->backend_port);
	if (evcon == NULL) {
		front_reply_502(freq, "cannot connect to %s:%u",
		    freq->addr, fr->backend_port);
		return;
	}
	evhttp_connection_set_timeout(evcon, fr->timeout_s);
	evhttp_connection_set_retries(evcon, 0);
	if ((bereq = evhttp_request_new(front_fetch_done_cb, freq)) == NULL) {
		evhttp_connection_free(evcon);
		front_reply_502(freq, "out of memory");
		return;
	}
	evhttp_request_set_error_cb(bereq, front_fetch_error_cb);
	snprintf(host, sizeof(host), "%s:%u", fr->backend, fr->backend_port);
	evhttp_add_header(evhttp_request_get_output_headers(bereq), "Host",
	    host);
	evhttp_add_header(evhttp_request_get_output_headers(bereq),
	    "Connection", "close");
	if (evhttp_make_request(evcon, bereq, EVHTTP_REQ_GET, "/") == -1) {
		/* evhttp freed bereq. */
		evhttp_connection_free(evcon);
		front_reply_502(freq, "cannot send a request to %s:%u",
		    freq->addr, fr->backend_port);
		return;
	}
	freq->evcon = evcon;
}

/*
 * Frees a backend connection from the loop, outside its own callbacks
 * (libevent 2.1's free-on-completion misses failed connects).
 */
static void
front_evcon_free_cb(evutil_socket_t fd, short what, void *arg)
{
	evhttp_connection_free(arg);
}

static void
front_fetch_error_cb(enum evhttp_request_error error, void *arg)
{
	struct front_req *freq = arg;

	freq->be_failed = true;
	freq->be_error = error;
}

static const char *
front_http_error(enum evhttp_request_error error)
{
	switch (error) {
	case EVREQ_HTTP_TIMEOUT:
		return "timed out";
	case EVREQ_HTTP_EOF:
		return "connection closed or refused";
	case EVREQ_HTTP_INVALID_HEADER:
		return "invalid response";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection failed";
	case EVREQ_HTTP_REQUEST_CANCEL:
		return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "response too long";
	}
	return "failed";
}

static void
front_fetch_done_cb(struct evhttp_request *bereq, void *arg)
{
	struct front_req *freq = arg;
	struct front *fr = freq->fr;
	struct evbuffer *in, *body;
	char quote[FRONT_MAX_QUOTE];
	size_t len;
	int code;

	code = bereq != NULL ? evhttp_request_get_response_code(bereq) : 0;
	if (bereq == NULL || code == 0 || freq->be_failed) {
		front_reply_502(freq, "backend %s (%s:%u) %s", fr->backend,
		    freq->addr, fr->backend_port, freq->be_failed ?
		    front_http_error(freq->be_error) :
		    "connection refused or failed");
		return;
	}
	if (code != 200) {
		front_reply_502(freq, "backend %s (%s:%u) answered %d %s",
		    fr->backend, freq->addr, fr->backend_port, code,
		    evhttp_request_get_response_code_line(bereq));
		return;
	}
	in = evhttp_request_get_input_buffer(bereq);
	len = evbuffer_get_length(in);
	if (len >= sizeof(quote))
		len = sizeof(quote) - 1;
	evbuffer_copyout(in, quote, len);
	quote[len] = '\0';
	while (len > 0 && (quote[len - 1] == '\n' || quote[len - 1] == '\r'))
		quote[--len] = '\0';
	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(freq->req, 500, NULL);
		front_req_free(freq);
		return;
	}
	evbuffer_add_printf(body, "Hi there!\nQuote of the day: %s\n", quote);
	evhttp_add_header(evhttp_request_get_output_headers(freq->req),
	    "Content-Type", "text/plain; charset=utf-8");
	evhttp_send_reply(freq->req, 200, "OK", body);
	evbuffer_free(body);
	front_req_free(freq);
}

static void
front_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

static int
front_setup_dns(struct front *fr, const char *server)
{
	char err[256];

	/* Pod-like: the cluster search list, ndots 5. */
	if ((fr->dns = cip_resolver_new(fr->base, server, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "frontapp: DNS server \"%s\": %s\n", server,
		    err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen",	required_argument,	NULL, 'l' },
		{ "dns",	required_argument,	NULL, 'd' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct front fr;
	const char *listen_at = FRONT_DEFAULT_LISTEN, *dns = NULL;
	char host[INET6_ADDRSTRLEN], *colon, *ep;
	char *backend = NULL;
	unsigned long v;
	uint16_t port;
	struct evhttp *http;
	struct event *sigint, *sigterm;
	int ch, rc = 1;

	memset(&fr, 0, sizeof(fr));
	fr.backend_port = FRONT_BACKEND_PORT;
	fr.timeout_s = 5;
	while ((ch = getopt_long(argc, argv, "l:d:b:t:vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_at = optarg;
			break;
		case 'd':
			dns = optarg;
			break;
		case 'b':
			free(backend);
			if ((backend = strdup(optarg)) == NULL)
				return 1;
			if ((colon = strrchr(backend, ':')) != NULL) {
				*colon = '\0';
				v = strtoul(colon + 1, &ep, 10);
				if (*ep != '\0' || v == 0 || v > 65535)
					usage();
				fr.backend_port = (uint16_t)v;
			}
			if (*backend == '\0')
				usage();
			break;
		case 't':
			v = strtoul(optarg, &ep, 10);
			if (*ep != '\0' || v == 0 || v > 3600)
				usage();
			fr.timeout_s = (int)v;
			break;
		case 'v':
			fr.verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	fr.backend = backend != NULL ? backend : FRONT_DEFAULT_BACKEND;
	if (demo_split_hostport(listen_at, 8080, host, sizeof(host),
	    &port) == -1) {
		fprintf(stderr, "frontapp: bad listen address \"%s\"\n",
		    listen_at);
		free(backend);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((fr.base = event_base_new()) == NULL ||
	    (http = evhttp_new(fr.base)) == NULL) {
		fprintf(stderr, "frontapp: cannot create the event loop\n");
		free(backend);
		return 1;
	}
	if (dns != NULL) {
		if (front_setup_dns(&fr, dns) == -1)
			goto done;
	} else {
		if (pipe2(fr.resolved_fd, O_CLOEXEC | O_NONBLOCK) == -1 ||
		    (fr.resolved_ev = event_new(fr.base, fr.resolved_fd[0],
		    EV_READ | EV_PERSIST, front_lookup_done_cb, &fr)) == NULL ||
		    event_add(fr.resolved_ev, NULL) == -1) {
			fprintf(stderr, "frontapp: pipe: %s\n",
			    strerror(errno));
			goto done;
		}
		/* The loop reads without blocking; lookup threads may block. */
		fcntl(fr.resolved_fd[1], F_SETFL, 0);
	}
	evhttp_set_gencb(http, front_request_cb, &fr);
	evhttp_set_timeout(http, 30);
	if (evhttp_bind_socket(http, host, port) != 0) {
		fprintf(stderr, "frontapp: cannot listen on %s: %s\n",
		    listen_at, strerror(errno));
		goto done;
	}
	sigint = evsignal_new(fr.base, SIGINT, front_signal_cb, fr.base);
	sigterm = evsignal_new(fr.base, SIGTERM, front_signal_cb, fr.base);
	if (sigint == NULL || sigterm == NULL ||
	    evsignal_add(sigint, NULL) == -1 ||
	    evsignal_add(sigterm, NULL) == -1) {
		fprintf(stderr, "frontapp: cannot handle signals\n");
		goto done;
	}
	fprintf(stderr, "frontapp: listening on %s, backend %s:%u through %s\n",
	    listen_at, fr.backend, fr.backend_port,
	    dns != NULL ? dns : "the system resolver");
	event_base_dispatch(fr.base);
	event_free(sigint);
	event_free(sigterm);
	rc = 0;
done:
	/* Pending lookups end with CIP_ECANCELLED and free themselves. */
	cip_resolver_free(fr.dns);
	evhttp_free(http);
	if (fr.resolved_ev != NULL)
		event_free(fr.resolved_ev);
	event_base_free(fr.base);
	free(backend);
	return rc;
}
