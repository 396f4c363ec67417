/* SPDX-License-Identifier: MIT */
/*
 * etcd.h -- an etcd v3 client on the daemon's event_base, through etcd's
 * JSON gateway (POST /v3/kv/range, /v3/kv/txn, /v3/watch,
 * /v3/lease/grant, /v3/lease/keepalive, /v3/lease/timetolive,
 * /v3/lease/revoke) over
 * http_client: keys and values travel in base64, numbers as strings. A
 * request that finds a member down moves to the next one.
 */
#ifndef CIP_ETCD_H
#define CIP_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct etcd;
struct etcd_txn;
struct etcd_watch;

struct etcd_conf {
	const char *const	*endpoints;	/* "http[s]://host:port" */
	size_t			 nendpoints;
	const char		*cacert;	/* PEM files, or NULL */
	const char		*cert;
	const char		*key;
	const char		*user;		/* etcd auth, or NULL */
	const char		*password;
	uint64_t		 timeout_ms;	/* per request; 0: 5000 */
};

/* One key-value as a range or a watch gives it; bytes, NUL-terminated. */
struct etcd_kv {
	char		*key;
	size_t		 keylen;
	char		*value;
	size_t		 valuelen;
	int64_t		 create_revision;
	int64_t		 mod_revision;
	int64_t		 version;
	int64_t		 lease;
};

/* Free with etcd_kvs_free. */
void	etcd_kvs_free(struct etcd_kv *, size_t n);

/*
 * Makes a client; nothing is sent yet. The strings of conf are copied.
 * Returns NULL (logged) on failure.
 */
struct etcd *etcd_new(struct event_base *, const struct etcd_conf *);
/* Cancels every request and watch, calling nothing. Accepts NULL. */
void	etcd_free(struct etcd *);

/*
 * Whether the last request reached a member. health_cb is called on each
 * change: up is true when a member answered, false when none did.
 */
typedef void etcd_health_cb(bool up, const char *why, void *arg);
void	etcd_set_health_cb(struct etcd *, etcd_health_cb *, void *arg);
bool	etcd_is_up(const struct etcd *);

/*
 * The result of a range: error is NULL on success, else why it failed
 * (kvs is then NULL). The kvs (n of them) are freed when the callback
 * returns. revision is the store's revision of the answer.
 */
typedef void etcd_range_cb(const char *error, int64_t revision,
    struct etcd_kv *kvs, size_t n, void *arg);
/*
 * Reads key, or every key starting with key when prefix is true.
 * Returns 0, or -1 (logged) when nothing was sent and cb is not called.
 */
int	etcd_range(struct etcd *, const char *key, size_t keylen, bool prefix,
    etcd_range_cb *cb, void *arg);

/*
 * One page of a range: the keys from key (inclusive) to end (exclusive;
 * endlen 0: key alone), at most limit of them (0: all), at revision rev
 * (0: the newest). more tells whether keys are left past the last one:
 * read them from that key with a 0 byte appended, at the same revision,
 * so the pages make one snapshot. Returns as etcd_range does.
 */
typedef void etcd_page_cb(const char *error, int64_t revision,
    struct etcd_kv *kvs, size_t n, bool more, void *arg);
int	etcd_range_page(struct etcd *, const char *key, size_t keylen,
    const char *end, size_t endlen, int64_t rev, int64_t limit,
    etcd_page_cb *cb, void *arg);

/*
 * A transaction: comparisons, then the operations done when all of them
 * hold (success) or when one does not (failure). Build with the
 * functions below (each returns 0 or ERR_NOMEM), then commit.
 */
struct etcd_txn *etcd_txn_new(void);
void	etcd_txn_free(struct etcd_txn *);
/* The key does not exist (its create revision is 0). */
int	etcd_txn_cmp_absent(struct etcd_txn *, const char *key, size_t keylen);
/* The key's value is value. */
int	etcd_txn_cmp_value(struct etcd_txn *, const char *key, size_t keylen,
    const char *value, size_t valuelen);
/* The key's last modification was at revision rev (0: absent). */
int	etcd_txn_cmp_mod(struct etcd_txn *, const char *key, size_t keylen,
    int64_t rev);
/* On success: put (lease 0: none), delete; on failure: read key. */
int	etcd_txn_put(struct etcd_txn *, const char *key, size_t keylen,
    const char *value, size_t valuelen, int64_t lease);
int	etcd_txn_delete(struct etcd_txn *, const char *key, size_t keylen);
int	etcd_txn_on_failure_get(struct etcd_txn *, const char *key,
    size_t keylen);
/*
 * The result: error NULL on success with succeeded telling which branch
 * ran; on a failed comparison, kvs are what the failure branch read
 * (freed when the callback returns).
 */
typedef void etcd_txn_cb(const char *error, bool succeeded,
    int64_t revision, struct etcd_kv *kvs, size_t n, void *arg);
/* Sends t (and frees it, sent or not). 0, or -1 (logged): no callback. */
int	etcd_txn_commit(struct etcd *, struct etcd_txn *t, etcd_txn_cb *cb,
    void *arg);

/*
 * Leases. The callback has error NULL on success, the lease's id and
 * its TTL in seconds: after a keepalive, ttl_s <= 0 means the lease is
 * gone (expired or revoked). Each returns 0, or -1 (logged): no callback.
 */
typedef void etcd_lease_cb(const char *error, int64_t id, int64_t ttl_s,
    void *arg);
int	etcd_lease_grant(struct etcd *, int64_t ttl_s, etcd_lease_cb *,
    void *arg);
int	etcd_lease_keepalive(struct etcd *, int64_t id, etcd_lease_cb *,
    void *arg);
int	etcd_lease_revoke(struct etcd *, int64_t id, etcd_lease_cb *,
    void *arg);
/* The time left to lease id, not renewing it: ttl_s <= 0 once gone. */
int	etcd_lease_ttl(struct etcd *, int64_t id, etcd_lease_cb *, void *arg);

enum etcd_event {
	ETCD_PUT,
	ETCD_DELETE,		/* kv has key and mod_revision only */
};
/* One change seen by a watch. kv is valid during the call only. */
typedef void etcd_watch_event_cb(enum etcd_event, const struct etcd_kv *kv,
    void *arg);
enum etcd_watch_state {
	ETCD_WATCH_UP,		/* the stream is open */
	ETCD_WATCH_BROKEN,	/* it broke; resuming from the last revision */
	/*
	 * start_revision is older than the store keeps: the watch stopped.
	 * Read everything again, then etcd_watch_start afresh.
	 */
	ETCD_WATCH_COMPACTED,
};
typedef void etcd_watch_state_cb(enum etcd_watch_state, int64_t revision,
    void *arg);
/*
 * Watches every key under prefix from revision start_rev on (0: from
 * now). Events arrive in revision order, each exactly once: after a
 * broken stream the watch reopens (after retry_ms) from the revision
 * after the last one delivered. Returns the watch (freed by
 * etcd_watch_stop or etcd_free) or NULL (logged).
 */
struct etcd_watch *etcd_watch_start(struct etcd *, const char *prefix,
    size_t prefixlen, int64_t start_rev, uint64_t retry_ms,
    etcd_watch_event_cb *, etcd_watch_state_cb *, void *arg);
/* The revision of the last event (or progress) the watch saw. */
int64_t	etcd_watch_revision(const struct etcd_watch *);
/* Stops and frees w; callable from its callbacks. Accepts NULL. */
void	etcd_watch_stop(struct etcd_watch *);

/*
 * Codecs, pure: base64 of len bytes (caller frees, NULL on OOM); the
 * bytes of a base64 text (caller frees, NUL-terminated past *outlen;
 * NULL when text is not base64 or on OOM).
 */
char	*etcd_b64_encode(const char *data, size_t len);
char	*etcd_b64_decode(const char *text, size_t *outlen);
/*
 * The end of a prefix range: prefix with its last byte incremented (a
 * last 0xff byte dropped first); "\0" (1 byte) for the whole keyspace.
 * Caller frees; NULL on OOM.
 */
char	*etcd_prefix_end(const char *prefix, size_t len, size_t *outlen);

#endif
