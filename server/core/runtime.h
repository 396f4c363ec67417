/* SPDX-License-Identifier: MIT */
/*
 * runtime.h -- what the daemon's modules share: the loop, the effective
 * configuration, the registry. Owned by main.c.
 */
#ifndef CIP_RUNTIME_H
#define CIP_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct cip_conf;
struct registry;
struct vip_pool;
struct netif;
struct mwatch;
struct statewr;

/* A pod lease's time left, in seconds (struct runtime's pod_renew). */
typedef void rt_lease_cb(int64_t ttl_s, void *arg);

struct runtime {
	struct event_base	*base;
	struct cip_conf		*conf;	/* swapped on reload */
	struct registry		*reg;
	struct vip_pool		*vips;
	struct netif		*netif;	/* interface mode, else NULL */
	struct mwatch		*watch;	/* --manifests, else NULL */
	struct statewr		*sw;	/* the state files' writer */
	bool			 ready;	/* manifests loaded, listeners bound */
	/* --etcd: whether a member answers (set by server/cluster/). */
	enum { RT_ETCD_OFF, RT_ETCD_UP, RT_ETCD_DOWN } etcd;
	/*
	 * --proxy-mode at start (enum proxy_mode; a reload does not change
	 * it), and whether the kernel path may serve services (nftables
	 * mode, or CAP_NET_ADMIN for services that ask by annotation).
	 */
	int			 proxy_mode;
	/*
	 * A pod registered with a TTL (the API's PUT /v1/pods): called on
	 * its registration and each heartbeat with its TTL, and with 0 when
	 * its lease ends here. Set by server/cluster/ (the pod's own etcd
	 * lease) with --etcd, else NULL.
	 */
	void			(*pod_lease)(void *arg, const char *pod_key,
				    uint32_t ttl_s);
	void			*pod_lease_arg;
	/*
	 * With --etcd, where a leased pod's lease is kept (set with
	 * pod_lease, same arg). pod_renew: a heartbeat for pod_key, which
	 * host published, that this host holds no lease of: renews the
	 * pod's lease in etcd. pod_lease_left: this host's timer for a pod
	 * it registered ran out: how long the pod's etcd lease still runs
	 * (heartbeats may have gone to another host). Both call done later
	 * with ttl_s > 0 while the lease runs, 0 once it ran out (or the
	 * pod holds none), -1 when etcd did not answer; they return 0, or
	 * -1 when done will not be called.
	 */
	int			(*pod_renew)(void *arg, const char *pod_key,
				    const char *host, rt_lease_cb *done,
				    void *done_arg);
	int			(*pod_lease_left)(void *arg,
				    const char *pod_key, rt_lease_cb *done,
				    void *done_arg);
	bool			 kernel_ok;
	time_t			 started;
};

#endif
