/* SPDX-License-Identifier: MIT */
/*
 * docker_pod.h -- Docker Engine API JSON -> registry objects: a container's
 * inspect document becomes a pod, a container list a set of ids, an event
 * a verdict on one container. Pure: jansson only, no sockets, no loop.
 */
#ifndef CIP_DOCKER_POD_H
#define CIP_DOCKER_POD_H

#include <stddef.h>

struct pod;

/* A container id: 64 lowercase hex digits (shorter prefixes accepted). */
#define DOCKER_ID_MAX	64

/* Label naming the pod's namespace ("default" when absent). */
#define DOCKER_LABEL_NAMESPACE	"clusterip.io/namespace"
/* Label "true" keeps a container out of the registry (e.g. clusterip's own). */
#define DOCKER_LABEL_IGNORE	"clusterip.io/ignore"

/* True when id is 1 to 64 lowercase hex digits. */
int	docker_id_valid(const char *id);

/*
 * Turns the JSON of GET /containers/{id}/json into a pod:
 * name from the container's name (lowercased, characters other than
 * [a-z0-9.-] made '-'), namespace from the clusterip.io/namespace label,
 * labels from Config.Labels (those not valid as Kubernetes labels are
 * left out), addresses from NetworkSettings.Networks (the network named
 * network, or "<project>_<network>" as compose names it; with network
 * NULL the first network, by name, that gives an address): IPAddress
 * and GlobalIPv6Address (enable_ipv6) as podIPs, IPv4 first, ports from
 * Config.ExposedPorts, readiness from State.Health.Status when the
 * container has a health check ("healthy" is ready) and from
 * State.Paused. On success returns 0 with the pod in *out (caller frees
 * with pod_free), or 0 with *out NULL and why in err when the container
 * is not a pod (not running, no address on the network, labelled
 * clusterip.io/ignore=true). Malformed JSON:
 * ERR_INVAL with a reason. ERR_NOMEM on OOM.
 */
int	docker_pod_from_inspect(const char *json, size_t len,
    const char *network, struct pod **out, char *err, size_t errlen);

/*
 * The pod's addresses for messages: "A.B.C.D", "IPV6" or both, space
 * separated, in buf (INET_ADDRSTRLEN + INET6_ADDRSTRLEN bytes hold
 * them). Returns buf.
 */
char	*docker_pod_addrs(const struct pod *, char *buf, size_t len);

/*
 * Parses the JSON array of GET /containers/json into the ids it lists.
 * *ids is an array of *nids strings (calls malloc; caller frees each and
 * the array). Entries without a valid id are skipped. Returns 0,
 * ERR_INVAL on malformed JSON or ERR_NOMEM.
 */
int	docker_list_ids(const char *json, size_t len, char ***ids,
    size_t *nids);
/* Frees what docker_list_ids returned. */
void	docker_list_free(char **ids, size_t nids);

enum docker_event_kind {
	DOCKER_EVENT_IGNORE,	/* nothing that changes a pod */
	DOCKER_EVENT_CHANGED,	/* inspect the container again */
	DOCKER_EVENT_GONE,	/* the container no longer exists */
};

/*
 * Classifies one message of GET /events: container start, die, stop,
 * kill, pause, unpause, restart, rename, health_status and update are
 * CHANGED, destroy is GONE; a network connect or disconnect is CHANGED
 * for the container it names. The container id goes into id (at least
 * DOCKER_ID_MAX + 1 bytes). Event attributes are never used for labels:
 * they carry the container's name under the key "name", hiding a label
 * of that name. Returns the kind, DOCKER_EVENT_IGNORE for malformed or
 * unrelated messages.
 */
enum docker_event_kind docker_event_parse(const char *json, size_t len,
    char *id);

#endif
