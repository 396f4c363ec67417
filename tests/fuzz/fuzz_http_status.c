/* SPDX-License-Identifier: MIT */
/* fuzz_http_status.c -- the readiness probe's HTTP status line parser. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *buf;
	size_t i;
	int st;

	/* An exact-size copy, so that reading past len is caught. */
	if ((buf = malloc(len == 0 ? 1 : len)) == NULL)
		return 0;
	memcpy(buf, data, len);
	for (i = 0; i <= len; i++) {
		st = probe_http_status(buf, i);
		if (st != -1 && st != 0 && (st < 100 || st > 999))
			abort();
	}
	free(buf);
	return 0;
}
