/* SPDX-License-Identifier: MIT */
/*
 * proxy_udp.c -- UDP on VIP:port: one flow per client address, each with
 * its own connected socket to the chosen endpoint; replies go out of the
 * listener socket, so they come from the VIP.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"
#include "util.h"
#include "proxy_int.h"

/* Datagrams handled per readable event, so one socket cannot starve others. */
#define PROXY_UDP_BURST	64

struct proxy_flow {
	LIST_ENTRY(proxy_flow)	 entry;		/* in ep->flows */
	struct proxy_lsn	*lsn;
	struct proxy_ep		*ep;
	union proxy_sa		 client;	/* its key in lsn->flows */
	int			 fd;		/* connected to the endpoint */
	struct event		*ev;
	struct event		*idle;
	bool			 activity;
};

static uint8_t	proxy_udp_buf[65536];

static void	proxy_udp_read_cb(evutil_socket_t, short, void *);
static void	proxy_flow_read_cb(evutil_socket_t, short, void *);
static void	proxy_flow_idle_cb(evutil_socket_t, short, void *);
static struct proxy_flow *proxy_flow_new(struct proxy_lsn *,
		    const union proxy_sa *);
static void	proxy_flow_free(struct proxy_flow *, bool);

/*
 * The hash of a client address and port, without strings. The listener
 * is of one family, so all its flows' clients are.
 */
static uint32_t
proxy_flow_hash_addr(const union proxy_sa *a)
{
	uint64_t hi, lo;

	if (a->sa.sa_family != AF_INET6)
		return ptab_hash_u64((uint64_t)a->sin.sin_addr.s_addr << 16 |
		    a->sin.sin_port);
	memcpy(&hi, &a->sin6.sin6_addr.s6_addr[0], 8);
	memcpy(&lo, &a->sin6.sin6_addr.s6_addr[8], 8);
	return ptab_hash_u64((hi * 0x9e3779b97f4a7c15ULL) ^ lo ^
	    ((uint64_t)a->sin6.sin6_port << 48));
}

static uint32_t
proxy_flow_hash(const void *o)
{
	return proxy_flow_hash_addr(&((const struct proxy_flow *)o)->client);
}

static bool
proxy_flow_match(const void *o, const void *key)
{
	const union proxy_sa *a = &((const struct proxy_flow *)o)->client;
	const union proxy_sa *b = key;

	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		    memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr,
		    sizeof(a->sin6.sin6_addr)) == 0;
	return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr &&
	    a->sin.sin_port == b->sin.sin_port;
}

int
proxy_udp_open(struct proxy_lsn *l)
{
	ptab_init(&l->flows, proxy_flow_hash);
	l->ev = event_new(proxy.rt->base, l->fd, EV_READ | EV_PERSIST,
	    proxy_udp_read_cb, l);
	if (l->ev == NULL || event_add(l->ev, NULL) == -1)
		return -1;
	return 0;
}

void
proxy_udp_close(struct proxy_lsn *l)
{
	struct proxy_flow *f;
	size_t pos;

	/* The table is left alone while walked, then emptied at once. */
	for (pos = 0; (f = ptab_next(&l->flows, &pos)) != NULL; )
		proxy_flow_free(f, false);
	ptab_clear(&l->flows);
	if (l->ev != NULL)
		event_free(l->ev);
	l->ev = NULL;
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
}

void
proxy_udp_drain_ep(struct proxy_ep *ep)
{
	struct proxy_flow *f, *next;

	for (f = LIST_FIRST(&ep->flows); f != NULL; f = next) {
		next = LIST_NEXT(f, entry);
		proxy_flow_free(f, true);
	}
}

static uint64_t	proxy_udp_warned_ms;	/* the last flow failure logged */

static struct proxy_flow *
proxy_flow_new(struct proxy_lsn *l, const union proxy_sa *client)
{
	const struct cip_conf *conf = proxy.rt->conf;
	struct proxy_flow *f;
	struct proxy_ep *ep;
	union proxy_sa dst;
	struct timeval tv;
	uint64_t max = conf->proxy_max_sessions;

	if (max != 0 && proxy.nsessions >= max)
		return NULL;
	if (proxy_pick(l->ps, l->fam, l->port, CIP_PROTO_UDP, client, NULL, 0,
	    &dst, &ep) == -1) {
		metric_add(l->ps->m_noep, 1);
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->fd = -1;
	f->lsn = l;
	f->client = *client;
	if ((f->fd = socket(dst.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    connect(f->fd, &dst.sa, proxy_sa_len(&dst)) == -1)
		goto fail;
	f->ev = event_new(proxy.rt->base, f->fd, EV_READ | EV_PERSIST,
	    proxy_flow_read_cb, f);
	f->idle = event_new(proxy.rt->base, -1, EV_PERSIST, proxy_flow_idle_cb,
	    f);
	if (f->ev == NULL || f->idle == NULL || event_add(f->ev, NULL) == -1)
		goto fail;
	if (conf->udp_idle_timeout_ms != 0 &&
	    event_add(f->idle, ms_to_tv(conf->udp_idle_timeout_ms, &tv)) == -1)
		goto fail;
	if (ptab_add(&l->flows, f) == -1)
		goto fail;
	f->ep = ep;
	ep->active++;
	ep->nflows++;
	LIST_INSERT_HEAD(&ep->flows, f, entry);
	l->ps->refs++;
	proxy.nsessions++;
	metric_add(ep->m_conns, 1);
	metric_add(ep->ps->m_conns, 1);
	return f;
fail:
	/* Once a second at most: a flood of new clients must not flood the log. */
	if (now_ms() - proxy_udp_warned_ms >= 1000) {
		proxy_udp_warned_ms = now_ms();
		log_warn("proxy: %s: udp flow", l->ps->key);
	}
	if (f->ev != NULL)
		event_free(f->ev);
	if (f->idle != NULL)
		event_free(f->idle);
	if (f->fd != -1)
		close(f->fd);
	free(f);
	return NULL;
}

/*
 * Frees a flow. unlink: remove it from the listener's map (not when the
 * map itself is being freed).
 */
static void
proxy_flow_free(struct proxy_flow *f, bool unlink)
{
	struct proxy_ep *ep = f->ep;
	struct proxy_svc *ps = f->lsn->ps;

	if (unlink)
		ptab_remove(&f->lsn->flows, f);
	LIST_REMOVE(f, entry);
	event_free(f->ev);
	event_free(f->idle);
	close(f->fd);
	free(f);
	ep->active--;
	ep->nflows--;
	ps->refs--;
	proxy.nsessions--;
	if (!ep->draining && !proxy.shutting_down)
		proxy_ep_release(ep);
}

static void
proxy_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_lsn *l = arg;
	struct proxy_flow *f;
	union proxy_sa from;
	socklen_t fromlen;
	ssize_t n;
	int i, af = l->fam == IP_FAMILY_V6 ? AF_INET6 : AF_INET;

	(void)what;
	memset(&from, 0, sizeof(from));
	for (i = 0; i < PROXY_UDP_BURST; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, proxy_udp_buf, sizeof(proxy_udp_buf), 0,
		    &from.sa, &fromlen);
		if (n == -1)
			return;
		if (from.sa.sa_family != af || fromlen < proxy_sa_len(&from))
			continue;
		f = ptab_find(&l->flows, proxy_flow_hash_addr(&from),
		    proxy_flow_match, &from);
		if (f == NULL && (f = proxy_flow_new(l, &from)) == NULL)
			continue;
		f->activity = true;
		if (send(f->fd, proxy_udp_buf, (size_t)n, 0) == n)
			proxy_count_bytes(f->ep, true, (uint64_t)n);
	}
}

static void
proxy_flow_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_flow *f = arg;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < PROXY_UDP_BURST; i++) {
		n = recv(fd, proxy_udp_buf, sizeof(proxy_udp_buf), 0);
		if (n == -1) {
			/* ICMP port unreachable: the endpoint is not there. */
			if (errno == ECONNREFUSED)
				proxy_ep_failed(f->ep);
			return;
		}
		f->activity = true;
		if (sendto(f->lsn->fd, proxy_udp_buf, (size_t)n, 0,
		    &f->client.sa, proxy_sa_len(&f->client)) == n)
			proxy_count_bytes(f->ep, false, (uint64_t)n);
	}
}

static void
proxy_flow_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_flow *f = arg;

	(void)fd;
	(void)what;
	if (f->activity) {
		f->activity = false;
		return;
	}
	proxy_flow_free(f, true);
}
