/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns_relay.c -- an upstream answer, as a hostile or broken upstream
 * may send it, through the relay and the cache. The first byte picks the
 * client (EDNS or not, DO); the rest is the answer, whose question makes
 * the client's query (or a fixed one when it has none). Whatever reaches
 * a client must parse with ldns, fit the client's size and say TC when it
 * was cut; what the cache hands back must be what went in.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns_cache.h"
#include "dns_relay.h"
#include "dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dns_cache *cache;

/* The client's query: the answer's question with the client's EDNS. */
static int
fuzz_query(uint8_t sel, const uint8_t *ans, size_t len, struct dns_query *q)
{
	static const uint8_t fixed[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
	    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1,
	    0, 1 };
	uint8_t qb[DNS_HDR_LEN + DNS_MAX_NAME + 4 + 11];
	struct dns_cursor w = { ans, len, DNS_HDR_LEN, false };
	size_t qlen;

	dns_cursor_skip_name(&w);
	dns_cursor_skip(&w, 4);
	if (w.err || len < DNS_HDR_LEN || w.pos > DNS_HDR_LEN + DNS_MAX_NAME + 4 ||
	    ans[4] != 0 || ans[5] != 1) {
		memcpy(qb, fixed, sizeof(fixed));
		qlen = sizeof(fixed);
	} else {
		memcpy(qb, ans, w.pos);
		qlen = w.pos;
	}
	qb[2] = (uint8_t)(0x01 | (sel & 0x10));	/* RD, CD */
	qb[3] = 0;
	qb[6] = qb[7] = qb[8] = qb[9] = qb[10] = qb[11] = 0;
	if (sel & 1) {
		static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0,
		    0, 0 };

		memcpy(qb + qlen, opt, sizeof(opt));
		if (sel & 2)
			qb[qlen + 7] = 0x80;	/* DO */
		qlen += sizeof(opt);
		qb[11] = 1;
	}
	return dns_wire_parse_query(qb, qlen, q) == DNS_PARSE_OK ? 0 : -1;
}

static void
fuzz_check(const uint8_t *b, size_t len, size_t maxlen)
{
	ldns_pkt *p = NULL;

	if (len == 0 || len > maxlen || ldns_wire2pkt(&p, b, len) !=
	    LDNS_STATUS_OK) {
		fprintf(stderr, "fuzz_dns_relay: bad answer of %zu bytes\n",
		    len);
		abort();
	}
	ldns_pkt_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 512, 1232, 65535 };
	static uint8_t out[65535], again[65535];
	const struct dns_relay_msg *hit;
	struct dns_relay_msg *m;
	struct dns_query q;
	size_t i, len, len2;
	uint32_t age;

	if (cache == NULL && (cache = dns_cache_new(8)) == NULL)
		abort();
	if (size < 1 || fuzz_query(data[0], data + 1, size - 1, &q) != 0)
		return 0;
	if ((m = dns_relay_parse(&q, data + 1, size - 1)) == NULL)
		return 0;
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		len = dns_relay_write(m, &q, 0, 1232, out, sizeof(out),
		    limits[i]);
		fuzz_check(out, len, limits[i]);
	}
	len = dns_relay_write(m, &q, 0, 1232, out, sizeof(out), 65535);
	dns_cache_flush(cache);
	if (dns_cache_put(cache, &q, m, 0) == 0) {
		if ((hit = dns_cache_get(cache, &q, 0, &age)) == NULL)
			abort();
		len2 = dns_relay_write(hit, &q, age, 1232, again,
		    sizeof(again), 65535);
		if (len2 != len || memcmp(out, again, len) != 0)
			abort();
	}
	return 0;
}
