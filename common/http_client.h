/* SPDX-License-Identifier: MIT */
/*
 * http_client.h -- HTTP requests on the daemon's event_base, over TCP
 * or a unix socket (the Docker Engine API; etcd's gateway): libcurl's
 * multi interface, its sockets and its one timer watched by libevent.
 * GET, or POST with a JSON body; TLS with a CA, a client certificate and
 * key; a list of servers tried in turn until one answers. A response's
 * body comes either in pieces as it arrives (streams such as Docker's
 * GET /events or etcd's watch) or whole, up to a cap, when the transfer
 * ends.
 */
#ifndef CIP_HTTP_CLIENT_H
#define CIP_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_client;
struct http_client_req;

/* The status line and headers of the final response are in. */
typedef void http_client_head_cb(long status, void *arg);
/* len more bytes of the body arrived. */
typedef void http_client_body_cb(const char *data, size_t len, void *arg);
/*
 * The transfer ended. error is NULL when the whole response arrived,
 * else why not (status is then what arrived, 0 when nothing did). body
 * and len are the whole body when the request has no body_cb (body is
 * NUL-terminated past len), else NULL and 0. The request is freed when
 * this returns: forget it here.
 */
typedef void http_client_done_cb(long status, const char *body, size_t len,
    const char *error, void *arg);

/*
 * One request. The strings are copied; arg is passed to each callback.
 *
 * With nbases > 0, url is a path ("/v3/kv/range") appended to each base
 * ("https://10.0.0.2:2379") in turn: a transfer that fails before a
 * response's head arrived (refused, unreachable, timed out) is tried
 * again on the next base, starting from *member (when member is not
 * NULL), until each was tried once; *member is then set to the base
 * that answered, so the caller's next request starts there. member must
 * stay valid while the request lives.
 */
struct http_client_opts {
	const char		*url;		/* http[s]://host[:port]/path */
	const char *const	*bases;		/* or NULL */
	size_t			 nbases;
	size_t			*member;	/* in/out, or NULL */
	const char		*post;		/* POST this body, or NULL: GET */
	size_t			 post_len;
	const char		*content_type;	/* of post; NULL: JSON */
	const char		*auth_header;	/* "Authorization: ..." or NULL */
	const char		*cacert;	/* PEM CA file, or NULL */
	const char		*cert;		/* PEM client certificate */
	const char		*key;		/* its PEM key */
	const char		*user;		/* HTTP basic auth, or NULL */
	const char		*password;
	/*
	 * TCP keepalive probes after this many idle seconds (0: none), so
	 * that a long stream to a peer that vanished without a word ends.
	 */
	uint32_t		 keepalive_s;
	const char		*unix_path;	/* connect here instead, or NULL */
	uint64_t		 timeout_ms;	/* whole transfer; 0: none */
	uint64_t		 connect_timeout_ms; /* 0: libcurl's (300 s) */
	size_t			 max_body;	/* without body_cb: cap, > 0 */
	http_client_head_cb	*head_cb;	/* optional */
	http_client_body_cb	*body_cb;	/* NULL: body held for done_cb */
	http_client_done_cb	*done_cb;	/* required */
	void			*arg;
};

/*
 * Makes a client whose transfers run on base. Returns NULL (logged) on
 * failure; free with http_client_free.
 */
struct http_client *http_client_new(struct event_base *base);
/*
 * At most n connections at once (0: no limit, the default); requests
 * beyond wait in libcurl's queue. 0, or -1 (logged).
 */
int	http_client_set_max_connections(struct http_client *c, long n);
/*
 * Cancels every request without calling its callbacks, closes every
 * connection and frees c. Accepts NULL. Not from a callback of c.
 */
void	http_client_free(struct http_client *c);
/*
 * Starts a request (GET, or POST when opts->post is set). Returns it (owned by c until done_cb returns or
 * http_client_cancel) or NULL (logged) on failure, when no callback is
 * ever called. May be called from any callback.
 */
struct http_client_req *http_client_get(struct http_client *c,
    const struct http_client_opts *opts);
/*
 * Stops r: none of its callbacks is called again, and r must not be used
 * again. May be called from any callback, r's own included; r is freed
 * at once or, from inside libcurl, as soon as libcurl returns.
 */
void	http_client_cancel(struct http_client_req *r);

#endif
