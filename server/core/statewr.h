/* SPDX-License-Identifier: MIT */
/*
 * statewr.h -- the state files, written off the event loop. Every state
 * file is replaced atomically (a temporary file, fsync, rename, fsync of
 * the directory). A writer thread takes what the loop submits: several
 * versions of one file coalesce into the newest, and the files of one
 * batch share one fsync of their directory (group commit). A barrier
 * tells the loop, through a callback run on it, once everything
 * submitted before it is on disk, or that something could not be; a
 * task is a barrier that first runs some work on the thread.
 */
#ifndef CIP_STATEWR_H
#define CIP_STATEWR_H

#include <stddef.h>

struct event_base;
struct statewr;

/*
 * Replaces path with data[0..len) atomically and durably, now, on the
 * calling thread (the helper the writer uses). mode applies to a new
 * file. Returns 0, or -1 with errno (the old file is then untouched).
 */
int	statefile_write(const char *path, const char *data, size_t len,
    int mode);

/* Called on the loop: err is 0, or the errno of a write that failed. */
typedef void statewr_cb(void *arg, int err);

/* Starts the writer thread; completions run on base. NULL on failure. */
struct statewr *statewr_new(struct event_base *base);

/*
 * Queues data[0..len) (malloc'd; the writer owns it from now on, and
 * frees it) as the next content of path. A version still queued is
 * dropped for this one. Returns 0, or -1 (ENOMEM; data is freed).
 */
int	statewr_submit(struct statewr *, const char *path, char *data,
    size_t len, int mode);

/*
 * A file whose content is made on the writer thread, so that the loop
 * only takes a snapshot: build(ctx, &len) returns the content (malloc'd,
 * the writer frees it) or NULL with errno. done(ctx, err) is called
 * exactly once when ctx is of no more use and frees it: err is 0 once
 * the file is on disk, else the errno of the failed build or write, or
 * ECANCELED (on the submitting thread) when a newer version replaced it
 * before the writer took it. Both run on the writer thread otherwise.
 */
struct statewr_job {
	char	*(*build)(void *ctx, size_t *len);
	void	 (*done)(void *ctx, int err);
	void	*ctx;
};

/*
 * Queues job as the next content of path, like statewr_submit. Returns
 * 0, or -1 (ENOMEM; done has then been called).
 */
int	statewr_submit_job(struct statewr *, const char *path,
    const struct statewr_job *job, int mode);

/*
 * Builds job's content and writes it now on the calling thread, as the
 * writer would; calls done. Returns 0, or -1 with errno.
 */
int	statewr_run_job(const char *path, const struct statewr_job *job,
    int mode);

/*
 * Runs cb(arg, err) on the loop once every file submitted so far is on
 * disk; err is the errno of the last failed write of a file whose
 * latest version is not on disk, else 0. Returns 0, or -1 (ENOMEM).
 */
int	statewr_barrier(struct statewr *, statewr_cb *cb, void *arg);

/* Work run on the writer thread. */
typedef void statewr_work(void *arg);

/*
 * A barrier that also runs work(arg) on the writer thread, once every
 * file submitted before it is written, then cb(arg, err) on the loop
 * (err as for statewr_barrier). Lets the loop hand a slow read (the
 * kernel path's conntrack dump) to the thread that already waits on
 * disks, instead of a second one. Returns 0, or -1 (ENOMEM; neither
 * is then called).
 */
int	statewr_task(struct statewr *, statewr_work *work, statewr_cb *cb,
    void *arg);

/*
 * Waits until everything submitted is written, runs the callbacks due,
 * stops the thread and frees. Accepts NULL.
 */
void	statewr_free(struct statewr *);

#endif
