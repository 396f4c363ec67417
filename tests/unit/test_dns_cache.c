/* SPDX-License-Identifier: MIT */
/* test_dns_cache.c -- TTLs, negative TTLs, keys, eviction, rewriting of cached answers. */
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
#include "dns_cache.h"
#include "dns_wire.h"
#include "dns_relay.h"
#include "dns_testq.h"

/* An upstream answer into the cache, as the server does it. */
static int
put(struct dns_cache *c, const struct dns_query *q, const uint8_t *ans,
    size_t len, uint64_t now_ms)
{
	struct dns_relay_msg *m;

	if ((m = dns_relay_parse(q, ans, len)) == NULL)
		return ERR_INVAL;
	return dns_cache_put(c, q, m, now_ms);
}

/* A cached answer written for q, as the server does it; 0 on a miss. */
static size_t
get(struct dns_cache *c, const struct dns_query *q, uint8_t *out,
    size_t cap, size_t maxlen, uint64_t now_ms)
{
	const struct dns_relay_msg *m;
	uint32_t age;

	if ((m = dns_cache_get(c, q, now_ms, &age)) == NULL)
		return 0;
	return dns_relay_write(m, q, age, 1232, out, cap, maxlen);
}

/* A query for name/type, parsed. */
static void
mkq(const char *name, ldns_rr_type type, int edns, bool dnssec_ok,
    uint16_t id, struct dns_query *q)
{
	dnstest_query(name, type, edns, dnssec_ok, id, q);
}

/*
 * An upstream answer to name/type: rcode, records "an" in the answer
 * and "ns" in the authority section (NULL for none). Returns its length.
 */
static size_t
mkans(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode,
    const char *an, const char *ns, bool tc, uint8_t *out)
{
	ldns_pkt *p = NULL;
	ldns_rr *rr;
	uint8_t *wire = NULL;
	size_t len = 0;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type,
	    LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0x7777);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_tc(p, tc);
	ldns_pkt_set_rcode(p, rcode);
	if (an != NULL) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, an, 0, NULL, NULL),
		    LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	if (ns != NULL) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, ns, 0, NULL, NULL),
		    LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

static uint32_t
first_ttl(const uint8_t *b, size_t len, ldns_pkt_section sec)
{
	ldns_pkt *p = NULL;
	uint32_t ttl;

	assert_int_equal(ldns_wire2pkt(&p, b, len), LDNS_STATUS_OK);
	switch (sec) {
	case LDNS_SECTION_ANSWER:
		ttl = ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0));
		break;
	default:
		ttl = ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0));
		break;
	}
	ldns_pkt_free(p);
	return ttl;
}

static void
test_cache_positive_ttl(void **state)
{
	struct dns_cache *c = dns_cache_new(10);
	struct dns_query q, q2;
	uint8_t a[512], out[512];
	size_t len, n;

	mkq("www.Example.", LDNS_RR_TYPE_A, -1, false, 1, &q);
	len = mkans("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "www.example. 30 IN A 192.0.2.1", NULL, false, a);
	assert_int_equal(get(c, &q, out, sizeof(out), 512, 1000), 0);
	assert_int_equal(put(c, &q, a, len, 1000), 0);
	assert_int_equal(dns_cache_count(c), 1);
	/* another client, other ID and case, 5 s later */
	mkq("WWW.EXAMPLE.", LDNS_RR_TYPE_A, -1, false, 0xbeef, &q2);
	n = get(c, &q2, out, sizeof(out), 512, 6000);
	assert_int_equal(n, len);
	assert_int_equal(out[0], 0xbe);
	assert_int_equal(out[1], 0xef);
	assert_memory_equal(out + 12, "\x03WWW\x07" "EXAMPLE", 12);
	assert_int_equal(first_ttl(out, n, LDNS_SECTION_ANSWER), 25);
	/* gone at 30 s */
	assert_int_equal(get(c, &q2, out, sizeof(out), 512, 31000),
	    0);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(c);
}

static void
test_cache_negative_ttl(void **state)
{
	struct dns_cache *c = dns_cache_new(10);
	struct dns_query q;
	uint8_t a[512], out[512];
	size_t len, n;

	mkq("nx.example.", LDNS_RR_TYPE_A, -1, false, 1, &q);
	/* SOA TTL 60, minimum 10: the answer lives min(60, 10) */
	len = mkans("nx.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL,
	    "example. 60 IN SOA ns.example. h.example. 1 2 3 4 10", false, a);
	assert_int_equal(put(c, &q, a, len, 0), 0);
	n = get(c, &q, out, sizeof(out), 512, 9000);
	assert_int_equal(n, len);
	assert_int_equal(dns_wire_rcode(out, n), DNS_RCODE_NXDOMAIN);
	assert_int_equal(first_ttl(out, n, LDNS_SECTION_AUTHORITY), 51);
	assert_int_equal(get(c, &q, out, sizeof(out), 512, 10000),
	    0);
	/* NODATA is negative too */
	len = mkans("nx.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL,
	    "example. 5 IN SOA ns.example. h.example. 1 2 3 4 10", false, a);
	assert_int_equal(put(c, &q, a, len, 0), 0);
	assert_int_equal(get(c, &q, out, sizeof(out), 512, 4999),
	    len);
	assert_int_equal(get(c, &q, out, sizeof(out), 512, 5000), 0);
	/* without SOA, nothing to go by */
	len = mkans("nx.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL,
	    NULL, false, a);
	assert_int_equal(put(c, &q, a, len, 0), ERR_INVAL);
	dns_cache_free(c);
}

static void
test_cache_refuses(void **state)
{
	struct dns_cache *c = dns_cache_new(10);
	struct dns_query q;
	uint8_t a[512], *cut;
	size_t len, i;

	mkq("x.example.", LDNS_RR_TYPE_A, -1, false, 1, &q);
	len = mkans("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, NULL,
	    NULL, false, a);
	assert_int_equal(put(c, &q, a, len, 0), ERR_INVAL);
	len = mkans("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "x.example. 30 IN A 192.0.2.1", NULL, true, a);
	assert_int_equal(put(c, &q, a, len, 0), ERR_INVAL);
	/* another question */
	len = mkans("y.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "y.example. 30 IN A 192.0.2.1", NULL, false, a);
	assert_int_equal(put(c, &q, a, len, 0), ERR_INVAL);
	/* TTL 0 */
	len = mkans("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "x.example. 0 IN A 192.0.2.1", NULL, false, a);
	assert_int_equal(put(c, &q, a, len, 0), ERR_INVAL);
	/* every truncation of a good answer is refused cleanly */
	len = mkans("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "x.example. 30 IN A 192.0.2.1",
	    "example. 60 IN SOA ns.example. h.example. 1 2 3 4 10", false, a);
	for (i = 0; i < len; i++) {
		cut = malloc(i ? i : 1);
		memcpy(cut, a, i);
		assert_int_equal(put(c, &q, cut, i, 0), ERR_INVAL);
		free(cut);
	}
	assert_int_equal(dns_cache_count(c), 0);
	assert_int_equal(put(c, &q, a, len, 0), 0);
	dns_cache_free(c);
}

static void
test_cache_keys_and_limits(void **state)
{
	struct dns_cache *c = dns_cache_new(2);
	struct dns_query q1, q1do, q2, q3;
	uint8_t a[512], out[512];
	size_t len;

	mkq("a.example.", LDNS_RR_TYPE_A, 1232, false, 1, &q1);
	mkq("a.example.", LDNS_RR_TYPE_A, 1232, true, 1, &q1do);
	mkq("b.example.", LDNS_RR_TYPE_A, -1, false, 1, &q2);
	mkq("c.example.", LDNS_RR_TYPE_A, -1, false, 1, &q3);
	len = mkans("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "a.example. 30 IN A 192.0.2.1", NULL, false, a);
	assert_int_equal(put(c, &q1, a, len, 0), 0);
	/* the DO bit is part of the key */
	assert_int_equal(get(c, &q1do, out, sizeof(out), 512, 0), 0);
	/* the upstream answer and the client's OPT */
	assert_int_equal(get(c, &q1, out, sizeof(out), 512, 0), len + 11);
	/* larger than the client takes: cut, never a partial entry */
	assert_int_equal(get(c, &q1, out, sizeof(out), len + 10, 0),
	    len - 16 + 11);
	assert_true(out[2] & (DNS_FLAG_TC >> 8));
	assert_int_equal(get(c, &q1, out, sizeof(out), 512, 0), len + 11);
	len = mkans("b.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "b.example. 30 IN A 192.0.2.2", NULL, false, a);
	assert_int_equal(put(c, &q2, a, len, 0), 0);
	/* touch a, so b is the least recently used */
	assert_true(get(c, &q1, out, sizeof(out), 512, 0) > 0);
	len = mkans("c.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
	    "c.example. 30 IN A 192.0.2.3", NULL, false, a);
	assert_int_equal(put(c, &q3, a, len, 0), 0);
	assert_int_equal(dns_cache_count(c), 2);
	assert_int_equal(get(c, &q2, out, sizeof(out), 512, 0), 0);
	assert_true(get(c, &q1, out, sizeof(out), 512, 0) > 0);
	assert_true(get(c, &q3, out, sizeof(out), 512, 0) > 0);
	dns_cache_flush(c);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(c);
	/* size 0: off */
	c = dns_cache_new(0);
	assert_int_equal(put(c, &q3, a, len, 0), ERR_INVAL);
	dns_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_positive_ttl),
		cmocka_unit_test(test_cache_negative_ttl),
		cmocka_unit_test(test_cache_refuses),
		cmocka_unit_test(test_cache_keys_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
