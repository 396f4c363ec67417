/* SPDX-License-Identifier: MIT */
/* upstream.c -- c-ares channels on our event_base forwarding raw queries. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "util.h"
#include "cares_ev.h"
#include "upstream.h"


/* The largest UDP answer c-ares reads (its MAXENDSSZ). */
#define UPSTREAM_UDP_MAX	4096

/* One c-ares channel: UDP, or TCP (ARES_FLAG_USEVC). */
struct up_chan {
	struct upstream	*u;
	struct cares_ev	 ev;
};

struct upstream {
	struct event_base	*base;
	struct up_chan		 udp, tcp;
	size_t			 nservers;
	uint64_t		 udp_ms;	/* each server's share, UDP */
	size_t			*inflight;	/* own_inflight, or shared */
	size_t			 own_inflight;
	size_t			 max_inflight;
	struct metric		*m_ok, *m_fail, *m_timeout, *m_refused;
	struct metric		*m_duration;
};

struct up_query {
	struct upstream	*u;
	upstream_cb	*cb;
	void		*arg;
	uint64_t	 start_ms;
	bool		 in_send;	/* ares_send has not returned yet */
	bool		 done_early;
};

#define UP_QUERIES(field, result) { offsetof(struct upstream, field),	\
	"clusterip_upstream_queries_total", METRIC_COUNTER,		\
	"Queries forwarded upstream, by result.", "result=\"" result "\"" }
static const struct metric_def up_metrics[] = {
	UP_QUERIES(m_ok, "ok"),
	UP_QUERIES(m_fail, "fail"),
	UP_QUERIES(m_timeout, "timeout"),
	UP_QUERIES(m_refused, "overload"),
};

static int	lib_refs;

static void	up_answer_cb(void *, int, int, unsigned char *, int);
static bool	up_is_self(const struct ares_addr_port_node *,
    const struct sockaddr_storage *, size_t);
static int	up_chan_init(struct upstream *, struct up_chan *, bool,
    uint64_t, char *const *, size_t, const struct sockaddr_storage *,
    size_t);
static void	up_chan_free(struct up_chan *);

static bool
up_is_self(const struct ares_addr_port_node *n,
    const struct sockaddr_storage *self, size_t nself)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	size_t i;

	for (i = 0; i < nself; i++) {
		if (self[i].ss_family == AF_INET && n->family == AF_INET) {
			s4 = (const struct sockaddr_in *)&self[i];
			if (ntohs(s4->sin_port) != n->udp_port)
				continue;
			if (s4->sin_addr.s_addr == n->addr.addr4.s_addr)
				return true;
			if (s4->sin_addr.s_addr == htonl(INADDR_ANY) &&
			    (ntohl(n->addr.addr4.s_addr) >> 24) == 127)
				return true;
		} else if (self[i].ss_family == AF_INET6 &&
		    n->family == AF_INET6) {
			s6 = (const struct sockaddr_in6 *)&self[i];
			if (ntohs(s6->sin6_port) != n->udp_port)
				continue;
			if (memcmp(&s6->sin6_addr, &n->addr.addr6, 16) == 0)
				return true;
			if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) &&
			    memcmp(&n->addr.addr6, &in6addr_loopback, 16) == 0)
				return true;
		}
	}
	return false;
}

static int
up_chan_init(struct upstream *u, struct up_chan *c, bool tcp,
    uint64_t timeout_ms, char *const *servers, size_t n,
    const struct sockaddr_storage *self, size_t nself)
{
	struct ares_options o;
	struct ares_addr_port_node *list = NULL, *nodes = NULL, *cl, *p, **tail;
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t i, m, kept = 0;
	int rc, mask;
	char a[INET6_ADDRSTRLEN];

	c->u = u;
	memset(&o, 0, sizeof(o));
	/*
	 * EDNS: c-ares 1.18 cuts UDP answers to 512 bytes without it. No
	 * IGNTC: a truncated UDP answer (or one over ednspsz) is asked
	 * again over TCP by c-ares itself, so what comes back is whole.
	 * NOCHECKRESP: SERVFAIL, REFUSED and NOTIMP are relayed as the
	 * upstream sent them, not turned into a failure of our own.
	 */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS |
	    ARES_FLAG_NOCHECKRESP |
	    (tcp ? ARES_FLAG_USEVC | ARES_FLAG_STAYOPEN : 0);
	o.tries = 1;
	o.timeout = (int)(timeout_ms > 60000 ? 60000 : timeout_ms);
	o.ednspsz = UPSTREAM_UDP_MAX;
	mask = ARES_OPT_FLAGS | ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_EDNSPSZ;
	if ((rc = cares_ev_init(&c->ev, u->base, &o, mask)) != ARES_SUCCESS) {
		log_warnx("upstream: ares_init_options: %s", ares_strerror(rc));
		return -1;
	}
	if (n > 0) {
		if ((nodes = calloc(n, sizeof(*nodes))) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			if (parse_hostport(servers[i], 53, &ss, &sslen) != 0) {
				log_warnx("upstream: bad address %s",
				    servers[i]);
				free(nodes);
				return -1;
			}
			nodes[i].family = ss.ss_family;
			if (ss.ss_family == AF_INET) {
				struct sockaddr_in *s4 = (void *)&ss;

				nodes[i].addr.addr4 = s4->sin_addr;
				nodes[i].udp_port = nodes[i].tcp_port =
				    ntohs(s4->sin_port);
			} else {
				struct sockaddr_in6 *s6 = (void *)&ss;

				memcpy(&nodes[i].addr.addr6, &s6->sin6_addr,
				    16);
				nodes[i].udp_port = nodes[i].tcp_port =
				    ntohs(s6->sin6_port);
			}
			nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
		}
		list = nodes;
	} else {
		/*
		 * A copy of c-ares' list: dropping a node from it below
		 * must not lose the node's memory.
		 */
		if ((rc = ares_get_servers_ports(c->ev.ch, &cl)) !=
		    ARES_SUCCESS) {
			log_warnx("upstream: ares_get_servers_ports: %s",
			    ares_strerror(rc));
			return -1;
		}
		for (m = 0, p = cl; p != NULL; p = p->next)
			m++;
		if (m > 0 && (nodes = calloc(m, sizeof(*nodes))) == NULL) {
			ares_free_data(cl);
			return -1;
		}
		for (i = 0, p = cl; p != NULL; p = p->next, i++) {
			nodes[i] = *p;
			nodes[i].next = i + 1 < m ? &nodes[i + 1] : NULL;
		}
		ares_free_data(cl);
		list = nodes;
	}
	/* Never ourselves: a query would loop until it timed out. */
	for (tail = &list; (p = *tail) != NULL; ) {
		if (p->udp_port == 0)
			p->udp_port = p->tcp_port = 53;
		if (up_is_self(p, self, nself)) {
			if (!tcp)
				log_warnx("upstream: not forwarding to %s "
				    "port %d: that is this server",
				    inet_ntop(p->family, &p->addr, a,
				    sizeof(a)) ? a : "?", p->udp_port);
			*tail = p->next;
			continue;
		}
		kept++;
		tail = &p->next;
	}
	rc = ares_set_servers_ports(c->ev.ch, kept > 0 ? list : NULL);
	free(nodes);
	if (rc != ARES_SUCCESS) {
		log_warnx("upstream: ares_set_servers_ports: %s",
		    ares_strerror(rc));
		return -1;
	}
	u->nservers = kept;
	return 0;
}

static void
up_chan_free(struct up_chan *c)
{
	cares_ev_destroy(&c->ev);
}

struct upstream *
upstream_new(struct event_base *base, char *const *servers, size_t n,
    const struct sockaddr_storage *self, size_t nself, uint64_t timeout_ms,
    size_t max_inflight, size_t *shared_inflight)
{
	static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
	    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
	struct upstream *u;
	size_t per;
	int rc;

	if (lib_refs++ == 0 &&
	    (rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		log_warnx("upstream: ares_library_init: %s", ares_strerror(rc));
		lib_refs--;
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL)
		goto fail;
	u->base = base;
	u->max_inflight = max_inflight;
	u->inflight = shared_inflight != NULL ? shared_inflight :
	    &u->own_inflight;
	/* tries = 1: each server gets one share of the whole timeout. */
	per = n > 0 ? n : 1;
	u->udp_ms = timeout_ms;
	if (up_chan_init(u, &u->udp, false, u->udp_ms, servers, n, self,
	    nself) != 0)
		goto fail;
	if (u->nservers > 1) {
		per = u->nservers;
		u->udp_ms = timeout_ms / per < 50 ? 50 : timeout_ms / per;
		up_chan_free(&u->udp);
		if (up_chan_init(u, &u->udp, false, u->udp_ms, servers, n,
		    self, nself) != 0)
			goto fail;
	}
	if (up_chan_init(u, &u->tcp, true,
	    timeout_ms / per < 50 ? 50 : timeout_ms / per, servers, n, self,
	    nself) != 0)
		goto fail;
	metrics_get_defs(u, up_metrics, CIP_ARRAY_LEN(up_metrics), "");
	u->m_duration = metrics_get("clusterip_upstream_duration_seconds",
	    METRIC_HISTOGRAM, "Time to an upstream answer.", "", bounds,
	    CIP_ARRAY_LEN(bounds));
	log_info("upstream: %zu server%s", u->nservers,
	    u->nservers == 1 ? "" : "s");
	return u;
fail:
	upstream_free(u);
	if (u == NULL && --lib_refs == 0)
		ares_library_cleanup();
	return NULL;
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	up_chan_free(&u->udp);
	up_chan_free(&u->tcp);
	free(u);
	if (--lib_refs == 0)
		ares_library_cleanup();
}

size_t
upstream_servers(const struct upstream *u)
{
	return u->nservers;
}

uint64_t
upstream_longest_ms(const struct upstream *u)
{
	return u->udp_ms * (u->nservers > 0 ? u->nservers : 1);
}

bool
upstream_can_send(const struct upstream *u)
{
	return u->nservers > 0 && *u->inflight < u->max_inflight;
}

static void
up_answer_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct up_query *uq = arg;
	struct upstream *u = uq->u;
	bool ok, cancelled;

	(void)timeouts;
	if (uq->in_send) {
		/* Failed inside ares_send: upstream_send reports it. */
		uq->done_early = true;
		return;
	}
	(*u->inflight)--;
	ok = status == ARES_SUCCESS && abuf != NULL && alen >= 12;
	cancelled = status == ARES_EDESTRUCTION || status == ARES_ECANCELLED;
	if (ok)
		metric_add(u->m_ok, 1);
	else if (status == ARES_ETIMEOUT)
		metric_add(u->m_timeout, 1);
	else if (!cancelled)
		metric_add(u->m_fail, 1);
	if (!cancelled)
		metric_observe(u->m_duration,
		    (double)(now_ms() - uq->start_ms) / 1000.0);
	uq->cb(uq->arg, ok, cancelled, ok ? abuf : NULL,
	    ok ? (size_t)alen : 0);
	free(uq);
}

int
upstream_send(struct upstream *u, const uint8_t *q, size_t len, bool tcp,
    upstream_cb *cb, void *arg)
{
	struct up_query *uq;
	struct up_chan *c = tcp ? &u->tcp : &u->udp;

	if (!upstream_can_send(u) || !c->ev.ok) {
		metric_add(u->m_refused, 1);
		return -1;
	}
	if ((uq = calloc(1, sizeof(*uq))) == NULL)
		return -1;
	uq->u = u;
	uq->cb = cb;
	uq->arg = arg;
	uq->start_ms = now_ms();
	uq->in_send = true;
	ares_send(c->ev.ch, q, (int)len, up_answer_cb, uq);
	uq->in_send = false;
	if (uq->done_early) {
		metric_add(u->m_fail, 1);
		free(uq);
		return -1;
	}
	(*u->inflight)++;
	cares_ev_rearm(&c->ev);
	return 0;
}
