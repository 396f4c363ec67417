/* SPDX-License-Identifier: MIT */
/* test_nftrules.c -- the rule builder: registry state in, nftables text out. */
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

static void
expect(const char *text, const char *needle, int times)
{
	if (count(text, needle) != times)
		print_error("expected %d of \"%s\" in:\n%s\n", times, needle,
		    text);
	assert_int_equal(count(text, needle), times);
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
	expect(f->out.p, "hook output priority -100", 1);
	expect(f->out.p, "ip daddr . meta l4proto . th dport vmap "
	    "@service-ips\n", 1);
	expect(f->out.p, "ip6 daddr . meta l4proto . th dport vmap "
	    "@service-ips6\n", 1);
	expect(f->out.p, "@no-endpoints meta l4proto tcp reject with tcp "
	    "reset", 1);
	expect(f->out.p, "ip6 daddr . meta l4proto . th dport @no-endpoints6 "
	    "meta l4proto tcp reject with tcp reset", 1);
	expect(f->out.p, "hook prerouting", 0);
	expect(f->out.p, "masquerade", 0);
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
}

static void
test_service_two_endpoints_random(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081")
	    POD("b", "127.0.10.2", "8082"));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	expect(f->out.p, "dnat ip to 127.0.10.1:8081\n", 1);
	expect(f->out.p, "dnat ip to 127.0.10.2:8082\n", 1);
	expect(f->out.p, "meta l4proto tcp dnat", 2);
	expect(f->out.p, " counter ", 2);
	/* A cascade: half to the first, the rest to the second. */
	expect(f->out.p, "numgen random mod 2 0 goto ep-", 1);
	expect(f->out.p, "numgen", 1);
	expect(f->out.p, " goto ep-", 2);
	expect(f->out.p, "vmap", 0);
	expect(f->out.p, "add element inet t service-ips { 127.96.0.7 . tcp . "
	    "80 : goto svc-", 1);
	expect(f->out.p, "no-endpoints", 0);
	expect(f->out.p, "update @", 0);
	expect(f->out.p, "meta mark", 0);
	expect(f->out.p, "delete", 0);
	/* Two endpoint chains, the service chain, one map element. */
	assert_int_equal(now.n, 4);
	/* The endpoint chains are filled before the vmap names them. */
	assert_true(strstr(f->out.p, "dnat ip to 127.0.10.2") <
	    strstr(f->out.p, "numgen"));
	nftrules_state_clear(&now);
}

static void
test_service_three_endpoints_cascade(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };
	const char *a, *b, *c;

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081")
	    POD("b", "127.0.10.2", "8082") POD("c", "127.0.10.3", "8083"));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	/* 1/3 to the first, 1/2 of the rest to the second, then the third. */
	a = strstr(f->out.p, " numgen random mod 3 0 goto ep-");
	b = strstr(f->out.p, " numgen random mod 2 0 goto ep-");
	c = strstr(f->out.p, "-tcp-80 goto ep-");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	expect(f->out.p, "numgen", 2);
	nftrules_state_clear(&now);
}

static void
test_service_round_robin_udp(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };

	apply(f, "---\nkind: Service\nmetadata: {name: web, annotations: "
	    "{clusterip.io/lb-algorithm: round-robin}}\nspec: {selector: "
	    "{app: web}, clusterIP: 127.96.0.7, ports: [{port: 53, "
	    "protocol: UDP}]}\n"
	    "---\nkind: Pod\nmetadata: {name: a, labels: {app: web}}\n"
	    "status: {podIP: 127.0.10.1}\n"
	    "---\nkind: Pod\nmetadata: {name: b, labels: {app: web}}\n"
	    "status: {podIP: 127.0.10.2}\n");
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	expect(f->out.p, "numgen inc mod 2 0 goto ep-", 1);
	expect(f->out.p, "meta l4proto udp dnat ip to 127.0.10.1:53\n", 1);
	expect(f->out.p, "127.96.0.7 . udp . 53 : goto svc-", 1);
	nftrules_state_clear(&now);
}

static void
test_service_affinity_sets(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };

	apply(f, SVC(", sessionAffinity: ClientIP, sessionAffinityConfig: "
	    "{clientIP: {timeoutSeconds: 30}}", "")
	    POD("a", "127.0.10.1", "8081") POD("b", "127.0.10.2", "8082"));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	expect(f->out.p, "flags dynamic,timeout; timeout 30s; }", 2);
	expect(f->out.p, " update @aff-", 2);
	expect(f->out.p, "{ ip saddr }", 2);
	expect(f->out.p, " ip saddr @aff-", 2);
	/* The sticky rules come before the random choice. */
	assert_true(strstr(f->out.p, " ip saddr @aff-") <
	    strstr(f->out.p, "numgen"));
	assert_int_equal(now.n, 6);
	nftrules_state_clear(&now);
}

static void
test_service_no_endpoint_rejects(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };

	apply(f, SVC("", ""));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	assert_string_equal(f->out.p, "add element inet t no-endpoints "
	    "{ 127.96.0.7 . tcp . 80 }\n");
	assert_int_equal(now.n, 1);
	assert_string_equal(now.v[0], "r:127.96.0.7 . tcp . 80");
	nftrules_state_clear(&now);
}

static void
test_service_endpoint_leaves(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };
	const char *gone;
	char chain_b[NFTRULES_NAME_MAX], del[NFTRULES_NAME_MAX + 64];
	const struct service *s;

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081")
	    POD("b", "127.0.10.2", "8082"));
	s = web(f);
	nftrules_ep_chain(s, &s->ports[0], &s->ports[0].ready->v[1], false,
	    chain_b, sizeof(chain_b));
	assert_int_equal(nftrules_service(&f->out, &f->o, s, &old, &now), 0);
	old = now;
	memset(&now, 0, sizeof(now));
	nftbuf_reset(&f->out);

	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
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
	assert_int_equal(now.n, 3);
	nftrules_state_clear(&old);
	old = now;
	memset(&now, 0, sizeof(now));
	nftbuf_reset(&f->out);

	/* The service goes: everything it had goes with it. */
	assert_int_equal(nftrules_service(&f->out, &f->o, NULL, &old, &now),
	    0);
	expect(f->out.p, "delete element", 1);
	expect(f->out.p, "flush chain", 3);
	expect(f->out.p, "delete chain", 2);
	expect(f->out.p, "add ", 0);
	assert_int_equal(now.n, 0);
	nftrules_state_clear(&old);
}

static void
test_service_interface_mode_marks(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };

	f->o.prerouting = true;
	f->o.tcp_time_wait_s = 2;
	apply(f, SVC("", "") POD("a", "127.0.10.1", "8081"));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	expect(f->out.p, "meta mark set meta mark | 0x00004000", 1);
	expect(f->out.p, "ct timeout set \"tcp-vip\"", 1);
	nftrules_state_clear(&now);
}

static void
test_udp_removed_names_vip_and_endpoint(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };
	struct nftrules_udp_gone *g = NULL;
	size_t n = 0, cap = 0;
	char a[INET_ADDRSTRLEN];

	apply(f, "---\nkind: Service\nmetadata: {name: web}\nspec: "
	    "{selector: {app: web}, clusterIP: 127.96.0.7, ports: ["
	    "{name: d, port: 53, protocol: UDP, targetPort: 5353}, "
	    "{name: h, port: 80, targetPort: 8080}]}\n"
	    "---\nkind: Pod\nmetadata: {name: a, labels: {app: web}}\n"
	    "status: {podIP: 127.0.10.1}\n"
	    "---\nkind: Pod\nmetadata: {name: b, labels: {app: web}}\n"
	    "status: {podIP: 127.0.10.2}\n");
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	old = now;
	memset(&now, 0, sizeof(now));
	/* b goes: its UDP endpoint is named, its TCP one is not. */
	apply(f, "---\nkind: Service\nmetadata: {name: web}\nspec: "
	    "{selector: {app: web}, clusterIP: 127.96.0.7, ports: ["
	    "{name: d, port: 53, protocol: UDP, targetPort: 5353}, "
	    "{name: h, port: 80, targetPort: 8080}]}\n"
	    "---\nkind: Pod\nmetadata: {name: a, labels: {app: web}}\n"
	    "status: {podIP: 127.0.10.1}\n");
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	assert_int_equal(nftrules_udp_removed(&old, &now, &g, &n, &cap), 0);
	assert_int_equal(n, 1);
	assert_string_equal(inet4_str(g[0].vip, a), "127.96.0.7");
	assert_string_equal(inet4_str(g[0].ep, a), "127.0.10.2");
	assert_int_equal(g[0].port, 53);
	assert_int_equal(g[0].ep_port, 5353);
	/* Nothing left the second time. */
	n = 0;
	assert_int_equal(nftrules_udp_removed(&now, &now, &g, &n, &cap), 0);
	assert_int_equal(n, 0);
	free(g);
	nftrules_state_clear(&old);
	nftrules_state_clear(&now);
}

#define DUAL(pods) \
	"---\nkind: Service\nmetadata: {name: web}\nspec:\n" \
	"  selector: {app: web}\n  ipFamilyPolicy: RequireDualStack\n" \
	"  clusterIPs: [127.96.0.7, 'fd00:96::7']\n" \
	"  sessionAffinity: ClientIP\n" \
	"  ports: [{name: h, port: 80, targetPort: 8080}, " \
	"{name: d, port: 53, protocol: UDP, targetPort: 5353}]\n" pods
#define POD6(n, ip4, ip6) \
	"---\nkind: Pod\nmetadata: {name: " n ", labels: {app: web}}\n" \
	"status: {podIPs: [{ip: " ip4 "}, {ip: '" ip6 "'}]}\n"

/* A dual-stack service: each VIP balances over its own family. */
static void
test_dual_stack_both_families(void **state)
{
	struct fx *f = *state;
	struct nftrules_state old = { 0 }, now = { 0 };
	struct nftrules_udp_gone *g = NULL;
	size_t n = 0, cap = 0;
	char a[INET6_ADDRSTRLEN];

	/* Without a pool the requested VIPs of both families stay. */
	registry_free(f->reg);
	f->reg = registry_new(NULL);
	apply(f, DUAL(POD6("a", "127.0.10.1", "fd00:90::1")
	    POD6("b", "127.0.10.2", "fd00:90::2")));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
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
	old = now;
	memset(&now, 0, sizeof(now));
	/* b goes: one UDP flow per family to delete, the IPv6 one named. */
	nftbuf_reset(&f->out);
	apply(f, DUAL(POD6("a", "127.0.10.1", "fd00:90::1")));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	assert_int_equal(nftrules_udp_removed(&old, &now, &g, &n, &cap), 0);
	assert_int_equal(n, 2);
	if (!g[0].v6) {
		struct nftrules_udp_gone t = g[0];

		g[0] = g[1];
		g[1] = t;
	}
	assert_true(g[0].v6 && !g[1].v6);
	inet_ntop(AF_INET6, &g[0].vip6, a, sizeof(a));
	assert_string_equal(a, "fd00:96::7");
	inet_ntop(AF_INET6, &g[0].ep6, a, sizeof(a));
	assert_string_equal(a, "fd00:90::2");
	assert_int_equal(g[0].port, 53);
	assert_int_equal(g[0].ep_port, 5353);
	assert_string_equal(inet4_str(g[1].ep, a), "127.0.10.2");
	nftrules_state_clear(&old);
	old = now;
	memset(&now, 0, sizeof(now));
	/* No IPv6 endpoint left: [VIP6] rejects, the IPv4 VIP serves. */
	nftbuf_reset(&f->out);
	apply(f, DUAL(POD("c", "127.0.10.3", "8080")));
	assert_int_equal(nftrules_service(&f->out, &f->o, web(f), &old, &now),
	    0);
	expect(f->out.p, "delete element inet t service-ips6 { fd00:96::7 . "
	    "tcp . 80 }", 1);
	expect(f->out.p, "add element inet t no-endpoints6 { fd00:96::7 . tcp "
	    ". 80 }", 1);
	expect(f->out.p, "add element inet t service-ips6", 0);
	expect(f->out.p, "add element inet t service-ips { 127.96.0.7 . tcp",
	    1);
	free(g);
	nftrules_state_clear(&old);
	nftrules_state_clear(&now);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_base_loopback_has_no_prerouting, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_base_interface_mode_masquerades, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_two_endpoints_random, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_three_endpoints_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_round_robin_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_affinity_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_no_endpoint_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_endpoint_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_service_interface_mode_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_udp_removed_names_vip_and_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dual_stack_both_families, setup, teardown),
		cmocka_unit_test(test_buf_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
