/* SPDX-License-Identifier: MIT */
/*
 * objjson.h -- services, pods and endpoints as Kubernetes-shaped JSON
 * (jansson), for API responses and for the state file of API-owned
 * objects; the body of a pod registration. No libevent.
 */
#ifndef CIP_OBJJSON_H
#define CIP_OBJJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct service;
struct pod;

enum objjson_mode {
	/*
	 * What the API shows: metadata.creationTimestamp, the allocated
	 * clusterIP(s), status (pod IP, readiness as seen by the daemon)
	 * and the owner ("file conf/demo.yaml", "the API") under the
	 * non-Kubernetes key metadata.owner.
	 */
	OBJJSON_STATE,
	/*
	 * A manifest that manifest_parse_buf reads back into an equal
	 * object: only what the user declared (clusterIP only when
	 * requested, readiness only as declared in status.conditions).
	 */
	OBJJSON_MANIFEST,
};

/* A Service document. Returns a new reference, or NULL on OOM. */
json_t	*objjson_service(const struct service *, enum objjson_mode);
/* A Pod document. Returns a new reference, or NULL on OOM. */
json_t	*objjson_pod(const struct pod *, enum objjson_mode);
/*
 * The Endpoints object of a service, computed from its members like
 * Kubernetes' endpoints controller: subsets grouping the addresses that
 * share the same resolved ports, ready ones in "addresses", the others
 * in "notReadyAddresses". Returns a new reference, or NULL on OOM.
 */
json_t	*objjson_endpoints(const struct service *);
/*
 * The Endpoints manifest that produced pods (all with endpoints_of set
 * to "ns/name"): one subset per distinct port list, addresses with
 * their hostnames, not-ready ones under notReadyAddresses; parsed
 * back, it gives the same pods. Returns a new reference, or NULL on OOM.
 */
json_t	*objjson_endpoints_manifest(const char *ns, const char *name,
    struct pod *const *pods, size_t npods);
/*
 * A Kubernetes list ("kind": kind, e.g. "ServiceList") holding items
 * (reference stolen). Returns a new reference, or NULL on OOM.
 */
json_t	*objjson_list(const char *kind, json_t *items);

/* "2026-01-02T03:04:05Z" into buf (at least 21 bytes). Returns buf. */
const char *objjson_time(time_t t, char *buf, size_t len);

/* Limits of a registration. */
#define OBJJSON_TTL_DEFAULT_S	30
#define OBJJSON_TTL_MAX_S	86400
#define OBJJSON_MAX_PORTS	64

/*
 * Parses the body of PUT /v1/pods/NS/NAME (JSON):
 *   {"labels": {"k": "v"}, "annotations": {...}, "ip": "A.B.C.D",
 *    "ports": [{"name": "http", "port": 5000, "protocol": "TCP"}],
 *    "ttlSeconds": 15, "ready": true}
 * ip is required; the rest is optional (ttlSeconds defaults to 30, at
 * most 86400; ready defaults to true). Unknown keys are refused. ns and
 * name must already be valid. Returns 0 with a new pod in *out (caller
 * frees with pod_free) and the TTL in *ttl_s, or ERR_INVAL with a
 * reason in err, or ERR_NOMEM.
 */
int	objjson_parse_registration(const char *body, size_t len,
    const char *ns, const char *name, struct pod **out, uint32_t *ttl_s,
    char *err, size_t errlen);

#endif
