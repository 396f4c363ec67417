/* SPDX-License-Identifier: MIT */
/*
 * nft_cost.c -- where the time of one kernel path update goes, among N
 * services (10,000 by default; the one in the middle with round-robin,
 * so that the table has chains to go to): the daemon's table is built
 * whole, then small transactions are timed, each K times (add, then
 * delete):
 *
 *   - through libnftables, which reads the ruleset into its cache first
 *     (an element of the reject set added and deleted);
 *   - as the daemon's netlink batches of elements (nftbatch): an element
 *     of the reject set, an endpoint's slot and counter elements;
 *   - as netlink batches built here with libnftnl: a chain with a
 *     counter rule (no verdict), a chain with a goto rule, an element of
 *     the verdict map (goto). A transaction that adds a jump or goto
 *     makes the kernel validate every chain reachable from the table's
 *     hooks.
 *
 * Runs in a network namespace of its own (unshare); needs root. Prints
 * the median of each.
 *
 *   bench/nft-cost [SERVICES] [K]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nftapply.h"
#include "nftbatch.h"
#include "nft_bench.h"
#include "nftrules.h"
#include "registry.h"
#include "util.h"
#include "vip.h"

#define FAMILY_INET	1	/* NFPROTO_INET */
#define BATCH_SIZE	(1 << 16)

static struct mnl_socket	*nl;
static uint32_t			 seq = 1;
static int			 pending;	/* acknowledgements due */

static struct mnl_nlmsg_batch *
batch_begin(char *buf)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, BATCH_SIZE);

	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	return b;
}

/* Ends, sends and waits for every acknowledgement; the time it took. */
static double
batch_run(struct mnl_nlmsg_batch *b)
{
	char rb[MNL_SOCKET_BUFFER_SIZE];
	const struct nlmsghdr *h;
	const struct nlmsgerr *e;
	double t0, t;
	ssize_t n;
	int len;

	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	t0 = nft_bench_now_us();
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b),
	    mnl_nlmsg_batch_size(b)) < 0) {
		perror("netlink send");
		exit(1);
	}
	/* The kernel acknowledges each message after the commit. */
	while (pending > 0) {
		if ((n = mnl_socket_recvfrom(nl, rb, sizeof(rb))) <= 0) {
			perror("netlink receive");
			exit(1);
		}
		len = (int)n;
		for (h = (const struct nlmsghdr *)rb; mnl_nlmsg_ok(h, len);
		    h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(h);
			if (e->error != 0) {
				fprintf(stderr, "netlink batch: %s\n",
				    strerror(-e->error));
				exit(1);
			}
			pending--;
		}
	}
	t = nft_bench_now_us() - t0;
	mnl_nlmsg_batch_stop(b);
	return t;
}

static struct nlmsghdr *
msg(struct mnl_nlmsg_batch *b, uint16_t type, uint16_t flags)
{
	pending++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type,
	    FAMILY_INET, flags | NLM_F_ACK, seq++);
}

/* An element of set; with verdict to chain when chain is not NULL. */
static void
elem(struct mnl_nlmsg_batch *b, const char *set, const char *chain, bool add)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	/* ipv4_addr . inet_proto . inet_service: 4-byte registers each. */
	uint8_t key[12] = { 10, 99, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0 };

	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTRULES_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
	if (chain != NULL && add) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_GOTO);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	nftnl_set_elem_add(s, e);
	nftnl_set_elems_nlmsg_build_payload(msg(b, add ? NFT_MSG_NEWSETELEM :
	    NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0), s);
	mnl_nlmsg_batch_next(b);
	nftnl_set_free(s);
}

/* A chain made; or emptied (its rules flushed) and deleted. */
static void
chain(struct mnl_nlmsg_batch *b, const char *name, bool add)
{
	struct nftnl_chain *c;
	struct nftnl_rule *r;

	if (!add) {
		r = nftnl_rule_alloc();
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTRULES_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
		nftnl_rule_nlmsg_build_payload(msg(b, NFT_MSG_DELRULE, 0), r);
		mnl_nlmsg_batch_next(b);
		nftnl_rule_free(r);
	}
	c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFTRULES_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_nlmsg_build_payload(msg(b, add ? NFT_MSG_NEWCHAIN :
	    NFT_MSG_DELCHAIN, add ? NLM_F_CREATE : 0), c);
	mnl_nlmsg_batch_next(b);
	nftnl_chain_free(c);
}

/* A rule in chain in: a counter, or a goto to chain to. */
static void
rule(struct mnl_nlmsg_batch *b, const char *in, const char *to)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e;

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTRULES_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, in);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, FAMILY_INET);
	if (to == NULL)
		e = nftnl_expr_alloc("counter");
	else {
		e = nftnl_expr_alloc("immediate");
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NFT_GOTO);
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, to);
	}
	nftnl_rule_add_expr(r, e);
	nftnl_rule_nlmsg_build_payload(msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE |
	    NLM_F_APPEND), r);
	mnl_nlmsg_batch_next(b);
	nftnl_rule_free(r);
}

/* The daemon's batch: entries a (and b) added, then deleted, k times. */
static void
elems(struct nftbatch *nb, const char *a, const char *b, double *add,
    double *del, size_t k)
{
	struct nftrules_state ins = { 0 }, rm = { 0 };
	char err[256];
	double t0;
	size_t i;

	nftrules_state_add(&ins, '+', a);
	nftrules_state_add(&rm, '-', a);
	if (b != NULL) {
		nftrules_state_add(&ins, '+', b);
		nftrules_state_add(&rm, '-', b);
	}
	for (i = 0; i < k; i++) {
		t0 = nft_bench_now_us();
		if (nftbatch_run(nb, NFTRULES_TABLE, &ins, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "batch: %s\n", err);
			exit(1);
		}
		add[i] = nft_bench_now_us() - t0;
		t0 = nft_bench_now_us();
		if (nftbatch_run(nb, NFTRULES_TABLE, &rm, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "batch: %s\n", err);
			exit(1);
		}
		del[i] = nft_bench_now_us() - t0;
	}
	nftrules_state_clear(&ins);
	nftrules_state_clear(&rm);
}

static void
report(const char *what, double *add, double *del, size_t k)
{
	qsort(add, k, sizeof(*add), nft_bench_cmp_double);
	qsort(del, k, sizeof(*del), nft_bench_cmp_double);
	printf("%-44s add %7.0f us, delete %7.0f us (median of %zu)\n", what,
	    add[k / 2], del[k / 2], k);
}

int
main(int argc, char **argv)
{
	size_t nsvc = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t k = argc > 2 ? strtoul(argv[2], NULL, 10) : 20;
	struct nftrules_opts o = { .table = NFTRULES_TABLE,
	    .tcp_time_wait_s = 5 };
	struct nftbuf buf = { 0 };
	struct nftrules_state st = { 0 }, empty = { 0 };
	struct mnl_nlmsg_batch *b;
	struct vip_pool *pool;
	struct registry *reg;
	struct nftapply *nft;
	struct nftbatch *nb;
	const struct service *svc;
	char err[1024], name[64], target[64];
	char *bbuf;
	double *add, *del, t0;
	size_t i, j;
	int rc;

	if (k == 0)
		return 2;
	if ((rc = nft_bench_setup(nsvc, "round-robin", &pool, &reg, &nft)) != 0)
		return rc;
	nftrules_base(&buf, &o);
	for (i = 0; i < nsvc; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		svc = registry_find_service(reg, "default", name);
		nftrules_service(&buf, &o, svc, &empty, &st, NULL);
		/* A goto target for the probes: the middle service's. */
		for (j = 0; i == nsvc / 2 && j < st.n; j++)
			if (strncmp(st.v[j], "c:svc-", 6) == 0)
				strlcpy(target, st.v[j] + 2, sizeof(target));
		nftrules_state_clear(&st);
	}
	if (buf.err != 0 || nftapply_run(nft, buf.p, err, sizeof(err)) != 0) {
		fprintf(stderr, "build: %s\n", buf.err ? "out of memory" : err);
		return 1;
	}
	printf("services %zu: table built (%zu KiB of commands)\n", nsvc,
	    buf.len / 1024);
	if ((add = calloc(k, sizeof(*add))) == NULL ||
	    (del = calloc(k, sizeof(*del))) == NULL ||
	    (bbuf = malloc(BATCH_SIZE)) == NULL ||
	    (nb = nftbatch_new()) == NULL ||
	    (nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("setup");
		return 1;
	}

	for (i = 0; i < k; i++) {
		t0 = nft_bench_now_us();
		if (nftapply_run(nft, "add element inet " NFTRULES_TABLE
		    " no-endpoints { 10.99.0.1 . tcp . 80 }\n", err,
		    sizeof(err)) != 0)
			return 1;
		add[i] = nft_bench_now_us() - t0;
		t0 = nft_bench_now_us();
		if (nftapply_run(nft, "delete element inet " NFTRULES_TABLE
		    " no-endpoints { 10.99.0.1 . tcp . 80 }\n", err,
		    sizeof(err)) != 0)
			return 1;
		del[i] = nft_bench_now_us() - t0;
	}
	report("libnftables: reject set element", add, del, k);

	elems(nb, "r:10.99.0.1 . tcp . 80", NULL, add, del, k);
	report("netlink batch: reject set element", add, del, k);
	elems(nb, "e:2|10.99.0.1 . tcp . 80 . 1 : 10.99.1.1 . 8080",
	    "k:10.99.0.1 . tcp . 80 . 10.99.1.1 . 8080", add, del, k);
	report("netlink batch: endpoint slot and counter", add, del, k);

	for (i = 0; i < k; i++) {
		b = batch_begin(bbuf);
		chain(b, "probe", true);
		rule(b, "probe", NULL);
		add[i] = batch_run(b);
		b = batch_begin(bbuf);
		chain(b, "probe", false);
		del[i] = batch_run(b);
	}
	report("libnftnl: chain with a counter rule", add, del, k);

	for (i = 0; i < k; i++) {
		b = batch_begin(bbuf);
		chain(b, "probe", true);
		rule(b, "probe", target);
		add[i] = batch_run(b);
		b = batch_begin(bbuf);
		chain(b, "probe", false);
		del[i] = batch_run(b);
	}
	report("libnftnl: chain with a goto rule", add, del, k);

	for (i = 0; i < k; i++) {
		b = batch_begin(bbuf);
		elem(b, "service-ips", target, true);
		add[i] = batch_run(b);
		b = batch_begin(bbuf);
		elem(b, "service-ips", target, false);
		del[i] = batch_run(b);
	}
	report("libnftnl: verdict map element (goto)", add, del, k);

	mnl_socket_close(nl);
	nftbatch_free(nb);
	free(bbuf);
	free(add);
	free(del);
	nftapply_free(nft);
	nftbuf_free(&buf);
	registry_free(reg);
	vip_pool_free(pool);
	return 0;
}
