/* SPDX-License-Identifier: MIT */
/*
 * netif.c -- add and remove VIP addresses on an interface over rtnetlink
 * (IPv4 /32 announced by gratuitous ARP, IPv6 /128 without duplicate
 * address detection announced by an unsolicited neighbour advertisement),
 * and the local routes on lo that loopback mode needs for an IPv6 range
 * and for single VIPs outside the addresses lo takes as its own.
 * Once attached to the event loop, requests go out without waiting: the
 * kernel's acknowledgements are read when the socket is readable, so a
 * slow kernel never stalls DNS or forwarding (the forwarder's listeners
 * bind with IP_FREEBIND and need not wait for their address).
 */
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
#include <netinet/icmp6.h>
#include <netpacket/packet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hmap.h"
#include "log.h"
#include "netif.h"
#include "util.h"

#define NETIF_TIMEOUT_S	2	/* for the kernel's acknowledgement */
#define NETIF_PENDING	1024	/* requests awaiting their acknowledgement */
#define NETIF_RCVBUF	(1 << 20)
/*
 * Unsolicited neighbour advertisements per IPv6 VIP and the gap between
 * them (RFC 4861 10: MAX_NEIGHBOR_ADVERTISEMENT, RetransTimer): one may
 * be lost, as a link under load drops packets. Repeats need the loop.
 */
#define NETIF_NA_COUNT	3
#define NETIF_NA_GAP_MS	1000
#define NETIF_NA_QUEUE	256	/* addresses awaiting repeats */
/*
 * The protocol of the local routes the daemon adds (unassigned in
 * iproute2's rt_protos), so that one left by a run that did not exit
 * cleanly is told from someone else's.
 */
#define NETIF_RTPROT	193

/* An address of either family. */
struct netif_addr {
	int			 af;	/* AF_INET, AF_INET6 */
	union {
		struct in_addr	 a4;
		struct in6_addr	 a6;
	};
};

/* A request sent and not yet acknowledged. */
struct netif_req {
	uint32_t	 seq;		/* 0: free slot */
	uint16_t	 type;		/* RTM_{NEW,DEL}{ADDR,ROUTE} */
	struct netif_addr addr;
};

struct netif {
	char		 name[IF_NAMESIZE];
	int		 index;
	int		 nl;		/* NETLINK_ROUTE socket */
	int		 pkt;		/* AF_PACKET socket for ARP, or -1 */
	int		 icmp6;		/* raw ICMPv6 socket for NA, or -1 */
	uint32_t	 seq;
	/* Addresses we added, in presentation form -> this netif. */
	struct hmap	*added;
	/* The local route netif_route_local6 added, if any. */
	struct in6_addr	 route6;
	uint8_t		 route6_len;
	bool		 route6_added;
	/* Single-address routes netif_route_local added -> this netif. */
	struct hmap	*routes;
	struct event	*ev;		/* acknowledgements; NULL: wait */
	/* IPv6 VIPs whose advertisement is repeated, and when. */
	struct {
		struct in6_addr	 addr;
		uint8_t		 left;
	}		 na_q[NETIF_NA_QUEUE];
	size_t		 na_n;
	struct event	*na_ev;
	int		 kerr;		/* what netif_wait's request got */
	struct netif_req pending[NETIF_PENDING];	/* by seq % size */
};

static int	netif_send(struct netif *, uint16_t, uint16_t,
		    const struct netif_addr *);
static int	netif_send_route(struct netif *, uint16_t, uint16_t,
		    const struct netif_addr *, uint8_t);
static int	netif_route_once(struct netif *, bool,
		    const struct netif_addr *, uint8_t);
static int	netif_route_sync(struct netif *, bool,
		    const struct netif_addr *, uint8_t);
static int	netif_request(struct netif *, uint16_t, uint16_t,
		    const struct netif_addr *, int);
static const char *netif_addr_str(const struct netif_addr *, char *,
		    size_t);
static int	netif_read(struct netif *, uint32_t);
static void	netif_done(struct netif *, struct netif_req *, int);
static int	netif_wait(struct netif *, uint32_t);
static void	netif_read_cb(evutil_socket_t, short, void *);
static void	netif_garp(struct netif *, struct in_addr);
static void	netif_na(struct netif *, const struct in6_addr *);
static void	netif_na_repeat(struct netif *, const struct in6_addr *,
		    bool);
static void	netif_na_cb(evutil_socket_t, short, void *);

/* The presentation form of a. */
static const char *
netif_addr_str(const struct netif_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->af, a->af == AF_INET6 ? (const void *)&a->a6 :
	    (const void *)&a->a4, buf, (socklen_t)len) == NULL)
		strlcpy(buf, "?", len);
	return buf;
}

/*
 * Takes the next sequence number and its slot, waiting for an older
 * request still in the slot first.
 */
static struct netif_req *
netif_slot(struct netif *n)
{
	struct netif_req *slot;

	if (++n->seq == 0)
		n->seq = 1;
	slot = &n->pending[n->seq % NETIF_PENDING];
	if (slot->seq != 0 && netif_wait(n, slot->seq) == -1)
		netif_done(n, slot, ETIMEDOUT);
	return slot;
}

/* Sends the request in buf (len bytes) to the kernel. 0 or -1. */
static int
netif_sendto(struct netif *n, const void *buf, size_t len)
{
	struct sockaddr_nl kernel;
	ssize_t r;

	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;
	do {
		r = sendto(n->nl, buf, len, 0, (struct sockaddr *)&kernel,
		    sizeof(kernel));
	} while (r == -1 && errno == EINTR);
	return r == -1 ? -1 : 0;
}

/*
 * Appends attribute type with len bytes of data to the message msg (a
 * whole request buffer, starting with its struct nlmsghdr).
 */
static void
netif_rta(void *msg, uint16_t type, const void *data, size_t len)
{
	struct nlmsghdr *nh = msg;
	struct rtattr *rta;

	rta = (struct rtattr *)((char *)msg + NLMSG_ALIGN(nh->nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
}

/*
 * Sends one RTM_NEWADDR or RTM_DELADDR for addr (/32, or /128 without
 * duplicate address detection) and records it as pending (as n->seq);
 * netif_done runs when the kernel acknowledges it. Returns 0, or -1
 * with errno when it could not be sent.
 */
static int
netif_send(struct netif *n, uint16_t type, uint16_t flags,
    const struct netif_addr *addr)
{
	struct {
		struct nlmsghdr		nh;
		struct ifaddrmsg	ifa;
		char			attrs[2 * RTA_SPACE(16) +
					    RTA_SPACE(4)];
	} req;
	struct netif_req *slot;
	uint32_t ifa_flags = IFA_F_NODAD;
	size_t alen = addr->af == AF_INET6 ? 16 : 4;
	const void *a = addr->af == AF_INET6 ? (const void *)&addr->a6 :
	    (const void *)&addr->a4;

	slot = netif_slot(n);
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req.nh.nlmsg_seq = n->seq;
	req.ifa.ifa_family = (unsigned char)addr->af;
	req.ifa.ifa_prefixlen = (unsigned char)(alen * 8);
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = (unsigned)n->index;
	netif_rta(&req, IFA_LOCAL, a, alen);
	netif_rta(&req, IFA_ADDRESS, a, alen);
	if (addr->af == AF_INET6) {
		/* A VIP is ours alone: no duplicate address detection. */
		req.ifa.ifa_flags = IFA_F_NODAD;
		netif_rta(&req, IFA_FLAGS, &ifa_flags, sizeof(ifa_flags));
	}
	if (netif_sendto(n, &req, req.nh.nlmsg_len) == -1)
		return -1;
	slot->seq = n->seq;
	slot->type = type;
	slot->addr = *addr;
	return 0;
}

/*
 * Sends one RTM_NEWROUTE or RTM_DELROUTE for "local prefix/len dev
 * <this interface> table local" and records it as pending.
 */
static int
netif_send_route(struct netif *n, uint16_t type, uint16_t flags,
    const struct netif_addr *dst, uint8_t len)
{
	struct {
		struct nlmsghdr		nh;
		struct rtmsg		rtm;
		char			attrs[RTA_SPACE(16) + RTA_SPACE(4)];
	} req;
	struct netif_req *slot;
	uint32_t oif = (uint32_t)n->index;

	slot = netif_slot(n);
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req.nh.nlmsg_seq = n->seq;
	req.rtm.rtm_family = (unsigned char)dst->af;
	req.rtm.rtm_dst_len = len;
	req.rtm.rtm_table = RT_TABLE_LOCAL;
	req.rtm.rtm_protocol = NETIF_RTPROT;
	req.rtm.rtm_scope = RT_SCOPE_HOST;
	req.rtm.rtm_type = RTN_LOCAL;
	if (dst->af == AF_INET6)
		netif_rta(&req, RTA_DST, &dst->a6, 16);
	else
		netif_rta(&req, RTA_DST, &dst->a4, 4);
	netif_rta(&req, RTA_OIF, &oif, sizeof(oif));
	if (netif_sendto(n, &req, req.nh.nlmsg_len) == -1)
		return -1;
	slot->seq = n->seq;
	slot->type = type;
	slot->addr = *dst;
	return 0;
}

/*
 * What the kernel said of a request: remember, announce or forget the
 * address, or say why not. kerr is 0 or the errno it reported.
 */
static void
netif_done(struct netif *n, struct netif_req *q, int kerr)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned plen = q->addr.af == AF_INET6 ? 128 : 32;

	netif_addr_str(&q->addr, buf, sizeof(buf));
	q->seq = 0;
	if (q->type == RTM_NEWROUTE || q->type == RTM_DELROUTE) {
		/* Its caller waits and reads n->kerr. */
		log_debug("%s: route %s %s on %s: %s", __func__,
		    q->type == RTM_NEWROUTE ? "add" : "del", buf, n->name,
		    kerr == 0 ? "done" : strerror(kerr));
		return;
	}
	if (q->type == RTM_NEWADDR) {
		if (kerr == EEXIST)
			log_debug("%s: %s already on %s", __func__, buf,
			    n->name);
		else if (kerr != 0) {
			errno = kerr;
			log_warn("vip-interface: adding %s/%u to %s", buf, plen,
			    n->name);
			return;
		} else if (hmap_put(n->added, buf, n, NULL) != 0)
			log_warnx("vip-interface: out of memory: %s stays on "
			    "%s at exit", buf, n->name);
		else
			log_debug("%s: added %s/%u to %s", __func__, buf, plen,
			    n->name);
		if (q->addr.af == AF_INET6) {
			netif_na(n, &q->addr.a6);
			netif_na_repeat(n, &q->addr.a6, true);
		} else
			netif_garp(n, q->addr.a4);
		return;
	}
	if (q->addr.af == AF_INET6)
		netif_na_repeat(n, &q->addr.a6, false);
	if (kerr != 0 && kerr != EADDRNOTAVAIL) {
		errno = kerr;
		log_warn("vip-interface: removing %s from %s", buf, n->name);
	} else
		log_debug("%s: removed %s from %s", __func__, buf, n->name);
	hmap_del(n->added, buf);
}

/*
 * Reads what the socket holds (blocking for up to NETIF_TIMEOUT_S when
 * the socket blocks) and settles the acknowledged requests. Returns 1
 * when the one numbered seq (0: any) was among them, 0 when not, -1
 * with errno when nothing could be read.
 */
static int
netif_read(struct netif *n, uint32_t seq)
{
	union {
		struct nlmsghdr	nh;
		char		buf[8192];
	} resp;
	struct netif_req *q;
	struct nlmsghdr *nh;
	struct nlmsgerr *e;
	ssize_t r;
	size_t len;
	int found = 0;

	do {
		r = recv(n->nl, &resp, sizeof(resp), 0);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	len = (size_t)r;
	for (nh = &resp.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_type != NLMSG_ERROR ||
		    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			continue;
		q = &n->pending[nh->nlmsg_seq % NETIF_PENDING];
		/* Not ours any more: given up on while waiting. */
		if (q->seq == 0 || q->seq != nh->nlmsg_seq)
			continue;
		e = NLMSG_DATA(nh);
		if (seq == 0 || nh->nlmsg_seq == seq) {
			found = 1;
			n->kerr = -e->error;
		}
		netif_done(n, q, -e->error);
	}
	return found;
}

/*
 * Waits (blocking, NETIF_TIMEOUT_S at most per read) until request seq
 * is acknowledged. Returns 0 (the kernel's answer in n->kerr), or -1
 * with errno (ETIMEDOUT).
 */
static int
netif_wait(struct netif *n, uint32_t seq)
{
	struct timeval tv = { NETIF_TIMEOUT_S, 0 };
	int rc, fl = -1;

	if (n->ev != NULL) {
		/* Block for a while: at exit, or with NETIF_PENDING out. */
		fl = fcntl(n->nl, F_GETFL);
		(void)fcntl(n->nl, F_SETFL, fl & ~O_NONBLOCK);
	}
	(void)setsockopt(n->nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n->kerr = 0;
	while ((rc = netif_read(n, seq)) == 0)
		;
	if (fl != -1)
		(void)fcntl(n->nl, F_SETFL, fl);
	if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		errno = ETIMEDOUT;
	return rc == 1 ? 0 : -1;
}

static void
netif_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netif *n = arg;
	int i;

	(void)fd;
	(void)what;
	/* A bounded number of reads, then back to the loop. */
	for (i = 0; i < 64; i++) {
		if (netif_read(n, 0) == -1) {
			if (errno == ENOBUFS)
				log_warnx("vip-interface: acknowledgements "
				    "lost (the socket overflowed)");
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("vip-interface: netlink read");
			return;
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

/*
 * Announces addr with an unsolicited neighbour advertisement (RFC 4861
 * 4.4, 7.2.6) to all nodes, override flag set and our link-layer address
 * as target option, so neighbours that track it update their caches.
 * The kernel fills in the checksum. Best effort.
 */
static void
netif_na(struct netif *n, const struct in6_addr *addr)
{
	struct netif_na_pkt pkt;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct in6_pktinfo pi;
	struct sockaddr_in6 dst;
	struct ifreq ifr;
	struct msghdr msg;
	struct cmsghdr *cm;
	struct iovec iov;
	char buf[INET6_ADDRSTRLEN];

	if (n->icmp6 == -1)
		return;
	inet_ntop(AF_INET6, addr, buf, sizeof(buf));
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, n->name, sizeof(ifr.ifr_name));
	if (ioctl(n->icmp6, SIOCGIFHWADDR, &ifr) == -1 ||
	    ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		log_debug("%s: %s is not Ethernet, no advertisement",
		    __func__, n->name);
		return;
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	pkt.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	pkt.na.nd_na_target = *addr;
	pkt.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	pkt.opt.nd_opt_len = 1;		/* in units of 8 bytes */
	memcpy(pkt.lladdr, ifr.ifr_hwaddr.sa_data, ETH_ALEN);

	memset(&dst, 0, sizeof(dst));
	dst.sin6_family = AF_INET6;
	(void)inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	dst.sin6_scope_id = (uint32_t)n->index;
	/* From the VIP itself, out of this interface. */
	memset(&pi, 0, sizeof(pi));
	pi.ipi6_addr = *addr;
	pi.ipi6_ifindex = (unsigned)n->index;
	memset(&ctl, 0, sizeof(ctl));
	netif_msg_init(&msg, &iov, &pkt, sizeof(pkt), &dst, sizeof(dst),
	    ctl.buf, sizeof(ctl.buf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	if (sendmsg(n->icmp6, &msg, 0) == -1)
		log_debug("%s: %s on %s: %s", __func__, buf, n->name,
		    strerror(errno));
	else
		log_debug("%s: announced %s on %s", __func__, buf, n->name);
}

/*
 * Queues (queue true) the NETIF_NA_COUNT - 1 repeats of addr's
 * advertisement, or drops them (an address removed). Attached only; a
 * full queue leaves an address with its first advertisement alone.
 */
static void
netif_na_repeat(struct netif *n, const struct in6_addr *addr, bool queue)
{
	struct timeval tv;
	size_t i;

	for (i = 0; i < n->na_n; i++)
		if (memcmp(&n->na_q[i].addr, addr, sizeof(*addr)) == 0)
			break;
	if (!queue) {
		if (i < n->na_n)
			n->na_q[i] = n->na_q[--n->na_n];
		return;
	}
	if (n->na_ev == NULL || NETIF_NA_COUNT < 2 ||
	    (i == n->na_n && n->na_n == NETIF_NA_QUEUE))
		return;
	if (i == n->na_n)
		n->na_q[n->na_n++].addr = *addr;
	n->na_q[i].left = NETIF_NA_COUNT - 1;
	if (!evtimer_pending(n->na_ev, NULL))
		evtimer_add(n->na_ev, ms_to_tv(NETIF_NA_GAP_MS, &tv));
}

/* The gap passed: the queued addresses are announced again. */
static void
netif_na_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netif *n = arg;
	struct timeval tv;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < n->na_n; ) {
		netif_na(n, &n->na_q[i].addr);
		if (n->na_q[i].left <= 1)
			n->na_q[i] = n->na_q[--n->na_n];
		else {
			n->na_q[i].left--;
			i++;
		}
	}
	if (n->na_n > 0)
		evtimer_add(n->na_ev, ms_to_tv(NETIF_NA_GAP_MS, &tv));
}

struct netif *
netif_open(const char *ifname, char *err, size_t errlen)
{
	struct sockaddr_nl local;
	struct netif *n;
	unsigned idx;
	int rcvbuf;

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
	n->nl = n->pkt = n->icmp6 = -1;
	strlcpy(n->name, ifname, sizeof(n->name));
	n->index = (int)idx;
	if ((n->added = hmap_new()) == NULL ||
	    (n->routes = hmap_new()) == NULL) {
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
	rcvbuf = NETIF_RCVBUF;
	(void)setsockopt(n->nl, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf));
	/* Without CAP_NET_RAW there is no announcement, nothing worse. */
	if ((n->pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC,
	    htons(ETH_P_ARP))) == -1)
		log_debug("%s: packet socket: %s; no gratuitous ARP",
		    __func__, strerror(errno));
	/* Nor without it neighbour advertisements. */
	if ((n->icmp6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC,
	    IPPROTO_ICMPV6)) == -1)
		log_debug("%s: ICMPv6 socket: %s; no neighbour advertisement",
		    __func__, strerror(errno));
	else {
		/* RFC 4861 7.1.2: receivers drop ND with any other limit. */
		int hops = 255;

		(void)setsockopt(n->icmp6, IPPROTO_IPV6, IPV6_MULTICAST_HOPS,
		    &hops, sizeof(hops));
		(void)setsockopt(n->icmp6, IPPROTO_IPV6, IPV6_UNICAST_HOPS,
		    &hops, sizeof(hops));
	}
	return n;
fail:
	netif_close(n);
	return NULL;
}

int
netif_attach(struct netif *n, struct event_base *base)
{
	int fl;

	if ((fl = fcntl(n->nl, F_GETFL)) == -1 ||
	    fcntl(n->nl, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if ((n->ev = event_new(base, n->nl, EV_READ | EV_PERSIST,
	    netif_read_cb, n)) == NULL || event_add(n->ev, NULL) == -1 ||
	    (n->na_ev = evtimer_new(base, netif_na_cb, n)) == NULL) {
		if (n->ev != NULL)
			event_free(n->ev);
		n->ev = NULL;
		(void)fcntl(n->nl, F_SETFL, fl);
		return -1;
	}
	return 0;
}

void
netif_close(struct netif *n)
{
	struct hmap_iter it;
	struct netif_addr a;
	const char *key;
	size_t i;

	if (n == NULL)
		return;
	/* What is still in flight settles first, so added is complete. */
	for (i = 0; n->nl != -1 && i < NETIF_PENDING; i++)
		if (n->pending[i].seq != 0 &&
		    netif_wait(n, n->pending[i].seq) == -1)
			n->pending[i].seq = 0;
	if (n->added != NULL) {
		hmap_iter_init(&it, n->added);
		while (n->nl != -1 && hmap_iter_next(&it, &key, NULL)) {
			a.af = strchr(key, ':') != NULL ? AF_INET6 : AF_INET;
			if (inet_pton(a.af, key, a.af == AF_INET6 ?
			    (void *)&a.a6 : (void *)&a.a4) != 1) {
				hmap_del(n->added, key);
				hmap_iter_init(&it, n->added);
				continue;
			}
			if (netif_send(n, RTM_DELADDR, 0, &a) == -1 ||
			    netif_wait(n, n->seq) == -1) {
				log_warn("%s: remove %s from %s", __func__, key,
				    n->name);
				hmap_del(n->added, key);
			}
			/* Removed from added either way: start over. */
			hmap_iter_init(&it, n->added);
		}
		hmap_free(n->added, NULL);
	}
	if (n->routes != NULL) {
		hmap_iter_init(&it, n->routes);
		while (n->nl != -1 && hmap_iter_next(&it, &key, NULL)) {
			a.af = strchr(key, ':') != NULL ? AF_INET6 : AF_INET;
			if (inet_pton(a.af, key, a.af == AF_INET6 ?
			    (void *)&a.a6 : (void *)&a.a4) != 1 ||
			    netif_route_local(n, false, a.af, a.af ==
			    AF_INET6 ? (void *)&a.a6 : (void *)&a.a4) == -1) {
				log_warn("%s: remove the local route of %s from "
				    "%s", __func__, key, n->name);
				hmap_del(n->routes, key);
			}
			/* Removed from routes either way: start over. */
			hmap_iter_init(&it, n->routes);
		}
		hmap_free(n->routes, NULL);
	}
	if (n->route6_added && n->nl != -1 && netif_route_local6(n, false,
	    &n->route6, n->route6_len) == -1)
		log_warn("%s: remove the local route of the IPv6 VIP range "
		    "from %s", __func__, n->name);
	if (n->ev != NULL)
		event_free(n->ev);
	if (n->na_ev != NULL)
		event_free(n->na_ev);
	if (n->nl != -1)
		close(n->nl);
	if (n->pkt != -1)
		close(n->pkt);
	if (n->icmp6 != -1)
		close(n->icmp6);
	free(n);
}

/*
 * Sends a request for addr and, unattached, waits for the kernel's
 * answer; ok is the errno that counts as success besides 0.
 */
static int
netif_request(struct netif *n, uint16_t type, uint16_t flags,
    const struct netif_addr *addr, int ok)
{
	if (netif_send(n, type, flags, addr) == -1)
		return -1;
	if (n->ev != NULL)
		return 0;
	if (netif_wait(n, n->seq) == -1)
		return -1;
	if (n->kerr != 0 && n->kerr != ok) {
		errno = n->kerr;
		return -1;
	}
	return 0;
}

int
netif_addr_add(struct netif *n, struct in_addr addr)
{
	struct netif_addr a = { .af = AF_INET, .a4 = addr };

	return netif_request(n, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &a,
	    EEXIST);
}

int
netif_addr_del(struct netif *n, struct in_addr addr)
{
	struct netif_addr a = { .af = AF_INET, .a4 = addr };

	return netif_request(n, RTM_DELADDR, 0, &a, EADDRNOTAVAIL);
}

int
netif_addr6_add(struct netif *n, const struct in6_addr *addr)
{
	struct netif_addr a = { .af = AF_INET6, .a6 = *addr };

	return netif_request(n, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &a,
	    EEXIST);
}

int
netif_addr6_del(struct netif *n, const struct in6_addr *addr)
{
	struct netif_addr a = { .af = AF_INET6, .a6 = *addr };

	return netif_request(n, RTM_DELADDR, 0, &a, EADDRNOTAVAIL);
}

/*
 * Sends a route request and waits for the kernel's answer, attached or
 * not (the caller needs the verdict); n->kerr holds it. 0, or -1 when
 * it could not be sent or read.
 */
static int
netif_route_once(struct netif *n, bool add, const struct netif_addr *dst,
    uint8_t len)
{
	int fl = -1, rc = -1;

	if (n->ev != NULL) {
		fl = fcntl(n->nl, F_GETFL);
		(void)fcntl(n->nl, F_SETFL, fl & ~O_NONBLOCK);
	}
	if (netif_send_route(n, add ? RTM_NEWROUTE : RTM_DELROUTE,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0, dst, len) == 0 &&
	    netif_wait(n, n->seq) == 0)
		rc = 0;
	if (fl != -1)
		(void)fcntl(n->nl, F_SETFL, fl);
	return rc;
}

/*
 * netif_route_once, and when an add finds the route there already: one
 * of our protocol was left by a run that did not exit cleanly (a crash,
 * SIGKILL) and is taken over, deleted and added again, so that this run
 * removes it at exit. The delete matches the protocol, so anyone else's
 * route stays, and the caller sees EEXIST.
 */
static int
netif_route_sync(struct netif *n, bool add, const struct netif_addr *dst,
    uint8_t len)
{
	char buf[INET6_ADDRSTRLEN];

	if (netif_route_once(n, add, dst, len) == -1)
		return -1;
	if (!add || n->kerr != EEXIST)
		return 0;
	if (netif_route_once(n, false, dst, len) == -1)
		return -1;
	if (n->kerr != 0) {
		n->kerr = EEXIST;	/* not ours */
		return 0;
	}
	log_info("%s: the local route of %s/%u on %s, left by an earlier "
	    "run, taken over", __func__, netif_addr_str(dst, buf,
	    sizeof(buf)), len, n->name);
	return netif_route_once(n, true, dst, len);
}

int
netif_route_local6(struct netif *n, bool add, const struct in6_addr *prefix,
    unsigned len)
{
	struct netif_addr dst = { .af = AF_INET6, .a6 = *prefix };

	if (len > 128) {
		errno = EINVAL;
		return -1;
	}
	if (netif_route_sync(n, add, &dst, (uint8_t)len) == -1)
		return -1;
	if (add && n->kerr == EEXIST) {
		/* Someone else's: used, and left in place at exit. */
		log_info("%s: a local route covering the IPv6 VIP range is "
		    "already on %s", __func__, n->name);
		return 0;
	}
	if (n->kerr != 0 && !(n->kerr == ESRCH && !add)) {
		errno = n->kerr;
		return -1;
	}
	if (add) {
		n->route6 = *prefix;
		n->route6_len = (uint8_t)len;
	}
	n->route6_added = add;
	return 0;
}

int
netif_route_local(struct netif *n, bool add, int af, const void *addr)
{
	struct netif_addr dst;
	char key[INET6_ADDRSTRLEN];

	memset(&dst, 0, sizeof(dst));
	dst.af = af;
	if (af == AF_INET6)
		memcpy(&dst.a6, addr, sizeof(dst.a6));
	else if (af == AF_INET)
		memcpy(&dst.a4, addr, sizeof(dst.a4));
	else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	netif_addr_str(&dst, key, sizeof(key));
	if (!add && hmap_get(n->routes, key) == NULL)
		return 0;	/* not ours: left alone */
	if (netif_route_sync(n, add, &dst, af == AF_INET6 ? 128 : 32) == -1)
		return -1;
	if (add && n->kerr == EEXIST)
		return 0;	/* someone else's: used, left at exit */
	if (n->kerr != 0 && !(n->kerr == ESRCH && !add)) {
		errno = n->kerr;
		return -1;
	}
	if (!add)
		hmap_del(n->routes, key);
	else if (hmap_put(n->routes, key, n, NULL) != 0)
		log_warnx("%s: out of memory: the local route of %s stays on "
		    "%s at exit", __func__, key, n->name);
	return 0;
}

void
netif_msg_init(struct msghdr *msg, struct iovec *iov, void *data, size_t len,
    void *name, size_t namelen, void *ctl, size_t ctllen)
{
	iov->iov_base = data;
	iov->iov_len = len;
	memset(msg, 0, sizeof(*msg));
	msg->msg_name = name;
	msg->msg_namelen = (socklen_t)namelen;
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = ctl;
	msg->msg_controllen = ctllen;
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
