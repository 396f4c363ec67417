/* SPDX-License-Identifier: MIT */
/*
 * watch.c -- the --manifests file or directory: each file is one owner;
 * inotify tells of changes, a short timer gathers them, and the files that
 * an event named or whose identity (inode, size, times) changed are read
 * again; a file is applied only when its content's hash changed.
 *
 * Neither the events nor the times alone are trusted to tell a change:
 * timestamps have the kernel tick's granularity (coarser on some file
 * systems), and rename-over may reuse the inode of the file it replaced,
 * so "same inode, size and mtime" does not mean "same content"; the event
 * queue may overflow. The settle timer starts at the first event and is
 * never pushed back, so that a directory busy with other files (a single
 * watched file's parent may be /tmp) cannot hold a scan off for ever.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/sha2.h>

#include "hmap.h"
#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "util.h"
#include "watch.h"

#define WATCH_SETTLE_MS		50
#define WATCH_REWATCH_MS	1000	/* retry when the watched dir is gone */
#define MWATCH_TRIM_BYTES	(1024 * 1024)	/* see mwatch_trim */
#define WATCH_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
    IN_DELETE | IN_CREATE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct mfile {
	char		*path;
	/* identity at the last read: a change means "read again" */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime, ctime;
	/* what was parsed last: a change means "apply again" */
	unsigned char	 hash[LDNS_SHA256_DIGEST_LENGTH];
	bool		 hashed;
	bool		 dirty;	/* an event named it since the last read */
	bool		 failed;
	bool		 seen;	/* during a scan */
	bool		 gone;	/* missing at the last scan */
};

struct mwatch {
	struct event_base	*base;
	struct registry		*reg;
	char			*path;
	bool			 is_dir;
	int			 ifd;
	int			 wd;	/* watch of the directory, or -1 */
	char			*watched;	/* that directory */
	char			*fname;	/* a watched file's name in it */
	bool			 all_dirty;	/* overflow, or a new watch */
	bool			 recheck;	/* a file went: look again */
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

/*
 * Reads path through one descriptor, so that the identity recorded in st
 * is that of the bytes read. Returns a buffer the caller frees, or NULL
 * with a reason in err.
 */
static char *
mwatch_read(const char *path, struct stat *st, size_t *lenp, char *err,
    size_t errlen)
{
	char *buf = NULL, *nbuf;
	size_t len = 0, cap;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, st) == -1) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		errf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	/* The size is a hint: the file may grow while it is read. */
	cap = st->st_size > 0 ? (size_t)st->st_size + 1 : 4096;
	if (cap > MANIFEST_MAX_FILE + 1)
		cap = MANIFEST_MAX_FILE + 1;
	if ((buf = malloc(cap + 1)) == NULL)
		goto nomem;
	for (;;) {
		if (len == cap) {
			if (cap > MANIFEST_MAX_FILE) {
				errno = EFBIG;
				errf(err, errlen, "%s: file too large", path);
				goto fail;
			}
			cap = cap > MANIFEST_MAX_FILE / 2 ?
			    MANIFEST_MAX_FILE + 1 : cap * 2;
			if ((nbuf = realloc(buf, cap + 1)) == NULL)
				goto nomem;
			buf = nbuf;
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			errf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > MANIFEST_MAX_FILE) {
		errno = EFBIG;
		errf(err, errlen, "%s: file too large", path);
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
nomem:
	errno = ENOMEM;
	errf(err, errlen, "%s: out of memory", path);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	free(buf);
	errno = saved;
	return NULL;
}

static bool
mfile_same_identity(const struct mfile *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino &&
	    f->size == st->st_size &&
	    f->mtime.tv_sec == st->st_mtim.tv_sec &&
	    f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    f->ctime.tv_sec == st->st_ctim.tv_sec &&
	    f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/*
 * Reads one file into the registry. Unless force, a file no event named
 * and whose identity did not change is not read, and one whose content
 * hashes as last time is not applied.
 */
/*
 * After a large manifest, what parsing it freed goes back to the system:
 * YAML documents and objects replaced, interleaved with the objects kept
 * (6 MiB with 100,000 services), which the loop's heap would otherwise
 * keep until a large state file's write trimmed it, and a restart that
 * changes no VIP writes none.
 */
static void
mwatch_trim(size_t len)
{
#ifdef __GLIBC__
	if (len >= MWATCH_TRIM_BYTES)
		malloc_trim(0);
#else
	(void)len;
#endif
}

static void
mwatch_load(struct mwatch *w, const char *path, const struct stat *st,
    bool force)
{
	struct owner o = { OWNER_FILE, (char *)(uintptr_t)path };
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	struct mfile *f = hmap_get(w->files, path);
	unsigned char hash[LDNS_SHA256_DIGEST_LENGTH];
	struct stat rst;
	char err[1024], *buf;
	size_t len;

	if (f != NULL) {
		f->seen = true;
		f->gone = false;
		if (!force && !f->dirty && !w->all_dirty &&
		    mfile_same_identity(f, st))
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
	/* An event for what follows the read marks it dirty again. */
	f->dirty = false;
	if ((buf = mwatch_read(path, &rst, &len, err, sizeof(err))) == NULL) {
		/* Renamed away meanwhile: the next scan sees what is there. */
		if (errno == ENOENT)
			return;
		f->failed = true;
		log_warnx("manifest refused, previous objects kept: %s", err);
		return;
	}
	f->dev = rst.st_dev;
	f->ino = rst.st_ino;
	f->size = rst.st_size;
	f->mtime = rst.st_mtim;
	f->ctime = rst.st_ctim;
	(void)ldns_sha256((const unsigned char *)buf, (unsigned int)len, hash);
	if (!force && f->hashed && memcmp(hash, f->hash, sizeof(hash)) == 0) {
		free(buf);
		return;
	}
	memcpy(f->hash, hash, sizeof(hash));
	f->hashed = true;
	if (manifest_parse_buf(buf, len, f->path, &set, &rep, err,
	    sizeof(err)) != 0 || registry_apply(w->reg, &o, &set,
	    REGISTRY_REPLACE, err, sizeof(err)) != 0) {
		free(buf);
		objset_clear(&set);
		manifest_report_clear(&rep);
		f->failed = true;
		log_warnx("manifest refused, previous objects kept: %s", err);
		mwatch_trim(len);
		return;
	}
	free(buf);
	manifest_report_log(&rep, "");
	manifest_report_clear(&rep);
	f->failed = false;
	log_info("manifest %s loaded: %zu services, %zu pods", path,
	    registry_count_services(w->reg), registry_count_pods(w->reg));
	mwatch_trim(len);
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
	w->all_dirty = false;
	/*
	 * Files gone since the last scan take their objects with them; when
	 * the scan was not forced, only if still gone at the next one, as an
	 * editor may move the file aside a moment before writing it anew.
	 */
	w->recheck = false;
	hmap_iter_init(&it, w->files);
	while (hmap_iter_next(&it, &key, &v)) {
		struct mfile *f = v;
		if (f->seen) {
			failed += f->failed;
			continue;
		}
		if (!force && !f->gone) {
			f->gone = true;
			w->recheck = true;
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

/*
 * (Re)watches the directory: at start, and when it was deleted, moved or
 * replaced (a new directory renamed over the path). 0 or -1.
 */
static int
mwatch_add_watch(struct mwatch *w)
{
	int wd;

	if ((wd = inotify_add_watch(w->ifd, w->watched, WATCH_MASK |
	    IN_ONLYDIR)) == -1)
		return -1;
	if (w->wd != -1 && w->wd != wd)
		(void)inotify_rm_watch(w->ifd, w->wd);
	if (w->wd != wd)
		w->all_dirty = true;
	w->wd = wd;
	return 0;
}

static void
mwatch_arm(struct mwatch *w, int ms)
{
	struct timeval tv;

	/* Never pushed back: at most ms after the first event, a scan. */
	if (!evtimer_pending(w->ev_settle, NULL))
		evtimer_add(w->ev_settle, ms_to_tv((uint64_t)ms, &tv));
}

static void
mwatch_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mwatch *w = arg;

	if (w->wd == -1 && mwatch_add_watch(w) == -1) {
		/* Still gone: keep the objects, look again later. */
		mwatch_arm(w, WATCH_REWATCH_MS);
		return;
	}
	mwatch_scan(w, false);
	if (w->recheck)
		mwatch_arm(w, WATCH_SETTLE_MS);
}

/* Marks the file an event names for reading, whatever its stat says. */
static void
mwatch_mark(struct mwatch *w, const char *name)
{
	struct mfile *f;
	char path[4096];

	if (w->is_dir)
		snprintf(path, sizeof(path), "%s/%s", w->path, name);
	else if (strcmp(name, w->fname) == 0)
		strlcpy(path, w->path, sizeof(path));
	else
		return;
	if ((f = hmap_get(w->files, path)) != NULL)
		f->dirty = true;
}

static void
mwatch_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mwatch *w = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	size_t off;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + sizeof(*ev) <= (size_t)n;
		    off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)(buf + off);
			if (ev->mask & IN_Q_OVERFLOW)
				w->all_dirty = true;
			if (ev->wd == w->wd && (ev->mask & (IN_IGNORED |
			    IN_DELETE_SELF | IN_MOVE_SELF))) {
				/* The directory itself went: watch anew. */
				if (!(ev->mask & IN_IGNORED))
					(void)inotify_rm_watch(w->ifd, w->wd);
				w->wd = -1;
			}
			if (ev->len > 0)
				mwatch_mark(w, ev->name);
		}
	}
	mwatch_arm(w, WATCH_SETTLE_MS);
}

struct mwatch *
mwatch_start(struct event_base *base, struct registry *reg, const char *path,
    char *err, size_t errlen)
{
	struct mwatch *w;
	struct stat st;
	char *dirc = NULL, *basec = NULL;

	if (stat(path, &st) != 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto nomem;
	w->base = base;
	w->reg = reg;
	w->ifd = -1;
	w->wd = -1;
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
		if ((dirc = strdup(w->path)) == NULL ||
		    (basec = strdup(w->path)) == NULL ||
		    (w->watched = strdup(w->is_dir ? w->path :
		    dirname(dirc))) == NULL ||
		    (w->fname = strdup(basename(basec))) == NULL)
			goto nomem;
		if (mwatch_add_watch(w) != 0) {
			errf(err, errlen, "%s: inotify: %s", w->watched,
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
	free(basec);
	mwatch_scan(w, true);
	return w;
nomem:
	errf(err, errlen, "%s: out of memory", path);
fail:
	free(dirc);
	free(basec);
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
	free(w->watched);
	free(w->fname);
	free(w->path);
	free(w);
}
