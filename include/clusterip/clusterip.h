/* SPDX-License-Identifier: MIT */
/*
 * clusterip.h -- libclusterip: find a clusterip service (its virtual IP
 * and port) through the daemon's DNS, and call the daemon's control API.
 *
 * Link with `pkg-config --cflags --libs clusterip` (a static library;
 * it needs libevent, c-ares and libcurl).
 *
 * Resolving, asynchronously on your event_base:
 *
 *	struct cip_resolver *r = cip_resolver_new(base, "127.0.0.1:53", err,
 *	    sizeof(err));
 *	cip_resolve(r, "backend", "http", on_resolved, ctx);
 *	...
 *	static void on_resolved(int status, const struct cip_endpoint *ep,
 *	    void *ctx) { if (status == CIP_OK) connect_to(ep->addr, ep->port); }
 *
 * or blocking: cip_resolve_blocking("127.0.0.1:53", "backend", "http",
 * &ep, err, sizeof(err)).
 */
#ifndef CLUSTERIP_CLUSTERIP_H
#define CLUSTERIP_CLUSTERIP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/* Outcomes of a resolution. */
#define CIP_OK		0
#define CIP_ENOTFOUND	1	/* no such service (NXDOMAIN, no record) */
#define CIP_ETIMEOUT	2	/* the DNS server did not answer */
#define CIP_EFAIL	3	/* any other failure (refused, malformed) */
#define CIP_ECANCELLED	4	/* the resolver was freed first */

/* Where a service is reached. */
struct cip_endpoint {
	struct in_addr	addr;		/* the service's virtual IP */
	uint16_t	port;		/* from SRV; 0 without a port name */
	/* Fully qualified name that answered, e.g. backend.default.svc.cluster.local */
	char		name[256];
};

struct cip_resolver;

/*
 * Creates a resolver whose queries go to server ("A.B.C.D[:PORT]" or
 * "[V6]:PORT"; NULL: the servers of /etc/resolv.conf) and whose
 * sockets and timers live on base. Short names are qualified like a
 * pod's resolv.conf does: NAME.default.svc.cluster.local,
 * NAME.svc.cluster.local, NAME.cluster.local (ndots 5).
 * Returns NULL with a reason in err on failure. Free with
 * cip_resolver_free.
 */
struct cip_resolver *cip_resolver_new(struct event_base *base,
    const char *server, char *err, size_t errlen);
/*
 * Cancels every pending query (their callbacks run with CIP_ECANCELLED)
 * and frees the resolver. Accepts NULL.
 */
void	cip_resolver_free(struct cip_resolver *);

/*
 * Called once per cip_resolve with CIP_OK and the endpoint (valid during
 * the call only), or with another status, a NULL endpoint and a short
 * reason.
 */
typedef void cip_resolve_cb(int status, const struct cip_endpoint *ep,
    const char *reason, void *arg);

/*
 * Looks name up: with port_name (e.g. "http") an SRV query for
 * _port_name._tcp.NAME gives the port and the target whose A record
 * gives the address; without it, the A record of name alone. cb runs
 * later, from the event loop. Returns 0, or -1 when name is unusable.
 */
int	cip_resolve(struct cip_resolver *, const char *name,
    const char *port_name, cip_resolve_cb *cb, void *arg);

/*
 * The same, blocking for at most a few seconds (its own event_base).
 * Returns CIP_OK with *ep filled, or another status with a reason in
 * err.
 */
int	cip_resolve_blocking(const char *server, const char *name,
    const char *port_name, struct cip_endpoint *ep, char *err,
    size_t errlen);

/* A client of the control API (HTTP/JSON). */
struct cip_client;

/*
 * Creates a client of url, sending token (may be NULL) as a bearer token.
 * url is one of:
 *   http://HOST[:PORT]   TCP (default port 9901), e.g. http://127.0.0.1:9901
 *   unix:/PATH           the daemon's --api-socket, e.g. unix:/run/cip.sock
 *   unix:///PATH         the same, URL style
 *   unix:PATH            a path relative to the working directory
 * The socket is only connected to by cip_client_request. Returns NULL
 * with a reason in err (bad URL, socket path over 107 bytes).
 */
struct cip_client *cip_client_new(const char *url, const char *token,
    char *err, size_t errlen);
void	cip_client_free(struct cip_client *);
/*
 * Why the last cip_client_request failed, as an errno: ECONNREFUSED (no
 * daemon listening), ENOENT (no such socket), ETIMEDOUT, EIO (another
 * transfer failure), EINVAL (a bad request); 0 after a reply.
 */
int	cip_client_errno(const struct cip_client *);
/* Sets the time a request may take (default 10000 ms). */
void	cip_client_set_timeout(struct cip_client *, unsigned int ms);

/* A reply: status and body (NUL-terminated, malloc'ed; caller frees). */
struct cip_reply {
	int	 status;
	char	*body;
	size_t	 len;
	char	 content_type[64];
};

/*
 * Sends one request (method "GET", "POST", "PUT" or "DELETE", path with
 * an optional query) with an optional body, and waits for the reply.
 * Returns 0 with *reply filled (free with cip_reply_clear) whatever the
 * HTTP status, or -1 with a reason in err when no reply came.
 */
int	cip_client_request(struct cip_client *, const char *method,
    const char *path, const char *content_type, const void *body,
    size_t len, struct cip_reply *reply, char *err, size_t errlen);
void	cip_reply_clear(struct cip_reply *);

#ifdef __cplusplus
}
#endif

#endif
