/* SPDX-License-Identifier: MIT */
/* test_statewr.c -- atomic state files; the writer thread, its coalescing and barriers. */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* A job's context: what it builds, and what the writer told it. */
struct job {
	const char	*content;	/* NULL: the build fails (EIO) */
	pthread_t	 loop;		/* the submitting thread */
	int		 built;
	bool		 on_writer;	/* build ran on another thread */
	int		 done;
	int		 err;
	int		 gate[2];	/* build waits for a byte, when open */
	int		 started[2];	/* and first says it is there */
};

static char *
job_build(void *arg, size_t *len)
{
	struct job *j = arg;
	char c;

	j->built++;
	j->on_writer = !pthread_equal(pthread_self(), j->loop);
	if (j->gate[0] != -1) {
		assert_int_equal(write(j->started[1], "s", 1), 1);
		assert_int_equal(read(j->gate[0], &c, 1), 1);
	}
	if (j->content == NULL) {
		errno = EIO;
		return NULL;
	}
	*len = strlen(j->content);
	return xdup(j->content);
}

static void
job_done(void *arg, int err)
{
	struct job *j = arg;

	j->done++;
	j->err = err;
}

static void
job_init(struct job *j, const char *content)
{
	memset(j, 0, sizeof(*j));
	j->content = content;
	j->loop = pthread_self();
	j->gate[0] = j->gate[1] = -1;
	j->started[0] = j->started[1] = -1;
}

static void
submit_job(struct statewr *w, const char *path, struct job *j)
{
	struct statewr_job sj = { job_build, job_done, j };

	assert_int_equal(statewr_submit_job(w, path, &sj, 0644), 0);
}

/*
 * A job is built on the writer thread and hears how its write went; a
 * job still queued when a newer one comes is never built and hears
 * ECANCELED; a failed build reaches the barrier.
 */
static void
test_statewr_jobs(void **state)
{
	struct event_base *base;
	struct statewr *w;
	struct seen s = { 0 };
	struct job busy, a, b, bad;
	char p[128], q[128], c;

	(void)state;
	snprintf(p, sizeof(p), "%s/j.json", dir);
	snprintf(q, sizeof(q), "%s/k.json", dir);
	assert_non_null(base = event_base_new());
	assert_non_null(w = statewr_new(base));
	/* The writer is held inside busy's build while a and b queue. */
	job_init(&busy, "busy");
	assert_int_equal(pipe(busy.gate), 0);
	assert_int_equal(pipe(busy.started), 0);
	submit_job(w, q, &busy);
	assert_int_equal(read(busy.started[0], &c, 1), 1);
	job_init(&a, "a");
	job_init(&b, "b");
	submit_job(w, p, &a);
	submit_job(w, p, &b);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.err, ECANCELED);
	assert_int_equal(write(busy.gate[1], "x", 1), 1);
	s.path = p;
	assert_int_equal(statewr_barrier(w, seen_cb, &s), 0);
	run_until(base, &s);
	assert_int_equal(s.err, 0);
	assert_string_equal(s.content, "b");
	assert_string_equal(slurp(q), "busy");
	assert_int_equal(a.built, 0);
	assert_int_equal(b.built, 1);
	assert_true(b.on_writer);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.err, 0);
	assert_int_equal(busy.done, 1);
	/* A build that fails: the file stays, the barrier hears why. */
	job_init(&bad, NULL);
	submit_job(w, p, &bad);
	memset(&s, 0, sizeof(s));
	assert_int_equal(statewr_barrier(w, seen_cb, &s), 0);
	run_until(base, &s);
	assert_int_equal(s.err, EIO);
	assert_int_equal(bad.done, 1);
	assert_int_equal(bad.err, EIO);
	assert_string_equal(slurp(p), "b");
	statewr_free(w);
	close(busy.gate[0]);
	close(busy.gate[1]);
	close(busy.started[0]);
	close(busy.started[1]);
	event_base_free(base);
}

/* statewr_run_job: the same on the calling thread. */
/* What a task saw: the thread its work ran on, what was on disk then. */
struct task_seen {
	struct seen	 s;
	pthread_t	 work_thr;
	pthread_t	 cb_thr;
	int		 works;
	int		 order;		/* work's calls before the cb's */
	char		 at_work[256];
};

static void
task_work(void *arg)
{
	struct task_seen *t = arg;

	t->work_thr = pthread_self();
	t->works++;
	strcpy(t->at_work, slurp(t->s.path));
}

static void
task_cb(void *arg, int err)
{
	struct task_seen *t = arg;

	t->cb_thr = pthread_self();
	t->order = t->works;
	seen_cb(&t->s, err);
}

/*
 * A task's work runs once on the writer thread after the files queued
 * before it are on disk, its callback on the loop's thread after it.
 */
static void
test_statewr_task(void **state)
{
	struct event_base *base;
	struct statewr *w;
	struct task_seen t;
	char a[128];

	(void)state;
	memset(&t, 0, sizeof(t));
	snprintf(a, sizeof(a), "%s/task.state", dir);
	assert_non_null(base = event_base_new());
	assert_non_null(w = statewr_new(base));
	assert_int_equal(statewr_submit(w, a, xdup("t1"), 2, 0644), 0);
	t.s.path = a;
	assert_int_equal(statewr_task(w, task_work, task_cb, &t), 0);
	run_until(base, &t.s);
	assert_int_equal(t.works, 1);
	assert_int_equal(t.order, 1);
	assert_string_equal(t.at_work, "t1");
	assert_int_equal(t.s.err, 0);
	assert_false(pthread_equal(t.work_thr, pthread_self()));
	assert_true(pthread_equal(t.cb_thr, pthread_self()));
	/* A task still queued at free: run, and its callback too. */
	memset(&t, 0, sizeof(t));
	t.s.path = a;
	assert_int_equal(statewr_task(w, task_work, task_cb, &t), 0);
	statewr_free(w);
	assert_int_equal(t.works, 1);
	assert_int_equal(t.s.calls, 1);
	assert_false(pthread_equal(t.work_thr, pthread_self()));
	event_base_free(base);
}

static void
test_statewr_run_job(void **state)
{
	struct job j;
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/r.json", dir);
	job_init(&j, "now");
	{
		struct statewr_job sj = { job_build, job_done, &j };

		assert_int_equal(statewr_run_job(p, &sj, 0644), 0);
		assert_string_equal(slurp(p), "now");
		assert_false(j.on_writer);
		assert_int_equal(j.done, 1);
		assert_int_equal(j.err, 0);
		job_init(&j, NULL);
		sj.ctx = &j;
		assert_int_equal(statewr_run_job(p, &sj, 0644), -1);
		assert_int_equal(errno, EIO);
		assert_int_equal(j.err, EIO);
		assert_string_equal(slurp(p), "now");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statefile_write),
		cmocka_unit_test(test_statewr_barrier),
		cmocka_unit_test(test_statewr_failure_sticks),
		cmocka_unit_test(test_statewr_free_flushes),
		cmocka_unit_test(test_statewr_jobs),
		cmocka_unit_test(test_statewr_run_job),
		cmocka_unit_test(test_statewr_task),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
