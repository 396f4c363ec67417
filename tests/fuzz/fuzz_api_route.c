/* SPDX-License-Identifier: MIT */
/* fuzz_api_route.c -- request paths and Authorization headers of the API. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct api_route r;
	char *s, allow[64];

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	api_route_match(s, &r);
	/* What a route yields is always a valid name, or refused. */
	if (r.id != API_R_NONE && r.bad == NULL) {
		if (r.ns[0] != '\0' && !validate_dns_label(r.ns, strlen(r.ns)))
			abort();
		if (r.name[0] != '\0' && !validate_dns_subdomain(r.name, strlen(r.name)))
			abort();
	}
	api_route_allow(r.methods, allow, sizeof(allow));
	if (api_auth_ok(s, "s3cret") && strcmp(s, "Bearer s3cret") != 0)
		abort();
	free(s);
	return 0;
}
