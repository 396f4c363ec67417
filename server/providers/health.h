/* SPDX-License-Identifier: MIT */
/* health.h -- readiness probes (tcpSocket, httpGet) feeding the registry. */
#ifndef CIP_HEALTH_H
#define CIP_HEALTH_H

struct runtime;

/* Subscribes to the registry and probes every pod with a readinessProbe. 0 or -1. */
int	health_init(struct runtime *);
void	health_shutdown(void);

#endif
