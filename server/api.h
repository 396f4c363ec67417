/* SPDX-License-Identifier: MIT */
/* api.h -- the HTTP/JSON control API (evhttp). */
#ifndef CIP_API_H
#define CIP_API_H

struct runtime;

/* Binds --api-listen / --api-socket (unless disabled). 0 or -1 (logged). */
int	api_init(struct runtime *);
void	api_shutdown(void);

#endif
