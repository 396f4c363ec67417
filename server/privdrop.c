/* SPDX-License-Identifier: MIT */
/*
 * privdrop.c -- --user: switch to an ordinary user once every privileged
 * socket is open, keeping only the capabilities the mode needs.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/capability.h>

#include "log.h"
#include "privdrop.h"
#include "util.h"

#define PRIVDROP_MAX_GROUPS	1024

struct privdrop {
	char	*name;
	uid_t	 uid;
	gid_t	 gid;
	gid_t	*groups;
	size_t	 ngroups;
};

static int	privdrop_add_group(struct privdrop *, gid_t);
static int	privdrop_docker_group(struct privdrop *, const char *);

static int
privdrop_add_group(struct privdrop *pd, gid_t g)
{
	size_t i;

	for (i = 0; i < pd->ngroups; i++)
		if (pd->groups[i] == g)
			return 0;
	if (pd->ngroups >= PRIVDROP_MAX_GROUPS)
		return -1;
	pd->groups[pd->ngroups++] = g;
	return 0;
}

/*
 * The Docker socket is connected again after the drop (events stream
 * reconnects, one request per connection): the user joins the group that
 * owns it, else the group named docker.
 */
static int
privdrop_docker_group(struct privdrop *pd, const char *sock)
{
	struct stat st;
	struct group *gr;

	if (stat(sock, &st) == 0 && st.st_gid != 0)
		return privdrop_add_group(pd, st.st_gid);
	if ((gr = getgrnam("docker")) != NULL)
		return privdrop_add_group(pd, gr->gr_gid);
	log_warnx("user: no group gives access to %s; the Docker provider "
	    "may lose it after the drop", sock);
	return 0;
}

struct privdrop *
privdrop_new(const char *user, const char *docker_sock, char *err,
    size_t errlen)
{
	struct privdrop *pd = NULL;
	struct passwd *pw;
	uint64_t num;
	int n;

	if (geteuid() != 0 || getuid() != 0) {
		errf(err, errlen, "user: --user %s needs clusteripd to be "
		    "started as root (it runs as uid %u)", user,
		    (unsigned)geteuid());
		return NULL;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL && parse_u64(user, &num) == 0 &&
	    num <= (uid_t)-2)
		pw = getpwuid((uid_t)num);
	if (pw == NULL) {
		errf(err, errlen, "user: no such user \"%s\"", user);
		return NULL;
	}
	if (pw->pw_uid == 0) {
		errf(err, errlen, "user: %s is root: name an ordinary user",
		    user);
		return NULL;
	}
	if ((pd = calloc(1, sizeof(*pd))) == NULL ||
	    (pd->name = strdup(pw->pw_name)) == NULL ||
	    (pd->groups = calloc(PRIVDROP_MAX_GROUPS, sizeof(gid_t))) == NULL)
		goto nomem;
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	n = PRIVDROP_MAX_GROUPS;
	if (getgrouplist(pd->name, pd->gid, pd->groups, &n) == -1) {
		errf(err, errlen, "user: %s is in more than %d groups",
		    pd->name, PRIVDROP_MAX_GROUPS);
		goto fail;
	}
	pd->ngroups = (size_t)n;
	if (docker_sock != NULL && *docker_sock != '\0' &&
	    privdrop_docker_group(pd, docker_sock) != 0) {
		errf(err, errlen, "user: too many groups");
		goto fail;
	}
	return pd;
nomem:
	errf(err, errlen, "user: out of memory");
fail:
	privdrop_free(pd);
	return NULL;
}

void
privdrop_free(struct privdrop *pd)
{
	if (pd == NULL)
		return;
	free(pd->name);
	free(pd->groups);
	free(pd);
}

int
privdrop_chown_dir(const struct privdrop *pd, const char *dir, char *err,
    size_t errlen)
{
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int fd, dfd = -1, rc = -1;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		errf(err, errlen, "state-dir %s: %s", dir, strerror(errno));
		goto done;
	}
	if (st.st_uid != pd->uid && (st.st_mode & (S_ISVTX | S_IWOTH))) {
		errf(err, errlen, "state-dir %s: others may write to it: give "
		    "clusteripd a directory of its own", dir);
		goto done;
	}
	if ((st.st_uid != pd->uid || st.st_gid != pd->gid) &&
	    fchown(fd, pd->uid, pd->gid) == -1) {
		errf(err, errlen, "state-dir %s: chown: %s", dir,
		    strerror(errno));
		goto done;
	}
	/* Files written as root before (state, temporaries) become its. */
	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		errf(err, errlen, "state-dir %s: %s", dir, strerror(errno));
		goto done;
	}
	dfd = -1;
	while ((de = readdir(d)) != NULL) {
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || st.st_uid != 0)
			continue;
		if (fchownat(fd, de->d_name, pd->uid, pd->gid,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			errf(err, errlen, "state-dir %s/%s: chown: %s", dir,
			    de->d_name, strerror(errno));
			goto done;
		}
	}
	rc = 0;
done:
	if (d != NULL)
		closedir(d);
	if (dfd != -1)
		close(dfd);
	if (fd != -1)
		close(fd);
	return rc;
}

int
privdrop_apply(const struct privdrop *pd, bool netif, char *err,
    size_t errlen)
{
	cap_value_t keep[3];
	cap_t caps = NULL;
	char names[128] = "";
	uid_t ru, eu, su;
	int nkeep = 0, i, rc = -1;
	cap_value_t c;
	bool kept;

	if (netif) {
		keep[nkeep++] = CAP_NET_ADMIN;
		keep[nkeep++] = CAP_NET_RAW;
	}
	keep[nkeep++] = CAP_NET_BIND_SERVICE;

	/*
	 * The bounding set while CAP_SETPCAP is still effective. Nothing is
	 * ever executed and no_new_privs is set below, so a container that
	 * denies this loses nothing that matters: warn and go on.
	 */
	for (c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		for (kept = false, i = 0; i < nkeep; i++)
			kept |= keep[i] == c;
		if (!kept && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) == -1) {
			log_warn("user: cannot drop capability %d from the "
			    "bounding set", (int)c);
			break;
		}
	}
	(void)cap_reset_ambient();
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1) {
		errf(err, errlen, "user: PR_SET_KEEPCAPS: %s", strerror(errno));
		goto done;
	}
	if (setgroups(pd->ngroups, pd->groups) == -1) {
		errf(err, errlen, "user: setgroups: %s", strerror(errno));
		goto done;
	}
	if (setresgid(pd->gid, pd->gid, pd->gid) == -1) {
		errf(err, errlen, "user: setresgid %u: %s", (unsigned)pd->gid,
		    strerror(errno));
		goto done;
	}
	if (setresuid(pd->uid, pd->uid, pd->uid) == -1) {
		errf(err, errlen, "user: setresuid %u: %s", (unsigned)pd->uid,
		    strerror(errno));
		goto done;
	}
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* KEEPCAPS kept the permitted set whole: reduce it to what is kept. */
	if ((caps = cap_init()) == NULL ||
	    cap_set_flag(caps, CAP_PERMITTED, nkeep, keep, CAP_SET) == -1 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, nkeep, keep, CAP_SET) == -1 ||
	    cap_set_proc(caps) == -1) {
		errf(err, errlen, "user: capabilities: %s", strerror(errno));
		goto done;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("user: PR_SET_NO_NEW_PRIVS");
	/* Root must be out of reach for good. */
	if (getresuid(&ru, &eu, &su) == -1 || ru != pd->uid || eu != pd->uid ||
	    su != pd->uid || setresuid(0, 0, 0) != -1 || setgroups(0, NULL) !=
	    -1) {
		errf(err, errlen, "user: root could be regained after the drop");
		goto done;
	}
	for (i = 0; i < nkeep; i++) {
		char *nm = cap_to_name(keep[i]);
		size_t len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s",
		    i > 0 ? "," : "", nm != NULL ? nm : "?");
		cap_free(nm);
	}
	log_info("dropped to user %s, capabilities: %s", pd->name, names);
	rc = 0;
done:
	if (caps != NULL)
		cap_free(caps);
	return rc;
}
