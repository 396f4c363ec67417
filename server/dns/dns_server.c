/* SPDX-License-Identifier: MIT */
/*
 * dns_server.c -- UDP and TCP DNS listeners: each query is answered from
 * the cluster zone, the cache, or forwarded upstream; the rcode policy.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "conf.h"
#include "listen_guard.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "runtime.h"
#include "util.h"
#include "dns_acl.h"
#include "dns_cache.h"
#include "dns_relay.h"
#include "dns_server.h"
#include "dns_wire.h"
#include "dns_zone.h"
#include "upstream.h"
#include "vip.h"

#define UDP_BATCH		32
#define UDP_ROUNDS		8	/* batches per readiness, then yield */
#define UDP_RCVBUF		(4 << 20)
#define UDP_IN_MAX		4096
#define TCP_OUT_HIGH		(256 * 1024)	/* stop reading beyond */
#define TCP_MAX_MSG		65535
#define NTYPES			13
#define NRCODES			8

struct dns_listener {
	struct dns_server	*srv;
	int			 udp_fd;
	struct event		*udp_ev;
	struct evconnlistener	*tcp;
	struct sockaddr_storage	 addr;
	bool			 wildcard;	/* needs IP_PKTINFO replies */
};

struct dns_tcp {
	LIST_ENTRY(dns_tcp)	 entry;		/* in the server's conns */
	struct dns_server	*srv;
	struct bufferevent	*bev;
	size_t			 pending;	/* upstream queries */
	bool			 eof;
	char			 peer[64];
	struct sockaddr_storage	 addr;		/* the client, for dns-allow */
	socklen_t		 addrlen;
};

/* An ExternalName being resolved: the client's query, the CNAMEs so far. */
struct dns_chase {
	struct dns_query	 cq;
	char			 targets[DNS_RELAY_MAX_CHAIN][DNS_MAX_NAME + 1];
	uint32_t		 ttls[DNS_RELAY_MAX_CHAIN];
	size_t			 n;
	size_t			 cname_len;	/* the zone's answer, in out */
	uint16_t		 cname_rcode;
};

/* Where a forwarded query's answer goes. */
struct dns_req {
	struct dns_server	*srv;
	struct dns_query	 q;
	struct dns_listener	*udp;		/* UDP: listener, client */
	struct sockaddr_storage	 client;
	socklen_t		 clientlen;
	struct in_pktinfo	 pi4;
	struct in6_pktinfo	 pi6;
	bool			 has_pi;
	struct dns_tcp		*tcp;		/* TCP: NULL once it closed */
	struct upstream		*up;		/* the forwarder it went to */
	struct dns_chase	*chase;		/* q is an ExternalName's target */
	LIST_ENTRY(dns_req)	 entry;		/* in the server's reqs */
};

/*
 * A forwarder a reload replaced: its queries finish on it, and it is
 * freed once its timeout has passed. Each reload leaves its own.
 */
struct dns_retired {
	LIST_ENTRY(dns_retired)	 entry;
	struct dns_server	*srv;
	struct upstream		*up;
	struct event		*ev;
};

struct dns_server {
	struct runtime		*rt;
	struct event_base	*base;
	struct dns_listener	*ls;
	size_t			 nls;
	struct strlist		 bound;		/* dns-listen as bound */
	struct dns_zone		*zone;
	struct dns_cache	*cache;
	size_t			 cache_max;
	struct dns_acl		*allow;		/* may use the forwarder */
	struct upstream		*up;
	LIST_HEAD(, dns_retired) retired;	/* replaced by reloads */
	size_t			 up_inflight;	/* of up and the retired */
	size_t			 edns;
	uint64_t		 tcp_idle_ms;
	size_t			 tcp_max;
	size_t			 ntcp;
	struct listen_guard	*guard;		/* of the TCP listeners */
	LIST_HEAD(, dns_tcp)	 conns;		/* open TCP connections */
	LIST_HEAD(, dns_req)	 reqs;		/* queries gone upstream */
	struct metric		*m_q[NTYPES][NRCODES];
	struct metric		*m_hits, *m_misses, *m_dropped;
	struct metric		*m_refused_acl, *m_refused_norec;
	/*
	 * UDP batch buffers, allocated once. The receive headers stay set
	 * up between batches: only what recvmmsg changed is reset.
	 */
	struct mmsghdr		 rx[UDP_BATCH];
	struct iovec		 rxiov[UDP_BATCH];
	struct sockaddr_storage	 rxfrom[UDP_BATCH];
	union {
		struct cmsghdr	c;
		uint8_t		b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	}			 rxcm[UDP_BATCH];
	int			 rxdirty;	/* headers recvmmsg wrote */
	int			 rxwild;	/* -1: not set up, else wildcard */
	uint8_t			*in;		/* UDP_BATCH * UDP_IN_MAX */
	uint8_t			*out;		/* UDP_BATCH * outcap */
	size_t			 outcap;
	uint8_t			 tcpbuf[TCP_MAX_MSG];
	uint8_t			 chasebuf[TCP_MAX_MSG];	/* a target's answer */
	uint8_t			 tcpout[TCP_MAX_MSG + 2];
};

static struct dns_server *server;

static void	dns_count(struct dns_server *, uint16_t, uint16_t);
static size_t	dns_process(struct dns_server *, const uint8_t *, size_t,
    uint8_t *, size_t, struct dns_req *, bool);
static void	dns_udp_cb(evutil_socket_t, short, void *);
static void	dns_udp_put_pktinfo(struct msghdr *, uint8_t *, int,
    const struct dns_req *);
static void	dns_udp_send(struct dns_listener *, const uint8_t *, size_t,
    const struct sockaddr_storage *, socklen_t, const struct dns_req *);
static void	dns_upstream_cb(void *, bool, bool, const uint8_t *, size_t);
static size_t	dns_forward(struct dns_server *, const struct dns_query *,
    struct dns_chase *, uint8_t *, size_t, size_t, struct dns_req *, bool);
static size_t	dns_chase(struct dns_server *, const struct dns_query *,
    uint8_t *, size_t, size_t, size_t, uint16_t, struct dns_req *, bool);
static struct dns_relay_msg *dns_chase_msg(const struct dns_chase *,
    const uint8_t *, size_t, uint32_t, bool);
static size_t	dns_answer_msg(struct dns_server *,
    const struct dns_relay_msg *, const struct dns_query *,
    const struct dns_chase *, uint32_t, uint8_t *, size_t, size_t);
static void	dns_req_free(struct dns_req *);
#define DNS_REFUSED	"Names outside the cluster zone refused, by reason."
static const struct metric_def dns_metrics[] = {
	{ offsetof(struct dns_server, m_hits), "clusterip_dns_cache_hits_total",
	    METRIC_COUNTER, "Forwarded names answered from the cache.", "" },
	{ offsetof(struct dns_server, m_misses),
	    "clusterip_dns_cache_misses_total", METRIC_COUNTER,
	    "Forwarded names not in the cache.", "" },
	{ offsetof(struct dns_server, m_dropped), "clusterip_dns_dropped_total",
	    METRIC_COUNTER, "Messages dropped unanswered (no header, QR=1).",
	    "" },
	{ offsetof(struct dns_server, m_refused_acl),
	    "clusterip_dns_refused_total", METRIC_COUNTER, DNS_REFUSED,
	    "reason=\"not-allowed\"" },
	{ offsetof(struct dns_server, m_refused_norec),
	    "clusterip_dns_refused_total", METRIC_COUNTER, DNS_REFUSED,
	    "reason=\"no-recursion\"" },
};

static void	dns_accept_cb(struct evconnlistener *, evutil_socket_t,
    struct sockaddr *, int, void *);
static void	dns_tcp_read_cb(struct bufferevent *, void *);
static void	dns_tcp_write_cb(struct bufferevent *, void *);
static void	dns_tcp_event_cb(struct bufferevent *, short, void *);
static void	dns_tcp_write(struct dns_tcp *, const uint8_t *, size_t);
static void	dns_tcp_free(struct dns_tcp *);
static void	dns_tcp_maybe_close(struct dns_tcp *);
static int	dns_listen(struct dns_server *, struct dns_listener *,
    const char *);
static size_t	dns_conf_edns(const struct cip_conf *);
static struct upstream *dns_conf_upstream(struct dns_server *,
    const struct cip_conf *);
static struct dns_zone *dns_conf_zone(struct dns_server *,
    const struct cip_conf *, uint32_t);
static void	dns_retire_cb(evutil_socket_t, short, void *);
static bool	dns_refuse(struct dns_server *, const struct dns_query *,
    const struct dns_req *, bool);
static struct dns_acl *dns_conf_allow(struct dns_server *,
    const struct cip_conf *);

/* --- metrics ------------------------------------------------------------ */

static int
dns_type_index(uint16_t t)
{
	static const uint16_t types[NTYPES - 1] = { DNS_TYPE_A, DNS_TYPE_NS,
	    DNS_TYPE_CNAME, DNS_TYPE_SOA, DNS_TYPE_PTR, DNS_TYPE_MX,
	    DNS_TYPE_TXT, DNS_TYPE_AAAA, DNS_TYPE_SRV, DNS_TYPE_AXFR,
	    DNS_TYPE_IXFR, DNS_TYPE_ANY };
	int i;

	for (i = 0; i < NTYPES - 1; i++)
		if (types[i] == t)
			return i;
	return NTYPES - 1;
}

static int
dns_rcode_index(uint16_t r)
{
	return r <= DNS_RCODE_REFUSED ? r : r == DNS_RCODE_BADVERS ? 6 : 7;
}

/* One query answered with rcode; series are created on first use. */
static void
dns_count(struct dns_server *s, uint16_t qtype, uint16_t rcode)
{
	struct metric **m;
	char labels[64];

	m = &s->m_q[dns_type_index(qtype)][dns_rcode_index(rcode)];
	if (*m == NULL) {
		(void)snprintf(labels, sizeof(labels),
		    "qtype=\"%s\",rcode=\"%s\"", dns_wire_type_name(qtype),
		    dns_wire_rcode_name(rcode));
		*m = metrics_get("clusterip_dns_queries_total", METRIC_COUNTER,
		    "DNS queries answered, by question type and rcode.",
		    labels, NULL, 0);
	}
	metric_add(*m, 1);
}

/* --- the policy ----------------------------------------------------------- */

/*
 * True when a name outside the zone is refused to the client of proto:
 * before the cache (cache_miss false) a client outside dns-allow; after
 * a cache miss (cache_miss true) a query with RD=0. RD=0 gets what the
 * cache holds, as Unbound's access-control allow_snoop: only dns-allow
 * clients reach the cache, and their lookups fill it. A miss is REFUSED
 * (as Unbound's allow and PowerDNS Recursor 5 answer any RD=0): a
 * forwarder has no referral to give, and SERVFAIL would claim the name
 * is broken. Counted by reason.
 */
static bool
dns_refuse(struct dns_server *s, const struct dns_query *q,
    const struct dns_req *proto, bool cache_miss)
{
	if (!cache_miss) {
		if (dns_acl_match(s->allow,
		    (const struct sockaddr *)&proto->client))
			return false;
		metric_add(s->m_refused_acl, 1);
		return true;
	}
	if (q->flags & DNS_FLAG_RD)
		return false;
	metric_add(s->m_refused_norec, 1);
	return true;
}

/*
 * Answers one message. Returns the answer length in out (0: nothing to
 * send now). When the query must be forwarded, the request is built
 * from proto (which holds the origin) and sent upstream.
 */
static size_t
dns_process(struct dns_server *s, const uint8_t *pkt, size_t len,
    uint8_t *out, size_t outcap, struct dns_req *proto, bool tcp)
{
	struct dns_query q;
	enum dns_parse pr;
	size_t alen, maxlen;
	uint16_t rcode;

	pr = dns_wire_parse_query(pkt, len, &q);
	switch (pr) {
	case DNS_PARSE_OK:
		break;
	case DNS_PARSE_DROP:
		metric_add(s->m_dropped, 1);
		return 0;
	case DNS_PARSE_NOTIMP:
	case DNS_PARSE_FORMERR:
	case DNS_PARSE_BADVERS:
	default:
		rcode = pr == DNS_PARSE_NOTIMP ? DNS_RCODE_NOTIMP :
		    pr == DNS_PARSE_BADVERS ? DNS_RCODE_BADVERS :
		    DNS_RCODE_FORMERR;
		dns_count(s, q.qtype, rcode);
		return dns_wire_error(out, outcap, &q, rcode, false, s->edns);
	}
	maxlen = tcp ? TCP_MAX_MSG : dns_wire_udp_max(&q, s->edns);
	switch (dns_zone_answer(s->zone, &q, out, outcap, maxlen, &alen,
	    &rcode)) {
	case DNS_ZONE_ANSWERED:
		dns_count(s, q.qtype, rcode);
		return alen;
	case DNS_ZONE_CHASE:
		return dns_chase(s, &q, out, outcap, maxlen, alen, rcode, proto,
		    tcp);
	case DNS_ZONE_FORWARD:
	default:
		break;
	}
	return dns_forward(s, &q, NULL, out, outcap, maxlen, proto, tcp);
}

/*
 * The cache, else upstream, for q; ch (owned from here on; NULL for a
 * plain forwarded name) when q is the target of the client's
 * ExternalName chain. Returns what dns_process returns.
 */
static size_t
dns_forward(struct dns_server *s, const struct dns_query *q,
    struct dns_chase *ch, uint8_t *out, size_t outcap, size_t maxlen,
    struct dns_req *proto, bool tcp)
{
	const struct dns_query *cq = ch != NULL ? &ch->cq : q;
	struct dns_req *r;
	size_t alen, fwdlen;
	uint8_t *fwd;
	uint16_t rcode;

	rcode = DNS_RCODE_REFUSED;
	if (dns_refuse(s, cq, proto, false))
		goto error;
	if (s->cache != NULL) {
		const struct dns_relay_msg *hit;
		uint32_t age;

		if ((hit = dns_cache_get(s->cache, q, now_ms(), &age)) !=
		    NULL && (alen = dns_answer_msg(s, hit, q, ch, age, out,
		    outcap, maxlen)) > 0) {
			metric_add(s->m_hits, 1);
			dns_count(s, cq->qtype, dns_wire_rcode(out, alen));
			free(ch);
			return alen;
		}
		metric_add(s->m_misses, 1);
	}
	if (dns_refuse(s, cq, proto, true))
		goto error;
	if (s->up == NULL || upstream_servers(s->up) == 0) {
		rcode = DNS_RCODE_REFUSED;
		goto error;
	}
	rcode = DNS_RCODE_SERVFAIL;
	/* Over the in-flight cap, upstream_send refuses and counts it. */
	if ((r = malloc(sizeof(*r))) == NULL)
		goto error;
	*r = *proto;
	r->srv = s;
	r->q = *q;
	r->chase = ch;
	r->up = s->up;
	/* Upstream gets the question with EDNS, whatever the client sent. */
	if ((fwd = dns_relay_query(q, &fwdlen)) == NULL) {
		free(r);
		goto error;
	}
	if (upstream_send(s->up, fwd, fwdlen, tcp, dns_upstream_cb, r) != 0) {
		free(fwd);
		free(r);
		goto error;
	}
	free(fwd);
	LIST_INSERT_HEAD(&s->reqs, r, entry);
	if (r->tcp != NULL)
		r->tcp->pending++;
	return 0;
error:
	if (ch != NULL) {
		/* Nowhere to ask: the zone's answer, the CNAME alone. */
		alen = ch->cname_len;
		dns_count(s, cq->qtype, ch->cname_rcode);
		free(ch);
		return alen;
	}
	dns_count(s, q->qtype, rcode);
	return dns_wire_error(out, outcap, q, rcode, false, s->edns);
}

/* ch's CNAME chain, then fin's records (see dns_relay_chain). */
static struct dns_relay_msg *
dns_chase_msg(const struct dns_chase *ch, const uint8_t *fin, size_t finlen,
    uint32_t age_s, bool aa)
{
	char *targets[DNS_RELAY_MAX_CHAIN];
	size_t i;

	for (i = 0; i < ch->n; i++)
		targets[i] = (char *)(uintptr_t)ch->targets[i];
	return dns_relay_chain(&ch->cq, targets, ch->ttls, ch->n, fin, finlen,
	    age_s, aa);
}

/*
 * m (a relayed answer to q, age_s old) written into out for the client:
 * as it is, or after ch's CNAME chain (then the client asked ch->cq).
 * Returns the length, 0 on failure.
 */
static size_t
dns_answer_msg(struct dns_server *s, const struct dns_relay_msg *m,
    const struct dns_query *q, const struct dns_chase *ch, uint32_t age_s,
    uint8_t *out, size_t outcap, size_t maxlen)
{
	struct dns_relay_msg *chain;
	size_t n;

	if (ch == NULL)
		return dns_relay_write(m, q, age_s, s->edns, out, outcap,
		    maxlen);
	if ((chain = dns_chase_msg(ch, m->wire, m->len, age_s, false)) == NULL)
		return 0;
	n = dns_relay_write(chain, &ch->cq, 0, s->edns, out, outcap, maxlen);
	dns_relay_msg_free(chain);
	return n;
}

/*
 * q named an ExternalName service: out holds the zone's answer with the
 * CNAME alone (alen bytes, rcode). Follows the chain of CNAMEs through
 * the cluster zone and adds the records of the last target, from the
 * zone, the cache, or upstream (then returns 0: the answer comes
 * later). On any failure the CNAME alone is the answer.
 */
static size_t
dns_chase(struct dns_server *s, const struct dns_query *q, uint8_t *out,
    size_t outcap, size_t maxlen, size_t alen, uint16_t rcode,
    struct dns_req *proto, bool tcp)
{
	struct dns_chase *ch;
	struct dns_relay_msg *m;
	struct dns_query tq;
	const char *t;
	size_t tlen, n;
	uint16_t trc;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		goto cname_only;
	ch->cq = *q;
	ch->cname_len = alen;
	ch->cname_rcode = rcode;
	for (;;) {
		t = dns_zone_chase_target(s->zone, &ch->ttls[ch->n]);
		if (strlcpy(ch->targets[ch->n], t, sizeof(ch->targets[0])) >=
		    sizeof(ch->targets[0]))
			goto cname_only;
		ch->n++;
		if (dns_relay_make_query(ch->targets[ch->n - 1], q, &tq) != 0)
			goto cname_only;
		switch (dns_zone_answer(s->zone, &tq, s->chasebuf,
		    sizeof(s->chasebuf), sizeof(s->chasebuf), &tlen, &trc)) {
		case DNS_ZONE_CHASE:
			if (ch->n < DNS_RELAY_MAX_CHAIN)
				continue;
			/* A loop, or too long: as a resolver would say. */
			free(ch);
			dns_count(s, q->qtype, DNS_RCODE_SERVFAIL);
			return dns_wire_error(out, outcap, q,
			    DNS_RCODE_SERVFAIL, false, s->edns);
		case DNS_ZONE_ANSWERED:
			m = dns_chase_msg(ch, s->chasebuf, tlen, 0, true);
			n = m != NULL ? dns_relay_write(m, q, 0, s->edns, out,
			    outcap, maxlen) : 0;
			dns_relay_msg_free(m);
			if (n == 0)
				goto cname_only;
			free(ch);
			dns_count(s, q->qtype, dns_wire_rcode(out, n));
			return n;
		case DNS_ZONE_FORWARD:
		default:
			return dns_forward(s, &tq, ch, out, outcap, maxlen,
			    proto, tcp);
		}
	}
cname_only:
	/* out still holds the zone's answer: nothing above wrote there. */
	free(ch);
	dns_count(s, q->qtype, rcode);
	return alen;
}

static void
dns_req_free(struct dns_req *r)
{
	if (r == NULL)
		return;
	LIST_REMOVE(r, entry);
	if (r->tcp != NULL) {
		r->tcp->pending--;
		dns_tcp_maybe_close(r->tcp);
	}
	free(r->chase);
	free(r);
}

static void
dns_upstream_cb(void *arg, bool ok, bool cancelled, const uint8_t *ans,
    size_t len)
{
	struct dns_req *r = arg;
	struct dns_server *s = r->srv;
	const struct dns_query *cq;
	struct dns_relay_msg *m;
	uint8_t *buf = s->tcpout + 2;
	size_t maxlen, n;

	if (cancelled) {
		dns_req_free(r);
		return;
	}
	if (r->udp == NULL && r->tcp == NULL) {
		/* The TCP client went away meanwhile. */
		dns_req_free(r);
		return;
	}
	cq = r->chase != NULL ? &r->chase->cq : &r->q;
	maxlen = r->tcp != NULL ? TCP_MAX_MSG : dns_wire_udp_max(cq, s->edns);
	m = ok ? dns_relay_parse(&r->q, ans, len) : NULL;
	if (ok && m == NULL)
		log_debug("dns: a malformed or unrelated upstream answer (%zu "
		    "bytes) answered SERVFAIL", len);
	n = m != NULL ? dns_answer_msg(s, m, &r->q, r->chase, 0, buf,
	    TCP_MAX_MSG, maxlen) : 0;
	if (n == 0) {
		n = dns_wire_error(buf, TCP_MAX_MSG, cq, DNS_RCODE_SERVFAIL,
		    false, s->edns);
		dns_count(s, cq->qtype, DNS_RCODE_SERVFAIL);
	} else
		dns_count(s, cq->qtype, dns_wire_rcode(buf, n));
	/* Whole, never cut; and not an answer of servers a reload replaced. */
	if (m != NULL && s->cache != NULL && r->up == s->up)
		(void)dns_cache_put(s->cache, &r->q, m, now_ms());
	else
		dns_relay_msg_free(m);
	if (n > 0) {
		if (r->tcp != NULL)
			dns_tcp_write(r->tcp, buf, n);
		else
			dns_udp_send(r->udp, buf, n, &r->client, r->clientlen,
			    r);
	}
	dns_req_free(r);
}

/* --- UDP ------------------------------------------------------------------ */

/*
 * Puts the address the query came to into mh's control buffer cbuf
 * (room for an in6_pktinfo), so a wildcard listener answers from it.
 */
static void
dns_udp_put_pktinfo(struct msghdr *mh, uint8_t *cbuf, int family,
    const struct dns_req *pi)
{
	struct cmsghdr *c = (struct cmsghdr *)(void *)cbuf;
	const void *data = family == AF_INET ? (const void *)&pi->pi4 :
	    (const void *)&pi->pi6;
	size_t len = family == AF_INET ? sizeof(pi->pi4) : sizeof(pi->pi6);

	memset(cbuf, 0, CMSG_SPACE(sizeof(struct in6_pktinfo)));
	c->cmsg_level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	c->cmsg_type = family == AF_INET ? IP_PKTINFO : IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	mh->msg_control = cbuf;
	mh->msg_controllen = CMSG_SPACE(len);
}

static void
dns_udp_send(struct dns_listener *l, const uint8_t *buf, size_t len,
    const struct sockaddr_storage *to, socklen_t tolen,
    const struct dns_req *pi)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr	c;
		uint8_t		b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cm;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_name = (void *)(uintptr_t)to;
	mh.msg_namelen = tolen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (l->wildcard && pi->has_pi)
		dns_udp_put_pktinfo(&mh, cm.b, to->ss_family, pi);
	if (sendmsg(l->udp_fd, &mh, 0) == -1)
		log_debug("dns: sendmsg: %s", strerror(errno));
}

/* Reads the local address a datagram came to (wildcard listeners). */
static void
dns_udp_pktinfo(struct msghdr *mh, struct dns_req *r)
{
	struct cmsghdr *c;

	r->has_pi = false;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&r->pi4, CMSG_DATA(c), sizeof(r->pi4));
			r->pi4.ipi_ifindex = 0;
			r->pi4.ipi_spec_dst = r->pi4.ipi_addr;
			r->has_pi = true;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&r->pi6, CMSG_DATA(c), sizeof(r->pi6));
			r->pi6.ipi6_ifindex = 0;
			r->has_pi = true;
		}
	}
}

/*
 * Makes the receive headers ready for a batch on a listener that is
 * (or not) a wildcard: all of them when the kind changed, else only
 * those the last recvmmsg wrote to.
 */
static void
dns_udp_rx_reset(struct dns_server *s, bool wildcard)
{
	struct msghdr *mh;
	int i, n = s->rxdirty;

	if (s->rxwild != (int)wildcard) {
		n = UDP_BATCH;
		s->rxwild = wildcard;
	}
	for (i = 0; i < n; i++) {
		mh = &s->rx[i].msg_hdr;
		memset(mh, 0, sizeof(*mh));
		s->rxiov[i].iov_base = s->in + (size_t)i * UDP_IN_MAX;
		s->rxiov[i].iov_len = UDP_IN_MAX;
		mh->msg_name = &s->rxfrom[i];
		mh->msg_namelen = sizeof(s->rxfrom[i]);
		mh->msg_iov = &s->rxiov[i];
		mh->msg_iovlen = 1;
		if (wildcard) {
			mh->msg_control = s->rxcm[i].b;
			mh->msg_controllen = sizeof(s->rxcm[i]);
		}
	}
	s->rxdirty = 0;
}

static void
dns_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_listener *l = arg;
	struct dns_server *s = l->srv;
	struct mmsghdr *in = s->rx, out[UDP_BATCH];
	struct sockaddr_storage *from = s->rxfrom;
	struct iovec iout[UDP_BATCH];
	union {
		struct cmsghdr	c;
		uint8_t		b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cout[UDP_BATCH];
	struct dns_req proto;
	int i, n, nout, sent, round;
	size_t alen;

	(void)what;
	memset(&proto, 0, sizeof(proto));
	proto.udp = l;
	for (round = 0; round < UDP_ROUNDS; round++) {
		dns_udp_rx_reset(s, l->wildcard);
		n = recvmmsg(fd, in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n > 0)
			s->rxdirty = n;
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("dns: recvmmsg: %s", strerror(errno));
			return;
		}
		nout = 0;
		for (i = 0; i < n; i++) {
			uint8_t *ob = s->out + (size_t)nout * s->outcap;
			size_t len = in[i].msg_len;

			proto.client = from[i];
			proto.clientlen = in[i].msg_hdr.msg_namelen;
			if (l->wildcard)
				dns_udp_pktinfo(&in[i].msg_hdr, &proto);
			alen = dns_process(s, s->in + (size_t)i * UDP_IN_MAX,
			    len, ob, s->outcap, &proto, false);
			if (alen == 0)
				continue;
			iout[nout].iov_base = ob;
			iout[nout].iov_len = alen;
			memset(&out[nout].msg_hdr, 0, sizeof(out[nout].msg_hdr));
			out[nout].msg_hdr.msg_name = &from[i];
			out[nout].msg_hdr.msg_namelen =
			    in[i].msg_hdr.msg_namelen;
			out[nout].msg_hdr.msg_iov = &iout[nout];
			out[nout].msg_hdr.msg_iovlen = 1;
			if (l->wildcard && proto.has_pi)
				dns_udp_put_pktinfo(&out[nout].msg_hdr,
				    cout[nout].b, from[i].ss_family, &proto);
			nout++;
		}
		for (i = 0; i < nout; i += sent) {
			sent = sendmmsg(fd, out + i, (unsigned)(nout - i),
			    MSG_DONTWAIT);
			if (sent <= 0) {
				/* A full buffer drops answers, as UDP does. */
				log_debug("dns: sendmmsg: %s", strerror(errno));
				break;
			}
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* --- TCP ------------------------------------------------------------------ */

static void
dns_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct dns_listener *l = arg;
	struct dns_server *s = l->srv;
	struct dns_tcp *t;
	struct timeval tv;

	(void)lev;
	(void)salen;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->bev = bufferevent_socket_new(s->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("dns: out of memory for a TCP client");
		free(t);
		close(fd);
		return;
	}
	t->srv = s;
	sockaddr_str(sa, t->peer, sizeof(t->peer));
	t->addrlen = (socklen_t)MINIMUM((size_t)salen, sizeof(t->addr));
	memcpy(&t->addr, sa, t->addrlen);
	LIST_INSERT_HEAD(&s->conns, t, entry);
	if (++s->ntcp >= s->tcp_max)
		listen_guard_hold(s->guard, true);
	ms_to_tv(s->tcp_idle_ms, &tv);
	bufferevent_set_timeouts(t->bev, &tv, &tv);
	bufferevent_setcb(t->bev, dns_tcp_read_cb, dns_tcp_write_cb,
	    dns_tcp_event_cb, t);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
}

static void
dns_tcp_free(struct dns_tcp *t)
{
	struct dns_server *s = t->srv;
	struct dns_req *r;

	LIST_FOREACH(r, &s->reqs, entry)
		if (r->tcp == t)
			r->tcp = NULL;
	LIST_REMOVE(t, entry);
	bufferevent_free(t->bev);
	free(t);
	if (--s->ntcp < s->tcp_max)
		listen_guard_hold(s->guard, false);
}

static void
dns_tcp_maybe_close(struct dns_tcp *t)
{
	if (t->eof && t->pending == 0 &&
	    evbuffer_get_length(bufferevent_get_output(t->bev)) == 0)
		dns_tcp_free(t);
}

static void
dns_tcp_write(struct dns_tcp *t, const uint8_t *buf, size_t len)
{
	uint8_t pfx[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct evbuffer *out = bufferevent_get_output(t->bev);

	if (evbuffer_add(out, pfx, 2) != 0 || evbuffer_add(out, buf, len) != 0)
		log_debug("dns: %s: answer dropped (out of memory)", t->peer);
	if (evbuffer_get_length(out) > TCP_OUT_HIGH)
		bufferevent_disable(t->bev, EV_READ);
}

static void
dns_tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_tcp *t = arg;
	struct dns_server *s = t->srv;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct dns_req proto;
	uint8_t pfx[2];
	size_t mlen, alen;

	memset(&proto, 0, sizeof(proto));
	proto.tcp = t;
	proto.client = t->addr;
	proto.clientlen = t->addrlen;
	while (evbuffer_get_length(in) >= 2) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    TCP_OUT_HIGH) {
			/* A client that does not read: stop reading it. */
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (evbuffer_copyout(in, pfx, 2) != 2)
			return;
		mlen = (size_t)pfx[0] << 8 | pfx[1];
		if (mlen < DNS_HDR_LEN) {
			log_debug("dns: %s: bad TCP length %zu", t->peer, mlen);
			dns_tcp_free(t);
			return;
		}
		if (evbuffer_get_length(in) < 2 + mlen)
			return;
		evbuffer_drain(in, 2);
		if (evbuffer_remove(in, s->tcpbuf, mlen) != (int)mlen) {
			dns_tcp_free(t);
			return;
		}
		alen = dns_process(s, s->tcpbuf, mlen, s->tcpout + 2,
		    TCP_MAX_MSG, &proto, true);
		if (alen > 0)
			dns_tcp_write(t, s->tcpout + 2, alen);
	}
}

static void
dns_tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct dns_tcp *t = arg;

	if (t->eof) {
		dns_tcp_maybe_close(t);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) <= TCP_OUT_HIGH &&
	    !(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		dns_tcp_read_cb(bev, t);
	}
}

static void
dns_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_tcp *t = arg;

	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    t->pending > 0) {
		/* Answers still to come: keep waiting for them. */
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* The client is done sending: finish what it asked. */
		t->eof = true;
		bufferevent_disable(bev, EV_READ);
		dns_tcp_maybe_close(t);
		return;
	}
	dns_tcp_free(t);
}

/* --- listeners ------------------------------------------------------------ */

static int
dns_listen(struct dns_server *s, struct dns_listener *l, const char *text)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd = -1, on = 1, bufsz = UDP_RCVBUF;
	const char *what = "udp";
	char a[128];

	l->srv = s;
	l->udp_fd = -1;
	if (parse_hostport(text, 53, &ss, &sslen) != 0) {
		log_warnx("dns: bad listen address %s", text);
		return -1;
	}
	/* No SO_REUSEADDR on UDP: a second daemon on the port must fail. */
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (void *)&ss;

		l->wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
		if (l->wildcard && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on,
		    sizeof(on)) == -1)
			goto fail;
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;

		l->wildcard = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		if (l->wildcard && setsockopt(fd, IPPROTO_IPV6,
		    IPV6_RECVPKTINFO, &on, sizeof(on)) == -1)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		goto fail;
	/* Port 0: TCP takes the port the kernel gave UDP. */
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		goto fail;
	l->udp_fd = fd;
	l->addr = ss;
	if ((l->udp_ev = event_new(s->base, fd, EV_READ | EV_PERSIST,
	    dns_udp_cb, l)) == NULL || event_add(l->udp_ev, NULL) != 0)
		goto fail;
	what = "tcp";
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, 128) == -1)
		goto fail;
	if ((l->tcp = evconnlistener_new(s->base, dns_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL)
		goto fail;
	if (listen_guard_add(s->guard, l->tcp) != 0) {
		evconnlistener_free(l->tcp);	/* closes fd */
		l->tcp = NULL;
		fd = -1;
		goto fail;
	}
	log_info("dns: listening on %s (udp, tcp)",
	    sockaddr_str((struct sockaddr *)&l->addr, a, sizeof(a)));
	return 0;
fail:
	log_warn("dns: listen on %s (%s)", text, what);
	if (fd != -1 && fd != l->udp_fd)
		close(fd);
	return -1;
}

/* The EDNS payload size we announce and answer within. */
static size_t
dns_conf_edns(const struct cip_conf *c)
{
	return c->edns_payload < DNS_UDP_MIN ? DNS_UDP_MIN :
	    c->edns_payload > 4096 ? 4096 : (size_t)c->edns_payload;
}

/* The forwarder of c's upstreams, never to one of our listeners; or NULL. */
static struct upstream *
dns_conf_upstream(struct dns_server *s, const struct cip_conf *c)
{
	struct sockaddr_storage *self;
	struct upstream *u;
	size_t i;

	if ((self = calloc(s->nls > 0 ? s->nls : 1, sizeof(*self))) == NULL)
		return NULL;
	for (i = 0; i < s->nls; i++)
		self[i] = s->ls[i].addr;
	u = upstream_new(s->base, c->upstream.v, c->upstream.n, self, s->nls,
	    c->upstream_timeout_ms, (size_t)c->upstream_max_inflight,
	    &s->up_inflight);
	free(self);
	return u;
}

/* The cluster zone for c, with RA as s->up allows; or NULL (logged). */
static struct dns_zone *
dns_conf_zone(struct dns_server *s, const struct cip_conf *c,
    uint32_t serial)
{
	struct dns_zone_conf zc;
	struct dns_zone *z;
	size_t i;
	int sn;

	memset(&zc, 0, sizeof(zc));
	for (i = 0; i < s->nls && zc.ns_addr.s_addr == 0; i++)
		if (s->ls[i].addr.ss_family == AF_INET && !s->ls[i].wildcard)
			zc.ns_addr =
			    ((struct sockaddr_in *)&s->ls[i].addr)->sin_addr;
	zc.domain = c->cluster_domain;
	/* The range VIPs come from: a reload changes it only at restart. */
	zc.vip_range = s->rt->vips != NULL ? vip_range(s->rt->vips) :
	    conf_vip_range(c, AF_INET);
	zc.vip_range6 = s->rt->vips != NULL ? vip_range6(s->rt->vips) :
	    conf_vip_range(c, AF_INET6);
	zc.ttl_s = (uint32_t)MINIMUM(c->dns_ttl_s, UINT32_MAX);
	zc.negative_ttl_s = (uint32_t)MINIMUM(c->dns_negative_ttl_s,
	    UINT32_MAX);
	zc.edns_payload = dns_conf_edns(c);
	zc.recursion = s->up != NULL && upstream_servers(s->up) > 0;
	zc.serial = serial;
	/* conf_validate refused any other value. */
	sn = dns_zone_short_parse(c->dns_short_names);
	zc.short_names = sn < 0 ? DNS_ZONE_SHORT_ALL : (enum dns_zone_short)sn;
	if ((z = dns_zone_new(s->rt->reg, &zc)) == NULL)
		log_warnx("dns: bad cluster domain %s or VIP range %s",
		    c->cluster_domain, zc.vip_range ? zc.vip_range : "-");
	return z;
}

/* The clients of c's dns-allow; or NULL (logged: nobody then). */
static struct dns_acl *
dns_conf_allow(struct dns_server *s, const struct cip_conf *c)
{
	struct dns_acl *acl;
	char err[256];

	/* vip-range is the range VIPs come from, as for the zone. */
	if ((acl = dns_acl_new(c->dns_allow.v, c->dns_allow.n,
	    s->rt->vips != NULL ? vip_range(s->rt->vips) :
	    conf_vip_range(c, AF_INET),
	    s->rt->vips != NULL ? vip_range6(s->rt->vips) :
	    conf_vip_range(c, AF_INET6), err, sizeof(err))) == NULL)
		log_warnx("dns: dns-allow: %s", err);
	return acl;
}

int
dns_server_init(struct runtime *rt)
{
	const struct cip_conf *conf = rt->conf;
	struct dns_server *s;
	size_t i;

	if (server != NULL)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto oom;
	server = s;
	LIST_INIT(&s->conns);
	LIST_INIT(&s->reqs);
	LIST_INIT(&s->retired);
	s->rt = rt;
	s->base = rt->base;
	s->edns = dns_conf_edns(conf);
	s->outcap = s->edns;
	s->rxwild = -1;
	s->tcp_idle_ms = conf->dns_tcp_idle_timeout_ms;
	s->tcp_max = conf->dns_tcp_max_clients > 0 ?
	    (size_t)conf->dns_tcp_max_clients : 1;
	if ((s->in = malloc((size_t)UDP_BATCH * UDP_IN_MAX)) == NULL ||
	    (s->out = malloc((size_t)UDP_BATCH * s->outcap)) == NULL ||
	    (s->guard = listen_guard_new(s->base, "dns", 1000)) == NULL)
		goto oom;
	metrics_get_defs(s, dns_metrics, CIP_ARRAY_LEN(dns_metrics), "");
	if (conf->dns_listen.n == 0) {
		log_warnx("dns: no listen address");
		goto fail;
	}
	if ((s->ls = calloc(conf->dns_listen.n, sizeof(*s->ls))) == NULL ||
	    (s->bound.v = calloc(conf->dns_listen.n,
	    sizeof(*s->bound.v))) == NULL)
		goto oom;
	for (i = 0; i < conf->dns_listen.n; i++) {
		s->nls++;
		if (dns_listen(s, &s->ls[i], conf->dns_listen.v[i]) != 0)
			goto fail;
		if ((s->bound.v[i] = strdup(conf->dns_listen.v[i])) == NULL)
			goto oom;
		s->bound.n++;
	}
	if ((s->up = dns_conf_upstream(s, conf)) == NULL)
		log_warnx("dns: no forwarding: names outside %s are refused",
		    conf->cluster_domain);
	if ((s->zone = dns_conf_zone(s, conf, 0)) == NULL)
		goto fail;
	if ((s->allow = dns_conf_allow(s, conf)) == NULL)
		goto fail;
	if (conf->dns_cache_size > 0 &&
	    (s->cache = dns_cache_new((size_t)conf->dns_cache_size)) == NULL)
		goto oom;
	s->cache_max = (size_t)conf->dns_cache_size;
	return 0;
oom:
	log_warnx("dns: out of memory");
fail:
	dns_server_shutdown();
	return -1;
}

/* Unlinks and frees a replaced forwarder; queries still on it are cancelled. */
static void
dns_retired_free(struct dns_retired *r)
{
	LIST_REMOVE(r, entry);
	event_free(r->ev);
	upstream_free(r->up);
	free(r);
}

/* A replaced forwarder: every query it held has ended (answered or timed out). */
static void
dns_retire_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dns_retired_free(arg);
}

int
dns_server_reload(const struct cip_conf *nc)
{
	struct dns_server *s = server;
	const struct cip_conf *oc;
	struct upstream *nu;
	struct dns_retired *ret = NULL;
	struct dns_cache *nca = NULL;
	struct dns_zone *nz;
	struct dns_acl *nacl;
	struct timeval tv;
	uint64_t ms;
	const char *domain;
	uint8_t *nout;
	size_t edns;
	bool up_changed;
	int rc = 0;

	if (s == NULL)
		return 0;
	oc = s->rt->conf;
	domain = oc->cluster_domain;
	if (!strlist_equal(&nc->dns_listen, &s->bound))
		log_warnx("dns: dns-listen changes take effect at restart");

	edns = dns_conf_edns(nc);
	if (edns != s->outcap) {
		if ((nout = malloc((size_t)UDP_BATCH * edns)) == NULL) {
			log_warnx("dns: out of memory: edns-payload stays %zu",
			    s->edns);
			rc = -1;
		} else {
			free(s->out);
			s->out = nout;
			s->outcap = s->edns = edns;
		}
	}
	s->tcp_idle_ms = nc->dns_tcp_idle_timeout_ms;
	s->tcp_max = nc->dns_tcp_max_clients > 0 ?
	    (size_t)nc->dns_tcp_max_clients : 1;
	listen_guard_hold(s->guard, s->ntcp >= s->tcp_max);

	/*
	 * The forwarder: rebuilt when its settings changed, and when it
	 * follows /etc/resolv.conf (re-read). Queries in flight finish on
	 * the old one, freed once its timeout has passed.
	 */
	up_changed = !strlist_equal(&nc->upstream, &oc->upstream);
	if (up_changed || nc->upstream.n == 0 ||
	    nc->upstream_timeout_ms != oc->upstream_timeout_ms ||
	    nc->upstream_max_inflight != oc->upstream_max_inflight) {
		/*
		 * Each replaced forwarder has its own timer: a reload soon
		 * after another leaves the queries of the first in flight.
		 */
		if (s->up != NULL && ((ret = calloc(1, sizeof(*ret))) == NULL ||
		    (ret->ev = evtimer_new(s->base, dns_retire_cb, ret)) ==
		    NULL)) {
			free(ret);
			log_warnx("dns: out of memory: the running upstreams "
			    "stay");
			rc = -1;
		} else if ((nu = dns_conf_upstream(s, nc)) == NULL) {
			if (ret != NULL)
				event_free(ret->ev);
			free(ret);
			log_warnx("dns: the new upstreams could not be set up; "
			    "the running ones stay");
			rc = -1;
		} else {
			if (ret != NULL) {
				ret->srv = s;
				ret->up = s->up;
				LIST_INSERT_HEAD(&s->retired, ret, entry);
				/* Then 1 s more for answers on their way. */
				ms = upstream_longest_ms(s->up) + 1000;
				evtimer_add(ret->ev, ms_to_tv(ms, &tv));
			}
			s->up = nu;
			/* Answers of the old servers go with them. */
			if (up_changed && s->cache != NULL)
				dns_cache_flush(s->cache);
		}
	}

	if (nc->dns_cache_size != oc->dns_cache_size) {
		if (nc->dns_cache_size > 0 && (nca = dns_cache_new(
		    (size_t)nc->dns_cache_size)) == NULL) {
			log_warnx("dns: out of memory: the cache stays as it "
			    "was");
			rc = -1;
		} else {
			dns_cache_free(s->cache);
			s->cache = nca;
			s->cache_max = (size_t)nc->dns_cache_size;
		}
	}

	if ((nacl = dns_conf_allow(s, nc)) == NULL) {
		log_warnx("dns: dns-allow stays as it was");
		rc = -1;
	} else {
		dns_acl_free(s->allow);
		s->allow = nacl;
	}

	/* A new zone beside the old; the serial goes on from the old one. */
	if ((nz = dns_conf_zone(s, nc, dns_zone_serial(s->zone) + 1)) ==
	    NULL) {
		log_warnx("dns: the cluster zone stays %s", oc->cluster_domain);
		rc = -1;
	} else {
		dns_zone_free(s->zone);
		s->zone = nz;
		domain = nc->cluster_domain;
		log_info("dns: cluster domain %s, ttl %us, negative ttl %us",
		    domain, (unsigned)MINIMUM(nc->dns_ttl_s, UINT32_MAX),
		    (unsigned)MINIMUM(nc->dns_negative_ttl_s, UINT32_MAX));
	}
	log_info("dns: settings reloaded%s: %s, %zu upstream server%s, "
	    "cache of %zu entries", rc == 0 ? "" : " in part", domain,
	    s->up != NULL ? upstream_servers(s->up) : 0,
	    s->up != NULL && upstream_servers(s->up) == 1 ? "" : "s",
	    s->cache != NULL ? s->cache_max : 0);
	return rc;
}

void
dns_server_shutdown(void)
{
	struct dns_server *s = server;
	struct dns_tcp *t;
	size_t i;

	if (s == NULL)
		return;
	/* Cancelled queries free their requests. */
	upstream_free(s->up);
	s->up = NULL;
	while (!LIST_EMPTY(&s->retired))
		dns_retired_free(LIST_FIRST(&s->retired));
	while ((t = LIST_FIRST(&s->conns)) != NULL)
		dns_tcp_free(t);
	for (i = 0; i < s->nls; i++) {
		if (s->ls[i].udp_ev != NULL)
			event_free(s->ls[i].udp_ev);
		if (s->ls[i].udp_fd != -1)
			close(s->ls[i].udp_fd);
		if (s->ls[i].tcp != NULL) {
			listen_guard_remove(s->guard, s->ls[i].tcp);
			evconnlistener_free(s->ls[i].tcp);
		}
	}
	free(s->ls);
	for (i = 0; i < s->bound.n; i++)
		free(s->bound.v[i]);
	free(s->bound.v);
	listen_guard_free(s->guard);
	dns_zone_free(s->zone);
	dns_acl_free(s->allow);
	dns_cache_free(s->cache);
	free(s->in);
	free(s->out);
	free(s);
	server = NULL;
}
