/* SPDX-License-Identifier: MIT */
/* dns_wire.c -- checked DNS query parsing and answer building into fixed buffers. */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns_wire.h"

static void	msg_put_raw(struct dns_msg *, const void *, size_t);
static void	msg_put_name(struct dns_msg *, const char *, bool);
static void	msg_set_u16(uint8_t *, uint16_t);

/* ASCII lowercase: DNS compares names byte-wise, never by locale. */
static inline uint8_t
dns_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

bool
dns_cursor_need(struct dns_cursor *w, size_t n)
{
	if (w->err || w->len - w->pos < n) {
		w->err = true;
		return false;
	}
	return true;
}

uint8_t
dns_cursor_u8(struct dns_cursor *w)
{
	if (!dns_cursor_need(w, 1))
		return 0;
	return w->p[w->pos++];
}

uint16_t
dns_cursor_u16(struct dns_cursor *w)
{
	uint16_t v;

	if (!dns_cursor_need(w, 2))
		return 0;
	v = (uint16_t)(w->p[w->pos] << 8 | w->p[w->pos + 1]);
	w->pos += 2;
	return v;
}

uint32_t
dns_cursor_u32(struct dns_cursor *w)
{
	uint32_t v;

	if (!dns_cursor_need(w, 4))
		return 0;
	v = (uint32_t)w->p[w->pos] << 24 | (uint32_t)w->p[w->pos + 1] << 16 |
	    (uint32_t)w->p[w->pos + 2] << 8 | w->p[w->pos + 3];
	w->pos += 4;
	return v;
}

void
dns_cursor_skip(struct dns_cursor *w, size_t n)
{
	if (dns_cursor_need(w, n))
		w->pos += n;
}

void
dns_cursor_skip_name(struct dns_cursor *w)
{
	uint8_t l;
	size_t total = 0;

	for (;;) {
		l = dns_cursor_u8(w);
		if (w->err)
			return;
		if (l == 0)
			return;
		if ((l & 0xc0) == 0xc0) {
			dns_cursor_skip(w, 1);
			return;
		}
		if ((l & 0xc0) != 0 || (total += l + 1) > DNS_MAX_NAME) {
			w->err = true;
			return;
		}
		dns_cursor_skip(w, l);
	}
}

enum dns_parse
dns_wire_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	struct dns_cursor w = { pkt, len, 0, false };
	uint16_t qdcount, ancount, nscount, arcount, type, rdlen;
	uint32_t ttl;
	uint8_t l;
	size_t i, n;

	q->qname_len = 0;
	q->nlabels = 0;
	q->question_end = 0;
	q->edns = false;
	q->edns_version = 0;
	q->edns_do = false;
	q->edns_payload = 0;
	q->qtype = q->qclass = 0;
	if (len < DNS_HDR_LEN)
		return DNS_PARSE_DROP;
	q->id = dns_cursor_u16(&w);
	q->flags = dns_cursor_u16(&w);
	qdcount = dns_cursor_u16(&w);
	ancount = dns_cursor_u16(&w);
	nscount = dns_cursor_u16(&w);
	arcount = dns_cursor_u16(&w);
	if (q->flags & DNS_FLAG_QR)
		return DNS_PARSE_DROP;
	if (DNS_OPCODE(q->flags) != 0)
		return DNS_PARSE_NOTIMP;
	if (qdcount != 1)
		return DNS_PARSE_FORMERR;

	/* The question name: no compression can point before it. */
	for (;;) {
		l = dns_cursor_u8(&w);
		if (w.err)
			return DNS_PARSE_FORMERR;
		if (l == 0)
			break;
		if ((l & 0xc0) != 0 || q->nlabels >= DNS_MAX_LABELS - 1 ||
		    q->qname_len + 1 + l + 1 > DNS_MAX_NAME ||
		    !dns_cursor_need(&w, l))
			return DNS_PARSE_FORMERR;
		q->label_off[q->nlabels++] = (uint8_t)q->qname_len;
		q->qname[q->qname_len++] = l;
		memcpy(q->qname + q->qname_len, pkt + w.pos, l);
		q->qname_len += l;
		w.pos += l;
	}
	q->qname[q->qname_len++] = 0;
	q->qtype = dns_cursor_u16(&w);
	q->qclass = dns_cursor_u16(&w);
	if (w.err)
		return DNS_PARSE_FORMERR;
	q->question_end = w.pos;

	/* Answer and authority records are skipped, checked. */
	n = (size_t)ancount + nscount;
	for (i = 0; i < n && !w.err; i++) {
		dns_cursor_skip_name(&w);
		dns_cursor_skip(&w, 8);
		rdlen = dns_cursor_u16(&w);
		dns_cursor_skip(&w, rdlen);
	}
	for (i = 0; i < arcount && !w.err; i++) {
		size_t start = w.pos;

		dns_cursor_skip_name(&w);
		type = dns_cursor_u16(&w);
		if (w.err)
			break;
		if (type == DNS_TYPE_OPT) {
			/* One OPT, owned by the root. */
			if (q->edns || w.pos - start != 3 || pkt[start] != 0)
				return DNS_PARSE_FORMERR;
			q->edns = true;
			q->edns_payload = dns_cursor_u16(&w);
			ttl = dns_cursor_u32(&w);
			q->edns_version = (uint8_t)(ttl >> 16);
			q->edns_do = (ttl & 0x8000) != 0;
		} else
			dns_cursor_skip(&w, 6);
		rdlen = dns_cursor_u16(&w);
		dns_cursor_skip(&w, rdlen);
	}
	if (w.err)
		return DNS_PARSE_FORMERR;
	if (q->edns && q->edns_version > 0)
		return DNS_PARSE_BADVERS;
	return DNS_PARSE_OK;
}

size_t
dns_wire_udp_max(const struct dns_query *q, size_t edns_payload)
{
	size_t v;

	if (!q->edns)
		return DNS_UDP_MIN;
	v = q->edns_payload < DNS_UDP_MIN ? DNS_UDP_MIN : q->edns_payload;
	if (edns_payload < DNS_UDP_MIN)
		edns_payload = DNS_UDP_MIN;
	return v < edns_payload ? v : edns_payload;
}

int
dns_wire_qname_text(const struct dns_query *q, char *buf, size_t len)
{
	size_t i, o = 0, p = 0;
	uint8_t l;

	if (len < DNS_MAX_NAME + 1 || q->qname_len == 0)
		return -1;
	uint8_t c;

	while ((l = q->qname[p++]) != 0) {
		if (o != 0)
			buf[o++] = '.';
		for (i = 0; i < l; i++) {
			c = q->qname[p + i];
			if (c == '.' || c == '\0')
				return -1;
			buf[o + i] = (char)dns_lower(c);
		}
		o += l;
		p += l;
	}
	buf[o] = '\0';
	return (int)o;
}

static void
msg_set_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
msg_put_raw(struct dns_msg *m, const void *p, size_t n)
{
	if (m->err || m->cap - m->len < n) {
		m->err = true;
		return;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

void
dns_msg_init(struct dns_msg *m, uint8_t *buf, size_t cap,
    const struct dns_query *q, uint16_t rcode, uint16_t flags)
{
	uint8_t hdr[DNS_HDR_LEN];
	uint16_t f;

	memset(m, 0, sizeof(*m));
	m->buf = buf;
	m->cap = cap;
	m->q = q;
	m->rcode = rcode;
	f = DNS_FLAG_QR | (q->flags & (0x7800 | DNS_FLAG_RD | DNS_FLAG_CD));
	m->flags = f | flags;
	memset(hdr, 0, sizeof(hdr));
	msg_set_u16(hdr, q->id);
	msg_put_raw(m, hdr, sizeof(hdr));
	if (q->question_end != 0) {
		msg_put_raw(m, q->qname, q->qname_len);
		dns_msg_put_u16(m, q->qtype);
		dns_msg_put_u16(m, q->qclass);
	}
	m->question_end = m->len;
}

void
dns_msg_section(struct dns_msg *m, int section)
{
	/* Sections follow each other on the wire: never back. */
	if (section < m->section || section > 2)
		m->err = true;
	else
		m->section = section;
}

void
dns_msg_put_u16(struct dns_msg *m, uint16_t v)
{
	uint8_t b[2];

	msg_set_u16(b, v);
	msg_put_raw(m, b, 2);
}

void
dns_msg_put_u32(struct dns_msg *m, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	msg_put_raw(m, b, 4);
}

void
dns_msg_put_bytes(struct dns_msg *m, const void *p, size_t n)
{
	msg_put_raw(m, p, n);
}

/*
 * Compares name text s (lowercase, n labels) with q's last n labels,
 * case-insensitively. Returns the offset of the match in the question
 * name plus one, or 0.
 */
static size_t
qname_suffix(const struct dns_query *q, const char *s, size_t n)
{
	size_t j, p, k;
	uint8_t l;

	if (q == NULL || q->qname_len == 0 || n == 0 || n > q->nlabels)
		return 0;
	j = q->nlabels - n;
	p = q->label_off[j];
	while ((l = q->qname[p]) != 0) {
		for (k = 0; k < l; k++)
			if (s[k] == '\0' || dns_lower(q->qname[p + 1 + k]) !=
			    (unsigned char)s[k])
				return 0;
		s += l;
		p += l + 1;
		if (q->qname[p] == 0)
			return *s == '\0' ? (size_t)q->label_off[j] + 1 : 0;
		if (*s++ != '.')
			return 0;
	}
	return 0;
}

bool
dns_wire_qname_under(const struct dns_query *q, const char *apex,
    size_t nlabels)
{
	return qname_suffix(q, apex, nlabels) != 0;
}

/* The offset in the message of the question name's matching suffix, or 0. */
static size_t
msg_qname_suffix(const struct dns_msg *m, const char *s, size_t n)
{
	size_t off;

	if (m->q == NULL || m->q->question_end == 0 ||
	    (off = qname_suffix(m->q, s, n)) == 0)
		return 0;
	return DNS_HDR_LEN + off - 1;
}

/*
 * A name from dotted text; with compress, its longest suffix that is a
 * suffix of the question name becomes a pointer there.
 */
static void
msg_put_name(struct dns_msg *m, const char *name, bool compress)
{
	const char *s, *dot;
	size_t nlabels = 0, l, off;

	/* 253 characters make 255 bytes on the wire, the most a name has. */
	if (strlen(name) > DNS_MAX_NAME - 2) {
		m->err = true;
		return;
	}
	for (s = name; *s != '\0'; s = dot + 1) {
		nlabels++;
		if ((dot = strchr(s, '.')) == NULL)
			break;
	}
	s = name;
	while (*s != '\0') {
		if (compress &&
		    (off = msg_qname_suffix(m, s, nlabels)) != 0) {
			dns_msg_put_u16(m, (uint16_t)(0xc000 | off));
			return;
		}
		dot = strchr(s, '.');
		l = dot != NULL ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > 63) {
			m->err = true;
			return;
		}
		msg_put_raw(m, &(uint8_t){ (uint8_t)l }, 1);
		msg_put_raw(m, s, l);
		nlabels--;
		s += l;
		if (*s == '.')
			s++;
	}
	msg_put_raw(m, &(uint8_t){ 0 }, 1);
}

void
dns_msg_put_name(struct dns_msg *m, const char *name)
{
	msg_put_name(m, name, true);
}

void
dns_msg_put_name_plain(struct dns_msg *m, const char *name)
{
	msg_put_name(m, name, false);
}

bool
dns_wire_rdata_compressible(uint16_t type)
{
	/*
	 * RFC 3597 section 4: only the well-known types of RFC 1035 may
	 * have their RDATA names compressed; every later type (SRV by RFC
	 * 2782 itself) carries them whole, and decoders such as Go's
	 * reject a pointer there.
	 */
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_MD:
	case DNS_TYPE_MF:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_SOA:
	case DNS_TYPE_MB:
	case DNS_TYPE_MG:
	case DNS_TYPE_MR:
	case DNS_TYPE_PTR:
	case DNS_TYPE_MINFO:
	case DNS_TYPE_MX:
		return true;
	default:
		return false;
	}
}

void
dns_msg_put_cstring(struct dns_msg *m, const char *s)
{
	size_t l = strlen(s);

	if (l > 255)
		l = 255;
	msg_put_raw(m, &(uint8_t){ (uint8_t)l }, 1);
	msg_put_raw(m, s, l);
}

size_t
dns_msg_rr_begin(struct dns_msg *m, const char *owner, uint16_t type,
    uint32_t ttl)
{
	size_t off;

	if (owner == NULL) {
		if (m->q == NULL || m->q->question_end == 0) {
			m->err = true;
			return 0;
		}
		dns_msg_put_u16(m, 0xc000 | DNS_HDR_LEN);
	} else
		dns_msg_put_name(m, owner);
	dns_msg_put_u16(m, type);
	dns_msg_put_u16(m, DNS_CLASS_IN);
	dns_msg_put_u32(m, ttl);
	off = m->len;
	dns_msg_put_u16(m, 0);
	return off;
}

void
dns_msg_rr_end(struct dns_msg *m, size_t rdlen_off)
{
	if (m->err || rdlen_off + 2 > m->len)
		return;
	msg_set_u16(m->buf + rdlen_off, (uint16_t)(m->len - rdlen_off - 2));
	m->count[m->section]++;
}

void
dns_msg_add_a(struct dns_msg *m, const char *owner, uint32_t ttl,
    struct in_addr a)
{
	size_t off;

	off = dns_msg_rr_begin(m, owner, DNS_TYPE_A, ttl);
	msg_put_raw(m, &a.s_addr, 4);
	dns_msg_rr_end(m, off);
}

void
dns_msg_add_aaaa(struct dns_msg *m, const char *owner, uint32_t ttl,
    const struct in6_addr *a)
{
	size_t off;

	off = dns_msg_rr_begin(m, owner, DNS_TYPE_AAAA, ttl);
	msg_put_raw(m, a->s6_addr, 16);
	dns_msg_rr_end(m, off);
}

void
dns_msg_add_name_rr(struct dns_msg *m, const char *owner, uint16_t type,
    uint32_t ttl, const char *target)
{
	size_t off;

	off = dns_msg_rr_begin(m, owner, type, ttl);
	msg_put_name(m, target, dns_wire_rdata_compressible(type));
	dns_msg_rr_end(m, off);
}

void
dns_msg_add_srv(struct dns_msg *m, const char *owner, uint32_t ttl,
    uint16_t prio, uint16_t weight, uint16_t port, const char *target)
{
	size_t off;

	off = dns_msg_rr_begin(m, owner, DNS_TYPE_SRV, ttl);
	dns_msg_put_u16(m, prio);
	dns_msg_put_u16(m, weight);
	dns_msg_put_u16(m, port);
	/* RFC 2782: "name compression is not to be used for this field". */
	msg_put_name(m, target, false);
	dns_msg_rr_end(m, off);
}

void
dns_msg_add_soa(struct dns_msg *m, const char *apex, uint32_t ttl,
    uint32_t serial, uint32_t minimum)
{
	char mname[DNS_MAX_NAME + 16];
	size_t off, l = strlen(apex);

	off = dns_msg_rr_begin(m, apex, DNS_TYPE_SOA, ttl);
	if (l + sizeof("hostmaster.") > sizeof(mname)) {
		m->err = true;
		return;
	}
	memcpy(mname, "ns.dns.", 7);
	memcpy(mname + 7, apex, l + 1);
	dns_msg_put_name(m, mname);
	memcpy(mname, "hostmaster.", 11);
	memcpy(mname + 11, apex, l + 1);
	dns_msg_put_name(m, mname);
	dns_msg_put_u32(m, serial);
	dns_msg_put_u32(m, 7200);	/* refresh */
	dns_msg_put_u32(m, 1800);	/* retry */
	dns_msg_put_u32(m, 86400);	/* expire */
	dns_msg_put_u32(m, minimum);
	dns_msg_rr_end(m, off);
}

size_t
dns_msg_finish(struct dns_msg *m, size_t maxlen, size_t edns_payload)
{
	const struct dns_query *q = m->q;
	size_t optlen = q->edns ? 11 : 0;
	uint16_t flags;

	if (maxlen > m->cap)
		maxlen = m->cap;
	/* The header and question must fit, or nothing is sent. */
	if (m->question_end < DNS_HDR_LEN + (q->question_end != 0 ?
	    q->qname_len + 4 : 0))
		return 0;
	if (m->err || m->len + optlen > maxlen) {
		/* Everything past the question goes; the client retries. */
		m->len = m->question_end;
		m->count[0] = m->count[1] = m->count[2] = 0;
		m->flags |= DNS_FLAG_TC;
		m->err = false;
		if (m->len + optlen > maxlen)
			return 0;
	}
	if (q->edns) {
		uint32_t ttl = (uint32_t)(m->rcode >> 4) << 24 |
		    (q->edns_do ? 0x8000 : 0);

		msg_put_raw(m, &(uint8_t){ 0 }, 1);
		dns_msg_put_u16(m, DNS_TYPE_OPT);
		dns_msg_put_u16(m, (uint16_t)(edns_payload < DNS_UDP_MIN ?
		    DNS_UDP_MIN : edns_payload > 65535 ? 65535 : edns_payload));
		dns_msg_put_u32(m, ttl);
		dns_msg_put_u16(m, 0);
		m->count[2]++;
	}
	if (m->err)
		return 0;
	flags = (uint16_t)((m->flags & 0xfff0) | (m->rcode & 0xf));
	msg_set_u16(m->buf + 2, flags);
	msg_set_u16(m->buf + 4, m->question_end > DNS_HDR_LEN ? 1 : 0);
	msg_set_u16(m->buf + 6, m->count[0]);
	msg_set_u16(m->buf + 8, m->count[1]);
	msg_set_u16(m->buf + 10, m->count[2]);
	return m->len;
}

size_t
dns_wire_error(uint8_t *buf, size_t cap, const struct dns_query *q,
    uint16_t rcode, bool aa, size_t edns_payload)
{
	struct dns_msg m;
	struct dns_query hq;

	if (rcode == DNS_RCODE_NOTIMP || rcode == DNS_RCODE_FORMERR) {
		/* Echo no OPT we could not vouch for; header only if need be. */
		hq = *q;
		if (rcode == DNS_RCODE_NOTIMP)
			hq.question_end = 0;
		if (rcode == DNS_RCODE_FORMERR)
			hq.edns = false;
		q = &hq;
	}
	dns_msg_init(&m, buf, cap, q, rcode, aa ? DNS_FLAG_AA : 0);
	return dns_msg_finish(&m, cap, edns_payload);
}

const char *
dns_wire_type_name(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_A:	return "A";
	case DNS_TYPE_NS:	return "NS";
	case DNS_TYPE_CNAME:	return "CNAME";
	case DNS_TYPE_SOA:	return "SOA";
	case DNS_TYPE_PTR:	return "PTR";
	case DNS_TYPE_MX:	return "MX";
	case DNS_TYPE_TXT:	return "TXT";
	case DNS_TYPE_AAAA:	return "AAAA";
	case DNS_TYPE_SRV:	return "SRV";
	case DNS_TYPE_AXFR:	return "AXFR";
	case DNS_TYPE_IXFR:	return "IXFR";
	case DNS_TYPE_ANY:	return "ANY";
	default:		return "OTHER";
	}
}

const char *
dns_wire_rcode_name(uint16_t rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:		return "NOERROR";
	case DNS_RCODE_FORMERR:		return "FORMERR";
	case DNS_RCODE_SERVFAIL:	return "SERVFAIL";
	case DNS_RCODE_NXDOMAIN:	return "NXDOMAIN";
	case DNS_RCODE_NOTIMP:		return "NOTIMP";
	case DNS_RCODE_REFUSED:		return "REFUSED";
	case DNS_RCODE_BADVERS:		return "BADVERS";
	default:			return "OTHER";
	}
}

uint16_t
dns_wire_rcode(const uint8_t *pkt, size_t len)
{
	if (len < DNS_HDR_LEN)
		return DNS_RCODE_SERVFAIL;
	return pkt[3] & 0xf;
}
