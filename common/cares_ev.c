/* SPDX-License-Identifier: MIT */
/* cares_ev.c -- a c-ares channel driven by a libevent event_base. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cares_ev.h"

/* One c-ares socket and its event. */
struct cares_ev_sock {
	struct cares_ev_sock	*next;
	ares_socket_t		 fd;
	struct event		*event;
	struct cares_ev		*ev;
};

void
cares_ev_rearm(struct cares_ev *ev)
{
	struct timeval tv, *tvp;

	if (ev->timer == NULL || ev->destroying)
		return;
	if ((tvp = ares_timeout(ev->ch, NULL, &tv)) != NULL)
		evtimer_add(ev->timer, tvp);
	else
		evtimer_del(ev->timer);
}

static void
cares_ev_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cares_ev *ev = ((struct cares_ev_sock *)arg)->ev;

	ares_process_fd(ev->ch,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	cares_ev_rearm(ev);
}

static void
cares_ev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cares_ev *ev = arg;

	ares_process_fd(ev->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	cares_ev_rearm(ev);
}

static void
cares_ev_state_cb(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct cares_ev *ev = arg;
	struct cares_ev_sock *s, **pp;
	short what;

	for (pp = &ev->socks; (s = *pp) != NULL; pp = &s->next)
		if (s->fd == fd)
			break;
	if (!readable && !writable) {
		if (s != NULL) {
			*pp = s->next;
			event_free(s->event);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;	/* c-ares times the query out */
		s->fd = fd;
		s->ev = ev;
		s->next = ev->socks;
		ev->socks = s;
	} else if (s->event != NULL) {
		event_free(s->event);
		s->event = NULL;
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	if ((s->event = event_new(ev->base, fd, what, cares_ev_sock_cb,
	    s)) != NULL)
		event_add(s->event, NULL);
}

int
cares_ev_init(struct cares_ev *ev, struct event_base *base,
    struct ares_options *opts, int optmask)
{
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->base = base;
	if ((ev->timer = evtimer_new(base, cares_ev_timer_cb, ev)) == NULL)
		return ARES_ENOMEM;
	opts->sock_state_cb = cares_ev_state_cb;
	opts->sock_state_cb_data = ev;
	if ((rc = ares_init_options(&ev->ch, opts,
	    optmask | ARES_OPT_SOCK_STATE_CB)) != ARES_SUCCESS) {
		event_free(ev->timer);
		ev->timer = NULL;
		return rc;
	}
	ev->ok = true;
	return ARES_SUCCESS;
}

void
cares_ev_destroy(struct cares_ev *ev)
{
	struct cares_ev_sock *s;

	ev->destroying = true;
	if (ev->ok)
		ares_destroy(ev->ch);
	ev->ok = false;
	while ((s = ev->socks) != NULL) {
		ev->socks = s->next;
		event_free(s->event);
		free(s);
	}
	if (ev->timer != NULL)
		event_free(ev->timer);
	ev->timer = NULL;
}
