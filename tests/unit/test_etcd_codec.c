/* SPDX-License-Identifier: MIT */
/*
 * test_etcd_codec.c -- what the etcd client encodes without a network:
 * base64 both ways (every length, binary bytes, bad input, truncations),
 * the end key of a prefix range, numbers sent as strings.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "etcd.h"
#include "etcd_int.h"

static void
test_etcd_b64_round_trip(void **state)
{
	char data[300], *enc, *dec;
	size_t i, len, outlen;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 3);
	for (len = 0; len <= sizeof(data); len++) {
		assert_non_null(enc = etcd_b64_encode(data, len));
		assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
		assert_non_null(dec = etcd_b64_decode(enc, &outlen));
		assert_int_equal(outlen, len);
		assert_memory_equal(dec, data, len);
		assert_int_equal(dec[len], '\0');
		free(enc);
		free(dec);
	}
}

static void
test_etcd_b64_known(void **state)
{
	char *s;
	size_t n;

	/* What etcd's gateway sends for "/clusterip/x" and "hello". */
	assert_non_null(s = etcd_b64_encode("/clusterip/x", 12));
	assert_string_equal(s, "L2NsdXN0ZXJpcC94");
	free(s);
	assert_non_null(s = etcd_b64_decode("aGVsbG8=", &n));
	assert_int_equal(n, 5);
	assert_string_equal(s, "hello");
	free(s);
	assert_non_null(s = etcd_b64_decode("", &n));
	assert_int_equal(n, 0);
	free(s);
}

/* Every truncation of a valid text, and bad characters, are refused. */
static void
test_etcd_b64_bad(void **state)
{
	const char *good = "L2NsdXN0ZXJpcC94aGVsbG8=";
	char buf[64], *s;
	size_t len, n;

	for (len = 1; len < strlen(good); len++) {
		if (len % 4 == 0)
			continue;	/* a shorter valid text */
		memcpy(buf, good, len);
		buf[len] = '\0';
		assert_null(etcd_b64_decode(buf, &n));
	}
	assert_null(etcd_b64_decode("ab$d", &n));
	assert_null(etcd_b64_decode("a b=", &n));
	assert_non_null(s = etcd_b64_decode(good, &n));
	free(s);
}

static void
test_etcd_prefix_end(void **state)
{
	char *e;
	size_t n;

	assert_non_null(e = etcd_prefix_end("/clusterip/", 11, &n));
	assert_int_equal(n, 11);
	assert_memory_equal(e, "/clusterip0", 11);
	free(e);
	assert_non_null(e = etcd_prefix_end("a\xff\xff", 3, &n));
	assert_int_equal(n, 1);
	assert_memory_equal(e, "b", 1);
	free(e);
	assert_non_null(e = etcd_prefix_end("\xff", 1, &n));
	assert_int_equal(n, 1);
	assert_int_equal(e[0], '\0');
	free(e);
}

static void
test_etcd_json_i64(void **state)
{
	json_t *j;

	j = json_string("4389499259024212743");
	assert_true(etcd_json_i64(j) == INT64_C(4389499259024212743));
	json_decref(j);
	j = json_integer(42);
	assert_int_equal(etcd_json_i64(j), 42);
	json_decref(j);
	j = json_string("12x");
	assert_int_equal(etcd_json_i64(j), 0);
	json_decref(j);
	assert_int_equal(etcd_json_i64(NULL), 0);
	j = etcd_json_num(INT64_C(-7));
	assert_string_equal(json_string_value(j), "-7");
	json_decref(j);
}

static void
test_etcd_kv_parse(void **state)
{
	struct etcd_kv *kvs;
	size_t n;
	json_t *a;

	a = json_loads("[{\"key\":\"eA==\",\"create_revision\":\"2\","
	    "\"mod_revision\":\"5\",\"version\":\"3\",\"value\":\"eQ==\","
	    "\"lease\":\"77\"},{\"key\":\"eg==\"}]", 0, NULL);
	assert_non_null(a);
	assert_int_equal(etcd_kvs_parse(a, &kvs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(kvs[0].key, "x");
	assert_string_equal(kvs[0].value, "y");
	assert_int_equal(kvs[0].create_revision, 2);
	assert_int_equal(kvs[0].mod_revision, 5);
	assert_int_equal(kvs[0].version, 3);
	assert_int_equal(kvs[0].lease, 77);
	assert_string_equal(kvs[1].key, "z");
	assert_int_equal(kvs[1].valuelen, 0);
	etcd_kvs_free(kvs, n);
	json_decref(a);
	/* A key that is not base64 refuses the whole array. */
	a = json_loads("[{\"key\":\"eA==\"},{\"key\":\"e\"}]", 0, NULL);
	assert_int_equal(etcd_kvs_parse(a, &kvs, &n), -1);
	assert_null(kvs);
	json_decref(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etcd_b64_round_trip),
		cmocka_unit_test(test_etcd_b64_known),
		cmocka_unit_test(test_etcd_b64_bad),
		cmocka_unit_test(test_etcd_prefix_end),
		cmocka_unit_test(test_etcd_json_i64),
		cmocka_unit_test(test_etcd_kv_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
