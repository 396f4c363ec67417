/* SPDX-License-Identifier: MIT */
/* balancer.c -- endpoint choice: random, round-robin, least-conn, ClientIP. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "balancer.h"

/* A client pinned to an endpoint (sessionAffinity: ClientIP). */
struct balancer_pin {
	struct balancer_pin	*next;
	uint32_t		 client;
	uint64_t		 last_ms;
	char			*key;
};

struct balancer {
	uint32_t		  rr;		/* round-robin cursor */
	struct balancer_pin	**buckets;
	size_t			  nbuckets;	/* power of two, or 0 */
	size_t			  npins;
};

static size_t	balancer_hash(const struct balancer *, uint32_t);
static struct balancer_pin **balancer_pin_find(struct balancer *, uint32_t);
static int	balancer_grow(struct balancer *);
static int	balancer_choose(struct balancer *, enum lb_algo,
		    const struct balancer_cand *, size_t, uint32_t);
static void	balancer_pin_set(struct balancer *, uint32_t, const char *,
		    uint64_t);

struct balancer *
balancer_new(void)
{
	return calloc(1, sizeof(struct balancer));
}

void
balancer_free(struct balancer *b)
{
	struct balancer_pin *p, *next;
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nbuckets; i++) {
		for (p = b->buckets[i]; p != NULL; p = next) {
			next = p->next;
			free(p->key);
			free(p);
		}
	}
	free(b->buckets);
	free(b);
}

static size_t
balancer_hash(const struct balancer *b, uint32_t client)
{
	uint32_t h = client * 2654435761u;

	return (h ^ (h >> 16)) & (b->nbuckets - 1);
}

static struct balancer_pin **
balancer_pin_find(struct balancer *b, uint32_t client)
{
	struct balancer_pin **pp;

	if (b->nbuckets == 0)
		return NULL;
	for (pp = &b->buckets[balancer_hash(b, client)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->client == client)
			return pp;
	return NULL;
}

static int
balancer_grow(struct balancer *b)
{
	struct balancer_pin **nb, **ob, *p, *next;
	size_t i, on, n;

	n = b->nbuckets == 0 ? 64 : b->nbuckets * 2;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	ob = b->buckets;
	on = b->nbuckets;
	b->buckets = nb;
	b->nbuckets = n;
	for (i = 0; i < on; i++) {
		for (p = ob[i]; p != NULL; p = next) {
			next = p->next;
			p->next = nb[balancer_hash(b, p->client)];
			nb[balancer_hash(b, p->client)] = p;
		}
	}
	free(ob);
	return 0;
}

static void
balancer_pin_set(struct balancer *b, uint32_t client, const char *key,
    uint64_t now_ms)
{
	struct balancer_pin **pp, *p;
	char *k;

	if ((pp = balancer_pin_find(b, client)) != NULL) {
		p = *pp;
		p->last_ms = now_ms;
		if (strcmp(p->key, key) != 0) {
			if ((k = strdup(key)) == NULL)
				return;
			free(p->key);
			p->key = k;
		}
		return;
	}
	if (b->npins >= b->nbuckets && balancer_grow(b) == -1)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return;
	if ((p->key = strdup(key)) == NULL) {
		free(p);
		return;
	}
	p->client = client;
	p->last_ms = now_ms;
	p->next = b->buckets[balancer_hash(b, client)];
	b->buckets[balancer_hash(b, client)] = p;
	b->npins++;
}

static int
balancer_choose(struct balancer *b, enum lb_algo algo,
    const struct balancer_cand *c, size_t n, uint32_t rnd)
{
	size_t i, j, best, start;

	switch (algo) {
	case LB_ROUND_ROBIN:
		return (int)(b->rr++ % n);
	case LB_LEAST_CONN:
		/* The first least loaded from a rotating start: ties spread. */
		best = start = b->rr++ % n;
		for (i = 1; i < n; i++) {
			j = (start + i) % n;
			if (c[j].active < c[best].active)
				best = j;
		}
		return (int)best;
	case LB_RANDOM:
	default:
		/* Lemire's multiply-shift: unbiased enough for n << 2^32. */
		return (int)(((uint64_t)rnd * n) >> 32);
	}
}

int
balancer_pick(struct balancer *b, enum lb_algo algo,
    const struct balancer_cand *c, size_t n, uint32_t client,
    uint64_t affinity_ms, uint64_t now_ms, uint32_t rnd)
{
	struct balancer_pin **pp, *p;
	size_t i;
	int pick;

	if (n == 0)
		return -1;
	if (affinity_ms == 0)
		return balancer_choose(b, algo, c, n, rnd);
	if ((pp = balancer_pin_find(b, client)) != NULL) {
		p = *pp;
		if (now_ms - p->last_ms < affinity_ms) {
			for (i = 0; i < n; i++) {
				if (strcmp(c[i].key, p->key) == 0) {
					p->last_ms = now_ms;
					return (int)i;
				}
			}
		}
	}
	pick = balancer_choose(b, algo, c, n, rnd);
	balancer_pin_set(b, client, c[pick].key, now_ms);
	return pick;
}

const char *
balancer_pinned_key(struct balancer *b, uint32_t client, uint64_t affinity_ms,
    uint64_t now_ms)
{
	struct balancer_pin **pp;

	if (affinity_ms == 0 || (pp = balancer_pin_find(b, client)) == NULL ||
	    now_ms - (*pp)->last_ms >= affinity_ms)
		return NULL;
	return (*pp)->key;
}

size_t
balancer_expire(struct balancer *b, uint64_t affinity_ms, uint64_t now_ms)
{
	struct balancer_pin **pp, *p;
	size_t i, gone = 0;

	for (i = 0; i < b->nbuckets; i++) {
		pp = &b->buckets[i];
		while ((p = *pp) != NULL) {
			if (now_ms - p->last_ms >= affinity_ms) {
				*pp = p->next;
				free(p->key);
				free(p);
				b->npins--;
				gone++;
			} else
				pp = &p->next;
		}
	}
	return gone;
}

size_t
balancer_pinned(const struct balancer *b)
{
	return b->npins;
}
