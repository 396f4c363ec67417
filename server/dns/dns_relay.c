/* SPDX-License-Identifier: MIT */
/* dns_relay.c -- upstream answers parsed with ldns, relayed whole or cut. */
#include "config.h"

#include <sys/types.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "util.h"
#include "dns_wire.h"
#include "dns_relay.h"

#define OPT_LEN		11	/* root name, type, class, TTL, RDLENGTH */

static bool	relay_question_ok(const struct dns_query *, const ldns_pkt *);
static ldns_rr	*relay_question_rr(const struct dns_query *);
static uint32_t	relay_lifetime(const ldns_pkt *);
static struct dns_relay_msg *relay_index(const uint8_t *, size_t,
    const struct dns_query *);
static struct dns_relay_msg *relay_render(ldns_pkt *,
    const struct dns_query *, uint32_t);
static ldns_rdf	*relay_dname(const char *);
static void	relay_age(ldns_rr_list *, uint32_t);
static void	relay_move(ldns_pkt *, ldns_pkt *, bool);

/* A question RR of q's name, type and class, or NULL on OOM. */
static ldns_rr *
relay_question_rr(const struct dns_query *q)
{
	ldns_rr *rr;
	ldns_rdf *owner;

	if ((owner = ldns_dname_new_frm_data((uint16_t)q->qname_len,
	    q->qname)) == NULL)
		return NULL;
	if ((rr = ldns_rr_new()) == NULL) {
		ldns_rdf_deep_free(owner);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_question(rr, true);
	ldns_rr_set_type(rr, (ldns_rr_type)q->qtype);
	ldns_rr_set_class(rr, (ldns_rr_class)q->qclass);
	return rr;
}

uint8_t *
dns_relay_query(const struct dns_query *q, size_t *len)
{
	ldns_pkt *p;
	ldns_rr *rr;
	uint8_t *wire = NULL;

	if ((p = ldns_pkt_new()) == NULL)
		return NULL;
	if ((rr = relay_question_rr(q)) == NULL)
		goto done;
	if (!ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr)) {
		ldns_rr_free(rr);
		goto done;
	}
	ldns_pkt_set_id(p, 0);
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(p, (q->flags & DNS_FLAG_RD) != 0);
	ldns_pkt_set_cd(p, (q->flags & DNS_FLAG_CD) != 0);
	ldns_pkt_set_edns_udp_size(p, DNS_RELAY_UPSTREAM_PAYLOAD);
	ldns_pkt_set_edns_do(p, q->edns_do);
	if (ldns_pkt2wire(&wire, p, len) != LDNS_STATUS_OK) {
		free(wire);
		wire = NULL;
	}
done:
	ldns_pkt_free(p);
	return wire;
}

/* One question, q's name (case aside), type and class. */
static bool
relay_question_ok(const struct dns_query *q, const ldns_pkt *p)
{
	const ldns_rr_list *ql = ldns_pkt_question(p);
	const ldns_rr *rr;
	const ldns_rdf *owner;
	const uint8_t *d;
	size_t i;

	if (ldns_rr_list_rr_count(ql) != 1)
		return false;
	rr = ldns_rr_list_rr(ql, 0);
	owner = ldns_rr_owner(rr);
	if (owner == NULL || ldns_rdf_size(owner) != q->qname_len ||
	    (uint16_t)ldns_rr_get_type(rr) != q->qtype ||
	    (uint16_t)ldns_rr_get_class(rr) != q->qclass)
		return false;
	d = ldns_rdf_data(owner);
	for (i = 0; i < q->qname_len; i++)
		if (tolower(d[i]) != tolower(q->qname[i]))
			return false;
	return true;
}

/*
 * How long the answer may be kept: the smallest TTL of its records
 * (at most DNS_RELAY_MAX_TTL_S); for NXDOMAIN and NODATA the SOA's TTL
 * or minimum, whichever is smaller (RFC 2308). 0 when it must not be
 * kept: other rcodes, TC, a negative answer without SOA, a TTL of 0.
 */
static uint32_t
relay_lifetime(const ldns_pkt *p)
{
	const ldns_rr_list *sec[3] = { ldns_pkt_answer(p),
	    ldns_pkt_authority(p), ldns_pkt_additional(p) };
	const ldns_rr *rr;
	uint32_t ttl, min = UINT32_MAX, soa = UINT32_MAX, soamin;
	size_t s, i;

	if (ldns_pkt_tc(p) || (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR &&
	    ldns_pkt_get_rcode(p) != LDNS_RCODE_NXDOMAIN))
		return 0;
	for (s = 0; s < 3; s++) {
		for (i = 0; i < ldns_rr_list_rr_count(sec[s]); i++) {
			rr = ldns_rr_list_rr(sec[s], i);
			ttl = MINIMUM(ldns_rr_ttl(rr), DNS_RELAY_MAX_TTL_S);
			min = MINIMUM(min, ttl);
			if (s == 1 && ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
			    ldns_rr_rd_count(rr) == 7) {
				soamin = ldns_rdf2native_int32(
				    ldns_rr_rdf(rr, 6));
				soa = MINIMUM(ttl, soamin);
			}
		}
	}
	if (ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN ||
	    ldns_rr_list_rr_count(sec[0]) == 0) {
		if (soa == UINT32_MAX)
			return 0;
		min = soa;
	}
	return min == UINT32_MAX ? 0 : min;
}

/*
 * Finds the record boundaries and TTLs of the canonical wire[0..len)
 * (written by ldns, so well formed; still read through the checked
 * cursor) and copies it into one allocation.
 */
static struct dns_relay_msg *
relay_index(const uint8_t *wire, size_t len, const struct dns_query *q)
{
	struct dns_cursor w = { wire, len, 0, false };
	struct dns_relay_msg *m;
	uint16_t flags, counts[3], rdlen;
	size_t nrr, i, qend;
	uint8_t *base;

	(void)dns_cursor_u16(&w);
	flags = dns_cursor_u16(&w);
	if (dns_cursor_u16(&w) != 1)
		return NULL;
	for (i = 0; i < 3; i++)
		counts[i] = dns_cursor_u16(&w);
	dns_cursor_skip(&w, q->qname_len + 4);
	qend = w.pos;
	nrr = (size_t)counts[0] + counts[1] + counts[2];
	if (w.err || nrr > UINT16_MAX)
		return NULL;
	if ((base = malloc(sizeof(*m) + (2 * nrr + 1) * sizeof(uint16_t) +
	    len)) == NULL)
		return NULL;
	m = (struct dns_relay_msg *)(void *)base;
	memset(m, 0, sizeof(*m));
	m->rr_end = (uint16_t *)(void *)(base + sizeof(*m)) + 1;
	m->ttl_off = m->rr_end + nrr;
	m->wire = (uint8_t *)(m->ttl_off + nrr);
	m->rr_end[-1] = (uint16_t)qend;
	for (i = 0; i < nrr; i++) {
		dns_cursor_skip_name(&w);
		dns_cursor_skip(&w, 4);
		m->ttl_off[i] = (uint16_t)w.pos;
		dns_cursor_skip(&w, 4);
		rdlen = dns_cursor_u16(&w);
		dns_cursor_skip(&w, rdlen);
		m->rr_end[i] = (uint16_t)w.pos;
	}
	if (w.err || w.pos != len) {
		free(base);
		return NULL;
	}
	memcpy(m->wire, wire, len);
	m->len = len;
	m->flags = flags & ~0xfu;
	m->rcode = flags & 0xf;
	memcpy(m->count, counts, sizeof(counts));
	m->nrr = (uint16_t)nrr;
	return m;
}

/*
 * Writes out (its question q's, its sections filled, its flags but ID,
 * QR and opcode set) in canonical form: counts from the lists, ID 0,
 * no OPT. ttl_s goes with it. NULL on OOM or a form over 64 KiB.
 */
static struct dns_relay_msg *
relay_render(ldns_pkt *out, const struct dns_query *q, uint32_t ttl_s)
{
	struct dns_relay_msg *m = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;

	ldns_pkt_set_qdcount(out, 1);
	ldns_pkt_set_ancount(out,
	    (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(out)));
	ldns_pkt_set_nscount(out,
	    (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(out)));
	ldns_pkt_set_arcount(out,
	    (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(out)));
	ldns_pkt_set_id(out, 0);
	ldns_pkt_set_qr(out, true);
	ldns_pkt_set_opcode(out, LDNS_PACKET_QUERY);
	if (ldns_pkt2wire(&wire, out, &wlen) == LDNS_STATUS_OK &&
	    wlen <= DNS_MAX_MSG && (m = relay_index(wire, wlen, q)) != NULL)
		m->ttl_s = ttl_s;
	free(wire);
	return m;
}

struct dns_relay_msg *
dns_relay_parse(const struct dns_query *q, const uint8_t *ans, size_t len)
{
	ldns_pkt *in = NULL, *out = NULL;
	ldns_rr *rr;
	struct dns_relay_msg *m = NULL;

	if (len < DNS_HDR_LEN || len > DNS_MAX_MSG ||
	    ldns_wire2pkt(&in, ans, len) != LDNS_STATUS_OK)
		return NULL;
	if (!ldns_pkt_qr(in) || ldns_pkt_get_opcode(in) != LDNS_PACKET_QUERY)
		goto done;
	if (!relay_question_ok(q, in) &&
	    (ldns_pkt_qdcount(in) != 0 ||
	    ldns_pkt_get_rcode(in) == LDNS_RCODE_NOERROR))
		goto done;
	if ((out = ldns_pkt_new()) == NULL)
		goto done;
	relay_move(out, in, true);
	if (ldns_rr_list_rr_count(ldns_pkt_question(out)) == 0) {
		/* An error answer without the question: it gets q's. */
		if ((rr = relay_question_rr(q)) == NULL)
			goto done;
		if (!ldns_rr_list_push_rr(ldns_pkt_question(out), rr)) {
			ldns_rr_free(rr);
			goto done;
		}
	}
	ldns_pkt_set_aa(out, ldns_pkt_aa(in));
	ldns_pkt_set_tc(out, ldns_pkt_tc(in));
	ldns_pkt_set_ra(out, ldns_pkt_ra(in));
	ldns_pkt_set_ad(out, ldns_pkt_ad(in));
	ldns_pkt_set_rcode(out, ldns_pkt_get_rcode(in));
	m = relay_render(out, q, relay_lifetime(out));
done:
	ldns_pkt_free(out);
	ldns_pkt_free(in);
	return m;
}

void
dns_relay_msg_free(struct dns_relay_msg *m)
{
	free(m);
}

size_t
dns_relay_write(const struct dns_relay_msg *m, const struct dns_query *q,
    uint32_t age_s, size_t edns_payload, uint8_t *buf, size_t cap,
    size_t maxlen)
{
	size_t limit = MINIMUM(cap, maxlen), optlen = q->edns ? OPT_LEN : 0;
	size_t k, i, end, c[3];
	uint16_t flags;
	uint32_t ttl;
	uint8_t *p;

	if ((size_t)m->rr_end[-1] + optlen > limit)
		return 0;
	/* The most whole records that fit, in order. */
	for (k = m->nrr; k > 0 && (size_t)m->rr_end[k - 1] + optlen > limit;
	    k--)
		;
	end = k > 0 ? m->rr_end[k - 1] : m->rr_end[-1];
	memcpy(buf, m->wire, end);
	c[0] = MINIMUM(k, m->count[0]);
	c[1] = MINIMUM(k - c[0], m->count[1]);
	c[2] = k - c[0] - c[1];
	flags = DNS_FLAG_QR | (q->flags & (DNS_FLAG_RD | DNS_FLAG_CD)) |
	    (m->flags & (DNS_FLAG_AA | DNS_FLAG_RA | DNS_FLAG_TC)) |
	    (m->rcode & 0xf);
	if ((m->flags & DNS_FLAG_AD) &&
	    (q->edns_do || (q->flags & DNS_FLAG_AD)))
		flags |= DNS_FLAG_AD;
	if (c[0] + c[1] < (size_t)m->count[0] + m->count[1])
		flags |= DNS_FLAG_TC;
	ldns_write_uint16(buf, q->id);
	ldns_write_uint16(buf + 2, flags);
	ldns_write_uint16(buf + 6, (uint16_t)c[0]);
	ldns_write_uint16(buf + 8, (uint16_t)c[1]);
	ldns_write_uint16(buf + 10, (uint16_t)(c[2] + (q->edns ? 1 : 0)));
	memcpy(buf + DNS_HDR_LEN, q->qname, q->qname_len);
	for (i = 0; i < k && age_s > 0; i++) {
		p = buf + m->ttl_off[i];
		ttl = ldns_read_uint32(p);
		ldns_write_uint32(p, ttl > age_s ? ttl - age_s : 0);
	}
	if (q->edns) {
		p = buf + end;
		p[0] = 0;
		ldns_write_uint16(p + 1, DNS_TYPE_OPT);
		ldns_write_uint16(p + 3, (uint16_t)edns_payload);
		ldns_write_uint32(p + 5, q->edns_do ? 0x8000 : 0);
		ldns_write_uint16(p + 9, 0);
		end += OPT_LEN;
	}
	return end;
}

/*
 * Moves from's authority and additional sections (and its question and
 * answer when all) to to, whose lists, empty, go to from in exchange.
 */
static void
relay_move(ldns_pkt *to, ldns_pkt *from, bool all)
{
	ldns_rr_list *tmp;

	if (all) {
		tmp = ldns_pkt_question(to);
		ldns_pkt_set_question(to, ldns_pkt_question(from));
		ldns_pkt_set_question(from, tmp);
		tmp = ldns_pkt_answer(to);
		ldns_pkt_set_answer(to, ldns_pkt_answer(from));
		ldns_pkt_set_answer(from, tmp);
	}
	tmp = ldns_pkt_authority(to);
	ldns_pkt_set_authority(to, ldns_pkt_authority(from));
	ldns_pkt_set_authority(from, tmp);
	tmp = ldns_pkt_additional(to);
	ldns_pkt_set_additional(to, ldns_pkt_additional(from));
	ldns_pkt_set_additional(from, tmp);
}

/* Lowers every TTL of l by age_s, down to 0. */
static void
relay_age(ldns_rr_list *l, uint32_t age_s)
{
	ldns_rr *rr;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++) {
		rr = ldns_rr_list_rr(l, i);
		ldns_rr_set_ttl(rr, ldns_rr_ttl(rr) > age_s ?
		    ldns_rr_ttl(rr) - age_s : 0);
	}
}

/* A dname from dotted text, the final dot optional; NULL when invalid. */
static ldns_rdf *
relay_dname(const char *text)
{
	char buf[DNS_MAX_NAME + 2];
	size_t l = strlen(text);

	if (l == 0 || l > DNS_MAX_NAME)
		return NULL;
	memcpy(buf, text, l + 1);
	if (buf[l - 1] != '.') {
		buf[l] = '.';
		buf[l + 1] = '\0';
	}
	return ldns_dname_new_frm_str(buf);
}

int
dns_relay_make_query(const char *name, const struct dns_query *like,
    struct dns_query *out)
{
	ldns_pkt *p;
	ldns_rr *rr;
	ldns_rdf *owner;
	uint8_t *wire = NULL;
	size_t len = 0;
	int rc = -1;

	if ((owner = relay_dname(name)) == NULL)
		return -1;
	if ((p = ldns_pkt_new()) == NULL || (rr = ldns_rr_new()) == NULL) {
		ldns_rdf_deep_free(owner);
		ldns_pkt_free(p);
		return -1;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_question(rr, true);
	ldns_rr_set_type(rr, (ldns_rr_type)like->qtype);
	ldns_rr_set_class(rr, (ldns_rr_class)like->qclass);
	if (!ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr)) {
		ldns_rr_free(rr);
		goto done;
	}
	ldns_pkt_set_id(p, like->id);
	ldns_pkt_set_rd(p, (like->flags & DNS_FLAG_RD) != 0);
	ldns_pkt_set_cd(p, (like->flags & DNS_FLAG_CD) != 0);
	if (like->edns) {
		ldns_pkt_set_edns_udp_size(p, like->edns_payload);
		ldns_pkt_set_edns_do(p, like->edns_do);
	}
	if (ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK &&
	    dns_wire_parse_query(wire, len, out) == DNS_PARSE_OK)
		rc = 0;
done:
	free(wire);
	ldns_pkt_free(p);
	return rc;
}

struct dns_relay_msg *
dns_relay_chain(const struct dns_query *q, char *const *targets,
    const uint32_t *ttls, size_t n, const uint8_t *fin, size_t finlen,
    uint32_t age_s, bool aa)
{
	ldns_pkt *out, *f = NULL;
	ldns_rr *rr, *c;
	ldns_rdf *owner, *target;
	struct dns_relay_msg *m = NULL;
	size_t i;

	if ((out = ldns_pkt_new()) == NULL)
		return NULL;
	if (fin != NULL && (ldns_wire2pkt(&f, fin, finlen) != LDNS_STATUS_OK ||
	    !ldns_pkt_qr(f)))
		goto done;
	if ((rr = relay_question_rr(q)) == NULL)
		goto done;
	if (!ldns_rr_list_push_rr(ldns_pkt_question(out), rr)) {
		ldns_rr_free(rr);
		goto done;
	}
	for (i = 0; i < n; i++) {
		owner = i == 0 ? ldns_dname_new_frm_data(
		    (uint16_t)q->qname_len, q->qname) :
		    relay_dname(targets[i - 1]);
		target = relay_dname(targets[i]);
		if (owner == NULL || target == NULL ||
		    (rr = ldns_rr_new()) == NULL) {
			ldns_rdf_deep_free(owner);
			ldns_rdf_deep_free(target);
			goto done;
		}
		ldns_rr_set_owner(rr, owner);
		ldns_rr_set_type(rr, LDNS_RR_TYPE_CNAME);
		ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
		ldns_rr_set_ttl(rr, ttls[i]);
		if (!ldns_rr_push_rdf(rr, target)) {
			ldns_rdf_deep_free(target);
			ldns_rr_free(rr);
			goto done;
		}
		if (!ldns_rr_list_push_rr(ldns_pkt_answer(out), rr)) {
			ldns_rr_free(rr);
			goto done;
		}
	}
	ldns_pkt_set_aa(out, aa);
	ldns_pkt_set_ra(out, true);
	ldns_pkt_set_rcode(out, LDNS_RCODE_NOERROR);
	if (f != NULL) {
		for (i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(f));
		    i++) {
			if ((c = ldns_rr_clone(ldns_rr_list_rr(
			    ldns_pkt_answer(f), i))) == NULL)
				goto done;
			ldns_rr_set_ttl(c, ldns_rr_ttl(c) > age_s ?
			    ldns_rr_ttl(c) - age_s : 0);
			if (!ldns_rr_list_push_rr(ldns_pkt_answer(out), c)) {
				ldns_rr_free(c);
				goto done;
			}
		}
		relay_move(out, f, false);
		relay_age(ldns_pkt_authority(out), age_s);
		relay_age(ldns_pkt_additional(out), age_s);
		ldns_pkt_set_rcode(out, ldns_pkt_get_rcode(f));
		ldns_pkt_set_tc(out, ldns_pkt_tc(f));
	}
	m = relay_render(out, q, 0);
done:
	ldns_pkt_free(f);
	ldns_pkt_free(out);
	return m;
}
