/* SPDX-License-Identifier: MIT */
/*
 * watch.c -- the --manifests file or directory: each file is one owner;
 * inotify tells of changes, a short timer gathers them, and only files whose
 * size, inode or modification time changed are read again.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hmap.h"
#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "util.h"
#include "watch.h"

#define WATCH_SETTLE_MS	50

struct mfile {
	char		*path;
	struct timespec	 mtime;
	off_t		 size;
	ino_t		 ino;
	bool		 failed;
	bool		 seen;	/* during a scan */
};

struct mwatch {
	struct event_base	*base;
	struct registry		*reg;
	char			*path;
	bool			 is_dir;
	int			 ifd;
	struct event		*ev_inotify;
	struct event		*ev_settle;
	struct hmap		*files;	/* path -> struct mfile */
};

static bool
manifest_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	    (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static void
mfile_free(void *arg)
{
	struct mfile *f = arg;

	free(f->path);
	free(f);
}

/* Reads one file into the registry unless unchanged (force: always). */
static void
mwatch_load(struct mwatch *w, const char *path, const struct stat *st,
    bool force)
{
	struct owner o = { OWNER_FILE, (char *)(uintptr_t)path };
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	struct mfile *f = hmap_get(w->files, path);
	char err[1024];

	if (f != NULL) {
		f->seen = true;
		if (!force && f->size == st->st_size && f->ino == st->st_ino &&
		    f->mtime.tv_sec == st->st_mtim.tv_sec &&
		    f->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return;
	} else {
		if ((f = calloc(1, sizeof(*f))) == NULL ||
		    (f->path = strdup(path)) == NULL ||
		    hmap_put(w->files, path, f, NULL) != 0) {
			if (f)
				free(f->path);
			free(f);
			log_warnx("%s: out of memory", path);
			return;
		}
		f->seen = true;
	}
	f->size = st->st_size;
	f->ino = st->st_ino;
	f->mtime = st->st_mtim;
	if (manifest_parse_file(path, &set, &rep, err, sizeof(err)) != 0 ||
	    registry_apply(w->reg, &o, &set, REGISTRY_REPLACE, err,
	    sizeof(err)) != 0) {
		objset_clear(&set);
		manifest_report_clear(&rep);
		f->failed = true;
		log_warnx("manifest refused, previous objects kept: %s", err);
		return;
	}
	manifest_report_log(&rep, "");
	manifest_report_clear(&rep);
	f->failed = false;
	log_info("manifest %s loaded: %zu services, %zu pods", path,
	    registry_count_services(w->reg), registry_count_pods(w->reg));
}

static int
mwatch_scan(struct mwatch *w, bool force)
{
	struct hmap_iter it;
	struct dirent **names = NULL;
	struct stat st;
	const char *key;
	void *v;
	char path[4096];
	int i, n, failed = 0;

	hmap_iter_init(&it, w->files);
	while (hmap_iter_next(&it, NULL, &v))
		((struct mfile *)v)->seen = false;
	if (!w->is_dir) {
		if (stat(w->path, &st) == 0)
			mwatch_load(w, w->path, &st, force);
		else
			log_warn("%s", w->path);
	} else if ((n = scandir(w->path, &names, NULL, alphasort)) < 0)
		log_warn("%s", w->path);
	else {
		for (i = 0; i < n; i++) {
			if (manifest_name(names[i]->d_name)) {
				snprintf(path, sizeof(path), "%s/%s", w->path,
				    names[i]->d_name);
				if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
					mwatch_load(w, path, &st, force);
			}
			free(names[i]);
		}
		free(names);
	}
	/* Files gone since the last scan take their objects with them. */
	hmap_iter_init(&it, w->files);
	while (hmap_iter_next(&it, &key, &v)) {
		struct mfile *f = v;
		if (f->seen) {
			failed += f->failed;
			continue;
		}
		struct owner o = { OWNER_FILE, f->path };
		registry_remove_owner(w->reg, &o);
		log_info("manifest %s removed", f->path);
		hmap_del(w->files, key);
		mfile_free(f);
	}
	return failed;
}

static void
mwatch_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	mwatch_scan(arg, false);
}

static void
mwatch_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mwatch *w = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct timeval tv = { 0, WATCH_SETTLE_MS * 1000 };
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;	/* which file changed is found by the scan */
	evtimer_add(w->ev_settle, &tv);
}

struct mwatch *
mwatch_start(struct event_base *base, struct registry *reg, const char *path,
    char *err, size_t errlen)
{
	struct mwatch *w;
	struct stat st;
	char *dirc = NULL;
	const char *watched;

	if (stat(path, &st) != 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto nomem;
	w->base = base;
	w->reg = reg;
	w->ifd = -1;
	w->is_dir = S_ISDIR(st.st_mode);
	if ((w->path = strdup(path)) == NULL ||
	    (w->files = hmap_new()) == NULL)
		goto nomem;
	/* Strip trailing slashes so owners read "dir/file.yaml". */
	while (strlen(w->path) > 1 && w->path[strlen(w->path) - 1] == '/')
		w->path[strlen(w->path) - 1] = '\0';
	if (base != NULL) {
		w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (w->ifd < 0) {
			errf(err, errlen, "inotify: %s", strerror(errno));
			goto fail;
		}
		if ((dirc = strdup(w->path)) == NULL)
			goto nomem;
		watched = w->is_dir ? w->path : dirname(dirc);
		if (inotify_add_watch(w->ifd, watched, IN_CLOSE_WRITE |
		    IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
		    IN_ATTRIB) < 0) {
			errf(err, errlen, "%s: inotify: %s", watched,
			    strerror(errno));
			goto fail;
		}
		w->ev_inotify = event_new(base, w->ifd, EV_READ | EV_PERSIST,
		    mwatch_inotify_cb, w);
		w->ev_settle = evtimer_new(base, mwatch_settle_cb, w);
		if (w->ev_inotify == NULL || w->ev_settle == NULL ||
		    event_add(w->ev_inotify, NULL) != 0)
			goto nomem;
	}
	free(dirc);
	mwatch_scan(w, true);
	return w;
nomem:
	errf(err, errlen, "%s: out of memory", path);
fail:
	free(dirc);
	mwatch_stop(w);
	return NULL;
}

int
mwatch_rescan(struct mwatch *w)
{
	return mwatch_scan(w, true);
}

int
mwatch_failed(const struct mwatch *w)
{
	struct hmap_iter it;
	void *v;
	int n = 0;

	hmap_iter_init(&it, w->files);
	while (hmap_iter_next(&it, NULL, &v))
		n += ((struct mfile *)v)->failed;
	return n;
}

void
mwatch_stop(struct mwatch *w)
{
	if (w == NULL)
		return;
	if (w->ev_inotify)
		event_free(w->ev_inotify);
	if (w->ev_settle)
		event_free(w->ev_settle);
	if (w->ifd >= 0)
		close(w->ifd);
	hmap_free(w->files, mfile_free);
	free(w->path);
	free(w);
}
