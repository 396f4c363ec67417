/* SPDX-License-Identifier: MIT */
/* lib_internal.h -- what libclusterip's files share; not installed. */
#ifndef CIP_LIB_INTERNAL_H
#define CIP_LIB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errf.h"

struct cip_reply;

/* A server URL: http://HOST[:PORT], or unix:/PATH or unix:///PATH. */
struct cip_url {
	bool		is_unix;
	char		host[256];	/* http */
	uint16_t	port;		/* http; 9901 when absent */
	char		path[108];	/* unix: the socket's path */
};


/* Parses url into u. Returns 0, or -1 with a reason in err. */
int	cip_url_parse(const char *url, struct cip_url *u, char *err,
    size_t errlen) __attribute__((visibility("hidden")));
/*
 * The URL libcurl is given for path ("/v1/pods?x=y") on the server u:
 * "http://HOST:PORT/PATH", or "http://localhost/PATH" for a unix socket
 * (then named by CURLOPT_UNIX_SOCKET_PATH). Returns 0, or -1 when path
 * does not start with "/", holds a space, line break or "#", or buf is
 * too small.
 */
int	cip_url_request(const struct cip_url *u, const char *path, char *buf,
    size_t len) __attribute__((visibility("hidden")));
/* "http://HOST:PORT" or "unix:PATH", for messages. Returns buf. */
const char *cip_url_where(const struct cip_url *u, char *buf, size_t len)
    __attribute__((visibility("hidden")));
/*
 * The one-line reason for a failed transfer: code is a CURLcode,
 * os_errno libcurl's CURLINFO_OS_ERRNO (0: none), detail its error
 * buffer (may be NULL or empty), where the server as cip_url_where
 * names it. "cannot reach WHERE: REASON" when no connection was made or
 * it broke, "timed out" after the client's timeout.
 */
void	cip_curl_error(int code, int os_errno, const char *detail,
    const char *where, char *err, size_t errlen)
    __attribute__((visibility("hidden")));

#endif
