/* SPDX-License-Identifier: MIT */
/* backend.c -- the seed's backend: its quote of the day on every GET. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "demo_addr.h"

#define BACKEND_DEFAULT_LISTEN	"0.0.0.0:5000"
#define BACKEND_DEFAULT_QUOTE	"Move your honourable arse!"

struct backend {
	const char	*quote;
	const char	*name;
};

static void	backend_request_cb(struct evhttp_request *, void *);
static void	backend_signal_cb(evutil_socket_t, short, void *);
static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: backend [--listen ADDR:PORT] [--quote TEXT] "
	    "[--name NAME]\n"
	    "  Serves its quote of the day (--quote, else $QUOTE) on every "
	    "GET.\n  Default listen address: " BACKEND_DEFAULT_LISTEN "\n");
	exit(2);
}

static void
backend_request_cb(struct evhttp_request *req, void *arg)
{
	struct backend *be = arg;
	struct evbuffer *body;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add_printf(body, "%s\n", be->quote);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if (be->name != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "X-Backend", be->name);
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
}

static void
backend_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen",	required_argument,	NULL, 'l' },
		{ "quote",	required_argument,	NULL, 'q' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct backend be = { NULL, NULL };
	const char *listen_at = BACKEND_DEFAULT_LISTEN;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;
	int ch;
	struct event_base *base;
	struct evhttp *http;
	struct event *sigint, *sigterm;

	while ((ch = getopt_long(argc, argv, "l:q:n:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_at = optarg;
			break;
		case 'q':
			be.quote = optarg;
			break;
		case 'n':
			be.name = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (be.quote == NULL)
		be.quote = getenv("QUOTE");
	if (be.quote == NULL || *be.quote == '\0')
		be.quote = BACKEND_DEFAULT_QUOTE;
	if (demo_split_hostport(listen_at, 5000, host, sizeof(host),
	    &port) == -1) {
		fprintf(stderr, "backend: bad listen address \"%s\"\n",
		    listen_at);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL ||
	    (http = evhttp_new(base)) == NULL) {
		fprintf(stderr, "backend: cannot create the event loop\n");
		return 1;
	}
	evhttp_set_gencb(http, backend_request_cb, &be);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	if (evhttp_bind_socket(http, host, port) != 0) {
		fprintf(stderr, "backend: cannot listen on %s: %s\n",
		    listen_at, strerror(errno));
		return 1;
	}
	sigint = evsignal_new(base, SIGINT, backend_signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, backend_signal_cb, base);
	if (sigint == NULL || sigterm == NULL ||
	    evsignal_add(sigint, NULL) == -1 ||
	    evsignal_add(sigterm, NULL) == -1) {
		fprintf(stderr, "backend: cannot handle signals\n");
		return 1;
	}
	fprintf(stderr, "backend: listening on %s, quote \"%s\"\n", listen_at,
	    be.quote);
	event_base_dispatch(base);
	event_free(sigint);
	event_free(sigterm);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
