/* SPDX-License-Identifier: MIT */
/* balancer.c -- endpoint choice: random, round-robin, least-conn, ClientIP. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "balancer.h"
#include "hmap.h"

/* A client pinned to an endpoint (sessionAffinity: ClientIP). */
struct balancer_pin {
	struct in6_addr	 client;
	uint64_t	 uid;
	uint64_t	 last_ms;
};

struct balancer {
	uint32_t	 rr;		/* round-robin cursor */
	struct ptab	 pins;		/* struct balancer_pin, by client */
};

static uint32_t	balancer_pin_hash(const void *);
static bool	balancer_pin_match(const void *, const void *);
static uint32_t	balancer_client_hash(const struct in6_addr *);
static struct balancer_pin *balancer_pin_find(const struct balancer *,
		    const struct in6_addr *);
static void	balancer_pin_set(struct balancer *, const struct in6_addr *,
		    uint64_t, uint64_t);
static size_t	balancer_nth(const struct balancer_load *, size_t, uint8_t,
		    size_t);
static size_t	balancer_choose(struct balancer *,
		    const struct balancer_req *, const struct balancer_load *,
		    size_t, uint8_t, size_t);

struct balancer *
balancer_new(void)
{
	struct balancer *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	ptab_init(&b->pins, balancer_pin_hash);
	return b;
}

void
balancer_free(struct balancer *b)
{
	struct balancer_pin *p;
	size_t pos;

	if (b == NULL)
		return;
	for (pos = 0; (p = ptab_next(&b->pins, &pos)) != NULL; )
		free(p);
	ptab_clear(&b->pins);
	free(b);
}

/* Both halves of the address count: IPv6 clients differ anywhere. */
static uint32_t
balancer_client_hash(const struct in6_addr *a)
{
	uint64_t hi, lo;

	memcpy(&hi, &a->s6_addr[0], 8);
	memcpy(&lo, &a->s6_addr[8], 8);
	return ptab_hash_u64(lo ^ (hi * 0x9e3779b97f4a7c15ULL));
}

static uint32_t
balancer_pin_hash(const void *o)
{
	return balancer_client_hash(&((const struct balancer_pin *)o)->client);
}

static bool
balancer_pin_match(const void *o, const void *key)
{
	return memcmp(&((const struct balancer_pin *)o)->client, key,
	    sizeof(struct in6_addr)) == 0;
}

static struct balancer_pin *
balancer_pin_find(const struct balancer *b, const struct in6_addr *client)
{
	return ptab_find(&b->pins, balancer_client_hash(client),
	    balancer_pin_match, client);
}

static void
balancer_pin_set(struct balancer *b, const struct in6_addr *client,
    uint64_t uid, uint64_t now_ms)
{
	struct balancer_pin *p;

	if ((p = balancer_pin_find(b, client)) == NULL) {
		if ((p = malloc(sizeof(*p))) == NULL)
			return;
		p->client = *client;
		if (ptab_add(&b->pins, p) != 0) {
			free(p);
			return;
		}
	}
	p->uid = uid;
	p->last_ms = now_ms;
}

/*
 * The index of the k-th endpoint (from 0) that avoid does not exclude;
 * the endpoints form one list, as if the excluded ones were not there.
 */
static size_t
balancer_nth(const struct balancer_load *load, size_t n, uint8_t avoid,
    size_t k)
{
	size_t i;

	if (load == NULL)
		return k;
	for (i = 0; i < n; i++)
		if ((load[i].flags & avoid) == 0 && k-- == 0)
			return i;
	return 0;	/* not reached: k < the number of eligible ones */
}

/* Chooses among the m endpoints that avoid does not exclude. */
static size_t
balancer_choose(struct balancer *b, const struct balancer_req *rq,
    const struct balancer_load *load, size_t n, uint8_t avoid, size_t m)
{
	size_t i, j, best, start;

	switch (rq->algo) {
	case LB_ROUND_ROBIN:
		return balancer_nth(load, n, avoid, b->rr++ % m);
	case LB_LEAST_CONN:
		/*
		 * The first least loaded from a rotating start, going round
		 * the eligible ones in order: ties spread.
		 */
		best = start = balancer_nth(load, n, avoid, b->rr++ % m);
		if (load == NULL)
			return best;
		for (i = 1; i < n; i++) {
			j = (start + i) % n;
			if ((load[j].flags & avoid) == 0 &&
			    load[j].active < load[best].active)
				best = j;
		}
		return best;
	case LB_RANDOM:
	default:
		/* Lemire's multiply-shift: unbiased enough for m << 2^32. */
		return balancer_nth(load, n, avoid,
		    (size_t)(((uint64_t)rq->rnd * m) >> 32));
	}
}

int
balancer_pick(struct balancer *b, const struct balancer_req *rq,
    const struct svc_endpoint *eps, size_t n,
    const struct balancer_load *load)
{
	struct balancer_pin *p;
	uint8_t avoid = BALANCER_FAILING | BALANCER_TRIED;
	size_t i, m = n, k;

	if (load != NULL) {
		/* Failing ones are avoided while there are others. */
		for (m = 0, i = 0; i < n; i++)
			if ((load[i].flags & avoid) == 0)
				m++;
		if (m == 0) {
			avoid = BALANCER_TRIED;
			for (i = 0; i < n; i++)
				if ((load[i].flags & avoid) == 0)
					m++;
		}
	}
	if (m == 0)
		return -1;
	if (rq->affinity_ms == 0)
		return (int)balancer_choose(b, rq, load, n, avoid, m);
	if ((p = balancer_pin_find(b, &rq->client)) != NULL &&
	    rq->now_ms - p->last_ms < rq->affinity_ms) {
		for (i = 0; i < n; i++)
			if (eps[i].uid == p->uid && (load == NULL ||
			    (load[i].flags & avoid) == 0)) {
				p->last_ms = rq->now_ms;
				return (int)i;
			}
	}
	k = balancer_choose(b, rq, load, n, avoid, m);
	balancer_pin_set(b, &rq->client, eps[k].uid, rq->now_ms);
	return (int)k;
}

uint64_t
balancer_pinned_uid(const struct balancer *b,
    const struct in6_addr *client, uint64_t affinity_ms, uint64_t now_ms)
{
	const struct balancer_pin *p;

	if (affinity_ms == 0 || (p = balancer_pin_find(b, client)) == NULL ||
	    now_ms - p->last_ms >= affinity_ms)
		return 0;
	return p->uid;
}

static bool
balancer_port_has(const struct svc_port *sp, enum ip_family f, uint64_t uid)
{
	const struct svc_ready *rd = f == IP_FAMILY_V6 ? sp->ready6 :
	    sp->ready;
	size_t i;

	for (i = 0; rd != NULL && i < rd->n; i++)
		if (rd->v[i].uid == uid)
			return true;
	return false;
}

bool
balancer_pin_elsewhere(const struct service *svc, const struct svc_port *sp,
    enum ip_family f, uint64_t uid)
{
	size_t i;

	if (uid == 0 || balancer_port_has(sp, f, uid))
		return false;
	for (i = 0; i < svc->nports; i++)
		if (&svc->ports[i] != sp &&
		    balancer_port_has(&svc->ports[i], f, uid))
			return true;
	return false;
}

size_t
balancer_expire(struct balancer *b, uint64_t affinity_ms, uint64_t now_ms)
{
	struct balancer_pin *p;
	struct ptab keep;
	size_t pos, gone = 0;

	/*
	 * The survivors move to a new table: the old one is never edited
	 * while walked. On OOM the pins stay until the next sweep.
	 */
	ptab_init(&keep, balancer_pin_hash);
	if (ptab_reserve(&keep, b->pins.count) != 0)
		return 0;
	for (pos = 0; (p = ptab_next(&b->pins, &pos)) != NULL; ) {
		if (now_ms - p->last_ms >= affinity_ms) {
			free(p);
			gone++;
		} else
			(void)ptab_add(&keep, p);	/* room reserved */
	}
	ptab_clear(&b->pins);
	b->pins = keep;
	return gone;
}

size_t
balancer_pinned(const struct balancer *b)
{
	return b->pins.count;
}
