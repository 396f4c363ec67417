/* SPDX-License-Identifier: MIT */
/*
 * cluster_publish.c -- how a Docker container other hosts cannot reach
 * on its own network is published through etcd: at this host's
 * --advertise-address and the host ports its ports are published on.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "registry.h"
#include "cluster_int.h"

bool
cluster_publish_addr_ok(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (addr == NULL)
		return false;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return true;
	/* A link-local address needs a zone the other hosts cannot know. */
	return inet_pton(AF_INET6, addr, &a6) == 1 &&
	    !IN6_IS_ADDR_LINKLOCAL(&a6) && !IN6_IS_ADDR_UNSPECIFIED(&a6);
}

bool
cluster_pod_via_host(const struct pod *pod)
{
	size_t i;

	if (pod->owner.kind != OWNER_DOCKER)
		return false;
	for (i = 0; i < pod->nports; i++)
		if (pod->ports[i].host_port != 0)
			return true;
	return false;
}

int
cluster_pod_publish(json_t *obj, const char *addr)
{
	json_t *md, *ann, *status;

	md = json_object_get(obj, "metadata");
	status = json_object_get(obj, "status");
	if (!json_is_object(md) || !json_is_object(status))
		return -1;
	if ((ann = json_object_get(md, "annotations")) == NULL) {
		if (json_object_set_new(md, "annotations", json_object()) != 0)
			return -1;
		ann = json_object_get(md, "annotations");
	}
	if (!json_is_object(ann) ||
	    json_object_set_new(ann, ANNOTATION_VIA_HOST_PORT,
	    json_string("true")) != 0 ||
	    json_object_set_new(status, "podIP", json_string(addr)) != 0)
		return -1;
	/*
	 * The container's own addresses are not reachable from there; an
	 * IPv6 addr is the pod's only address, of that family.
	 */
	json_object_del(status, "podIPs");
	return 0;
}
