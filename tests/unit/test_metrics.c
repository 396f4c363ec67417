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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_collector_runs_before_render),
		cmocka_unit_test(test_metrics_collector_del),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
