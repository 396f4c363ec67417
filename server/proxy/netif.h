/* SPDX-License-Identifier: MIT */
/*
 * netif.h -- add and remove VIP addresses on an interface over rtnetlink,
 * and the local route of loopback mode's IPv6 range.
 */
#ifndef CIP_NETIF_H
#define CIP_NETIF_H

#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * Removes every address netif_addr_add and netif_addr6_add added and
 * that is still there, and the routes netif_route_local6 and
 * netif_route_local added, then closes. Accepts NULL.
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
/*
 * The same for an IPv6 address: addr/128 with IFA_F_NODAD (a VIP is
 * ours alone, duplicate address detection would only delay it),
 * announced by an unsolicited neighbour advertisement to all nodes,
 * attached three times a second apart (RFC 4861 7.2.6).
 */
int	netif_addr6_add(struct netif *, const struct in6_addr *addr);
int	netif_addr6_del(struct netif *, const struct in6_addr *addr);
/*
 * Adds (add true) or removes "local prefix/len" on the interface in the
 * local table, as "ip -6 route add local prefix/len dev lo table local"
 * does: the host then takes every address of the range as its own, as
 * it does for 127.0.0.0/8. Waits for the kernel's answer either way.
 * A route already there counts as success and is left at exit. Needs
 * CAP_NET_ADMIN. Returns 0 or -1 with errno.
 */
int	netif_route_local6(struct netif *, bool add,
    const struct in6_addr *prefix, unsigned len);
/*
 * Adds (add true) or removes "local addr/32" (af AF_INET) or
 * "local addr/128" (AF_INET6) on the interface in the local table, for
 * one VIP the host does not take as its own otherwise; waits for the
 * kernel's answer. A route already there counts as success and is left
 * alone; removing touches only routes added here. netif_close removes
 * what is left of them. Needs CAP_NET_ADMIN. Returns 0 or -1 with errno.
 */
int	netif_route_local(struct netif *, bool add, int af, const void *addr);
/* The interface's name and index. */
const char *netif_name(const struct netif *);
int	netif_index(const struct netif *);

/*
 * A gratuitous ARP packet for Ethernet and IPv4 (RFC 826), after the MAC
 * header, as sent for a VIP added in interface mode.
 */
struct netif_arp {
	struct arphdr	hdr;
	uint8_t		sha[ETH_ALEN];
	uint8_t		spa[4];
	uint8_t		tha[ETH_ALEN];
	uint8_t		tpa[4];
} __attribute__((packed));

/*
 * The unsolicited neighbour advertisement sent for an IPv6 VIP added in
 * interface mode: the target, and the interface's link-layer address.
 */
struct netif_na_pkt {
	struct nd_neighbor_advert	na;
	struct nd_opt_hdr		opt;
	uint8_t				lladdr[ETH_ALEN];
} __attribute__((packed));

struct msghdr;
struct iovec;
/*
 * Sets msg up for sendmsg or recvmsg of one datagram: data[0..len) (in
 * iov, the caller's), peer address name[0..namelen), ancillary data in
 * ctl[0..ctllen). How neighbour advertisements are sent, and read back
 * in the tests.
 */
void	netif_msg_init(struct msghdr *msg, struct iovec *iov, void *data,
    size_t len, void *name, size_t namelen, void *ctl, size_t ctllen);

#endif
