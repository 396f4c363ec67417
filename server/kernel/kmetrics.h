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
#include <stddef.h>

struct event_base;
struct nftapply;
struct nftrules_opts;
struct registry;
struct service;
struct statewr;
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
 * Called when /metrics is scraped: one dump of conntrack's translated
 * entries (ctstats.c), run on sw's thread with the sums it makes, sets
 * clusterip_forward_connections_active of each ready endpoint of the
 * services want() tells, and adds to clusterip_forward_bytes_total what
 * each entry's counters grew by since the last dump (when conntrack
 * accounting is on). The loop only lists the flows to look for before
 * and sets the series after; then done(arg) runs on the loop. Returns
 * 0 when the read started, or -1 when it did not (no flow to look for,
 * a read already running, out of memory): done is then not called.
 */
int	kmetrics_conntrack_start(struct statewr *sw, const struct registry *,
    bool (*want)(const struct service *), void (*done)(void *), void *arg);
/*
 * Subscribes to conntrack's destroy events on base, so that a scrape
 * also counts clusterip_forward_connect_failures_total (and the
 * service's) for TCP entries that never completed their handshake, and
 * the bytes an entry moved after the last scrape. ranges (n CIDRs) are
 * the VIP ranges: the kernel hands over only the events of connections
 * sent into them (ctevents.h). Returns 0, or -1 (warned: those stay
 * uncounted).
 */
int	kmetrics_conntrack_events(struct event_base *base,
    const char *const *ranges, size_t n);
/*
 * Unsubscribes; forgets the entries' last counters (a read still
 * running frees them when it ends, and still calls its done).
 */
void	kmetrics_conntrack_shutdown(void);
/* Forgets the last values. */
void	kmetrics_shutdown(void);

#endif
