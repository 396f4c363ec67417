/* SPDX-License-Identifier: MIT */
/*
 * netif.c -- add and remove VIP addresses on an interface over rtnetlink.
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
#include <netpacket/packet.h>
#include <errno.h>
#include <fcntl.h>
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

/* A request sent and not yet acknowledged. */
struct netif_req {
	uint32_t	 seq;		/* 0: free slot */
	uint16_t	 type;		/* RTM_NEWADDR, RTM_DELADDR */
	struct in_addr	 addr;
};

struct netif {
	char		 name[IF_NAMESIZE];
	int		 index;
	int		 nl;		/* NETLINK_ROUTE socket */
	int		 pkt;		/* AF_PACKET socket for ARP, or -1 */
	uint32_t	 seq;
	struct hmap	*added;		/* "A.B.C.D" we added -> this netif */
	struct event	*ev;		/* acknowledgements; NULL: wait */
	int		 kerr;		/* what netif_wait's request got */
	struct netif_req pending[NETIF_PENDING];	/* by seq % size */
};

/* An ARP packet for Ethernet and IPv4 (RFC 826), after the MAC header. */
struct netif_arp {
	struct arphdr	hdr;
	uint8_t		sha[ETH_ALEN];
	uint8_t		spa[4];
	uint8_t		tha[ETH_ALEN];
	uint8_t		tpa[4];
} __attribute__((packed));

static int	netif_send(struct netif *, uint16_t, uint16_t, struct in_addr);
static int	netif_read(struct netif *, uint32_t);
static void	netif_done(struct netif *, struct netif_req *, int);
static int	netif_wait(struct netif *, uint32_t);
static void	netif_read_cb(evutil_socket_t, short, void *);
static void	netif_garp(struct netif *, struct in_addr);

/*
 * Sends one RTM_NEWADDR or RTM_DELADDR for addr/32 and records it as
 * pending (as n->seq); netif_done runs when the kernel acknowledges it.
 * An older request still in the slot is waited for first. Returns 0,
 * or -1 with errno when it could not be sent.
 */
static int
netif_send(struct netif *n, uint16_t type, uint16_t flags,
    struct in_addr addr)
{
	struct {
		struct nlmsghdr		nh;
		struct ifaddrmsg	ifa;
		char			attrs[2 * RTA_SPACE(4)];
	} req;
	struct sockaddr_nl kernel;
	struct netif_req *slot;
	struct rtattr *rta;
	ssize_t r;

	if (++n->seq == 0)
		n->seq = 1;
	slot = &n->pending[n->seq % NETIF_PENDING];
	if (slot->seq != 0 && netif_wait(n, slot->seq) == -1)
		netif_done(n, slot, ETIMEDOUT);
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req.nh.nlmsg_seq = n->seq;
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
	slot->seq = n->seq;
	slot->type = type;
	slot->addr = addr;
	return 0;
}

/*
 * What the kernel said of a request: remember, announce or forget the
 * address, or say why not. kerr is 0 or the errno it reported.
 */
static void
netif_done(struct netif *n, struct netif_req *q, int kerr)
{
	char buf[INET_ADDRSTRLEN];

	inet4_str(q->addr, buf);
	q->seq = 0;
	if (q->type == RTM_NEWADDR) {
		if (kerr == EEXIST)
			log_debug("%s: %s already on %s", __func__, buf,
			    n->name);
		else if (kerr != 0) {
			errno = kerr;
			log_warn("vip-interface: adding %s/32 to %s", buf,
			    n->name);
			return;
		} else if (hmap_put(n->added, buf, n, NULL) != 0)
			log_warnx("vip-interface: out of memory: %s stays on "
			    "%s at exit", buf, n->name);
		else
			log_debug("%s: added %s/32 to %s", __func__, buf,
			    n->name);
		netif_garp(n, q->addr);
		return;
	}
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
	rcvbuf = NETIF_RCVBUF;
	(void)setsockopt(n->nl, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf));
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

int
netif_attach(struct netif *n, struct event_base *base)
{
	int fl;

	if ((fl = fcntl(n->nl, F_GETFL)) == -1 ||
	    fcntl(n->nl, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if ((n->ev = event_new(base, n->nl, EV_READ | EV_PERSIST,
	    netif_read_cb, n)) == NULL || event_add(n->ev, NULL) == -1) {
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
	struct in_addr a;
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
			if (inet_pton(AF_INET, key, &a) != 1)
				continue;
			if (netif_send(n, RTM_DELADDR, 0, a) == -1 ||
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
	if (n->ev != NULL)
		event_free(n->ev);
	if (n->nl != -1)
		close(n->nl);
	if (n->pkt != -1)
		close(n->pkt);
	free(n);
}

int
netif_addr_add(struct netif *n, struct in_addr addr)
{
	if (netif_send(n, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, addr) == -1)
		return -1;
	if (n->ev != NULL)
		return 0;
	if (netif_wait(n, n->seq) == -1)
		return -1;
	if (n->kerr != 0 && n->kerr != EEXIST) {
		errno = n->kerr;
		return -1;
	}
	return 0;
}

int
netif_addr_del(struct netif *n, struct in_addr addr)
{
	if (netif_send(n, RTM_DELADDR, 0, addr) == -1)
		return -1;
	if (n->ev != NULL)
		return 0;
	if (netif_wait(n, n->seq) == -1)
		return -1;
	if (n->kerr != 0 && n->kerr != EADDRNOTAVAIL) {
		errno = n->kerr;
		return -1;
	}
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
