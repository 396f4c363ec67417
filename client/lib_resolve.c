/* SPDX-License-Identifier: MIT */
/*
 * lib_resolve.c -- libclusterip: a service name to its VIP and port
 * through c-ares on the caller's event_base (SRV, then A).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "clusterip/clusterip.h"
#include "cares_ev.h"
#include "lib_internal.h"

#define CIP_RESOLVE_TIMEOUT_MS	2000
#define CIP_RESOLVE_TRIES	2

struct cip_resolver {
	struct cares_ev		 ev;
};

struct cip_query {
	struct cip_resolver	*res;
	cip_resolve_cb		*cb;
	void			*arg;
	struct cip_endpoint	 ep;
};

static char *cip_search_domains[] = {
	"default.svc.cluster.local", "svc.cluster.local", "cluster.local",
};

static void	cip_host_cb(void *, int, int, struct hostent *);
static void	cip_srv_cb(void *, int, int, unsigned char *, int);
static void	cip_query_finish(struct cip_query *, int, const char *);

struct cip_resolver *
cip_resolver_new(struct event_base *base, const char *server, char *err,
    size_t errlen)
{
	static int initialized;
	struct ares_options opts;
	struct cip_resolver *res;
	int mask, rc;

	if (!initialized) {
		if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
			cip_errf(err, errlen, "c-ares: %s", ares_strerror(rc));
			return NULL;
		}
		initialized = 1;
	}
	if ((res = calloc(1, sizeof(*res))) == NULL) {
		cip_errf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&opts, 0, sizeof(opts));
	opts.timeout = CIP_RESOLVE_TIMEOUT_MS;
	opts.tries = CIP_RESOLVE_TRIES;
	opts.ndots = 5;
	opts.domains = cip_search_domains;
	opts.ndomains = (int)(sizeof(cip_search_domains) /
	    sizeof(cip_search_domains[0]));
	opts.lookups = (char *)"b";
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
	    ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS;
	if ((rc = cares_ev_init(&res->ev, base, &opts, mask)) !=
	    ARES_SUCCESS) {
		cip_errf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(res);
		return NULL;
	}
	if (server != NULL && *server != '\0' &&
	    (rc = ares_set_servers_ports_csv(res->ev.ch, server)) !=
	    ARES_SUCCESS) {
		cip_errf(err, errlen, "bad DNS server \"%s\": %s", server,
		    ares_strerror(rc));
		cip_resolver_free(res);
		return NULL;
	}
	return res;
}

void
cip_resolver_free(struct cip_resolver *res)
{
	if (res == NULL)
		return;
	/* Pending callbacks run here with ARES_EDESTRUCTION. */
	cares_ev_destroy(&res->ev);
	free(res);
}

static void
cip_query_finish(struct cip_query *q, int status, const char *reason)
{
	q->cb(status, status == CIP_OK ? &q->ep : NULL, reason, q->arg);
	free(q);
}

static int
cip_status(int ares_status)
{
	switch (ares_status) {
	case ARES_SUCCESS:
		return CIP_OK;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return CIP_ENOTFOUND;
	case ARES_ETIMEOUT:
		return CIP_ETIMEOUT;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		return CIP_ECANCELLED;
	default:
		return CIP_EFAIL;
	}
}

static void
cip_host_cb(void *arg, int status, int timeouts, struct hostent *h)
{
	struct cip_query *q = arg;

	if (status != ARES_SUCCESS) {
		cip_query_finish(q, cip_status(status), ares_strerror(status));
		return;
	}
	if (h == NULL || h->h_addrtype != AF_INET || h->h_addr_list == NULL ||
	    h->h_addr_list[0] == NULL) {
		cip_query_finish(q, CIP_ENOTFOUND, "no IPv4 address");
		return;
	}
	memcpy(&q->ep.addr, h->h_addr_list[0], sizeof(q->ep.addr));
	if (q->ep.name[0] == '\0' && h->h_name != NULL)
		snprintf(q->ep.name, sizeof(q->ep.name), "%s", h->h_name);
	cip_query_finish(q, CIP_OK, NULL);
}

static void
cip_srv_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct cip_query *q = arg;
	struct ares_srv_reply *srv = NULL, *s, *best;
	char target[260];

	if (status != ARES_SUCCESS) {
		cip_query_finish(q, cip_status(status), ares_strerror(status));
		return;
	}
	if ((status = ares_parse_srv_reply(abuf, alen, &srv)) != ARES_SUCCESS ||
	    srv == NULL) {
		cip_query_finish(q, status == ARES_SUCCESS || status ==
		    ARES_ENODATA ? CIP_ENOTFOUND : CIP_EFAIL,
		    status == ARES_SUCCESS ? "no SRV record" :
		    ares_strerror(status));
		return;
	}
	/* Lowest priority, then highest weight (no random pick needed). */
	for (best = s = srv; s != NULL; s = s->next)
		if (s->priority < best->priority || (s->priority ==
		    best->priority && s->weight > best->weight))
			best = s;
	q->ep.port = best->port;
	snprintf(q->ep.name, sizeof(q->ep.name), "%s", best->host);
	snprintf(target, sizeof(target), "%s.", best->host);
	ares_free_data(srv);
	ares_gethostbyname(q->res->ev.ch, target, AF_INET, cip_host_cb, q);
	cares_ev_rearm(&q->res->ev);
}

int
cip_resolve(struct cip_resolver *res, const char *name,
    const char *port_name, cip_resolve_cb *cb, void *arg)
{
	struct cip_query *q;
	char qname[300];
	int n;

	if (name == NULL || *name == '\0' || strlen(name) > 253 ||
	    (port_name != NULL && (*port_name == '\0' ||
	    strlen(port_name) > 15)))
		return -1;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->res = res;
	q->cb = cb;
	q->arg = arg;
	if (port_name != NULL) {
		n = snprintf(qname, sizeof(qname), "_%s._tcp.%s", port_name,
		    name);
		if (n < 0 || (size_t)n >= sizeof(qname)) {
			free(q);
			return -1;
		}
		ares_search(res->ev.ch, qname, ns_c_in, ns_t_srv, cip_srv_cb,
		    q);
	} else
		ares_gethostbyname(res->ev.ch, name, AF_INET, cip_host_cb, q);
	cares_ev_rearm(&res->ev);
	return 0;
}

struct cip_blocking {
	int			 done;
	int			 status;
	struct cip_endpoint	*ep;
	char			*err;
	size_t			 errlen;
};

static void
cip_blocking_cb(int status, const struct cip_endpoint *ep,
    const char *reason, void *arg)
{
	struct cip_blocking *b = arg;

	b->done = 1;
	b->status = status;
	if (status == CIP_OK)
		*b->ep = *ep;
	else
		cip_errf(b->err, b->errlen, "%s", reason ? reason : "failed");
}

int
cip_resolve_blocking(const char *server, const char *name,
    const char *port_name, struct cip_endpoint *ep, char *err, size_t errlen)
{
	struct event_base *base;
	struct cip_resolver *res;
	struct cip_blocking b;

	memset(ep, 0, sizeof(*ep));
	memset(&b, 0, sizeof(b));
	b.ep = ep;
	b.err = err;
	b.errlen = errlen;
	if ((base = event_base_new()) == NULL) {
		cip_errf(err, errlen, "out of memory");
		return CIP_EFAIL;
	}
	if ((res = cip_resolver_new(base, server, err, errlen)) == NULL) {
		event_base_free(base);
		return CIP_EFAIL;
	}
	if (cip_resolve(res, name, port_name, cip_blocking_cb, &b) != 0) {
		cip_errf(err, errlen, "bad name \"%s\"", name);
		b.status = CIP_EFAIL;
		b.done = 1;
	}
	while (!b.done)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			break;
	if (!b.done) {
		cip_errf(err, errlen, "event loop failed");
		b.status = CIP_EFAIL;
	}
	cip_resolver_free(res);
	event_base_free(base);
	return b.status;
}
