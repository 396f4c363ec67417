/* SPDX-License-Identifier: MIT */
/*
 * fuzz_api_guard.c -- the API's request guard over arbitrary bytes that
 * arrive in arbitrary pieces, with evhttp's part played by the harness:
 * it consumes what the guard passed once a request is complete, as
 * evhttp does before calling the handler. The first input byte sets the
 * size of the pieces. Refused bytes must never pile up.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "api_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Small limits, so that inputs reach them. */
#define FUZZ_MAX_HEAD		256
#define FUZZ_MAX_HEADERS	8
#define FUZZ_MAX_BODY		64

/* evhttp takes the request the guard passed; its handler runs. */
static bool
fuzz_handler(struct api_guard *g, struct evbuffer *buf)
{
	char why[256];
	bool close;
	size_t n = g->pos;
	int status;

	evbuffer_drain(buf, n);
	api_guard_consumed(g, n);
	status = api_guard_verdict(g, buf, why, sizeof(why), &close);
	if (status != 0 && status != 400 && status != 413 && status != 414 &&
	    status != 417 && status != 431 && status != 500 && status != 501)
		abort();
	return !close;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct evbuffer *buf;
	struct api_guard g;
	size_t off, step, n, rounds;
	bool open = true;

	if (len < 1 || (buf = evbuffer_new()) == NULL)
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	len--;
	api_guard_init(&g, FUZZ_MAX_HEAD, FUZZ_MAX_HEADERS, FUZZ_MAX_BODY);
	for (off = 0; off < len && open; off += n) {
		n = step < len - off ? step : len - off;
		evbuffer_add(buf, data + off, n);
		api_guard_feed(&g, buf);
		if (g.pos > evbuffer_get_length(buf))
			abort();
		/* Handlers run while requests are complete (or refused). */
		for (rounds = 0; open && rounds < 64; rounds++) {
			if (g.phase == API_GUARD_P_WAIT ||
			    g.phase == API_GUARD_P_SKIP ||
			    (g.status != 0 && !g.handled))
				open = fuzz_handler(&g, buf);
			else
				break;
		}
		/*
		 * Unless a request waits for its handler, all the guard left
		 * unpassed is one partial line within its limit: a refused
		 * body is dropped, never held.
		 */
		if (open && g.phase != API_GUARD_P_WAIT &&
		    evbuffer_get_length(buf) - g.pos > 1024 + FUZZ_MAX_HEAD)
			abort();
	}
	evbuffer_free(buf);
	return 0;
}
