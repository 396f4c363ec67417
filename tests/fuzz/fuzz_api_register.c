/* SPDX-License-Identifier: MIT */
/* fuzz_api_register.c -- the body of PUT /v1/pods/NS/NAME. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "objjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pod *pod = NULL;
	json_t *doc;
	uint32_t ttl_s;
	char err[256];

	if (objjson_parse_registration((const char *)data, len, "default",
	    "web-1", &pod, &ttl_s, err, sizeof(err)) == 0) {
		/* What the API answers must be buildable from any pod. */
		doc = objjson_pod(pod, OBJJSON_STATE);
		json_decref(doc);
		doc = objjson_pod(pod, OBJJSON_MANIFEST);
		json_decref(doc);
		pod_free(pod);
	}
	return 0;
}
