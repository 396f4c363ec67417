/* SPDX-License-Identifier: MIT */
/*
 * test_api.c -- the control API's routes, name checks, token compare and
 * the request guard (framing and limits on the raw input).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "util.h"
#include "api.h"
#include "api_internal.h"
#include "conf.h"

static void
test_route_match_known(void **state)
{
	static const struct {
		const char		*path;
		enum api_route_id	 id;
		const char		*ns;
		const char		*name;
		unsigned		 methods;
	} cases[] = {
		{ "/healthz", API_R_HEALTHZ, "", "", API_M_GET | API_M_HEAD },
		{ "/readyz", API_R_READYZ, "", "", API_M_GET | API_M_HEAD },
		{ "/version", API_R_VERSION, "", "", API_M_GET | API_M_HEAD },
		{ "/version/", API_R_VERSION, "", "", API_M_GET | API_M_HEAD },
		{ "/metrics", API_R_METRICS, "", "", API_M_GET | API_M_HEAD },
		{ "/v1/apply", API_R_APPLY, "", "", API_M_POST },
		{ "/v1/services", API_R_SERVICES, "", "",
		    API_M_GET | API_M_HEAD },
		{ "/v1/services/", API_R_SERVICES, "", "",
		    API_M_GET | API_M_HEAD },
		{ "/v1/services/kube-system", API_R_SERVICES, "kube-system", "",
		    API_M_GET | API_M_HEAD },
		{ "/v1/services/default/backend", API_R_SERVICE, "default",
		    "backend", API_M_GET | API_M_HEAD | API_M_DELETE },
		{ "/v1/pods", API_R_PODS, "", "", API_M_GET | API_M_HEAD },
		{ "/v1/pods/default/web.1", API_R_POD, "default", "web.1",
		    API_M_GET | API_M_HEAD | API_M_PUT | API_M_DELETE },
		{ "/v1/pods/default/web-1/heartbeat", API_R_HEARTBEAT,
		    "default", "web-1", API_M_POST },
		{ "/v1/endpoints", API_R_ENDPOINTS_LIST, "", "",
		    API_M_GET | API_M_HEAD },
		{ "/v1/endpoints/default/backend", API_R_ENDPOINTS, "default",
		    "backend", API_M_GET | API_M_HEAD },
	};
	struct api_route r;
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(cases); i++) {
		api_route_match(cases[i].path, &r);
		if (r.id != cases[i].id)
			fail_msg("%s: route %d, want %d", cases[i].path, r.id,
			    cases[i].id);
		assert_null(r.bad);
		assert_string_equal(r.ns, cases[i].ns);
		assert_string_equal(r.name, cases[i].name);
		assert_int_equal(r.methods, cases[i].methods);
	}
}

static void
test_route_match_unknown(void **state)
{
	static const char *const paths[] = {
		"/", "", "/v1", "/v2/services", "/v1/apply/x", "/v1/nodes",
		"/v1/services/default/backend/heartbeat",
		"/v1/pods/default/web/renew", "/v1/pods/a/b/heartbeat/x",
		"/healthz/x", "/version/x", "/v1/version", "/v1//services", "/v1/services//backend",
		"/metricsx", "/V1/services",
	};
	struct api_route r;
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(paths); i++) {
		api_route_match(paths[i], &r);
		if (r.id != API_R_NONE)
			fail_msg("%s matched route %d", paths[i], r.id);
	}
}

static void
test_route_bad_names(void **state)
{
	char longname[400];
	struct api_route r;

	(void)state;
	api_route_match("/v1/services/Default/backend", &r);
	assert_int_equal(r.id, API_R_SERVICE);
	assert_string_equal(r.bad, "invalid namespace");
	api_route_match("/v1/services/default/back.end", &r);
	assert_string_equal(r.bad, "invalid name");
	api_route_match("/v1/pods/default/back%20end", &r);
	assert_string_equal(r.bad, "invalid name");
	api_route_match("/v1/pods/default/-x", &r);
	assert_string_equal(r.bad, "invalid name");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "/v1/pods/default/", 17);
	api_route_match(longname, &r);
	assert_int_equal(r.id, API_R_POD);
	assert_string_equal(r.bad, "invalid name");
}


static void
test_allow_header(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(api_route_allow(API_M_GET | API_M_HEAD |
	    API_M_DELETE, buf, sizeof(buf)), "GET, HEAD, DELETE");
	assert_string_equal(api_route_allow(API_M_POST, buf, sizeof(buf)),
	    "POST");
	assert_string_equal(api_route_allow(0, buf, sizeof(buf)), "");
}

static void
test_auth(void **state)
{
	(void)state;
	assert_true(api_auth_ok(NULL, NULL));
	assert_true(api_auth_ok("anything", NULL));
	assert_true(api_auth_ok("Bearer s3cret", "s3cret"));
	assert_false(api_auth_ok(NULL, "s3cret"));
	assert_false(api_auth_ok("", "s3cret"));
	assert_false(api_auth_ok("Bearer ", "s3cret"));
	assert_false(api_auth_ok("Bearer s3cre", "s3cret"));
	assert_false(api_auth_ok("Bearer s3cretX", "s3cret"));
	assert_false(api_auth_ok("Bearer S3cret", "s3cret"));
	assert_false(api_auth_ok("Basic s3cret", "s3cret"));
	assert_false(api_auth_ok("bearer s3cret", "s3cret"));
	/* A NUL-padded token must not match a shorter one. */
	assert_false(api_auth_ok("Bearer s3cret\xff", "s3cret"));
}

/*
 * Feeds in to a guard step bytes at a time, as a socket would deliver it,
 * nothing consuming; returns what evhttp would see (NUL-terminated, caller
 * frees) and leaves the guard in *g.
 */
static char *
guard_run(struct api_guard *g, uint64_t max_body, const char *in,
    size_t len, size_t step)
{
	struct evbuffer *buf = evbuffer_new();
	size_t off, n, outlen;
	char *out;

	assert_non_null(buf);
	api_guard_init(g, API_MAX_HEADERS_SIZE, 20, max_body);
	for (off = 0; off < len; off += n) {
		n = MINIMUM(step, len - off);
		assert_int_equal(evbuffer_add(buf, in + off, n), 0);
		api_guard_feed(g, buf);
	}
	outlen = evbuffer_get_length(buf);
	out = malloc(outlen + 1);
	assert_non_null(out);
	evbuffer_remove(buf, out, outlen);
	out[outlen] = '\0';
	evbuffer_free(buf);
	return out;
}

/* Every way of cutting in into arrivals gives want and status. */
static void
guard_expect(const char *in, uint64_t max_body, const char *want,
    int status, enum api_guard_phase phase)
{
	struct evbuffer *buf;
	struct api_guard g;
	size_t len = strlen(in), step;
	char why[256], *out;
	bool close;

	for (step = 1; step <= len; step++) {
		out = guard_run(&g, max_body, in, len, step);
		if (strcmp(out, want) != 0)
			fail_msg("step %zu: got\n%s\nwant\n%s", step, out, want);
		assert_int_equal(g.phase, phase);
		free(out);
		buf = evbuffer_new();
		assert_int_equal(api_guard_verdict(&g, buf, why, sizeof(why),
		    &close), status);
		evbuffer_free(buf);
	}
}

static void
test_guard_passes_plain_requests(void **state)
{
	(void)state;
	guard_expect("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 100,
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 0, API_GUARD_P_WAIT);
	/* Framing lines move to the end of the head, in canonical form. */
	guard_expect("POST /v1/apply HTTP/1.1\r\ncontent-length:  5 \r\n"
	    "Host: x\r\n\r\nhello", 100,
	    "POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
	    "hello", 0, API_GUARD_P_WAIT);
	/* Seven-letter methods may have a body too, as in evhttp. */
	guard_expect("OPTIONS / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", 100,
	    "OPTIONS / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", 0,
	    API_GUARD_P_WAIT);
	/* HEAD has no body whatever it says: the bytes after are not its. */
	guard_expect("HEAD / HTTP/1.1\r\nContent-Length: 500\r\n\r\nGET", 100,
	    "HEAD / HTTP/1.1\r\n\r\nGET", 0, API_GUARD_P_WAIT);
	/* Chunks within the limit pass; trailers are dropped. */
	guard_expect("PUT /p HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "\r\n5\r\nhello\r\n5 \r\nworld\r\n0\r\nX-T: 1\r\n\r\n", 10,
	    "PUT /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n5 \r\nworld\r\n0\r\n\r\n", 0, API_GUARD_P_WAIT);
}

static void
test_guard_refuses_large_bodies(void **state)
{
	(void)state;
	/* evhttp sees no body; the body is dropped, not held. */
	guard_expect("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"
	    "hello world", 10, "POST / HTTP/1.1\r\n\r\n", 413,
	    API_GUARD_P_WAIT);
	/* The chunk that would pass the limit ends the body early. */
	guard_expect("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6\r\n world\r\n0\r\nX: y\r\n\r\n", 10,
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\n", 413, API_GUARD_P_WAIT);
}

static void
test_guard_refuses_bad_heads(void **state)
{
	char in[4096];
	size_t i, n;

	(void)state;
	/* Conflicting framing: evhttp's rules, answered 400, then closed. */
	guard_expect("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding:"
	    " chunked\r\n\r\n0\r\n\r\n", 10, "POST / HTTP/1.1\r\n\r\n", 400,
	    API_GUARD_P_SKIP);
	guard_expect("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length:"
	    " 1\r\n\r\na", 10, "POST / HTTP/1.1\r\n\r\n", 400,
	    API_GUARD_P_SKIP);
	guard_expect("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n"
	    "\r\n", 10, "POST / HTTP/1.1\r\n\r\n", 400, API_GUARD_P_SKIP);
	guard_expect("POST / HTTP/1.1\r\nContent-Length: 1\r\n 2\r\n\r\nab",
	    10, "POST / HTTP/1.1\r\n\r\n", 400, API_GUARD_P_SKIP);
	guard_expect("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5x\r\nhello\r\n0\r\n\r\n", 10, "POST / HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
	    API_GUARD_P_SKIP);
	/* What evhttp would answer with an HTML page is answered here. */
	guard_expect("FOO / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", 10,
	    "GET / HTTP/1.1\r\n\r\n", 501, API_GUARD_P_SKIP);
	guard_expect("CONNECT h:1 HTTP/1.1\r\n\r\n", 10,
	    "GET / HTTP/1.1\r\n\r\n", 501, API_GUARD_P_SKIP);
	guard_expect("GET /\r\n\r\n", 10, "GET / HTTP/1.1\r\n\r\n", 400,
	    API_GUARD_P_SKIP);
	guard_expect("GET / HTTP/2.0\r\n\r\n", 10, "GET / HTTP/1.1\r\n\r\n",
	    400, API_GUARD_P_SKIP);
	guard_expect("GET / HTTP/1.1\r\nNo colon\r\nA: b\r\n\r\n", 10,
	    "GET / HTTP/1.1\r\n\r\n", 400, API_GUARD_P_SKIP);
	guard_expect("GET / HTTP/1.1\r\n folded first\r\n\r\n", 10,
	    "GET / HTTP/1.1\r\n\r\n", 400, API_GUARD_P_SKIP);
	guard_expect("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 10,
	    "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 0,
	    API_GUARD_P_WAIT);
	guard_expect("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 10,
	    "GET / HTTP/1.1\r\n\r\n", 400, API_GUARD_P_SKIP);
	guard_expect("POST / HTTP/1.1\r\nExpect: tea\r\nContent-Length: 2\r\n"
	    "\r\nhi", 10, "POST / HTTP/1.1\r\nExpect: tea\r\n\r\n", 417,
	    API_GUARD_P_SKIP);
	guard_expect("POST / HTTP/1.0\r\nExpect: tea\r\nContent-Length: 2\r\n"
	    "\r\nhi", 10, "POST / HTTP/1.0\r\nExpect: tea\r\n"
	    "Content-Length: 2\r\n\r\nhi", 0, API_GUARD_P_WAIT);
	/* evhttp folds the line into the Expect: no longer 100-continue. */
	guard_expect("POST / HTTP/1.1\r\nExpect: 100-continue\r\n x\r\n"
	    "Content-Length: 2\r\n\r\nhi", 10, "POST / HTTP/1.1\r\n"
	    "Expect: 100-continue\r\n x\r\n\r\n", 417, API_GUARD_P_SKIP);
	/* Header line 21 (of a limit of 20) ends the head: 431. */
	n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n");
	for (i = 0; i < 25; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "X-%zu: v\r\n", i);
	snprintf(in + n, sizeof(in) - n, "\r\n");
	n = (size_t)snprintf(in + 2048, sizeof(in) - 2048, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 20; i++)
		n += (size_t)snprintf(in + 2048 + n, sizeof(in) - 2048 - n,
		    "X-%zu: v\r\n", i);
	snprintf(in + 2048 + n, sizeof(in) - 2048 - n, "\r\n");
	guard_expect(in, 10, in + 2048, 431, API_GUARD_P_SKIP);
}

/* The next pipelined request waits for the handler of the one before. */
static void
test_guard_pipelining(void **state)
{
	static const char in[] = "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"
	    "hello world" "GET /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
	struct evbuffer *buf = evbuffer_new();
	struct api_guard g;
	char why[256], out[128];
	bool close;
	size_t n;

	(void)state;
	api_guard_init(&g, API_MAX_HEADERS_SIZE, 20, 10);
	evbuffer_add(buf, in, strlen(in));
	api_guard_feed(&g, buf);
	/* evhttp reads the refused request's head, its handler runs. */
	n = strlen("POST / HTTP/1.1\r\n\r\n");
	evbuffer_drain(buf, n);
	api_guard_consumed(&g, n);
	assert_int_equal(api_guard_verdict(&g, buf, why, sizeof(why), &close),
	    413);
	assert_false(close);
	assert_string_equal(why, "request body of 11 bytes exceeds the limit "
	    "of 10 bytes");
	/* The next request was guarded at once. */
	n = evbuffer_get_length(buf);
	assert_true(n < sizeof(out));
	evbuffer_remove(buf, out, n);
	out[n] = '\0';
	assert_string_equal(out, "GET /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n"
	    "hi");
	api_guard_consumed(&g, n);
	assert_int_equal(api_guard_verdict(&g, buf, why, sizeof(why), &close),
	    0);
	/* The body still coming after the handler ran is dropped too. */
	evbuffer_add(buf, "POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123",
	    strlen("POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123"));
	api_guard_feed(&g, buf);
	n = evbuffer_get_length(buf);
	evbuffer_drain(buf, n);
	api_guard_consumed(&g, n);
	assert_int_equal(api_guard_verdict(&g, buf, why, sizeof(why), &close),
	    413);
	evbuffer_add(buf, "456789abcdefghijGET / HTTP/1.1\r\n\r\n",
	    strlen("456789abcdefghijGET / HTTP/1.1\r\n\r\n"));
	api_guard_feed(&g, buf);
	n = evbuffer_get_length(buf);
	evbuffer_remove(buf, out, n);
	out[n] = '\0';
	assert_string_equal(out, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(g.phase, API_GUARD_P_WAIT);
	evbuffer_free(buf);
}

/*
 * The rules api_init and --check-config share: a non-loopback address
 * needs a token file or api-insecure; the token file must read.
 */
static void
test_check_conf(void **state)
{
	struct cip_conf *c = conf_new_defaults();
	char err[512], tok[] = "/tmp/cip-test-token.XXXXXX";
	int fd;

	assert_non_null(c);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), 0);
	assert_int_equal(conf_set(c, "api-listen", "[::1]:9901", false, err,
	    sizeof(err)), 0);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), 0);
	assert_int_equal(conf_set(c, "api-listen", "192.0.2.1:9901", false,
	    err, sizeof(err)), 0);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refusing to listen on non-loopback"));
	assert_int_equal(conf_set(c, "api-insecure", "true", false, err,
	    sizeof(err)), 0);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), 0);
	assert_int_equal(conf_set(c, "api-insecure", "false", false, err,
	    sizeof(err)), 0);
	/* An empty token file, then one with a token. */
	assert_true((fd = mkstemp(tok)) >= 0);
	assert_int_equal(conf_set(c, "api-token-file", tok, false, err,
	    sizeof(err)), 0);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is empty"));
	assert_int_equal(write(fd, " s3cret \n", 9), 9);
	close(fd);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), 0);
	unlink(tok);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	/* Off: nothing to check. */
	assert_int_equal(conf_set(c, "api-listen", "none", false, err,
	    sizeof(err)), 0);
	assert_int_equal(api_check_conf(c, err, sizeof(err)), 0);
	conf_free(c);
}

static void
test_version_doc(void **state)
{
	struct cip_conf *conf;
	json_t *doc;
	char err[256];

	(void)state;
	assert_non_null(conf = conf_new_defaults());
	assert_int_equal(conf_set(conf, "dns-listen", "127.0.0.1:5353", true,
	    err, sizeof(err)), 0);
	assert_int_equal(conf_set(conf, "dns-listen", "[::1]:5353", false,
	    err, sizeof(err)), 0);
	assert_non_null(doc = api_version_doc(conf));
	assert_string_equal(json_string_value(json_object_get(doc, "version")),
	    PACKAGE_VERSION);
	assert_int_equal(json_array_size(json_object_get(doc, "dnsListen")), 2);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(doc, "dnsListen"), 0)), "127.0.0.1:5353");
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(doc, "dnsListen"), 1)), "[::1]:5353");
	assert_string_equal(json_string_value(json_object_get(doc,
	    "clusterDomain")), "cluster.local");
	json_decref(doc);
	conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_match_known),
		cmocka_unit_test(test_version_doc),
		cmocka_unit_test(test_check_conf),
		cmocka_unit_test(test_route_match_unknown),
		cmocka_unit_test(test_route_bad_names),
		cmocka_unit_test(test_allow_header),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_guard_passes_plain_requests),
		cmocka_unit_test(test_guard_refuses_large_bodies),
		cmocka_unit_test(test_guard_refuses_bad_heads),
		cmocka_unit_test(test_guard_pipelining),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
