/* SPDX-License-Identifier: MIT */
/*
 * fuzz_api_route.c -- request paths, Authorization headers and the
 * framing headers (lines "Name: value") of the API.
 */
#include "config.h"

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api_internal.h"
#include "validate.h"

static void	fuzz_framing(char *);

/*
 * Each line of s as a header; a refusal only ever for a second
 * Content-Length or a Transfer-Encoding.
 */
static void
fuzz_framing(char *s)
{
	struct evkeyvalq q;
	char *line, *v;
	unsigned n = 0;

	TAILQ_INIT(&q);
	while ((line = strsep(&s, "\n")) != NULL) {
		if ((v = strchr(line, ':')) == NULL)
			continue;
		*v++ = '\0';
		v += strspn(v, " ");
		if (evhttp_add_header(&q, line, v) != 0)
			continue;
		if (strcasecmp(line, "Content-Length") == 0 ||
		    strcasecmp(line, "Transfer-Encoding") == 0)
			n++;
	}
	if (api_framing_bad(&q) != NULL && n < 2 &&
	    evhttp_find_header(&q, "Transfer-Encoding") == NULL)
		abort();
	evhttp_clear_headers(&q);
}

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
	fuzz_framing(s);
	free(s);
	return 0;
}
