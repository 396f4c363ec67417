/* SPDX-License-Identifier: MIT */
/*
 * proxy_tcp.c -- the TCP data path: accept, connect to the chosen
 * endpoint (retrying refused or slow ones on others), then copy both ways.
 * Each read is written on at once from one shared buffer; only what the
 * peer cannot take yet is queued (an evbuffer), and reading from the
 * source stops until it drains: backpressure without buffer copies or
 * event changes in the steady state. Half-closes and resets pass through.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"
#include "util.h"
#include "proxy_int.h"

/* One read; reads per readable event while they fill it. */
#define PROXY_BUF		(64 * 1024)
#define PROXY_READS_PER_EVENT	4
/*
 * A direction whose reads fill the buffer this many times in a row is
 * bulk: it moves on to splice(2) through a pipe, without copies.
 */
#define PROXY_SPLICE_AFTER	4
#define PROXY_PIPE_SIZE		(256 * 1024)

struct proxy_session;

struct proxy_half {
	struct proxy_session	*s;
	struct proxy_half	*peer;
	int			 fd;
	struct event		 rev;		/* readable, persistent */
	struct event		 wev;		/* writable: only while queued */
	struct evbuffer		*queue;		/* bytes the fd did not take */
	int			 pipe[2];	/* splice: toward fd, or -1 */
	size_t			 piped;		/* bytes in the pipe */
	uint8_t			 full_reads;	/* of the peer, in a row */
	bool			 eof;		/* its read side ended */
	bool			 shut;		/* we sent it a FIN */
	bool			 to_ep;		/* reads go to the endpoint */
};

struct proxy_session {
	TAILQ_ENTRY(proxy_session) entry;	/* in ep->sessions */
	LIST_ENTRY(proxy_session) all;		/* in proxy_sessions */
	struct proxy_svc	*ps;
	struct proxy_ep		*ep;		/* connected or being tried */
	struct proxy_half	 in;		/* client side */
	struct proxy_half	 out;		/* endpoint side */
	struct event		 timer;		/* retry, then idle */
	union proxy_sa		 client;
	enum ip_family		 fam;		/* the VIP's */
	uint16_t		 port;		/* service port */
	uint8_t			 attempts;
	uint8_t			 ntried;
	bool			 connected;
	bool			 timer_set;	/* timer assigned */
	bool			 activity;
	struct proxy_ep		*tried[PROXY_MAX_TRIED];
};

static uint8_t	proxy_buf[PROXY_BUF];
/* Every connection, connecting ones too, for shutdown. */
static LIST_HEAD(, proxy_session) proxy_sessions =
    LIST_HEAD_INITIALIZER(proxy_sessions);

static void	proxy_session_connect(struct proxy_session *);
static void	proxy_session_failed(struct proxy_session *);
static void	proxy_session_up(struct proxy_session *);
static void	proxy_session_free(struct proxy_session *, bool);
static void	proxy_connect_cb(evutil_socket_t, short, void *);
static void	proxy_timer_cb(evutil_socket_t, short, void *);
static void	proxy_read_cb(evutil_socket_t, short, void *);
static void	proxy_write_cb(evutil_socket_t, short, void *);
static bool	proxy_half_shut(struct proxy_half *);

/* The TCP state of fd (TCP_ESTABLISHED, ...), or -1. */
static int
proxy_tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < 1)
		return -1;
	return ti.tcpi_state;
}

void
proxy_tcp_accept_cb(struct evconnlistener *el, int fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct proxy_lsn *l = arg;
	struct proxy_session *s;
	uint64_t max = proxy.rt->conf->proxy_max_sessions;

	(void)el;
	if (sa->sa_family != (l->fam == IP_FAMILY_V6 ? AF_INET6 : AF_INET) ||
	    salen < 0 || (size_t)salen < proxy_sa_len((union proxy_sa *)sa) ||
	    (max != 0 && proxy.nsessions >= max)) {
		proxy_reset_fd(fd);
		return;
	}
	/* The one allocation of a connection, with its events inside. */
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		proxy_reset_fd(fd);
		return;
	}
	memcpy(&s->client, sa, proxy_sa_len((union proxy_sa *)sa));
	s->fam = l->fam;
	s->port = l->port;
	s->ps = l->ps;
	s->in.s = s->out.s = s;
	s->in.peer = &s->out;
	s->out.peer = &s->in;
	s->in.to_ep = true;
	s->in.fd = fd;
	s->out.fd = -1;
	s->in.pipe[0] = s->in.pipe[1] = s->out.pipe[0] = s->out.pipe[1] = -1;
	LIST_INSERT_HEAD(&proxy_sessions, s, all);
	l->ps->refs++;
	if (++proxy.nsessions >= max && max != 0)
		proxy_pause_all(true);
	proxy_session_connect(s);
}

static void
proxy_session_connect(struct proxy_session *s)
{
	const struct cip_conf *conf = proxy.rt->conf;
	union proxy_sa dst;
	struct proxy_ep *ep;
	struct timeval tv;
	int fd;

	if (proxy_pick(s->ps, s->fam, s->port, CIP_PROTO_TCP, &s->client,
	    s->tried, s->ntried, &dst, &ep) == -1) {
		if (s->attempts == 0)
			metric_add(s->ps->m_noep, 1);
		proxy_session_free(s, true);
		return;
	}
	s->attempts++;
	s->ep = ep;
	ep->active++;
	if (s->ntried < PROXY_MAX_TRIED)
		s->tried[s->ntried++] = ep;
	fd = socket(dst.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		/* Out of descriptors is not the endpoint's fault. */
		s->ep = NULL;
		ep->active--;
		proxy_ep_release(ep);
		proxy_session_free(s, true);
		return;
	}
	s->out.fd = fd;
	if (connect(fd, &dst.sa, proxy_sa_len(&dst)) == 0) {
		proxy_session_up(s);
		return;
	}
	if (errno != EINPROGRESS) {
		proxy_session_failed(s);
		return;
	}
	/*
	 * On loopback and local bridges the handshake is over by now: then
	 * go on without a round through epoll (two epoll_ctl calls less).
	 */
	switch (proxy_tcp_state(fd)) {
	case TCP_ESTABLISHED:
		proxy_session_up(s);
		return;
	case TCP_CLOSE:
		proxy_session_failed(s);
		return;
	default:
		break;
	}
	event_assign(&s->out.wev, proxy.rt->base, fd, EV_WRITE,
	    proxy_connect_cb, s);
	event_add(&s->out.wev, ms_to_tv(conf->proxy_connect_timeout_ms, &tv));
}

static void
proxy_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_session *s = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if ((what & EV_TIMEOUT) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		proxy_session_failed(s);
		return;
	}
	proxy_session_up(s);
}

/* The connect to s->ep failed: retry elsewhere, or give up with a reset. */
static void
proxy_session_failed(struct proxy_session *s)
{
	const struct cip_conf *conf = proxy.rt->conf;
	struct proxy_ep *ep = s->ep;
	struct timeval tv;
	uint64_t delay;

	proxy_ep_failed(ep);
	close(s->out.fd);
	s->out.fd = -1;
	s->ep = NULL;
	ep->active--;
	proxy_ep_release(ep);
	if (s->attempts > conf->proxy_connect_retries ||
	    s->attempts >= PROXY_MAX_TRIED) {
		proxy_session_free(s, true);
		return;
	}
	metric_add(s->ps->m_retries, 1);
	/* Back-off: at once, then 10, 20, 40 ... ms, at most 200 ms. */
	delay = s->attempts <= 1 ? 0 : MINIMUM(10u << (s->attempts - 2), 200u);
	evtimer_assign(&s->timer, proxy.rt->base, proxy_timer_cb, s);
	s->timer_set = true;
	evtimer_add(&s->timer, ms_to_tv(delay, &tv));
}

static void
proxy_session_up(struct proxy_session *s)
{
	const struct cip_conf *conf = proxy.rt->conf;
	struct proxy_ep *ep = s->ep;
	struct event_base *base = proxy.rt->base;
	int on = 1;

	proxy_ep_connected(ep);
	s->connected = true;
	(void)setsockopt(s->out.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	TAILQ_INSERT_TAIL(&ep->sessions, s, entry);
	proxy_ep_conn_up(ep);
	event_assign(&s->in.rev, base, s->in.fd, EV_READ | EV_PERSIST,
	    proxy_read_cb, &s->in);
	event_assign(&s->in.wev, base, s->in.fd, EV_WRITE | EV_PERSIST,
	    proxy_write_cb, &s->in);
	event_assign(&s->out.rev, base, s->out.fd, EV_READ | EV_PERSIST,
	    proxy_read_cb, &s->out);
	event_assign(&s->out.wev, base, s->out.fd, EV_WRITE | EV_PERSIST,
	    proxy_write_cb, &s->out);
	event_add(&s->in.rev, NULL);
	event_add(&s->out.rev, NULL);
	if (conf->proxy_idle_timeout_ms != 0) {
		if (proxy.idle_ms != conf->proxy_idle_timeout_ms) {
			proxy.idle_ms = conf->proxy_idle_timeout_ms;
			ms_to_tv(proxy.idle_ms, &proxy.idle_plain);
			/*
			 * A base holds 256 common timeouts; past that (many
			 * reloads with new values) an ordinary one serves.
			 */
			proxy.idle_tv = event_base_init_common_timeout(base,
			    &proxy.idle_plain);
			if (proxy.idle_tv == NULL)
				proxy.idle_tv = &proxy.idle_plain;
		}
		event_assign(&s->timer, base, -1, EV_PERSIST, proxy_timer_cb,
		    s);
		s->timer_set = true;
		event_add(&s->timer, proxy.idle_tv);
	}
	if (log_getlevel() >= LOG_LEVEL_DEBUG) {
		char a[64];

		log_debug("proxy: %s: %s -> %s", s->ps->key,
		    sockaddr_str(&s->client.sa, a, sizeof(a)),
		    ep->key);
	}
}

static void
proxy_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_session *s = arg;

	(void)fd;
	(void)what;
	if (!s->connected) {
		proxy_session_connect(s);
		return;
	}
	if (s->activity) {
		s->activity = false;
		return;
	}
	proxy_session_free(s, false);
}

static void
proxy_half_close(struct proxy_half *h, bool reset)
{
	if (h->fd == -1)
		return;
	if (event_initialized(&h->rev))
		event_del(&h->rev);
	if (event_initialized(&h->wev))
		event_del(&h->wev);
	if (h->queue != NULL)
		evbuffer_free(h->queue);
	if (h->pipe[0] != -1) {
		close(h->pipe[0]);
		close(h->pipe[1]);
	}
	if (reset)
		proxy_reset_fd(h->fd);
	else
		close(h->fd);
}

/*
 * Frees the connection. reset: both sides get a reset rather than a FIN.
 */
static void
proxy_session_free(struct proxy_session *s, bool reset)
{
	struct proxy_ep *ep = s->ep;
	struct proxy_svc *ps = s->ps;
	uint64_t max = proxy.rt->conf->proxy_max_sessions;

	if (s->timer_set)
		event_del(&s->timer);
	if (!s->connected && s->out.fd != -1)
		event_del(&s->out.wev);
	proxy_half_close(&s->in, reset);
	proxy_half_close(&s->out, reset);
	if (ep != NULL) {
		if (s->connected) {
			TAILQ_REMOVE(&ep->sessions, s, entry);
			proxy_ep_conn_down(ep);
		}
		ep->active--;
	}
	LIST_REMOVE(s, all);
	free(s);
	proxy.nsessions--;
	ps->refs--;
	if (proxy.paused && (max == 0 || proxy.nsessions < max))
		proxy_pause_all(false);
	if (ep != NULL && !ep->draining)
		proxy_ep_release(ep);
	else if (ep == NULL)
		/* Between two connects: its service may have gone meanwhile. */
		proxy_svc_release(ps);
}

void
proxy_tcp_close_all(void)
{
	struct proxy_session *s, *next;

	for (s = LIST_FIRST(&proxy_sessions); s != NULL; s = next) {
		next = LIST_NEXT(s, all);
		proxy_session_free(s, false);
	}
}

void
proxy_tcp_close_ep(struct proxy_ep *ep, bool reset)
{
	struct proxy_session *s, *next;

	for (s = TAILQ_FIRST(&ep->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		proxy_session_free(s, reset);
	}
}

/* Sends FIN toward h; frees the connection once both ways are done. */
static bool
proxy_half_shut(struct proxy_half *h)
{
	struct proxy_session *s = h->s;

	/* The last FIN needs no shutdown(): close() sends it. */
	if (!h->shut && !h->peer->shut) {
		h->shut = true;
		(void)shutdown(h->fd, SHUT_WR);
		return false;
	}
	h->shut = true;
	if (s->in.shut && s->out.shut) {
		proxy_session_free(s, false);
		return true;
	}
	return false;
}

/* True while bytes wait to be written to h. */
static bool
proxy_half_pending(const struct proxy_half *h)
{
	return h->piped > 0 ||
	    (h->queue != NULL && evbuffer_get_length(h->queue) > 0);
}

/* Moves dst to splice(2); stays with copies when no pipe can be had. */
static void
proxy_half_splice(struct proxy_half *dst)
{
	if (pipe2(dst->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		dst->pipe[0] = dst->pipe[1] = -1;
		return;
	}
	(void)fcntl(dst->pipe[1], F_SETPIPE_SZ, PROXY_PIPE_SIZE);
}

/* The bulk path: socket -> pipe -> socket. Returns -1 to reset. */
static int
proxy_splice_read(struct proxy_half *src, struct proxy_half *dst)
{
	struct proxy_session *s = src->s;
	ssize_t n, w;
	int i;

	for (i = 0; i < PROXY_READS_PER_EVENT; i++) {
		n = splice(src->fd, NULL, dst->pipe[1], NULL, PROXY_PIPE_SIZE,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			s->activity = true;
			proxy_count_bytes(s->ep, src->to_ep, (uint64_t)n);
			dst->piped += (size_t)n;
			w = splice(dst->pipe[0], NULL, dst->fd, NULL, dst->piped,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (w == -1 && errno != EAGAIN && errno != EINTR)
				return -1;
			if (w > 0)
				dst->piped -= (size_t)w;
			if (dst->piped > 0) {
				event_del(&src->rev);
				event_add(&dst->wev, NULL);
				return 0;
			}
			continue;
		}
		if (n == 0) {
			src->eof = true;
			event_del(&src->rev);
			if (!proxy_half_pending(dst))
				(void)proxy_half_shut(dst);
			return 0;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return -1;
	}
	return 0;
}

static void
proxy_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_half *src = arg, *dst = src->peer;
	struct proxy_session *s = src->s;
	ssize_t n, w;
	int i;

	(void)what;
	if (dst->pipe[0] != -1) {
		if (proxy_splice_read(src, dst) == -1)
			goto reset;
		return;
	}
	for (i = 0; i < PROXY_READS_PER_EVENT; i++) {
		n = recv(fd, proxy_buf, sizeof(proxy_buf), 0);
		if (n > 0) {
			s->activity = true;
			proxy_count_bytes(s->ep, src->to_ep, (uint64_t)n);
			if ((size_t)n < sizeof(proxy_buf))
				dst->full_reads = 0;
			else if (dst->full_reads < UINT8_MAX)
				dst->full_reads++;
			w = send(dst->fd, proxy_buf, (size_t)n, MSG_NOSIGNAL);
			if (w == n) {
				if ((size_t)n < sizeof(proxy_buf))
					return;
				if (dst->full_reads >= PROXY_SPLICE_AFTER) {
					proxy_half_splice(dst);
					return;
				}
				continue;
			}
			if (w == -1 && errno != EAGAIN && errno != EINTR)
				goto reset;
			if (w < 0)
				w = 0;
			/* Queue the rest; read no more until it is out. */
			if (dst->queue == NULL &&
			    (dst->queue = evbuffer_new()) == NULL)
				goto reset;
			if (evbuffer_add(dst->queue, proxy_buf + w,
			    (size_t)(n - w)) == -1)
				goto reset;
			event_del(&src->rev);
			event_add(&dst->wev, NULL);
			return;
		}
		if (n == 0) {
			src->eof = true;
			event_del(&src->rev);
			if (!proxy_half_pending(dst))
				(void)proxy_half_shut(dst);
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		goto reset;
	}
	return;
reset:
	/* A reset (or worse) on one side is a reset on the other. */
	proxy_session_free(s, true);
}

static void
proxy_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_half *dst = arg, *src = dst->peer;
	ssize_t w;

	(void)what;
	if (dst->queue != NULL && evbuffer_get_length(dst->queue) > 0) {
		if (evbuffer_write(dst->queue, fd) == -1 && errno != EAGAIN &&
		    errno != EINTR)
			goto reset;
	} else if (dst->piped > 0) {
		w = splice(dst->pipe[0], NULL, fd, NULL, dst->piped,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			goto reset;
		if (w > 0)
			dst->piped -= (size_t)w;
	}
	dst->s->activity = true;
	if (proxy_half_pending(dst))
		return;
	/* A queue drained: bulk goes on through the pipe from now on. */
	if (dst->full_reads >= PROXY_SPLICE_AFTER && dst->pipe[0] == -1)
		proxy_half_splice(dst);
	event_del(&dst->wev);
	if (src->eof)
		(void)proxy_half_shut(dst);
	else
		event_add(&src->rev, NULL);
	return;
reset:
	proxy_session_free(dst->s, true);
}
