/* SPDX-License-Identifier: MIT */
/* test_manifest.c -- manifest parsing: shapes, defaults, errors with positions, truncation. */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "manifest.h"
#include "registry.h"
#include "util.h"
#include "vip.h"

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
	    &set, NULL, err, sizeof(err)), 0);
	assert_int_equal(set.nsvcs, 1);
	assert_int_equal(set.npods, 1);
	s = set.svcs[0];
	assert_string_equal(s->key, "default/backend");
	assert_int_equal(s->type, SVC_CLUSTERIP);
	assert_int_equal(ntohl(s->ext->requested_vip.s_addr), 0x7f600014);
	assert_int_equal(s->nports, 1);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].port, 5000);
	assert_string_equal(s->ports[0].target_name, "http");
	assert_int_equal(s->affinity, AFFINITY_CLIENTIP);
	assert_int_equal(s->ext->affinity_timeout_s, 60);
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
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(set.nsvcs, 2);
	assert_int_equal(set.svcs[0]->type, SVC_HEADLESS);
	assert_int_equal(set.svcs[1]->type, SVC_EXTERNALNAME);
	assert_string_equal(set.svcs[1]->ext->external_name, "db.example.org");
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
		{ "kind: Pod\nmetadata: {name: p}\nstatus: {podIP: 'fd00::1', "
		  "podIPs: [{ip: 'fd00::2'}]}\n", "f.yaml:3:42: "
		  "status.podIPs[0]: \"fd00::2\" is not status.podIP" },
		{ "kind: Pod\nmetadata: {name: p}\nstatus: {podIPs: "
		  "[{ip: 'fd00::1'}, {ip: 'fd00::2'}]}\n", "f.yaml:3:41: "
		  "status.podIPs[].ip: a second IPv6 address" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {clusterIP: "
		  "'fd00::1', clusterIPs: ['fd00::1', 'fd00::2']}\n",
		  "f.yaml:3:54: spec.clusterIPs[]: a second IPv6 address" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {clusterIP: "
		  "10.0.0.1, clusterIPs: ['fd00::1']}\n", "f.yaml:3:42: "
		  "spec.clusterIPs[0]: \"fd00::1\" is not spec.clusterIP" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {clusterIP: None, "
		  "clusterIPs: [None, 10.0.0.1]}\n", "f.yaml:3:44: "
		  "spec.clusterIPs: must be a single \"None\"" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {ipFamilies: "
		  "[IPv4, IPv4]}\n", "f.yaml:3:27: spec.ipFamilies[1]: "
		  "duplicate value \"IPv4\"" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {ipFamilies: "
		  "[IPv5]}\n", "f.yaml:3:21: spec.ipFamilies[]: \"IPv5\" is "
		  "not IPv4 or IPv6" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {ipFamilyPolicy: "
		  "DualStack}\n", "f.yaml:3:24: spec.ipFamilyPolicy: "
		  "\"DualStack\" is not SingleStack" },
		{ "kind: Endpoints\nmetadata: {name: e}\nsubsets: [{addresses: "
		  "[{ip: 'fe80::1%eth0'}]}]\n", "f.yaml:3:29: addresses[].ip: "
		  "\"fe80::1%eth0\" is not an IPv4 or IPv6 address" },
		{ "kind: [Deployment]\nmetadata: {name: p}\n",
		  "f.yaml:1:7: kind: expected a string" },
		{ "kind: Service\nmetadata: {name: a}\nspec: [1]\n",
		  "f.yaml:3:7: spec: expected a mapping" },
		{ "kind: Service\nmetadata: {name: a\n",
		  "f.yaml:3:1: did not find expected" },
		{ "kind: Service\nmetadata: {name: a}\nspec: {type: NodeBalancer}\n",
		  "f.yaml:3:14: spec.type: \"NodeBalancer\"" },
		{ "apiVersion: {a: b}\nkind: Service\n",
		  "f.yaml:1:13: apiVersion: expected a string" },
		{ "kind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
		  "  - {port: 9, protocol: SCTP}\n", "f.yaml:5:25: "
		  "ports[].protocol: SCTP cannot be forwarded here" },
		{ "kind: List\nitems:\n- {kind: List}\n",
		  "f.yaml:3:3: a List inside a List" },
		{ "kind: Service\nmetadata: {name: a, labels: {\"a b\": c}}\n"
		  "spec: {}\n", "invalid key \"a b\"" },
	};
	struct objset set = { 0 };
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(manifest_parse_buf(cases[i].doc,
		    strlen(cases[i].doc), "f.yaml", &set, NULL, err,
		    sizeof(err)), -1);
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

	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "f", &set, NULL,
	    err, sizeof(err)), -1);
	assert_int_equal(set.npods, 0);
	assert_non_null(strstr(err, "f:7:"));
}

/* Every truncation gives objects or a clean, positioned error. */
static const char dual[] =
    "kind: Service\nmetadata: {name: d}\nspec:\n"
    "  clusterIPs: [\"fd00:96::20\", 127.96.0.20]\n"
    "  ipFamilies: [IPv6, IPv4]\n  ipFamilyPolicy: RequireDualStack\n"
    "---\nkind: Pod\nmetadata: {name: p}\nstatus:\n"
    "  podIP: \"fd00::7\"\n  podIPs: [{ip: \"fd00::7\"}, {ip: 10.0.0.7}]\n"
    "---\nkind: Endpoints\nmetadata: {name: e}\n"
    "subsets: [{addresses: [{ip: \"fd00::1:2\"}, {ip: 10.0.0.9}]}]\n";

static void
test_truncation_never_crashes(void **state)
{
	const char *docs[] = { demo, dual };
	size_t len, n, i;
	char err[256];

	for (i = 0; i < CIP_ARRAY_LEN(docs); i++) {
		n = strlen(docs[i]);
		for (len = 0; len <= n; len++) {
			struct objset set = { 0 };
			char *copy = malloc(len ? len : 1);
			memcpy(copy, docs[i], len);
			err[0] = '\0';
			if (manifest_parse_buf(copy, len, "t.yaml", &set, NULL,
			    err, sizeof(err)) != 0)
				assert_true(strncmp(err, "t.yaml:", 7) == 0);
			objset_clear(&set);
			free(copy);
		}
	}
}

/* Both families, in the order given; one per family. */
static void
test_parse_dual_stack(void **state)
{
	struct objset set = { 0 };
	struct service *s;
	struct pod *p;
	char err[256];

	assert_int_equal(manifest_parse_buf(dual, strlen(dual), "d.yaml", &set,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(set.nsvcs, 1);
	s = set.svcs[0];
	assert_int_equal(s->ext->nreq_ips, 2);
	assert_int_equal(s->ext->req_ip_families[0], IP_FAMILY_V6);
	assert_int_equal(s->ext->req_ip_families[1], IP_FAMILY_V4);
	assert_int_equal(ntohl(s->ext->requested_vip.s_addr), 0x7f600014);
	assert_int_equal(s->ext->requested_vip6.s6_addr[15], 0x20);
	assert_int_equal(s->ext->nreq_families, 2);
	assert_int_equal(s->ext->req_policy, IPFP_REQUIRE_DUAL_STACK);
	p = set.pods[0];
	assert_true(p->ip6_primary);
	assert_int_equal(ntohl(p->ip.s_addr), 0x0a000007);
	assert_int_equal(set.neps, 1);
	assert_int_equal(set.eps[0]->naddrs, 2);
	assert_int_equal(set.eps[0]->addrs[0].ip.s_addr, 0);
	assert_int_equal(set.eps[0]->addrs[0].ip6.s6_addr[15], 2);
	assert_true(in6_is_unset(&set.eps[0]->addrs[1].ip6));
	objset_clear(&set);
}

static void
test_unknown_fields_ignored(void **state)
{
	const char *doc = "kind: Service\nmetadata: {name: a, uid: x, "
	    "creationTimestamp: null}\nspec: {selector: {a: b}, "
	    "ipFamilies: [IPv4], ports: [{port: 80, nodePort: 30000}]}\n"
	    "status: {loadBalancer: {}}\n";
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	char err[256];

	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "f", &set, &rep,
	    err, sizeof(err)), 0);
	assert_int_equal(set.svcs[0]->ports[0].target_port, 80);
	assert_int_equal(rep.nwarns, 0);
	objset_clear(&set);
	manifest_report_clear(&rep);
}

/* A kubectl user's file: a Namespace, a ConfigMap, a Deployment, a Service. */
static const char k8s_app[] =
    "apiVersion: v1\n"				/* 1 */
    "kind: Namespace\n"
    "metadata:\n"
    "  name: shop\n"
    "---\n"					/* 5 */
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata:\n"
    "  name: backend-config\n"
    "  namespace: shop\n"			/* 10 */
    "data:\n"
    "  QUOTES: /etc/quotes.txt\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"			/* 15 */
    "metadata:\n"
    "  name: backend\n"
    "  namespace: shop\n"
    "spec:\n"
    "  replicas: 2\n"				/* 20 */
    "  selector:\n"
    "    matchLabels: {name: backend}\n"
    "  template:\n"
    "    metadata:\n"
    "      labels: {name: backend}\n"		/* 25 */
    "    spec:\n"
    "      containers:\n"
    "      - name: backend\n"
    "        image: quotes:latest\n"
    "        ports:\n"				/* 30 */
    "        - containerPort: 5000\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata:\n"				/* 35 */
    "  name: backend\n"
    "  namespace: shop\n"
    "  annotations: {example.com/owner: team}\n"
    "spec:\n"
    "  type: ClusterIP\n"			/* 40 */
    "  selector: {name: backend}\n"
    "  ports:\n"
    "  - port: 5000\n"
    "    targetPort: 5000\n"
    "    protocol: TCP\n"			/* 45 */
    "  internalTrafficPolicy: Cluster\n"
    "  ipFamilies: [IPv4]\n"
    "  ipFamilyPolicy: SingleStack\n";

/* The Service loads; the rest is skipped, each named with its position. */
static void
test_k8s_app_skips_other_kinds(void **state)
{
	static const char *const want[] = {
		"k8s-app.yaml:1:1: Namespace/shop (v1) skipped: clusterip "
		"serves only v1 Services, Pods and Endpoints",
		"k8s-app.yaml:6:1: ConfigMap/backend-config (v1) skipped: "
		"clusterip does not use configuration objects",
		"k8s-app.yaml:14:1: Deployment/backend (apps/v1) skipped: "
		"clusterip does not run workloads",
	};
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	char err[256], line[512];
	size_t i;

	if (manifest_parse_buf(k8s_app, strlen(k8s_app), "k8s-app.yaml", &set,
	    &rep, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(set.nsvcs, 1);
	assert_int_equal(set.npods + set.neps, 0);
	assert_string_equal(set.svcs[0]->key, "shop/backend");
	assert_int_equal(set.svcs[0]->line, 33);
	assert_int_equal(set.svcs[0]->col, 1);
	assert_string_equal(set.src, "k8s-app.yaml");
	assert_int_equal(rep.nskips, 3);
	assert_int_equal(rep.nwarns, 0);
	for (i = 0; i < rep.nskips; i++) {
		manifest_skip_format(&rep.skips[i], line, sizeof(line));
		assert_string_equal(line, want[i]);
	}
	assert_string_equal(rep.skips[2].kind, "Deployment");
	assert_string_equal(rep.skips[2].api_version, "apps/v1");
	assert_string_equal(rep.skips[2].ns, "shop");
	assert_int_equal(rep.skips[2].line, 14);
	assert_null(rep.skips[0].ns);
	objset_clear(&set);
	manifest_report_clear(&rep);

	/* Without a report the same file loads the same objects. */
	assert_int_equal(manifest_parse_buf(k8s_app, strlen(k8s_app), "k",
	    &set, NULL, err, sizeof(err)), 0);
	assert_int_equal(set.nsvcs, 1);
	objset_clear(&set);
}

/* Items of a List are skipped one by one; a non-v1 Service too. */
static void
test_list_items_skipped(void **state)
{
	const char *doc = "{\"apiVersion\": \"v1\", \"kind\": \"List\", "
	    "\"items\": [\n"
	    "  {\"apiVersion\": \"apps/v1\", \"kind\": \"StatefulSet\", "
	    "\"metadata\": {\"name\": \"db\"}},\n"
	    "  {\"apiVersion\": \"v1\", \"kind\": \"Secret\"},\n"
	    "  {\"apiVersion\": \"example.com/v2\", \"kind\": \"Service\", "
	    "\"metadata\": {\"name\": \"x\"}},\n"
	    "  {\"kind\": \"Service\", \"metadata\": {\"name\": \"db\"}, "
	    "\"spec\": {\"clusterIP\": \"None\"}}]}\n";
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	char err[256], line[512];

	if (manifest_parse_buf(doc, strlen(doc), "l.json", &set, &rep, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(set.nsvcs, 1);
	assert_int_equal(set.svcs[0]->line, 5);
	assert_int_equal(rep.nskips, 3);
	manifest_skip_format(&rep.skips[0], line, sizeof(line));
	assert_string_equal(line, "l.json:2:3: StatefulSet/db (apps/v1) "
	    "skipped: clusterip does not run workloads");
	manifest_skip_format(&rep.skips[1], line, sizeof(line));
	assert_string_equal(line, "l.json:3:3: Secret (v1) skipped: "
	    "clusterip does not use configuration objects");
	assert_null(rep.skips[1].name);
	manifest_skip_format(&rep.skips[2], line, sizeof(line));
	assert_string_equal(line, "l.json:4:3: Service/x (example.com/v2) "
	    "skipped: clusterip serves only v1 Services, Pods and Endpoints");
	objset_clear(&set);
	manifest_report_clear(&rep);
}

/* An error in a supported object refuses the file, skips or not. */
static void
test_error_beside_skipped_refuses(void **state)
{
	char *doc = malloc(sizeof(k8s_app) + 64);
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	char err[256];

	assert_non_null(doc);
	strcpy(doc, k8s_app);
	*strstr(doc, "port: 5000") = '\0';
	strcat(doc, "port: 0\n");
	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "k8s-app.yaml",
	    &set, &rep, err, sizeof(err)), -1);
	assert_string_equal(err, "k8s-app.yaml:43:11: ports[].port: 0 is out "
	    "of range 1..65535");
	assert_int_equal(set.nsvcs, 0);
	assert_int_equal(rep.nskips + rep.nwarns, 0);
	assert_null(rep.skips);
	free(doc);
}

/* Unknown fields warn with their position; known, ignored ones do not. */
static void
test_unknown_fields_warn(void **state)
{
	static const char doc[] =
	    "apiVersion: v1\n"				/* 1 */
	    "kind: Service\n"
	    "metadata:\n"
	    "  name: web\n"
	    "  uid: 1234\n"				/* 5 */
	    "  resourceVersion: \"7\"\n"
	    "spec:\n"
	    "  selectr: {app: web}\n"
	    "  ports:\n"
	    "  - port: 80\n"				/* 10 */
	    "    nam: http\n"
	    "    nodePort: 30080\n"
	    "  externalTrafficPolicy: Local\n"
	    "status: {loadBalancer: {}}\n"
	    "---\n"					/* 15 */
	    "apiVersion: v1\n"
	    "kind: Pod\n"
	    "metadata: {name: web-1, labels: {app: web}, "
	    "creationTimestamp: null, managedFields: []}\n"
	    "spec:\n"
	    "  containers:\n"				/* 20 */
	    "  - name: web\n"
	    "    image: nginx\n"
	    "    command: [nginx]\n"
	    "    args: [\"-g\", \"daemon off;\"]\n"
	    "    env: [{name: A, value: b}]\n"		/* 25 */
	    "    resources: {limits: {cpu: 100m}}\n"
	    "    volumeMounts: [{name: x, mountPath: /x}]\n"
	    "    readinesProbe: {tcpSocket: {port: 80}}\n"
	    "  nodeSelector: {disk: ssd}\n"
	    "status:\n"				/* 30 */
	    "  phase: Running\n"
	    "  podIP: 127.0.0.5\n"
	    "  podIPs: [{ip: 127.0.0.5}]\n"
	    "  containerStatuses: []\n"
	    "  conditions: [{type: Ready, status: \"True\", reson: x}]\n"
	    "  hostIp: 10.0.0.1\n";
	static const char *const want[] = {
		"f.yaml:8:3: warning: unknown field \"spec.selectr\"",
		"f.yaml:11:5: warning: unknown field \"spec.ports[0].nam\"",
		"f.yaml:28:5: warning: unknown field "
		"\"spec.containers[0].readinesProbe\"",
		"f.yaml:35:46: warning: unknown field "
		"\"status.conditions[0].reson\"",
		"f.yaml:36:3: warning: unknown field \"status.hostIp\"",
	};
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	char err[256], line[512];
	size_t i;

	if (manifest_parse_buf(doc, strlen(doc), "f.yaml", &set, &rep, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(set.nsvcs, 1);
	assert_int_equal(set.npods, 1);
	/* The misspelt selector leaves the Service without one: warned. */
	assert_null(set.svcs[0]->selector);
	assert_int_equal(rep.nwarns, CIP_ARRAY_LEN(want));
	for (i = 0; i < rep.nwarns; i++) {
		manifest_warning_format(&rep.warns[i], line, sizeof(line));
		assert_string_equal(line, want[i]);
	}
	assert_int_equal(rep.warns[0].line, 8);
	assert_int_equal(rep.warns[0].col, 3);
	objset_clear(&set);
	manifest_report_clear(&rep);
}

/* Warnings are capped; the rest are counted. */
static void
test_warnings_capped(void **state)
{
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	char err[256], *doc, *p;
	size_t i;

	assert_non_null(doc = malloc(200 * 16 + 64));
	p = doc + sprintf(doc, "kind: Service\nmetadata: {name: a}\nspec:\n");
	for (i = 0; i < 200; i++)
		p += sprintf(p, "  x%zu: 1\n", i);
	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "f", &set, &rep,
	    err, sizeof(err)), 0);
	assert_int_equal(rep.nwarns, 100);
	assert_int_equal(rep.nwarns_dropped, 100);
	objset_clear(&set);
	manifest_report_clear(&rep);
	free(doc);
}

/* An ExternalName may be written fully qualified. */
static void
test_external_name_trailing_dot(void **state)
{
	const char *doc = "kind: Service\nmetadata: {name: ext}\nspec: "
	    "{type: ExternalName, externalName: example.com.}\n";
	struct objset set = { 0 };
	char err[256];

	if (manifest_parse_buf(doc, strlen(doc), "f", &set, NULL, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(set.svcs[0]->type, SVC_EXTERNALNAME);
	assert_string_equal(set.svcs[0]->ext->external_name, "example.com");
	objset_clear(&set);
	doc = "kind: Service\nmetadata: {name: ext}\nspec: "
	    "{type: ExternalName, externalName: example..com.}\n";
	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "f", &set, NULL,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "f:3:42: spec.externalName: "
	    "\"example..com.\" is not a valid DNS name");
	doc = "kind: Service\nmetadata: {name: ext}\nspec: "
	    "{type: ExternalName, externalName: .}\n";
	assert_int_equal(manifest_parse_buf(doc, strlen(doc), "f", &set, NULL,
	    err, sizeof(err)), -1);
}

/* parse + apply into a registry with a VIP pool; err of the apply. */
static int
parse_apply(struct registry *r, const char *owner, const char *doc,
    char *err, size_t errlen)
{
	struct owner o = { OWNER_FILE, (char *)(uintptr_t)owner };
	struct objset set = { 0 };
	int rc;

	if (manifest_parse_buf(doc, strlen(doc), owner, &set, NULL, err,
	    errlen) != 0)
		fail_msg("%s", err);
	rc = registry_apply(r, &o, &set, REGISTRY_REPLACE, err, errlen);
	objset_clear(&set);
	return rc;
}

/*
 * The fields of headless DNS: Pod hostname and subdomain, Service
 * publishNotReadyAddresses (or the older annotation), Endpoints
 * hostnames and notReadyAddresses; read without a warning.
 */
static const char headless_doc[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: web}\n"
    "spec: {clusterIP: None, selector: {app: web}, "
    "publishNotReadyAddresses: true}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: old\n"
    "  annotations:\n"
    "    service.alpha.kubernetes.io/tolerate-unready-endpoints: \"true\"\n"
    "spec: {clusterIP: None}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: web-0, labels: {app: web}}\n"
    "spec: {hostname: web-0, subdomain: web, containers: []}\n"
    "status: {podIP: 127.0.40.1}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Endpoints\n"
    "metadata: {name: old}\n"
    "subsets:\n"
    "- addresses: [{ip: 127.0.50.1, hostname: a}]\n"
    "  notReadyAddresses: [{ip: 127.0.50.3, hostname: c}]\n"
    "  ports: [{name: x, port: 1000}]\n"
    "- addresses: [{ip: 127.0.50.1}, {ip: 127.0.50.2}]\n"
    "  ports: [{name: y, port: 2000, protocol: UDP}]\n";

static void
test_parse_headless_fields(void **state)
{
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	struct endpoints *e;
	char err[256];

	(void)state;
	if (manifest_parse_buf(headless_doc, strlen(headless_doc), "h.yaml",
	    &set, &rep, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(rep.nwarns, 0);
	assert_int_equal(set.nsvcs, 2);
	assert_true(set.svcs[0]->publish_not_ready);
	assert_true(set.svcs[1]->publish_not_ready);
	assert_int_equal(set.npods, 1);
	assert_string_equal(set.pods[0]->hostname, "web-0");
	assert_string_equal(set.pods[0]->subdomain, "web");
	/* one struct endpoints per subset, numbered */
	assert_int_equal(set.neps, 2);
	e = set.eps[0];
	assert_int_equal(e->subset, 0);
	assert_int_equal(e->naddrs, 2);
	assert_string_equal(e->addrs[0].hostname, "a");
	assert_false(e->addrs[0].not_ready);
	assert_string_equal(e->addrs[1].hostname, "c");
	assert_true(e->addrs[1].not_ready);
	e = set.eps[1];
	assert_int_equal(e->subset, 1);
	assert_int_equal(e->naddrs, 2);
	assert_null(e->addrs[0].hostname);
	assert_int_equal(e->ports[0].proto, CIP_PROTO_UDP);
	objset_clear(&set);
	manifest_report_clear(&rep);
}

/* Subsets sharing an address give one pod with the ports of both. */
static void
test_endpoints_subsets_joined(void **state)
{
	struct vip_pool *vips;
	struct registry *r;
	struct pod *p;
	char err[256];

	(void)state;
	vips = vip_pool_new("127.96.0.0/16", NULL, err, sizeof(err));
	assert_non_null(vips);
	r = registry_new(vips);
	if (parse_apply(r, "h.yaml", headless_doc, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	p = registry_find_pod(r, "default", "old-127-0-50-1");
	assert_non_null(p);
	assert_string_equal(p->hostname, "a");
	assert_true(pod_ready(p));
	assert_int_equal(p->nports, 2);
	assert_string_equal(p->ports[0].name, "x");
	assert_int_equal(p->ports[0].port, 1000);
	assert_string_equal(p->ports[1].name, "y");
	assert_int_equal(p->ports[1].port, 2000);
	assert_int_equal(p->ports[1].proto, CIP_PROTO_UDP);
	p = registry_find_pod(r, "default", "old-127-0-50-2");
	assert_non_null(p);
	assert_null(p->hostname);
	assert_int_equal(p->nports, 1);
	p = registry_find_pod(r, "default", "old-127-0-50-3");
	assert_non_null(p);
	assert_false(pod_ready(p));
	assert_string_equal(p->hostname, "c");
	/* the Service publishes the not-ready one; the Pod's hostname holds */
	assert_true(pod_published(p, registry_find_service(r, "default",
	    "old")));
	p = registry_find_pod(r, "default", "web-0");
	assert_string_equal(pod_endpoint_hostname(p, registry_find_service(r,
	    "default", "web")), "web-0");
	registry_free(r);
	vip_pool_free(vips);
}

/* Bad hostnames are refused; an Endpoints object given twice too. */
static void
test_headless_fields_refused(void **state)
{
	static const char *const bad[] = {
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
	    "spec: {hostname: Web_0}\nstatus: {podIP: 127.0.0.1}\n",
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
	    "spec: {subdomain: a.b}\nstatus: {podIP: 127.0.0.1}\n",
	    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\n"
	    "subsets: [{addresses: [{ip: 127.0.0.1, hostname: \"-x\"}]}]\n",
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	    "spec: {publishNotReadyAddresses: maybe}\n",
	};
	static const char twice[] =
	    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\n"
	    "subsets: [{addresses: [{ip: 127.0.0.1}]}]\n"
	    "---\n"
	    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\n"
	    "subsets: [{addresses: [{ip: 127.0.0.2}]}]\n";
	struct objset set = { 0 };
	struct registry *r;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(bad); i++) {
		assert_int_equal(manifest_parse_buf(bad[i], strlen(bad[i]),
		    "b.yaml", &set, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "b.yaml:"));
		assert_int_equal(set.npods + set.nsvcs + set.neps, 0);
	}
	r = registry_new(NULL);
	assert_int_equal(parse_apply(r, "t.yaml", twice, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "endpoints default/e are defined twice"));
	assert_int_equal(registry_count_pods(r), 0);
	registry_free(r);
}

/* Refusals found across objects name the object's position too. */
static void
test_cross_object_refusals_name_position(void **state)
{
	struct vip_pool *pool;
	struct registry *r;
	char err[512];

	assert_non_null(pool = vip_pool_new("127.96.0.0/28", NULL, err,
	    sizeof(err)));
	assert_non_null(r = registry_new(pool));
	assert_int_not_equal(parse_apply(r, "f.yaml",
	    "kind: Pod\nmetadata: {name: p}\nstatus: {podIP: 127.0.0.1}\n"
	    "---\nkind: Service\nmetadata: {name: s}\nspec: {}\n---\n"
	    "kind: Pod\nmetadata: {name: p}\nstatus: {podIP: 127.0.0.2}\n",
	    err, sizeof(err)), 0);
	assert_string_equal(err, "f.yaml:9:1: pod default/p is defined twice "
	    "(first at line 1)");
	assert_int_not_equal(parse_apply(r, "f.yaml",
	    "kind: Service\nmetadata: {name: s}\nspec: {}\n---\n"
	    "kind: List\nitems:\n- {kind: Service, metadata: {name: s}, "
	    "spec: {}}\n",
	    err, sizeof(err)), 0);
	assert_string_equal(err, "f.yaml:7:3: service default/s is defined "
	    "twice (first at line 1)");
	assert_int_equal(parse_apply(r, "f.yaml",
	    "kind: Service\nmetadata: {name: a}\nspec: {clusterIP: "
	    "127.96.0.5}\n", err, sizeof(err)), 0);
	assert_int_not_equal(parse_apply(r, "g.yaml",
	    "kind: Pod\nmetadata: {name: q}\nstatus: {podIP: 127.0.0.1}\n"
	    "---\n"
	    "kind: Service\nmetadata: {name: b}\nspec: {clusterIP: "
	    "127.96.0.5}\n", err, sizeof(err)), 0);
	if (strncmp(err, "g.yaml:5:1: service default/b: clusterIP "
	    "127.96.0.5: ", 53) != 0 || strstr(err, "default/a") == NULL)
		fail_msg("%s", err);
	assert_int_not_equal(parse_apply(r, "g.yaml",
	    "\nkind: Service\nmetadata: {name: a}\nspec: {}\n", err,
	    sizeof(err)), 0);
	assert_string_equal(err, "g.yaml:2:1: service default/a is owned by "
	    "file f.yaml");
	assert_null(registry_find_service(r, "default", "b"));
	registry_free(r);
	vip_pool_free(pool);
}

/* Every truncation of the mixed file: objects or a clean error. */
static void
test_truncation_k8s_app(void **state)
{
	size_t len, n = strlen(k8s_app);
	char err[256];

	for (len = 0; len <= n; len++) {
		struct objset set = { 0 };
		struct manifest_report rep = { 0 };
		char *copy = malloc(len ? len : 1);
		memcpy(copy, k8s_app, len);
		err[0] = '\0';
		if (manifest_parse_buf(copy, len, "t.yaml", &set, &rep, err,
		    sizeof(err)) != 0) {
			assert_true(strncmp(err, "t.yaml:", 7) == 0);
			assert_int_equal(rep.nskips + rep.nwarns, 0);
		}
		objset_clear(&set);
		manifest_report_clear(&rep);
		free(copy);
	}
}

/*
 * A JSON document parsed into a tree gives what its text gives: every
 * kind, typed fields (numbers, booleans, null), and the same refusals.
 */
static void
test_parse_json_tree_as_text(void **state)
{
	static const char *const docs[] = {
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":"
	    "{\"name\":\"web\",\"namespace\":\"prod\",\"annotations\":"
	    "{\"clusterip.io/lb-algorithm\":\"round-robin\"}},\"spec\":"
	    "{\"selector\":{\"app\":\"web\"},\"clusterIP\":null,"
	    "\"publishNotReadyAddresses\":true,\"ports\":[{\"name\":\"h\","
	    "\"port\":80,\"targetPort\":\"http\"},{\"name\":\"u\","
	    "\"port\":53,\"protocol\":\"UDP\"}]}}",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
	    "{\"name\":\"p\",\"labels\":{\"app\":\"web\"}},\"spec\":"
	    "{\"containers\":[{\"ports\":[{\"name\":\"http\","
	    "\"containerPort\":8080}]}]},\"status\":{\"podIP\":"
	    "\"10.0.0.1\",\"conditions\":[{\"type\":\"Ready\","
	    "\"status\":\"False\"}]}}",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":"
	    "{\"name\":\"e\"},\"subsets\":[{\"addresses\":[{\"ip\":"
	    "\"10.0.0.2\",\"hostname\":\"h\"}],\"notReadyAddresses\":"
	    "[{\"ip\":\"fd00::3\"}],\"ports\":[{\"port\":5432}]}]}",
	};
	static const char *const bad[] = {
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":"
	    "{\"name\":\"x\"},\"spec\":{\"ports\":[{\"port\":\"80\"}]}}",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":"
	    "{\"name\":\"x\"},\"spec\":{\"ports\":[{\"port\":1.5}]}}",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
	    "{\"name\":7}}",
	};
	struct objset a, b;
	char err[512], err2[512];
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		assert_int_equal(manifest_parse_buf(docs[i], strlen(docs[i]),
		    "t", &a, NULL, err, sizeof(err)), 0);
		j = json_loads(docs[i], 0, NULL);
		assert_non_null(j);
		assert_int_equal(manifest_parse_json(j, "t", &b, NULL, err,
		    sizeof(err)), 0);
		json_decref(j);
		assert_int_equal(a.nsvcs, b.nsvcs);
		assert_int_equal(a.npods, b.npods);
		assert_int_equal(a.neps, b.neps);
		if (a.nsvcs == 1)
			assert_true(service_spec_equal(a.svcs[0], b.svcs[0]));
		if (a.npods == 1)
			assert_true(pod_spec_equal(a.pods[0], b.pods[0]));
		if (a.neps == 1) {
			assert_int_equal(a.eps[0]->naddrs, b.eps[0]->naddrs);
			assert_int_equal(a.eps[0]->addrs[1].not_ready,
			    b.eps[0]->addrs[1].not_ready);
			assert_string_equal(a.eps[0]->addrs[0].hostname,
			    b.eps[0]->addrs[0].hostname);
			assert_int_equal(a.eps[0]->ports[0].port,
			    b.eps[0]->ports[0].port);
		}
		objset_clear(&a);
		objset_clear(&b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&b, 0, sizeof(b));
		assert_int_not_equal(manifest_parse_buf(bad[i], strlen(bad[i]),
		    "t", &b, NULL, err, sizeof(err)), 0);
		j = json_loads(bad[i], 0, NULL);
		assert_non_null(j);
		assert_int_not_equal(manifest_parse_json(j, "t", &b, NULL,
		    err2, sizeof(err2)), 0);
		json_decref(j);
		assert_int_equal(b.nsvcs + b.npods + b.neps, 0);
		/* The same reason, at 1:1 rather than the text's position. */
		assert_string_equal(strchr(strchr(strchr(err, ':') + 1, ':') +
		    1, ':'), strchr(strchr(strchr(err2, ':') + 1, ':') + 1,
		    ':'));
	}
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
		cmocka_unit_test(test_parse_dual_stack),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_k8s_app_skips_other_kinds),
		cmocka_unit_test(test_list_items_skipped),
		cmocka_unit_test(test_error_beside_skipped_refuses),
		cmocka_unit_test(test_unknown_fields_warn),
		cmocka_unit_test(test_warnings_capped),
		cmocka_unit_test(test_external_name_trailing_dot),
		cmocka_unit_test(test_cross_object_refusals_name_position),
		cmocka_unit_test(test_truncation_k8s_app),
		cmocka_unit_test(test_parse_headless_fields),
		cmocka_unit_test(test_endpoints_subsets_joined),
		cmocka_unit_test(test_headless_fields_refused),
		cmocka_unit_test(test_parse_json_tree_as_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
