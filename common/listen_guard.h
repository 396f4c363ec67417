/* SPDX-License-Identifier: MIT */
/*
 * listen_guard.h -- one policy for every set of TCP listeners when
 * accept(2) fails for want of descriptors or memory.
 *
 * Without it a listener out of descriptors spins: the pending connection
 * stays in the backlog and the socket stays readable. The guard keeps one
 * reserve descriptor; on EMFILE/ENFILE it closes it, accepts the pending
 * connection and closes that at once (the client sees a clean close, not
 * a hang), opens the reserve again, and stops accepting for pause_ms.
 * Other resource errors (ENOBUFS, ENOMEM) only pause.
 */
#ifndef CIP_LISTEN_GUARD_H
#define CIP_LISTEN_GUARD_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct evconnlistener;
struct listen_guard;

/* name prefixes the log lines ("dns", "api"). Returns NULL on OOM. */
struct listen_guard *listen_guard_new(struct event_base *, const char *name,
    uint64_t pause_ms);
/* Frees the guard; leaves its listeners alone (their owner frees them). */
void	listen_guard_free(struct listen_guard *);
/*
 * Guards el: sets its error callback, and disables it while accepting is
 * paused or held. Returns 0, or -1 on OOM.
 */
int	listen_guard_add(struct listen_guard *, struct evconnlistener *el);
/* Forgets el; call before freeing it. */
void	listen_guard_remove(struct listen_guard *, struct evconnlistener *el);
/*
 * The owner's own reason not to accept (a cap on clients): the listeners
 * run when it is not held and no pause is under way.
 */
void	listen_guard_hold(struct listen_guard *, bool hold);
/* True while an error pause is under way. */
bool	listen_guard_pausing(const struct listen_guard *);

#endif
