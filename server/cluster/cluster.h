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
 * Stops writing and watching and frees it all. The host's lease is left
 * to run out by its TTL (a restart within it finds its keys in place).
 */
void	cluster_shutdown(void);

#endif
