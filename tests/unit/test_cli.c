/* SPDX-License-Identifier: MIT */
/*
 * test_cli.c -- clusterip's flags, ages, tables, describe and YAML output;
 * libclusterip's server URLs, error messages, early replies and timeout.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "util.h"
#include "cli.h"
#include "clusterip/clusterip.h"
#include "lib_internal.h"

#define ALL	(~0u)

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL)
		fail_msg("fixture: %s", e.text);
	return j;
}

static void
test_age_kubectl(void **state)
{
	static const struct {
		long long	 secs;
		const char	*want;
	} cases[] = {
		{ 0, "0s" }, { 5, "5s" }, { 119, "119s" }, { 120, "2m" },
		{ 200, "3m20s" }, { 540, "9m" }, { 599, "9m59s" },
		{ 600, "10m" }, { 3599, "59m" }, { 10799, "179m" },
		{ 10800, "3h" }, { 3 * 3600 + 60, "3h1m" },
		{ 8 * 3600, "8h" }, { 47 * 3600 + 59, "47h" },
		{ 48 * 3600, "2d" }, { 52 * 3600, "2d4h" },
		{ 8 * 86400, "8d" }, { 729 * 86400, "729d" },
		{ 730 * 86400, "2y" }, { 731 * 86400, "2y1d" },
		{ 8 * 365 * 86400LL, "8y" }, { -1, "0s" }, { -2, "<invalid>" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(cases); i++) {
		cli_age(1000000000 + (time_t)cases[i].secs, 1000000000, buf,
		    sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%lld s: \"%s\", want \"%s\"", cases[i].secs,
			    buf, cases[i].want);
	}
	assert_string_equal(cli_age(100, 0, buf, sizeof(buf)), "<invalid>");
	assert_int_equal(cli_parse_time("2026-11-26T10:00:00Z"), 1795687200);
	assert_int_equal(cli_parse_time("2026-11-26T10:00:00"), 0);
	assert_int_equal(cli_parse_time("junk"), 0);
	assert_int_equal(cli_parse_time(NULL), 0);
}

static void
test_parse_flags(void **state)
{
	char *argv[] = { "svc", "-n", "kube-system", "--show-labels", "-owide",
	    "-l", "app=x,tier!=db", "backend", "--server=http://h:1" };
	char *argv2[] = { "web-1", "--label", "a=b", "--label=c=d", "--port",
	    "http=5000", "-p", "53/UDP", "--ttl", "2s", "--keepalive", "--ip",
	    "127.0.0.5", "-A", "--", "-x" };
	struct cli_opts o;
	char err[128];

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(cli_parse(CIP_ARRAY_LEN(argv), argv, ALL, &o, err,
	    sizeof(err)), 0);
	assert_int_equal(o.npos, 2);
	assert_string_equal(o.pos[0], "svc");
	assert_string_equal(o.pos[1], "backend");
	assert_string_equal(o.ns, "kube-system");
	assert_true(o.show_labels);
	assert_string_equal(o.output, "wide");
	assert_string_equal(o.selector, "app=x,tier!=db");
	assert_string_equal(o.server, "http://h:1");
	memset(&o, 0, sizeof(o));
	assert_int_equal(cli_parse(CIP_ARRAY_LEN(argv2), argv2, ALL, &o, err,
	    sizeof(err)), 0);
	assert_int_equal(o.nlabels, 2);
	assert_string_equal(o.labels[1], "c=d");
	assert_int_equal(o.nports, 2);
	assert_string_equal(o.ports[1], "53/UDP");
	assert_string_equal(o.ttl, "2s");
	assert_true(o.keepalive);
	assert_true(o.all_ns);
	assert_string_equal(o.ip, "127.0.0.5");
	assert_int_equal(o.npos, 2);
	assert_string_equal(o.pos[1], "-x");
}

static void
test_command_index(void **state)
{
	static const struct {
		const char	*args[6];
		int		 argc;
		int		 want;
	} cases[] = {
		{ { "clusterip", "get", "svc" }, 3, 1 },
		{ { "clusterip", "-n", "prod", "get", "pods" }, 5, 3 },
		{ { "clusterip", "--server", "unix:/s", "describe", "svc" },
		    5, 3 },
		{ { "clusterip", "--server=unix:/s", "get" }, 3, 2 },
		{ { "clusterip", "-A", "get", "pods" }, 4, 2 },
		{ { "clusterip", "-nprod", "get" }, 3, 2 },
		{ { "clusterip", "-o", "json", "-s", "x", "get" }, 6, 5 },
		{ { "clusterip", "--", "get" }, 3, 2 },
		{ { "clusterip", "--server", "get" }, 3, -1 },
		{ { "clusterip", "--help" }, 2, -1 },
		{ { "clusterip" }, 1, -1 },
	};
	char *argv[6];
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(cases); i++) {
		for (k = 0; k < cases[i].argc; k++)
			argv[k] = (char *)(uintptr_t)cases[i].args[k];
		if (cli_command_index(cases[i].argc, argv) != cases[i].want)
			fail_msg("case %zu: %d, want %d", i,
			    cli_command_index(cases[i].argc, argv),
			    cases[i].want);
	}
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*args[3];
		int		 argc;
		unsigned	 mask;
		const char	*reason;
	} bad[] = {
		{ { "--bogus" }, 1, ALL, "unknown flag: --bogus" },
		{ { "-z" }, 1, ALL, "unknown flag: -z" },
		{ { "-n" }, 1, ALL, "needs an argument" },
		{ { "-o", "xml" }, 2, ALL, "not wide, json or yaml" },
		{ { "--label", "novalue" }, 2, ALL, "KEY=VALUE" },
		{ { "--keepalive=yes" }, 1, ALL, "takes no argument" },
		{ { "-Ax" }, 1, ALL, "unknown flag" },
		{ { "--ttl", "2s" }, 2, CLI_FLAG(CLI_F_NAMESPACE),
		    "unknown flag: --ttl" },
		{ { "a", "b", "c" }, 3, ALL, NULL },
	};
	char *argv[6];
	struct cli_opts o;
	char err[128];
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(bad); i++) {
		memset(&o, 0, sizeof(o));
		for (k = 0; k < bad[i].argc; k++)
			argv[k] = (char *)(uintptr_t)bad[i].args[k];
		if (bad[i].reason == NULL) {
			/* Three positionals are fine, five are not. */
			assert_int_equal(cli_parse(bad[i].argc, argv,
			    bad[i].mask, &o, err, sizeof(err)), 0);
			argv[3] = "d";
			argv[4] = "e";
			memset(&o, 0, sizeof(o));
			assert_int_equal(cli_parse(5, argv, bad[i].mask, &o,
			    err, sizeof(err)), -1);
			continue;
		}
		err[0] = '\0';
		assert_int_equal(cli_parse(bad[i].argc, argv, bad[i].mask, &o,
		    err, sizeof(err)), -1);
		if (strstr(err, bad[i].reason) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", err, bad[i].reason);
	}
}

static void
test_table_alignment(void **state)
{
	static const char *hdr[] = { "NAME", "IP", "AGE" };
	static const char *r1[] = { "backend", "127.0.10.1", "5s" };
	static const char *r2[] = { "a", "", "2d4h" };
	struct cli_table t;
	FILE *fp;
	char *buf = NULL;
	size_t len;

	(void)state;
	fp = open_memstream(&buf, &len);
	assert_int_equal(cli_table_init(&t, 3, hdr), 0);
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	cli_table_print(&t, true, fp);
	cli_table_free(&t);
	fclose(fp);
	/* Width = longest + 3, at least 6; the last column unpadded. */
	assert_string_equal(buf,
	    "NAME      IP           AGE\n"
	    "backend   127.0.10.1   5s\n"
	    "a                      2d4h\n");
	free(buf);
}

static const char svc_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
    "\"backend\",\"namespace\":\"default\",\"creationTimestamp\":"
    "\"2026-11-26T10:00:00Z\",\"owner\":\"the API\"},\"spec\":{\"type\":"
    "\"ClusterIP\",\"selector\":{\"name\":\"backend\"},\"clusterIP\":"
    "\"127.96.0.7\",\"clusterIPs\":[\"127.96.0.7\"],\"ports\":[{\"port\":5000,"
    "\"targetPort\":5000,\"protocol\":\"TCP\"}],\"sessionAffinity\":\"None\","
    "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\"}}";
static const char ep_json[] =
    "{\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"backend\",\"namespace\":"
    "\"default\",\"creationTimestamp\":\"2026-11-26T10:00:00Z\"},"
    "\"subsets\":[{\"addresses\":[{\"ip\":\"127.0.10.1\"},{\"ip\":"
    "\"127.0.10.2\"}],\"notReadyAddresses\":[{\"ip\":\"127.0.10.9\"}],"
    "\"ports\":[{\"port\":5000,\"protocol\":\"TCP\"}]}]}";

static void
test_describe_contract(void **state)
{
	json_t *svc = load(svc_json), *ep = load(ep_json);
	FILE *fp;
	char *buf = NULL;
	size_t len;

	(void)state;
	fp = open_memstream(&buf, &len);
	cli_describe_service(svc, ep, fp);
	fclose(fp);
	assert_string_equal(buf,
	    "Name:              backend\n"
	    "Namespace:         default\n"
	    "Labels:            <none>\n"
	    "Annotations:       <none>\n"
	    "Selector:          name=backend\n"
	    "Type:              ClusterIP\n"
	    "IP Family Policy:  SingleStack\n"
	    "IP Families:       IPv4\n"
	    "IP:                127.96.0.7\n"
	    "IPs:               127.96.0.7\n"
	    "Port:              <unset>  5000/TCP\n"
	    "TargetPort:        5000/TCP\n"
	    "Endpoints:         127.0.10.1:5000,127.0.10.2:5000\n"
	    "Session Affinity:  None\n"
	    "Events:            <none>\n");
	free(buf);
	json_decref(svc);
	json_decref(ep);
}

static void
test_describe_labels_named_ports(void **state)
{
	json_t *svc = load("{\"metadata\":{\"name\":\"web\",\"namespace\":"
	    "\"prod\",\"labels\":{\"tier\":\"front\",\"app\":\"shop\"},"
	    "\"annotations\":{\"note\":\"a, b\"}},\"spec\":{\"type\":"
	    "\"ClusterIP\",\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"],"
	    "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"web\","
	    "\"protocol\":\"TCP\"}],\"sessionAffinity\":\"ClientIP\"}}");
	json_t *ep = load("{\"subsets\":[]}");
	FILE *fp;
	char *buf = NULL;
	size_t len;

	(void)state;
	fp = open_memstream(&buf, &len);
	cli_describe_service(svc, ep, fp);
	fclose(fp);
	assert_string_equal(buf,
	    "Name:              web\n"
	    "Namespace:         prod\n"
	    "Labels:            app=shop\n"
	    "                   tier=front\n"
	    "Annotations:       note=a, b\n"
	    "Selector:          <none>\n"
	    "Type:              ClusterIP\n"
	    "IP Families:       <none>\n"
	    "IP:                None\n"
	    "IPs:               None\n"
	    "Port:              http  80/TCP\n"
	    "TargetPort:        web/TCP\n"
	    "Endpoints:         <none>\n"
	    "Session Affinity:  ClientIP\n"
	    "Events:            <none>\n");
	free(buf);
	json_decref(svc);
	json_decref(ep);
}

/* Another host's VIP this host cannot serve: one line each, before Events. */
static void
test_describe_not_served(void **state)
{
	json_t *svc = load("{\"metadata\":{\"name\":\"web\"},\"spec\":"
	    "{\"type\":\"ClusterIP\",\"clusterIP\":\"127.96.0.5\","
	    "\"clusterIPs\":[\"127.96.0.5\",\"fd00:ca::5\"],\"ports\":[]},"
	    "\"status\":{\"proxyMode\":\"userspace\",\"vipsNotServed\":"
	    "[{\"ip\":\"fd00:ca::5\",\"reason\":\"no route\"}]}}");
	json_t *ep = load("{\"subsets\":[]}");
	FILE *fp;
	char *buf = NULL;
	size_t len;

	(void)state;
	fp = open_memstream(&buf, &len);
	cli_describe_service(svc, ep, fp);
	fclose(fp);
	assert_non_null(strstr(buf, "Session Affinity:  None\n"
	    "Not Served Here:   fd00:ca::5 (no route)\n"
	    "Events:            <none>\n"));
	free(buf);
	json_decref(svc);
	json_decref(ep);
}

static void
test_format_endpoints(void **state)
{
	json_t *ep = load("{\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"},"
	    "{\"ip\":\"10.0.0.2\"},{\"ip\":\"10.0.0.3\"},{\"ip\":\"10.0.0.4\"}],"
	    "\"ports\":[{\"name\":\"http\",\"port\":80},{\"name\":\"dns\","
	    "\"port\":53}]}]}");
	char *s;

	(void)state;
	s = cli_format_endpoints(ep, "dns");
	assert_string_equal(s, "10.0.0.1:53,10.0.0.2:53,10.0.0.3:53 + 1 "
	    "more...");
	free(s);
	s = cli_format_endpoints(ep, NULL);
	assert_string_equal(s, "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 5 "
	    "more...");
	free(s);
	s = cli_format_endpoints(ep, "none");
	assert_string_equal(s, "<none>");
	free(s);
	json_decref(ep);
}

static void
test_get_tables(void **state)
{
	json_t *items = json_pack("[O]", load(svc_json));
	json_t *pods = load("[{\"metadata\":{\"name\":\"backend-1\","
	    "\"namespace\":\"default\",\"labels\":{\"name\":\"backend\"},"
	    "\"creationTimestamp\":\"2026-11-26T10:00:00Z\"},\"status\":{"
	    "\"phase\":\"Running\",\"podIP\":\"127.0.10.1\",\"conditions\":["
	    "{\"type\":\"Ready\",\"status\":\"True\"}]}},{\"metadata\":{\"name\":"
	    "\"b2\",\"namespace\":\"default\",\"creationTimestamp\":"
	    "\"2026-11-26T09:00:00Z\"},\"status\":{\"podIP\":\"127.0.10.2\","
	    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}]");
	struct cli_view v = { .now = 1795687200 + 200 };
	FILE *fp;
	char *buf = NULL;
	size_t len;

	(void)state;
	json_decref(json_array_get(items, 0));	/* "O" took a reference */
	fp = open_memstream(&buf, &len);
	cli_print_services(items, &v, fp);
	fclose(fp);
	assert_string_equal(buf,
	    "NAME      TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)    AGE\n"
	    "backend   ClusterIP   127.96.0.7   <none>        5000/TCP   3m20s\n");
	free(buf);
	buf = NULL;
	v.wide = true;
	v.show_labels = true;
	v.all_ns = true;
	fp = open_memstream(&buf, &len);
	cli_print_pods(pods, &v, fp);
	fclose(fp);
	assert_string_equal(buf,
	    "NAMESPACE   NAME        READY   STATUS    RESTARTS   AGE     IP"
	    "           NODE     NOMINATED NODE   READINESS GATES   LABELS\n"
	    "default     backend-1   1/1     Running   0          3m20s   "
	    "127.0.10.1   <none>   <none>           <none>            "
	    "name=backend\n"
	    "default     b2          0/1     Running   0          63m     "
	    "127.0.10.2   <none>   <none>           <none>            <none>\n");
	free(buf);
	json_decref(items);
	json_decref(pods);
}

static void
test_yaml_output(void **state)
{
	json_t *doc = load("{\"kind\":\"Service\",\"spec\":{\"ports\":[{"
	    "\"port\":5000,\"name\":\"5000\"}],\"flag\":\"true\",\"empty\":\"\","
	    "\"ok\":true,\"none\":null,\"list\":[],\"map\":{},\"colon\":\"a: b\","
	    "\"ts\":\"2026-11-26T10:00:00Z\",\"ip\":\"127.0.0.1\"}}");
	FILE *fp;
	char *buf = NULL;
	size_t len;

	(void)state;
	fp = open_memstream(&buf, &len);
	assert_int_equal(cli_print_yaml(doc, fp), 0);
	fclose(fp);
	assert_string_equal(buf,
	    "kind: Service\n"
	    "spec:\n"
	    "  ports:\n"
	    "  - port: 5000\n"
	    "    name: '5000'\n"
	    "  flag: 'true'\n"
	    "  empty: ''\n"
	    "  ok: true\n"
	    "  none: null\n"
	    "  list: []\n"
	    "  map: {}\n"
	    "  colon: 'a: b'\n"
	    "  ts: '2026-11-26T10:00:00Z'\n"
	    "  ip: 127.0.0.1\n");
	free(buf);
	json_decref(doc);
}

/* apply prints kubectl's lines in file order, warnings on stderr. */
static void
test_print_apply(void **state)
{
	const char *reply = "{\"kind\": \"ApplyResult\", \"items\": ["
	    "{\"kind\": \"Service\", \"name\": \"backend\", \"action\": "
	    "\"created\", \"line\": 33, \"column\": 1},"
	    "{\"kind\": \"Pod\", \"name\": \"backend-1\", \"action\": "
	    "\"unchanged\", \"line\": 2, \"column\": 1},"
	    "{\"kind\": \"Endpoints\", \"name\": \"e\", \"action\": "
	    "\"configured\"}],"
	    "\"skipped\": [{\"kind\": \"Deployment\", \"apiVersion\": "
	    "\"apps/v1\", \"name\": \"backend\", \"reason\": \"clusterip does "
	    "not run workloads\", \"line\": 14, \"column\": 1},"
	    "{\"kind\": \"ConfigMap\", \"apiVersion\": \"v1\", \"reason\": "
	    "\"r\", \"line\": 20, \"column\": 1},"
	    "{\"kind\": \"Ingress\", \"apiVersion\": "
	    "\"networking.k8s.io/v1\", \"name\": \"web\", \"reason\": \"r\", "
	    "\"line\": 40, \"column\": 1}],"
	    "\"warnings\": [{\"position\": \"f:35:3\", \"message\": "
	    "\"unknown field \\\"spec.selectr\\\"\"}]}";
	json_t *doc = json_loads(reply, 0, NULL);
	char *out, *err;
	size_t outlen, errlen;
	FILE *fo, *fe;

	assert_non_null(doc);
	fo = open_memstream(&out, &outlen);
	fe = open_memstream(&err, &errlen);
	assert_int_equal(cli_print_apply(doc, fo, fe), 6);
	fclose(fo);
	fclose(fe);
	assert_string_equal(out,
	    "endpoints/e configured\n"
	    "pod/backend-1 unchanged\n"
	    "deployment.apps/backend skipped (clusterip does not run "
	    "workloads)\n"
	    "configmap skipped (r)\n"
	    "service/backend created\n"
	    "ingress.networking.k8s.io/web skipped (r)\n");
	assert_string_equal(err, "Warning: f:35:3: unknown field "
	    "\"spec.selectr\"\n");
	free(out);
	free(err);
	json_decref(doc);
}

static void
test_no_headers_prefix(void **state)
{
	json_t *pods = load("[{\"metadata\":{\"name\":\"backend-1\","
	    "\"namespace\":\"default\",\"creationTimestamp\":"
	    "\"2026-11-26T10:00:00Z\"},\"status\":{\"phase\":\"Running\","
	    "\"podIP\":\"127.0.10.1\",\"conditions\":[{\"type\":\"Ready\","
	    "\"status\":\"True\"}]}}]");
	struct cli_view v = { .now = 1795687200 + 200 };
	char *argv[] = { "all", "--no-headers" };
	struct cli_opts o;
	char *buf = NULL, err[64];
	size_t len;
	FILE *fp;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(cli_parse(CIP_ARRAY_LEN(argv), argv, ALL, &o, err,
	    sizeof(err)), 0);
	assert_true(o.no_headers);
	/* Widths come from the rows printed, kubectl's minimum 6 kept. */
	v.no_headers = true;
	v.prefix = "pod/";
	fp = open_memstream(&buf, &len);
	cli_print_pods(pods, &v, fp);
	fclose(fp);
	assert_string_equal(buf,
	    "pod/backend-1   1/1   Running   0     3m20s\n");
	free(buf);
	buf = NULL;
	v.no_headers = false;
	v.all_ns = true;
	fp = open_memstream(&buf, &len);
	cli_print_pods(pods, &v, fp);
	fclose(fp);
	assert_string_equal(buf,
	    "NAMESPACE   NAME            READY   STATUS    RESTARTS   AGE\n"
	    "default     pod/backend-1   1/1     Running   0          3m20s\n");
	free(buf);
	json_decref(pods);
}

static void
test_parse_kinds(void **state)
{
	const char *k[CLI_MAX_KINDS];
	char err[128];
	size_t n;

	(void)state;
	assert_int_equal(cli_parse_kinds("svc,pods", k, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(k[0], "services");
	assert_string_equal(k[1], "pods");
	assert_int_equal(cli_parse_kinds("all", k, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(k[0], "pods");
	assert_string_equal(k[1], "services");
	assert_string_equal(k[2], "endpoints");
	/* Each kind once, in the order first named. */
	assert_int_equal(cli_parse_kinds("ep,all,po,svc", k, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(k[0], "endpoints");
	assert_string_equal(k[1], "pods");
	assert_int_equal(cli_parse_kinds("service", k, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(cli_parse_kinds("svc,nodes", k, &n, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "\"nodes\""));
	assert_int_equal(cli_parse_kinds("svc,", k, &n, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_kinds(",svc", k, &n, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_kinds("", k, &n, err, sizeof(err)), -1);
	assert_int_equal(cli_parse_kinds(NULL, k, &n, err, sizeof(err)), -1);
	assert_string_equal(cli_kind_name("services"), "service");
	assert_string_equal(cli_kind_name("pods"), "pod");
	assert_string_equal(cli_kind_name("endpoints"), "endpoints");
}

static void
test_api_path(void **state)
{
	char buf[64], *q;

	(void)state;
	assert_int_equal(cli_api_path(buf, sizeof(buf), "pods", "default",
	    "web-1", "/heartbeat"), 0);
	assert_string_equal(buf, "/v1/pods/default/web-1/heartbeat");
	assert_int_equal(cli_api_path(buf, sizeof(buf), "services", NULL, NULL,
	    "?labelSelector=a"), 0);
	assert_string_equal(buf, "/v1/services?labelSelector=a");
	assert_int_equal(cli_api_path(buf, sizeof(buf), "services", "prod",
	    NULL, NULL), 0);
	assert_string_equal(buf, "/v1/services/prod");
	/* A name cannot leave its segment nor add a query. */
	assert_int_equal(cli_api_path(buf, sizeof(buf), "pods", "default",
	    "../x?y=1 z", NULL), 0);
	assert_string_equal(buf, "/v1/pods/default/..%2Fx%3Fy%3D1%20z");
	assert_int_equal(cli_api_path(buf, 16, "pods", "default", "web-1",
	    NULL), -1);
	assert_non_null(q = cli_query_escape("name in (a,b),tier!=db"));
	assert_string_equal(q, "name%20in%20%28a%2Cb%29%2Ctier%21%3Ddb");
	free(q);
}

static void
test_api_error(void **state)
{
	static const char e409[] = "{\"error\": \"service default/backend is "
	    "owned by file /m/service.yaml\"}";
	char buf[256];

	(void)state;
	cli_api_error(409, e409, strlen(e409), buf, sizeof(buf));
	assert_string_equal(buf, "service default/backend is owned by file "
	    "/m/service.yaml (HTTP 409)");
	cli_api_error(413, "<html>", 6, buf, sizeof(buf));
	assert_string_equal(buf, "the request is larger than the server "
	    "accepts (HTTP 413)");
	cli_api_error(502, "", 0, buf, sizeof(buf));
	assert_string_equal(buf, "the server answered HTTP 502");
	cli_api_error(500, NULL, 0, buf, sizeof(buf));
	assert_string_equal(buf, "the server answered HTTP 500");
	cli_conn_error("cannot reach http://127.0.0.1:9901: Connection refused",
	    ECONNREFUSED, "http://127.0.0.1:9901", buf, sizeof(buf));
	assert_string_equal(buf, "cannot reach http://127.0.0.1:9901: "
	    "Connection refused; is clusteripd running? set CLUSTERIP_SERVER "
	    "or --server (now http://127.0.0.1:9901)");
	cli_conn_error("cannot reach unix:/x: timed out", ETIMEDOUT, "unix:/x",
	    buf, sizeof(buf));
	assert_string_equal(buf, "cannot reach unix:/x: timed out");
}

static void
test_dns_address(void **state)
{
	static const struct {
		const char *doc, *server, *want;
	} cases[] = {
		{ "{\"dnsListen\":[\"127.0.0.1:5300\",\"[::1]:53\"]}",
		    "http://127.0.0.1:9901", "127.0.0.1:5300" },
		{ "{\"dnsListen\":[\"0.0.0.0:53\"]}", "http://10.1.2.3:9901",
		    "10.1.2.3:53" },
		{ "{\"dnsListen\":[\"0.0.0.0:53\"]}", "unix:/run/api.sock",
		    "127.0.0.1:53" },
		{ "{\"dnsListen\":[\"0.0.0.0\"]}", "http://localhost:9901",
		    "127.0.0.1" },
		{ "{\"dnsListen\":[\"[::]:5353\"]}", NULL, "[::1]:5353" },
		{ "{\"dnsListen\":[\"fd00::1\"]}", NULL, "[fd00::1]:53" },
	};
	json_t *doc;
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < CIP_ARRAY_LEN(cases); i++) {
		doc = load(cases[i].doc);
		assert_int_equal(cli_dns_address(doc, cases[i].server, buf,
		    sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].want);
		json_decref(doc);
	}
	doc = load("{\"version\":\"0.1.0\",\"dnsListen\":[]}");
	assert_int_equal(cli_dns_address(doc, NULL, buf, sizeof(buf)), -1);
	json_decref(doc);
	assert_int_equal(cli_dns_address(NULL, NULL, buf, sizeof(buf)), -1);
}

static void
test_describe_pod(void **state)
{
	json_t *pod = load("{\"kind\":\"Pod\",\"metadata\":{\"name\":"
	    "\"backend-1\",\"namespace\":\"default\",\"labels\":{\"tier\":"
	    "\"back\",\"name\":\"backend\"},\"owner\":\"file /m/pods.yaml\"},"
	    "\"spec\":{\"containers\":[{\"name\":\"main\",\"ports\":[{"
	    "\"containerPort\":5000,\"name\":\"http\",\"protocol\":\"TCP\"},{"
	    "\"containerPort\":53,\"protocol\":\"UDP\"}]}]},\"status\":{"
	    "\"conditions\":[{\"status\":\"True\",\"type\":\"Ready\"}],"
	    "\"phase\":\"Running\",\"podIP\":\"127.0.10.1\",\"podIPs\":[{"
	    "\"ip\":\"127.0.10.1\"}],\"startTime\":\"2026-12-07T19:28:34Z\"}}");
	char *buf = NULL;
	size_t len;
	FILE *fp;

	(void)state;
	fp = open_memstream(&buf, &len);
	cli_describe_pod(pod, fp);
	fclose(fp);
	assert_string_equal(buf,
	    "Name:             backend-1\n"
	    "Namespace:        default\n"
	    "Start Time:       Mon, 07 Dec 2026 19:28:34 +0000\n"
	    "Labels:           name=backend\n"
	    "                  tier=back\n"
	    "Annotations:      <none>\n"
	    "Status:           Running\n"
	    "IP:               127.0.10.1\n"
	    "IPs:\n"
	    "  IP:  127.0.10.1\n"
	    "Owner:            file /m/pods.yaml\n"
	    "Containers:\n"
	    "  main:\n"
	    "    Ports:  5000/TCP (http), 53/UDP\n"
	    "    Ready:  True\n"
	    "Conditions:\n"
	    "  Type   Status\n"
	    "  Ready  True\n"
	    "Events:           <none>\n");
	free(buf);
	json_decref(pod);
}

static void
test_url_parse(void **state)
{
	struct cip_url u;
	char err[256], longp[200];

	(void)state;
	assert_int_equal(cip_url_parse("http://127.0.0.1:9901", &u, err,
	    sizeof(err)), 0);
	assert_false(u.is_unix);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 9901);
	assert_int_equal(cip_url_parse("http://localhost", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.host, "localhost");
	assert_int_equal(u.port, 9901);
	assert_int_equal(cip_url_parse("HTTP://[::1]:80/", &u, err,
	    sizeof(err)), 0);
	assert_int_equal(u.port, 80);
	assert_int_equal(cip_url_parse("unix:/run/clusterip/api.sock", &u,
	    err, sizeof(err)), 0);
	assert_true(u.is_unix);
	assert_string_equal(u.path, "/run/clusterip/api.sock");
	assert_int_equal(cip_url_parse("unix:///run/api.sock", &u, err,
	    sizeof(err)), 0);
	assert_true(u.is_unix);
	assert_string_equal(u.path, "/run/api.sock");
	assert_int_equal(cip_url_parse("unix:api.sock", &u, err, sizeof(err)),
	    0);
	assert_string_equal(u.path, "api.sock");
	/* Refused, each with a reason. */
	assert_int_equal(cip_url_parse("unix:", &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unix:/PATH"));
	assert_int_equal(cip_url_parse("unix://host/x", &u, err, sizeof(err)),
	    -1);
	assert_int_equal(cip_url_parse("unix://", &u, err, sizeof(err)), -1);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	{
		char url[256];

		snprintf(url, sizeof(url), "unix:%s", longp);
		assert_int_equal(cip_url_parse(url, &u, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "too long"));
	}
	assert_int_equal(cip_url_parse("ftp://x", &u, err, sizeof(err)), -1);
	assert_int_equal(cip_url_parse("http://", &u, err, sizeof(err)), -1);
	assert_int_equal(cip_url_parse("/run/api.sock", &u, err, sizeof(err)),
	    -1);
	assert_int_equal(cip_url_parse("", &u, err, sizeof(err)), -1);
}

static void
test_url_request(void **state)
{
	struct cip_url u;
	char buf[64], err[128];

	(void)state;
	assert_int_equal(cip_url_parse("http://127.0.0.1", &u, err,
	    sizeof(err)), 0);
	assert_int_equal(cip_url_request(&u, "/v1/pods/default/web-1", buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "http://127.0.0.1:9901/v1/pods/default/web-1");
	assert_string_equal(cip_url_where(&u, buf, sizeof(buf)),
	    "http://127.0.0.1:9901");
	assert_int_equal(cip_url_parse("http://[::1]:8080/", &u, err,
	    sizeof(err)), 0);
	assert_int_equal(cip_url_request(&u, "/healthz", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://[::1]:8080/healthz");
	assert_int_equal(cip_url_parse("unix:/run/api.sock", &u, err,
	    sizeof(err)), 0);
	assert_int_equal(cip_url_request(&u, "/v1/services?labelSelector=a%3Db",
	    buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://localhost/v1/services?labelSelector="
	    "a%3Db");
	assert_string_equal(cip_url_where(&u, buf, sizeof(buf)),
	    "unix:/run/api.sock");
	/* Refused: no leading slash, spaces, line breaks, too long. */
	assert_int_equal(cip_url_request(&u, "v1/pods", buf, sizeof(buf)), -1);
	assert_int_equal(cip_url_request(&u, "/v1/a b", buf, sizeof(buf)), -1);
	assert_int_equal(cip_url_request(&u, "/v1\r\nX: y", buf, sizeof(buf)),
	    -1);
	assert_int_equal(cip_url_request(&u, "/v1/services/default/"
	    "a-name-long-enough-to-overflow", buf, sizeof(buf)), -1);
	/* The host keeps to a host. */
	assert_int_equal(cip_url_parse("http://a b", &u, err, sizeof(err)), -1);
}

static void
test_curl_error(void **state)
{
	char err[256];

	(void)state;
	cip_curl_error(CURLE_COULDNT_CONNECT, ECONNREFUSED, "Failed to connect",
	    "http://127.0.0.1:1", err, sizeof(err));
	assert_string_equal(err, "cannot reach http://127.0.0.1:1: Connection "
	    "refused");
	cip_curl_error(CURLE_COULDNT_CONNECT, ENOENT, NULL, "unix:/x.sock",
	    err, sizeof(err));
	assert_string_equal(err, "cannot reach unix:/x.sock: No such file or "
	    "directory");
	cip_curl_error(CURLE_OPERATION_TIMEDOUT, 0, "Operation timed out after "
	    "200 milliseconds", "unix:/x.sock", err, sizeof(err));
	assert_string_equal(err, "cannot reach unix:/x.sock: timed out");
	cip_curl_error(CURLE_COULDNT_RESOLVE_HOST, 0, "Could not resolve host: "
	    "nohost", "http://nohost:9901", err, sizeof(err));
	assert_string_equal(err, "cannot reach http://nohost:9901: Could not "
	    "resolve host: nohost");
	cip_curl_error(CURLE_GOT_NOTHING, 0, "", "http://h:1", err,
	    sizeof(err));
	assert_string_equal(err, "http://h:1: connection closed without a "
	    "reply");
	cip_curl_error(CURLE_WEIRD_SERVER_REPLY, 0, NULL, "http://h:1", err,
	    sizeof(err));
	assert_non_null(strstr(err, "http://h:1: "));
	assert_true(strlen(err) > strlen("http://h:1: "));
}

/*
 * A server that answers 413 as soon as it has the request head, then
 * reads and drops the body (what clusteripd does): the client gets that
 * reply, not a send error.
 */
static void
test_early_reply(void **state)
{
	static const char reply[] = "HTTP/1.1 413 Payload Too Large\r\n"
	    "Content-Type: application/json\r\nContent-Length: 21\r\n"
	    "Connection: close\r\n\r\n{\"error\": \"too big\"}\n";
	struct sockaddr_un sun;
	struct cip_client *c;
	struct cip_reply r;
	char dir[] = "/tmp/test_cli.XXXXXX", url[160], err[256], buf[4096];
	char *body, *head = NULL;
	size_t len = 4u << 20, hl = 0;
	ssize_t n;
	pid_t pid;
	int lfd, fd, st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/api.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	if ((pid = fork()) == 0) {
		alarm(20);
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		/* Up to the end of the head, then the reply at once. */
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			if ((head = realloc(head, hl + (size_t)n + 1)) == NULL)
				_exit(1);
			memcpy(head + hl, buf, (size_t)n);
			hl += (size_t)n;
			head[hl] = '\0';
			if (strstr(head, "\r\n\r\n") != NULL)
				break;
		}
		if (write(fd, reply, sizeof(reply) - 1) !=
		    (ssize_t)sizeof(reply) - 1)
			_exit(1);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	assert_true(pid > 0);
	close(lfd);
	assert_non_null(body = malloc(len));
	memset(body, '#', len);
	snprintf(url, sizeof(url), "unix:%s", sun.sun_path);
	assert_non_null(c = cip_client_new(url, "tok", err, sizeof(err)));
	cip_client_set_timeout(c, 10000);
	if (cip_client_request(c, "POST", "/v1/apply", "application/yaml",
	    body, len, &r, err, sizeof(err)) != 0)
		fail_msg("early 413: %s", err);
	assert_int_equal(r.status, 413);
	assert_string_equal(r.body, "{\"error\": \"too big\"}\n");
	assert_string_equal(r.content_type, "application/json");
	cip_reply_clear(&r);
	cip_client_free(c);
	free(body);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(sun.sun_path);
	rmdir(dir);
}

/*
 * A unix socket whose listen queue is full (a daemon that does not
 * accept): the request ends with the client's timeout, not never. The
 * alarm only turns a hang into a failure.
 */
static void
test_unix_full_backlog(void **state)
{
	struct sockaddr_un sun;
	struct cip_client *c;
	struct cip_reply r;
	char dir[] = "/tmp/test_cli.XXXXXX", url[160], err[256];
	int lfd, fds[8], i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/api.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	/* Fill the queue: non-blocking connects until one is refused. */
	for (i = 0; i < 8; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fds[i] >= 0);
		if (connect(fds[i], (struct sockaddr *)&sun, sizeof(sun)) != 0)
			break;
	}
	assert_true(i < 8);
	snprintf(url, sizeof(url), "unix:%s", sun.sun_path);
	c = cip_client_new(url, NULL, err, sizeof(err));
	assert_non_null(c);
	cip_client_set_timeout(c, 200);
	alarm(20);
	assert_int_equal(cip_client_request(c, "GET", "/healthz", NULL, NULL,
	    0, &r, err, sizeof(err)), -1);
	alarm(0);
	if (strstr(err, "timed out") == NULL)
		fail_msg("not a timeout: %s", err);
	cip_client_free(c);
	for (; i >= 0; i--)
		close(fds[i]);
	close(lfd);
	unlink(sun.sun_path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age_kubectl),
		cmocka_unit_test(test_parse_flags),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_command_index),
		cmocka_unit_test(test_table_alignment),
		cmocka_unit_test(test_describe_contract),
		cmocka_unit_test(test_describe_labels_named_ports),
		cmocka_unit_test(test_describe_not_served),
		cmocka_unit_test(test_format_endpoints),
		cmocka_unit_test(test_print_apply),
		cmocka_unit_test(test_get_tables),
		cmocka_unit_test(test_yaml_output),
		cmocka_unit_test(test_no_headers_prefix),
		cmocka_unit_test(test_parse_kinds),
		cmocka_unit_test(test_api_path),
		cmocka_unit_test(test_api_error),
		cmocka_unit_test(test_dns_address),
		cmocka_unit_test(test_describe_pod),
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_url_request),
		cmocka_unit_test(test_curl_error),
		cmocka_unit_test(test_early_reply),
		cmocka_unit_test(test_unix_full_backlog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
