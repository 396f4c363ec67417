/* SPDX-License-Identifier: MIT */
/*
 * cluster_int.h -- what the files of the registry's sync share:
 * cluster.c (this host's objects into etcd: the lease, the pending
 * writes, the VIP claims) and cluster_read.c (the other hosts' objects
 * out of etcd: the read, the watch, VIP conflicts).
 */
#ifndef CIP_CLUSTER_INT_H
#define CIP_CLUSTER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "registry.h"
#include "etcd.h"
#include "cluster.h"

struct event;
struct hmap;
struct metric;
struct runtime;

/* A key to write at the next flush: put the object, or delete. */
struct cluster_pending {
	enum registry_kind	 kind;
	char			*objkey;	/* "ns/name" */
	bool			 remove;
	bool			 new_vip;	/* claim the VIP key too */
	char			*vip;		/* removed service's, to free */
	char			*vip6;		/* its IPv6 one, to free */
};

struct cluster {
	struct runtime		*rt;
	struct etcd		*etcd;
	struct etcd_watch	*watch;
	int64_t			 watch_rev;	/* seen, while paused */
	char			*prefix;
	size_t			 prefixlen;
	char			*host;
	/* --advertise-address when an IPv4 address: Docker pods go there. */
	char			*adv_ip;
	int64_t			 lease;		/* 0: none yet */
	int64_t			 ttl_s;
	bool			 granting;
	bool			 reading;	/* a range is out */
	bool			 loaded;	/* the prefix was read once */
	/* A full read under way, a page at a time (cluster_read.c). */
	struct hmap		*read_keys;	/* "s:ns/name", "p:ns/name" */
	struct hmap		*read_batches;	/* owner -> its objects */
	int64_t			 read_rev;	/* the pages' snapshot */
	size_t			 read_n;
	size_t			 read_pages;
	char			*read_from;	/* the next page's first key */
	size_t			 read_fromlen;
	/*
	 * A page in, decoded from read_ev while etcd makes the next one;
	 * read_last: it ends the read.
	 */
	struct etcd_kv		*read_kvs;
	size_t			 read_nkvs;
	bool			 read_last;
	struct event		*read_ev;
	/* Set while other hosts' changes go in: not ours to publish. */
	bool			 applying;
	bool			 retry;		/* pending writes failed */
	unsigned		 inflight;	/* flushes etcd has not answered */
	bool			 swapping;	/* inside cluster_swap */
	/* VIPs ours lost in etcd: "ADDR" -> our Service's key. */
	struct hmap		*lost;
	struct hmap		*pending;	/* etcd key -> cluster_pending */
	struct event		*flush_ev;
	struct event		*tick;		/* keepalive, retries */
	struct event		*stop_ev;	/* cluster_stop's guard */
	unsigned		 stop_wait;	/* revokes out at the stop */
	/* Pods registered here with a TTL: "ns/name" -> their lease. */
	struct hmap		*podleases;
	cluster_stop_cb		*stop_cb;
	void			*stop_arg;
	struct metric		*m_up;
	struct metric		*m_txn_fail;
	struct metric		*m_vip_conflicts;
	struct metric		*m_remote;
};

/*
 * The etcd key of a local object: P services/KEY for a Service the API
 * owns (cluster-wide), P hosts/HOST/{services,pods}/KEY otherwise.
 * Caller frees; NULL on OOM.
 */
char	*cluster_obj_key(const struct cluster *, enum registry_kind,
    const char *objkey, const struct owner *);
/* True for a key under P hosts/: held by a host's lease. */
bool	cluster_key_is_host(const struct cluster *, const char *key);
/*
 * Splits a key under the prefix: the publishing host (caller frees; NULL
 * for cluster-wide), the kind, the object key (points into key).
 * Returns 0, or -1 when the key is no object's.
 */
int	cluster_parse_key(const struct cluster *, const char *key,
    char **host, enum registry_kind *kind, const char **objkey);

/*
 * Leases (cluster.c): cluster_lease_ask grants one of ttl_s unless
 * *granting (true while the grant is out; cb clears it).
 * cluster_lease_got logs a grant's answer for what ("host", "pod") name
 * (at debug level when quiet) and returns whether it gave a lease.
 */
void	cluster_lease_ask(struct cluster *, bool *granting, int64_t ttl_s,
    etcd_lease_cb *cb, void *arg);
bool	cluster_lease_got(const char *what, const char *name,
    const char *error, int64_t id, int64_t ttl, bool quiet);

/* Notes a local object's key for the next flush (cluster.c). */
void	cluster_note(struct cluster *, enum registry_kind, const char *objkey,
    const struct owner *, bool remove, bool new_vip, const char *vip,
    const char *vip6);
/* Notes every local object (cluster.c). */
void	cluster_publish_all(struct cluster *);
/* True when a write of objkey's etcd key is pending (cluster.c). */
bool	cluster_pending_has(const struct cluster *, const char *etcd_key);

/*
 * VIP claims (cluster_vip.c): create-if-absent on P vips/ADDR, naming
 * the etcd key of the Service (holder), up to CLUSTER_MAX_TXN_OPS of them
 * in one transaction. A lost claim moves the Service (cluster_vip_lost);
 * a claim etcd did not take goes again with the next write.
 */
#define CLUSTER_MAX_TXN_OPS	128
struct cluster_claims;
struct cluster_claims *cluster_claims_new(struct cluster *);
/* Adds one claim; a full batch is sent. 0, or ERR_NOMEM. */
int	cluster_claims_add(struct cluster_claims *, const char *svc_key,
    const char *holder, const char *ip);
/* Sends what the batch holds and frees it. Accepts NULL. */
void	cluster_claims_send(struct cluster_claims *);
/* Deletes P vips/ip if it still names holder. */
void	cluster_vip_release(struct cluster *, const char *holder,
    const char *ip);
/* Notes svc_key for the next write with its VIP claim, not now. */
void	cluster_note_later(struct cluster *, const char *svc_key);

/*
 * Pods registered with a TTL, each on a lease of its own
 * (cluster_podlease.c): init sets the runtime's pod_lease hook.
 * cluster_podlease_of returns 1 with *id the pod's lease (0 while it is
 * being granted: the grant writes the pod again), or 0 for a pod
 * without one (the host's lease holds it). _retry grants what etcd did
 * not; _revoke_all revokes every pod lease (cb called for each, arg c)
 * and returns how many were sent.
 */
int	cluster_podlease_init(struct cluster *);
void	cluster_podlease_shutdown(struct cluster *);
int	cluster_podlease_of(struct cluster *, const char *pod_key,
    int64_t *id);
void	cluster_podlease_retry(struct cluster *);
unsigned cluster_podlease_revoke_all(struct cluster *, etcd_lease_cb *);

/*
 * Docker containers published at --advertise-address
 * (cluster_publish.c): true for a Docker pod with a published port;
 * cluster_pod_publish turns its manifest obj (objjson_pod) into the one
 * other hosts reach: podIP addr, its ports at their hostPort (the
 * ANNOTATION_VIA_HOST_PORT annotation). 0, or -1 on a malformed obj or
 * OOM.
 */
struct json_t;
bool	cluster_pod_via_host(const struct pod *);
int	cluster_pod_publish(struct json_t *obj, const char *addr);

/* Reads the prefix, then watches it (cluster_read.c). */
void	cluster_read_prefix(struct cluster *);
/* Frees what a full read under way holds (cluster_read.c). */
void	cluster_read_free(struct cluster *);
/*
 * Closes the watch when etcd stops answering (its stream may be dead
 * without a word), and opens it again from the same revision when etcd
 * answers (cluster_read.c).
 */
void	cluster_watch_pause(struct cluster *);
void	cluster_watch_resume(struct cluster *);
/*
 * svc_key's VIP (vip) is held in etcd by the object at holder_key: give
 * the VIP to that object and a new one to svc_key, now if the holder's
 * object is in etcd, else when it arrives (cluster_read.c).
 */
void	cluster_vip_lost(struct cluster *, const char *svc_key,
    const char *vip, const char *holder_key);
/*
 * The same with the holder's object kv at hand (cluster_read.c). A
 * Service that no longer holds vip (NULL: unknown) moved already, when
 * both its families' claims lost: the winner comes in, ours stays.
 */
void	cluster_swap(struct cluster *, const char *svc_key, const char *vip,
    const struct etcd_kv *kv);

#endif
