/* SPDX-License-Identifier: MIT */
/*
 * linebuf.h -- a bounded line splitter for streamed bodies: bytes arrive
 * in pieces of any size, complete newline-terminated lines come out, one
 * call each. What Docker's GET /events and etcd's watch send: one JSON
 * document per line. Pure: no sockets, no loop.
 */
#ifndef CIP_LINEBUF_H
#define CIP_LINEBUF_H

#include <stddef.h>

/* Called with each complete line, without its '\n'; 0 goes on, -1 stops. */
typedef int linebuf_line_cb(const char *line, size_t len, void *arg);

struct linebuf {
	char		*buf;		/* a line's start, not yet complete */
	size_t		 len;
	size_t		 cap;
	size_t		 max;		/* longest line accepted */
};

/* Prepares lb for lines of at most max bytes; holds no memory yet. */
void	linebuf_init(struct linebuf *lb, size_t max);
/* Frees what lb holds; lb may be used again (empty). */
void	linebuf_clear(struct linebuf *lb);
/*
 * Feeds len bytes: calls cb for every line they complete, in order; the
 * bytes after the last '\n' are kept (calls realloc) for the next call.
 * Returns 0; ERR_INVAL when a line grows past max (what came before it
 * was delivered; lb is then cleared); ERR_NOMEM; 1 when cb stopped.
 */
int	linebuf_feed(struct linebuf *lb, const char *data, size_t len,
    linebuf_line_cb *cb, void *arg);

#endif
