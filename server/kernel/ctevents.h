/* SPDX-License-Identifier: MIT */
/*
 * ctevents.h -- conntrack's destroy events, read on the event loop: a
 * translated entry that leaves conntrack is handed to a callback with
 * its final byte counters and whether its TCP handshake ever completed
 * (a connect that failed never does). libnetfilter-conntrack.
 */
#ifndef CIP_CTEVENTS_H
#define CIP_CTEVENTS_H

#include <stddef.h>

#include "ctstats.h"

struct ctevents;
struct event_base;

/*
 * Subscribes to conntrack's destroy events (needs CAP_NET_ADMIN) and
 * reads them on base; cb gets each translated TCP or UDP entry. When
 * ranges (n CIDRs, IPv4 or IPv6: the VIP ranges) are given, a socket
 * filter in the kernel keeps only TCP and UDP entries first sent into
 * them, so the namespace's other connections are never read: with IPv4
 * ranges only, exactly; with an IPv6 one, IPv6 entries only (IPv4 ones
 * all pass: see ctevents.c). A filter that cannot be made is logged,
 * and every event read. Returns NULL with a reason in err.
 */
struct ctevents	*ctevents_open(struct event_base *base,
		    const char *const *ranges, size_t n, ctstats_cb *cb,
		    void *arg, char *err, size_t errlen);
/*
 * Events read from the socket and, of them, translated entries handed
 * to cb, since the subscription.
 */
void		 ctevents_counts(const struct ctevents *, unsigned long *read,
		    unsigned long *kept);
/* Reads what is queued now, without waiting (before a dump). */
void		 ctevents_drain(struct ctevents *);
/* Unsubscribes and frees; accepts NULL. */
void		 ctevents_free(struct ctevents *);

#endif
