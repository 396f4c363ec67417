/* SPDX-License-Identifier: MIT */
/* netif.h -- add and remove VIP addresses on an interface over rtnetlink. */
#ifndef CIP_NETIF_H
#define CIP_NETIF_H

#include <netinet/in.h>
#include <stddef.h>

struct event_base;
struct netif;

/*
 * Opens a NETLINK_ROUTE socket for interface ifname. Returns NULL with a
 * reason in err when the interface does not exist or netlink fails.
 */
struct netif *netif_open(const char *ifname, char *err, size_t errlen);
/*
 * From now on requests do not wait: the kernel's acknowledgements are
 * read by an event on base, failures logged there. Returns 0 or -1.
 */
int	netif_attach(struct netif *, struct event_base *base);
/*
 * Removes every address netif_addr_add added and that is still there,
 * then closes. Accepts NULL.
 */
void	netif_close(struct netif *);
/*
 * Adds addr/32 (scope global) to the interface and sends a gratuitous
 * ARP for it once the kernel has it. An address already present counts
 * as success (and is then not removed by netif_close unless we added
 * it). Attached, returns once the request is sent (0, or -1 with errno);
 * else once the kernel answered (0, or -1 with its errno).
 */
int	netif_addr_add(struct netif *, struct in_addr addr);
/*
 * Removes addr/32. Absent counts as success. Returns 0 or -1 with errno,
 * when the request is sent (attached) or answered (not attached).
 */
int	netif_addr_del(struct netif *, struct in_addr addr);
/* The interface's name and index. */
const char *netif_name(const struct netif *);
int	netif_index(const struct netif *);

#endif
