/* SPDX-License-Identifier: MIT */
/* nftbatch.c -- element changes as one nftables netlink batch. */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nftbatch.h"
#include "nftmap.h"
#include "nftrules.h"
#include "util.h"

/* Bytes of one element message at most (headers, names, key, data). */
#define NFTBATCH_ELEM_BYTES	256
/* Past this many changes the text path is as good: one big commit. */
#define NFTBATCH_MAX_OPS	4096
/*
 * Elements per message: their list is one netlink attribute, whose
 * length has 16 bits (64 KiB).
 */
#define NFTBATCH_MSG_ELEMS	128

struct nftbatch {
	struct mnl_socket	*nl;
	uint32_t		 seq;
	size_t			 sndbuf;
};

struct nftbatch *
nftbatch_new(void)
{
	struct nftbatch *b = calloc(1, sizeof(*b));
	struct timeval tv = { 5, 0 };
	int one = 1;

	if (b == NULL)
		return NULL;
	if ((b->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(b->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		nftbatch_free(b);
		return NULL;
	}
	/* Acknowledgements without the request copied back. */
	(void)mnl_socket_setsockopt(b->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* A kernel that never answers cannot hold the loop forever. */
	(void)setsockopt(mnl_socket_get_fd(b->nl), SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof(tv));
	b->seq = (uint32_t)time(NULL);
	return b;
}

void
nftbatch_free(struct nftbatch *b)
{
	if (b == NULL)
		return;
	if (b->nl != NULL)
		mnl_socket_close(b->nl);
	free(b);
}

/* One message for the elements v[0..n) (one set, all adds or deletes). */
static int
put_msg(struct mnl_nlmsg_batch *mb, const char *table,
    const struct nftmap_elem *v, size_t n, uint32_t seq)
{
	struct nftnl_set *s;
	struct nftnl_set_elem *e;
	size_t i;

	if ((s = nftnl_set_alloc()) == NULL)
		return -1;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, v[0].set);
	for (i = 0; i < n; i++) {
		if ((e = nftnl_set_elem_alloc()) == NULL) {
			nftnl_set_free(s);
			return -1;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, v[i].key,
		    (uint32_t)v[i].klen);
		if (v[i].add && v[i].dlen > 0)
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, v[i].data,
			    (uint32_t)v[i].dlen);
		nftnl_set_elem_add(s, e);
	}
	nftnl_set_elems_nlmsg_build_payload(nftnl_nlmsg_build_hdr(
	    mnl_nlmsg_batch_current(mb), v[0].add ? NFT_MSG_NEWSETELEM :
	    NFT_MSG_DELSETELEM, NFPROTO_INET, (v[0].add ? NLM_F_CREATE : 0) |
	    NLM_F_ACK, seq), s);
	nftnl_set_free(s);
	mnl_nlmsg_batch_next(mb);
	return 0;
}

/* Reads the answers to msgs messages; the first error into err. */
static int
read_acks(struct nftbatch *b, uint32_t first, size_t msgs, char *err,
    size_t errlen)
{
	char rb[MNL_SOCKET_BUFFER_SIZE];
	const struct nlmsghdr *h;
	const struct nlmsgerr *e;
	int len, rc = 0;
	ssize_t n;

	while (msgs > 0) {
		if ((n = mnl_socket_recvfrom(b->nl, rb, sizeof(rb))) <= 0) {
			snprintf(err, errlen, "netlink: %s", n < 0 ?
			    strerror(errno) : "closed");
			return -1;
		}
		len = (int)n;
		for (h = (const struct nlmsghdr *)rb; mnl_nlmsg_ok(h, len);
		    h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_seq < first)
				continue;
			e = mnl_nlmsg_get_payload(h);
			if (e->error != 0 && rc == 0) {
				snprintf(err, errlen, "netlink batch: %s",
				    strerror(-e->error));
				rc = -1;
			}
			/* A refused batch answers its first message only. */
			if (e->error != 0 && h->nlmsg_seq == first)
				return -1;
			msgs--;
		}
	}
	return rc;
}

int
nftbatch_run(struct nftbatch *b, const char *table,
    const struct nftrules_state *ops, char *err, size_t errlen)
{
	struct mnl_nlmsg_batch *mb = NULL;
	struct nftmap_elem *v = NULL;
	size_t i, j, msgs = 0, limit;
	uint32_t first;
	char *buf = NULL;
	int rc = -1;

	if (ops->n == 0)
		return 0;
	if (ops->n > NFTBATCH_MAX_OPS) {
		snprintf(err, errlen, "%zu changes in one batch", ops->n);
		return -1;
	}
	limit = MNL_SOCKET_BUFFER_SIZE + ops->n * NFTBATCH_ELEM_BYTES;
	if ((v = calloc(ops->n, sizeof(*v))) == NULL ||
	    (buf = malloc(2 * limit)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < ops->n; i++)
		if (nftmap_encode(ops->v[i] + 2, ops->v[i][0] == '+',
		    &v[i]) != 0) {
			snprintf(err, errlen, "not an element: %s", ops->v[i]);
			goto out;
		}
	if (limit > b->sndbuf) {
		int sz = (int)limit;

		/* Root may go past wmem_max; the batch is one message. */
		if (setsockopt(mnl_socket_get_fd(b->nl), SOL_SOCKET,
		    SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
			(void)setsockopt(mnl_socket_get_fd(b->nl), SOL_SOCKET,
			    SO_SNDBUF, &sz, sizeof(sz));
		b->sndbuf = limit;
	}
	mb = mnl_nlmsg_batch_start(buf, limit);
	first = b->seq;
	nftnl_batch_begin(mnl_nlmsg_batch_current(mb), b->seq++);
	mnl_nlmsg_batch_next(mb);
	/* Runs of one set and one direction share a message. */
	for (i = 0; i < ops->n; i = j) {
		for (j = i + 1; j < ops->n && j - i < NFTBATCH_MSG_ELEMS &&
		    v[j].add == v[i].add && strcmp(v[j].set, v[i].set) == 0;
		    j++)
			;
		if (put_msg(mb, table, v + i, j - i, b->seq++) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		msgs++;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(mb), b->seq++);
	mnl_nlmsg_batch_next(mb);
	if (mnl_socket_sendto(b->nl, mnl_nlmsg_batch_head(mb),
	    mnl_nlmsg_batch_size(mb)) < 0) {
		snprintf(err, errlen, "netlink send: %s", strerror(errno));
		goto out;
	}
	/* The batch begin is answered only when refused. */
	rc = read_acks(b, first, msgs, err, errlen);
out:
	if (mb != NULL)
		mnl_nlmsg_batch_stop(mb);
	free(buf);
	free(v);
	return rc;
}
