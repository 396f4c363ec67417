/* SPDX-License-Identifier: MIT */
/* dns_server.h -- UDP/TCP DNS listeners: the cluster zone and forwarding upstream. */
#ifndef CIP_DNS_SERVER_H
#define CIP_DNS_SERVER_H

struct runtime;

/* Binds every --dns-listen address and subscribes to the registry. 0 or -1 (logged). */
int	dns_server_init(struct runtime *);
/* Closes listeners and connections, cancels upstream queries, frees all. */
void	dns_server_shutdown(void);

#endif
