/* SPDX-License-Identifier: MIT */
/*
 * dns_wire.h -- DNS messages on the wire: a checked query parser and an
 * answer builder writing into a caller's fixed buffer. Every read goes
 * through one cursor with a sticky error; nothing allocates. No sockets,
 * no libevent.
 */
#ifndef CIP_DNS_WIRE_H
#define CIP_DNS_WIRE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN		12
#define DNS_MAX_NAME		255	/* wire form, root label included */
#define DNS_MAX_LABELS		128
#define DNS_MAX_MSG		65535
#define DNS_UDP_MIN		512	/* what a client without EDNS takes */

#define DNS_TYPE_A		1
#define DNS_TYPE_NS		2
#define DNS_TYPE_MD		3
#define DNS_TYPE_MF		4
#define DNS_TYPE_CNAME		5
#define DNS_TYPE_SOA		6
#define DNS_TYPE_MB		7
#define DNS_TYPE_MG		8
#define DNS_TYPE_MR		9
#define DNS_TYPE_PTR		12
#define DNS_TYPE_HINFO		13
#define DNS_TYPE_MINFO		14
#define DNS_TYPE_MX		15
#define DNS_TYPE_TXT		16
#define DNS_TYPE_AAAA		28
#define DNS_TYPE_SRV		33
#define DNS_TYPE_OPT		41
#define DNS_TYPE_TKEY		249
#define DNS_TYPE_TSIG		250
#define DNS_TYPE_IXFR		251
#define DNS_TYPE_AXFR		252
#define DNS_TYPE_MAILB		253
#define DNS_TYPE_MAILA		254
#define DNS_TYPE_ANY		255

#define DNS_CLASS_IN		1
#define DNS_CLASS_ANY		255

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5
#define DNS_RCODE_BADVERS	16	/* extended: needs an OPT record */

/* Header flag bits (second 16-bit word). */
#define DNS_FLAG_QR		0x8000
#define DNS_FLAG_AA		0x0400
#define DNS_FLAG_TC		0x0200
#define DNS_FLAG_RD		0x0100
#define DNS_FLAG_RA		0x0080
#define DNS_FLAG_AD		0x0020
#define DNS_FLAG_CD		0x0010
#define DNS_OPCODE(flags)	(((flags) >> 11) & 0xf)

/*
 * A read cursor over pkt[0..len): every read checks what is left first;
 * a failed read sets err, returns 0 and every later read fails too.
 */
struct dns_cursor {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
	bool		 err;
};

/* True when n more bytes can be read (else sets err). */
bool	dns_cursor_need(struct dns_cursor *, size_t n);
uint8_t	dns_cursor_u8(struct dns_cursor *);
uint16_t dns_cursor_u16(struct dns_cursor *);
uint32_t dns_cursor_u32(struct dns_cursor *);
void	dns_cursor_skip(struct dns_cursor *, size_t n);
/* Skips a name, possibly compressed (a pointer ends it). */
void	dns_cursor_skip_name(struct dns_cursor *);

/* A parsed query. Points into nothing: every field is a copy. */
struct dns_query {
	uint16_t	 id;
	uint16_t	 flags;
	uint16_t	 qtype;
	uint16_t	 qclass;
	/* The question name in wire form, case as received. */
	uint8_t		 qname[DNS_MAX_NAME];
	size_t		 qname_len;
	/* Number of labels (root excluded) and where each starts in qname. */
	size_t		 nlabels;
	uint8_t		 label_off[DNS_MAX_LABELS];
	/* Length of header + question in the received message. */
	size_t		 question_end;
	bool		 edns;		/* an OPT record was present */
	uint8_t		 edns_version;
	bool		 edns_do;
	uint16_t	 edns_payload;	/* as the client announced it */
};

enum dns_parse {
	DNS_PARSE_OK,
	DNS_PARSE_DROP,		/* not even a header, or QR=1: no answer */
	DNS_PARSE_FORMERR,	/* answer FORMERR */
	DNS_PARSE_NOTIMP,	/* opcode other than QUERY */
	DNS_PARSE_BADVERS,	/* EDNS version > 0 */
};

/*
 * Parses the query in pkt[0..len) into q: header, one question, and an
 * OPT record in the additional section if any (other records are
 * skipped with bounds checks). For DNS_PARSE_FORMERR/NOTIMP/BADVERS the
 * header fields of q are valid, and the question too when
 * q->question_end != 0, so an error answer can be built.
 */
enum dns_parse dns_wire_parse_query(const uint8_t *pkt, size_t len,
    struct dns_query *q);

/* Largest UDP answer the client takes: 512 without EDNS, else its
 * payload size bounded by ours (edns_payload) and at least 512. */
size_t	dns_wire_udp_max(const struct dns_query *q, size_t edns_payload);

/*
 * The query name as lowercase text without the final dot ("" for the
 * root) into buf, which holds DNS_MAX_NAME + 1 bytes at least. Label
 * bytes that are not letters, digits, '-' or '_' are kept as they are;
 * a label holding '.' makes this return -1 (no cluster name has one).
 * Returns the text length or -1.
 */
int	dns_wire_qname_text(const struct dns_query *q, char *buf, size_t len);

/*
 * True when the question name ends in (or is) the nlabels labels of the
 * dotted lowercase text apex, compared byte-wise and case-insensitively
 * on the wire (works for names whose labels hold dots).
 */
bool	dns_wire_qname_under(const struct dns_query *q, const char *apex,
    size_t nlabels);

/*
 * An answer under construction in a caller's buffer. Writes are
 * checked: a write that does not fit sets err and changes nothing
 * more (sticky). Owner names, and RDATA names of the types RFC 3597
 * allows it for, are compressed against the question name; SRV targets
 * and every other RDATA name go whole.
 */
struct dns_msg {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	bool		 err;
	const struct dns_query *q;
	size_t		 question_end;	/* where records start */
	uint16_t	 count[3];	/* answer, authority, additional */
	int		 section;	/* 0, 1, 2 */
	uint16_t	 flags;
	uint16_t	 rcode;		/* extended rcode allowed */
};

/*
 * Starts the answer to q in buf[0..cap): header with q's ID, QR, the
 * opcode and RD and CD bits copied, and the question echoed with its
 * case (left out when the question could not be parsed). rcode and
 * flags (DNS_FLAG_AA, DNS_FLAG_RA, ...) go into the header.
 */
void	dns_msg_init(struct dns_msg *m, uint8_t *buf, size_t cap,
    const struct dns_query *q, uint16_t rcode, uint16_t flags);
/*
 * Records go to section 0 (answer), 1 (authority) or 2 (additional),
 * in that order; going back is an error.
 */
void	dns_msg_section(struct dns_msg *m, int section);
/*
 * Starts a record: owner name (NULL: the question name, compressed),
 * else dotted text without the final dot, lowercase), type, class IN,
 * TTL. Returns the offset of the RDLENGTH field for dns_msg_rr_end.
 */
size_t	dns_msg_rr_begin(struct dns_msg *m, const char *owner, uint16_t type,
    uint32_t ttl);
/* Ends a record started at rdlen_off: writes RDLENGTH, counts it. */
void	dns_msg_rr_end(struct dns_msg *m, size_t rdlen_off);
/* Raw RDATA pieces. */
void	dns_msg_put_u16(struct dns_msg *m, uint16_t v);
void	dns_msg_put_u32(struct dns_msg *m, uint32_t v);
void	dns_msg_put_bytes(struct dns_msg *m, const void *p, size_t n);
/*
 * A name (dotted text, "" for the root), compressed when possible: only
 * for owners and the RDATA of types dns_wire_rdata_compressible accepts.
 */
void	dns_msg_put_name(struct dns_msg *m, const char *name);
/* The same, never compressed (RDATA of any other type). */
void	dns_msg_put_name_plain(struct dns_msg *m, const char *name);
/*
 * True when RDATA names of type may be compressed: the well-known types
 * of RFC 1035 (NS, CNAME, SOA, PTR, MX, ...) only (RFC 3597 section 4).
 */
bool	dns_wire_rdata_compressible(uint16_t type);
/* A character-string (length byte + up to 255 bytes). */
void	dns_msg_put_cstring(struct dns_msg *m, const char *s);
/*
 * Whole records. dns_msg_add_name_rr compresses target only for the
 * types dns_wire_rdata_compressible accepts; dns_msg_add_srv never
 * compresses target (RFC 2782).
 */
void	dns_msg_add_a(struct dns_msg *m, const char *owner, uint32_t ttl,
    struct in_addr a);
void	dns_msg_add_aaaa(struct dns_msg *m, const char *owner, uint32_t ttl,
    const struct in6_addr *a);
void	dns_msg_add_name_rr(struct dns_msg *m, const char *owner,
    uint16_t type, uint32_t ttl, const char *target);
void	dns_msg_add_srv(struct dns_msg *m, const char *owner, uint32_t ttl,
    uint16_t prio, uint16_t weight, uint16_t port, const char *target);
void	dns_msg_add_soa(struct dns_msg *m, const char *apex, uint32_t ttl,
    uint32_t serial, uint32_t minimum);

/*
 * Finishes the message: adds the OPT record when the query had one
 * (payload edns_payload, DO echoed, extended rcode), writes counts,
 * flags and rcode. When the result is longer than maxlen (or a write
 * failed), the records are dropped and TC is set (the client retries
 * over TCP). Returns the length, or 0 when not even the truncated form
 * fits (then nothing must be sent).
 */
size_t	dns_msg_finish(struct dns_msg *m, size_t maxlen, size_t edns_payload);

/*
 * Builds a complete error answer (FORMERR, NOTIMP, REFUSED, SERVFAIL,
 * BADVERS) to q into buf. aa adds DNS_FLAG_AA. Returns the length or 0.
 */
size_t	dns_wire_error(uint8_t *buf, size_t cap, const struct dns_query *q,
    uint16_t rcode, bool aa, size_t edns_payload);

/* Mnemonics for metrics: "A", "SRV", ..., "OTHER"; "NOERROR", ... */
const char *dns_wire_type_name(uint16_t type);
const char *dns_wire_rcode_name(uint16_t rcode);

/* Reads the rcode (header bits plus OPT's extended bits are ignored). */
uint16_t dns_wire_rcode(const uint8_t *pkt, size_t len);

#endif
