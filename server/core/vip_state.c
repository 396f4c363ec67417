/* SPDX-License-Identifier: MIT */
/*
 * vip_state.c -- the VIP state file: JSON through jansson, built from a
 * snapshot on the state writer's thread; the text files of versions 1 and
 * 2 are read and migrated.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "hmap.h"
#include "log.h"
#include "util.h"
#include "statewr.h"
#include "vip.h"
#include "vip_impl.h"

/*
 * The state file (version 4):
 *
 *	{"kind": "clusterip-vips", "version": 4,
 *	 "ranges": [{"range": "127.96.0.0/16", "released": 1,
 *		     "offsets": [9, 3106], "keys": ["default/old",
 *		     "default/backend"]},
 *		    {"range": "fd00:96::/112", ...}]}	(primary first)
 *
 * Per range, each address as its offset from the range's network
 * address, and the key holding it, in reclaim order: the first
 * "released" were released and are remembered (oldest release first),
 * the others are in use (oldest allocation first). Two values per
 * address, the fewest jansson can be given: loading 100,000 takes half
 * the time of version 3's array of [address, key, seq, inUse] each. A
 * file the parser or these rules refuse is reported and the pool is
 * rebuilt, as a torn or altered text file was. Version 3 and the text
 * files before it are read and migrated (vip_migrate.c).
 */
#define VIP_JSON_KIND		"clusterip-vips"
#define VIP_JSON_VERSION	4
#define VIP_STATE_MAX		(256u * 1024 * 1024)

/* One address in a snapshot. */
struct vip_snap_ent {
	uint64_t	 seq;
	uint32_t	 addr;		/* as vip_space holds it */
	uint32_t	 key;		/* offset in keys */
	bool		 in_use;
};

/* What a save writes, copied on the loop; one block. */
struct vip_snap {
	size_t		 nsp;
	struct {
		int		 af;
		uint32_t	 net;	/* as vip_space holds it */
		char		 range[VIP_RANGE_MAX];
		size_t		 n;	/* entries of this range */
	}		 sp[2];
	char		*legacy;	/* removed once written, or NULL */
	struct vip_snap_ent *v;		/* range by range */
	char		*keys;
	struct vip_pool	*pool;		/* outlives the writer's jobs */
};

static int	vip_load_entry(struct vip_space *, uint32_t, bool, uint64_t,
    const char *, size_t *, char *, size_t);
static int	vip_load_json(struct vip_pool *, const char *, size_t,
    struct vip_file_ranges *, size_t *, bool *, char *, size_t);
static int	vip_load_json4(struct vip_pool *, json_t *, size_t,
    struct vip_file_ranges *, size_t *, char *, size_t);
static void	vip_load_ranges(struct vip_pool *,
    const struct vip_file_ranges *, size_t, bool);
static void	vip_load_space(struct vip_space *);
static int	vip_seq_cmp(const void *, const void *);
static struct vip_snap *vip_snap_take(const struct vip_pool *);
static char	*vip_snap_build(void *, size_t *);
static void	vip_snap_done(void *, int);
static int	vip_snap_order_cmp(const void *, const void *);

/*
 * The digest of a pool as the file just read holds it (before every
 * entry is released); ranges are today's, which the file's match.
 */
static uint64_t
vip_load_digest(const struct vip_pool *p)
{
	struct vip_entry *e;
	uint64_t d = 0;
	size_t k, pos;

	for (k = 0; k < p->nsp; k++) {
		d += ptab_hash_u64(hash_fnv1a(p->sp[k]->range,
		    strlen(p->sp[k]->range)));
		for (pos = 0; (e = ptab_next(&p->sp[k]->by_key, &pos)) !=
		    NULL; )
			d += vip_entry_digest(p->sp[k]->af, e->key, e->addr,
			    e->saved_in_use);
	}
	return d;
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

int
vip_load_add(struct vip_pool *p, const char *addrstr, bool in_use,
    uint64_t seq, const char *key, size_t *dropped, char *err,
    size_t errlen)
{
	struct vip_space *space;
	struct in6_addr in6;
	struct in_addr in;
	uint32_t addr;

	if (inet_pton(AF_INET, addrstr, &in) == 1) {
		space = p->v4;
		addr = ntohl(in.s_addr);
	} else if (inet_pton(AF_INET6, addrstr, &in6) == 1) {
		space = p->v6;
		if (space != NULL && !vip_off6(space, &in6, &addr))
			addr = 0;
	} else {
		errf(err, errlen, "bad address");
		return ERR_INVAL;
	}
	if (space == NULL) {
		/* That family has no range any more. */
		(*dropped)++;
		return 0;
	}
	return vip_load_entry(space, addr, in_use, seq, key, dropped, err,
	    errlen);
}

/* vip_load_add for an address of space, held as space holds it. */
static int
vip_load_entry(struct vip_space *space, uint32_t addr, bool in_use,
    uint64_t seq, const char *key, size_t *dropped, char *err,
    size_t errlen)
{
	struct vip_entry *e;

	if (seq == 0) {
		errf(err, errlen, "bad sequence number");
		return ERR_INVAL;
	}
	if (*key == '\0' || strpbrk(key, "\r\n") != NULL) {
		errf(err, errlen, "bad key");
		return ERR_INVAL;
	}
	if (vip_find_key(space, key) != NULL ||
	    (addr != 0 && vip_find_addr(space, addr) != NULL)) {
		errf(err, errlen, "duplicate key or address");
		return ERR_INVAL;
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
	e->saved_in_use = in_use;
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
	return ERR_NOMEM;
}

void
vip_load_reserve(struct vip_pool *p, uint64_t count, size_t len)
{
	size_t i;

	/* An entry takes at least 14 bytes in either format. */
	for (i = 0; count <= len / 14 && i < p->nsp; i++)
		(void)(ptab_reserve(&p->sp[i]->by_key, (size_t)count) ||
		    ptab_reserve(&p->sp[i]->by_addr, (size_t)count));
}

/*
 * A JSON state file held in buf[0..len): version 4, or 3 to migrate (then
 * *old is set).
 */
static int
vip_load_json(struct vip_pool *p, const char *buf, size_t len,
    struct vip_file_ranges *fr, size_t *dropped, bool *old, char *err,
    size_t errlen)
{
	json_t *root;
	const char *kind;
	json_int_t version;
	json_error_t je;
	int rc = ERR_INVAL;

	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		errf(err, errlen, "line %d column %d: %s", je.line, je.column,
		    je.text);
		return ERR_INVAL;
	}
	if (json_unpack_ex(root, &je, 0, "{s:s, s:I}", "kind", &kind,
	    "version", &version) != 0)
		errf(err, errlen, "%s", je.text);
	else if (strcmp(kind, VIP_JSON_KIND) != 0 ||
	    (version != 3 && version != VIP_JSON_VERSION))
		errf(err, errlen, "not a " VIP_JSON_KIND " file of version 3 "
		    "or %d", VIP_JSON_VERSION);
	else if ((*old = version == 3))
		rc = vip_load_json3(p, root, len, fr, dropped, err, errlen);
	else
		rc = vip_load_json4(p, root, len, fr, dropped, err, errlen);
	json_decref(root);
	return rc;
}

/*
 * The address at offset off of the range a file names, in presentation
 * form, for a range that is not today's. Returns 0, or -1 when the range
 * does not parse or off lies outside it.
 */
static int
vip_file_addr(const char *range, json_int_t off, char *buf, size_t len)
{
	struct in6_addr a6;
	struct in_addr a;
	unsigned prefix;
	uint32_t low;

	if (parse_cidr4(range, &a, &prefix) == 0) {
		if (prefix == 0 || off >= ((json_int_t)1 << (32 - prefix)))
			return -1;
		a.s_addr = htonl(ntohl(a.s_addr) + (uint32_t)off);
		inet4_str(a, buf);
		return 0;
	}
	if (parse_cidr6(range, &a6, &prefix) != 0 || prefix < 96 ||
	    (prefix > 96 && off >= ((json_int_t)1 << (128 - prefix))))
		return -1;
	memcpy(&low, &a6.s6_addr[12], 4);
	low = htonl(ntohl(low) + (uint32_t)off);
	memcpy(&a6.s6_addr[12], &low, 4);
	return inet_ntop(AF_INET6, &a6, buf, (socklen_t)len) ? 0 : -1;
}

/* Today's space of a range as the file names it, or NULL. */
static struct vip_space *
vip_space_named(const struct vip_pool *p, const char *range)
{
	size_t k;

	for (k = 0; k < p->nsp; k++)
		if (strcmp(p->sp[k]->range, range) == 0)
			return p->sp[k];
	return NULL;
}

/* The ranges of a file of version 4, each checked before any is read. */
static int
vip_json4_ranges(json_t *ranges, struct vip_file_ranges *fr, size_t *total,
    char *err, size_t errlen)
{
	json_t *r, *offs, *keys;
	const char *range;
	json_int_t released;
	json_error_t je;
	size_t k;

	if (!json_is_array(ranges) || json_array_size(ranges) < 1 ||
	    json_array_size(ranges) > 2) {
		errf(err, errlen, "\"ranges\" is not one or two ranges");
		return ERR_INVAL;
	}
	json_array_foreach(ranges, k, r) {
		if (json_unpack_ex(r, &je, JSON_STRICT, "{s:s, s:I, s:o, s:o}",
		    "range", &range, "released", &released, "offsets", &offs,
		    "keys", &keys) != 0) {
			errf(err, errlen, "ranges[%zu]: %s", k, je.text);
			return ERR_INVAL;
		}
		if (strlen(range) >= sizeof(fr->v[0]) ||
		    !json_is_array(offs) || !json_is_array(keys) ||
		    json_array_size(offs) != json_array_size(keys) ||
		    released < 0 ||
		    (size_t)released > json_array_size(offs)) {
			errf(err, errlen, "ranges[%zu]: not a range, a count "
			    "of released addresses and as many offsets as "
			    "keys", k);
			return ERR_INVAL;
		}
		strlcpy(fr->v[fr->n++], range, sizeof(fr->v[0]));
		*total += json_array_size(offs);
	}
	return 0;
}

/* The parsed JSON of a file of version 4. */
static int
vip_load_json4(struct vip_pool *p, json_t *root, size_t len,
    struct vip_file_ranges *fr, size_t *dropped, char *err, size_t errlen)
{
	json_t *ranges, *r, *offs, *keys, *o, *key;
	struct vip_space *sp;
	json_int_t off, released;
	size_t k, i, total = 0;
	char a[INET6_ADDRSTRLEN], why[96];
	int rc;

	if ((rc = vip_json4_ranges(json_object_get(root, "ranges"), fr,
	    &total, err, errlen)) != 0)
		return rc;
	vip_load_reserve(p, total, len);
	ranges = json_object_get(root, "ranges");
	json_array_foreach(ranges, k, r) {
		released = json_integer_value(json_object_get(r, "released"));
		offs = json_object_get(r, "offsets");
		keys = json_object_get(r, "keys");
		/* Today's range: offsets as they are; another: addresses. */
		sp = vip_space_named(p, fr->v[k]);
		for (i = 0; i < json_array_size(offs); i++) {
			o = json_array_get(offs, i);
			key = json_array_get(keys, i);
			off = json_integer_value(o);
			if (!json_is_integer(o) || !json_is_string(key) ||
			    off < 0 || off > UINT32_MAX) {
				errf(err, errlen, "ranges[%zu]: entry %zu: not "
				    "an offset and a key", k, i);
				return ERR_INVAL;
			}
			if (sp != NULL && sp->af == AF_INET &&
			    (uint64_t)off > UINT32_MAX - sp->net)
				rc = (errf(why, sizeof(why), "bad offset"),
				    ERR_INVAL);
			else if (sp != NULL)
				rc = vip_load_entry(sp, sp->net + (uint32_t)off,
				    (json_int_t)i >= released, i + 1,
				    json_string_value(key), dropped, why,
				    sizeof(why));
			else if (vip_file_addr(fr->v[k], off, a, sizeof(a)))
				rc = (errf(why, sizeof(why), "offset outside "
				    "its range"), ERR_INVAL);
			else
				rc = vip_load_add(p, a, (json_int_t)i >=
				    released, i + 1, json_string_value(key),
				    dropped, why, sizeof(why));
			if (rc != 0) {
				errf(err, errlen, "ranges[%zu]: entry %zu: %s",
				    k, i, why);
				return rc;
			}
		}
	}
	return 0;
}

/*
 * Compares the file's ranges with today's and logs what a change kept;
 * marks the pool for rewriting when anything differs or rewrite is set.
 */
static void
vip_load_ranges(struct vip_pool *p, const struct vip_file_ranges *fr,
    size_t dropped, bool rewrite)
{
	size_t i, j, kept = 0;
	bool changed;

	changed = dropped > 0 || fr->n != p->nsp;
	for (i = 0; i < p->nsp; i++) {
		kept += p->sp[i]->nentries;
		for (j = 0; j < fr->n; j++)
			if (strcmp(fr->v[j], p->sp[i]->range) == 0)
				break;
		if (j == fr->n)
			changed = true;
	}
	if (changed)
		log_info("%s: ranges changed from %s%s%s to %s%s%s: kept %zu "
		    "addresses, dropped %zu", p->state_path, fr->v[0],
		    fr->n > 1 ? " " : "", fr->n > 1 ? fr->v[1] : "",
		    p->sp[0]->range, p->nsp > 1 ? " " : "",
		    p->nsp > 1 ? p->sp[1]->range : "", kept, dropped);
	for (i = 0; i < p->nsp && (changed || rewrite); i++)
		p->sp[i]->dirty = true;
}

/*
 * The entries of p in v by their sequence numbers when those are 1..n
 * and the released come first (a file of version 4, in reclaim order
 * already): no sort. False when they are not.
 */
static bool
vip_load_place(const struct vip_space *p, struct vip_entry **v)
{
	struct vip_entry *e;
	size_t n = p->nentries, i, pos;

	for (pos = 0; (e = ptab_next(&p->by_key, &pos)) != NULL; ) {
		if (e->seq == 0 || e->seq > n || v[e->seq - 1] != NULL)
			return false;
		v[e->seq - 1] = e;
	}
	for (i = 1; i < n; i++)
		if (v[i - 1]->saved_in_use && !v[i]->saved_in_use)
			return false;
	return true;
}

/* The same for any sequence numbers (the formats before): sorted. */
static void
vip_load_sort(const struct vip_space *p, struct vip_entry **v)
{
	struct vip_entry *e;
	size_t n = 0, pos;

	for (pos = 0; (e = ptab_next(&p->by_key, &pos)) != NULL; )
		v[n++] = e;
	qsort(v, n, sizeof(*v), vip_seq_cmp);
}

/*
 * Every remembered address of sp starts released: the daemon allocates
 * again what it still has. Reclaim order: those released before the
 * save, oldest first, then those in use then.
 */
static void
vip_load_space(struct vip_space *p)
{
	struct vip_entry **v;
	size_t n, i;

	if (p->nentries == 0)
		return;
	if ((v = calloc(p->nentries, sizeof(*v))) == NULL) {
		log_warnx("%s: out of memory, starting empty", p->range);
		vip_clear(p);
		return;
	}
	if (!vip_load_place(p, v))
		vip_load_sort(p, v);
	n = p->nentries;
	p->digest = 0;
	for (i = 0; i < n; i++) {
		v[i]->in_use = false;
		v[i]->seq = ++p->seq;
		TAILQ_INSERT_TAIL(&p->released, v[i], rel);
		p->digest += vip_entry_digest(p->af, v[i]->key, v[i]->addr,
		    false);
	}
	p->nused = 0;
	log_debug("%s: %zu remembered addresses", p->range, n);
	free(v);
}

/* The whole of path, NUL-terminated, or NULL with errno (ENOENT: none). */
static char *
vip_read(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (st.st_size > VIP_STATE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	close(fd);
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/* VIP_STATE_LEGACY in path's directory, or NULL when that is path. */
static char *
vip_legacy_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	char *l;

	if (strcmp(path + dl, VIP_STATE_LEGACY) == 0 ||
	    (l = malloc(dl + sizeof(VIP_STATE_LEGACY))) == NULL)
		return NULL;
	memcpy(l, path, dl);
	memcpy(l + dl, VIP_STATE_LEGACY, sizeof(VIP_STATE_LEGACY));
	return l;
}

void
vip_load(struct vip_pool *p)
{
	struct vip_file_ranges fr = { .n = 0 };
	const char *from = p->state_path;
	char *buf = NULL, err[256];
	size_t len = 0, dropped = 0, i;
	bool text, v1 = false, old = false;
	int rc;

	p->legacy_path = vip_legacy_path(p->state_path);
	if ((buf = vip_read(p->state_path, &len)) == NULL && errno == ENOENT &&
	    p->legacy_path != NULL) {
		from = p->legacy_path;
		buf = vip_read(from, &len);
	}
	if (buf == NULL) {
		if (errno != ENOENT)
			log_warn("%s: cannot read VIP state, starting empty",
			    from);
		goto done;
	}
	for (i = 0; i < len && strchr(" \t\r\n", buf[i]) != NULL; i++)
		;
	text = i == len || buf[i] != '{';
	if (text)
		rc = vip_load_text(p, buf, len, &fr, &dropped, &v1, err,
		    sizeof(err));
	else
		rc = vip_load_json(p, buf, len, &fr, &dropped, &old, err,
		    sizeof(err));
	if (rc != 0) {
		log_warnx("%s: %s; VIP state rebuilt from scratch", from, err);
		for (i = 0; i < p->nsp; i++) {
			vip_clear(p->sp[i]);
			p->sp[i]->dirty = true;
		}
		goto done;
	}
	if (text)
		log_info("%s: text VIP state of version %d, saved as JSON in "
		    "%s from now on", from, v1 ? 1 : 2, p->state_path);
	/*
	 * Text, JSON of an earlier version, or a text file left beside:
	 * rewritten (and the text file removed).
	 */
	vip_load_ranges(p, &fr, dropped, text || old ||
	    (p->legacy_path != NULL && access(p->legacy_path, F_OK) == 0));
	/*
	 * What the file holds, unless it is to be rewritten anyway: a
	 * restart that allocates every address again as it was saves
	 * nothing.
	 */
	if (!p->sp[0]->dirty && (p->nsp < 2 || !p->sp[1]->dirty))
		p->disk_digest = vip_load_digest(p);
	for (i = 0; i < p->nsp; i++)
		vip_load_space(p->sp[i]);
done:
	free(buf);
}

/* Saving. */

/* Reclaim order: released ones first, each group oldest first. */
static int
vip_snap_order_cmp(const void *a, const void *b)
{
	const struct vip_snap_ent *x = a, *y = b;

	if (x->in_use != y->in_use)
		return x->in_use ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Copies what the file needs: one block, nothing shared with the pool. */
static struct vip_snap *
vip_snap_take(const struct vip_pool *p)
{
	struct vip_snap *s;
	struct vip_entry *e;
	size_t n = 0, keybytes = 0, legacy, k, pos, i = 0, off = 0, l;
	char *block;

	for (k = 0; k < p->nsp; k++) {
		n += p->sp[k]->nentries;
		for (pos = 0; (e = ptab_next(&p->sp[k]->by_key, &pos)) !=
		    NULL; )
			keybytes += strlen(e->key) + 1;
	}
	legacy = p->legacy_path ? strlen(p->legacy_path) + 1 : 0;
	if (keybytes > UINT32_MAX || (block = malloc(sizeof(*s) +
	    n * sizeof(*s->v) + keybytes + legacy)) == NULL)
		return NULL;
	s = (struct vip_snap *)(void *)block;
	memset(s, 0, sizeof(*s));
	s->v = (struct vip_snap_ent *)(void *)(block + sizeof(*s));
	s->keys = (char *)(s->v + n);
	if (legacy > 0) {
		s->legacy = s->keys + keybytes;
		memcpy(s->legacy, p->legacy_path, legacy);
	}
	s->nsp = p->nsp;
	s->pool = (struct vip_pool *)(uintptr_t)p;
	for (k = 0; k < p->nsp; k++) {
		const struct vip_space *sp = p->sp[k];

		s->sp[k].af = sp->af;
		s->sp[k].net = sp->net;
		strlcpy(s->sp[k].range, sp->range, sizeof(s->sp[k].range));
		for (pos = 0; (e = ptab_next(&sp->by_key, &pos)) != NULL; ) {
			l = strlen(e->key) + 1;
			memcpy(s->keys + off, e->key, l);
			s->v[i].seq = e->seq;
			s->v[i].addr = e->addr;
			s->v[i].key = (uint32_t)off;
			s->v[i].in_use = e->in_use;
			off += l;
			i++;
		}
		s->sp[k].n = sp->nentries;
	}
	return s;
}

/*
 * statewr_job build: the JSON document of a snapshot, each range in
 * reclaim order. Runs on the writer thread.
 */
static char *
vip_snap_build(void *arg, size_t *len)
{
	struct vip_snap *s = arg;
	struct vip_snap_ent *v = s->v;
	json_t *root = NULL, *ranges, *r, *offs, *keys;
	char *text = NULL;
	size_t k, i, released;
	int saved;

	if ((root = json_pack("{s:s, s:i, s:[]}", "kind", VIP_JSON_KIND,
	    "version", VIP_JSON_VERSION, "ranges")) == NULL)
		goto oom;
	ranges = json_object_get(root, "ranges");
	for (k = 0; k < s->nsp; v += s->sp[k].n, k++) {
		qsort(v, s->sp[k].n, sizeof(*v), vip_snap_order_cmp);
		for (released = 0; released < s->sp[k].n &&
		    !v[released].in_use; released++)
			;
		if ((r = json_pack("{s:s, s:I, s:[], s:[]}", "range",
		    s->sp[k].range, "released", (json_int_t)released,
		    "offsets", "keys")) == NULL ||
		    json_array_append_new(ranges, r) != 0)
			goto oom;
		offs = json_object_get(r, "offsets");
		keys = json_object_get(r, "keys");
		/* A key jansson refuses (not UTF-8) fails the save. */
		for (i = 0; i < s->sp[k].n; i++)
			if (json_array_append_new(offs, json_integer(
			    (json_int_t)(v[i].addr - s->sp[k].net))) != 0 ||
			    json_array_append_new(keys,
			    json_string(s->keys + v[i].key)) != 0)
				goto oom;
	}
	if ((text = json_dumps(root, JSON_COMPACT)) == NULL)
		goto oom;
	*len = strlen(text);
	json_decref(root);
	return text;
oom:
	saved = ENOMEM;
	json_decref(root);
	errno = saved;
	return NULL;
}

/*
 * statewr_job done: once the JSON file is on disk, the text file it
 * replaces goes. Frees the snapshot.
 */
static void
vip_snap_done(void *arg, int err)
{
	struct vip_snap *s = arg;

	/* The file holds what it held, or something half known. */
	if (err != 0 && err != ECANCELED)
		__atomic_store_n(&s->pool->disk_digest, 0, __ATOMIC_RELAXED);
	if (err == 0 && s->legacy != NULL) {
		if (unlink(s->legacy) == 0)
			log_info("%s: removed, the VIP state is JSON now",
			    s->legacy);
		else if (errno != ENOENT)
			log_warn("%s: cannot remove", s->legacy);
	}
	free(s);
}

int
vip_save(struct vip_pool *p)
{
	struct statewr_job job;
	struct vip_snap *s;
	uint64_t digest;
	size_t k;
	bool dirty = false;
	int saved, rc;

	for (k = 0; k < p->nsp; k++)
		dirty = dirty || p->sp[k]->dirty;
	if (p->state_path == NULL || !dirty)
		return 0;
	digest = vip_pool_digest(p);
	if (digest == __atomic_load_n(&p->disk_digest, __ATOMIC_RELAXED))
		goto clean;	/* on disk already (the order of reuse aside) */
	if ((s = vip_snap_take(p)) == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	__atomic_store_n(&p->disk_digest, digest, __ATOMIC_RELAXED);
	job.build = vip_snap_build;
	job.done = vip_snap_done;
	job.ctx = s;
	if (p->saver != NULL)
		rc = p->saver(p->saver_arg, p->state_path, &job, 0644);
	else
		rc = statewr_run_job(p->state_path, &job, 0644);
	if (rc != 0) {
		saved = errno;
		__atomic_store_n(&p->disk_digest, 0, __ATOMIC_RELAXED);
		errno = saved;
		goto fail;
	}
clean:
	for (k = 0; k < p->nsp; k++)
		p->sp[k]->dirty = false;
	return 0;
fail:
	saved = errno;
	log_warn("%s: cannot save VIP state", p->state_path);
	errno = saved;
	return -1;
}

void
vip_set_saver(struct vip_pool *p, vip_saver *save, void *arg)
{
	p->saver = save;
	p->saver_arg = arg;
}
