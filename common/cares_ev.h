/* SPDX-License-Identifier: MIT */
/*
 * cares_ev.h -- a c-ares 1.18 channel driven by a libevent event_base: one
 * event per c-ares socket (ARES_OPT_SOCK_STATE_CB) and one timer re-armed
 * from ares_timeout(). Shared by the daemon's upstream forwarding and
 * libclusterip's resolver.
 */
#ifndef CIP_CARES_EV_H
#define CIP_CARES_EV_H

#include <stdbool.h>
#include <ares.h>

struct event;
struct event_base;
struct cares_ev_sock;

struct cares_ev {
	struct event_base	*base;
	ares_channel		 ch;
	bool			 ok;		/* ch initialized */
	bool			 destroying;
	struct event		*timer;
	struct cares_ev_sock	*socks;
};

/*
 * Initializes ev->ch with opts and optmask, adding our socket-state
 * callback (opts must not set one). Returns ARES_SUCCESS or a c-ares
 * error (ARES_ENOMEM when an event cannot be made); on error nothing
 * needs freeing but cares_ev_destroy accepts it.
 */
int	cares_ev_init(struct cares_ev *ev, struct event_base *base,
    struct ares_options *opts, int optmask);
/* Re-arms the timer; call after every ares_send/ares_query. */
void	cares_ev_rearm(struct cares_ev *ev);
/*
 * Destroys the channel (pending callbacks run now with
 * ARES_EDESTRUCTION) and frees every event.
 */
void	cares_ev_destroy(struct cares_ev *ev);

#endif
