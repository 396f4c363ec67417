/* SPDX-License-Identifier: MIT */
/*
 * api_internal.h -- what the files of the control API share: the server
 * state, the route table, the reply functions and the route handlers.
 */
#ifndef CIP_API_INTERNAL_H
#define CIP_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hmap.h"
#include "registry.h"

struct evhttp_request;
struct evkeyvalq;
struct evhttp;
struct evconnlistener;
struct listen_guard;
struct hmap;
struct runtime;

/*
 * Most bytes of a request head (request line and header lines, without
 * line ends), and of a chunked body's trailer: evhttp's limit.
 */
#define API_MAX_HEADERS_SIZE	16384

/* Longest names accepted in a path: DNS-1123 subdomain and label. */
#define API_NAME_MAX	253
#define API_NS_MAX	63

enum api_route_id {
	API_R_NONE,		/* no such route: 404 */
	API_R_HEALTHZ,		/* GET /healthz */
	API_R_READYZ,		/* GET /readyz */
	API_R_METRICS,		/* GET /metrics */
	API_R_VERSION,		/* GET /version */
	API_R_APPLY,		/* POST /v1/apply */
	API_R_SERVICES,		/* GET /v1/services[/NS] */
	API_R_SERVICE,		/* GET, DELETE /v1/services/NS/NAME */
	API_R_PODS,		/* GET /v1/pods[/NS] */
	API_R_POD,		/* GET, PUT, DELETE /v1/pods/NS/NAME */
	API_R_HEARTBEAT,	/* POST /v1/pods/NS/NAME/heartbeat */
	API_R_ENDPOINTS_LIST,	/* GET /v1/endpoints[/NS] */
	API_R_ENDPOINTS,	/* GET /v1/endpoints/NS/NAME */
};

/* Method bits, so that a route lists what it allows. */
#define API_M_GET	0x01
#define API_M_POST	0x02
#define API_M_PUT	0x04
#define API_M_DELETE	0x08
#define API_M_HEAD	0x10

struct api_route {
	enum api_route_id	 id;
	unsigned		 methods;	/* allowed API_M_* */
	char			 ns[API_NS_MAX + 1];	/* "" when absent */
	char			 name[API_NAME_MAX + 1];	/* "" when absent */
	/* A path segment is there but invalid: 400 with this reason. */
	const char		*bad;
};

/*
 * Maps a decoded request path ("/v1/pods/default/web-1") to a route,
 * checking namespace and name syntax. Pure.
 */
void	api_route_match(const char *path, struct api_route *out);
/* "GET, DELETE" for an Allow header. Returns buf. */
const char *api_route_allow(unsigned methods, char *buf, size_t len);
/*
 * True when the Authorization header value is "Bearer <token>", compared
 * in time independent of where the first difference lies.
 */
bool	api_auth_ok(const char *header, const char *token);
/*
 * Why the request with these headers is refused for framing evhttp may
 * have read otherwise than the client meant (a second Content-Length, a
 * Transfer-Encoding other than one "chunked", both), or NULL. Pure.
 */
const char *api_framing_bad(const struct evkeyvalq *);

/*
 * GET /version: {"version": PACKAGE_VERSION, "dnsListen": [the
 * dns-listen addresses], "clusterDomain": "cluster.local"}, so that a
 * client finds the daemon's DNS without reading resolv.conf. Returns a
 * new reference, or NULL on OOM.
 */
struct cip_conf;
json_t	*api_version_doc(const struct cip_conf *);

/* The running server; one per process. */
struct api {
	struct runtime		*rt;
	struct evhttp		*http;
	struct evconnlistener	*unix_listener;
	struct evconnlistener	*tcp_listener;	/* evhttp's */
	struct listen_guard	*guard;		/* of both listeners */
	char			*unix_path;
	char			*token;		/* NULL: no authentication */
	struct owner		 owner;		/* OWNER_API */
	struct hmap		*leases;	/* pod key -> struct api_lease */
	char			*state_path;	/* api-objects.json or NULL */
};

/* Replies. body is stolen. Return nothing: the request is done. */
void	api_reply_json(struct evhttp_request *, int code, json_t *body);
/*
 * Replies code and body (owned from here on) once the state files
 * submitted so far are on disk, or 500 with failmsg when one could not
 * be written. At once when nothing writes in the background.
 */
void	api_reply_durable(struct api *, struct evhttp_request *, int code,
    json_t *body, const char *failmsg);
void	api_reply_error(struct evhttp_request *, int code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/*
 * The body of req as a NUL-terminated copy (caller frees), or NULL after
 * replying with an error.
 */
char	*api_request_body(struct evhttp_request *, size_t *lenp);

/* api_objects.c: apply, list, get and delete. */
void	api_objects_apply(struct api *, struct evhttp_request *);
void	api_objects_list(struct api *, struct evhttp_request *,
    const struct api_route *);
void	api_objects_get(struct api *, struct evhttp_request *,
    const struct api_route *);
void	api_objects_delete(struct api *, struct evhttp_request *,
    const struct api_route *);

/* api_lease.c: self-registration with a TTL. */
int	api_lease_init(struct api *);
void	api_lease_shutdown(struct api *);
void	api_lease_register(struct api *, struct evhttp_request *,
    const struct api_route *);
void	api_lease_heartbeat(struct api *, struct evhttp_request *,
    const struct api_route *);
/* True when the pod key holds a lease (such pods are not persisted). */
bool	api_lease_held(struct api *, const char *pod_key);
/* Drops the lease of a pod (deleted, or applied without one). */
void	api_lease_drop(struct api *, const char *pod_key);

/* api_store.c: the state file of API-owned objects. */
/* Reads and applies the state file; a missing file is no error. */
int	api_store_load(struct api *);
/* Rewrites the state file from the registry (atomic replace). */
int	api_store_save(struct api *);

#endif
