/* SPDX-License-Identifier: MIT */
/*
 * privdrop.h -- --user: after the sockets are bound, run as an ordinary
 * user that keeps only the capabilities its mode needs (libcap).
 */
#ifndef CIP_PRIVDROP_H
#define CIP_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

struct privdrop;

/*
 * Looks up user (name or number) for a daemon started as root; the
 * supplementary groups are the user's own, plus the group of docker_sock
 * when it is not NULL (the Docker socket is reconnected after the drop).
 * Returns a new struct privdrop the caller frees with privdrop_free(), or
 * NULL with a reason in err (not root, no such user).
 */
struct privdrop *privdrop_new(const char *user, const char *docker_sock,
    char *err, size_t errlen);
void	privdrop_free(struct privdrop *);

/*
 * Gives dir and the regular files in it (owned by root) to the user, so
 * that state writes keep working after the drop. Refuses a directory
 * others may write to (sticky or world-writable, as /tmp). 0, or -1 with
 * a reason in err.
 */
int	privdrop_chown_dir(const struct privdrop *, const char *dir, char *err,
    size_t errlen);

/*
 * Switches to the user: bounding set reduced to the capabilities kept,
 * setgroups, setresgid, setresuid, then the capabilities kept made
 * permitted and effective. Kept: CAP_NET_BIND_SERVICE always (VIP:port
 * listeners of services added later may be under 1024); CAP_NET_ADMIN and
 * CAP_NET_RAW too when netif (interface mode). Logs the result at info.
 * 0, or -1 with a reason in err.
 */
int	privdrop_apply(const struct privdrop *, bool netif, char *err,
    size_t errlen);

#endif
