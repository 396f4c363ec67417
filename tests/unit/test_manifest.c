/* SPDX-License-Identifier: MIT */
/* test_manifest.c -- manifest parsing: shapes, defaults, errors with positions, truncation. */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "manifest.h"
#include "registry.h"

static const char demo[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: backend, namespace: default}\n"
    "spec:\n"
    "  selector: {name: backend}\n"
    "  clusterIP: 127.96.0.20\n"
    "  type: ClusterIP\n"
    "  ports:\n"
    "  - {name: http, port: 5000, targetPort: http, protocol: TCP}\n"
    "  sessionAffinity: ClientIP\n"
    "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: backend-1, labels: {name: backend}}\n"
    "spec:\n"
    "  containers:\n"
    "  - ports: [{name: http, containerPort: 5000}]\n"
    "    readinessProbe: {httpGet: {path: /healthz, port: 5000}, "
    "periodSeconds: 2, failureThreshold: 2}\n"
    "    image: ignored\n"
    "status: {podIP: 127.0.10.1}\n";

static void
test_parse_demo(void **state)
{
	struct objset set = { 0 };
	struct service *s;
	struct pod *p;
	char err[256];

	assert_int_equal(manifest_parse_buf(demo, strlen(demo), "demo.yaml",
	    &set, err, sizeof(err)), 0);
	assert_int_equal(set.nsvcs, 1);
	assert_int_equal(set.npods, 1);
	s = set.svcs[0];
	assert_string_equal(s->key, "default/backend");
	assert_int_equal(s->type, SVC_CLUSTERIP);
	assert_int_equal(ntohl(s->requested_vip.s_addr), 0x7f600014);
	assert_int_equal(s->nports, 1);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].port, 5000);
	assert_string_equal(s->ports[0].target_name, "http");
	assert_int_equal(s->affinity, AFFINITY_CLIENTIP);
	assert_int_equal(s->affinity_timeout_s, 60);
	assert_true(selector_is_map(s->selector));
	p = set.pods[0];
	assert_string_equal(p->key, "default/backend-1");
	assert_string_equal(labels_get(&p->labels, "name"), "backend");
	assert_int_equal(p->probe.kind, PROBE_HTTP);
	assert_string_equal(p->probe.path, "/healthz");
	assert_int_equal(p->probe.failure_threshold, 2);
	assert_int_equal(p->probe.timeout_s, 1);
	assert_int_equal(pod_target_port(p, &s->ports[0]), 5000);
	objset_clear(&set);
}

static void
test_parse_json_and_list(void **state)
{
	const char *json = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
	    "{\"kind\":\"Service\",\"metadata\":{\"name\":\"h\"},\"spec\":"
	    "{\"clusterIP\":\"None\",\"selector\":{\"app\":\"h\"}}},"
	    "{\"kind\":\"Service\",\"metadata\":{\"name\":\"ext\",\"namespace\":"
	    "\"prod\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
	    "\"db.example.org\"}}]}";
	struct objset set = { 0 };
	char err[256];

	assert_int_equal(manifest_parse_buf(json, strlen(json), "j.json", &set,
	    err, sizeof(err)), 0);
	assert_int_equal(set.nsvcs, 2);
	assert_int_equal(set.svcs[0]->type, SVC_HEADLESS);
	assert_int_equal(set.svcs[1]->type, SVC_EXTERNALNAME);
	assert_string_equal(set.svcs[1]->external_name, "db.example.org");
	assert_string_equal(set.svcs[1]->key, "prod/ext");
	objset_clear(&set);
}

/* Each bad document is refused with this position and reason. */
static void
test_errors_name_position(void **state)
{
	static const struct {
		const char *doc, *want;
	} cases[] = {
		{ "kind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
		  "  - {port: http}\n", "f.yaml:5:12: ports[].port: expected a "
		  "whole number" },
		{ "kind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
		  "  - {port: 70000}\n", "f.yaml:5:12: ports[].port: 70000 is "
		  "out of range" },
		{ "kind: Service\nmetadata: {}\nspec: {}\n",
		  "f.yaml:2:11: metadata.name: missing" },
		{ "kind: Service\nmetadata: {name: Bad_Name}\nspec: {}\n",
		  "f.yaml:2:18: metadata.name: \"Bad_Name\" is not a valid" },
		{ "kind: Pod\nmetadata: {name: p}\n",
		  "f.yaml:1:1: status.podIP: missing" },
		{ "kind: Pod\nmetadata: {name: p}\nstatus: {podIP: 300.1.1.1}\n",
		  "f.yaml:3:17: status.podIP: \"300.1.1.1\" is not an IPv4" },
		{ "kind: Deployment\nmetadata: {name: p}\n",
		  "f.yaml:1:7: kind: \"Deployment\" is not Service" },
		{ "kind: Service\nmetadata: {name: a}\nspec: [1]\n",
		  "f.yaml:3:7: spec: expected a mapping" },
		{ "kind: Service\nmetadata: {name: a\n",
		  "f.yaml:3:1: did not find expected" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {type: NodeBalancer}\n",
		  "f.yaml:3:14: spec.type: \"NodeBalancer\"" },
		{ "apiVersion: apps/v1\nkind: Service\n",
		  "f.yaml:1:13: apiVersion: \"apps/v1\" is not v1" },
		{ "kind: Service\nmetadata: {name: a, labels: {\"a b\": c}}\n"
		  "spec: {}\n", "invalid key \"a b\"" },
	};
	struct objset set = { 0 };
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(manifest_parse_buf(cases[i].doc,
		    strlen(cases[i].doc), "f.yaml", &set, err, sizeof(err)),
		    -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    cases[i].want);
		assert_int_equal(set.nsvcs + set.npods + set.neps, 0);
	}
}

/* A refused document leaves nothing of the earlier good ones. */
static void
test_whole_or_nothing(void **state)
{
	const char *doc = "kind: Pod\nmetadata: {name: a}\nstatus: {podIP: "
	    "127.0.0.1}\n---\nkind: Pod\nmetadata: {name: b}\nstatus: {}\n";
	struct objset set = { 0 };
	char err[256];

	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "f", &set, err,
	    sizeof(err)), -1);
	assert_int_equal(set.npods, 0);
	assert_non_null(strstr(err, "f:7:"));
}

/* Every truncation gives objects or a clean, positioned error. */
static void
test_truncation_never_crashes(void **state)
{
	size_t len, n = strlen(demo);
	char err[256];

	for (len = 0; len <= n; len++) {
		struct objset set = { 0 };
		char *copy = malloc(len ? len : 1);
		memcpy(copy, demo, len);
		err[0] = '\0';
		if (manifest_parse_buf(copy, len, "t.yaml", &set, err,
		    sizeof(err)) != 0)
			assert_true(strncmp(err, "t.yaml:", 7) == 0);
		objset_clear(&set);
		free(copy);
	}
}

static void
test_unknown_fields_ignored(void **state)
{
	const char *doc = "kind: Service\nmetadata: {name: a, uid: x, "
	    "creationTimestamp: null}\nspec: {selector: {a: b}, "
	    "ipFamilies: [IPv4], ports: [{port: 80, nodePort: 30000}]}\n"
	    "status: {loadBalancer: {}}\n";
	struct objset set = { 0 };
	char err[256];

	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "f", &set, err,
	    sizeof(err)), 0);
	assert_int_equal(set.svcs[0]->ports[0].target_port, 80);
	objset_clear(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_demo),
		cmocka_unit_test(test_parse_json_and_list),
		cmocka_unit_test(test_errors_name_position),
		cmocka_unit_test(test_whole_or_nothing),
		cmocka_unit_test(test_truncation_never_crashes),
		cmocka_unit_test(test_unknown_fields_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
