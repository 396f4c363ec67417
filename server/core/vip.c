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
 * State file, version 1. Lines end in '\n'; the key is the rest of its
 * line, so it may hold anything but a line break:
 *
 *	clusterip-vip 1
 *	range 127.96.0.0/16
 *	127.96.12.34 U 17 default/backend	(in use when saved)
 *	127.96.0.9 R 12 default/old		(released, remembered)
 *	end 2 0123456789abcdef
 *
 * The trailer gives the entry count and the FNV-1a hash of every byte
 * before it, so a truncated or altered file is detected and rebuilt.
 */
#define VIP_STATE_MAGIC		"clusterip-vip 1"
#define VIP_STATE_MAX		(256u * 1024 * 1024)
#define VIP_PREFIX_MIN		8
#define VIP_PREFIX_MAX		30

/* One block per entry, the key inside it; indexed by key and address. */
struct vip_entry {
	TAILQ_ENTRY(vip_entry)	 rel;	/* on released when !in_use */
	uint64_t		 seq;	/* when allocated or released */
	uint32_t		 addr;		/* host order */
	bool			 in_use;
	bool			 saved_in_use;	/* while loading the state */
	char			 key[];
};

TAILQ_HEAD(vip_entries, vip_entry);

struct vip_pool {
	char			*range;
	char			*state_path;
	uint32_t		 net;		/* host order */
	unsigned		 prefix;
	uint32_t		 usable;	/* net+1 .. net+usable */
	struct ptab		 by_key;	/* entries by key */
	struct ptab		 by_addr;	/* entries by addr */
	struct vip_entries	 released;	/* oldest release first */
	size_t			 nentries;
	size_t			 nused;
	uint64_t		 seq;
	bool			 dirty;
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

static const char *vip_addr_key(uint32_t, char *);
static struct vip_entry *vip_entry_new(const char *, uint32_t);
static struct vip_entry *vip_find_key(const struct vip_pool *, const char *);
static struct vip_entry *vip_find_addr(const struct vip_pool *, uint32_t);
static bool	vip_usable(const struct vip_pool *, uint32_t);
static uint64_t	vip_mix(uint64_t);
static uint32_t	vip_gcd(uint32_t, uint32_t);
static uint32_t	vip_probe(const struct vip_pool *, const char *);
static int	vip_plan(const struct vip_pool *, const char *,
    struct in_addr, struct vip_plan *, char *, size_t);
static void	vip_entry_free(void *);
static void	vip_forget(struct vip_pool *, struct vip_entry *);
static void	vip_clear(struct vip_pool *);
static void	vip_load(struct vip_pool *);
static int	vip_load_buf(struct vip_pool *, char *, size_t, size_t *,
    char *, size_t);
static int	vip_load_entry(struct vip_pool *, char *, char *, size_t,
    size_t *);
static int	vip_seq_cmp(const void *, const void *);
static int	vip_addr_cmp(const void *, const void *);
static bool	vip_buf_reserve(struct vip_buf *, size_t);
static void	vip_buf_entry(struct vip_buf *, const struct vip_entry *);
static void	vip_buf_printf(struct vip_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
vip_addr_key(uint32_t addr, char *buf)
{
	struct in_addr in;

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
vip_find_key(const struct vip_pool *p, const char *key)
{
	return ptab_find(&p->by_key, ptab_hash_str(key), vip_key_match, key);
}

static struct vip_entry *
vip_find_addr(const struct vip_pool *p, uint32_t addr)
{
	return ptab_find(&p->by_addr, ptab_hash_u64(addr), vip_addr_match,
	    &addr);
}

/* Inside the range and neither the network nor the broadcast address. */
static bool
vip_usable(const struct vip_pool *p, uint32_t addr)
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
vip_probe(const struct vip_pool *p, const char *key)
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

static int
vip_plan(const struct vip_pool *p, const char *key, struct in_addr requested,
    struct vip_plan *plan, char *err, size_t errlen)
{
	struct vip_entry *e;
	char buf[INET_ADDRSTRLEN];
	uint32_t a;

	memset(plan, 0, sizeof(*plan));
	if (key == NULL || *key == '\0' || strpbrk(key, "\r\n") != NULL) {
		errf(err, errlen, "invalid key for an address");
		return CIP_E_INVAL;
	}
	plan->mine = vip_find_key(p, key);
	if (requested.s_addr != 0) {
		a = ntohl(requested.s_addr);
		if (!vip_usable(p, a)) {
			errf(err, errlen, "%s is not a usable address of %s",
			    inet4_str(requested, buf), p->range);
			return CIP_E_INVAL;
		}
		e = vip_find_addr(p, a);
		if (e != NULL && e != plan->mine && e->in_use) {
			errf(err, errlen, "%s is already allocated to %s",
			    inet4_str(requested, buf), e->key);
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
vip_forget(struct vip_pool *p, struct vip_entry *e)
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
vip_clear(struct vip_pool *p)
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

struct vip_pool *
vip_pool_new(const char *cidr, const char *state_path, char *err,
    size_t errlen)
{
	struct vip_pool *p;
	struct in_addr net;
	unsigned prefix;
	uint32_t mask;

	if (cidr == NULL || parse_cidr4(cidr, &net, &prefix) != 0) {
		errf(err, errlen, "invalid VIP range \"%s\": want A.B.C.D/N",
		    cidr ? cidr : "");
		return NULL;
	}
	if (prefix < VIP_PREFIX_MIN || prefix > VIP_PREFIX_MAX) {
		errf(err, errlen, "VIP range %s: prefix must be /%d to /%d",
		    cidr, VIP_PREFIX_MIN, VIP_PREFIX_MAX);
		return NULL;
	}
	mask = 0xffffffffu << (32 - prefix);
	if ((ntohl(net.s_addr) & ~mask) != 0) {
		errf(err, errlen, "VIP range %s: host bits are set", cidr);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	TAILQ_INIT(&p->released);
	ptab_init(&p->by_key, vip_key_hash);
	ptab_init(&p->by_addr, vip_addr_hash);
	p->net = ntohl(net.s_addr);
	p->prefix = prefix;
	p->usable = ~mask - 1;
	if ((p->range = strdup(cidr)) == NULL ||
	    (state_path != NULL &&
	    (p->state_path = strdup(state_path)) == NULL))
		goto oom;
	if (p->state_path != NULL)
		vip_load(p);
	return p;
oom:
	vip_pool_free(p);
	errf(err, errlen, "out of memory");
	return NULL;
}

void
vip_pool_free(struct vip_pool *p)
{
	if (p == NULL)
		return;
	vip_clear(p);
	free(p->range);
	free(p->state_path);
	free(p);
}

int
vip_check(const struct vip_pool *p, const char *key, struct in_addr requested,
    char *err, size_t errlen)
{
	struct vip_plan plan;

	return vip_plan(p, key, requested, &plan, err, errlen);
}

int
vip_alloc(struct vip_pool *p, const char *key, struct in_addr requested,
    struct in_addr *out, char *err, size_t errlen)
{
	struct vip_plan plan;
	struct vip_entry *e, *old;
	char buf[INET_ADDRSTRLEN];
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
		    vip_addr_key(plan.addr, buf), old->key);
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
	out->s_addr = htonl(e->addr);
	return 0;
oom:
	errf(err, errlen, "out of memory");
	return CIP_E_NOMEM;
}

int
vip_reserve(struct vip_pool *p, size_t n)
{
	size_t released = p->nentries - p->nused;

	if (n <= released)
		return 0;
	n -= released;
	if (ptab_reserve(&p->by_key, n) != 0 ||
	    ptab_reserve(&p->by_addr, n) != 0)
		return CIP_E_NOMEM;
	return 0;
}

void
vip_release(struct vip_pool *p, const char *key)
{
	struct vip_entry *e;

	if (key == NULL || (e = vip_find_key(p, key)) == NULL ||
	    !e->in_use)
		return;
	e->in_use = false;
	e->seq = ++p->seq;
	TAILQ_INSERT_TAIL(&p->released, e, rel);
	p->nused--;
	p->dirty = true;
}

const char *
vip_owner(const struct vip_pool *p, struct in_addr addr)
{
	struct vip_entry *e;

	if ((e = vip_find_addr(p, ntohl(addr.s_addr))) == NULL || !e->in_use)
		return NULL;
	return e->key;
}

bool
vip_in_range(const struct vip_pool *p, struct in_addr addr)
{
	uint32_t mask = 0xffffffffu << (32 - p->prefix);

	return (ntohl(addr.s_addr) & mask) == p->net;
}

const char *
vip_range(const struct vip_pool *p)
{
	return p->range;
}

size_t
vip_count(const struct vip_pool *p)
{
	return p->nused;
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
	struct vip_entry *e;
	struct in_addr in;
	char *f[3], *key, *sp;
	uint64_t seq;
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
	if (inet_pton(AF_INET, f[0], &in) != 1) {
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
	if (vip_find_key(p, key) != NULL ||
	    vip_find_addr(p, ntohl(in.s_addr)) != NULL) {
		errf(err, errlen, "duplicate key or address");
		return CIP_E_INVAL;
	}
	if (!vip_usable(p, ntohl(in.s_addr))) {
		/* The range changed; forget what no longer fits. */
		(*dropped)++;
		return 0;
	}
	if ((e = vip_entry_new(key, ntohl(in.s_addr))) == NULL)
		goto oom;
	/* In use until vip_load has ordered them, then all released. */
	e->in_use = true;
	e->saved_in_use = f[1][0] == 'U';
	e->seq = seq;
	if (ptab_add(&p->by_key, e) != 0)
		goto oom;
	if (ptab_add(&p->by_addr, e) != 0) {
		ptab_remove(&p->by_key, e);
		goto oom;
	}
	p->nentries++;
	p->nused++;
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
	char *line, *nl, *end, *trailer, hex[17], range[64];
	uint64_t count, nread = 0;
	size_t dropped = 0;
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
	if (count <= len / 14)
		(void)(ptab_reserve(&p->by_key, (size_t)count) ||
		    ptab_reserve(&p->by_addr, (size_t)count));

	line = buf;
	for (; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');	/* present: trailer follows */
		*nl = '\0';
		(*lineno)++;
		if (*lineno == 1) {
			if (strcmp(line, VIP_STATE_MAGIC) != 0) {
				errf(err, errlen, "unknown format or version");
				return CIP_E_INVAL;
			}
		} else if (*lineno == 2) {
			if (strncmp(line, "range ", 6) != 0 ||
			    strlen(line + 6) >= sizeof(range)) {
				errf(err, errlen, "bad range line");
				return CIP_E_INVAL;
			}
			strlcpy(range, line + 6, sizeof(range));
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
	if (dropped > 0 || strcmp(range, p->range) != 0) {
		log_info("%s: range changed from %s to %s: kept %zu "
		    "addresses, dropped %zu", p->state_path, range, p->range,
		    p->nentries, dropped);
		p->dirty = true;
	}
	return 0;
}

/*
 * Reads the state file. Every remembered address starts released: the
 * daemon allocates again what it still has. Reclaim order: those
 * released before the save, oldest first, then those in use then.
 */
static void
vip_load(struct vip_pool *p)
{
	struct vip_entry **v = NULL, *e;
	struct stat st;
	char *buf = NULL, err[128];
	size_t lineno = 0, n = 0, i, pos;
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
		vip_clear(p);
		p->dirty = true;
		goto done;
	}
	if (p->nentries == 0)
		goto done;
	if ((v = calloc(p->nentries, sizeof(*v))) == NULL) {
		log_warnx("%s: out of memory, starting empty", p->state_path);
		vip_clear(p);
		goto done;
	}
	n = 0;
	for (pos = 0; (e = ptab_next(&p->by_key, &pos)) != NULL; )
		v[n++] = e;
	qsort(v, n, sizeof(*v), vip_seq_cmp);
	for (i = 0; i < n; i++) {
		v[i]->in_use = false;
		v[i]->seq = ++p->seq;
		TAILQ_INSERT_TAIL(&p->released, v[i], rel);
	}
	p->nused = 0;
	log_debug("%s: %zu remembered addresses", p->state_path, n);
done:
	free(v);
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
vip_buf_entry(struct vip_buf *b, const struct vip_entry *e)
{
	char digits[20], *o;
	size_t klen = strlen(e->key), n;
	uint64_t seq = e->seq;
	int i;

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
	size_t n = 0, i, pos;
	int saved, rc = -1;

	if (p->state_path == NULL || !p->dirty)
		return 0;
	if (p->nentries > 0 &&
	    (v = calloc(p->nentries, sizeof(*v))) == NULL)
		goto fail;
	pos = 0;
	while (v != NULL && (e = ptab_next(&p->by_key, &pos)) != NULL) {
		v[n].addr = e->addr;
		v[n++].e = e;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), vip_addr_cmp);
	vip_buf_printf(&b, "%s\nrange %s\n", VIP_STATE_MAGIC, p->range);
	for (i = 0; i < n; i++)
		vip_buf_entry(&b, v[i].e);
	if (b.oom) {
		errno = ENOMEM;
		goto fail;
	}
	vip_buf_printf(&b, "end %zu %016" PRIx64 "\n", n,
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
	p->dirty = false;
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
