/* SPDX-License-Identifier: MIT */
/*
 * nftapply.h -- runs nftables commands through libnftables, each buffer
 * as one atomic transaction, and reads the table back as JSON.
 */
#ifndef CIP_NFTAPPLY_H
#define CIP_NFTAPPLY_H

#include <stddef.h>

struct nftapply;

/* A libnftables context; NULL on OOM. */
struct nftapply *nftapply_new(void);
void	nftapply_free(struct nftapply *);
/*
 * Runs every command of text in one transaction: all take effect or
 * none. Returns 0, or -1 with libnftables' message in err.
 */
int	nftapply_run(struct nftapply *, const char *text, char *err,
    size_t errlen);
/*
 * Runs a listing command (e.g. "list table inet clusterip") with JSON
 * output. Returns the output (valid until the next call on the
 * context), or NULL with a message in err.
 */
const char *nftapply_list_json(struct nftapply *, const char *cmd, char *err,
    size_t errlen);

#endif
