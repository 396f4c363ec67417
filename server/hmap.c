/* SPDX-License-Identifier: MIT */
/* hmap.c -- string-keyed hash map, separate chaining, doubled at load 1. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"

struct hmap_entry {
	struct hmap_entry	*next;
	uint64_t		 hash;
	void			*val;
	char			 key[];
};

struct hmap {
	struct hmap_entry	**buckets;
	size_t			  nbuckets;	/* power of two */
	size_t			  count;
};

#define HMAP_MIN_BUCKETS	16

struct hmap *
hmap_new(void)
{
	struct hmap *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->nbuckets = HMAP_MIN_BUCKETS;
	if ((m->buckets = calloc(m->nbuckets, sizeof(*m->buckets))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
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

static struct hmap_entry **
hmap_slot(const struct hmap *m, const char *key, uint64_t hash)
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
	uint64_t h = hash_fnv1a(key, strlen(key));
	struct hmap_entry *e = *hmap_slot(m, key, h);

	return e ? e->val : NULL;
}

static void
hmap_grow(struct hmap *m)
{
	struct hmap_entry **nb, *e, *next;
	size_t i, n = m->nbuckets * 2;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
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
}

int
hmap_put(struct hmap *m, const char *key, void *val, void **old)
{
	size_t klen = strlen(key);
	uint64_t h = hash_fnv1a(key, klen);
	struct hmap_entry **pp = hmap_slot(m, key, h), *e;

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
		hmap_grow(m);
	return 0;
}

void *
hmap_del(struct hmap *m, const char *key)
{
	uint64_t h = hash_fnv1a(key, strlen(key));
	struct hmap_entry **pp = hmap_slot(m, key, h), *e;
	void *val;

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
