/* SPDX-License-Identifier: MIT */
/* hmap.h -- string-keyed hash map with O(1) lookups and incremental growth. */
#ifndef CIP_HMAP_H
#define CIP_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * A set of objects that carry their own key, with open addressing: no
 * allocation per entry, one array of pointers (at most 3/4 full). hash
 * gives the hash of a stored object; lookups pass the same hash of the
 * key and a match function. An object's key must not change while it
 * is in the set.
 */
struct ptab {
	void		**slots;
	size_t		  cap;		/* power of two, or 0 */
	size_t		  count;
	uint32_t	(*hash)(const void *obj);
};

typedef bool ptab_match_fn(const void *obj, const void *key);

void	ptab_init(struct ptab *, uint32_t (*hash)(const void *));
/* Frees the array (not the objects); the set is left empty. */
void	ptab_clear(struct ptab *);
/* Adds obj, which must not be in the set. Returns 0, or -1 on OOM. */
int	ptab_add(struct ptab *, void *obj);
/*
 * Makes room for n more objects at once, so that adding them rehashes
 * nothing. Returns 0, or -1 on OOM (the set is unchanged).
 */
int	ptab_reserve(struct ptab *, size_t n);
/* The object matching key, or NULL. */
void	*ptab_find(const struct ptab *, uint32_t hash, ptab_match_fn *,
    const void *key);
/* Removes obj itself when present; returns whether it was. */
bool	ptab_remove(struct ptab *, const void *obj);
/*
 * Iteration: *pos starts at 0; returns the next object or NULL at the
 * end. The set must not change while iterating.
 */
void	*ptab_next(const struct ptab *, size_t *pos);
/* The hash ptab and hmap use for strings, and one for integers. */
uint32_t ptab_hash_str(const char *);
uint32_t ptab_hash_u64(uint64_t);

#endif
