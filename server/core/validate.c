/* SPDX-License-Identifier: MIT */
/* validate.c -- Kubernetes' name rules, once. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "validate.h"

static bool
v_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool
v_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
v_alnum(char c)
{
	return v_lower(c) || v_digit(c) || (c >= 'A' && c <= 'Z');
}

bool
validate_dns_label(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!v_lower(s[i]) && !v_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool
validate_dns1035_label(const char *s, size_t len)
{
	return len > 0 && v_lower(s[0]) && validate_dns_label(s, len);
}

bool
validate_dns_subdomain(const char *s, size_t len)
{
	size_t i, start = 0;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!validate_dns_label(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

bool
validate_port_name(const char *s, size_t len)
{
	bool letter = false;
	size_t i;

	if (len == 0 || len > 15 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		if (v_lower(s[i]))
			letter = true;
		else if (s[i] == '-') {
			if (s[i - 1] == '-')
				return false;
		} else if (!v_digit(s[i]))
			return false;
	}
	return letter;
}

bool
validate_label_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || !v_alnum(s[0]) || !v_alnum(s[len - 1]))
		return false;
	for (i = 1; i + 1 < len; i++)
		if (!v_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return false;
	return true;
}
