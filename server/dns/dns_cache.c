/* SPDX-License-Identifier: MIT */
/* dns_cache.c -- bounded LRU cache of forwarded answers honouring TTLs. */
#include "config.h"

#include <sys/types.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "dns_wire.h"
#include "dns_relay.h"
#include "dns_cache.h"

#define CACHE_KEY_MAX		(DNS_MAX_NAME + 5)

/* One answer; data holds the key. */
struct cache_entry {
	struct cache_entry	*next;		/* hash chain */
	struct cache_entry	*lru_prev, *lru_next;
	uint64_t		 hash;
	uint64_t		 stored_ms;
	uint64_t		 expires_ms;
	struct dns_relay_msg	*msg;
	uint16_t		 keylen;
	uint8_t			 data[];
};

#define ENTRY_KEY(e)	((e)->data)

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

/*
 * Key: lowercase wire qname, type, class, one byte of DO/CD bits (every
 * query goes upstream with EDNS, so the client's EDNS changes nothing
 * but how the answer is written).
 */
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
	key[i++] = (uint8_t)((q->edns_do ? 2 : 0) |
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
	dns_relay_msg_free(e->msg);
	free(e);
}

int
dns_cache_put(struct dns_cache *c, const struct dns_query *q,
    struct dns_relay_msg *m, uint64_t now_ms)
{
	struct cache_entry *e, **pp;
	uint8_t key[CACHE_KEY_MAX];
	size_t keylen;
	uint64_t h;

	if (c->max == 0 || q->qname_len == 0 || m->ttl_s == 0) {
		dns_relay_msg_free(m);
		return ERR_INVAL;
	}
	keylen = cache_key(q, key);
	if ((e = malloc(sizeof(*e) + keylen)) == NULL) {
		dns_relay_msg_free(m);
		return ERR_NOMEM;
	}
	h = hash_fnv1a(key, keylen);
	if ((pp = cache_find(c, key, keylen, h)) != NULL)
		cache_remove(c, *pp);
	while (c->count >= c->max && c->lru_tail != NULL)
		cache_remove(c, c->lru_tail);
	e->keylen = (uint16_t)keylen;
	memcpy(ENTRY_KEY(e), key, keylen);
	e->msg = m;
	e->hash = h;
	e->stored_ms = now_ms;
	e->expires_ms = now_ms + (uint64_t)m->ttl_s * 1000;
	e->next = c->buckets[h & (c->nbuckets - 1)];
	c->buckets[h & (c->nbuckets - 1)] = e;
	e->lru_prev = e->lru_next = NULL;
	cache_push_lru(c, e);
	c->count++;
	return 0;
}

const struct dns_relay_msg *
dns_cache_get(struct dns_cache *c, const struct dns_query *q, uint64_t now_ms,
    uint32_t *age_s)
{
	struct cache_entry **pp, *e;
	uint8_t key[CACHE_KEY_MAX];
	size_t keylen;
	uint64_t h;

	if (c->max == 0 || q->qname_len == 0)
		return NULL;
	keylen = cache_key(q, key);
	h = hash_fnv1a(key, keylen);
	if ((pp = cache_find(c, key, keylen, h)) == NULL)
		return NULL;
	e = *pp;
	if (now_ms >= e->expires_ms) {
		cache_remove(c, e);
		return NULL;
	}
	cache_unlink_lru(c, e);
	cache_push_lru(c, e);
	*age_s = (uint32_t)((now_ms - e->stored_ms) / 1000);
	return e->msg;
}
