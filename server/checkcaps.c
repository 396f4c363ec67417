/* SPDX-License-Identifier: MIT */
/*
 * checkcaps.c -- --check-config's warnings about capabilities this
 * process lacks and the configuration needs (checkcaps.h).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sys/capability.h>

#include "conf.h"
#include "util.h"
#include "checkcaps.h"

/* One warning line on fp. Returns 1, to count it. */
static int __attribute__((format(printf, 2, 3)))
checkcaps_say(FILE *fp, const char *fmt, ...)
{
	va_list ap;

	fputs("clusteripd: warning: ", fp);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	return 1;
}

/* The first port an unprivileged process may bind (1024 unless set). */
static unsigned
checkcaps_port_start(void)
{
	unsigned start = 1024;
	FILE *fp;

	if ((fp = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    "r")) != NULL) {
		if (fscanf(fp, "%u", &start) != 1)
			start = 1024;
		fclose(fp);
	}
	return start;
}

/* One warning when what (an ADDR:PORT of option opt) needs the capability. */
static int
checkcaps_port(const char *opt, const char *what, unsigned start, FILE *fp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned port;

	if (what == NULL || parse_hostport(what, 0, &ss, &len) != 0)
		return 0;	/* none, "none", or refused elsewhere */
	port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if (port == 0 || port >= start)
		return 0;
	return checkcaps_say(fp, "%s %s: a port below %u needs "
	    "CAP_NET_BIND_SERVICE, which this process lacks; start-up "
	    "without it cannot bind it", opt, what, start);
}

int
checkcaps_warn(const struct cip_conf *c, FILE *fp)
{
	const char *r6 = conf_vip_range(c, AF_INET6);
	unsigned start;
	size_t i;
	int n = 0;

	if (!proc_has_cap(CAP_NET_ADMIN)) {
		if (c->vip_interface == NULL && r6 != NULL)
			n += checkcaps_say(fp, "vip-range %s: loopback mode "
			    "routes an IPv6 range to lo, which needs "
			    "CAP_NET_ADMIN, which this process lacks; start-up "
			    "without it refuses the range", r6);
		if (c->vip_interface != NULL)
			n += checkcaps_say(fp, "vip-interface %s: putting VIPs "
			    "on it needs CAP_NET_ADMIN, which this process "
			    "lacks; without it no VIP is reachable",
			    c->vip_interface);
		if (c->proxy_mode != NULL &&
		    strcmp(c->proxy_mode, "nftables") == 0)
			n += checkcaps_say(fp, "proxy-mode nftables: the "
			    "kernel path needs CAP_NET_ADMIN, which this "
			    "process lacks; without it every service stays on "
			    "the userspace forwarder");
	}
	if (!proc_has_cap(CAP_NET_BIND_SERVICE)) {
		start = checkcaps_port_start();
		for (i = 0; i < c->dns_listen.n; i++)
			n += checkcaps_port("dns-listen", c->dns_listen.v[i],
			    start, fp);
		n += checkcaps_port("api-listen", c->api_listen, start, fp);
	}
	return n;
}
