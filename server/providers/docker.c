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
 *
 * A container labelled clusterip.io/service (docker_svc.h) also defines
 * that Service, owned by Docker under the id "ns/name" (container ids
 * hold no '/'): the Service lives while one running container defines
 * it. The first container's definition is kept; a container that
 * defines the same Service differently is warned about, not followed.
 * When the defining container goes, the oldest one left defines it.
 *
 * The requests are libcurl's (http_client.h), on the daemon's loop: the
 * event stream's body is split into lines as it arrives, each line one
 * JSON message; a list or inspect reply is read whole, then parsed.
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

#include <event2/event.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "conf.h"
#include "registry.h"
#include "runtime.h"
#include "http_client.h"
#include "linebuf.h"
#include "docker_pod.h"
#include "docker_svc.h"
#include "docker.h"

#define DOCKER_BACKOFF_MIN_MS	1000
#define DOCKER_BACKOFF_MAX_MS	30000
#define DOCKER_REQ_TIMEOUT_MS	10000
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
	struct http_client_req	*http;		/* NULL once done */
	struct linebuf		 lines;		/* EVENTS: one message each */
	char			 id[DOCKER_ID_MAX + 1];	/* INSPECT */
};

/* A container id waiting to be inspected. */
struct docker_todo {
	struct docker_todo	*next;
	char			 id[DOCKER_ID_MAX + 1];
	bool			 gone;	/* destroyed: no inspect */
};

/* A container that is a pod. */
struct docker_ctr {
	char			 id[DOCKER_ID_MAX + 1];
	char			 name[64];	/* its pod's, for messages */
	uint64_t		 seq;		/* order of arrival */
	bool			 ready;		/* as last applied */
	bool			 has_svc;	/* its labels define svc */
	struct docker_svc	 svc;
};

/* A Service that containers' labels define. */
struct docker_def {
	char			 key[130];	/* "ns/name", the owner id */
	char			 definer[DOCKER_ID_MAX + 1];
	struct docker_svc	 svc;		/* the definer's */
	size_t			 nctrs;		/* containers naming it */
	bool			 refused;	/* by the registry, last time */
};

struct docker {
	struct runtime		*rt;
	char			*socket_path;
	char			*network;
	struct http_client	*http;
	struct docker_req	*events;
	struct docker_req	*list;
	struct docker_req	*inspect;	/* the one in flight */
	struct docker_todo	*todo_head, *todo_tail;
	struct hmap		*queued;	/* id -> todo, to dedup */
	struct hmap		*known;		/* id -> docker_ctr */
	struct hmap		*defs;		/* "ns/name" -> docker_def */
	uint64_t		 seq;
	struct event		*retry_ev;
	uint64_t		 backoff_ms;
	bool			 connected;	/* stream healthy */
};

static struct docker *docker;

static struct docker_req *docker_req_new(struct docker *,
		    enum docker_req_kind, const char *, const char *);
static void	docker_req_free(struct docker_req *);
static void	docker_events_head_cb(long, void *);
static void	docker_events_body_cb(const char *, size_t, void *);
static int	docker_event_line_cb(const char *, size_t, void *);
static void	docker_done_cb(long, const char *, size_t, const char *,
		    void *);
static void	docker_req_fail(struct docker_req *, const char *);
static void	docker_connect_events(struct docker *);
static void	docker_retry_cb(evutil_socket_t, short, void *);
static void	docker_stream_broken(struct docker *, const char *);
static void	docker_start_list(struct docker *);
static void	docker_list_done(struct docker *, long, const char *, size_t);
static void	docker_inspect_done(struct docker *, const char *, long,
		    const char *, size_t);
static void	docker_enqueue(struct docker *, const char *, bool);
static void	docker_next(struct docker *);
static void	docker_forget(struct docker *, const char *, const char *);
static void	docker_todo_clear(struct docker *);
static void	docker_def_apply(struct docker *, struct docker_def *);
static void	docker_svc_attach(struct docker *, struct docker_ctr *);
static void	docker_svc_detach(struct docker *, struct docker_ctr *);
static void	docker_log_health(struct docker *, struct docker_ctr *,
		    const char *);

static struct docker_req *
docker_req_new(struct docker *d, enum docker_req_kind kind, const char *path,
    const char *id)
{
	struct http_client_opts o = { 0 };
	struct docker_req *r;
	char url[256];

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	r->d = d;
	r->kind = kind;
	if (id != NULL)
		strlcpy(r->id, id, sizeof(r->id));
	linebuf_init(&r->lines, DOCKER_MAX_EVENT);
	/* The host part only names the API; the socket is the peer. */
	snprintf(url, sizeof(url), "http://docker%s", path);
	o.url = url;
	o.unix_path = d->socket_path;
	o.connect_timeout_ms = DOCKER_REQ_TIMEOUT_MS;
	o.max_body = DOCKER_MAX_BODY;
	o.done_cb = docker_done_cb;
	o.arg = r;
	if (kind == DOCKER_REQ_EVENTS) {
		/* The event stream stays quiet for long; requests must not. */
		o.head_cb = docker_events_head_cb;
		o.body_cb = docker_events_body_cb;
	} else
		o.timeout_ms = DOCKER_REQ_TIMEOUT_MS;
	if ((r->http = http_client_get(d->http, &o)) == NULL) {
		free(r);
		return NULL;
	}
	log_debug("docker: GET %s", path);
	return r;
}

/* Cancels r's request, if still running, and frees r. Accepts NULL. */
static void
docker_req_free(struct docker_req *r)
{
	if (r == NULL)
		return;
	http_client_cancel(r->http);
	linebuf_clear(&r->lines);
	free(r);
}

/* The event stream's head: the stream runs, so list what is running. */
static void
docker_events_head_cb(long status, void *arg)
{
	struct docker_req *r = arg;
	struct docker *d = r->d;

	if (status != 200) {
		docker_req_fail(r, "events refused");
		return;
	}
	d->connected = true;
	d->backoff_ms = 0;
	log_info("docker: following %s", d->socket_path);
	docker_start_list(d);
}

/* Event stream bytes: one JSON message per line. */
static void
docker_events_body_cb(const char *data, size_t len, void *arg)
{
	struct docker_req *r = arg;
	struct docker *d = r->d;
	int rc;

	rc = linebuf_feed(&r->lines, data, len, docker_event_line_cb, d);
	if (rc != 0) {
		docker_req_fail(r, rc == ERR_NOMEM ? "out of memory" :
		    "event message too long");
		return;
	}
	docker_next(d);
}

static int
docker_event_line_cb(const char *line, size_t len, void *arg)
{
	struct docker *d = arg;
	enum docker_event_kind kind;
	char id[DOCKER_ID_MAX + 1];

	kind = docker_event_parse(line, len, id);
	if (kind != DOCKER_EVENT_IGNORE) {
		log_debug("docker: event on %.12s%s", id,
		    kind == DOCKER_EVENT_GONE ? " (destroyed)" : "");
		docker_enqueue(d, id, kind == DOCKER_EVENT_GONE);
	}
	return 0;
}

/* A request ended: its http_client_req is freed when this returns. */
static void
docker_done_cb(long status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct docker_req *r = arg;
	struct docker *d = r->d;

	r->http = NULL;
	if (r->kind == DOCKER_REQ_EVENTS) {
		docker_req_fail(r, error != NULL ? error :
		    "event stream ended");
		return;
	}
	if (error != NULL) {
		docker_req_fail(r, error);
		return;
	}
	if (r->kind == DOCKER_REQ_LIST) {
		d->list = NULL;
		docker_list_done(d, status, body, len);
	} else {
		d->inspect = NULL;
		docker_inspect_done(d, r->id, status, body, len);
	}
	docker_req_free(r);
	docker_next(d);
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
	evtimer_add(d->retry_ev, ms_to_tv(d->backoff_ms, &tv));
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
docker_list_done(struct docker *d, long status, const char *body, size_t len)
{
	struct hmap *listed;
	struct hmap_iter it;
	const char *id;
	char **ids, **stale = NULL;
	size_t nids, i, nstale = 0;
	void *v;

	if (status != 200 || docker_list_ids(body, len, &ids, &nids) != 0) {
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
	struct docker_ctr *c;

	if ((c = hmap_del(d->known, id)) == NULL)
		return;
	log_info("docker: container %.12s gone%s", id, why);
	registry_remove_owner(d->rt->reg, &o);
	if (c->has_svc)
		docker_svc_detach(d, c);
	free(c);
}

/* Applies the Service def holds; says so when that changes the verdict. */
static void
docker_def_apply(struct docker *d, struct docker_def *def)
{
	struct owner o = { OWNER_DOCKER, def->key };
	struct objset set = { 0 };
	struct service *s;
	char err[512];

	if ((s = docker_svc_build(&def->svc)) == NULL ||
	    objset_add_service(&set, s) != 0) {
		log_warnx("docker: service %s: out of memory", def->key);
		service_free(s);
		return;
	}
	if (registry_apply(d->rt->reg, &o, &set, REGISTRY_REPLACE, err,
	    sizeof(err)) != 0) {
		if (!def->refused)
			log_warnx("docker: service %s of container %.12s "
			    "refused: %s", def->key, def->definer, err);
		def->refused = true;
	} else if (def->refused) {
		log_info("docker: service %s of container %.12s now applied",
		    def->key, def->definer);
		def->refused = false;
	}
	objset_clear(&set);
}

/* Container c names a Service in its labels: define it or join it. */
static void
docker_svc_attach(struct docker *d, struct docker_ctr *c)
{
	struct docker_def *def;
	struct docker_ctr *first;
	char key[130], diff[600];

	snprintf(key, sizeof(key), "%s/%s", c->svc.ns, c->svc.name);
	if ((def = hmap_get(d->defs, key)) == NULL) {
		if ((def = calloc(1, sizeof(*def))) == NULL) {
			log_warn("%s: calloc", __func__);
			c->has_svc = false;
			return;
		}
		strlcpy(def->key, key, sizeof(def->key));
		strlcpy(def->definer, c->id, sizeof(def->definer));
		def->svc = c->svc;
		if (hmap_put(d->defs, key, def, NULL) == -1) {
			free(def);
			c->has_svc = false;
			return;
		}
		log_info("docker: container %s (%.12s) defines service %s",
		    c->name, c->id, key);
	} else if (!docker_svc_equal(&def->svc, &c->svc)) {
		first = hmap_get(d->known, def->definer);
		docker_svc_diff(&def->svc, &c->svc, diff, sizeof(diff));
		log_warnx("docker: container %s (%.12s) defines service %s "
		    "with %s; keeping the definition of container %s "
		    "(%.12s)", c->name, c->id, key, diff,
		    first != NULL ? first->name : "?", def->definer);
	}
	def->nctrs++;
	docker_def_apply(d, def);
}

/* Container c no longer names its Service (gone, or relabelled). */
static void
docker_svc_detach(struct docker *d, struct docker_ctr *c)
{
	struct owner o = { OWNER_DOCKER, NULL };
	struct docker_def *def;
	struct docker_ctr *next = NULL, *x;
	struct hmap_iter it;
	const char *id;
	char key[130];
	void *v;

	snprintf(key, sizeof(key), "%s/%s", c->svc.ns, c->svc.name);
	if ((def = hmap_get(d->defs, key)) == NULL)
		return;
	if (--def->nctrs == 0) {
		log_info("docker: service %s gone with its last container %s "
		    "(%.12s)", key, c->name, c->id);
		o.id = def->key;
		registry_remove_owner(d->rt->reg, &o);
		hmap_del(d->defs, key);
		free(def);
		return;
	}
	if (strcmp(def->definer, c->id) != 0)
		return;
	/* The oldest container left that names it defines it now. */
	hmap_iter_init(&it, d->known);
	while (hmap_iter_next(&it, &id, &v)) {
		x = v;
		if (x == c || !x->has_svc ||
		    strcmp(x->svc.ns, c->svc.ns) != 0 ||
		    strcmp(x->svc.name, c->svc.name) != 0)
			continue;
		if (next == NULL || x->seq < next->seq)
			next = x;
	}
	if (next == NULL)
		return;
	strlcpy(def->definer, next->id, sizeof(def->definer));
	if (!docker_svc_equal(&def->svc, &next->svc)) {
		def->svc = next->svc;
		log_info("docker: service %s now defined by container %s "
		    "(%.12s)", key, next->name, next->id);
		docker_def_apply(d, def);
	}
}

/* Readiness of container c's pod flipped: says so, naming its services. */
static void
docker_log_health(struct docker *d, struct docker_ctr *c, const char *key)
{
	const struct pod *p;
	char svcs[256] = "";
	size_t i, off = 0;
	int n;

	p = registry_find_pod_key(d->rt->reg, key);
	for (i = 0; p != NULL && i < p->nmember_of && off < sizeof(svcs);
	    i++) {
		n = snprintf(svcs + off, sizeof(svcs) - off, "%s%s",
		    i > 0 ? ", " : "", p->member_of[i]->key);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	log_info("docker: container %s (%.12s) is %s; endpoint of %s",
	    c->name, c->id, c->ready ? "ready" : "not ready",
	    svcs[0] != '\0' ? svcs : "no service");
}

static void
docker_inspect_done(struct docker *d, const char *id, long status,
    const char *body, size_t len)
{
	struct owner o = { OWNER_DOCKER, (char *)(uintptr_t)id };
	struct objset set = { 0 };
	struct docker_svc svc;
	struct docker_ctr *c;
	struct docker_def *def;
	struct pod *p = NULL;
	char err[512] = "", ip[INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 1];
	char key[300], name[64];
	bool ready, has_svc;
	int rc;

	if (status == 404) {
		docker_forget(d, id, " (no such container)");
		return;
	}
	if (status != 200) {
		log_warnx("docker: inspecting %.12s: status %ld", id,
		    status);
		return;
	}
	rc = docker_pod_from_inspect(body, len,
	    d->network, &p, err, sizeof(err));
	if (rc != 0) {
		log_warnx("docker: inspecting %.12s: %s", id, err);
		return;
	}
	if (p == NULL) {
		log_debug("docker: %s", err);
		docker_forget(d, id, "");
		return;
	}
	docker_pod_addrs(p, ip, sizeof(ip));
	snprintf(key, sizeof(key), "%s", p->key);
	snprintf(name, sizeof(name), "%s", p->name);
	ready = p->declared_ready;
	if (objset_add_pod(&set, p) != 0) {
		pod_free(p);
		return;
	}
	rc = registry_apply(d->rt->reg, &o, &set, REGISTRY_REPLACE, err,
	    sizeof(err));
	objset_clear(&set);
	if (rc != 0) {
		log_warnx("docker: container %.12s: %s", id, err);
		return;
	}
	err[0] = '\0';
	has_svc = docker_svc_from_inspect(body, len,
	    &svc, err, sizeof(err)) == 1;
	if ((c = hmap_get(d->known, id)) == NULL) {
		log_info("docker: container %.12s is pod %s at %s%s", id,
		    key, ip, ready ? "" : " (not ready)");
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    hmap_put(d->known, id, c, NULL) == -1) {
			log_warn("%s: calloc", __func__);
			free(c);
			registry_remove_owner(d->rt->reg, &o);
			return;
		}
		strlcpy(c->id, id, sizeof(c->id));
		c->seq = ++d->seq;
		c->ready = ready;
		if (!has_svc && err[0] != '\0')
			log_warnx("docker: container %s (%.12s) defines no "
			    "service: %s", name, id, err);
	} else {
		log_debug("docker: container %.12s is pod %s at %s%s", id,
		    key, ip, ready ? "" : " (not ready)");
		if (c->ready != ready) {
			c->ready = ready;
			docker_log_health(d, c, key);
		}
	}
	strlcpy(c->name, name, sizeof(c->name));
	if (c->has_svc && (!has_svc || !docker_svc_equal(&c->svc, &svc))) {
		docker_svc_detach(d, c);
		c->has_svc = false;
	}
	if (has_svc && !c->has_svc) {
		c->svc = svc;
		c->has_svc = true;
		docker_svc_attach(d, c);
	} else if (c->has_svc) {
		/* Refused before (another owner held it): try again. */
		snprintf(key, sizeof(key), "%s/%s", c->svc.ns, c->svc.name);
		if ((def = hmap_get(d->defs, key)) != NULL && def->refused &&
		    strcmp(def->definer, c->id) == 0)
			docker_def_apply(d, def);
	}
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
	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		log_warnx("docker: socket path too long: %s", path);
		free(d);
		return -1;
	}
	if ((d->socket_path = strdup(path)) == NULL ||
	    (rt->conf->docker_network != NULL && (d->network =
	    strdup(rt->conf->docker_network)) == NULL) ||
	    (d->queued = hmap_new()) == NULL ||
	    (d->known = hmap_new()) == NULL ||
	    (d->defs = hmap_new()) == NULL ||
	    (d->retry_ev = evtimer_new(rt->base, docker_retry_cb, d)) ==
	    NULL) {
		log_warn("%s", __func__);
		docker = d;
		docker_shutdown();
		return -1;
	}
	/* Its failure is logged: libcurl could not be loaded, or memory. */
	if ((d->http = http_client_new(rt->base)) == NULL) {
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
	http_client_free(d->http);
	if (d->retry_ev != NULL)
		event_free(d->retry_ev);
	hmap_free(d->queued, NULL);
	hmap_free(d->known, free);
	hmap_free(d->defs, free);
	free(d->socket_path);
	free(d->network);
	free(d);
	docker = NULL;
}
