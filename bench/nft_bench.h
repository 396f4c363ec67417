/* SPDX-License-Identifier: MIT */
/*
 * nft_bench.h -- what bench/nft-update and bench/nft-cost share: a clock,
 * a comparison for qsort, and a registry of N services with two pods each
 * in a network namespace of the program's own.
 */
#ifndef CLUSTERIP_NFT_BENCH_H
#define CLUSTERIP_NFT_BENCH_H

#include <stddef.h>

struct nftapply;
struct registry;
struct vip_pool;

double	nft_bench_now_us(void);
int	nft_bench_cmp_double(const void *, const void *);

/*
 * Enters a new network namespace (root), then builds a registry of nsvc
 * services s0.. with pods s<i>-a and s<i>-b, and an nftables applier.
 * The service in the middle, s<nsvc/2>, has round-robin or ClientIP
 * affinity when mid says "round-robin" or "affinity" (NULL: as the
 * others). Returns 0, 2 without the namespace, 1 on any other failure
 * (said on stderr).
 */
int	nft_bench_setup(size_t nsvc, const char *mid, struct vip_pool **,
	    struct registry **, struct nftapply **);

#endif
