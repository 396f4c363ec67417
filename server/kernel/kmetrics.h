/* SPDX-License-Identifier: MIT */
/*
 * kmetrics.h -- the kernel path's per-endpoint connection counters: the
 * counters of the endpoint chains and of the endpoint-counters sets'
 * elements, read from the table, become
 * clusterip_forward_connections_total{service,endpoint}, the series the
 * userspace forwarder keeps for the services it serves; and conntrack's
 * entries, read when the metrics are scraped, and its destroy events
 * become the open connections, bytes and connect failures of each
 * endpoint (kmetrics_ct.c).
 */
#ifndef CIP_KMETRICS_H
#define CIP_KMETRICS_H

#include <stdbool.h>

struct event_base;
struct nftapply;
struct nftrules_opts;
struct registry;
struct service;
struct svc_endpoint;
struct svc_port;

/*
 * Calls fn for each ready endpoint of each port of svc, IPv4 ones (v6
 * false) then IPv6 ones.
 */
void	kmetrics_each_ep(const struct service *svc,
    void (*fn)(const struct service *, const struct svc_port *,
    const struct svc_endpoint *, bool v6, void *), void *arg);

/*
 * Reads the table's counters once and adds what each endpoint chain
 * counted since the last call (a chain made anew starts from 0) to its
 * series. want(svc) tells which services the kernel serves. Returns the
 * number of endpoint chains read, or -1 (logged at debug).
 */
int	kmetrics_poll(struct nftapply *, const struct nftrules_opts *,
    const struct registry *, bool (*want)(const struct service *));
/*
 * Called when /metrics is rendered: one dump of conntrack's translated
 * entries (ctstats.c) sets clusterip_forward_connections_active of each
 * ready endpoint of the services want() tells, and adds to
 * clusterip_forward_bytes_total what each entry's counters grew by since
 * the last dump (when conntrack accounting is on). Returns the number
 * of entries that were the table's, or -1 (logged at debug).
 */
int	kmetrics_conntrack(const struct registry *,
    bool (*want)(const struct service *));
/*
 * Subscribes to conntrack's destroy events on base, so that a scrape
 * also counts clusterip_forward_connect_failures_total (and the
 * service's) for TCP entries that never completed their handshake, and
 * the bytes an entry moved after the last scrape. Returns 0, or -1
 * (warned: those stay uncounted).
 */
int	kmetrics_conntrack_events(struct event_base *base);
/* Unsubscribes; forgets the entries' last counters. */
void	kmetrics_conntrack_shutdown(void);
/* Forgets the last values. */
void	kmetrics_shutdown(void);

#endif
