/* SPDX-License-Identifier: MIT */
/*
 * test_nftbatch.c -- element changes as netlink batches, against the
 * kernel: in a network namespace of the test's own (root; skipped
 * without it), the daemon's table built through libnftables, then
 * batches that must apply whole or not at all.
 */
#include "config.h"

#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nftapply.h"
#include "nftbatch.h"
#include "nftrules.h"
#include "util.h"

#define T	"cipbatch"

struct fx {
	struct nftapply		*nft;
	struct nftbatch		*b;
	struct nftrules_state	 ops;
	char			 err[512];
};

static int
setup(void **state)
{
	struct nftrules_opts o = { .table = T };
	struct nftbuf base = { 0 };
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	assert_non_null(f);
	assert_non_null(f->nft = nftapply_new());
	assert_non_null(f->b = nftbatch_new());
	assert_int_equal(nftrules_base(&base, &o), 0);
	if (nftapply_run(f->nft, base.p, err, sizeof(err)) != 0)
		print_error("%s\n", err);
	assert_int_equal(nftapply_run(f->nft, base.p, err, sizeof(err)), 0);
	nftbuf_free(&base);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	(void)nftapply_run(f->nft, "delete table inet " T "\n", f->err,
	    sizeof(f->err));
	nftrules_state_clear(&f->ops);
	nftbatch_free(f->b);
	nftapply_free(f->nft);
	free(f);
	return 0;
}

static void
op(struct fx *f, char dir, const char *entry)
{
	assert_true(nftrules_state_add(&f->ops, dir, entry) >= 0);
}

/* Runs f->ops as one batch (then empties them); 0 or -1. */
static int
run(struct fx *f)
{
	int rc = nftbatch_run(f->b, T, &f->ops, f->err, sizeof(f->err));

	if (rc != 0)
		print_message("batch of %zu: %s\n", f->ops.n, f->err);
	nftrules_state_clear(&f->ops);
	return rc;
}

/* The number of times needle shows in the table's listing. */
static int
listed(struct fx *f, const char *needle)
{
	const char *out, *p;
	int n = 0;

	out = nftapply_list_json(f->nft, "list table inet " T, f->err,
	    sizeof(f->err));
	assert_non_null(out);
	for (p = out; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void
test_batch_adds_and_deletes(void **state)
{
	struct fx *f = *state;

	op(f, '+', "v:10.96.0.1 . tcp . 80");
	op(f, '+', "e:2|10.96.0.1 . tcp . 80 . 0 : 10.1.0.1 . 8080");
	op(f, '+', "e:2|10.96.0.1 . tcp . 80 . 1 : 10.1.0.2 . 8080");
	op(f, '+', "k:10.96.0.1 . tcp . 80 . 10.1.0.1 . 8080");
	op(f, '+', "K:fd00::1 . udp . 53 . fd00::2 . 5353");
	assert_int_equal(run(f), 0);
	assert_int_equal(listed(f, "\"10.1.0.2\""), 1);
	assert_int_equal(listed(f, "\"10.1.0.1\""), 2);	/* slot, counter */
	assert_int_equal(listed(f, "\"fd00::2\""), 1);
	op(f, '-', "e:2|10.96.0.1 . tcp . 80 . 1 : 10.1.0.2 . 8080");
	op(f, '+', "r:10.96.0.2 . udp . 53");
	assert_int_equal(run(f), 0);
	assert_int_equal(listed(f, "\"10.1.0.2\""), 0);
	assert_int_equal(listed(f, "\"10.96.0.2\""), 1);
}

/* A batch with one change the kernel refuses changes nothing. */
static void
test_batch_all_or_nothing(void **state)
{
	struct fx *f = *state;

	op(f, '+', "e:1|10.96.0.3 . tcp . 80 . 0 : 10.1.0.3 . 8080");
	op(f, '-', "r:10.96.0.9 . tcp . 80");	/* not there */
	assert_int_equal(run(f), -1);
	assert_non_null(strstr(f->err, "No such file"));
	assert_int_equal(listed(f, "\"10.1.0.3\""), 0);
	/* The socket is still in step: the next batch goes through. */
	op(f, '+', "e:1|10.96.0.3 . tcp . 80 . 0 : 10.1.0.3 . 8080");
	assert_int_equal(run(f), 0);
	assert_int_equal(listed(f, "\"10.1.0.3\""), 1);
}

/* Thousands of changes: one batch past the default socket buffer. */
static void
test_batch_large(void **state)
{
	struct fx *f = *state;
	char e[128];
	unsigned i;

	for (i = 0; i < 4000; i++) {
		snprintf(e, sizeof(e), "e:8192|10.96.0.4 . tcp . 80 . %u : "
		    "10.2.%u.%u . 8080", i, i / 256, i % 256);
		op(f, '+', e);
	}
	assert_int_equal(run(f), 0);
	assert_int_equal(listed(f, "\"10.2.15.159\""), 1);	/* the last */
	for (i = 0; i < 4097; i++) {
		snprintf(e, sizeof(e), "r:10.97.%u.%u . tcp . 80", i / 256,
		    i % 256);
		op(f, '+', e);
	}
	assert_int_equal(run(f), -1);
	assert_non_null(strstr(f->err, "changes in one batch"));
	/* Entries that are no elements are refused before sending. */
	op(f, '+', "c:svc-1");
	assert_int_equal(run(f), -1);
	assert_non_null(strstr(f->err, "not an element"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_adds_and_deletes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_all_or_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_large, setup,
		    teardown),
	};

	/* The host's nftables are never touched: a namespace of our own. */
	if (unshare(CLONE_NEWNET) != 0) {
		printf("test_nftbatch: unshare(CLONE_NEWNET) needs root, "
		    "skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
