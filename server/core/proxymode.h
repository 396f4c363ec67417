/* SPDX-License-Identifier: MIT */
/*
 * proxymode.h -- which data path serves a service: the userspace
 * forwarder or the kernel (nftables). Pure; the forwarder and the kernel
 * path ask the same question so that exactly one of them serves it.
 */
#ifndef CIP_PROXYMODE_H
#define CIP_PROXYMODE_H

#include "registry.h"

#define PROXYMODE_ANNOTATION	"clusterip.io/proxy-mode"
/* "true": the service needs connect-retry, which the kernel cannot do. */
#define PROXYMODE_RETRY_ANNOTATION "clusterip.io/connect-retry"

enum proxy_mode {
	PROXY_MODE_USERSPACE,
	PROXY_MODE_NFTABLES,
};

/* "userspace", "nftables"; parse returns -1 if unknown. */
const char *proxy_mode_name(enum proxy_mode);
int	proxy_mode_parse(const char *);

/*
 * The data path that serves svc when the daemon's mode (--proxy-mode) is
 * dflt: its annotation clusterip.io/proxy-mode when valid, else dflt;
 * then services the kernel cannot serve as asked stay in userspace:
 * all when kernel_ok is false (the kernel path does not run),
 * least-connections, connect-retry asked by annotation, no IPv4 VIP;
 * services that are not ClusterIP ones are userspace's (which serves
 * none of them). When nftables was asked but userspace is returned,
 * *why (if why is not NULL) gets a static reason, else NULL.
 */
enum proxy_mode service_proxy_mode(const struct service *svc,
    enum proxy_mode dflt, bool kernel_ok, const char **why);

#endif
