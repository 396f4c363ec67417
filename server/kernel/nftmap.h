/* SPDX-License-Identifier: MIT */
/*
 * nftmap.h -- the endpoint map of the kernel data path: the elements a
 * service port without affinity or round-robin owns, and their netlink
 * bytes. Pure: no libnftnl, no sockets.
 *
 * Maps of endpoint slots, per family and slot count M: "endpoints-M"
 * (IPv4) and "endpoints6-M", keyed by "VIP . protocol . port . slot",
 * the slot being "numgen random mod M" drawn per new connection, and
 * holding "address . port", the DNAT target. A VIP port with N ready
 * endpoints has its M = nftmap_slots(N) elements in the map of M slots:
 * M = N up to 16 endpoints (exact shares), past that the smallest of
 * 512, 2,048, 8,192 and 65,536 slots that gives every endpoint 16 of
 * them or more (shares within 1/16 of each other; past 4,096 endpoints
 * 65,536 slots, fewer each). The NAT chain
 * tries the maps in turn; a VIP port is in one of them. Hash maps, so a
 * change costs the same among 10 or 10,000 services (a map of ranges
 * would need one element per endpoint, but the kernel's set of
 * concatenated ranges deletes in time linear in its size: 37 ms among
 * 3,000 services here).
 *
 * The set "endpoint-counters" ("endpoint-counters6") has an element with
 * a counter per endpoint, "VIP . protocol . port . address . port",
 * which the NAT postrouting chain looks up for each translated
 * connection: a counter that lives as long as its endpoint, whatever
 * happens to the slots. Beside them the set "vip-ports" ("vip-ports6")
 * names the VIP ports the maps serve (the TCP ones get the table's
 * conntrack timeout policy) and "no-endpoints" ("no-endpoints6") those
 * without a ready endpoint (rejected). An endpoint change so touches
 * elements whose data are no verdicts, which the kernel commits without
 * validating the table's chains.
 */
#ifndef CIP_NFTMAP_H
#define CIP_NFTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nftrules_state;
struct svc_ready;

/* The slot counts: nftmap_class(0 .. NFTMAP_NCLASSES - 1). */
#define NFTMAP_NCLASSES		20
#define NFTMAP_SLOTS_MAX	65536u
uint32_t nftmap_class(size_t i);
/* The slot count of a VIP port with n ready endpoints (0 for none). */
uint32_t nftmap_slots(uint32_t n);

/*
 * The slots [*lo, *hi] endpoint i of n owns among m (i < n <= m):
 * consecutive ranges, sizes differing by one slot at most.
 */
void	nftmap_share(uint32_t i, uint32_t n, uint32_t m, uint32_t *lo,
    uint32_t *hi);

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

/*
 * The set or map of an element kind ('r', 'v', 'e', 'k' and their
 * capitals; for 'e' and 'E' the name without "-M"), or NULL when the
 * kind is no element of a set without verdicts.
 */
const char *nftmap_set(char kind);
/*
 * The set or map of a recorded entry ("k:TEXT"): static, or written into
 * buf (len >= NFTMAP_SET_MAX) for the endpoint maps. NULL when the entry
 * is no element of a set without verdicts.
 */
#define NFTMAP_SET_MAX	32
const char *nftmap_set_of(const char *entry, char *buf, size_t len);
/* The element as nft reads it: the entry without its kind and "M|". */
const char *nftmap_text(const char *entry);

/* An element as the kernel reads it: registers of 4 bytes each. */
#define NFTMAP_KEY_MAX	44	/* IPv6 . proto . port . IPv6 . port */
#define NFTMAP_DATA_MAX	20	/* IPv6 . port */
struct nftmap_elem {
	bool		 add;
	char		 set[NFTMAP_SET_MAX];
	uint8_t		 key[NFTMAP_KEY_MAX];
	uint8_t		 data[NFTMAP_DATA_MAX];
	size_t		 klen, dlen;			/* dlen 0: a set */
};

/*
 * The bytes of a recorded element ("k:TEXT", as nftmap_port and the rule
 * builder record them) for an add or a delete. Returns 0, or ERR_INVAL
 * when the entry is not an element of a set without verdicts.
 */
int	nftmap_encode(const char *entry, bool add, struct nftmap_elem *e);

#endif
