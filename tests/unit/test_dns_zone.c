/* SPDX-License-Identifier: MIT */
/* test_dns_zone.c -- every row of the DNS table, answered from a real registry. */
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

#include "manifest.h"
#include "registry.h"
#include "selector.h"
#include "util.h"
#include "vip.h"
#include "dns_wire.h"
#include "dns_zone.h"

static const struct owner api = { OWNER_API, NULL };

struct fixture {
	struct vip_pool	*vips;
	struct registry	*reg;
	struct dns_zone	*zone;
};

static struct service *
mk_svc(const char *ns, const char *name, enum svc_type type, const char *sel,
    const char *port_name, uint16_t port)
{
	struct service *s = service_new();
	char err[256];

	assert_non_null(s);
	assert_int_equal(service_set_name(s, ns, name), 0);
	s->type = type;
	if (sel != NULL)
		assert_int_equal(selector_parse(sel, &s->selector, err,
		    sizeof(err)), 0);
	if (port != 0) {
		s->ports = calloc(1, sizeof(*s->ports));
		s->nports = 1;
		s->ports[0].name = port_name ? strdup(port_name) : NULL;
		s->ports[0].port = port;
		s->ports[0].target_port = port;
		s->ports[0].proto = CIP_PROTO_TCP;
	}
	return s;
}

static struct pod *
mk_pod(const char *ns, const char *name, const char *app, const char *ip,
    bool ready)
{
	struct pod *p = pod_new();

	assert_non_null(p);
	assert_int_equal(pod_set_name(p, ns, name), 0);
	assert_int_equal(labels_set(&p->labels, "app", app), 0);
	assert_int_equal(inet_pton(AF_INET, ip, &p->ip), 1);
	p->declared_ready = ready;
	return p;
}

static void
apply(struct registry *reg, struct objset *set)
{
	char err[256];

	err[0] = '\0';
	if (registry_apply(reg, &api, set, REGISTRY_MERGE, err,
	    sizeof(err)) != 0)
		fail_msg("registry_apply: %s", err);
	objset_clear(set);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dns_zone_conf zc;
	struct objset set = { 0 };
	struct service *ext;
	char err[256];

	f->vips = vip_pool_new("127.96.0.0/16", NULL, err, sizeof(err));
	assert_non_null(f->vips);
	f->reg = registry_new(f->vips);
	memset(&zc, 0, sizeof(zc));
	zc.domain = "cluster.local";
	zc.vip_range = "127.96.0.0/16";
	zc.ttl_s = 5;
	zc.negative_ttl_s = 30;
	zc.edns_payload = 1232;
	zc.recursion = true;
	inet_pton(AF_INET, "127.0.0.53", &zc.ns_addr);
	f->zone = dns_zone_new(f->reg, &zc);
	assert_non_null(f->zone);
	objset_add_service(&set, mk_svc("default", "backend", SVC_CLUSTERIP,
	    "app=backend", "http", 5000));
	objset_add_service(&set, mk_svc("default", "db", SVC_HEADLESS,
	    "app=db", "pg", 5432));
	objset_add_service(&set, mk_svc("default", "idle", SVC_HEADLESS,
	    "app=idle", NULL, 80));
	ext = mk_svc("default", "ext", SVC_EXTERNALNAME, NULL, NULL, 0);
	service_ext_mut(ext)->external_name = strdup("www.example.org");
	objset_add_service(&set, ext);
	objset_add_service(&set, mk_svc("other", "web", SVC_CLUSTERIP,
	    "app=web", NULL, 80));
	objset_add_pod(&set, mk_pod("default", "backend-1", "backend",
	    "127.0.10.1", true));
	objset_add_pod(&set, mk_pod("default", "db-0", "db", "127.0.20.1",
	    true));
	objset_add_pod(&set, mk_pod("default", "db-1", "db", "127.0.20.2",
	    true));
	objset_add_pod(&set, mk_pod("default", "db-2", "db", "127.0.20.3",
	    false));
	objset_add_pod(&set, mk_pod("default", "idle-0", "idle", "127.0.30.1",
	    false));
	apply(f->reg, &set);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns_zone_free(f->zone);
	registry_free(f->reg);
	vip_pool_free(f->vips);
	free(f);
	return 0;
}

/*
 * The number of SRV records of the message in b[0..len) whose target
 * holds a compression pointer (RFC 2782 forbids it; Go's resolver then
 * rejects the whole answer); -1 when the message does not walk.
 */
static int
srv_pointers(const uint8_t *b, size_t len)
{
	struct dns_cursor w = { b, len, 0, false };
	size_t i, n, end;
	uint16_t qdcount, type, rdlen;
	uint8_t l;
	int ptrs = 0;

	dns_cursor_skip(&w, 4);
	qdcount = dns_cursor_u16(&w);
	n = dns_cursor_u16(&w);
	n += dns_cursor_u16(&w);
	n += dns_cursor_u16(&w);
	if (qdcount != 0) {
		dns_cursor_skip_name(&w);
		dns_cursor_skip(&w, 4);
	}
	for (i = 0; i < n && !w.err; i++) {
		dns_cursor_skip_name(&w);
		type = dns_cursor_u16(&w);
		dns_cursor_skip(&w, 6);
		rdlen = dns_cursor_u16(&w);
		end = w.pos + rdlen;
		if (type == DNS_TYPE_SRV) {
			dns_cursor_skip(&w, 6);
			while (!w.err && (l = dns_cursor_u8(&w)) != 0) {
				if ((l & 0xc0) != 0) {
					ptrs++;
					break;
				}
				dns_cursor_skip(&w, l);
			}
		}
		if (w.err || w.pos > end || end > len)
			return -1;
		w.pos = end;
	}
	return w.err ? -1 : ptrs;
}

/*
 * Every SOA of the authority section is owned by the question name or
 * one of its ancestors (RFC 2308): never cluster.local's under a name
 * outside cluster.local.
 */
static void
assert_soa_owners(ldns_pkt *p)
{
	ldns_rr_list *auth = ldns_pkt_authority(p);
	ldns_rdf *qname = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p),
	    0));
	ldns_rr *rr;
	size_t i;
	char *o, *q;

	for (i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_dname_compare(ldns_rr_owner(rr), qname) == 0 ||
		    ldns_dname_is_subdomain(qname, ldns_rr_owner(rr)))
			continue;
		o = ldns_rdf2str(ldns_rr_owner(rr));
		q = ldns_rdf2str(qname);
		fail_msg("SOA of %s in the answer to %s", o, q);
	}
}

/*
 * Asks the zone name/type (edns < 0: no OPT). Returns the answer parsed
 * by ldns (checked well-formed, SRV targets whole, SOA owners above the
 * question), or NULL when the zone says to forward.
 */
static ldns_pkt *
ask(struct fixture *f, const char *name, ldns_rr_type type, int edns,
    size_t maxlen)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL, out[65535];
	size_t len = 0, alen;
	struct dns_query q;
	uint16_t rcode;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type,
	    LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 4242);
	if (edns >= 0)
		ldns_pkt_set_edns_udp_size(p, (uint16_t)edns);
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	assert_int_equal(dns_wire_parse_query(wire, len, &q), DNS_PARSE_OK);
	free(wire);
	if (dns_zone_answer(f->zone, &q, out, sizeof(out), maxlen, &alen,
	    &rcode) == DNS_ZONE_FORWARD)
		return NULL;
	assert_true(alen > 0);
	assert_int_equal(dns_wire_rcode(out, alen), rcode & 0xf);
	p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, out, alen), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 4242);
	assert_true(ldns_pkt_qr(p));
	assert_int_equal(srv_pointers(out, alen), 0);
	assert_soa_owners(p);
	return p;
}

/* The text of record i of a section ("" past the end). Caller frees. */
static char *
rr_text(ldns_rr_list *l, size_t i)
{
	char *s;
	size_t n;

	if (i >= ldns_rr_list_rr_count(l))
		return strdup("");
	s = ldns_rr2str(ldns_rr_list_rr(l, i));
	n = strlen(s);
	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	return s;
}

#define assert_rr(list, i, text) do {					\
	char *s_ = rr_text((list), (i));				\
	if (strcasecmp(s_, (text)) != 0)				\
		fail_msg("record %d: \"%s\", want \"%s\"", (int)(i), s_, \
		    (text));						\
	free(s_);							\
} while (0)

#define assert_rr_prefix(list, i, text) do {				\
	char *s_ = rr_text((list), (i));				\
	if (strncasecmp(s_, (text), strlen(text)) != 0)			\
		fail_msg("record %d: \"%s\", want \"%s...\"", (int)(i),	\
		    s_, (text));					\
	free(s_);							\
} while (0)

static const char *
vip_of(struct fixture *f, const char *ns, const char *name, char *buf)
{
	struct service *s = registry_find_service(f->reg, ns, name);

	assert_non_null(s);
	return inet_ntop(AF_INET, &s->vip, buf, INET_ADDRSTRLEN);
}

static void
test_zone_clusterip_a(void **state)
{
	struct fixture *f = *state;
	char vip[INET_ADDRSTRLEN], want[256];
	ldns_pkt *p;
	const char *names[] = { "backend.default.svc.cluster.local.",
	    "Backend.Default.SVC.Cluster.Local.", "backend.", "backend.default.",
	    "backend.default.svc." };
	size_t i;

	vip_of(f, "default", "backend", vip);
	for (i = 0; i < CIP_ARRAY_LEN(names); i++) {
		p = ask(f, names[i], LDNS_RR_TYPE_A, -1, 512);
		assert_non_null(p);
		assert_true(ldns_pkt_aa(p));
		assert_true(ldns_pkt_ra(p));
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		snprintf(want, sizeof(want), "%s\t5\tIN\tA\t%s", names[i], vip);
		assert_rr(ldns_pkt_answer(p), 0, want);
		/* the question keeps its case */
		{
			char *o = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(
			    ldns_pkt_question(p), 0)));

			assert_string_equal(o, names[i]);
			free(o);
		}
		ldns_pkt_free(p);
	}
	/* AAAA: NODATA with the SOA, aa */
	p = ask(f, "backend.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA, -1,
	    512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(
	    ldns_pkt_authority(p), 0)), LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);
	/* short forms of what does not exist are forwarded */
	assert_null(ask(f, "nosuch.", LDNS_RR_TYPE_A, -1, 512));
	assert_null(ask(f, "backend.nons.", LDNS_RR_TYPE_A, -1, 512));
	assert_null(ask(f, "web.", LDNS_RR_TYPE_A, -1, 512));
	assert_null(ask(f, "www.example.org.", LDNS_RR_TYPE_A, -1, 512));
	assert_null(ask(f, "a.b.c.d.", LDNS_RR_TYPE_A, -1, 512));
	/* another namespace, short form S.N */
	p = ask(f, "web.other.", LDNS_RR_TYPE_A, -1, 512);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
}

static void
test_zone_negative(void **state)
{
	struct fixture *f = *state;
	ldns_pkt *p;
	const char *nx[] = { "nosuch.default.svc.cluster.local.",
	    "x.cluster.local.", "backend.nons.svc.cluster.local.",
	    "nons.svc.cluster.local.", "a.b.c.d.e.f.svc.cluster.local.",
	    "_x._tcp.backend.default.svc.cluster.local.",
	    "backend-1.backend.default.svc.cluster.local.",
	    "x.pod.cluster.local." };
	const char *ents[] = { "svc.cluster.local.", "pod.cluster.local.",
	    "Pod.Cluster.Local.", "default.svc.cluster.local.",
	    "other.svc.cluster.local." };
	size_t i;

	for (i = 0; i < CIP_ARRAY_LEN(nx); i++) {
		p = ask(f, nx[i], LDNS_RR_TYPE_A, 1232, 1232);
		assert_non_null(p);
		if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NXDOMAIN)
			fail_msg("%s: not NXDOMAIN", nx[i]);
		assert_true(ldns_pkt_aa(p));
		assert_int_equal(ldns_pkt_ancount(p), 0);
		assert_true(ldns_pkt_edns(p));
		assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
		{
			char *t = rr_text(ldns_pkt_authority(p), 0);

			assert_non_null(strstr(t, "cluster.local.\t30\tIN\t"
			    "SOA\tns.dns.cluster.local. "
			    "hostmaster.cluster.local. "));
			assert_non_null(strstr(t, " 7200 1800 86400 30"));
			free(t);
		}
		ldns_pkt_free(p);
	}
	/* empty non-terminals: NODATA */
	p = ask(f, "default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* svc.D, pod.D and N.svc.D of a namespace in use exist (CoreDNS) */
	for (i = 0; i < CIP_ARRAY_LEN(ents); i++) {
		p = ask(f, ents[i], LDNS_RR_TYPE_A, -1, 512);
		if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR)
			fail_msg("%s: not NODATA", ents[i]);
		assert_true(ldns_pkt_aa(p));
		assert_int_equal(ldns_pkt_ancount(p), 0);
		assert_int_equal(ldns_pkt_nscount(p), 1);
		assert_rr_prefix(ldns_pkt_authority(p), 0,
		    "cluster.local.\t30\tIN\tSOA\t");
		ldns_pkt_free(p);
	}
	p = ask(f, "_tcp.backend.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	/* a label holding a dot under the domain: ours, NXDOMAIN */
	p = ask(f, "a\\.b.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	assert_null(ask(f, "a\\.b.example.org.", LDNS_RR_TYPE_A, -1, 512));
	/* transfers refused, meta questions malformed */
	p = ask(f, "cluster.local.", LDNS_RR_TYPE_AXFR, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	p = ask(f, "example.org.", LDNS_RR_TYPE_IXFR, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	p = ask(f, "cluster.local.", LDNS_RR_TYPE_OPT, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void
test_zone_srv(void **state)
{
	struct fixture *f = *state;
	char vip[INET_ADDRSTRLEN], want[256];
	ldns_pkt *p;

	vip_of(f, "default", "backend", vip);
	p = ask(f, "_http._tcp.backend.default.svc.cluster.local.",
	    LDNS_RR_TYPE_SRV, -1, 512);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(ldns_pkt_aa(p));
	assert_rr(ldns_pkt_answer(p), 0,
	    "_http._tcp.backend.default.svc.cluster.local.\t5\tIN\tSRV\t"
	    "0 100 5000 backend.default.svc.cluster.local.");
	snprintf(want, sizeof(want),
	    "backend.default.svc.cluster.local.\t5\tIN\tA\t%s", vip);
	assert_rr(ldns_pkt_additional(p), 0, want);
	ldns_pkt_free(p);
	/* the wrong protocol: no such name */
	p = ask(f, "_http._udp.backend.default.svc.cluster.local.",
	    LDNS_RR_TYPE_SRV, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	/* headless: one SRV per ready endpoint, their A in additional */
	p = ask(f, "_pg._tcp.db.default.svc.cluster.local.", LDNS_RR_TYPE_SRV,
	    -1, 512);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(ldns_pkt_arcount(p), 2);
	{
		char *a = rr_text(ldns_pkt_answer(p), 0);
		char *b = rr_text(ldns_pkt_answer(p), 1);

		assert_non_null(strstr(a, "0 100 5432 127-0-20-"));
		assert_true(strcmp(a, b) != 0);
		free(a);
		free(b);
	}
	ldns_pkt_free(p);
}

/* The text of every record of a section, sorted, one per line. */
static char *
section_text(ldns_rr_list *l)
{
	char *rows[64], *out, *t;
	size_t i, j, n = ldns_rr_list_rr_count(l), len = 1;

	assert_true(n <= CIP_ARRAY_LEN(rows));
	for (i = 0; i < n; i++) {
		rows[i] = rr_text(l, i);
		len += strlen(rows[i]) + 1;
		for (j = i; j > 0 && strcmp(rows[j - 1], rows[j]) > 0; j--) {
			t = rows[j];
			rows[j] = rows[j - 1];
			rows[j - 1] = t;
		}
	}
	out = calloc(1, len);
	for (i = 0; i < n; i++) {
		strcat(out, rows[i]);
		strcat(out, "\n");
		free(rows[i]);
	}
	return out;
}

#define assert_section(list, text) do {					\
	char *s_ = section_text(list);					\
	if (strcmp(s_, (text)) != 0)					\
		fail_msg("section:\n%swant:\n%s", s_, (text));		\
	free(s_);							\
} while (0)

/*
 * SRV on a service's own name, as CoreDNS: one record per port (targets
 * whole, never compressed), the VIP in additional; for a headless
 * service one per ready endpoint per port, named by dashed address.
 */
static void
test_zone_srv_service_name(void **state)
{
	struct fixture *f = *state;
	struct objset set = { 0 };
	struct service *s;
	char vip[INET_ADDRSTRLEN], want[512];
	ldns_pkt *p;

	vip_of(f, "default", "backend", vip);
	p = ask(f, "backend.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, -1,
	    512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_section(ldns_pkt_answer(p),
	    "backend.default.svc.cluster.local.\t5\tIN\tSRV\t"
	    "0 100 5000 backend.default.svc.cluster.local.\n");
	snprintf(want, sizeof(want),
	    "backend.default.svc.cluster.local.\t5\tIN\tA\t%s\n", vip);
	assert_section(ldns_pkt_additional(p), want);
	ldns_pkt_free(p);

	/* unnamed ports count too; the short forms answer the same */
	vip_of(f, "other", "web", vip);
	p = ask(f, "web.other.", LDNS_RR_TYPE_SRV, -1, 512);
	assert_section(ldns_pkt_answer(p), "web.other.\t5\tIN\tSRV\t"
	    "0 100 80 web.other.svc.cluster.local.\n");
	ldns_pkt_free(p);

	/* two ports, one number repeated over UDP: one SRV per number */
	s = mk_svc("default", "multi", SVC_CLUSTERIP, "app=backend", "http",
	    80);
	s->ports = realloc(s->ports, 3 * sizeof(*s->ports));
	s->nports = 3;
	s->ports[1] = (struct svc_port){ .name = strdup("dns"), .port = 53,
	    .target_port = 53, .proto = CIP_PROTO_TCP };
	s->ports[2] = (struct svc_port){ .name = strdup("dns-udp"),
	    .port = 53, .target_port = 53, .proto = CIP_PROTO_UDP };
	objset_add_service(&set, s);
	apply(f->reg, &set);
	p = ask(f, "multi.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, -1,
	    512);
	assert_section(ldns_pkt_answer(p),
	    "multi.default.svc.cluster.local.\t5\tIN\tSRV\t"
	    "0 100 53 multi.default.svc.cluster.local.\n"
	    "multi.default.svc.cluster.local.\t5\tIN\tSRV\t"
	    "0 100 80 multi.default.svc.cluster.local.\n");
	assert_int_equal(ldns_pkt_arcount(p), 1);
	ldns_pkt_free(p);

	/* headless: per ready endpoint per port, A of each in additional */
	p = ask(f, "db.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_section(ldns_pkt_answer(p),
	    "db.default.svc.cluster.local.\t5\tIN\tSRV\t"
	    "0 100 5432 127-0-20-1.db.default.svc.cluster.local.\n"
	    "db.default.svc.cluster.local.\t5\tIN\tSRV\t"
	    "0 100 5432 127-0-20-2.db.default.svc.cluster.local.\n");
	assert_section(ldns_pkt_additional(p),
	    "127-0-20-1.db.default.svc.cluster.local.\t5\tIN\tA\t"
	    "127.0.20.1\n"
	    "127-0-20-2.db.default.svc.cluster.local.\t5\tIN\tA\t"
	    "127.0.20.2\n");
	ldns_pkt_free(p);

	/* no ready endpoint: NXDOMAIN; ExternalName: the CNAME */
	p = ask(f, "idle.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, -1,
	    512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = ask(f, "ext.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, -1,
	    512);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p),
	    0)), LDNS_RR_TYPE_CNAME);
	ldns_pkt_free(p);
}

static void
test_zone_headless(void **state)
{
	struct fixture *f = *state;
	ldns_pkt *p;
	bool seen[2] = { false, false };
	char *s;
	size_t i;
	int tries;

	for (tries = 0; tries < 50 && !(seen[0] && seen[1]); tries++) {
		p = ask(f, "db.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
		    512);
		assert_int_equal(ldns_pkt_ancount(p), 2);	/* db-2 not ready */
		s = rr_text(ldns_pkt_answer(p), 0);
		/* random order: both come first sometimes */
		seen[strstr(s, "127.0.20.1") != NULL ? 0 : 1] = true;
		free(s);
		for (i = 0; i < 2; i++) {
			s = rr_text(ldns_pkt_answer(p), i);
			assert_null(strstr(s, "127.0.20.3"));
			free(s);
		}
		ldns_pkt_free(p);
	}
	assert_true(seen[0] && seen[1]);
	/* an endpoint by its dashed address (CoreDNS), or its pod name */
	p = ask(f, "127-0-20-2.db.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    -1, 512);
	assert_rr(ldns_pkt_answer(p), 0,
	    "127-0-20-2.db.default.svc.cluster.local.\t5\tIN\tA\t127.0.20.2");
	ldns_pkt_free(p);
	p = ask(f, "db-1.db.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
	    512);
	assert_rr(ldns_pkt_answer(p), 0,
	    "db-1.db.default.svc.cluster.local.\t5\tIN\tA\t127.0.20.2");
	ldns_pkt_free(p);
	/* another type: NODATA */
	p = ask(f, "127-0-20-2.db.default.svc.cluster.local.",
	    LDNS_RR_TYPE_AAAA, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
	/* not ready, not a member, not an address of ours: no name */
	p = ask(f, "db-2.db.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
	    512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = ask(f, "127-0-20-3.db.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = ask(f, "127-0-10-1.db.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = ask(f, "127-0-20-1.backend.default.svc.cluster.local.",
	    LDNS_RR_TYPE_A, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	/* no ready endpoint at all: NXDOMAIN (Kubernetes DNS spec 2.4.1) */
	p = ask(f, "idle.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	/* PTR of an endpoint */
	p = ask(f, "2.20.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_non_null(p);
	assert_rr(ldns_pkt_answer(p), 0, "2.20.0.127.in-addr.arpa.\t5\tIN\tPTR"
	    "\t127-0-20-2.db.default.svc.cluster.local.");
	ldns_pkt_free(p);
	/* two pods on one address: one name, one PTR */
	{
		struct objset set = { 0 };

		objset_add_pod(&set, mk_pod("default", "db-0b", "db",
		    "127.0.20.1", true));
		apply(f->reg, &set);
	}
	p = ask(f, "1.20.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_rr(ldns_pkt_answer(p), 0, "1.20.0.127.in-addr.arpa.\t5\tIN\tPTR"
	    "\t127-0-20-1.db.default.svc.cluster.local.");
	ldns_pkt_free(p);
	/* an address that is none of ours, outside the VIP range */
	assert_null(ask(f, "1.99.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1,
	    512));
}

static void
test_zone_other_rows(void **state)
{
	struct fixture *f = *state;
	char vip[INET_ADDRSTRLEN], name[64];
	struct in_addr a;
	uint32_t v;
	ldns_pkt *p;

	p = ask(f, "ext.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_rr(ldns_pkt_answer(p), 0, "ext.default.svc.cluster.local.\t5\t"
	    "IN\tCNAME\twww.example.org.");
	ldns_pkt_free(p);
	p = ask(f, "dns-version.cluster.local.", LDNS_RR_TYPE_TXT, -1, 512);
	assert_rr(ldns_pkt_answer(p), 0,
	    "dns-version.cluster.local.\t5\tIN\tTXT\t\"1.1.0\"");
	ldns_pkt_free(p);
	p = ask(f, "cluster.local.", LDNS_RR_TYPE_SOA, -1, 512);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	p = ask(f, "cluster.local.", LDNS_RR_TYPE_NS, -1, 512);
	assert_rr(ldns_pkt_answer(p), 0,
	    "cluster.local.\t5\tIN\tNS\tns.dns.cluster.local.");
	assert_rr(ldns_pkt_additional(p), 0,
	    "ns.dns.cluster.local.\t5\tIN\tA\t127.0.0.53");
	ldns_pkt_free(p);
	/* PTR of a VIP */
	vip_of(f, "default", "backend", vip);
	inet_pton(AF_INET, vip, &a);
	v = ntohl(a.s_addr);
	snprintf(name, sizeof(name), "%u.%u.%u.%u.in-addr.arpa.", v & 0xff,
	    (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24);
	p = ask(f, name, LDNS_RR_TYPE_PTR, -1, 512);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(ldns_pkt_aa(p));
	{
		char *s = rr_text(ldns_pkt_answer(p), 0);

		assert_non_null(strstr(s,
		    "PTR\tbackend.default.svc.cluster.local."));
		free(s);
	}
	ldns_pkt_free(p);
	/* unknown address in the reverse zone: NXDOMAIN + its SOA */
	p = ask(f, "254.255.96.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	{
		char *s = rr_text(ldns_pkt_authority(p), 0);

		assert_non_null(strstr(s, "96.127.in-addr.arpa.\t30\tIN\tSOA"));
		free(s);
	}
	ldns_pkt_free(p);
	p = ask(f, "96.127.in-addr.arpa.", LDNS_RR_TYPE_SOA, -1, 512);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	/* ANY: a minimal answer (RFC 8482) */
	p = ask(f, "backend.default.svc.cluster.local.", LDNS_RR_TYPE_ANY, -1,
	    512);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p),
	    0)), LDNS_RR_TYPE_A);
	ldns_pkt_free(p);
}

/*
 * Negative answers to names outside the cluster domain (the short forms,
 * an endpoint's reverse name outside the VIP range) carry no SOA: we
 * are the authority for no ancestor of theirs.
 */
static void
test_zone_short_form_negative(void **state)
{
	struct fixture *f = *state;
	struct objset set = { 0 };
	ldns_pkt *p;
	const char *nodata[] = { "backend.", "backend.default.",
	    "backend.default.svc.", "web.other.", "web.other.svc.",
	    "1.20.0.127.in-addr.arpa." };
	size_t i;

	/* "web" in the default namespace too, as the bare "web." finds it */
	objset_add_service(&set, mk_svc("default", "web", SVC_CLUSTERIP,
	    "app=web", NULL, 80));
	apply(f->reg, &set);
	p = ask(f, "web.", LDNS_RR_TYPE_AAAA, -1, 512);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
	for (i = 0; i < CIP_ARRAY_LEN(nodata); i++) {
		p = ask(f, nodata[i], LDNS_RR_TYPE_AAAA, 1232, 1232);
		if (p == NULL)
			fail_msg("%s: forwarded", nodata[i]);
		if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR ||
		    ldns_pkt_ancount(p) != 0 || ldns_pkt_nscount(p) != 0)
			fail_msg("%s AAAA: not NODATA without SOA", nodata[i]);
		assert_true(ldns_pkt_aa(p));
		assert_true(ldns_pkt_edns(p));
		ldns_pkt_free(p);
	}
	/* a headless service without endpoints: NXDOMAIN, no SOA either */
	p = ask(f, "idle.", LDNS_RR_TYPE_A, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
	/* the full names keep the zone's SOA */
	p = ask(f, "web.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA, -1,
	    512);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_rr_prefix(ldns_pkt_authority(p), 0,
	    "cluster.local.\t30\tIN\tSOA\t");
	ldns_pkt_free(p);
	/* and the reverse zone of the VIP range its own */
	p = ask(f, "254.255.96.127.in-addr.arpa.", LDNS_RR_TYPE_AAAA, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_rr_prefix(ldns_pkt_authority(p), 0,
	    "96.127.in-addr.arpa.\t30\tIN\tSOA\t");
	ldns_pkt_free(p);
}

/* A registry change shows in the very next answer. */
static void
test_zone_follows_registry(void **state)
{
	struct fixture *f = *state;
	struct objset set = { 0 };
	char err[256];
	ldns_pkt *p;
	uint32_t serial = dns_zone_serial(f->zone);

	objset_add_pod(&set, mk_pod("default", "idle-1", "idle", "127.0.30.2",
	    true));
	apply(f->reg, &set);
	assert_true(dns_zone_serial(f->zone) != serial);
	p = ask(f, "idle.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_rr(ldns_pkt_answer(p), 0,
	    "idle.default.svc.cluster.local.\t5\tIN\tA\t127.0.30.2");
	ldns_pkt_free(p);
	p = ask(f, "2.30.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	assert_int_equal(registry_delete(f->reg, REGISTRY_POD, "default",
	    "idle-1", &api, err, sizeof(err)), 0);
	assert_null(ask(f, "2.30.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1,
	    512));
	assert_int_equal(registry_delete(f->reg, REGISTRY_SERVICE, "default",
	    "backend", &api, err, sizeof(err)), 0);
	p = ask(f, "backend.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
	    512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	/* and its short form is no longer ours */
	assert_null(ask(f, "backend.", LDNS_RR_TYPE_A, -1, 512));
}

/*
 * dns-short-names: single-label gives S.N back to the upstreams (a
 * namespace "dev" no longer shadows the real dev TLD), off keeps only
 * the full names; the full names and the reverse zone never change.
 */
static void
test_zone_short_names_modes(void **state)
{
	static const struct {
		enum dns_zone_short mode;
		bool s, s_n, s_n_svc;
	} modes[] = {
		{ DNS_ZONE_SHORT_ALL, true, true, true },
		{ DNS_ZONE_SHORT_SINGLE, true, false, true },
		{ DNS_ZONE_SHORT_OFF, false, false, false },
	};
	struct fixture *f = *state;
	struct dns_zone *old = f->zone;
	struct dns_zone_conf zc;
	struct objset set = { 0 };
	char vip[INET_ADDRSTRLEN], want[256];
	ldns_pkt *p;
	size_t i;

	objset_add_service(&set, mk_svc("dev", "api", SVC_CLUSTERIP,
	    "app=api", NULL, 80));
	apply(f->reg, &set);
	vip_of(f, "dev", "api", vip);
	for (i = 0; i < CIP_ARRAY_LEN(modes); i++) {
		memset(&zc, 0, sizeof(zc));
		zc.domain = "cluster.local";
		zc.vip_range = "127.96.0.0/16";
		zc.ttl_s = 5;
		zc.negative_ttl_s = 30;
		zc.edns_payload = 1232;
		zc.recursion = true;
		zc.short_names = modes[i].mode;
		f->zone = dns_zone_new(f->reg, &zc);
		assert_non_null(f->zone);

		p = ask(f, "backend.", LDNS_RR_TYPE_A, -1, 512);
		assert_true((p != NULL) == modes[i].s);
		ldns_pkt_free(p);
		p = ask(f, "api.dev.", LDNS_RR_TYPE_A, -1, 512);
		assert_true((p != NULL) == modes[i].s_n);
		if (p != NULL) {
			snprintf(want, sizeof(want), "api.dev.\t5\tIN\tA\t%s",
			    vip);
			assert_rr(ldns_pkt_answer(p), 0, want);
		}
		ldns_pkt_free(p);
		p = ask(f, "backend.default.", LDNS_RR_TYPE_A, -1, 512);
		assert_true((p != NULL) == modes[i].s_n);
		ldns_pkt_free(p);
		p = ask(f, "api.dev.svc.", LDNS_RR_TYPE_A, -1, 512);
		assert_true((p != NULL) == modes[i].s_n_svc);
		ldns_pkt_free(p);
		/* another type of a short form: NODATA only when answered */
		p = ask(f, "api.dev.svc.", LDNS_RR_TYPE_TXT, -1, 512);
		assert_true((p != NULL) == modes[i].s_n_svc);
		ldns_pkt_free(p);
		/* single-label never means one label of another namespace */
		assert_null(ask(f, "api.", LDNS_RR_TYPE_A, -1, 512));

		/* The full name and PTR answer in every mode. */
		p = ask(f, "api.dev.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
		    512);
		assert_non_null(p);
		assert_int_equal(ldns_pkt_ancount(p), 1);
		ldns_pkt_free(p);
		p = ask(f, "1.20.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1,
		    512);
		assert_non_null(p);
		assert_int_equal(ldns_pkt_ancount(p), 1);
		ldns_pkt_free(p);
		dns_zone_free(f->zone);
	}
	f->zone = old;
}

static void
test_zone_short_parse(void **state)
{
	(void)state;
	assert_int_equal(dns_zone_short_parse("all"), DNS_ZONE_SHORT_ALL);
	assert_int_equal(dns_zone_short_parse("single-label"),
	    DNS_ZONE_SHORT_SINGLE);
	assert_int_equal(dns_zone_short_parse("off"), DNS_ZONE_SHORT_OFF);
	assert_int_equal(dns_zone_short_parse("ALL"), -1);
	assert_int_equal(dns_zone_short_parse(""), -1);
	assert_int_equal(dns_zone_short_parse("single"), -1);
	assert_int_equal(dns_zone_short_parse(NULL), -1);
}

/* A zone made over a registry that already holds pods indexes them. */
static void
test_zone_new_over_filled_registry(void **state)
{
	struct fixture *f = *state;
	struct dns_zone_conf zc;
	struct dns_zone *old = f->zone;
	ldns_pkt *p;

	memset(&zc, 0, sizeof(zc));
	zc.domain = "Cluster.Local.";
	zc.ttl_s = 7;
	zc.negative_ttl_s = 30;
	zc.edns_payload = 1232;
	/* A zone rebuilt on reload goes on from the old one's serial. */
	zc.serial = dns_zone_serial(old) + 1;
	f->zone = dns_zone_new(f->reg, &zc);
	assert_non_null(f->zone);
	assert_int_equal(dns_zone_serial(f->zone), dns_zone_serial(old) + 1);
	p = ask(f, "1.20.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_non_null(p);
	assert_rr(ldns_pkt_answer(p), 0, "1.20.0.127.in-addr.arpa.\t7\tIN\tPTR"
	    "\t127-0-20-1.db.default.svc.cluster.local.");
	/* no recursion announced without upstreams */
	assert_false(ldns_pkt_ra(p));
	ldns_pkt_free(p);
	dns_zone_free(f->zone);
	f->zone = old;
	/* bad domains and ranges are refused */
	zc.domain = "";
	assert_null(dns_zone_new(f->reg, &zc));
	zc.domain = "cluster.local";
	zc.vip_range = "10.0.0.0/4";
	assert_null(dns_zone_new(f->reg, &zc));
}

/* An answer larger than the client takes: TC and nothing else. */
static void
test_zone_truncation(void **state)
{
	struct fixture *f = *state;
	struct objset set = { 0 };
	char name[32], ip[32];
	ldns_pkt *p;
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "db-big-%d", i);
		snprintf(ip, sizeof(ip), "127.0.21.%d", i + 1);
		objset_add_pod(&set, mk_pod("default", name, "db", ip, true));
	}
	apply(f->reg, &set);
	p = ask(f, "db.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	p = ask(f, "db.default.svc.cluster.local.", LDNS_RR_TYPE_A, 4096, 1232);
	assert_true(ldns_pkt_tc(p));
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	p = ask(f, "db.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 65535);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 102);
	ldns_pkt_free(p);
}

static void
add_hostnamed(struct objset *set, const char *name, const char *ip,
    const char *host, const char *subdomain, bool ready)
{
	struct pod *p = mk_pod("default", name, "web", ip, ready);

	p->hostname = host ? strdup(host) : NULL;
	p->subdomain = subdomain ? strdup(subdomain) : NULL;
	objset_add_pod(set, p);
}

/*
 * Headless names as CoreDNS gives them: hostnames (one shared by two
 * pods), dashed addresses, an address two pods share, SRV targets,
 * PTR by hostname; publishNotReadyAddresses; ports from Endpoints.
 */
static void
test_zone_hostnames(void **state)
{
	struct fixture *f = *state;
	struct objset set = { 0 };
	struct service *pnr, *ep;
	struct endpoints *e;
	ldns_pkt *p;

	objset_add_service(&set, mk_svc("default", "web", SVC_HEADLESS,
	    "app=web", "http", 80));
	add_hostnamed(&set, "web-0", "127.0.40.1", "web-0", "web", true);
	add_hostnamed(&set, "web-x", "127.0.40.3", "shared", "web", true);
	add_hostnamed(&set, "web-y", "127.0.40.4", "shared", "web", true);
	add_hostnamed(&set, "web-z", "127.0.40.5", NULL, NULL, true);
	add_hostnamed(&set, "web-z2", "127.0.40.5", NULL, NULL, true);
	/* its subdomain is another service: the dashed name */
	add_hostnamed(&set, "web-o", "127.0.40.6", "o", "elsewhere", true);
	add_hostnamed(&set, "web-n", "127.0.40.7", "n", "web", false);
	apply(f->reg, &set);

	/* the service: each ready address once, the not-ready one left out */
	p = ask(f, "web.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_section(ldns_pkt_answer(p),
	    "web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.1\n"
	    "web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.3\n"
	    "web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.4\n"
	    "web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.5\n"
	    "web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.6\n");
	ldns_pkt_free(p);
	/* a hostname; a shared hostname, one A per address */
	p = ask(f, "web-0.web.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
	    512);
	assert_section(ldns_pkt_answer(p),
	    "web-0.web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.1\n");
	ldns_pkt_free(p);
	p = ask(f, "shared.web.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
	    512);
	assert_section(ldns_pkt_answer(p),
	    "shared.web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.3\n"
	    "shared.web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.4\n");
	ldns_pkt_free(p);
	p = ask(f, "127-0-40-5.web.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    -1, 512);
	assert_section(ldns_pkt_answer(p),
	    "127-0-40-5.web.default.svc.cluster.local.\t5\tIN\tA\t"
	    "127.0.40.5\n");
	ldns_pkt_free(p);
	/* an endpoint with a hostname has no dashed name (CoreDNS) */
	p = ask(f, "127-0-40-1.web.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = ask(f, "n.web.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
	    512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	/* SRV: one per name and port, targets by name, their A */
	p = ask(f, "_http._tcp.web.default.svc.cluster.local.",
	    LDNS_RR_TYPE_SRV, -1, 4096);
	assert_section(ldns_pkt_answer(p),
	    "_http._tcp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 "
	    "127-0-40-5.web.default.svc.cluster.local.\n"
	    "_http._tcp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 "
	    "127-0-40-6.web.default.svc.cluster.local.\n"
	    "_http._tcp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 "
	    "shared.web.default.svc.cluster.local.\n"
	    "_http._tcp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 "
	    "web-0.web.default.svc.cluster.local.\n");
	assert_section(ldns_pkt_additional(p),
	    "127-0-40-5.web.default.svc.cluster.local.\t5\tIN\tA\t"
	    "127.0.40.5\n"
	    "127-0-40-6.web.default.svc.cluster.local.\t5\tIN\tA\t"
	    "127.0.40.6\n"
	    "shared.web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.3\n"
	    "shared.web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.4\n"
	    "web-0.web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.1\n");
	ldns_pkt_free(p);
	p = ask(f, "web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, -1,
	    4096);
	assert_int_equal(ldns_pkt_ancount(p), 4);
	assert_int_equal(ldns_pkt_arcount(p), 5);
	ldns_pkt_free(p);
	/* PTR under the hostname; two pods of one name and address: once */
	p = ask(f, "1.40.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_section(ldns_pkt_answer(p), "1.40.0.127.in-addr.arpa.\t5\tIN\t"
	    "PTR\tweb-0.web.default.svc.cluster.local.\n");
	ldns_pkt_free(p);
	p = ask(f, "5.40.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_section(ldns_pkt_answer(p), "5.40.0.127.in-addr.arpa.\t5\tIN\t"
	    "PTR\t127-0-40-5.web.default.svc.cluster.local.\n");
	ldns_pkt_free(p);
	p = ask(f, "7.40.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_null(p);

	/* publishNotReadyAddresses: the not-ready pod is named too */
	pnr = mk_svc("default", "web", SVC_HEADLESS, "app=web", "http", 80);
	pnr->publish_not_ready = true;
	objset_add_service(&set, pnr);
	apply(f->reg, &set);
	p = ask(f, "n.web.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1,
	    512);
	assert_section(ldns_pkt_answer(p),
	    "n.web.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.7\n");
	ldns_pkt_free(p);
	p = ask(f, "web.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_int_equal(ldns_pkt_ancount(p), 6);
	ldns_pkt_free(p);
	p = ask(f, "7.40.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_section(ldns_pkt_answer(p), "7.40.0.127.in-addr.arpa.\t5\tIN\t"
	    "PTR\tn.web.default.svc.cluster.local.\n");
	ldns_pkt_free(p);
	/* a service with none ready but publishing: not NXDOMAIN */
	pnr = mk_svc("default", "idle", SVC_HEADLESS, "app=idle", NULL, 80);
	pnr->publish_not_ready = true;
	objset_add_service(&set, pnr);
	apply(f->reg, &set);
	p = ask(f, "idle.default.svc.cluster.local.", LDNS_RR_TYPE_A, -1, 512);
	assert_section(ldns_pkt_answer(p),
	    "idle.default.svc.cluster.local.\t5\tIN\tA\t127.0.30.1\n");
	ldns_pkt_free(p);

	/*
	 * A headless service without ports or selector, its Endpoints
	 * listing one address in two subsets (other ports), with a
	 * hostname: SRV ports come from the endpoints.
	 */
	ep = mk_svc("default", "eps", SVC_HEADLESS, NULL, NULL, 0);
	objset_add_service(&set, ep);
	e = endpoints_new();
	e->ns = strdup("default");
	e->name = strdup("eps");
	e->naddrs = 1;
	e->addrs = calloc(1, sizeof(*e->addrs));
	inet_pton(AF_INET, "127.0.50.1", &e->addrs[0].ip);
	e->addrs[0].hostname = strdup("a");
	e->nports = 1;
	e->ports = calloc(1, sizeof(*e->ports));
	e->ports[0].name = strdup("x");
	e->ports[0].port = 1000;
	objset_add_endpoints(&set, e);
	e = endpoints_new();
	e->ns = strdup("default");
	e->name = strdup("eps");
	e->subset = 1;
	e->naddrs = 2;
	e->addrs = calloc(2, sizeof(*e->addrs));
	inet_pton(AF_INET, "127.0.50.1", &e->addrs[0].ip);
	inet_pton(AF_INET, "127.0.50.2", &e->addrs[1].ip);
	e->nports = 1;
	e->ports = calloc(1, sizeof(*e->ports));
	e->ports[0].name = strdup("y");
	e->ports[0].port = 2000;
	e->ports[0].proto = CIP_PROTO_UDP;
	objset_add_endpoints(&set, e);
	apply(f->reg, &set);
	p = ask(f, "eps.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, -1,
	    4096);
	assert_section(ldns_pkt_answer(p),
	    "eps.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 1000 "
	    "a.eps.default.svc.cluster.local.\n"
	    "eps.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 2000 "
	    "127-0-50-2.eps.default.svc.cluster.local.\n"
	    "eps.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 2000 "
	    "a.eps.default.svc.cluster.local.\n");
	assert_section(ldns_pkt_additional(p),
	    "127-0-50-2.eps.default.svc.cluster.local.\t5\tIN\tA\t"
	    "127.0.50.2\n"
	    "a.eps.default.svc.cluster.local.\t5\tIN\tA\t127.0.50.1\n");
	ldns_pkt_free(p);
	p = ask(f, "_y._udp.eps.default.svc.cluster.local.", LDNS_RR_TYPE_SRV,
	    -1, 4096);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	ldns_pkt_free(p);
	p = ask(f, "_x._tcp.eps.default.svc.cluster.local.", LDNS_RR_TYPE_SRV,
	    -1, 4096);
	assert_section(ldns_pkt_answer(p),
	    "_x._tcp.eps.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 1000 "
	    "a.eps.default.svc.cluster.local.\n");
	ldns_pkt_free(p);
	/* a port of no endpoint: NXDOMAIN; its protocol: NODATA */
	p = ask(f, "_y._tcp.eps.default.svc.cluster.local.", LDNS_RR_TYPE_SRV,
	    -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = ask(f, "_udp.eps.default.svc.cluster.local.", LDNS_RR_TYPE_SRV,
	    -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	p = ask(f, "_sctp.eps.default.svc.cluster.local.", LDNS_RR_TYPE_SRV,
	    -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	p = ask(f, "1.50.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_section(ldns_pkt_answer(p), "1.50.0.127.in-addr.arpa.\t5\tIN\t"
	    "PTR\ta.eps.default.svc.cluster.local.\n");
	ldns_pkt_free(p);
}

/*
 * PTR of an endpoint of ClusterIP services: its name under each (as
 * CoreDNS answers), even outside the VIP range's reverse zone.
 */
static void
test_zone_ptr_any_service(void **state)
{
	struct fixture *f = *state;
	struct objset set = { 0 };
	ldns_pkt *p;

	p = ask(f, "1.10.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_section(ldns_pkt_answer(p), "1.10.0.127.in-addr.arpa.\t5\tIN\t"
	    "PTR\t127-0-10-1.backend.default.svc.cluster.local.\n");
	assert_true(ldns_pkt_aa(p));
	ldns_pkt_free(p);
	/* a second service selecting the same pod: both names */
	objset_add_service(&set, mk_svc("default", "api", SVC_CLUSTERIP,
	    "app=backend", "http", 8080));
	apply(f->reg, &set);
	p = ask(f, "1.10.0.127.in-addr.arpa.", LDNS_RR_TYPE_PTR, -1, 512);
	assert_section(ldns_pkt_answer(p), "1.10.0.127.in-addr.arpa.\t5\tIN\t"
	    "PTR\t127-0-10-1.api.default.svc.cluster.local.\n"
	    "1.10.0.127.in-addr.arpa.\t5\tIN\t"
	    "PTR\t127-0-10-1.backend.default.svc.cluster.local.\n");
	ldns_pkt_free(p);
	/* another type of an endpoint's reverse name: NODATA, no SOA */
	p = ask(f, "1.10.0.127.in-addr.arpa.", LDNS_RR_TYPE_A, -1, 512);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
}

static const char dual_yaml[] =
    "kind: Service\nmetadata: {name: dual}\n"
    "spec: {selector: {app: dual}, ipFamilyPolicy: PreferDualStack, "
    "ports: [{name: http, port: 80}]}\n"
    "---\nkind: Service\nmetadata: {name: six}\n"
    "spec: {selector: {app: dual}, clusterIP: 'fd00:96::20', "
    "ports: [{port: 80}]}\n"
    "---\nkind: Service\nmetadata: {name: hl}\n"
    "spec: {clusterIP: None, selector: {app: hl}, ipFamilyPolicy: "
    "PreferDualStack, ports: [{name: http, port: 80}]}\n"
    "---\nkind: Service\nmetadata: {name: hl4}\n"
    "spec: {clusterIP: None, selector: {app: hl}, ports: [{port: 80}]}\n"
    "---\nkind: Pod\nmetadata: {name: hl-0, labels: {app: hl}}\n"
    "status: {podIPs: [{ip: 127.0.40.1}, {ip: '5678:abcd::1'}]}\n"
    "---\nkind: Pod\nmetadata: {name: hl-1, labels: {app: hl}}\n"
    "spec: {hostname: web-1, subdomain: hl}\n"
    "status: {podIP: 'fd00:40::2'}\n"
    "---\nkind: Pod\nmetadata: {name: dual-1, labels: {app: dual}}\n"
    "status: {podIPs: [{ip: 127.0.50.1}, {ip: 'fd00:50::1'}]}\n";

static int
setup_dual(void **state)
{
	const char *ranges[] = { "127.96.0.0/16", "fd00:96::/112" };
	struct fixture *f = calloc(1, sizeof(*f));
	struct dns_zone_conf zc;
	struct objset set = { 0 };
	char err[256];

	f->vips = vip_pool_new_ranges(ranges, 2, NULL, err, sizeof(err));
	assert_non_null(f->vips);
	f->reg = registry_new(f->vips);
	memset(&zc, 0, sizeof(zc));
	zc.domain = "cluster.local";
	zc.vip_range = ranges[0];
	zc.vip_range6 = ranges[1];
	zc.ttl_s = 5;
	zc.negative_ttl_s = 30;
	zc.edns_payload = 1232;
	f->zone = dns_zone_new(f->reg, &zc);
	assert_non_null(f->zone);
	if (manifest_parse_buf(dual_yaml, strlen(dual_yaml), "dual.yaml", &set,
	    NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	apply(f->reg, &set);
	*state = f;
	return 0;
}

/* Asks name/type; the answer section (or additional) must be want. */
static void
expect(struct fixture *f, const char *name, ldns_rr_type type,
    ldns_pkt_rcode rcode, bool additional, const char *want)
{
	ldns_pkt *p = ask(f, name, type, -1, 4096);
	char *got, *c;

	if (p == NULL)
		fail_msg("%s: forwarded", name);
	if (ldns_pkt_get_rcode(p) != rcode)
		fail_msg("%s: rcode %d", name, ldns_pkt_get_rcode(p));
	got = section_text(additional ? ldns_pkt_additional(p) :
	    ldns_pkt_answer(p));
	/* One line per record: joined by "|" here. */
	for (c = got; *c != '\0'; c++)
		if (*c == '\n')
			*c = c[1] == '\0' ? '\0' : '|';
	if (strcasecmp(got, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", name, got, want);
	free(got);
	ldns_pkt_free(p);
}

/* "b.a.9.8....ip6.arpa." of an address. */
static const char *
rev6(const char *addr, char *buf, size_t len)
{
	struct in6_addr a;
	size_t i, o = 0;

	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	for (i = 32; i > 0; i--) {
		unsigned b = a.s6_addr[(i - 1) / 2];
		o += (size_t)snprintf(buf + o, len - o, "%x.",
		    (i - 1) % 2 ? b & 0xf : b >> 4);
	}
	snprintf(buf + o, len - o, "ip6.arpa.");
	return buf;
}

static void
test_zone_dual_stack(void **state)
{
	struct fixture *f = *state;
	struct service *dual = registry_find_service(f->reg, "default",
	    "dual");
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], want[512], r[128];
	ldns_pkt *p;

	assert_non_null(dual);
	inet_ntop(AF_INET, &dual->vip, v4, sizeof(v4));
	inet_ntop(AF_INET6, &dual->ext->vip6, v6, sizeof(v6));
	assert_true(strncmp(v6, "fd00:96::", 9) == 0);
	/* A for the IPv4 VIP, AAAA for the IPv6 one. */
	snprintf(want, sizeof(want), "dual.default.svc.cluster.local.\t5\tIN"
	    "\tA\t%s", v4);
	expect(f, "dual.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, false, want);
	snprintf(want, sizeof(want), "dual.default.svc.cluster.local.\t5\tIN"
	    "\tAAAA\t%s", v6);
	expect(f, "dual.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NOERROR, false, want);
	/* IPv6 single-stack: AAAA only. */
	expect(f, "six.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, false, "");
	expect(f, "six.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NOERROR, false, "six.default.svc.cluster.local.\t5\tIN"
	    "\tAAAA\tfd00:96::20");
	/* SRV: the A and the AAAA in additional. */
	snprintf(want, sizeof(want), "dual.default.svc.cluster.local.\t5\tIN"
	    "\tA\t%s|dual.default.svc.cluster.local.\t5\tIN\tAAAA\t%s", v4, v6);
	expect(f, "_http._tcp.dual.default.svc.cluster.local.",
	    LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR, true, want);
	/* Headless: one record per address of each family it has. */
	expect(f, "hl.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NOERROR, false, "hl.default.svc.cluster.local.\t5\tIN"
	    "\tAAAA\t5678:abcd::1|hl.default.svc.cluster.local.\t5\tIN\tAAAA"
	    "\tfd00:40::2");
	expect(f, "hl.default.svc.cluster.local.", LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, false, "hl.default.svc.cluster.local.\t5\tIN"
	    "\tA\t127.0.40.1");
	/* A single-stack IPv4 one publishes no IPv6 endpoint. */
	expect(f, "hl4.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NOERROR, false, "");
	expect(f, "5678-abcd--1.hl4.default.svc.cluster.local.",
	    LDNS_RR_TYPE_AAAA, LDNS_RCODE_NXDOMAIN, false, "");
	/* CoreDNS's dashed names, one per address. */
	expect(f, "5678-abcd--1.hl.default.svc.cluster.local.",
	    LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, false,
	    "5678-abcd--1.hl.default.svc.cluster.local.\t5\tIN\tAAAA\t"
	    "5678:abcd::1");
	expect(f, "5678-abcd--1.hl.default.svc.cluster.local.",
	    LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false, "");
	expect(f, "127-0-40-1.hl.default.svc.cluster.local.",
	    LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, false,
	    "127-0-40-1.hl.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.1");
	expect(f, "web-1.hl.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NOERROR, false, "web-1.hl.default.svc.cluster.local.\t"
	    "5\tIN\tAAAA\tfd00:40::2");
	/* Headless SRV: targets' A and AAAA in additional. */
	expect(f, "_http._tcp.hl.default.svc.cluster.local.",
	    LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR, true,
	    "127-0-40-1.hl.default.svc.cluster.local.\t5\tIN\tA\t127.0.40.1|"
	    "5678-abcd--1.hl.default.svc.cluster.local.\t5\tIN\tAAAA\t"
	    "5678:abcd::1|web-1.hl.default.svc.cluster.local.\t5\tIN\tAAAA\t"
	    "fd00:40::2");
	/* PTR in the IPv6 range's zone, authoritative. */
	snprintf(want, sizeof(want), "%s\t5\tIN\tPTR\t"
	    "dual.default.svc.cluster.local.", rev6(v6, r, sizeof(r)));
	expect(f, r, LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, false, want);
	p = ask(f, rev6("fd00:96::ffff", r, sizeof(r)), LDNS_RR_TYPE_PTR, -1,
	    512);
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	assert_rr_prefix(ldns_pkt_authority(p), 0,
	    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f."
	    "ip6.arpa.\t30\tIN\tSOA\t");
	ldns_pkt_free(p);
	expect(f, "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f."
	    "ip6.arpa.", LDNS_RR_TYPE_NS, LDNS_RCODE_NOERROR, false, "");
	/* An IPv6 endpoint's PTR, under each service publishing it. */
	snprintf(want, sizeof(want), "%s\t5\tIN\tPTR\t"
	    "5678-abcd--1.hl.default.svc.cluster.local.",
	    rev6("5678:abcd::1", r, sizeof(r)));
	expect(f, r, LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, false, want);
	snprintf(want, sizeof(want), "%s\t5\tIN\tPTR\t"
	    "web-1.hl.default.svc.cluster.local.",
	    rev6("fd00:40::2", r, sizeof(r)));
	expect(f, r, LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR, false, want);
	/* Other ip6.arpa names are not ours: forwarded. */
	assert_null(ask(f, rev6("2001:db8::1", r, sizeof(r)),
	    LDNS_RR_TYPE_PTR, -1, 512));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_zone_clusterip_a, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_negative, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_srv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_srv_service_name,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_short_form_negative,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_headless, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_hostnames, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_ptr_any_service,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_other_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_follows_registry,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_truncation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_zone_new_over_filled_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_short_names_modes,
		    setup, teardown),
		cmocka_unit_test(test_zone_short_parse),
		cmocka_unit_test_setup_teardown(test_zone_dual_stack,
		    setup_dual, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
