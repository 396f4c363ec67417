/* SPDX-License-Identifier: MIT */
/* vip.c -- stable virtual IPs from a CIDR, persisted in a state file. */
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
#include "statewr.h"
#include "vip.h"

/*
 * State file, version 2. Lines end in '\n'; the key is the rest of its
 * line, so it may hold anything but a line break:
 *
 *	clusterip-vip 2
 *	range 127.96.0.0/16			(one line per family,
 *	range fd00:96::/112			 primary first)
 *	127.96.12.34 U 17 default/backend	(in use when saved)
 *	127.96.0.9 R 12 default/old		(released, remembered)
 *	fd00:96::3a1 U 4 default/backend
 *	end 3 0123456789abcdef
 *
 * The trailer gives the entry count and the FNV-1a hash of every byte
 * before it, so a truncated or altered file is detected and rebuilt.
 * Version 1 is the same with one IPv4 range line; it loads as is and is
 * written as version 2 at the next save.
 */
#define VIP_STATE_MAGIC		"clusterip-vip 2"
#define VIP_STATE_MAGIC_V1	"clusterip-vip 1"
#define VIP_STATE_MAX		(256u * 1024 * 1024)
#define VIP_PREFIX_MIN		8
#define VIP_PREFIX_MAX		30
/* IPv6: at most 32 host bits, so offsets fit the IPv4 machinery. */
#define VIP6_PREFIX_MIN		96
#define VIP6_PREFIX_MAX		126

/* One block per entry, the key inside it; indexed by key and address. */
struct vip_entry {
	TAILQ_ENTRY(vip_entry)	 rel;	/* on released when !in_use */
	uint64_t		 seq;	/* when allocated or released */
	uint32_t		 addr;		/* host order, as vip_space */
	bool			 in_use;
	bool			 saved_in_use;	/* while loading the state */
	char			 key[];
};

TAILQ_HEAD(vip_entries, vip_entry);

/*
 * The addresses of one range. An IPv4 address is held as itself (host
 * order); an IPv6 one as its offset in the range (net is then 0), which
 * fits 32 bits since the prefix is at least /96.
 */
struct vip_space {
	char			*range;
	int			 af;		/* AF_INET or AF_INET6 */
	struct in6_addr		 net6;		/* AF_INET6 */
	uint32_t		 net;		/* host order; 0 for IPv6 */
	unsigned		 prefix;
	uint32_t		 usable;	/* net+1 .. net+usable */
	struct ptab		 by_key;	/* entries by key */
	struct ptab		 by_addr;	/* entries by addr */
	struct vip_entries	 released;	/* oldest release first */
	size_t			 nentries;
	size_t			 nused;
	uint64_t		 seq;
	bool			 dirty;
};

struct vip_pool {
	struct vip_space	*sp[2];		/* primary first */
	size_t			 nsp;
	struct vip_space	*v4, *v6;	/* the same, by family */
	char			*state_path;
	vip_saver		*saver;		/* NULL: vip_save writes */
	void			*saver_arg;
};

/* What vip_alloc would do; computed without changing the pool. */
struct vip_plan {
	struct vip_entry	*mine;		/* key's entry, if any */
	uint32_t		 addr;		/* host order */
};

/* A growable byte buffer for writing the state file. */
struct vip_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	bool	 oom;
};

static struct vip_entry *vip_entry_new(const char *, uint32_t);
static struct vip_entry *vip_find_key(const struct vip_space *, const char *);
static struct vip_entry *vip_find_addr(const struct vip_space *, uint32_t);
static bool	vip_usable(const struct vip_space *, uint32_t);
static uint64_t	vip_mix(uint64_t);
static uint32_t	vip_gcd(uint32_t, uint32_t);
static uint32_t	vip_probe(const struct vip_space *, const char *);
static int	vip_plan(const struct vip_space *, const char *,
    uint32_t, struct vip_plan *, char *, size_t);
static void	vip_entry_free(void *);
static void	vip_forget(struct vip_space *, struct vip_entry *);
static void	vip_clear(struct vip_space *);
static void	vip_load(struct vip_pool *);
static int	vip_load_buf(struct vip_pool *, char *, size_t, size_t *,
    char *, size_t);
static int	vip_load_entry(struct vip_pool *, char *, char *, size_t,
    size_t *);
static void	vip_load_space(struct vip_space *);
static int	vip_seq_cmp(const void *, const void *);
static int	vip_addr_cmp(const void *, const void *);
static bool	vip_buf_reserve(struct vip_buf *, size_t);
static void	vip_buf_entry(struct vip_buf *, const struct vip_space *,
    const struct vip_entry *);
static void	vip_buf_printf(struct vip_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* An IPv6 address of sp from its offset. */
static struct in6_addr
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
static bool
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
static const char *
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

static struct vip_entry *
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

static struct vip_entry *
vip_find_key(const struct vip_space *p, const char *key)
{
	return ptab_find(&p->by_key, ptab_hash_str(key), vip_key_match, key);
}

static struct vip_entry *
vip_find_addr(const struct vip_space *p, uint32_t addr)
{
	return ptab_find(&p->by_addr, ptab_hash_u64(addr), vip_addr_match,
	    &addr);
}

/* Inside the range and neither the network nor the broadcast address. */
static bool
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
		return CIP_E_INVAL;
	}
	plan->mine = vip_find_key(p, key);
	if (requested != 0) {
		a = requested;
		if (!vip_usable(p, a)) {
			errf(err, errlen, "%s is not a usable address of %s",
			    vip_space_str(p, a, buf), p->range);
			return CIP_E_INVAL;
		}
		e = vip_find_addr(p, a);
		if (e != NULL && e != plan->mine && e->in_use) {
			errf(err, errlen, "%s is already allocated to %s",
			    vip_space_str(p, a, buf), e->key);
			return CIP_E_CONFLICT;
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
	return CIP_E_EXHAUSTED;
}

static void
vip_entry_free(void *arg)
{
	free(arg);
}

/* Drops an entry from every index and frees it. */
static void
vip_forget(struct vip_space *p, struct vip_entry *e)
{
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
static void
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
		return CIP_E_INVAL;
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
		return CIP_E_INVAL;
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
	*out = e->addr;
	return 0;
oom:
	errf(err, errlen, "out of memory");
	return CIP_E_NOMEM;
}

int
vip_alloc(struct vip_pool *p, const char *key, struct in_addr requested,
    struct in_addr *out, char *err, size_t errlen)
{
	struct vip_space *sp;
	uint32_t a;
	int rc;

	if ((sp = vip_space_of(p, AF_INET, err, errlen)) == NULL)
		return CIP_E_INVAL;
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
		return CIP_E_INVAL;
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
			return CIP_E_NOMEM;
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
	e->in_use = false;
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

/* Loading. */

static int
vip_seq_cmp(const void *a, const void *b)
{
	const struct vip_entry *x = *(struct vip_entry *const *)a;
	const struct vip_entry *y = *(struct vip_entry *const *)b;

	/* Released ones first, then those in use at save time. */
	if (x->saved_in_use != y->saved_in_use)
		return x->saved_in_use ? 1 : -1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* One "ADDR STATE SEQ KEY" line; *dropped counts those out of range. */
static int
vip_load_entry(struct vip_pool *p, char *line, char *err, size_t errlen,
    size_t *dropped)
{
	struct vip_space *space;
	struct vip_entry *e;
	struct in6_addr in6;
	struct in_addr in;
	char *f[3], *key, *sp;
	uint64_t seq;
	uint32_t addr;
	size_t i;

	for (i = 0; i < 3; i++) {
		if ((sp = strchr(line, ' ')) == NULL) {
			errf(err, errlen, "missing field");
			return CIP_E_INVAL;
		}
		*sp = '\0';
		f[i] = line;
		line = sp + 1;
	}
	key = line;
	if (inet_pton(AF_INET, f[0], &in) == 1) {
		space = p->v4;
		addr = ntohl(in.s_addr);
	} else if (inet_pton(AF_INET6, f[0], &in6) == 1) {
		space = p->v6;
		if (space != NULL && !vip_off6(space, &in6, &addr))
			addr = 0;
	} else {
		errf(err, errlen, "bad address");
		return CIP_E_INVAL;
	}
	if (strcmp(f[1], "U") != 0 && strcmp(f[1], "R") != 0) {
		errf(err, errlen, "bad state");
		return CIP_E_INVAL;
	}
	if (parse_u64(f[2], &seq) != 0 || seq == 0) {
		errf(err, errlen, "bad sequence number");
		return CIP_E_INVAL;
	}
	if (*key == '\0' || strchr(key, '\r') != NULL) {
		errf(err, errlen, "bad key");
		return CIP_E_INVAL;
	}
	if (space == NULL) {
		/* That family has no range any more. */
		(*dropped)++;
		return 0;
	}
	if (vip_find_key(space, key) != NULL ||
	    (addr != 0 && vip_find_addr(space, addr) != NULL)) {
		errf(err, errlen, "duplicate key or address");
		return CIP_E_INVAL;
	}
	if (!vip_usable(space, addr)) {
		/* The range changed; forget what no longer fits. */
		(*dropped)++;
		return 0;
	}
	if ((e = vip_entry_new(key, addr)) == NULL)
		goto oom;
	/* In use until vip_load has ordered them, then all released. */
	e->in_use = true;
	e->saved_in_use = f[1][0] == 'U';
	e->seq = seq;
	if (ptab_add(&space->by_key, e) != 0)
		goto oom;
	if (ptab_add(&space->by_addr, e) != 0) {
		ptab_remove(&space->by_key, e);
		goto oom;
	}
	space->nentries++;
	space->nused++;
	return 0;
oom:
	vip_entry_free(e);
	errf(err, errlen, "out of memory");
	return CIP_E_NOMEM;
}

/* Parses a whole state file held in buf (NUL-terminated at len). */
static int
vip_load_buf(struct vip_pool *p, char *buf, size_t len, size_t *lineno,
    char *err, size_t errlen)
{
	char *line, *nl, *end, *trailer, hex[17], ranges[2][64];
	uint64_t count, nread = 0;
	size_t dropped = 0, nranges = 0, i, j, kept = 0;
	bool v1 = false, changed;
	int rc;

	*lineno = 0;
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len)) {
		errf(err, errlen, "truncated or binary file");
		return CIP_E_INVAL;
	}
	/* The trailer is the last line; it covers every byte before it. */
	buf[len - 1] = '\0';
	trailer = strrchr(buf, '\n');
	trailer = trailer ? trailer + 1 : buf;
	if (strncmp(trailer, "end ", 4) != 0 ||
	    (end = strchr(trailer + 4, ' ')) == NULL) {
		errf(err, errlen, "no trailer (truncated)");
		return CIP_E_INVAL;
	}
	*end = '\0';
	if (parse_u64(trailer + 4, &count) != 0 || strlen(end + 1) != 16) {
		errf(err, errlen, "bad trailer");
		return CIP_E_INVAL;
	}
	snprintf(hex, sizeof(hex), "%016" PRIx64,
	    hash_fnv1a(buf, (size_t)(trailer - buf)));
	if (strcmp(hex, end + 1) != 0) {
		errf(err, errlen, "checksum mismatch");
		return CIP_E_INVAL;
	}
	*trailer = '\0';
	/* Room for every entry at once; a line takes at least 14 bytes. */
	for (i = 0; count <= len / 14 && i < p->nsp; i++)
		(void)(ptab_reserve(&p->sp[i]->by_key, (size_t)count) ||
		    ptab_reserve(&p->sp[i]->by_addr, (size_t)count));

	line = buf;
	for (; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');	/* present: trailer follows */
		*nl = '\0';
		(*lineno)++;
		if (*lineno == 1) {
			v1 = strcmp(line, VIP_STATE_MAGIC_V1) == 0;
			if (!v1 && strcmp(line, VIP_STATE_MAGIC) != 0) {
				errf(err, errlen, "unknown format or version");
				return CIP_E_INVAL;
			}
		} else if (*lineno == 2 || (!v1 && nranges < 2 &&
		    *lineno == 3 && strncmp(line, "range ", 6) == 0)) {
			if (strncmp(line, "range ", 6) != 0 ||
			    strlen(line + 6) >= sizeof(ranges[0])) {
				errf(err, errlen, "bad range line");
				return CIP_E_INVAL;
			}
			strlcpy(ranges[nranges++], line + 6,
			    sizeof(ranges[0]));
		} else {
			if ((rc = vip_load_entry(p, line, err, errlen,
			    &dropped)) != 0)
				return rc;
			nread++;
		}
	}
	if (*lineno < 2) {
		errf(err, errlen, "missing header");
		return CIP_E_INVAL;
	}
	if (nread != count) {
		errf(err, errlen, "%" PRIu64 " entries, trailer says %" PRIu64,
		    nread, count);
		return CIP_E_INVAL;
	}
	changed = dropped > 0 || nranges != p->nsp;
	for (i = 0; i < p->nsp; i++) {
		kept += p->sp[i]->nentries;
		for (j = 0; j < nranges; j++)
			if (strcmp(ranges[j], p->sp[i]->range) == 0)
				break;
		if (j == nranges)
			changed = true;
	}
	if (changed)
		log_info("%s: ranges changed from %s%s%s to %s%s%s: kept %zu "
		    "addresses, dropped %zu", p->state_path, ranges[0],
		    nranges > 1 ? " " : "", nranges > 1 ? ranges[1] : "",
		    p->sp[0]->range, p->nsp > 1 ? " " : "",
		    p->nsp > 1 ? p->sp[1]->range : "", kept, dropped);
	/* Rewritten in the current version at the next save. */
	for (i = 0; i < p->nsp && (changed || v1); i++)
		p->sp[i]->dirty = true;
	return 0;
}

/*
 * Every remembered address of sp starts released: the daemon allocates
 * again what it still has. Reclaim order: those released before the
 * save, oldest first, then those in use then.
 */
static void
vip_load_space(struct vip_space *p)
{
	struct vip_entry **v, *e;
	size_t n = 0, i, pos;

	if (p->nentries == 0)
		return;
	if ((v = calloc(p->nentries, sizeof(*v))) == NULL) {
		log_warnx("%s: out of memory, starting empty", p->range);
		vip_clear(p);
		return;
	}
	for (pos = 0; (e = ptab_next(&p->by_key, &pos)) != NULL; )
		v[n++] = e;
	qsort(v, n, sizeof(*v), vip_seq_cmp);
	for (i = 0; i < n; i++) {
		v[i]->in_use = false;
		v[i]->seq = ++p->seq;
		TAILQ_INSERT_TAIL(&p->released, v[i], rel);
	}
	p->nused = 0;
	log_debug("%s: %zu remembered addresses", p->range, n);
	free(v);
}

/* Reads the state file. */
static void
vip_load(struct vip_pool *p)
{
	struct stat st;
	char *buf = NULL, err[128];
	size_t lineno = 0, n = 0, i;
	ssize_t r;
	int fd;

	if ((fd = open(p->state_path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("%s: cannot read VIP state, starting empty",
			    p->state_path);
		return;
	}
	if (fstat(fd, &st) == -1 || st.st_size > VIP_STATE_MAX) {
		log_warnx("%s: unreadable or too large, starting empty",
		    p->state_path);
		goto done;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		log_warnx("%s: out of memory, starting empty", p->state_path);
		goto done;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (vip_load_buf(p, buf, n, &lineno, err, sizeof(err)) != 0) {
		log_warnx("%s: line %zu: %s; VIP state rebuilt from scratch",
		    p->state_path, lineno, err);
		for (i = 0; i < p->nsp; i++) {
			vip_clear(p->sp[i]);
			p->sp[i]->dirty = true;
		}
		goto done;
	}
	for (i = 0; i < p->nsp; i++)
		vip_load_space(p->sp[i]);
done:
	free(buf);
	close(fd);
}

/* Saving. */

/* Entries sorted by address without touching them: (addr, entry) pairs. */
struct vip_sorted {
	uint32_t		 addr;
	struct vip_entry	*e;
};

static int
vip_addr_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct vip_sorted *)a)->addr;
	uint32_t y = ((const struct vip_sorted *)b)->addr;

	return x < y ? -1 : x > y;
}

/* Room for n more bytes and a NUL. */
static bool
vip_buf_reserve(struct vip_buf *b, size_t n)
{
	size_t ncap;
	char *ns;

	if (b->oom)
		return false;
	if (b->cap - b->len > n)
		return true;
	ncap = b->cap ? b->cap * 2 : 4096;
	while (ncap - b->len <= n)
		ncap *= 2;
	if ((ns = realloc(b->s, ncap)) == NULL) {
		b->oom = true;
		return false;
	}
	b->s = ns;
	b->cap = ncap;
	return true;
}

/* "A.B.C.D U|R SEQ KEY\n", formatted by hand: ~10x faster than printf. */
static void
vip_buf_entry(struct vip_buf *b, const struct vip_space *sp,
    const struct vip_entry *e)
{
	char digits[20], *o, a6[INET6_ADDRSTRLEN];
	size_t klen = strlen(e->key), n;
	uint64_t seq = e->seq;
	int i;

	if (sp->af == AF_INET6) {
		vip_buf_printf(b, "%s %c %" PRIu64 " %s\n",
		    vip_space_str(sp, e->addr, a6), e->in_use ? 'U' : 'R',
		    e->seq, e->key);
		return;
	}
	if (!vip_buf_reserve(b, 16 + 3 + sizeof(digits) + klen + 2))
		return;
	o = b->s + b->len;
	for (i = 24; i >= 0; i -= 8) {
		unsigned v = (e->addr >> i) & 255;
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		*o++ = i ? '.' : ' ';
	}
	*o++ = e->in_use ? 'U' : 'R';
	*o++ = ' ';
	n = 0;
	do {
		digits[n++] = (char)('0' + seq % 10);
		seq /= 10;
	} while (seq != 0);
	while (n > 0)
		*o++ = digits[--n];
	*o++ = ' ';
	memcpy(o, e->key, klen);
	o += klen;
	*o++ = '\n';
	*o = '\0';
	b->len = (size_t)(o - b->s);
}

static void
vip_buf_printf(struct vip_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t ncap;
	char *ns;
	int n;

	for (;;) {
		if (b->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		ncap = b->cap ? b->cap * 2 : 4096;
		while (ncap - b->len <= (size_t)n)
			ncap *= 2;
		if ((ns = realloc(b->s, ncap)) == NULL) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

int
vip_save(struct vip_pool *p)
{
	struct vip_buf b = { NULL, 0, 0, false };
	struct vip_sorted *v = NULL;
	struct vip_entry *e;
	size_t n, total = 0, i, k, pos;
	bool dirty = false;
	int saved, rc = -1;

	for (k = 0; k < p->nsp; k++)
		dirty = dirty || p->sp[k]->dirty;
	if (p->state_path == NULL || !dirty)
		return 0;
	vip_buf_printf(&b, "%s\n", VIP_STATE_MAGIC);
	for (k = 0; k < p->nsp; k++)
		vip_buf_printf(&b, "range %s\n", p->sp[k]->range);
	for (k = 0; k < p->nsp; k++) {
		struct vip_space *sp = p->sp[k];
		free(v);
		v = NULL;
		n = 0;
		if (sp->nentries > 0 &&
		    (v = calloc(sp->nentries, sizeof(*v))) == NULL)
			goto fail;
		pos = 0;
		while (v != NULL && (e = ptab_next(&sp->by_key, &pos)) != NULL) {
			v[n].addr = e->addr;
			v[n++].e = e;
		}
		if (n > 0)
			qsort(v, n, sizeof(*v), vip_addr_cmp);
		for (i = 0; i < n; i++)
			vip_buf_entry(&b, sp, v[i].e);
		total += n;
	}
	if (b.oom) {
		errno = ENOMEM;
		goto fail;
	}
	vip_buf_printf(&b, "end %zu %016" PRIx64 "\n", total,
	    hash_fnv1a(b.s, b.len));
	if (b.oom) {
		errno = ENOMEM;
		goto fail;
	}
	if (p->saver != NULL) {
		/* The saver owns the buffer from here on. */
		rc = p->saver(p->saver_arg, p->state_path, b.s, b.len, 0644);
		b.s = NULL;
		if (rc != 0)
			goto fail;
	} else if (statefile_write(p->state_path, b.s, b.len, 0644) != 0)
		goto fail;
	for (k = 0; k < p->nsp; k++)
		p->sp[k]->dirty = false;
	rc = 0;
	goto done;
fail:
	saved = errno;
	log_warn("%s: cannot save VIP state", p->state_path);
	errno = saved;
	rc = -1;
done:
	free(v);
	free(b.s);
	return rc;
}

void
vip_set_saver(struct vip_pool *p, vip_saver *save, void *arg)
{
	p->saver = save;
	p->saver_arg = arg;
}
