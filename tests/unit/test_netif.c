/* SPDX-License-Identifier: MIT */
/*
 * test_netif.c -- VIP addresses over rtnetlink, in a network namespace of
 * the test's own (so nothing leaves it): add, remove, idempotence,
 * cleanup on close, and the gratuitous ARP seen on a veth peer; IPv6
 * /128 without DAD and its unsolicited neighbour advertisement; the
 * local route of an IPv6 range on lo, and of single VIPs of either
 * family. Needs root; skipped (77) otherwise.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <netpacket/packet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "log.h"
#include "netif.h"
#include "util.h"

static struct in_addr
ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* True when ifname carries addr/32, as getifaddrs sees it. */
static bool
has_addr(const char *ifname, const char *addr)
{
	struct ifaddrs *ifa, *i;
	struct sockaddr_in *sin, *mask;
	struct in_addr want = ip(addr);
	bool found = false;

	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		sin = (struct sockaddr_in *)i->ifa_addr;
		mask = (struct sockaddr_in *)i->ifa_netmask;
		if (sin->sin_addr.s_addr == want.s_addr && mask != NULL &&
		    mask->sin_addr.s_addr == 0xffffffffu)
			found = true;
	}
	freeifaddrs(ifa);
	return found;
}

static struct netif *
open_ok(const char *ifname)
{
	struct netif *n;
	char err[256] = "";

	if ((n = netif_open(ifname, err, sizeof(err))) == NULL)
		fail_msg("netif_open %s: %s", ifname, err);
	return n;
}

static int
link_up(const char *ifname)
{
	struct ifreq ifr;
	int s, rc = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}

static void
test_netif_open_missing(void **state)
{
	char err[256];

	(void)state;
	err[0] = '\0';
	assert_null(netif_open("cipnosuch0", err, sizeof(err)));
	assert_non_null(strstr(err, "cipnosuch0"));
	assert_null(netif_open("", err, sizeof(err)));
	assert_null(netif_open("a-name-much-too-long-for-linux", err,
	    sizeof(err)));
	assert_null(netif_open(NULL, err, sizeof(err)));
}

static void
test_netif_open_lo(void **state)
{
	struct netif *n;

	(void)state;
	n = open_ok("lo");
	assert_string_equal(netif_name(n), "lo");
	assert_int_equal(netif_index(n), (int)if_nametoindex("lo"));
	netif_close(n);
	netif_close(NULL);
}

static void
test_netif_add_del(void **state)
{
	struct netif *n;

	(void)state;
	n = open_ok("lo");
	assert_false(has_addr("lo", "10.250.0.5"));
	assert_int_equal(netif_addr_add(n, ip("10.250.0.5")), 0);
	assert_true(has_addr("lo", "10.250.0.5"));
	/* Present already: success. */
	assert_int_equal(netif_addr_add(n, ip("10.250.0.5")), 0);
	assert_int_equal(netif_addr_del(n, ip("10.250.0.5")), 0);
	assert_false(has_addr("lo", "10.250.0.5"));
	/* Absent: success. */
	assert_int_equal(netif_addr_del(n, ip("10.250.0.5")), 0);
	netif_close(n);
}

static void
test_netif_close_removes(void **state)
{
	struct netif *n;

	(void)state;
	n = open_ok("lo");
	assert_int_equal(netif_addr_add(n, ip("10.250.0.5")), 0);
	assert_int_equal(netif_addr_add(n, ip("10.250.0.6")), 0);
	assert_true(has_addr("lo", "10.250.0.5"));
	assert_true(has_addr("lo", "10.250.0.6"));
	netif_close(n);
	assert_false(has_addr("lo", "10.250.0.5"));
	assert_false(has_addr("lo", "10.250.0.6"));
}

static void
test_netif_close_keeps_foreign(void **state)
{
	struct netif *a, *b;

	(void)state;
	a = open_ok("lo");
	b = open_ok("lo");
	assert_int_equal(netif_addr_add(a, ip("10.250.0.7")), 0);
	/* b finds it present: not b's to remove. */
	assert_int_equal(netif_addr_add(b, ip("10.250.0.7")), 0);
	netif_close(b);
	assert_true(has_addr("lo", "10.250.0.7"));

	/* Removed by hand, then someone else's: a leaves it alone. */
	assert_int_equal(netif_addr_del(a, ip("10.250.0.7")), 0);
	b = open_ok("lo");
	assert_int_equal(netif_addr_add(b, ip("10.250.0.7")), 0);
	netif_close(a);
	assert_true(has_addr("lo", "10.250.0.7"));
	netif_close(b);
	assert_false(has_addr("lo", "10.250.0.7"));
}

static void
test_netif_removed_behind_our_back(void **state)
{
	struct netif *a, *b;

	(void)state;
	a = open_ok("lo");
	b = open_ok("lo");
	assert_int_equal(netif_addr_add(a, ip("10.250.0.8")), 0);
	assert_int_equal(netif_addr_del(b, ip("10.250.0.8")), 0);
	assert_false(has_addr("lo", "10.250.0.8"));
	/* Already gone: closing is quiet and still succeeds. */
	netif_close(a);
	netif_close(b);
	assert_false(has_addr("lo", "10.250.0.8"));
}

/*
 * True once the kernel's link watcher has marked ifname running (it
 * activates the device's queue in the same step; before that what is sent
 * is discarded), which may lag the carrier by a second on a busy machine.
 */
static bool
link_running(const char *ifname)
{
	struct ifreq ifr;
	int fd, i;
	bool running = false;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return false;
	for (i = 0; i < 100 && !running; i++) {
		memset(&ifr, 0, sizeof(ifr));
		strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
		    (ifr.ifr_flags & IFF_RUNNING) != 0)
			running = true;
		else
			usleep(50 * 1000);
	}
	close(fd);
	return running;
}

/*
 * A veth pair in our namespace: the address goes on cipv0 and the
 * announcement must reach cipv1 as a broadcast ARP request with
 * sender = target = the address and cipv0's MAC.
 */
static void
test_netif_garp(void **state)
{
	struct netif_arp arp;
	struct sockaddr_ll sll, from;
	struct ifreq ifr;
	struct timeval tv = { 2, 0 };
	struct in_addr vip = ip("10.250.0.9");
	struct netif *n;
	socklen_t fromlen;
	ssize_t r;
	int s, got = 0;

	(void)state;
	if (system("ip link add cipv0 type veth peer name cipv1 "
	    ">/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(link_up("cipv0"), 0);
	assert_int_equal(link_up("cipv1"), 0);
	assert_true(link_running("cipv0"));
	assert_true(link_running("cipv1"));

	s = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));
	assert_true(s != -1);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = (int)if_nametoindex("cipv1");
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, "cipv0", sizeof(ifr.ifr_name));
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);

	n = open_ok("cipv0");
	assert_int_equal(netif_addr_add(n, vip), 0);
	assert_true(has_addr("cipv0", "10.250.0.9"));
	for (;;) {
		memset(&from, 0, sizeof(from));
		fromlen = sizeof(from);
		r = recvfrom(s, &arp, sizeof(arp), 0, (struct sockaddr *)&from,
		    &fromlen);
		if (r == -1)
			break;		/* timeout */
		if (r != (ssize_t)sizeof(arp) ||
		    memcmp(arp.spa, &vip.s_addr, 4) != 0)
			continue;
		assert_int_equal(ntohs(arp.hdr.ar_op), ARPOP_REQUEST);
		assert_int_equal(ntohs(arp.hdr.ar_pro), ETH_P_IP);
		assert_memory_equal(arp.tpa, &vip.s_addr, 4);
		assert_memory_equal(arp.sha, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
		assert_int_equal(from.sll_pkttype, PACKET_BROADCAST);
		got = 1;
		break;
	}
	close(s);
	netif_close(n);
	assert_false(has_addr("cipv0", "10.250.0.9"));
	if (system("ip link del cipv0 >/dev/null 2>&1") != 0)
		print_message("could not delete cipv0\n");
	if (!got)
		fail_msg("no gratuitous ARP for 10.250.0.9 seen on cipv1");
}

/* Runs base until ifname has (or lacks) addr; 2 s at most. */
static void
loop_until(struct event_base *base, const char *ifname, const char *addr,
    bool want)
{
	struct timeval tv = { 0, 10000 };
	int i;

	for (i = 0; i < 200 && has_addr(ifname, addr) != want; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_int_equal(has_addr(ifname, addr), want);
}

/* Attached: requests return at once, the loop reads the kernel's answers. */
static void
test_netif_attached(void **state)
{
	struct event_base *base;
	struct netif *n;

	(void)state;
	assert_non_null(base = event_base_new());
	n = open_ok("lo");
	assert_int_equal(netif_attach(n, base), 0);
	assert_int_equal(netif_addr_add(n, ip("10.250.0.8")), 0);
	assert_int_equal(netif_addr_add(n, ip("10.250.0.9")), 0);
	loop_until(base, "lo", "10.250.0.8", true);
	loop_until(base, "lo", "10.250.0.9", true);
	assert_int_equal(netif_addr_del(n, ip("10.250.0.8")), 0);
	loop_until(base, "lo", "10.250.0.8", false);
	/* Still in flight at close: settled, then removed. */
	assert_int_equal(netif_addr_add(n, ip("10.250.0.10")), 0);
	netif_close(n);
	assert_false(has_addr("lo", "10.250.0.9"));
	assert_false(has_addr("lo", "10.250.0.10"));
	event_base_free(base);
}

static struct in6_addr
ip6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* True when ifname carries addr/128, as getifaddrs sees it. */
static bool
has_addr6(const char *ifname, const char *addr)
{
	struct ifaddrs *ifa, *i;
	struct sockaddr_in6 *sin6, *mask;
	struct in6_addr want = ip6(addr), ones;
	bool found = false;

	memset(&ones, 0xff, sizeof(ones));
	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET6 ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		sin6 = (struct sockaddr_in6 *)i->ifa_addr;
		mask = (struct sockaddr_in6 *)i->ifa_netmask;
		if (memcmp(&sin6->sin6_addr, &want, sizeof(want)) == 0 &&
		    mask != NULL && memcmp(&mask->sin6_addr, &ones,
		    sizeof(ones)) == 0)
			found = true;
	}
	freeifaddrs(ifa);
	return found;
}

/* bind(2) to [addr]:0 without IPV6_FREEBIND: 0 or the errno. */
static int
bind6(const char *addr)
{
	struct sockaddr_in6 sin6;
	int s, rc = 0;

	assert_true((s = socket(AF_INET6, SOCK_STREAM, 0)) != -1);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = ip6(addr);
	if (bind(s, (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
		rc = errno;
	close(s);
	return rc;
}

static void
test_netif_add_del6(void **state)
{
	struct netif *n;
	struct in6_addr a = ip6("fd00:250::5");

	(void)state;
	n = open_ok("lo");
	assert_false(has_addr6("lo", "fd00:250::5"));
	assert_int_equal(netif_addr6_add(n, &a), 0);
	assert_true(has_addr6("lo", "fd00:250::5"));
	assert_int_equal(netif_addr6_add(n, &a), 0);
	assert_int_equal(netif_addr6_del(n, &a), 0);
	assert_false(has_addr6("lo", "fd00:250::5"));
	assert_int_equal(netif_addr6_del(n, &a), 0);
	/* Left on at close: removed, beside an IPv4 one. */
	assert_int_equal(netif_addr6_add(n, &a), 0);
	assert_int_equal(netif_addr_add(n, ip("10.250.0.5")), 0);
	netif_close(n);
	assert_false(has_addr6("lo", "fd00:250::5"));
	assert_false(has_addr("lo", "10.250.0.5"));
}

/* A raw ICMPv6 socket on ifname that takes neighbour advertisements. */
static int
na_socket(const char *ifname)
{
	struct icmp6_filter filt;
	struct timeval tv = { 0, 200000 };
	int s, on = 1;

	assert_true((s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)) != -1);
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &filt);
	assert_int_equal(setsockopt(s, IPPROTO_ICMPV6, ICMP6_FILTER, &filt,
	    sizeof(filt)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, ifname,
	    (socklen_t)strlen(ifname) + 1), 0);
	assert_int_equal(setsockopt(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on,
	    sizeof(on)), 0);
	assert_int_equal(setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
	    sizeof(on)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	return s;
}

/*
 * Reads what s holds for up to ms (0: what is there now) and counts the
 * unsolicited neighbour advertisements for each of the nvips addresses
 * vips in counts, each checked: to ff02::1, hop limit 255, override
 * set, solicited not, lladdr as target link-layer address.
 */
static void
na_counts(int s, const struct in6_addr *vips, int *counts, size_t nvips,
    const uint8_t *lladdr, int ms)
{
	struct netif_na_pkt pkt;
	union {
		struct cmsghdr	hdr;
		char		buf[256];
	} ctl;
	struct in6_addr allnodes = ip6("ff02::1");
	struct sockaddr_in6 from;
	struct in6_pktinfo pi;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	const struct in6_addr *vip;
	ssize_t r;
	size_t k;
	int hops, waited;

	for (waited = 0; ms == 0 || waited < ms; ) {
		netif_msg_init(&msg, &iov, &pkt, sizeof(pkt), &from,
		    sizeof(from), ctl.buf, sizeof(ctl.buf));
		if ((r = recvmsg(s, &msg, ms == 0 ? MSG_DONTWAIT : 0)) == -1) {
			if (ms == 0)
				break;
			waited += 200;	/* the receive timeout */
			continue;
		}
		for (k = 0; k < nvips; k++)
			if (memcmp(&pkt.na.nd_na_target, &vips[k],
			    sizeof(vips[k])) == 0)
				break;
		if (r != (ssize_t)sizeof(pkt) || k == nvips)
			continue;
		vip = &vips[k];
		hops = -1;
		memset(&pi, 0, sizeof(pi));
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != IPPROTO_IPV6)
				continue;
			if (cm->cmsg_type == IPV6_HOPLIMIT)
				memcpy(&hops, CMSG_DATA(cm), sizeof(hops));
			if (cm->cmsg_type == IPV6_PKTINFO)
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
		}
		assert_int_equal(hops, 255);
		assert_memory_equal(&pi.ipi6_addr, &allnodes,
		    sizeof(allnodes));
		assert_memory_equal(&from.sin6_addr, vip, sizeof(*vip));
		assert_true((pkt.na.nd_na_flags_reserved &
		    ND_NA_FLAG_OVERRIDE) != 0);
		assert_true((pkt.na.nd_na_flags_reserved &
		    ND_NA_FLAG_SOLICITED) == 0);
		assert_int_equal(pkt.opt.nd_opt_type, ND_OPT_TARGET_LINKADDR);
		assert_int_equal(pkt.opt.nd_opt_len, 1);
		assert_memory_equal(pkt.lladdr, lladdr, ETH_ALEN);
		counts[k]++;
	}
}

/* A veth pair cipv0/cipv1, up and running; skips without veth. */
static void
veth_up(void)
{
	if (system("ip link add cipv0 type veth peer name cipv1 "
	    ">/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(link_up("cipv0"), 0);
	assert_int_equal(link_up("cipv1"), 0);
	assert_true(link_running("cipv0"));
	assert_true(link_running("cipv1"));
}

static void
veth_del(void)
{
	if (system("ip link del cipv0 >/dev/null 2>&1") != 0)
		print_message("could not delete cipv0\n");
}

/* cipv0's MAC. */
static void
veth_mac(uint8_t *mac)
{
	struct ifreq ifr;
	int s;

	assert_true((s = socket(AF_INET6, SOCK_DGRAM, 0)) != -1);
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, "cipv0", sizeof(ifr.ifr_name));
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(s);
}

/*
 * On a veth pair with carrier the kernel runs duplicate address
 * detection: without IFA_F_NODAD the /128 would be tentative (not
 * bindable) for a second. Ours is usable at once, and announced to
 * cipv1 by an unsolicited neighbour advertisement. Unattached, one is
 * sent per add; a busy machine may drop it on the veth, so the address
 * is added again, three times at most.
 */
static void
test_netif_na(void **state)
{
	struct in6_addr vip = ip6("fd00:250::9");
	uint8_t mac[ETH_ALEN];
	struct netif *n;
	int s, tries, got = 0;

	(void)state;
	veth_up();
	veth_mac(mac);
	s = na_socket("cipv1");
	n = open_ok("cipv0");
	for (tries = 0; tries < 3 && got == 0; tries++) {
		assert_int_equal(netif_addr6_add(n, &vip), 0);
		assert_true(has_addr6("cipv0", "fd00:250::9"));
		assert_int_equal(bind6("fd00:250::9"), 0);
		na_counts(s, &vip, &got, 1, mac, 1000);
		if (got == 0)
			assert_int_equal(netif_addr6_del(n, &vip), 0);
	}
	close(s);
	netif_close(n);
	assert_false(has_addr6("cipv0", "fd00:250::9"));
	veth_del();
	if (got != 1)
		fail_msg("%d neighbour advertisements for fd00:250::9 on "
		    "cipv1 in %d tries, not one", got, tries);
}

/*
 * Attached, the advertisement goes out three times, a second apart
 * (RFC 4861 7.2.6), so that one lost is not the last; a removed address
 * is not announced again.
 */
static void
test_netif_na_repeats(void **state)
{
	struct in6_addr vips[2] = { ip6("fd00:250::a"), ip6("fd00:250::b") };
	struct event_base *base;
	struct timeval tv = { 0, 100000 };
	uint8_t mac[ETH_ALEN];
	struct netif *n;
	int s, i, got[2] = { 0, 0 };

	(void)state;
	veth_up();
	veth_mac(mac);
	s = na_socket("cipv1");
	assert_non_null(base = event_base_new());
	n = open_ok("cipv0");
	assert_int_equal(netif_attach(n, base), 0);
	assert_int_equal(netif_addr6_add(n, &vips[0]), 0);
	assert_int_equal(netif_addr6_add(n, &vips[1]), 0);
	/* 3.5 s of the loop, reading what arrived in between. */
	for (i = 0; i < 35; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		if (i == 5)
			assert_int_equal(netif_addr6_del(n, &vips[1]), 0);
		na_counts(s, vips, got, 2, mac, 0);
	}
	close(s);
	netif_close(n);
	event_base_free(base);
	veth_del();
	/* One may be lost on a busy machine; never more than three. */
	if (got[0] < 2 || got[0] > 3)
		fail_msg("%d advertisements of fd00:250::a, not 3", got[0]);
	if (got[1] > 1)
		fail_msg("fd00:250::b announced %d times, removed after the "
		    "first", got[1]);
}

/* connect(2) over TCP to [addr]:port: 0 or the errno. */
static int
connect6(const char *addr, uint16_t port)
{
	struct sockaddr_in6 sin6;
	int s, rc = 0;

	assert_true((s = socket(AF_INET6, SOCK_STREAM, 0)) != -1);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = ip6(addr);
	sin6.sin6_port = htons(port);
	if (connect(s, (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
		rc = errno;
	close(s);
	return rc;
}

/*
 * The range's local route makes every address of it this host's: a
 * listener bound (with IPV6_FREEBIND) to one of them takes connections;
 * without the route they go nowhere. A route already there counts as
 * success and stays at close; ours goes.
 */
static void
test_netif_route_local6(void **state)
{
	struct in6_addr net = ip6("fd00:96::");
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);
	struct netif *a, *b;
	uint16_t port;
	int l, on = 1;

	(void)state;
	assert_true((l = socket(AF_INET6, SOCK_STREAM, 0)) != -1);
	assert_int_equal(setsockopt(l, IPPROTO_IPV6, IPV6_FREEBIND, &on,
	    sizeof(on)), 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = ip6("fd00:96::7");
	assert_int_equal(bind(l, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(listen(l, 8), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin6, &len), 0);
	port = ntohs(sin6.sin6_port);
	assert_int_not_equal(connect6("fd00:96::7", port), 0);

	a = open_ok("lo");
	assert_int_equal(netif_route_local6(a, true, &net, 112), 0);
	assert_int_equal(connect6("fd00:96::7", port), 0);
	/*
	 * b finds a route of the daemon's protocol there, as the run after
	 * a crash does: it takes it over, and removes it at close (one
	 * daemon per namespace holds the range's route).
	 */
	b = open_ok("lo");
	assert_int_equal(netif_route_local6(b, true, &net, 112), 0);
	assert_int_equal(connect6("fd00:96::7", port), 0);
	netif_close(b);
	assert_int_not_equal(connect6("fd00:96::7", port), 0);
	/* a's removal at close finds nothing: no error. */
	netif_close(a);
	assert_int_not_equal(connect6("fd00:96::7", port), 0);
	/* Removing what is not there is no error. */
	a = open_ok("lo");
	assert_int_equal(netif_route_local6(a, false, &net, 112), 0);
	assert_int_equal(netif_route_local6(a, true, &net, 129), -1);
	netif_close(a);
	close(l);
}

/* connect(2) over TCP to addr:port (IPv4): 0 or the errno. */
static int
connect4(const char *addr, uint16_t port)
{
	struct sockaddr_in sin;
	int s, rc = 0;

	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	sin.sin_port = htons(port);
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		rc = errno;
	close(s);
	return rc;
}

/* A TCP listener with FREEBIND on addr (family af); its port in *port. */
static int
listen_free(int af, const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);
	int l, on = 1;

	assert_true((l = socket(af, SOCK_STREAM, 0)) != -1);
	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET6) {
		assert_int_equal(setsockopt(l, IPPROTO_IPV6, IPV6_FREEBIND,
		    &on, sizeof(on)), 0);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = ip6(addr);
		len = sizeof(*sin6);
	} else {
		assert_int_equal(setsockopt(l, IPPROTO_IP, IP_FREEBIND, &on,
		    sizeof(on)), 0);
		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		len = sizeof(*sin);
	}
	assert_int_equal(bind(l, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(l, 8), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(af == AF_INET6 ? sin6->sin6_port : sin->sin_port);
	return l;
}

/*
 * One VIP's local route on lo, of either family (another host's VIP
 * outside what lo takes as its own): the address answers while the
 * route is there; removed, or closed, it goes nowhere. One of the
 * daemon's protocol already there is taken over; one of another
 * protocol (someone else's) counts as success and stays at close.
 */
static void
test_netif_route_local(void **state)
{
	struct in6_addr v6 = ip6("fd00:97::9");
	struct in_addr v4;
	struct netif *a, *b;
	uint16_t p4, p6;
	int l4, l6;

	(void)state;
	assert_int_equal(inet_pton(AF_INET, "10.99.0.9", &v4), 1);
	l4 = listen_free(AF_INET, "10.99.0.9", &p4);
	l6 = listen_free(AF_INET6, "fd00:97::9", &p6);
	assert_int_not_equal(connect4("10.99.0.9", p4), 0);
	assert_int_not_equal(connect6("fd00:97::9", p6), 0);

	a = open_ok("lo");
	assert_int_equal(netif_route_local(a, true, AF_INET, &v4), 0);
	assert_int_equal(netif_route_local(a, true, AF_INET6, &v6), 0);
	assert_int_equal(connect4("10.99.0.9", p4), 0);
	assert_int_equal(connect6("fd00:97::9", p6), 0);
	/* b finds one of the daemon's protocol there: taken over, b's. */
	b = open_ok("lo");
	assert_int_equal(netif_route_local(b, true, AF_INET6, &v6), 0);
	assert_int_equal(connect6("fd00:97::9", p6), 0);
	assert_int_equal(netif_route_local(b, false, AF_INET6, &v6), 0);
	netif_close(b);
	assert_int_not_equal(connect6("fd00:97::9", p6), 0);
	/* a's removal of what b took finds nothing: no error. */
	assert_int_equal(netif_route_local(a, false, AF_INET6, &v6), 0);
	assert_int_not_equal(connect6("fd00:97::9", p6), 0);
	assert_int_equal(connect4("10.99.0.9", p4), 0);
	netif_close(a);
	assert_int_not_equal(connect4("10.99.0.9", p4), 0);
	/* One of another protocol is someone else's: used, left at close. */
	assert_int_equal(system("ip -6 route add local fd00:97::9/128 dev lo "
	    "table local proto boot"), 0);
	a = open_ok("lo");
	assert_int_equal(netif_route_local(a, true, AF_INET6, &v6), 0);
	netif_close(a);
	assert_int_equal(connect6("fd00:97::9", p6), 0);
	assert_int_equal(system("ip -6 route del local fd00:97::9/128 dev lo "
	    "table local"), 0);
	assert_int_not_equal(connect6("fd00:97::9", p6), 0);
	a = open_ok("lo");
	assert_int_equal(netif_route_local(a, true, AF_UNIX, &v4), -1);
	netif_close(a);
	close(l4);
	close(l6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netif_open_missing),
		cmocka_unit_test(test_netif_open_lo),
		cmocka_unit_test(test_netif_add_del),
		cmocka_unit_test(test_netif_close_removes),
		cmocka_unit_test(test_netif_close_keeps_foreign),
		cmocka_unit_test(test_netif_removed_behind_our_back),
		cmocka_unit_test(test_netif_garp),
		cmocka_unit_test(test_netif_attached),
		cmocka_unit_test(test_netif_add_del6),
		cmocka_unit_test(test_netif_na),
		cmocka_unit_test(test_netif_na_repeats),
		cmocka_unit_test(test_netif_route_local6),
		cmocka_unit_test(test_netif_route_local),
	};

	log_init("test_netif", LOG_LEVEL_INFO);
	if (geteuid() != 0) {
		printf("test_netif: needs root for a network namespace, "
		    "skipped\n");
		return 77;
	}
	/* Our own namespace: the addresses never reach the host's. */
	if (unshare(CLONE_NEWNET) == -1) {
		printf("test_netif: unshare(CLONE_NEWNET): %s, skipped\n",
		    strerror(errno));
		return 77;
	}
	if (link_up("lo") == -1) {
		printf("test_netif: cannot bring lo up: %s\n",
		    strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
