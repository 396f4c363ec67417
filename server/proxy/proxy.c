/* SPDX-License-Identifier: MIT */
/*
 * proxy.c -- the forwarder's control side: follows registry events, opens
 * and closes VIP:port listeners, keeps per-endpoint load, passive health
 * and metrics, and picks the endpoint of each new connection. The TCP
 * data path is proxy_tcp.c, UDP flows proxy_udp.c; they share proxy_int.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conf.h"
#include "hmap.h"
#include "listen_guard.h"
#include "log.h"
#include "metrics.h"
#include "netif.h"
#include "proxymode.h"
#include "registry.h"
#include "runtime.h"
#include "util.h"
#include "proxy.h"
#include "proxy_int.h"

/* A failed endpoint is skipped for this long, doubling up to the cap. */
#define PROXY_SKIP_MS		2000
#define PROXY_SKIP_MAX_MS	30000
/* Accepting pauses this long after EMFILE/ENFILE. */
#define PROXY_EMFILE_PAUSE_MS	250
/* Affinity pins are swept this often. */
#define PROXY_SWEEP_MS		10000

struct proxy proxy;

static void	proxy_svc_init_one(struct service *, void *);
static void	proxy_registry_cb(enum registry_event, const struct service *,
		    const struct pod *, void *);
static void	proxy_svc_sync(struct proxy_svc *, const struct service *);
static void	proxy_svc_unbind(struct proxy_svc *);
static void	proxy_svc_unbind_fam(struct proxy_svc *, enum ip_family);
static void	proxy_svc_bind_fam(struct proxy_svc *, const struct service *,
		    enum ip_family);
static const char *proxy_vip_str(const struct proxy_svc *, enum ip_family,
		    char *, size_t);
static void	proxy_svc_sync_endpoints(struct proxy_svc *,
		    const struct service *);
static void	proxy_svc_gone(struct proxy_svc *);
static void	proxy_svc_maybe_free(struct proxy_svc *);
static void	proxy_svc_free(void *);
static void	proxy_lsn_open(struct proxy_svc *, enum ip_family, uint16_t,
		    enum cip_proto);
static void	proxy_lsn_close(struct proxy_lsn *);
static void	proxy_sweep_cb(evutil_socket_t, short, void *);
static void	proxy_ep_drain_cb(evutil_socket_t, short, void *);
static void	proxy_ep_revive_cb(evutil_socket_t, short, void *);
static void	proxy_svc_health(struct proxy_svc *);
static void	proxy_ep_close_all(struct proxy_ep *, bool);

/* The series of a service, and of each of its endpoints. */
#define SVC_M(...)	METRIC_DEF(proxy_svc, __VA_ARGS__)
#define EP_M(...)	METRIC_DEF(proxy_ep, __VA_ARGS__)
/* A byte counter's two series, one per direction. */
#define BYTES_M(M, family, help)					\
	M(m_bytes_to_ep, family, METRIC_COUNTER, help,			\
	    "direction=\"to_endpoint\""),				\
	M(m_bytes_to_client, family, METRIC_COUNTER, help,		\
	    "direction=\"to_client\"")
static const struct metric_def svc_metrics[] = {
	SVC_M(m_retries, "clusterip_forward_retries_total", METRIC_COUNTER,
	    "Connects retried on another endpoint.", ""),
	SVC_M(m_noep, "clusterip_forward_no_endpoint_total", METRIC_COUNTER,
	    "Connections reset for want of a ready endpoint.", ""),
	SVC_M(m_conns, "clusterip_service_connections_total", METRIC_COUNTER,
	    "Connections forwarded for a service.", ""),
	SVC_M(m_active, "clusterip_service_connections_active", METRIC_GAUGE,
	    "Open forwarded connections of a service.", ""),
	SVC_M(m_fail, "clusterip_service_connect_failures_total",
	    METRIC_COUNTER, "Connects to a service's endpoints that failed.",
	    ""),
	SVC_M(m_ready, "clusterip_service_endpoints_ready", METRIC_GAUGE,
	    "Endpoints of a service that are ready.", ""),
	SVC_M(m_healthy, "clusterip_service_endpoints_healthy", METRIC_GAUGE,
	    "Ready endpoints of a service that the forwarder does not skip "
	    "after failed connects.", ""),
	BYTES_M(SVC_M, "clusterip_service_bytes_total",
	    "Bytes forwarded for a service."),
};

static const struct metric_def ep_metrics[] = {
	EP_M(m_conns, "clusterip_forward_connections_total", METRIC_COUNTER,
	    "Connections forwarded to an endpoint.", ""),
	EP_M(m_active, "clusterip_forward_connections_active", METRIC_GAUGE,
	    "Open forwarded connections.", ""),
	EP_M(m_fail, "clusterip_forward_connect_failures_total",
	    METRIC_COUNTER, "Connects to an endpoint that failed.", ""),
	EP_M(m_ready, "clusterip_endpoint_ready", METRIC_GAUGE,
	    "1 when the endpoint is ready (probes, leases, conditions), as "
	    "DNS and the API report it.", ""),
	EP_M(m_healthy, "clusterip_endpoint_healthy", METRIC_GAUGE,
	    "0 while the forwarder skips the endpoint after failed connects "
	    "(passive health), else 1.", ""),
	BYTES_M(EP_M, "clusterip_forward_bytes_total", "Bytes forwarded."),
};

uint64_t
proxy_now_ms(void)
{
	struct timeval tv;

	if (event_base_gettimeofday_cached(proxy.rt->base, &tv) == -1)
		return now_ms();
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Closes fd so that the peer sees a reset, not a FIN. */
void
proxy_reset_fd(int fd)
{
	struct linger l = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
proxy_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("proxy: setrlimit NOFILE");
	}
}

int
proxy_init(struct runtime *rt)
{
	struct timeval tv;

	memset(&proxy, 0, sizeof(proxy));
	proxy.rt = rt;
	rt->vip_unserved = proxy_route_unserved;
	LIST_INIT(&proxy.listeners);
	arc4random_buf(&proxy.rng, sizeof(proxy.rng));
	proxy.rng |= 1;		/* never 0, the one fixed point */
	proxy_raise_nofile();
	if ((proxy.svcs = hmap_new()) == NULL)
		return -1;
	if ((proxy.guard = listen_guard_new(rt->base, "proxy",
	    PROXY_EMFILE_PAUSE_MS)) == NULL)
		goto fail;
	proxy.sweep = event_new(rt->base, -1, EV_PERSIST, proxy_sweep_cb,
	    NULL);
	if (proxy.sweep == NULL ||
	    event_add(proxy.sweep, ms_to_tv(PROXY_SWEEP_MS, &tv)) == -1)
		goto fail;
	if (registry_subscribe(rt->reg, proxy_registry_cb, NULL) != 0)
		goto fail;
	proxy.subscribed = true;
	registry_foreach_service(rt->reg, proxy_svc_init_one, NULL);
	return 0;
fail:
	proxy_shutdown();
	return -1;
}

static void
proxy_svc_init_one(struct service *svc, void *arg)
{
	proxy_registry_cb(REG_SVC_ADDED, svc, NULL, arg);
}

void
proxy_shutdown(void)
{
	struct hmap_iter it;
	const char *key;
	void *val;

	if (proxy.rt == NULL)
		return;
	if (proxy.subscribed)
		registry_unsubscribe(proxy.rt->reg, proxy_registry_cb, NULL);
	proxy.subscribed = false;
	proxy_tcp_close_all();
	proxy.shutting_down = true;
	if (proxy.svcs != NULL) {
		/* Connections and flows go with their endpoints. */
		hmap_iter_init(&it, proxy.svcs);
		while (hmap_iter_next(&it, &key, &val))
			proxy_svc_gone(val);
		hmap_free(proxy.svcs, proxy_svc_free);
		proxy.svcs = NULL;
	}
	if (proxy.sweep != NULL)
		event_free(proxy.sweep);
	listen_guard_free(proxy.guard);
	proxy.rt->vip_unserved = NULL;
	proxy_route_close();
	free(proxy.loads);
	memset(&proxy, 0, sizeof(proxy));
}

/* Registry events: services and their endpoints. */

static void
proxy_registry_cb(enum registry_event ev, const struct service *svc,
    const struct pod *pod, void *arg)
{
	struct proxy_svc *ps;

	(void)pod;
	(void)arg;
	if (svc == NULL)
		return;
	ps = hmap_get(proxy.svcs, svc->key);
	switch (ev) {
	case REG_SVC_ADDED:
	case REG_SVC_CHANGED:
		/* Nothing to forward: no state (100,000 such cost 90 MiB). */
		if (ps == NULL && (svc->nports == 0 ||
		    svc->type != SVC_CLUSTERIP))
			break;
		if (ps == NULL && (ps = proxy_svc_new(svc->key)) == NULL) {
			log_warnx("proxy: %s: out of memory", svc->key);
			return;
		}
		ps->gone = false;
		/* The same struct until REG_SVC_REMOVED. */
		ps->svc = svc;
		proxy_svc_sync(ps, svc);
		proxy_svc_sync_endpoints(ps, svc);
		break;
	case REG_ENDPOINTS_CHANGED:
		if (ps != NULL)
			proxy_svc_sync_endpoints(ps, svc);
		break;
	case REG_SVC_REMOVED:
		if (ps != NULL) {
			proxy_svc_gone(ps);
			proxy_svc_maybe_free(ps);
		}
		break;
	default:
		break;
	}
}

static uint32_t
proxy_ep_hash(const void *o)
{
	return ptab_hash_u64(((const struct proxy_ep *)o)->uid);
}

static bool
proxy_ep_match(const void *o, const void *key)
{
	return ((const struct proxy_ep *)o)->uid == *(const uint64_t *)key;
}

static uint32_t
proxy_ep_key_hash(const void *o)
{
	return ptab_hash_str(((const struct proxy_ep *)o)->key);
}

static bool
proxy_ep_key_match(const void *o, const void *key)
{
	return strcmp(((const struct proxy_ep *)o)->key, key) == 0;
}

struct proxy_svc *
proxy_svc_new(const char *key)
{
	struct proxy_svc *ps;
	char esc[512], labels[600];

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	LIST_INIT(&ps->listeners);
	LIST_INIT(&ps->ep_list);
	ptab_init(&ps->eps, proxy_ep_hash);
	ptab_init(&ps->eps_by_key, proxy_ep_key_hash);
	if ((ps->key = strdup(key)) == NULL ||
	    (ps->bal = balancer_new()) == NULL ||
	    hmap_put(proxy.svcs, key, ps, NULL) == -1) {
		balancer_free(ps->bal);
		free(ps->key);
		free(ps);
		return NULL;
	}
	metrics_escape(key, esc, sizeof(esc));
	snprintf(labels, sizeof(labels), "service=\"%s\"", esc);
	metrics_get_defs(ps, svc_metrics, CIP_ARRAY_LEN(svc_metrics), labels);
	return ps;
}

/*
 * The kernel data path serves svc's VIPs, IPv4 and IPv6: the forwarder
 * does not listen on them.
 */
static bool
proxy_kernel_serves(const struct service *svc)
{
	return service_proxy_mode(svc, (enum proxy_mode)proxy.rt->proxy_mode,
	    proxy.rt->kernel_ok, NULL) == PROXY_MODE_NFTABLES;
}

/* True when svc has a VIP of family fam. */
static bool
proxy_svc_has_vip(const struct service *svc, enum ip_family fam)
{
	if (svc->type != SVC_CLUSTERIP)
		return false;
	return fam == IP_FAMILY_V6 ? !in6_is_unset(&svc->ext->vip6) :
	    svc->vip.s_addr != 0;
}

static bool
proxy_svc_wants(const struct service *svc, enum ip_family fam, uint16_t port,
    enum cip_proto p)
{
	size_t i;

	if (!proxy_svc_has_vip(svc, fam))
		return false;
	if (proxy_kernel_serves(svc))
		return false;
	for (i = 0; i < svc->nports; i++)
		if (svc->ports[i].port == port && svc->ports[i].proto == p)
			return true;
	return false;
}

/* ps's VIP of family fam, for messages. */
static const char *
proxy_vip_str(const struct proxy_svc *ps, enum ip_family fam, char *buf,
    size_t len)
{
	if (inet_ntop(fam == IP_FAMILY_V6 ? AF_INET6 : AF_INET,
	    fam == IP_FAMILY_V6 ? (const void *)&ps->vip6 :
	    (const void *)&ps->vip, buf, (socklen_t)len) == NULL)
		strlcpy(buf, "?", len);
	return buf;
}

/* Closes ps's listeners of family fam and takes that VIP off the interface. */
static void
proxy_svc_unbind_fam(struct proxy_svc *ps, enum ip_family fam)
{
	struct proxy_lsn *l, *next;
	struct netif *nif = proxy.rt->netif;
	char a[INET6_ADDRSTRLEN];
	int rc = 0;

	for (l = LIST_FIRST(&ps->listeners); l != NULL; l = next) {
		next = LIST_NEXT(l, entry);
		if (l->fam == fam)
			proxy_lsn_close(l);
	}
	proxy_route_del(ps, fam);
	if (fam == IP_FAMILY_V6) {
		if (ps->vip6_added && nif != NULL)
			rc = netif_addr6_del(nif, &ps->vip6);
		ps->vip6_added = false;
	} else {
		if (ps->vip_added && nif != NULL)
			rc = netif_addr_del(nif, ps->vip);
		ps->vip_added = false;
	}
	if (rc == -1)
		log_warn("proxy: remove %s", proxy_vip_str(ps, fam, a,
		    sizeof(a)));
	if (fam == IP_FAMILY_V6)
		memset(&ps->vip6, 0, sizeof(ps->vip6));
	else
		ps->vip.s_addr = 0;
}

/* Closes all of ps's listeners and takes its VIPs off the interface. */
static void
proxy_svc_unbind(struct proxy_svc *ps)
{
	proxy_svc_unbind_fam(ps, IP_FAMILY_V4);
	proxy_svc_unbind_fam(ps, IP_FAMILY_V6);
}

/* Makes the listeners of family fam match the service's VIP and ports. */
static void
proxy_svc_bind_fam(struct proxy_svc *ps, const struct service *svc,
    enum ip_family fam)
{
	struct proxy_lsn *l, *next;
	struct netif *nif = proxy.rt->netif;
	char a[INET6_ADDRSTRLEN];
	bool v6 = fam == IP_FAMILY_V6;
	bool *added = v6 ? &ps->vip6_added : &ps->vip_added;
	size_t i;

	if (svc->type != SVC_CLUSTERIP || (v6 ?
	    memcmp(&ps->vip6, &svc->ext->vip6, sizeof(ps->vip6)) != 0 :
	    ps->vip.s_addr != svc->vip.s_addr))
		proxy_svc_unbind_fam(ps, fam);
	if (!proxy_svc_has_vip(svc, fam))
		return;
	if (v6)
		ps->vip6 = svc->ext->vip6;
	else
		ps->vip = svc->vip;
	if (!*added && nif != NULL) {
		if ((v6 ? netif_addr6_add(nif, &ps->vip6) :
		    netif_addr_add(nif, ps->vip)) == -1)
			log_warn("proxy: add %s to %s", proxy_vip_str(ps, fam,
			    a, sizeof(a)), netif_name(nif));
		else
			*added = true;
	}
	if (nif == NULL)
		proxy_route_add(ps, fam);
	for (l = LIST_FIRST(&ps->listeners); l != NULL; l = next) {
		next = LIST_NEXT(l, entry);
		if (l->fam == fam && !proxy_svc_wants(svc, fam, l->port,
		    l->proto))
			proxy_lsn_close(l);
	}
	for (i = 0; i < svc->nports; i++) {
		const struct svc_port *sp = &svc->ports[i];

		if ((sp->proto != CIP_PROTO_TCP && sp->proto != CIP_PROTO_UDP) ||
		    proxy_kernel_serves(svc))
			continue;
		LIST_FOREACH(l, &ps->listeners, entry)
			if (l->fam == fam && l->port == sp->port &&
			    l->proto == sp->proto)
				break;
		if (l == NULL)
			proxy_lsn_open(ps, fam, sp->port, sp->proto);
	}
}

/* Makes the listeners match the service's VIPs and ports. */
static void
proxy_svc_sync(struct proxy_svc *ps, const struct service *svc)
{
	proxy_svc_bind_fam(ps, svc, IP_FAMILY_V4);
	proxy_svc_bind_fam(ps, svc, IP_FAMILY_V6);
}

struct proxy_ep *
proxy_ep_find(const struct proxy_svc *ps, uint64_t uid)
{
	return ptab_find(&ps->eps, ptab_hash_u64(uid), proxy_ep_match, &uid);
}

struct proxy_ep *
proxy_ep_get(struct proxy_svc *ps, const struct pod *pod)
{
	struct proxy_ep *ep;
	char se[512], ee[512], labels[1200];

	if ((ep = proxy_ep_find(ps, pod->uid)) != NULL)
		return ep;
	/*
	 * A pod of the same name that went before: its state (connections,
	 * back-off, metric series) carries on, as one series per name.
	 */
	if ((ep = ptab_find(&ps->eps_by_key, ptab_hash_str(pod->key),
	    proxy_ep_key_match, pod->key)) != NULL) {
		ptab_remove(&ps->eps, ep);
		ep->uid = pod->uid;
		(void)ptab_add(&ps->eps, ep);	/* the room it just left */
		return ep;
	}
	if ((ep = calloc(1, sizeof(*ep))) == NULL)
		return NULL;
	TAILQ_INIT(&ep->sessions);
	LIST_INIT(&ep->flows);
	ep->ps = ps;
	ep->uid = pod->uid;
	if ((ep->key = strdup(pod->key)) == NULL ||
	    ptab_add(&ps->eps, ep) == -1) {
		free(ep->key);
		free(ep);
		return NULL;
	}
	if (ptab_add(&ps->eps_by_key, ep) == -1) {
		ptab_remove(&ps->eps, ep);
		free(ep->key);
		free(ep);
		return NULL;
	}
	LIST_INSERT_HEAD(&ps->ep_list, ep, link);
	metrics_escape(ps->key, se, sizeof(se));
	metrics_escape(pod->key, ee, sizeof(ee));
	snprintf(labels, sizeof(labels), "service=\"%s\",endpoint=\"%s\"",
	    se, ee);
	metrics_get_defs(ep, ep_metrics, CIP_ARRAY_LEN(ep_metrics), labels);
	metric_set(ep->m_healthy, 1);
	return ep;
}

static void
proxy_ep_free(struct proxy_ep *ep)
{
	ptab_remove(&ep->ps->eps, ep);
	ptab_remove(&ep->ps->eps_by_key, ep);
	LIST_REMOVE(ep, link);
	if (ep->fails > 0)
		ep->ps->nfailing--;
	if (ep->drain != NULL)
		event_free(ep->drain);
	if (ep->revive != NULL)
		event_free(ep->revive);
	metrics_forget(ep->m_conns);
	metrics_forget(ep->m_active);
	metrics_forget(ep->m_fail);
	metrics_forget(ep->m_ready);
	metrics_forget(ep->m_healthy);
	metrics_forget(ep->m_bytes_to_ep);
	metrics_forget(ep->m_bytes_to_client);
	free(ep->key);
	free(ep);
}

/* Frees ep once it is neither a member nor in use; then maybe its service. */
void
proxy_ep_release(struct proxy_ep *ep)
{
	struct proxy_svc *ps = ep->ps;

	if (ep->member || ep->active > 0)
		return;
	proxy_ep_free(ep);
	proxy_svc_maybe_free(ps);
}

/* Closes everything ep still serves (it is released by the caller). */
static void
proxy_ep_close_all(struct proxy_ep *ep, bool reset)
{
	ep->draining = true;
	proxy_tcp_close_ep(ep, reset);
	proxy_udp_drain_ep(ep);
	ep->draining = false;
}

/* An endpoint left and the drain timeout passed. */
static void
proxy_ep_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_ep *ep = arg;

	(void)fd;
	(void)what;
	if (ep->member)
		return;
	proxy_ep_close_all(ep, true);
	proxy_ep_release(ep);
}

/*
 * Follows the members of the service: state for each new one, drain for
 * those that left. The choice itself reads the registry's ready arrays.
 */
static void
proxy_svc_sync_endpoints(struct proxy_svc *ps, const struct service *svc)
{
	struct proxy_ep *ep, *next;
	struct timeval tv;
	uint64_t drain_ms = proxy.rt->conf->proxy_drain_timeout_ms;
	size_t i;

	LIST_FOREACH(ep, &ps->ep_list, link)
		ep->member = false;
	for (i = 0; i < svc->nmembers; i++) {
		if ((ep = proxy_ep_get(ps, svc->members[i])) == NULL)
			continue;
		ep->member = true;
		ep->ready = pod_ready(svc->members[i]);
		metric_set(ep->m_ready, ep->ready ? 1 : 0);
		if (ep->drain != NULL)
			event_del(ep->drain);
	}
	for (ep = LIST_FIRST(&ps->ep_list); ep != NULL; ep = next) {
		next = LIST_NEXT(ep, link);
		if (ep->member)
			continue;
		metric_set(ep->m_ready, 0);
		if (ep->active == 0) {
			proxy_ep_free(ep);
			continue;
		}
		if (drain_ms == 0 || (ep->drain != NULL &&
		    event_pending(ep->drain, EV_TIMEOUT, NULL)))
			continue;
		if (ep->drain == NULL)
			ep->drain = evtimer_new(proxy.rt->base,
			    proxy_ep_drain_cb, ep);
		if (ep->drain != NULL)
			evtimer_add(ep->drain, ms_to_tv(drain_ms, &tv));
	}
	proxy_svc_health(ps);
}

/* The service's endpoint counts: ready ones, and healthy ones of those. */
static void
proxy_svc_health(struct proxy_svc *ps)
{
	struct proxy_ep *ep;
	int64_t ready = 0, healthy = 0;

	LIST_FOREACH(ep, &ps->ep_list, link) {
		if (!ep->member || !ep->ready)
			continue;
		ready++;
		if (!ep->skipped)
			healthy++;
	}
	metric_set(ps->m_ready, ready);
	metric_set(ps->m_healthy, healthy);
}

void
proxy_ep_conn_up(struct proxy_ep *ep)
{
	metric_add(ep->m_conns, 1);
	metric_set(ep->m_active, ++ep->nconn);
	metric_add(ep->ps->m_conns, 1);
	metric_set(ep->ps->m_active, ++ep->ps->nconn);
}

void
proxy_ep_conn_down(struct proxy_ep *ep)
{
	metric_set(ep->m_active, --ep->nconn);
	metric_set(ep->ps->m_active, --ep->ps->nconn);
}

/* The service went: listeners close, endpoints drain. */
static void
proxy_svc_gone(struct proxy_svc *ps)
{
	struct proxy_ep *ep, *enext;

	ps->gone = true;
	ps->busy = true;
	ps->svc = NULL;
	proxy_svc_unbind(ps);
	for (ep = LIST_FIRST(&ps->ep_list); ep != NULL; ep = enext) {
		enext = LIST_NEXT(ep, link);
		ep->member = false;
		ep->ready = false;
		metric_set(ep->m_ready, 0);
		if (proxy.shutting_down)
			proxy_ep_close_all(ep, false);
		/* Idle ones go now. */
		if (ep->active == 0)
			proxy_ep_free(ep);
	}
	proxy_svc_health(ps);
	ps->busy = false;
}

static void
proxy_svc_maybe_free(struct proxy_svc *ps)
{
	if (!ps->gone || ps->busy || proxy.shutting_down ||
	    ps->eps.count > 0 ||
	    ps->refs > 0)
		return;
	hmap_del(proxy.svcs, ps->key);
	proxy_svc_free(ps);
}

void
proxy_svc_release(struct proxy_svc *ps)
{
	proxy_svc_maybe_free(ps);
}

/* Frees a service already gone; its endpoints go too (shutdown). */
static void
proxy_svc_free(void *arg)
{
	struct proxy_svc *ps = arg;
	struct proxy_ep *ep;

	while ((ep = LIST_FIRST(&ps->ep_list)) != NULL)
		proxy_ep_free(ep);
	ptab_clear(&ps->eps);
	ptab_clear(&ps->eps_by_key);
	balancer_free(ps->bal);
	metrics_forget(ps->m_retries);
	metrics_forget(ps->m_noep);
	metrics_forget(ps->m_conns);
	metrics_forget(ps->m_active);
	metrics_forget(ps->m_fail);
	metrics_forget(ps->m_ready);
	metrics_forget(ps->m_healthy);
	metrics_forget(ps->m_bytes_to_ep);
	metrics_forget(ps->m_bytes_to_client);
	free(ps->key);
	free(ps);
}

static void
proxy_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hmap_iter it;
	const char *key;
	void *val;
	uint64_t now = proxy_now_ms();
	const struct service *svc;

	(void)fd;
	(void)what;
	(void)arg;
	hmap_iter_init(&it, proxy.svcs);
	while (hmap_iter_next(&it, &key, &val)) {
		struct proxy_svc *ps = val;

		svc = ps->svc;
		balancer_expire(ps->bal, svc != NULL &&
		    svc->affinity == AFFINITY_CLIENTIP ?
		    (uint64_t)svc->ext->affinity_timeout_s * 1000 : 0, now);
	}
}

/* Endpoint choice, shared by TCP and UDP. */

/*
 * xorshift64*, seeded from arc4random: glibc's arc4random makes a
 * getrandom(2) call each time, too much for every connection, and the
 * choice of an endpoint needs spread, not secrecy.
 */
static uint32_t
proxy_random(void)
{
	uint64_t x = proxy.rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	proxy.rng = x;
	return (uint32_t)((x * 2685821657736338717ULL) >> 32);
}

static int
proxy_loads_reserve(size_t n)
{
	struct balancer_load *l;

	if (n <= proxy.nloads_cap)
		return 0;
	if ((l = reallocarray(proxy.loads, n, sizeof(*l))) == NULL)
		return -1;
	proxy.loads = l;
	proxy.nloads_cap = n;
	return 0;
}

/*
 * True when the client's pin is to an endpoint that is fine but does not
 * serve this port (a pod without the named targetPort): the connection
 * goes elsewhere, and the pin stays for the service's other ports. A pin
 * to an endpoint that failed or went moves as usual.
 */
static bool
proxy_pin_elsewhere(const struct proxy_svc *ps, const struct svc_port *sp,
    enum ip_family fam, const struct balancer_req *rq)
{
	const struct proxy_ep *ep;
	uint64_t uid;

	uid = balancer_pinned_uid(ps->bal, &rq->client, rq->affinity_ms,
	    rq->now_ms);
	if (uid == 0 || !balancer_pin_elsewhere(ps->svc, sp, fam, uid))
		return false;
	return (ep = proxy_ep_find(ps, uid)) != NULL &&
	    ep->skip_until_ms <= rq->now_ms;
}

int
proxy_pick(struct proxy_svc *ps, enum ip_family fam, uint16_t port,
    enum cip_proto proto, const union proxy_sa *client,
    struct proxy_ep *const *tried, size_t ntried, union proxy_sa *dst,
    struct proxy_ep **epp)
{
	const struct service *svc = ps->svc;
	const struct svc_port *sp = NULL;
	const struct svc_ready *rd;
	const struct svc_endpoint *eps;
	struct balancer_load *load = NULL;
	struct balancer_req rq;
	struct proxy_ep *ep;
	size_t i, j, n;
	int k;

	if (svc == NULL)
		return -1;
	for (i = 0; i < svc->nports; i++)
		if (svc->ports[i].port == port && svc->ports[i].proto == proto)
			sp = &svc->ports[i];
	if (sp == NULL)
		return -1;
	rd = fam == IP_FAMILY_V6 ? sp->ready6 : sp->ready;
	if (rd == NULL || (n = rd->n) == 0)
		return -1;
	eps = rd->v;
	rq.algo = svc->algo;
	if (client->sa.sa_family == AF_INET6)
		rq.client = client->sin6.sin6_addr;
	else
		balancer_client4(client->sin.sin_addr.s_addr, &rq.client);
	rq.now_ms = proxy_now_ms();
	rq.affinity_ms = svc->affinity == AFFINITY_CLIENTIP ?
	    (uint64_t)svc->ext->affinity_timeout_s * 1000 : 0;
	rq.rnd = svc->algo == LB_RANDOM ? proxy_random() : 0;
	/*
	 * Loads and skips matter only for least-connections, a retry, or
	 * while an endpoint fails: otherwise the choice reads the array
	 * alone, and only the chosen endpoint's state is looked up.
	 */
	if (ntried > 0 || ps->nfailing > 0 || svc->algo == LB_LEAST_CONN) {
		if (proxy_loads_reserve(n) == -1)
			return -1;
		load = proxy.loads;
		for (i = 0; i < n; i++) {
			load[i].active = 0;
			load[i].flags = 0;
			if ((ep = proxy_ep_find(ps, eps[i].uid)) == NULL) {
				/* No state for it (OOM when it came). */
				load[i].flags = BALANCER_TRIED;
				continue;
			}
			load[i].active = ep->active;
			if (ep->skip_until_ms > rq.now_ms)
				load[i].flags |= BALANCER_FAILING;
			for (j = 0; j < ntried; j++)
				if (tried[j] == ep)
					load[i].flags |= BALANCER_TRIED;
		}
	}
	if (rq.affinity_ms != 0 && proxy_pin_elsewhere(ps, sp, fam, &rq))
		rq.affinity_ms = 0;
	if ((k = balancer_pick(ps->bal, &rq, eps, n, load)) < 0)
		return -1;
	if ((ep = proxy_ep_find(ps, eps[k].uid)) == NULL &&
	    (ep = proxy_ep_get(ps, eps[k].pod)) == NULL)
		return -1;
	memset(dst, 0, sizeof(*dst));
	if (fam == IP_FAMILY_V6) {
		dst->sin6.sin6_family = AF_INET6;
		dst->sin6.sin6_addr = eps[k].ip6;
		dst->sin6.sin6_port = htons(eps[k].port);
	} else {
		dst->sin.sin_family = AF_INET;
		dst->sin.sin_addr = eps[k].ip;
		dst->sin.sin_port = htons(eps[k].port);
	}
	*epp = ep;
	return 0;
}

/* A connect to ep failed: skip it for a while (passive health). */
void
proxy_ep_failed(struct proxy_ep *ep)
{
	struct timeval tv;
	uint64_t skip = PROXY_SKIP_MS;
	uint32_t i;

	metric_add(ep->m_fail, 1);
	metric_add(ep->ps->m_fail, 1);
	for (i = 0; i < ep->fails && skip < PROXY_SKIP_MAX_MS; i++)
		skip *= 2;
	skip = MINIMUM(skip, PROXY_SKIP_MAX_MS);
	if (ep->fails++ == 0)
		ep->ps->nfailing++;
	ep->skip_until_ms = proxy_now_ms() + skip;
	metric_set(ep->m_healthy, 0);
	if (!ep->skipped) {
		ep->skipped = true;
		proxy_svc_health(ep->ps);
	}
	/*
	 * When the skip ends the endpoint takes connections again, the
	 * next of which tells: the gauge says what proxy_pick does.
	 */
	if (ep->revive == NULL)
		ep->revive = evtimer_new(proxy.rt->base, proxy_ep_revive_cb,
		    ep);
	if (ep->revive != NULL)
		evtimer_add(ep->revive, ms_to_tv(skip, &tv));
}

/* A connect to ep worked: it is healthy again. */
void
proxy_ep_connected(struct proxy_ep *ep)
{
	if (ep->fails == 0)
		return;
	ep->fails = 0;
	ep->ps->nfailing--;
	ep->skip_until_ms = 0;
	metric_set(ep->m_healthy, 1);
	if (ep->revive != NULL)
		evtimer_del(ep->revive);
	if (ep->skipped) {
		ep->skipped = false;
		proxy_svc_health(ep->ps);
	}
}

/* The skip of a failed endpoint is over: new connections try it again. */
static void
proxy_ep_revive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_ep *ep = arg;

	(void)fd;
	(void)what;
	metric_set(ep->m_healthy, 1);
	ep->skipped = false;
	proxy_svc_health(ep->ps);
}

/* Listeners. */

static int
proxy_socket(const union proxy_sa *addr, int type)
{
	int fd, on = 1, af = addr->sa.sa_family;

	if ((fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/*
	 * The VIP need not be on an interface yet (interface mode adds it
	 * without waiting); an IPv6 VIP in loopback mode never is, it is
	 * local by the range's route on lo only.
	 */
	if (af == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on,
		    sizeof(on));
	} else
		(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
	/* Accepted connections inherit it: one setsockopt less per client. */
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, &addr->sa, proxy_sa_len(addr)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 4096) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
proxy_lsn_open(struct proxy_svc *ps, enum ip_family fam, uint16_t port,
    enum cip_proto proto)
{
	struct proxy_lsn *l;
	union proxy_sa sa;
	char a[INET6_ADDRSTRLEN];
	const char *lb = fam == IP_FAMILY_V6 ? "[" : "";
	const char *rb = fam == IP_FAMILY_V6 ? "]" : "";
	int fd;

	memset(&sa, 0, sizeof(sa));
	if (fam == IP_FAMILY_V6) {
		sa.sin6.sin6_family = AF_INET6;
		sa.sin6.sin6_addr = ps->vip6;
		sa.sin6.sin6_port = htons(port);
	} else {
		sa.sin.sin_family = AF_INET;
		sa.sin.sin_addr = ps->vip;
		sa.sin.sin_port = htons(port);
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto fail;
	l->ps = ps;
	l->fam = fam;
	l->port = port;
	l->proto = proto;
	l->fd = -1;
	fd = proxy_socket(&sa, proto == CIP_PROTO_UDP ? SOCK_DGRAM :
	    SOCK_STREAM);
	if (fd == -1)
		goto fail;
	l->fd = fd;
	if (proto == CIP_PROTO_UDP) {
		if (proxy_udp_open(l) == -1)
			goto fail;
	} else {
		/* Backlog 0: already listening (4096), keep it. */
		l->el = evconnlistener_new(proxy.rt->base, proxy_tcp_accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (l->el == NULL)
			goto fail;
		if (listen_guard_add(proxy.guard, l->el) != 0)
			goto fail;
	}
	LIST_INSERT_HEAD(&ps->listeners, l, entry);
	LIST_INSERT_HEAD(&proxy.listeners, l, all);
	log_debug("proxy: %s listening on %s%s%s:%u/%s", ps->key, lb,
	    proxy_vip_str(ps, fam, a, sizeof(a)), rb, port,
	    cip_proto_name(proto));
	return;
fail:
	log_warn("proxy: %s: listen on %s%s%s:%u/%s", ps->key, lb,
	    proxy_vip_str(ps, fam, a, sizeof(a)), rb, port,
	    cip_proto_name(proto));
	if (l != NULL) {
		if (l->el != NULL)
			evconnlistener_free(l->el);
		else if (l->fd != -1 && proto == CIP_PROTO_TCP)
			close(l->fd);
		else if (proto == CIP_PROTO_UDP)
			proxy_udp_close(l);
		free(l);
	}
}

static void
proxy_lsn_close(struct proxy_lsn *l)
{
	LIST_REMOVE(l, entry);
	LIST_REMOVE(l, all);
	if (l->proto == CIP_PROTO_UDP)
		proxy_udp_close(l);
	if (l->el != NULL) {
		listen_guard_remove(proxy.guard, l->el);
		evconnlistener_free(l->el);
	}
	free(l);
}

/* Stops or restarts accepting everywhere (the connection cap). */
void
proxy_pause_all(bool pause)
{
	proxy.paused = pause;
	listen_guard_hold(proxy.guard, pause);
}
