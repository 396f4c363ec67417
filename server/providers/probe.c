/* SPDX-License-Identifier: MIT */
/* probe.c -- readiness hysteresis, probe ports, HTTP status lines. */
#include "config.h"

#include <string.h>

#include "probe.h"
#include "util.h"

/* A status line longer than this is not one we accept. */
#define PROBE_MAX_STATUS_LINE	256

const char *
probe_reason_name(enum probe_reason r)
{
	switch (r) {
	case PROBE_OK:
		return "ok";
	case PROBE_REFUSED:
		return "connection refused";
	case PROBE_TIMEOUT:
		return "timeout";
	case PROBE_HTTP_STATUS:
		return "HTTP status";
	case PROBE_BAD_REPLY:
		return "bad HTTP reply";
	case PROBE_NO_PORT:
		return "named port not found";
	case PROBE_ERROR:
	default:
		return "local error";
	}
}

bool
probe_state_record(struct probe_state *st, bool ok,
    uint32_t success_threshold, uint32_t failure_threshold)
{
	if (success_threshold == 0)
		success_threshold = 1;
	if (failure_threshold == 0)
		failure_threshold = 1;
	if (ok) {
		st->failures = 0;
		if (st->successes < UINT32_MAX)
			st->successes++;
		if (!st->ready && st->successes >= success_threshold) {
			st->ready = true;
			return true;
		}
	} else {
		st->successes = 0;
		if (st->failures < UINT32_MAX)
			st->failures++;
		if (st->ready && st->failures >= failure_threshold) {
			st->ready = false;
			return true;
		}
	}
	return false;
}

uint16_t
probe_port(const struct pod *pod)
{
	size_t i;

	if (pod->probe.port_name == NULL)
		return pod->probe.port;
	for (i = 0; i < pod->nports; i++)
		if (pod->ports[i].name != NULL &&
		    strcmp(pod->ports[i].name, pod->probe.port_name) == 0)
			return pod->ports[i].port;
	return 0;
}

int
probe_http_status(const char *buf, size_t len)
{
	static const char ver[] = "HTTP/1.";
	const char *eol;
	size_t i, n;
	int code = 0;

	n = MINIMUM(len, PROBE_MAX_STATUS_LINE);
	/* The prefix, checked as far as we have it. */
	for (i = 0; i < n && i < sizeof(ver) - 1; i++)
		if (buf[i] != ver[i])
			return -1;
	if ((eol = memchr(buf, '\n', n)) == NULL)
		return len >= PROBE_MAX_STATUS_LINE ? -1 : 0;
	/* "HTTP/1.x NNN" then a space, CR or LF. */
	if ((size_t)(eol - buf) < 12 || buf[7] < '0' || buf[7] > '9' ||
	    buf[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		code = code * 10 + (buf[i] - '0');
	}
	if (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')
		return -1;
	if (code < 100)
		return -1;
	return code;
}

bool
probe_http_ok(int status)
{
	return status >= 200 && status < 400;
}
