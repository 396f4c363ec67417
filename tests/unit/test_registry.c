/* SPDX-License-Identifier: MIT */
/* test_registry.c -- registry: memberships, events, owners, indexes, VIPs. */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hmap.h"
#include "manifest.h"
#include "registry.h"
#include "util.h"
#include "vip.h"

struct events {
	int	n[REG_POD_REMOVED + 1];
	int	total;
};

static void
count_cb(enum registry_event ev, const struct service *s,
    const struct pod *p, void *arg)
{
	struct events *e = arg;

	e->n[ev]++;
	e->total++;
}

static const struct owner file_a = { OWNER_FILE, (char *)"a.yaml" };
static const struct owner file_b = { OWNER_FILE, (char *)"b.yaml" };
static const struct owner api = { OWNER_API, NULL };

/* Parses YAML and applies it; returns registry_apply's result. */
static int
apply_yaml(struct registry *r, const struct owner *o,
    enum registry_apply_mode mode, const char *yaml, char *err)
{
	struct objset set = { 0 };
	int rc;

	rc = manifest_parse_buf(yaml, strlen(yaml), "t.yaml", &set, NULL,
	    err, 256);
	if (rc != 0)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	rc = registry_apply(r, o, &set, mode, err, 256);
	objset_clear(&set);
	return rc;
}

/* apply_yaml, which must succeed. */
static void
apply_as_ok(struct registry *r, const struct owner *o,
    enum registry_apply_mode mode, const char *yaml)
{
	char err[256];

	if (apply_yaml(r, o, mode, yaml, err) != 0)
		fail_msg("apply: %s", err);
}

/* Applies yaml as file_a's whole content, which must succeed. */
static void
apply_ok(struct registry *r, const char *yaml)
{
	apply_as_ok(r, &file_a, REGISTRY_REPLACE, yaml);
}

#define SVC(name, sel) \
	"---\nkind: Service\nmetadata: {name: " name "}\n" \
	"spec: {selector: " sel ", ports: [{port: 5000}]}\n"
#define POD(name, labels, ip) \
	"---\nkind: Pod\nmetadata: {name: " name ", labels: " labels "}\n" \
	"status: {podIP: " ip "}\n"

static void
test_apply_members_and_events(void **state)
{
	struct registry *r = registry_new(NULL);
	struct events ev = { 0 };
	struct service *s;

	registry_subscribe(r, count_cb, &ev);
	apply_ok(r,
	    SVC("backend", "{name: backend}")
	    POD("backend-1", "{name: backend}", "127.0.10.1")
	    POD("backend-2", "{name: backend}", "127.0.10.2")
	    POD("other", "{name: other}", "127.0.10.3"));
	s = registry_find_service(r, "default", "backend");
	assert_non_null(s);
	assert_int_equal(s->nmembers, 2);
	assert_int_equal(service_ready_count(s), 2);
	assert_int_equal(ev.n[REG_SVC_ADDED], 1);
	assert_int_equal(ev.n[REG_POD_ADDED], 3);
	assert_int_equal(ev.n[REG_ENDPOINTS_CHANGED], 2);
	assert_true(registry_namespace_exists(r, "default"));
	assert_false(registry_namespace_exists(r, "prod"));
	assert_non_null(registry_find_pod_key(r, "default/other"));
	assert_int_equal(registry_find_pod(r, "default", "other")->nmember_of,
	    0);

	/* The same file again changes nothing and says nothing. */
	memset(&ev, 0, sizeof(ev));
	apply_ok(r,
	    SVC("backend", "{name: backend}")
	    POD("backend-1", "{name: backend}", "127.0.10.1")
	    POD("backend-2", "{name: backend}", "127.0.10.2")
	    POD("other", "{name: other}", "127.0.10.3"));
	assert_int_equal(ev.total, 0);

	/* A relabelled pod leaves; a dropped pod is removed (REPLACE). */
	apply_ok(r,
	    SVC("backend", "{name: backend}")
	    POD("backend-1", "{name: canary}", "127.0.10.1")
	    POD("other", "{name: other}", "127.0.10.3"));
	s = registry_find_service(r, "default", "backend");
	assert_int_equal(s->nmembers, 0);
	assert_null(registry_find_pod(r, "default", "backend-2"));
	assert_int_equal(ev.n[REG_POD_REMOVED], 1);
	assert_int_equal(ev.n[REG_POD_CHANGED], 1);

	/* Everything of the owner goes. */
	registry_remove_owner(r, &file_a);
	assert_int_equal(registry_count_services(r), 0);
	assert_int_equal(registry_count_pods(r), 0);
	assert_false(registry_namespace_exists(r, "default"));
	registry_free(r);
}

static void
test_apply_owner_conflict(void **state)
{
	struct registry *r = registry_new(NULL);
	char err[256];

	apply_ok(r,
	    SVC("backend", "{name: backend}"));
	assert_int_equal(apply_yaml(r, &file_b, REGISTRY_REPLACE,
	    POD("p1", "{name: backend}", "127.0.0.9")
	    SVC("backend", "{name: x}"), err), ERR_CONFLICT);
	assert_non_null(strstr(err, "owned by file a.yaml"));
	/* Nothing of the refused set landed. */
	assert_null(registry_find_pod(r, "default", "p1"));
	assert_int_equal(registry_find_service(r, "default",
	    "backend")->nmembers, 0);
	/* Deletes name the owner too. */
	assert_int_equal(registry_delete(r, REGISTRY_SERVICE, "default",
	    "backend", &api, err, sizeof(err)), ERR_CONFLICT);
	assert_non_null(strstr(err, "file a.yaml"));
	assert_int_equal(registry_delete(r, REGISTRY_SERVICE, "default",
	    "nope", &api, err, sizeof(err)), ERR_NOTFOUND);
	assert_int_equal(registry_delete(r, REGISTRY_SERVICE, "default",
	    "backend", &file_a, err, sizeof(err)), 0);
	assert_int_equal(registry_count_services(r), 0);
	registry_free(r);
}

static void
test_apply_duplicate_refused(void **state)
{
	struct registry *r = registry_new(NULL);
	char err[256];

	assert_int_equal(apply_yaml(r, &api, REGISTRY_MERGE,
	    POD("p", "{a: b}", "127.0.0.1") POD("p", "{a: c}", "127.0.0.2"),
	    err), ERR_INVAL);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(registry_count_pods(r), 0);
	registry_free(r);
}

static void
test_merge_keeps_others(void **state)
{
	struct registry *r = registry_new(NULL);

	apply_as_ok(r, &api, REGISTRY_MERGE,
	    POD("p1", "{a: b}", "127.0.0.1"));
	apply_as_ok(r, &api, REGISTRY_MERGE,
	    POD("p2", "{a: b}", "127.0.0.2"));
	assert_int_equal(registry_count_pods(r), 2);
	registry_free(r);
}

static void
count_svc(struct service *s, void *arg)
{
	(void)s;
	(*(int *)arg) += 1;
}

static void
count_pod(struct pod *p, void *arg)
{
	(void)p;
	(*(int *)arg) += 100;
}

/* Iterating one owner's objects sees those and no others. */
static void
test_foreach_owned(void **state)
{
	struct registry *r = registry_new(NULL);
	const struct owner none = { OWNER_DOCKER, (char *)"x" };
	int n = 0;

	apply_ok(r, SVC("f1", "{a: b}") SVC("f2", "{a: b}")
	    POD("fp", "{a: b}", "127.0.0.1"));
	apply_as_ok(r, &api, REGISTRY_MERGE, SVC("a1", "{a: c}")
	    POD("ap1", "{a: c}", "127.0.0.2") POD("ap2", "{a: c}",
	    "127.0.0.3"));
	registry_foreach_owned(r, &api, count_svc, count_pod, &n);
	assert_int_equal(n, 201);
	n = 0;
	registry_foreach_owned(r, &file_a, count_svc, NULL, &n);
	assert_int_equal(n, 2);
	n = 0;
	registry_foreach_owned(r, &none, count_svc, count_pod, &n);
	assert_int_equal(n, 0);
	registry_free(r);
}

static void
test_set_based_selector(void **state)
{
	struct registry *r = registry_new(NULL);
	struct service *s;

	apply_ok(r,
	    POD("a", "{tier: web, track: stable}", "127.0.0.1")
	    POD("b", "{tier: web, track: canary}", "127.0.0.2")
	    POD("c", "{tier: db}", "127.0.0.3")
	    "---\nkind: Service\nmetadata: {name: web}\nspec:\n"
	    "  selector:\n    matchExpressions:\n"
	    "    - {key: tier, operator: In, values: [web, api]}\n"
	    "    - {key: track, operator: NotIn, values: [canary]}\n"
	    "  ports: [{port: 80}]\n");
	s = registry_find_service(r, "default", "web");
	assert_int_equal(s->nmembers, 1);
	assert_string_equal(s->members[0]->name, "a");
	/* A pod arriving later is found through the unindexed list. */
	apply_as_ok(r, &file_b, REGISTRY_REPLACE,
	    POD("d", "{tier: api}", "127.0.0.4"));
	assert_int_equal(s->nmembers, 2);
	registry_free(r);
}

static void
test_probe_readiness(void **state)
{
	struct registry *r = registry_new(NULL);
	struct events ev = { 0 };
	struct service *s;
	struct pod *p;

	apply_ok(r,
	    SVC("backend", "{name: backend}")
	    "---\nkind: Pod\nmetadata: {name: b1, labels: {name: backend}}\n"
	    "spec:\n  containers:\n  - ports: [{name: http, containerPort: "
	    "5000}]\n    readinessProbe: {tcpSocket: {port: http}, "
	    "periodSeconds: 2}\nstatus: {podIP: 127.0.10.1}\n"
	    "---\nkind: Pod\nmetadata: {name: b2, labels: {name: backend}}\n"
	    "status: {podIP: 127.0.10.2, conditions: [{type: Ready, "
	    "status: \"False\"}]}\n");
	s = registry_find_service(r, "default", "backend");
	p = registry_find_pod(r, "default", "b1");
	assert_int_equal(s->nmembers, 2);
	assert_int_equal(service_ready_count(s), 0);
	assert_int_equal(p->probe.kind, PROBE_TCP);
	assert_int_equal(p->probe.period_s, 2);
	assert_int_equal(p->probe.failure_threshold, 3);
	registry_subscribe(r, count_cb, &ev);
	assert_int_equal(registry_set_probe_result(r, "default/b1", true), 0);
	assert_int_equal(service_ready_count(s), 1);
	assert_int_equal(ev.n[REG_ENDPOINTS_CHANGED], 1);
	/* No flip, no event. */
	assert_int_equal(registry_set_probe_result(r, "default/b1", true), 0);
	assert_int_equal(ev.total, 2);
	assert_int_equal(registry_set_probe_result(r, "default/zz", true),
	    ERR_NOTFOUND);
	/* The verdict survives a re-apply with the same probe. */
	apply_ok(r,
	    SVC("backend", "{name: backend}")
	    "---\nkind: Pod\nmetadata: {name: b1, labels: {name: backend, "
	    "v: \"2\"}}\nspec:\n  containers:\n  - ports: [{name: http, "
	    "containerPort: 5000}]\n    readinessProbe: {tcpSocket: {port: "
	    "http}, periodSeconds: 2}\nstatus: {podIP: 127.0.10.1}\n");
	assert_true(pod_ready(registry_find_pod(r, "default", "b1")));
	assert_int_equal(pod_target_port(registry_find_pod(r, "default",
	    "b1"), &s->ports[0]), 5000);
	registry_free(r);
}

static void
test_endpoints_object(void **state)
{
	struct registry *r = registry_new(NULL);
	struct service *s;

	apply_ok(r,
	    "kind: Service\nmetadata: {name: db}\nspec:\n  ports: [{name: pg, "
	    "port: 5432}]\n---\nkind: Endpoints\nmetadata: {name: db}\n"
	    "subsets:\n- addresses: [{ip: 127.0.20.1}, {ip: 127.0.20.2}]\n"
	    "  ports: [{name: pg, port: 15432}]\n");
	s = registry_find_service(r, "default", "db");
	assert_int_equal(s->nmembers, 2);
	assert_int_equal(pod_target_port(s->members[0], &s->ports[0]), 15432);
	/* One address fewer: its pod goes. */
	apply_ok(r,
	    "kind: Service\nmetadata: {name: db}\nspec:\n  ports: [{name: pg, "
	    "port: 5432}]\n---\nkind: Endpoints\nmetadata: {name: db}\n"
	    "subsets:\n- addresses: [{ip: 127.0.20.2}]\n"
	    "  ports: [{name: pg, port: 15432}]\n");
	assert_int_equal(s->nmembers, 1);
	assert_non_null(registry_find_pod(r, "default", "db-127-0-20-2"));
	registry_free(r);
}

/* The pods of one Endpoints object, found and deleted per owner. */
static void
test_endpoints_pods_and_delete(void **state)
{
	struct registry *r = registry_new(NULL);
	struct pod *const *v;
	char err[256];

	assert_int_equal(apply_yaml(r, &file_a, REGISTRY_MERGE,
	    "kind: Service\nmetadata: {name: db}\nspec:\n  ports: [{port: "
	    "5432}]\n---\nkind: Endpoints\nmetadata: {name: db}\n"
	    "subsets:\n- addresses: [{ip: 127.0.20.1}, {ip: 127.0.20.2}]\n"
	    "  ports: [{port: 15432}]\n", err), 0);
	assert_int_equal(apply_yaml(r, &file_b, REGISTRY_MERGE,
	    "kind: Endpoints\nmetadata: {name: db}\n"
	    "subsets:\n- addresses: [{ip: 127.0.20.3}]\n"
	    "  ports: [{port: 15432}]\n", err), 0);
	assert_int_equal(registry_endpoints_pods(r, "default/db", &v), 3);
	assert_int_equal(registry_endpoints_pods(r, "default/none", &v), 0);
	assert_null(v);
	/* Another owner's pods stay. */
	assert_int_equal(registry_delete(r, REGISTRY_ENDPOINTS, "default",
	    "db", &file_a, err, sizeof(err)), 0);
	assert_int_equal(registry_endpoints_pods(r, "default/db", &v), 1);
	assert_string_equal(v[0]->key, "default/db-127-0-20-3");
	assert_int_equal(registry_find_service(r, "default", "db")->nmembers,
	    1);
	assert_int_equal(registry_delete(r, REGISTRY_ENDPOINTS, "default",
	    "db", &file_a, err, sizeof(err)), ERR_NOTFOUND);
	assert_int_equal(registry_delete(r, REGISTRY_ENDPOINTS, "default",
	    "db", NULL, err, sizeof(err)), 0);
	assert_int_equal(registry_count_pods(r), 0);
	registry_free(r);
}

static void
test_vips_stable_and_conflicts(void **state)
{
	char path[] = "/tmp/test_registry_XXXXXX", err[256];
	struct vip_pool *pool;
	struct registry *r;
	struct in_addr first;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	pool = vip_pool_new("127.96.0.0/24", path, err, sizeof(err));
	assert_non_null(pool);
	r = registry_new(pool);
	apply_ok(r,
	    SVC("backend", "{name: backend}"));
	first = registry_find_service(r, "default", "backend")->vip;
	assert_true(vip_in_range(pool, first));
	assert_ptr_equal(registry_find_service_by_vip(r, first),
	    registry_find_service(r, "default", "backend"));
	/* Delete and recreate: the same VIP. */
	registry_remove_owner(r, &file_a);
	assert_null(registry_find_service_by_vip(r, first));
	apply_as_ok(r, &file_b, REGISTRY_REPLACE,
	    SVC("backend", "{name: backend}"));
	assert_int_equal(registry_find_service(r, "default",
	    "backend")->vip.s_addr, first.s_addr);
	/* An explicit address out of range or taken is refused whole. */
	assert_int_not_equal(apply_yaml(r, &file_a, REGISTRY_REPLACE,
	    "kind: Service\nmetadata: {name: x}\nspec: {clusterIP: 10.0.0.1}\n"
	    POD("px", "{a: b}", "127.0.0.1"), err), 0);
	assert_non_null(strstr(err, "10.0.0.1"));
	assert_null(registry_find_pod(r, "default", "px"));
	registry_free(r);
	vip_pool_free(pool);
	/* A restart reads the same allocation back. */
	pool = vip_pool_new("127.96.0.0/24", path, err, sizeof(err));
	r = registry_new(pool);
	apply_ok(r,
	    SVC("backend", "{name: backend}"));
	assert_int_equal(registry_find_service(r, "default",
	    "backend")->vip.s_addr, first.s_addr);
	registry_free(r);
	vip_pool_free(pool);
	unlink(path);
}

/* A change to one of many objects costs events for that object only. */
static void
test_scale_change_is_local(void **state)
{
	struct registry *r = registry_new(NULL);
	struct objset set = { 0 };
	struct events ev = { 0 };
	char err[256], name[32];
	struct pod *p;
	int i;

	for (i = 0; i < 10000; i++) {
		struct service *s = service_new();
		const char *v = name;
		snprintf(name, sizeof(name), "svc-%d", i);
		service_set_name(s, "default", name);
		s->selector = selector_new();
		selector_add(s->selector, "app", SELECTOR_OP_EQ, &v, 1, NULL, 0);
		objset_add_service(&set, s);
		p = pod_new();
		pod_set_name(p, "default", name);
		labels_set(&p->labels, "app", name);
		p->ip.s_addr = htonl(0x7f000001 + (uint32_t)i);
		objset_add_pod(&set, p);
	}
	assert_int_equal(registry_apply(r, &file_a, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	assert_int_equal(registry_count_services(r), 10000);
	assert_int_equal(registry_find_service(r, "default",
	    "svc-42")->nmembers, 1);
	registry_subscribe(r, count_cb, &ev);
	p = pod_new();
	pod_set_name(p, "default", "svc-42");
	labels_set(&p->labels, "app", "svc-43");
	p->ip.s_addr = htonl(0x7f000001 + 42);
	objset_add_pod(&set, p);
	assert_int_equal(registry_apply(r, &file_a, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	/* One pod changed, two services' endpoints changed. */
	assert_int_equal(ev.n[REG_POD_CHANGED], 1);
	assert_int_equal(ev.n[REG_ENDPOINTS_CHANGED], 2);
	assert_int_equal(ev.total, 3);
	assert_int_equal(registry_find_service(r, "default",
	    "svc-43")->nmembers, 2);
	registry_free(r);
}

/* --- the tables under the registry ----------------------------------- */

struct item {
	unsigned	id;
	bool		in;
};

/* A poor hash on purpose: long runs of collisions that wrap around. */
static uint32_t
item_hash(const void *o)
{
	return ((const struct item *)o)->id % 7 * 5;
}

static bool
item_match(const void *o, const void *key)
{
	return ((const struct item *)o)->id == *(const unsigned *)key;
}

static void
test_ptab_against_reference(void **state)
{
	static struct item items[600];
	struct ptab t;
	unsigned id, i, step, expect = 0, seen;
	size_t pos;
	struct item *it;

	(void)state;
	ptab_init(&t, item_hash);
	assert_null(ptab_find(&t, 0, item_match, &expect));
	assert_false(ptab_remove(&t, &items[0]));
	for (i = 0; i < 600; i++)
		items[i].id = i;
	/* Adds and removes in a scrambled order, checking every member. */
	for (step = 0; step < 5000; step++) {
		id = (step * 7919u + step / 3) % 600;
		if (items[id].in) {
			assert_true(ptab_remove(&t, &items[id]));
			assert_false(ptab_remove(&t, &items[id]));
			items[id].in = false;
			expect--;
		} else {
			assert_int_equal(ptab_add(&t, &items[id]), 0);
			items[id].in = true;
			expect++;
		}
		if (step % 97 != 0)
			continue;
		assert_int_equal(t.count, expect);
		for (i = 0; i < 600; i++) {
			it = ptab_find(&t, item_hash(&items[i]), item_match,
			    &items[i].id);
			assert_ptr_equal(it, items[i].in ? &items[i] : NULL);
		}
		seen = 0;
		for (pos = 0; (it = ptab_next(&t, &pos)) != NULL; seen++)
			assert_true(it->in);
		assert_int_equal(seen, expect);
	}
	ptab_clear(&t);
	assert_int_equal(t.count, 0);
	assert_null(ptab_next(&t, &(size_t){ 0 }));
	/* Reserved room: adding that many keeps the array. */
	assert_int_equal(ptab_reserve(&t, 300), 0);
	assert_true(t.cap * 3 >= 300 * 4);
	step = (unsigned)t.cap;
	for (i = 0; i < 300; i++)
		assert_int_equal(ptab_add(&t, &items[i]), 0);
	assert_int_equal(t.cap, step);
	assert_int_equal(ptab_reserve(&t, 0), 0);
	assert_int_equal(t.cap, step);
	for (i = 0; i < 300; i++)
		assert_ptr_equal(ptab_find(&t, item_hash(&items[i]),
		    item_match, &items[i].id), &items[i]);
	ptab_clear(&t);
}

static void
test_hmap_empty_and_many(void **state)
{
	struct hmap *m = hmap_new();
	struct hmap_iter it;
	const char *k;
	void *v, *old;
	char key[32];
	size_t n;
	int i;

	(void)state;
	/* An empty map answers without a bucket array. */
	assert_null(hmap_get(m, "x"));
	assert_null(hmap_del(m, "x"));
	hmap_iter_init(&it, m);
	assert_false(hmap_iter_next(&it, &k, &v));
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "default/svc-%d", i);
		assert_int_equal(hmap_put(m, key, (void *)(intptr_t)(i + 1),
		    &old), 0);
		assert_null(old);
	}
	assert_int_equal(hmap_put(m, "default/svc-7", (void *)1, &old), 0);
	assert_ptr_equal(old, (void *)8);
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "default/svc-%d", i);
		assert_non_null(hmap_del(m, key));
	}
	assert_int_equal(hmap_count(m), 2500);
	n = 0;
	hmap_iter_init(&it, m);
	while (hmap_iter_next(&it, &k, &v)) {
		assert_int_equal(atoi(k + strlen("default/svc-")) % 2, 1);
		assert_ptr_equal(hmap_get(m, k), v);
		n++;
	}
	assert_int_equal(n, 2500);
	hmap_free(m, NULL);
}

static void
test_names_share_one_block(void **state)
{
	struct service *s = service_new();
	struct pod *p = pod_new();

	(void)state;
	assert_int_equal(service_set_name(s, "team-a", "web"), 0);
	assert_string_equal(s->ns, "team-a");
	assert_string_equal(s->name, "web");
	assert_string_equal(s->key, "team-a/web");
	/* Renaming replaces all three. */
	assert_int_equal(service_set_name(s, "b", "a-much-longer-name"), 0);
	assert_string_equal(s->ns, "b");
	assert_string_equal(s->name, "a-much-longer-name");
	assert_string_equal(s->key, "b/a-much-longer-name");
	assert_int_equal(pod_set_name(p, "default", "pod-1"), 0);
	assert_string_equal(p->ns, "default");
	assert_string_equal(p->name, "pod-1");
	assert_string_equal(p->key, "default/pod-1");
	service_free(s);
	pod_free(p);
}

static void
test_owner_id_and_vip_lookup(void **state)
{
	struct vip_pool *v = vip_pool_new("10.200.0.0/16", NULL, NULL, 0);
	struct registry *r = registry_new(v);
	struct service *a, *b, *n;
	struct in_addr old, moved;
	char path[] = "dir/one.yaml", err[256];
	struct owner o = { OWNER_FILE, path };

	(void)state;
	apply_as_ok(r, &o, REGISTRY_REPLACE,
	    "kind: Service\nmetadata: {name: a}\nspec: {}\n---\n"
	    "kind: Service\nmetadata: {name: b}\nspec: {}\n");
	a = registry_find_service(r, "default", "a");
	b = registry_find_service(r, "default", "b");
	/* One copy of the owner's id, shared, not the caller's string. */
	assert_ptr_equal(a->owner.id, b->owner.id);
	assert_ptr_not_equal(a->owner.id, path);
	path[0] = 'X';
	assert_string_equal(a->owner.id, "dir/one.yaml");
	path[0] = 'd';
	assert_int_equal(registry_delete(r, REGISTRY_SERVICE, "default", "a",
	    &file_a, err, sizeof(err)), ERR_CONFLICT);
	assert_non_null(strstr(err, "file dir/one.yaml"));
	assert_ptr_equal(registry_find_service_by_vip(r, a->vip), a);
	assert_ptr_equal(registry_find_service_by_vip(r, b->vip), b);
	/* A new clusterIP moves the service; the old address finds none. */
	old = a->vip;
	apply_as_ok(r, &o, REGISTRY_REPLACE,
	    "kind: Service\nmetadata: {name: a}\n"
	    "spec: {clusterIP: 10.200.9.9}\n---\n"
	    "kind: Service\nmetadata: {name: b}\nspec: {}\n");
	n = registry_find_service(r, "default", "a");
	assert_string_equal(inet_ntoa(n->vip), "10.200.9.9");
	assert_ptr_equal(registry_find_service_by_vip(r, n->vip), n);
	assert_null(registry_find_service_by_vip(r, old));
	assert_ptr_equal(registry_find_service_by_vip(r, b->vip), b);
	/* Removing the owner removes its services and their addresses. */
	old = b->vip;
	moved = n->vip;
	registry_remove_owner(r, &o);
	assert_int_equal(registry_count_services(r), 0);
	assert_null(registry_find_service_by_vip(r, old));
	assert_null(registry_find_service_by_vip(r, moved));
	registry_free(r);
	vip_pool_free(v);
}

/* Many services and pods under one label key: index lists grow and shrink. */
static void
test_shared_label_lists(void **state)
{
	struct registry *r = registry_new(NULL);
	struct objset set = { 0 };
	struct service *s;
	struct pod *p;
	char err[256], name[32];
	const char *v = "shared";
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		s = service_new();
		service_set_name(s, "default", name);
		s->selector = selector_new();
		selector_add(s->selector, "app", SELECTOR_OP_EQ, &v, 1, NULL,
		    0);
		objset_add_service(&set, s);
		snprintf(name, sizeof(name), "p%d", i);
		p = pod_new();
		pod_set_name(p, "default", name);
		labels_set(&p->labels, "app", "shared");
		labels_set(&p->labels, "n", name);
		p->ip.s_addr = htonl(0x7f000001 + (uint32_t)i);
		objset_add_pod(&set, p);
	}
	assert_int_equal(registry_apply(r, &file_a, &set, REGISTRY_REPLACE,
	    err, sizeof(err)), 0);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		s = registry_find_service(r, "default", name);
		assert_int_equal(s->nmembers, 40);
		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(registry_find_pod(r, "default",
		    name)->nmember_of, 40);
	}
	/* Every other pod and service goes; the rest stay linked. */
	for (i = 0; i < 40; i += 2) {
		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(registry_delete(r, REGISTRY_POD, "default",
		    name, NULL, err, sizeof(err)), 0);
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(registry_delete(r, REGISTRY_SERVICE,
		    "default", name, NULL, err, sizeof(err)), 0);
	}
	s = registry_find_service(r, "default", "s1");
	assert_int_equal(s->nmembers, 20);
	p = registry_find_pod(r, "default", "p1");
	assert_int_equal(p->nmember_of, 20);
	/* A new service finds the remaining pods through the index. */
	s = service_new();
	service_set_name(s, "default", "late");
	s->selector = selector_new();
	selector_add(s->selector, "app", SELECTOR_OP_EQ, &v, 1, NULL, 0);
	objset_add_service(&set, s);
	assert_int_equal(registry_apply(r, &file_b, &set, REGISTRY_MERGE,
	    err, sizeof(err)), 0);
	assert_int_equal(registry_find_service(r, "default",
	    "late")->nmembers, 20);
	assert_int_equal(p->nmember_of, 21);
	registry_free(r);
}

/* An owner left with nothing is forgotten, and comes back cleanly. */
static void
test_owner_churn(void **state)
{
	struct registry *r = registry_new(NULL);
	char id[32], err[256];
	struct owner o = { OWNER_DOCKER, id };
	struct service *s;
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "c%d", i % 3);
		apply_as_ok(r, &o, REGISTRY_REPLACE,
		    SVC("web", "{app: web}"));
		s = registry_find_service(r, "default", "web");
		assert_non_null(s);
		assert_string_equal(s->owner.id, id);
		if (i % 2 == 0)
			registry_remove_owner(r, &o);
		else
			assert_int_equal(registry_delete(r, REGISTRY_SERVICE,
			    "default", "web", &o, err, sizeof(err)), 0);
		assert_null(registry_find_service(r, "default", "web"));
		/* Removing an owner that holds nothing is harmless. */
		registry_remove_owner(r, &o);
	}
	assert_int_equal(registry_count_services(r), 0);
	registry_free(r);
}

/*
 * Endpoint hostnames: a Pod's spec.hostname counts for the service its
 * spec.subdomain names only; a change of either is a change of the pod.
 * Endpoints keep a hostname per address.
 */
static void
test_endpoint_hostnames(void **state)
{
	struct registry *r = registry_new(NULL);
	struct events ev = { 0 };
	struct service *web, *all, *ep;
	struct pod *p;

	apply_ok(r,
	    "---\nkind: Service\nmetadata: {name: web}\n"
	    "spec: {clusterIP: None, selector: {app: web}}\n"
	    "---\nkind: Service\nmetadata: {name: all}\n"
	    "spec: {selector: {app: web}, ports: [{port: 80}]}\n"
	    "---\nkind: Service\nmetadata: {name: ep}\n"
	    "spec: {clusterIP: None}\n"
	    "---\nkind: Pod\nmetadata: {name: web-0, labels: {app: web}}\n"
	    "spec: {hostname: w0, subdomain: web}\n"
	    "status: {podIP: 127.0.40.1}\n"
	    "---\nkind: Endpoints\nmetadata: {name: ep}\n"
	    "subsets: [{addresses: [{ip: 127.0.50.1, hostname: a}, "
	    "{ip: 127.0.50.2}]}]\n");
	web = registry_find_service(r, "default", "web");
	all = registry_find_service(r, "default", "all");
	ep = registry_find_service(r, "default", "ep");
	p = registry_find_pod(r, "default", "web-0");
	assert_int_equal(p->nmember_of, 2);
	assert_string_equal(pod_endpoint_hostname(p, web), "w0");
	assert_null(pod_endpoint_hostname(p, all));
	assert_false(web->publish_not_ready);
	assert_int_equal(ep->nmembers, 2);
	p = registry_find_pod(r, "default", "ep-127-0-50-1");
	assert_string_equal(pod_endpoint_hostname(p, ep), "a");
	p = registry_find_pod(r, "default", "ep-127-0-50-2");
	assert_null(pod_endpoint_hostname(p, ep));

	/* A new hostname is a change of the pod, republished. */
	registry_subscribe(r, count_cb, &ev);
	apply_as_ok(r, &api, REGISTRY_MERGE,
	    "---\nkind: Pod\nmetadata: {name: web-1, labels: {app: web}}\n"
	    "spec: {hostname: w1, subdomain: web}\n"
	    "status: {podIP: 127.0.40.2}\n");
	memset(&ev, 0, sizeof(ev));
	apply_as_ok(r, &api, REGISTRY_MERGE,
	    "---\nkind: Pod\nmetadata: {name: web-1, labels: {app: web}}\n"
	    "spec: {hostname: w2, subdomain: web}\n"
	    "status: {podIP: 127.0.40.2}\n");
	assert_true(ev.n[REG_POD_CHANGED] + ev.n[REG_POD_ADDED] > 0);
	p = registry_find_pod(r, "default", "web-1");
	assert_string_equal(pod_endpoint_hostname(p, web), "w2");
	/* The same again: nothing said. */
	memset(&ev, 0, sizeof(ev));
	apply_as_ok(r, &api, REGISTRY_MERGE,
	    "---\nkind: Pod\nmetadata: {name: web-1, labels: {app: web}}\n"
	    "spec: {hostname: w2, subdomain: web}\n"
	    "status: {podIP: 127.0.40.2}\n");
	assert_int_equal(ev.total, 0);
	registry_unsubscribe(r, count_cb, &ev);
	registry_free(r);
}

/* An update changes the object in place: pointer and uid stay. */
static void
test_identity_kept_across_updates(void **state)
{
	struct registry *r = registry_new(NULL);
	struct service *s;
	struct pod *p;
	uint64_t suid, puid;

	apply_ok(r,
	    SVC("web", "{app: web}")
	    POD("w1", "{app: web}", "127.0.10.1"));
	s = registry_find_service(r, "default", "web");
	p = registry_find_pod(r, "default", "w1");
	suid = s->uid;
	puid = p->uid;
	assert_true(suid != 0 && puid != 0 && suid != puid);
	/* New port, new labels, new address: the same objects. */
	apply_ok(r,
	    "---\nkind: Service\nmetadata: {name: web}\n"
	    "spec: {selector: {app: web}, ports: [{port: 81}]}\n"
	    POD("w1", "{app: web, v: \"2\"}", "127.0.10.9"));
	assert_ptr_equal(registry_find_service(r, "default", "web"), s);
	assert_ptr_equal(registry_find_pod(r, "default", "w1"), p);
	assert_int_equal(s->uid, suid);
	assert_int_equal(p->uid, puid);
	assert_int_equal(s->ports[0].port, 81);
	assert_int_equal(p->ip.s_addr, inet_addr("127.0.10.9"));
	assert_int_equal(s->nmembers, 1);
	assert_ptr_equal(s->members[0], p);
	assert_int_equal(p->nmember_of, 1);
	assert_ptr_equal(p->member_of[0], s);
	/* Deleted and made again: a new identity. */
	apply_ok(r,
	    SVC("web", "{app: web}"));
	assert_null(registry_find_pod(r, "default", "w1"));
	apply_ok(r,
	    SVC("web", "{app: web}")
	    POD("w1", "{app: web}", "127.0.10.1"));
	assert_true(registry_find_pod(r, "default", "w1")->uid > puid);
	registry_free(r);
}

static size_t
ready_n(const struct svc_port *sp)
{
	return sp->ready == NULL ? 0 : sp->ready->n;
}

static const struct svc_endpoint *
ready_ep(const struct svc_port *sp, size_t i)
{
	assert_true(i < ready_n(sp));
	return &sp->ready->v[i];
}

struct ready_seen {
	size_t	n[2];		/* ready endpoints of ports 0, 1 at the event */
	int	events;
};

static void
ready_cb(enum registry_event ev, const struct service *s,
    const struct pod *p, void *arg)
{
	struct ready_seen *rs = arg;

	(void)p;
	if (ev == REG_ENDPOINTS_CHANGED && strcmp(s->name, "web") == 0 &&
	    s->nports == 2) {
		rs->n[0] = ready_n(&s->ports[0]);
		rs->n[1] = ready_n(&s->ports[1]);
		rs->events++;
	}
}

#define WEB_SVC \
	"---\nkind: Service\nmetadata: {name: web}\n" \
	"spec:\n  selector: {app: web}\n  ports:\n" \
	"  - {name: http, port: 80, targetPort: http}\n" \
	"  - {name: raw, port: 81, targetPort: 9000}\n"
#define WEB_POD_A(port) \
	"---\nkind: Pod\nmetadata: {name: a, labels: {app: web}}\n" \
	"spec: {containers: [{ports: [{name: http, containerPort: " port \
	"}]}]}\nstatus: {podIP: 127.0.10.1}\n"
#define WEB_POD_B \
	"---\nkind: Pod\nmetadata: {name: b, labels: {app: web}}\n" \
	"spec:\n  containers:\n  - ports: [{name: other, " \
	"containerPort: 7000}]\n    readinessProbe: {tcpSocket: {port: " \
	"7000}}\nstatus: {podIP: 127.0.10.2}\n"

/*
 * Each service port keeps its ready endpoints with the target port
 * resolved, current whenever subscribers hear of a change.
 */
static void
test_ready_arrays(void **state)
{
	struct registry *r = registry_new(NULL);
	struct ready_seen rs = { { 0, 0 }, 0 };
	struct service *s;
	struct pod *a, *b;
	char err[256];

	registry_subscribe(r, ready_cb, &rs);
	apply_ok(r,
	    WEB_SVC WEB_POD_A("8080") WEB_POD_B);
	s = registry_find_service(r, "default", "web");
	a = registry_find_pod(r, "default", "a");
	b = registry_find_pod(r, "default", "b");
	assert_int_equal(s->nmembers, 2);
	/* b waits for its probe. */
	assert_int_equal(ready_n(&s->ports[0]), 1);
	assert_ptr_equal(ready_ep(&s->ports[0], 0)->pod, a);
	assert_int_equal(ready_ep(&s->ports[0], 0)->uid, a->uid);
	assert_int_equal(ready_ep(&s->ports[0], 0)->port, 8080);
	assert_int_equal(ready_ep(&s->ports[0], 0)->ip.s_addr,
	    inet_addr("127.0.10.1"));
	assert_int_equal(ready_n(&s->ports[1]), 1);
	assert_int_equal(ready_ep(&s->ports[1], 0)->port, 9000);
	/* b's probe passes: ready on the port it resolves only. */
	rs.events = 0;
	assert_int_equal(registry_set_probe_result(r, "default/b", true), 0);
	assert_int_equal(rs.events, 1);
	assert_int_equal(rs.n[0], 1);
	assert_int_equal(rs.n[1], 2);
	assert_ptr_equal(ready_ep(&s->ports[1], 1)->pod, b);
	assert_int_equal(ready_ep(&s->ports[1], 1)->port, 9000);
	/* ... and fails again. */
	assert_int_equal(registry_set_probe_result(r, "default/b", false), 0);
	assert_int_equal(ready_n(&s->ports[1]), 1);
	/* a's named port moves: the array follows, a keeps its place. */
	rs.events = 0;
	apply_ok(r,
	    WEB_SVC WEB_POD_A("8081") WEB_POD_B);
	assert_true(rs.events >= 1);
	assert_int_equal(rs.n[0], 1);
	assert_int_equal(ready_ep(&s->ports[0], 0)->port, 8081);
	assert_ptr_equal(ready_ep(&s->ports[0], 0)->pod, a);
	/* a leaves the selector: nothing ready on port 80. */
	apply_ok(r,
	    WEB_SVC WEB_POD_B
	    "---\nkind: Pod\nmetadata: {name: a, labels: {app: old}}\n"
	    "status: {podIP: 127.0.10.1}\n");
	assert_int_equal(ready_n(&s->ports[0]), 0);
	assert_int_equal(ready_n(&s->ports[1]), 0);
	assert_int_equal(rs.n[0], 0);
	/* The service's targetPort changes: resolved again. */
	assert_int_equal(apply_yaml(r, &file_a, REGISTRY_REPLACE,
	    "---\nkind: Service\nmetadata: {name: web}\n"
	    "spec:\n  selector: {app: web}\n  ports:\n"
	    "  - {name: http, port: 80, targetPort: 7000}\n"
	    "  - {name: raw, port: 81, targetPort: other}\n" WEB_POD_B, err),
	    0);
	assert_int_equal(registry_set_probe_result(r, "default/b", true), 0);
	assert_int_equal(ready_n(&s->ports[0]), 1);
	assert_int_equal(ready_ep(&s->ports[0], 0)->port, 7000);
	assert_int_equal(ready_ep(&s->ports[1], 0)->port, 7000);
	/* The pod goes: the arrays drop it before it is freed. */
	apply_ok(r,
	    "---\nkind: Service\nmetadata: {name: web}\n"
	    "spec:\n  selector: {app: web}\n  ports:\n"
	    "  - {name: http, port: 80, targetPort: 7000}\n"
	    "  - {name: raw, port: 81, targetPort: other}\n");
	assert_int_equal(ready_n(&s->ports[0]), 0);
	assert_int_equal(rs.n[0], 0);
	registry_free(r);
}

/*
 * One ready array per family: a dual-stack service's ports list each
 * ready member under the families it has an address of, an IPv4-only
 * service keeps no IPv6 array, and the arrays follow address changes.
 */
static void
test_ready_arrays_per_family(void **state)
{
	const char *ranges[] = { "127.96.0.0/24", "fd00:96::/112" };
	struct vip_pool *pool;
	struct registry *r;
	struct service *s, *s4;
	const struct svc_port *sp;
	struct in6_addr a6;
	char err[256];

	(void)state;
	pool = vip_pool_new_ranges(ranges, 2, NULL, err, sizeof(err));
	assert_non_null(pool);
	r = registry_new(pool);
	assert_non_null(r);
	apply_ok(r,
	    "---\nkind: Service\nmetadata: {name: dual}\n"
	    "spec: {selector: {app: w}, ipFamilyPolicy: PreferDualStack, "
	    "ports: [{port: 80, targetPort: 8080}]}\n"
	    "---\nkind: Service\nmetadata: {name: four}\n"
	    "spec: {selector: {app: w}, ports: [{port: 80}]}\n"
	    "---\nkind: Pod\nmetadata: {name: both, labels: {app: w}}\n"
	    "status: {podIPs: [{ip: 127.0.10.1}, {ip: \"fd00:10::1\"}]}\n"
	    "---\nkind: Pod\nmetadata: {name: v4, labels: {app: w}}\n"
	    "status: {podIP: 127.0.10.2}\n"
	    "---\nkind: Pod\nmetadata: {name: v6, labels: {app: w}}\n"
	    "status: {podIP: \"fd00:10::3\"}\n");
	s = registry_find_service(r, "default", "dual");
	s4 = registry_find_service(r, "default", "four");
	assert_non_null(s);
	assert_non_null(s4);
	assert_true(service_has_family(s, IP_FAMILY_V6));
	sp = &s->ports[0];
	assert_non_null(sp->ready);
	assert_non_null(sp->ready6);
	assert_int_equal(sp->ready->n, 2);
	assert_int_equal(sp->ready6->n, 2);
	assert_string_equal(sp->ready->v[0].pod->name, "both");
	assert_string_equal(sp->ready->v[1].pod->name, "v4");
	assert_int_equal(sp->ready->v[1].ip.s_addr, inet_addr("127.0.10.2"));
	assert_string_equal(sp->ready6->v[0].pod->name, "both");
	assert_string_equal(sp->ready6->v[1].pod->name, "v6");
	assert_int_equal(inet_pton(AF_INET6, "fd00:10::3", &a6), 1);
	assert_memory_equal(&sp->ready6->v[1].ip6, &a6, sizeof(a6));
	assert_int_equal(sp->ready6->v[1].port, 8080);
	assert_int_equal(sp->ready6->v[1].uid, sp->ready6->v[1].pod->uid);
	/* The IPv4-only service: no IPv6 array. */
	assert_int_equal(s4->ports[0].ready->n, 2);
	assert_null(s4->ports[0].ready6);
	/* "both" loses its IPv6 address: it leaves the IPv6 array only. */
	apply_ok(r,
	    "---\nkind: Service\nmetadata: {name: dual}\n"
	    "spec: {selector: {app: w}, ipFamilyPolicy: PreferDualStack, "
	    "ports: [{port: 80, targetPort: 8080}]}\n"
	    "---\nkind: Pod\nmetadata: {name: both, labels: {app: w}}\n"
	    "status: {podIP: 127.0.10.1}\n"
	    "---\nkind: Pod\nmetadata: {name: v6, labels: {app: w}}\n"
	    "status: {podIP: \"fd00:10::3\"}\n");
	sp = &s->ports[0];
	assert_int_equal(sp->ready->n, 1);
	assert_int_equal(sp->ready6->n, 1);
	assert_string_equal(sp->ready6->v[0].pod->name, "v6");
	/* The service turns single-stack IPv4: its IPv6 array goes. */
	apply_ok(r,
	    "---\nkind: Service\nmetadata: {name: dual}\n"
	    "spec: {selector: {app: w}, ports: [{port: 80, targetPort: "
	    "8080}]}\n"
	    "---\nkind: Pod\nmetadata: {name: v6, labels: {app: w}}\n"
	    "status: {podIP: \"fd00:10::3\"}\n");
	assert_null(s->ports[0].ready6);
	assert_int_equal(ready_n(&s->ports[0]), 0);
	registry_free(r);
	vip_pool_free(pool);
}

/* Pods are indexed by address; several may share one. */
static void
test_pods_by_ip(void **state)
{
	struct registry *r = registry_new(NULL);
	struct in_addr a1, a2;
	struct pod *p, *q, *x;

	a1.s_addr = inet_addr("127.0.10.1");
	a2.s_addr = inet_addr("127.0.10.2");
	assert_null(registry_find_pod_by_ip(r, a1));
	apply_ok(r,
	    POD("p", "{app: x}", "127.0.10.1")
	    POD("q", "{app: x}", "127.0.10.1"));
	p = registry_find_pod(r, "default", "p");
	q = registry_find_pod(r, "default", "q");
	x = registry_find_pod_by_ip(r, a1);
	assert_true((x == p && x->ip_next == q) || (x == q && x->ip_next == p));
	assert_null(x->ip_next->ip_next);
	assert_null(registry_find_pod_by_ip(r, a2));
	assert_null(registry_find_pod_by_ip(r, (struct in_addr){ 0 }));
	/* p moves to another address. */
	apply_ok(r,
	    POD("p", "{app: x}", "127.0.10.2")
	    POD("q", "{app: x}", "127.0.10.1"));
	assert_ptr_equal(registry_find_pod_by_ip(r, a1), q);
	assert_null(q->ip_next);
	assert_ptr_equal(registry_find_pod_by_ip(r, a2), p);
	/* The first of a chain goes: the next one heads it. */
	apply_ok(r,
	    POD("p", "{app: x}", "127.0.10.1")
	    POD("q", "{app: x}", "127.0.10.1"));
	assert_ptr_equal(registry_find_pod_by_ip(r, a1), q);
	assert_ptr_equal(q->ip_next, p);
	apply_ok(r,
	    POD("p", "{app: x}", "127.0.10.1"));
	assert_ptr_equal(registry_find_pod_by_ip(r, a1), p);
	assert_null(p->ip_next);
	registry_remove_owner(r, &file_a);
	assert_null(registry_find_pod_by_ip(r, a1));
	registry_free(r);
}

/* Parses one Service and resolves its families against cluster. */
static int
families_of(const char *spec, const enum ip_family *cluster,
    size_t ncluster, enum ip_family_policy *pol, enum ip_family out[2],
    uint8_t *n, char *err)
{
	char yaml[512];
	struct objset set = { 0 };
	int rc;

	snprintf(yaml, sizeof(yaml), "kind: Service\nmetadata: {name: s}\n"
	    "spec: {%s, ports: [{port: 80}]}\n", spec);
	rc = manifest_parse_buf(yaml, strlen(yaml), "t.yaml", &set, NULL,
	    err, 256);
	if (rc != 0)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	rc = service_ip_families(set.svcs[0], cluster, ncluster, pol, out, n,
	    err, 256);
	objset_clear(&set);
	return rc;
}

struct fam_case {
	const char	*spec;
	size_t		 ncluster;	/* 1: IPv4 only; 2: IPv4, IPv6 */
	int		 rc;
	enum ip_family_policy pol;
	uint8_t		 n;
	enum ip_family	 f0, f1;
	const char	*why;		/* in the reason when refused */
};

#define V4 IP_FAMILY_V4
#define V6 IP_FAMILY_V6
#define SS IPFP_SINGLE_STACK
#define PD IPFP_PREFER_DUAL_STACK
#define RD IPFP_REQUIRE_DUAL_STACK
static const struct fam_case fam_cases[] = {
	/* Nothing asked: the primary family, single-stack. */
	{ "selector: {a: b}", 1, 0, SS, 1, V4, V4, NULL },
	{ "selector: {a: b}", 2, 0, SS, 1, V4, V4, NULL },
	{ "selector: {a: b}, ipFamilies: [IPv6]", 2, 0, SS, 1, V6, V6, NULL },
	{ "selector: {a: b}, ipFamilies: [IPv6]", 1, ERR_INVAL, 0, 0, 0, 0,
	    "spec.ipFamilies[0]: IPv6 is not configured" },
	{ "selector: {a: b}, clusterIP: 'fd00::5'", 1, ERR_INVAL, 0, 0, 0,
	    0, "spec.clusterIPs[0]: IPv6 is not configured" },
	{ "selector: {a: b}, clusterIP: 'fd00::5'", 2, 0, SS, 1, V6, V6,
	    NULL },
	/* PreferDualStack: both where there are two ranges. */
	{ "selector: {a: b}, ipFamilyPolicy: PreferDualStack", 1, 0, PD, 1,
	    V4, V4, NULL },
	{ "selector: {a: b}, ipFamilyPolicy: PreferDualStack", 2, 0, PD, 2,
	    V4, V6, NULL },
	{ "selector: {a: b}, ipFamilyPolicy: PreferDualStack, "
	    "ipFamilies: [IPv6]", 2, 0, PD, 2, V6, V4, NULL },
	{ "selector: {a: b}, ipFamilyPolicy: PreferDualStack, "
	    "ipFamilies: [IPv4, IPv6]", 1, ERR_INVAL, 0, 0, 0, 0,
	    "spec.ipFamilies[1]: IPv6 is not configured" },
	/* RequireDualStack: both, or refused. */
	{ "selector: {a: b}, ipFamilyPolicy: RequireDualStack", 2, 0, RD, 2,
	    V4, V6, NULL },
	{ "selector: {a: b}, ipFamilyPolicy: RequireDualStack", 1,
	    ERR_INVAL, 0, 0, 0, 0, "not configured for dual-stack" },
	{ "selector: {a: b}, ipFamilyPolicy: RequireDualStack, "
	    "ipFamilies: [IPv6]", 2, 0, RD, 2, V6, V4, NULL },
	/* Two families or two clusterIPs without a policy: required. */
	{ "selector: {a: b}, ipFamilies: [IPv6, IPv4]", 2, 0, RD, 2, V6, V4,
	    NULL },
	{ "selector: {a: b}, ipFamilies: [IPv4, IPv6]", 1, ERR_INVAL, 0, 0,
	    0, 0, "not configured for dual-stack" },
	{ "selector: {a: b}, clusterIPs: ['fd00::5', 10.0.0.5]", 2, 0, RD, 2,
	    V6, V4, NULL },
	{ "selector: {a: b}, ipFamilyPolicy: SingleStack, "
	    "ipFamilies: [IPv4, IPv6]", 2, ERR_INVAL, 0, 0, 0, 0,
	    "must be RequireDualStack or PreferDualStack" },
	{ "selector: {a: b}, ipFamilyPolicy: SingleStack, "
	    "clusterIPs: [10.0.0.5, 'fd00::5']", 2, ERR_INVAL, 0, 0, 0, 0,
	    "two 'clusterIPs'" },
	{ "selector: {a: b}, ipFamilies: [IPv4], clusterIP: 'fd00::5'", 2,
	    ERR_INVAL, 0, 0, 0, 0, "does not match the family" },
	{ "selector: {a: b}, ipFamilies: [IPv4], ipFamilyPolicy: "
	    "PreferDualStack, clusterIPs: [10.0.0.5, 'fd00::5']", 2, 0, PD, 2,
	    V4, V6, NULL },
	/* Headless with selector: as ClusterIP; without: dual-stack. */
	{ "selector: {a: b}, clusterIP: None", 2, 0, SS, 1, V4, V4, NULL },
	{ "clusterIP: None", 1, 0, RD, 2, V4, V6, NULL },
	{ "clusterIP: None, ipFamilyPolicy: SingleStack", 2, 0, SS, 1, V4,
	    V4, NULL },
	/* ExternalName: no families, and none may be asked. */
	{ "type: ExternalName, externalName: example.com", 2, 0, IPFP_UNSET,
	    0, V4, V4, NULL },
	{ "type: ExternalName, externalName: example.com, "
	    "ipFamilyPolicy: SingleStack", 2, ERR_INVAL, 0, 0, 0, 0,
	    "may not be set for type ExternalName" },
};

static void
test_service_ip_families_policies(void **state)
{
	static const enum ip_family cluster[] = { V4, V6 };
	enum ip_family_policy pol;
	enum ip_family out[2];
	uint8_t n;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < CIP_ARRAY_LEN(fam_cases); i++) {
		const struct fam_case *c = &fam_cases[i];
		err[0] = '\0';
		rc = families_of(c->spec, cluster, c->ncluster, &pol, out, &n,
		    err);
		if (rc != c->rc)
			print_error("case %zu (%s): rc %d, %s\n", i, c->spec,
			    rc, err);
		assert_int_equal(rc, c->rc);
		if (rc != 0) {
			if (strstr(err, c->why) == NULL)
				print_error("case %zu: \"%s\"\n", i, err);
			assert_non_null(strstr(err, c->why));
			continue;
		}
		if (pol != c->pol || n != c->n)
			print_error("case %zu (%s): policy %d, %u families\n",
			    i, c->spec, pol, n);
		assert_int_equal(pol, c->pol);
		assert_int_equal(n, c->n);
		if (n > 0)
			assert_int_equal(out[0], c->f0);
		if (n > 1)
			assert_int_equal(out[1], c->f1);
	}
}
#undef V4
#undef V6
#undef SS
#undef PD
#undef RD

/* Without a pool both families are there: requested VIPs of each stay. */
static void
test_apply_dual_stack_refusals(void **state)
{
	struct registry *r = registry_new(NULL);
	struct service *s;
	char err[256];

	apply_ok(r,
	    "kind: Service\nmetadata: {name: d}\nspec:\n"
	    "  selector: {a: b}\n"
	    "  clusterIPs: ['fd00:96::20', 127.96.0.20]\n"
	    "  ports: [{port: 80}]\n");
	s = registry_find_service(r, "default", "d");
	assert_non_null(s);
	assert_int_equal(s->policy, IPFP_REQUIRE_DUAL_STACK);
	assert_int_equal(s->nfamilies, 2);
	assert_int_equal(s->families[0], IP_FAMILY_V6);
	assert_int_equal(ntohl(s->vip.s_addr), 0x7f600014);
	assert_int_equal(s->ext->vip6.s6_addr[15], 0x20);
	/* A refusal names the file and the service's line. */
	assert_int_equal(apply_yaml(r, &file_a, REGISTRY_REPLACE,
	    "kind: Service\nmetadata: {name: d}\nspec:\n"
	    "  selector: {a: b}\n"
	    "  ipFamilyPolicy: SingleStack\n"
	    "  ipFamilies: [IPv6, IPv4]\n"
	    "  ports: [{port: 80}]\n", err), ERR_INVAL);
	assert_non_null(strstr(err, "t.yaml:1:1: service default/d: "
	    "spec.ipFamilyPolicy: must be"));
	/* Refused: nothing changed. */
	assert_int_equal(registry_find_service(r, "default", "d")->nfamilies,
	    2);
	/* A pod of both families and an IPv6 Endpoints address. */
	apply_as_ok(r, &file_b, REGISTRY_REPLACE,
	    "kind: Pod\nmetadata: {name: p, labels: {a: b}}\n"
	    "status: {podIP: 'fd00::7', podIPs: [{ip: 'fd00::7'}, "
	    "{ip: 10.0.0.7}]}\n"
	    "---\nkind: Service\nmetadata: {name: e}\n"
	    "spec: {clusterIP: None, ports: [{port: 80}]}\n"
	    "---\nkind: Endpoints\nmetadata: {name: e}\n"
	    "subsets: [{addresses: [{ip: 'fd00::1:2'}], ports: [{port: 80}]}]\n");
	assert_true(registry_find_pod(r, "default", "p")->ip6_primary);
	assert_int_equal(ntohl(registry_find_pod(r, "default",
	    "p")->ip.s_addr), 0x0a000007);
	assert_non_null(registry_find_pod(r, "default", "e-fd00--1-2"));
	assert_int_equal(registry_find_service(r, "default", "d")->nmembers,
	    1);
	registry_free(r);
}

/* With a range per family, each family's VIP comes from its range. */
static void
test_apply_dual_stack_vips(void **state)
{
	const char *ranges[] = { "127.96.0.0/24", "fd00:96::/120" };
	struct vip_pool *pool;
	struct registry *r;
	struct service *s;
	struct in6_addr six;
	char err[256];

	pool = vip_pool_new_ranges(ranges, 2, NULL, err, sizeof(err));
	assert_non_null(pool);
	r = registry_new(pool);
	apply_ok(r,
	    "kind: Service\nmetadata: {name: d}\nspec:\n"
	    "  selector: {a: b}\n  ipFamilyPolicy: PreferDualStack\n"
	    "  ports: [{port: 80}]\n"
	    "---\nkind: Service\nmetadata: {name: four}\n"
	    "spec: {selector: {a: b}, ports: [{port: 80}]}\n");
	s = registry_find_service(r, "default", "d");
	assert_int_equal(s->nfamilies, 2);
	assert_true(vip_in_range(pool, s->vip));
	assert_true(vip_in_range6(pool, &s->ext->vip6));
	assert_string_equal(vip_owner6(pool, &s->ext->vip6), "default/d");
	six = s->ext->vip6;
	s = registry_find_service(r, "default", "four");
	assert_true(in6_is_unset(&s->ext->vip6));
	assert_int_equal(vip_count(pool), 3);
	/* Back to single-stack: the IPv6 VIP is released, then given back. */
	apply_ok(r,
	    "kind: Service\nmetadata: {name: d}\n"
	    "spec: {selector: {a: b}, ports: [{port: 80}]}\n");
	s = registry_find_service(r, "default", "d");
	assert_true(in6_is_unset(&s->ext->vip6));
	assert_null(vip_owner6(pool, &six));
	apply_ok(r,
	    "kind: Service\nmetadata: {name: d}\nspec:\n"
	    "  selector: {a: b}\n  ipFamilies: [IPv6]\n"
	    "  ports: [{port: 80}]\n");
	s = registry_find_service(r, "default", "d");
	assert_memory_equal(&s->ext->vip6, &six, sizeof(six));
	assert_int_equal(s->vip.s_addr, 0);
	/* A requested IPv6 address outside the range: refused, unchanged. */
	assert_int_equal(apply_yaml(r, &file_a, REGISTRY_REPLACE,
	    "kind: Service\nmetadata: {name: d}\nspec:\n"
	    "  selector: {a: b}\n  clusterIP: 'fd00:97::1'\n"
	    "  ports: [{port: 80}]\n", err), ERR_INVAL);
	assert_non_null(strstr(err, "t.yaml:1:1: service default/d: "
	    "clusterIP fd00:97::1: fd00:97::1 is not a usable address"));
	assert_memory_equal(&registry_find_service(r, "default", "d")->ext->vip6,
	    &six, sizeof(six));
	registry_free(r);
	vip_pool_free(pool);
}

/*
 * Another host's Service (published, as etcd brings it) keeps the VIPs
 * that host gave it: outside this host's IPv4 range, and IPv6 on a host
 * without an IPv6 range, without taking them from the pool; back in the
 * range, it is the pool's again. The same Service applied here is
 * refused.
 */
static void
test_apply_published_vips(void **state)
{
	static const char dual[] = "kind: Service\nmetadata: {name: w}\n"
	    "spec:\n  selector: {a: b}\n  ipFamilyPolicy: RequireDualStack\n"
	    "  ipFamilies: [IPv4, IPv6]\n"
	    "  clusterIPs: [127.97.0.5, 'fd00:ca::5']\n  ports: [{port: 80}]\n";
	static const char prefer[] = "kind: Service\nmetadata: {name: p}\n"
	    "spec:\n  selector: {a: b}\n  ipFamilyPolicy: PreferDualStack\n"
	    "  ipFamilies: [IPv4]\n  clusterIPs: [10.97.0.3]\n"
	    "  ports: [{port: 80}]\n";
	static const struct owner other = { OWNER_ETCD, (char *)"host-a" };
	struct objset set = { 0 };
	struct vip_pool *pool;
	struct registry *r;
	struct service *s;
	struct in_addr want;
	struct in6_addr want6;
	char err[256];

	pool = vip_pool_new("127.96.0.0/24", NULL, err, sizeof(err));
	assert_non_null(pool);
	r = registry_new(pool);
	assert_int_not_equal(apply_yaml(r, &api, REGISTRY_MERGE, dual, err), 0);
	assert_int_equal(manifest_parse_buf(dual, strlen(dual), "etcd", &set,
	    NULL, err, sizeof(err)), 0);
	set.published = true;
	assert_int_equal(registry_apply(r, &other, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	objset_clear(&set);
	s = registry_find_service(r, "default", "w");
	assert_non_null(s);
	assert_int_equal(s->nfamilies, 2);
	assert_int_equal(inet_pton(AF_INET, "127.97.0.5", &want), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:ca::5", &want6), 1);
	assert_int_equal(s->vip.s_addr, want.s_addr);
	assert_memory_equal(&s->ext->vip6, &want6, sizeof(want6));
	assert_int_equal(vip_count(pool), 0);
	/* Moved into this host's range: allocated from the pool. */
	assert_int_equal(manifest_parse_buf(dual, strlen(dual), "etcd", &set,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(inet_pton(AF_INET, "127.96.0.9",
	    &service_ext_mut(set.svcs[0])->requested_vip), 1);
	set.published = true;
	assert_int_equal(registry_apply(r, &other, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	objset_clear(&set);
	assert_string_equal(vip_owner(pool, registry_find_service(r, "default",
	    "w")->vip), "default/w");
	assert_int_equal(vip_count(pool), 1);
	/*
	 * PreferDualStack from a host with one range: it keeps that one
	 * family here too, no IPv6 VIP asked of a pool without a range.
	 */
	assert_int_equal(manifest_parse_buf(prefer, strlen(prefer), "etcd",
	    &set, NULL, err, sizeof(err)), 0);
	set.published = true;
	assert_int_equal(registry_apply(r, &other, &set, REGISTRY_MERGE, err,
	    sizeof(err)), 0);
	objset_clear(&set);
	s = registry_find_service(r, "default", "p");
	assert_int_equal(s->nfamilies, 1);
	assert_true(in6_is_unset(&s->ext->vip6));
	assert_int_equal(inet_pton(AF_INET, "10.97.0.3", &want), 1);
	assert_int_equal(s->vip.s_addr, want.s_addr);
	registry_free(r);
	vip_pool_free(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_members_and_events),
		cmocka_unit_test(test_apply_owner_conflict),
		cmocka_unit_test(test_apply_duplicate_refused),
		cmocka_unit_test(test_merge_keeps_others),
		cmocka_unit_test(test_foreach_owned),
		cmocka_unit_test(test_set_based_selector),
		cmocka_unit_test(test_probe_readiness),
		cmocka_unit_test(test_endpoints_object),
		cmocka_unit_test(test_vips_stable_and_conflicts),
		cmocka_unit_test(test_scale_change_is_local),
		cmocka_unit_test(test_ptab_against_reference),
		cmocka_unit_test(test_shared_label_lists),
		cmocka_unit_test(test_owner_churn),
		cmocka_unit_test(test_hmap_empty_and_many),
		cmocka_unit_test(test_names_share_one_block),
		cmocka_unit_test(test_owner_id_and_vip_lookup),
		cmocka_unit_test(test_endpoint_hostnames),
		cmocka_unit_test(test_identity_kept_across_updates),
		cmocka_unit_test(test_ready_arrays),
		cmocka_unit_test(test_ready_arrays_per_family),
		cmocka_unit_test(test_pods_by_ip),
		cmocka_unit_test(test_service_ip_families_policies),
		cmocka_unit_test(test_apply_dual_stack_refusals),
		cmocka_unit_test(test_apply_dual_stack_vips),
		cmocka_unit_test(test_apply_published_vips),
		cmocka_unit_test(test_endpoints_pods_and_delete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
