/* SPDX-License-Identifier: MIT */
/*
 * test_curl_dl.c -- libcurl is loaded on first use, not linked: not
 * mapped before (this test links what the daemon links), a missing
 * library is refused, and once loaded its functions work and every
 * later call returns the same table.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "curl_dl.h"

/* Whether a mapping of this process names libcurl. */
static bool
curl_mapped(void)
{
	char line[4096];
	bool found = false;
	FILE *fp;

	assert_non_null(fp = fopen("/proc/self/maps", "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, "/libcurl") != NULL)
			found = true;
	fclose(fp);
	return found;
}

static void
test_curl_dl_on_demand(void **state)
{
	const struct curl_dl *fns;
	CURL *e;

	(void)state;
	assert_false(curl_mapped());
	assert_null(curl_dl_load_name("libcurl-missing.so.99"));
	assert_false(curl_mapped());

	assert_non_null(fns = curl_dl_load());
	assert_true(curl_mapped());
	assert_non_null(e = fns->easy_init());
	assert_int_equal(fns->easy_setopt(e, CURLOPT_URL, "http://x/"),
	    CURLE_OK);
	fns->easy_cleanup(e);
	assert_string_equal(fns->easy_strerror(CURLE_OK), "No error");

	/* Loaded once: the same table, whatever is asked for. */
	assert_ptr_equal(curl_dl_load_name("libcurl-missing.so.99"),
	    fns);
	assert_ptr_equal(curl_dl_load(), fns);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curl_dl_on_demand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
