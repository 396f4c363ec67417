/* SPDX-License-Identifier: MIT */
/* test_health.c -- probe hysteresis, probe ports, HTTP status lines. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"
#include "util.h"

static void
test_probe_state_record_starts_not_ready(void **state)
{
	struct probe_state st = { 0, 0, false };

	(void)state;
	/* Failures while not ready change nothing. */
	assert_false(probe_state_record(&st, false, 1, 3));
	assert_false(st.ready);
	/* successThreshold 1: the first success flips it. */
	assert_true(probe_state_record(&st, true, 1, 3));
	assert_true(st.ready);
	assert_false(probe_state_record(&st, true, 1, 3));
}

static void
test_probe_state_record_success_threshold(void **state)
{
	struct probe_state st = { 0, 0, false };

	(void)state;
	assert_false(probe_state_record(&st, true, 3, 1));
	assert_false(probe_state_record(&st, true, 3, 1));
	/* A failure restarts the count. */
	assert_false(probe_state_record(&st, false, 3, 1));
	assert_false(probe_state_record(&st, true, 3, 1));
	assert_false(probe_state_record(&st, true, 3, 1));
	assert_true(probe_state_record(&st, true, 3, 1));
	assert_true(st.ready);
}

static void
test_probe_state_record_failure_threshold(void **state)
{
	struct probe_state st = { 0, 0, true };

	(void)state;
	assert_false(probe_state_record(&st, false, 1, 3));
	assert_false(probe_state_record(&st, false, 1, 3));
	/* A success in between restarts the failure count. */
	assert_false(probe_state_record(&st, true, 1, 3));
	assert_false(probe_state_record(&st, false, 1, 3));
	assert_false(probe_state_record(&st, false, 1, 3));
	assert_true(st.ready);
	assert_true(probe_state_record(&st, false, 1, 3));
	assert_false(st.ready);
	assert_false(probe_state_record(&st, false, 1, 3));
	/* Back in after one success. */
	assert_true(probe_state_record(&st, true, 1, 3));
	assert_true(st.ready);
}

static void
test_probe_state_record_zero_thresholds(void **state)
{
	struct probe_state st = { 0, 0, false };

	(void)state;
	assert_true(probe_state_record(&st, true, 0, 0));
	assert_true(probe_state_record(&st, false, 0, 0));
}

static void
test_probe_port_by_number_and_name(void **state)
{
	struct pod_port ports[2] = {
		{ "metrics", 9100, CIP_PROTO_TCP, 0 },
		{ "http", 8080, CIP_PROTO_TCP, 0 },
	};
	struct pod pod;

	(void)state;
	memset(&pod, 0, sizeof(pod));
	pod.ports = ports;
	pod.nports = 2;
	pod.probe.port = 5000;
	assert_int_equal(probe_port(&pod), 5000);
	pod.probe.port = 0;
	pod.probe.port_name = "http";
	assert_int_equal(probe_port(&pod), 8080);
	pod.probe.port_name = "grpc";
	assert_int_equal(probe_port(&pod), 0);
	pod.nports = 0;
	pod.probe.port_name = "http";
	assert_int_equal(probe_port(&pod), 0);
}

static void
test_probe_http_status_codes(void **state)
{
	(void)state;
	assert_int_equal(probe_http_status("HTTP/1.1 200 OK\r\n", 17), 200);
	assert_int_equal(probe_http_status("HTTP/1.0 302 Found\r\n", 20), 302);
	assert_int_equal(probe_http_status("HTTP/1.0 503\r\n", 14), 503);
	assert_int_equal(probe_http_status("HTTP/1.1 404 Not Found\n", 23),
	    404);
	assert_true(probe_http_ok(200));
	assert_true(probe_http_ok(399));
	assert_false(probe_http_ok(199));
	assert_false(probe_http_ok(400));
	assert_false(probe_http_ok(503));
}

static void
test_probe_http_status_truncated(void **state)
{
	const char *line = "HTTP/1.1 204 No Content\r\n";
	size_t i, len = strlen(line);

	(void)state;
	/* Every strict prefix asks for more; the whole line parses. */
	for (i = 0; i < len; i++)
		assert_int_equal(probe_http_status(line, i), 0);
	assert_int_equal(probe_http_status(line, len), 204);
}

static void
test_probe_http_status_bad(void **state)
{
	static const char *bad[] = {
		"SSH-2.0-OpenSSH\r\n",
		"HTTP/2 200\r\n",
		"HTTP/1.1 20 OK\r\n",
		"HTTP/1.1 2000 OK\r\n",
		"HTTP/1.1 abc OK\r\n",
		"HTTP/1.1  200 OK\r\n",
		"HTTP/1.x 200 OK\r\n",
		"HTTP/1.1 099 Weird\r\n",
		"\r\n",
		"http/1.1 200 OK\r\n",
	};
	char big[300];
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(bad); i++)
		assert_int_equal(probe_http_status(bad[i], strlen(bad[i])), -1);
	/* A first line that never ends. */
	memcpy(big, "HTTP/1.1 200 ", 13);
	memset(big + 13, 'x', sizeof(big) - 13);
	assert_int_equal(probe_http_status(big, sizeof(big)), -1);
	assert_int_equal(probe_http_status(big, 100), 0);
}

static void
test_probe_reason_name_all(void **state)
{
	int r;

	(void)state;
	for (r = PROBE_OK; r <= PROBE_ERROR; r++)
		assert_non_null(probe_reason_name((enum probe_reason)r));
	assert_string_equal(probe_reason_name(PROBE_OK), "ok");
	assert_string_equal(probe_reason_name(PROBE_TIMEOUT), "timeout");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_state_record_starts_not_ready),
		cmocka_unit_test(test_probe_state_record_success_threshold),
		cmocka_unit_test(test_probe_state_record_failure_threshold),
		cmocka_unit_test(test_probe_state_record_zero_thresholds),
		cmocka_unit_test(test_probe_port_by_number_and_name),
		cmocka_unit_test(test_probe_http_status_codes),
		cmocka_unit_test(test_probe_http_status_truncated),
		cmocka_unit_test(test_probe_http_status_bad),
		cmocka_unit_test(test_probe_reason_name_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
