/* SPDX-License-Identifier: MIT */
/*
 * balancer.h -- endpoint choice for one service: random, round-robin,
 * least-connections, and ClientIP affinity. Pure: the caller passes the
 * candidates, the clock and the random number; no sockets, no libevent.
 */
#ifndef CIP_BALANCER_H
#define CIP_BALANCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* One ready endpoint offered to the balancer. */
struct balancer_cand {
	const char	*key;		/* pod key "ns/name", not copied */
	uint32_t	 active;	/* open connections to it now */
};

struct balancer;

/* Returns a balancer with no history, or NULL on OOM. */
struct balancer *balancer_new(void);
/* Frees the balancer and its affinity table. Accepts NULL. */
void	balancer_free(struct balancer *);

/*
 * Picks one of the n candidates for a new connection from client (IPv4,
 * network order) at now_ms. algo chooses among them; rnd is a uniformly
 * random 32-bit number used by LB_RANDOM. When affinity_ms is not 0 the
 * client sticks to the endpoint it was last given while that endpoint
 * is a candidate and its last connection is less than affinity_ms old;
 * the pin is refreshed by every pick (on OOM the pick is made but not
 * pinned). Returns the index, or -1 when n is 0.
 */
int	balancer_pick(struct balancer *, enum lb_algo algo,
    const struct balancer_cand *c, size_t n, uint32_t client,
    uint64_t affinity_ms, uint64_t now_ms, uint32_t rnd);

/*
 * The key of the endpoint client is pinned to at now_ms (a pin less than
 * affinity_ms old), or NULL. The string belongs to the balancer and lives
 * until its next pick or expiry.
 */
const char *balancer_pinned_key(struct balancer *, uint32_t client,
    uint64_t affinity_ms, uint64_t now_ms);

/* Drops affinity pins older than affinity_ms. Returns how many went. */
size_t	balancer_expire(struct balancer *, uint64_t affinity_ms,
    uint64_t now_ms);
/* Number of clients currently pinned. */
size_t	balancer_pinned(const struct balancer *);

#endif
