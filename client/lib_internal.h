/* SPDX-License-Identifier: MIT */
/* lib_internal.h -- what libclusterip's files share; not installed. */
#ifndef CIP_LIB_INTERNAL_H
#define CIP_LIB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cip_reply;

/* A server URL: http://HOST[:PORT], or unix:/PATH or unix:///PATH. */
struct cip_url {
	bool		is_unix;
	char		host[256];	/* http */
	uint16_t	port;		/* http; 9901 when absent */
	char		path[108];	/* unix: the socket's path */
};

/* snprintf into err (may be NULL or errlen 0). */
void	cip_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), visibility("hidden")));

/* Parses url into u. Returns 0, or -1 with a reason in err. */
int	cip_url_parse(const char *url, struct cip_url *u, char *err,
    size_t errlen) __attribute__((visibility("hidden")));
/*
 * Parses a whole HTTP/1.1 reply (status line, headers, a body framed by
 * Content-Length, chunks or the end) into r (free with cip_reply_clear).
 * A 1xx reply before it is skipped. Returns 0, or -1 with a reason in err
 * when it is malformed or cut short.
 */
int	cip_http_parse_reply(const char *buf, size_t len, struct cip_reply *r,
    char *err, size_t errlen) __attribute__((visibility("hidden")));

#endif
