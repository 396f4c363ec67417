/* SPDX-License-Identifier: MIT */
/* dns_cache.c -- bounded LRU cache of forwarded answers honouring TTLs. */
#include "config.h"

#include <sys/types.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "dns_wire.h"
#include "dns_cache.h"

#define CACHE_MAX_TTLS		64	/* records per answer we rewrite */
#define CACHE_MAX_TTL_S		86400
#define CACHE_KEY_MAX		(DNS_MAX_NAME + 5)

/* TTL offsets found in an answer, before it is stored. */
struct cache_scan {
	uint16_t	 ttl_off[CACHE_MAX_TTLS];
	size_t		 nttl;
};

/* One answer; data holds the key, then the TTL offsets, then the answer. */
struct cache_entry {
	struct cache_entry	*next;		/* hash chain */
	struct cache_entry	*lru_prev, *lru_next;
	uint64_t		 hash;
	uint64_t		 stored_ms;
	uint64_t		 expires_ms;
	uint16_t		 keylen;
	uint16_t		 nttl;
	uint16_t		 len;
	uint8_t			 data[];
};

#define ENTRY_KEY(e)	((e)->data)
#define ENTRY_TTLS(e)	((e)->data + (e)->keylen)
#define ENTRY_ANS(e)	((e)->data + (e)->keylen + 2 * (size_t)(e)->nttl)

struct dns_cache {
	struct cache_entry	**buckets;
	size_t			  nbuckets;	/* a power of two */
	size_t			  count;
	size_t			  max;
	struct cache_entry	 *lru_head, *lru_tail;	/* head: newest */
};

static size_t	cache_key(const struct dns_query *, uint8_t *);
static struct cache_entry **cache_find(struct dns_cache *, const uint8_t *,
    size_t, uint64_t);
static void	cache_unlink_lru(struct dns_cache *, struct cache_entry *);
static void	cache_push_lru(struct dns_cache *, struct cache_entry *);
static void	cache_remove(struct dns_cache *, struct cache_entry *);
static int	cache_scan(const struct dns_query *, const uint8_t *, size_t,
    struct cache_scan *, uint32_t *);

struct dns_cache *
dns_cache_new(size_t max_entries)
{
	struct dns_cache *c;
	size_t n = 16;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	while (n < max_entries && n < ((size_t)1 << 24))
		n <<= 1;
	if ((c->buckets = calloc(n, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	c->nbuckets = n;
	c->max = max_entries;
	return c;
}

void
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	dns_cache_flush(c);
	free(c->buckets);
	free(c);
}

void
dns_cache_flush(struct dns_cache *c)
{
	while (c->lru_head != NULL)
		cache_remove(c, c->lru_head);
}

size_t
dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}

/* Key: lowercase wire qname, type, class, one byte of EDNS/DO/CD bits. */
static size_t
cache_key(const struct dns_query *q, uint8_t *key)
{
	size_t i;

	for (i = 0; i < q->qname_len; i++)
		key[i] = (uint8_t)tolower(q->qname[i]);
	key[i++] = (uint8_t)(q->qtype >> 8);
	key[i++] = (uint8_t)q->qtype;
	key[i++] = (uint8_t)(q->qclass >> 8);
	key[i++] = (uint8_t)q->qclass;
	key[i++] = (uint8_t)((q->edns ? 1 : 0) | (q->edns_do ? 2 : 0) |
	    ((q->flags & DNS_FLAG_CD) ? 4 : 0));
	return i;
}

static struct cache_entry **
cache_find(struct dns_cache *c, const uint8_t *key, size_t keylen,
    uint64_t h)
{
	struct cache_entry **pp;

	for (pp = &c->buckets[h & (c->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->keylen == keylen &&
		    memcmp(ENTRY_KEY(*pp), key, keylen) == 0)
			return pp;
	return NULL;
}

static void
cache_unlink_lru(struct dns_cache *c, struct cache_entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
cache_push_lru(struct dns_cache *c, struct cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head != NULL)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (c->lru_tail == NULL)
		c->lru_tail = e;
}

static void
cache_remove(struct dns_cache *c, struct cache_entry *e)
{
	struct cache_entry **pp;

	pp = cache_find(c, ENTRY_KEY(e), e->keylen, e->hash);
	if (pp != NULL && *pp == e)
		*pp = e->next;
	cache_unlink_lru(c, e);
	c->count--;
	free(e);
}

/*
 * Checks that ans answers q and is worth keeping, and records where its
 * TTLs are. The lifetime goes to *ttl. Returns 0 or CIP_E_INVAL.
 */
static int
cache_scan(const struct dns_query *q, const uint8_t *ans, size_t len,
    struct cache_scan *sc, uint32_t *ttl)
{
	struct dns_cursor w = { ans, len, 0, false };
	uint16_t flags, qd, counts[3], type, rdlen, rcode;
	uint32_t rttl, min = UINT32_MAX, soa = UINT32_MAX, soamin;
	size_t s, i, rdstart;

	(void)dns_cursor_u16(&w);
	flags = dns_cursor_u16(&w);
	qd = dns_cursor_u16(&w);
	for (s = 0; s < 3; s++)
		counts[s] = dns_cursor_u16(&w);
	rcode = flags & 0xf;
	if (w.err || qd != 1 || !(flags & DNS_FLAG_QR) ||
	    (flags & DNS_FLAG_TC) ||
	    (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN))
		return CIP_E_INVAL;
	/* The question, byte for byte but for case. */
	if (!dns_cursor_need(&w, q->qname_len + 4))
		return CIP_E_INVAL;
	for (i = 0; i < q->qname_len; i++)
		if (tolower(ans[w.pos + i]) != tolower(q->qname[i]))
			return CIP_E_INVAL;
	dns_cursor_skip(&w, q->qname_len);
	if (dns_cursor_u16(&w) != q->qtype || dns_cursor_u16(&w) != q->qclass)
		return CIP_E_INVAL;
	sc->nttl = 0;
	for (s = 0; s < 3; s++) {
		for (i = 0; i < counts[s]; i++) {
			dns_cursor_skip_name(&w);
			type = dns_cursor_u16(&w);
			(void)dns_cursor_u16(&w);
			if (w.err)
				return CIP_E_INVAL;
			if (type != DNS_TYPE_OPT) {
				if (sc->nttl == CACHE_MAX_TTLS)
					return CIP_E_INVAL;
				sc->ttl_off[sc->nttl++] = (uint16_t)w.pos;
			}
			rttl = dns_cursor_u32(&w);
			rdlen = dns_cursor_u16(&w);
			rdstart = w.pos;
			dns_cursor_skip(&w, rdlen);
			if (w.err)
				return CIP_E_INVAL;
			if (type == DNS_TYPE_OPT)
				continue;
			if (rttl > CACHE_MAX_TTL_S)
				rttl = CACHE_MAX_TTL_S;
			if (rttl < min)
				min = rttl;
			if (s == 1 && type == DNS_TYPE_SOA && rdlen >= 22) {
				const uint8_t *p = ans + rdstart + rdlen - 4;

				soamin = (uint32_t)p[0] << 24 |
				    (uint32_t)p[1] << 16 |
				    (uint32_t)p[2] << 8 | p[3];
				soa = MINIMUM(rttl, soamin);
			}
		}
	}
	if (rcode == DNS_RCODE_NXDOMAIN || counts[0] == 0) {
		if (soa == UINT32_MAX)
			return CIP_E_INVAL;
		min = soa;
	}
	if (min == 0 || min == UINT32_MAX)
		return CIP_E_INVAL;
	*ttl = min;
	return 0;
}

int
dns_cache_put(struct dns_cache *c, const struct dns_query *q,
    const uint8_t *ans, size_t len, uint64_t now_ms)
{
	struct cache_entry *e, **pp;
	struct cache_scan scan;
	uint8_t key[CACHE_KEY_MAX];
	size_t keylen;
	uint64_t h;
	uint32_t ttl;

	if (c->max == 0 || len < DNS_HDR_LEN || len > DNS_MAX_MSG ||
	    q->qname_len == 0)
		return CIP_E_INVAL;
	if (cache_scan(q, ans, len, &scan, &ttl) != 0)
		return CIP_E_INVAL;
	keylen = cache_key(q, key);
	if ((e = malloc(sizeof(*e) + keylen + 2 * scan.nttl + len)) == NULL)
		return CIP_E_NOMEM;
	h = hash_fnv1a(key, keylen);
	if ((pp = cache_find(c, key, keylen, h)) != NULL)
		cache_remove(c, *pp);
	while (c->count >= c->max && c->lru_tail != NULL)
		cache_remove(c, c->lru_tail);
	e->keylen = (uint16_t)keylen;
	e->nttl = (uint16_t)scan.nttl;
	e->len = (uint16_t)len;
	memcpy(ENTRY_KEY(e), key, keylen);
	memcpy(ENTRY_TTLS(e), scan.ttl_off, 2 * scan.nttl);
	memcpy(ENTRY_ANS(e), ans, len);
	e->hash = h;
	e->stored_ms = now_ms;
	e->expires_ms = now_ms + (uint64_t)ttl * 1000;
	e->next = c->buckets[h & (c->nbuckets - 1)];
	c->buckets[h & (c->nbuckets - 1)] = e;
	e->lru_prev = e->lru_next = NULL;
	cache_push_lru(c, e);
	c->count++;
	return 0;
}

size_t
dns_cache_get(struct dns_cache *c, const struct dns_query *q, uint8_t *buf,
    size_t cap, size_t maxlen, uint64_t now_ms)
{
	struct cache_entry **pp, *e;
	uint8_t key[CACHE_KEY_MAX];
	size_t keylen, i;
	uint64_t h;
	uint32_t age, ttl;
	uint8_t *p;

	if (c->max == 0 || q->qname_len == 0)
		return 0;
	keylen = cache_key(q, key);
	h = hash_fnv1a(key, keylen);
	if ((pp = cache_find(c, key, keylen, h)) == NULL)
		return 0;
	e = *pp;
	if (now_ms >= e->expires_ms) {
		cache_remove(c, e);
		return 0;
	}
	if (e->len > cap || e->len > maxlen)
		return 0;
	cache_unlink_lru(c, e);
	cache_push_lru(c, e);
	memcpy(buf, ENTRY_ANS(e), e->len);
	buf[0] = (uint8_t)(q->id >> 8);
	buf[1] = (uint8_t)q->id;
	buf[2] = (uint8_t)((buf[2] & ~(DNS_FLAG_RD >> 8)) |
	    ((q->flags & DNS_FLAG_RD) >> 8));
	memcpy(buf + DNS_HDR_LEN, q->qname, q->qname_len);
	age = (uint32_t)((now_ms - e->stored_ms) / 1000);
	for (i = 0; i < e->nttl; i++) {
		uint16_t off;

		memcpy(&off, ENTRY_TTLS(e) + 2 * i, 2);
		p = buf + off;
		ttl = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		ttl = ttl > age ? ttl - age : 0;
		p[0] = (uint8_t)(ttl >> 24);
		p[1] = (uint8_t)(ttl >> 16);
		p[2] = (uint8_t)(ttl >> 8);
		p[3] = (uint8_t)ttl;
	}
	return e->len;
}
