/* SPDX-License-Identifier: MIT */
/* dns_acl.c -- dns-allow: parse IPv4/IPv6 CIDRs, match client addresses. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns_acl.h"
#include "util.h"

struct dns_acl {
	struct dns_acl_entry	*e;
	size_t			 n;
};

static bool	acl_bits_eq(const uint8_t *, const uint8_t *, unsigned);
static void	acl_mask(uint8_t *, size_t, unsigned);

/* True when the first bits bits of a and b are equal. */
static bool
acl_bits_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t m;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	m = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & m) == (b[whole] & m);
}

/* Clears every bit of addr (len bytes) after the first bits. */
static void
acl_mask(uint8_t *addr, size_t len, unsigned bits)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			addr[i] &= (uint8_t)(0xff << (8 - bits));
			bits = 0;
		}
	}
}

int
dns_acl_parse(const char *text, struct dns_acl_entry *e, char *err,
    size_t errlen)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	char host[INET6_ADDRSTRLEN], shown[INET6_ADDRSTRLEN];
	uint8_t masked[16];
	const char *slash;
	uint64_t p;
	size_t hlen, alen;
	unsigned max;

	if (text == NULL || *text == '\0') {
		errf(err, errlen, "an empty entry is not a CIDR");
		return ERR_INVAL;
	}
	memset(e, 0, sizeof(*e));
	slash = strchr(text, '/');
	hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		goto notcidr;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, e->addr) == 1) {
		e->family = AF_INET;
		alen = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, host, e->addr) == 1) {
		e->family = AF_INET6;
		alen = 16;
		max = 128;
	} else
		goto notcidr;
	if (slash == NULL)
		p = max;
	else if (strlen(slash + 1) > 3 || parse_u64(slash + 1, &p) != 0)
		goto notcidr;
	else if (p > max) {
		errf(err, errlen, "\"%s\": prefix /%llu is longer than %s's "
		    "/%u", text, (unsigned long long)p, e->family == AF_INET ?
		    "IPv4" : "IPv6", max);
		return ERR_INVAL;
	}
	e->prefix = (unsigned)p;
	memcpy(masked, e->addr, alen);
	acl_mask(masked, alen, e->prefix);
	if (memcmp(masked, e->addr, alen) != 0) {
		(void)inet_ntop(e->family, masked, shown, sizeof(shown));
		errf(err, errlen, "\"%s\" has bits set beyond /%u (%s/%u?)",
		    text, e->prefix, shown, e->prefix);
		return ERR_INVAL;
	}
	/* ::ffff:a.b.c.d/96+n is a.b.c.d/n: mapped clients are IPv4. */
	if (e->family == AF_INET6 && e->prefix >= 96 &&
	    memcmp(e->addr, mapped, sizeof(mapped)) == 0) {
		memmove(e->addr, e->addr + 12, 4);
		memset(e->addr + 4, 0, 12);
		e->family = AF_INET;
		e->prefix -= 96;
	}
	return 0;
notcidr:
	errf(err, errlen, "\"%s\" is not an IPv4 or IPv6 CIDR (ADDR/PREFIX, "
	    "or ADDR alone for one address)", text);
	return ERR_INVAL;
}

struct dns_acl *
dns_acl_new(char *const *v, size_t n, const char *vip_range,
    const char *vip_range6, char *err, size_t errlen)
{
	struct dns_acl *acl;
	struct in_addr net;
	unsigned prefix;
	size_t i;

	if ((acl = calloc(1, sizeof(*acl))) == NULL ||
	    (n > 0 && (acl->e = calloc(n + 1, sizeof(*acl->e))) == NULL)) {
		free(acl);
		errf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct dns_acl_entry *e = &acl->e[acl->n];

		if (v[i] == NULL || strcmp(v[i], DNS_ACL_VIP_RANGE) != 0) {
			if (dns_acl_parse(v[i], e, err, errlen) != 0) {
				dns_acl_free(acl);
				return NULL;
			}
			acl->n++;
			continue;
		}
		/* At most once: the IPv6 range takes the spare entry. */
		if (vip_range6 != NULL && *vip_range6 != '\0') {
			if (dns_acl_parse(vip_range6, e, err, errlen) != 0) {
				dns_acl_free(acl);
				return NULL;
			}
			acl->n++;
			e = &acl->e[acl->n];
			vip_range6 = NULL;
		}
		if (vip_range == NULL || *vip_range == '\0')
			continue;
		if (parse_cidr4(vip_range, &net, &prefix) != 0) {
			errf(err, errlen, "%s: \"%s\" is not an IPv4 CIDR",
			    DNS_ACL_VIP_RANGE, vip_range);
			dns_acl_free(acl);
			return NULL;
		}
		e->family = AF_INET;
		memcpy(e->addr, &net.s_addr, 4);
		e->prefix = prefix;
		acl_mask(e->addr, 4, prefix);
		acl->n++;
	}
	return acl;
}

void
dns_acl_free(struct dns_acl *acl)
{
	if (acl == NULL)
		return;
	free(acl->e);
	free(acl);
}

bool
dns_acl_match(const struct dns_acl *acl, const struct sockaddr *sa)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	const uint8_t *a;
	int family;
	size_t i;

	if (acl == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		s4 = (const struct sockaddr_in *)(const void *)sa;
		a = (const uint8_t *)&s4->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		family = AF_INET6;
		a = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			family = AF_INET;
			a += 12;
		}
	} else
		return false;
	for (i = 0; i < acl->n; i++)
		if (acl->e[i].family == family &&
		    acl_bits_eq(acl->e[i].addr, a, acl->e[i].prefix))
			return true;
	return false;
}
