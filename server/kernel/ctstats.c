/* SPDX-License-Identifier: MIT */
/* ctstats.c -- translated conntrack entries, read for the metrics. */
#include <sys/socket.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#include "ctstats.h"
#include "util.h"

struct ctstats_dump {
	ctstats_cb	*cb;
	void		*arg;
	int		 n;
};

bool
ctstats_parse(const struct nf_conntrack *ct, struct ctstats_entry *e)
{
	uint32_t status;
	uint8_t st;

	memset(e, 0, sizeof(*e));
	e->l4 = nfct_get_attr_u8(ct, ATTR_L4PROTO);
	status = nfct_get_attr_u32(ct, ATTR_STATUS);
	/* A kernel that ignores the status filter: checked here too. */
	if ((e->l4 != IPPROTO_TCP && e->l4 != IPPROTO_UDP) ||
	    (status & IPS_DST_NAT) == 0)
		return false;
	e->af = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	if (e->af == AF_INET6) {
		const void *v = nfct_get_attr(ct, ATTR_ORIG_IPV6_DST);
		const void *p = nfct_get_attr(ct, ATTR_REPL_IPV6_SRC);

		if (v == NULL || p == NULL)
			return false;
		memcpy(e->vip, v, 16);
		memcpy(e->ep, p, 16);
	} else if (e->af == AF_INET) {
		uint32_t a = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);

		memcpy(e->vip, &a, 4);
		a = nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC);
		memcpy(e->ep, &a, 4);
	} else
		return false;
	e->id = nfct_get_attr_u32(ct, ATTR_ID);
	e->vport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	e->ep_port = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	e->assured = (status & IPS_ASSURED) != 0;
	if (e->l4 == IPPROTO_TCP) {
		st = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
		e->open = st >= TCP_CONNTRACK_ESTABLISHED &&
		    st <= TCP_CONNTRACK_LAST_ACK;
	} else
		e->open = true;
	if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_BYTES) > 0) {
		e->has_bytes = true;
		e->bytes_orig = nfct_get_attr_u64(ct,
		    ATTR_ORIG_COUNTER_BYTES);
		e->bytes_reply = nfct_get_attr_u64(ct,
		    ATTR_REPL_COUNTER_BYTES);
	}
	return true;
}

static int
ctstats_dump_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
    void *arg)
{
	struct ctstats_dump *d = arg;
	struct ctstats_entry e;

	(void)type;
	if (!ctstats_parse(ct, &e))
		return NFCT_CB_CONTINUE;
	d->cb(&e, d->arg);
	d->n++;
	return NFCT_CB_CONTINUE;
}

int
ctstats_dump(ctstats_cb *cb, void *arg, char *err, size_t errlen)
{
	struct ctstats_dump d = { cb, arg, 0 };
	struct nfct_filter_dump *f;
	struct nfct_filter_dump_mark dnat = { IPS_DST_NAT, IPS_DST_NAT };
	struct nfct_handle *h;
	int rc = -1;

	if ((f = nfct_filter_dump_create()) == NULL) {
		errf(err, errlen, "conntrack: out of memory");
		return -1;
	}
	nfct_filter_dump_set_attr(f, NFCT_FILTER_DUMP_STATUS, &dnat);
	if ((h = nfct_open(CONNTRACK, 0)) == NULL) {
		errf(err, errlen, "conntrack: %s", strerror(errno));
		goto out;
	}
	nfct_callback_register(h, NFCT_T_ALL, ctstats_dump_cb, &d);
	if (nfct_query(h, NFCT_Q_DUMP_FILTER, f) != 0)
		errf(err, errlen, "conntrack dump: %s", strerror(errno));
	else
		rc = d.n;
	nfct_close(h);
out:
	nfct_filter_dump_destroy(f);
	return rc;
}
