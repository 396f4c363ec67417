/* SPDX-License-Identifier: MIT */
/* ctevents.c -- conntrack destroy events of translated entries. */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctevents.h"
#include "log.h"
#include "util.h"

struct ctevents {
	struct nfct_handle	*h;
	struct event		*ev;
	ctstats_cb		*cb;
	void			*arg;
};

static int
ctevents_msg_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
    void *arg)
{
	struct ctevents *c = arg;
	struct ctstats_entry e;

	(void)type;
	if (ctstats_parse(ct, &e))
		c->cb(&e, c->arg);
	return NFCT_CB_CONTINUE;
}

void
ctevents_drain(struct ctevents *c)
{
	if (c == NULL)
		return;
	/* Non-blocking: returns once the socket is empty. */
	if (nfct_catch(c->h) == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK) {
		/* ENOBUFS: the kernel dropped events it could not queue. */
		log_debug("kernel: conntrack events: %s (some lost)",
		    strerror(errno));
	}
}

static void
ctevents_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ctevents_drain(arg);
}

struct ctevents *
ctevents_open(struct event_base *base, ctstats_cb *cb, void *arg, char *err,
    size_t errlen)
{
	struct ctevents *c;
	int fd, fl;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	c->cb = cb;
	c->arg = arg;
	if ((c->h = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_DESTROY)) ==
	    NULL) {
		errf(err, errlen, "conntrack events: %s", strerror(errno));
		goto fail;
	}
	fd = nfct_fd(c->h);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		errf(err, errlen, "conntrack events: %s", strerror(errno));
		goto fail;
	}
	nfct_callback_register(c->h, NFCT_T_DESTROY, ctevents_msg_cb, c);
	if ((c->ev = event_new(base, fd, EV_READ | EV_PERSIST,
	    ctevents_read_cb, c)) == NULL || event_add(c->ev, NULL) == -1) {
		errf(err, errlen, "conntrack events: out of memory");
		goto fail;
	}
	return c;
fail:
	ctevents_free(c);
	return NULL;
}

void
ctevents_free(struct ctevents *c)
{
	if (c == NULL)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->h != NULL)
		nfct_close(c->h);
	free(c);
}
