/* SPDX-License-Identifier: MIT */
/* test_selector.c -- label sets and label selectors: parse, match, format. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "selector.h"
#include "util.h"

/* Builds a label set from "k=v" strings, NULL-terminated. */
static void
mklabels(struct labels *l, ...)
{
	va_list ap;
	const char *kv;
	char buf[256], *eq;

	l->v = NULL;
	l->n = 0;
	va_start(ap, l);
	while ((kv = va_arg(ap, const char *)) != NULL) {
		strlcpy(buf, kv, sizeof(buf));
		eq = strchr(buf, '=');
		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(labels_set(l, buf, eq + 1), 0);
	}
	va_end(ap);
}

static struct selector *
parse_ok(const char *text)
{
	struct selector *s = NULL;
	char err[256] = "";
	int rc;

	rc = selector_parse(text, &s, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse \"%s\": %s", text, err);
	assert_non_null(s);
	return s;
}

/* Parses text, expects ERR_INVAL and an error naming column col. */
static void
parse_bad(const char *text, size_t col)
{
	struct selector *s = (struct selector *)1;
	char err[256] = "", want[32];
	int rc;

	rc = selector_parse(text, &s, err, sizeof(err));
	if (rc != ERR_INVAL)
		fail_msg("parse \"%s\": rc %d, want ERR_INVAL", text, rc);
	assert_null(s);
	snprintf(want, sizeof(want), "column %zu: ", col);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("parse \"%s\": error \"%s\", want \"%s...\"", text,
		    err, want);
}

static bool
matches(const char *text, struct labels *l)
{
	struct selector *s = parse_ok(text);
	bool m = selector_match(s, l);

	selector_free(s);
	return m;
}

static void
assert_format(const char *text, const char *want)
{
	struct selector *s = parse_ok(text);
	char *f = selector_format(s);

	assert_non_null(f);
	if (strcmp(f, want) != 0)
		fail_msg("format of \"%s\": \"%s\", want \"%s\"", text, f, want);
	free(f);
	selector_free(s);
}

static void
test_labels_set_sorted(void **state)
{
	struct labels l, c;
	char *f;

	(void)state;
	mklabels(&l, "tier=web", "app=x", "name=backend", NULL);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].key, "app");
	assert_string_equal(l.v[1].key, "name");
	assert_string_equal(l.v[2].key, "tier");
	assert_int_equal(labels_set(&l, "app", "y"), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(labels_get(&l, "app"), "y");
	assert_string_equal(labels_get(&l, "tier"), "web");
	assert_null(labels_get(&l, "nope"));
	f = labels_format(&l);
	assert_string_equal(f, "app=y,name=backend,tier=web");
	free(f);

	assert_int_equal(labels_copy(&c, &l), 0);
	assert_true(labels_equal(&c, &l));
	assert_int_equal(labels_set(&c, "tier", "db"), 0);
	assert_false(labels_equal(&c, &l));
	assert_int_equal(labels_set(&c, "tier", "web"), 0);
	assert_true(labels_equal(&c, &l));
	assert_int_equal(labels_set(&c, "zz", ""), 0);
	assert_false(labels_equal(&c, &l));
	labels_clear(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.v);

	labels_clear(&l);
	f = labels_format(&l);
	assert_string_equal(f, "");
	free(f);
	assert_int_equal(labels_copy(&c, &l), 0);
	assert_int_equal(c.n, 0);
	labels_clear(&c);
}

static void
test_selector_match_eq(void **state)
{
	struct labels l;

	(void)state;
	mklabels(&l, "name=backend", "tier=web", NULL);
	assert_true(matches("name=backend", &l));
	assert_true(matches("name==backend", &l));
	assert_true(matches("  name =  backend ", &l));
	assert_true(matches("name=backend,tier=web", &l));
	assert_false(matches("name=front", &l));
	assert_false(matches("name=backend,tier=db", &l));
	assert_false(matches("other=backend", &l));
	assert_false(matches("name=", &l));
	labels_clear(&l);
}

static void
test_selector_match_neq(void **state)
{
	struct labels l;

	(void)state;
	mklabels(&l, "env=dev", NULL);
	assert_true(matches("env!=prod", &l));
	assert_false(matches("env!=dev", &l));
	/* Absent key: != matches, as in Kubernetes. */
	assert_true(matches("zone!=a", &l));
	assert_true(matches("env != prod", &l));
	labels_clear(&l);
}

static void
test_selector_match_in(void **state)
{
	struct labels l;

	(void)state;
	mklabels(&l, "tier=b", NULL);
	assert_true(matches("tier in (a,b)", &l));
	assert_true(matches("tier in ( a , b )", &l));
	assert_true(matches("tier in(b)", &l));
	assert_false(matches("tier in (a,c)", &l));
	assert_false(matches("zone in (a,b)", &l));
	labels_clear(&l);
}

static void
test_selector_match_notin(void **state)
{
	struct labels l;

	(void)state;
	mklabels(&l, "tier=b", NULL);
	assert_false(matches("tier notin (a,b)", &l));
	assert_true(matches("tier notin (a,c)", &l));
	/* Absent key: notin matches. */
	assert_true(matches("zone notin (a,b)", &l));
	labels_clear(&l);
}

static void
test_selector_match_exists(void **state)
{
	struct labels l;

	(void)state;
	mklabels(&l, "track=", "canary=true", NULL);
	assert_true(matches("track", &l));
	assert_true(matches("canary", &l));
	assert_false(matches("other", &l));
	assert_false(matches("!canary", &l));
	assert_false(matches("! canary", &l));
	assert_true(matches("!other", &l));
	labels_clear(&l);
}

static void
test_selector_match_combined(void **state)
{
	const char *sel = "name=backend,tier in (a,b),!canary,env!=prod,track";
	struct labels l;

	(void)state;
	mklabels(&l, "name=backend", "tier=a", "env=dev", "track=1", NULL);
	assert_true(matches(sel, &l));
	assert_int_equal(labels_set(&l, "canary", "x"), 0);
	assert_false(matches(sel, &l));
	labels_clear(&l);

	mklabels(&l, "name=backend", "tier=a", "env=prod", "track=1", NULL);
	assert_false(matches(sel, &l));
	labels_clear(&l);

	mklabels(&l, "name=backend", "tier=a", "track=1", NULL);
	assert_true(matches(sel, &l));
	labels_clear(&l);

	mklabels(&l, "name=backend", "tier=a", NULL);
	assert_false(matches(sel, &l));
	labels_clear(&l);
}

static void
test_selector_match_empty(void **state)
{
	struct selector *s;
	struct labels l;
	char *f;

	(void)state;
	mklabels(&l, "a=b", NULL);
	s = parse_ok("");
	assert_int_equal(s->nreqs, 0);
	assert_true(selector_match(s, &l));
	f = selector_format(s);
	assert_string_equal(f, "");
	free(f);
	selector_free(s);
	s = parse_ok(" \t\n ");
	assert_int_equal(s->nreqs, 0);
	labels_clear(&l);
	assert_true(selector_match(s, &l));
	selector_free(s);
	assert_true(selector_match(NULL, &l));
}

static void
test_selector_match_empty_values(void **state)
{
	struct labels l;

	(void)state;
	mklabels(&l, "a=", "b=x", NULL);
	assert_true(matches("a=", &l));
	assert_true(matches("a==,b=x", &l));
	assert_false(matches("b=", &l));
	assert_true(matches("a in ()", &l));
	assert_true(matches("b in (,x)", &l));
	assert_true(matches("a in (x,)", &l));
	assert_false(matches("b in ()", &l));
	assert_false(matches("a notin (,y)", &l));
	assert_true(matches("a!=x", &l));
	/* "c=" requires c present with the empty value. */
	assert_false(matches("c=", &l));
	labels_clear(&l);
}

static void
test_selector_parse_keys(void **state)
{
	struct labels l;

	(void)state;
	mklabels(&l, "app.kubernetes.io/name=web", "example.com/x_y.z=1",
	    NULL);
	assert_true(matches("app.kubernetes.io/name in (web)", &l));
	assert_true(matches("example.com/x_y.z=1", &l));
	assert_true(matches("!example.com/other", &l));
	/* Keywords are plain names outside the operator position. */
	assert_true(matches("in notin (in),notin!=in", &l));
	labels_clear(&l);
}

static void
test_selector_parse_invalid(void **state)
{
	char buf[400];

	(void)state;
	parse_bad("a=b,", 5);
	parse_bad(",a", 1);
	parse_bad("a,,b", 3);
	parse_bad("a b", 3);
	parse_bad("a in b", 6);
	parse_bad("a in", 5);
	parse_bad("a notin", 8);
	parse_bad("a in (b", 8);
	parse_bad("a in (b c)", 9);
	parse_bad("a in (b))", 9);
	parse_bad("a in (=)", 7);
	parse_bad("!a=b", 3);
	parse_bad("!", 2);
	parse_bad("!!a", 2);
	parse_bad("a>1", 2);
	parse_bad("a < 1", 3);
	parse_bad("a=b=c", 4);
	parse_bad("a = = b", 5);
	parse_bad("(a)", 1);
	parse_bad("=a", 1);
	parse_bad("-a=b", 1);
	parse_bad("a-=b", 1);
	parse_bad("a=-b", 3);
	parse_bad("a=b-", 3);
	parse_bad("a in (x,-y)", 9);
	parse_bad("a=b\x01", 3);
	parse_bad("k\xc3\xa9=v", 1);
	parse_bad("Example.com/a=b", 1);
	parse_bad("a/b/c=d", 1);
	parse_bad("/a", 1);
	parse_bad("a/", 1);
	parse_bad("ex..com/a", 1);
	parse_bad("-ex.com/a", 1);
	parse_bad("ex-.com/a", 1);
	parse_bad("x, y ,  z  w", 12);

	memset(buf, 'k', 64);
	buf[64] = '\0';
	parse_bad(buf, 1);
	buf[63] = '\0';
	selector_free(parse_ok(buf));
	snprintf(buf, sizeof(buf), "k=%064d", 0);
	parse_bad(buf, 3);
	snprintf(buf, sizeof(buf), "k=%063d", 0);
	selector_free(parse_ok(buf));
}

static void
test_selector_parse_null(void **state)
{
	struct selector *s = (struct selector *)1;
	char err[64];

	(void)state;
	assert_int_equal(selector_parse(NULL, &s, err, sizeof(err)),
	    ERR_INVAL);
	assert_null(s);
	/* A NULL error buffer is allowed. */
	assert_int_equal(selector_parse("a b", &s, NULL, 0), ERR_INVAL);
	assert_null(s);
}

static void
test_selector_valid_key(void **state)
{
	char buf[400];

	(void)state;
	assert_true(selector_valid_key("a"));
	assert_true(selector_valid_key("A.b_c-D9"));
	assert_true(selector_valid_key("a.b/c"));
	assert_true(selector_valid_key("1-2.x-y/Z"));
	assert_false(selector_valid_key(""));
	assert_false(selector_valid_key(NULL));
	assert_false(selector_valid_key("a_"));
	assert_false(selector_valid_key("_a"));
	assert_false(selector_valid_key("a b"));
	assert_false(selector_valid_key("A.b/c"));
	assert_false(selector_valid_key("a_b/c"));
	assert_false(selector_valid_key(".a/c"));
	assert_false(selector_valid_key("a./c"));

	/* Prefix: 253 characters at most. */
	memset(buf, 'p', 253);
	buf[253] = '/';
	buf[254] = 'n';
	buf[255] = '\0';
	for (size_t i = 50; i < 253; i += 50)
		buf[i] = '.';
	assert_true(selector_valid_key(buf));
	memmove(buf + 1, buf, 256);
	buf[0] = 'p';
	assert_false(selector_valid_key(buf));

	memset(buf, 'n', 63);
	buf[63] = '\0';
	assert_true(selector_valid_key(buf));
	assert_true(selector_valid_value(buf));
	buf[63] = 'n';
	buf[64] = '\0';
	assert_false(selector_valid_key(buf));
	assert_false(selector_valid_value(buf));

	assert_true(selector_valid_value(""));
	assert_true(selector_valid_value("a.b-c_d"));
	assert_false(selector_valid_value("a/b"));
	assert_false(selector_valid_value(".a"));
	assert_false(selector_valid_value(NULL));
}

static void
test_selector_add_arity(void **state)
{
	const char *one[] = { "x" }, *two[] = { "x", "y" }, *bad[] = { "-" };
	struct selector *s;
	char err[256];

	(void)state;
	s = selector_new();
	assert_non_null(s);
	assert_int_equal(selector_add(s, "k", SELECTOR_OP_EQ, NULL, 0, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(selector_add(s, "k", SELECTOR_OP_NEQ, two, 2, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(selector_add(s, "k", SELECTOR_OP_IN, NULL, 0, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(selector_add(s, "k", SELECTOR_OP_EXISTS, one, 1, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(selector_add(s, "k", SELECTOR_OP_NOTEXISTS, one, 1,
	    err, sizeof(err)), ERR_INVAL);
	assert_int_equal(selector_add(s, "k", (enum selector_op)99, NULL, 0,
	    err, sizeof(err)), ERR_INVAL);
	assert_int_equal(selector_add(s, "-k", SELECTOR_OP_EXISTS, NULL, 0,
	    err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "label key"));
	assert_int_equal(selector_add(s, "k", SELECTOR_OP_IN, bad, 1, err,
	    sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "label value"));
	assert_int_equal(s->nreqs, 0);

	assert_int_equal(selector_add(s, "k", SELECTOR_OP_NOTIN, two, 2, err,
	    sizeof(err)), 0);
	assert_int_equal(selector_add(s, "a", SELECTOR_OP_EQ, one, 1, err,
	    sizeof(err)), 0);
	assert_int_equal(s->nreqs, 2);
	assert_string_equal(s->reqs[0].key, "a");
	assert_int_equal(s->reqs[1].op, SELECTOR_OP_NOTIN);
	assert_int_equal(s->reqs[1].nvalues, 2);
	selector_free(s);
	selector_free(NULL);
}

static void
test_selector_format_canonical(void **state)
{
	(void)state;
	assert_format("name==backend", "name=backend");
	assert_format(" tier in (b, a, a) , name = x , ! c ",
	    "!c,name=x,tier in (a,b)");
	assert_format("a notin (z,,y)", "a notin (,y,z)");
	assert_format("a in ()", "a in ()");
	assert_format("x,x,x=1,x=1", "x=1,x");
	assert_format("b!=,a=", "a=,b!=");
	assert_format("name=backend,tier in (a,b),!canary,env!=prod,track",
	    "!canary,env!=prod,name=backend,tier in (a,b),track");
}

static void
test_selector_format_roundtrip(void **state)
{
	static const char *const inputs[] = {
		"",
		"a",
		"!a",
		"a=b",
		"a==",
		"a!=b",
		"a in (b)",
		"a in (,)",
		"a notin (c,b,a)",
		"name=backend,tier in (a,b),!canary,env!=prod,track",
		"example.com/a in (x, y),app.kubernetes.io/name=web,z!=0",
		"k=v,k!=w,k in (v),k notin (w),k,!j",
	};
	struct selector *s, *t;
	char *f, *g;
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(inputs); i++) {
		s = parse_ok(inputs[i]);
		f = selector_format(s);
		assert_non_null(f);
		t = parse_ok(f);
		assert_true(selector_equal(s, t));
		g = selector_format(t);
		assert_string_equal(f, g);
		free(f);
		free(g);
		selector_free(t);
		t = selector_copy(s);
		assert_non_null(t);
		assert_true(selector_equal(s, t));
		selector_free(t);
		selector_free(s);
	}
}

static void
test_selector_equal_order(void **state)
{
	struct selector *a, *b;

	(void)state;
	a = parse_ok("a=1,b in (x,y)");
	b = parse_ok("b in (y,x,y) , a==1");
	assert_true(selector_equal(a, b));
	selector_free(b);
	b = parse_ok("a=1,b in (x)");
	assert_false(selector_equal(a, b));
	selector_free(b);
	b = parse_ok("a=1,b notin (x,y)");
	assert_false(selector_equal(a, b));
	selector_free(b);
	b = parse_ok("a=1");
	assert_false(selector_equal(a, b));
	selector_free(b);
	selector_free(a);

	a = parse_ok("");
	assert_true(selector_equal(a, NULL));
	assert_true(selector_equal(NULL, a));
	b = parse_ok("a");
	assert_false(selector_equal(b, NULL));
	selector_free(b);
	selector_free(a);
	a = selector_copy(NULL);
	assert_non_null(a);
	assert_int_equal(a->nreqs, 0);
	selector_free(a);
}

static void
test_selector_is_map(void **state)
{
	struct selector *s;

	(void)state;
	s = parse_ok("name=backend,tier=web");
	assert_true(selector_is_map(s));
	selector_free(s);
	s = parse_ok("");
	assert_true(selector_is_map(s));
	selector_free(s);
	s = parse_ok("name=backend,tier!=web");
	assert_false(selector_is_map(s));
	selector_free(s);
	s = parse_ok("a in (x)");
	assert_false(selector_is_map(s));
	selector_free(s);
	/* Two values for one key cannot come from a map. */
	s = parse_ok("a=x,a=y");
	assert_false(selector_is_map(s));
	selector_free(s);
}

/*
 * Every prefix of a valid selector either parses to a selector whose
 * canonical form reads back equal, or fails cleanly with a column.
 */
static void
test_selector_parse_truncated(void **state)
{
	static const char *const inputs[] = {
		"name=backend,tier in (a,b),!canary,env!=prod,track",
		" a == b , c notin ( d , e ) , ! f , g != h ",
		"example.com/app in (web,db),x=,y in (,)",
	};
	struct selector *s, *t;
	char err[256], *buf, *f;
	size_t i, n, len;
	int rc, nok = 0, nbad = 0;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(inputs); i++) {
		len = strlen(inputs[i]);
		for (n = 0; n <= len; n++) {
			/* An exact-size copy, so ASan sees overreads. */
			buf = malloc(n + 1);
			assert_non_null(buf);
			memcpy(buf, inputs[i], n);
			buf[n] = '\0';
			err[0] = '\0';
			s = (struct selector *)1;
			rc = selector_parse(buf, &s, err, sizeof(err));
			if (rc == 0) {
				nok++;
				f = selector_format(s);
				assert_non_null(f);
				t = parse_ok(f);
				assert_true(selector_equal(s, t));
				selector_free(t);
				free(f);
				selector_free(s);
			} else {
				nbad++;
				assert_int_equal(rc, ERR_INVAL);
				assert_null(s);
				assert_memory_equal(err, "column ", 7);
			}
			free(buf);
		}
	}
	assert_true(nok > 10);
	assert_true(nbad > 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels_set_sorted),
		cmocka_unit_test(test_selector_match_eq),
		cmocka_unit_test(test_selector_match_neq),
		cmocka_unit_test(test_selector_match_in),
		cmocka_unit_test(test_selector_match_notin),
		cmocka_unit_test(test_selector_match_exists),
		cmocka_unit_test(test_selector_match_combined),
		cmocka_unit_test(test_selector_match_empty),
		cmocka_unit_test(test_selector_match_empty_values),
		cmocka_unit_test(test_selector_parse_keys),
		cmocka_unit_test(test_selector_parse_invalid),
		cmocka_unit_test(test_selector_parse_null),
		cmocka_unit_test(test_selector_valid_key),
		cmocka_unit_test(test_selector_add_arity),
		cmocka_unit_test(test_selector_format_canonical),
		cmocka_unit_test(test_selector_format_roundtrip),
		cmocka_unit_test(test_selector_equal_order),
		cmocka_unit_test(test_selector_is_map),
		cmocka_unit_test(test_selector_parse_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
