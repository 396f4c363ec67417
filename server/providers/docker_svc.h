/* SPDX-License-Identifier: MIT */
/*
 * docker_svc.h -- the Service a container's labels define: a compose
 * service labelled clusterip.io/service: NAME and clusterip.io/port(s)
 * makes the Service NAME, selecting the containers that carry the same
 * label. Pure: jansson only, no sockets, no loop.
 */
#ifndef CIP_DOCKER_SVC_H
#define CIP_DOCKER_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* The Service's name; also the selector label of its endpoints. */
#define DOCKER_LABEL_SERVICE	"clusterip.io/service"
/* One port: "5000", "5000:8080" (port:targetPort), "53/udp". */
#define DOCKER_LABEL_PORT	"clusterip.io/port"
/* Named ports: "http:5000,metrics:9100", each NAME:PORT[:TARGET][/PROTO]. */
#define DOCKER_LABEL_PORTS	"clusterip.io/ports"
/* random, round-robin or least-connections. */
#define DOCKER_LABEL_LB		"clusterip.io/lb-algorithm"
/* None or ClientIP. */
#define DOCKER_LABEL_AFFINITY	"clusterip.io/affinity"
/*
 * SingleStack, PreferDualStack or RequireDualStack: spec.ipFamilyPolicy
 * (absent: SingleStack in the daemon's primary family).
 */
#define DOCKER_LABEL_FAMILY_POLICY "clusterip.io/ip-family-policy"

/* Most ports one Service takes from labels. */
#define DOCKER_SVC_MAX_PORTS	32

struct docker_svc_port {
	char		 name[16];	/* "" when unnamed */
	uint16_t	 port;
	uint16_t	 target_port;
	enum cip_proto	 proto;
};

/* A Service as labels define it: plain data, no pointers. */
struct docker_svc {
	char			 ns[64];
	char			 name[64];
	struct docker_svc_port	 ports[DOCKER_SVC_MAX_PORTS];
	size_t			 nports;
	enum lb_algo		 algo;
	bool			 algo_explicit;
	enum affinity		 affinity;
	enum ip_family_policy	 policy;	/* IPFP_UNSET when absent */
};

/*
 * Reads the clusterip.io/ labels of the JSON of GET /containers/{id}/json
 * (Config.Labels; the namespace from clusterip.io/namespace, "default"
 * when absent or not a DNS label, as for the container's pod). Returns 1
 * with the Service in *out when the container is labelled
 * clusterip.io/service, 0 when it is not, ERR_INVAL with the reason in
 * err when the labels are malformed (a bad name, port, algorithm,
 * affinity or IP family policy; neither or both of clusterip.io/port and clusterip.io/ports;
 * several ports without names; a port or name listed twice).
 */
int	docker_svc_from_inspect(const char *json, size_t len,
    struct docker_svc *out, char *err, size_t errlen);

/* True when a and b define the same Service. */
bool	docker_svc_equal(const struct docker_svc *a,
    const struct docker_svc *b);

/*
 * Describes how b differs from a, e.g. "ports 5000/TCP vs 5001/TCP",
 * for a conflict's warning. Writes at most len bytes to buf.
 */
void	docker_svc_diff(const struct docker_svc *a,
    const struct docker_svc *b, char *buf, size_t len);

/*
 * Builds the registry's Service: type ClusterIP, selector
 * clusterip.io/service=NAME, the ports, the algorithm (also as the
 * annotation clusterip.io/lb-algorithm, as a manifest gives it), the
 * affinity and the IP family policy as spec.ipFamilyPolicy. Returns NULL on OOM; caller frees with service_free.
 */
struct service *docker_svc_build(const struct docker_svc *);

#endif
