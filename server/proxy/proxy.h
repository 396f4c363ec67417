/* SPDX-License-Identifier: MIT */
/* proxy.h -- VIP:port listeners that balance connections over ready endpoints. */
#ifndef CIP_PROXY_H
#define CIP_PROXY_H

struct runtime;

/* Subscribes to the registry; listeners follow services from then on. 0 or -1. */
int	proxy_init(struct runtime *);
/* Closes listeners and every session. */
void	proxy_shutdown(void);

#endif
