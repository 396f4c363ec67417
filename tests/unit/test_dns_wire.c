/* SPDX-License-Identifier: MIT */
/* test_dns_wire.c -- query parsing (every truncation), answer building, TC, EDNS. */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ldns/ldns.h>

#include "dns_wire.h"

/* Builds a query with ldns; edns < 0: no OPT, else its payload size. */
static size_t
mkquery(const char *name, ldns_rr_type type, int edns, bool dnssec_ok,
    uint8_t *out, size_t cap)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type,
	    LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0x1234);
	if (edns >= 0) {
		ldns_pkt_set_edns_udp_size(p, (uint16_t)edns);
		ldns_pkt_set_edns_do(p, dnssec_ok);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_true(len <= cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

static void
test_parse_query_ok(void **state)
{
	uint8_t b[512];
	struct dns_query q;
	char text[DNS_MAX_NAME + 1];
	size_t len;

	len = mkquery("BackEnd.Default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    1232, true, b, sizeof(b));
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_OK);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.nlabels, 5);
	assert_true(q.edns);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_payload, 1232);
	assert_int_equal(q.edns_version, 0);
	assert_int_equal(dns_wire_qname_text(&q, text, sizeof(text)),
	    (int)strlen("backend.default.svc.cluster.local"));
	assert_string_equal(text, "backend.default.svc.cluster.local");
	/* case kept in the wire copy */
	assert_memory_equal(q.qname + 1, "BackEnd", 7);
	assert_int_equal(dns_wire_udp_max(&q, 1232), 1232);
	assert_int_equal(dns_wire_udp_max(&q, 4096), 1232);
	q.edns_payload = 100;
	assert_int_equal(dns_wire_udp_max(&q, 1232), 512);
	q.edns = false;
	assert_int_equal(dns_wire_udp_max(&q, 1232), 512);
}

static void
test_parse_query_every_truncation(void **state)
{
	uint8_t b[512], *cut;
	struct dns_query q;
	size_t len, i;
	enum dns_parse r;

	len = mkquery("a.b.example.", LDNS_RR_TYPE_SRV, 1232, false, b,
	    sizeof(b));
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_OK);
	for (i = 0; i < len; i++) {
		/* an exact-size copy, so ASan sees any read past the end */
		cut = malloc(i ? i : 1);
		memcpy(cut, b, i);
		r = dns_wire_parse_query(cut, i, &q);
		if (i < DNS_HDR_LEN)
			assert_int_equal(r, DNS_PARSE_DROP);
		else
			assert_int_equal(r, DNS_PARSE_FORMERR);
		free(cut);
	}
}

static void
test_parse_query_rejects(void **state)
{
	uint8_t b[600];
	struct dns_query q;
	size_t len, i;

	len = mkquery("x.example.", LDNS_RR_TYPE_A, -1, false, b, sizeof(b));
	b[2] |= 0x80;					/* QR=1 */
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_DROP);
	b[2] &= 0x7f;
	b[2] |= 2 << 3;					/* opcode STATUS */
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_NOTIMP);
	assert_int_equal(q.id, 0x1234);
	b[2] &= (uint8_t)~(0xf << 3);
	b[5] = 2;					/* QDCOUNT 2 */
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_FORMERR);
	b[5] = 0;
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_FORMERR);
	b[5] = 1;
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_OK);
	/* a compression pointer in the question */
	b[12] = 0xc0;
	b[13] = 12;
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_FORMERR);
	/* a name longer than 255 bytes: 5 labels of 63 */
	memset(b, 0, sizeof(b));
	b[5] = 1;
	for (i = 0; i < 5; i++) {
		b[12 + i * 64] = 63;
		memset(b + 13 + i * 64, 'a', 63);
	}
	assert_int_equal(dns_wire_parse_query(b, 12 + 5 * 64 + 5, &q),
	    DNS_PARSE_FORMERR);
	/* a label of 64 (0x40: reserved label type) */
	memset(b, 0, sizeof(b));
	b[5] = 1;
	b[12] = 64;
	assert_int_equal(dns_wire_parse_query(b, 12 + 65 + 5, &q),
	    DNS_PARSE_FORMERR);
	/* empty input, and a bare header */
	assert_int_equal(dns_wire_parse_query(b, 0, &q), DNS_PARSE_DROP);
	memset(b, 0, 12);
	assert_int_equal(dns_wire_parse_query(b, 12, &q), DNS_PARSE_FORMERR);
}

static void
test_parse_query_edns(void **state)
{
	uint8_t b[512];
	struct dns_query q;
	size_t len;

	len = mkquery("x.example.", LDNS_RR_TYPE_A, 4096, false, b, sizeof(b));
	/* OPT is the last 11 bytes: name(1) type(2) class(2) ttl(4) rdlen(2) */
	b[len - 11 + 6] = 1;				/* version 1 */
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_BADVERS);
	b[len - 11 + 6] = 0;
	assert_int_equal(dns_wire_parse_query(b, len, &q), DNS_PARSE_OK);
	assert_false(q.edns_do);
	/* a second OPT */
	memcpy(b + len, b + len - 11, 11);
	b[11] = 2;
	assert_int_equal(dns_wire_parse_query(b, len + 11, &q),
	    DNS_PARSE_FORMERR);
	/* OPT owned by a name other than the root */
	len = mkquery("x.example.", LDNS_RR_TYPE_A, 4096, false, b, sizeof(b));
	memmove(b + len - 11 + 2, b + len - 11, 11);
	b[len - 11] = 1;
	b[len - 10] = 'x';
	assert_int_equal(dns_wire_parse_query(b, len + 2, &q),
	    DNS_PARSE_FORMERR);
}

/* Parses an answer with ldns, checking it is well-formed. */
static ldns_pkt *
reparse(const uint8_t *b, size_t len)
{
	ldns_pkt *p = NULL;

	assert_int_equal(ldns_wire2pkt(&p, b, len), LDNS_STATUS_OK);
	return p;
}

static void
test_msg_answer(void **state)
{
	uint8_t qb[512], ab[1232];
	struct dns_query q;
	struct dns_msg m;
	struct in_addr a;
	ldns_pkt *p;
	ldns_rr *rr;
	size_t len, alen;
	char *s;

	len = mkquery("Svc.NS.svc.cluster.local.", LDNS_RR_TYPE_SRV, 1232,
	    false, qb, sizeof(qb));
	assert_int_equal(dns_wire_parse_query(qb, len, &q), DNS_PARSE_OK);
	dns_msg_init(&m, ab, sizeof(ab), &q, DNS_RCODE_NOERROR, DNS_FLAG_AA);
	dns_msg_add_srv(&m, NULL, 5, 0, 100, 5000,
	    "svc.ns.svc.cluster.local");
	dns_msg_section(&m, 1);
	dns_msg_add_soa(&m, "cluster.local", 30, 42, 30);
	dns_msg_section(&m, 2);
	inet_pton(AF_INET, "127.96.0.7", &a);
	dns_msg_add_a(&m, "svc.ns.svc.cluster.local", 5, a);
	alen = dns_msg_finish(&m, 1232, 1232);
	assert_true(alen > 0);
	/*
	 * Owners point into the question, the SRV target is whole:
	 * 12 + 30 (question) + 44 (SRV) + 16 (A) + 54 (SOA) + 11 (OPT).
	 */
	assert_int_equal(alen, 167);
	p = reparse(ab, alen);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_aa(p));
	assert_true(ldns_pkt_rd(p));
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_pkt_arcount(p), 1);	/* OPT not counted */
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	rr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	s = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(s, "Svc.NS.svc.cluster.local.");
	free(s);
	s = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_answer(p), 0));
	/* written whole, in the case given (never the question's) */
	assert_non_null(strstr(s, "SRV\t0 100 5000 svc.ns.svc.cluster.local."));
	free(s);
	s = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_additional(p), 0));
	assert_non_null(strcasestr(s, "svc.ns.svc.cluster.local.\t5\tIN\tA\t127.96.0.7"));
	free(s);
	s = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_authority(p), 0));
	assert_non_null(strstr(s, "SOA\tns.dns.cluster.local. "
	    "hostmaster.cluster.local. 42 7200 1800 86400 30"));
	free(s);
	ldns_pkt_free(p);
}

/*
 * Walks the records of the answer in b[0..len) and returns how many
 * compression pointers the RDATA names of type hold (the name at offset
 * skip of each RDATA); -1 if the message does not walk.
 */
static int
rdata_pointers(const uint8_t *b, size_t len, uint16_t type, size_t skip)
{
	struct dns_cursor w = { b, len, 0, false };
	size_t i, n, end;
	uint16_t t, rdlen;
	uint8_t l;
	int ptrs = 0;

	dns_cursor_skip(&w, 4);
	if (dns_cursor_u16(&w) != 1)
		return -1;
	n = dns_cursor_u16(&w);
	n += dns_cursor_u16(&w);
	n += dns_cursor_u16(&w);
	dns_cursor_skip_name(&w);
	dns_cursor_skip(&w, 4);
	for (i = 0; i < n && !w.err; i++) {
		dns_cursor_skip_name(&w);
		t = dns_cursor_u16(&w);
		dns_cursor_skip(&w, 6);
		rdlen = dns_cursor_u16(&w);
		end = w.pos + rdlen;
		if (t == type && !w.err) {
			dns_cursor_skip(&w, skip);
			while ((l = dns_cursor_u8(&w)) != 0 && !w.err) {
				if ((l & 0xc0) == 0xc0) {
					ptrs++;
					break;
				}
				dns_cursor_skip(&w, l);
			}
			if (w.pos > end)
				return -1;
		}
		w.pos = end;
		if (w.pos > len)
			return -1;
	}
	return w.err ? -1 : ptrs;
}

/*
 * RFC 2782 and RFC 3597 section 4: SRV targets (and the names in any
 * type newer than RFC 1035) are never compressed, even when they repeat
 * the question; NS, CNAME, PTR and SOA names may be. A decoder as strict
 * as Go's rejects the whole answer otherwise.
 */
static void
test_msg_rdata_compression(void **state)
{
	uint8_t qb[512], ab[1232];
	struct dns_query q;
	struct dns_msg m;
	ldns_pkt *p;
	size_t len, alen;
	char *s;

	len = mkquery("_http._tcp.svc.ns.svc.cluster.local.", LDNS_RR_TYPE_SRV,
	    -1, false, qb, sizeof(qb));
	assert_int_equal(dns_wire_parse_query(qb, len, &q), DNS_PARSE_OK);
	dns_msg_init(&m, ab, sizeof(ab), &q, DNS_RCODE_NOERROR, DNS_FLAG_AA);
	dns_msg_add_srv(&m, NULL, 5, 0, 100, 5000, "svc.ns.svc.cluster.local");
	dns_msg_add_srv(&m, "svc.ns.svc.cluster.local", 5, 0, 100, 5001,
	    "10-0-0-1.svc.ns.svc.cluster.local");
	alen = dns_msg_finish(&m, sizeof(ab), 1232);
	assert_true(alen > 0);
	assert_int_equal(rdata_pointers(ab, alen, DNS_TYPE_SRV, 6), 0);
	p = reparse(ab, alen);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	s = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_answer(p), 1));
	assert_non_null(strstr(s, "svc.ns.svc.cluster.local.\t5\tIN\tSRV\t"
	    "0 100 5001 10-0-0-1.svc.ns.svc.cluster.local."));
	free(s);
	ldns_pkt_free(p);

	/* PTR and CNAME targets may point into the question. */
	len = mkquery("svc.ns.svc.cluster.local.", LDNS_RR_TYPE_PTR, -1, false,
	    qb, sizeof(qb));
	assert_int_equal(dns_wire_parse_query(qb, len, &q), DNS_PARSE_OK);
	dns_msg_init(&m, ab, sizeof(ab), &q, DNS_RCODE_NOERROR, DNS_FLAG_AA);
	dns_msg_add_name_rr(&m, NULL, DNS_TYPE_PTR, 5,
	    "x.svc.ns.svc.cluster.local");
	dns_msg_add_name_rr(&m, NULL, DNS_TYPE_CNAME, 5, "cluster.local");
	/* a type after RFC 1035 (DNAME, 39): whole */
	dns_msg_add_name_rr(&m, NULL, 39, 5, "ns.svc.cluster.local");
	alen = dns_msg_finish(&m, sizeof(ab), 1232);
	assert_true(alen > 0);
	assert_int_equal(rdata_pointers(ab, alen, DNS_TYPE_PTR, 0), 1);
	assert_int_equal(rdata_pointers(ab, alen, DNS_TYPE_CNAME, 0), 1);
	assert_int_equal(rdata_pointers(ab, alen, 39, 0), 0);
	p = reparse(ab, alen);
	assert_int_equal(ldns_pkt_ancount(p), 3);
	ldns_pkt_free(p);

	assert_true(dns_wire_rdata_compressible(DNS_TYPE_NS));
	assert_true(dns_wire_rdata_compressible(DNS_TYPE_SOA));
	assert_true(dns_wire_rdata_compressible(DNS_TYPE_MX));
	assert_false(dns_wire_rdata_compressible(DNS_TYPE_SRV));
	assert_false(dns_wire_rdata_compressible(DNS_TYPE_TXT));
	assert_false(dns_wire_rdata_compressible(DNS_TYPE_AAAA));
}

static void
test_msg_truncation(void **state)
{
	uint8_t qb[512], ab[4096];
	struct dns_query q;
	struct dns_msg m;
	struct in_addr a;
	ldns_pkt *p;
	size_t len, alen, i;

	len = mkquery("many.example.", LDNS_RR_TYPE_A, -1, false, qb,
	    sizeof(qb));
	assert_int_equal(dns_wire_parse_query(qb, len, &q), DNS_PARSE_OK);
	dns_msg_init(&m, ab, sizeof(ab), &q, DNS_RCODE_NOERROR, DNS_FLAG_AA);
	for (i = 0; i < 40; i++) {
		a.s_addr = htonl(0x7f000001 + (uint32_t)i);
		dns_msg_add_a(&m, NULL, 5, a);
	}
	/* 40 * 16 bytes > 512: TC, no records, no OPT (none asked) */
	alen = dns_msg_finish(&m, dns_wire_udp_max(&q, 1232), 1232);
	assert_int_equal(alen, len);
	p = reparse(ab, alen);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* the same over TCP fits */
	dns_msg_init(&m, ab, sizeof(ab), &q, DNS_RCODE_NOERROR, DNS_FLAG_AA);
	for (i = 0; i < 40; i++) {
		a.s_addr = htonl(0x7f000001 + (uint32_t)i);
		dns_msg_add_a(&m, NULL, 5, a);
	}
	alen = dns_msg_finish(&m, 65535, 1232);
	p = reparse(ab, alen);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 40);
	ldns_pkt_free(p);
	/* a buffer too small for even the records: TC, never overflow */
	dns_msg_init(&m, ab, 40, &q, DNS_RCODE_NOERROR, 0);
	dns_msg_add_a(&m, NULL, 5, a);
	dns_msg_add_a(&m, NULL, 5, a);
	alen = dns_msg_finish(&m, 65535, 1232);
	assert_int_equal(alen, len);
	assert_true(ab[2] & (DNS_FLAG_TC >> 8));
	/* a name longer than 255 bytes on the wire is never written */
	{
		char big[300];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		for (i = 60; i < sizeof(big) - 1; i += 61)
			big[i] = '.';
		dns_msg_init(&m, ab, sizeof(ab), &q, DNS_RCODE_NOERROR, 0);
		dns_msg_add_name_rr(&m, NULL, DNS_TYPE_CNAME, 5, big);
		assert_true(m.err);
		big[250] = '\0';
		dns_msg_init(&m, ab, sizeof(ab), &q, DNS_RCODE_NOERROR, 0);
		dns_msg_add_name_rr(&m, NULL, DNS_TYPE_CNAME, 5, big);
		assert_false(m.err);
		alen = dns_msg_finish(&m, 65535, 1232);
		p = reparse(ab, alen);
		assert_int_equal(ldns_pkt_ancount(p), 1);
		ldns_pkt_free(p);
	}
	/* not even the question fits: nothing */
	dns_msg_init(&m, ab, 14, &q, DNS_RCODE_NOERROR, 0);
	assert_int_equal(dns_msg_finish(&m, 65535, 1232), 0);
}

static void
test_error_answers(void **state)
{
	uint8_t qb[512], ab[512];
	struct dns_query q;
	ldns_pkt *p;
	size_t len, alen;

	len = mkquery("x.example.", LDNS_RR_TYPE_A, 1232, true, qb,
	    sizeof(qb));
	qb[len - 11 + 6] = 3;				/* version 3 */
	assert_int_equal(dns_wire_parse_query(qb, len, &q), DNS_PARSE_BADVERS);
	alen = dns_wire_error(ab, sizeof(ab), &q, DNS_RCODE_BADVERS, false,
	    1232);
	p = reparse(ab, alen);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);	/* 16 >> 4 */
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_int_equal(ldns_pkt_get_rcode(p), 0);
	ldns_pkt_free(p);

	qb[len - 11 + 6] = 0;
	qb[2] |= 4 << 3;				/* opcode NOTIFY */
	assert_int_equal(dns_wire_parse_query(qb, len, &q), DNS_PARSE_NOTIMP);
	alen = dns_wire_error(ab, sizeof(ab), &q, DNS_RCODE_NOTIMP, false,
	    1232);
	assert_int_equal(alen, DNS_HDR_LEN);
	p = reparse(ab, alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	ldns_pkt_free(p);

	qb[2] &= (uint8_t)~(0xf << 3);
	assert_int_equal(dns_wire_parse_query(qb, len, &q), DNS_PARSE_OK);
	alen = dns_wire_error(ab, sizeof(ab), &q, DNS_RCODE_REFUSED, false,
	    1232);
	p = reparse(ab, alen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_true(ldns_pkt_edns(p));
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
	assert_string_equal(dns_wire_rcode_name(DNS_RCODE_NXDOMAIN),
	    "NXDOMAIN");
	assert_string_equal(dns_wire_type_name(DNS_TYPE_SRV), "SRV");
	assert_string_equal(dns_wire_type_name(4242), "OTHER");
}

static void
test_cursor_sticky(void **state)
{
	const uint8_t b[3] = { 1, 2, 3 };
	struct dns_cursor w = { b, sizeof(b), 0, false };

	assert_int_equal(dns_cursor_u16(&w), 0x0102);
	assert_int_equal(dns_cursor_u16(&w), 0);
	assert_true(w.err);
	/* sticky: even a read that would fit now fails */
	assert_int_equal(dns_cursor_u8(&w), 0);
	assert_int_equal(w.pos, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query_ok),
		cmocka_unit_test(test_parse_query_every_truncation),
		cmocka_unit_test(test_parse_query_rejects),
		cmocka_unit_test(test_parse_query_edns),
		cmocka_unit_test(test_msg_answer),
		cmocka_unit_test(test_msg_rdata_compression),
		cmocka_unit_test(test_msg_truncation),
		cmocka_unit_test(test_error_answers),
		cmocka_unit_test(test_cursor_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
