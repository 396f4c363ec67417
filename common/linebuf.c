/* SPDX-License-Identifier: MIT */
/* linebuf.c -- a bounded line splitter for streamed bodies. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "linebuf.h"

void
linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

void
linebuf_clear(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->cap = 0;
}

/* Keeps n more bytes of an unfinished line. */
static int
linebuf_keep(struct linebuf *lb, const char *data, size_t n)
{
	size_t cap;
	char *p;

	if (n > lb->max - lb->len) {
		linebuf_clear(lb);
		return ERR_INVAL;
	}
	if (lb->len + n > lb->cap) {
		cap = lb->cap == 0 ? 256 : lb->cap;
		while (cap < lb->len + n)
			cap *= 2;
		cap = MINIMUM(cap, lb->max);
		if ((p = realloc(lb->buf, cap)) == NULL)
			return ERR_NOMEM;
		lb->buf = p;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, n);
	lb->len += n;
	return 0;
}

int
linebuf_feed(struct linebuf *lb, const char *data, size_t len,
    linebuf_line_cb *cb, void *arg)
{
	const char *nl;
	size_t n, whole;
	int rc;

	while (len > 0) {
		if ((nl = memchr(data, '\n', len)) == NULL)
			return linebuf_keep(lb, data, len);
		n = (size_t)(nl - data);
		if (lb->len == 0) {
			/* The whole line is in data: no copy. */
			if (n > lb->max) {
				linebuf_clear(lb);
				return ERR_INVAL;
			}
			rc = cb(data, n, arg);
		} else {
			if ((rc = linebuf_keep(lb, data, n)) != 0)
				return rc;
			whole = lb->len;
			lb->len = 0;
			rc = cb(lb->buf, whole, arg);
		}
		if (rc != 0)
			return 1;
		data += n + 1;
		len -= n + 1;
	}
	return 0;
}
