/* SPDX-License-Identifier: MIT */
/*
 * hmap.c -- string-keyed hash map, separate chaining, doubled at load 1.
 * One allocation per entry (the key lives inside it); the bucket array is
 * allocated at the first insertion, so an empty map costs one small block.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"

struct hmap_entry {
	struct hmap_entry	*next;
	void			*val;
	uint32_t		 hash;
	char			 key[];
};

struct hmap {
	struct hmap_entry	**buckets;
	size_t			  nbuckets;	/* 2^k, or 0 */
	size_t			  count;
};

#define HMAP_MIN_BUCKETS	16

/*
 * FNV-1a with its 64 bits folded and mixed, so that the low bits that
 * pick a bucket depend on every byte of keys differing only at the end.
 */
static uint32_t
hmap_hash(const char *key, size_t len)
{
	return ptab_hash_u64(hash_fnv1a(key, len));
}

struct hmap *
hmap_new(void)
{
	return calloc(1, sizeof(struct hmap));
}

void
hmap_free(struct hmap *m, void (*free_val)(void *))
{
	struct hmap_entry *e, *next;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			if (free_val)
				free_val(e->val);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

/* The link pointing at key's entry (NULL there when absent). */
static struct hmap_entry **
hmap_slot(const struct hmap *m, const char *key, uint32_t hash)
{
	struct hmap_entry **pp;

	for (pp = &m->buckets[hash & (m->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->hash == hash && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	struct hmap_entry *e;

	if (m->count == 0)
		return NULL;
	e = *hmap_slot(m, key, hmap_hash(key, strlen(key)));
	return e ? e->val : NULL;
}

/* Doubles the buckets; returns -1 only when there are none yet. */
static int
hmap_grow(struct hmap *m)
{
	struct hmap_entry **nb, *e, *next;
	size_t i, n = m->nbuckets ? m->nbuckets * 2 : HMAP_MIN_BUCKETS;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return m->nbuckets ? 0 : -1;	/* longer chains, correct */
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
	return 0;
}

int
hmap_put(struct hmap *m, const char *key, void *val, void **old)
{
	size_t klen = strlen(key);
	uint32_t h = hmap_hash(key, klen);
	struct hmap_entry **pp, *e;

	if (m->nbuckets == 0 && hmap_grow(m) != 0)
		return -1;
	pp = hmap_slot(m, key, h);
	if (*pp != NULL) {
		if (old)
			*old = (*pp)->val;
		(*pp)->val = val;
		return 0;
	}
	if (old)
		*old = NULL;
	if ((e = malloc(sizeof(*e) + klen + 1)) == NULL)
		return -1;
	memcpy(e->key, key, klen + 1);
	e->hash = h;
	e->val = val;
	e->next = NULL;
	*pp = e;
	if (++m->count > m->nbuckets)
		(void)hmap_grow(m);
	return 0;
}

void *
hmap_del(struct hmap *m, const char *key)
{
	struct hmap_entry **pp, *e;
	void *val;

	if (m->count == 0)
		return NULL;
	pp = hmap_slot(m, key, hmap_hash(key, strlen(key)));
	if ((e = *pp) == NULL)
		return NULL;
	*pp = e->next;
	val = e->val;
	free(e);
	m->count--;
	return val;
}

size_t
hmap_count(const struct hmap *m)
{
	return m->count;
}

void
hmap_iter_init(struct hmap_iter *it, const struct hmap *m)
{
	it->map = m;
	it->bucket = 0;
	it->next = m->nbuckets ? m->buckets[0] : NULL;
}

bool
hmap_iter_next(struct hmap_iter *it, const char **key, void **val)
{
	struct hmap_entry *e = it->next;

	while (e == NULL) {
		if (++it->bucket >= it->map->nbuckets)
			return false;
		e = it->map->buckets[it->bucket];
	}
	it->next = e->next;
	if (key)
		*key = e->key;
	if (val)
		*val = e->val;
	return true;
}

/* --- ptab ------------------------------------------------------------ */

uint32_t
ptab_hash_u64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

uint32_t
ptab_hash_str(const char *s)
{
	return hmap_hash(s, strlen(s));
}

void
ptab_init(struct ptab *t, uint32_t (*hash)(const void *))
{
	t->slots = NULL;
	t->cap = t->count = 0;
	t->hash = hash;
}

void
ptab_clear(struct ptab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->count = 0;
}

static void
ptab_place(void **slots, size_t cap, uint32_t h, void *obj)
{
	size_t i = h & (cap - 1);

	while (slots[i] != NULL)
		i = (i + 1) & (cap - 1);
	slots[i] = obj;
}

int
ptab_reserve(struct ptab *t, size_t n)
{
	void **ns;
	size_t i, ncap;

	if ((t->count + n) * 4 <= t->cap * 3)
		return 0;
	ncap = t->cap ? t->cap * 2 : 16;
	while ((t->count + n) * 4 > ncap * 3)
		ncap *= 2;
	if ((ns = calloc(ncap, sizeof(*ns))) == NULL)
		return -1;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i] != NULL)
			ptab_place(ns, ncap, t->hash(t->slots[i]),
			    t->slots[i]);
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

int
ptab_add(struct ptab *t, void *obj)
{
	if (ptab_reserve(t, 1) != 0)
		return -1;
	ptab_place(t->slots, t->cap, t->hash(obj), obj);
	t->count++;
	return 0;
}

void *
ptab_find(const struct ptab *t, uint32_t h, ptab_match_fn *match,
    const void *key)
{
	size_t i;

	if (t->count == 0)
		return NULL;
	for (i = h & (t->cap - 1); t->slots[i] != NULL;
	    i = (i + 1) & (t->cap - 1))
		if (match(t->slots[i], key))
			return t->slots[i];
	return NULL;
}

bool
ptab_remove(struct ptab *t, const void *obj)
{
	size_t i, j, home, mask = t->cap - 1;

	if (t->count == 0)
		return false;
	for (i = t->hash(obj) & mask; t->slots[i] != obj; i = (i + 1) & mask)
		if (t->slots[i] == NULL)
			return false;
	/* Backward shift: pull later members of the run into the hole. */
	for (j = (i + 1) & mask; t->slots[j] != NULL; j = (j + 1) & mask) {
		home = t->hash(t->slots[j]) & mask;
		/* Movable when home is not cyclically within (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = NULL;
	t->count--;
	return true;
}

void *
ptab_next(const struct ptab *t, size_t *pos)
{
	while (*pos < t->cap) {
		void *o = t->slots[(*pos)++];
		if (o != NULL)
			return o;
	}
	return NULL;
}
