/* SPDX-License-Identifier: MIT */
/*
 * kmetrics.h -- the kernel path's per-endpoint connection counters: the
 * counters of the endpoint chains and of the endpoint-counters sets'
 * elements, read from the table, become
 * clusterip_forward_connections_total{service,endpoint}, the series the
 * userspace forwarder keeps for the services it serves.
 */
#ifndef CIP_KMETRICS_H
#define CIP_KMETRICS_H

#include <stdbool.h>

struct nftapply;
struct nftrules_opts;
struct registry;
struct service;

/*
 * Reads the table's counters once and adds what each endpoint chain
 * counted since the last call (a chain made anew starts from 0) to its
 * series. want(svc) tells which services the kernel serves. Returns the
 * number of endpoint chains read, or -1 (logged at debug).
 */
int	kmetrics_poll(struct nftapply *, const struct nftrules_opts *,
    const struct registry *, bool (*want)(const struct service *));
/* Forgets the last values. */
void	kmetrics_shutdown(void);

#endif
