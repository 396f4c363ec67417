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
 * reads them on base; cb gets each translated TCP or UDP entry. Returns
 * NULL with a reason in err.
 */
struct ctevents	*ctevents_open(struct event_base *base, ctstats_cb *cb,
		    void *arg, char *err, size_t errlen);
/* Reads what is queued now, without waiting (before a dump). */
void		 ctevents_drain(struct ctevents *);
/* Unsubscribes and frees; accepts NULL. */
void		 ctevents_free(struct ctevents *);

#endif
