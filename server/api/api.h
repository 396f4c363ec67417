/* SPDX-License-Identifier: MIT */
/* api.h -- the HTTP/JSON control API (evhttp). */
#ifndef CIP_API_H
#define CIP_API_H

#include <stddef.h>

struct cip_conf;
struct runtime;

/*
 * Checks, binding nothing, what api_init refuses in conf: a non-loopback
 * api-listen without api-token-file (unless api-insecure), a token file
 * that cannot be read or is empty, an api-socket path that is too long or
 * taken by something other than a socket. Used by --check-config.
 * Returns 0, or -1 with a reason in err.
 */
int	api_check_conf(const struct cip_conf *conf, char *err, size_t errlen);

/* Binds --api-listen / --api-socket (unless disabled). 0 or -1 (logged). */
int	api_init(struct runtime *);
void	api_shutdown(void);

#endif
