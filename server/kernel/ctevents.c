/* SPDX-License-Identifier: MIT */
/* ctevents.c -- conntrack destroy events of translated entries. */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctevents.h"
#include "log.h"
#include "util.h"

struct ctevents {
	struct nfct_handle	*h;
	struct event		*ev;
	ctstats_cb		*cb;
	void			*arg;
	unsigned long		 read, kept;
};

static int
ctevents_msg_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
    void *arg)
{
	struct ctevents *c = arg;
	struct ctstats_entry e;

	(void)type;
	c->read++;
	if (ctstats_parse(ct, &e)) {
		c->kept++;
		c->cb(&e, c->arg);
	}
	return NFCT_CB_CONTINUE;
}

void
ctevents_counts(const struct ctevents *c, unsigned long *read,
    unsigned long *kept)
{
	*read = c != NULL ? c->read : 0;
	*kept = c != NULL ? c->kept : 0;
}

/*
 * "ADDR/PREFIX" into r4 or r6 (*is6 tells which); false when it is
 * neither family's CIDR. The library compares words in host order.
 */
static bool
ctevents_range(const char *cidr, struct nfct_filter_ipv4 *r4,
    struct nfct_filter_ipv6 *r6, bool *is6)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash;
	unsigned char a[16];
	uint32_t w;
	long prefix, bits;
	char *end;
	int i;

	if ((slash = strchr(cidr, '/')) == NULL ||
	    (size_t)(slash - cidr) >= sizeof(addr))
		return false;
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	prefix = strtol(slash + 1, &end, 10);
	if (*end != '\0' || prefix < 0)
		return false;
	if (inet_pton(AF_INET, addr, a) == 1 && prefix <= 32) {
		memcpy(&w, a, 4);
		r4->addr = ntohl(w);
		r4->mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
		*is6 = false;
		return true;
	}
	if (inet_pton(AF_INET6, addr, a) != 1 || prefix > 128)
		return false;
	for (i = 0; i < 4; i++) {
		memcpy(&w, a + 4 * i, 4);
		r6->addr[i] = ntohl(w);
		bits = prefix - 32 * i;
		r6->mask[i] = bits >= 32 ? 0xffffffffu : bits <= 0 ? 0 :
		    0xffffffffu << (32 - bits);
	}
	*is6 = true;
	return true;
}

/*
 * The socket filter: TCP or UDP, first sent into one of the ranges.
 * libnetfilter-conntrack's filter drops every IPv6 event as soon as it
 * names an IPv4 address, while its IPv6 addresses let IPv4 events
 * through: with an IPv6 range, only IPv6 events are narrowed to it, and
 * IPv4 ones pass whole (then parsed, and dropped unless translated).
 */
static void
ctevents_filter(struct nfct_handle *h, const char *const *ranges, size_t n)
{
	struct nfct_filter_ipv4 r4[4];
	struct nfct_filter_ipv6 r6[4];
	struct nfct_filter *f;
	size_t i, n4 = 0, n6 = 0;
	bool is6;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (n4 == 4 || n6 == 4 ||
		    !ctevents_range(ranges[i], &r4[n4], &r6[n6], &is6)) {
			log_warnx("kernel: conntrack events not filtered: %s",
			    ranges[i]);
			return;
		}
		if (is6)
			n6++;
		else
			n4++;
	}
	if ((f = nfct_filter_create()) == NULL) {
		log_warnx("kernel: conntrack events not filtered: out of "
		    "memory");
		return;
	}
	nfct_filter_add_attr_u32(f, NFCT_FILTER_L4PROTO, IPPROTO_TCP);
	nfct_filter_add_attr_u32(f, NFCT_FILTER_L4PROTO, IPPROTO_UDP);
	for (i = 0; i < n6; i++)
		nfct_filter_add_attr(f, NFCT_FILTER_DST_IPV6, &r6[i]);
	for (i = 0; n6 == 0 && i < n4; i++)
		nfct_filter_add_attr(f, NFCT_FILTER_DST_IPV4, &r4[i]);
	if (nfct_filter_attach(nfct_fd(h), f) == -1)
		log_warn("kernel: conntrack events not filtered");
	else
		log_debug("kernel: conntrack events filtered in the kernel: "
		    "TCP and UDP to the %s VIP range%s", n6 > 0 ? "IPv6" :
		    "IPv4", n6 > 0 ? (n4 > 0 ? " (IPv4: any)" : "") : "");
	nfct_filter_destroy(f);
}

void
ctevents_drain(struct ctevents *c)
{
	if (c == NULL)
		return;
	/* Non-blocking: returns once the socket is empty. */
	if (nfct_catch(c->h) == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK) {
		/* ENOBUFS: the kernel dropped events it could not queue. */
		log_debug("kernel: conntrack events: %s (some lost)",
		    strerror(errno));
	}
}

static void
ctevents_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ctevents_drain(arg);
}

struct ctevents *
ctevents_open(struct event_base *base, const char *const *ranges, size_t n,
    ctstats_cb *cb, void *arg, char *err, size_t errlen)
{
	struct ctevents *c;
	int fd, fl;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	c->cb = cb;
	c->arg = arg;
	if ((c->h = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_DESTROY)) ==
	    NULL) {
		errf(err, errlen, "conntrack events: %s", strerror(errno));
		goto fail;
	}
	fd = nfct_fd(c->h);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		errf(err, errlen, "conntrack events: %s", strerror(errno));
		goto fail;
	}
	ctevents_filter(c->h, ranges, n);
	nfct_callback_register(c->h, NFCT_T_DESTROY, ctevents_msg_cb, c);
	if ((c->ev = event_new(base, fd, EV_READ | EV_PERSIST,
	    ctevents_read_cb, c)) == NULL || event_add(c->ev, NULL) == -1) {
		errf(err, errlen, "conntrack events: out of memory");
		goto fail;
	}
	return c;
fail:
	ctevents_free(c);
	return NULL;
}

void
ctevents_free(struct ctevents *c)
{
	if (c == NULL)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->h != NULL)
		nfct_close(c->h);
	free(c);
}
