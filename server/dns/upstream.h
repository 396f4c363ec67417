/* SPDX-License-Identifier: MIT */
/*
 * upstream.h -- forwarding of raw DNS queries to the upstream resolvers
 * through c-ares, driven from our event_base: one event per c-ares
 * socket (ARES_OPT_SOCK_STATE_CB), one timer re-armed from
 * ares_timeout(). Queries from TCP clients go upstream over TCP.
 */
#ifndef CIP_UPSTREAM_H
#define CIP_UPSTREAM_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct upstream;

/*
 * Called once per upstream_send that returned 0: with ok and the
 * answer (valid during the call only; its ID is c-ares' own), or with
 * !ok and ans NULL when every upstream failed or timed out, or when the
 * upstream is freed (then cancelled is true and nothing must be sent).
 */
typedef void upstream_cb(void *arg, bool ok, bool cancelled,
    const uint8_t *ans, size_t len);

/*
 * Creates the forwarder. servers lists "ADDR[:PORT]" (n of them); when
 * n is 0 the nameservers of /etc/resolv.conf are used. Any server equal
 * to one of self[0..nself) (our own listeners; a wildcard listener
 * matches loopback addresses on its port) is left out with a warning.
 * timeout_ms bounds the whole query over all servers; max_inflight caps
 * queries in flight: counted in *shared_inflight when not NULL (forwarders
 * that replace one another share one cap; the counter must outlive them),
 * else in the forwarder alone. Returns NULL (logged) on failure.
 */
struct upstream *upstream_new(struct event_base *base, char *const *servers,
    size_t n, const struct sockaddr_storage *self, size_t nself,
    uint64_t timeout_ms, size_t max_inflight, size_t *shared_inflight);
/* Cancels every query (their callbacks run with cancelled) and frees. */
void	upstream_free(struct upstream *);

/* Number of usable upstream servers. */
size_t	upstream_servers(const struct upstream *);
/*
 * The longest a query may stay in flight: every server's share of the
 * timeout, at least 50 ms each, so many servers may outlast the timeout.
 */
uint64_t upstream_longest_ms(const struct upstream *);
/* True when another query may be sent now. */
bool	upstream_can_send(const struct upstream *);

/*
 * Sends the query q[0..len) as is (c-ares sets its own ID) over UDP, or
 * TCP when tcp. Returns 0 (cb will be called later, never from inside
 * this call), or -1 when it could not be sent (no server, at the cap,
 * OOM): then cb is never called.
 */
int	upstream_send(struct upstream *, const uint8_t *q, size_t len,
    bool tcp, upstream_cb *cb, void *arg);

#endif
