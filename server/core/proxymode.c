/* SPDX-License-Identifier: MIT */
/* proxymode.c -- the data path of a service: userspace or nftables. */
#include <string.h>

#include "proxymode.h"

const char *
proxy_mode_name(enum proxy_mode m)
{
	return m == PROXY_MODE_NFTABLES ? "nftables" : "userspace";
}

int
proxy_mode_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "userspace") == 0)
		return PROXY_MODE_USERSPACE;
	if (strcmp(s, "nftables") == 0)
		return PROXY_MODE_NFTABLES;
	return -1;
}

enum proxy_mode
service_proxy_mode(const struct service *svc, enum proxy_mode dflt,
    bool kernel_ok, const char **why)
{
	const char *a;
	int m;

	if (why != NULL)
		*why = NULL;
	if ((a = labels_get(&svc->ext->annotations, PROXYMODE_ANNOTATION)) !=
	    NULL && (m = proxy_mode_parse(a)) >= 0)
		dflt = (enum proxy_mode)m;
	if (dflt == PROXY_MODE_USERSPACE)
		return PROXY_MODE_USERSPACE;
	if (svc->type != SVC_CLUSTERIP)
		return PROXY_MODE_USERSPACE;
	if (!kernel_ok) {
		if (why != NULL)
			*why = "the kernel path does not run (--proxy-mode "
			    "nftables or CAP_NET_ADMIN needed)";
		return PROXY_MODE_USERSPACE;
	}
	if (svc->vip.s_addr == 0 && in6_is_unset(&svc->ext->vip6)) {
		if (why != NULL)
			*why = "the service has no VIP";
		return PROXY_MODE_USERSPACE;
	}
	if (svc->algo == LB_LEAST_CONN) {
		if (why != NULL)
			*why = "least-connections needs the userspace "
			    "forwarder";
		return PROXY_MODE_USERSPACE;
	}
	if ((a = labels_get(&svc->ext->annotations, PROXYMODE_RETRY_ANNOTATION)) !=
	    NULL && strcmp(a, "true") == 0) {
		if (why != NULL)
			*why = "connect-retry needs the userspace forwarder";
		return PROXY_MODE_USERSPACE;
	}
	return PROXY_MODE_NFTABLES;
}
