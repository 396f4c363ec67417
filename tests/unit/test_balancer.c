/* SPDX-License-Identifier: MIT */
/* test_balancer.c -- endpoint choice: spread, order, load, affinity. */
#include "config.h"

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

static void
test_pick_empty(void **state)
{
	struct balancer *b = balancer_new();

	(void)state;
	assert_non_null(b);
	assert_int_equal(balancer_pick(b, LB_RANDOM, NULL, 0, 1, 0, 0, 7), -1);
	assert_int_equal(balancer_pick(b, LB_ROUND_ROBIN, NULL, 0, 1, 1000, 0,
	    7), -1);
	assert_int_equal(balancer_pinned(b), 0);
	balancer_free(b);
	balancer_free(NULL);
}

static void
test_pick_random_spread(void **state)
{
	struct balancer_cand c[3] = { { "d/a", 0 }, { "d/b", 0 }, { "d/c", 0 } };
	struct balancer *b = balancer_new();
	unsigned hits[3] = { 0, 0, 0 };
	uint64_t s = 88172645463325252ULL;
	int i, k;

	(void)state;
	for (i = 0; i < 30000; i++) {
		k = balancer_pick(b, LB_RANDOM, c, 3, 1, 0, 0, test_rand(&s));
		assert_in_range(k, 0, 2);
		hits[k]++;
	}
	for (k = 0; k < 3; k++)
		assert_in_range(hits[k], 9000, 11000);
	/* The extremes of rnd map to the first and the last candidate. */
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 3, 1, 0, 0, 0), 0);
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 3, 1, 0, 0,
	    UINT32_MAX), 2);
	balancer_free(b);
}

static void
test_pick_round_robin_order(void **state)
{
	struct balancer_cand c[3] = { { "d/a", 0 }, { "d/b", 0 }, { "d/c", 0 } };
	struct balancer *b = balancer_new();
	int i;

	(void)state;
	for (i = 0; i < 9; i++)
		assert_int_equal(balancer_pick(b, LB_ROUND_ROBIN, c, 3, 1, 0,
		    0, 0), i % 3);
	/* One endpoint leaves: the rotation continues over the rest. */
	assert_int_equal(balancer_pick(b, LB_ROUND_ROBIN, c, 2, 1, 0, 0, 0),
	    9 % 2);
	assert_int_equal(balancer_pick(b, LB_ROUND_ROBIN, c, 2, 1, 0, 0, 0),
	    10 % 2);
	balancer_free(b);
}

static void
test_pick_least_conn(void **state)
{
	struct balancer_cand c[3] = { { "d/a", 5 }, { "d/b", 2 }, { "d/c", 9 } };
	struct balancer *b = balancer_new();
	unsigned hits[3] = { 0, 0, 0 };
	int i, k;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(balancer_pick(b, LB_LEAST_CONN, c, 3, 1, 0, 0,
		    0), 1);
	/* Simulate the counts the proxy keeps: picks fill the least loaded. */
	for (i = 0; i < 30; i++) {
		k = balancer_pick(b, LB_LEAST_CONN, c, 3, 1, 0, 0, 0);
		c[k].active++;
	}
	/* 16 + 30 = 46 connections over 3: all at 15 or 16. */
	for (k = 0; k < 3; k++)
		assert_in_range(c[k].active, 15, 16);
	/* Equal loads spread over every candidate. */
	c[0].active = c[1].active = c[2].active = 0;
	for (i = 0; i < 30; i++)
		hits[balancer_pick(b, LB_LEAST_CONN, c, 3, 1, 0, 0, 0)]++;
	for (k = 0; k < 3; k++)
		assert_int_equal(hits[k], 10);
	balancer_free(b);
}

static void
test_pick_affinity_sticks(void **state)
{
	struct balancer_cand c[2] = { { "d/a", 0 }, { "d/b", 0 } };
	struct balancer *b = balancer_new();
	uint64_t s = 2463534242ULL;
	uint32_t cl1 = 0x0100007f, cl2 = 0x0200007f;
	int first1, first2, i;

	(void)state;
	first1 = balancer_pick(b, LB_RANDOM, c, 2, cl1, 10000, 0, 0);
	first2 = balancer_pick(b, LB_RANDOM, c, 2, cl2, 10000, 0, UINT32_MAX);
	assert_int_equal(first1, 0);
	assert_int_equal(first2, 1);
	assert_int_equal(balancer_pinned(b), 2);
	for (i = 1; i < 100; i++) {
		assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl1, 10000,
		    (uint64_t)i * 50, test_rand(&s)), first1);
		assert_int_equal(balancer_pick(b, LB_ROUND_ROBIN, c, 2, cl2,
		    10000, (uint64_t)i * 50, test_rand(&s)), first2);
	}
	/* The pin follows the key, not the position. */
	{
		struct balancer_cand r[2] = { { "d/b", 0 }, { "d/a", 0 } };

		assert_int_equal(balancer_pick(b, LB_RANDOM, r, 2, cl1, 10000,
		    5000, 0), 1);
	}
	balancer_free(b);
}

static void
test_pick_affinity_timeout(void **state)
{
	struct balancer_cand c[2] = { { "d/a", 0 }, { "d/b", 0 } };
	struct balancer *b = balancer_new();
	uint32_t cl = 0x0a00007f;

	(void)state;
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 1000, 100, 0),
	    0);
	/* Refreshed at 1000: still pinned at 1999. */
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 1000, 1000,
	    UINT32_MAX), 0);
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 1000, 1999,
	    UINT32_MAX), 0);
	/* Idle for the whole timeout: chosen afresh, and pinned there. */
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 1000, 2999,
	    UINT32_MAX), 1);
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 1000, 3000, 0),
	    1);
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
	struct balancer_cand c[2] = { { "d/a", 0 }, { "d/b", 0 } };
	struct balancer *b = balancer_new();
	uint32_t cl = 0x0b00007f;

	(void)state;
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 60000, 0, 0), 0);
	/* d/a is no longer ready: repinned on d/b. */
	assert_int_equal(balancer_pick(b, LB_RANDOM, &c[1], 1, cl, 60000, 10,
	    0), 0);
	/* d/a is back, but the client stays where it was moved. */
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 60000, 20, 0),
	    1);
	balancer_free(b);
}

static void
test_pinned_key(void **state)
{
	struct balancer_cand c[2] = { { "d/a", 0 }, { "d/b", 0 } };
	struct balancer *b = balancer_new();
	uint32_t cl = 0x0c00007f;

	(void)state;
	assert_null(balancer_pinned_key(b, cl, 1000, 0));
	assert_int_equal(balancer_pick(b, LB_RANDOM, c, 2, cl, 1000, 100,
	    UINT32_MAX), 1);
	assert_string_equal(balancer_pinned_key(b, cl, 1000, 1099), "d/b");
	/* Other clients, no affinity, or a pin too old: none. */
	assert_null(balancer_pinned_key(b, cl + 1, 1000, 1099));
	assert_null(balancer_pinned_key(b, cl, 0, 1099));
	assert_null(balancer_pinned_key(b, cl, 1000, 1100));
	/* Asking does not refresh the pin. */
	assert_null(balancer_pinned_key(b, cl, 1000, 1100));
	balancer_free(b);
}

static void
test_pick_affinity_many_clients(void **state)
{
	struct balancer_cand c[4] = { { "d/a", 0 }, { "d/b", 0 },
		{ "d/c", 0 }, { "d/d", 0 } };
	struct balancer *b = balancer_new();
	static int first[5000];
	uint32_t i;

	(void)state;
	for (i = 0; i < 5000; i++)
		first[i] = balancer_pick(b, LB_ROUND_ROBIN, c, 4, i, 60000, 0,
		    0);
	assert_int_equal(balancer_pinned(b), 5000);
	for (i = 0; i < 5000; i++)
		assert_int_equal(balancer_pick(b, LB_ROUND_ROBIN, c, 4, i,
		    60000, 1, 0), first[i]);
	assert_int_equal(balancer_expire(b, 60000, 60000), 0);
	assert_int_equal(balancer_expire(b, 60000, 60001), 5000);
	assert_int_equal(balancer_pinned(b), 0);
	balancer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_empty),
		cmocka_unit_test(test_pick_random_spread),
		cmocka_unit_test(test_pick_round_robin_order),
		cmocka_unit_test(test_pick_least_conn),
		cmocka_unit_test(test_pick_affinity_sticks),
		cmocka_unit_test(test_pick_affinity_timeout),
		cmocka_unit_test(test_pick_affinity_endpoint_gone),
		cmocka_unit_test(test_pick_affinity_many_clients),
		cmocka_unit_test(test_pinned_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
