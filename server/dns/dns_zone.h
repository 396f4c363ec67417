/* SPDX-License-Identifier: MIT */
/*
 * dns_zone.h -- the cluster zone: decides, for a parsed query, whether
 * the name is ours and builds the answer (Kubernetes DNS-Based Service
 * Discovery 1.1.0: services, headless endpoints, SRV, PTR, ExternalName,
 * dns-version, SOA/NS) straight from registry lookups, or says it must
 * be forwarded. Keeps an index of endpoint addresses for PTR, maintained
 * from registry events, so a change shows in the very next answer.
 * No sockets, no libevent.
 */
#ifndef CIP_DNS_ZONE_H
#define CIP_DNS_ZONE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct registry;
struct dns_query;
struct dns_zone;

/*
 * Which short forms of a service name (outside the cluster domain) are
 * answered. A short form shadows the real name it spells: namespace
 * "dev" and service "api" make "api.dev." ours.
 */
enum dns_zone_short {
	DNS_ZONE_SHORT_ALL,	/* S, S.N, S.N.svc (the default) */
	DNS_ZONE_SHORT_SINGLE,	/* S (default namespace) and S.N.svc */
	DNS_ZONE_SHORT_OFF,	/* only S.N.svc.<domain> */
};

/* "all", "single-label" or "off" -> enum dns_zone_short; -1 otherwise. */
int	dns_zone_short_parse(const char *text);

struct dns_zone_conf {
	const char	*domain;	/* "cluster.local" */
	const char	*vip_range;	/* "127.96.0.0/16": the reverse zone; may be NULL */
	const char	*vip_range6;	/* "fd00:96::/112": its ip6.arpa zone; may be NULL */
	uint32_t	 ttl_s;
	uint32_t	 negative_ttl_s;
	size_t		 edns_payload;	/* announced in answers */
	struct in_addr	 ns_addr;	/* A of ns.dns.<domain>; 0: none */
	bool		 recursion;	/* set RA: names outside are forwarded */
	uint32_t	 serial;	/* first SOA serial; 0: the time */
	enum dns_zone_short short_names;
};

/*
 * Creates the zone over reg (not owned) and subscribes to it. Strings of
 * zc are copied. Returns NULL on a bad domain or range, or OOM.
 */
struct dns_zone *dns_zone_new(struct registry *reg,
    const struct dns_zone_conf *zc);
/* Unsubscribes and frees. Accepts NULL. */
void	dns_zone_free(struct dns_zone *);

enum dns_zone_result {
	DNS_ZONE_ANSWERED,	/* *lenp bytes in buf (0: send nothing) */
	DNS_ZONE_FORWARD,	/* not ours: ask the upstreams */
	/*
	 * An ExternalName: buf holds the answer with the CNAME alone; the
	 * target (dns_zone_chase_target) is to be resolved for the asked
	 * type and its records added, as CoreDNS does.
	 */
	DNS_ZONE_CHASE,
};

/*
 * Answers q (parsed with DNS_PARSE_OK) into buf[0..cap); the answer is
 * truncated (TC) beyond maxlen. Also settles what is never forwarded:
 * AXFR/IXFR and other meta types are refused, OPT/TSIG/TKEY questions
 * get FORMERR. The rcode goes to *rcodep. Allocates nothing.
 */
enum dns_zone_result dns_zone_answer(struct dns_zone *, const struct dns_query *q,
    uint8_t *buf, size_t cap, size_t maxlen, size_t *lenp, uint16_t *rcodep);

/*
 * After DNS_ZONE_CHASE: the CNAME's target (dotted, no final dot), valid
 * until the next dns_zone_answer, and the CNAME's TTL in *ttl_s.
 */
const char *dns_zone_chase_target(const struct dns_zone *, uint32_t *ttl_s);

/* The SOA serial: bumped on every registry change. */
uint32_t dns_zone_serial(const struct dns_zone *);

#endif
