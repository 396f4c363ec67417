/* SPDX-License-Identifier: MIT */
/*
 * etcd_drive.c -- runs the etcd client against a real etcd for
 * etcd_client.sh: one command per run, results on stdout, one line each.
 *
 *   etcd_drive URLS create KEY VALUE   txn create-if-absent; "created" or
 *                                      "exists VALUE"
 *   etcd_drive URLS range PREFIX       "rev R", then "KEY=VALUE" lines
 *   etcd_drive URLS watch PREFIX FROM N
 *       watches from revision FROM, printing "up", "broken", "PUT KEY=VALUE
 *       REV", "DELETE KEY REV"; on "compacted" reads the prefix again
 *       ("have KEY=VALUE" lines) and watches on from there; exits 0 after
 *       N events
 *   etcd_drive URLS lease KEY TTL      grant, put KEY with it, keepalive,
 *                                      revoke: "granted", "alive TTL",
 *                                      "revoked", "gone TTL"
 *
 * URLS is a comma-separated list of members. Exits 1 on any failure
 * and after 120 s (a guard, not a measure).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "util.h"
#include "log.h"
#include "etcd.h"

static struct event_base *base;
static struct etcd *etcd;
static int status = 1;
static const char *prefix;
static long want, seen;
static struct etcd_watch *watch;
static int64_t lease_id;
static const char *lease_key;

static void
finish(int rc)
{
	status = rc;
	fflush(stdout);
	event_base_loopexit(base, NULL);
}

static void
create_cb(const char *error, bool ok, int64_t rev, struct etcd_kv *kvs,
    size_t n, void *arg)
{
	if (error != NULL) {
		printf("error %s\n", error);
		finish(1);
		return;
	}
	if (ok)
		printf("created %" PRId64 "\n", rev);
	else
		printf("exists %s\n", n > 0 ? kvs[0].value : "?");
	finish(0);
}

static void
range_cb(const char *error, int64_t rev, struct etcd_kv *kvs, size_t n,
    void *arg)
{
	size_t i;

	if (error != NULL) {
		printf("error %s\n", error);
		finish(1);
		return;
	}
	printf("rev %" PRId64 "\n", rev);
	for (i = 0; i < n; i++)
		printf("%s=%s\n", kvs[i].key, kvs[i].value);
	finish(0);
}

static void	watch_event_cb(enum etcd_event, const struct etcd_kv *, void *);
static void	watch_state_cb(enum etcd_watch_state, int64_t, void *);

/* After a compaction: everything again, then the watch from there. */
static void
reread_cb(const char *error, int64_t rev, struct etcd_kv *kvs, size_t n,
    void *arg)
{
	size_t i;

	if (error != NULL) {
		printf("error %s\n", error);
		finish(1);
		return;
	}
	for (i = 0; i < n; i++)
		printf("have %s=%s\n", kvs[i].key, kvs[i].value);
	fflush(stdout);
	watch = etcd_watch_start(etcd, prefix, strlen(prefix), rev + 1, 200,
	    watch_event_cb, watch_state_cb, NULL);
	if (watch == NULL)
		finish(1);
}

static void
watch_event_cb(enum etcd_event ev, const struct etcd_kv *kv, void *arg)
{
	if (ev == ETCD_PUT)
		printf("PUT %s=%s %" PRId64 "\n", kv->key, kv->value,
		    kv->mod_revision);
	else
		printf("DELETE %s %" PRId64 "\n", kv->key, kv->mod_revision);
	fflush(stdout);
	if (++seen >= want) {
		etcd_watch_stop(watch);
		watch = NULL;
		finish(0);
	}
}

static void
watch_state_cb(enum etcd_watch_state st, int64_t rev, void *arg)
{
	switch (st) {
	case ETCD_WATCH_UP:
		printf("up\n");
		break;
	case ETCD_WATCH_BROKEN:
		printf("broken %" PRId64 "\n", rev);
		break;
	case ETCD_WATCH_COMPACTED:
		printf("compacted\n");
		etcd_watch_stop(watch);
		watch = NULL;
		if (etcd_range(etcd, prefix, strlen(prefix), true, reread_cb,
		    NULL) != 0)
			finish(1);
		break;
	}
	fflush(stdout);
}

static void lease_revoked_cb(const char *, int64_t, int64_t, void *);

static void
lease_after_revoke_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	if (error != NULL) {
		printf("error %s\n", error);
		finish(1);
		return;
	}
	printf("gone %" PRId64 "\n", ttl);
	finish(0);
}

static void
lease_revoked_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	if (error != NULL) {
		printf("error %s\n", error);
		finish(1);
		return;
	}
	printf("revoked\n");
	if (etcd_lease_keepalive(etcd, lease_id, lease_after_revoke_cb,
	    NULL) != 0)
		finish(1);
}

static void
lease_alive_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	if (error != NULL || id != lease_id) {
		printf("error %s\n", error != NULL ? error : "other lease");
		finish(1);
		return;
	}
	printf("alive %" PRId64 "\n", ttl);
	if (etcd_lease_revoke(etcd, lease_id, lease_revoked_cb, NULL) != 0)
		finish(1);
}

static void
lease_put_cb(const char *error, bool ok, int64_t rev, struct etcd_kv *kvs,
    size_t n, void *arg)
{
	if (error != NULL || !ok) {
		printf("error %s\n", error != NULL ? error : "put refused");
		finish(1);
		return;
	}
	printf("put\n");
	if (etcd_lease_keepalive(etcd, lease_id, lease_alive_cb, NULL) != 0)
		finish(1);
}

static void
lease_granted_cb(const char *error, int64_t id, int64_t ttl, void *arg)
{
	struct etcd_txn *t;

	if (error != NULL || id == 0) {
		printf("error %s\n", error != NULL ? error : "no id");
		finish(1);
		return;
	}
	lease_id = id;
	printf("granted %" PRId64 "\n", ttl);
	if ((t = etcd_txn_new()) == NULL ||
	    etcd_txn_put(t, lease_key, strlen(lease_key), "leased", 6,
	    id) != 0 || etcd_txn_commit(etcd, t, lease_put_cb, NULL) != 0)
		finish(1);
}

int
main(int argc, char **argv)
{
	struct etcd_conf conf = { 0 };
	struct timeval guard = { 120, 0 };
	struct etcd_txn *t;
	char *urls[8], *list, *p;
	size_t n = 0;
	int rc = -1;

	if (argc < 4) {
		fprintf(stderr, "usage: etcd_drive URLS CMD ARGS...\n");
		return 2;
	}
	log_init("etcd_drive", getenv("ETCD_DRIVE_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	list = xstrdup(argv[1]);
	for (p = strtok(list, ","); p != NULL && n < 8; p = strtok(NULL, ","))
		urls[n++] = p;
	conf.endpoints = (const char *const *)urls;
	conf.nendpoints = n;
	conf.timeout_ms = 10000;
	base = event_base_new();
	if (base == NULL || (etcd = etcd_new(base, &conf)) == NULL)
		return 1;
	if (strcmp(argv[2], "create") == 0 && argc == 5) {
		if ((t = etcd_txn_new()) != NULL &&
		    etcd_txn_cmp_absent(t, argv[3], strlen(argv[3])) == 0 &&
		    etcd_txn_put(t, argv[3], strlen(argv[3]), argv[4],
		    strlen(argv[4]), 0) == 0 &&
		    etcd_txn_on_failure_get(t, argv[3], strlen(argv[3])) == 0)
			rc = etcd_txn_commit(etcd, t, create_cb, NULL);
	} else if (strcmp(argv[2], "range") == 0 && argc == 4)
		rc = etcd_range(etcd, argv[3], strlen(argv[3]), true, range_cb,
		    NULL);
	else if (strcmp(argv[2], "watch") == 0 && argc == 6) {
		prefix = argv[3];
		want = strtol(argv[5], NULL, 10);
		watch = etcd_watch_start(etcd, prefix, strlen(prefix),
		    strtoll(argv[4], NULL, 10), 200, watch_event_cb,
		    watch_state_cb, NULL);
		rc = watch != NULL ? 0 : -1;
	} else if (strcmp(argv[2], "lease") == 0 && argc == 5) {
		lease_key = argv[3];
		rc = etcd_lease_grant(etcd, strtoll(argv[4], NULL, 10),
		    lease_granted_cb, NULL);
	}
	if (rc != 0) {
		fprintf(stderr, "etcd_drive: bad command or cannot start\n");
		return 2;
	}
	event_base_loopexit(base, &guard);
	event_base_dispatch(base);
	etcd_free(etcd);
	event_base_free(base);
	free(list);
	return status;
}
