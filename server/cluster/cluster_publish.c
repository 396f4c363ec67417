/* SPDX-License-Identifier: MIT */
/*
 * cluster_publish.c -- how a Docker container other hosts cannot reach
 * on its own network is published through etcd: at this host's
 * --advertise-address and the host ports its ports are published on.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "registry.h"
#include "cluster_int.h"

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
	/* The container's own addresses are not reachable from there. */
	json_object_del(status, "podIPs");
	return 0;
}
