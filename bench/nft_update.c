/* SPDX-License-Identifier: MIT */
/*
 * nft_update.c -- how long the kernel data path takes to apply one
 * endpoint change among N services (10,000 by default): the table is
 * built whole, then one pod's readiness flips back and forth, each flip
 * being what the daemon does for it: the service's changes built, then
 * sent as one netlink batch of set elements (libnftnl) when that is all
 * they are, else run as one libnftables transaction. The service that
 * flips is the one in the middle; MODE gives it round-robin or ClientIP
 * affinity (services with chains of their own: the slow path), the
 * others stay plain. Runs in a network namespace of its own (unshare),
 * so the host's nftables are never touched; needs root. Prints the full
 * build time and the median, p99 and max of the updates.
 *
 *   bench/nft-update [SERVICES] [FLIPS] [random|round-robin|affinity]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nftapply.h"
#include "nftbatch.h"
#include "nft_bench.h"
#include "nftrules.h"
#include "registry.h"
#include "util.h"
#include "vip.h"

int
main(int argc, char **argv)
{
	size_t nsvc = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t flips = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	const char *mode = argc > 3 ? argv[3] : "random";
	struct nftrules_opts o = { .table = NFTRULES_TABLE,
	    .tcp_time_wait_s = 5 };
	struct nftrules_state *st, now = { 0 };
	struct nftrules_delta d = { 0 };
	struct nftbuf buf = { 0 };
	struct vip_pool *pool;
	struct registry *reg;
	struct nftapply *nft;
	struct nftbatch *batch;
	const struct service *svc;
	char err[1024], name[64];
	const char *out;
	double t0, build_us, *lat;
	size_t i, batches = 0;
	int rc;

	if (flips == 0 || nsvc == 0)
		return 2;
	if ((rc = nft_bench_setup(nsvc, mode, &pool, &reg, &nft)) != 0)
		return rc;
	if ((st = calloc(nsvc, sizeof(*st))) == NULL ||
	    (lat = calloc(flips, sizeof(*lat))) == NULL ||
	    (batch = nftbatch_new()) == NULL)
		return 1;

	t0 = nft_bench_now_us();
	nftrules_base(&buf, &o);
	for (i = 0; i < nsvc; i++) {
		struct nftrules_state empty = { 0 };

		snprintf(name, sizeof(name), "s%zu", i);
		svc = registry_find_service(reg, "default", name);
		nftrules_service(&buf, &o, svc, &empty, &st[i], NULL);
	}
	if (buf.err != 0 || nftapply_run(nft, buf.p, err, sizeof(err)) != 0) {
		fprintf(stderr, "build: %s\n", buf.err ? "out of memory" : err);
		return 1;
	}
	build_us = nft_bench_now_us() - t0;
	printf("services %zu: full table %zu KiB of commands built and "
	    "applied in %.1f ms\n", nsvc, buf.len / 1024, build_us / 1000);

	/* One pod of the service in the middle flips; the service follows. */
	snprintf(name, sizeof(name), "default/s%zu-b", nsvc / 2);
	for (i = 0; i < flips; i++) {
		size_t k = nsvc / 2;

		if (registry_set_probe_result(reg, name, i % 2 == 1) != 0) {
			fprintf(stderr, "no pod %s\n", name);
			return 1;
		}
		snprintf(err, sizeof(err), "s%zu", k);
		svc = registry_find_service(reg, "default", err);
		t0 = nft_bench_now_us();
		nftbuf_reset(&buf);
		nftrules_delta_clear(&d);
		nftrules_service(&buf, &o, svc, &st[k], &now, &d);
		if (buf.err != 0)
			rc = -1;
		else if (!d.slow) {
			rc = nftbatch_run(batch, o.table, &d.ops, err,
			    sizeof(err));
			batches++;
		} else
			rc = nftapply_run(nft, buf.p, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "update: %s\n", err);
			return 1;
		}
		lat[i] = nft_bench_now_us() - t0;
		nftrules_state_clear(&st[k]);
		st[k] = now;
		memset(&now, 0, sizeof(now));
	}
	/* The kernel has what the last flip said: b in or out. */
	snprintf(name, sizeof(name), "\"10.%zu.%zu.2\"", 1 + nsvc / 2 / 256,
	    nsvc / 2 % 256);
	if ((out = nftapply_list_json(nft, "list table inet " NFTRULES_TABLE,
	    err, sizeof(err))) == NULL ||
	    (strstr(out, name) != NULL) != ((flips - 1) % 2 == 1)) {
		fprintf(stderr, "the table does not have what the last change "
		    "said (%s)\n", out ? name : err);
		return 1;
	}
	qsort(lat, flips, sizeof(*lat), nft_bench_cmp_double);
	printf("one endpoint change (%s) among %zu services, %zu times: median "
	    "%.0f us, p99 %.0f us, max %.0f us (%zu of them netlink batches, "
	    "%zu element changes the last)\n", mode, nsvc, flips,
	    lat[flips / 2], lat[flips * 99 / 100], lat[flips - 1], batches,
	    d.ops.n);
	for (i = 0; i < nsvc; i++)
		nftrules_state_clear(&st[i]);
	nftrules_delta_clear(&d);
	free(st);
	free(lat);
	nftbuf_free(&buf);
	nftbatch_free(batch);
	nftapply_free(nft);
	registry_free(reg);
	vip_pool_free(pool);
	return 0;
}
