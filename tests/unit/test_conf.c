/* SPDX-License-Identifier: MIT */
/* test_conf.c -- configuration: defaults, file, flags, errors, print round trip. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "conf.h"

static void
test_defaults(void **state)
{
	struct cip_conf *c = conf_new_defaults();
	char err[256];

	assert_non_null(c);
	assert_int_equal(c->vip_range.n, 1);
	assert_string_equal(c->vip_range.v[0], "127.96.0.0/16");
	assert_string_equal(c->api_listen, "127.0.0.1:9901");
	assert_string_equal(c->cluster_domain, "cluster.local");
	assert_int_equal(c->dns_ttl_s, 5);
	assert_int_equal(c->dns_listen.n, 1);
	assert_int_equal(c->upstream.n, 0);
	assert_null(c->vip_interface);
	assert_null(c->user);
	assert_int_equal(c->api_max_body, 1048576);
	assert_int_equal(c->dns_tcp_idle_timeout_ms, 10000);
	assert_string_equal(c->dns_short_names, "all");
	/* Forwarding for loopback, private ranges and the VIPs only. */
	assert_int_equal(c->dns_allow.n, 10);
	assert_string_equal(c->dns_allow.v[0], "127.0.0.0/8");
	assert_string_equal(c->dns_allow.v[1], "::1/128");
	assert_string_equal(c->dns_allow.v[9], "vip-range");
	assert_int_equal(conf_validate(c, err, sizeof(err)), 0);
	conf_free(c);
}

static void
test_file_then_flags(void **state)
{
	const char *y = "dns-listen: [127.0.0.2:53, \"[::1]:53\"]\n"
	    "dns-ttl: 30\nupstream-timeout: 500ms\napi-insecure: yes\n"
	    "vip-interface: eth0\n";
	struct cip_conf *c = conf_new_defaults();
	char err[256];

	assert_int_equal(conf_parse_buf(c, y, strlen(y), "c.yaml", err,
	    sizeof(err)), 0);
	assert_int_equal(c->dns_listen.n, 2);
	assert_string_equal(c->dns_listen.v[1], "[::1]:53");
	assert_int_equal(c->dns_ttl_s, 30);
	assert_int_equal(c->upstream_timeout_ms, 500);
	assert_true(c->api_insecure);
	assert_string_equal(c->vip_interface, "eth0");
	/* The first flag of a list replaces the file's list. */
	assert_int_equal(conf_set(c, "dns-listen", "127.0.0.3:5300", true,
	    err, sizeof(err)), 0);
	assert_int_equal(conf_set(c, "dns-listen", "127.0.0.4:5300", false,
	    err, sizeof(err)), 0);
	assert_int_equal(c->dns_listen.n, 2);
	assert_string_equal(c->dns_listen.v[0], "127.0.0.3:5300");
	assert_int_equal(conf_set(c, "dns-ttl", "abc", true, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "dns-ttl"));
	assert_int_equal(conf_set(c, "nope", "1", true, err, sizeof(err)), -1);
	conf_free(c);
}

static void
test_errors_have_positions(void **state)
{
	static const struct {
		const char *y, *want;
	} cases[] = {
		{ "dns-ttl: 5\nbogus: 1\n", "c.yaml:2:1: unknown option" },
		{ "dns-ttl: five\n", "c.yaml:1:10: dns-ttl: expected a whole" },
		{ "dns-ttl: 999999\n", "c.yaml:1:10: dns-ttl: 999999 is out" },
		{ "api-insecure: maybe\n", "c.yaml:1:15: api-insecure: expected" },
		{ "dns-listen: [1.2.3.4:99999]\n", "dns-listen: \"1.2.3.4:99999\"" },
		{ "vip-range: 10.0.0.0/31\n", "vip-range" },
		{ "vip-range: [10.0.0.0/16, 10.1.0.0/16]\n", "vip-range: "
		    "10.0.0.0/16 and 10.1.0.0/16 are of one family" },
		{ "vip-range: [\"fd00::/64\"]\n", "vip-range: \"fd00::/64\" is "
		    "not an IPv4 CIDR from /8 to /30 or an IPv6 one" },
		{ "vip-range: [10.0.0.0/16, \"fd00::/112\", \"fd01::/112\"]\n",
		    "vip-range: one or two ranges" },
		{ "lb-algorithm: fastest\n", "lb-algorithm" },
		{ "- a\n", "c.yaml:1:1: configuration: expected a mapping" },
		{ "a: [\n", "c.yaml:2:1:" },
		{ "upstream-timeout: soon\n", "upstream-timeout: \"soon\"" },
		{ "dns-allow: [10.0.0.0/8, 10.0.0.1/8]\n",
		    "dns-allow: \"10.0.0.1/8\" has bits set beyond /8 "
		    "(10.0.0.0/8?)" },
		{ "dns-allow: 10.0.0.0/33\n", "prefix /33 is longer" },
		{ "dns-allow: [example.com]\n", "dns-allow: \"example.com\" "
		    "is not an IPv4 or IPv6 CIDR" },
		{ "dns-allow: {a: b}\n", "c.yaml:1:12: dns-allow" },
		{ "dns-short-names: some\n", "dns-short-names: \"some\"" },
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cip_conf *c = conf_new_defaults();
		err[0] = '\0';
		assert_int_equal(conf_parse_buf(c, cases[i].y,
		    strlen(cases[i].y), "c.yaml", err, sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\"", i, err);
		conf_free(c);
	}
}

/* parse -> print -> parse -> print gives the same text. */
static void
test_print_round_trip(void **state)
{
	const char *y = "dns-listen: [127.0.0.2:53]\nupstream: [127.0.0.9]\n"
	    "manifests: \"/tmp/a \\\"b\\\"\"\nproxy-idle-timeout: 2m\n"
	    "dns-allow: [10.1.0.0/16, \"2001:db8::/32\", vip-range]\n"
	    "dns-short-names: single-label\n"
	    "user: nobody\n";
	struct cip_conf *a = conf_new_defaults(), *b = conf_new_defaults();
	char *t1 = NULL, *t2 = NULL, err[256];
	size_t l1, l2;
	FILE *fp;

	assert_int_equal(conf_parse_buf(a, y, strlen(y), "c", err,
	    sizeof(err)), 0);
	assert_string_equal(a->manifests, "/tmp/a \"b\"");
	assert_int_equal(a->proxy_idle_timeout_ms, 120000);
	assert_int_equal(a->dns_allow.n, 3);
	assert_string_equal(a->dns_allow.v[1], "2001:db8::/32");
	assert_string_equal(a->dns_short_names, "single-label");
	assert_string_equal(a->user, "nobody");
	fp = open_memstream(&t1, &l1);
	conf_print(a, fp);
	fclose(fp);
	if (conf_parse_buf(b, t1, l1, "printed", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	fp = open_memstream(&t2, &l2);
	conf_print(b, fp);
	fclose(fp);
	assert_string_equal(t1, t2);
	assert_int_equal(b->dns_allow.n, 3);
	assert_string_equal(b->dns_allow.v[2], "vip-range");
	assert_string_equal(b->dns_short_names, "single-label");
	free(t1);
	free(t2);
	conf_free(a);
	conf_free(b);
}

/*
 * dns-allow: an empty list forwards for nobody and prints back empty;
 * the first flag replaces the defaults, later ones add.
 */
static void
test_dns_allow_lists(void **state)
{
	const char *y = "dns-allow: []\n";
	struct cip_conf *c = conf_new_defaults(), *b = conf_new_defaults();
	char *t = NULL, err[256];
	size_t l;
	FILE *fp;

	assert_int_equal(conf_parse_buf(c, y, strlen(y), "c", err,
	    sizeof(err)), 0);
	assert_int_equal(c->dns_allow.n, 0);
	fp = open_memstream(&t, &l);
	conf_print(c, fp);
	fclose(fp);
	assert_non_null(strstr(t, "\ndns-allow: []\n"));
	assert_int_equal(conf_parse_buf(b, t, l, "printed", err, sizeof(err)),
	    0);
	assert_int_equal(b->dns_allow.n, 0);
	free(t);
	assert_int_equal(conf_set(c, "dns-allow", "127.0.0.2/32", true, err,
	    sizeof(err)), 0);
	assert_int_equal(conf_set(c, "dns-allow", "::1", false, err,
	    sizeof(err)), 0);
	assert_int_equal(c->dns_allow.n, 2);
	assert_int_equal(conf_validate(c, err, sizeof(err)), 0);
	assert_int_equal(conf_set(c, "dns-allow", "bad", false, err,
	    sizeof(err)), 0);
	assert_int_equal(conf_validate(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"bad\""));
	assert_int_equal(conf_set(c, "dns-short-names", "off", false, err,
	    sizeof(err)), 0);
	assert_string_equal(c->dns_short_names, "off");
	conf_free(c);
	conf_free(b);
}

/*
 * The state directory's default: root's under LOCALSTATEDIR, anybody
 * else's in the XDG state directory; an empty value in a file or a flag
 * means the default too.
 */
static void
test_state_dir_default(void **state)
{
	struct cip_conf *c;
	const char *y = "state-dir: ~\n";
	char err[256];

	if (geteuid() == 0)
		assert_string_equal(conf_default_state_dir(),
		    LOCALSTATEDIR "/lib/clusterip");
	else {
		setenv("XDG_STATE_HOME", "/x/state", 1);
		assert_string_equal(conf_default_state_dir(),
		    "/x/state/clusterip");
		/* A relative XDG_STATE_HOME is ignored, as the spec says. */
		setenv("XDG_STATE_HOME", "rel", 1);
		setenv("HOME", "/home/u", 1);
		assert_string_equal(conf_default_state_dir(),
		    "/home/u/.local/state/clusterip");
		unsetenv("XDG_STATE_HOME");
		assert_string_equal(conf_default_state_dir(),
		    "/home/u/.local/state/clusterip");
	}
	c = conf_new_defaults();
	assert_non_null(c);
	assert_string_equal(c->state_dir, conf_default_state_dir());
	assert_int_equal(conf_set(c, "state-dir", "/srv/cip", false, err,
	    sizeof(err)), 0);
	assert_string_equal(c->state_dir, "/srv/cip");
	assert_int_equal(conf_parse_buf(c, y, strlen(y), "c", err,
	    sizeof(err)), 0);
	assert_string_equal(c->state_dir, conf_default_state_dir());
	assert_int_equal(conf_set(c, "state-dir", "", false, err,
	    sizeof(err)), 0);
	assert_string_equal(c->state_dir, conf_default_state_dir());
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_then_flags),
		cmocka_unit_test(test_errors_have_positions),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_dns_allow_lists),
		cmocka_unit_test(test_state_dir_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
