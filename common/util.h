/* SPDX-License-Identifier: MIT */
/* util.h -- error codes, string and address helpers shared by every module. */
#ifndef CIP_UTIL_H
#define CIP_UTIL_H

#include <sys/types.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errf.h"

struct timeval;
struct timespec;

/*
 * Error codes. A function follows one of two conventions and its header
 * says which:
 * - I/O glue (sockets, files, libevent) returns 0, or -1 with errno set;
 * - pure modules (objects, registry, selectors, parsers) return 0 or one
 *   of the negative ERR_* below; an outcome that is not an error (a
 *   callback that stopped, "not mine") is positive.
 * Test a ERR_* function with `!= 0` or `< 0`, never `== -1`: ERR_INVAL
 * is -1, so such a test lets ERR_NOMEM and the others through.
 * These codes are the daemon's own and no installed header includes this
 * one; their ERR_ prefix keeps them apart from libclusterip's public
 * statuses (CIP_OK, CIP_ENOTFOUND, ... in <clusterip/clusterip.h>), which
 * are positive and unrelated.
 */
#define ERR_INVAL	(-1)	/* bad input */
#define ERR_NOMEM	(-2)
#define ERR_NOTFOUND	(-3)
#define ERR_CONFLICT	(-4)	/* owned by someone else, address taken */
#define ERR_EXHAUSTED	(-5)	/* no address left in the range */
#define ERR_IO		(-6)

#define CIP_ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#ifndef MINIMUM
#define MINIMUM(a, b)	(((a) < (b)) ? (a) : (b))
#endif

/*
 * Appends p to the growable array arr of n elements and cap slots, the
 * first allocation holding `first` slots; evaluates to 0 or ERR_NOMEM.
 * Needs <stdlib.h>.
 */
#define PTR_APPEND_FROM(arr, n, cap, p, first) __extension__ ({	\
	int rc_ = 0;							\
	if ((n) == (cap)) {						\
		size_t nc_ = (cap) ? (cap) * 2 : (first);		\
		__typeof__(arr) na_ = realloc((arr), nc_ * sizeof(*na_)); \
		if (na_ == NULL)					\
			rc_ = ERR_NOMEM;				\
		else {							\
			(arr) = na_;					\
			(cap) = nc_;					\
		}							\
	}								\
	if (rc_ == 0)							\
		(arr)[(n)++] = (p);					\
	rc_;								\
})
#define PTR_APPEND(arr, n, cap, p)	PTR_APPEND_FROM(arr, n, cap, p, 8)

#ifndef HAVE_STRLCPY
size_t	strlcpy(char *dst, const char *src, size_t size);
#endif

/* Abort-on-OOM allocators, for startup and configuration only. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);

/* strdup that accepts NULL (returns NULL). */
char	*strdup_null(const char *);
/* Compares two possibly NULL strings; NULL equals NULL only. */
bool	streq_null(const char *, const char *);
/* Whether this process has capability cap (CAP_*) in its effective set. */
bool	proc_has_cap(int cap);
/* snprintf into err (may be NULL); always NUL-terminates (errf.h). */
#define errf	cip_errf

/*
 * Parses "A.B.C.D:PORT", "[V6]:PORT", "A.B.C.D" or "V6" (then port =
 * default_port) into a sockaddr_storage. Returns 0, or -1 when invalid.
 */
int	parse_hostport(const char *text, uint16_t default_port,
    struct sockaddr_storage *ss, socklen_t *sslen);
/* Parses "A.B.C.D/N" (IPv4 only). Returns 0 or -1. */
int	parse_cidr4(const char *text, struct in_addr *net, unsigned *prefix);
/* "ADDR/N" for IPv6, N up to 128. Returns 0 or -1. */
int	parse_cidr6(const char *text, struct in6_addr *net, unsigned *prefix);
/* Parses a decimal uint64 with no sign and no trailing garbage. */
int	parse_u64(const char *text, uint64_t *out);
/*
 * Parses a duration: "15", "15s", "500ms", "2m", "1h", "1m30s" into
 * milliseconds. Returns 0 or -1.
 */
int	parse_duration_ms(const char *text, uint64_t *ms);
/* Writes "A.B.C.D" into buf (INET_ADDRSTRLEN). Returns buf. */
const char *inet4_str(struct in_addr a, char *buf);
/* Formats a sockaddr as "addr:port" or "[addr]:port". Returns buf. */
const char *sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);
/*
 * Reads a whole file of at most max bytes into a NUL-terminated buffer.
 * Calls malloc; caller frees. Returns NULL with "path: reason" in err.
 */
char	*read_file(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen);
/* Monotonic clock in milliseconds. */
uint64_t now_ms(void);
/* Fills tv (or ts) with a duration of ms milliseconds. Returns it. */
struct timeval *ms_to_tv(uint64_t ms, struct timeval *tv);
struct timespec *ms_to_ts(uint64_t ms, struct timespec *ts);
/* 64-bit FNV-1a. */
uint64_t hash_fnv1a(const void *data, size_t len);

#endif
