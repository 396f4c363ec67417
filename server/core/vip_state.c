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
 * The state file (version 3):
 *
 *	{"kind": "clusterip-vips", "version": 3,
 *	 "ranges": ["127.96.0.0/16", "fd00:96::/112"],	(primary first)
 *	 "fields": ["address", "key", "seq", "inUse"],
 *	 "vips": [["127.96.12.34", "default/backend", 17, true],
 *		  ["127.96.0.9", "default/old", 12, false], ...]}
 *
 * One array per address, its members named once by "fields": jansson
 * needs less than half the memory for that than for an object per
 * address. "seq" orders allocations and releases (reclaim order);
 * "inUse" false means released and remembered. A file the parser or
 * these rules refuse is reported and the pool is rebuilt, as a torn or
 * altered text file was.
 *
 * The text files before it, read for migration; the key is the rest of
 * its line:
 *
 *	clusterip-vip 2
 *	range 127.96.0.0/16			(one line per family,
 *	range fd00:96::/112			 primary first)
 *	127.96.12.34 U 17 default/backend	(U in use, R released)
 *	end 3 0123456789abcdef			(count, FNV-1a of the above)
 *
 * Version 1 is the same with one IPv4 range line.
 */
#define VIP_JSON_KIND		"clusterip-vips"
#define VIP_JSON_VERSION	3
#define VIP_TEXT_MAGIC		"clusterip-vip 2"
#define VIP_TEXT_MAGIC_V1	"clusterip-vip 1"
#define VIP_STATE_MAX		(256u * 1024 * 1024)
#define VIP_RANGE_MAX		64

/* The ranges a file names. */
struct vip_file_ranges {
	char	 v[2][VIP_RANGE_MAX];
	size_t	 n;
};

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
		struct in6_addr	 net6;
		char		 range[VIP_RANGE_MAX];
		size_t		 n;	/* entries of this range */
	}		 sp[2];
	char		*legacy;	/* removed once written, or NULL */
	struct vip_snap_ent *v;		/* range by range */
	char		*keys;
	uint64_t	 digest;	/* vip_digest_add of the entries */
	struct vip_pool	*pool;		/* outlives the writer's jobs */
};

static int	vip_load_add(struct vip_pool *, const char *, bool, uint64_t,
    const char *, size_t *, char *, size_t);
static int	vip_load_text(struct vip_pool *, char *, size_t,
    struct vip_file_ranges *, size_t *, bool *, char *, size_t);
static int	vip_load_json(struct vip_pool *, const char *, size_t,
    struct vip_file_ranges *, size_t *, char *, size_t);
static json_t	*vip_json_fields(void);
static void	vip_load_ranges(struct vip_pool *,
    const struct vip_file_ranges *, size_t, bool);
static void	vip_load_space(struct vip_space *);
static int	vip_seq_cmp(const void *, const void *);
static struct vip_snap *vip_snap_take(const struct vip_pool *);
static char	*vip_snap_build(void *, size_t *);
static void	vip_snap_done(void *, int);
static int	vip_snap_addr_cmp(const void *, const void *);

void
vip_digest_add(uint64_t *digest, size_t k, const char *key, uint32_t addr,
    bool in_use)
{
	uint64_t h = hash_fnv1a(key, strlen(key));

	h ^= ((uint64_t)addr << 8) | ((uint64_t)k << 1) | in_use;
	/* A sum of mixed hashes: any order of the entries gives it. */
	*digest += ptab_hash_u64(h) | ((uint64_t)ptab_hash_u64(~h) << 32);
}

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
			vip_digest_add(&d, k, e->key, e->addr,
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

/*
 * One remembered address from either format; *dropped counts those
 * outside today's ranges.
 */
static int
vip_load_add(struct vip_pool *p, const char *addrstr, bool in_use,
    uint64_t seq, const char *key, size_t *dropped, char *err,
    size_t errlen)
{
	struct vip_space *space;
	struct vip_entry *e;
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
	if (seq == 0) {
		errf(err, errlen, "bad sequence number");
		return ERR_INVAL;
	}
	if (*key == '\0' || strpbrk(key, "\r\n") != NULL) {
		errf(err, errlen, "bad key");
		return ERR_INVAL;
	}
	if (space == NULL) {
		/* That family has no range any more. */
		(*dropped)++;
		return 0;
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

/* Room for count entries in every range, when count is plausible. */
static void
vip_load_reserve(struct vip_pool *p, uint64_t count, size_t len)
{
	size_t i;

	/* An entry takes at least 14 bytes in either format. */
	for (i = 0; count <= len / 14 && i < p->nsp; i++)
		(void)(ptab_reserve(&p->sp[i]->by_key, (size_t)count) ||
		    ptab_reserve(&p->sp[i]->by_addr, (size_t)count));
}

/*
 * A text file of version 1 or 2 held in buf (NUL-terminated at len);
 * the checksum trailer is checked first.
 */
static int
vip_load_text(struct vip_pool *p, char *buf, size_t len,
    struct vip_file_ranges *fr, size_t *dropped, bool *v1, char *err,
    size_t errlen)
{
	char *line, *nl, *end, *trailer, hex[17], *f[3], *sp;
	uint64_t count, nread = 0, seq;
	json_t *js;
	size_t lineno = 0, i;
	int rc;

	*v1 = false;
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len)) {
		errf(err, errlen, "truncated or binary file");
		return ERR_INVAL;
	}
	/* The trailer is the last line; it covers every byte before it. */
	buf[len - 1] = '\0';
	trailer = strrchr(buf, '\n');
	trailer = trailer ? trailer + 1 : buf;
	if (strncmp(trailer, "end ", 4) != 0 ||
	    (end = strchr(trailer + 4, ' ')) == NULL) {
		errf(err, errlen, "no trailer (truncated)");
		return ERR_INVAL;
	}
	*end = '\0';
	if (parse_u64(trailer + 4, &count) != 0 || strlen(end + 1) != 16) {
		errf(err, errlen, "bad trailer");
		return ERR_INVAL;
	}
	snprintf(hex, sizeof(hex), "%016" PRIx64,
	    hash_fnv1a(buf, (size_t)(trailer - buf)));
	if (strcmp(hex, end + 1) != 0) {
		errf(err, errlen, "checksum mismatch");
		return ERR_INVAL;
	}
	*trailer = '\0';
	vip_load_reserve(p, count, len);
	for (line = buf; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');	/* present: trailer follows */
		*nl = '\0';
		lineno++;
		if (lineno == 1) {
			*v1 = strcmp(line, VIP_TEXT_MAGIC_V1) == 0;
			if (!*v1 && strcmp(line, VIP_TEXT_MAGIC) != 0) {
				errf(err, errlen, "unknown format or version");
				return ERR_INVAL;
			}
			continue;
		}
		if (lineno == 2 || (!*v1 && fr->n < 2 && lineno == 3 &&
		    strncmp(line, "range ", 6) == 0)) {
			if (strncmp(line, "range ", 6) != 0 ||
			    strlen(line + 6) >= sizeof(fr->v[0])) {
				errf(err, errlen, "line %zu: bad range line",
				    lineno);
				return ERR_INVAL;
			}
			strlcpy(fr->v[fr->n++], line + 6, sizeof(fr->v[0]));
			continue;
		}
		/* "ADDR U|R SEQ KEY" */
		for (i = 0; i < 3; i++) {
			if ((sp = strchr(line, ' ')) == NULL) {
				errf(err, errlen, "line %zu: missing field",
				    lineno);
				return ERR_INVAL;
			}
			*sp = '\0';
			f[i] = line;
			line = sp + 1;
		}
		if (strcmp(f[1], "U") != 0 && strcmp(f[1], "R") != 0) {
			errf(err, errlen, "line %zu: bad state", lineno);
			return ERR_INVAL;
		}
		if (parse_u64(f[2], &seq) != 0)
			seq = 0;
		nread++;
		/* A key JSON cannot hold (not UTF-8) is not carried over. */
		if ((js = json_string(line)) == NULL) {
			(*dropped)++;
			continue;
		}
		json_decref(js);
		if ((rc = vip_load_add(p, f[0], f[1][0] == 'U', seq, line,
		    dropped, err, errlen)) != 0) {
			char why[96];

			strlcpy(why, err, sizeof(why));
			errf(err, errlen, "line %zu: %s", lineno, why);
			return rc;
		}
	}
	if (lineno < 2) {
		errf(err, errlen, "missing header");
		return ERR_INVAL;
	}
	if (nread != count) {
		errf(err, errlen, "%" PRIu64 " entries, trailer says %" PRIu64,
		    nread, count);
		return ERR_INVAL;
	}
	return 0;
}

/* ["address", "key", "seq", "inUse"]: the members of an entry. */
static json_t *
vip_json_fields(void)
{
	return json_pack("[ssss]", "address", "key", "seq", "inUse");
}

/* A JSON state file held in buf[0..len). */
static int
vip_load_json(struct vip_pool *p, const char *buf, size_t len,
    struct vip_file_ranges *fr, size_t *dropped, char *err, size_t errlen)
{
	json_t *root, *ranges, *fields, *vips, *want = NULL, *e;
	const char *kind, *addr, *key;
	json_int_t version, seq;
	json_error_t je;
	size_t i;
	int in_use, rc = ERR_INVAL;

	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		errf(err, errlen, "line %d column %d: %s", je.line, je.column,
		    je.text);
		return ERR_INVAL;
	}
	if (json_unpack_ex(root, &je, 0, "{s:s, s:I, s:o, s:o, s:o}",
	    "kind", &kind, "version", &version, "ranges", &ranges,
	    "fields", &fields, "vips", &vips) != 0) {
		errf(err, errlen, "%s", je.text);
		goto done;
	}
	if (strcmp(kind, VIP_JSON_KIND) != 0 || version != VIP_JSON_VERSION) {
		errf(err, errlen, "not a " VIP_JSON_KIND " file of version %d",
		    VIP_JSON_VERSION);
		goto done;
	}
	if ((want = vip_json_fields()) == NULL) {
		errf(err, errlen, "out of memory");
		rc = ERR_NOMEM;
		goto done;
	}
	if (!json_equal(fields, want)) {
		errf(err, errlen, "\"fields\" is not [\"address\", \"key\", "
		    "\"seq\", \"inUse\"]");
		goto done;
	}
	if (!json_is_array(ranges) || json_array_size(ranges) < 1 ||
	    json_array_size(ranges) > 2) {
		errf(err, errlen, "\"ranges\" is not one or two ranges");
		goto done;
	}
	json_array_foreach(ranges, i, e) {
		if (!json_is_string(e) || json_string_length(e) >=
		    sizeof(fr->v[0])) {
			errf(err, errlen, "ranges[%zu]: not a range", i);
			goto done;
		}
		strlcpy(fr->v[fr->n++], json_string_value(e),
		    sizeof(fr->v[0]));
	}
	if (!json_is_array(vips)) {
		errf(err, errlen, "\"vips\" is not an array");
		goto done;
	}
	vip_load_reserve(p, json_array_size(vips), len);
	json_array_foreach(vips, i, e) {
		/* Member by member: json_unpack parses a format each time. */
		if (!json_is_array(e) || json_array_size(e) != 4 ||
		    !json_is_string(json_array_get(e, 0)) ||
		    !json_is_string(json_array_get(e, 1)) ||
		    !json_is_integer(json_array_get(e, 2)) ||
		    !json_is_boolean(json_array_get(e, 3))) {
			errf(err, errlen, "vips[%zu]: not [address, key, "
			    "seq, inUse]", i);
			goto done;
		}
		addr = json_string_value(json_array_get(e, 0));
		key = json_string_value(json_array_get(e, 1));
		seq = json_integer_value(json_array_get(e, 2));
		in_use = json_is_true(json_array_get(e, 3));
		if ((rc = vip_load_add(p, addr, in_use != 0,
		    seq > 0 ? (uint64_t)seq : 0, key, dropped, err,
		    errlen)) != 0) {
			char why[96];

			strlcpy(why, err, sizeof(why));
			errf(err, errlen, "vips[%zu]: %s", i, why);
			goto done;
		}
		rc = ERR_INVAL;
	}
	rc = 0;
done:
	json_decref(want);
	json_decref(root);
	return rc;
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
	bool text, v1 = false;
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
		rc = vip_load_json(p, buf, len, &fr, &dropped, err,
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
	/* Text, or a text file left beside: rewritten, and it removed. */
	vip_load_ranges(p, &fr, dropped, text || (p->legacy_path != NULL &&
	    access(p->legacy_path, F_OK) == 0));
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

static int
vip_snap_addr_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct vip_snap_ent *)a)->addr;
	uint32_t y = ((const struct vip_snap_ent *)b)->addr;

	return x < y ? -1 : x > y;
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

		s->digest += ptab_hash_u64(hash_fnv1a(sp->range,
		    strlen(sp->range)));
		s->sp[k].af = sp->af;
		s->sp[k].net6 = sp->net6;
		strlcpy(s->sp[k].range, sp->range, sizeof(s->sp[k].range));
		for (pos = 0; (e = ptab_next(&sp->by_key, &pos)) != NULL; ) {
			l = strlen(e->key) + 1;
			memcpy(s->keys + off, e->key, l);
			s->v[i].seq = e->seq;
			s->v[i].addr = e->addr;
			s->v[i].key = (uint32_t)off;
			s->v[i].in_use = e->in_use;
			vip_digest_add(&s->digest, k, e->key, e->addr,
			    e->in_use);
			off += l;
			i++;
		}
		s->sp[k].n = sp->nentries;
	}
	return s;
}

/*
 * statewr_job build: the JSON document of a snapshot, sorted by address
 * within each range. Runs on the writer thread.
 */
static char *
vip_snap_build(void *arg, size_t *len)
{
	struct vip_snap *s = arg;
	struct vip_snap_ent *v = s->v;
	json_t *root = NULL, *ranges, *vips, *e;
	char buf[INET6_ADDRSTRLEN], *text = NULL;
	struct in6_addr a6;
	struct in_addr in;
	uint32_t low;
	size_t k, i;
	int saved;

	if ((root = json_pack("{s:s, s:i, s:[], s:o, s:[]}", "kind",
	    VIP_JSON_KIND, "version", VIP_JSON_VERSION, "ranges", "fields",
	    vip_json_fields(), "vips")) == NULL)
		goto oom;
	ranges = json_object_get(root, "ranges");
	vips = json_object_get(root, "vips");
	for (k = 0; k < s->nsp; v += s->sp[k].n, k++) {
		if (json_array_append_new(ranges,
		    json_string(s->sp[k].range)) != 0)
			goto oom;
		qsort(v, s->sp[k].n, sizeof(*v), vip_snap_addr_cmp);
		for (i = 0; i < s->sp[k].n; i++) {
			if (s->sp[k].af == AF_INET6) {
				a6 = s->sp[k].net6;
				memcpy(&low, &a6.s6_addr[12], 4);
				low = htonl(ntohl(low) | v[i].addr);
				memcpy(&a6.s6_addr[12], &low, 4);
				inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
			} else {
				in.s_addr = htonl(v[i].addr);
				inet4_str(in, buf);
			}
			/*
			 * Member by member, not json_pack (which parses a
			 * format each time). A key jansson refuses (not
			 * UTF-8) fails the save.
			 */
			if ((e = json_array()) == NULL ||
			    json_array_append_new(vips, e) != 0 ||
			    json_array_append_new(e, json_string(buf)) != 0 ||
			    json_array_append_new(e,
			    json_string(s->keys + v[i].key)) != 0 ||
			    json_array_append_new(e,
			    json_integer((json_int_t)v[i].seq)) != 0 ||
			    json_array_append_new(e,
			    json_boolean(v[i].in_use)) != 0)
				goto oom;
		}
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
	size_t k;
	bool dirty = false;
	int saved, rc;

	for (k = 0; k < p->nsp; k++)
		dirty = dirty || p->sp[k]->dirty;
	if (p->state_path == NULL || !dirty)
		return 0;
	if ((s = vip_snap_take(p)) == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	if (s->digest == __atomic_load_n(&p->disk_digest, __ATOMIC_RELAXED)) {
		/* The file holds this already (the order of reuse aside). */
		free(s);
		goto clean;
	}
	__atomic_store_n(&p->disk_digest, s->digest, __ATOMIC_RELAXED);
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
