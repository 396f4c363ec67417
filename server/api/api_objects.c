/* SPDX-License-Identifier: MIT */
/* api_objects.c -- POST /v1/apply, GET and DELETE of services, pods, endpoints. */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "util.h"
#include "log.h"
#include "selector.h"
#include "registry.h"
#include "manifest.h"
#include "objjson.h"
#include "proxymode.h"
#include "runtime.h"
#include "api_internal.h"
#include "validate.h"

/* What a list request collects before sorting. */
struct api_collect {
	const char		*ns;		/* NULL: every namespace */
	const struct selector	*sel;		/* NULL: everything */
	void			**v;
	size_t			  n, cap;
	bool			  oom;
};

static json_t	*api_result(const char *, const char *, const char *,
    const char *);
static int	 api_result_at(json_t *, const char *, uint32_t, uint32_t);
static json_t	*api_report_skips(const struct manifest_report *);
static json_t	*api_report_warnings(const struct manifest_report *);
static bool	 api_endpoints_exist(struct api *, const char *, const char *);
static void	 api_collect_add(struct api_collect *, void *);
static void	 api_collect_svc(struct service *, void *);
static void	 api_collect_pod(struct pod *, void *);
static int	 api_cmp_svc(const void *, const void *);
static int	 api_cmp_pod(const void *, const void *);
static void	 api_objects_proxy_mode(struct api *, const struct service *,
    json_t *);
static void	 api_objects_unserved(struct api *, const struct service *,
    json_t *);

/*
 * status.vipsNotServed of a service: its VIPs (another host's) that
 * cannot be reached on this host, each with the reason.
 */
static void
api_objects_unserved(struct api *api, const struct service *svc, json_t *st)
{
	const char *why4 = NULL, *why6 = NULL;
	char a[INET6_ADDRSTRLEN];
	json_t *arr;

	if (api->rt->vip_unserved == NULL)
		return;
	if (svc->vip.s_addr != 0)
		why4 = api->rt->vip_unserved(svc->key, AF_INET);
	if (!in6_is_unset(&svc->ext->vip6))
		why6 = api->rt->vip_unserved(svc->key, AF_INET6);
	if ((why4 == NULL && why6 == NULL) || (arr = json_array()) == NULL)
		return;
	if (why4 != NULL)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "ip",
		    inet_ntop(AF_INET, &svc->vip, a, sizeof(a)), "reason",
		    why4));
	if (why6 != NULL)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "ip",
		    inet_ntop(AF_INET6, &svc->ext->vip6, a, sizeof(a)), "reason",
		    why6));
	json_object_set_new(st, "vipsNotServed", arr);
}

/*
 * status.proxyMode of a service: the data path serving it, and
 * status.proxyModeReason when it stays in userspace though the kernel
 * path was asked (describe prints both).
 */
static void
api_objects_proxy_mode(struct api *api, const struct service *svc,
    json_t *doc)
{
	const char *why;
	enum proxy_mode m;
	json_t *st;

	if (doc == NULL || svc->type != SVC_CLUSTERIP)
		return;
	m = service_proxy_mode(svc, (enum proxy_mode)api->rt->proxy_mode,
	    api->rt->kernel_ok, &why);
	if ((st = json_object_get(doc, "status")) == NULL) {
		if ((st = json_object()) == NULL ||
		    json_object_set_new(doc, "status", st) != 0)
			return;
	}
	json_object_set_new(st, "proxyMode", json_string(proxy_mode_name(m)));
	if (why != NULL)
		json_object_set_new(st, "proxyModeReason", json_string(why));
	api_objects_unserved(api, svc, st);
}

static json_t *
api_result(const char *kind, const char *ns, const char *name,
    const char *action)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "kind", kind, "namespace", ns,
	    "name", name, "action", action);
}

/*
 * Adds where an applied object is ("position": "name:line:column",
 * "line", "column") when it has a position. Returns 0, or -1 with r
 * freed.
 */
static int
api_result_at(json_t *r, const char *src, uint32_t line, uint32_t col)
{
	char at[512];

	if (r == NULL)
		return -1;
	if (src == NULL || line == 0)
		return 0;
	snprintf(at, sizeof(at), "%s:%u:%u", src, line, col);
	if (json_object_set_new(r, "position", json_string(at)) != 0 ||
	    json_object_set_new(r, "line", json_integer(line)) != 0 ||
	    json_object_set_new(r, "column", json_integer(col)) != 0) {
		json_decref(r);
		return -1;
	}
	return 0;
}

/* The objects a manifest left out: kind, name, position and why. */
static json_t *
api_report_skips(const struct manifest_report *rep)
{
	const struct manifest_skip *sk;
	json_t *a, *o;
	char msg[1024];
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < rep->nskips; i++) {
		sk = &rep->skips[i];
		manifest_skip_format(sk, msg, sizeof(msg));
		o = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:s,s:i,s:i,s:s}",
		    "kind", sk->kind, "apiVersion", sk->api_version,
		    "namespace", sk->ns, "name", sk->name, "reason",
		    sk->reason, "position", sk->where, "line",
		    (json_int_t)sk->line, "column", (json_int_t)sk->col,
		    "message", msg);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Unknown fields, as kubectl's field validation warns of them. */
static json_t *
api_report_warnings(const struct manifest_report *rep)
{
	const struct manifest_warning *w;
	json_t *a, *o;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < rep->nwarns; i++) {
		w = &rep->warns[i];
		o = json_pack("{s:s,s:i,s:i,s:s}", "position", w->where,
		    "line", (json_int_t)w->line, "column", (json_int_t)w->col,
		    "message", w->msg);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	if (rep->nwarns_dropped > 0) {
		o = json_pack("{s:s}", "message", "more unknown fields not "
		    "listed");
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

struct api_ep_find {
	const char	*key;
	bool		 found;
};

static void
api_ep_find_cb(struct pod *pod, void *arg)
{
	struct api_ep_find *f = arg;

	if (pod->endpoints_of != NULL && strcmp(pod->endpoints_of, f->key) == 0)
		f->found = true;
}

static bool
api_endpoints_exist(struct api *api, const char *ns, const char *name)
{
	struct api_ep_find f;
	char key[API_NS_MAX + API_NAME_MAX + 8];

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	f.key = key;
	f.found = false;
	registry_foreach_pod(api->rt->reg, api_ep_find_cb, &f);
	return f.found;
}

/*
 * The verdict kubectl prints for an object about to be applied:
 * created, configured, or unchanged (the declared parts are equal).
 */
static const char *
api_svc_action(struct api *api, const struct service *svc)
{
	const struct service *old;
	json_t *a, *b;
	bool same;

	old = registry_find_service(api->rt->reg, svc->ns, svc->name);
	if (old == NULL)
		return "created";
	a = objjson_service(old, OBJJSON_MANIFEST);
	b = objjson_service(svc, OBJJSON_MANIFEST);
	same = a != NULL && b != NULL && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same ? "unchanged" : "configured";
}

static const char *
api_pod_action(struct api *api, const struct pod *pod)
{
	const struct pod *old;
	json_t *a, *b;
	bool same;

	old = registry_find_pod(api->rt->reg, pod->ns, pod->name);
	if (old == NULL)
		return "created";
	a = objjson_pod(old, OBJJSON_MANIFEST);
	b = objjson_pod(pod, OBJJSON_MANIFEST);
	same = a != NULL && b != NULL && json_equal(a, b) &&
	    !api_lease_held(api, pod->key);
	json_decref(a);
	json_decref(b);
	return same ? "unchanged" : "configured";
}

/*
 * The name errors cite: ?filename= (what the client read the body
 * from, printable, at most 200 bytes), else "request".
 */
static void
api_apply_name(struct evhttp_request *req, char *buf, size_t len)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq query;
	const char *q, *v;
	size_t i;

	strlcpy(buf, "request", len);
	TAILQ_INIT(&query);
	q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (q == NULL || evhttp_parse_query_str(q, &query) != 0)
		goto out;
	if ((v = evhttp_find_header(&query, "filename")) == NULL ||
	    *v == '\0' || strlen(v) > 200)
		goto out;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			goto out;
	strlcpy(buf, v, len);
out:
	evhttp_clear_headers(&query);
}

void
api_objects_apply(struct api *api, struct evhttp_request *req)
{
	struct objset set;
	struct manifest_report rep;
	json_t *results = NULL, *skipped = NULL, *warnings = NULL, *r;
	char err[1024], name[256], **podkeys = NULL;
	char *body;
	size_t len, i, npodkeys = 0;
	int rc, code;

	memset(&set, 0, sizeof(set));
	memset(&rep, 0, sizeof(rep));
	if ((body = api_request_body(req, &len)) == NULL)
		return;
	api_apply_name(req, name, sizeof(name));
	if (manifest_parse_buf(body, len, name, &set, &rep, err,
	    sizeof(err)) != 0) {
		api_reply_error(req, 400, "%s", err);
		goto out;
	}
	if (set.nsvcs + set.npods + set.neps + rep.nskips == 0) {
		api_reply_error(req, 400, "the request holds no object");
		goto out;
	}
	if ((skipped = api_report_skips(&rep)) == NULL ||
	    (warnings = api_report_warnings(&rep)) == NULL ||
	    (results = json_array()) == NULL ||
	    (set.npods > 0 &&
	    (podkeys = calloc(set.npods, sizeof(*podkeys))) == NULL))
		goto nomem;
	for (i = 0; i < set.nsvcs; i++) {
		r = api_result("Service", set.svcs[i]->ns, set.svcs[i]->name,
		    api_svc_action(api, set.svcs[i]));
		if (api_result_at(r, set.src, set.svcs[i]->line,
		    set.svcs[i]->col) != 0 ||
		    json_array_append_new(results, r) != 0)
			goto nomem;
	}
	for (i = 0; i < set.npods; i++) {
		r = api_result("Pod", set.pods[i]->ns, set.pods[i]->name,
		    api_pod_action(api, set.pods[i]));
		if (api_result_at(r, set.src, set.pods[i]->line,
		    set.pods[i]->col) != 0 ||
		    json_array_append_new(results, r) != 0 ||
		    (podkeys[npodkeys++] = strdup(set.pods[i]->key)) == NULL)
			goto nomem;
	}
	for (i = 0; i < set.neps; i++) {
		/* Several subsets of one object arrive as several entries. */
		if (i > 0 && strcmp(set.eps[i]->ns, set.eps[i - 1]->ns) == 0 &&
		    strcmp(set.eps[i]->name, set.eps[i - 1]->name) == 0)
			continue;
		r = api_result("Endpoints", set.eps[i]->ns, set.eps[i]->name,
		    api_endpoints_exist(api, set.eps[i]->ns,
		    set.eps[i]->name) ? "configured" : "created");
		if (api_result_at(r, set.src, set.eps[i]->line,
		    set.eps[i]->col) != 0 ||
		    json_array_append_new(results, r) != 0)
			goto nomem;
	}
	rc = registry_apply(api->rt->reg, &api->owner, &set, REGISTRY_MERGE,
	    err, sizeof(err));
	if (rc != 0) {
		switch (rc) {
		case ERR_CONFLICT: code = 409; break;
		case ERR_INVAL: code = 400; break;
		case ERR_EXHAUSTED: code = 507; break;
		default: code = 500; break;
		}
		api_reply_error(req, code, "%s", err);
		goto out;
	}
	/* A pod applied as an object is no longer a lease. */
	for (i = 0; i < npodkeys; i++)
		api_lease_drop(api, podkeys[i]);
	if (api_store_save(api) != 0) {
		api_reply_error(req, 500, "applied, but the state file could "
		    "not be written (see the daemon's log)");
		goto out;
	}
	manifest_report_log(&rep, "api: ");
	json_array_foreach(results, i, r)
		log_info("api: applied %s/%s in %s: %s",
		    json_string_value(json_object_get(r, "kind")),
		    json_string_value(json_object_get(r, "name")),
		    json_string_value(json_object_get(r, "namespace")),
		    json_string_value(json_object_get(r, "action")));
	log_info("api: applied %zu object(s), skipped %zu",
	    json_array_size(results), rep.nskips);
	api_reply_durable(api, req, 200, json_pack("{s:s,s:s,s:O,s:O,s:O}",
	    "apiVersion", "v1", "kind", "ApplyResult", "items", results,
	    "skipped", skipped, "warnings", warnings), "applied, but the "
	    "state file could not be written (see the daemon's log)");
	goto out;
nomem:
	api_reply_error(req, 500, "out of memory");
out:
	for (i = 0; i < npodkeys; i++)
		free(podkeys[i]);
	free(podkeys);
	json_decref(results);
	json_decref(skipped);
	json_decref(warnings);
	objset_clear(&set);
	manifest_report_clear(&rep);
	free(body);
}

static void
api_collect_add(struct api_collect *c, void *obj)
{
	void **v;
	size_t cap;

	if (c->n == c->cap) {
		cap = c->cap ? c->cap * 2 : 32;
		if ((v = reallocarray(c->v, cap, sizeof(*v))) == NULL) {
			c->oom = true;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = obj;
}

static void
api_collect_svc(struct service *svc, void *arg)
{
	struct api_collect *c = arg;

	if ((c->ns == NULL || strcmp(c->ns, svc->ns) == 0) &&
	    (c->sel == NULL || selector_match(c->sel, &svc->labels)))
		api_collect_add(c, svc);
}

static void
api_collect_pod(struct pod *pod, void *arg)
{
	struct api_collect *c = arg;

	if ((c->ns == NULL || strcmp(c->ns, pod->ns) == 0) &&
	    (c->sel == NULL || selector_match(c->sel, &pod->labels)))
		api_collect_add(c, pod);
}

static int
api_cmp_svc(const void *a, const void *b)
{
	const struct service *x = *(struct service *const *)a;
	const struct service *y = *(struct service *const *)b;
	int c = strcmp(x->ns, y->ns);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static int
api_cmp_pod(const void *a, const void *b)
{
	const struct pod *x = *(struct pod *const *)a;
	const struct pod *y = *(struct pod *const *)b;
	int c = strcmp(x->ns, y->ns);

	return c != 0 ? c : strcmp(x->name, y->name);
}

void
api_objects_list(struct api *api, struct evhttp_request *req,
    const struct api_route *route)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq query;
	struct api_collect c;
	struct selector *sel = NULL;
	const char *q, *ns, *text, *kind;
	json_t *items = NULL, *it;
	char err[256];
	size_t i;

	memset(&c, 0, sizeof(c));
	TAILQ_INIT(&query);
	q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (q != NULL && evhttp_parse_query_str(q, &query) != 0) {
		api_reply_error(req, 400, "bad query string");
		goto out;
	}
	ns = route->ns[0] != '\0' ? route->ns : NULL;
	if (ns == NULL && (ns = evhttp_find_header(&query, "namespace")) !=
	    NULL && *ns != '\0' && !validate_dns_label(ns, strlen(ns))) {
		api_reply_error(req, 400, "invalid namespace \"%s\"", ns);
		goto out;
	}
	c.ns = ns != NULL && *ns != '\0' ? ns : NULL;
	if ((text = evhttp_find_header(&query, "labelSelector")) != NULL &&
	    *text != '\0') {
		if (selector_parse(text, &sel, err, sizeof(err)) != 0) {
			api_reply_error(req, 400, "labelSelector: %s", err);
			goto out;
		}
		c.sel = sel;
	}
	if ((items = json_array()) == NULL)
		goto nomem;
	if (route->id == API_R_PODS) {
		registry_foreach_pod(api->rt->reg, api_collect_pod, &c);
		if (c.oom)
			goto nomem;
		if (c.n > 0)
			qsort(c.v, c.n, sizeof(*c.v), api_cmp_pod);
		kind = "PodList";
	} else {
		registry_foreach_service(api->rt->reg, api_collect_svc, &c);
		if (c.oom)
			goto nomem;
		if (c.n > 0)
			qsort(c.v, c.n, sizeof(*c.v), api_cmp_svc);
		kind = route->id == API_R_SERVICES ? "ServiceList" :
		    "EndpointsList";
	}
	for (i = 0; i < c.n; i++) {
		if (route->id == API_R_PODS)
			it = objjson_pod(c.v[i], OBJJSON_STATE);
		else if (route->id == API_R_SERVICES)
			it = objjson_service(c.v[i], OBJJSON_STATE);
		else
			it = objjson_endpoints(c.v[i]);
		if (it == NULL || json_array_append_new(items, it) != 0)
			goto nomem;
	}
	api_reply_json(req, 200, objjson_list(kind, items));
	items = NULL;
	goto out;
nomem:
	api_reply_error(req, 500, "out of memory");
out:
	json_decref(items);
	selector_free(sel);
	free(c.v);
	evhttp_clear_headers(&query);
}

void
api_objects_get(struct api *api, struct evhttp_request *req,
    const struct api_route *route)
{
	struct service *svc;
	struct pod *pod;
	json_t *doc, *lease;

	if (route->id == API_R_POD) {
		pod = registry_find_pod(api->rt->reg, route->ns, route->name);
		if (pod == NULL) {
			api_reply_error(req, 404, "pod %s/%s not found",
			    route->ns, route->name);
			return;
		}
		doc = objjson_pod(pod, OBJJSON_STATE);
		lease = json_boolean(api_lease_held(api, pod->key));
		if (doc != NULL && lease != NULL)
			json_object_set_new(json_object_get(doc, "metadata"),
			    "leased", lease);
		else
			json_decref(lease);
	} else {
		svc = registry_find_service(api->rt->reg, route->ns,
		    route->name);
		if (svc == NULL) {
			api_reply_error(req, 404, "service %s/%s not found",
			    route->ns, route->name);
			return;
		}
		if (route->id == API_R_SERVICE) {
			doc = objjson_service(svc, OBJJSON_STATE);
			api_objects_proxy_mode(api, svc, doc);
		} else
			doc = objjson_endpoints(svc);
	}
	if (doc == NULL) {
		api_reply_error(req, 500, "out of memory");
		return;
	}
	api_reply_json(req, 200, doc);
}

void
api_objects_delete(struct api *api, struct evhttp_request *req,
    const struct api_route *route)
{
	enum registry_kind kind;
	char err[512], key[API_NS_MAX + API_NAME_MAX + 8];
	int rc;

	kind = route->id == API_R_POD ? REGISTRY_POD : REGISTRY_SERVICE;
	rc = registry_delete(api->rt->reg, kind, route->ns, route->name,
	    &api->owner, err, sizeof(err));
	if (rc == ERR_NOTFOUND) {
		api_reply_error(req, 404, "%s %s/%s not found",
		    kind == REGISTRY_POD ? "pod" : "service", route->ns,
		    route->name);
		return;
	}
	if (rc == ERR_CONFLICT) {
		api_reply_error(req, 409, "%s; change it there", err);
		return;
	}
	if (rc != 0) {
		api_reply_error(req, 500, "%s", err);
		return;
	}
	if (kind == REGISTRY_POD) {
		snprintf(key, sizeof(key), "%s/%s", route->ns, route->name);
		api_lease_drop(api, key);
	}
	log_info("api: deleted %s %s/%s", kind == REGISTRY_POD ? "pod" :
	    "service", route->ns, route->name);
	if (api_store_save(api) != 0) {
		api_reply_error(req, 500, "deleted, but the state file could "
		    "not be written (see the daemon's log)");
		return;
	}
	api_reply_durable(api, req, 200, api_result(kind == REGISTRY_POD ?
	    "Pod" : "Service", route->ns, route->name, "deleted"), "deleted, "
	    "but the state file could not be written (see the daemon's log)");
}
