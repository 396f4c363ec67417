/* SPDX-License-Identifier: MIT */
/*
 * proxy_int.h -- state shared by the forwarder's TCP (proxy.c) and UDP
 * (proxy_udp.c) halves: services with listeners, endpoints with their
 * load and passive health. Not for other modules.
 */
#ifndef CIP_PROXY_INT_H
#define CIP_PROXY_INT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "balancer.h"
#include "hmap.h"
#include "metrics.h"
#include "registry.h"

struct event;
struct evconnlistener;
struct listen_guard;
struct metric;
struct runtime;
struct proxy_session;
struct proxy_flow;

/*
 * A client's or an endpoint's address, of either family, as a session or
 * a flow holds it: sockaddr_storage's role at a fifth of its size, which
 * every connection would carry.
 */
union proxy_sa {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/* Its length for its family. */
static inline socklen_t
proxy_sa_len(const union proxy_sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->sin6) :
	    sizeof(a->sin);
}

/* Endpoints tried by one connection, at most. */
#define PROXY_MAX_TRIED	8

/*
 * The forwarder's state of one endpoint of one service (load, passive
 * health, connections, metrics), filed in proxy_svc.eps by the pod's
 * uid. Which endpoints are ready, and where they listen, is the
 * registry's: the ready arrays of the service's ports.
 */
struct proxy_ep {
	uint64_t		 uid;		/* the pod's */
	char			*key;		/* pod key, for metrics and logs */
	struct proxy_svc	*ps;
	LIST_ENTRY(proxy_ep)	 link;		/* in ps->ep_list */
	uint32_t		 active;	/* connections (connecting too) + flows */
	uint32_t		 nconn;		/* connected TCP connections */
	uint32_t		 nflows;	/* UDP flows */
	uint32_t		 fails;		/* connect failures in a row */
	uint64_t		 skip_until_ms;	/* passive health */
	bool			 member;	/* still selected by the service */
	bool			 ready;		/* as the registry says */
	bool			 skipped;	/* passive health: failing */
	bool			 draining;	/* closing its connections now */
	struct event		*drain;		/* proxy_drain_timeout_ms */
	struct event		*revive;	/* at skip_until_ms */
	TAILQ_HEAD(, proxy_session) sessions;	/* connected ones */
	LIST_HEAD(, proxy_flow)	 flows;
	struct metric		*m_conns, *m_active, *m_fail, *m_ready;
	struct metric		*m_healthy;
	struct metric		*m_bytes_to_ep, *m_bytes_to_client;
};

/* A VIP:port/proto socket, [VIP6]:port/proto for IPv6. */
struct proxy_lsn {
	LIST_ENTRY(proxy_lsn)	 entry;		/* in ps->listeners */
	LIST_ENTRY(proxy_lsn)	 all;		/* in proxy.listeners */
	struct proxy_svc	*ps;
	enum ip_family		 fam;		/* the VIP's, the endpoints' */
	uint16_t		 port;
	enum cip_proto		 proto;
	int			 fd;
	struct evconnlistener	*el;		/* TCP */
	struct event		*ev;		/* UDP: readable */
	struct ptab		 flows;		/* UDP: by client address */
};

/* A service as the forwarder sees it, keyed by service key. */
struct proxy_svc {
	char			*key;
	/* The registry's service (its identity is stable); NULL when gone. */
	const struct service	*svc;
	struct in_addr		 vip;		/* listened on; 0 when none */
	struct in6_addr		 vip6;		/* listened on; :: when none */
	bool			 vip_added;	/* on the interface */
	bool			 vip6_added;
	/* Loopback mode: a local route of its own on lo (proxy_route.c). */
	bool			 vip_routed;
	bool			 vip6_routed;
	bool			 route_warned;	/* could not: said once */
	bool			 route6_warned;
	bool			 gone;		/* removed from the registry */
	bool			 busy;		/* being torn down: keep it */
	uint32_t		 refs;		/* connections and flows */
	struct ptab		 eps;		/* struct proxy_ep, by uid */
	/*
	 * The same by pod key: a pod made again under its name (a lease
	 * registered again) finds the state of the one before, still
	 * draining, as it did by name. Read on membership changes only.
	 */
	struct ptab		 eps_by_key;
	LIST_HEAD(, proxy_ep)	 ep_list;	/* the same, to walk */
	uint32_t		 nfailing;	/* eps with fails > 0 */
	struct balancer		*bal;
	LIST_HEAD(, proxy_lsn)	 listeners;
	uint32_t		 nconn;		/* connected TCP connections */
	struct metric		*m_retries, *m_noep;
	/* Sums over its endpoints, past ones included. */
	struct metric		*m_conns, *m_active, *m_fail;
	struct metric		*m_bytes_to_ep, *m_bytes_to_client;
	struct metric		*m_ready, *m_healthy;	/* endpoints */
};

struct proxy {
	struct runtime		*rt;
	struct hmap		*svcs;
	LIST_HEAD(, proxy_lsn)	 listeners;
	uint64_t		 nsessions;	/* connections + flows */
	bool			 paused;	/* at proxy_max_sessions */
	struct listen_guard	*guard;		/* of the TCP listeners */
	bool			 subscribed;
	bool			 shutting_down;
	struct event		*sweep;
	uint64_t		 rng;		/* proxy_random() state */
	uint64_t		 idle_ms;
	const struct timeval	*idle_tv;	/* common timeout, or idle_plain */
	struct timeval		 idle_plain;
	/* Scratch space: what the forwarder knows of each ready endpoint. */
	struct balancer_load	*loads;
	size_t			 nloads_cap;
};

extern struct proxy proxy;

/*
 * Loopback mode's VIPs outside what lo takes as its own
 * (proxy_route.c). proxy_route_needed: true when addr (a struct in_addr
 * or in6_addr of family fam) needs a local route of its own on lo:
 * loopback mode, and IPv4 outside 127.0.0.0/8 or IPv6 outside the IPv6
 * VIP range (or without one). proxy_route_add gives ps's VIP of family
 * fam that route when it needs one, saying once when it cannot;
 * proxy_route_del takes it away again; proxy_route_close removes what
 * is left at exit.
 */
struct runtime;
bool	proxy_route_needed(const struct runtime *, enum ip_family fam,
    const void *addr);
void	proxy_route_add(struct proxy_svc *, enum ip_family fam);
void	proxy_route_del(struct proxy_svc *, enum ip_family fam);
void	proxy_route_close(void);
/*
 * Why svc_key's VIP of address family af cannot be reached here (the
 * reason proxy_route_add logged), or NULL: runtime's vip_unserved.
 */
const char *proxy_route_unserved(const char *svc_key, int af);

/* Counts n bytes forwarded through ep, toward it or toward the client. */
static inline void
proxy_count_bytes(struct proxy_ep *ep, bool to_ep, uint64_t n)
{
	if (to_ep) {
		metric_add(ep->m_bytes_to_ep, n);
		metric_add(ep->ps->m_bytes_to_ep, n);
	} else {
		metric_add(ep->m_bytes_to_client, n);
		metric_add(ep->ps->m_bytes_to_client, n);
	}
}

/* The loop's cached clock, in milliseconds. */
uint64_t proxy_now_ms(void);
/*
 * Chooses a ready endpoint of ps for a new connection to the VIP of
 * family fam on port/proto from client, avoiding the ntried endpoints in
 * tried and, while others exist, those failing passively: the balancer's
 * choice over the port's ready array of that family in the registry (as
 * kube-proxy, a VIP forwards to endpoints of its own family only). Fills
 * dst (of family fam) and *epp. Returns 0, or -1 when there is none.
 */
int	proxy_pick(struct proxy_svc *ps, enum ip_family fam, uint16_t port,
    enum cip_proto proto, const union proxy_sa *client,
    struct proxy_ep *const *tried, size_t ntried, union proxy_sa *dst,
    struct proxy_ep **epp);
/* The endpoint state of the pod with uid, or NULL. */
struct proxy_ep *proxy_ep_find(const struct proxy_svc *ps, uint64_t uid);
/* Creates (or returns) the endpoint state of pod. NULL on OOM. */
struct proxy_ep *proxy_ep_get(struct proxy_svc *ps, const struct pod *pod);
/* Records a failed connect: the endpoint is skipped for a while. */
void	proxy_ep_failed(struct proxy_ep *ep);
/* Records a connect that worked: the endpoint is healthy again. */
void	proxy_ep_connected(struct proxy_ep *ep);
/* Counts a connection to ep that is now established (up) or over. */
void	proxy_ep_conn_up(struct proxy_ep *ep);
void	proxy_ep_conn_down(struct proxy_ep *ep);
/* Frees ep when no longer a member and unused, and then maybe ps. */
void	proxy_ep_release(struct proxy_ep *ep);
/* Frees ps once it is gone, without endpoints and unused. */
void	proxy_svc_release(struct proxy_svc *ps);
/* Creates the service's state and files it in proxy.svcs. */
struct proxy_svc *proxy_svc_new(const char *key);

/* Closes fd so that the peer sees a reset. */
void	proxy_reset_fd(int fd);
/* Stops (true) or resumes accepting on every TCP listener. */
void	proxy_pause_all(bool pause);

/* TCP: the listeners' accept callback (arg is the proxy_lsn). */
void	proxy_tcp_accept_cb(struct evconnlistener *, int fd,
    struct sockaddr *, int salen, void *arg);
/* Closes every connection (shutdown). */
void	proxy_tcp_close_all(void);
/* Closes every established connection to ep; does not release ep. */
void	proxy_tcp_close_ep(struct proxy_ep *ep, bool reset);

/* UDP: sets up l (l->fd bound) for reading. 0 or -1. */
int	proxy_udp_open(struct proxy_lsn *l);
/* Closes l's flows, event and socket (not l itself). */
void	proxy_udp_close(struct proxy_lsn *l);
/* Closes every flow to ep; does not release ep. */
void	proxy_udp_drain_ep(struct proxy_ep *ep);

#endif
