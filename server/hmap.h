/* SPDX-License-Identifier: MIT */
/* hmap.h -- string-keyed hash map with O(1) lookups and incremental growth. */
#ifndef CIP_HMAP_H
#define CIP_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap;

struct hmap_iter {
	const struct hmap	*map;
	size_t			 bucket;
	void			*next;
};

/* Returns a new empty map, or NULL on OOM. */
struct hmap *hmap_new(void);
/* Frees the map; free_val (may be NULL) is called for each value. */
void	hmap_free(struct hmap *, void (*free_val)(void *));
/* Returns the value stored under key, or NULL. */
void	*hmap_get(const struct hmap *, const char *key);
/*
 * Stores val under key (the key is copied). A previous value is replaced
 * and returned through *old (may be NULL). Returns 0, or -1 on OOM.
 */
int	hmap_put(struct hmap *, const char *key, void *val, void **old);
/* Removes key; returns its value or NULL. */
void	*hmap_del(struct hmap *, const char *key);
size_t	hmap_count(const struct hmap *);
/*
 * Iteration in no particular order. The map must not change while
 * iterating, except hmap_del of the entry just returned.
 */
void	hmap_iter_init(struct hmap_iter *, const struct hmap *);
bool	hmap_iter_next(struct hmap_iter *, const char **key, void **val);

#endif
