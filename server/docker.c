/* SPDX-License-Identifier: MIT */
/*
 * docker.c -- the Docker provider: follows the Docker Engine API over its
 * unix socket (--docker) and keeps one pod per running container in the
 * registry, owned by that container (OWNER_DOCKER, id = container id).
 *
 * One long-lived connection streams GET /events; once its headers arrive
 * the containers are listed (GET /containers/json) and each is inspected
 * (GET /containers/{id}/json, one request at a time) -- labels are read
 * there, never from event attributes, which carry the container's name
 * under the key "name". Containers that vanished between two listings
 * lose their pods. When the stream breaks, it is reopened with back-off
 * (1 s doubling to 30 s) and everything is listed again.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "conf.h"
#include "registry.h"
#include "runtime.h"
#include "docker_http.h"
#include "docker_pod.h"
#include "docker.h"

#define DOCKER_BACKOFF_MIN_MS	1000
#define DOCKER_BACKOFF_MAX_MS	30000
#define DOCKER_REQ_TIMEOUT_S	10
#define DOCKER_MAX_BODY		(16u << 20)	/* list or inspect reply */
#define DOCKER_MAX_EVENT	(1u << 20)	/* one event message */

enum docker_req_kind {
	DOCKER_REQ_EVENTS,
	DOCKER_REQ_LIST,
	DOCKER_REQ_INSPECT,
};

struct docker_req {
	struct docker		*d;
	enum docker_req_kind	 kind;
	struct bufferevent	*bev;
	struct docker_http	 http;
	char			 id[DOCKER_ID_MAX + 1];	/* INSPECT */
	bool			 resynced;	/* EVENTS: list started */
};

/* A container id waiting to be inspected. */
struct docker_todo {
	struct docker_todo	*next;
	char			 id[DOCKER_ID_MAX + 1];
	bool			 gone;	/* destroyed: no inspect */
};

struct docker {
	struct runtime		*rt;
	char			*socket_path;
	char			*network;
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
	struct docker_req	*events;
	struct docker_req	*list;
	struct docker_req	*inspect;	/* the one in flight */
	struct docker_todo	*todo_head, *todo_tail;
	struct hmap		*queued;	/* id -> todo, to dedup */
	struct hmap		*known;		/* ids owning a pod */
	struct event		*retry_ev;
	uint64_t		 backoff_ms;
	bool			 connected;	/* stream healthy */
};

static struct docker *docker;

static struct docker_req *docker_req_new(struct docker *,
		    enum docker_req_kind, const char *, const char *);
static void	docker_req_free(struct docker_req *);
static void	docker_read_cb(struct bufferevent *, void *);
static void	docker_event_cb(struct bufferevent *, short, void *);
static void	docker_req_fail(struct docker_req *, const char *);
static void	docker_req_done(struct docker_req *);
static void	docker_events_lines(struct docker_req *);
static void	docker_connect_events(struct docker *);
static void	docker_retry_cb(evutil_socket_t, short, void *);
static void	docker_stream_broken(struct docker *, const char *);
static void	docker_start_list(struct docker *);
static void	docker_list_done(struct docker *, struct docker_req *);
static void	docker_inspect_done(struct docker *, struct docker_req *);
static void	docker_enqueue(struct docker *, const char *, bool);
static void	docker_next(struct docker *);
static void	docker_forget(struct docker *, const char *, const char *);
static void	docker_todo_clear(struct docker *);

static struct docker_req *
docker_req_new(struct docker *d, enum docker_req_kind kind, const char *path,
    const char *id)
{
	struct docker_req *r;
	struct timeval tv = { DOCKER_REQ_TIMEOUT_S, 0 };

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	r->d = d;
	r->kind = kind;
	if (id != NULL)
		strlcpy(r->id, id, sizeof(r->id));
	docker_http_init(&r->http, kind == DOCKER_REQ_EVENTS ?
	    DOCKER_MAX_EVENT : DOCKER_MAX_BODY);
	r->bev = bufferevent_socket_new(d->rt->base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL) {
		log_warn("%s: bufferevent", __func__);
		free(r);
		return NULL;
	}
	bufferevent_setcb(r->bev, docker_read_cb, NULL, docker_event_cb, r);
	/* The event stream stays quiet for long; requests must not. */
	bufferevent_set_timeouts(r->bev, kind == DOCKER_REQ_EVENTS ? NULL : &tv,
	    &tv);
	if (evbuffer_add_printf(bufferevent_get_output(r->bev),
	    "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: clusteripd\r\n"
	    "Accept: application/json\r\nConnection: close\r\n\r\n",
	    path) == -1 ||
	    bufferevent_enable(r->bev, EV_READ | EV_WRITE) == -1 ||
	    bufferevent_socket_connect(r->bev, (struct sockaddr *)&d->sun,
	    (int)d->sunlen) == -1) {
		log_debug("docker: cannot connect to %s: %s", d->socket_path,
		    strerror(errno));
		docker_req_free(r);
		return NULL;
	}
	log_debug("docker: GET %s", path);
	return r;
}

static void
docker_req_free(struct docker_req *r)
{
	if (r == NULL)
		return;
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	docker_http_clear(&r->http);
	free(r);
}

static void
docker_read_cb(struct bufferevent *bev, void *arg)
{
	struct docker_req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v;
	enum docker_http_state st;
	size_t n;

	while (evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		st = docker_http_feed(&r->http, v.iov_base, v.iov_len);
		n = v.iov_len;
		evbuffer_drain(in, n);
		if (st == DOCKER_HTTP_ERROR) {
			docker_req_fail(r, r->http.error);
			return;
		}
		if (r->kind == DOCKER_REQ_EVENTS) {
			if (docker_http_headers_done(&r->http) &&
			    !r->resynced) {
				if (r->http.status != 200) {
					docker_req_fail(r, "events refused");
					return;
				}
				r->resynced = true;
				r->d->connected = true;
				r->d->backoff_ms = 0;
				log_info("docker: following %s",
				    r->d->socket_path);
				docker_start_list(r->d);
				if (r->d->events != r)
					return;	/* freed */
			}
			docker_events_lines(r);
			if (st == DOCKER_HTTP_DONE) {
				docker_req_fail(r, "event stream ended");
				return;
			}
		} else if (st == DOCKER_HTTP_DONE) {
			docker_req_done(r);
			return;
		}
	}
}

static void
docker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct docker_req *r = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF) {
		if (docker_http_eof(&r->http) == DOCKER_HTTP_DONE &&
		    r->kind != DOCKER_REQ_EVENTS) {
			docker_req_done(r);
			return;
		}
		docker_req_fail(r, r->kind == DOCKER_REQ_EVENTS ?
		    "event stream closed" : r->http.error);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		docker_req_fail(r, "timed out");
		return;
	}
	docker_req_fail(r, strerror(EVUTIL_SOCKET_ERROR()));
}

/* Splits the event stream's body into lines, one JSON message each. */
static void
docker_events_lines(struct docker_req *r)
{
	struct docker_http *h = &r->http;
	enum docker_event_kind kind;
	char id[DOCKER_ID_MAX + 1];
	char *nl;
	size_t len;

	while (h->bodylen > 0 &&
	    (nl = memchr(h->body, '\n', h->bodylen)) != NULL) {
		len = (size_t)(nl - h->body);
		kind = docker_event_parse(h->body, len, id);
		if (kind != DOCKER_EVENT_IGNORE) {
			log_debug("docker: event on %.12s%s", id,
			    kind == DOCKER_EVENT_GONE ? " (destroyed)" : "");
			docker_enqueue(r->d, id, kind == DOCKER_EVENT_GONE);
		}
		docker_http_consume(h, len + 1);
	}
	docker_next(r->d);
}

/* A request failed: a broken stream or listing starts the back-off. */
static void
docker_req_fail(struct docker_req *r, const char *why)
{
	struct docker *d = r->d;

	switch (r->kind) {
	case DOCKER_REQ_EVENTS:
	case DOCKER_REQ_LIST:
		docker_stream_broken(d, why);
		return;
	case DOCKER_REQ_INSPECT:
		log_warnx("docker: inspecting %.12s: %s", r->id,
		    why != NULL ? why : "failed");
		d->inspect = NULL;
		docker_req_free(r);
		docker_next(d);
		return;
	}
}

static void
docker_req_done(struct docker_req *r)
{
	struct docker *d = r->d;

	if (r->kind == DOCKER_REQ_LIST) {
		d->list = NULL;
		docker_list_done(d, r);
	} else {
		d->inspect = NULL;
		docker_inspect_done(d, r);
	}
	docker_req_free(r);
	docker_next(d);
}

static void
docker_stream_broken(struct docker *d, const char *why)
{
	struct timeval tv;

	if (d->connected || d->backoff_ms == 0)
		log_warnx("docker: %s: %s; retrying", d->socket_path,
		    why != NULL ? why : "failed");
	d->connected = false;
	docker_req_free(d->events);
	docker_req_free(d->list);
	docker_req_free(d->inspect);
	d->events = d->list = d->inspect = NULL;
	docker_todo_clear(d);
	d->backoff_ms = d->backoff_ms == 0 ? DOCKER_BACKOFF_MIN_MS :
	    MINIMUM(d->backoff_ms * 2, DOCKER_BACKOFF_MAX_MS);
	tv.tv_sec = (time_t)(d->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)(d->backoff_ms % 1000) * 1000;
	evtimer_add(d->retry_ev, &tv);
}

static void
docker_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	docker_connect_events(arg);
}

static void
docker_connect_events(struct docker *d)
{
	/* {"type":["container","network"]} */
	static const char path[] = "/events?filters=%7B%22type%22%3A%5B"
	    "%22container%22%2C%22network%22%5D%7D";

	d->events = docker_req_new(d, DOCKER_REQ_EVENTS, path, NULL);
	if (d->events == NULL)
		docker_stream_broken(d, "cannot connect");
}

static void
docker_start_list(struct docker *d)
{
	docker_req_free(d->list);
	d->list = docker_req_new(d, DOCKER_REQ_LIST, "/containers/json",
	    NULL);
	if (d->list == NULL)
		docker_stream_broken(d, "cannot list containers");
}

static void
docker_list_done(struct docker *d, struct docker_req *r)
{
	struct hmap *listed;
	struct hmap_iter it;
	const char *id;
	char **ids, **stale = NULL;
	size_t nids, i, nstale = 0;
	void *v;

	if (r->http.status != 200 ||
	    docker_list_ids(r->http.body, r->http.bodylen, &ids, &nids) != 0) {
		docker_stream_broken(d, "bad container list");
		return;
	}
	log_debug("docker: %zu containers running", nids);
	if ((listed = hmap_new()) == NULL)
		goto done;
	for (i = 0; i < nids; i++) {
		hmap_put(listed, ids[i], (void *)1, NULL);
		docker_enqueue(d, ids[i], false);
	}
	/* Pods of containers that went away while we were not looking. */
	stale = calloc(hmap_count(d->known) + 1, sizeof(*stale));
	if (stale != NULL) {
		hmap_iter_init(&it, d->known);
		while (hmap_iter_next(&it, &id, &v))
			if (hmap_get(listed, id) == NULL)
				stale[nstale++] = strdup(id);
		for (i = 0; i < nstale; i++) {
			if (stale[i] != NULL)
				docker_forget(d, stale[i], " (not listed)");
			free(stale[i]);
		}
		free(stale);
	}
	hmap_free(listed, NULL);
done:
	docker_list_free(ids, nids);
}

/* Removes the pod of container id, if any; why is said after "gone". */
static void
docker_forget(struct docker *d, const char *id, const char *why)
{
	struct owner o = { OWNER_DOCKER, (char *)(uintptr_t)id };

	if (hmap_del(d->known, id) == NULL)
		return;
	log_info("docker: container %.12s gone%s", id, why);
	registry_remove_owner(d->rt->reg, &o);
}

static void
docker_inspect_done(struct docker *d, struct docker_req *r)
{
	struct owner o = { OWNER_DOCKER, r->id };
	struct objset set = { 0 };
	struct pod *p = NULL;
	char err[512] = "", ip[INET_ADDRSTRLEN], key[300];
	bool ready;
	int rc;

	if (r->http.status == 404) {
		docker_forget(d, r->id, " (no such container)");
		return;
	}
	if (r->http.status != 200) {
		log_warnx("docker: inspecting %.12s: status %d", r->id,
		    r->http.status);
		return;
	}
	rc = docker_pod_from_inspect(r->http.body, r->http.bodylen,
	    d->network, &p, err, sizeof(err));
	if (rc != 0) {
		log_warnx("docker: inspecting %.12s: %s", r->id, err);
		return;
	}
	if (p == NULL) {
		log_debug("docker: %s", err);
		docker_forget(d, r->id, "");
		return;
	}
	inet4_str(p->ip, ip);
	snprintf(key, sizeof(key), "%s", p->key);
	ready = p->declared_ready;
	if (objset_add_pod(&set, p) != 0) {
		pod_free(p);
		return;
	}
	rc = registry_apply(d->rt->reg, &o, &set, REGISTRY_REPLACE, err,
	    sizeof(err));
	objset_clear(&set);
	if (rc != 0) {
		log_warnx("docker: container %.12s: %s", r->id, err);
		return;
	}
	if (hmap_get(d->known, r->id) == NULL) {
		log_info("docker: container %.12s is pod %s at %s%s", r->id,
		    key, ip, ready ? "" : " (not ready)");
		hmap_put(d->known, r->id, (void *)1, NULL);
	} else
		log_debug("docker: container %.12s is pod %s at %s%s", r->id,
		    key, ip, ready ? "" : " (not ready)");
}

static void
docker_enqueue(struct docker *d, const char *id, bool gone)
{
	struct docker_todo *t;

	if ((t = hmap_get(d->queued, id)) != NULL) {
		t->gone = gone;
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("%s: calloc", __func__);
		return;
	}
	strlcpy(t->id, id, sizeof(t->id));
	t->gone = gone;
	if (hmap_put(d->queued, id, t, NULL) == -1) {
		free(t);
		return;
	}
	if (d->todo_tail != NULL)
		d->todo_tail->next = t;
	else
		d->todo_head = t;
	d->todo_tail = t;
}

/* Starts the next inspection when none is in flight. */
static void
docker_next(struct docker *d)
{
	struct docker_todo *t;
	char path[128];

	while (d->inspect == NULL && (t = d->todo_head) != NULL) {
		d->todo_head = t->next;
		if (d->todo_head == NULL)
			d->todo_tail = NULL;
		hmap_del(d->queued, t->id);
		if (t->gone)
			docker_forget(d, t->id, " (destroyed)");
		else {
			snprintf(path, sizeof(path), "/containers/%s/json",
			    t->id);
			d->inspect = docker_req_new(d, DOCKER_REQ_INSPECT,
			    path, t->id);
		}
		free(t);
	}
}

static void
docker_todo_clear(struct docker *d)
{
	struct docker_todo *t;

	while ((t = d->todo_head) != NULL) {
		d->todo_head = t->next;
		hmap_del(d->queued, t->id);
		free(t);
	}
	d->todo_tail = NULL;
}

int
docker_init(struct runtime *rt)
{
	struct docker *d;
	const char *path = rt->conf->docker;

	if (path == NULL || *path == '\0')
		return 0;
	if (docker != NULL)
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->rt = rt;
	d->sun.sun_family = AF_UNIX;
	if (strlcpy(d->sun.sun_path, path, sizeof(d->sun.sun_path)) >=
	    sizeof(d->sun.sun_path)) {
		log_warnx("docker: socket path too long: %s", path);
		free(d);
		return -1;
	}
	d->sunlen = (socklen_t)sizeof(d->sun);
	if ((d->socket_path = strdup(path)) == NULL ||
	    (rt->conf->docker_network != NULL && (d->network =
	    strdup(rt->conf->docker_network)) == NULL) ||
	    (d->queued = hmap_new()) == NULL ||
	    (d->known = hmap_new()) == NULL ||
	    (d->retry_ev = evtimer_new(rt->base, docker_retry_cb, d)) ==
	    NULL) {
		log_warn("%s", __func__);
		docker = d;
		docker_shutdown();
		return -1;
	}
	docker = d;
	log_info("docker: watching %s for containers%s%s", path,
	    d->network != NULL ? " on network " : "",
	    d->network != NULL ? d->network : "");
	docker_connect_events(d);
	return 0;
}

void
docker_shutdown(void)
{
	struct docker *d = docker;

	if (d == NULL)
		return;
	docker_req_free(d->events);
	docker_req_free(d->list);
	docker_req_free(d->inspect);
	docker_todo_clear(d);
	if (d->retry_ev != NULL)
		event_free(d->retry_ev);
	hmap_free(d->queued, NULL);
	hmap_free(d->known, NULL);
	free(d->socket_path);
	free(d->network);
	free(d);
	docker = NULL;
}
