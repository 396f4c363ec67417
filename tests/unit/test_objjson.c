/* SPDX-License-Identifier: MIT */
/* test_objjson.c -- objects to JSON and back through the manifest parser. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util.h"
#include "registry.h"
#include "manifest.h"
#include "objjson.h"

static const char objects_yaml[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: backend\n"
    "  labels: {app: quotes, tier: back}\n"
    "  annotations: {note: \"a, b and c\"}\n"
    "spec:\n"
    "  selector: {name: backend}\n"
    "  ports:\n"
    "  - {name: http, port: 5000, targetPort: web, protocol: TCP}\n"
    "  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}\n"
    "  sessionAffinity: ClientIP\n"
    "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: db, namespace: data}\n"
    "spec:\n"
    "  clusterIP: None\n"
    "  selector:\n"
    "    matchLabels: {app: db}\n"
    "    matchExpressions:\n"
    "    - {key: tier, operator: In, values: [a, b]}\n"
    "    - {key: canary, operator: DoesNotExist}\n"
    "  ports: [{port: 5432}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: ext}\n"
    "spec: {type: ExternalName, externalName: example.org}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: fixed}\n"
    "spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: dual}\n"
    "spec: {clusterIPs: [\"fd00:96::20\", 10.96.0.21], ipFamilies: [IPv6, "
    "IPv4], ipFamilyPolicy: PreferDualStack, ports: [{port: 80}]}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: backend-1, labels: {name: backend}}\n"
    "spec:\n"
    "  containers:\n"
    "  - ports: [{name: web, containerPort: 5000}, "
    "{containerPort: 5353, protocol: UDP}]\n"
    "    readinessProbe:\n"
    "      httpGet: {path: /healthz, port: web}\n"
    "      periodSeconds: 2\n"
    "      failureThreshold: 2\n"
    "status: {podIP: 127.0.10.1}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: backend-2, labels: {name: backend}}\n"
    "spec:\n"
    "  containers:\n"
    "  - ports: [{name: web, containerPort: 5001}]\n"
    "    readinessProbe: {tcpSocket: {port: 5001}}\n"
    "status:\n"
    "  podIP: 127.0.10.2\n"
    "  conditions: [{type: Ready, status: \"False\"}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: dual-1, labels: {name: dual}}\n"
    "status:\n"
    "  podIP: \"fd00::3\"\n"
    "  podIPs: [{ip: \"fd00::3\"}, {ip: 127.0.10.3}]\n";

/* Serializes every object of set, parses that back, compares. */
static void
test_roundtrip_manifest(void **state)
{
	struct objset set, back;
	json_t *a, *b;
	char err[512], *text;
	size_t i;

	(void)state;
	memset(&set, 0, sizeof(set));
	if (manifest_parse_buf(objects_yaml, strlen(objects_yaml), "t.yaml",
	    &set, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(set.nsvcs, 5);
	assert_int_equal(set.npods, 3);
	for (i = 0; i < set.nsvcs + set.npods; i++) {
		a = i < set.nsvcs ? objjson_service(set.svcs[i],
		    OBJJSON_MANIFEST) : objjson_pod(set.pods[i - set.nsvcs],
		    OBJJSON_MANIFEST);
		assert_non_null(a);
		text = json_dumps(a, JSON_COMPACT);
		assert_non_null(text);
		memset(&back, 0, sizeof(back));
		if (manifest_parse_buf(text, strlen(text), "json", &back, NULL,
		    err, sizeof(err)) != 0)
			fail_msg("%s: %s", text, err);
		assert_int_equal(back.nsvcs + back.npods, 1);
		b = back.nsvcs ? objjson_service(back.svcs[0],
		    OBJJSON_MANIFEST) : objjson_pod(back.pods[0],
		    OBJJSON_MANIFEST);
		if (!json_equal(a, b))
			fail_msg("not stable: %s", text);
		json_decref(a);
		json_decref(b);
		free(text);
		objset_clear(&back);
	}
	objset_clear(&set);
}

static void
test_service_fields(void **state)
{
	struct objset set;
	json_t *j;
	char err[512];

	(void)state;
	memset(&set, 0, sizeof(set));
	if (manifest_parse_buf(objects_yaml, strlen(objects_yaml), "t.yaml",
	    &set, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	j = objjson_service(set.svcs[0], OBJJSON_STATE);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "spec"), "sessionAffinity")), "ClientIP");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(j, "spec"),
	    "sessionAffinityConfig"), "clientIP"), "timeoutSeconds")), 60);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(j, "spec"), "ports"), 0),
	    "targetPort")), "web");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "metadata"), "owner")), "file ?");
	json_decref(j);
	/* Headless: clusterIP None; fixed: the requested address. */
	j = objjson_service(set.svcs[1], OBJJSON_MANIFEST);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "spec"), "clusterIP")), "None");
	assert_non_null(json_object_get(json_object_get(json_object_get(j,
	    "spec"), "selector"), "matchExpressions"));
	json_decref(j);
	j = objjson_service(set.svcs[3], OBJJSON_MANIFEST);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "spec"), "clusterIP")), "10.96.0.20");
	json_decref(j);
	j = objjson_service(set.svcs[2], OBJJSON_STATE);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "spec"), "externalName")), "example.org");
	assert_null(json_object_get(json_object_get(j, "spec"),
	    "ipFamilies"));
	json_decref(j);
	objset_clear(&set);
}

static void
test_endpoints_from_registry(void **state)
{
	struct registry *r;
	struct objset set;
	struct owner o = { OWNER_API, NULL };
	struct service *svc;
	json_t *j, *ss, *ports;
	char err[512];

	(void)state;
	assert_non_null(r = registry_new(NULL));
	memset(&set, 0, sizeof(set));
	if (manifest_parse_buf(objects_yaml, strlen(objects_yaml), "t.yaml",
	    &set, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(registry_apply(r, &o, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	/* backend-1's probe has not succeeded yet: both not ready. */
	assert_int_equal(registry_set_probe_result(r, "default/backend-1",
	    true), 0);
	svc = registry_find_service(r, "default", "backend");
	assert_non_null(svc);
	j = objjson_endpoints(svc);
	assert_non_null(j);
	ss = json_object_get(j, "subsets");
	/* The pods resolve "web" to different ports: two subsets. */
	assert_int_equal(json_array_size(ss), 2);
	ports = json_object_get(json_array_get(ss, 0), "ports");
	assert_int_equal(json_array_size(ports), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    ports, 0), "name")), "http");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    ports, 0), "port")), 5000);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    ports, 1), "port")), 5353);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(ss, 0), "addresses"), 0), "ip")),
	    "127.0.10.1");
	assert_null(json_object_get(json_array_get(ss, 0),
	    "notReadyAddresses"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(ss, 1), "notReadyAddresses"), 0),
	    "ip")), "127.0.10.2");
	assert_null(json_object_get(json_array_get(ss, 1), "addresses"));
	ports = json_object_get(json_array_get(ss, 1), "ports");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    ports, 0), "port")), 5001);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    ports, 1), "name")), "dns");
	json_decref(j);
	/* A service without members has no subsets. */
	j = objjson_endpoints(registry_find_service(r, "default", "fixed"));
	assert_null(json_object_get(j, "subsets"));
	json_decref(j);
	registry_free(r);
}

static void
test_endpoints_manifest_roundtrip(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: legacy}\n"
	    "spec: {ports: [{name: db, port: 5432}]}\n---\n"
	    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: legacy}\n"
	    "subsets:\n- addresses: [{ip: 10.1.0.2}, {ip: 10.1.0.1}]\n"
	    "  ports: [{name: db, port: 5432}]\n";
	struct registry *r;
	struct objset set, back;
	struct owner o = { OWNER_API, NULL };
	struct pod *pods[2];
	json_t *j;
	char err[512], *text;

	(void)state;
	assert_non_null(r = registry_new(NULL));
	memset(&set, 0, sizeof(set));
	assert_int_equal(manifest_parse_buf(yaml, strlen(yaml), "e.yaml", &set,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(registry_apply(r, &o, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	assert_non_null(pods[0] = registry_find_pod(r, "default",
	    "legacy-10-1-0-1"));
	assert_non_null(pods[1] = registry_find_pod(r, "default",
	    "legacy-10-1-0-2"));
	assert_string_equal(pods[0]->endpoints_of, "default/legacy");
	j = objjson_endpoints_manifest("default", "legacy", pods, 2);
	text = json_dumps(j, JSON_COMPACT);
	memset(&back, 0, sizeof(back));
	if (manifest_parse_buf(text, strlen(text), "json", &back, NULL,
	    err, sizeof(err)) != 0)
		fail_msg("%s: %s", text, err);
	assert_int_equal(back.neps, 1);
	assert_int_equal(back.eps[0]->naddrs, 2);
	assert_int_equal(back.eps[0]->nports, 1);
	assert_int_equal(back.eps[0]->ports[0].port, 5432);
	assert_string_equal(back.eps[0]->ports[0].name, "db");
	objset_clear(&back);
	free(text);
	json_decref(j);
	/* The state view of the service lists both, sorted by address. */
	j = objjson_endpoints(registry_find_service(r, "default", "legacy"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(json_object_get(j, "subsets"), 0),
	    "addresses"), 0), "ip")), "10.1.0.1");
	json_decref(j);
	registry_free(r);
}

/*
 * Hostnames, subdomains, publishNotReadyAddresses and Endpoints whose
 * subsets share an address survive the API's state file: the manifest
 * JSON parses back into equal objects.
 */
static void
test_headless_fields_roundtrip(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: db}\n"
	    "spec: {clusterIP: None, publishNotReadyAddresses: true}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: w, labels: {a: b}}\n"
	    "spec: {hostname: w0, subdomain: web}\n"
	    "status: {podIP: 10.2.0.1}\n---\n"
	    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: db}\n"
	    "subsets:\n"
	    "- addresses: [{ip: 10.1.0.1, hostname: a}]\n"
	    "  notReadyAddresses: [{ip: 10.1.0.3}]\n"
	    "  ports: [{name: x, port: 1}]\n"
	    "- addresses: [{ip: 10.1.0.1, hostname: a}, {ip: 10.1.0.2}]\n"
	    "  ports: [{name: y, port: 2}]\n";
	static const char *const names[] = { "db-10-1-0-1", "db-10-1-0-2",
	    "db-10-1-0-3" };
	struct registry *r, *r2;
	struct objset set, back;
	struct owner o = { OWNER_API, NULL };
	struct pod *pods[3], *p;
	struct service *s;
	json_t *j;
	char err[512], *text;
	size_t i;

	(void)state;
	assert_non_null(r = registry_new(NULL));
	assert_non_null(r2 = registry_new(NULL));
	memset(&set, 0, sizeof(set));
	assert_int_equal(manifest_parse_buf(yaml, strlen(yaml), "e.yaml", &set,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(registry_apply(r, &o, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	for (i = 0; i < 3; i++)
		assert_non_null(pods[i] = registry_find_pod(r, "default",
		    names[i]));
	memset(&back, 0, sizeof(back));
	s = registry_find_service(r, "default", "db");
	j = objjson_list("List", json_pack("[ooo]",
	    objjson_service(s, OBJJSON_MANIFEST),
	    objjson_pod(registry_find_pod(r, "default", "w"),
	    OBJJSON_MANIFEST),
	    objjson_endpoints_manifest("default", "db", pods, 3)));
	text = json_dumps(j, JSON_COMPACT);
	if (manifest_parse_buf(text, strlen(text), "json", &back, NULL,
	    err, sizeof(err)) != 0)
		fail_msg("%s: %s", text, err);
	assert_int_equal(registry_apply(r2, &o, &back, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	assert_true(service_spec_equal(s, registry_find_service(r2, "default",
	    "db")));
	assert_true(pod_spec_equal(registry_find_pod(r, "default", "w"),
	    registry_find_pod(r2, "default", "w")));
	for (i = 0; i < 3; i++) {
		p = registry_find_pod(r2, "default", names[i]);
		assert_non_null(p);
		if (!pod_spec_equal(pods[i], p) ||
		    !streq_null(pods[i]->hostname, p->hostname))
			fail_msg("%s differs after %s", names[i], text);
	}
	objset_clear(&back);
	free(text);
	json_decref(j);
	registry_free(r);
	registry_free(r2);
}

static void
test_list_and_time(void **state)
{
	json_t *l;
	char buf[32];

	(void)state;
	l = objjson_list("PodList", json_array());
	assert_string_equal(json_string_value(json_object_get(l, "kind")),
	    "PodList");
	assert_true(json_is_array(json_object_get(l, "items")));
	json_decref(l);
	assert_null(objjson_list("PodList", NULL));
	assert_string_equal(objjson_time(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00Z");
	assert_string_equal(objjson_time(1790000000, buf, sizeof(buf)),
	    "2026-09-21T14:13:20Z");
}

static void
test_registration_ok(void **state)
{
	static const char body[] = "{\"labels\":{\"name\":\"backend\"},"
	    "\"ip\":\"127.0.10.3\",\"ports\":[{\"name\":\"http\",\"port\":5000},"
	    "{\"port\":53,\"protocol\":\"UDP\"}],\"ttlSeconds\":15,"
	    "\"annotations\":{\"x\":\"y z\"},\"ready\":false}";
	struct pod *p;
	uint32_t ttl;
	char err[256];

	(void)state;
	assert_int_equal(objjson_parse_registration(body, strlen(body),
	    "default", "web-1", &p, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 15);
	assert_string_equal(p->key, "default/web-1");
	assert_string_equal(labels_get(&p->labels, "name"), "backend");
	assert_string_equal(labels_get(&p->annotations, "x"), "y z");
	assert_int_equal(p->nports, 2);
	assert_string_equal(p->ports[0].name, "http");
	assert_int_equal(p->ports[1].port, 53);
	assert_int_equal(p->ports[1].proto, CIP_PROTO_UDP);
	assert_null(p->ports[1].name);
	assert_false(p->declared_ready);
	assert_int_equal(p->ip.s_addr, htonl(0x7f000a03));
	pod_free(p);
	assert_int_equal(objjson_parse_registration("{\"ip\":\"10.0.0.1\"}",
	    17, "ns", "p", &p, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, OBJJSON_TTL_DEFAULT_S);
	assert_true(p->declared_ready);
	pod_free(p);
	/* An IPv6 address registers as the pod's only (primary) one. */
	assert_int_equal(objjson_parse_registration("{\"ip\":\"fd00::9\"}",
	    16, "ns", "p", &p, &ttl, err, sizeof(err)), 0);
	assert_int_equal(p->ip.s_addr, 0);
	assert_int_equal(p->ip6.s6_addr[15], 9);
	assert_true(p->ip6_primary);
	pod_free(p);
	assert_int_equal(objjson_parse_registration("{\"ip\":\"fd00::g\"}",
	    16, "ns", "p", &p, &ttl, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "IPv4 or IPv6"));
}

static void
test_registration_errors(void **state)
{
	static const struct {
		const char	*body;
		const char	*reason;
	} bad[] = {
		{ "{}", "ip: required" },
		{ "[]", "must be a JSON object" },
		{ "{\"ip\":\"1.2.3\"}", "ip: must be an IPv4" },
		{ "{\"ip\":5}", "ip: must be an IPv4" },
		{ "{\"ip\":\"1.2.3.4\",\"ttlSeconds\":0}", "ttlSeconds" },
		{ "{\"ip\":\"1.2.3.4\",\"ttlSeconds\":86401}", "ttlSeconds" },
		{ "{\"ip\":\"1.2.3.4\",\"ttlSeconds\":\"15\"}", "ttlSeconds" },
		{ "{\"ip\":\"1.2.3.4\",\"labels\":{\"a\":1}}", "labels.a" },
		{ "{\"ip\":\"1.2.3.4\",\"labels\":{\"-x\":\"y\"}}", "invalid "
		    "label" },
		{ "{\"ip\":\"1.2.3.4\",\"labels\":[]}", "labels: must be" },
		{ "{\"ip\":\"1.2.3.4\",\"ports\":{}}", "ports: must be a list" },
		{ "{\"ip\":\"1.2.3.4\",\"ports\":[{\"port\":0}]}", "1-65535" },
		{ "{\"ip\":\"1.2.3.4\",\"ports\":[{\"name\":\"x\"}]}",
		    "port is required" },
		{ "{\"ip\":\"1.2.3.4\",\"ports\":[{\"port\":1,\"name\":\"Web\"}]}",
		    "port name" },
		{ "{\"ip\":\"1.2.3.4\",\"ports\":[{\"port\":1,\"protocol\":"
		    "\"ICMP\"}]}", "TCP, UDP or SCTP" },
		{ "{\"ip\":\"1.2.3.4\",\"ports\":[{\"port\":1,\"x\":1}]}",
		    "unknown field" },
		{ "{\"ip\":\"1.2.3.4\",\"ready\":\"yes\"}", "boolean" },
		{ "{\"ip\":\"1.2.3.4\",\"podIP\":\"1.2.3.4\"}",
		    "unknown field \"podIP\"" },
		{ "{\"ip\":\"1.2.3.4\",\"ip\":\"1.2.3.5\"}", "duplicate" },
		{ "{\"ip\":", "body:1:" },
	};
	struct pod *p;
	uint32_t ttl;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		if (objjson_parse_registration(bad[i].body, strlen(bad[i].body),
		    "default", "p", &p, &ttl, err, sizeof(err)) != ERR_INVAL)
			fail_msg("accepted: %s", bad[i].body);
		assert_null(p);
		if (strstr(err, bad[i].reason) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].body, err,
			    bad[i].reason);
	}
}

/* Every prefix of a valid body is refused cleanly or accepted. */
static void
test_registration_truncated(void **state)
{
	static const char body[] = "{\"labels\":{\"name\":\"backend\"},"
	    "\"ip\":\"127.0.10.3\",\"ports\":[{\"name\":\"http\",\"port\":5000}],"
	    "\"ttlSeconds\":15}";
	struct pod *p;
	uint32_t ttl;
	char err[256], *copy;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(body) - 1; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, body, n);
		assert_int_equal(objjson_parse_registration(copy, n, "default",
		    "p", &p, &ttl, err, sizeof(err)), ERR_INVAL);
		assert_null(p);
		free(copy);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_manifest),
		cmocka_unit_test(test_service_fields),
		cmocka_unit_test(test_endpoints_from_registry),
		cmocka_unit_test(test_endpoints_manifest_roundtrip),
		cmocka_unit_test(test_headless_fields_roundtrip),
		cmocka_unit_test(test_list_and_time),
		cmocka_unit_test(test_registration_ok),
		cmocka_unit_test(test_registration_errors),
		cmocka_unit_test(test_registration_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
