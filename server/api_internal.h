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

struct bufferevent;
struct event_base;
struct evbuffer;
struct evhttp_request;
struct evhttp;
struct evconnlistener;
struct hmap;
struct runtime;

/*
 * Most bytes (request line and header lines, without line ends) and most
 * header lines of a request head.
 */
#define API_MAX_HEADERS_SIZE	16384
#define API_MAX_HEADERS		100

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
	struct event		*accept_ev;	/* resumes accepting */
	char			*unix_path;
	char			*token;		/* NULL: no authentication */
	struct owner		 owner;		/* OWNER_API */
	struct hmap		*leases;	/* pod key -> struct api_lease */
	char			*state_path;	/* api-objects.json or NULL */
	uint64_t		 max_body;	/* bytes; the guard's limit */
	struct ptab		 conns;		/* struct api_conn, by bev */
	/* Sockets read to their end after a refusal (api_guard.c). */
	struct ptab		 lingers;	/* struct api_linger */
	uint64_t		 linger_ms;
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

/*
 * api_guard.c: the request limits, enforced on each connection's input
 * before evhttp parses it (see the comment atop api_guard.c).
 */
enum api_guard_phase {
	API_GUARD_P_LINE1,	/* the request line */
	API_GUARD_P_HEADERS,
	API_GUARD_P_BODY,	/* Content-Length body: left bytes */
	API_GUARD_P_CHUNK_SIZE,
	API_GUARD_P_CHUNK_DATA,	/* left bytes of a chunk */
	API_GUARD_P_TRAILER,
	API_GUARD_P_WAIT,	/* request complete, its handler not run */
	API_GUARD_P_SKIP,	/* everything dropped until the close */
};

enum api_guard_why {
	API_GUARD_W_OK,
	API_GUARD_W_BODY,	/* 413 */
	API_GUARD_W_URI,	/* 414 */
	API_GUARD_W_HEAD,	/* 431 */
	API_GUARD_W_FRAMING,	/* 400: Content-Length, Transfer-Encoding */
	API_GUARD_W_CHUNK,	/* 400: chunked body */
	API_GUARD_W_REQLINE,	/* 400: request line */
	API_GUARD_W_METHOD,	/* 501: unknown method, CONNECT */
	API_GUARD_W_HEADER,	/* 400: header line */
	API_GUARD_W_EXPECT,	/* 417 */
	API_GUARD_W_NOMEM,	/* 500 */
};

/* The guard of one connection. */
struct api_guard {
	enum api_guard_phase	 phase;
	size_t			 pos;	/* input bytes passed, not consumed */
	uint64_t		 left;	/* of the body or chunk */
	uint64_t		 body;	/* chunked body so far */
	size_t			 head;	/* head bytes so far */
	size_t			 nheaders;
	bool			 may_have_body;	/* by the method */
	bool			 drop;	/* the body is dropped (refused) */
	bool			 handled;	/* the handler ran */
	bool			 withheld_last;	/* last line was framing */
	bool			 framing_bad;
	bool			 chunked;
	bool			 cl_bad;
	bool			 busy;	/* changing the buffer itself */
	bool			 http11;	/* HTTP/1.1 (not 1.0) */
	bool			 expect_seen, expect_ok;	/* first Expect */
	bool			 expect_last;	/* last passed line is it */
	size_t			 npassed;	/* header lines passed */
	unsigned		 ncl, nte;	/* framing lines seen */
	uint64_t		 cl;	/* Content-Length */
	int			 status;	/* 0, or the answer's */
	enum api_guard_why	 why;
	bool			 close;	/* close after the answer */
	size_t			 max_head;	/* <= API_MAX_HEADERS_SIZE */
	size_t			 max_headers;
	uint64_t		 max_body;
};

/* A guard at the start of a connection, with its limits. */
void	api_guard_init(struct api_guard *, size_t max_head,
    size_t max_headers, uint64_t max_body);
/* evhttp removed n bytes from the front of the input buffer. */
void	api_guard_consumed(struct api_guard *, size_t n);
/*
 * Looks at the input buffer's bytes the guard has not passed yet:
 * passes, rewrites or drops them (see api_guard.c).
 */
void	api_guard_feed(struct api_guard *, struct evbuffer *);
/*
 * Called by the handler of the request evhttp just completed: returns 0,
 * or the status to answer with a reason in why and *close set when the
 * connection must close after it. Then moves on to the next request.
 */
int	api_guard_verdict(struct api_guard *, struct evbuffer *, char *why,
    size_t whylen, bool *close);
/* evhttp_set_bevcb() callback: a bufferevent with its guard hook. */
struct bufferevent *api_guard_bev_cb(struct event_base *, void *);
/* The guard's verdict on req (api_guard_verdict), 0 when unguarded. */
int	api_guard_check(struct api *, struct evhttp_request *, char *why,
    size_t whylen, bool *close);
/*
 * Starts and ends guarding the connections of api; a refused connection
 * lingers at most linger_ms (0: until the client closes) after evhttp
 * closed it.
 */
void	api_guard_start(struct api *, uint64_t linger_ms);
void	api_guard_shutdown(struct api *);

/* api_store.c: the state file of API-owned objects. */
/* Reads and applies the state file; a missing file is no error. */
int	api_store_load(struct api *);
/* Rewrites the state file from the registry (atomic replace). */
int	api_store_save(struct api *);

#endif
