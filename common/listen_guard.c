/* SPDX-License-Identifier: MIT */
/* listen_guard.c -- reserve descriptor and pause for TCP listeners. */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listen_guard.h"
#include "log.h"
#include "util.h"

struct listen_guard {
	LIST_ENTRY(listen_guard) entry;
	char			 name[16];
	uint64_t		 pause_ms;
	struct event		*resume;
	struct evconnlistener	**ls;
	size_t			 nls, cap;
	bool			 held;
	int			 reserve;	/* /dev/null, or -1 */
};

static void	listen_guard_error_cb(struct evconnlistener *, void *);
static void	listen_guard_resume_cb(evutil_socket_t, short, void *);

/*
 * A listener's error callback gets the accept callback's argument, which
 * is its owner's (evhttp's for the API): the guard is found by listener.
 */
static LIST_HEAD(, listen_guard) listen_guards =
    LIST_HEAD_INITIALIZER(listen_guards);

static int
listen_guard_reserve(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
listen_guard_apply(struct listen_guard *g)
{
	bool on = !g->held && !listen_guard_pausing(g);
	size_t i;

	for (i = 0; i < g->nls; i++) {
		if (on)
			evconnlistener_enable(g->ls[i]);
		else
			evconnlistener_disable(g->ls[i]);
	}
}

struct listen_guard *
listen_guard_new(struct event_base *base, const char *name, uint64_t pause_ms)
{
	struct listen_guard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	if ((g->resume = evtimer_new(base, listen_guard_resume_cb, g)) ==
	    NULL) {
		free(g);
		return NULL;
	}
	strlcpy(g->name, name, sizeof(g->name));
	g->pause_ms = pause_ms;
	g->reserve = listen_guard_reserve();
	LIST_INSERT_HEAD(&listen_guards, g, entry);
	return g;
}

void
listen_guard_free(struct listen_guard *g)
{
	if (g == NULL)
		return;
	LIST_REMOVE(g, entry);
	event_free(g->resume);
	if (g->reserve != -1)
		close(g->reserve);
	free(g->ls);
	free(g);
}

int
listen_guard_add(struct listen_guard *g, struct evconnlistener *el)
{
	if (PTR_APPEND_FROM(g->ls, g->nls, g->cap, el, 2) != 0)
		return -1;
	evconnlistener_set_error_cb(el, listen_guard_error_cb);
	if (g->held || listen_guard_pausing(g))
		evconnlistener_disable(el);
	return 0;
}

void
listen_guard_remove(struct listen_guard *g, struct evconnlistener *el)
{
	size_t i;

	for (i = 0; i < g->nls; i++)
		if (g->ls[i] == el) {
			g->ls[i] = g->ls[--g->nls];
			return;
		}
}

void
listen_guard_hold(struct listen_guard *g, bool hold)
{
	if (g->held == hold)
		return;
	g->held = hold;
	listen_guard_apply(g);
}

bool
listen_guard_pausing(const struct listen_guard *g)
{
	return evtimer_pending(g->resume, NULL) != 0;
}

static struct listen_guard *
listen_guard_find(const struct evconnlistener *el)
{
	struct listen_guard *g;
	size_t i;

	LIST_FOREACH(g, &listen_guards, entry)
		for (i = 0; i < g->nls; i++)
			if (g->ls[i] == el)
				return g;
	return NULL;
}

static void
listen_guard_error_cb(struct evconnlistener *el, void *arg)
{
	struct listen_guard *g;
	struct timeval tv;
	int err = EVUTIL_SOCKET_ERROR(), fd;
	bool shed = false;

	(void)arg;
	if ((g = listen_guard_find(el)) == NULL)
		return;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		log_debug("%s: accept: %s", g->name, strerror(err));
		return;
	}
	if ((err == EMFILE || err == ENFILE) && g->reserve != -1) {
		close(g->reserve);
		if ((fd = accept(evconnlistener_get_fd(el), NULL, NULL)) != -1) {
			close(fd);
			shed = true;
		}
		g->reserve = listen_guard_reserve();
	}
	if (listen_guard_pausing(g))
		return;
	log_warnx("%s: accept: %s; pausing %llu ms%s", g->name, strerror(err),
	    (unsigned long long)g->pause_ms, shed ? ", one client closed" : "");
	evtimer_add(g->resume, ms_to_tv(g->pause_ms, &tv));
	listen_guard_apply(g);
}

static void
listen_guard_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listen_guard *g = arg;

	(void)fd;
	(void)what;
	if (g->reserve == -1)
		g->reserve = listen_guard_reserve();
	listen_guard_apply(g);
}
