/* SPDX-License-Identifier: MIT */
/*
 * etcd.c -- the etcd client's requests: range, txn, lease grant,
 * keepalive, time to live and revoke, each one POST of JSON to the gateway through
 * http_client, which moves to the next member when one does not answer.
 * With a user, a token from /v3/auth/authenticate goes in the
 * Authorization header; requests made while it is being fetched wait.
 * The watch is in etcd_watch.c.
 */
#include "config.h"

#include <sys/queue.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "log.h"
#include "http_client.h"
#include "etcd.h"
#include "etcd_int.h"

/* Biggest answer held: a range over 100,000 objects fits. */
#define ETCD_MAX_BODY	(512u * 1024 * 1024)
/* A prefix read, which may hold the whole cluster. */
#define ETCD_RANGE_TIMEOUT_MS	120000
/* Connections to the members at once: each watch holds one. */
#define ETCD_MAX_CONNS	16

struct etcd_req;
typedef void etcd_req_handler(struct etcd_req *, const char *error,
    json_t *answer);

struct etcd_req {
	TAILQ_ENTRY(etcd_req)	 entry;
	struct etcd		*e;
	struct http_client_req	*http;
	char			*path;
	char			*body;
	uint64_t		 timeout_ms;	/* 0: the client's */
	bool			 is_auth;
	etcd_req_handler	*handle;
	union {
		etcd_range_cb	*range;
		etcd_page_cb	*page;
		etcd_txn_cb	*txn;
		etcd_lease_cb	*lease;
	} cb;
	void			*arg;
};

struct etcd_txn {
	json_t			*compare, *success, *failure;
};

static int	etcd_post(struct etcd *, const char *, json_t *,
		    etcd_req_handler *, uint64_t, struct etcd_req **);
static int	etcd_send(struct etcd_req *);
static void	etcd_req_free(struct etcd_req *);
static void	etcd_done_cb(long, const char *, size_t, const char *, void *);
static void	etcd_authenticate(struct etcd *);

struct etcd *
etcd_new(struct event_base *base, const struct etcd_conf *conf)
{
	struct etcd *e;
	size_t i;

	if (conf->nendpoints == 0) {
		log_warnx("%s: no etcd endpoint", __func__);
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_warn("%s", __func__);
		return NULL;
	}
	e->base = base;
	TAILQ_INIT(&e->reqs);
	LIST_INIT(&e->watches);
	e->timeout_ms = conf->timeout_ms != 0 ? conf->timeout_ms : 5000;
	/* Requests beyond queue in libcurl, not as new connections. */
	if ((e->http = http_client_new(base)) == NULL ||
	    http_client_set_max_connections(e->http, ETCD_MAX_CONNS) != 0 ||
	    (e->eps = calloc(conf->nendpoints, sizeof(*e->eps))) == NULL)
		goto fail;
	e->neps = conf->nendpoints;
	for (i = 0; i < e->neps; i++)
		if ((e->eps[i] = strdup(conf->endpoints[i])) == NULL)
			goto fail;
	if ((conf->cacert && (e->cacert = strdup(conf->cacert)) == NULL) ||
	    (conf->cert && (e->cert = strdup(conf->cert)) == NULL) ||
	    (conf->key && (e->key = strdup(conf->key)) == NULL) ||
	    (conf->user && (e->user = strdup(conf->user)) == NULL) ||
	    (conf->password &&
	    (e->password = strdup(conf->password)) == NULL))
		goto fail;
	return e;
fail:
	log_warnx("%s: cannot set up the etcd client", __func__);
	etcd_free(e);
	return NULL;
}

void
etcd_free(struct etcd *e)
{
	struct etcd_req *r;
	size_t i;

	if (e == NULL)
		return;
	while (!LIST_EMPTY(&e->watches))
		etcd_watch_stop(LIST_FIRST(&e->watches));
	while ((r = TAILQ_FIRST(&e->reqs)) != NULL)
		etcd_req_free(r);
	http_client_free(e->http);
	for (i = 0; i < e->neps && e->eps != NULL; i++)
		free(e->eps[i]);
	free(e->eps);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->password != NULL)
		explicit_bzero(e->password, strlen(e->password));
	free(e->password);
	free(e->auth_header);
	free(e);
}

void
etcd_set_health_cb(struct etcd *e, etcd_health_cb *cb, void *arg)
{
	e->health_cb = cb;
	e->health_arg = arg;
}

bool
etcd_is_up(const struct etcd *e)
{
	return e->up;
}

void
etcd_note(struct etcd *e, long status, const char *error)
{
	bool up = !(status == 0 && error != NULL);

	if (e->known && up == e->up)
		return;
	e->known = true;
	e->up = up;
	if (e->health_cb != NULL)
		e->health_cb(up, up ? NULL : error, e->health_arg);
}

void
etcd_http_opts(struct etcd *e, struct http_client_opts *o)
{
	o->bases = (const char *const *)e->eps;
	o->nbases = e->neps;
	o->member = &e->member;
	o->cacert = e->cacert;
	o->cert = e->cert;
	o->key = e->key;
	o->auth_header = e->auth_header;
	o->connect_timeout_ms = 2000;
}

const char *
etcd_answer_error(long status, const json_t *body, char *buf, size_t len)
{
	const char *m;

	m = json_string_value(json_object_get(body, "message"));
	if (m == NULL)
		m = json_string_value(json_object_get(body, "error"));
	if (status == 200 && m == NULL)
		return NULL;
	if (status == 200 && json_object_get(body, "header") != NULL)
		return NULL;
	snprintf(buf, len, "etcd answered %ld: %s", status,
	    m != NULL ? m : "no reason given");
	return buf;
}

void
etcd_auth_refused(struct etcd *e, long status, const json_t *body)
{
	const char *m = json_string_value(json_object_get(body, "message"));

	if (e->user == NULL || e->auth_header == NULL)
		return;
	if (status == 401 || (m != NULL && strstr(m, "auth token") != NULL)) {
		log_info("etcd: the token was refused; authenticating again");
		free(e->auth_header);
		e->auth_header = NULL;
	}
}

/*
 * Queues a POST of body (stolen) to path; it is sent now, or once a
 * token arrived. Returns 0 (and the request in *out when not NULL), or
 * -1 (logged).
 */
static int
etcd_post(struct etcd *e, const char *path, json_t *body,
    etcd_req_handler *handle, uint64_t timeout_ms, struct etcd_req **out)
{
	struct etcd_req *r;

	if (body == NULL || (r = calloc(1, sizeof(*r))) == NULL) {
		json_decref(body);
		log_warnx("%s: %s: out of memory", __func__, path);
		return -1;
	}
	r->e = e;
	r->handle = handle;
	r->timeout_ms = timeout_ms;
	r->body = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (r->body == NULL || (r->path = strdup(path)) == NULL) {
		free(r->body);
		free(r);
		log_warnx("%s: %s: out of memory", __func__, path);
		return -1;
	}
	TAILQ_INSERT_TAIL(&e->reqs, r, entry);
	if (out != NULL)
		*out = r;
	if (e->user != NULL && e->auth_header == NULL) {
		etcd_authenticate(e);
		return 0;	/* sent once the token is in */
	}
	if (etcd_send(r) != 0) {
		etcd_req_free(r);
		return -1;
	}
	return 0;
}

static int
etcd_send(struct etcd_req *r)
{
	struct http_client_opts o = { 0 };

	etcd_http_opts(r->e, &o);
	o.url = r->path;
	o.post = r->body;
	o.post_len = strlen(r->body);
	o.timeout_ms = r->timeout_ms != 0 ? r->timeout_ms : r->e->timeout_ms;
	o.max_body = ETCD_MAX_BODY;
	o.done_cb = etcd_done_cb;
	o.arg = r;
	if (r->is_auth)
		o.auth_header = NULL;
	r->http = http_client_get(r->e->http, &o);
	return r->http != NULL ? 0 : -1;
}

static void
etcd_req_free(struct etcd_req *r)
{
	TAILQ_REMOVE(&r->e->reqs, r, entry);
	http_client_cancel(r->http);
	free(r->path);
	if (r->body != NULL)
		explicit_bzero(r->body, strlen(r->body));
	free(r->body);
	free(r);
}

/* http_client: an answer (or none). Parses it and hands it on. */
static void
etcd_done_cb(long status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct etcd_req *r = arg;
	struct etcd *e = r->e;
	json_t *j = NULL;
	json_error_t je;
	char buf[512];

	r->http = NULL;		/* freed by http_client when we return */
	etcd_note(e, status, error);
	if (error == NULL) {
		if ((j = json_loadb(body, len, 0, &je)) == NULL) {
			snprintf(buf, sizeof(buf), "etcd answered %ld with "
			    "no JSON: %s", status, je.text);
			error = buf;
		} else if ((error = etcd_answer_error(status, j, buf,
		    sizeof(buf))) != NULL)
			etcd_auth_refused(e, status, j);
	}
	r->handle(r, error, error == NULL ? j : NULL);
	json_decref(j);
	etcd_req_free(r);
}

/* The token's answer: sends what waited for it, or fails it. */
static void
etcd_auth_done(struct etcd_req *ar, const char *error, json_t *answer)
{
	struct etcd *e = ar->e;
	struct etcd_req *r, *next;
	const char *tok;
	char why[512];

	e->authenticating = false;
	tok = json_string_value(json_object_get(answer, "token"));
	if (error == NULL && tok == NULL)
		error = "etcd gave no token";
	if (error == NULL &&
	    asprintf(&e->auth_header, "Authorization: %s", tok) == -1) {
		e->auth_header = NULL;
		error = "out of memory";
	}
	if (error != NULL)
		log_warnx("etcd: authentication as %s failed: %s", e->user,
		    error);
	snprintf(why, sizeof(why), "authentication failed: %s",
	    error != NULL ? error : "");
	for (r = TAILQ_FIRST(&e->reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r == ar || r->http != NULL || r->is_auth)
			continue;
		if (error == NULL && etcd_send(r) == 0)
			continue;
		r->handle(r, error != NULL ? why : "cannot send", NULL);
		etcd_req_free(r);
	}
}

static void
etcd_authenticate(struct etcd *e)
{
	struct etcd_req *r;
	json_t *b;

	if (e->authenticating)
		return;
	e->authenticating = true;
	b = json_pack("{s:s,s:s}", "name", e->user, "password",
	    e->password != NULL ? e->password : "");
	if (b == NULL || (r = calloc(1, sizeof(*r))) == NULL) {
		json_decref(b);
		e->authenticating = false;
		return;
	}
	r->e = e;
	r->is_auth = true;
	r->handle = etcd_auth_done;
	r->body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	r->path = strdup("/v3/auth/authenticate");
	TAILQ_INSERT_HEAD(&e->reqs, r, entry);
	if (r->body == NULL || r->path == NULL || etcd_send(r) != 0) {
		/* Fails what waits, with this request's reason. */
		etcd_auth_done(r, "cannot send the authentication", NULL);
		etcd_req_free(r);
	}
}

/* Range. */

static void
etcd_range_done(struct etcd_req *r, const char *error, json_t *answer)
{
	struct etcd_kv *kvs = NULL;
	size_t n = 0;
	int64_t rev = 0;

	if (error == NULL) {
		rev = etcd_json_i64(json_object_get(json_object_get(answer,
		    "header"), "revision"));
		if (etcd_kvs_parse(json_object_get(answer, "kvs"), &kvs,
		    &n) != 0)
			error = "etcd answered a range with bad key-values";
	}
	r->cb.range(error, rev, kvs, n, r->arg);
	etcd_kvs_free(kvs, n);
}

int
etcd_range(struct etcd *e, const char *key, size_t keylen, bool prefix,
    etcd_range_cb *cb, void *arg)
{
	struct etcd_req *r;
	json_t *b;
	char *end = NULL;
	size_t endlen = 0;

	if (prefix && (end = etcd_prefix_end(key, keylen, &endlen)) == NULL)
		return -1;
	b = json_pack("{s:o}", "key", etcd_json_b64(key, keylen));
	if (b != NULL && prefix && json_object_set_new(b, "range_end",
	    etcd_json_b64(end, endlen)) != 0) {
		json_decref(b);
		b = NULL;
	}
	free(end);
	/* A whole prefix may be 100,000 objects: more time to come. */
	if (etcd_post(e, "/v3/kv/range", b, etcd_range_done,
	    prefix ? ETCD_RANGE_TIMEOUT_MS : 0, &r) != 0)
		return -1;
	r->cb.range = cb;
	r->arg = arg;
	return 0;
}

static void
etcd_page_done(struct etcd_req *r, const char *error, json_t *answer)
{
	struct etcd_kv *kvs = NULL;
	size_t n = 0;
	int64_t rev = 0;
	bool more = false;

	if (error == NULL) {
		rev = etcd_json_i64(json_object_get(json_object_get(answer,
		    "header"), "revision"));
		more = json_is_true(json_object_get(answer, "more"));
		if (etcd_kvs_parse(json_object_get(answer, "kvs"), &kvs,
		    &n) != 0)
			error = "etcd answered a range with bad key-values";
	}
	r->cb.page(error, rev, kvs, n, more, r->arg);
	etcd_kvs_free(kvs, n);
}

int
etcd_range_page(struct etcd *e, const char *key, size_t keylen,
    const char *end, size_t endlen, int64_t rev, int64_t limit,
    etcd_page_cb *cb, void *arg)
{
	struct etcd_req *r;
	json_t *b;

	b = json_pack("{s:o}", "key", etcd_json_b64(key, keylen));
	if (b != NULL && ((endlen > 0 && json_object_set_new(b, "range_end",
	    etcd_json_b64(end, endlen)) != 0) || (limit > 0 &&
	    json_object_set_new(b, "limit", etcd_json_num(limit)) != 0) ||
	    (rev > 0 && json_object_set_new(b, "revision",
	    etcd_json_num(rev)) != 0))) {
		json_decref(b);
		b = NULL;
	}
	if (etcd_post(e, "/v3/kv/range", b, etcd_page_done,
	    ETCD_RANGE_TIMEOUT_MS, &r) != 0)
		return -1;
	r->cb.page = cb;
	r->arg = arg;
	return 0;
}

/* Transactions. */

struct etcd_txn *
etcd_txn_new(void)
{
	struct etcd_txn *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->compare = json_array()) == NULL ||
	    (t->success = json_array()) == NULL ||
	    (t->failure = json_array()) == NULL) {
		etcd_txn_free(t);
		return NULL;
	}
	return t;
}

void
etcd_txn_free(struct etcd_txn *t)
{
	if (t == NULL)
		return;
	json_decref(t->compare);
	json_decref(t->success);
	json_decref(t->failure);
	free(t);
}

static int
etcd_txn_add(json_t *arr, json_t *op)
{
	return op != NULL && json_array_append_new(arr, op) == 0 ? 0 :
	    ERR_NOMEM;
}

int
etcd_txn_cmp_absent(struct etcd_txn *t, const char *key, size_t keylen)
{
	return etcd_txn_add(t->compare, json_pack("{s:o,s:s,s:s,s:s}", "key",
	    etcd_json_b64(key, keylen), "target", "CREATE", "result", "EQUAL",
	    "create_revision", "0"));
}

int
etcd_txn_cmp_value(struct etcd_txn *t, const char *key, size_t keylen,
    const char *value, size_t valuelen)
{
	return etcd_txn_add(t->compare, json_pack("{s:o,s:s,s:s,s:o}", "key",
	    etcd_json_b64(key, keylen), "target", "VALUE", "result", "EQUAL",
	    "value", etcd_json_b64(value, valuelen)));
}

int
etcd_txn_cmp_mod(struct etcd_txn *t, const char *key, size_t keylen,
    int64_t rev)
{
	return etcd_txn_add(t->compare, json_pack("{s:o,s:s,s:s,s:o}", "key",
	    etcd_json_b64(key, keylen), "target", "MOD", "result", "EQUAL",
	    "mod_revision", etcd_json_num(rev)));
}

int
etcd_txn_put(struct etcd_txn *t, const char *key, size_t keylen,
    const char *value, size_t valuelen, int64_t lease)
{
	json_t *put;

	put = json_pack("{s:o,s:o}", "key", etcd_json_b64(key, keylen),
	    "value", etcd_json_b64(value, valuelen));
	if (put != NULL && lease != 0 &&
	    json_object_set_new(put, "lease", etcd_json_num(lease)) != 0) {
		json_decref(put);
		put = NULL;
	}
	return etcd_txn_add(t->success, put == NULL ? NULL :
	    json_pack("{s:o}", "request_put", put));
}

int
etcd_txn_delete(struct etcd_txn *t, const char *key, size_t keylen)
{
	return etcd_txn_add(t->success, json_pack("{s:{s:o}}",
	    "request_delete_range", "key", etcd_json_b64(key, keylen)));
}

int
etcd_txn_on_failure_get(struct etcd_txn *t, const char *key, size_t keylen)
{
	return etcd_txn_add(t->failure, json_pack("{s:{s:o}}",
	    "request_range", "key", etcd_json_b64(key, keylen)));
}

static void
etcd_txn_done(struct etcd_req *r, const char *error, json_t *answer)
{
	struct etcd_kv *kvs = NULL, *more, *grown;
	size_t n = 0, nmore, i;
	json_t *resp, *rr;
	bool ok = false;
	int64_t rev = 0;

	if (error == NULL) {
		ok = json_is_true(json_object_get(answer, "succeeded"));
		rev = etcd_json_i64(json_object_get(json_object_get(answer,
		    "header"), "revision"));
	}
	if (error == NULL && !ok) {
		/* What the failure branch read, all ranges in one array. */
		json_array_foreach(json_object_get(answer, "responses"), i,
		    resp) {
			rr = json_object_get(resp, "response_range");
			if (rr == NULL)
				continue;
			if (etcd_kvs_parse(json_object_get(rr, "kvs"), &more,
			    &nmore) != 0) {
				error = "etcd answered a txn with bad "
				    "key-values";
				break;
			}
			if (nmore == 0)
				continue;
			if ((grown = realloc(kvs, (n + nmore) *
			    sizeof(*kvs))) == NULL) {
				etcd_kvs_free(more, nmore);
				error = "out of memory";
				break;
			}
			kvs = grown;
			memcpy(kvs + n, more, nmore * sizeof(*kvs));
			free(more);
			n += nmore;
		}
	}
	r->cb.txn(error, ok, rev, error == NULL ? kvs : NULL,
	    error == NULL ? n : 0, r->arg);
	etcd_kvs_free(kvs, n);
}

int
etcd_txn_commit(struct etcd *e, struct etcd_txn *t, etcd_txn_cb *cb,
    void *arg)
{
	struct etcd_req *r;
	json_t *b;

	b = json_pack("{s:O,s:O,s:O}", "compare", t->compare, "success",
	    t->success, "failure", t->failure);
	etcd_txn_free(t);
	if (etcd_post(e, "/v3/kv/txn", b, etcd_txn_done, 0, &r) != 0)
		return -1;
	r->cb.txn = cb;
	r->arg = arg;
	return 0;
}

/* Leases. */

static void
etcd_lease_done(struct etcd_req *r, const char *error, json_t *answer)
{
	json_t *res;
	int64_t id = 0, ttl = 0;

	if (error == NULL) {
		/* keepalive's answer is a stream of one: {"result": {...}} */
		res = json_object_get(answer, "result");
		if (res == NULL)
			res = answer;
		id = etcd_json_i64(json_object_get(res, "ID"));
		ttl = etcd_json_i64(json_object_get(res, "TTL"));
	}
	r->cb.lease(error, id, ttl, r->arg);
}

static int
etcd_lease_req(struct etcd *e, const char *path, json_t *b,
    etcd_lease_cb *cb, void *arg)
{
	struct etcd_req *r;

	if (etcd_post(e, path, b, etcd_lease_done, 0, &r) != 0)
		return -1;
	r->cb.lease = cb;
	r->arg = arg;
	return 0;
}

int
etcd_lease_grant(struct etcd *e, int64_t ttl_s, etcd_lease_cb *cb,
    void *arg)
{
	return etcd_lease_req(e, "/v3/lease/grant", json_pack("{s:o}", "TTL",
	    etcd_json_num(ttl_s)), cb, arg);
}

int
etcd_lease_keepalive(struct etcd *e, int64_t id, etcd_lease_cb *cb,
    void *arg)
{
	return etcd_lease_req(e, "/v3/lease/keepalive", json_pack("{s:o}",
	    "ID", etcd_json_num(id)), cb, arg);
}

int
etcd_lease_revoke(struct etcd *e, int64_t id, etcd_lease_cb *cb, void *arg)
{
	return etcd_lease_req(e, "/v3/lease/revoke", json_pack("{s:o}", "ID",
	    etcd_json_num(id)), cb, arg);
}

int
etcd_lease_ttl(struct etcd *e, int64_t id, etcd_lease_cb *cb, void *arg)
{
	return etcd_lease_req(e, "/v3/lease/timetolive", json_pack("{s:o}",
	    "ID", etcd_json_num(id)), cb, arg);
}
