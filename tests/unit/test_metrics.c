/* SPDX-License-Identifier: MIT */
/* test_metrics.c -- series rendering and the collectors run before it. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static int calls;

/* A collector that sets a gauge to how often it ran. */
static void
collect(void *arg)
{
	calls++;
	metric_set(metrics_get("clusterip_test_gauge", METRIC_GAUGE, "Test.",
	    arg, NULL, 0), calls);
}

static char *
render(void)
{
	char *text;
	size_t len;

	text = metrics_render(&len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void
test_metrics_collector_runs_before_render(void **state)
{
	char *text;

	(void)state;
	calls = 0;
	assert_int_equal(metrics_collector_add(collect, "a=\"1\""), 0);
	text = render();
	assert_int_equal(calls, 1);
	/* What the collector set is in this very rendering. */
	assert_non_null(strstr(text, "clusterip_test_gauge{a=\"1\"} 1\n"));
	free(text);
	text = render();
	assert_non_null(strstr(text, "clusterip_test_gauge{a=\"1\"} 2\n"));
	free(text);
	metrics_collector_del(collect, "a=\"1\"");
	metrics_shutdown();
}

static void
test_metrics_collector_del(void **state)
{
	char *text;

	(void)state;
	calls = 0;
	assert_int_equal(metrics_collector_add(collect, "a=\"1\""), 0);
	assert_int_equal(metrics_collector_add(collect, "b=\"2\""), 0);
	free(render());
	assert_int_equal(calls, 2);
	/* Only the (fn, arg) pair named stops. */
	metrics_collector_del(collect, "a=\"1\"");
	text = render();
	assert_int_equal(calls, 3);
	assert_non_null(strstr(text, "clusterip_test_gauge{b=\"2\"} 3\n"));
	assert_non_null(strstr(text, "clusterip_test_gauge{a=\"1\"} 1\n"));
	free(text);
	metrics_collector_del(collect, "b=\"2\"");
	metrics_collector_del(collect, "b=\"2\"");	/* absent: no-op */
	free(render());
	assert_int_equal(calls, 3);
	metrics_shutdown();
}

/* An asynchronous collector: keeps its round, or ends it at once. */
static struct metrics_round *held;
static int starts;

static void
start_held(void *arg, struct metrics_round *r)
{
	(void)arg;
	starts++;
	held = r;
}

static void
start_now(void *arg, struct metrics_round *r)
{
	(void)arg;
	starts++;
	metric_set(metrics_get("clusterip_test_async", METRIC_GAUGE, "Test.",
	    "", NULL, 0), starts);
	metrics_round_done(r);
}

static int readies[3];

static void
ready(void *arg)
{
	readies[*(int *)arg]++;
}

/*
 * A scrape waits for the asynchronous collector; one arriving meanwhile
 * joins its round instead of starting another.
 */
static void
test_metrics_collect_joins(void **state)
{
	static int a = 0, b = 1, c = 2;
	unsigned long rounds, joined;

	(void)state;
	starts = 0;
	held = NULL;
	memset(readies, 0, sizeof(readies));
	assert_int_equal(metrics_collector_add_async(start_held, NULL), 0);
	assert_int_equal(metrics_collect(ready, &a), 0);
	assert_int_equal(starts, 1);
	assert_non_null(held);
	assert_int_equal(readies[0], 0);
	assert_int_equal(metrics_collect(ready, &b), 0);
	assert_int_equal(starts, 1);
	assert_int_equal(readies[1], 0);
	metrics_collect_counts(&rounds, &joined);
	assert_int_equal(rounds, 1);
	assert_int_equal(joined, 1);
	metrics_round_done(held);
	assert_int_equal(readies[0], 1);
	assert_int_equal(readies[1], 1);
	/* A second done is ignored; the next scrape starts a new round. */
	metrics_round_done(held);
	assert_int_equal(readies[0], 1);
	assert_int_equal(metrics_collect(ready, &c), 0);
	assert_int_equal(starts, 2);
	assert_int_equal(readies[2], 0);
	metrics_round_done(held);
	assert_int_equal(readies[2], 1);
	metrics_collect_counts(&rounds, &joined);
	assert_int_equal(rounds, 2);
	assert_int_equal(joined, 1);
	metrics_collector_del_async(start_held, NULL);
	metrics_shutdown();
}

/* Collectors that finish at once: ready before metrics_collect returns. */
static void
test_metrics_collect_at_once(void **state)
{
	static int a = 0;
	char *text;

	(void)state;
	starts = 0;
	memset(readies, 0, sizeof(readies));
	assert_int_equal(metrics_collect(ready, &a), 0);
	assert_int_equal(readies[0], 1);
	assert_int_equal(metrics_collector_add_async(start_now, NULL), 0);
	assert_int_equal(metrics_collect(ready, &a), 0);
	assert_int_equal(readies[0], 2);
	assert_int_equal(starts, 1);
	text = render();
	assert_non_null(strstr(text, "clusterip_test_async 1\n"));
	free(text);
	metrics_collector_del_async(start_now, NULL);
	assert_int_equal(metrics_collect(ready, &a), 0);
	assert_int_equal(starts, 1);
	assert_int_equal(readies[0], 3);
	metrics_shutdown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_collector_runs_before_render),
		cmocka_unit_test(test_metrics_collector_del),
		cmocka_unit_test(test_metrics_collect_joins),
		cmocka_unit_test(test_metrics_collect_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
