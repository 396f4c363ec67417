/* SPDX-License-Identifier: MIT */
/* nft_bench.c -- the set-up bench/nft-update and bench/nft-cost share. */
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
#include "nft_bench.h"
#include "registry.h"
#include "vip.h"

double
nft_bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
nft_bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
nft_bench_setup(size_t nsvc, const char *mid, struct vip_pool **poolp,
    struct registry **regp, struct nftapply **nftp)
{
	struct nftbuf yaml = { 0 };
	struct objset set = { 0 };
	struct owner own = { OWNER_FILE, (char *)"bench" };
	char err[1024], path[] = "/tmp/nft-bench.XXXXXX";
	size_t i;
	int fd;

	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET) (needs root)");
		return 2;
	}
	if ((fd = mkstemp(path)) < 0)
		return 1;
	close(fd);
	unlink(path);
	err[0] = '\0';
	if ((*poolp = vip_pool_new("10.96.0.0/12", path, err, sizeof(err))) ==
	    NULL || (*regp = registry_new(*poolp)) == NULL ||
	    (*nftp = nftapply_new()) == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	for (i = 0; i < nsvc; i++)
		nftbuf_printf(&yaml, "---\nkind: Service\nmetadata: {name: s%zu%s}\n"
		    "spec: {selector: {app: s%zu}, ports: [{port: 80, "
		    "targetPort: 8080}]%s}\n"
		    "---\nkind: Pod\nmetadata: {name: s%zu-a, labels: {app: s%zu}}\n"
		    "status: {podIP: 10.%zu.%zu.1}\n"
		    "---\nkind: Pod\nmetadata: {name: s%zu-b, labels: {app: s%zu}}\n"
		    "status: {podIP: 10.%zu.%zu.2}\n", i,
		    i == nsvc / 2 && mid != NULL && strcmp(mid, "round-robin") ==
		    0 ? ", annotations: {clusterip.io/lb-algorithm: round-robin}" :
		    "", i, i == nsvc / 2 && mid != NULL && strcmp(mid,
		    "affinity") == 0 ? ", sessionAffinity: ClientIP" : "", i, i,
		    1 + i / 256, i % 256, i, i, 1 + i / 256, i % 256);
	if (yaml.err != 0 || manifest_parse_buf(yaml.p, yaml.len, "bench",
	    &set, NULL, err, sizeof(err)) != 0 ||
	    registry_apply(*regp, &own, &set, REGISTRY_REPLACE, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "manifest: %s\n", err);
		return 1;
	}
	objset_clear(&set);
	nftbuf_free(&yaml);
	return 0;
}
