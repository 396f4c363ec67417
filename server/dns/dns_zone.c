/* SPDX-License-Identifier: MIT */
/* dns_zone.c -- answers for the cluster zone and its reverse zone, from the registry. */
#include "config.h"

#include <sys/types.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"
#include "util.h"
#include "dns_wire.h"
#include "dns_zone.h"

#define ZONE_MAX_RRS		4096	/* records of one answer (64 KiB / 16) */
#define ZONE_NAME_MAX		(DNS_MAX_NAME + 1)
#define ZONE_KEY_MAX		(2 * 64 + 2)

struct dns_zone {
	struct registry	*reg;
	char		 domain[ZONE_NAME_MAX];
	size_t		 ndomain;	/* labels */
	char		 rev[ZONE_NAME_MAX];	/* "96.127.in-addr.arpa" or "" */
	size_t		 nrev;
	char		 rev6[ZONE_NAME_MAX];	/* "...6.9.0.0.d.f.ip6.arpa" or "" */
	size_t		 nrev6;
	uint32_t	 vip_net;	/* host order */
	uint32_t	 vip_mask;
	bool		 has_range;
	uint32_t	 ttl;
	uint32_t	 negttl;
	size_t		 edns;
	struct in_addr	 ns_addr;
	uint16_t	 flags;		/* AA, RA */
	enum dns_zone_short short_names;
	uint32_t	 serial;
	uint64_t	 rng;
	char		 chase[ZONE_NAME_MAX];	/* ExternalName target to chase */
	/* Addresses of one answer, gathered before they are written. */
	uint32_t	 a4[ZONE_MAX_RRS];	/* host order */
	size_t		 n4;
	struct in6_addr	 a6[ZONE_MAX_RRS];
	size_t		 n6;
};

/* One query being answered. */
struct zq {
	const struct dns_query	*q;
	char			 text[ZONE_NAME_MAX];
	const char		*lab[DNS_MAX_LABELS];
	size_t			 llen[DNS_MAX_LABELS];
	size_t			 n;
	struct dns_msg		 m;
	size_t			 maxlen;
	uint16_t		 rcode;
	/*
	 * The name lies outside both zones (a short form, an endpoint's
	 * reverse name): negative answers carry no SOA (see zq_negative).
	 */
	bool			 outside;
};

/*
 * A member of a headless service that DNS names (pod_published), with
 * its hostname for that service.
 */
struct zone_ep {
	const struct pod	*pod;
	const char		*host;	/* NULL: the dashed address */
	enum ip_family		 fam;	/* which address of the pod */
};

/* Which ports an SRV answer lists: all (name NULL), or one name and proto. */
struct zone_portsel {
	const char	*name;		/* not NUL-terminated */
	size_t		 len;
	enum cip_proto	 proto;
};

static void	zone_event_cb(enum registry_event, const struct service *,
    const struct pod *, void *);
static size_t	zone_count_labels(const char *);
static bool	zone_short_ok(const struct dns_zone *, size_t);
static bool	zq_lab_eq(const struct zq *, size_t, const char *);
static bool	zq_under(const struct zq *, const char *, size_t);
static size_t	zq_lab_copy(const struct zq *, size_t, char *, size_t);
static void	zq_begin(struct dns_zone *, struct zq *, uint8_t *, size_t,
    uint16_t);
static size_t	zq_finish(struct dns_zone *, struct zq *);
static size_t	zq_negative(struct dns_zone *, struct zq *, uint8_t *, size_t,
    uint16_t, const char *);
static void	zone_shuffle(struct dns_zone *, uint32_t *, size_t);
static size_t	zone_endpoints(const struct service *, struct zone_ep *,
    size_t);
static int	zone_ep_cmp(const void *, const void *);
static bool	zone_ep_same_name(const struct zone_ep *,
    const struct zone_ep *);
static void	zone_gather(struct dns_zone *, const struct zone_ep *, uint16_t);
static size_t	zone_emit(struct dns_zone *, struct zq *, const char *);
static bool	zone_svc_fqdn(const struct dns_zone *, const struct service *,
    char *, size_t);
static bool	zone_join(char *, size_t, const char *, const char *);
static bool	zone_endpoint_label(const struct zone_ep *, char *, size_t);
static bool	zone_endpoint_fqdn(const struct zone_ep *, const char *, char *,
    size_t);
static size_t	zone_endpoint_a(struct dns_zone *, struct zq *, uint8_t *,
    size_t, const struct service *);
static size_t	zone_service_srv(struct dns_zone *, struct zq *, uint8_t *,
    size_t, const struct service *);
static size_t	zone_ep_ports(const struct service *, const struct pod *,
    const struct zone_portsel *, uint16_t *, size_t, size_t);
static bool	zone_ep_has_proto(const struct service *, enum cip_proto);
static size_t	zone_headless_srv(struct dns_zone *, struct zq *, uint8_t *,
    size_t, const struct service *, const struct zone_portsel *);
static bool	zone_port_seen(const struct service *, size_t, uint16_t);
static void	zone_vip_additional(struct dns_zone *, struct zq *,
    const struct service *, const char *);
static bool	zone_ep_same_addr(const struct zone_ep *,
    const struct zone_ep *);
static int	zone_in6_cmp(const void *, const void *);
static size_t	zone_service(struct dns_zone *, struct zq *, uint8_t *, size_t,
    const struct service *);
static size_t	zone_cluster(struct dns_zone *, struct zq *, uint8_t *, size_t);
static size_t	zone_srv(struct dns_zone *, struct zq *, uint8_t *, size_t,
    const struct service *, const struct svc_port *);
static bool	zq_reverse_addr(const struct zq *, struct in_addr *);
static bool	zq_reverse_addr6(const struct zq *, struct in6_addr *);
static bool	zone_ptr_seen(enum ip_family, const struct pod *,
    const struct pod *,
    const struct service *, const char *);
static size_t	zone_ptr(struct dns_zone *, struct zq *, uint8_t *, size_t,
    enum ip_family, struct in_addr, const struct in6_addr *, bool);

struct dns_zone *
dns_zone_new(struct registry *reg, const struct dns_zone_conf *zc)
{
	struct dns_zone *z;
	struct in_addr net;
	unsigned prefix, octets, i;
	uint32_t n;
	size_t o;
	const char *d;

	if (zc->domain == NULL)
		return NULL;
	d = zc->domain;
	if (*d == '.')
		return NULL;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	z->reg = reg;
	for (o = 0; d[o] != '\0' && o < sizeof(z->domain) - 1; o++)
		z->domain[o] = (char)(d[o] >= 'A' && d[o] <= 'Z' ?
		    d[o] - 'A' + 'a' : d[o]);
	while (o > 0 && z->domain[o - 1] == '.')
		o--;
	z->domain[o] = '\0';
	if (o == 0 || (d[o] != '\0' && d[o] != '.'))
		goto fail;
	z->ndomain = zone_count_labels(z->domain);
	if (zc->vip_range != NULL && *zc->vip_range != '\0') {
		if (parse_cidr4(zc->vip_range, &net, &prefix) != 0 ||
		    prefix < 8 || prefix > 32)
			goto fail;
		z->has_range = true;
		z->vip_mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
		z->vip_net = ntohl(net.s_addr) & z->vip_mask;
		/* The reverse zone: the octets the prefix fixes entirely. */
		octets = prefix / 8;
		n = z->vip_net;
		o = 0;
		for (i = octets; i > 0; i--)
			o += (size_t)snprintf(z->rev + o, sizeof(z->rev) - o,
			    "%u.", (n >> (32 - 8 * i)) & 0xff);
		(void)snprintf(z->rev + o, sizeof(z->rev) - o, "in-addr.arpa");
		z->nrev = zone_count_labels(z->rev);
	}
	if (zc->vip_range6 != NULL && *zc->vip_range6 != '\0') {
		struct in6_addr net6;

		if (parse_cidr6(zc->vip_range6, &net6, &prefix) != 0 ||
		    prefix < 8 || prefix > 128)
			goto fail;
		/* The nibbles the prefix fixes entirely, lowest first. */
		o = 0;
		for (i = prefix / 4; i > 0; i--) {
			unsigned b = net6.s6_addr[(i - 1) / 2];
			o += (size_t)snprintf(z->rev6 + o, sizeof(z->rev6) - o,
			    "%x.", (i - 1) % 2 ? b & 0xf : b >> 4);
		}
		(void)snprintf(z->rev6 + o, sizeof(z->rev6) - o, "ip6.arpa");
		z->nrev6 = zone_count_labels(z->rev6);
	}
	z->ttl = zc->ttl_s;
	z->negttl = zc->negative_ttl_s;
	z->edns = zc->edns_payload;
	z->ns_addr = zc->ns_addr;
	z->flags = DNS_FLAG_AA | (zc->recursion ? DNS_FLAG_RA : 0);
	z->short_names = zc->short_names;
	z->serial = zc->serial != 0 ? zc->serial : (uint32_t)time(NULL);
#ifdef HAVE_ARC4RANDOM_BUF
	arc4random_buf(&z->rng, sizeof(z->rng));
#else
	z->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
#endif
	z->rng |= 1;
	if (reg != NULL && registry_subscribe(reg, zone_event_cb, z) != 0)
		goto fail;
	return z;
fail:
	free(z);
	return NULL;
}

int
dns_zone_short_parse(const char *text)
{
	if (text == NULL)
		return -1;
	if (strcmp(text, "all") == 0)
		return DNS_ZONE_SHORT_ALL;
	if (strcmp(text, "single-label") == 0)
		return DNS_ZONE_SHORT_SINGLE;
	if (strcmp(text, "off") == 0)
		return DNS_ZONE_SHORT_OFF;
	return -1;
}

/*
 * True when a short form of n labels (1: S, 2: S.N, 3: S.N.svc) is
 * answered. single-label keeps S, which no public name can be, and
 * S.N.svc, under a "svc" TLD that does not exist; it gives S.N back to
 * the upstreams, where a namespace named like a TLD would shadow them.
 */
static bool
zone_short_ok(const struct dns_zone *z, size_t n)
{
	switch (z->short_names) {
	case DNS_ZONE_SHORT_ALL:
		return n >= 1 && n <= 3;
	case DNS_ZONE_SHORT_SINGLE:
		return n == 1 || n == 3;
	case DNS_ZONE_SHORT_OFF:
	default:
		return false;
	}
}

void
dns_zone_free(struct dns_zone *z)
{
	if (z == NULL)
		return;
	if (z->reg != NULL)
		registry_unsubscribe(z->reg, zone_event_cb, z);
	free(z);
}

uint32_t
dns_zone_serial(const struct dns_zone *z)
{
	return z->serial;
}

/* --- registry events ------------------------------------------------- */

/* Answers come from the registry itself: a change only moves the serial. */
static void
zone_event_cb(enum registry_event ev, const struct service *svc,
    const struct pod *pod, void *arg)
{
	struct dns_zone *z = arg;

	(void)ev;
	(void)svc;
	(void)pod;
	z->serial++;
}

/* --- names ---------------------------------------------------------------- */

static size_t
zone_count_labels(const char *s)
{
	size_t n = 1;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s == '.')
			n++;
	return n;
}

static bool
zq_lab_eq(const struct zq *zq, size_t i, const char *s)
{
	size_t l = strlen(s);

	return zq->llen[i] == l && memcmp(zq->lab[i], s, l) == 0;
}

/* True when the name ends in (or is) the nlab labels of apex. */
static bool
zq_under(const struct zq *zq, const char *apex, size_t nlab)
{
	if (nlab == 0 || zq->n < nlab)
		return false;
	return strcmp(zq->lab[zq->n - nlab], apex) == 0;
}

/* Copies label i as a C string; returns its length, 0 if it does not fit. */
static size_t
zq_lab_copy(const struct zq *zq, size_t i, char *buf, size_t len)
{
	if (zq->llen[i] + 1 > len)
		return 0;
	memcpy(buf, zq->lab[i], zq->llen[i]);
	buf[zq->llen[i]] = '\0';
	return zq->llen[i];
}

/* Writes "S.N.svc.<domain>"; false when it does not fit (never a valid name). */
static bool
zone_svc_fqdn(const struct dns_zone *z, const struct service *svc, char *buf,
    size_t len)
{
	const char *parts[4] = { svc->name, svc->ns, "svc", z->domain };
	size_t i, l, o = 0;

	for (i = 0; i < 4; i++) {
		l = strlen(parts[i]);
		if (o + l + 1 > len)
			return false;
		memcpy(buf + o, parts[i], l);
		o += l;
		buf[o++] = i < 3 ? '.' : '\0';
	}
	return true;
}

/* Writes "a.b"; false when it does not fit. */
static bool
zone_join(char *buf, size_t len, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + 1 + lb + 1 > len)
		return false;
	memcpy(buf, a, la);
	buf[la] = '.';
	memcpy(buf + la + 1, b, lb + 1);
	return true;
}

/*
 * The label of an endpoint: its hostname when it has one, else
 * CoreDNS's dashed address ("10-0-0-1", "fd00--1"). False when it does
 * not fit.
 */
static bool
zone_endpoint_label(const struct zone_ep *ep, char *buf, size_t len)
{
	uint32_t a = ntohl(ep->pod->ip.s_addr);
	char d6[INET6_ADDRSTRLEN];
	int n;

	if (ep->host != NULL)
		return strlcpy(buf, ep->host, len) < len;
	if (ep->fam == IP_FAMILY_V6)
		return strlcpy(buf, in6_dashed(&ep->pod->ip6, d6, sizeof(d6)),
		    len) < len;
	n = snprintf(buf, len, "%u-%u-%u-%u", a >> 24, (a >> 16) & 0xff,
	    (a >> 8) & 0xff, a & 0xff);
	return n > 0 && (size_t)n < len;
}

/*
 * The name of an endpoint ("web-0.S.N.svc.D", "10-0-0-1.S.N.svc.D")
 * under its service's name svc_fqdn; the single place endpoint names
 * are made. False when it does not fit.
 */
static bool
zone_endpoint_fqdn(const struct zone_ep *ep, const char *svc_fqdn, char *buf,
    size_t len)
{
	char label[64];

	return zone_endpoint_label(ep, label, sizeof(label)) &&
	    zone_join(buf, len, label, svc_fqdn);
}

/* By name (hostnames after dashed addresses), then family, address. */
static int
zone_ep_cmp(const void *a, const void *b)
{
	const struct zone_ep *x = a, *y = b;
	uint32_t ix = ntohl(x->pod->ip.s_addr), iy = ntohl(y->pod->ip.s_addr);
	int c;

	if ((x->host == NULL) != (y->host == NULL))
		return x->host == NULL ? -1 : 1;
	if (x->host != NULL && (c = strcmp(x->host, y->host)) != 0)
		return c;
	if (x->fam != y->fam)
		return x->fam == IP_FAMILY_V4 ? -1 : 1;
	if (x->fam == IP_FAMILY_V6)
		return memcmp(&x->pod->ip6, &y->pod->ip6, sizeof(x->pod->ip6));
	if (ix != iy)
		return ix < iy ? -1 : 1;
	return 0;
}

/* True when two endpoints have one address (family and value). */
static bool
zone_ep_same_addr(const struct zone_ep *x, const struct zone_ep *y)
{
	if (x->fam != y->fam)
		return false;
	if (x->fam == IP_FAMILY_V6)
		return memcmp(&x->pod->ip6, &y->pod->ip6,
		    sizeof(x->pod->ip6)) == 0;
	return x->pod->ip.s_addr == y->pod->ip.s_addr;
}

/* True when two endpoints have one name (adjacent once sorted). */
static bool
zone_ep_same_name(const struct zone_ep *x, const struct zone_ep *y)
{
	if (x->host != NULL || y->host != NULL)
		return x->host != NULL && y->host != NULL &&
		    strcmp(x->host, y->host) == 0;
	return zone_ep_same_addr(x, y);
}

/*
 * The addresses of the members of svc that DNS names, one endpoint per
 * address of a family the service has (as Kubernetes keeps an
 * EndpointSlice per family), at most max, sorted with zone_ep_cmp so
 * that endpoints of one name are adjacent.
 */
static size_t
zone_endpoints(const struct service *svc, struct zone_ep *out, size_t max)
{
	static const enum ip_family fams[] = { IP_FAMILY_V4, IP_FAMILY_V6 };
	const struct pod *pod;
	size_t i, f, n = 0;

	for (i = 0; i < svc->nmembers && n < max; i++) {
		pod = svc->members[i];
		if (!pod_published(pod, svc))
			continue;
		for (f = 0; f < CIP_ARRAY_LEN(fams) && n < max; f++) {
			if (!pod_has_family(pod, fams[f]) ||
			    !service_has_family(svc, fams[f]))
				continue;
			out[n].pod = pod;
			out[n].host = pod_endpoint_hostname(pod, svc);
			out[n].fam = fams[f];
			n++;
		}
	}
	qsort(out, n, sizeof(*out), zone_ep_cmp);
	return n;
}

/* --- answers -------------------------------------------------------------- */

static void
zq_begin(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap,
    uint16_t rcode)
{
	zq->rcode = rcode;
	dns_msg_init(&zq->m, buf, cap, zq->q, rcode, z->flags);
}

static size_t
zq_finish(struct dns_zone *z, struct zq *zq)
{
	return dns_msg_finish(&zq->m, zq->maxlen, z->edns);
}

/*
 * NXDOMAIN or NODATA (NOERROR) with the apex's SOA in authority.
 *
 * An SOA in a negative answer says "the zone at this owner holds no such
 * data" (RFC 2308 section 3), so its owner must be the query name or an
 * ancestor of it. A name outside both zones (the short forms S, S.N,
 * S.N.svc, or an endpoint's address under a reverse zone we do not hold)
 * has no ancestor we are the authority for: cluster.local's SOA under
 * "web." would be a lie that careful resolvers drop, and an SOA for the
 * root or "svc." would claim zones that are not ours. Such answers carry
 * no SOA at all, as CoreDNS's hosts plugin answers the single names it
 * serves outside any zone (NOERROR, aa, empty). RFC 2308 section 5: they
 * are then not cached, which suits names a search list tries.
 */
static size_t
zq_negative(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap,
    uint16_t rcode, const char *apex)
{
	zq_begin(z, zq, buf, cap, rcode);
	if (!zq->outside) {
		dns_msg_section(&zq->m, 1);
		dns_msg_add_soa(&zq->m, apex, z->negttl, z->serial,
		    z->negttl);
	}
	return zq_finish(z, zq);
}

static uint64_t
zone_rand(struct dns_zone *z)
{
	z->rng ^= z->rng >> 12;
	z->rng ^= z->rng << 25;
	z->rng ^= z->rng >> 27;
	return z->rng * 0x2545f4914f6cdd1dULL;
}

static void
zone_shuffle(struct dns_zone *z, uint32_t *v, size_t n)
{
	uint32_t t;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = (size_t)(zone_rand(z) % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static int
zone_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
zone_in6_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

/* Adds ep's address to the answer's when qt asks for its family. */
static void
zone_gather(struct dns_zone *z, const struct zone_ep *ep, uint16_t qt)
{
	if (ep->fam == IP_FAMILY_V4 && (qt == DNS_TYPE_A ||
	    qt == DNS_TYPE_ANY) && z->n4 < CIP_ARRAY_LEN(z->a4))
		z->a4[z->n4++] = ntohl(ep->pod->ip.s_addr);
	if (ep->fam == IP_FAMILY_V6 && (qt == DNS_TYPE_AAAA ||
	    qt == DNS_TYPE_ANY) && z->n6 < CIP_ARRAY_LEN(z->a6))
		z->a6[z->n6++] = ep->pod->ip6;
}

/*
 * Writes the gathered addresses, each once, in random order: pods
 * sharing an address (host network) give one record, as an RRset holds
 * no duplicates (RFC 2181 section 5). Returns how many were written.
 */
static size_t
zone_emit(struct dns_zone *z, struct zq *zq, const char *owner)
{
	struct in6_addr t6;
	struct in_addr a;
	size_t i, j, k4 = 0, k6 = 0;

	qsort(z->a4, z->n4, sizeof(z->a4[0]), zone_u32_cmp);
	for (i = 0; i < z->n4; i++)
		if (k4 == 0 || z->a4[k4 - 1] != z->a4[i])
			z->a4[k4++] = z->a4[i];
	zone_shuffle(z, z->a4, k4);
	qsort(z->a6, z->n6, sizeof(z->a6[0]), zone_in6_cmp);
	for (i = 0; i < z->n6; i++)
		if (k6 == 0 || memcmp(&z->a6[k6 - 1], &z->a6[i],
		    sizeof(t6)) != 0)
			z->a6[k6++] = z->a6[i];
	for (i = k6; i > 1; i--) {
		j = (size_t)(zone_rand(z) % i);
		t6 = z->a6[i - 1];
		z->a6[i - 1] = z->a6[j];
		z->a6[j] = t6;
	}
	for (i = 0; i < k4 && !zq->m.err; i++) {
		a.s_addr = htonl(z->a4[i]);
		dns_msg_add_a(&zq->m, owner, z->ttl, a);
	}
	for (i = 0; i < k6 && !zq->m.err; i++)
		dns_msg_add_aaaa(&zq->m, owner, z->ttl, &z->a6[i]);
	z->n4 = z->n6 = 0;
	return k4 + k6;
}

/* The service's own name (or a short form of it) as the question. */
static size_t
zone_service(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap,
    const struct service *svc)
{
	struct zone_ep eps[ZONE_MAX_RRS];
	char target[ZONE_NAME_MAX];
	uint16_t qt = zq->q->qtype;
	size_t i, n, l;

	switch (svc->type) {
	case SVC_EXTERNALNAME:
		if (svc->ext->external_name == NULL ||
		    (l = strlen(svc->ext->external_name)) == 0 ||
		    l >= sizeof(target))
			return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
			    z->domain);
		memcpy(target, svc->ext->external_name, l + 1);
		while (l > 0 && target[l - 1] == '.')
			target[--l] = '\0';
		zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
		dns_msg_add_name_rr(&zq->m, NULL, DNS_TYPE_CNAME, z->ttl,
		    target);
		/* The caller adds the target's records of the asked type. */
		if (qt != DNS_TYPE_CNAME && qt != DNS_TYPE_ANY)
			memcpy(z->chase, target, l + 1);
		return zq_finish(z, zq);
	case SVC_HEADLESS:
		n = zone_endpoints(svc, eps, CIP_ARRAY_LEN(eps));
		if (n == 0)
			return zq_negative(z, zq, buf, cap,
			    DNS_RCODE_NXDOMAIN, z->domain);
		if (qt == DNS_TYPE_SRV)
			return zone_service_srv(z, zq, buf, cap, svc);
		z->n4 = z->n6 = 0;
		for (i = 0; i < n; i++)
			zone_gather(z, &eps[i], qt);
		if (z->n4 + z->n6 == 0)
			break;
		zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
		(void)zone_emit(z, zq, NULL);
		return zq_finish(z, zq);
	case SVC_CLUSTERIP:
	default:
		if (qt == DNS_TYPE_SRV && svc->nports > 0)
			return zone_service_srv(z, zq, buf, cap, svc);
		/* A for the IPv4 VIP, AAAA for the IPv6 one. */
		if (!((qt == DNS_TYPE_A || qt == DNS_TYPE_ANY) &&
		    svc->vip.s_addr != 0) &&
		    !((qt == DNS_TYPE_AAAA || qt == DNS_TYPE_ANY) &&
		    !in6_is_unset(&svc->ext->vip6)))
			break;
		zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
		if (qt != DNS_TYPE_AAAA && svc->vip.s_addr != 0)
			dns_msg_add_a(&zq->m, NULL, z->ttl, svc->vip);
		if (qt != DNS_TYPE_A && !in6_is_unset(&svc->ext->vip6))
			dns_msg_add_aaaa(&zq->m, NULL, z->ttl, &svc->ext->vip6);
		return zq_finish(z, zq);
	}
	return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR, z->domain);
}

/* The VIPs of svc, A and AAAA, in the additional section under fqdn. */
static void
zone_vip_additional(struct dns_zone *z, struct zq *zq,
    const struct service *svc, const char *fqdn)
{
	if (svc->vip.s_addr == 0 && in6_is_unset(&svc->ext->vip6))
		return;
	dns_msg_section(&zq->m, 2);
	if (svc->vip.s_addr != 0)
		dns_msg_add_a(&zq->m, fqdn, z->ttl, svc->vip);
	if (!in6_is_unset(&svc->ext->vip6))
		dns_msg_add_aaaa(&zq->m, fqdn, z->ttl, &svc->ext->vip6);
}

/* True when port p of svc repeats an earlier one's number. */
static bool
zone_port_seen(const struct service *svc, size_t p, uint16_t port)
{
	size_t i;

	for (i = 0; i < p; i++)
		if (svc->ports[i].port == port)
			return true;
	return false;
}

/*
 * SRV on the service's own name, as CoreDNS answers it: one record per
 * port of the service ("0 100 PORT S.N.svc.D."), the VIP in additional;
 * a headless service's come from zone_headless_srv. A port number that
 * repeats (TCP and UDP alike) gives one record: an RRset holds no
 * duplicates (RFC 2181 section 5).
 */
static size_t
zone_service_srv(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap,
    const struct service *svc)
{
	char fqdn[ZONE_NAME_MAX];
	uint16_t port;
	size_t p, len;

	if (svc->type == SVC_HEADLESS) {
		if ((len = zone_headless_srv(z, zq, buf, cap, svc, NULL)) != 0)
			return len;
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
		    z->domain);
	}
	if (!zone_svc_fqdn(z, svc, fqdn, sizeof(fqdn)))
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
		    z->domain);
	zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
	for (p = 0; p < svc->nports && !zq->m.err; p++) {
		port = svc->ports[p].port;
		if (!zone_port_seen(svc, p, port))
			dns_msg_add_srv(&zq->m, NULL, z->ttl, 0, 100, port,
			    fqdn);
	}
	zone_vip_additional(z, zq, svc, fqdn);
	return zq_finish(z, zq);
}

/*
 * Appends to out[n..max) the port numbers of endpoint pod of headless
 * svc that sel selects (NULL: all) and out[0..n) lacks: the service's
 * ports as the pod serves them, or the pod's own (an Endpoints
 * object's, a Pod's containerPorts) when the service lists none.
 * Returns the new count.
 */
static size_t
zone_ep_ports(const struct service *svc, const struct pod *pod,
    const struct zone_portsel *sel, uint16_t *out, size_t n, size_t max)
{
	const char *name;
	enum cip_proto proto;
	uint16_t port;
	size_t i, k, count;

	count = svc->nports > 0 ? svc->nports : pod->nports;
	for (i = 0; i < count && n < max; i++) {
		if (svc->nports > 0) {
			name = svc->ports[i].name;
			proto = svc->ports[i].proto;
			if ((port = pod_target_port(pod, &svc->ports[i])) == 0)
				port = svc->ports[i].port;
		} else {
			name = pod->ports[i].name;
			proto = pod->ports[i].proto;
			port = pod->ports[i].port;
		}
		if (sel != NULL && (name == NULL || proto != sel->proto ||
		    strlen(name) != sel->len ||
		    memcmp(name, sel->name, sel->len) != 0))
			continue;
		for (k = 0; k < n && out[k] != port; k++)
			continue;
		if (k == n)
			out[n++] = port;
	}
	return n;
}

/*
 * True when a published endpoint of headless svc, which lists no ports
 * itself, has a named port of proto: "_proto.S.N.svc" exists then.
 */
static bool
zone_ep_has_proto(const struct service *svc, enum cip_proto proto)
{
	const struct pod *pod;
	size_t i, k;

	for (i = 0; i < svc->nmembers; i++) {
		pod = svc->members[i];
		if (!pod_published(pod, svc))
			continue;
		for (k = 0; k < pod->nports; k++)
			if (pod->ports[k].name != NULL &&
			    pod->ports[k].proto == proto)
				return true;
	}
	return false;
}

/*
 * SRV of a headless service (CoreDNS): one record per endpoint name and
 * port that sel selects (NULL: every port), "0 100 PORT NAME.S.N.svc.D."
 * with the endpoints' names as targets and their addresses in
 * additional. Endpoints sharing a hostname share their records: one per
 * port, one A per address. Names in random order. Returns 0, writing
 * nothing, when no record matches; a question of another type gets
 * NODATA.
 */
static size_t
zone_headless_srv(struct dns_zone *z, struct zq *zq, uint8_t *buf,
    size_t cap, const struct service *svc, const struct zone_portsel *sel)
{
	struct zone_ep eps[ZONE_MAX_RRS / 2];
	uint32_t groups[ZONE_MAX_RRS / 2];	/* first endpoint of a name */
	bool listed[ZONE_MAX_RRS / 2];
	uint16_t ports[1024];
	char fqdn[ZONE_NAME_MAX], target[ZONE_NAME_MAX];
	uint16_t qt = zq->q->qtype;
	size_t i, g, e, end, n, ng = 0, np, total = 0;

	if (!zone_svc_fqdn(z, svc, fqdn, sizeof(fqdn)))
		return 0;
	n = zone_endpoints(svc, eps, CIP_ARRAY_LEN(eps));
	for (i = 0; i < n; i++)
		if (i == 0 || !zone_ep_same_name(&eps[i - 1], &eps[i]))
			groups[ng++] = (uint32_t)i;
	for (g = 0; g < ng && total == 0; g++) {
		end = g + 1 < ng ? groups[g + 1] : n;
		for (e = groups[g]; e < end && total == 0; e++)
			total = zone_ep_ports(svc, eps[e].pod, sel, ports, 0,
			    CIP_ARRAY_LEN(ports));
	}
	if (total == 0)
		return 0;
	if (qt != DNS_TYPE_SRV && qt != DNS_TYPE_ANY)
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
		    z->domain);
	zone_shuffle(z, groups, ng);
	zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
	for (g = 0; g < ng && !zq->m.err; g++) {
		e = groups[g];
		listed[g] = false;
		if (!zone_endpoint_fqdn(&eps[e], fqdn, target, sizeof(target)))
			continue;
		for (np = 0; e < n && (e == groups[g] ||
		    zone_ep_same_name(&eps[e - 1], &eps[e])); e++)
			np = zone_ep_ports(svc, eps[e].pod, sel, ports, np,
			    CIP_ARRAY_LEN(ports));
		for (i = 0; i < np && !zq->m.err; i++)
			dns_msg_add_srv(&zq->m, NULL, z->ttl, 0, 100, ports[i],
			    target);
		listed[g] = np > 0;
	}
	dns_msg_section(&zq->m, 2);
	for (g = 0; g < ng && !zq->m.err; g++) {
		e = groups[g];
		if (!listed[g] || !zone_endpoint_fqdn(&eps[e], fqdn, target,
		    sizeof(target)))
			continue;
		/* A and AAAA of the name, each address once. */
		for (; e < n && (e == groups[g] ||
		    zone_ep_same_name(&eps[e - 1], &eps[e])); e++) {
			if (e != groups[g] &&
			    zone_ep_same_addr(&eps[e - 1], &eps[e]))
				continue;
			if (eps[e].fam == IP_FAMILY_V6)
				dns_msg_add_aaaa(&zq->m, target, z->ttl,
				    &eps[e].pod->ip6);
			else
				dns_msg_add_a(&zq->m, target, z->ttl,
				    eps[e].pod->ip);
		}
	}
	return zq_finish(z, zq);
}

/* _port._proto.S.N.svc: the service port sp. */
static size_t
zone_srv(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap,
    const struct service *svc, const struct svc_port *sp)
{
	struct zone_portsel sel;
	char fqdn[ZONE_NAME_MAX];
	uint16_t qt = zq->q->qtype;
	size_t len;

	if (svc->type == SVC_HEADLESS) {
		sel.name = sp->name;
		sel.len = strlen(sp->name);
		sel.proto = sp->proto;
		if ((len = zone_headless_srv(z, zq, buf, cap, svc, &sel)) != 0)
			return len;
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NXDOMAIN,
		    z->domain);
	}
	if (!zone_svc_fqdn(z, svc, fqdn, sizeof(fqdn)))
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NXDOMAIN,
		    z->domain);
	if (qt != DNS_TYPE_SRV && qt != DNS_TYPE_ANY)
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
		    z->domain);
	zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
	dns_msg_add_srv(&zq->m, NULL, z->ttl, 0, 100, sp->port, fqdn);
	zone_vip_additional(z, zq, svc, fqdn);
	return zq_finish(z, zq);
}

/*
 * NAME.S.N.svc of headless svc: one A per address of the endpoints
 * named NAME (a hostname, shared or not, or a dashed address), or of
 * the member pod called NAME (kept for the clients that learnt pod
 * names). NXDOMAIN when none.
 */
static size_t
zone_endpoint_a(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap,
    const struct service *svc)
{
	struct zone_ep eps[ZONE_MAX_RRS];
	char label[64];
	uint16_t qt = zq->q->qtype;
	size_t i, n, k = 0;

	z->n4 = z->n6 = 0;
	n = zone_endpoints(svc, eps, CIP_ARRAY_LEN(eps));
	for (i = 0; i < n; i++)
		if (zone_endpoint_label(&eps[i], label, sizeof(label)) &&
		    zq_lab_eq(zq, 0, label)) {
			zone_gather(z, &eps[i], qt);
			k++;
		}
	for (i = 0; i < n && k == 0; i++)
		if (zq_lab_eq(zq, 0, eps[i].pod->name)) {
			zone_gather(z, &eps[i], qt);
			k++;
		}
	if (k == 0)
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NXDOMAIN,
		    z->domain);
	/* The name exists; no address of the asked family: NODATA. */
	if (z->n4 + z->n6 == 0)
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
		    z->domain);
	zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
	(void)zone_emit(z, zq, NULL);
	return zq_finish(z, zq);
}

/* A name under the cluster domain; r relative labels before it. */
static size_t
zone_cluster(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap)
{
	const struct service *svc;
	const struct svc_port *sp;
	struct zone_portsel sel;
	char key[ZONE_KEY_MAX], ns[64], fqdn[ZONE_NAME_MAX];
	size_t r = zq->n - z->ndomain, i, l;
	uint16_t qt = zq->q->qtype;
	enum cip_proto proto;

	if (r == 0) {
		zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
		if (qt == DNS_TYPE_SOA || qt == DNS_TYPE_ANY)
			dns_msg_add_soa(&zq->m, z->domain, z->negttl,
			    z->serial, z->negttl);
		else if (qt == DNS_TYPE_NS) {
			(void)zone_join(fqdn, sizeof(fqdn), "ns.dns",
			    z->domain);
			dns_msg_add_name_rr(&zq->m, NULL, DNS_TYPE_NS, z->ttl,
			    fqdn);
			if (z->ns_addr.s_addr != 0) {
				dns_msg_section(&zq->m, 2);
				dns_msg_add_a(&zq->m, fqdn, z->ttl, z->ns_addr);
			}
		} else
			return zq_negative(z, zq, buf, cap,
			    DNS_RCODE_NOERROR, z->domain);
		return zq_finish(z, zq);
	}
	if (r == 1 && zq_lab_eq(zq, 0, "dns-version")) {
		if (qt != DNS_TYPE_TXT && qt != DNS_TYPE_ANY)
			return zq_negative(z, zq, buf, cap,
			    DNS_RCODE_NOERROR, z->domain);
		zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
		i = dns_msg_rr_begin(&zq->m, NULL, DNS_TYPE_TXT, z->ttl);
		dns_msg_put_cstring(&zq->m, "1.1.0");
		dns_msg_rr_end(&zq->m, i);
		return zq_finish(z, zq);
	}
	/*
	 * svc.D and pod.D (the parents of every service and pod name, as
	 * in CoreDNS) and dns.D, ns.dns.D exist: NODATA, never NXDOMAIN,
	 * which would deny every name below them (RFC 8020).
	 */
	if ((r == 1 && (zq_lab_eq(zq, 0, "svc") || zq_lab_eq(zq, 0, "pod") ||
	    zq_lab_eq(zq, 0, "dns"))) ||
	    (r == 2 && zq_lab_eq(zq, 0, "ns") && zq_lab_eq(zq, 1, "dns"))) {
		if (r == 2 && z->ns_addr.s_addr != 0 &&
		    (qt == DNS_TYPE_A || qt == DNS_TYPE_ANY)) {
			zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
			dns_msg_add_a(&zq->m, NULL, z->ttl, z->ns_addr);
			return zq_finish(z, zq);
		}
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
		    z->domain);
	}
	if (r < 2 || r > 5 || !zq_lab_eq(zq, r - 1, "svc"))
		goto nxdomain;
	if (zq_lab_copy(zq, r - 2, ns, sizeof(ns)) == 0)
		goto nxdomain;
	if (r == 2)
		return zq_negative(z, zq, buf, cap,
		    registry_namespace_exists(z->reg, ns) ? DNS_RCODE_NOERROR :
		    DNS_RCODE_NXDOMAIN, z->domain);
	/* "N/S" */
	l = zq->llen[r - 2];
	if (zq->llen[r - 3] == 0 || l + 1 + zq->llen[r - 3] + 1 > sizeof(key))
		goto nxdomain;
	memcpy(key, zq->lab[r - 2], l);
	key[l] = '/';
	memcpy(key + l + 1, zq->lab[r - 3], zq->llen[r - 3]);
	key[l + 1 + zq->llen[r - 3]] = '\0';
	if ((svc = registry_find_service_key(z->reg, key)) == NULL)
		goto nxdomain;
	if (r == 3)
		return zone_service(z, zq, buf, cap, svc);
	if (r == 4 && zq->lab[0][0] != '_') {
		/* HOSTNAME.S.N.svc, 10-0-0-1.S.N.svc: a headless endpoint */
		if (svc->type != SVC_HEADLESS)
			goto nxdomain;
		return zone_endpoint_a(z, zq, buf, cap, svc);
	}
	/* _proto.S.N.svc (an empty non-terminal) or _port._proto.S.N.svc */
	i = r - 4;
	if (zq_lab_eq(zq, i, "_tcp"))
		proto = CIP_PROTO_TCP;
	else if (zq_lab_eq(zq, i, "_udp"))
		proto = CIP_PROTO_UDP;
	else if (zq_lab_eq(zq, i, "_sctp"))
		proto = CIP_PROTO_SCTP;
	else
		goto nxdomain;
	if (svc->type == SVC_EXTERNALNAME)
		goto nxdomain;
	if (svc->type == SVC_HEADLESS && svc->nports == 0) {
		/* The ports come from the endpoints. */
		if (r == 4)
			return zq_negative(z, zq, buf, cap,
			    zone_ep_has_proto(svc, proto) ? DNS_RCODE_NOERROR :
			    DNS_RCODE_NXDOMAIN, z->domain);
		if (zq->llen[0] < 2 || zq->lab[0][0] != '_')
			goto nxdomain;
		sel.name = zq->lab[0] + 1;
		sel.len = zq->llen[0] - 1;
		sel.proto = proto;
		if ((l = zone_headless_srv(z, zq, buf, cap, svc, &sel)) != 0)
			return l;
		goto nxdomain;
	}
	for (sp = svc->ports; sp < svc->ports + svc->nports; sp++) {
		if (sp->name == NULL || sp->proto != proto)
			continue;
		if (r == 4)
			return zq_negative(z, zq, buf, cap,
			    DNS_RCODE_NOERROR, z->domain);
		if (zq->llen[0] >= 2 && zq->lab[0][0] == '_' &&
		    strlen(sp->name) == zq->llen[0] - 1 &&
		    memcmp(sp->name, zq->lab[0] + 1, zq->llen[0] - 1) == 0)
			return zone_srv(z, zq, buf, cap, svc, sp);
	}
nxdomain:
	return zq_negative(z, zq, buf, cap, DNS_RCODE_NXDOMAIN, z->domain);
}

/* d.c.b.a.in-addr.arpa -> a.b.c.d */
static bool
zq_reverse_addr(const struct zq *zq, struct in_addr *a)
{
	uint32_t v = 0, o;
	size_t i, k;

	if (zq->n != 6 || !zq_lab_eq(zq, 4, "in-addr") ||
	    !zq_lab_eq(zq, 5, "arpa"))
		return false;
	for (i = 0; i < 4; i++) {
		if (zq->llen[i] == 0 || zq->llen[i] > 3 ||
		    (zq->llen[i] > 1 && zq->lab[i][0] == '0'))
			return false;
		for (o = 0, k = 0; k < zq->llen[i]; k++) {
			if (zq->lab[i][k] < '0' || zq->lab[i][k] > '9')
				return false;
			o = o * 10 + (uint32_t)(zq->lab[i][k] - '0');
		}
		if (o > 255)
			return false;
		v |= o << (8 * i);
	}
	a->s_addr = htonl(v);
	return true;
}

/* The 32 nibble labels of N.N...N.ip6.arpa -> the address. */
static bool
zq_reverse_addr6(const struct zq *zq, struct in6_addr *a)
{
	unsigned v;
	size_t i;
	char c;

	if (zq->n != 34 || !zq_lab_eq(zq, 32, "ip6") ||
	    !zq_lab_eq(zq, 33, "arpa"))
		return false;
	memset(a, 0, sizeof(*a));
	for (i = 0; i < 32; i++) {
		if (zq->llen[i] != 1)
			return false;
		c = zq->lab[i][0];
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned)(c - 'A' + 10);
		else
			return false;
		/* Label 0 is the lowest nibble of the last byte. */
		a->s6_addr[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	return true;
}

/*
 * True when a pod of the address chain from first up to (not including)
 * pod is published in svc under the hostname host (NULL: the dashed
 * address): that PTR is in the answer.
 */
static bool
zone_ptr_seen(enum ip_family fam, const struct pod *first,
    const struct pod *pod, const struct service *svc, const char *host)
{
	const struct pod *o;
	size_t j;

	for (o = first; o != NULL && o != pod;
	    o = fam == IP_FAMILY_V6 ? o->ip6_next : o->ip_next) {
		if (!pod_published(o, svc))
			continue;
		for (j = 0; j < o->nmember_of; j++)
			if (o->member_of[j] == svc &&
			    streq_null(pod_endpoint_hostname(o, svc), host))
				return true;
	}
	return false;
}

/*
 * PTR for a VIP, or for an endpoint address of any service (as CoreDNS):
 * the endpoint's name under each service it serves, by hostname or
 * dashed address, for an address of family fam (a, or *a6 for IPv6).
 * Returns 0 when the address is none of ours (in_rev: NXDOMAIN then,
 * else forward).
 */
static size_t
zone_ptr(struct dns_zone *z, struct zq *zq, uint8_t *buf, size_t cap,
    enum ip_family fam, struct in_addr a, const struct in6_addr *a6,
    bool in_rev)
{
	const struct service *svc;
	const struct pod *first, *pod;
	struct zone_ep ep;
	char fqdn[ZONE_NAME_MAX], target[ZONE_NAME_MAX];
	const char *rev = fam == IP_FAMILY_V6 ? z->rev6 : z->rev;
	uint16_t qt = zq->q->qtype;
	size_t j;
	bool begun = false;

	svc = fam == IP_FAMILY_V6 ? registry_find_service_by_vip6(z->reg, a6) :
	    registry_find_service_by_vip(z->reg, a);
	if (svc != NULL) {
		if (qt != DNS_TYPE_PTR && qt != DNS_TYPE_ANY)
			return zq_negative(z, zq, buf, cap, DNS_RCODE_NOERROR,
			    in_rev ? rev : z->domain);
		if (!zone_svc_fqdn(z, svc, fqdn, sizeof(fqdn)))
			return 0;
		zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
		dns_msg_add_name_rr(&zq->m, NULL, DNS_TYPE_PTR, z->ttl, fqdn);
		return zq_finish(z, zq);
	}
	first = fam == IP_FAMILY_V6 ? registry_find_pod_by_ip6(z->reg, a6) :
	    registry_find_pod_by_ip(z->reg, a);
	for (pod = first; pod != NULL;
	    pod = fam == IP_FAMILY_V6 ? pod->ip6_next : pod->ip_next) {
		for (j = 0; j < pod->nmember_of; j++) {
			svc = pod->member_of[j];
			if (!pod_published(pod, svc) ||
			    !service_has_family(svc, fam))
				continue;
			if (!begun) {
				if (qt != DNS_TYPE_PTR && qt != DNS_TYPE_ANY)
					return zq_negative(z, zq, buf, cap,
					    DNS_RCODE_NOERROR,
					    in_rev ? rev : z->domain);
				zq_begin(z, zq, buf, cap, DNS_RCODE_NOERROR);
				begun = true;
			}
			ep.pod = pod;
			ep.host = pod_endpoint_hostname(pod, svc);
			ep.fam = fam;
			if (zone_ptr_seen(fam, first, pod, svc, ep.host) ||
			    !zone_svc_fqdn(z, svc, fqdn, sizeof(fqdn)) ||
			    !zone_endpoint_fqdn(&ep, fqdn, target,
			    sizeof(target)))
				continue;
			dns_msg_add_name_rr(&zq->m, NULL, DNS_TYPE_PTR, z->ttl,
			    target);
		}
	}
	if (begun)
		return zq_finish(z, zq);
	if (in_rev)
		return zq_negative(z, zq, buf, cap, DNS_RCODE_NXDOMAIN, rev);
	return 0;
}

enum dns_zone_result
dns_zone_answer(struct dns_zone *z, const struct dns_query *q, uint8_t *buf,
    size_t cap, size_t maxlen, size_t *lenp, uint16_t *rcodep)
{
	struct zq zq;
	const struct service *svc = NULL;
	char key[ZONE_KEY_MAX];
	struct in_addr a;
	struct in6_addr a6;
	size_t o, len, nl, ns;
	bool in_domain, in_rev, in_ptr, in_rev6, in_ptr6;

	*lenp = 0;
	*rcodep = DNS_RCODE_NOERROR;
	z->chase[0] = '\0';
	switch (q->qtype) {
	case DNS_TYPE_OPT:
	case DNS_TYPE_TSIG:
	case DNS_TYPE_TKEY:
		*rcodep = DNS_RCODE_FORMERR;
		*lenp = dns_wire_error(buf, cap, q, DNS_RCODE_FORMERR, false,
		    z->edns);
		return DNS_ZONE_ANSWERED;
	case DNS_TYPE_AXFR:
	case DNS_TYPE_IXFR:
	case DNS_TYPE_MAILA:
	case DNS_TYPE_MAILB:
		*rcodep = DNS_RCODE_REFUSED;
		*lenp = dns_wire_error(buf, cap, q, DNS_RCODE_REFUSED, false,
		    z->edns);
		return DNS_ZONE_ANSWERED;
	}
	zq.q = q;
	zq.maxlen = maxlen;
	zq.rcode = DNS_RCODE_NOERROR;
	zq.outside = false;
	if (dns_wire_qname_text(q, zq.text, sizeof(zq.text)) < 0) {
		/* A label with a dot: no name of ours, but never leak it. */
		if (dns_wire_qname_under(q, z->domain, z->ndomain)) {
			len = zq_negative(z, &zq, buf, cap, DNS_RCODE_NXDOMAIN,
			    z->domain);
			goto answered;
		}
		if (z->nrev > 0 && dns_wire_qname_under(q, z->rev, z->nrev)) {
			len = zq_negative(z, &zq, buf, cap, DNS_RCODE_NXDOMAIN,
			    z->rev);
			goto answered;
		}
		if (z->nrev6 > 0 &&
		    dns_wire_qname_under(q, z->rev6, z->nrev6)) {
			len = zq_negative(z, &zq, buf, cap, DNS_RCODE_NXDOMAIN,
			    z->rev6);
			goto answered;
		}
		return DNS_ZONE_FORWARD;
	}
	/*
	 * Each length byte of the wire name became the dot before its label
	 * (or nothing, for the first): label i starts at the same offset in
	 * the text as in the wire name.
	 */
	for (zq.n = 0; zq.n < q->nlabels; zq.n++) {
		o = q->label_off[zq.n];
		zq.lab[zq.n] = zq.text + o;
		zq.llen[zq.n] = q->qname[o];
	}
	in_domain = zq_under(&zq, z->domain, z->ndomain);
	in_rev = !in_domain && zq_under(&zq, z->rev, z->nrev);
	in_rev6 = !in_domain && zq_under(&zq, z->rev6, z->nrev6);
	in_ptr = zq_reverse_addr(&zq, &a);
	in_ptr6 = zq_reverse_addr6(&zq, &a6);
	if (!in_domain && !in_rev && !in_rev6) {
		if (q->qclass != DNS_CLASS_IN && q->qclass != DNS_CLASS_ANY)
			return DNS_ZONE_FORWARD;
		zq.outside = true;
		/* The endpoint addresses of services. */
		if (in_ptr && (len = zone_ptr(z, &zq, buf, cap, IP_FAMILY_V4,
		    a, NULL, false)) != 0)
			goto answered;
		if (in_ptr6 && (len = zone_ptr(z, &zq, buf, cap, IP_FAMILY_V6,
		    a, &a6, false)) != 0)
			goto answered;
		/* Short forms S, S.N, S.N.svc, only for what exists. */
		if (!zone_short_ok(z, zq.n) ||
		    (zq.n == 3 && !zq_lab_eq(&zq, 2, "svc")))
			return DNS_ZONE_FORWARD;
		nl = zq.llen[0];
		if (zq.n == 1) {
			if (nl == 0 || nl + sizeof("default/") > sizeof(key))
				return DNS_ZONE_FORWARD;
			memcpy(key, "default/", 8);
			memcpy(key + 8, zq.lab[0], nl);
			key[8 + nl] = '\0';
		} else {
			ns = zq.llen[1];
			if (nl == 0 || ns == 0 || ns + 1 + nl + 1 > sizeof(key))
				return DNS_ZONE_FORWARD;
			memcpy(key, zq.lab[1], ns);
			key[ns] = '/';
			memcpy(key + ns + 1, zq.lab[0], nl);
			key[ns + 1 + nl] = '\0';
		}
		if ((svc = registry_find_service_key(z->reg, key)) == NULL)
			return DNS_ZONE_FORWARD;
		len = zone_service(z, &zq, buf, cap, svc);
		goto answered;
	}
	if (q->qclass != DNS_CLASS_IN && q->qclass != DNS_CLASS_ANY) {
		*rcodep = DNS_RCODE_REFUSED;
		*lenp = dns_wire_error(buf, cap, q, DNS_RCODE_REFUSED, false,
		    z->edns);
		return DNS_ZONE_ANSWERED;
	}
	if (in_domain)
		len = zone_cluster(z, &zq, buf, cap);
	else if (in_rev6) {
		if (in_ptr6)
			len = zone_ptr(z, &zq, buf, cap, IP_FAMILY_V6, a, &a6,
			    true);
		else if (zq.n == z->nrev6) {
			/* The reverse apex. */
			zq_begin(z, &zq, buf, cap, DNS_RCODE_NOERROR);
			if (q->qtype == DNS_TYPE_SOA ||
			    q->qtype == DNS_TYPE_ANY) {
				dns_msg_add_soa(&zq.m, z->rev6, z->negttl,
				    z->serial, z->negttl);
				len = zq_finish(z, &zq);
			} else
				len = zq_negative(z, &zq, buf, cap,
				    DNS_RCODE_NOERROR, z->rev6);
		} else
			len = zq_negative(z, &zq, buf, cap,
			    DNS_RCODE_NXDOMAIN, z->rev6);
	} else if (in_ptr)
		len = zone_ptr(z, &zq, buf, cap, IP_FAMILY_V4, a, NULL, true);
	else if (zq.n == z->nrev) {
		/* The reverse apex. */
		zq_begin(z, &zq, buf, cap, DNS_RCODE_NOERROR);
		if (q->qtype == DNS_TYPE_SOA || q->qtype == DNS_TYPE_ANY) {
			dns_msg_add_soa(&zq.m, z->rev, z->negttl, z->serial,
			    z->negttl);
			len = zq_finish(z, &zq);
		} else
			len = zq_negative(z, &zq, buf, cap, DNS_RCODE_NOERROR,
			    z->rev);
	} else
		len = zq_negative(z, &zq, buf, cap, DNS_RCODE_NXDOMAIN, z->rev);
answered:
	*lenp = len;
	*rcodep = zq.rcode;
	return z->chase[0] != '\0' && len > 0 ? DNS_ZONE_CHASE :
	    DNS_ZONE_ANSWERED;
}

const char *
dns_zone_chase_target(const struct dns_zone *z, uint32_t *ttl_s)
{
	*ttl_s = z->ttl;
	return z->chase;
}
