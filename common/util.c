/* SPDX-License-Identifier: MIT */
/* util.c -- error codes, string and address helpers shared by every module. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/capability.h>

#include "log.h"
#include "util.h"

#ifndef HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len >= size ? size - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		fatal("calloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

char *
strdup_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool
streq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
parse_hostport(const char *text, uint16_t default_port,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *colon;
	uint64_t p = default_port;
	size_t hlen;

	if (text == NULL)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL)
			return -1;
		hlen = (size_t)(end - text - 1);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((colon = strchr(text, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
		port = colon + 1;
	} else {
		if (strlcpy(host, text, sizeof(host)) >= sizeof(host))
			return -1;
	}
	if (port != NULL && (parse_u64(port, &p) != 0 || p > 65535))
		return -1;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* "ADDR/N" of family af (N at most maxbits) into net and *prefix. */
static int
parse_cidr(int af, const char *text, void *net, unsigned maxbits,
    unsigned *prefix)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	uint64_t p;
	size_t hlen;

	if (text == NULL || (slash = strchr(text, '/')) == NULL)
		return -1;
	hlen = (size_t)(slash - text);
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(af, host, net) != 1)
		return -1;
	if (parse_u64(slash + 1, &p) != 0 || p > maxbits)
		return -1;
	*prefix = (unsigned)p;
	return 0;
}

int
parse_cidr4(const char *text, struct in_addr *net, unsigned *prefix)
{
	return parse_cidr(AF_INET, text, net, 32, prefix);
}

int
parse_cidr6(const char *text, struct in6_addr *net, unsigned *prefix)
{
	return parse_cidr(AF_INET6, text, net, 128, prefix);
}

int
parse_u64(const char *text, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (text == NULL || *text == '\0')
		return -1;
	for (p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

int
parse_duration_ms(const char *text, uint64_t *ms)
{
	const char *p = text;
	uint64_t total = 0, v, mult;
	bool any = false;

	if (text == NULL || *text == '\0')
		return -1;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = 0;
		while (isdigit((unsigned char)*p)) {
			if (v > UINT64_MAX / 10 - 10)
				return -1;
			v = v * 10 + (uint64_t)(*p++ - '0');
		}
		if (strncmp(p, "ms", 2) == 0) {
			mult = 1;
			p += 2;
		} else if (*p == 's' || *p == '\0') {
			mult = 1000;
			if (*p)
				p++;
		} else if (*p == 'm') {
			mult = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			mult = 3600 * 1000;
			p++;
		} else
			return -1;
		if (v > UINT64_MAX / mult || total > UINT64_MAX - v * mult)
			return -1;
		total += v * mult;
		any = true;
	}
	if (!any)
		return -1;
	*ms = total;
	return 0;
}

const char *
inet4_str(struct in_addr a, char *buf)
{
	if (inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) == NULL)
		strlcpy(buf, "?", INET_ADDRSTRLEN);
	return buf;
}

const char *
sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
	return buf;
}

char *
read_file(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	FILE *fp;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				errf(err, errlen, "%s: file too large", path);
				goto fail;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				errf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nbuf;
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp)) {
		errf(err, errlen, "%s: read error", path);
		goto fail;
	}
	if (len > max) {
		errf(err, errlen, "%s: file too large", path);
		goto fail;
	}
	fclose(fp);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	free(buf);
	fclose(fp);
	return NULL;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct timeval *
ms_to_tv(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

struct timespec *
ms_to_ts(uint64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
	return ts;
}

uint64_t
hash_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

bool
proc_has_cap(int cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t c;

	if ((c = cap_get_proc()) == NULL)
		return false;
	(void)cap_get_flag(c, (cap_value_t)cap, CAP_EFFECTIVE, &v);
	cap_free(c);
	return v == CAP_SET;
}
