/* SPDX-License-Identifier: MIT */
/*
 * dns_relay.h -- forwarded answers: the query sent upstream, the
 * upstream's answer checked and parsed with ldns (it is untrusted input),
 * kept in a canonical form, and written for each client: its ID, its
 * question's case, its EDNS, TTLs aged, and cut to the client's size at a
 * record boundary with TC set. No sockets, no libevent.
 */
#ifndef CIP_DNS_RELAY_H
#define CIP_DNS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dns_query;

/* The payload size announced upstream (RFC 9715's advice: 1232). */
#define DNS_RELAY_UPSTREAM_PAYLOAD	1232
/* Longest lifetime given to a forwarded answer, in seconds. */
#define DNS_RELAY_MAX_TTL_S		86400

/*
 * An upstream answer in canonical form: ID 0, no OPT, no TSIG, names
 * compressed by ldns (pointers only ever point backwards, so a cut at
 * any record boundary is a valid message). One allocation.
 */
struct dns_relay_msg {
	uint32_t	 ttl_s;		/* lifetime in a cache; 0: keep none */
	uint16_t	 flags;		/* upstream header flags, rcode out */
	uint16_t	 rcode;		/* header rcode (4 bits) */
	uint16_t	 count[3];	/* answer, authority, additional */
	uint16_t	 nrr;		/* count[0] + count[1] + count[2] */
	uint16_t	*rr_end;	/* [i]: end of record i; [-1]: question end */
	uint16_t	*ttl_off;	/* [i]: offset of record i's TTL */
	size_t		 len;
	uint8_t		*wire;
};

/*
 * The query to send upstream for the client's query q: q's question
 * (case kept), RD and CD as q has them, EDNS with
 * DNS_RELAY_UPSTREAM_PAYLOAD and q's DO bit. ID 0 (c-ares sets its
 * own). Returns a malloc'd buffer (caller frees) with its length in
 * *len, or NULL on OOM.
 */
uint8_t	*dns_relay_query(const struct dns_query *q, size_t *len);

/*
 * Parses the upstream answer ans[0..len) to q with ldns and checks it:
 * a response (QR), opcode QUERY, one question equal to q's (case
 * aside; an error rcode may come without a question). Returns the
 * canonical form (free with dns_relay_msg_free), or NULL when the
 * answer is malformed, answers another question, or on OOM.
 */
struct dns_relay_msg *dns_relay_parse(const struct dns_query *q,
    const uint8_t *ans, size_t len);

void	dns_relay_msg_free(struct dns_relay_msg *);

/*
 * Writes m as the answer to q into buf[0..cap): q's ID, RD and CD bits
 * and question bytes (its case), the upstream's AA, RA, AD (AD only when
 * q set DO or AD) and rcode; TTLs lowered by age_s; an OPT record with
 * edns_payload when q had one. When it is longer than maxlen, the
 * records that fit are kept whole, in order, and TC is set when one of
 * the answer or authority section was left out. Returns the length, or
 * 0 when not even the header and question fit.
 */
size_t	dns_relay_write(const struct dns_relay_msg *m,
    const struct dns_query *q, uint32_t age_s, size_t edns_payload,
    uint8_t *buf, size_t cap, size_t maxlen);

/* The longest CNAME chain followed from ExternalName services. */
#define DNS_RELAY_MAX_CHAIN		8

/*
 * A query for the dotted name (no final dot needed) of type and class of
 * like, with like's RD, CD and EDNS, into *out (as dns_wire_parse_query
 * gives it). Returns 0, or -1 for a name that is not a valid DNS name.
 */
int	dns_relay_make_query(const char *name, const struct dns_query *like,
    struct dns_query *out);

/*
 * The answer to q through a chain of n CNAMEs (n >= 1): the first owned
 * by q's name, pointing at targets[0], each next owned by the previous
 * target, with TTLs ttls[]; then the records of the last target's answer
 * fin[0..finlen) (a full message: its answer records follow the chain,
 * its authority and additional sections and its rcode are kept, its TTLs
 * lowered by age_s), or none when fin is NULL. aa: the answer is the
 * cluster zone's own. For dns_relay_write; never cached (ttl_s 0).
 * Returns NULL on a malformed fin or OOM.
 */
struct dns_relay_msg *dns_relay_chain(const struct dns_query *q,
    char *const *targets, const uint32_t *ttls, size_t n,
    const uint8_t *fin, size_t finlen, uint32_t age_s, bool aa);

#endif
