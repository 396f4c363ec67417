/* SPDX-License-Identifier: MIT */
/* docker_http.c -- incremental HTTP/1.1 response parser for the Engine API. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "docker_http.h"

static int	docker_http_line(struct docker_http *, const char *, size_t);
static int	docker_http_status_line(struct docker_http *, const char *);
static int	docker_http_header(struct docker_http *, const char *);
static int	docker_http_end_of_headers(struct docker_http *);
static int	docker_http_append(struct docker_http *, const char *,
		    size_t);
static void	docker_http_fail(struct docker_http *, const char *);

void
docker_http_init(struct docker_http *p, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->state = DOCKER_HTTP_STATUS;
	p->max_body = max_body;
}

void
docker_http_clear(struct docker_http *p)
{
	free(p->body);
	p->body = NULL;
	p->bodylen = p->bodycap = 0;
}

bool
docker_http_headers_done(const struct docker_http *p)
{
	return p->state != DOCKER_HTTP_STATUS &&
	    p->state != DOCKER_HTTP_HEADERS &&
	    !(p->state == DOCKER_HTTP_ERROR && p->status == 0);
}

void
docker_http_consume(struct docker_http *p, size_t n)
{
	if (n >= p->bodylen) {
		p->bodylen = 0;
		return;
	}
	memmove(p->body, p->body + n, p->bodylen - n);
	p->bodylen -= n;
}

static void
docker_http_fail(struct docker_http *p, const char *why)
{
	p->state = DOCKER_HTTP_ERROR;
	p->error = why;
}

static int
docker_http_append(struct docker_http *p, const char *data, size_t len)
{
	size_t cap;
	char *nb;

	if (p->bodylen > p->max_body || len > p->max_body - p->bodylen) {
		docker_http_fail(p, "body too large");
		return -1;
	}
	if (p->bodylen + len > p->bodycap) {
		cap = p->bodycap ? p->bodycap : 4096;
		while (cap < p->bodylen + len)
			cap *= 2;
		if ((nb = realloc(p->body, cap)) == NULL) {
			docker_http_fail(p, "out of memory");
			return -1;
		}
		p->body = nb;
		p->bodycap = cap;
	}
	memcpy(p->body + p->bodylen, data, len);
	p->bodylen += len;
	return 0;
}

/* "HTTP/1.x NNN reason". */
static int
docker_http_status_line(struct docker_http *p, const char *line)
{
	if (strncmp(line, "HTTP/1.", 7) != 0 ||
	    (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
	    !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) ||
	    !isdigit((unsigned char)line[11]) ||
	    (line[12] != ' ' && line[12] != '\0')) {
		docker_http_fail(p, "bad status line");
		return -1;
	}
	p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	if (p->status < 100 || p->status > 599) {
		docker_http_fail(p, "bad status code");
		return -1;
	}
	p->state = DOCKER_HTTP_HEADERS;
	return 0;
}

static int
docker_http_header(struct docker_http *p, const char *line)
{
	const char *colon, *v;
	size_t namelen;
	uint64_t len;

	if (++p->nheaders > DOCKER_HTTP_MAX_HEADERS) {
		docker_http_fail(p, "too many headers");
		return -1;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		docker_http_fail(p, "bad header line");
		return -1;
	}
	namelen = (size_t)(colon - line);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (namelen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
		if (strcasecmp(v, "chunked") != 0) {
			docker_http_fail(p, "unsupported transfer encoding");
			return -1;
		}
		p->chunked = true;
	} else if (namelen == 14 &&
	    strncasecmp(line, "Content-Length", 14) == 0) {
		if (parse_u64(v, &len) == -1) {
			docker_http_fail(p, "bad Content-Length");
			return -1;
		}
		if (p->has_length && p->remaining != len) {
			docker_http_fail(p, "conflicting Content-Length");
			return -1;
		}
		p->has_length = true;
		p->remaining = len;
	}
	return 0;
}

static int
docker_http_end_of_headers(struct docker_http *p)
{
	if (p->status < 200 && p->status >= 100) {
		/* 1xx: an interim response, the real one follows. */
		p->state = DOCKER_HTTP_STATUS;
		p->status = 0;
		p->nheaders = 0;
		p->remaining = 0;
		p->has_length = p->chunked = false;
		return 0;
	}
	if (p->chunked) {
		p->state = DOCKER_HTTP_CHUNK_SIZE;
		p->remaining = 0;
	} else if (p->status == 204 || p->status == 304)
		p->state = DOCKER_HTTP_DONE;
	else if (p->has_length)
		p->state = p->remaining == 0 ? DOCKER_HTTP_DONE :
		    DOCKER_HTTP_BODY_LENGTH;
	else
		p->state = DOCKER_HTTP_BODY_CLOSE;
	return 0;
}

/* One complete line (CRLF stripped) of the status, headers or chunking. */
static int
docker_http_line(struct docker_http *p, const char *line, size_t len)
{
	uint64_t size = 0;
	size_t i;
	int d;

	if (memchr(line, '\0', len) != NULL) {
		docker_http_fail(p, "NUL in a line");
		return -1;
	}
	switch (p->state) {
	case DOCKER_HTTP_STATUS:
		return docker_http_status_line(p, line);
	case DOCKER_HTTP_HEADERS:
		if (len == 0)
			return docker_http_end_of_headers(p);
		return docker_http_header(p, line);
	case DOCKER_HTTP_CHUNK_SIZE:
		/* hex size, then optional ";ext". */
		for (i = 0; i < len && line[i] != ';'; i++) {
			if (!isxdigit((unsigned char)line[i])) {
				if (line[i] == ' ' || line[i] == '\t')
					continue;
				docker_http_fail(p, "bad chunk size");
				return -1;
			}
			d = isdigit((unsigned char)line[i]) ? line[i] - '0' :
			    tolower((unsigned char)line[i]) - 'a' + 10;
			if (size > (UINT64_MAX >> 4)) {
				docker_http_fail(p, "chunk size overflow");
				return -1;
			}
			size = size << 4 | (uint64_t)d;
		}
		if (i == 0) {
			docker_http_fail(p, "empty chunk size");
			return -1;
		}
		p->remaining = size;
		p->state = size == 0 ? DOCKER_HTTP_TRAILERS :
		    DOCKER_HTTP_CHUNK_DATA;
		return 0;
	case DOCKER_HTTP_CHUNK_END:
		if (len != 0) {
			docker_http_fail(p, "chunk not followed by CRLF");
			return -1;
		}
		p->state = DOCKER_HTTP_CHUNK_SIZE;
		return 0;
	case DOCKER_HTTP_TRAILERS:
		if (len == 0)
			p->state = DOCKER_HTTP_DONE;
		else if (++p->nheaders > DOCKER_HTTP_MAX_HEADERS) {
			docker_http_fail(p, "too many trailers");
			return -1;
		}
		return 0;
	default:
		docker_http_fail(p, "internal state");
		return -1;
	}
}

enum docker_http_state
docker_http_feed(struct docker_http *p, const char *data, size_t len)
{
	const char *nl;
	size_t n;

	while (len > 0) {
		switch (p->state) {
		case DOCKER_HTTP_DONE:
		case DOCKER_HTTP_ERROR:
			return p->state;
		case DOCKER_HTTP_BODY_LENGTH:
		case DOCKER_HTTP_CHUNK_DATA:
			n = len < p->remaining ? len : (size_t)p->remaining;
			if (docker_http_append(p, data, n) == -1)
				return p->state;
			data += n;
			len -= n;
			p->remaining -= n;
			if (p->remaining == 0)
				p->state = p->state == DOCKER_HTTP_CHUNK_DATA ?
				    DOCKER_HTTP_CHUNK_END : DOCKER_HTTP_DONE;
			break;
		case DOCKER_HTTP_BODY_CLOSE:
			if (docker_http_append(p, data, len) == -1)
				return p->state;
			len = 0;
			break;
		default:
			nl = memchr(data, '\n', len);
			n = nl != NULL ? (size_t)(nl - data) : len;
			if (p->linelen + n >= sizeof(p->line)) {
				docker_http_fail(p, "line too long");
				return p->state;
			}
			memcpy(p->line + p->linelen, data, n);
			p->linelen += n;
			if (nl == NULL)
				return p->state;
			data += n + 1;
			len -= n + 1;
			if (p->linelen > 0 && p->line[p->linelen - 1] == '\r')
				p->linelen--;
			p->line[p->linelen] = '\0';
			n = p->linelen;
			p->linelen = 0;
			if (docker_http_line(p, p->line, n) == -1)
				return p->state;
			break;
		}
	}
	return p->state;
}

enum docker_http_state
docker_http_eof(struct docker_http *p)
{
	if (p->state == DOCKER_HTTP_BODY_CLOSE)
		p->state = DOCKER_HTTP_DONE;
	else if (p->state != DOCKER_HTTP_DONE && p->state != DOCKER_HTTP_ERROR)
		docker_http_fail(p, "connection closed before the response "
		    "ended");
	return p->state;
}
