/* SPDX-License-Identifier: MIT */
/* nftmap.c -- the endpoint maps' elements, as text and as netlink bytes. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftmap.h"
#include "nftrules.h"
#include "registry.h"
#include "util.h"

/* The slot counts of the maps, in the order the rules try them. */
static const uint32_t classes[NFTMAP_NCLASSES] = { 1, 2, 3, 4, 5, 6, 7, 8,
    9, 10, 11, 12, 13, 14, 15, 16, 512, 2048, 8192, 65536 };

uint32_t
nftmap_class(size_t i)
{
	return i < NFTMAP_NCLASSES ? classes[i] : 0;
}

uint32_t
nftmap_slots(uint32_t n)
{
	size_t i;

	if (n <= 16)
		return n;
	for (i = 16; i < NFTMAP_NCLASSES - 1; i++)
		if (classes[i] / 16 >= n)
			break;
	return classes[i];
}

/* True when a map of m slots exists. */
static bool
is_class(uint32_t m)
{
	size_t i;

	for (i = 0; i < NFTMAP_NCLASSES; i++)
		if (classes[i] == m)
			return true;
	return false;
}

void
nftmap_share(uint32_t i, uint32_t n, uint32_t m, uint32_t *lo, uint32_t *hi)
{
	uint32_t q = m / n, r = m % n;

	*lo = i * q + (i < r ? i : r);
	*hi = *lo + q - (i < r ? 0 : 1);
}

static bool
served(const struct svc_endpoint *ep, bool v6)
{
	return (v6 ? !in6_is_unset(&ep->ip6) : ep->ip.s_addr != 0) &&
	    ep->port != 0;
}

static bool
same(const struct svc_endpoint *a, const struct svc_endpoint *b, bool v6)
{
	return a->port == b->port && (v6 ? memcmp(&a->ip6, &b->ip6,
	    sizeof(a->ip6)) == 0 : a->ip.s_addr == b->ip.s_addr);
}

/* True when an earlier entry of r has ep's address and port. */
static bool
dup_before(const struct svc_ready *r, uint32_t i, bool v6)
{
	uint32_t j;

	for (j = 0; j < i; j++)
		if (served(&r->v[j], v6) && same(&r->v[j], &r->v[i], v6))
			return true;
	return false;
}

int
nftmap_port(const char *key, const struct svc_ready *r, bool v6,
    struct nftrules_state *now)
{
	char buf[NFTRULES_NAME_MAX + 64], a[INET6_ADDRSTRLEN];
	uint32_t i, k, n = 0, m, lo, hi, slot;

	if (nftrules_state_add(now, v6 ? 'V' : 'v', key) < 0)
		return ERR_NOMEM;
	for (i = 0; r != NULL && i < r->n; i++)
		if (served(&r->v[i], v6) && !dup_before(r, i, v6))
			n++;
	if (n > NFTMAP_SLOTS_MAX)
		n = NFTMAP_SLOTS_MAX;
	m = nftmap_slots(n);
	if (n == 0)
		return nftrules_state_add(now, v6 ? 'R' : 'r', key) < 0 ?
		    ERR_NOMEM : 0;
	for (i = 0, k = 0; i < r->n && k < n; i++) {
		const struct svc_endpoint *ep = &r->v[i];

		if (!served(ep, v6) || dup_before(r, i, v6))
			continue;
		nftmap_share(k++, n, m, &lo, &hi);
		if (v6)
			inet_ntop(AF_INET6, &ep->ip6, a, sizeof(a));
		else
			inet4_str(ep->ip, a);
		for (slot = lo; slot <= hi; slot++) {
			snprintf(buf, sizeof(buf), "%" PRIu32 "|%s . %" PRIu32
			    " : %s . %u", m, key, slot, a, (unsigned)ep->port);
			if (nftrules_state_add(now, v6 ? 'E' : 'e', buf) < 0)
				return ERR_NOMEM;
		}
		snprintf(buf, sizeof(buf), "%s . %s . %u", key, a,
		    (unsigned)ep->port);
		if (nftrules_state_add(now, v6 ? 'K' : 'k', buf) < 0)
			return ERR_NOMEM;
	}
	return 0;
}

const char *
nftmap_set_of(const char *entry, char *buf, size_t len)
{
	unsigned long m;

	if ((entry[0] != 'e' && entry[0] != 'E') || entry[1] != ':')
		return entry[0] != '\0' && entry[1] == ':' ?
		    nftmap_set(entry[0]) : NULL;
	m = strtoul(entry + 2, NULL, 10);
	snprintf(buf, len, "%s-%lu", nftmap_set(entry[0]), m);
	return buf;
}

const char *
nftmap_text(const char *entry)
{
	const char *bar;

	if ((entry[0] == 'e' || entry[0] == 'E') &&
	    (bar = strchr(entry, '|')) != NULL)
		return bar + 1;
	return entry + 2;
}

const char *
nftmap_set(char kind)
{
	switch (kind) {
	case 'r':
		return "no-endpoints";
	case 'R':
		return "no-endpoints6";
	case 'v':
		return "vip-ports";
	case 'V':
		return "vip-ports6";
	case 'e':
		return "endpoints";
	case 'E':
		return "endpoints6";
	case 'k':
		return "endpoint-counters";
	case 'K':
		return "endpoint-counters6";
	}
	return NULL;
}

/* An address into its register(s); the length written, or 0. */
static size_t
put_addr(const char *s, bool v6, uint8_t *p)
{
	return inet_pton(v6 ? AF_INET6 : AF_INET, s, p) == 1 ? (v6 ? 16 : 4) :
	    0;
}

/* A port in network order, padded to its register. */
static void
put_port(unsigned port, uint8_t *p)
{
	p[0] = (uint8_t)(port >> 8);
	p[1] = (uint8_t)port;
	p[2] = p[3] = 0;
}

/* The slot: numgen's register, in host order. */
static void
put_slot(uint32_t v, uint8_t *p)
{
	memcpy(p, &v, sizeof(v));
}

int
nftmap_encode(const char *entry, bool add, struct nftmap_elem *e)
{
	char vip[INET6_ADDRSTRLEN + 1], ep[INET6_ADDRSTRLEN + 1], proto[8];
	unsigned port, ep_port;
	uint32_t m, slot;
	const char *set;
	bool v6;
	size_t n;
	int got;

	memset(e, 0, sizeof(*e));
	if (entry[0] == '\0' || entry[1] != ':' ||
	    (set = nftmap_set_of(entry, e->set, sizeof(e->set))) == NULL)
		return ERR_INVAL;
	if (set != e->set)
		strlcpy(e->set, set, sizeof(e->set));
	e->add = add;
	v6 = entry[0] >= 'A' && entry[0] <= 'Z';
	if (entry[0] == 'e' || entry[0] == 'E')
		got = sscanf(entry + 2, "%" SCNu32 "|%46s . %7s . %u . %"
		    SCNu32 " : %46s . %u", &m, vip, proto, &port, &slot, ep,
		    &ep_port) == 7 ? 0 : ERR_INVAL;
	else if (entry[0] == 'k' || entry[0] == 'K')
		got = sscanf(entry + 2, "%46s . %7s . %u . %46s . %u", vip,
		    proto, &port, ep, &ep_port) == 5 ? 0 : ERR_INVAL;
	else
		got = sscanf(entry + 2, "%46s . %7s . %u", vip, proto,
		    &port) == 3 ? 0 : ERR_INVAL;
	if (got != 0 || port > 65535 || (n = put_addr(vip, v6, e->key)) == 0)
		return ERR_INVAL;
	memset(e->key + n, 0, 4);
	if (strcmp(proto, "tcp") == 0)
		e->key[n] = 6;
	else if (strcmp(proto, "udp") == 0)
		e->key[n] = 17;
	else
		return ERR_INVAL;
	put_port(port, e->key + n + 4);
	e->klen = n + 8;
	if (entry[0] == 'k' || entry[0] == 'K') {
		if (ep_port > 65535 || put_addr(ep, v6, e->key + e->klen) == 0)
			return ERR_INVAL;
		put_port(ep_port, e->key + e->klen + n);
		e->klen += n + 4;
		return 0;
	}
	if (entry[0] != 'e' && entry[0] != 'E')
		return 0;
	if (slot >= m || !is_class(m) || ep_port > 65535 ||
	    put_addr(ep, v6, e->data) == 0)
		return ERR_INVAL;
	put_slot(slot, e->key + e->klen);
	e->klen += 4;
	put_port(ep_port, e->data + n);
	e->dlen = n + 4;
	return 0;
}
