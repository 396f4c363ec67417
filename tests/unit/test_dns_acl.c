/* SPDX-License-Identifier: MIT */
/* test_dns_acl.c -- dns-allow: CIDR parsing, edge prefixes, client matching. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns_acl.h"
#include "util.h"

/* A client address as the listener would see it. */
static const struct sockaddr *
client(const char *text)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)&ss;
}

/* An acl of the given entries, which must parse. */
static struct dns_acl *
acl_of(char *const *v, size_t n, const char *vip)
{
	struct dns_acl *acl;
	char err[256];

	acl = dns_acl_new(v, n, vip, NULL, err, sizeof(err));
	if (acl == NULL)
		fail_msg("dns_acl_new: %s", err);
	return acl;
}

static void
test_dns_acl_parse_ok(void **state)
{
	struct dns_acl_entry e;
	char err[256];

	(void)state;
	assert_int_equal(dns_acl_parse("10.0.0.0/8", &e, err, sizeof(err)), 0);
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(e.prefix, 8);
	assert_int_equal(e.addr[0], 10);
	assert_int_equal(dns_acl_parse("192.0.2.7", &e, err, sizeof(err)), 0);
	assert_int_equal(e.prefix, 32);
	assert_int_equal(dns_acl_parse("fc00::/7", &e, err, sizeof(err)), 0);
	assert_int_equal(e.family, AF_INET6);
	assert_int_equal(e.prefix, 7);
	assert_int_equal(dns_acl_parse("::1", &e, err, sizeof(err)), 0);
	assert_int_equal(e.family, AF_INET6);
	assert_int_equal(e.prefix, 128);
	assert_int_equal(dns_acl_parse("0.0.0.0/0", &e, err, sizeof(err)), 0);
	assert_int_equal(e.prefix, 0);
	assert_int_equal(dns_acl_parse("::/0", &e, err, sizeof(err)), 0);
	assert_int_equal(e.family, AF_INET6);
	assert_int_equal(e.prefix, 0);
	/* An IPv4-mapped entry is the IPv4 one. */
	assert_int_equal(dns_acl_parse("::ffff:10.1.0.0/112", &e, err,
	    sizeof(err)), 0);
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(e.prefix, 16);
	assert_int_equal(e.addr[0], 10);
	assert_int_equal(e.addr[1], 1);
}

static void
test_dns_acl_parse_bad(void **state)
{
	static const char *bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33",
	    "::/129", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
	    "10.0.0.0/0008", "10.0.0/8", "10.0.0.256/32", "example.com",
	    "10.0.0.0 /8", " 10.0.0.0/8", "fe80::1%lo/128", "10.0.0.1/8",
	    "fe80::1/10", "1.2.3.4/24", "10.0.0.0/8/8", "vip-range" };
	struct dns_acl_entry e;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		if (dns_acl_parse(bad[i], &e, err, sizeof(err)) != ERR_INVAL)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(dns_acl_parse(NULL, &e, err, sizeof(err)),
	    ERR_INVAL);
	/* The messages say what is wrong, and what was likely meant. */
	dns_acl_parse("10.0.0.1/8", &e, err, sizeof(err));
	assert_non_null(strstr(err, "10.0.0.0/8?"));
	dns_acl_parse("10.0.0.0/33", &e, err, sizeof(err));
	assert_non_null(strstr(err, "longer than IPv4's /32"));
	dns_acl_parse("nope", &e, err, sizeof(err));
	assert_non_null(strstr(err, "not an IPv4 or IPv6 CIDR"));
}

/* Every cut of a good entry is refused or parses: never a crash. */
static void
test_dns_acl_parse_truncated(void **state)
{
	static const char *good[] = { "172.16.0.0/12", "2001:db8::/32",
	    "::ffff:192.168.0.0/112" };
	struct dns_acl_entry e;
	char buf[64], err[256];
	size_t i, l;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(good); i++) {
		for (l = 0; l <= strlen(good[i]); l++) {
			memcpy(buf, good[i], l);
			buf[l] = '\0';
			err[0] = '\0';
			if (dns_acl_parse(buf, &e, err, sizeof(err)) != 0)
				assert_true(strlen(err) > 0);
		}
		assert_int_equal(dns_acl_parse(good[i], &e, err, sizeof(err)),
		    0);
	}
}

static void
test_dns_acl_match_prefixes(void **state)
{
	char *v[] = { "10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32",
	    "2001:db8:1::5/128", "172.16.0.0/12" };
	struct dns_acl *acl = acl_of(v, CIP_ARRAY_LEN(v), NULL);

	(void)state;
	assert_true(dns_acl_match(acl, client("10.0.0.0")));
	assert_true(dns_acl_match(acl, client("10.255.255.255")));
	assert_false(dns_acl_match(acl, client("11.0.0.0")));
	assert_false(dns_acl_match(acl, client("9.255.255.255")));
	assert_true(dns_acl_match(acl, client("192.0.2.7")));
	assert_false(dns_acl_match(acl, client("192.0.2.6")));
	assert_false(dns_acl_match(acl, client("192.0.2.8")));
	assert_true(dns_acl_match(acl, client("172.31.255.1")));
	assert_false(dns_acl_match(acl, client("172.32.0.1")));
	assert_false(dns_acl_match(acl, client("172.15.255.255")));
	assert_true(dns_acl_match(acl, client("2001:db8:ffff::1")));
	assert_false(dns_acl_match(acl, client("2001:db9::1")));
	assert_true(dns_acl_match(acl, client("2001:db8:1::5")));
	/* IPv4-mapped clients match the IPv4 entries, and only those. */
	assert_true(dns_acl_match(acl, client("::ffff:10.1.2.3")));
	assert_false(dns_acl_match(acl, client("::ffff:11.1.2.3")));
	assert_false(dns_acl_match(acl, client("::10.1.2.3")));
	dns_acl_free(acl);
}

static void
test_dns_acl_match_all_and_none(void **state)
{
	char *v4all[] = { "0.0.0.0/0" }, *v6all[] = { "::/0" };
	char *mapped[] = { "::ffff:127.0.0.0/104" };
	struct dns_acl *acl;
	struct sockaddr sa;
	char err[64];

	(void)state;
	acl = acl_of(v4all, 1, NULL);
	assert_true(dns_acl_match(acl, client("0.0.0.0")));
	assert_true(dns_acl_match(acl, client("255.255.255.255")));
	assert_true(dns_acl_match(acl, client("::ffff:203.0.113.1")));
	assert_false(dns_acl_match(acl, client("2001:db8::1")));
	dns_acl_free(acl);

	/* ::/0 is every IPv6 client; IPv4 ones (mapped or not) are not. */
	acl = acl_of(v6all, 1, NULL);
	assert_true(dns_acl_match(acl, client("::")));
	assert_true(dns_acl_match(acl, client("ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff")));
	assert_false(dns_acl_match(acl, client("198.51.100.1")));
	assert_false(dns_acl_match(acl, client("::ffff:198.51.100.1")));
	dns_acl_free(acl);

	acl = acl_of(mapped, 1, NULL);
	assert_true(dns_acl_match(acl, client("127.0.0.1")));
	assert_true(dns_acl_match(acl, client("::ffff:127.1.2.3")));
	assert_false(dns_acl_match(acl, client("128.0.0.1")));
	dns_acl_free(acl);

	/* An empty list matches nobody; so do a NULL one and odd families. */
	acl = dns_acl_new(NULL, 0, "127.96.0.0/16", NULL, err, sizeof(err));
	assert_non_null(acl);
	assert_false(dns_acl_match(acl, client("127.0.0.1")));
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_false(dns_acl_match(acl, &sa));
	assert_false(dns_acl_match(NULL, client("127.0.0.1")));
	assert_false(dns_acl_match(acl, NULL));
	dns_acl_free(acl);
	dns_acl_free(NULL);
}

static void
test_dns_acl_new_vip_range(void **state)
{
	char *v[] = { "::1/128", DNS_ACL_VIP_RANGE };
	char *bad[] = { "10.0.0.0/8", "11.0.0.0/7" };
	struct dns_acl *acl;
	char err[256];

	(void)state;
	/* The range stands for itself, its host bits masked. */
	acl = acl_of(v, CIP_ARRAY_LEN(v), "10.96.3.0/12");
	assert_true(dns_acl_match(acl, client("10.100.0.1")));
	assert_true(dns_acl_match(acl, client("::1")));
	assert_false(dns_acl_match(acl, client("10.112.0.1")));
	assert_false(dns_acl_match(acl, client("127.0.0.1")));
	dns_acl_free(acl);
	/* No range: the entry stands for nothing. */
	acl = acl_of(v, CIP_ARRAY_LEN(v), NULL);
	assert_false(dns_acl_match(acl, client("10.100.0.1")));
	dns_acl_free(acl);
	err[0] = '\0';
	assert_null(dns_acl_new(v, CIP_ARRAY_LEN(v), "nope", NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "nope"));
	assert_null(dns_acl_new(bad, CIP_ARRAY_LEN(bad), NULL, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "\"11.0.0.0/7\""));
	assert_non_null(strstr(err, "(10.0.0.0/7?)"));
	/* With an IPv6 range too, the entry stands for both. */
	acl = dns_acl_new(v, CIP_ARRAY_LEN(v), "10.96.0.0/16", "fd00:96::/112",
	    err, sizeof(err));
	assert_non_null(acl);
	assert_true(dns_acl_match(acl, client("10.96.0.1")));
	assert_true(dns_acl_match(acl, client("fd00:96::5")));
	assert_false(dns_acl_match(acl, client("fd00:97::5")));
	dns_acl_free(acl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_acl_parse_ok),
		cmocka_unit_test(test_dns_acl_parse_bad),
		cmocka_unit_test(test_dns_acl_parse_truncated),
		cmocka_unit_test(test_dns_acl_match_prefixes),
		cmocka_unit_test(test_dns_acl_match_all_and_none),
		cmocka_unit_test(test_dns_acl_new_vip_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
