/* SPDX-License-Identifier: MIT */
/*
 * vip.c -- stable virtual IPs from one CIDR per family; the state file is
 * vip_state.c's.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hmap.h"
#include "log.h"
#include "util.h"
#include "vip.h"
#include "vip_impl.h"

#define VIP_PREFIX_MIN		8
#define VIP_PREFIX_MAX		30
/* IPv6: at most 32 host bits, so offsets fit the IPv4 machinery. */
#define VIP6_PREFIX_MIN		96
#define VIP6_PREFIX_MAX		126

/* What vip_alloc would do; computed without changing the pool. */
struct vip_plan {
	struct vip_entry	*mine;		/* key's entry, if any */
	uint32_t		 addr;		/* host order */
};

static uint64_t	vip_mix(uint64_t);
static uint32_t	vip_gcd(uint32_t, uint32_t);
static uint32_t	vip_probe(const struct vip_space *, const char *);
static int	vip_plan(const struct vip_space *, const char *,
    uint32_t, struct vip_plan *, char *, size_t);
static void	vip_forget(struct vip_space *, struct vip_entry *);

/* An IPv6 address of sp from its offset. */
struct in6_addr
vip_addr6(const struct vip_space *sp, uint32_t off)
{
	struct in6_addr a = sp->net6;
	uint32_t low;

	memcpy(&low, &a.s6_addr[12], 4);
	low = htonl(ntohl(low) | off);
	memcpy(&a.s6_addr[12], &low, 4);
	return a;
}

/* True when a lies in sp's range; its offset there in *off. */
bool
vip_off6(const struct vip_space *sp, const struct in6_addr *a, uint32_t *off)
{
	uint32_t low, net, mask;

	*off = 0;
	if (memcmp(a->s6_addr, sp->net6.s6_addr, 12) != 0)
		return false;
	memcpy(&low, &a->s6_addr[12], 4);
	memcpy(&net, &sp->net6.s6_addr[12], 4);
	mask = sp->prefix == 96 ? 0 : 0xffffffffu << (128 - sp->prefix);
	if ((ntohl(low) & mask) != ntohl(net))
		return false;
	*off = ntohl(low) & ~mask;
	return true;
}

/* addr of sp in presentation form; buf holds INET6_ADDRSTRLEN bytes. */
const char *
vip_space_str(const struct vip_space *sp, uint32_t addr, char *buf)
{
	struct in6_addr a6;
	struct in_addr in;

	if (sp->af == AF_INET6) {
		a6 = vip_addr6(sp, addr);
		return inet_ntop(AF_INET6, &a6, buf, INET6_ADDRSTRLEN);
	}
	in.s_addr = htonl(addr);
	return inet4_str(in, buf);
}


static uint32_t
vip_key_hash(const void *e)
{
	return ptab_hash_str(((const struct vip_entry *)e)->key);
}

static bool
vip_key_match(const void *e, const void *key)
{
	return strcmp(((const struct vip_entry *)e)->key, key) == 0;
}

static uint32_t
vip_addr_hash(const void *e)
{
	return ptab_hash_u64(((const struct vip_entry *)e)->addr);
}

static bool
vip_addr_match(const void *e, const void *addr)
{
	return ((const struct vip_entry *)e)->addr ==
	    *(const uint32_t *)addr;
}

struct vip_entry *
vip_entry_new(const char *key, uint32_t addr)
{
	size_t klen = strlen(key);
	struct vip_entry *e;

	if ((e = calloc(1, sizeof(*e) + klen + 1)) == NULL)
		return NULL;
	memcpy(e->key, key, klen + 1);
	e->addr = addr;
	return e;
}

struct vip_entry *
vip_find_key(const struct vip_space *p, const char *key)
{
	return ptab_find(&p->by_key, ptab_hash_str(key), vip_key_match, key);
}

struct vip_entry *
vip_find_addr(const struct vip_space *p, uint32_t addr)
{
	return ptab_find(&p->by_addr, ptab_hash_u64(addr), vip_addr_match,
	    &addr);
}

/* Inside the range and neither the network nor the broadcast address. */
bool
vip_usable(const struct vip_space *p, uint32_t addr)
{
	return addr > p->net && addr - p->net <= p->usable;
}

/* A 64-bit finalizer (splitmix64), so every bit of the hash counts. */
static uint64_t
vip_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint32_t
vip_gcd(uint32_t a, uint32_t b)
{
	uint32_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * The first free address on key's probe sequence: start and stride
 * come from the key's hash, and the stride is coprime with the number
 * of usable addresses, so the sequence visits each of them once. The
 * caller has checked that a free address exists.
 */
static uint32_t
vip_probe(const struct vip_space *p, const char *key)
{
	uint64_t h = hash_fnv1a(key, strlen(key));
	uint32_t off, step, i;

	off = (uint32_t)(vip_mix(h) % p->usable);
	step = 1 + (uint32_t)(vip_mix(h ^ 0x9e3779b97f4a7c15ULL) %
	    (p->usable - 1));
	while (vip_gcd(step, p->usable) != 1)
		step = step + 1 < p->usable ? step + 1 : 1;
	for (i = 0; i < p->usable; i++) {
		if (vip_find_addr(p, p->net + 1 + off) == NULL)
			break;
		off = (uint32_t)(((uint64_t)off + step) % p->usable);
	}
	return p->net + 1 + off;
}

/* requested: an address of p as vip_space holds it, 0 for any. */
static int
vip_plan(const struct vip_space *p, const char *key, uint32_t requested,
    struct vip_plan *plan, char *err, size_t errlen)
{
	struct vip_entry *e;
	char buf[INET6_ADDRSTRLEN];
	uint32_t a;

	memset(plan, 0, sizeof(*plan));
	if (key == NULL || *key == '\0' || strpbrk(key, "\r\n") != NULL) {
		errf(err, errlen, "invalid key for an address");
		return ERR_INVAL;
	}
	plan->mine = vip_find_key(p, key);
	if (requested != 0) {
		a = requested;
		if (!vip_usable(p, a)) {
			errf(err, errlen, "%s is not a usable address of %s",
			    vip_space_str(p, a, buf), p->range);
			return ERR_INVAL;
		}
		e = vip_find_addr(p, a);
		if (e != NULL && e != plan->mine && e->in_use) {
			errf(err, errlen, "%s is already allocated to %s",
			    vip_space_str(p, a, buf), e->key);
			return ERR_CONFLICT;
		}
		plan->addr = a;
		return 0;
	}
	if (plan->mine != NULL) {
		plan->addr = plan->mine->addr;
		return 0;
	}
	if (p->nentries < p->usable) {
		plan->addr = vip_probe(p, key);
		return 0;
	}
	if ((e = TAILQ_FIRST(&p->released)) != NULL) {
		plan->addr = e->addr;
		return 0;
	}
	errf(err, errlen, "no address left in %s (%zu in use)", p->range,
	    p->nused);
	return ERR_EXHAUSTED;
}

void
vip_entry_free(void *arg)
{
	free(arg);
}

uint64_t
vip_entry_digest(int af, const char *key, uint32_t addr, bool in_use)
{
	uint64_t h = hash_fnv1a(key, strlen(key));

	h ^= ((uint64_t)addr << 8) | ((uint64_t)(af == AF_INET6) << 1) |
	    in_use;
	return ptab_hash_u64(h) | ((uint64_t)ptab_hash_u64(~h) << 32);
}

uint64_t
vip_pool_digest(const struct vip_pool *p)
{
	uint64_t d = 0;
	size_t k;

	for (k = 0; k < p->nsp; k++)
		d += ptab_hash_u64(hash_fnv1a(p->sp[k]->range,
		    strlen(p->sp[k]->range))) + p->sp[k]->digest;
	return d;
}

/* Takes e's part out of p's digest (before a change), or puts it in. */
static void
vip_digest(struct vip_space *p, const struct vip_entry *e, bool add)
{
	uint64_t h = vip_entry_digest(p->af, e->key, e->addr, e->in_use);

	p->digest = add ? p->digest + h : p->digest - h;
}

/* Drops an entry from every index and frees it. */
static void
vip_forget(struct vip_space *p, struct vip_entry *e)
{
	vip_digest(p, e, false);
	ptab_remove(&p->by_addr, e);
	ptab_remove(&p->by_key, e);
	if (!e->in_use)
		TAILQ_REMOVE(&p->released, e, rel);
	else
		p->nused--;
	p->nentries--;
	vip_entry_free(e);
}

/* Forgets every entry. */
void
vip_clear(struct vip_space *p)
{
	struct vip_entry *e;
	size_t pos;

	for (pos = 0; (e = ptab_next(&p->by_key, &pos)) != NULL; )
		vip_entry_free(e);
	ptab_clear(&p->by_key);
	ptab_clear(&p->by_addr);
	TAILQ_INIT(&p->released);
	p->nentries = p->nused = 0;
	p->digest = 0;
}

/* Frees a space and everything it holds. */
static void
vip_space_free(struct vip_space *sp)
{
	if (sp == NULL)
		return;
	vip_clear(sp);
	free(sp->range);
	free(sp);
}

/* A space over cidr (IPv4 /8-/30 or IPv6 /96-/126), or NULL with err. */
static struct vip_space *
vip_space_new(const char *cidr, char *err, size_t errlen)
{
	struct vip_space *sp;
	struct in6_addr net6;
	struct in_addr net;
	unsigned prefix, host;
	uint32_t mask, low;
	int af;

	if (cidr != NULL && parse_cidr4(cidr, &net, &prefix) == 0) {
		af = AF_INET;
		if (prefix < VIP_PREFIX_MIN || prefix > VIP_PREFIX_MAX) {
			errf(err, errlen, "VIP range %s: prefix must be /%d "
			    "to /%d", cidr, VIP_PREFIX_MIN, VIP_PREFIX_MAX);
			return NULL;
		}
		host = 32 - prefix;
		mask = 0xffffffffu << host;
		low = ntohl(net.s_addr);
	} else if (cidr != NULL && parse_cidr6(cidr, &net6, &prefix) == 0) {
		af = AF_INET6;
		if (prefix < VIP6_PREFIX_MIN || prefix > VIP6_PREFIX_MAX) {
			errf(err, errlen, "VIP range %s: IPv6 prefix must be "
			    "/%d to /%d", cidr, VIP6_PREFIX_MIN,
			    VIP6_PREFIX_MAX);
			return NULL;
		}
		host = 128 - prefix;
		mask = host == 32 ? 0 : 0xffffffffu << host;
		memcpy(&low, &net6.s6_addr[12], 4);
		low = ntohl(low);
	} else {
		errf(err, errlen, "invalid VIP range \"%s\": want A.B.C.D/N "
		    "or an IPv6 ADDR/N", cidr ? cidr : "");
		return NULL;
	}
	if ((low & ~mask) != 0) {
		errf(err, errlen, "VIP range %s: host bits are set", cidr);
		return NULL;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->range = strdup(cidr)) == NULL) {
		free(sp);
		errf(err, errlen, "out of memory");
		return NULL;
	}
	TAILQ_INIT(&sp->released);
	ptab_init(&sp->by_key, vip_key_hash);
	ptab_init(&sp->by_addr, vip_addr_hash);
	sp->af = af;
	sp->prefix = prefix;
	sp->usable = ~mask - 1;
	if (af == AF_INET)
		sp->net = low;
	else
		sp->net6 = net6;
	return sp;
}

struct vip_pool *
vip_pool_new(const char *cidr, const char *state_path, char *err,
    size_t errlen)
{
	return vip_pool_new_ranges(&cidr, 1, state_path, err, errlen);
}

struct vip_pool *
vip_pool_new_ranges(const char *const *cidrs, size_t n,
    const char *state_path, char *err, size_t errlen)
{
	struct vip_pool *p;
	struct vip_space *sp;
	size_t i;

	if (n == 0 || n > 2) {
		errf(err, errlen, "VIP ranges: one or two (one per family)");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if ((sp = vip_space_new(cidrs[i], err, errlen)) == NULL)
			goto fail;
		p->sp[p->nsp++] = sp;
		if ((sp->af == AF_INET ? p->v4 : p->v6) != NULL) {
			errf(err, errlen, "VIP ranges %s and %s: at most one "
			    "per family", cidrs[0], cidrs[i]);
			goto fail;
		}
		if (sp->af == AF_INET)
			p->v4 = sp;
		else
			p->v6 = sp;
	}
	if (state_path != NULL && (p->state_path = strdup(state_path)) == NULL)
		goto oom;
	if (p->state_path != NULL)
		vip_load(p);
	return p;
oom:
	errf(err, errlen, "out of memory");
fail:
	vip_pool_free(p);
	return NULL;
}

void
vip_pool_free(struct vip_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nsp; i++)
		vip_space_free(p->sp[i]);
	free(p->state_path);
	free(p->legacy_path);
	free(p);
}

size_t
vip_families(const struct vip_pool *p, int af[2])
{
	size_t i;

	for (i = 0; i < p->nsp; i++)
		af[i] = p->sp[i]->af;
	return p->nsp;
}

/* The space of af, or NULL with a reason in err. */
static struct vip_space *
vip_space_of(const struct vip_pool *p, int af, char *err, size_t errlen)
{
	struct vip_space *sp = af == AF_INET6 ? p->v6 : p->v4;

	if (sp == NULL)
		errf(err, errlen, "no %s VIP range is configured",
		    af == AF_INET6 ? "IPv6" : "IPv4");
	return sp;
}

/* requested as sp holds it: 0 for any, else an address or offset. */
static int
vip_request(const struct vip_space *sp, const void *requested,
    uint32_t *out, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN];
	const struct in6_addr *a6;

	*out = 0;
	if (requested == NULL)
		return 0;
	if (sp->af == AF_INET) {
		*out = ntohl(((const struct in_addr *)requested)->s_addr);
		return 0;
	}
	a6 = requested;
	if (memcmp(a6, &in6addr_any, sizeof(*a6)) == 0)
		return 0;
	if (!vip_off6(sp, a6, out) || *out == 0) {
		errf(err, errlen, "%s is not a usable address of %s",
		    inet_ntop(AF_INET6, a6, buf, sizeof(buf)), sp->range);
		return ERR_INVAL;
	}
	return 0;
}

static int
vip_space_check(const struct vip_pool *p, int af, const char *key,
    const void *requested, char *err, size_t errlen)
{
	struct vip_space *sp;
	struct vip_plan plan;
	uint32_t req;
	int rc;

	if ((sp = vip_space_of(p, af, err, errlen)) == NULL)
		return ERR_INVAL;
	if ((rc = vip_request(sp, requested, &req, err, errlen)) != 0)
		return rc;
	return vip_plan(sp, key, req, &plan, err, errlen);
}

int
vip_check(const struct vip_pool *p, const char *key, struct in_addr requested,
    char *err, size_t errlen)
{
	return vip_space_check(p, AF_INET, key, &requested, err, errlen);
}

int
vip_check6(const struct vip_pool *p, const char *key,
    const struct in6_addr *requested, char *err, size_t errlen)
{
	return vip_space_check(p, AF_INET6, key, requested, err, errlen);
}

/* vip_alloc on one space; *out as the space holds addresses. */
static int
vip_space_alloc(struct vip_space *p, const char *key, uint32_t requested,
    uint32_t *out, char *err, size_t errlen)
{
	struct vip_plan plan;
	struct vip_entry *e, *old;
	char buf[INET6_ADDRSTRLEN];
	int rc;

	if ((rc = vip_plan(p, key, requested, &plan, err, errlen)) != 0)
		return rc;
	e = plan.mine;
	old = vip_find_addr(p, plan.addr);
	if (e != NULL)
		vip_digest(p, e, false);	/* back in below */
	if (e == NULL) {
		/* The only step that allocates, before anything changes. */
		if ((e = vip_entry_new(key, plan.addr)) == NULL)
			goto oom;
		if (ptab_add(&p->by_key, e) != 0) {
			vip_entry_free(e);
			goto oom;
		}
		if (old == NULL && ptab_add(&p->by_addr, e) != 0) {
			ptab_remove(&p->by_key, e);
			vip_entry_free(e);
			goto oom;
		}
		e->in_use = true;
		e->seq = ++p->seq;
		p->nentries++;
		p->nused++;
		p->dirty = true;
	} else if (old != e)
		/* The key moves to a requested address. */
		ptab_remove(&p->by_addr, e);
	if (old != NULL && old != e) {
		/* A released key held the address: it is forgotten. */
		log_debug("%s: %s reclaimed from released %s", __func__,
		    vip_space_str(p, plan.addr, buf), old->key);
		vip_forget(p, old);
		p->dirty = true;
	}
	if (old != e && (old != NULL || plan.mine != NULL)) {
		/*
		 * e takes the place of what was removed above, so the
		 * table does not grow and this cannot fail.
		 */
		if (e->addr != plan.addr)
			p->dirty = true;
		e->addr = plan.addr;
		(void)ptab_add(&p->by_addr, e);
	}
	if (!e->in_use) {
		TAILQ_REMOVE(&p->released, e, rel);
		e->in_use = true;
		e->seq = ++p->seq;
		p->nused++;
		p->dirty = true;
	}
	vip_digest(p, e, true);
	*out = e->addr;
	return 0;
oom:
	errf(err, errlen, "out of memory");
	return ERR_NOMEM;
}

int
vip_alloc(struct vip_pool *p, const char *key, struct in_addr requested,
    struct in_addr *out, char *err, size_t errlen)
{
	struct vip_space *sp;
	uint32_t a;
	int rc;

	if ((sp = vip_space_of(p, AF_INET, err, errlen)) == NULL)
		return ERR_INVAL;
	if ((rc = vip_space_alloc(sp, key, ntohl(requested.s_addr), &a, err,
	    errlen)) != 0)
		return rc;
	out->s_addr = htonl(a);
	return 0;
}

int
vip_alloc6(struct vip_pool *p, const char *key,
    const struct in6_addr *requested, struct in6_addr *out, char *err,
    size_t errlen)
{
	struct vip_space *sp;
	uint32_t req, a;
	int rc;

	if ((sp = vip_space_of(p, AF_INET6, err, errlen)) == NULL)
		return ERR_INVAL;
	if ((rc = vip_request(sp, requested, &req, err, errlen)) != 0 ||
	    (rc = vip_space_alloc(sp, key, req, &a, err, errlen)) != 0)
		return rc;
	*out = vip_addr6(sp, a);
	return 0;
}

int
vip_reserve(struct vip_pool *p, size_t n)
{
	size_t released, i, m;

	for (i = 0; i < p->nsp; i++) {
		struct vip_space *sp = p->sp[i];
		released = sp->nentries - sp->nused;
		if (n <= released)
			continue;
		m = n - released;
		if (ptab_reserve(&sp->by_key, m) != 0 ||
		    ptab_reserve(&sp->by_addr, m) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static void
vip_space_release(struct vip_space *p, const char *key)
{
	struct vip_entry *e;

	if (p == NULL || key == NULL || (e = vip_find_key(p, key)) == NULL ||
	    !e->in_use)
		return;
	vip_digest(p, e, false);
	e->in_use = false;
	vip_digest(p, e, true);
	e->seq = ++p->seq;
	TAILQ_INSERT_TAIL(&p->released, e, rel);
	p->nused--;
	p->dirty = true;
}

void
vip_release(struct vip_pool *p, const char *key)
{
	vip_space_release(p->v4, key);
}

void
vip_release6(struct vip_pool *p, const char *key)
{
	vip_space_release(p->v6, key);
}

const char *
vip_owner(const struct vip_pool *p, struct in_addr addr)
{
	struct vip_entry *e;

	if (p->v4 == NULL ||
	    (e = vip_find_addr(p->v4, ntohl(addr.s_addr))) == NULL ||
	    !e->in_use)
		return NULL;
	return e->key;
}

const char *
vip_owner6(const struct vip_pool *p, const struct in6_addr *addr)
{
	struct vip_entry *e;
	uint32_t off;

	if (p->v6 == NULL || !vip_off6(p->v6, addr, &off) ||
	    (e = vip_find_addr(p->v6, off)) == NULL || !e->in_use)
		return NULL;
	return e->key;
}

bool
vip_in_range(const struct vip_pool *p, struct in_addr addr)
{
	uint32_t mask;

	if (p->v4 == NULL)
		return false;
	mask = 0xffffffffu << (32 - p->v4->prefix);
	return (ntohl(addr.s_addr) & mask) == p->v4->net;
}

bool
vip_in_range6(const struct vip_pool *p, const struct in6_addr *addr)
{
	uint32_t off;

	return p->v6 != NULL && vip_off6(p->v6, addr, &off);
}

const char *
vip_range(const struct vip_pool *p)
{
	return p->v4 ? p->v4->range : NULL;
}

const char *
vip_range6(const struct vip_pool *p)
{
	return p->v6 ? p->v6->range : NULL;
}

size_t
vip_count(const struct vip_pool *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->nsp; i++)
		n += p->sp[i]->nused;
	return n;
}
