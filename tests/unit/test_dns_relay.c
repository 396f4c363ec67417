/* SPDX-License-Identifier: MIT */
/* test_dns_relay.c -- upstream answers relayed whole, cut at records, rcodes kept. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ldns/ldns.h>

#include "util.h"
#include "dns_wire.h"
#include "dns_relay.h"
#include "dns_testq.h"

/* A client's query for name/type (edns < 0: no OPT), parsed. */
static void
mkq(const char *name, ldns_rr_type type, int edns, bool dnssec_ok,
    struct dns_query *q)
{
	dnstest_query(name, type, edns, dnssec_ok, 0x4242, q);
}

/*
 * An upstream answer to name/type with n A records (10.0.x.y) in the
 * answer, an SOA in the authority section when soa. Caller frees.
 */
static uint8_t *
mkans(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, size_t n,
    bool soa, size_t *len)
{
	ldns_pkt *p = NULL;
	ldns_rr *rr;
	uint8_t *wire = NULL;
	char text[256];
	size_t i;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type,
	    LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0x7777);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_ad(p, true);
	ldns_pkt_set_rcode(p, rcode);
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "%s 300 IN A 10.0.%zu.%zu", name,
		    i / 256, i % 256);
		assert_int_equal(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL),
		    LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	if (soa) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, "example. 600 IN SOA "
		    "ns.example. h.example. 1 2 3 4 60", 0, NULL, NULL),
		    LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wire;
}

/* Parses what a client gets; fails the test when ldns cannot. */
static ldns_pkt *
client_sees(const uint8_t *buf, size_t len)
{
	ldns_pkt *p = NULL;

	assert_int_equal(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
	return p;
}

static void
test_relay_query_asks_with_edns(void **state)
{
	struct dns_query q;
	ldns_pkt *p;
	uint8_t *wire;
	size_t len;
	char *name;

	(void)state;
	mkq("WwW.Example.COM.", LDNS_RR_TYPE_AAAA, -1, false, &q);
	assert_non_null(wire = dns_relay_query(&q, &len));
	p = client_sees(wire, len);
	assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_RELAY_UPSTREAM_PAYLOAD);
	assert_false(ldns_pkt_edns_do(p));
	assert_true(ldns_pkt_rd(p));
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(
	    ldns_pkt_question(p), 0)));
	assert_string_equal(name, "WwW.Example.COM.");
	free(name);
	ldns_pkt_free(p);
	free(wire);
	mkq("a.example.", LDNS_RR_TYPE_A, 4096, true, &q);
	assert_non_null(wire = dns_relay_query(&q, &len));
	p = client_sees(wire, len);
	assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_RELAY_UPSTREAM_PAYLOAD);
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
	free(wire);
}

/* Answers of 600, 1,200, 1,500 and 4,000 bytes, at every client size. */
static void
test_relay_large_answers_whole_or_cut(void **state)
{
	static const size_t nrec[] = { 35, 72, 90, 245 };
	static const int edns[] = { -1, 1232, 4096 };
	struct dns_query q;
	struct dns_relay_msg *m;
	uint8_t *ans, buf[65535];
	size_t i, e, len, n, maxlen, full;
	ldns_pkt *p;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(nrec); i++) {
		for (e = 0; e < CIP_ARRAY_LEN(edns); e++) {
			mkq("big.example.", LDNS_RR_TYPE_A, edns[e], false, &q);
			ans = mkans("big.example.", LDNS_RR_TYPE_A,
			    LDNS_RCODE_NOERROR, nrec[i], false, &len);
			assert_non_null(m = dns_relay_parse(&q, ans, len));
			assert_int_equal(m->ttl_s, 300);
			/* over TCP: everything */
			full = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf),
			    65535);
			p = client_sees(buf, full);
			assert_int_equal(ldns_pkt_ancount(p), nrec[i]);
			assert_false(ldns_pkt_tc(p));
			assert_int_equal(ldns_pkt_id(p), 0x4242);
			ldns_pkt_free(p);
			/* over UDP: at most the client's size, whole records */
			maxlen = dns_wire_udp_max(&q, 1232);
			n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf),
			    maxlen);
			assert_true(n > 0 && n <= maxlen);
			p = client_sees(buf, n);
			assert_true(ldns_pkt_ancount(p) > 0);
			assert_int_equal(ldns_pkt_tc(p), full > maxlen);
			if (full <= maxlen)
				assert_int_equal(ldns_pkt_ancount(p), nrec[i]);
			assert_int_equal(ldns_pkt_edns(p), edns[e] >= 0);
			ldns_pkt_free(p);
			dns_relay_msg_free(m);
			free(ans);
		}
	}
}

/* Every size limit gives a message whose counts match its records. */
static void
test_relay_every_cut(void **state)
{
	struct dns_query q;
	struct dns_relay_msg *m;
	uint8_t *ans, buf[4096];
	size_t len, n, maxlen, prev = 0;
	ldns_pkt *p;

	(void)state;
	mkq("cut.example.", LDNS_RR_TYPE_A, 1232, false, &q);
	ans = mkans("cut.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 20,
	    true, &len);
	assert_non_null(m = dns_relay_parse(&q, ans, len));
	for (maxlen = 0; maxlen <= len + 11; maxlen++) {
		n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), maxlen);
		if (n == 0) {
			assert_true(maxlen < DNS_HDR_LEN + q.qname_len + 4 + 11);
			continue;
		}
		assert_true(n <= maxlen && n >= prev);
		prev = n;
		p = client_sees(buf, n);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
		assert_int_equal(ldns_pkt_tc(p), maxlen < len + 11);
		ldns_pkt_free(p);
	}
	dns_relay_msg_free(m);
	free(ans);
}

/* Rcodes as the upstream sent them, none of them kept in a cache. */
static void
test_relay_rcodes(void **state)
{
	static const ldns_pkt_rcode rc[] = { LDNS_RCODE_REFUSED,
	    LDNS_RCODE_NOTIMPL, LDNS_RCODE_SERVFAIL, LDNS_RCODE_FORMERR };
	struct dns_query q;
	struct dns_relay_msg *m;
	uint8_t *ans, buf[512];
	size_t i, len, n;
	ldns_pkt *p;

	(void)state;
	mkq("r.example.", LDNS_RR_TYPE_A, -1, false, &q);
	for (i = 0; i < CIP_ARRAY_LEN(rc); i++) {
		ans = mkans("r.example.", LDNS_RR_TYPE_A, rc[i], 0, false,
		    &len);
		assert_non_null(m = dns_relay_parse(&q, ans, len));
		assert_int_equal(m->ttl_s, 0);
		n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
		p = client_sees(buf, n);
		assert_int_equal(ldns_pkt_get_rcode(p), rc[i]);
		ldns_pkt_free(p);
		dns_relay_msg_free(m);
		/* the same without the question: the client's goes in */
		len = 12;
		ans[5] = 0;
		assert_non_null(m = dns_relay_parse(&q, ans, len));
		n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
		p = client_sees(buf, n);
		assert_int_equal(ldns_pkt_get_rcode(p), rc[i]);
		assert_int_equal(ldns_pkt_qdcount(p), 1);
		ldns_pkt_free(p);
		dns_relay_msg_free(m);
		free(ans);
	}
	/* NXDOMAIN with its SOA: kept for the SOA's minimum */
	ans = mkans("r.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, true,
	    &len);
	assert_non_null(m = dns_relay_parse(&q, ans, len));
	assert_int_equal(m->ttl_s, 60);
	n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
	p = client_sees(buf, n);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
	dns_relay_msg_free(m);
	free(ans);
	/* NXDOMAIN without a SOA: relayed, not kept */
	ans = mkans("r.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0,
	    false, &len);
	assert_non_null(m = dns_relay_parse(&q, ans, len));
	assert_int_equal(m->ttl_s, 0);
	dns_relay_msg_free(m);
	free(ans);
}

/* Broken or unrelated answers are refused; every cut of one too. */
static void
test_relay_refuses(void **state)
{
	struct dns_query q, other;
	struct dns_relay_msg *m;
	uint8_t *ans;
	size_t len, i;

	(void)state;
	mkq("a.example.", LDNS_RR_TYPE_A, -1, false, &q);
	mkq("b.example.", LDNS_RR_TYPE_A, -1, false, &other);
	ans = mkans("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 3, true,
	    &len);
	assert_null(dns_relay_parse(&other, ans, len));
	for (i = 0; i < len; i++)
		assert_null(dns_relay_parse(&q, ans, i));
	ans[2] &= 0x7f;		/* QR=0: a query, not an answer */
	assert_null(dns_relay_parse(&q, ans, len));
	ans[2] |= 0x80;
	assert_non_null(m = dns_relay_parse(&q, ans, len));
	dns_relay_msg_free(m);
	free(ans);
}

/* Case, AD, aged TTLs, and an SRV target written out whole. */
static void
test_relay_rewrites(void **state)
{
	/* an SRV answer whose target points back at the question name */
	static const uint8_t srv[] = {
	    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	    5, '_', 'h', 't', 't', 'p', 4, '_', 't', 'c', 'p',
	    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 33, 0, 1,
	    0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 100, 0, 8,
	    0, 1, 0, 2, 0x1f, 0x90, 0xc0, 23 };
	struct dns_query q;
	struct dns_relay_msg *m;
	uint8_t *ans, buf[512];
	size_t len, n;
	ldns_pkt *p;
	ldns_rr *rr;
	char *t;

	(void)state;
	mkq("A.Example.", LDNS_RR_TYPE_A, -1, false, &q);
	ans = mkans("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, false,
	    &len);
	assert_non_null(m = dns_relay_parse(&q, ans, len));
	n = dns_relay_write(m, &q, 100, 1232, buf, sizeof(buf), 512);
	assert_memory_equal(buf + DNS_HDR_LEN, q.qname, q.qname_len);
	p = client_sees(buf, n);
	assert_false(ldns_pkt_ad(p));
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)),
	    200);
	ldns_pkt_free(p);
	n = dns_relay_write(m, &q, 400, 1232, buf, sizeof(buf), 512);
	p = client_sees(buf, n);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)),
	    0);
	ldns_pkt_free(p);
	dns_relay_msg_free(m);
	mkq("a.example.", LDNS_RR_TYPE_A, 1232, true, &q);
	assert_non_null(m = dns_relay_parse(&q, ans, len));
	n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
	p = client_sees(buf, n);
	assert_true(ldns_pkt_ad(p));
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
	dns_relay_msg_free(m);
	free(ans);

	mkq("_http._tcp.example.", LDNS_RR_TYPE_SRV, -1, false, &q);
	assert_non_null(m = dns_relay_parse(&q, srv, sizeof(srv)));
	n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
	/* the target takes its 9 bytes, no pointer */
	assert_int_equal(n, sizeof(srv) - 2 + 9);
	assert_int_equal(buf[n - 1], 0);
	p = client_sees(buf, n);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	t = ldns_rdf2str(ldns_rr_rdf(rr, 3));
	assert_string_equal(t, "example.");
	free(t);
	ldns_pkt_free(p);
	dns_relay_msg_free(m);
}

/* ExternalName: CNAMEs, then the target's answer, for the client. */
static void
test_relay_chain(void **state)
{
	char *targets[2] = { "inner.default.svc.cluster.local",
	    "www.example.com." };
	const uint32_t ttls[2] = { 5, 5 };
	struct dns_query q, tq;
	struct dns_relay_msg *m, *t;
	uint8_t *ans, buf[4096];
	size_t len, n;
	ldns_pkt *p;
	char *text;

	(void)state;
	mkq("Ext.default.svc.cluster.local.", LDNS_RR_TYPE_A, 1232, false, &q);
	assert_int_equal(dns_relay_make_query(targets[1], &q, &tq), 0);
	assert_int_equal(tq.qtype, LDNS_RR_TYPE_A);
	assert_true(tq.edns);
	assert_int_equal(dns_relay_make_query("bad..name", &q, &tq), -1);
	/* a positive target answer, 100 s old */
	ans = mkans("www.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 2,
	    false, &len);
	assert_int_equal(dns_relay_make_query(targets[1], &q, &tq), 0);
	assert_non_null(t = dns_relay_parse(&tq, ans, len));
	assert_non_null(m = dns_relay_chain(&q, targets, ttls, 2, t->wire,
	    t->len, 100, false));
	assert_int_equal(m->ttl_s, 0);
	n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
	p = client_sees(buf, n);
	assert_int_equal(ldns_pkt_ancount(p), 4);
	assert_int_equal(ldns_pkt_id(p), 0x4242);
	text = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(
	    ldns_pkt_question(p), 0)));
	assert_string_equal(text, "Ext.default.svc.cluster.local.");
	free(text);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p),
	    0)), LDNS_RR_TYPE_CNAME);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 2)),
	    200);
	assert_false(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	dns_relay_msg_free(m);
	dns_relay_msg_free(t);
	free(ans);
	/* NXDOMAIN for the target: the CNAMEs, the rcode and the SOA */
	ans = mkans("www.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0,
	    true, &len);
	assert_non_null(t = dns_relay_parse(&tq, ans, len));
	assert_non_null(m = dns_relay_chain(&q, targets, ttls, 2, t->wire,
	    t->len, 0, false));
	n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
	p = client_sees(buf, n);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
	dns_relay_msg_free(m);
	dns_relay_msg_free(t);
	free(ans);
	/* no target answer: the CNAMEs alone, authoritative */
	assert_non_null(m = dns_relay_chain(&q, targets, ttls, 1, NULL, 0, 0,
	    true));
	n = dns_relay_write(m, &q, 0, 1232, buf, sizeof(buf), 512);
	p = client_sees(buf, n);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	dns_relay_msg_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_query_asks_with_edns),
		cmocka_unit_test(test_relay_large_answers_whole_or_cut),
		cmocka_unit_test(test_relay_every_cut),
		cmocka_unit_test(test_relay_rcodes),
		cmocka_unit_test(test_relay_refuses),
		cmocka_unit_test(test_relay_rewrites),
		cmocka_unit_test(test_relay_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
