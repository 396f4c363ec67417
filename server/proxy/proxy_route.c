/* SPDX-License-Identifier: MIT */
/*
 * proxy_route.c -- loopback mode's VIPs outside what lo takes as its
 * own (127.0.0.0/8; for IPv6 the VIP range's local route): another
 * host's VIPs, shared through etcd from a range of that host's. Each
 * gets a local route of its own on lo ("local ADDR/32" or "/128"), so
 * that it reaches this host's forwarder (or kernel path) as every VIP
 * does: every host serves every Service. Without CAP_NET_ADMIN, or
 * without IPv6 on the host, the route cannot be added: logged once per
 * VIP, and the Service is then not served here at that VIP.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "log.h"
#include "netif.h"
#include "registry.h"
#include "runtime.h"
#include "util.h"
#include "vip.h"
#include "proxy.h"
#include "proxy_int.h"

/* lo, opened at the first VIP that needs a route. */
static struct netif *proxy_lo;
/* "4:ns/name", "6:ns/name" -> why that VIP cannot be reached here. */
static struct hmap *proxy_unserved;

/* The key of ps's VIP of family fam in proxy_unserved. */
static void
proxy_route_key(const char *svc_key, int af, char *buf, size_t len)
{
	snprintf(buf, len, "%c:%s", af == AF_INET6 ? '6' : '4', svc_key);
}

/* Notes (why non-NULL) or forgets why ps's VIP of family fam is unserved. */
static void
proxy_route_note(const struct proxy_svc *ps, int af, const char *why)
{
	char k[600], *v;

	proxy_route_key(ps->key, af, k, sizeof(k));
	if (why == NULL) {
		if (proxy_unserved != NULL)
			free(hmap_del(proxy_unserved, k));
		return;
	}
	if (proxy_unserved == NULL && (proxy_unserved = hmap_new()) == NULL)
		return;
	if ((v = strdup(why)) == NULL)
		return;
	free(hmap_del(proxy_unserved, k));
	if (hmap_put(proxy_unserved, k, v, NULL) != 0)
		free(v);
}

const char *
proxy_route_unserved(const char *svc_key, int af)
{
	char k[600];

	if (proxy_unserved == NULL)
		return NULL;
	proxy_route_key(svc_key, af, k, sizeof(k));
	return hmap_get(proxy_unserved, k);
}

bool
proxy_route_needed(const struct runtime *rt, enum ip_family fam,
    const void *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (rt->netif != NULL)
		return false;	/* interface mode: the address is added */
	if (fam == IP_FAMILY_V6) {
		memcpy(&a6, addr, sizeof(a6));
		if (in6_is_unset(&a6) || IN6_IS_ADDR_LOOPBACK(&a6))
			return false;
		return rt->vips == NULL || vip_range6(rt->vips) == NULL ||
		    !vip_in_range6(rt->vips, &a6);
	}
	memcpy(&a4, addr, sizeof(a4));
	return a4.s_addr != 0 && (ntohl(a4.s_addr) >> 24) != 127;
}

/* ps's VIP of family fam, and its address family and text. */
static const void *
proxy_route_addr(const struct proxy_svc *ps, enum ip_family fam, int *af,
    char *buf, size_t len)
{
	const void *a = fam == IP_FAMILY_V6 ? (const void *)&ps->vip6 :
	    (const void *)&ps->vip;

	*af = fam == IP_FAMILY_V6 ? AF_INET6 : AF_INET;
	if (inet_ntop(*af, a, buf, (socklen_t)len) == NULL)
		strlcpy(buf, "?", len);
	return a;
}

void
proxy_route_add(struct proxy_svc *ps, enum ip_family fam)
{
	bool *routed = fam == IP_FAMILY_V6 ? &ps->vip6_routed :
	    &ps->vip_routed;
	bool *warned = fam == IP_FAMILY_V6 ? &ps->route6_warned :
	    &ps->route_warned;
	char a[INET6_ADDRSTRLEN], err[256] = "";
	const void *addr;
	int af;

	/* Every bind asks: the text only for a VIP that needs a route. */
	if (*routed || !proxy_route_needed(proxy.rt, fam, fam ==
	    IP_FAMILY_V6 ? (const void *)&ps->vip6 : (const void *)&ps->vip))
		return;
	addr = proxy_route_addr(ps, fam, &af, a, sizeof(a));
	if (proxy_lo == NULL &&
	    (proxy_lo = netif_open("lo", err, sizeof(err))) == NULL)
		goto fail;
	if (netif_route_local(proxy_lo, true, af, addr) == -1) {
		snprintf(err, sizeof(err), "adding a local route on lo: %s%s",
		    strerror(errno), errno == EPERM || errno == EACCES ?
		    " (needs CAP_NET_ADMIN)" : "");
		goto fail;
	}
	*routed = true;
	*warned = false;
	proxy_route_note(ps, af, NULL);
	log_info("proxy: %s: VIP %s is outside the addresses lo takes as "
	    "its own here: local route on lo", ps->key, a);
	return;
fail:
	proxy_route_note(ps, af, err);
	if (!*warned)
		log_warnx("proxy: %s: VIP %s is outside the addresses lo "
		    "takes as its own here and cannot be reached on this "
		    "host: %s", ps->key, a, err);
	*warned = true;
}

void
proxy_route_del(struct proxy_svc *ps, enum ip_family fam)
{
	bool *routed = fam == IP_FAMILY_V6 ? &ps->vip6_routed :
	    &ps->vip_routed;
	char a[INET6_ADDRSTRLEN];
	const void *addr;
	int af;

	if (fam == IP_FAMILY_V6)
		ps->route6_warned = false;
	else
		ps->route_warned = false;
	proxy_route_note(ps, fam == IP_FAMILY_V6 ? AF_INET6 : AF_INET, NULL);
	if (!*routed)
		return;
	*routed = false;
	addr = proxy_route_addr(ps, fam, &af, a, sizeof(a));
	if (proxy_lo != NULL && netif_route_local(proxy_lo, false, af,
	    addr) == -1)
		log_warn("proxy: %s: removing the local route of %s from lo",
		    ps->key, a);
}

void
proxy_route_close(void)
{
	netif_close(proxy_lo);
	proxy_lo = NULL;
	hmap_free(proxy_unserved, free);
	proxy_unserved = NULL;
}
