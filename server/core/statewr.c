/* SPDX-License-Identifier: MIT */
/* statewr.c -- atomic state files, written by a thread with group commit. */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "statewr.h"

/*
 * After a batch of at least this many bytes the freed memory goes back to
 * the system: the thread's malloc arena (and the loop's, which allocated
 * submitted buffers and snapshots) would otherwise keep the pages of the
 * largest file written, 5-10 MiB with 100,000 services.
 */
#define SW_TRIM_BYTES	(1024 * 1024)

/* A file's next content: data, or a job that builds it. */
struct sw_file {
	struct sw_file	*next;
	char		*path;
	char		*data;
	size_t		 len;
	struct statewr_job job;		/* job.build NULL: data */
	int		 mode;
	int		 err;		/* after the write */
};

struct sw_barrier {
	struct sw_barrier *next;
	statewr_work	*work;		/* a task's, on the thread; or NULL */
	statewr_cb	*cb;
	void		*arg;
	int		 err;
};

/* A file whose latest version could not be written. */
struct sw_failed {
	struct sw_failed *next;
	int		 err;
	char		 path[];
};

struct statewr {
	pthread_t		 thr;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct sw_file		*files;		/* queued, oldest first */
	struct sw_barrier	*barriers;	/* queued, oldest first */
	struct sw_barrier	*done;		/* for the loop, oldest first */
	struct sw_failed	*failed;
	bool			 stop;
	int			 pipe[2];	/* thread -> loop */
	struct event		*ev;
};

static int	sw_replace(const char *, const char *, size_t, int);
static int	sw_sync_dir(const char *);
static void	*sw_main(void *);
static void	sw_batch(struct statewr *, struct sw_file *);
static void	sw_note(struct statewr *, const struct sw_file *);
static void	sw_done_cb(evutil_socket_t, short, void *);
static void	sw_run_done(struct statewr *);
static void	sw_file_release(struct sw_file *, int);

/* path's temporary file, fsync'd, renamed over path; no directory sync. */
static int
sw_replace(const char *path, const char *data, size_t len, int mode)
{
	char tmp[4096];
	size_t off = 0;
	ssize_t n;
	int fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return -1;
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

/* fsync of the directory holding path, so the rename is durable. */
static int
sw_sync_dir(const char *path)
{
	char dir[4096], *slash;
	int fd, rc, saved;

	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
statefile_write(const char *path, const char *data, size_t len, int mode)
{
	if (sw_replace(path, data, len, mode) == -1)
		return -1;
	return sw_sync_dir(path);
}

int
statewr_run_job(const char *path, const struct statewr_job *job, int mode)
{
	char *data;
	size_t len = 0;
	int err = 0;

	if ((data = job->build(job->ctx, &len)) == NULL)
		err = errno ? errno : ENOMEM;
	else if (statefile_write(path, data, len, mode) != 0)
		err = errno ? errno : EIO;
	free(data);
	job->done(job->ctx, err);
	errno = err;
	return err == 0 ? 0 : -1;
}

/* Frees f's content; a job hears how it went (err). */
static void
sw_file_release(struct sw_file *f, int err)
{
	free(f->data);
	f->data = NULL;
	if (f->job.build != NULL)
		f->job.done(f->job.ctx, err);
	f->job.build = NULL;
}

/* Records how path's latest write went: failed files stay failed. */
static void
sw_note(struct statewr *w, const struct sw_file *f)
{
	struct sw_failed **pp, *x;
	size_t l;

	for (pp = &w->failed; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->path, f->path) == 0)
			break;
	if (f->err == 0) {
		if ((x = *pp) != NULL) {
			*pp = x->next;
			free(x);
		}
		return;
	}
	if (*pp != NULL) {
		(*pp)->err = f->err;
		return;
	}
	l = strlen(f->path) + 1;
	if ((x = malloc(sizeof(*x) + l)) == NULL)
		return;		/* the error still reaches this batch */
	x->err = f->err;
	memcpy(x->path, f->path, l);
	x->next = w->failed;
	w->failed = x;
}

/* Writes one batch (unlocked), then one fsync per directory. */
static void
sw_batch(struct statewr *w, struct sw_file *batch)
{
	struct sw_file *f, *g;
	bool seen;

	for (f = batch; f != NULL; f = f->next) {
		if (f->job.build != NULL && (f->data = f->job.build(f->job.ctx,
		    &f->len)) == NULL) {
			f->err = errno ? errno : ENOMEM;
			continue;
		}
		if (sw_replace(f->path, f->data, f->len, f->mode) == -1)
			f->err = errno ? errno : EIO;
	}
	for (f = batch; f != NULL; f = f->next) {
		if (f->err != 0)
			continue;
		seen = false;
		for (g = batch; g != f && !seen; g = g->next) {
			size_t lf = strrchr(f->path, '/') ?
			    (size_t)(strrchr(f->path, '/') - f->path) : 0;
			size_t lg = strrchr(g->path, '/') ?
			    (size_t)(strrchr(g->path, '/') - g->path) : 0;

			seen = g->err == 0 && lf == lg &&
			    strncmp(f->path, g->path, lf) == 0;
		}
		if (!seen && sw_sync_dir(f->path) == -1)
			f->err = errno ? errno : EIO;
	}
	(void)w;
}

static void *
sw_main(void *arg)
{
	struct statewr *w = arg;
	struct sw_file *batch, *f;
	struct sw_barrier *bars, *b, **tail;
	size_t bytes;
	int err;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->files == NULL && w->barriers == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->files == NULL && w->barriers == NULL)
			break;
		batch = w->files;
		bars = w->barriers;
		w->files = NULL;
		w->barriers = NULL;
		pthread_mutex_unlock(&w->mu);

		sw_batch(w, batch);

		pthread_mutex_lock(&w->mu);
		err = 0;
		for (f = batch; f != NULL; f = f->next) {
			sw_note(w, f);
			if (f->err != 0)
				err = f->err;
		}
		if (w->failed != NULL)
			err = w->failed->err;
		for (b = bars; b != NULL; b = b->next)
			b->err = err;
		pthread_mutex_unlock(&w->mu);
		/* Tasks' work, unlocked: the loop may queue meanwhile. */
		for (b = bars; b != NULL; b = b->next)
			if (b->work != NULL)
				b->work(b->arg);
		pthread_mutex_lock(&w->mu);
		for (tail = &w->done; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = bars;
		pthread_mutex_unlock(&w->mu);
		bytes = 0;
		while ((f = batch) != NULL) {
			batch = f->next;
			if (f->err != 0) {
				errno = f->err;
				log_warn("cannot write %s", f->path);
			}
			bytes += f->len;
			sw_file_release(f, f->err);
			free(f->path);
			free(f);
		}
		if (bars != NULL)
			while (write(w->pipe[1], "x", 1) == -1 && errno == EINTR)
				;
#ifdef __GLIBC__
		/* After the barriers' wake-up: no answer waits for it. */
		if (bytes >= SW_TRIM_BYTES)
			malloc_trim(0);
#endif
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Runs the callbacks of the barriers that are done, on the loop. */
static void
sw_run_done(struct statewr *w)
{
	struct sw_barrier *b;

	pthread_mutex_lock(&w->mu);
	b = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	while (b != NULL) {
		struct sw_barrier *next = b->next;

		b->cb(b->arg, b->err);
		free(b);
		b = next;
	}
}

static void
sw_done_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	sw_run_done(arg);
}

struct statewr *
statewr_new(struct event_base *base)
{
	struct statewr *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->pipe[0] = w->pipe[1] = -1;
	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		goto fail;
	if ((w->ev = event_new(base, w->pipe[0], EV_READ | EV_PERSIST,
	    sw_done_cb, w)) == NULL || event_add(w->ev, NULL) == -1)
		goto fail;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thr, NULL, sw_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		goto fail;
	}
	return w;
fail:
	log_warn("state writer");
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->pipe[0] != -1)
		close(w->pipe[0]);
	if (w->pipe[1] != -1)
		close(w->pipe[1]);
	free(w);
	return NULL;
}

/* Queues data or job (exclusive) as path's next content. */
static int
sw_submit(struct statewr *w, const char *path, char *data, size_t len,
    const struct statewr_job *job, int mode)
{
	struct sw_file *f, **pp, old = { 0 };

	pthread_mutex_lock(&w->mu);
	for (pp = &w->files; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->path, path) == 0)
			break;
	if ((f = *pp) != NULL) {
		/* Still queued: the newer version replaces it. */
		old = *f;
	} else if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->path = strdup(path)) == NULL) {
		pthread_mutex_unlock(&w->mu);
		free(f);
		free(data);
		if (job != NULL)
			job->done(job->ctx, ENOMEM);
		errno = ENOMEM;
		return -1;
	} else
		*pp = f;
	f->data = data;
	f->len = len;
	memset(&f->job, 0, sizeof(f->job));
	if (job != NULL)
		f->job = *job;
	f->mode = mode;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	/* The replaced version is freed outside the lock. */
	sw_file_release(&old, ECANCELED);
	return 0;
}

int
statewr_submit(struct statewr *w, const char *path, char *data, size_t len,
    int mode)
{
	return sw_submit(w, path, data, len, NULL, mode);
}

int
statewr_submit_job(struct statewr *w, const char *path,
    const struct statewr_job *job, int mode)
{
	return sw_submit(w, path, NULL, 0, job, mode);
}

int
statewr_barrier(struct statewr *w, statewr_cb *cb, void *arg)
{
	return statewr_task(w, NULL, cb, arg);
}

int
statewr_task(struct statewr *w, statewr_work *work, statewr_cb *cb,
    void *arg)
{
	struct sw_barrier *b, **pp;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->work = work;
	b->cb = cb;
	b->arg = arg;
	pthread_mutex_lock(&w->mu);
	for (pp = &w->barriers; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = b;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
statewr_free(struct statewr *w)
{
	struct sw_failed *x;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	sw_run_done(w);
	while ((x = w->failed) != NULL) {
		w->failed = x->next;
		free(x);
	}
	event_free(w->ev);
	close(w->pipe[0]);
	close(w->pipe[1]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
