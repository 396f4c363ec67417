/* SPDX-License-Identifier: MIT */
/*
 * nftbatch.h -- element changes of the table's sets and maps without
 * verdicts as one netlink batch (libnftnl + libmnl): the kernel path's
 * incremental updates. No cache is read: the daemon knows what its table
 * holds, so a change costs what the kernel's commit costs (libnftables
 * 1.0.6 reads the ruleset into its cache before every transaction).
 */
#ifndef CIP_NFTBATCH_H
#define CIP_NFTBATCH_H

#include <stddef.h>

struct nftbatch;
struct nftrules_state;

/* A netlink socket for batches; NULL with errno set. */
struct nftbatch *nftbatch_new(void);
void	nftbatch_free(struct nftbatch *);

/*
 * Runs the element changes of ops ("+k:ENTRY" adds, "-k:ENTRY" deletes,
 * as nftrules_service appends them; nftmap_encode gives their bytes) on
 * table (family inet) in one transaction: all take effect or none.
 * Blocks until the kernel answered. Returns 0, or -1 with a reason in
 * err.
 */
int	nftbatch_run(struct nftbatch *, const char *table,
    const struct nftrules_state *ops, char *err, size_t errlen);

#endif
