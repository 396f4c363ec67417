/* SPDX-License-Identifier: MIT */
/* test_vip.c -- stable VIP allocation: hashing, probing, state file. */
#include "config.h"

#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "util.h"
#include "statewr.h"
#include "vip_impl.h"
#include "vip.h"

struct fixture {
	char	dir[64];
	char	path[128];	/* state file */
	char	legacy[128];	/* the text file beside it */
};

static const struct in_addr any = { 0 };

static struct in_addr
ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static const char *
str(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet4_str(a, buf[i]);
}

static int
setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strlcpy(f->dir, "/tmp/test_vip.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" VIP_STATE_FILE, f->dir);
	snprintf(f->legacy, sizeof(f->legacy), "%s/" VIP_STATE_LEGACY,
	    f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[160];

	unlink(f->path);
	unlink(f->legacy);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct vip_pool *
pool(const char *cidr, const char *path)
{
	struct vip_pool *p;
	char err[256] = "";

	p = vip_pool_new(cidr, path, err, sizeof(err));
	if (p == NULL)
		fail_msg("vip_pool_new %s: %s", cidr, err);
	return p;
}

static struct in_addr
alloc_ok(struct vip_pool *p, const char *key, struct in_addr req)
{
	struct in_addr out;
	char err[256] = "";
	int rc;

	out.s_addr = 0;
	rc = vip_alloc(p, key, req, &out, err, sizeof(err));
	if (rc != 0)
		fail_msg("vip_alloc %s: %d %s", key, rc, err);
	assert_true(vip_in_range(p, out));
	assert_string_equal(vip_owner(p, out), key);
	return out;
}

/*
 * Allocates the keys prefix<first> .. prefix<last>, in that order
 * (backwards when first > last), and stores each address in got[i]; when
 * same is set, each must get got[i] again instead.
 */
static void
alloc_keys(struct vip_pool *p, const char *prefix, int first, int last,
    struct in_addr *got, bool same)
{
	struct in_addr a;
	char key[64];
	int i, step = first <= last ? 1 : -1;

	for (i = first; i != last + step; i += step) {
		snprintf(key, sizeof(key), "%s%d", prefix, i);
		a = alloc_ok(p, key, any);
		if (same)
			assert_int_equal(a.s_addr, got[i].s_addr);
		else
			got[i] = a;
	}
}

static void
alloc_fails(struct vip_pool *p, const char *key, struct in_addr req, int want)
{
	struct in_addr out = { 0 };
	char err[256] = "";
	int rc;

	assert_int_equal(vip_check(p, key, req, err, sizeof(err)), want);
	assert_true(err[0] != '\0');
	err[0] = '\0';
	rc = vip_alloc(p, key, req, &out, err, sizeof(err));
	assert_int_equal(rc, want);
	assert_true(err[0] != '\0');
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp;

	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf = read_file(path, 1 << 30, len, NULL, 0);

	assert_non_null(buf);
	return buf;
}

static void
test_vip_pool_new_invalid(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0", "10.0.0.0/7", "10.0.0.0/31", "10.0.0.0/32",
		"10.0.0.1/24", "foo/8", "10.0.0.0/", "10.0.0.0/x", "",
		"::1/64", "10.0.0.0/24 ",
	};
	struct vip_pool *p;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		p = vip_pool_new(bad[i], NULL, err, sizeof(err));
		if (p != NULL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_null(vip_pool_new(NULL, NULL, err, sizeof(err)));
	p = pool("10.0.0.0/8", NULL);
	assert_string_equal(vip_range(p), "10.0.0.0/8");
	assert_int_equal(vip_count(p), 0);
	vip_pool_free(p);
	p = pool("10.0.0.4/30", NULL);
	vip_pool_free(p);
	vip_pool_free(NULL);
}

static void
test_vip_alloc_stable(void **state)
{
	struct vip_pool *a, *b;
	struct in_addr x, y;

	(void)state;
	a = pool("127.96.0.0/16", NULL);
	b = pool("127.96.0.0/16", NULL);
	x = alloc_ok(a, "default/backend", any);
	/* Other keys first: the address depends on the key alone. */
	alloc_ok(b, "default/front", any);
	alloc_ok(b, "kube-system/dns", any);
	y = alloc_ok(b, "default/backend", any);
	assert_int_equal(x.s_addr, y.s_addr);
	/* Asking again is idempotent. */
	y = alloc_ok(a, "default/backend", any);
	assert_int_equal(x.s_addr, y.s_addr);
	y = alloc_ok(a, "default/backend", x);
	assert_int_equal(x.s_addr, y.s_addr);
	assert_int_equal(vip_count(a), 1);
	assert_int_equal(vip_count(b), 3);
	assert_int_equal(vip_save(a), 0);	/* no state path: no-op */
	vip_pool_free(a);
	vip_pool_free(b);
}

static void
test_vip_alloc_restart(void **state)
{
	struct fixture *f = *state;
	struct in_addr got[50], x;
	struct vip_pool *p;

	p = pool("10.250.0.0/24", f->path);
	alloc_keys(p, "ns/svc-", 0, 49, got, false);
	x = alloc_ok(p, "ns/explicit", ip("10.250.0.200"));
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);

	p = pool("10.250.0.0/24", f->path);
	assert_int_equal(vip_count(p), 0);
	/* A newcomer first, then the old keys in reverse order. */
	alloc_ok(p, "ns/newcomer", any);
	alloc_keys(p, "ns/svc-", 49, 0, got, true);
	/* Explicit addresses are remembered as well. */
	assert_int_equal(alloc_ok(p, "ns/explicit", any).s_addr, x.s_addr);
	assert_int_equal(vip_count(p), 52);
	vip_pool_free(p);
}

static void
test_vip_release_recreate(void **state)
{
	struct in_addr a, b;
	struct vip_pool *p;
	char key[32];
	int i;

	(void)state;
	p = pool("10.250.0.0/24", NULL);
	a = alloc_ok(p, "default/a", any);
	vip_release(p, "default/a");
	assert_null(vip_owner(p, a));
	assert_int_equal(vip_count(p), 0);
	vip_release(p, "default/a");		/* twice: harmless */
	vip_release(p, "default/unknown");
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "default/k%d", i);
		b = alloc_ok(p, key, any);
		assert_int_not_equal(b.s_addr, a.s_addr);
	}
	b = alloc_ok(p, "default/a", any);
	assert_int_equal(a.s_addr, b.s_addr);
	assert_int_equal(vip_count(p), 101);
	vip_pool_free(p);
}

static void
test_vip_collisions_small(void **state)
{
	static const char *const keys[] = {
		"a/1", "a/2", "a/3", "a/4", "a/5", "a/6",
	};
	struct in_addr got[6], x;
	struct vip_pool *p, *q;
	uint32_t seen = 0, off;
	size_t i;

	(void)state;
	p = pool("10.250.0.8/29", NULL);
	for (i = 0; i < 6; i++) {
		got[i] = alloc_ok(p, keys[i], any);
		off = ntohl(got[i].s_addr) - ntohl(ip("10.250.0.8").s_addr);
		assert_true(off >= 1 && off <= 6);
		assert_false(seen & (1u << off));
		seen |= 1u << off;
	}
	assert_int_equal(vip_count(p), 6);
	alloc_fails(p, "a/7", any, ERR_EXHAUSTED);
	/* Collisions are resolved the same way every time. */
	q = pool("10.250.0.8/29", NULL);
	for (i = 0; i < 6; i++) {
		x = alloc_ok(q, keys[i], any);
		assert_int_equal(x.s_addr, got[i].s_addr);
	}
	vip_pool_free(q);
	vip_pool_free(p);
}

static void
test_vip_never_network_broadcast(void **state)
{
	static const char *const ranges[] = {
		"10.250.0.0/30", "10.250.0.0/29", "10.250.0.0/24",
	};
	struct vip_pool *p;
	struct in_addr x;
	uint32_t net, bcast, a;
	char key[32];
	size_t r;
	int i, j, n;

	(void)state;
	for (r = 0; r < CIP_ARRAY_LEN(ranges); r++) {
		net = ntohl(ip("10.250.0.0").s_addr);
		n = r == 0 ? 2 : r == 1 ? 6 : 254;
		bcast = net + (uint32_t)n + 1;
		/* Many keys, each first in a fresh pool, then all in one. */
		for (i = 0; i < 300; i++) {
			p = pool(ranges[r], NULL);
			snprintf(key, sizeof(key), "ns/s%d", i);
			a = ntohl(alloc_ok(p, key, any).s_addr);
			assert_true(a != net && a != bcast);
			vip_pool_free(p);
		}
		p = pool(ranges[r], NULL);
		for (j = 0; j < n; j++) {
			snprintf(key, sizeof(key), "ns/s%d", j);
			a = ntohl(alloc_ok(p, key, any).s_addr);
			assert_true(a > net && a < bcast);
		}
		alloc_fails(p, "ns/one-more", any, ERR_EXHAUSTED);
		x.s_addr = htonl(net);
		alloc_fails(p, "ns/net", x, ERR_INVAL);
		assert_true(vip_in_range(p, x));
		assert_null(vip_owner(p, x));
		x.s_addr = htonl(bcast);
		alloc_fails(p, "ns/bcast", x, ERR_INVAL);
		vip_pool_free(p);
	}
}

static void
test_vip_explicit(void **state)
{
	struct in_addr x, y, z;
	struct vip_pool *p;
	char err[256];

	(void)state;
	p = pool("10.250.0.0/24", NULL);
	x = alloc_ok(p, "ns/a", ip("10.250.0.10"));
	assert_string_equal(str(x), "10.250.0.10");
	/* Out of range. */
	alloc_fails(p, "ns/b", ip("10.251.0.10"), ERR_INVAL);
	assert_false(vip_in_range(p, ip("10.251.0.10")));
	/* Held by a key in use. */
	alloc_fails(p, "ns/b", ip("10.250.0.10"), ERR_CONFLICT);
	assert_string_equal(vip_owner(p, x), "ns/a");
	/* Held by a released key: taken over, the old key forgets it. */
	vip_release(p, "ns/a");
	assert_int_equal(vip_check(p, "ns/b", x, err, sizeof(err)), 0);
	assert_null(vip_owner(p, x));		/* check changed nothing */
	y = alloc_ok(p, "ns/b", x);
	assert_int_equal(y.s_addr, x.s_addr);
	z = alloc_ok(p, "ns/a", any);
	assert_int_not_equal(z.s_addr, x.s_addr);
	/* A key moves to another requested address; the old one is free. */
	y = alloc_ok(p, "ns/b", ip("10.250.0.20"));
	assert_string_equal(str(y), "10.250.0.20");
	assert_null(vip_owner(p, x));
	assert_int_equal(vip_count(p), 2);
	alloc_ok(p, "ns/c", x);
	/* And keeps the moved address without a request. */
	y = alloc_ok(p, "ns/b", any);
	assert_string_equal(str(y), "10.250.0.20");
	/* Bad keys. */
	alloc_fails(p, "", any, ERR_INVAL);
	alloc_fails(p, "ns/x\ny", any, ERR_INVAL);
	vip_pool_free(p);
}

static void
test_vip_move_onto_released(void **state)
{
	struct in_addr x, y, z;
	struct vip_pool *p;

	(void)state;
	p = pool("10.250.0.0/24", NULL);
	x = alloc_ok(p, "ns/a", ip("10.250.0.10"));
	y = alloc_ok(p, "ns/r", ip("10.250.0.20"));
	vip_release(p, "ns/r");
	/* A key in use moves onto a released key's address. */
	z = alloc_ok(p, "ns/a", y);
	assert_int_equal(z.s_addr, y.s_addr);
	assert_string_equal(vip_owner(p, y), "ns/a");
	assert_null(vip_owner(p, x));
	assert_int_equal(vip_count(p), 1);
	/* The released key forgot it; its old address is free for others. */
	z = alloc_ok(p, "ns/r", any);
	assert_int_not_equal(z.s_addr, y.s_addr);
	alloc_ok(p, "ns/c", x);
	assert_string_equal(vip_owner(p, x), "ns/c");
	/* Reserving room changes no allocation. */
	assert_int_equal(vip_reserve(p, 100), 0);
	assert_string_equal(vip_owner(p, y), "ns/a");
	assert_int_equal(vip_count(p), 3);
	/* A released key moved by a request comes back in use there. */
	vip_release(p, "ns/c");
	z = alloc_ok(p, "ns/c", ip("10.250.0.30"));
	assert_string_equal(str(z), "10.250.0.30");
	assert_null(vip_owner(p, x));
	assert_int_equal(vip_count(p), 3);
	vip_pool_free(p);
}

static void
test_vip_exhaustion_reclaim(void **state)
{
	struct in_addr a1, a2, x;
	struct vip_pool *p;
	char key[16];
	int i;

	(void)state;
	p = pool("10.250.0.0/29", NULL);		/* 6 usable */
	a1 = alloc_ok(p, "k/1", any);
	a2 = alloc_ok(p, "k/2", any);
	alloc_ok(p, "k/3", any);
	vip_release(p, "k/2");
	vip_release(p, "k/1");
	/* Never-used addresses go first: 3 left. */
	for (i = 4; i <= 6; i++) {
		snprintf(key, sizeof(key), "k/%d", i);
		x = alloc_ok(p, key, any);
		assert_int_not_equal(x.s_addr, a1.s_addr);
		assert_int_not_equal(x.s_addr, a2.s_addr);
	}
	/* Then released ones, oldest release first. */
	x = alloc_ok(p, "k/7", any);
	assert_int_equal(x.s_addr, a2.s_addr);
	x = alloc_ok(p, "k/8", any);
	assert_int_equal(x.s_addr, a1.s_addr);
	alloc_fails(p, "k/9", any, ERR_EXHAUSTED);
	alloc_fails(p, "k/1", any, ERR_EXHAUSTED);
	assert_int_equal(vip_count(p), 6);
	vip_release(p, "k/8");
	x = alloc_ok(p, "k/8", any);
	assert_int_equal(x.s_addr, a1.s_addr);
	vip_pool_free(p);
}

static void
test_vip_restart_reclaim_order(void **state)
{
	struct fixture *f = *state;
	struct in_addr got[7], x;
	struct vip_pool *p;

	p = pool("10.250.0.0/29", f->path);
	alloc_keys(p, "k/", 1, 6, got, false);
	vip_release(p, "k/4");
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);

	/*
	 * After a restart nothing is in use until allocated again; when
	 * the range is full, what was released before the save goes
	 * first, then what was in use, oldest allocation first.
	 */
	p = pool("10.250.0.0/29", f->path);
	x = alloc_ok(p, "k/new1", any);
	assert_int_equal(x.s_addr, got[4].s_addr);
	x = alloc_ok(p, "k/new2", any);
	assert_int_equal(x.s_addr, got[1].s_addr);
	x = alloc_ok(p, "k/3", any);
	assert_int_equal(x.s_addr, got[3].s_addr);
	/* k/1 lost its address to k/new2; the next oldest is k/2's. */
	x = alloc_ok(p, "k/1", any);
	assert_int_equal(x.s_addr, got[2].s_addr);
	vip_pool_free(p);
}

/* Saves a state with remembered and explicit addresses; returns text. */
static char *
make_state(const char *path, size_t *len, struct in_addr *explicit_addr)
{
	struct vip_pool *p;

	p = pool("10.250.0.0/24", path);
	alloc_ok(p, "ns/a", any);
	alloc_ok(p, "ns/b", any);
	vip_release(p, "ns/b");
	*explicit_addr = alloc_ok(p, "ns/req", ip("10.250.0.77"));
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	return slurp(path, len);
}

/* The address "ns/req" gets with no state: hash-derived. */
static struct in_addr
fresh_addr(void)
{
	struct vip_pool *p;
	struct in_addr a;

	p = pool("10.250.0.0/24", NULL);
	a = alloc_ok(p, "ns/req", any);
	vip_pool_free(p);
	return a;
}

/* Loads path; true when the explicit address was remembered. */
static bool
remembered(const char *path, struct in_addr explicit_addr)
{
	struct vip_pool *p;
	struct in_addr a;

	p = pool("10.250.0.0/24", path);
	assert_int_equal(vip_count(p), 0);
	a = alloc_ok(p, "ns/req", any);
	vip_pool_free(p);
	return a.s_addr == explicit_addr.s_addr;
}

static void
test_vip_state_truncated(void **state)
{
	struct fixture *f = *state;
	struct in_addr x;
	char *text;
	size_t len, n;

	log_setlevel(LOG_LEVEL_ERROR);
	text = make_state(f->path, &len, &x);
	assert_int_not_equal(fresh_addr().s_addr, x.s_addr);
	assert_true(remembered(f->path, x));
	for (n = 0; n < len; n++) {
		write_file(f->path, text, n);
		if (remembered(f->path, x))
			fail_msg("truncation at %zu of %zu accepted", n, len);
	}
	write_file(f->path, text, len);
	assert_true(remembered(f->path, x));
	free(text);
	log_setlevel(LOG_LEVEL_INFO);
}

/* A text state file of version v: body, then the checksum trailer. */
static char *
text_state(int v, const char *body, size_t nentries)
{
	char *t;
	size_t n;

	t = malloc(strlen(body) + 64);
	assert_non_null(t);
	n = (size_t)sprintf(t, "clusterip-vip %d\n%s", v, body);
	sprintf(t + n, "end %zu %016" PRIx64 "\n", nentries,
	    hash_fnv1a(t, n));
	return t;
}

#define J_HEAD	"{\"kind\": \"clusterip-vips\", \"version\": 3, " \
		"\"ranges\": [\"10.250.0.0/24\"], " \
		"\"fields\": [\"address\", \"key\", \"seq\", \"inUse\"], "

#define J4_HEAD	"{\"kind\": \"clusterip-vips\", \"version\": 4, " \
		"\"ranges\": [{\"range\": \"10.250.0.0/24\", "

static void
test_vip_state_corrupt(void **state)
{
	static const char *const junk[] = {
		"",
		"\n",
		"hello world\n",
		"{",
		"{}",
		"[]",
		"null",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, true]]} x",
		/* Not this kind or version. */
		"{\"kind\": \"other\", \"version\": 3, \"ranges\": "
		    "[\"10.250.0.0/24\"], \"fields\": [\"address\", \"key\", "
		    "\"seq\", \"inUse\"], \"vips\": [[\"10.250.0.77\", "
		    "\"ns/req\", 1, true]]}",
		"{\"kind\": \"clusterip-vips\", \"version\": 4, \"ranges\": "
		    "[\"10.250.0.0/24\"], \"fields\": [\"address\", \"key\", "
		    "\"seq\", \"inUse\"], \"vips\": [[\"10.250.0.77\", "
		    "\"ns/req\", 1, true]]}",
		/* Fields in another order. */
		"{\"kind\": \"clusterip-vips\", \"version\": 3, \"ranges\": "
		    "[\"10.250.0.0/24\"], \"fields\": [\"key\", \"address\", "
		    "\"seq\", \"inUse\"], \"vips\": [[\"ns/req\", "
		    "\"10.250.0.77\", 1, true]]}",
		/* Ranges. */
		"{\"kind\": \"clusterip-vips\", \"version\": 3, \"ranges\": "
		    "[], \"fields\": [\"address\", \"key\", \"seq\", "
		    "\"inUse\"], \"vips\": [[\"10.250.0.77\", \"ns/req\", 1, "
		    "true]]}",
		"{\"kind\": \"clusterip-vips\", \"version\": 3, \"ranges\": "
		    "[1], \"fields\": [\"address\", \"key\", \"seq\", "
		    "\"inUse\"], \"vips\": [[\"10.250.0.77\", \"ns/req\", 1, "
		    "true]]}",
		/* Entries. */
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, true], 7]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, true, 1]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 0, true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", -4, true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", \"1\", true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, 1]]}",
		J_HEAD "\"vips\": [[\"10.250.0.777\", \"ns/req\", 1, true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"\", 1, true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/r\\neq\", 1, true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/r\\u0000q\", 1, "
		    "true]]}",
		J_HEAD "\"vips\": {\"10.250.0.77\": \"ns/req\"}}",
		/* Duplicates: a key, an address, a member. */
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, true], "
		    "[\"10.250.0.78\", \"ns/req\", 2, true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, true], "
		    "[\"10.250.0.77\", \"ns/other\", 2, true]]}",
		J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, true]], "
		    "\"vips\": []}",
		/* Version 4. */
		J4_HEAD "\"released\": 2, \"offsets\": [77], "
		    "\"keys\": [\"ns/req\"]}]}",
		J4_HEAD "\"released\": -1, \"offsets\": [77], "
		    "\"keys\": [\"ns/req\"]}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [77, 78], "
		    "\"keys\": [\"ns/req\"]}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [-77], "
		    "\"keys\": [\"ns/req\"]}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [\"77\"], "
		    "\"keys\": [\"ns/req\"]}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [77], "
		    "\"keys\": [7]}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [77], "
		    "\"keys\": [\"ns/req\"], \"more\": 1}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [77, 78], "
		    "\"keys\": [\"ns/req\", \"ns/req\"]}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [77, 77], "
		    "\"keys\": [\"ns/req\", \"ns/b\"]}]}",
		J4_HEAD "\"released\": 0, \"offsets\": [4294967296], "
		    "\"keys\": [\"ns/req\"]}]}",
		"{\"kind\": \"clusterip-vips\", \"version\": 4, "
		    "\"ranges\": [{\"range\": \"10.250.0.0/16\", "
		    "\"released\": 0, \"offsets\": [65536], "
		    "\"keys\": [\"ns/req\"]}]}",
		"{\"kind\": \"clusterip-vips\", \"version\": 4, "
		    "\"ranges\": {\"range\": \"10.250.0.0/24\"}}",
		/* Text files: no trailer, a wrong one. */
		"clusterip-vip 2\nrange 10.250.0.0/24\nend 0 0000000000000000\n",
		"clusterip-vip 1\nrange 10.250.0.0/24\n10.250.0.77 U 1 ns/req\n",
		"end 0 cbf29ce484222325\n",
		"\x00\x01\x02\xff\xfe",
	};
	struct fixture *f = *state;
	struct in_addr x;
	char *text, saved;
	size_t len, i;

	log_setlevel(LOG_LEVEL_ERROR);
	text = make_state(f->path, &len, &x);
	free(text);
	/* The files the entries come from are good as such. */
	text = strdup(J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", 1, "
	    "true]]}");
	write_file(f->path, text, strlen(text));
	assert_true(remembered(f->path, x));
	free(text);
	text = strdup(J4_HEAD "\"released\": 0, \"offsets\": [77], "
	    "\"keys\": [\"ns/req\"]}]}");
	write_file(f->path, text, strlen(text));
	assert_true(remembered(f->path, x));
	free(text);
	for (i = 0; i < CIP_ARRAY_LEN(junk); i++) {
		write_file(f->path, junk[i], i == CIP_ARRAY_LEN(junk) - 1 ?
		    5 : strlen(junk[i]));
		if (remembered(f->path, x))
			fail_msg("junk %zu accepted: %s", i, junk[i]);
	}
	/* In a text file, any one byte changed anywhere is caught. */
	text = text_state(2, "range 10.250.0.0/24\n10.250.0.77 U 3 ns/req\n",
	    1);
	len = strlen(text);
	write_file(f->path, text, len);
	assert_true(remembered(f->path, x));
	for (i = 0; i < len; i++) {
		saved = text[i];
		text[i] = saved == 'x' ? 'y' : 'x';
		write_file(f->path, text, len);
		if (remembered(f->path, x))
			fail_msg("byte %zu of %zu changed, accepted", i, len);
		text[i] = saved;
	}
	free(text);
	/* A rebuilt pool saves a good file again. */
	write_file(f->path, "garbage\n", 8);
	{
		struct vip_pool *p = pool("10.250.0.0/24", f->path);

		alloc_ok(p, "ns/req", x);
		assert_int_equal(vip_save(p), 0);
		vip_pool_free(p);
	}
	assert_true(remembered(f->path, x));
	log_setlevel(LOG_LEVEL_INFO);
}

static void
test_vip_state_range_change(void **state)
{
	struct fixture *f = *state;
	struct in_addr x;
	struct vip_pool *p;
	char *text;
	size_t len;

	log_setlevel(LOG_LEVEL_ERROR);
	text = make_state(f->path, &len, &x);
	free(text);
	/* A wider range keeps what still fits. */
	p = pool("10.250.0.0/16", f->path);
	assert_int_equal(alloc_ok(p, "ns/req", any).s_addr, x.s_addr);
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	/* A disjoint one drops it, and is no failure. */
	p = pool("10.99.0.0/24", f->path);
	assert_false(vip_in_range(p, x));
	alloc_ok(p, "ns/req", any);
	vip_pool_free(p);
	log_setlevel(LOG_LEVEL_INFO);
}

/* vip_save; whether it replaced the file last seen as *st (updated). */
static bool
save_replaced(struct vip_pool *p, const char *path, struct stat *st)
{
	struct stat now;
	bool replaced;

	assert_int_equal(vip_save(p), 0);
	assert_int_equal(stat(path, &now), 0);
	replaced = now.st_ino != st->st_ino;
	*st = now;
	return replaced;
}

static void
test_vip_save_atomic(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	struct stat st;
	char tmp[160], bad[200];

	p = pool("10.250.0.0/24", f->path);
	alloc_ok(p, "ns/a", any);
	assert_int_equal(vip_save(p), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(stat(f->path, &st), 0);
	/* Nothing changed: not rewritten. */
	assert_false(save_replaced(p, f->path, &st));
	/* A change: a new file renamed over the old one. */
	alloc_ok(p, "ns/b", any);
	assert_true(save_replaced(p, f->path, &st));
	vip_pool_free(p);

	/* An unwritable place fails with errno and keeps running. */
	log_setlevel(LOG_LEVEL_ERROR);
	snprintf(bad, sizeof(bad), "%s/missing/vip.state", f->dir);
	p = pool("10.250.0.0/24", bad);
	alloc_ok(p, "ns/a", any);
	errno = 0;
	assert_int_equal(vip_save(p), -1);
	assert_int_equal(errno, ENOENT);
	vip_pool_free(p);
	log_setlevel(LOG_LEVEL_INFO);
}

/*
 * A restart that allocates every address again as the file has it
 * writes nothing; one that differs in any entry writes.
 */
static void
test_vip_restart_unchanged_not_saved(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	struct stat st;
	struct in_addr a, b;

	p = pool("10.250.0.0/24", f->path);
	a = alloc_ok(p, "ns/a", any);
	b = alloc_ok(p, "ns/b", any);
	alloc_ok(p, "ns/c", any);
	vip_release(p, "ns/c");
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	assert_int_equal(stat(f->path, &st), 0);

	/* The same in use, the same released: not rewritten. */
	p = pool("10.250.0.0/24", f->path);
	assert_int_equal(alloc_ok(p, "ns/b", any).s_addr, b.s_addr);
	assert_int_equal(alloc_ok(p, "ns/a", any).s_addr, a.s_addr);
	assert_false(save_replaced(p, f->path, &st));
	vip_pool_free(p);

	/* One address not taken again: released now, so written. */
	p = pool("10.250.0.0/24", f->path);
	assert_int_equal(alloc_ok(p, "ns/a", any).s_addr, a.s_addr);
	assert_true(save_replaced(p, f->path, &st));
	/* Back to the state on disk after a change in between: skipped. */
	vip_release(p, "ns/a");
	assert_int_equal(alloc_ok(p, "ns/a", any).s_addr, a.s_addr);
	assert_false(save_replaced(p, f->path, &st));
	/* A new key: written. */
	alloc_ok(p, "ns/d", any);
	assert_true(save_replaced(p, f->path, &st));
	vip_pool_free(p);

	/* What was skipped loses nothing: every key keeps its address. */
	p = pool("10.250.0.0/24", f->path);
	assert_int_equal(alloc_ok(p, "ns/b", any).s_addr, b.s_addr);
	assert_int_equal(alloc_ok(p, "ns/a", any).s_addr, a.s_addr);
	vip_pool_free(p);
}

/* The digest of p counted from scratch, as vip_pool_digest keeps it. */
static uint64_t
digest_counted(const struct vip_pool *p)
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
			    e->in_use);
	}
	return d;
}

/*
 * The digest kept as entries change equals the one counted afresh after
 * any allocation, release, move to a requested address and reclaim of
 * a released one, and after a restart.
 */
static void
test_vip_digest_kept(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	struct in_addr a, req;
	char key[16], err[256];
	int i;

	srandom(11);
	p = pool("10.250.0.0/26", f->path);	/* 62 addresses, 80 keys */
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "k/%ld", random() % 80);
		req.s_addr = random() % 4 == 0 ? htonl(0x0afa0000u |
		    (uint32_t)(1 + random() % 62)) : 0;
		if (random() % 3 == 0)
			vip_release(p, key);
		else
			(void)vip_alloc(p, key, req, &a, err, sizeof(err));
		if (vip_pool_digest(p) != digest_counted(p))
			fail_msg("digest drifted at step %d", i);
	}
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	p = pool("10.250.0.0/26", f->path);
	assert_true(vip_pool_digest(p) == digest_counted(p));
	vip_pool_free(p);
}

static double
elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A saver that drops the snapshot: what vip_save costs the loop. */
static int
drop_saver(void *arg, const char *path, const struct statewr_job *job,
    int mode)
{
	(void)arg;
	(void)path;
	(void)mode;
	job->done(job->ctx, ECANCELED);
	return 0;
}

static void
test_vip_many(void **state)
{
	struct fixture *f = *state;
	struct timespec t0;
	struct vip_pool *p;
	struct in_addr *got, x;
	double t_alloc, t_save, t_load, t_snap;
	char key[32];
	int i, n = 100000;

	got = calloc((size_t)n, sizeof(*got));
	assert_non_null(got);
	p = pool("10.0.0.0/15", f->path);		/* 131070 usable */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "ns%d/svc-%d", i % 97, i);
		if (vip_alloc(p, key, any, &got[i], NULL, 0) != 0)
			fail_msg("alloc %d failed", i);
	}
	t_alloc = elapsed_s(&t0);
	assert_int_equal(vip_count(p), (size_t)n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vip_save(p), 0);
	t_save = elapsed_s(&t0);
	/* With a saver, the caller only takes the snapshot. */
	vip_set_saver(p, drop_saver, NULL);
	vip_release(p, "ns0/svc-0");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vip_save(p), 0);
	t_snap = elapsed_s(&t0);
	assert_int_equal(vip_alloc(p, "ns0/svc-0", any, &x, NULL, 0), 0);
	assert_int_equal(x.s_addr, got[0].s_addr);
	vip_pool_free(p);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = pool("10.0.0.0/15", f->path);
	t_load = elapsed_s(&t0);
	for (i = n - 1; i >= 0; i--) {
		snprintf(key, sizeof(key), "ns%d/svc-%d", i % 97, i);
		assert_int_equal(vip_alloc(p, key, any, &x, NULL, 0), 0);
		assert_int_equal(x.s_addr, got[i].s_addr);
	}
	vip_pool_free(p);
	free(got);
	print_message("100000 keys in a /15: alloc %.3f s, save %.3f s "
	    "(snapshot %.3f s), load %.3f s\n", t_alloc, t_save, t_snap,
	    t_load);
	/* Generous bound for sanitizer builds; plain builds take ~0.1 s. */
	assert_true(t_alloc < 5.0);
}

static struct vip_pool *
pool2(const char *a, const char *b, const char *path)
{
	const char *r[2] = { a, b };
	struct vip_pool *p;
	char err[256] = "";

	p = vip_pool_new_ranges(r, b ? 2 : 1, path, err, sizeof(err));
	if (p == NULL)
		fail_msg("vip_pool_new_ranges %s %s: %s", a, b ? b : "", err);
	return p;
}

static struct in6_addr
ip6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct in6_addr
alloc6_ok(struct vip_pool *p, const char *key, const char *req)
{
	struct in6_addr out, r;
	char err[256] = "";
	int rc;

	if (req != NULL)
		r = ip6(req);
	rc = vip_alloc6(p, key, req ? &r : NULL, &out, err, sizeof(err));
	if (rc != 0)
		fail_msg("vip_alloc6 %s: %d %s", key, rc, err);
	assert_true(vip_in_range6(p, &out));
	assert_string_equal(vip_owner6(p, &out), key);
	return out;
}

static void
test_vip_ranges_invalid(void **state)
{
	static const char *const bad[][2] = {
		{ "10.0.0.0/24", "10.1.0.0/24" },	/* two IPv4 */
		{ "fd00::/112", "fd01::/112" },		/* two IPv6 */
		{ "fd00::/64", NULL },			/* too wide */
		{ "fd00::/127", NULL },			/* too narrow */
		{ "fd00::1/112", NULL },		/* host bits */
		{ "fd00::/x", NULL },
	};
	char err[256];
	size_t i;

	for (i = 0; i < CIP_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		assert_null(vip_pool_new_ranges((const char *const *)bad[i],
		    bad[i][1] ? 2 : 1, NULL, err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
}

/* Each family from its own range, derived from the key's hash. */
static void
test_vip6_alloc_stable(void **state)
{
	struct vip_pool *p = pool2("fd00:96::/112", "127.96.0.0/16", NULL);
	struct vip_pool *q = pool2("127.96.0.0/16", "fd00:96::/112", NULL);
	struct in6_addr a, b;
	char err[256];
	int af[2];

	assert_int_equal(vip_families(p, af), 2);
	assert_int_equal(af[0], AF_INET6);
	assert_int_equal(af[1], AF_INET);
	assert_string_equal(vip_range6(p), "fd00:96::/112");
	assert_string_equal(vip_range(p), "127.96.0.0/16");
	a = alloc6_ok(p, "default/backend", NULL);
	b = alloc6_ok(q, "default/backend", NULL);
	assert_memory_equal(&a, &b, sizeof(a));
	/* The IPv4 one is independent of it, and both count. */
	assert_true(vip_in_range(p, alloc_ok(p, "default/backend", any)));
	assert_int_equal(vip_count(p), 2);
	/* Released and recreated: the same address. */
	vip_release6(p, "default/backend");
	assert_null(vip_owner6(p, &a));
	b = alloc6_ok(p, "default/backend", NULL);
	assert_memory_equal(&a, &b, sizeof(a));
	/* Requests: in range, not the network, not another key's. */
	alloc6_ok(p, "default/fixed", "fd00:96::20");
	assert_int_equal(vip_check6(p, "default/x", &b, err, sizeof(err)),
	    ERR_CONFLICT);
	b = ip6("fd00:97::20");
	assert_int_equal(vip_alloc6(p, "default/x", &b, &b, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "is not a usable address of fd00:96::/112"));
	b = ip6("fd00:96::");
	assert_int_equal(vip_check6(p, "default/x", &b, err, sizeof(err)),
	    ERR_INVAL);
	vip_pool_free(p);
	vip_pool_free(q);
	/* Without an IPv6 range, or without an IPv4 one: refused. */
	p = pool("127.96.0.0/16", NULL);
	assert_int_equal(vip_alloc6(p, "a/b", NULL, &a, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "no IPv6 VIP range"));
	vip_pool_free(p);
	p = pool2("fd00:96::/112", NULL, NULL);
	assert_int_equal(vip_check(p, "a/b", any, err, sizeof(err)),
	    ERR_INVAL);
	assert_null(vip_range(p));
	vip_pool_free(p);
}

/* Both families persist in one file and come back after a restart. */
static void
test_vip6_state_persisted(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	struct in6_addr a, b;
	struct in_addr x;
	char *text;
	size_t len;

	p = pool2("127.96.0.0/16", "fd00:96::/112", f->path);
	a = alloc6_ok(p, "ns/six", "fd00:96::abcd");
	x = alloc_ok(p, "ns/six", ip("127.96.1.2"));
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	text = slurp(f->path, &len);
	/* Version 4: per range, offsets and keys, primary first. */
	assert_non_null(strstr(text, "\"version\":4,"));
	assert_non_null(strstr(text, "\"ranges\":[{\"range\":"
	    "\"127.96.0.0/16\",\"released\":0,\"offsets\":[258],"
	    "\"keys\":[\"ns/six\"]},{\"range\":\"fd00:96::/112\","
	    "\"released\":0,\"offsets\":[43981],\"keys\":[\"ns/six\"]}]"));
	free(text);
	p = pool2("127.96.0.0/16", "fd00:96::/112", f->path);
	b = alloc6_ok(p, "ns/six", NULL);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(alloc_ok(p, "ns/six", any).s_addr, x.s_addr);
	vip_pool_free(p);
	/* The IPv6 range dropped: the IPv4 address stays. */
	log_setlevel(LOG_LEVEL_ERROR);
	p = pool("127.96.0.0/16", f->path);
	assert_int_equal(alloc_ok(p, "ns/six", any).s_addr, x.s_addr);
	vip_pool_free(p);
	log_setlevel(LOG_LEVEL_INFO);
}

/*
 * A text file (version 1 or 2) beside the JSON path loads, is saved as
 * JSON, and is removed once the JSON file is written.
 */
static void
migrate(struct fixture *f, const char *text, size_t nvips)
{
	struct vip_pool *p;
	struct in6_addr a6;
	json_error_t je;
	json_t *doc;
	char *out;
	size_t len;

	write_file(f->legacy, text, strlen(text));
	assert_int_equal(access(f->path, F_OK), -1);
	log_setlevel(LOG_LEVEL_ERROR);
	p = pool2("10.250.0.0/24", "fd00:96::/120", f->path);
	log_setlevel(LOG_LEVEL_INFO);
	assert_int_equal(vip_count(p), 0);
	assert_string_equal(str(alloc_ok(p, "ns/req", any)), "10.250.0.77");
	a6 = alloc6_ok(p, "ns/req", NULL);
	/* The text file stays until the JSON one is written. */
	assert_int_equal(access(f->legacy, F_OK), 0);
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	assert_int_equal(access(f->legacy, F_OK), -1);
	out = slurp(f->path, &len);
	doc = json_loadb(out, len, 0, &je);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")),
	    "clusterip-vips");
	assert_int_equal(json_array_size(json_object_get(doc, "ranges")), 2);
	assert_int_equal(json_array_size(json_object_get(json_array_get(
	    json_object_get(doc, "ranges"), 0), "keys")) +
	    json_array_size(json_object_get(json_array_get(
	    json_object_get(doc, "ranges"), 1), "keys")), nvips);
	json_decref(doc);
	free(out);
	/* And it loads. */
	p = pool2("10.250.0.0/24", "fd00:96::/120", f->path);
	assert_string_equal(str(alloc_ok(p, "ns/req", any)), "10.250.0.77");
	{
		struct in6_addr b6 = alloc6_ok(p, "ns/req", NULL);

		assert_memory_equal(&a6, &b6, sizeof(a6));
	}
	vip_pool_free(p);
}

static void
test_vip_state_v1_migrates(void **state)
{
	char *t = text_state(1, "range 10.250.0.0/24\n10.250.0.77 U 3 ns/req\n",
	    1);

	migrate(*state, t, 2);
	free(t);
}

static void
test_vip_state_v2_migrates(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	struct in6_addr want = ip6("fd00:96::42");
	char *t = text_state(2, "range 10.250.0.0/24\nrange fd00:96::/120\n"
	    "10.250.0.77 U 3 ns/req\n10.250.0.9 R 2 ns/gone\n"
	    "fd00:96::42 U 4 ns/six\n", 3);

	migrate(f, t, 4);
	/* Both families came over: ns/six's IPv6 address too. */
	p = pool2("10.250.0.0/24", "fd00:96::/120", f->path);
	{
		struct in6_addr got = alloc6_ok(p, "ns/six", NULL);

		assert_memory_equal(&got, &want, sizeof(want));
	}
	assert_string_equal(str(alloc_ok(p, "ns/gone", any)), "10.250.0.9");
	vip_pool_free(p);
	free(t);
}

/*
 * A JSON file of version 3 loads with its reclaim order (the released
 * address first) and is saved as version 4.
 */
static void
test_vip_state_v3_migrates(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	const char *t = J_HEAD "\"vips\": [[\"10.250.0.77\", \"ns/req\", "
	    "5, true], [\"10.250.0.9\", \"ns/gone\", 2, false], "
	    "[\"10.250.0.8\", \"ns/old\", 1, false]]}";
	char *out;
	size_t len;

	write_file(f->path, t, strlen(t));
	p = pool("10.250.0.0/24", f->path);
	assert_string_equal(str(alloc_ok(p, "ns/req", any)), "10.250.0.77");
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	out = slurp(f->path, &len);
	assert_non_null(strstr(out, "\"version\":4,\"ranges\":[{\"range\":"
	    "\"10.250.0.0/24\",\"released\":2,\"offsets\":[8,9,77],"
	    "\"keys\":[\"ns/old\",\"ns/gone\",\"ns/req\"]}]}"));
	free(out);
	p = pool("10.250.0.0/24", f->path);
	assert_string_equal(str(alloc_ok(p, "ns/gone", any)), "10.250.0.9");
	vip_pool_free(p);
}

/*
 * A text key JSON cannot hold (not UTF-8) is left behind; the others
 * migrate, and the JSON file is written.
 */
static void
test_vip_state_text_not_utf8(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	size_t len;
	char *t;

	t = text_state(2, "range 10.250.0.0/24\n10.250.0.77 U 3 ns/req\n"
	    "10.250.0.78 U 4 ns/\xff\xfe\n", 2);
	write_file(f->legacy, t, strlen(t));
	free(t);
	log_setlevel(LOG_LEVEL_ERROR);
	p = pool("10.250.0.0/24", f->path);
	log_setlevel(LOG_LEVEL_INFO);
	assert_string_equal(str(alloc_ok(p, "ns/req", any)), "10.250.0.77");
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	assert_int_equal(access(f->legacy, F_OK), -1);
	t = slurp(f->path, &len);
	assert_non_null(strstr(t, "\"offsets\":[77],\"keys\":[\"ns/req\"]"));
	free(t);
}

/*
 * A text file left beside a JSON one (a crash between the write and the
 * removal): the JSON one wins, the text one goes at the next save.
 */
static void
test_vip_state_json_wins(void **state)
{
	struct fixture *f = *state;
	struct vip_pool *p;
	char *t;

	p = pool("10.250.0.0/24", f->path);
	alloc_ok(p, "ns/req", ip("10.250.0.5"));
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	t = text_state(2, "range 10.250.0.0/24\n10.250.0.77 U 3 ns/req\n", 1);
	write_file(f->legacy, t, strlen(t));
	free(t);
	log_setlevel(LOG_LEVEL_ERROR);
	p = pool("10.250.0.0/24", f->path);
	log_setlevel(LOG_LEVEL_INFO);
	assert_string_equal(str(alloc_ok(p, "ns/req", any)), "10.250.0.5");
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	assert_int_equal(access(f->legacy, F_OK), -1);
}

/*
 * Through the state writer: vip_save hands over a snapshot, the JSON is
 * built on the writer's thread, and changes made after the save do not
 * reach that file.
 */
static int
thread_saver(void *arg, const char *path, const struct statewr_job *job,
    int mode)
{
	return statewr_submit_job(arg, path, job, mode);
}

static void
test_vip_save_on_writer(void **state)
{
	struct fixture *f = *state;
	struct event_base *base;
	struct statewr *w;
	struct vip_pool *p;
	struct in_addr a, b;
	char *text;
	size_t len;

	base = event_base_new();
	assert_non_null(base);
	w = statewr_new(base);
	assert_non_null(w);
	p = pool("10.250.0.0/24", f->path);
	vip_set_saver(p, thread_saver, w);
	a = alloc_ok(p, "ns/a", any);
	assert_int_equal(vip_save(p), 0);
	/* The pool changes at once; the snapshot holds what was saved. */
	vip_release(p, "ns/a");
	b = alloc_ok(p, "ns/b", any);
	statewr_free(w);
	vip_set_saver(p, NULL, NULL);
	text = slurp(f->path, &len);
	assert_non_null(strstr(text, "\"ns/a\""));
	assert_null(strstr(text, "\"ns/b\""));
	free(text);
	/* The next save (without the writer) has both. */
	assert_int_equal(vip_save(p), 0);
	vip_pool_free(p);
	p = pool("10.250.0.0/24", f->path);
	assert_int_equal(alloc_ok(p, "ns/b", any).s_addr, b.s_addr);
	assert_int_equal(alloc_ok(p, "ns/a", any).s_addr, a.s_addr);
	vip_pool_free(p);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vip_pool_new_invalid),
		cmocka_unit_test(test_vip_alloc_stable),
		cmocka_unit_test_setup_teardown(test_vip_alloc_restart,
		    setup, teardown),
		cmocka_unit_test(test_vip_release_recreate),
		cmocka_unit_test(test_vip_collisions_small),
		cmocka_unit_test(test_vip_never_network_broadcast),
		cmocka_unit_test(test_vip_explicit),
		cmocka_unit_test(test_vip_exhaustion_reclaim),
		cmocka_unit_test(test_vip_move_onto_released),
		cmocka_unit_test_setup_teardown(test_vip_restart_reclaim_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_truncated,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_corrupt,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_range_change,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_save_atomic,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_vip_restart_unchanged_not_saved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_digest_kept, setup,
		    teardown),
		cmocka_unit_test(test_vip_ranges_invalid),
		cmocka_unit_test(test_vip6_alloc_stable),
		cmocka_unit_test_setup_teardown(test_vip6_state_persisted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_v1_migrates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_v2_migrates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_json_wins,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_v3_migrates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_state_text_not_utf8,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_save_on_writer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_vip_many,
		    setup, teardown),
	};

	log_init("test_vip", LOG_LEVEL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
