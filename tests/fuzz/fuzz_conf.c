/* SPDX-License-Identifier: MIT */
/* fuzz_conf.c -- configuration bytes -> parse -> print. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct cip_conf *c = conf_new_defaults();
	char err[512];
	FILE *null;

	log_init("fuzz", LOG_LEVEL_ERROR);
	if (c != NULL && conf_parse_buf(c, (const char *)data, len, "fuzz",
	    err, sizeof(err)) == 0 && (null = fopen("/dev/null", "w"))) {
		conf_print(c, null);
		fclose(null);
	}
	conf_free(c);
	return 0;
}
