/* SPDX-License-Identifier: MIT */
/*
 * test_docker.c -- the Docker provider's pure parts: the event stream cut
 * into messages and the JSON -> pod, id list and event translations,
 * the Service that clusterip.io/ labels define, with the shapes Docker
 * 20.10 sends.
 */
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

#include "util.h"
#include "registry.h"
#include "linebuf.h"
#include "docker_pod.h"
#include "docker_svc.h"
#include <jansson.h>
#include "objjson.h"
#include "manifest.h"
#include "cluster_int.h"

#define ID1 "3f2a9c0d1e2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"
#define ID2 "aa2a9c0d1e2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"

/* What docker inspect gives for a compose backend (trimmed). */
static const char inspect_backend[] =
    "{\"Id\":\"" ID1 "\",\"Name\":\"/demo_backend1_1\","
    "\"State\":{\"Status\":\"running\",\"Running\":true,\"Paused\":false,"
    "\"Restarting\":false,\"Pid\":42%s},"
    "\"Config\":{\"Hostname\":\"3f2a9c0d1e2b\",\"ExposedPorts\":"
    "{\"5000/tcp\":{},\"53/udp\":{}},\"Labels\":{\"name\":\"backend\","
    "\"com.docker.compose.project\":\"demo\","
    "\"com.docker.compose.project.working_dir\":\"/src/demo/compose\","
    "\"com.docker.compose.service\":\"backend1\"}},"
    "\"NetworkSettings\":{\"Networks\":{\"demo_svcnet\":{\"IPAddress\":"
    "\"172.29.0.3\",\"IPPrefixLen\":24},\"bridge\":{\"IPAddress\":"
    "\"172.17.0.2\"}}}}";

static char *
inspect_with(const char *health)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), inspect_backend, health);
	return buf;
}

/* What the event stream's lines became: kinds and ids, in order. */
struct lines_seen {
	char	 got[512];
	size_t	 n;
	int	 stop_at;	/* line number whose callback stops, or 0 */
};

static int
lines_cb(const char *line, size_t len, void *arg)
{
	struct lines_seen *ls = arg;
	char id[DOCKER_ID_MAX + 1] = "";
	size_t off = strlen(ls->got);
	enum docker_event_kind kind;

	ls->n++;
	kind = docker_event_parse(line, len, id);
	snprintf(ls->got + off, sizeof(ls->got) - off, "%d:%.4s ", (int)kind,
	    kind != DOCKER_EVENT_IGNORE ? id : "");
	return ls->n == (size_t)ls->stop_at ? -1 : 0;
}

/* GET /events bytes in pieces of every size make the same messages. */
static void
test_docker_events_lines_pieces(void **state)
{
	static const char stream[] = "{\"Type\":\"container\",\"Action\":"
	    "\"start\",\"Actor\":{\"ID\":\"" ID1 "\"}}\n"
	    "\n{\"Type\":\"container\",\"Action\":\"destroy\",\"Actor\":{"
	    "\"ID\":\"" ID2 "\"}}\n{\"Type\":\"container\",\"Action\":\"st";
	struct lines_seen ls;
	struct linebuf lb;
	size_t step, off, n, len = strlen(stream);

	for (step = 1; step <= len; step++) {
		memset(&ls, 0, sizeof(ls));
		linebuf_init(&lb, 200);
		for (off = 0; off < len; off += n) {
			n = MINIMUM(step, len - off);
			assert_int_equal(linebuf_feed(&lb, stream + off, n,
			    lines_cb, &ls), 0);
		}
		assert_string_equal(ls.got, "1:3f2a 0: 2:aa2a ");
		assert_int_equal(lb.len, 32);	/* the unfinished one */
		linebuf_clear(&lb);
	}
}

/* A message over the cap breaks the stream; those before it count. */
static void
test_docker_events_lines_too_long(void **state)
{
	struct lines_seen ls;
	struct linebuf lb;
	char big[64];

	memset(&ls, 0, sizeof(ls));
	memset(big, 'x', sizeof(big));
	linebuf_init(&lb, 16);
	assert_int_equal(linebuf_feed(&lb, "{}\n0123456789abcdef\n", 20,
	    lines_cb, &ls), 0);
	assert_int_equal(ls.n, 2);	/* exactly the cap is fine */
	assert_int_equal(linebuf_feed(&lb, "{}\n0123", 7, lines_cb, &ls), 0);
	assert_int_equal(linebuf_feed(&lb, big, sizeof(big), lines_cb, &ls),
	    ERR_INVAL);
	assert_int_equal(ls.n, 3);
	assert_int_equal(lb.len, 0);
	assert_int_equal(linebuf_feed(&lb, big, 17, lines_cb, &ls),
	    ERR_INVAL);
	big[17] = '\n';
	assert_int_equal(linebuf_feed(&lb, big, 18, lines_cb, &ls),
	    ERR_INVAL);
	assert_int_equal(ls.n, 3);
	linebuf_clear(&lb);

	/* A callback that stops ends the feed there. */
	memset(&ls, 0, sizeof(ls));
	ls.stop_at = 2;
	assert_int_equal(linebuf_feed(&lb, "a\nb\nc\n", 6, lines_cb, &ls),
	    1);
	assert_int_equal(ls.n, 2);
	linebuf_clear(&lb);
}

static void
test_docker_pod_from_inspect_compose(void **state)
{
	const char *js = inspect_with("");
	char err[256], ip[INET_ADDRSTRLEN];
	struct pod *p;

	assert_int_equal(docker_pod_from_inspect(js, strlen(js), "svcnet", &p,
	    err, sizeof(err)), 0);
	assert_non_null(p);
	assert_string_equal(p->ns, "default");
	assert_string_equal(p->name, "demo-backend1-1");
	assert_string_equal(inet4_str(p->ip, ip), "172.29.0.3");
	assert_string_equal(labels_get(&p->labels, "name"), "backend");
	assert_string_equal(labels_get(&p->labels,
	    "com.docker.compose.service"), "backend1");
	/* A path is no label value. */
	assert_null(labels_get(&p->labels,
	    "com.docker.compose.project.working_dir"));
	assert_int_equal(p->nports, 2);
	assert_true(p->declared_ready);
	assert_true(pod_ready(p));
	pod_free(p);

	/* The full network name, and no name: the first by name. */
	assert_int_equal(docker_pod_from_inspect(js, strlen(js),
	    "demo_svcnet", &p, err, sizeof(err)), 0);
	assert_string_equal(inet4_str(p->ip, ip), "172.29.0.3");
	pod_free(p);
	assert_int_equal(docker_pod_from_inspect(js, strlen(js), NULL, &p,
	    err, sizeof(err)), 0);
	assert_string_equal(inet4_str(p->ip, ip), "172.17.0.2");
	pod_free(p);

	/* Not on that network: not a pod, and says why. */
	assert_int_equal(docker_pod_from_inspect(js, strlen(js), "other", &p,
	    err, sizeof(err)), 0);
	assert_null(p);
	assert_non_null(strstr(err, "no address on other"));
}

/*
 * A container published with -p 18080:5000 (NetworkSettings.Ports):
 * 5000/tcp gets hostPort 18080, the unpublished 53/udp none; published
 * at another host's view (the annotation) a Service's targetPort 5000
 * reaches 18080 and 53/udp nothing, and etcd's copy names ADDR.
 */
static void
test_docker_pod_published_ports(void **state)
{
	static const char js[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/web\","
	    "\"State\":{\"Running\":true},\"Config\":{\"ExposedPorts\":"
	    "{\"5000/tcp\":{},\"53/udp\":{}},\"Labels\":{\"app\":\"web\"}},"
	    "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":"
	    "\"172.17.0.2\"}},\"Ports\":{\"5000/tcp\":[{\"HostIp\":\"0.0.0.0\","
	    "\"HostPort\":\"18080\"},{\"HostIp\":\"::\",\"HostPort\":\"18080\"}],"
	    "\"53/udp\":null,\"9/tcp\":[{\"HostPort\":\"x\"}]}}}";
	static const char unpublished[] = "{\"Id\":\"" ID1 "\",\"Name\":"
	    "\"/w\",\"State\":{\"Running\":true},\"Config\":{\"ExposedPorts\":"
	    "{\"5000/tcp\":{}}},\"NetworkSettings\":{\"Networks\":{\"bridge\":"
	    "{\"IPAddress\":\"172.17.0.2\"}},\"Ports\":{\"5000/tcp\":[]}}}";
	struct svc_port web = { .port = 80, .target_port = 5000,
	    .proto = CIP_PROTO_TCP };
	struct svc_port dns = { .port = 53, .proto = CIP_PROTO_UDP };
	char err[256];
	struct pod *p;
	json_t *obj;
	size_t i;
	uint16_t hp5000 = 0, hp53 = 1;

	assert_int_equal(docker_pod_from_inspect(js, strlen(js), NULL, &p,
	    err, sizeof(err)), 0);
	assert_non_null(p);
	assert_int_equal(p->nports, 2);
	for (i = 0; i < p->nports; i++) {
		if (p->ports[i].port == 5000)
			hp5000 = p->ports[i].host_port;
		if (p->ports[i].port == 53)
			hp53 = p->ports[i].host_port;
	}
	assert_int_equal(hp5000, 18080);
	assert_int_equal(hp53, 0);
	/* Here: the container's own port. */
	assert_int_equal(pod_target_port(p, &web), 5000);
	assert_int_equal(pod_target_port(p, &dns), 53);
	p->owner.kind = OWNER_DOCKER;
	assert_true(cluster_pod_via_host(p));
	obj = objjson_pod(p, OBJJSON_MANIFEST);
	assert_non_null(obj);
	assert_int_equal(cluster_pod_publish(obj, "192.0.2.7"), 0);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(obj, "status"), "podIP")), "192.0.2.7");
	assert_null(json_object_get(json_object_get(obj, "status"), "podIPs"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(obj, "metadata"), "annotations"),
	    ANNOTATION_VIA_HOST_PORT)), "true");
	json_decref(obj);
	/*
	 * An IPv6 --advertise-address: the pod's only address, and what
	 * another host parses from etcd's copy is an IPv6 endpoint at the
	 * host port.
	 */
	assert_true(cluster_publish_addr_ok("192.0.2.7"));
	assert_true(cluster_publish_addr_ok("2001:db8::7"));
	assert_false(cluster_publish_addr_ok("fe80::7"));
	assert_false(cluster_publish_addr_ok("::"));
	assert_false(cluster_publish_addr_ok("host-b"));
	assert_false(cluster_publish_addr_ok(NULL));
	obj = objjson_pod(p, OBJJSON_MANIFEST);
	assert_non_null(obj);
	assert_int_equal(cluster_pod_publish(obj, "2001:db8::7"), 0);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(obj, "status"), "podIP")), "2001:db8::7");
	assert_null(json_object_get(json_object_get(obj, "status"), "podIPs"));
	{
		struct manifest_report rep;
		struct objset set;
		struct in6_addr want;
		struct pod *q;

		memset(&rep, 0, sizeof(rep));
		memset(&set, 0, sizeof(set));
		assert_int_equal(manifest_parse_json(obj, "etcd", &set, &rep,
		    err, sizeof(err)), 0);
		assert_int_equal(set.npods, 1);
		q = set.pods[0];
		assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &want), 1);
		assert_memory_equal(&q->ip6, &want, sizeof(want));
		assert_int_equal(q->ip.s_addr, 0);
		assert_int_equal(pod_target_port(q, &web), 18080);
		assert_int_equal(pod_target_port(q, &dns), 0);
		objset_clear(&set);
		manifest_report_clear(&rep);
	}
	json_decref(obj);
	/* Elsewhere, with the annotation: the host port, or nothing. */
	assert_int_equal(labels_set(&p->annotations, ANNOTATION_VIA_HOST_PORT,
	    "true"), 0);
	assert_int_equal(pod_target_port(p, &web), 18080);
	assert_int_equal(pod_target_port(p, &dns), 0);
	pod_free(p);

	/* Nothing published: stays at its own address. */
	assert_int_equal(docker_pod_from_inspect(unpublished,
	    strlen(unpublished), NULL, &p, err, sizeof(err)), 0);
	assert_non_null(p);
	p->owner.kind = OWNER_DOCKER;
	assert_int_equal(p->ports[0].host_port, 0);
	assert_false(cluster_pod_via_host(p));
	pod_free(p);
}

/* A binding to a loopback address is no host port: no other host
 * reaches it. A later binding of the same port still counts. */
static void
test_docker_pod_published_loopback(void **state)
{
	static const char js[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/web\","
	    "\"State\":{\"Running\":true},\"Config\":{\"ExposedPorts\":"
	    "{\"5000/tcp\":{},\"6000/tcp\":{},\"7000/tcp\":{}}},"
	    "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":"
	    "\"172.17.0.2\"}},\"Ports\":{"
	    "\"5000/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18082\"}],"
	    "\"6000/tcp\":[{\"HostIp\":\"::1\",\"HostPort\":\"18083\"},"
	    "{\"HostIp\":\"127.9.9.9\",\"HostPort\":\"18084\"},"
	    "{\"HostIp\":\"192.0.2.7\",\"HostPort\":\"18085\"}],"
	    "\"7000/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"18086\"}]}}}";
	static const char lo[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/w\","
	    "\"State\":{\"Running\":true},\"Config\":{\"ExposedPorts\":"
	    "{\"5000/tcp\":{}}},\"NetworkSettings\":{\"Networks\":{\"bridge\":"
	    "{\"IPAddress\":\"172.17.0.2\"}},\"Ports\":{\"5000/tcp\":"
	    "[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18082\"}]}}}";
	char err[256];
	struct pod *p;
	size_t i;
	uint16_t hp[3] = { 1, 1, 1 };

	(void)state;
	assert_int_equal(docker_pod_from_inspect(js, strlen(js), NULL, &p,
	    err, sizeof(err)), 0);
	assert_non_null(p);
	assert_int_equal(p->nports, 3);
	for (i = 0; i < p->nports; i++)
		hp[p->ports[i].port / 1000 - 5] = p->ports[i].host_port;
	assert_int_equal(hp[0], 0);
	assert_int_equal(hp[1], 18085);
	assert_int_equal(hp[2], 18086);
	pod_free(p);

	/* Published on loopback alone: goes at its own address. */
	assert_int_equal(docker_pod_from_inspect(lo, strlen(lo), NULL, &p,
	    err, sizeof(err)), 0);
	assert_non_null(p);
	p->owner.kind = OWNER_DOCKER;
	assert_int_equal(p->ports[0].host_port, 0);
	assert_false(cluster_pod_via_host(p));
	pod_free(p);
}

static void
test_docker_pod_from_inspect_health(void **state)
{
	const char *js;
	char err[256];
	struct pod *p;

	js = inspect_with(",\"Health\":{\"Status\":\"starting\","
	    "\"FailingStreak\":0,\"Log\":[]}");
	assert_int_equal(docker_pod_from_inspect(js, strlen(js), NULL, &p,
	    err, sizeof(err)), 0);
	assert_false(p->declared_ready);
	assert_false(pod_ready(p));
	pod_free(p);
	js = inspect_with(",\"Health\":{\"Status\":\"unhealthy\"}");
	assert_int_equal(docker_pod_from_inspect(js, strlen(js), NULL, &p,
	    err, sizeof(err)), 0);
	assert_false(p->declared_ready);
	pod_free(p);
	js = inspect_with(",\"Health\":{\"Status\":\"healthy\"}");
	assert_int_equal(docker_pod_from_inspect(js, strlen(js), NULL, &p,
	    err, sizeof(err)), 0);
	assert_true(p->declared_ready);
	pod_free(p);
}

/*
 * A network with enable_ipv6 gives GlobalIPv6Address beside IPAddress:
 * both become podIPs, IPv4 first; an IPv6-only network gives an IPv6
 * pod; a bad IPv6 address is refused as a bad IPv4 one is.
 */
static void
test_docker_pod_from_inspect_ipv6(void **state)
{
	static const char dual[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/d\","
	    "\"State\":{\"Running\":true},\"Config\":{},"
	    "\"NetworkSettings\":{\"Networks\":{\"demo_svcnet\":{"
	    "\"IPAddress\":\"172.29.0.3\",\"GlobalIPv6Address\":"
	    "\"fd00:29::3\",\"GlobalIPv6PrefixLen\":64}}}}";
	static const char only6[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/d\","
	    "\"State\":{\"Running\":true},\"Config\":{},"
	    "\"NetworkSettings\":{\"Networks\":{\"a\":{\"IPAddress\":\"\","
	    "\"GlobalIPv6Address\":\"\"},\"b\":{\"IPAddress\":\"\","
	    "\"GlobalIPv6Address\":\"fd00:29::4\"}}}}";
	static const char bad6[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/d\","
	    "\"State\":{\"Running\":true},\"Config\":{},"
	    "\"NetworkSettings\":{\"Networks\":{\"n\":{\"IPAddress\":"
	    "\"10.0.0.9\",\"GlobalIPv6Address\":\"fd00::zz\"}}}}";
	struct in6_addr want;
	char err[256], buf[INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 1];
	struct pod *p;

	(void)state;
	assert_int_equal(docker_pod_from_inspect(dual, strlen(dual), "svcnet",
	    &p, err, sizeof(err)), 0);
	assert_non_null(p);
	assert_int_equal(p->ip.s_addr, inet_addr("172.29.0.3"));
	assert_int_equal(inet_pton(AF_INET6, "fd00:29::3", &want), 1);
	assert_memory_equal(&p->ip6, &want, sizeof(want));
	assert_false(p->ip6_primary);
	assert_true(pod_has_family(p, IP_FAMILY_V6));
	assert_string_equal(docker_pod_addrs(p, buf, sizeof(buf)),
	    "172.29.0.3 fd00:29::3");
	pod_free(p);
	/* No network named: the first that gives an address of either family. */
	assert_int_equal(docker_pod_from_inspect(only6, strlen(only6), NULL,
	    &p, err, sizeof(err)), 0);
	assert_non_null(p);
	assert_int_equal(p->ip.s_addr, 0);
	assert_int_equal(inet_pton(AF_INET6, "fd00:29::4", &want), 1);
	assert_memory_equal(&p->ip6, &want, sizeof(want));
	assert_true(p->ip6_primary);
	assert_string_equal(docker_pod_addrs(p, buf, sizeof(buf)),
	    "fd00:29::4");
	pod_free(p);
	/* On network a neither family: no address. */
	assert_int_equal(docker_pod_from_inspect(only6, strlen(only6), "a",
	    &p, err, sizeof(err)), 0);
	assert_null(p);
	assert_non_null(strstr(err, "has no address on a"));
	assert_int_equal(docker_pod_from_inspect(bad6, strlen(bad6), NULL,
	    &p, err, sizeof(err)), 0);
	assert_null(p);
	assert_non_null(strstr(err, "bad address \"fd00::zz\""));
}

static void
test_docker_pod_from_inspect_not_a_pod(void **state)
{
	static const char stopped[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/x\","
	    "\"State\":{\"Running\":false},\"Config\":{},"
	    "\"NetworkSettings\":{\"Networks\":{}}}";
	static const char nons[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/__\","
	    "\"State\":{\"Running\":true},\"Config\":{\"Labels\":{"
	    "\"clusterip.io/namespace\":\"shop\"}},"
	    "\"NetworkSettings\":{\"Networks\":{\"n\":{\"IPAddress\":"
	    "\"10.0.0.9\"}}}}";
	static const char ignored[] = "{\"Id\":\"" ID1 "\",\"Name\":\"/c\","
	    "\"State\":{\"Running\":true},\"Config\":{\"Labels\":{"
	    "\"clusterip.io/ignore\":\"true\"}},"
	    "\"NetworkSettings\":{\"Networks\":{\"n\":{\"IPAddress\":"
	    "\"10.0.0.9\"}}}}";
	char err[256];
	struct pod *p;

	assert_int_equal(docker_pod_from_inspect(stopped, strlen(stopped),
	    NULL, &p, err, sizeof(err)), 0);
	assert_null(p);
	assert_non_null(strstr(err, "not running"));
	assert_int_equal(docker_pod_from_inspect(ignored, strlen(ignored),
	    NULL, &p, err, sizeof(err)), 0);
	assert_null(p);
	assert_non_null(strstr(err, "clusterip.io/ignore=true"));
	/* Namespace from its label; a name of no valid character. */
	assert_int_equal(docker_pod_from_inspect(nons, strlen(nons), NULL, &p,
	    err, sizeof(err)), 0);
	assert_non_null(p);
	assert_string_equal(p->ns, "shop");
	assert_string_equal(p->name, "container-3f2a9c0d1e2b");
	pod_free(p);
}

static void
test_docker_pod_from_inspect_malformed(void **state)
{
	const char *js = inspect_with("");
	size_t cut, len = strlen(js);
	char err[256];
	struct pod *p;

	for (cut = 0; cut < len; cut++) {
		assert_int_equal(docker_pod_from_inspect(js, cut, NULL, &p, err,
		    sizeof(err)), ERR_INVAL);
		assert_null(p);
	}
	assert_int_equal(docker_pod_from_inspect("[1]", 3, NULL, &p, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(docker_pod_from_inspect("{\"Id\":\"XYZ\"}", 12, NULL,
	    &p, err, sizeof(err)), ERR_INVAL);
}

static void
test_docker_list_ids(void **state)
{
	static const char list[] = "[{\"Id\":\"" ID1 "\",\"Names\":[\"/a\"],"
	    "\"Labels\":{\"name\":\"backend\"}},{\"Id\":\"../../etc\"},"
	    "{\"Names\":[]},{\"Id\":\"" ID2 "\"}]";
	char **ids;
	size_t n;

	assert_int_equal(docker_list_ids(list, strlen(list), &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], ID1);
	assert_string_equal(ids[1], ID2);
	docker_list_free(ids, n);
	assert_int_equal(docker_list_ids("[]", 2, &ids, &n), 0);
	assert_int_equal(n, 0);
	docker_list_free(ids, n);
	assert_int_equal(docker_list_ids("{}", 2, &ids, &n), ERR_INVAL);
	assert_int_equal(docker_list_ids("[", 1, &ids, &n), ERR_INVAL);
}

static void
test_docker_event_parse(void **state)
{
	static const char start[] = "{\"status\":\"start\",\"id\":\"" ID1 "\","
	    "\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\""
	    ID1 "\",\"Attributes\":{\"image\":\"demo\",\"name\":"
	    "\"demo_backend1_1\"}},\"scope\":\"local\",\"time\":1}";
	static const char health[] = "{\"Type\":\"container\",\"Action\":"
	    "\"health_status: healthy\",\"Actor\":{\"ID\":\"" ID1 "\"}}";
	static const char destroy[] = "{\"Type\":\"container\",\"Action\":"
	    "\"destroy\",\"Actor\":{\"ID\":\"" ID1 "\"}}";
	static const char connect[] = "{\"Type\":\"network\",\"Action\":"
	    "\"connect\",\"Actor\":{\"ID\":\"99\",\"Attributes\":{"
	    "\"container\":\"" ID2 "\",\"name\":\"demo_svcnet\"}}}";
	static const char exec[] = "{\"Type\":\"container\",\"Action\":"
	    "\"exec_start: sh\",\"Actor\":{\"ID\":\"" ID1 "\"}}";
	static const char badid[] = "{\"Type\":\"container\",\"Action\":"
	    "\"start\",\"Actor\":{\"ID\":\"../x\"}}";
	char id[DOCKER_ID_MAX + 1];

	assert_int_equal(docker_event_parse(start, strlen(start), id),
	    DOCKER_EVENT_CHANGED);
	assert_string_equal(id, ID1);
	assert_int_equal(docker_event_parse(health, strlen(health), id),
	    DOCKER_EVENT_CHANGED);
	assert_int_equal(docker_event_parse(destroy, strlen(destroy), id),
	    DOCKER_EVENT_GONE);
	assert_int_equal(docker_event_parse(connect, strlen(connect), id),
	    DOCKER_EVENT_CHANGED);
	assert_string_equal(id, ID2);
	assert_int_equal(docker_event_parse(exec, strlen(exec), id),
	    DOCKER_EVENT_IGNORE);
	assert_int_equal(docker_event_parse(badid, strlen(badid), id),
	    DOCKER_EVENT_IGNORE);
	assert_int_equal(docker_event_parse("{", 1, id), DOCKER_EVENT_IGNORE);
	assert_int_equal(docker_event_parse("", 0, id), DOCKER_EVENT_IGNORE);
}

/* The pod lands in the registry and the demo's selector picks it. */
static void
test_docker_pod_selected(void **state)
{
	const char *js = inspect_with(",\"Health\":{\"Status\":\"healthy\"}");
	struct owner o = { OWNER_DOCKER, (char *)(uintptr_t)ID1 };
	struct objset set = { 0 };
	struct registry *reg;
	struct service *svc;
	struct selector *sel;
	struct pod *p;
	char err[256];

	assert_non_null(reg = registry_new(NULL));
	assert_non_null(svc = service_new());
	assert_int_equal(service_set_name(svc, "default", "backend"), 0);
	assert_int_equal(selector_parse("name=backend", &sel, err,
	    sizeof(err)), 0);
	svc->selector = sel;
	svc->type = SVC_HEADLESS;
	assert_int_equal(objset_add_service(&set, svc), 0);
	assert_int_equal(registry_apply(reg, &(struct owner){ OWNER_API,
	    NULL }, &set, REGISTRY_MERGE, err, sizeof(err)), 0);
	objset_clear(&set);

	assert_int_equal(docker_pod_from_inspect(js, strlen(js), "svcnet", &p,
	    err, sizeof(err)), 0);
	assert_int_equal(objset_add_pod(&set, p), 0);
	assert_int_equal(registry_apply(reg, &o, &set, REGISTRY_REPLACE, err,
	    sizeof(err)), 0);
	objset_clear(&set);
	svc = registry_find_service(reg, "default", "backend");
	assert_int_equal(svc->nmembers, 1);
	assert_int_equal(service_ready_count(svc), 1);
	registry_remove_owner(reg, &o);
	assert_null(registry_find_pod(reg, "default", "demo-backend1-1"));
	assert_int_equal(svc->nmembers, 0);
	registry_free(reg);
}

/* A compose service's container with clusterip.io/ labels (trimmed). */
static char *
inspect_labels(const char *labels)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "{\"Id\":\"" ID1 "\",\"Name\":"
	    "\"/demo_quotes1_1\",\"State\":{\"Running\":true},"
	    "\"Config\":{\"Labels\":{\"com.docker.compose.service\":"
	    "\"quotes1\"%s%s}},\"NetworkSettings\":{\"Networks\":"
	    "{\"demo_svcnet\":{\"IPAddress\":\"172.29.0.3\"}}}}",
	    *labels != '\0' ? "," : "", labels);
	return buf;
}

static void
test_docker_svc_from_inspect_port(void **state)
{
	const char *js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/port\":\"5000\"");
	struct docker_svc svc;
	char err[256];

	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc, err,
	    sizeof(err)), 1);
	assert_string_equal(svc.ns, "default");
	assert_string_equal(svc.name, "backend");
	assert_int_equal(svc.nports, 1);
	assert_string_equal(svc.ports[0].name, "");
	assert_int_equal(svc.ports[0].port, 5000);
	assert_int_equal(svc.ports[0].target_port, 5000);
	assert_int_equal(svc.ports[0].proto, CIP_PROTO_TCP);
	assert_false(svc.algo_explicit);
	assert_int_equal(svc.affinity, AFFINITY_NONE);

	/* port:targetPort and a protocol. */
	js = inspect_labels("\"clusterip.io/service\":\"dns\","
	    "\"clusterip.io/port\":\" 53:5353/udp \"");
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc, err,
	    sizeof(err)), 1);
	assert_int_equal(svc.ports[0].port, 53);
	assert_int_equal(svc.ports[0].target_port, 5353);
	assert_int_equal(svc.ports[0].proto, CIP_PROTO_UDP);
}

static void
test_docker_svc_from_inspect_ports(void **state)
{
	const char *js = inspect_labels("\"clusterip.io/service\":\"shop\","
	    "\"clusterip.io/namespace\":\"prod\","
	    "\"clusterip.io/ports\":\"http:5000, metrics:9100:9101,"
	    "dns:53/udp\",\"clusterip.io/lb-algorithm\":\"round-robin\","
	    "\"clusterip.io/affinity\":\"ClientIP\"");
	struct docker_svc svc;
	char err[256];

	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc, err,
	    sizeof(err)), 1);
	assert_string_equal(svc.ns, "prod");
	assert_string_equal(svc.name, "shop");
	assert_int_equal(svc.nports, 3);
	assert_string_equal(svc.ports[0].name, "http");
	assert_int_equal(svc.ports[0].port, 5000);
	assert_string_equal(svc.ports[1].name, "metrics");
	assert_int_equal(svc.ports[1].port, 9100);
	assert_int_equal(svc.ports[1].target_port, 9101);
	assert_string_equal(svc.ports[2].name, "dns");
	assert_int_equal(svc.ports[2].proto, CIP_PROTO_UDP);
	assert_true(svc.algo_explicit);
	assert_int_equal(svc.algo, LB_ROUND_ROBIN);
	assert_int_equal(svc.affinity, AFFINITY_CLIENTIP);
}

static void
test_docker_svc_from_inspect_none(void **state)
{
	const char *js = inspect_labels("");
	struct docker_svc svc;
	char err[256];

	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc, err,
	    sizeof(err)), 0);
	/* A port label alone defines nothing. */
	js = inspect_labels("\"clusterip.io/port\":\"5000\"");
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc, err,
	    sizeof(err)), 0);
	js = "{\"Id\":\"" ID1 "\",\"Config\":{}}";
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc, err,
	    sizeof(err)), 0);
}

static void
test_docker_svc_from_inspect_bad(void **state)
{
	static const struct {
		const char	*labels;
		const char	*why;
	} bad[] = {
		{ "\"clusterip.io/service\":\"Backend\","
		  "\"clusterip.io/port\":\"5000\"", "not a service name" },
		{ "\"clusterip.io/service\":\"9lives\","
		  "\"clusterip.io/port\":\"5000\"", "not a service name" },
		{ "\"clusterip.io/service\":\"\","
		  "\"clusterip.io/port\":\"5000\"", "not a service name" },
		{ "\"clusterip.io/service\":5,"
		  "\"clusterip.io/port\":\"5000\"", "not a service name" },
		{ "\"clusterip.io/service\":\"b\"", "neither" },
		{ "\"clusterip.io/service\":\"b\",\"clusterip.io/port\":\"1\","
		  "\"clusterip.io/ports\":\"a:2\"", "not both" },
		{ "\"clusterip.io/service\":\"b\",\"clusterip.io/port\":\"0\"",
		  "ports 1 to 65535" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/port\":\"65536\"", "ports 1 to 65535" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/port\":\"5000:\"", "ports 1 to 65535" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/port\":\"1:2:3\"", "ports 1 to 65535" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/port\":\"5000,5001\"", "ports 1 to 65535" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/port\":\"5000/sctp\"", "tcp or udp" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/port\":\"\"", "empty port" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/ports\":\"http:1,http:2\"", "used twice" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/ports\":\"a:1,b:1\"", "listed twice" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/ports\":\"a:1,2\"", "must be named" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/ports\":\"a:1,\"", "empty port" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/ports\":\"HTTP:1\"", "IANA" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/ports\":\"a--b:1\"", "IANA" },
		{ "\"clusterip.io/service\":\"b\","
		  "\"clusterip.io/ports\":\"averyveryverylong:1\"", "IANA" },
		{ "\"clusterip.io/service\":\"b\",\"clusterip.io/port\":\"1\","
		  "\"clusterip.io/lb-algorithm\":\"fastest\"",
		  "not random, round-robin" },
		{ "\"clusterip.io/service\":\"b\",\"clusterip.io/port\":\"1\","
		  "\"clusterip.io/affinity\":\"clientip\"",
		  "None or ClientIP" },
		{ "\"clusterip.io/service\":\"b\",\"clusterip.io/port\":\"1\","
		  "\"clusterip.io/ip-family-policy\":\"DualStack\"",
		  "not SingleStack, PreferDualStack or RequireDualStack" },
		{ "\"clusterip.io/service\":\"b\",\"clusterip.io/port\":\"1\","
		  "\"clusterip.io/ip-family-policy\":\"\"",
		  "not SingleStack, PreferDualStack" },
	};
	struct docker_svc svc;
	char err[256], many[2048];
	const char *js;
	size_t i, off;

	for (i = 0; i < CIP_ARRAY_LEN(bad); i++) {
		js = inspect_labels(bad[i].labels);
		err[0] = '\0';
		assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc,
		    err, sizeof(err)), ERR_INVAL);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].labels, err,
			    bad[i].why);
		assert_int_equal(svc.nports, 0);
	}
	/* More ports than one Service takes. */
	off = (size_t)snprintf(many, sizeof(many), "\"clusterip.io/service\":"
	    "\"b\",\"clusterip.io/ports\":\"");
	for (i = 0; i <= DOCKER_SVC_MAX_PORTS; i++)
		off += (size_t)snprintf(many + off, sizeof(many) - off,
		    "%sp%zu:%zu", i > 0 ? "," : "", i, i + 1);
	snprintf(many + off, sizeof(many) - off, "\"");
	js = inspect_labels(many);
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &svc, err,
	    sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "more than"));
}

/* Every truncation is a clean refusal, never a half-read Service. */
static void
test_docker_svc_from_inspect_truncated(void **state)
{
	const char *js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/ports\":\"http:5000,metrics:9100\"");
	char copy[4096], err[256];
	struct docker_svc svc;
	size_t cut, len = strlen(js);

	memcpy(copy, js, len + 1);
	for (cut = 0; cut < len; cut++) {
		assert_int_equal(docker_svc_from_inspect(copy, cut, &svc, err,
		    sizeof(err)), ERR_INVAL);
		assert_int_equal(svc.nports, 0);
		assert_string_equal(svc.name, "");
	}
	assert_int_equal(docker_svc_from_inspect(copy, len, &svc, err,
	    sizeof(err)), 1);
}

static void
test_docker_svc_equal_diff(void **state)
{
	const char *js;
	struct docker_svc a, b;
	char err[256], diff[256];

	js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/port\":\"5000\"");
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &a, err,
	    sizeof(err)), 1);
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &b, err,
	    sizeof(err)), 1);
	assert_true(docker_svc_equal(&a, &b));
	js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/port\":\"5001\"");
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &b, err,
	    sizeof(err)), 1);
	assert_false(docker_svc_equal(&a, &b));
	docker_svc_diff(&a, &b, diff, sizeof(diff));
	assert_string_equal(diff, "ports 5001->5001/TCP, not 5000->5000/TCP");
	js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/port\":\"5000\","
	    "\"clusterip.io/lb-algorithm\":\"least-connections\"");
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &b, err,
	    sizeof(err)), 1);
	assert_false(docker_svc_equal(&a, &b));
	docker_svc_diff(&a, &b, diff, sizeof(diff));
	assert_string_equal(diff,
	    "lb-algorithm least-connections, not (default)");
	/* The IP family policy is part of the definition. */
	js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/port\":\"5000\","
	    "\"clusterip.io/ip-family-policy\":\"PreferDualStack\"");
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &b, err,
	    sizeof(err)), 1);
	assert_int_equal(b.policy, IPFP_PREFER_DUAL_STACK);
	assert_false(docker_svc_equal(&a, &b));
	docker_svc_diff(&a, &b, diff, sizeof(diff));
	assert_string_equal(diff,
	    "ip-family-policy PreferDualStack, not (default)");
	/* Another namespace is another Service. */
	js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/namespace\":\"prod\","
	    "\"clusterip.io/port\":\"5000\"");
	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &b, err,
	    sizeof(err)), 1);
	assert_false(docker_svc_equal(&a, &b));
}

/* The built Service selects the containers labelled with its name. */
static void
test_docker_svc_build_selects(void **state)
{
	const char *js = inspect_labels("\"clusterip.io/service\":\"backend\","
	    "\"clusterip.io/ports\":\"http:5000\","
	    "\"clusterip.io/lb-algorithm\":\"round-robin\","
	    "\"clusterip.io/affinity\":\"ClientIP\","
	    "\"clusterip.io/ip-family-policy\":\"RequireDualStack\"");
	struct owner so = { OWNER_DOCKER,
	    (char *)(uintptr_t)"default/backend" };
	struct owner po = { OWNER_DOCKER, (char *)(uintptr_t)ID1 };
	struct objset set = { 0 };
	struct docker_svc d;
	struct registry *reg;
	struct service *s;
	struct pod *p;
	char err[256], *sel;

	assert_int_equal(docker_svc_from_inspect(js, strlen(js), &d, err,
	    sizeof(err)), 1);
	assert_non_null(s = docker_svc_build(&d));
	assert_string_equal(s->key, "default/backend");
	assert_int_equal(s->type, SVC_CLUSTERIP);
	assert_non_null(sel = selector_format(s->selector));
	assert_string_equal(sel, "clusterip.io/service=backend");
	free(sel);
	assert_int_equal(s->nports, 1);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].target_port, 5000);
	assert_true(s->algo_explicit);
	assert_int_equal(s->algo, LB_ROUND_ROBIN);
	assert_string_equal(labels_get(&s->ext->annotations,
	    "clusterip.io/lb-algorithm"), "round-robin");
	assert_int_equal(s->affinity, AFFINITY_CLIENTIP);
	assert_int_equal(s->ext->req_policy, IPFP_REQUIRE_DUAL_STACK);
	/* Not to be applied on the single-stack registry below. */
	service_ext_mut(s)->req_policy = IPFP_UNSET;

	assert_non_null(reg = registry_new(NULL));
	assert_int_equal(objset_add_service(&set, s), 0);
	assert_int_equal(registry_apply(reg, &so, &set, REGISTRY_REPLACE, err,
	    sizeof(err)), 0);
	objset_clear(&set);
	assert_int_equal(docker_pod_from_inspect(js, strlen(js), "svcnet", &p,
	    err, sizeof(err)), 0);
	assert_int_equal(objset_add_pod(&set, p), 0);
	assert_int_equal(registry_apply(reg, &po, &set, REGISTRY_REPLACE, err,
	    sizeof(err)), 0);
	objset_clear(&set);
	s = registry_find_service(reg, "default", "backend");
	assert_non_null(s);
	assert_int_equal(s->nmembers, 1);
	assert_non_null(strstr(owner_describe(&s->owner, err, sizeof(err)),
	    "clusterip.io/service"));
	/* The API cannot delete it; the last container's going does. */
	assert_int_equal(registry_delete(reg, REGISTRY_SERVICE, "default",
	    "backend", &(struct owner){ OWNER_API, NULL }, err, sizeof(err)),
	    ERR_CONFLICT);
	registry_remove_owner(reg, &po);
	assert_int_equal(s->nmembers, 0);
	registry_remove_owner(reg, &so);
	assert_null(registry_find_service(reg, "default", "backend"));
	registry_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_events_lines_pieces),
		cmocka_unit_test(test_docker_events_lines_too_long),
		cmocka_unit_test(test_docker_pod_from_inspect_compose),
		cmocka_unit_test(test_docker_pod_published_ports),
		cmocka_unit_test(test_docker_pod_published_loopback),
		cmocka_unit_test(test_docker_pod_from_inspect_health),
		cmocka_unit_test(test_docker_pod_from_inspect_not_a_pod),
		cmocka_unit_test(test_docker_pod_from_inspect_ipv6),
		cmocka_unit_test(test_docker_pod_from_inspect_malformed),
		cmocka_unit_test(test_docker_list_ids),
		cmocka_unit_test(test_docker_event_parse),
		cmocka_unit_test(test_docker_pod_selected),
		cmocka_unit_test(test_docker_svc_from_inspect_port),
		cmocka_unit_test(test_docker_svc_from_inspect_ports),
		cmocka_unit_test(test_docker_svc_from_inspect_none),
		cmocka_unit_test(test_docker_svc_from_inspect_bad),
		cmocka_unit_test(test_docker_svc_from_inspect_truncated),
		cmocka_unit_test(test_docker_svc_equal_diff),
		cmocka_unit_test(test_docker_svc_build_selects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
