/* SPDX-License-Identifier: MIT */
/* dns_testq.h -- a client's query built with ldns and parsed, for the DNS unit tests. */
#ifndef CIP_DNS_TESTQ_H
#define CIP_DNS_TESTQ_H

#include <ldns/ldns.h>

#include "dns_wire.h"

/*
 * The query for name/type with ID id (edns < 0: no OPT, else that
 * payload and the DO bit), parsed into q. Fails the test otherwise.
 */
static inline void
dnstest_query(const char *name, ldns_rr_type type, int edns, bool dnssec_ok,
    uint16_t id, struct dns_query *q)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type,
	    LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, id);
	if (edns >= 0) {
		ldns_pkt_set_edns_udp_size(p, (uint16_t)edns);
		ldns_pkt_set_edns_do(p, dnssec_ok);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_int_equal(dns_wire_parse_query(wire, len, q), DNS_PARSE_OK);
	free(wire);
	ldns_pkt_free(p);
}

#endif
