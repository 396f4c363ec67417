/* SPDX-License-Identifier: MIT */
/*
 * fuzz_etcd.c -- what the etcd client decodes from the network: base64
 * keys and values, and the key-values of a range or watch answer. The
 * first byte picks the parser; the rest is its input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etcd.h"
#include "etcd_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Decoded bytes encode and decode back to themselves. */
static void
fuzz_b64(const char *data, size_t len)
{
	char *text, *dec, *enc, *again;
	size_t n, m;

	if ((text = malloc(len + 1)) == NULL)
		return;
	memcpy(text, data, len);
	text[len] = '\0';
	if ((dec = etcd_b64_decode(text, &n)) != NULL) {
		if (dec[n] != '\0' || (enc = etcd_b64_encode(dec, n)) == NULL)
			abort();
		if ((again = etcd_b64_decode(enc, &m)) == NULL || m != n ||
		    memcmp(again, dec, n) != 0)
			abort();
		free(again);
		free(enc);
		free(dec);
	}
	free(text);
}

/* A range's or a watch event's key-values: any JSON, no crash. */
static void
fuzz_kvs(const char *data, size_t len)
{
	struct etcd_kv *kvs, kv;
	size_t n, i;
	json_t *j, *ev;

	if ((j = json_loadb(data, len, 0, NULL)) == NULL)
		return;
	if (etcd_kvs_parse(json_object_get(j, "kvs"), &kvs, &n) == 0) {
		for (i = 0; i < n; i++)
			if (kvs[i].key == NULL || kvs[i].key[kvs[i].keylen] !=
			    '\0')
				abort();
		etcd_kvs_free(kvs, n);
	}
	json_array_foreach(json_object_get(json_object_get(j, "result"),
	    "events"), i, ev) {
		if (etcd_kv_parse(json_object_get(ev, "kv"), &kv) == 0) {
			free(kv.key);
			free(kv.value);
		}
	}
	(void)etcd_json_i64(json_object_get(j, "revision"));
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (data[0] & 1)
		fuzz_kvs((const char *)data + 1, len - 1);
	else
		fuzz_b64((const char *)data + 1, len - 1);
	return 0;
}
