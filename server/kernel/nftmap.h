/* SPDX-License-Identifier: MIT */
/*
 * nftmap.h -- the endpoint map of the kernel data path: the elements a
 * service port without affinity or round-robin owns, and their netlink
 * bytes. Pure: no libnftnl, no sockets.
 *
 * One map per family, "endpoints" (IPv4) and "endpoints6", keyed by
 * "VIP . protocol . port . slot", where the slot is "numgen random mod
 * 65536" drawn per new connection; each ready endpoint owns one range of
 * slots (its share: 65,536 / N, the first 65,536 mod N endpoints one slot
 * more) and the element's data is "address . port", the DNAT target. The
 * map has per-element counters: one counter per endpoint. Beside it the
 * set "vip-ports" ("vip-ports6") names the VIP ports the map serves (the
 * TCP ones get the table's conntrack timeout policy) and "no-endpoints"
 * ("no-endpoints6") those without a ready endpoint (rejected). An
 * endpoint change so touches elements whose data are no verdicts, which
 * the kernel commits without validating the table's chains.
 */
#ifndef CIP_NFTMAP_H
#define CIP_NFTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nftrules_state;
struct svc_ready;

/* The slots of a VIP port: numgen random mod NFTMAP_SLOTS. */
#define NFTMAP_SLOTS	65536u

/*
 * The slots [*lo, *hi] endpoint i of n owns (i < n, n <= NFTMAP_SLOTS):
 * consecutive ranges, sizes differing by one slot at most.
 */
void	nftmap_share(uint32_t i, uint32_t n, uint32_t *lo, uint32_t *hi);

/*
 * Records in *now the elements of one VIP port ("VIP . proto . port" as
 * nft writes it, of the IPv6 VIP when v6) that balances over r (NULL or
 * empty: none): its "vip-ports" element, and an "endpoints" element per
 * distinct ready endpoint with an address of that family, or else its
 * "no-endpoints" element. State kinds: 'v'/'V' (vip-ports), 'e'/'E'
 * (endpoints, "KEY . LO-HI : ADDR . PORT"), 'r'/'R' (no-endpoints), the
 * capital for IPv6. Returns 0 or ERR_NOMEM.
 */
int	nftmap_port(const char *key, const struct svc_ready *r, bool v6,
    struct nftrules_state *now);

/* The set or map of an element kind ('r', 'v', 'e', 'k' and their
 * capitals), or NULL when the kind is no element of a set without
 * verdicts. */
const char *nftmap_set(char kind);

/* An element as the kernel reads it: registers of 4 bytes each. */
#define NFTMAP_KEY_MAX	44	/* IPv6 . proto . port . IPv6 . port */
#define NFTMAP_DATA_MAX	20	/* IPv6 . port */
struct nftmap_elem {
	bool		 add;
	const char	*set;
	uint8_t		 key[NFTMAP_KEY_MAX];
	uint8_t		 key_end[NFTMAP_KEY_MAX];	/* ranges only */
	uint8_t		 data[NFTMAP_DATA_MAX];
	size_t		 klen, dlen;			/* dlen 0: a set */
	bool		 range;
};

/*
 * The bytes of a recorded element ("k:TEXT", as nftmap_port and the rule
 * builder record them) for an add or a delete. Returns 0, or ERR_INVAL
 * when the entry is not an element of a set without verdicts.
 */
int	nftmap_encode(const char *entry, bool add, struct nftmap_elem *e);

#endif
