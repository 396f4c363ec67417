/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns_query.c -- one datagram through the query parser, the cluster
 * zone (a small registry) and, taken as an upstream answer, the relay. Every answer built must parse back with ldns.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "registry.h"
#include "selector.h"
#include "vip.h"
#include "dns_relay.h"
#include "dns_wire.h"
#include "dns_zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dns_zone *zone;

static void
add_pod(struct objset *set, const char *name, const char *app,
    const char *ip)
{
	struct pod *p = pod_new();

	pod_set_name(p, "default", name);
	labels_set(&p->labels, "app", app);
	inet_pton(AF_INET, ip, &p->ip);
	objset_add_pod(set, p);
}

static void
add_svc(struct objset *set, const char *name, enum svc_type type,
    const char *sel)
{
	struct service *s = service_new();
	char err[128];

	service_set_name(s, "default", name);
	s->type = type;
	if (type == SVC_EXTERNALNAME)
		service_ext_mut(s)->external_name = strdup("www.example.org");
	else
		selector_parse(sel, &s->selector, err, sizeof(err));
	s->ports = calloc(1, sizeof(*s->ports));
	s->nports = 1;
	s->ports[0].name = strdup("http");
	s->ports[0].port = 80;
	s->ports[0].target_port = 8080;
	objset_add_service(set, s);
}

static void
fuzz_init(void)
{
	static const struct owner api = { OWNER_API, NULL };
	struct dns_zone_conf zc;
	struct objset set = { 0 };
	struct vip_pool *vips;
	struct registry *reg;
	char err[256];

	vips = vip_pool_new("127.96.0.0/16", NULL, err, sizeof(err));
	reg = registry_new(vips);
	add_svc(&set, "backend", SVC_CLUSTERIP, "app=backend");
	add_svc(&set, "db", SVC_HEADLESS, "app=db");
	add_svc(&set, "ext", SVC_EXTERNALNAME, NULL);
	add_pod(&set, "backend-1", "backend", "127.0.10.1");
	add_pod(&set, "db-0", "db", "127.0.20.1");
	add_pod(&set, "db-1", "db", "127.0.20.2");
	if (registry_apply(reg, &api, &set, REGISTRY_MERGE, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_dns_query: %s\n", err);
		abort();
	}
	memset(&zc, 0, sizeof(zc));
	zc.domain = "cluster.local";
	zc.vip_range = "127.96.0.0/16";
	zc.ttl_s = 5;
	zc.negative_ttl_s = 30;
	zc.edns_payload = 1232;
	zc.recursion = true;
	zone = dns_zone_new(reg, &zc);
	if (zone == NULL)
		abort();
}

/* An answer we built must be a well-formed message. */
static void
check_answer(const uint8_t *b, size_t len, size_t maxlen)
{
	ldns_pkt *p = NULL;

	if (len == 0)
		return;
	if (len > maxlen || ldns_wire2pkt(&p, b, len) != LDNS_STATUS_OK) {
		fprintf(stderr, "fuzz_dns_query: bad answer of %zu bytes\n",
		    len);
		abort();
	}
	ldns_pkt_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535];
	struct dns_query q;
	enum dns_parse r;
	struct dns_relay_msg *m;
	size_t len, maxlen;
	uint16_t rcode;

	if (zone == NULL)
		fuzz_init();
	if (size > sizeof(out))
		return 0;
	r = dns_wire_parse_query(data, size, &q);
	switch (r) {
	case DNS_PARSE_DROP:
		break;
	case DNS_PARSE_OK:
		maxlen = dns_wire_udp_max(&q, 1232);
		if (dns_zone_answer(zone, &q, out, sizeof(out), maxlen, &len,
		    &rcode) == DNS_ZONE_ANSWERED)
			check_answer(out, len, maxlen);
		len = dns_zone_answer(zone, &q, out, sizeof(out), 65535, &len,
		    &rcode) == DNS_ZONE_ANSWERED ? len : 0;
		check_answer(out, len, 65535);
		/* the same bytes, QR set, as an upstream's answer to q */
		memcpy(out, data, size);
		out[2] |= 0x80;
		if ((m = dns_relay_parse(&q, out, size)) != NULL) {
			len = dns_relay_write(m, &q, 0, 1232, out, sizeof(out),
			    maxlen);
			check_answer(out, len, maxlen);
			dns_relay_msg_free(m);
		}
		break;
	default:
		len = dns_wire_error(out, sizeof(out), &q,
		    r == DNS_PARSE_NOTIMP ? DNS_RCODE_NOTIMP :
		    r == DNS_PARSE_BADVERS ? DNS_RCODE_BADVERS :
		    DNS_RCODE_FORMERR, false, 1232);
		check_answer(out, len, 65535);
		break;
	}
	return 0;
}
