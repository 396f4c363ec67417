/* SPDX-License-Identifier: MIT */
/*
 * test_api.c -- the control API's routes, name checks, token compare and
 * the refusal of ambiguous framing.
 */
#include "config.h"

#include <sys/queue.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

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

/* Framing evhttp would take one way and a client or proxy another. */
static void
test_framing(void **state)
{
	static const struct {
		const char	*hdrs[3][2];
		bool		 bad;
	} cases[] = {
		{ { { "Content-Length", "3" } }, false },
		{ { { "Transfer-Encoding", "chunked" } }, false },
		{ { { "transfer-encoding", "Chunked" } }, false },
		{ { { "Host", "x" }, { "Expect", "100-continue" } }, false },
		{ { { "Content-Length", "3" }, { "content-length", "3" } },
		    true },
		{ { { "Content-Length", "3" }, { "Content-Length", "5" } },
		    true },
		{ { { "Content-Length", "3" },
		    { "Transfer-Encoding", "chunked" } }, true },
		{ { { "Transfer-Encoding", "chunked" },
		    { "Transfer-Encoding", "chunked" } }, true },
		{ { { "Transfer-Encoding", "gzip, chunked" } }, true },
		{ { { "Transfer-Encoding", "identity" } }, true },
	};
	struct evkeyvalq q;
	size_t i, j;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(cases); i++) {
		TAILQ_INIT(&q);
		for (j = 0; j < 3 && cases[i].hdrs[j][0] != NULL; j++)
			assert_int_equal(evhttp_add_header(&q,
			    cases[i].hdrs[j][0], cases[i].hdrs[j][1]), 0);
		if (cases[i].bad)
			assert_non_null(api_framing_bad(&q));
		else
			assert_null(api_framing_bad(&q));
		evhttp_clear_headers(&q);
	}
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
		cmocka_unit_test(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
