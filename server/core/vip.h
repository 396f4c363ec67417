/* SPDX-License-Identifier: MIT */
/*
 * vip.h -- stable virtual IPs from one CIDR per address family,
 * persisted in a state file; pure but for that file.
 */
#ifndef CIP_VIP_H
#define CIP_VIP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct vip_pool;
struct statewr_job;

/* The state file's name in the state directory, and the older one's. */
#define VIP_STATE_FILE		"vips.json"
#define VIP_STATE_LEGACY	"vips.state"

/*
 * Creates a pool over cidr (IPv4 "A.B.C.D/N", N from 8 to 30). The
 * network and broadcast addresses are never handed out. state_path is
 * the file allocations persist in (JSON), or NULL for none. When the
 * file exists it is read; a corrupt or truncated file is reported with
 * log_warnx and the pool starts empty (rebuilt), never a failure. When
 * it does not, a text state file of version 1 or 2 (VIP_STATE_LEGACY in
 * the same directory) is read instead and migrated: the next save
 * writes state_path, and the text file is removed once that is on disk.
 * A state_path holding text is read as well. Returns NULL with a reason
 * in err on a bad cidr or OOM.
 */
struct vip_pool *vip_pool_new(const char *cidr, const char *state_path,
    char *err, size_t errlen);
/*
 * The same over one or two ranges, at most one per family, the first
 * being the primary family: IPv4 as above, IPv6 "ADDR/N" with N from 96
 * to 126 (the network and the all-ones address are never handed out).
 * Both families' allocations persist in the one state file.
 */
struct vip_pool *vip_pool_new_ranges(const char *const *cidrs, size_t n,
    const char *state_path, char *err, size_t errlen);
/*
 * The families of the pool's ranges, AF_INET or AF_INET6, primary
 * first. Returns their number (1 or 2).
 */
size_t	vip_families(const struct vip_pool *, int af[2]);
void	vip_pool_free(struct vip_pool *);

/*
 * Gives the address for key ("namespace/name"). A key that had an
 * address before (in this process or in the state file) gets it again,
 * unless requested names another. requested.s_addr == 0 means "any";
 * otherwise it must lie in the range (usable) and not be held by
 * another key in use, else ERR_INVAL / ERR_CONFLICT with a reason.
 * Without a request the address is derived from a hash of key, probing
 * deterministically on collision. When every address is in use:
 * ERR_EXHAUSTED. Addresses remembered for released keys are
 * reclaimed, oldest release first, only when no never-used address is
 * left. Marks the key in use. Returns 0 and the address in *out.
 */
int	vip_alloc(struct vip_pool *, const char *key, struct in_addr requested,
    struct in_addr *out, char *err, size_t errlen);
/*
 * Checks what vip_alloc would do without changing anything; for
 * validating a whole batch before applying it.
 */
int	vip_check(const struct vip_pool *, const char *key,
    struct in_addr requested, char *err, size_t errlen);
/*
 * vip_alloc and vip_check for the IPv6 range: requested NULL or ::
 * means "any". The same key has one address per family, each derived
 * from its hash in its own range. ERR_INVAL without an IPv6 range.
 */
int	vip_alloc6(struct vip_pool *, const char *key,
    const struct in6_addr *requested, struct in6_addr *out, char *err,
    size_t errlen);
int	vip_check6(const struct vip_pool *, const char *key,
    const struct in6_addr *requested, char *err, size_t errlen);
/*
 * Makes room for n more keys in use, so that allocating them at startup
 * does not regrow the indexes key by key. Remembered released keys
 * count as room (those keys mostly come back). Returns 0 or
 * ERR_NOMEM.
 */
int	vip_reserve(struct vip_pool *, size_t n);
/*
 * Marks key no longer in use. Its address stays remembered for it, so a
 * delete-then-recreate gets the same VIP.
 */
void	vip_release(struct vip_pool *, const char *key);
void	vip_release6(struct vip_pool *, const char *key);
/* Returns the key holding addr in use, or NULL. */
const char *vip_owner(const struct vip_pool *, struct in_addr addr);
const char *vip_owner6(const struct vip_pool *, const struct in6_addr *);
/* True when addr lies in the pool's range of its family. */
bool	vip_in_range(const struct vip_pool *, struct in_addr addr);
bool	vip_in_range6(const struct vip_pool *, const struct in6_addr *);
/* The IPv4 range as given ("127.96.0.0/16"), NULL when none. */
const char *vip_range(const struct vip_pool *);
/* The IPv6 range as given ("fd00:96::/112"), NULL when none. */
const char *vip_range6(const struct vip_pool *);
/* Number of keys in use, over both families. */
size_t	vip_count(const struct vip_pool *);
/*
 * Saves the state if anything changed since the last save. Takes a
 * snapshot of the entries (an array copy, no JSON) and hands it to the
 * saver, which builds the JSON document from it and writes it, off the
 * caller's thread; without a saver, builds and writes it now
 * (statewr_run_job: temporary file, fsync, rename, fsync of the
 * directory). Returns 0, or -1 with errno (reason logged). No-op
 * without a state path.
 */
int	vip_save(struct vip_pool *);

/*
 * Who writes the state file from now on: save(arg, path, job, mode)
 * takes the job (statewr_submit_job has this shape) and returns 0 or
 * -1, job->done having been called then. NULL: vip_save writes it
 * itself.
 */
typedef int vip_saver(void *arg, const char *path,
    const struct statewr_job *job, int mode);
void	vip_set_saver(struct vip_pool *, vip_saver *save, void *arg);

#endif
