/* SPDX-License-Identifier: MIT */
/*
 * cluster.h -- the registry shared through etcd (--etcd): this host's
 * objects written to etcd, the other hosts' objects read from it and
 * applied to the registry as they change.
 */
#ifndef CIP_CLUSTER_H
#define CIP_CLUSTER_H

struct runtime;

/*
 * With rt->conf->etcd set: grants this host's lease, publishes its
 * objects, reads the prefix and watches it. Returns at once (everything
 * happens on the loop); 0, or -1 (logged) on a configuration that
 * cannot work. Without --etcd: does nothing, returns 0.
 */
int	cluster_init(struct runtime *rt);
/*
 * A clean stop, before the loop ends: revokes this host's lease, so its
 * pods and Services vanish from every host at once rather than after
 * the TTL, then calls done(arg) (from the loop, once etcd answered or
 * after a few seconds without an answer). Without a lease (no --etcd,
 * etcd unreachable) done is called at once.
 */
typedef void cluster_stop_cb(void *arg);
void	cluster_stop(cluster_stop_cb *done, void *arg);
/*
 * Stops writing and watching and frees it all. Without cluster_stop
 * first the host's lease is left to run out by its TTL.
 */
void	cluster_shutdown(void);

#endif
