/* SPDX-License-Identifier: MIT */
/*
 * watch.h -- the --manifests file or directory: load each file as one
 * owner, follow changes with inotify, re-read on demand (SIGHUP).
 */
#ifndef CIP_WATCH_H
#define CIP_WATCH_H

struct event_base;
struct registry;
struct mwatch;

/*
 * Loads path (a file, or every *.yaml, *.yml and *.json file of a
 * directory) into reg and starts watching it. A refused file is logged
 * with file:line:column and its previous objects stay. Returns NULL
 * with a reason in err only when path cannot be read at all.
 */
struct mwatch *mwatch_start(struct event_base *, struct registry *,
    const char *path, char *err, size_t errlen);
/* Re-reads every file; returns the number of files refused. */
int	mwatch_rescan(struct mwatch *);
/* Number of files refused by the last load of each file. */
int	mwatch_failed(const struct mwatch *);
/* Stops watching; the objects stay in the registry. Accepts NULL. */
void	mwatch_stop(struct mwatch *);

#endif
