/* SPDX-License-Identifier: MIT */
/*
 * nft_update.c -- how long the kernel data path takes to apply one
 * endpoint change among N services (10,000 by default): the table is
 * built whole, then one pod's readiness flips back and forth, each flip
 * being what the daemon does for it (the service's commands built, then
 * run as one libnftables transaction). Runs in a network namespace of
 * its own (unshare), so the host's nftables are never touched; needs
 * root. Prints the full build time and the median, p99 and max of the
 * updates.
 *
 *   bench/nft-update [SERVICES] [FLIPS]
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"
#include "nftapply.h"
#include "nftrules.h"
#include "registry.h"
#include "util.h"
#include "vip.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	size_t nsvc = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t flips = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	struct nftrules_opts o = { .table = NFTRULES_TABLE,
	    .tcp_time_wait_s = 5 };
	struct nftrules_state *st, now = { 0 };
	struct nftbuf yaml = { 0 }, buf = { 0 };
	struct objset set = { 0 };
	struct owner own = { OWNER_FILE, (char *)"bench" };
	struct vip_pool *pool;
	struct registry *reg;
	struct nftapply *nft;
	const struct service *svc;
	char err[1024], path[] = "/tmp/nft-update.XXXXXX", name[64];
	double t0, build_us, *lat;
	size_t i;
	int fd;

	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET) (needs root)");
		return 2;
	}
	if ((fd = mkstemp(path)) < 0)
		return 2;
	close(fd);
	unlink(path);
	if ((pool = vip_pool_new("10.96.0.0/12", path, err, sizeof(err))) ==
	    NULL || (reg = registry_new(pool)) == NULL ||
	    (nft = nftapply_new()) == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	for (i = 0; i < nsvc; i++)
		nftbuf_printf(&yaml, "---\nkind: Service\nmetadata: {name: s%zu}\n"
		    "spec: {selector: {app: s%zu}, ports: [{port: 80, "
		    "targetPort: 8080}]}\n"
		    "---\nkind: Pod\nmetadata: {name: s%zu-a, labels: {app: s%zu}}\n"
		    "status: {podIP: 10.%zu.%zu.1}\n"
		    "---\nkind: Pod\nmetadata: {name: s%zu-b, labels: {app: s%zu}}\n"
		    "status: {podIP: 10.%zu.%zu.2}\n", i, i, i, i, 1 + i / 256,
		    i % 256, i, i, 1 + i / 256, i % 256);
	if (yaml.err != 0 || manifest_parse_buf(yaml.p, yaml.len, "bench",
	    &set, NULL, err, sizeof(err)) != 0 ||
	    registry_apply(reg, &own, &set, REGISTRY_REPLACE, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "manifest: %s\n", err);
		return 1;
	}
	objset_clear(&set);
	if ((st = calloc(nsvc, sizeof(*st))) == NULL ||
	    (lat = calloc(flips, sizeof(*lat))) == NULL)
		return 1;

	t0 = now_us();
	nftrules_base(&buf, &o);
	for (i = 0; i < nsvc; i++) {
		struct nftrules_state empty = { 0 };

		snprintf(name, sizeof(name), "s%zu", i);
		svc = registry_find_service(reg, "default", name);
		nftrules_service(&buf, &o, svc, &empty, &st[i]);
	}
	if (buf.err != 0 || nftapply_run(nft, buf.p, err, sizeof(err)) != 0) {
		fprintf(stderr, "build: %s\n", buf.err ? "out of memory" : err);
		return 1;
	}
	build_us = now_us() - t0;
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
		t0 = now_us();
		nftbuf_reset(&buf);
		nftrules_service(&buf, &o, svc, &st[k], &now);
		if (buf.err != 0 || nftapply_run(nft, buf.p, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "update: %s\n", err);
			return 1;
		}
		lat[i] = now_us() - t0;
		nftrules_state_clear(&st[k]);
		st[k] = now;
		memset(&now, 0, sizeof(now));
	}
	qsort(lat, flips, sizeof(*lat), cmp_double);
	printf("one endpoint change among %zu services, %zu times: median "
	    "%.0f us, p99 %.0f us, max %.0f us (%zu bytes of commands)\n",
	    nsvc, flips, lat[flips / 2], lat[flips * 99 / 100],
	    lat[flips - 1], buf.len);
	for (i = 0; i < nsvc; i++)
		nftrules_state_clear(&st[i]);
	free(st);
	free(lat);
	nftbuf_free(&buf);
	nftbuf_free(&yaml);
	nftapply_free(nft);
	registry_free(reg);
	vip_pool_free(pool);
	unlink(path);
	return 0;
}
