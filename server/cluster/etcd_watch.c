/* SPDX-License-Identifier: MIT */
/*
 * etcd_watch.c -- a watch over a key prefix: one streaming POST to
 * /v3/watch, whose answer is one JSON document per line (linebuf) for as
 * long as the stream lives. The watch remembers the revision of the last
 * event it delivered; when the stream breaks (a member died, a timeout)
 * it opens again after a pause from the revision after it, on whichever
 * member answers, so no change is lost or seen twice. A start revision
 * that the store compacted away stops the watch with
 * ETCD_WATCH_COMPACTED: its owner reads everything again.
 */
#include "config.h"

#include <sys/queue.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "util.h"
#include "log.h"
#include "linebuf.h"
#include "http_client.h"
#include "etcd.h"
#include "etcd_int.h"

/* Longest line of the stream: one batch of events. */
#define ETCD_WATCH_MAX_LINE	(64u * 1024 * 1024)

struct etcd_watch {
	LIST_ENTRY(etcd_watch)	 entry;
	struct etcd		*e;
	char			*prefix;
	size_t			 prefixlen;
	int64_t			 start_rev;	/* of the next stream */
	int64_t			 rev;		/* last delivered */
	uint64_t		 retry_ms;
	struct http_client_req	*http;
	struct event		*retry;
	struct linebuf		 lb;
	etcd_watch_event_cb	*event_cb;
	etcd_watch_state_cb	*state_cb;
	void			*arg;
	bool			 busy;		/* inside a callback */
	bool			 dead;		/* stopped from a callback */
	bool			 compacted;
};

static int	etcd_watch_open(struct etcd_watch *);
static void	etcd_watch_free(struct etcd_watch *);

int64_t
etcd_watch_revision(const struct etcd_watch *w)
{
	return w->rev;
}

/* One document of the stream. Returns -1 to stop reading it. */
static int
etcd_watch_line(const char *line, size_t len, void *arg)
{
	struct etcd_watch *w = arg;
	json_t *j, *res, *evs, *ev;
	json_error_t je;
	struct etcd_kv kv;
	const char *type;
	int64_t compact, hrev;
	size_t i;

	if (w->dead)
		return -1;
	if (len == 0)
		return 0;
	if ((j = json_loadb(line, len, 0, &je)) == NULL) {
		log_warnx("etcd: watch: a line that is not JSON: %s", je.text);
		return -1;
	}
	if ((res = json_object_get(j, "result")) == NULL) {
		type = json_string_value(json_object_get(json_object_get(j,
		    "error"), "message"));
		log_warnx("etcd: watch: %s", type != NULL ? type :
		    "an answer without a result");
		json_decref(j);
		return -1;
	}
	hrev = etcd_json_i64(json_object_get(json_object_get(res, "header"),
	    "revision"));
	compact = etcd_json_i64(json_object_get(res, "compact_revision"));
	if (compact > 0) {
		w->compacted = true;
		json_decref(j);
		log_info("etcd: watch from revision %" PRId64 ": compacted "
		    "up to %" PRId64, w->start_rev, compact);
		w->state_cb(ETCD_WATCH_COMPACTED, compact, w->arg);
		return -1;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		/* From now on: what comes next is after the header's. */
		if (w->start_rev == 0 && w->rev == 0)
			w->rev = hrev;
		w->state_cb(ETCD_WATCH_UP, w->rev, w->arg);
	}
	evs = json_object_get(res, "events");
	json_array_foreach(evs, i, ev) {
		if (w->dead)
			break;
		if (etcd_kv_parse(json_object_get(ev, "kv"), &kv) != 0) {
			log_warnx("etcd: watch: an event without a key");
			continue;
		}
		type = json_string_value(json_object_get(ev, "type"));
		if (kv.mod_revision > w->rev)
			w->rev = kv.mod_revision;
		w->event_cb(type != NULL && strcmp(type, "DELETE") == 0 ?
		    ETCD_DELETE : ETCD_PUT, &kv, w->arg);
		free(kv.key);
		free(kv.value);
	}
	json_decref(j);
	return w->dead ? -1 : 0;
}

static void
etcd_watch_body_cb(const char *data, size_t len, void *arg)
{
	struct etcd_watch *w = arg;
	int rc;

	w->busy = true;
	rc = linebuf_feed(&w->lb, data, len, etcd_watch_line, w);
	w->busy = false;
	if (w->dead) {
		etcd_watch_free(w);
		return;
	}
	if (rc != 0) {
		/* Stop this stream; done_cb is not called after cancel. */
		http_client_cancel(w->http);
		w->http = NULL;
		if (!w->compacted) {
			w->busy = true;
			w->state_cb(ETCD_WATCH_BROKEN, w->rev, w->arg);
			w->busy = false;
			if (w->dead) {
				etcd_watch_free(w);
				return;
			}
			evtimer_add(w->retry, ms_to_tv(w->retry_ms,
			    &(struct timeval){ 0 }));
		}
	}
}

static void
etcd_watch_done_cb(long status, const char *body, size_t len,
    const char *error, void *arg)
{
	struct etcd_watch *w = arg;
	struct timeval tv;

	w->http = NULL;
	log_debug("etcd: watch stream ended (%ld): %s", status,
	    error != NULL ? error : "closed");
	/* The owner may stop w from either callback. */
	w->busy = true;
	etcd_note(w->e, status, error);
	if (!w->dead && !w->compacted)
		w->state_cb(ETCD_WATCH_BROKEN, w->rev, w->arg);
	w->busy = false;
	if (w->dead) {
		etcd_watch_free(w);
		return;
	}
	if (!w->compacted)
		evtimer_add(w->retry, ms_to_tv(w->retry_ms, &tv));
}

static void
etcd_watch_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_watch *w = arg;
	struct timeval tv;

	if (etcd_watch_open(w) != 0)
		evtimer_add(w->retry, ms_to_tv(w->retry_ms, &tv));
}

static int
etcd_watch_open(struct etcd_watch *w)
{
	struct http_client_opts o = { 0 };
	json_t *cr, *b;
	char *end, *body;
	size_t endlen;
	int64_t from;

	linebuf_clear(&w->lb);
	from = w->rev > 0 ? w->rev + 1 : w->start_rev;
	w->start_rev = from;
	if ((end = etcd_prefix_end(w->prefix, w->prefixlen, &endlen)) == NULL)
		return -1;
	cr = json_pack("{s:o,s:o}", "key", etcd_json_b64(w->prefix,
	    w->prefixlen), "range_end", etcd_json_b64(end, endlen));
	free(end);
	if (cr != NULL && from > 0 && json_object_set_new(cr,
	    "start_revision", etcd_json_num(from)) != 0) {
		json_decref(cr);
		cr = NULL;
	}
	if (cr == NULL || (b = json_pack("{s:o}", "create_request", cr)) ==
	    NULL)
		return -1;
	body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	if (body == NULL)
		return -1;
	etcd_http_opts(w->e, &o);
	o.url = "/v3/watch";
	o.keepalive_s = 5;	/* a member gone silent ends the stream */
	o.post = body;
	o.post_len = strlen(body);
	o.body_cb = etcd_watch_body_cb;
	o.done_cb = etcd_watch_done_cb;
	o.arg = w;
	w->http = http_client_get(w->e->http, &o);
	free(body);
	return w->http != NULL ? 0 : -1;
}

struct etcd_watch *
etcd_watch_start(struct etcd *e, const char *prefix, size_t prefixlen,
    int64_t start_rev, uint64_t retry_ms, etcd_watch_event_cb *event_cb,
    etcd_watch_state_cb *state_cb, void *arg)
{
	struct etcd_watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->prefix = malloc(prefixlen + 1)) == NULL) {
		free(w);
		log_warn("%s", __func__);
		return NULL;
	}
	memcpy(w->prefix, prefix, prefixlen);
	w->prefix[prefixlen] = '\0';
	w->prefixlen = prefixlen;
	w->e = e;
	w->start_rev = start_rev;
	w->rev = start_rev > 0 ? start_rev - 1 : 0;
	w->retry_ms = retry_ms;
	w->event_cb = event_cb;
	w->state_cb = state_cb;
	w->arg = arg;
	linebuf_init(&w->lb, ETCD_WATCH_MAX_LINE);
	LIST_INSERT_HEAD(&e->watches, w, entry);
	if ((w->retry = evtimer_new(e->base, etcd_watch_retry_cb, w)) ==
	    NULL || etcd_watch_open(w) != 0) {
		log_warnx("%s: cannot start the watch", __func__);
		etcd_watch_free(w);
		return NULL;
	}
	return w;
}

static void
etcd_watch_free(struct etcd_watch *w)
{
	LIST_REMOVE(w, entry);
	http_client_cancel(w->http);
	if (w->retry != NULL)
		event_free(w->retry);
	linebuf_clear(&w->lb);
	free(w->prefix);
	free(w);
}

void
etcd_watch_stop(struct etcd_watch *w)
{
	if (w == NULL)
		return;
	if (w->busy) {
		/* Freed once the line being read is done with. */
		w->dead = true;
		return;
	}
	etcd_watch_free(w);
}
