/* SPDX-License-Identifier: MIT */
/* api_route.c -- request paths to routes, name syntax, bearer tokens; pure. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "api_internal.h"
#include "validate.h"

#define API_MAX_SEGS	6

static size_t	api_split(const char *, char segs[][API_NAME_MAX + 2], size_t);

/*
 * Splits "/a/b/c" into segments; a segment too long is kept truncated
 * to one byte over the name limit so that validation refuses it.
 * Returns the number of segments, or API_MAX_SEGS + 1 when more.
 */
static size_t
api_split(const char *path, char segs[][API_NAME_MAX + 2], size_t max)
{
	const char *p = path, *end;
	size_t n = 0, len;

	while (*p == '/')
		p++;
	while (*p != '\0') {
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (n == max)
			return max + 1;
		if (len > API_NAME_MAX + 1)
			len = API_NAME_MAX + 1;
		memcpy(segs[n], p, len);
		segs[n][len] = '\0';
		n++;
		if (end == NULL)
			break;
		p = end + 1;
		/* A trailing slash is tolerated, an empty segment is not. */
		if (*p == '/')
			return max + 1;
	}
	return n;
}

void
api_route_match(const char *path, struct api_route *r)
{
	char segs[API_MAX_SEGS][API_NAME_MAX + 2];
	size_t n;
	bool pods;

	memset(r, 0, sizeof(*r));
	r->id = API_R_NONE;
	n = api_split(path, segs, API_MAX_SEGS);
	if (n == 1 && strcmp(segs[0], "healthz") == 0) {
		r->id = API_R_HEALTHZ;
		r->methods = API_M_GET | API_M_HEAD;
		return;
	}
	if (n == 1 && strcmp(segs[0], "readyz") == 0) {
		r->id = API_R_READYZ;
		r->methods = API_M_GET | API_M_HEAD;
		return;
	}
	if (n == 1 && strcmp(segs[0], "metrics") == 0) {
		r->id = API_R_METRICS;
		r->methods = API_M_GET | API_M_HEAD;
		return;
	}
	if (n == 1 && strcmp(segs[0], "version") == 0) {
		r->id = API_R_VERSION;
		r->methods = API_M_GET | API_M_HEAD;
		return;
	}
	if (n < 2 || n > 5 || strcmp(segs[0], "v1") != 0)
		return;
	if (n == 2 && strcmp(segs[1], "apply") == 0) {
		r->id = API_R_APPLY;
		r->methods = API_M_POST;
		return;
	}
	pods = strcmp(segs[1], "pods") == 0;
	if (!pods && strcmp(segs[1], "services") != 0 &&
	    strcmp(segs[1], "endpoints") != 0)
		return;
	if (n == 5 && (!pods || strcmp(segs[4], "heartbeat") != 0))
		return;
	if (n >= 3) {
		if (!validate_dns_label(segs[2], strlen(segs[2]))) {
			r->bad = "invalid namespace";
		} else
			strlcpy(r->ns, segs[2], sizeof(r->ns));
	}
	if (n >= 4) {
		if (!(pods ? validate_dns_subdomain(segs[3], strlen(segs[3])) :
		    validate_dns_label(segs[3], strlen(segs[3])))) {
			if (r->bad == NULL)
				r->bad = "invalid name";
		} else
			strlcpy(r->name, segs[3], sizeof(r->name));
	}
	switch (segs[1][0]) {
	case 'p':
		if (n <= 3)
			r->id = API_R_PODS;
		else if (n == 4)
			r->id = API_R_POD;
		else
			r->id = API_R_HEARTBEAT;
		break;
	case 's':
		r->id = n <= 3 ? API_R_SERVICES : API_R_SERVICE;
		break;
	default:
		r->id = n <= 3 ? API_R_ENDPOINTS_LIST : API_R_ENDPOINTS;
		break;
	}
	switch (r->id) {
	case API_R_POD:
		r->methods = API_M_GET | API_M_HEAD | API_M_PUT | API_M_DELETE;
		break;
	case API_R_SERVICE:
		r->methods = API_M_GET | API_M_HEAD | API_M_DELETE;
		break;
	case API_R_HEARTBEAT:
		r->methods = API_M_POST;
		break;
	default:
		r->methods = API_M_GET | API_M_HEAD;
		break;
	}
}

const char *
api_route_allow(unsigned methods, char *buf, size_t len)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ API_M_GET, "GET" }, { API_M_HEAD, "HEAD" },
		{ API_M_POST, "POST" }, { API_M_PUT, "PUT" },
		{ API_M_DELETE, "DELETE" },
	};
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < CIP_ARRAY_LEN(names); i++) {
		if ((methods & names[i].bit) == 0)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
		    names[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

bool
api_auth_ok(const char *header, const char *token)
{
	static const char prefix[] = "Bearer ";
	const unsigned char *a, *b;
	size_t alen, blen, i;
	unsigned char diff;

	if (token == NULL)
		return true;
	if (header == NULL || strncmp(header, prefix, sizeof(prefix) - 1) != 0)
		return false;
	a = (const unsigned char *)header + sizeof(prefix) - 1;
	b = (const unsigned char *)token;
	alen = strlen((const char *)a);
	blen = strlen((const char *)b);
	/* Every byte of the token is read whatever the input. */
	diff = alen != blen;
	for (i = 0; i < blen; i++)
		diff |= b[i] ^ (i < alen ? a[i] : 0xff);
	return diff == 0;
}
