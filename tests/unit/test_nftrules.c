/* SPDX-License-Identifier: MIT */
/*
 * test_nftrules.c -- the rule builder: registry state in, nftables text
 * and element bytes out.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "manifest.h"
#include "nftmap.h"
#include "nftrules.h"
#include "registry.h"
#include "util.h"
#include "vip.h"

struct fx {
	char			 path[64];
	struct vip_pool		*pool;
	struct registry		*reg;
	struct nftbuf		 out;
	struct nftrules_opts	 o;
	struct nftrules_state	 old, now;	/* before and after run() */
	struct nftrules_delta	 d;
};

static const struct owner file_a = { OWNER_FILE, (char *)"a.yaml" };

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	int fd;

	strlcpy(f->path, "/tmp/test_nftrules.XXXXXX", sizeof(f->path));
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(f->path);
	f->pool = vip_pool_new("127.96.0.0/24", f->path, err, sizeof(err));
	assert_non_null(f->pool);
	f->reg = registry_new(f->pool);
	f->o.table = "t";
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	registry_free(f->reg);
	vip_pool_free(f->pool);
	unlink(f->path);
	nftbuf_free(&f->out);
	nftrules_state_clear(&f->old);
	nftrules_state_clear(&f->now);
	nftrules_delta_clear(&f->d);
	free(f);
	return 0;
}

static void
apply(struct fx *f, const char *yaml)
{
	struct objset set = { 0 };
	char err[256];

	if (manifest_parse_buf(yaml, strlen(yaml), "t.yaml", &set, NULL, err,
	    sizeof(err)) != 0)
		print_error("%s\n", err);
	assert_int_equal(registry_apply(f->reg, &file_a, &set,
	    REGISTRY_REPLACE, err, sizeof(err)), 0);
	objset_clear(&set);
}

#define RR	", annotations: {clusterip.io/lb-algorithm: round-robin}"
#define SVC(extra, ann) \
	"---\nkind: Service\nmetadata: {name: web" ann "}\n" \
	"spec: {selector: {app: web}, clusterIP: 127.96.0.7, ports: [" \
	"{port: 80, targetPort: http}]" extra "}\n"
#define POD(n, ip, port) \
	"---\nkind: Pod\nmetadata: {name: " n ", labels: {app: web}}\n" \
	"spec: {containers: [{ports: [{name: http, containerPort: " port \
	"}]}]}\nstatus: {podIP: " ip "}\n"

static const struct service *
web(struct fx *f)
{
	const struct service *s = registry_find_service(f->reg, "default",
	    "web");

	assert_non_null(s);
	return s;
}

/* Counts the occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * The commands for svc (NULL: gone) from f->old into f->out, f->now and
 * f->d, which start empty.
 */
static void
run(struct fx *f, const struct service *svc)
{
	assert_int_equal(nftrules_service(&f->out, &f->o, svc, &f->old,
	    &f->now, &f->d), 0);
}

/* The next change starts from what the last one made. */
static void
next(struct fx *f)
{
	nftrules_state_clear(&f->old);
	f->old = f->now;
	memset(&f->now, 0, sizeof(f->now));
	nftrules_delta_clear(&f->d);
	nftbuf_reset(&f->out);
}

/* Applies yaml, then run() on web from what the last run made. */
static void
change(struct fx *f, const char *yaml)
{
	next(f);
	apply(f, yaml);
	run(f, web(f));
}

static void
expect(const char *text, const char *needle, int times)
{
	if (count(text, needle) != times)
		print_error("expected %d of \"%s\" in:\n%s\n", times, needle,
		    text);
	assert_int_equal(count(text, needle), times);
}

/* True when the state or delta st has the entry e. */
static void
has(const struct nftrules_state *st, const char *e, bool yes)
{
	if (nftrules_state_has(st, e) != yes) {
		size_t i;

		print_error("%s \"%s\" in:\n", yes ? "no" : "unexpected", e);
		for (i = 0; i < st->n; i++)
			print_error("  %s\n", st->v[i]);
	}
	assert_true(nftrules_state_has(st, e) == yes);
}

static void
test_base_loopback_has_no_prerouting(void **state)
{
	struct fx *f = *state;

	assert_int_equal(nftrules_base(&f->out, &f->o), 0);
	/* One inet table; the ip table of an earlier version goes. */
	expect(f->out.p, "add table ip t\ndelete table ip t\n"
	    "add table inet t\ndelete table inet t\ntable inet t {", 1);
	expect(f->out.p, "map service-ips {", 1);
	expect(f->out.p, "map service-ips6 {", 1);
	expect(f->out.p, "type ipv4_addr . inet_proto . inet_service : "
	    "verdict;", 1);
	expect(f->out.p, "type ipv6_addr . inet_proto . inet_service : "
	    "verdict;", 1);
	expect(f->out.p, "map endpoints-3 {\n\t\ttypeof ip daddr . meta "
	    "l4proto . th dport . numgen random mod 3 : ip daddr . th "
	    "dport;\n\t}", 1);
	expect(f->out.p, "map endpoints6-65536 {\n\t\ttypeof ip6 daddr . "
	    "meta l4proto . th dport . numgen random mod 65536 : ip6 daddr . "
	    "th dport;\n\t}", 1);
	expect(f->out.p, "typeof ip daddr", NFTMAP_NCLASSES);
	expect(f->out.p, "flags interval", 0);
	expect(f->out.p, "set endpoint-counters {\n\t\ttype ipv4_addr . "
	    "inet_proto . inet_service . ipv4_addr . inet_service;\n"
	    "\t\tcounter;", 1);
	expect(f->out.p, "set endpoint-counters6 {", 1);
	expect(f->out.p, "set vip-ports {", 1);
	expect(f->out.p, "set vip-ports6 {", 1);
	expect(f->out.p, "hook output priority -100", 1);
	expect(f->out.p, "ip daddr . meta l4proto . th dport vmap "
	    "@service-ips\n", 1);
	expect(f->out.p, "ip6 daddr . meta l4proto . th dport vmap "
	    "@service-ips6\n", 1);
	expect(f->out.p, "meta l4proto { tcp, udp } dnat ip to ip daddr . "
	    "meta l4proto . th dport . numgen random mod 16 map "
	    "@endpoints-16\n", 1);
	expect(f->out.p, "dnat ip6 to ip6 daddr . meta l4proto . th dport . "
	    "numgen random mod 2048 map @endpoints6-2048\n", 1);
	expect(f->out.p, "dnat ip to", NFTMAP_NCLASSES);
	/* The exact shares first: most services have a few endpoints. */
	assert_true(strstr(f->out.p, "map @endpoints-1\n") <
	    strstr(f->out.p, "map @endpoints-2\n"));
	expect(f->out.p, "@no-endpoints meta l4proto tcp reject with tcp "
	    "reset", 1);
	expect(f->out.p, "ip6 daddr . meta l4proto . th dport @no-endpoints6 "
	    "meta l4proto tcp reject with tcp reset", 1);
	/* Rejected on the NAT hook: no filter chain sees every packet. */
	expect(f->out.p, "type filter", 0);
	assert_true(strstr(f->out.p, "reject\n") < strstr(f->out.p, "vmap"));
	assert_true(strstr(f->out.p, "vmap") < strstr(f->out.p, "dnat"));
	expect(f->out.p, "ct status dnat ct original ip daddr . meta l4proto "
	    ". ct original proto-dst . ip daddr . th dport "
	    "@endpoint-counters\n", 1);
	expect(f->out.p, "hook postrouting", 1);
	expect(f->out.p, "hook prerouting", 0);
	expect(f->out.p, "masquerade", 0);
	expect(f->out.p, "meta mark", 0);
	expect(f->out.p, "ct timeout", 0);
}

static void
test_base_interface_mode_masquerades(void **state)
{
	struct fx *f = *state;

	f->o.prerouting = true;
	f->o.tcp_time_wait_s = 2;
	assert_int_equal(nftrules_base(&f->out, &f->o), 0);
	expect(f->out.p, "type nat hook prerouting priority -100", 1);
	expect(f->out.p, "meta mark & 0x00004000 != 0 oifname != \"lo\" "
	    "masquerade", 1);
	expect(f->out.p, "ct timeout tcp-vip {", 1);
	expect(f->out.p, "ct timeout tcp-vip6 {", 1);
	expect(f->out.p, "l3proto ip6;", 1);
	expect(f->out.p, "policy = { time_wait: 2, close: 2 };", 2);
	/* The endpoint map's services: marked and timed out by the set. */
	expect(f->out.p, "meta l4proto tcp ip daddr . meta l4proto . th dport "
	    "@vip-ports ct timeout set \"tcp-vip\"\n", 1);
	expect(f->out.p, "@vip-ports6 ct timeout set \"tcp-vip6\"\n", 1);
	expect(f->out.p, "ip daddr . meta l4proto . th dport @vip-ports meta "
	    "mark set meta mark | 0x00004000\n", 1);
	assert_true(strstr(f->out.p, "meta mark set") <
	    strstr(f->out.p, "map @endpoints-1\n"));
}

static void
test_map_two_endpoints(void **state)
{
	struct fx *f = *state;

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081")
	    POD("b", "127.0.10.2", "8082"));
	run(f, web(f));
	assert_string_equal(f->out.p,
	    "add element inet t vip-ports { 127.96.0.7 . tcp . 80 }\n"
	    "add element inet t endpoints-2 { "
	    "127.96.0.7 . tcp . 80 . 0 : 127.0.10.1 . 8081, "
	    "127.96.0.7 . tcp . 80 . 1 : 127.0.10.2 . 8082 }\n"
	    "add element inet t endpoint-counters { "
	    "127.96.0.7 . tcp . 80 . 127.0.10.1 . 8081, "
	    "127.96.0.7 . tcp . 80 . 127.0.10.2 . 8082 }\n");
	/* Elements only: the netlink batch can say it all. */
	assert_false(f->d.slow);
	assert_int_equal(f->d.ops.n, 5);
	has(&f->d.ops, "+:e:2|127.96.0.7 . tcp . 80 . 1 : 127.0.10.2 . 8082",
	    true);
	assert_int_equal(f->now.n, 5);
	has(&f->now, "v:127.96.0.7 . tcp . 80", true);
	has(&f->now, "k:127.96.0.7 . tcp . 80 . 127.0.10.1 . 8081", true);
}

/* The same address and port twice is one endpoint. */
static void
test_map_duplicate_endpoint_once(void **state)
{
	struct fx *f = *state;

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081")
	    POD("a2", "127.0.10.1", "8081"));
	run(f, web(f));
	expect(f->out.p, "endpoints-1 { 127.96.0.7 . tcp . 80 . 0 : "
	    "127.0.10.1 . 8081 }", 1);
	assert_int_equal(f->now.n, 3);
}

static void
test_map_share_even(void **state)
{
	uint32_t n, m, i, lo, hi, next, min, max;

	(void)state;
	for (n = 1; n <= 5000; n += n < 300 ? 1 : 97) {
		m = nftmap_slots(n);
		/* Exact shares up to 16, at least 16 slots each past that. */
		assert_true(n <= 16 ? m == n : m >= 16 * n || m == 65536);
		next = 0;
		min = UINT32_MAX;
		max = 0;
		for (i = 0; i < n; i++) {
			nftmap_share(i, n, m, &lo, &hi);
			assert_int_equal(lo, next);	/* consecutive */
			assert_true(hi >= lo);
			min = hi - lo + 1 < min ? hi - lo + 1 : min;
			max = hi - lo + 1 > max ? hi - lo + 1 : max;
			next = hi + 1;
		}
		assert_int_equal(next, m);	/* all slots */
		assert_true(max - min <= 1);
	}
	assert_int_equal(nftmap_slots(17), 512);
	assert_int_equal(nftmap_slots(32), 512);
	assert_int_equal(nftmap_slots(33), 2048);
	assert_int_equal(nftmap_slots(513), 65536);
	assert_int_equal(nftmap_slots(70000), 65536);
	/* Every slot count has its map: the rules name them all. */
	for (i = 0, n = 0; i < NFTMAP_NCLASSES; i++)
		n += nftmap_class(i) == nftmap_slots(nftmap_class(i) <= 16 ?
		    nftmap_class(i) : nftmap_class(i) / 16);
	assert_int_equal(n, NFTMAP_NCLASSES);
}

/* 40 endpoints: 2,048 slots, and a change moves only what it must. */
static void
test_map_many_endpoints(void **state)
{
	struct fx *f = *state;
	struct nftbuf y = { 0 };
	size_t i, moved = 0;

	nftbuf_printf(&y, "%s", SVC("", ""));
	for (i = 1; i <= 40; i++)
		nftbuf_printf(&y, "---\nkind: Pod\nmetadata: {name: p%zu, "
		    "labels: {app: web}}\nspec: {containers: [{ports: [{name: "
		    "http, containerPort: 80}]}]}\nstatus: {podIP: "
		    "127.0.10.%zu}\n", i, i);
	apply(f, y.p);
	run(f, web(f));
	assert_int_equal(f->now.n, 1 + 2048 + 40);
	has(&f->now, "e:2048|127.96.0.7 . tcp . 80 . 2047 : 127.0.10.40 . 80",
	    true);
	assert_false(f->d.slow);
	/* The last pod goes: 39 share the 2,048 slots (52 or 53 each). */
	y.len = (size_t)(strstr(y.p, "name: p40,") - y.p) - strlen("---\n"
	    "kind: Pod\nmetadata: {");
	y.p[y.len] = '\0';
	change(f, y.p);
	assert_int_equal(f->now.n, 1 + 2048 + 39);
	for (i = 0; i < f->d.ops.n; i++)
		if (strncmp(f->d.ops.v[i], "+:e:", 4) == 0)
			moved++;
	/* Each slot that changed hands is one deletion and one addition. */
	assert_true(moved > 0 && moved < 2048);
	assert_int_equal(f->d.ops.n, 2 * moved + 1);
	nftbuf_free(&y);
}

static void
test_map_endpoint_leaves(void **state)
{
	struct fx *f = *state;

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081")
	    POD("b", "127.0.10.2", "8082"));
	run(f, web(f));
	change(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	/* One map of slots for another; a's counter stays. */
	assert_string_equal(f->out.p,
	    "delete element inet t endpoints-2 { "
	    "127.96.0.7 . tcp . 80 . 0, 127.96.0.7 . tcp . 80 . 1 }\n"
	    "delete element inet t endpoint-counters { "
	    "127.96.0.7 . tcp . 80 . 127.0.10.2 . 8082 }\n"
	    "add element inet t endpoints-1 { "
	    "127.96.0.7 . tcp . 80 . 0 : 127.0.10.1 . 8081 }\n");
	assert_false(f->d.slow);
	assert_int_equal(f->d.ops.n, 4);
	has(&f->d.ops, "-:k:127.96.0.7 . tcp . 80 . 127.0.10.2 . 8082", true);
	has(&f->d.ops, "-:k:127.96.0.7 . tcp . 80 . 127.0.10.1 . 8081", false);
	/* The last one goes: rejected from now on. */
	change(f, SVC("", ""));
	expect(f->out.p, "delete element inet t endpoints-1 { 127.96.0.7 . tcp "
	    ". 80 . 0 }\n", 1);
	expect(f->out.p, "add element inet t no-endpoints { 127.96.0.7 . tcp "
	    ". 80 }\n", 1);
	expect(f->out.p, "vip-ports", 0);
	assert_false(f->d.slow);
	assert_int_equal(f->now.n, 2);
	/* The service goes: its elements with it. */
	next(f);
	run(f, NULL);
	assert_string_equal(f->out.p,
	    "delete element inet t vip-ports { 127.96.0.7 . tcp . 80 }\n"
	    "delete element inet t no-endpoints { 127.96.0.7 . tcp . 80 }\n");
	assert_false(f->d.slow);
	assert_int_equal(f->now.n, 0);
}

static void
test_map_no_change_no_commands(void **state)
{
	struct fx *f = *state;

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	run(f, web(f));
	change(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	assert_int_equal(f->out.len, 0);
	assert_int_equal(f->d.ops.n, 0);
}

/* From the endpoint map to chains of its own and back. */
static void
test_map_to_chains_and_back(void **state)
{
	struct fx *f = *state;

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	run(f, web(f));
	change(f, SVC("", RR) POD("a", "127.0.10.1", "8081"));
	assert_true(f->d.slow);
	expect(f->out.p, "delete element inet t endpoints-1 {", 1);
	expect(f->out.p, "delete element inet t vip-ports {", 1);
	expect(f->out.p, "delete element inet t endpoint-counters {", 1);
	expect(f->out.p, "add element inet t service-ips { 127.96.0.7 . tcp . "
	    "80 : goto svc-", 1);
	change(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	assert_true(f->d.slow);
	expect(f->out.p, "delete element inet t service-ips {", 1);
	expect(f->out.p, "delete chain", 2);
	expect(f->out.p, "add element inet t endpoints-1 {", 1);
}

static void
test_chains_three_endpoints_cascade(void **state)
{
	struct fx *f = *state;
	const char *a, *b, *c;

	apply(f, SVC("", RR) POD("a", "127.0.10.1", "8081")
	    POD("b", "127.0.10.2", "8082") POD("c", "127.0.10.3", "8083"));
	run(f, web(f));
	/* 1/3 to the first, 1/2 of the rest to the second, then the third. */
	a = strstr(f->out.p, " numgen inc mod 3 0 goto ep-");
	b = strstr(f->out.p, " numgen inc mod 2 0 goto ep-");
	c = strstr(f->out.p, "-tcp-80 goto ep-");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	expect(f->out.p, "numgen", 2);
	expect(f->out.p, " counter ", 3);
	expect(f->out.p, "endpoints", 0);
	/* The endpoint chains are filled before the vmap names them. */
	assert_true(strstr(f->out.p, "dnat ip to 127.0.10.3") <
	    strstr(f->out.p, "numgen"));
	assert_true(f->d.slow);
}

static void
test_chains_round_robin_udp(void **state)
{
	struct fx *f = *state;

	apply(f, "---\nkind: Service\nmetadata: {name: web" RR "}\nspec: "
	    "{selector: {app: web}, clusterIP: 127.96.0.7, ports: [{port: 53, "
	    "protocol: UDP}]}\n"
	    "---\nkind: Pod\nmetadata: {name: a, labels: {app: web}}\n"
	    "status: {podIP: 127.0.10.1}\n"
	    "---\nkind: Pod\nmetadata: {name: b, labels: {app: web}}\n"
	    "status: {podIP: 127.0.10.2}\n");
	run(f, web(f));
	expect(f->out.p, "numgen inc mod 2 0 goto ep-", 1);
	expect(f->out.p, "meta l4proto udp dnat ip to 127.0.10.1:53\n", 1);
	expect(f->out.p, "127.96.0.7 . udp . 53 : goto svc-", 1);
}

static void
test_chains_affinity_sets(void **state)
{
	struct fx *f = *state;

	apply(f, SVC(", sessionAffinity: ClientIP, sessionAffinityConfig: "
	    "{clientIP: {timeoutSeconds: 30}}", "")
	    POD("a", "127.0.10.1", "8081") POD("b", "127.0.10.2", "8082"));
	run(f, web(f));
	expect(f->out.p, "flags dynamic,timeout; timeout 30s; }", 2);
	expect(f->out.p, " update @aff-", 2);
	expect(f->out.p, "{ ip saddr }", 2);
	expect(f->out.p, " ip saddr @aff-", 2);
	expect(f->out.p, "numgen random mod 2 0 goto ep-", 1);
	/* The sticky rules come before the random choice. */
	assert_true(strstr(f->out.p, " ip saddr @aff-") <
	    strstr(f->out.p, "numgen"));
	assert_int_equal(f->now.n, 6);
}

static void
test_no_endpoint_rejects(void **state)
{
	struct fx *f = *state;

	apply(f, SVC("", ""));
	run(f, web(f));
	assert_string_equal(f->out.p,
	    "add element inet t vip-ports { 127.96.0.7 . tcp . 80 }\n"
	    "add element inet t no-endpoints { 127.96.0.7 . tcp . 80 }\n");
	has(&f->now, "r:127.96.0.7 . tcp . 80", true);
	assert_int_equal(f->now.n, 2);
	/* A service with chains of its own: the same element, no more. */
	nftrules_state_clear(&f->now);
	nftbuf_reset(&f->out);
	apply(f, SVC("", RR));
	run(f, web(f));
	assert_string_equal(f->out.p, "add element inet t no-endpoints "
	    "{ 127.96.0.7 . tcp . 80 }\n");
	assert_int_equal(f->now.n, 1);
}

static void
test_chains_endpoint_leaves(void **state)
{
	struct fx *f = *state;
	const char *gone;
	char chain_b[NFTRULES_NAME_MAX], del[NFTRULES_NAME_MAX + 64];
	const struct service *s;

	apply(f, SVC("", RR) POD("a", "127.0.10.1", "8081")
	    POD("b", "127.0.10.2", "8082"));
	s = web(f);
	nftrules_ep_chain(s, &s->ports[0], &s->ports[0].ready->v[1], false,
	    chain_b, sizeof(chain_b));
	run(f, s);
	change(f, SVC("", RR) POD("a", "127.0.10.1", "8081"));
	/* The element is replaced, b's chain flushed first, deleted last. */
	expect(f->out.p, "delete element inet t service-ips { 127.96.0.7 . "
	    "tcp . 80 }\n", 1);
	expect(f->out.p, "add element inet t service-ips", 1);
	snprintf(del, sizeof(del), "delete chain inet t %s\n", chain_b);
	expect(f->out.p, del, 1);
	expect(f->out.p, "delete chain", 1);
	gone = strstr(f->out.p, del);
	assert_true(strstr(f->out.p, "add element") < gone);
	/* One endpoint: a plain goto, no numgen; a's chain left as it is. */
	expect(f->out.p, "numgen", 0);
	expect(f->out.p, "dnat ip to 127.0.10.2", 0);
	expect(f->out.p, "dnat ip to 127.0.10.1", 0);
	expect(f->out.p, "add chain inet t ep-", 0);
	assert_int_equal(f->now.n, 3);
	assert_true(f->d.slow);
	/* The service goes: everything it had goes with it. */
	next(f);
	run(f, NULL);
	expect(f->out.p, "delete element", 1);
	expect(f->out.p, "flush chain", 3);
	expect(f->out.p, "delete chain", 2);
	expect(f->out.p, "add ", 0);
	assert_int_equal(f->now.n, 0);
}

static void
test_chains_interface_mode_marks(void **state)
{
	struct fx *f = *state;

	f->o.prerouting = true;
	f->o.tcp_time_wait_s = 2;
	apply(f, SVC("", RR) POD("a", "127.0.10.1", "8081"));
	run(f, web(f));
	expect(f->out.p, "meta mark set meta mark | 0x00004000", 1);
	expect(f->out.p, "ct timeout set \"tcp-vip\"", 1);
	/* The endpoint map's services: the base's rules do it. */
	nftrules_state_clear(&f->now);
	nftbuf_reset(&f->out);
	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	run(f, web(f));
	expect(f->out.p, "meta mark", 0);
	expect(f->out.p, "ct timeout", 0);
}

#define UDPSVC(ann, pods) \
	"---\nkind: Service\nmetadata: {name: web" ann "}\nspec: " \
	"{selector: {app: web}, clusterIP: 127.96.0.7, ports: [" \
	"{name: d, port: 53, protocol: UDP, targetPort: 5353}, " \
	"{name: h, port: 80, targetPort: 8080}]}\n" \
	"---\nkind: Pod\nmetadata: {name: a, labels: {app: web}}\n" \
	"status: {podIP: 127.0.10.1}\n" pods
#define UDPB \
	"---\nkind: Pod\nmetadata: {name: b, labels: {app: web}}\n" \
	"status: {podIP: 127.0.10.2}\n"

/* b goes: its UDP endpoint is named, its TCP one and a's are not. */
static void
udp_removed(struct fx *f, const char *both, const char *a_only)
{
	struct nftrules_udp_gone *g = NULL;
	size_t n = 0, cap = 0;
	char a[INET_ADDRSTRLEN];

	apply(f, both);
	run(f, web(f));
	change(f, a_only);
	assert_int_equal(nftrules_udp_removed(&f->old, &f->now, &g, &n, &cap),
	    0);
	assert_int_equal(n, 1);
	assert_false(g[0].v6);
	assert_string_equal(inet4_str(g[0].vip, a), "127.96.0.7");
	assert_string_equal(inet4_str(g[0].ep, a), "127.0.10.2");
	assert_int_equal(g[0].port, 53);
	assert_int_equal(g[0].ep_port, 5353);
	/* Nothing left the second time. */
	n = 0;
	assert_int_equal(nftrules_udp_removed(&f->now, &f->now, &g, &n, &cap),
	    0);
	assert_int_equal(n, 0);
	free(g);
}

static void
test_udp_removed_map(void **state)
{
	udp_removed(*state, UDPSVC("", UDPB), UDPSVC("", ""));
}

static void
test_udp_removed_chains(void **state)
{
	udp_removed(*state, UDPSVC(RR, UDPB), UDPSVC(RR, ""));
}

#define DUAL(aff, pods) \
	"---\nkind: Service\nmetadata: {name: web}\nspec:\n" \
	"  selector: {app: web}\n  ipFamilyPolicy: RequireDualStack\n" \
	"  clusterIPs: [127.96.0.7, 'fd00:96::7']\n" aff \
	"  ports: [{name: h, port: 80, targetPort: 8080}, " \
	"{name: d, port: 53, protocol: UDP, targetPort: 5353}]\n" pods
#define AFF	"  sessionAffinity: ClientIP\n"
#define POD6(n, ip4, ip6) \
	"---\nkind: Pod\nmetadata: {name: " n ", labels: {app: web}}\n" \
	"status: {podIPs: [{ip: " ip4 "}, {ip: '" ip6 "'}]}\n"
#define PODS6AB \
	POD6("a", "127.0.10.1", "fd00:90::1") \
	POD6("b", "127.0.10.2", "fd00:90::2")

/* Without a pool the requested VIPs of both families stay. */
static void
no_pool(struct fx *f)
{
	registry_free(f->reg);
	f->reg = registry_new(NULL);
}

/* Of two entries the IPv6 one first. */
static void
v6_first(struct nftrules_udp_gone *g)
{
	struct nftrules_udp_gone t = g[0];

	if (g[0].v6)
		return;
	g[0] = g[1];
	g[1] = t;
}

/* A dual-stack service: each VIP balances over its own family. */
static void
test_dual_stack_chains(void **state)
{
	struct fx *f = *state;
	struct nftrules_udp_gone *g = NULL;
	size_t n = 0, cap = 0;
	char a[INET6_ADDRSTRLEN];

	no_pool(f);
	apply(f, DUAL(AFF, PODS6AB));
	run(f, web(f));
	expect(f->out.p, "add element inet t service-ips { 127.96.0.7 . tcp "
	    ". 80 : goto svc-", 1);
	expect(f->out.p, "add element inet t service-ips6 { fd00:96::7 . tcp "
	    ". 80 : goto svc6-", 1);
	expect(f->out.p, "add element inet t service-ips6 { fd00:96::7 . udp "
	    ". 53 : goto svc6-", 1);
	expect(f->out.p, "dnat ip6 to [fd00:90::1]:8080\n", 1);
	expect(f->out.p, "dnat ip6 to [fd00:90::2]:5353\n", 1);
	expect(f->out.p, "dnat ip to 127.0.10.2:8080\n", 1);
	expect(f->out.p, "dnat ip6 to [127", 0);
	expect(f->out.p, "{ ip6 saddr }", 4);
	expect(f->out.p, "{ ip saddr }", 4);
	expect(f->out.p, "{ type ipv6_addr; flags dynamic,timeout;", 4);
	expect(f->out.p, " ip6 saddr @aff6-", 4);
	expect(f->out.p, "numgen random mod 2 0 goto ep6-", 2);
	expect(f->out.p, "ct timeout", 0);
	/* b goes: one UDP flow per family to delete, the IPv6 one named. */
	change(f, DUAL(AFF, POD6("a", "127.0.10.1", "fd00:90::1")));
	assert_int_equal(nftrules_udp_removed(&f->old, &f->now, &g, &n, &cap),
	    0);
	assert_int_equal(n, 2);
	v6_first(g);
	assert_true(g[0].v6 && !g[1].v6);
	inet_ntop(AF_INET6, &g[0].vip6, a, sizeof(a));
	assert_string_equal(a, "fd00:96::7");
	inet_ntop(AF_INET6, &g[0].ep6, a, sizeof(a));
	assert_string_equal(a, "fd00:90::2");
	assert_int_equal(g[0].port, 53);
	assert_int_equal(g[0].ep_port, 5353);
	assert_string_equal(inet4_str(g[1].ep, a), "127.0.10.2");
	free(g);
	/* No IPv6 endpoint left: [VIP6] rejects, the IPv4 VIP serves. */
	change(f, DUAL(AFF, POD("c", "127.0.10.3", "8080")));
	expect(f->out.p, "delete element inet t service-ips6 { fd00:96::7 . "
	    "tcp . 80 }", 1);
	expect(f->out.p, "add element inet t no-endpoints6 { fd00:96::7 . tcp "
	    ". 80, fd00:96::7 . udp . 53 }", 1);
	expect(f->out.p, "add element inet t service-ips6", 0);
	expect(f->out.p, "add element inet t service-ips { 127.96.0.7 . tcp",
	    1);
}

static void
test_dual_stack_map(void **state)
{
	struct fx *f = *state;
	struct nftrules_udp_gone *g = NULL;
	size_t n = 0, cap = 0;
	char a[INET6_ADDRSTRLEN];

	no_pool(f);
	apply(f, DUAL("", PODS6AB));
	run(f, web(f));
	assert_false(f->d.slow);
	expect(f->out.p, "add element inet t endpoints6-2 { "
	    "fd00:96::7 . tcp . 80 . 0 : fd00:90::1 . 8080, "
	    "fd00:96::7 . tcp . 80 . 1 : fd00:90::2 . 8080, "
	    "fd00:96::7 . udp . 53 . 0 : fd00:90::1 . 5353, "
	    "fd00:96::7 . udp . 53 . 1 : fd00:90::2 . 5353 }\n", 1);
	expect(f->out.p, "fd00:96::7 . udp . 53 . fd00:90::2 . 5353", 1);
	expect(f->out.p, "add element inet t vip-ports6 { fd00:96::7 . tcp . "
	    "80, fd00:96::7 . udp . 53 }", 1);
	expect(f->out.p, "127.96.0.7 . tcp . 80 . 1 : 127.0.10.2 . 8080", 1);
	expect(f->out.p, "[", 0);
	change(f, DUAL("", POD6("a", "127.0.10.1", "fd00:90::1")));
	assert_false(f->d.slow);
	assert_int_equal(nftrules_udp_removed(&f->old, &f->now, &g, &n, &cap),
	    0);
	assert_int_equal(n, 2);
	v6_first(g);
	assert_true(g[0].v6 && !g[1].v6);
	inet_ntop(AF_INET6, &g[0].ep6, a, sizeof(a));
	assert_string_equal(a, "fd00:90::2");
	inet_ntop(AF_INET6, &g[0].vip6, a, sizeof(a));
	assert_string_equal(a, "fd00:96::7");
	assert_int_equal(g[0].ep_port, 5353);
	free(g);
}

/* The bytes of the registers: addresses and ports in network order. */
static void
test_encode_elements(void **state)
{
	static const uint8_t ekey[] = { 127, 96, 0, 7, 6, 0, 0, 0, 0, 80, 0,
	    0 };
	static const uint8_t edata[] = { 127, 0, 10, 2, 0x1f, 0x92, 0, 0 };
	static const uint8_t kkey[] = { 0xfd, 0, 0, 0x96, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 7, 17, 0, 0, 0, 0, 53, 0, 0, 0xfd, 0, 0, 0x90, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x14, 0xe9, 0, 0 };
	struct nftmap_elem e;
	uint32_t slot = 12;	/* numgen's register: host order */

	(void)state;
	assert_int_equal(nftmap_encode("e:512|127.96.0.7 . tcp . 80 . 12 : "
	    "127.0.10.2 . 8082", true, &e), 0);
	assert_string_equal(e.set, "endpoints-512");
	assert_true(e.add);
	assert_int_equal(e.klen, sizeof(ekey) + 4);
	assert_memory_equal(e.key, ekey, sizeof(ekey));
	assert_memory_equal(e.key + sizeof(ekey), &slot, 4);
	assert_int_equal(e.dlen, sizeof(edata));
	assert_memory_equal(e.data, edata, sizeof(edata));
	assert_int_equal(nftmap_encode("K:fd00:96::7 . udp . 53 . fd00:90::2 "
	    ". 5353", false, &e), 0);
	assert_string_equal(e.set, "endpoint-counters6");
	assert_false(e.add);
	assert_int_equal(e.klen, sizeof(kkey));
	assert_memory_equal(e.key, kkey, sizeof(kkey));
	assert_int_equal(e.dlen, 0);
	assert_int_equal(nftmap_encode("r:127.96.0.7 . udp . 53", true, &e),
	    0);
	assert_string_equal(e.set, "no-endpoints");
	assert_int_equal(e.klen, 12);
	assert_int_equal(e.key[4], 17);
}

/* Every prefix of a good entry, and bad ones, fail cleanly. */
static void
test_encode_refuses_bad(void **state)
{
	static const char *good[] = {
		"e:512|127.96.0.7 . tcp . 80 . 511 : 127.0.10.2 . 8082",
		"K:fd00:96::7 . udp . 53 . fd00:90::2 . 5353",
		"v:127.96.0.7 . tcp . 80",
	};
	static const char *bad[] = {
		"c:svc-1", "m:127.96.0.7 . tcp . 80", "x", "",
		"v:127.96.0.7 . sctp . 80", "v:127.96.0.7 . tcp . 65536",
		"V:127.96.0.7 . tcp . 80", "e:2|127.96.0.7 . tcp . 80 . 2 : "
		"127.0.10.2 . 1", "e:17|127.96.0.7 . tcp . 80 . 0 : "
		"127.0.10.2 . 1", "e:127.96.0.7 . tcp . 80 . 0 : 127.0.10.2 . 1",
		"k:127.96.0.7 . tcp . 80 . fd00::1 . 1",
	};
	struct nftmap_elem e;
	char buf[128];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(nftmap_encode(good[i], true, &e), 0);
		/* A prefix cut inside the last number may still parse. */
		for (len = 0; len < strlen(good[i]) - 1; len++) {
			snprintf(buf, sizeof(buf), "%.*s", (int)len, good[i]);
			(void)nftmap_encode(buf, true, &e);
		}
		snprintf(buf, sizeof(buf), "%.*s", (int)(strlen(good[i]) / 2),
		    good[i]);
		assert_int_equal(nftmap_encode(buf, true, &e), ERR_INVAL);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nftmap_encode(bad[i], true, &e), ERR_INVAL);
}

static void
test_buf_grows(void **state)
{
	struct nftbuf b = { 0 };
	size_t i;

	for (i = 0; i < 5000; i++)
		assert_int_equal(nftbuf_printf(&b, "%04zu\n", i % 10000), 0);
	assert_int_equal(b.len, 5 * 5000);
	assert_int_equal(strlen(b.p), b.len);
	assert_memory_equal(b.p + 5 * 4999, "4999\n", 5);
	nftbuf_free(&b);
	(void)state;
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_base_loopback_has_no_prerouting),
		T(test_base_interface_mode_masquerades),
		T(test_map_two_endpoints),
		T(test_map_duplicate_endpoint_once),
		cmocka_unit_test(test_map_share_even),
		T(test_map_many_endpoints),
		T(test_map_endpoint_leaves),
		T(test_map_no_change_no_commands),
		T(test_map_to_chains_and_back),
		T(test_chains_three_endpoints_cascade),
		T(test_chains_round_robin_udp),
		T(test_chains_affinity_sets),
		T(test_no_endpoint_rejects),
		T(test_chains_endpoint_leaves),
		T(test_chains_interface_mode_marks),
		T(test_udp_removed_map),
		T(test_udp_removed_chains),
		T(test_dual_stack_chains),
		T(test_dual_stack_map),
		cmocka_unit_test(test_encode_elements),
		cmocka_unit_test(test_encode_refuses_bad),
		cmocka_unit_test(test_buf_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
