/* SPDX-License-Identifier: MIT */
/* nftapply.c -- libnftables: commands in one transaction, JSON listings. */
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "nftapply.h"
#include "util.h"

struct nftapply {
	struct nft_ctx	*ctx;	/* commands, errors buffered */
	struct nft_ctx	*json;	/* listings, JSON output buffered */
};

struct nftapply *
nftapply_new(void)
{
	struct nftapply *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	if ((a->ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL ||
	    (a->json = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL ||
	    nft_ctx_buffer_error(a->ctx) != 0 ||
	    nft_ctx_buffer_output(a->ctx) != 0 ||
	    nft_ctx_buffer_error(a->json) != 0 ||
	    nft_ctx_buffer_output(a->json) != 0) {
		nftapply_free(a);
		return NULL;
	}
	nft_ctx_output_set_flags(a->json, NFT_CTX_OUTPUT_JSON);
	return a;
}

void
nftapply_free(struct nftapply *a)
{
	if (a == NULL)
		return;
	if (a->ctx != NULL)
		nft_ctx_free(a->ctx);
	if (a->json != NULL)
		nft_ctx_free(a->json);
	free(a);
}

/* The library's message, its trailing newlines cut. */
static void
copy_error(struct nft_ctx *ctx, char *err, size_t errlen)
{
	const char *m = nft_ctx_get_error_buffer(ctx);
	size_t n;

	strlcpy(err, m != NULL && m[0] ? m : "nftables refused the commands",
	    errlen);
	n = strlen(err);
	while (n > 0 && err[n - 1] == '\n')
		err[--n] = '\0';
}

int
nftapply_run(struct nftapply *a, const char *text, char *err, size_t errlen)
{
	if (nft_run_cmd_from_buffer(a->ctx, text) != 0) {
		copy_error(a->ctx, err, errlen);
		return -1;
	}
	/* Read the buffers so that they start empty next time. */
	(void)nft_ctx_get_output_buffer(a->ctx);
	(void)nft_ctx_get_error_buffer(a->ctx);
	return 0;
}

const char *
nftapply_list_json(struct nftapply *a, const char *cmd, char *err,
    size_t errlen)
{
	const char *out;

	if (nft_run_cmd_from_buffer(a->json, cmd) != 0) {
		copy_error(a->json, err, errlen);
		return NULL;
	}
	(void)nft_ctx_get_error_buffer(a->json);
	out = nft_ctx_get_output_buffer(a->json);
	return out != NULL ? out : "";
}
