/* SPDX-License-Identifier: MIT */
/*
 * dns_cache.h -- a bounded cache of forwarded answers. Entries live for
 * the smallest TTL of their records (for NXDOMAIN and NODATA, the SOA's
 * negative TTL), are keyed on the lowercased question, type, class and
 * the EDNS/DO/CD bits, and are evicted least recently used first. No
 * sockets, no libevent: the caller passes the time.
 */
#ifndef CIP_DNS_CACHE_H
#define CIP_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct dns_query;
struct dns_cache;

/* A cache of at most max_entries answers, or NULL on OOM. */
struct dns_cache *dns_cache_new(size_t max_entries);
void	dns_cache_free(struct dns_cache *);

/*
 * Stores a copy of the upstream answer ans[0..len) to q, taken at now_ms.
 * Only NOERROR and NXDOMAIN answers that are not truncated, whose
 * question matches q and whose records parse are kept; a negative
 * answer needs an SOA in its authority section. Returns 0 when stored,
 * CIP_E_INVAL when not cacheable, CIP_E_NOMEM.
 */
int	dns_cache_put(struct dns_cache *, const struct dns_query *q,
    const uint8_t *ans, size_t len, uint64_t now_ms);

/*
 * Looks q up at now_ms. On a hit of at most maxlen bytes (and cap),
 * writes the answer into buf with q's ID, RD bit and question case, and
 * every TTL lowered by the time spent in the cache; returns its length.
 * Returns 0 on a miss (expired entries are dropped).
 */
size_t	dns_cache_get(struct dns_cache *, const struct dns_query *q,
    uint8_t *buf, size_t cap, size_t maxlen, uint64_t now_ms);

/* Number of entries held. */
size_t	dns_cache_count(const struct dns_cache *);
/* Drops every entry. */
void	dns_cache_flush(struct dns_cache *);

#endif
