/* SPDX-License-Identifier: MIT */
/*
 * test_balancer.c -- endpoint choice over a port's ready endpoints:
 * spread, order, load, skips of failing and tried ones, affinity.
 */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "balancer.h"

static uint32_t
test_rand(uint64_t *s)
{
	/* xorshift64*: deterministic, well spread. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

/* n endpoints with uids 1..n (uid i + 1 at index i). */
static void
mk_eps(struct svc_endpoint *eps, size_t n)
{
	size_t i;

	memset(eps, 0, n * sizeof(*eps));
	for (i = 0; i < n; i++) {
		eps[i].uid = i + 1;
		eps[i].ip.s_addr = (uint32_t)(0x0100007f + (i << 24));
		eps[i].port = 5000;
	}
}

static int
pick6(struct balancer *b, enum lb_algo algo, const struct svc_endpoint *eps,
    size_t n, const struct balancer_load *load, const struct in6_addr *client,
    uint64_t affinity_ms, uint64_t now_ms, uint32_t rnd)
{
	struct balancer_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.algo = algo;
	rq.client = *client;
	rq.affinity_ms = affinity_ms;
	rq.now_ms = now_ms;
	rq.rnd = rnd;
	return balancer_pick(b, &rq, eps, n, load);
}

/* An IPv4 client (network order). */
static int
pick(struct balancer *b, enum lb_algo algo, const struct svc_endpoint *eps,
    size_t n, const struct balancer_load *load, uint32_t client,
    uint64_t affinity_ms, uint64_t now_ms, uint32_t rnd)
{
	struct in6_addr key;

	balancer_client4(client, &key);
	return pick6(b, algo, eps, n, load, &key, affinity_ms, now_ms, rnd);
}

static uint64_t
pinned(const struct balancer *b, uint32_t client, uint64_t affinity_ms,
    uint64_t now_ms)
{
	struct in6_addr key;

	balancer_client4(client, &key);
	return balancer_pinned_uid(b, &key, affinity_ms, now_ms);
}

static void
test_pick_empty(void **state)
{
	struct balancer *b = balancer_new();
	struct svc_endpoint e[2];
	struct balancer_load l[2] = { { 0, BALANCER_TRIED },
		{ 0, BALANCER_TRIED | BALANCER_FAILING } };

	(void)state;
	mk_eps(e, 2);
	assert_int_equal(pick(b, LB_RANDOM, NULL, 0, NULL, 1, 0, 0, 7), -1);
	assert_int_equal(pick(b, LB_ROUND_ROBIN, NULL, 0, NULL, 1, 1000, 0, 0),
	    -1);
	assert_int_equal(pick(b, LB_LEAST_CONN, NULL, 0, NULL, 1, 0, 0, 0), -1);
	/* Every endpoint tried already: none. */
	assert_int_equal(pick(b, LB_RANDOM, e, 2, l, 1, 1000, 0, 0), -1);
	assert_int_equal(pick(b, LB_LEAST_CONN, e, 2, l, 1, 0, 0, 0), -1);
	assert_int_equal(balancer_pinned(b), 0);
	balancer_free(b);
	balancer_free(NULL);
}

static void
test_pick_random_spread(void **state)
{
	struct svc_endpoint e[3];
	struct balancer *b = balancer_new();
	unsigned hits[3] = { 0, 0, 0 };
	uint64_t s = 88172645463325252ULL;
	int i, k;

	(void)state;
	mk_eps(e, 3);
	for (i = 0; i < 30000; i++) {
		k = pick(b, LB_RANDOM, e, 3, NULL, 1, 0, 0, test_rand(&s));
		assert_in_range(k, 0, 2);
		hits[k]++;
	}
	for (k = 0; k < 3; k++)
		assert_in_range(hits[k], 9000, 11000);
	/* The extremes of rnd map to the first and the last endpoint. */
	assert_int_equal(pick(b, LB_RANDOM, e, 3, NULL, 1, 0, 0, 0), 0);
	assert_int_equal(pick(b, LB_RANDOM, e, 3, NULL, 1, 0, 0, UINT32_MAX),
	    2);
	balancer_free(b);
}

static void
test_pick_random_skips(void **state)
{
	struct svc_endpoint e[4];
	struct balancer_load l[4] = { { 0, BALANCER_FAILING }, { 0, 0 },
		{ 0, BALANCER_TRIED }, { 0, 0 } };
	struct balancer *b = balancer_new();
	unsigned hits[4] = { 0, 0, 0, 0 };
	uint64_t s = 2463534242ULL;
	int i;

	(void)state;
	mk_eps(e, 4);
	/* Spread over the two that are neither failing nor tried. */
	for (i = 0; i < 10000; i++)
		hits[pick(b, LB_RANDOM, e, 4, l, 1, 0, 0, test_rand(&s))]++;
	assert_int_equal(hits[0], 0);
	assert_int_equal(hits[2], 0);
	assert_in_range(hits[1], 4500, 5500);
	assert_in_range(hits[3], 4500, 5500);
	assert_int_equal(pick(b, LB_RANDOM, e, 4, l, 1, 0, 0, 0), 1);
	assert_int_equal(pick(b, LB_RANDOM, e, 4, l, 1, 0, 0, UINT32_MAX), 3);
	/* All but a tried one failing: the failing ones serve. */
	l[1].flags = l[3].flags = BALANCER_FAILING;
	assert_int_equal(pick(b, LB_RANDOM, e, 4, l, 1, 0, 0, 0), 0);
	assert_int_equal(pick(b, LB_RANDOM, e, 4, l, 1, 0, 0, UINT32_MAX), 3);
	balancer_free(b);
}

static void
test_pick_round_robin_order(void **state)
{
	struct svc_endpoint e[3];
	struct balancer *b = balancer_new();
	int i;

	(void)state;
	mk_eps(e, 3);
	for (i = 0; i < 9; i++)
		assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 3, NULL, 1, 0, 0,
		    0), i % 3);
	/* One endpoint leaves: the rotation continues over the rest. */
	assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 2, NULL, 1, 0, 0, 0),
	    9 % 2);
	assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 2, NULL, 1, 0, 0, 0),
	    10 % 2);
	balancer_free(b);
}

static void
test_pick_round_robin_skips(void **state)
{
	struct svc_endpoint e[4];
	struct balancer_load l[4] = { { 0, 0 }, { 0, BALANCER_FAILING },
		{ 0, 0 }, { 0, BALANCER_TRIED } };
	struct balancer *b = balancer_new();
	int i;

	(void)state;
	mk_eps(e, 4);
	/* The rotation goes over 0 and 2 only. */
	for (i = 0; i < 6; i++)
		assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 4, l, 1, 0, 0, 0),
		    i % 2 == 0 ? 0 : 2);
	/* A load array with no flags set changes nothing. */
	memset(l, 0, sizeof(l));
	for (i = 6; i < 12; i++)
		assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 4, l, 1, 0, 0, 0),
		    i % 4);
	balancer_free(b);
}

static void
test_pick_least_conn(void **state)
{
	struct svc_endpoint e[3];
	struct balancer_load l[3] = { { 5, 0 }, { 2, 0 }, { 9, 0 } };
	struct balancer *b = balancer_new();
	unsigned hits[3] = { 0, 0, 0 };
	int i, k;

	(void)state;
	mk_eps(e, 3);
	for (i = 0; i < 5; i++)
		assert_int_equal(pick(b, LB_LEAST_CONN, e, 3, l, 1, 0, 0, 0),
		    1);
	/* Simulate the counts the proxy keeps: picks fill the least loaded. */
	for (i = 0; i < 30; i++) {
		k = pick(b, LB_LEAST_CONN, e, 3, l, 1, 0, 0, 0);
		l[k].active++;
	}
	/* 16 + 30 = 46 connections over 3: all at 15 or 16. */
	for (k = 0; k < 3; k++)
		assert_in_range(l[k].active, 15, 16);
	/* Equal loads spread over every endpoint. */
	l[0].active = l[1].active = l[2].active = 0;
	for (i = 0; i < 30; i++)
		hits[pick(b, LB_LEAST_CONN, e, 3, l, 1, 0, 0, 0)]++;
	for (k = 0; k < 3; k++)
		assert_int_equal(hits[k], 10);
	/* Without loads they count as equal: the rotation spreads. */
	memset(hits, 0, sizeof(hits));
	for (i = 0; i < 30; i++)
		hits[pick(b, LB_LEAST_CONN, e, 3, NULL, 1, 0, 0, 0)]++;
	for (k = 0; k < 3; k++)
		assert_int_equal(hits[k], 10);
	balancer_free(b);
}

static void
test_pick_least_conn_skips(void **state)
{
	struct svc_endpoint e[4];
	struct balancer_load l[4] = { { 0, BALANCER_FAILING },
		{ 0, BALANCER_TRIED }, { 7, 0 }, { 3, 0 } };
	struct balancer *b = balancer_new();
	int i;

	(void)state;
	mk_eps(e, 4);
	/* The idle ones are failing or tried: the least loaded of the rest. */
	for (i = 0; i < 4; i++)
		assert_int_equal(pick(b, LB_LEAST_CONN, e, 4, l, 1, 0, 0, 0),
		    3);
	/* Only failing ones left (and a tried one): the idle failing one. */
	l[2].flags = l[3].flags = BALANCER_FAILING;
	for (i = 0; i < 4; i++)
		assert_int_equal(pick(b, LB_LEAST_CONN, e, 4, l, 1, 0, 0, 0),
		    0);
	balancer_free(b);
}

static void
test_pick_affinity_sticks(void **state)
{
	struct svc_endpoint e[2], r[2];
	struct balancer *b = balancer_new();
	uint64_t s = 2463534242ULL;
	uint32_t cl1 = 0x0100007f, cl2 = 0x0200007f;
	int first1, first2, i;

	(void)state;
	mk_eps(e, 2);
	first1 = pick(b, LB_RANDOM, e, 2, NULL, cl1, 10000, 0, 0);
	first2 = pick(b, LB_RANDOM, e, 2, NULL, cl2, 10000, 0, UINT32_MAX);
	assert_int_equal(first1, 0);
	assert_int_equal(first2, 1);
	assert_int_equal(balancer_pinned(b), 2);
	for (i = 1; i < 100; i++) {
		assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl1, 10000,
		    (uint64_t)i * 50, test_rand(&s)), first1);
		assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 2, NULL, cl2,
		    10000, (uint64_t)i * 50, test_rand(&s)), first2);
	}
	/* The pin follows the endpoint's uid, not its position. */
	r[0] = e[1];
	r[1] = e[0];
	assert_int_equal(pick(b, LB_RANDOM, r, 2, NULL, cl1, 10000, 5000, 0),
	    1);
	balancer_free(b);
}

static void
test_pick_affinity_timeout(void **state)
{
	struct svc_endpoint e[2];
	struct balancer *b = balancer_new();
	uint32_t cl = 0x0a00007f;

	(void)state;
	mk_eps(e, 2);
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 1000, 100, 0), 0);
	/* Refreshed at 1000: still pinned at 1999. */
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 1000, 1000,
	    UINT32_MAX), 0);
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 1000, 1999,
	    UINT32_MAX), 0);
	/* Idle for the whole timeout: chosen afresh, and pinned there. */
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 1000, 2999,
	    UINT32_MAX), 1);
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 1000, 3000, 0), 1);
	/* Expiry removes idle pins only. */
	assert_int_equal(balancer_expire(b, 1000, 3999), 0);
	assert_int_equal(balancer_pinned(b), 1);
	assert_int_equal(balancer_expire(b, 1000, 4000), 1);
	assert_int_equal(balancer_pinned(b), 0);
	balancer_free(b);
}

static void
test_pick_affinity_endpoint_gone(void **state)
{
	struct svc_endpoint e[2];
	struct balancer *b = balancer_new();
	uint32_t cl = 0x0b00007f;

	(void)state;
	mk_eps(e, 2);
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 60000, 0, 0), 0);
	/* The first is no longer ready: repinned on the second. */
	assert_int_equal(pick(b, LB_RANDOM, &e[1], 1, NULL, cl, 60000, 10, 0),
	    0);
	assert_int_equal(pinned(b, cl, 60000, 10), 2);
	/* The first is back, but the client stays where it was moved. */
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 60000, 20, 0), 1);
	balancer_free(b);
}

/*
 * A pin to an endpoint failing passive health moves while others are
 * healthy, stays when all fail; one this connection tried moves.
 */
static void
test_pick_affinity_failing(void **state)
{
	struct svc_endpoint e[3];
	struct balancer_load l[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
	struct balancer *b = balancer_new();
	uint32_t cl = 0x0d00007f;

	(void)state;
	mk_eps(e, 3);
	assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 3, l, cl, 60000, 0, 0), 0);
	assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 3, l, cl, 60000, 1, 0), 0);
	/* It fails: moved, and pinned to the new one. */
	l[0].flags = BALANCER_FAILING;
	assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 3, l, cl, 60000, 2, 0), 2);
	assert_int_equal(pinned(b, cl, 60000, 2), 3);
	/* Everything fails: the pin holds. */
	l[1].flags = l[2].flags = BALANCER_FAILING;
	assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 3, l, cl, 60000, 3, 0), 2);
	/*
	 * This connection tried it: elsewhere (the rotation's next of the
	 * two failing ones left), pinned there.
	 */
	l[2].flags |= BALANCER_TRIED;
	assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 3, l, cl, 60000, 4, 0), 0);
	assert_int_equal(pinned(b, cl, 60000, 4), 1);
	balancer_free(b);
}

static void
test_pick_affinity_many_clients(void **state)
{
	struct svc_endpoint e[4];
	struct balancer *b = balancer_new();
	static int first[5000];
	uint32_t i;

	(void)state;
	mk_eps(e, 4);
	for (i = 0; i < 5000; i++)
		first[i] = pick(b, LB_ROUND_ROBIN, e, 4, NULL, i, 60000, 0, 0);
	assert_int_equal(balancer_pinned(b), 5000);
	for (i = 0; i < 5000; i++)
		assert_int_equal(pick(b, LB_ROUND_ROBIN, e, 4, NULL, i, 60000,
		    1, 0), first[i]);
	assert_int_equal(balancer_expire(b, 60000, 60000), 0);
	assert_int_equal(balancer_expire(b, 60000, 60001), 5000);
	assert_int_equal(balancer_pinned(b), 0);
	balancer_free(b);
}

static void
test_pinned_uid(void **state)
{
	struct svc_endpoint e[2];
	struct balancer *b = balancer_new();
	uint32_t cl = 0x0c00007f;

	(void)state;
	mk_eps(e, 2);
	assert_int_equal(pinned(b, cl, 1000, 0), 0);
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl, 1000, 100,
	    UINT32_MAX), 1);
	assert_int_equal(pinned(b, cl, 1000, 1099), 2);
	/* Other clients, no affinity, or a pin too old: none. */
	assert_int_equal(pinned(b, cl + 1, 1000, 1099), 0);
	assert_int_equal(pinned(b, cl, 0, 1099), 0);
	assert_int_equal(pinned(b, cl, 1000, 1100), 0);
	/* Asking does not refresh the pin. */
	assert_int_equal(pinned(b, cl, 1000, 1100), 0);
	/* A pick without affinity neither reads nor sets pins. */
	assert_int_equal(pick(b, LB_RANDOM, e, 2, NULL, cl + 1, 0, 100, 0), 0);
	assert_int_equal(balancer_pinned(b), 1);
	balancer_free(b);
}

/*
 * A pinned endpoint ready on another port of the service only keeps its
 * pin; one ready on this port, or on none, does not.
 */
static void
test_pin_elsewhere(void **state)
{
	struct svc_ready *r80, *r81;
	struct svc_port ports[2];
	struct service svc;

	(void)state;
	memset(&svc, 0, sizeof(svc));
	memset(ports, 0, sizeof(ports));
	r80 = calloc(1, sizeof(*r80) + 2 * sizeof(r80->v[0]));
	r81 = calloc(1, sizeof(*r81) + 2 * sizeof(r81->v[0]));
	assert_non_null(r80);
	assert_non_null(r81);
	mk_eps(r80->v, 2);
	mk_eps(r81->v, 2);
	r80->n = r80->cap = 1;		/* uid 1 only */
	r81->n = r81->cap = 2;		/* uids 1 and 2 */
	ports[0].port = 80;
	ports[0].ready = r80;
	ports[1].port = 81;
	ports[1].ready = r81;
	svc.ports = ports;
	svc.nports = 2;
	assert_false(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V4, 0));
	assert_false(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V4, 1));
	assert_true(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V4, 2));
	assert_false(balancer_pin_elsewhere(&svc, &ports[1], IP_FAMILY_V4, 2));
	assert_false(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V4, 3));
	/* A port with nothing ready. */
	ports[0].ready = NULL;
	assert_true(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V4, 1));
	free(r80);
	free(r81);
}

/*
 * IPv6 clients pin by their whole address: clients that differ only in
 * the upper half, or only in the lower, get pins of their own, and an
 * IPv4 client never shares a pin with an IPv6 one.
 */
static void
test_pick_affinity_ipv6_clients(void **state)
{
	struct svc_endpoint e[4];
	struct balancer *b = balancer_new();
	struct in6_addr c1, c2, c3, c4;
	int k1, k2, k3;

	(void)state;
	mk_eps(e, 4);
	assert_int_equal(inet_pton(AF_INET6, "fd00:1::7", &c1), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:2::7", &c2), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:1::8", &c3), 1);
	balancer_client4(inet_addr("127.0.0.7"), &c4);
	/* Round-robin gives each new client the next endpoint. */
	k1 = pick6(b, LB_ROUND_ROBIN, e, 4, NULL, &c1, 60000, 0, 0);
	k2 = pick6(b, LB_ROUND_ROBIN, e, 4, NULL, &c2, 60000, 0, 0);
	k3 = pick6(b, LB_ROUND_ROBIN, e, 4, NULL, &c3, 60000, 0, 0);
	assert_int_equal(k1, 0);
	assert_int_equal(k2, 1);
	assert_int_equal(k3, 2);
	assert_int_equal(pick6(b, LB_ROUND_ROBIN, e, 4, NULL, &c4, 60000, 0,
	    0), 3);
	assert_int_equal(balancer_pinned(b), 4);
	/* Each sticks to its own. */
	assert_int_equal(pick6(b, LB_ROUND_ROBIN, e, 4, NULL, &c2, 60000, 1,
	    0), 1);
	assert_int_equal(pick6(b, LB_ROUND_ROBIN, e, 4, NULL, &c3, 60000, 1,
	    0), 2);
	assert_int_equal(pick6(b, LB_ROUND_ROBIN, e, 4, NULL, &c1, 60000, 1,
	    0), 0);
	assert_int_equal(balancer_pinned_uid(b, &c2, 60000, 1), 2);
	assert_int_equal(pinned(b, inet_addr("127.0.0.7"), 60000, 1), 4);
	balancer_free(b);
}

/*
 * A pin's "elsewhere" is judged in the ready arrays of the connection's
 * family: an endpoint with an IPv4 address only is on the IPv4 array of
 * every port and on no IPv6 one.
 */
static void
test_pin_elsewhere_family(void **state)
{
	struct svc_ready *r4, *r6a, *r6b;
	struct svc_port ports[2];
	struct service svc;

	(void)state;
	memset(&svc, 0, sizeof(svc));
	memset(ports, 0, sizeof(ports));
	r4 = calloc(1, sizeof(*r4) + 2 * sizeof(r4->v[0]));
	r6a = calloc(1, sizeof(*r6a) + 2 * sizeof(r6a->v[0]));
	r6b = calloc(1, sizeof(*r6b) + 2 * sizeof(r6b->v[0]));
	assert_non_null(r4);
	assert_non_null(r6a);
	assert_non_null(r6b);
	mk_eps(r4->v, 2);
	mk_eps(r6a->v, 2);
	mk_eps(r6b->v, 2);
	r4->n = r4->cap = 2;		/* uids 1, 2 over IPv4 */
	r6a->n = r6a->cap = 1;		/* uid 1 over IPv6 on port 80 */
	r6b->v[0].uid = 3;		/* uid 3 over IPv6 on port 81 */
	r6b->n = r6b->cap = 1;
	ports[0].port = 80;
	ports[0].ready = r4;
	ports[0].ready6 = r6a;
	ports[1].port = 81;
	ports[1].ready = r4;
	ports[1].ready6 = r6b;
	svc.ports = ports;
	svc.nports = 2;
	/* Over IPv4 uid 3 is nowhere, uid 1 on both. */
	assert_false(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V4, 3));
	assert_false(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V4, 1));
	/* Over IPv6 uid 3 serves port 81 only, uid 1 port 80 only. */
	assert_true(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V6, 3));
	assert_false(balancer_pin_elsewhere(&svc, &ports[1], IP_FAMILY_V6, 3));
	assert_true(balancer_pin_elsewhere(&svc, &ports[1], IP_FAMILY_V6, 1));
	/* uid 2 has no IPv6 address. */
	assert_false(balancer_pin_elsewhere(&svc, &ports[0], IP_FAMILY_V6, 2));
	free(r4);
	free(r6a);
	free(r6b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_empty),
		cmocka_unit_test(test_pick_random_spread),
		cmocka_unit_test(test_pick_random_skips),
		cmocka_unit_test(test_pick_round_robin_order),
		cmocka_unit_test(test_pick_round_robin_skips),
		cmocka_unit_test(test_pick_least_conn),
		cmocka_unit_test(test_pick_least_conn_skips),
		cmocka_unit_test(test_pick_affinity_sticks),
		cmocka_unit_test(test_pick_affinity_timeout),
		cmocka_unit_test(test_pick_affinity_endpoint_gone),
		cmocka_unit_test(test_pick_affinity_failing),
		cmocka_unit_test(test_pick_affinity_many_clients),
		cmocka_unit_test(test_pinned_uid),
		cmocka_unit_test(test_pin_elsewhere),
		cmocka_unit_test(test_pick_affinity_ipv6_clients),
		cmocka_unit_test(test_pin_elsewhere_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
