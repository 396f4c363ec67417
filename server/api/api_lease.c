/* SPDX-License-Identifier: MIT */
/*
 * api_lease.c -- PUT /v1/pods/NS/NAME registers a pod with a TTL lease,
 * POST .../heartbeat renews it; a lease that runs out removes the pod.
 * One timer per lease. Leased pods are not written to the state file.
 * Shared through etcd, the pod's lease is etcd's: a heartbeat for a pod
 * another host registered renews it there, and this host's timer asks
 * etcd before removing a pod (its heartbeats may go to another host).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "registry.h"
#include "objjson.h"
#include "runtime.h"
#include "api_internal.h"

struct api_lease {
	struct api	*api;
	char		*ns;
	char		*name;
	char		*key;
	uint32_t	 ttl_s;
	struct event	*timer;
};

static void	api_lease_free(void *);
static void	api_lease_expire_cb(evutil_socket_t, short, void *);
static void	api_lease_arm(struct api_lease *);

static void
api_lease_free(void *arg)
{
	struct api_lease *l = arg;

	if (l == NULL)
		return;
	if (l->timer != NULL)
		event_free(l->timer);
	free(l->ns);
	free(l->name);
	free(l->key);
	free(l);
}

/* Tells the shared registry (--etcd) the pod's TTL; 0: the lease ended. */
static void
api_lease_tell(struct api *api, const char *key, uint32_t ttl_s)
{
	if (api->rt->pod_lease != NULL)
		api->rt->pod_lease(api->rt->pod_lease_arg, key, ttl_s);
}

static void
api_lease_arm(struct api_lease *l)
{
	struct timeval tv = { .tv_sec = l->ttl_s, .tv_usec = 0 };

	evtimer_add(l->timer, &tv);
	api_lease_tell(l->api, l->key, l->ttl_s);
}

/* The lease ran out: the pod goes. */
static void
api_lease_end(struct api_lease *l)
{
	struct api *api = l->api;
	char err[256];
	int rc;

	rc = registry_delete(api->rt->reg, REGISTRY_POD, l->ns, l->name,
	    &api->owner, err, sizeof(err));
	if (rc == 0)
		log_info("api: lease of pod %s expired, removed", l->key);
	else
		log_debug("api: lease of pod %s expired: %s", l->key, err);
	hmap_del(api->leases, l->key);
	api_lease_tell(api, l->key, 0);
	api_lease_free(l);
}

/* A question to the shared registry about the lease of key. */
struct api_lease_ask {
	struct api		*api;
	struct evhttp_request	*req;	/* a heartbeat to answer, or NULL */
	char			*key;
	char			 ns[API_NS_MAX + 1];
	char			 name[API_NAME_MAX + 1];
};

static void
api_lease_ask_free(struct api_lease_ask *a)
{
	free(a->key);
	free(a);
}

/* Ask again this long after etcd did not answer: the pod stays. */
#define API_LEASE_RETRY_S	5

/*
 * What etcd said when this host's timer ran out: heartbeats to another
 * host kept the lease running (wait that long again), or it ran out.
 */
static void
api_lease_left_cb(int64_t ttl_s, void *arg)
{
	struct api_lease_ask *a = arg;
	struct api_lease *l;
	struct timeval tv = { 0, 0 };

	l = hmap_get(a->api->leases, a->key);
	/* Gone, or a heartbeat here re-armed it meanwhile. */
	if (l == NULL || evtimer_pending(l->timer, NULL))
		goto out;
	if (ttl_s == 0) {
		api_lease_end(l);
		goto out;
	}
	if (ttl_s > 0) {
		log_debug("api: lease of pod %s renewed elsewhere, %" PRId64
		    " s left", l->key, ttl_s);
		tv.tv_sec = (time_t)ttl_s;
	} else
		tv.tv_sec = MINIMUM(l->ttl_s, API_LEASE_RETRY_S);
	evtimer_add(l->timer, &tv);
out:
	api_lease_ask_free(a);
}

static void
api_lease_expire_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct api_lease *l = arg;
	struct api *api = l->api;
	struct api_lease_ask *a;

	/* Shared (--etcd): the lease in etcd decides, not this timer. */
	if (api->rt->pod_lease_left != NULL &&
	    (a = calloc(1, sizeof(*a))) != NULL) {
		a->api = api;
		if ((a->key = strdup(l->key)) != NULL &&
		    api->rt->pod_lease_left(api->rt->pod_lease_arg, l->key,
		    api_lease_left_cb, a) == 0)
			return;
		api_lease_ask_free(a);
	}
	api_lease_end(l);
}

int
api_lease_init(struct api *api)
{
	if ((api->leases = hmap_new()) == NULL) {
		log_warnx("api: out of memory");
		return -1;
	}
	return 0;
}

void
api_lease_shutdown(struct api *api)
{
	hmap_free(api->leases, api_lease_free);
	api->leases = NULL;
}

bool
api_lease_held(struct api *api, const char *pod_key)
{
	return api->leases != NULL && hmap_get(api->leases, pod_key) != NULL;
}

void
api_lease_drop(struct api *api, const char *pod_key)
{
	struct api_lease *l;

	if (api->leases == NULL ||
	    (l = hmap_del(api->leases, pod_key)) == NULL)
		return;
	if (evtimer_pending(l->timer, NULL))
		api_lease_tell(api, l->key, 0);
	api_lease_free(l);
}

void
api_lease_register(struct api *api, struct evhttp_request *req,
    const struct api_route *route)
{
	struct api_lease *l = NULL;
	struct objset set;
	struct pod *pod = NULL, *old;
	json_t *doc;
	char err[1024], *body;
	uint32_t ttl_s;
	size_t len;
	bool created, persisted;
	int rc;

	memset(&set, 0, sizeof(set));
	if ((body = api_request_body(req, &len)) == NULL)
		return;
	rc = objjson_parse_registration(body, len, route->ns, route->name,
	    &pod, &ttl_s, err, sizeof(err));
	free(body);
	if (rc == ERR_NOMEM)
		goto nomem;
	if (rc != 0) {
		api_reply_error(req, 400, "%s", err);
		return;
	}
	old = registry_find_pod(api->rt->reg, route->ns, route->name);
	created = old == NULL;
	/* An applied (persisted) pod turning into a lease leaves the file. */
	persisted = old != NULL && old->owner.kind == OWNER_API &&
	    !api_lease_held(api, pod->key);
	if ((l = hmap_get(api->leases, pod->key)) == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL ||
		    (l->ns = strdup(route->ns)) == NULL ||
		    (l->name = strdup(route->name)) == NULL ||
		    (l->key = strdup(pod->key)) == NULL ||
		    (l->timer = evtimer_new(api->rt->base, api_lease_expire_cb,
		    l)) == NULL) {
			api_lease_free(l);
			goto nomem;
		}
		l->api = api;
		if (hmap_put(api->leases, l->key, l, NULL) != 0) {
			api_lease_free(l);
			goto nomem;
		}
	}
	if (objset_add_pod(&set, pod) != 0) {
		pod_free(pod);
		pod = NULL;
		goto undo_nomem;
	}
	pod = NULL;
	rc = registry_apply(api->rt->reg, &api->owner, &set, REGISTRY_MERGE,
	    err, sizeof(err));
	objset_clear(&set);
	if (rc != 0) {
		/* A lease that existed before keeps running unchanged. */
		if (!evtimer_pending(l->timer, NULL))
			api_lease_drop(api, l->key);
		api_reply_error(req, rc == ERR_CONFLICT ? 409 : 400, "%s",
		    err);
		return;
	}
	l->ttl_s = ttl_s;
	api_lease_arm(l);
	log_info("api: pod %s registered, lease %us", l->key, ttl_s);
	if (persisted && api_store_save(api) != 0)
		log_warnx("api: state file not updated");
	doc = objjson_pod(registry_find_pod(api->rt->reg, route->ns,
	    route->name), OBJJSON_STATE);
	if (doc == NULL)
		goto nomem;
	json_object_set_new(json_object_get(doc, "metadata"), "leased",
	    json_true());
	json_object_set_new(doc, "ttlSeconds", json_integer(ttl_s));
	api_reply_json(req, created ? 201 : 200, doc);
	return;
undo_nomem:
	if (!evtimer_pending(l->timer, NULL))
		api_lease_drop(api, l->key);
nomem:
	pod_free(pod);
	api_reply_error(req, 500, "out of memory");
}

static void
api_lease_renewed_cb(int64_t ttl_s, void *arg)
{
	struct api_lease_ask *a = arg;

	if (ttl_s > 0) {
		log_debug("api: lease of pod %s renewed in etcd for %" PRId64
		    " s", a->key, ttl_s);
		api_reply_json(a->req, 200, json_pack("{s:s,s:s,s:I}",
		    "namespace", a->ns, "name", a->name, "ttlSeconds",
		    (json_int_t)ttl_s));
	} else if (ttl_s == 0)
		api_reply_error(a->req, 404, "pod %s holds no lease (expired "
		    "or never registered)", a->key);
	else
		api_reply_error(a->req, 503, "pod %s: etcd did not answer; "
		    "its lease is unchanged", a->key);
	api_lease_ask_free(a);
}

/*
 * A heartbeat for a pod host registered: renewed in etcd, answered
 * once etcd has (evhttp keeps req until then). 0, or -1: not sent.
 */
static int
api_lease_renew_remote(struct api *api, struct evhttp_request *req,
    const struct api_route *route, const char *key, const char *host)
{
	struct api_lease_ask *a;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->key = strdup(key)) == NULL) {
		free(a);
		return -1;
	}
	a->api = api;
	a->req = req;
	strlcpy(a->ns, route->ns, sizeof(a->ns));
	strlcpy(a->name, route->name, sizeof(a->name));
	if (api->rt->pod_renew(api->rt->pod_lease_arg, key, host,
	    api_lease_renewed_cb, a) != 0) {
		api_lease_ask_free(a);
		return -1;
	}
	return 0;
}

void
api_lease_heartbeat(struct api *api, struct evhttp_request *req,
    const struct api_route *route)
{
	struct api_lease *l;
	struct pod *pod;
	char key[API_NS_MAX + API_NAME_MAX + 8];

	snprintf(key, sizeof(key), "%s/%s", route->ns, route->name);
	if ((l = hmap_get(api->leases, key)) == NULL) {
		pod = registry_find_pod(api->rt->reg, route->ns, route->name);
		/* Registered on another host: its lease is in etcd. */
		if (pod != NULL && pod->owner.kind == OWNER_ETCD &&
		    pod->owner.id != NULL && api->rt->pod_renew != NULL &&
		    api_lease_renew_remote(api, req, route, key,
		    pod->owner.id) == 0)
			return;
		api_reply_error(req, 404, "pod %s holds no lease (expired or "
		    "never registered)", key);
		return;
	}
	pod = registry_find_pod(api->rt->reg, route->ns, route->name);
	if (pod == NULL || pod->owner.kind != OWNER_API) {
		api_lease_drop(api, key);
		api_reply_error(req, 404, "pod %s holds no lease", key);
		return;
	}
	api_lease_arm(l);
	log_debug("api: lease of pod %s renewed for %us", key, l->ttl_s);
	api_reply_json(req, 200, json_pack("{s:s,s:s,s:I}", "namespace",
	    route->ns, "name", route->name, "ttlSeconds",
	    (json_int_t)l->ttl_s));
}
