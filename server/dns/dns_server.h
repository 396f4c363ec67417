/* SPDX-License-Identifier: MIT */
/* dns_server.h -- UDP/TCP DNS listeners: the cluster zone and forwarding upstream. */
#ifndef CIP_DNS_SERVER_H
#define CIP_DNS_SERVER_H

struct cip_conf;
struct runtime;

/* Binds every --dns-listen address and subscribes to the registry. 0 or -1 (logged). */
int	dns_server_init(struct runtime *);
/*
 * SIGHUP: applies the DNS settings of nc (not owned, not kept) that need
 * no new socket: answer and negative TTLs, cluster domain, EDNS payload,
 * TCP client limit and idle timeout, upstream servers (and a re-read of
 * /etc/resolv.conf when none is set), upstream timeout and in-flight cap,
 * cache size, dns-allow and dns-short-names. Queries already upstream
 * finish on the old servers. A changed dns-listen is logged as taking
 * effect at restart. What cannot
 * be built (out of memory, a refused domain) keeps its running value,
 * with a warning. Returns 0, or -1 when something was kept.
 */
int	dns_server_reload(const struct cip_conf *nc);
/* Closes listeners and connections, cancels upstream queries, frees all. */
void	dns_server_shutdown(void);

#endif
