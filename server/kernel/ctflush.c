/* SPDX-License-Identifier: MIT */
/* ctflush.c -- stale UDP conntrack entries of removed endpoints deleted. */
#include <sys/socket.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctflush.h"
#include "util.h"

struct ctflush_dump {
	const struct nftrules_udp_gone	 *g;
	size_t				  ng;
	struct nf_conntrack		**del;
	size_t				  n, cap;
	bool				  oom;
};

static int
ctflush_dump_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
    void *arg)
{
	struct ctflush_dump *d = arg;
	struct nf_conntrack **nv, *c;
	uint8_t l3 = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	size_t i;

	if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_UDP)
		return NFCT_CB_CONTINUE;
	for (i = 0; i < d->ng; i++) {
		const struct nftrules_udp_gone *g = &d->g[i];

		if (nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST) !=
		    htons(g->port) ||
		    nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC) !=
		    htons(g->ep_port))
			continue;
		if (g->v6 ? l3 == AF_INET6 &&
		    memcmp(nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), &g->vip6,
		    16) == 0 &&
		    memcmp(nfct_get_attr(ct, ATTR_REPL_IPV6_SRC), &g->ep6,
		    16) == 0 : l3 == AF_INET &&
		    nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST) ==
		    g->vip.s_addr &&
		    nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC) == g->ep.s_addr)
			break;
	}
	if (i == d->ng)
		return NFCT_CB_CONTINUE;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		if ((nv = reallocarray(d->del, ncap, sizeof(*nv))) == NULL) {
			d->oom = true;
			return NFCT_CB_STOP;
		}
		d->del = nv;
		d->cap = ncap;
	}
	if ((c = nfct_clone(ct)) == NULL) {
		d->oom = true;
		return NFCT_CB_STOP;
	}
	d->del[d->n++] = c;
	return NFCT_CB_CONTINUE;
}

int
ctflush_udp(const struct nftrules_udp_gone *g, size_t n, char *err,
    size_t errlen)
{
	struct ctflush_dump d = { .g = g, .ng = n };
	struct nfct_handle *h;
	uint32_t family = AF_UNSPEC;	/* both families in one dump */
	int deleted = 0, rc = -1;
	size_t i;

	if (n == 0)
		return 0;
	if ((h = nfct_open(CONNTRACK, 0)) == NULL) {
		errf(err, errlen, "conntrack: %s", strerror(errno));
		return -1;
	}
	nfct_callback_register(h, NFCT_T_ALL, ctflush_dump_cb, &d);
	if (nfct_query(h, NFCT_Q_DUMP, &family) != 0) {
		errf(err, errlen, "conntrack dump: %s", strerror(errno));
		goto out;
	}
	if (d.oom) {
		errf(err, errlen, "conntrack: out of memory");
		goto out;
	}
	for (i = 0; i < d.n; i++)
		if (nfct_query(h, NFCT_Q_DESTROY, d.del[i]) == 0)
			deleted++;
		/* ENOENT: the entry expired meanwhile, as well. */
	rc = deleted;
out:
	for (i = 0; i < d.n; i++)
		nfct_destroy(d.del[i]);
	free(d.del);
	nfct_close(h);
	return rc;
}
