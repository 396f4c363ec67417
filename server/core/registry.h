/* SPDX-License-Identifier: MIT */
/*
 * registry.h -- services, pods and their endpoints: the only owner of that
 * state. Every change is published to subscribers as a small event.
 * No libevent calls.
 */
#ifndef CIP_REGISTRY_H
#define CIP_REGISTRY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "selector.h"

struct vip_pool;

enum owner_kind {
	OWNER_FILE,	/* id = manifest path */
	OWNER_API,	/* id = NULL */
	OWNER_DOCKER,	/* id = container id, or "ns/name" of a Service
			   that containers' labels define */
	OWNER_ETCD,	/* id = key prefix or NULL */
};

struct owner {
	enum owner_kind	 kind;
	/*
	 * In an object of the registry: the registry's copy, shared by all
	 * objects of that owner and never freed with them.
	 */
	char		*id;
};

/* "file conf/demo.yaml", "the API", "docker container 3f2a..", "etcd". */
const char *owner_describe(const struct owner *, char *buf, size_t len);
bool	owner_equal(const struct owner *, const struct owner *);

enum cip_proto {
	CIP_PROTO_TCP,
	CIP_PROTO_UDP,
	CIP_PROTO_SCTP,
};
/* "TCP", "UDP", "SCTP". */
const char *cip_proto_name(enum cip_proto);

/*
 * An address family of a service or pod, as spec.ipFamilies names it.
 * This and the policy are packed (one byte): every service and pod holds
 * several of them, and with 100,000 services the four-byte enums and
 * their padding came to 3 MiB.
 */
enum __attribute__((packed)) ip_family {
	IP_FAMILY_V4,
	IP_FAMILY_V6,
};
/* "IPv4", "IPv6"; parse returns -1 if unknown. */
const char *ip_family_name(enum ip_family);
int	ip_family_parse(const char *);

enum __attribute__((packed)) ip_family_policy {
	IPFP_UNSET,		/* absent from the spec */
	IPFP_SINGLE_STACK,
	IPFP_PREFER_DUAL_STACK,
	IPFP_REQUIRE_DUAL_STACK,
};
/*
 * "SingleStack", "PreferDualStack", "RequireDualStack" ("" for unset);
 * parse returns -1 if unknown.
 */
const char *ip_family_policy_name(enum ip_family_policy);
int	ip_family_policy_parse(const char *);

/* True when a is ::. */
bool	in6_is_unset(const struct in6_addr *a);

enum __attribute__((packed)) svc_type {
	SVC_CLUSTERIP,		/* a VIP (allocated or spec.clusterIP) */
	SVC_HEADLESS,		/* type ClusterIP with clusterIP: None */
	SVC_EXTERNALNAME,	/* CNAME to external_name */
};

enum __attribute__((packed)) lb_algo {
	LB_RANDOM,		/* the default */
	LB_ROUND_ROBIN,
	LB_LEAST_CONN,
};
/* "random", "round-robin", "least-connections"; parse returns -1 if unknown. */
const char *lb_algo_name(enum lb_algo);
int	lb_algo_parse(const char *);

enum __attribute__((packed)) affinity {
	AFFINITY_NONE,
	AFFINITY_CLIENTIP,
};

struct pod;

/*
 * A ready endpoint of one service port, as the forwarder connects to it:
 * a member that is ready, has an address of the array's family, and
 * resolves the port's targetPort.
 */
struct svc_endpoint {
	struct pod	*pod;
	uint64_t	 uid;		/* pod->uid */
	union {
		struct in_addr	 ip;	/* in svc_port.ready */
		struct in6_addr	 ip6;	/* in svc_port.ready6 */
	};
	uint16_t	 port;		/* the resolved target port */
};

/* The ready endpoints of a service port, in the order of the members. */
struct svc_ready {
	uint32_t		 n;
	uint32_t		 cap;
	struct svc_endpoint	 v[];
};

struct svc_port {
	char		*name;		/* NULL when unnamed */
	char		*target_name;	/* targetPort by name, else NULL */
	/*
	 * Maintained by the registry on every change of membership,
	 * readiness, addresses or ports; NULL when empty. One array per
	 * family, as kube-proxy balances a VIP over the endpoints of its
	 * own family: ready holds the members' IPv4 addresses, ready6
	 * their IPv6 ones (kept only while the service has that family).
	 */
	struct svc_ready *ready;
	struct svc_ready *ready6;
	uint16_t	 port;
	uint16_t	 target_port;	/* 0 when given by name */
	enum cip_proto	 proto;
};

/*
 * What most services leave unset, out of line so that the common service
 * stays small (with 100,000 services every byte of struct service is
 * 100 kB): the IPv6 VIP, what spec asks for (clusterIP(s), ipFamilies,
 * ipFamilyPolicy), ExternalName's target, the affinity timeout and the
 * annotations. A service that uses none of them shares one read-only
 * default (service_ext_none); service_ext_mut gives it a copy of its own
 * before the first write.
 */
struct service_ext {
	struct labels	 annotations;
	char		*external_name;	/* SVC_EXTERNALNAME */
	/*
	 * The IPv4 and IPv6 entries of spec.clusterIP/clusterIPs, 0 and ::
	 * when absent; req_ip_families gives their order (clusterIPs[0] is
	 * spec.clusterIP).
	 */
	struct in_addr	 requested_vip;
	struct in6_addr	 requested_vip6;
	struct in6_addr	 vip6;		/* set by the registry; :: if none */
	uint32_t	 affinity_timeout_s;	/* default 10800 */
	enum ip_family	 req_ip_families[2];
	uint8_t		 nreq_ips;
	/* spec.ipFamilies and spec.ipFamilyPolicy as given. */
	enum ip_family	 req_families[2];
	uint8_t		 nreq_families;
	enum ip_family_policy req_policy;
};

/* The defaults every service starts from (never written). */
extern const struct service_ext service_ext_none;

/*
 * Objects in the registry keep their identity: an update changes the
 * struct in place, so a pointer stays valid until REG_SVC_REMOVED or
 * REG_POD_REMOVED. uid is unique over the registry's lifetime (never
 * reused, 0 outside the registry). The fields are ordered by size so
 * that the struct has no holes (136 bytes).
 */
struct service {
	uint64_t	 uid;		/* set by the registry */
	char		*ns;		/* interned, shared by its namespace */
	char		*name;		/* in key's block */
	char		*key;		/* "ns/name" */
	struct labels	 labels;
	/* NULL: no selector; endpoints then come from an Endpoints object. */
	struct selector	*selector;
	/* Never NULL: service_ext_none or the service's own copy. */
	const struct service_ext *ext;
	struct svc_port	*ports;
	struct owner	 owner;
	time_t		 created;	/* wall clock, set by the registry */
	/* Matching pods, ready or not, maintained by the registry. */
	struct pod	**members;
	uint32_t	 nmembers;
	uint32_t	 members_cap;
	uint32_t	 nports;
	struct in_addr	 vip;		/* set by the registry; 0 if none */
	uint32_t	 line, col;	/* manifest position, for messages */
	enum svc_type	 type;
	enum affinity	 affinity;
	enum lb_algo	 algo;		/* annotation clusterip.io/lb-algorithm */
	/*
	 * Set by the registry (service_ip_families): the policy and the
	 * families, primary first; none for ExternalName.
	 */
	enum ip_family_policy policy;
	enum ip_family	 families[2];
	uint8_t		 nfamilies;
	bool		 algo_explicit:1;	/* else the registry's default */
	/*
	 * spec.publishNotReadyAddresses (or the older annotation
	 * service.alpha.kubernetes.io/tolerate-unready-endpoints):
	 * DNS names every member, ready or not; the forwarder still
	 * uses ready ones only.
	 */
	bool		 publish_not_ready:1;
};

/*
 * The service's own extension, copied from the shared default on the
 * first call, for writing. Returns NULL on OOM (s unchanged).
 */
struct service_ext *service_ext_mut(struct service *s);
/*
 * Moves the contents of x (a parser's scratch copy, started from
 * service_ext_none) into s, which gets an extension of its own only when
 * x differs from the defaults; x is then left as the defaults. Returns 0,
 * or ERR_NOMEM with x and s unchanged.
 */
int	service_ext_adopt(struct service *s, struct service_ext *x);
/* Frees what x holds and resets it to the defaults. */
void	service_ext_clear(struct service_ext *x);

struct pod_port {
	char		*name;		/* NULL when unnamed */
	uint16_t	 port;
	enum cip_proto	 proto;
	uint16_t	 host_port;	/* hostPort (published), 0: none */
};

/*
 * On a pod whose address is its host's (another host's Docker container,
 * published through etcd): its ports are reached at their hostPort, and
 * a port without one is not reached at all. See pod_target_port.
 */
#define ANNOTATION_VIA_HOST_PORT	"clusterip.io/via-host-port"

enum probe_kind {
	PROBE_NONE,
	PROBE_TCP,
	PROBE_HTTP,
};

/* A readinessProbe, with Kubernetes' defaults filled in. */
struct probe {
	enum probe_kind	 kind;
	uint16_t	 port;		/* 0 when given by name */
	char		*port_name;
	char		*path;		/* PROBE_HTTP; default "/" */
	uint32_t	 initial_delay_s;	/* 0 */
	uint32_t	 period_s;		/* 10 */
	uint32_t	 timeout_s;		/* 1 */
	uint32_t	 success_threshold;	/* 1 */
	uint32_t	 failure_threshold;	/* 3 */
};

struct pod {
	uint64_t	 uid;		/* set by the registry */
	char		*ns;		/* interned, shared by its namespace */
	char		*name;
	char		*key;		/* "ns/name" */
	struct labels	 labels;
	struct labels	 annotations;
	/*
	 * status.podIP and status.podIPs, at most one per family: 0 and ::
	 * when absent; ip6_primary when podIP is the IPv6 one.
	 */
	struct in_addr	 ip;
	struct in6_addr	 ip6;
	bool		 ip6_primary;
	struct pod_port	*ports;
	size_t		 nports;
	struct probe	 probe;
	/* status.conditions Ready (true when absent). */
	bool		 declared_ready;
	/*
	 * Verdict of the health checker: true when there is no probe;
	 * false until the first success when there is one. Kept across
	 * updates of the same pod with the same probe.
	 */
	bool		 probe_ok;
	/* Set for pods materialized from an Endpoints object. */
	char		*endpoints_of;	/* service key, or NULL */
	/*
	 * spec.hostname and spec.subdomain of a Pod; for a pod from an
	 * Endpoints object, hostname is its address's and subdomain NULL.
	 * Both NULL when absent. See pod_endpoint_hostname.
	 */
	char		*hostname;
	char		*subdomain;
	struct owner	 owner;
	time_t		 created;
	uint32_t	 line, col;	/* manifest position, for messages */
	/* Services selecting this pod, maintained by the registry. */
	struct service	**member_of;
	size_t		 nmember_of;
	size_t		 member_of_cap;
	/* The next pod holding the same address (registry_find_pod_by_ip). */
	struct pod	*ip_next;
	/* The same for ip6 (registry_find_pod_by_ip6). */
	struct pod	*ip6_next;
};

/* True when the pod takes new connections: declared ready and probe ok. */
bool	pod_ready(const struct pod *);
/*
 * The pod port that sp targets: targetPort by number, by name through
 * the pod's named ports (for Endpoints-derived pods, by the service
 * port's name). Returns 0 when a named port does not resolve.
 */
uint16_t pod_target_port(const struct pod *, const struct svc_port *sp);
/*
 * The hostname of pod as an endpoint of svc, as Kubernetes' endpoints
 * controller sets it: an Endpoints address's hostname, or a Pod's
 * spec.hostname when its spec.subdomain is svc's name (same namespace).
 * NULL when it has none (DNS then names it by its dashed address).
 * Points into pod.
 */
const char *pod_endpoint_hostname(const struct pod *,
    const struct service *svc);
/*
 * True when DNS publishes pod as an endpoint of svc: ready, or any
 * member with an address when svc publishes not-ready addresses.
 */
bool	pod_published(const struct pod *, const struct service *svc);
/* True when pod has an address of family f. */
bool	pod_has_family(const struct pod *, enum ip_family f);
/* True when svc has family f (after the registry resolved them). */
bool	service_has_family(const struct service *, enum ip_family f);

/*
 * An IPv6 address as CoreDNS names endpoints without a hostname:
 * presentation form with ':' turned to '-' ("fd00--1"). buf holds at
 * least INET6_ADDRSTRLEN bytes. Returns buf.
 */
char	*in6_dashed(const struct in6_addr *, char *buf, size_t len);

/*
 * Kubernetes' rules for the IP families of svc, from its
 * spec.ipFamilyPolicy, spec.ipFamilies and spec.clusterIPs and the
 * families the daemon has VIP ranges for (cluster[0] is the primary,
 * ncluster 1 or 2): the policy it gets (SingleStack when absent, but
 * RequireDualStack when two families or two clusterIPs are given, and
 * for headless services without selector) and its families, primary
 * first (the cluster's primary when none is asked; a second one for
 * PreferDualStack on a dual-stack daemon and always for
 * RequireDualStack). Refused with ERR_INVAL and a reason in err:
 * more than two or repeated families, clusterIPs not matching
 * ipFamilies, SingleStack with two, RequireDualStack or a family
 * without a range, any of them on ExternalName. Pure.
 */
int	service_ip_families(const struct service *svc,
    const enum ip_family *cluster, size_t ncluster,
    enum ip_family_policy *policy, enum ip_family out[2], uint8_t *nout,
    char *err, size_t errlen);

/*
 * One subset of an Endpoints object (for a service without selector):
 * addresses and ports. The registry turns each address into a pod named
 * "<name>-<a-b-c-d>" (IPv6: "<name>-<dashed address>", as
 * pod_addr_dashed) with endpoints_of set; an address listed in several
 * subsets of the object (other ports, as Kubernetes allows) is one pod
 * with the ports of all of them, not ready if any subset lists it in
 * notReadyAddresses, named by the first hostname given for it.
 */
struct ep_address {
	struct in_addr	 ip;		/* 0 when the address is IPv6 */
	struct in6_addr	 ip6;		/* :: when the address is IPv4 */
	char		*hostname;	/* may be NULL */
	bool		 not_ready;	/* from notReadyAddresses */
};
struct endpoints {
	char		 *ns;
	char		 *name;
	struct ep_address *addrs;
	size_t		  naddrs;
	struct pod_port	 *ports;
	size_t		  nports;
	size_t		  subset;	/* index in the object's subsets */
	uint32_t	  line, col;	/* of the subset */
};

/* A batch of parsed objects, as a manifest or an API request gives them. */
struct objset {
	struct service	**svcs;
	size_t		  nsvcs;
	struct pod	**pods;
	size_t		  npods;
	struct endpoints **eps;
	size_t		  neps;
	size_t		  cap_svcs, cap_pods, cap_eps;
	/*
	 * The manifest the objects came from, for "src:line:column: "
	 * in refusals; not owned, NULL when they have no position.
	 */
	const char	 *src;
	/*
	 * Published by another host (shared through etcd): its Services
	 * keep the families and VIPs that host gave them, also where this
	 * host has no range of that family or the VIP lies outside it
	 * (such a VIP is not taken from this host's pool).
	 */
	bool		  published;
};

/* Appending takes ownership. Returns 0 or ERR_NOMEM. */
int	objset_add_service(struct objset *, struct service *);
int	objset_add_pod(struct objset *, struct pod *);
int	objset_add_endpoints(struct objset *, struct endpoints *);
/* Frees every object still held and the arrays; leaves it empty. */
void	objset_clear(struct objset *);

/* Constructors fill defaults (namespace "default", probe defaults, ...). */
struct service *service_new(void);
struct pod *pod_new(void);
struct endpoints *endpoints_new(void);
/* Set ns and name and derive key. Return 0 or ERR_NOMEM. */
int	service_set_name(struct service *, const char *ns, const char *name);
int	pod_set_name(struct pod *, const char *ns, const char *name);
void	service_free(struct service *);
/* True when two objects describe the same thing (owner and times aside). */
bool	service_spec_equal(const struct service *, const struct service *);
bool	pod_spec_equal(const struct pod *, const struct pod *);
bool	probe_equal(const struct probe *, const struct probe *);
void	pod_free(struct pod *);
void	endpoints_free(struct endpoints *);

enum registry_event {
	REG_SVC_ADDED,
	REG_SVC_CHANGED,	/* spec changed, in the same struct */
	REG_SVC_REMOVED,	/* svc valid during the callback only */
	REG_ENDPOINTS_CHANGED,	/* membership, readiness or ready arrays */
	REG_POD_ADDED,
	REG_POD_CHANGED,
	REG_POD_REMOVED,	/* pod valid during the callback only */
};

/*
 * A subscriber. svc is set for REG_SVC_* and REG_ENDPOINTS_CHANGED, pod
 * for REG_POD_*. Callbacks run synchronously inside the call that made
 * the change and must not change the registry.
 */
typedef void registry_cb(enum registry_event, const struct service *,
    const struct pod *, void *arg);

struct registry;

/*
 * Creates an empty registry that allocates VIPs from vips (not owned;
 * may be NULL in tests, then ClusterIP services get no VIP).
 */
struct registry *registry_new(struct vip_pool *vips);
/* Frees every object; subscribers are not told. */
void	registry_free(struct registry *);
/* The algorithm of services that name none (--lb-algorithm). */
void	registry_set_default_algo(struct registry *, enum lb_algo);
int	registry_subscribe(struct registry *, registry_cb *, void *arg);
void	registry_unsubscribe(struct registry *, registry_cb *, void *arg);

enum registry_apply_mode {
	/* Objects of owner absent from the set are removed (a file). */
	REGISTRY_REPLACE,
	/* Objects are added or updated; nothing else is touched (the API). */
	REGISTRY_MERGE,
};

/*
 * Applies a set of objects for one owner, all or nothing. Refused with a
 * reason in err (nothing changed) when an object belongs to another
 * owner (ERR_CONFLICT), when a service cannot get its VIP
 * (ERR_INVAL, ERR_CONFLICT, ERR_EXHAUSTED), or when the set names
 * one object twice (ERR_INVAL). On success the objects move into the
 * registry (set is left empty), VIPs are saved, and subscribers hear of
 * every change. An unchanged object is not republished. Returns 0.
 */
int	registry_apply(struct registry *, const struct owner *,
    struct objset *set, enum registry_apply_mode, char *err, size_t errlen);
/* Removes everything owner owns (a deleted file, a stopped provider). */
void	registry_remove_owner(struct registry *, const struct owner *);

enum registry_kind {
	REGISTRY_SERVICE,
	REGISTRY_POD,
	REGISTRY_ENDPOINTS,	/* the pods an Endpoints object made */
};
/*
 * Deletes one object on behalf of who. ERR_NOTFOUND when absent,
 * ERR_CONFLICT (err names the owner) when another owner holds it.
 * REGISTRY_ENDPOINTS: the pods of the Endpoints object ns/name that who
 * owns (every owner's with who NULL); ERR_NOTFOUND when there are none.
 */
int	registry_delete(struct registry *, enum registry_kind, const char *ns,
    const char *name, const struct owner *who, char *err, size_t errlen);

/*
 * The health checker's verdict for a pod. Publishes REG_POD_CHANGED and
 * REG_ENDPOINTS_CHANGED for its services when readiness flips. Returns
 * ERR_NOTFOUND when the pod is gone.
 */
int	registry_set_probe_result(struct registry *, const char *pod_key,
    bool ok);

/* Lookups, O(1). */
struct service *registry_find_service(const struct registry *,
    const char *ns, const char *name);
struct service *registry_find_service_key(const struct registry *,
    const char *key);
struct service *registry_find_service_by_vip(const struct registry *,
    struct in_addr vip);
struct pod *registry_find_pod(const struct registry *, const char *ns,
    const char *name);
struct pod *registry_find_pod_key(const struct registry *, const char *key);
/*
 * The first pod whose address is ip (0.0.0.0 never matches); the others
 * follow through pod->ip_next, in the order they got the address.
 */
struct pod *registry_find_pod_by_ip(const struct registry *,
    struct in_addr ip);
/* The same for IPv6 (:: never matches); the others by pod->ip6_next. */
struct service *registry_find_service_by_vip6(const struct registry *,
    const struct in6_addr *vip);
struct pod *registry_find_pod_by_ip6(const struct registry *,
    const struct in6_addr *ip);
/* True while any service or pod lives in ns. */
bool	registry_namespace_exists(const struct registry *, const char *ns);
size_t	registry_count_services(const struct registry *);
size_t	registry_count_pods(const struct registry *);
/* Number of members of svc that are ready. */
size_t	service_ready_count(const struct service *);

/*
 * The pods of the Endpoints object of svc_key ("ns/name"), every
 * owner's: their number, and the array in *pods (the registry's, valid
 * until its next change).
 */
size_t	registry_endpoints_pods(const struct registry *, const char *svc_key,
    struct pod *const **pods);

/* Iteration in no particular order; the callback must not change it. */
void	registry_foreach_service(const struct registry *,
    void (*cb)(struct service *, void *), void *arg);
void	registry_foreach_pod(const struct registry *,
    void (*cb)(struct pod *, void *), void *arg);
/*
 * The same over the objects of one owner only, services then pods; a
 * callback may be NULL. Costs what the owner holds, not the registry.
 */
void	registry_foreach_owned(const struct registry *, const struct owner *,
    void (*svc_cb)(struct service *, void *),
    void (*pod_cb)(struct pod *, void *), void *arg);

#endif
