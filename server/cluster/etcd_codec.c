/* SPDX-License-Identifier: MIT */
/*
 * etcd_codec.c -- what the etcd gateway's JSON needs besides JSON: base64
 * for keys and values (OpenSSL's codec), the end key of a prefix range,
 * numbers sent as strings, key-values out of a response. No loop.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "util.h"
#include "etcd.h"
#include "etcd_int.h"

char *
etcd_b64_encode(const char *data, size_t len)
{
	char *out;

	if (len > INT32_MAX / 2 || (out = malloc((len + 2) / 3 * 4 + 1)) ==
	    NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data,
	    (int)len);
	return out;
}

char *
etcd_b64_decode(const char *text, size_t *outlen)
{
	size_t len = strlen(text), pad = 0;
	char *out;
	int n;

	if (len % 4 != 0 || len > INT32_MAX / 2)
		return NULL;
	if ((out = malloc(len / 4 * 3 + 1)) == NULL)
		return NULL;
	if (len == 0) {
		out[0] = '\0';
		*outlen = 0;
		return out;
	}
	n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text,
	    (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the bytes of the padding too. */
	if (text[len - 1] == '=')
		pad++;
	if (text[len - 2] == '=')
		pad++;
	*outlen = (size_t)n - pad;
	out[*outlen] = '\0';
	return out;
}

char *
etcd_prefix_end(const char *prefix, size_t len, size_t *outlen)
{
	char *end;

	while (len > 0 && (unsigned char)prefix[len - 1] == 0xff)
		len--;
	if (len == 0) {
		if ((end = calloc(1, 1)) != NULL)
			*outlen = 1;
		return end;
	}
	if ((end = malloc(len)) == NULL)
		return NULL;
	memcpy(end, prefix, len);
	end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
	*outlen = len;
	return end;
}

int64_t
etcd_json_i64(const json_t *v)
{
	const char *s;
	char *end;
	long long n;

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if ((s = json_string_value(v)) == NULL || *s == '\0')
		return 0;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	return (int64_t)n;
}

json_t *
etcd_json_b64(const char *data, size_t len)
{
	char *b;
	json_t *j;

	if ((b = etcd_b64_encode(data, len)) == NULL)
		return NULL;
	j = json_string(b);
	free(b);
	return j;
}

json_t *
etcd_json_num(int64_t n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, n);
	return json_string(buf);
}

void
etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	size_t i;

	if (kvs == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

int
etcd_kv_parse(const json_t *j, struct etcd_kv *kv)
{
	const char *k, *v;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(j) ||
	    (k = json_string_value(json_object_get(j, "key"))) == NULL)
		return -1;
	v = json_string_value(json_object_get(j, "value"));
	if ((kv->key = etcd_b64_decode(k, &kv->keylen)) == NULL ||
	    (kv->value = etcd_b64_decode(v != NULL ? v : "",
	    &kv->valuelen)) == NULL) {
		free(kv->key);
		free(kv->value);
		memset(kv, 0, sizeof(*kv));
		return -1;
	}
	kv->create_revision = etcd_json_i64(json_object_get(j,
	    "create_revision"));
	kv->mod_revision = etcd_json_i64(json_object_get(j, "mod_revision"));
	kv->version = etcd_json_i64(json_object_get(j, "version"));
	kv->lease = etcd_json_i64(json_object_get(j, "lease"));
	return 0;
}

int
etcd_kvs_parse(const json_t *arr, struct etcd_kv **out, size_t *nout)
{
	struct etcd_kv *kvs;
	size_t i, n = json_array_size(arr);

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((kvs = calloc(n, sizeof(*kvs))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (etcd_kv_parse(json_array_get(arr, i), &kvs[i]) != 0) {
			etcd_kvs_free(kvs, i);
			return -1;
		}
	*out = kvs;
	*nout = n;
	return 0;
}
