/* SPDX-License-Identifier: MIT */
/*
 * dns_cache.h -- a bounded cache of forwarded answers (dns_relay_msg,
 * whole, never cut). Entries live for the lifetime dns_relay_parse gave
 * them, are keyed on the lowercased question, type, class and the DO/CD
 * bits, and are evicted least recently used first. No sockets, no
 * libevent: the caller passes the time.
 */
#ifndef CIP_DNS_CACHE_H
#define CIP_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct dns_query;
struct dns_cache;
struct dns_relay_msg;

/* A cache of at most max_entries answers, or NULL on OOM. */
struct dns_cache *dns_cache_new(size_t max_entries);
void	dns_cache_free(struct dns_cache *);

/*
 * Stores the relayed answer m to q, taken at now_ms, for m->ttl_s
 * seconds. The cache owns m from this call on, whatever it returns
 * (it is freed at once when it is not kept). Returns 0 when stored,
 * ERR_INVAL when not cacheable (ttl_s 0, no cache), ERR_NOMEM.
 */
int	dns_cache_put(struct dns_cache *, const struct dns_query *q,
    struct dns_relay_msg *m, uint64_t now_ms);

/*
 * Looks q up at now_ms. On a hit returns the answer, valid until the
 * next call that changes the cache, with its age in seconds in *age_s
 * (for dns_relay_write); NULL on a miss (expired entries are dropped).
 */
const struct dns_relay_msg *dns_cache_get(struct dns_cache *,
    const struct dns_query *q, uint64_t now_ms, uint32_t *age_s);

/* Number of entries held. */
size_t	dns_cache_count(const struct dns_cache *);
/* Drops every entry. */
void	dns_cache_flush(struct dns_cache *);

#endif
