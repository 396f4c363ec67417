/* SPDX-License-Identifier: MIT */
/* netif.c -- add and remove VIP addresses on an interface over rtnetlink. */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hmap.h"
#include "log.h"
#include "netif.h"
#include "util.h"

#define NETIF_TIMEOUT_S	2	/* for the kernel's acknowledgement */

struct netif {
	char		 name[IF_NAMESIZE];
	int		 index;
	int		 nl;		/* NETLINK_ROUTE socket */
	int		 pkt;		/* AF_PACKET socket for ARP, or -1 */
	uint32_t	 seq;
	struct hmap	*added;		/* "A.B.C.D" we added -> this netif */
};

/* An ARP packet for Ethernet and IPv4 (RFC 826), after the MAC header. */
struct netif_arp {
	struct arphdr	hdr;
	uint8_t		sha[ETH_ALEN];
	uint8_t		spa[4];
	uint8_t		tha[ETH_ALEN];
	uint8_t		tpa[4];
} __attribute__((packed));

static int	netif_request(struct netif *, uint16_t, uint16_t,
    struct in_addr, int *);
static void	netif_garp(struct netif *, struct in_addr);

/*
 * Sends one RTM_NEWADDR or RTM_DELADDR for addr/32 and waits for the
 * kernel's acknowledgement: *kerr is 0 or the errno it reports. Returns
 * -1 with errno when the request could not be made at all.
 */
static int
netif_request(struct netif *n, uint16_t type, uint16_t flags,
    struct in_addr addr, int *kerr)
{
	struct {
		struct nlmsghdr		nh;
		struct ifaddrmsg	ifa;
		char			attrs[2 * RTA_SPACE(4)];
	} req;
	union {
		struct nlmsghdr	nh;
		char		buf[8192];
	} resp;
	struct sockaddr_nl kernel;
	struct nlmsghdr *nh;
	struct nlmsgerr *e;
	struct rtattr *rta;
	ssize_t r;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req.nh.nlmsg_seq = ++n->seq;
	req.ifa.ifa_family = AF_INET;
	req.ifa.ifa_prefixlen = 32;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = (unsigned)n->index;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = IFA_LOCAL;
	rta->rta_len = RTA_LENGTH(4);
	memcpy(RTA_DATA(rta), &addr.s_addr, 4);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_SPACE(4);
	rta = (struct rtattr *)((char *)&req + req.nh.nlmsg_len);
	rta->rta_type = IFA_ADDRESS;
	rta->rta_len = RTA_LENGTH(4);
	memcpy(RTA_DATA(rta), &addr.s_addr, 4);
	req.nh.nlmsg_len += RTA_SPACE(4);

	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;
	do {
		r = sendto(n->nl, &req, req.nh.nlmsg_len, 0,
		    (struct sockaddr *)&kernel, sizeof(kernel));
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;

	for (;;) {
		r = recv(n->nl, &resp, sizeof(resp), 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		len = (size_t)r;
		for (nh = &resp.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			/* Skip answers to earlier requests that timed out. */
			if (nh->nlmsg_seq != n->seq)
				continue;
			if (nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
				errno = EPROTO;
				return -1;
			}
			e = NLMSG_DATA(nh);
			*kerr = -e->error;
			return 0;
		}
	}
}

/*
 * Announces addr with an ARP request whose sender and target are both
 * addr, broadcast, so neighbours update their caches. Best effort.
 */
static void
netif_garp(struct netif *n, struct in_addr addr)
{
	struct netif_arp arp;
	struct sockaddr_ll sll;
	struct ifreq ifr;
	char buf[INET_ADDRSTRLEN];

	if (n->pkt == -1)
		return;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, n->name, sizeof(ifr.ifr_name));
	if (ioctl(n->pkt, SIOCGIFHWADDR, &ifr) == -1) {
		log_debug("%s: %s: SIOCGIFHWADDR: %s", __func__, n->name,
		    strerror(errno));
		return;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		log_debug("%s: %s is not Ethernet, no ARP", __func__, n->name);
		return;
	}
	memset(&arp, 0, sizeof(arp));
	arp.hdr.ar_hrd = htons(ARPHRD_ETHER);
	arp.hdr.ar_pro = htons(ETH_P_IP);
	arp.hdr.ar_hln = ETH_ALEN;
	arp.hdr.ar_pln = 4;
	arp.hdr.ar_op = htons(ARPOP_REQUEST);
	memcpy(arp.sha, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	memcpy(arp.spa, &addr.s_addr, 4);
	memcpy(arp.tpa, &addr.s_addr, 4);

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = n->index;
	sll.sll_halen = ETH_ALEN;
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	if (sendto(n->pkt, &arp, sizeof(arp), 0, (struct sockaddr *)&sll,
	    sizeof(sll)) == -1)
		log_debug("%s: %s on %s: %s", __func__, inet4_str(addr, buf),
		    n->name, strerror(errno));
	else
		log_debug("%s: announced %s on %s", __func__,
		    inet4_str(addr, buf), n->name);
}

struct netif *
netif_open(const char *ifname, char *err, size_t errlen)
{
	struct sockaddr_nl local;
	struct timeval tv;
	struct netif *n;
	unsigned idx;

	if (ifname == NULL || *ifname == '\0' ||
	    strlen(ifname) >= IF_NAMESIZE) {
		errf(err, errlen, "invalid interface name \"%s\"",
		    ifname ? ifname : "");
		return NULL;
	}
	if ((idx = if_nametoindex(ifname)) == 0) {
		errf(err, errlen, "interface %s: %s", ifname,
		    strerror(errno));
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	n->nl = n->pkt = -1;
	strlcpy(n->name, ifname, sizeof(n->name));
	n->index = (int)idx;
	if ((n->added = hmap_new()) == NULL) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	if ((n->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1) {
		errf(err, errlen, "netlink socket: %s", strerror(errno));
		goto fail;
	}
	memset(&local, 0, sizeof(local));
	local.nl_family = AF_NETLINK;
	if (bind(n->nl, (struct sockaddr *)&local, sizeof(local)) == -1) {
		errf(err, errlen, "netlink bind: %s", strerror(errno));
		goto fail;
	}
	tv.tv_sec = NETIF_TIMEOUT_S;
	tv.tv_usec = 0;
	if (setsockopt(n->nl, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1) {
		errf(err, errlen, "netlink SO_RCVTIMEO: %s", strerror(errno));
		goto fail;
	}
	/* Without CAP_NET_RAW there is no announcement, nothing worse. */
	if ((n->pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC,
	    htons(ETH_P_ARP))) == -1)
		log_debug("%s: packet socket: %s; no gratuitous ARP",
		    __func__, strerror(errno));
	return n;
fail:
	netif_close(n);
	return NULL;
}

void
netif_close(struct netif *n)
{
	struct hmap_iter it;
	struct in_addr a;
	const char *key;
	int kerr;

	if (n == NULL)
		return;
	if (n->added != NULL) {
		hmap_iter_init(&it, n->added);
		while (n->nl != -1 && hmap_iter_next(&it, &key, NULL)) {
			if (inet_pton(AF_INET, key, &a) != 1)
				continue;
			if (netif_request(n, RTM_DELADDR, 0, a, &kerr) == -1)
				log_warn("%s: remove %s from %s", __func__, key,
				    n->name);
			else if (kerr != 0 && kerr != EADDRNOTAVAIL) {
				errno = kerr;
				log_warn("%s: remove %s from %s", __func__, key,
				    n->name);
			} else
				log_debug("%s: removed %s from %s", __func__,
				    key, n->name);
		}
		hmap_free(n->added, NULL);
	}
	if (n->nl != -1)
		close(n->nl);
	if (n->pkt != -1)
		close(n->pkt);
	free(n);
}

int
netif_addr_add(struct netif *n, struct in_addr addr)
{
	char buf[INET_ADDRSTRLEN];
	int kerr;

	if (netif_request(n, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, addr,
	    &kerr) == -1)
		return -1;
	inet4_str(addr, buf);
	if (kerr == EEXIST)
		log_debug("%s: %s already on %s", __func__, buf, n->name);
	else if (kerr != 0) {
		errno = kerr;
		return -1;
	} else if (hmap_put(n->added, buf, n, NULL) != 0) {
		/* Not remembered: take it off again rather than leak it. */
		netif_request(n, RTM_DELADDR, 0, addr, &kerr);
		errno = ENOMEM;
		return -1;
	} else
		log_debug("%s: added %s/32 to %s", __func__, buf, n->name);
	netif_garp(n, addr);
	return 0;
}

int
netif_addr_del(struct netif *n, struct in_addr addr)
{
	char buf[INET_ADDRSTRLEN];
	int kerr;

	if (netif_request(n, RTM_DELADDR, 0, addr, &kerr) == -1)
		return -1;
	if (kerr != 0 && kerr != EADDRNOTAVAIL) {
		errno = kerr;
		return -1;
	}
	hmap_del(n->added, inet4_str(addr, buf));
	return 0;
}

const char *
netif_name(const struct netif *n)
{
	return n->name;
}

int
netif_index(const struct netif *n)
{
	return n->index;
}
