/* SPDX-License-Identifier: MIT */
/*
 * dns_acl.h -- who may use the forwarder: a list of IPv4 and IPv6 CIDRs
 * (dns-allow) and the match of a client address against it. Pure: no
 * sockets, no libevent.
 */
#ifndef CIP_DNS_ACL_H
#define CIP_DNS_ACL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The entry that stands for the VIP range (vip-range) of the daemon. */
#define DNS_ACL_VIP_RANGE	"vip-range"

struct dns_acl;

/*
 * One parsed entry: an address and how many leading bits of it count.
 * IPv4 entries, and IPv6 entries inside ::ffff:0:0/96, are kept as
 * AF_INET so that IPv4-mapped IPv6 clients match IPv4 entries.
 */
struct dns_acl_entry {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network order, host bits zero */
	unsigned	 prefix;	/* 0..32 or 0..128 */
};

/*
 * Parses "ADDR/PREFIX" or a bare address (a /32 or /128) into *e. Host
 * bits beyond the prefix are refused (a likely typo), not masked.
 * Returns 0, or ERR_INVAL with a reason ("\"10.0.0.1/8\" has bits set
 * beyond /8 (10.0.0.0/8?)") in err.
 */
int	dns_acl_parse(const char *text, struct dns_acl_entry *e, char *err,
    size_t errlen);

/*
 * Builds the list of n entries of v (DNS_ACL_VIP_RANGE stands for
 * vip_range, an IPv4 CIDR whose host bits are masked, and vip_range6,
 * the IPv6 one; NULL or "": no entry). n == 0 gives a list nobody matches. Calls malloc: free with
 * dns_acl_free. Returns NULL with a reason in err (a bad entry, or out
 * of memory).
 */
struct dns_acl *dns_acl_new(char *const *v, size_t n, const char *vip_range,
    const char *vip_range6, char *err, size_t errlen);
/* Frees. Accepts NULL. */
void	dns_acl_free(struct dns_acl *);

/*
 * True when sa (AF_INET, or AF_INET6 with IPv4-mapped addresses taken as
 * IPv4) lies inside an entry of acl. Other families, and a NULL acl,
 * match nothing.
 */
bool	dns_acl_match(const struct dns_acl *acl, const struct sockaddr *sa);

#endif
