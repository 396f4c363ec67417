/* SPDX-License-Identifier: MIT */
/*
 * docker_http.h -- incremental parser of the HTTP/1.1 responses the Docker
 * Engine sends over its unix socket: status line, headers, then a body
 * framed by Content-Length, chunked encoding or the end of the
 * connection. Pure: bytes in, status and body bytes out; no libevent.
 */
#ifndef CIP_DOCKER_HTTP_H
#define CIP_DOCKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest status or header line accepted; longer ones are an error. */
#define DOCKER_HTTP_MAX_LINE	8192
/* Most header lines accepted in one response. */
#define DOCKER_HTTP_MAX_HEADERS	100

enum docker_http_state {
	DOCKER_HTTP_STATUS,
	DOCKER_HTTP_HEADERS,
	DOCKER_HTTP_BODY_LENGTH,	/* Content-Length bytes left */
	DOCKER_HTTP_CHUNK_SIZE,
	DOCKER_HTTP_CHUNK_DATA,
	DOCKER_HTTP_CHUNK_END,		/* the CRLF after chunk data */
	DOCKER_HTTP_TRAILERS,
	DOCKER_HTTP_BODY_CLOSE,		/* body until the end */
	DOCKER_HTTP_DONE,
	DOCKER_HTTP_ERROR,
};

struct docker_http {
	enum docker_http_state	 state;
	int			 status;	/* 100..599 once known */
	bool			 chunked;
	bool			 has_length;	/* Content-Length */
	uint64_t		 remaining;	/* bytes left */
	size_t			 nheaders;
	char			 line[DOCKER_HTTP_MAX_LINE];
	size_t			 linelen;
	size_t			 max_body;	/* body held at most */
	/* Body bytes decoded and not yet consumed; owned, grows. */
	char			*body;
	size_t			 bodylen;
	size_t			 bodycap;
	const char		*error;		/* why, once in error */
};

/*
 * Prepares p for one response. max_body caps the decoded body bytes held
 * at once (the caller consumes them as they come for a stream).
 */
void	docker_http_init(struct docker_http *p, size_t max_body);
/* Frees the body buffer; p may be initialized again. */
void	docker_http_clear(struct docker_http *p);
/*
 * Feeds len bytes read from the connection. Returns the state reached:
 * DOCKER_HTTP_DONE when the response is complete (bytes after it are
 * ignored), DOCKER_HTTP_ERROR with a reason in p->error on a malformed
 * response or a body over max_body, else a state wanting more bytes.
 */
enum docker_http_state docker_http_feed(struct docker_http *p,
    const char *data, size_t len);
/*
 * The connection ended: completes a body read until close, else makes a
 * response that was not finished an error. Returns the state reached.
 */
enum docker_http_state docker_http_eof(struct docker_http *p);
/* True once the status line and every header were read. */
bool	docker_http_headers_done(const struct docker_http *p);
/* Drops the first n bytes of the decoded body (n <= p->bodylen). */
void	docker_http_consume(struct docker_http *p, size_t n);

#endif
