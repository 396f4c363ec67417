/* SPDX-License-Identifier: MIT */
/* test_validate.c -- Kubernetes' name rules: labels, subdomains, port names, label names. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "validate.h"

#define OK(f, s)	assert_true(f((s), strlen(s)))
#define BAD(f, s)	assert_false(f((s), strlen(s)))

static const char l63[] =
    "a23456789012345678901234567890123456789012345678901234567890123";
static const char l64[] =
    "a234567890123456789012345678901234567890123456789012345678901234";

static void
test_validate_dns_label(void **state)
{
	(void)state;
	OK(validate_dns_label, "a");
	OK(validate_dns_label, "backend-1");
	OK(validate_dns_label, "0abc");
	OK(validate_dns_label, l63);
	BAD(validate_dns_label, l64);
	BAD(validate_dns_label, "");
	BAD(validate_dns_label, "-a");
	BAD(validate_dns_label, "a-");
	BAD(validate_dns_label, "A");
	BAD(validate_dns_label, "a_b");
	BAD(validate_dns_label, "a.b");
	/* the length given, not the NUL, ends it */
	assert_true(validate_dns_label("ab-", 2));
	assert_false(validate_dns_label("ab", 0));
	/* a Service name starts with a letter */
	OK(validate_dns1035_label, "web-1");
	BAD(validate_dns1035_label, "1web");
	BAD(validate_dns1035_label, "");
}

static void
test_validate_dns_subdomain(void **state)
{
	char s[300];

	(void)state;
	OK(validate_dns_subdomain, "a");
	OK(validate_dns_subdomain, "a.b-c.d");
	OK(validate_dns_subdomain, "example.com");
	BAD(validate_dns_subdomain, "");
	BAD(validate_dns_subdomain, "a..b");
	BAD(validate_dns_subdomain, ".a");
	BAD(validate_dns_subdomain, "a.");
	BAD(validate_dns_subdomain, "a.-b");
	BAD(validate_dns_subdomain, "A.b");
	/* 253 at most */
	memset(s, 'a', sizeof(s));
	s[63] = s[127] = s[191] = '.';
	s[253] = '\0';
	OK(validate_dns_subdomain, s);
	s[253] = 'a';
	s[254] = '\0';
	BAD(validate_dns_subdomain, s);
}

static void
test_validate_port_name(void **state)
{
	(void)state;
	OK(validate_port_name, "http");
	OK(validate_port_name, "h2c");
	OK(validate_port_name, "metrics-9100");
	OK(validate_port_name, "a23456789012345");
	BAD(validate_port_name, "a234567890123456");
	BAD(validate_port_name, "8080");
	BAD(validate_port_name, "");
	BAD(validate_port_name, "-http");
	BAD(validate_port_name, "http-");
	BAD(validate_port_name, "my--port");
	BAD(validate_port_name, "Http");
	BAD(validate_port_name, "h_p");
}

static void
test_validate_label_name(void **state)
{
	(void)state;
	OK(validate_label_name, "name");
	OK(validate_label_name, "app.kubernetes.io");
	OK(validate_label_name, "My_Label-1");
	OK(validate_label_name, "x");
	OK(validate_label_name, l63);
	BAD(validate_label_name, l64);
	BAD(validate_label_name, "");
	BAD(validate_label_name, "-a");
	BAD(validate_label_name, "a_");
	BAD(validate_label_name, "a b");
	BAD(validate_label_name, "a/b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_dns_label),
		cmocka_unit_test(test_validate_dns_subdomain),
		cmocka_unit_test(test_validate_port_name),
		cmocka_unit_test(test_validate_label_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
