/* SPDX-License-Identifier: MIT */
/*
 * probe.h -- the pure parts of readiness probing: the success/failure
 * hysteresis, the probe's port, the HTTP status line. No sockets.
 */
#ifndef CIP_PROBE_H
#define CIP_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* Why the last probe ended as it did (for logs). */
enum probe_reason {
	PROBE_OK,
	PROBE_REFUSED,		/* connect refused or reset */
	PROBE_TIMEOUT,		/* no connect or no reply in timeoutSeconds */
	PROBE_HTTP_STATUS,	/* an HTTP status outside 200-399 */
	PROBE_BAD_REPLY,	/* not an HTTP/1.x status line, or closed early */
	PROBE_NO_PORT,		/* a named port the pod does not declare */
	PROBE_ERROR,		/* a local failure (sockets, memory) */
};

/* "ok", "connection refused", "timeout", ... */
const char *probe_reason_name(enum probe_reason);

/* Consecutive results of one pod's probe and its verdict. */
struct probe_state {
	uint32_t	successes;
	uint32_t	failures;
	bool		ready;
};

/*
 * Records one result with Kubernetes semantics: not ready until
 * success_threshold successes in a row; ready until failure_threshold
 * failures in a row. Thresholds of 0 count as 1. Returns true when
 * st->ready flipped.
 */
bool	probe_state_record(struct probe_state *st, bool ok,
    uint32_t success_threshold, uint32_t failure_threshold);

/*
 * The port a pod's probe targets: the number, or the pod's port of that
 * name (any protocol). Returns 0 when a name does not resolve.
 */
uint16_t probe_port(const struct pod *pod);

/*
 * Parses the status line at the start of buf ("HTTP/1.1 200 OK\r\n").
 * Returns the status code (100-999), 0 when more bytes are needed
 * (no line end yet, len < 256), or -1 when it is not an HTTP/1.x
 * status line.
 */
int	probe_http_status(const char *buf, size_t len);

/* True for the codes Kubernetes counts as success: 200 to 399. */
bool	probe_http_ok(int status);

#endif
