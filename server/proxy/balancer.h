/* SPDX-License-Identifier: MIT */
/*
 * balancer.h -- endpoint choice for one service: random, round-robin,
 * least-connections, and ClientIP affinity. Pure: a choice is a function
 * of a port's ready endpoints (the registry's array), what the caller
 * knows of their load and passive health, the client, the clock and a
 * random number; no sockets, no libevent, no strings.
 */
#ifndef CIP_BALANCER_H
#define CIP_BALANCER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "registry.h"

/* What the caller knows of one endpoint of the array, at the same index. */
struct balancer_load {
	uint32_t	 active;	/* open connections to it now */
	uint8_t		 flags;		/* BALANCER_* */
};
/* Failing passive health checks: chosen only when all others are too. */
#define BALANCER_FAILING	0x01
/* Never chosen (this connection tried it already). */
#define BALANCER_TRIED		0x02

/* One choice. */
struct balancer_req {
	enum lb_algo	 algo;
	/*
	 * The client's address, the affinity key: IPv6, or IPv4 mapped
	 * (::ffff:a.b.c.d, see balancer_client4), so that each family's
	 * clients are told apart by their whole address.
	 */
	struct in6_addr	 client;
	/*
	 * ClientIP affinity: the client sticks to the endpoint it was last
	 * given while that endpoint can be chosen and its last pick is less
	 * than affinity_ms old. 0: no affinity.
	 */
	uint64_t	 affinity_ms;
	uint64_t	 now_ms;
	uint32_t	 rnd;		/* uniformly random, for LB_RANDOM */
};

struct balancer;

/* Sets key to the IPv4-mapped form of addr (network order). */
static inline void
balancer_client4(uint32_t addr, struct in6_addr *key)
{
	memset(key, 0, sizeof(*key));
	key->s6_addr[10] = 0xff;
	key->s6_addr[11] = 0xff;
	memcpy(&key->s6_addr[12], &addr, 4);
}

/* Returns a balancer with no history, or NULL on OOM. */
struct balancer *balancer_new(void);
/* Frees the balancer and its affinity table. Accepts NULL. */
void	balancer_free(struct balancer *);

/*
 * Picks one of the n endpoints eps for a new connection (one family's
 * ready array: the caller passes the array of the VIP's family). load holds n
 * entries, or is NULL when none is failing or tried and loads do not
 * matter (least-connections then takes them as equal). Endpoints marked
 * BALANCER_TRIED are never picked, those marked BALANCER_FAILING only
 * when nothing else is left. With affinity the pick pins the client to
 * the endpoint's uid (on OOM the pick is made but not pinned). Returns
 * the index in eps, or -1 when none can be chosen.
 */
int	balancer_pick(struct balancer *, const struct balancer_req *,
    const struct svc_endpoint *eps, size_t n,
    const struct balancer_load *load);

/*
 * The uid of the endpoint client is pinned to at now_ms (a pin less
 * than affinity_ms old), or 0.
 */
uint64_t balancer_pinned_uid(const struct balancer *,
    const struct in6_addr *client, uint64_t affinity_ms, uint64_t now_ms);

/*
 * True when the pinned endpoint uid is ready on another port of svc than
 * sp but not on sp (a pod without sp's named targetPort), in the ready
 * arrays of family f: a connection to sp then goes elsewhere without
 * moving the pin, which stays for the service's other ports.
 */
bool	balancer_pin_elsewhere(const struct service *svc,
    const struct svc_port *sp, enum ip_family f, uint64_t uid);

/* Drops affinity pins older than affinity_ms. Returns how many went. */
size_t	balancer_expire(struct balancer *, uint64_t affinity_ms,
    uint64_t now_ms);
/* Number of clients currently pinned. */
size_t	balancer_pinned(const struct balancer *);

#endif
