/* SPDX-License-Identifier: MIT */
/* test_statewr.c -- atomic state files; the writer thread, its coalescing and barriers. */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "statewr.h"

static char dir[] = "/tmp/test_statewr.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The whole content of path, or "" when absent. */
static char *
slurp(const char *path)
{
	static char buf[256];
	FILE *f;
	size_t n;

	buf[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *
xdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

struct seen {
	int	calls;
	int	err;
	char	content[256];
	const char *path;
};

static void
seen_cb(void *arg, int err)
{
	struct seen *s = arg;

	s->calls++;
	s->err = err;
	/* On disk by now. */
	if (s->path != NULL)
		strcpy(s->content, slurp(s->path));
}

/* Runs base until s has been called; 5 s at most. */
static void
run_until(struct event_base *base, struct seen *s)
{
	struct timeval tv = { 0, 10000 };
	int i;

	for (i = 0; i < 500 && s->calls == 0; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_int_equal(s->calls, 1);
}

static void
test_statefile_write(void **state)
{
	char path[128], bad[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.json", dir);
	assert_int_equal(statefile_write(path, "one", 3, 0600), 0);
	assert_string_equal(slurp(path), "one");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(statefile_write(path, "two!", 4, 0600), 0);
	assert_string_equal(slurp(path), "two!");
	/* No directory: refused, nothing left behind. */
	snprintf(bad, sizeof(bad), "%s/none/a.json", dir);
	assert_int_equal(statefile_write(bad, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(bad, sizeof(bad), "%s/a.json.tmp", dir);
	assert_int_not_equal(access(bad, F_OK), 0);
}

/* Versions queued together coalesce; the barrier sees them on disk. */
static void
test_statewr_barrier(void **state)
{
	struct event_base *base;
	struct statewr *w;
	struct seen s = { 0 };
	char a[128], b[128];

	(void)state;
	snprintf(a, sizeof(a), "%s/x.state", dir);
	snprintf(b, sizeof(b), "%s/y.state", dir);
	assert_non_null(base = event_base_new());
	assert_non_null(w = statewr_new(base));
	assert_int_equal(statewr_submit(w, a, xdup("a1"), 2, 0644), 0);
	assert_int_equal(statewr_submit(w, b, xdup("b1"), 2, 0644), 0);
	assert_int_equal(statewr_submit(w, a, xdup("a2"), 2, 0644), 0);
	s.path = a;
	assert_int_equal(statewr_barrier(w, seen_cb, &s), 0);
	run_until(base, &s);
	assert_int_equal(s.err, 0);
	assert_string_equal(s.content, "a2");
	assert_string_equal(slurp(b), "b1");
	statewr_free(w);
	event_base_free(base);
}

/* A failed file stays failed until its next version is written. */
static void
test_statewr_failure_sticks(void **state)
{
	struct event_base *base;
	struct statewr *w;
	struct seen s = { 0 };
	char sub[128], p[128], other[128];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/later", dir);
	snprintf(p, sizeof(p), "%s/later/z.state", dir);
	snprintf(other, sizeof(other), "%s/other.state", dir);
	assert_non_null(base = event_base_new());
	assert_non_null(w = statewr_new(base));
	assert_int_equal(statewr_submit(w, p, xdup("z1"), 2, 0644), 0);
	assert_int_equal(statewr_barrier(w, seen_cb, &s), 0);
	run_until(base, &s);
	assert_int_equal(s.err, ENOENT);
	/* Another file written: the first is still not on disk. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(statewr_submit(w, other, xdup("o"), 1, 0644), 0);
	assert_int_equal(statewr_barrier(w, seen_cb, &s), 0);
	run_until(base, &s);
	assert_int_equal(s.err, ENOENT);
	/* Its next version lands: all is well again. */
	assert_int_equal(mkdir(sub, 0755), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(statewr_submit(w, p, xdup("z2"), 2, 0644), 0);
	assert_int_equal(statewr_barrier(w, seen_cb, &s), 0);
	run_until(base, &s);
	assert_int_equal(s.err, 0);
	assert_string_equal(slurp(p), "z2");
	statewr_free(w);
	event_base_free(base);
}

/* Freeing waits for the writes and runs the callbacks due. */
static void
test_statewr_free_flushes(void **state)
{
	struct event_base *base;
	struct statewr *w;
	struct seen s = { 0 };
	char p[128];
	int i;

	(void)state;
	snprintf(p, sizeof(p), "%s/f.state", dir);
	assert_non_null(base = event_base_new());
	assert_non_null(w = statewr_new(base));
	for (i = 0; i < 100; i++) {
		char v[16];

		snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(statewr_submit(w, p, xdup(v), strlen(v), 0644),
		    0);
	}
	assert_int_equal(statewr_barrier(w, seen_cb, &s), 0);
	statewr_free(w);
	assert_int_equal(s.calls, 1);
	assert_string_equal(slurp(p), "v99");
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statefile_write),
		cmocka_unit_test(test_statewr_barrier),
		cmocka_unit_test(test_statewr_failure_sticks),
		cmocka_unit_test(test_statewr_free_flushes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
