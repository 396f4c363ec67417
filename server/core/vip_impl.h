/* SPDX-License-Identifier: MIT */
/*
 * vip_impl.h -- the VIP pool's insides, shared by vip.c (allocation) and
 * vip_state.c (the state file); no other module includes it.
 */
#ifndef CIP_VIP_IMPL_H
#define CIP_VIP_IMPL_H

#include <sys/queue.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "vip.h"

/* One block per entry, the key inside it; indexed by key and address. */
struct vip_entry {
	TAILQ_ENTRY(vip_entry)	 rel;	/* on released when !in_use */
	uint64_t		 seq;	/* when allocated or released */
	uint32_t		 addr;		/* host order, as vip_space */
	bool			 in_use;
	bool			 saved_in_use;	/* while loading the state */
	char			 key[];
};

TAILQ_HEAD(vip_entries, vip_entry);

/*
 * The addresses of one range. An IPv4 address is held as itself (host
 * order); an IPv6 one as its offset in the range (net is then 0), which
 * fits 32 bits since the prefix is at least /96.
 */
struct vip_space {
	char			*range;
	int			 af;		/* AF_INET or AF_INET6 */
	struct in6_addr		 net6;		/* AF_INET6 */
	uint32_t		 net;		/* host order; 0 for IPv6 */
	unsigned		 prefix;
	uint32_t		 usable;	/* net+1 .. net+usable */
	struct ptab		 by_key;	/* entries by key */
	struct ptab		 by_addr;	/* entries by addr */
	struct vip_entries	 released;	/* oldest release first */
	uint64_t		 digest;	/* sum of vip_entry_digest */
	size_t			 nentries;
	size_t			 nused;
	uint64_t		 seq;
	bool			 dirty;
};

struct vip_pool {
	struct vip_space	*sp[2];		/* primary first */
	size_t			 nsp;
	struct vip_space	*v4, *v6;	/* the same, by family */
	char			*state_path;
	/* The text state file beside it, removed after a JSON save. */
	char			*legacy_path;
	vip_saver		*saver;		/* NULL: vip_save writes */
	void			*saver_arg;
	/*
	 * vip_pool_digest of what the state file on disk holds, 0 when
	 * unknown (nothing read or written yet, or a write failed): a save
	 * while the pool has the same digest would write the same state
	 * again and is skipped. The writer thread clears it when a write
	 * fails.
	 */
	uint64_t		 disk_digest;
};

/* The IPv6 address of sp at offset off. */
struct in6_addr vip_addr6(const struct vip_space *, uint32_t off);
/* True when a lies in sp's IPv6 range; its offset there in *off. */
bool	vip_off6(const struct vip_space *, const struct in6_addr *,
    uint32_t *off);
/* addr of sp in presentation form; buf holds INET6_ADDRSTRLEN bytes. */
const char *vip_space_str(const struct vip_space *, uint32_t addr,
    char *buf);
/* A new entry (calloc'd, not indexed); NULL on OOM. */
struct vip_entry *vip_entry_new(const char *key, uint32_t addr);
void	vip_entry_free(void *);
struct vip_entry *vip_find_key(const struct vip_space *, const char *key);
struct vip_entry *vip_find_addr(const struct vip_space *, uint32_t addr);
/* Inside the range and neither the network nor the broadcast address. */
bool	vip_usable(const struct vip_space *, uint32_t addr);
/*
 * An entry's part of a digest of a pool's state: which key holds which
 * address of a range of family af, and whether in use. A space's digest
 * is the sum of its entries' parts, kept as they change (vip.c), so it
 * does not depend on their order and costs nothing to read.
 */
uint64_t vip_entry_digest(int af, const char *key, uint32_t addr,
    bool in_use);
/* The digest of the whole pool: its ranges and every space's entries. */
uint64_t vip_pool_digest(const struct vip_pool *);
/* Forgets every entry of the space. */
void	vip_clear(struct vip_space *);
/*
 * Reads the pool's state file (vip_state.c): a missing file is an empty
 * pool, a bad one is logged and rebuilt.
 */
void	vip_load(struct vip_pool *);

/* Loading, shared by vip_state.c and vip_migrate.c. */
#define VIP_RANGE_MAX		64

/* The ranges a file names. */
struct vip_file_ranges {
	char	 v[2][VIP_RANGE_MAX];
	size_t	 n;
};

/*
 * One remembered address ("A.B.C.D" or IPv6) from any format; *dropped
 * counts those outside today's ranges. Returns 0, or ERR_INVAL or
 * ERR_NOMEM with a reason in err.
 */
int	vip_load_add(struct vip_pool *, const char *addr, bool in_use,
    uint64_t seq, const char *key, size_t *dropped, char *err,
    size_t errlen);
/* Room for count entries in every range, when count fits len bytes. */
void	vip_load_reserve(struct vip_pool *, uint64_t count, size_t len);
/*
 * The files of earlier versions (vip_migrate.c): a text file of version
 * 1 or 2 in buf (NUL-terminated at len; changed in place), *v1 set for
 * version 1; the parsed JSON of a file of version 3. Return 0, or
 * ERR_INVAL or ERR_NOMEM with a reason in err.
 */
int	vip_load_text(struct vip_pool *, char *buf, size_t len,
    struct vip_file_ranges *, size_t *dropped, bool *v1, char *err,
    size_t errlen);
struct json_t;
int	vip_load_json3(struct vip_pool *, struct json_t *root, size_t len,
    struct vip_file_ranges *, size_t *dropped, char *err, size_t errlen);

#endif
