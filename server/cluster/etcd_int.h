/* SPDX-License-Identifier: MIT */
/* etcd_int.h -- what the files of the etcd client share. */
#ifndef CIP_ETCD_INT_H
#define CIP_ETCD_INT_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "etcd.h"

struct http_client;
struct http_client_opts;
struct etcd_req;

struct etcd {
	struct event_base	*base;
	struct http_client	*http;
	char			**eps;
	size_t			 neps;
	size_t			 member;	/* the one that answered last */
	char			*cacert, *cert, *key;
	char			*user, *password;
	char			*auth_header;	/* "Authorization: TOKEN" */
	bool			 authenticating;
	uint64_t		 timeout_ms;
	bool			 up;
	bool			 known;		/* up was set once */
	etcd_health_cb		*health_cb;
	void			*health_arg;
	TAILQ_HEAD(, etcd_req)	 reqs;
	LIST_HEAD(, etcd_watch)	 watches;
};

/* Fills what every request to e shares: members, TLS, auth, timeout. */
void	etcd_http_opts(struct etcd *, struct http_client_opts *);
/*
 * Notes whether a request reached a member: status 0 with an error
 * means none did.
 */
void	etcd_note(struct etcd *, long status, const char *error);
/*
 * Why a gateway answer is an error ({"error": ..., "message": ...} or a
 * status other than 200), into buf; NULL when it is none.
 */
const char *etcd_answer_error(long status, const json_t *body, char *buf,
    size_t len);
/* Drops the token after the gateway refused it: the next request re-authenticates. */
void	etcd_auth_refused(struct etcd *, long status, const json_t *body);

/* A number the gateway sent as a string (or an integer); 0 if neither. */
int64_t	etcd_json_i64(const json_t *);
/* A new JSON string: base64 of data, or a number. NULL on OOM. */
json_t	*etcd_json_b64(const char *data, size_t len);
json_t	*etcd_json_num(int64_t);
/* One {"key","value",...} object into kv (caller frees). 0 or -1. */
int	etcd_kv_parse(const json_t *, struct etcd_kv *kv);
/* An array of them (caller frees with etcd_kvs_free). 0 or -1. */
int	etcd_kvs_parse(const json_t *arr, struct etcd_kv **out, size_t *n);

#endif
