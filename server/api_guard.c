/* SPDX-License-Identifier: MIT */
/*
 * api_guard.c -- the control API's request limits, enforced on each
 * connection's bytes before evhttp parses them.
 *
 * libevent 2.1's evhttp refuses an oversized body by itself, with an HTML
 * page (evhttp_send_error), and offers no hook to answer otherwise (2.2's
 * evhttp_set_newreqcb and errorcb do not exist in 2.1). So every API
 * connection gets its bufferevent from api_guard_bev_cb (evhttp_set_bevcb)
 * with a callback on the input buffer. It runs whenever bytes arrive,
 * before evhttp sees them, and follows each request's HTTP/1.1 framing:
 *
 * - Content-Length and Transfer-Encoding lines are withheld from evhttp
 *   while the head arrives. Once the head is complete and its framing
 *   valid (by evhttp's own rules), one canonical framing line is put back
 *   before the blank line that ends it. evhttp thus frames exactly the
 *   body the guard decided to pass.
 * - A body over the limit (by its Content-Length, or chunks adding up past
 *   it) is never passed: evhttp sees a request without a body (or, when
 *   chunks overflow, a body ended early with "0\r\n\r\n"), the handler
 *   answers 413 JSON (api_guard_check), and the rest of the body is
 *   dropped here as it arrives, never held in memory. The connection
 *   stays usable after it (keep-alive, pipelining).
 * - What evhttp would refuse with its HTML page is refused here first, by
 *   evhttp's own rules, and cut short the same way: a head over
 *   API_MAX_HEADERS_SIZE bytes or API_MAX_HEADERS lines (431), a request
 *   line over API_MAX_HEADERS_SIZE (414), a malformed request line, header
 *   line, chunked body or framing (400), a method evhttp does not know
 *   (501), an Expect other than 100-continue (417). The handler answers in
 *   JSON and the connection closes after the answer.
 *
 * When evhttp closes a connection whose refused body (or head) is still
 * coming, closing the socket at once would reset the connection and the
 * client could lose the answer. evhttp's close callback takes a copy of
 * the descriptor, so the socket outlives evhttp's close (evhttp half-closes
 * it) and is read to its end, or for at most --api-timeout, before it is
 * closed: a lingering close (RFC 9112 section 9.6).
 *
 * One request is followed at a time: once it is complete, nothing after
 * it is looked at until its handler ran (evhttp reads nothing more before
 * that either), and the handler puts the guard back at the front of the
 * input buffer, which is then exactly where evhttp's next request starts.
 * Pipelined requests keep their order, and a guard that ever disagreed
 * with evhttp about where a request ends is set right at the next one.
 */
#include "config.h"

#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "util.h"
#include "log.h"
#include "hmap.h"
#include "runtime.h"
#include "api_internal.h"

/* Longest chunk-size line (hex digits and extensions). */
#define GUARD_CHUNK_LINE_MAX	1024

/* A synthetic request line, for a request whose own was too long. */
#define GUARD_SYNTH_REQUEST	"GET / HTTP/1.1\r\n\r\n"

/* A socket read to its end after evhttp let go of it. */
struct api_linger {
	struct api		*api;
	int			 fd;
	struct event		*ev;
	struct timespec		 end;	/* closed then at the latest */
};

/* One connection of the API and its guard. */
struct api_conn {
	struct bufferevent	*bev;		/* key; evhttp owns it */
	struct api		*api;
	struct api_guard	 guard;
};

static char	guard_linebuf[API_MAX_HEADERS_SIZE + 1];
/* The server whose connections are guarded; one per process. */
static struct api *guard_api;

static int	guard_splice(struct api_guard *, struct evbuffer *, size_t,
		    size_t, const char *, size_t);
static void	guard_reset_request(struct api_guard *);
static void	guard_request_end(struct api_guard *);
static void	guard_refuse(struct api_guard *, int, enum api_guard_why);
static int	guard_cut(struct api_guard *, struct evbuffer *, int,
		    enum api_guard_why, const char *);
static int	guard_line1(struct api_guard *, struct evbuffer *, size_t,
		    size_t);
static int	guard_header(struct api_guard *, struct evbuffer *, size_t,
		    size_t);
static int	guard_head_end(struct api_guard *, struct evbuffer *, size_t);
static int	guard_chunk_size(struct api_guard *, struct evbuffer *,
		    size_t, size_t);
static int	guard_partial(struct api_guard *, struct evbuffer *, size_t);
static int	guard_request_line(struct api_guard *, char *, size_t);
static int	guard_te_check(const char *);
static bool	guard_ascii_eq(const char *, const char *);

void
api_guard_init(struct api_guard *g, size_t max_head, size_t max_headers,
    uint64_t max_body)
{
	memset(g, 0, sizeof(*g));
	g->max_head = max_head > API_MAX_HEADERS_SIZE ? API_MAX_HEADERS_SIZE :
	    max_head;
	g->max_headers = max_headers;
	g->max_body = max_body;
	guard_reset_request(g);
}

static void
guard_reset_request(struct api_guard *g)
{
	g->phase = API_GUARD_P_LINE1;
	g->left = g->body = 0;
	g->head = g->nheaders = 0;
	g->may_have_body = g->drop = g->handled = false;
	g->withheld_last = g->framing_bad = g->chunked = false;
	g->ncl = g->nte = 0;
	g->cl = 0;
	g->cl_bad = false;
	g->status = 0;
	g->why = API_GUARD_W_OK;
	g->close = false;
	g->http11 = g->expect_seen = g->expect_ok = g->expect_last = false;
	g->npassed = 0;
}

/*
 * Replaces len bytes at off in buf with the n bytes of s. evhttp never
 * consumed them: they lie at or after g->pos, which it has not reached.
 */
static int
guard_splice(struct api_guard *g, struct evbuffer *buf, size_t off,
    size_t len, const char *s, size_t n)
{
	struct evbuffer *front = NULL;
	int rc = -1;

	if (off > 0 && ((front = evbuffer_new()) == NULL ||
	    evbuffer_remove_buffer(buf, front, off) != (int)off))
		goto out;
	if (len > 0 && evbuffer_drain(buf, len) != 0)
		goto out;
	if (n > 0 && evbuffer_prepend(buf, s, n) != 0)
		goto out;
	if (front != NULL && evbuffer_prepend_buffer(buf, front) != 0)
		goto out;
	rc = 0;
out:
	if (front != NULL)
		evbuffer_free(front);
	if (rc != 0) {
		/* Out of memory: the stream is lost, answer and close. */
		log_warnx("api: out of memory guarding a request");
		g->phase = API_GUARD_P_SKIP;
		g->close = true;
		if (g->status == 0) {
			g->status = 500;
			g->why = API_GUARD_W_NOMEM;
		}
	}
	return rc;
}

/* The request's bytes all went by: wait for its handler, or go on. */
static void
guard_request_end(struct api_guard *g)
{
	if (g->drop && g->handled)
		guard_reset_request(g);
	else
		g->phase = API_GUARD_P_WAIT;
}

/* The request is answered with status; its connection then closes. */
static void
guard_refuse(struct api_guard *g, int status, enum api_guard_why why)
{
	if (g->status == 0) {
		g->status = status;
		g->why = why;
	}
	g->close = true;
	g->phase = API_GUARD_P_SKIP;
}

/*
 * Ends what evhttp reads of this request with s in place of everything
 * from g->pos on, and refuses it with status: the rest is dropped.
 */
static int
guard_cut(struct api_guard *g, struct evbuffer *buf, int status,
    enum api_guard_why why, const char *s)
{
	size_t n = strlen(s);

	guard_refuse(g, status, why);
	if (guard_splice(g, buf, g->pos, evbuffer_get_length(buf) - g->pos, s,
	    n) != 0)
		return -1;
	g->pos += n;
	return 0;
}

/*
 * Checks a request line (NUL-terminated copy of its n bytes) as
 * evhttp_parse_request_line() does: 0 when evhttp accepts it, else the
 * status to refuse it with (400, or 501 for a method evhttp does not
 * know or CONNECT, which no route takes). Notes whether the method may
 * have a body (evhttp_method_may_have_body()) and the HTTP version.
 */
static int
guard_request_line(struct api_guard *g, char *line, size_t n)
{
	static const struct {
		const char	*name;
		bool		 body;
	} methods[] = {
		{ "GET", true }, { "POST", true }, { "PUT", true },
		{ "DELETE", true }, { "OPTIONS", true }, { "PATCH", true },
		{ "HEAD", false }, { "TRACE", false },
	};
	struct evhttp_uri *uri;
	char *eos = line + n, *rest = line, *method, *version, ch;
	int major, minor;
	size_t i;
	bool known = false;

	while (eos > line && eos[-1] == ' ') {
		*--eos = '\0';
		n--;
	}
	if (n < strlen("GET / HTTP/1.0"))
		return 400;
	method = strsep(&rest, " ");
	if (rest == NULL || (version = strrchr(rest, ' ')) == NULL ||
	    version == rest)
		return 400;
	*version++ = '\0';
	if (sscanf(version, "HTTP/%d.%d%c", &major, &minor, &ch) != 2 ||
	    major > 1)
		return 400;
	g->http11 = major == 1 && minor >= 1;
	for (i = 0; i < CIP_ARRAY_LEN(methods); i++)
		if (strcmp(method, methods[i].name) == 0) {
			known = true;
			g->may_have_body = methods[i].body;
		}
	if (!known)
		return 501;
	if ((uri = evhttp_uri_parse_with_flags(rest,
	    EVHTTP_URI_NONCONFORMANT)) == NULL)
		return 400;
	evhttp_uri_free(uri);
	return 0;
}

/* Passes the request line, or answers it (with a line of our own). */
static int
guard_line1(struct api_guard *g, struct evbuffer *buf, size_t n, size_t eol)
{
	struct evbuffer_ptr p;
	int status;

	if (n > g->max_head)
		return guard_cut(g, buf, 414, API_GUARD_W_URI,
		    GUARD_SYNTH_REQUEST);
	if (evbuffer_ptr_set(buf, &p, g->pos, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &p, guard_linebuf, n) != (ev_ssize_t)n)
		return guard_cut(g, buf, 500, API_GUARD_W_NOMEM,
		    GUARD_SYNTH_REQUEST);
	guard_linebuf[n] = '\0';
	if ((status = guard_request_line(g, guard_linebuf, n)) != 0)
		return guard_cut(g, buf, status, status == 501 ?
		    API_GUARD_W_METHOD : API_GUARD_W_REQLINE,
		    GUARD_SYNTH_REQUEST);
	g->head = n;
	g->phase = API_GUARD_P_HEADERS;
	g->pos += n + eol;
	return 0;
}

/*
 * evhttp_check_transfer_encoding_() of Debian's libevent 2.1.12: 0 for a
 * valid value without "chunked", 1 when it ends in "chunked", -1 when
 * "chunked" is anywhere but last.
 */
static int
guard_te_check(const char *v)
{
	const char *comma, *end, *p, *e;

	for (;;) {
		comma = strchr(v, ',');
		end = comma != NULL ? comma : v + strlen(v);
		p = v;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		e = p;
		while (e < end && *e != ' ' && *e != '\t' && *e != ';')
			e++;
		if (e - p == 7 && strncasecmp(p, "chunked", 7) == 0)
			return comma != NULL ? -1 : 1;
		if (comma == NULL)
			return 0;
		v = comma + 1;
	}
}

static bool
guard_ascii_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return *a == *b;
}

/*
 * One complete header line of n bytes (eol more): counted, and passed on
 * unless it is a framing line, which is withheld and remembered.
 */
static int
guard_header(struct api_guard *g, struct evbuffer *buf, size_t n, size_t eol)
{
	struct evbuffer_ptr p;
	char *line = guard_linebuf, *colon, *v, *end, *t;
	long long cl;

	g->head += n;
	g->nheaders++;
	/* Past a limit, evhttp's head ends here: it saw no framing yet. */
	if (g->head > g->max_head || g->nheaders > g->max_headers)
		return guard_cut(g, buf, 431, API_GUARD_W_HEAD, "\r\n");
	if (evbuffer_ptr_set(buf, &p, g->pos, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &p, line, n) != (ev_ssize_t)n)
		return guard_cut(g, buf, 500, API_GUARD_W_NOMEM, "\r\n");
	line[n] = '\0';
	if (line[0] == ' ' || line[0] == '\t') {
		/* A folded line would extend a withheld framing value. */
		if (g->withheld_last) {
			g->framing_bad = true;
			return guard_splice(g, buf, g->pos, n + eol, NULL, 0);
		}
		/* evhttp folds it into the header before, if any. */
		if (g->npassed == 0)
			return guard_cut(g, buf, 400, API_GUARD_W_HEADER,
			    "\r\n");
		/* Folded into the Expect, it is not "100-continue" anymore. */
		if (g->expect_last)
			g->expect_ok = false;
		g->pos += n + eol;
		return 0;
	}
	/*
	 * Name and value as evhttp_parse_headers_impl_() splits them, and
	 * refused as evhttp_add_header() would refuse them.
	 */
	if ((colon = strchr(line, ':')) == NULL)
		return guard_cut(g, buf, 400, API_GUARD_W_HEADER, "\r\n");
	*colon = '\0';
	v = colon + 1;
	v += strspn(v, " ");
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strchr(line, '\r') != NULL || strchr(v, '\r') != NULL)
		return guard_cut(g, buf, 400, API_GUARD_W_HEADER, "\r\n");
	if (guard_ascii_eq(line, "Content-Length")) {
		if (++g->ncl == 1) {
			/* evhttp_get_body_length()'s rules. */
			cl = *v == '\0' ? -1 : strtoll(v, &t, 10);
			if (cl < 0 || *t != '\0' || strpbrk(v, "\r\n") != NULL)
				g->cl_bad = true;
			else
				g->cl = (uint64_t)cl;
		}
	} else if (guard_ascii_eq(line, "Transfer-Encoding")) {
		g->nte++;
		if (g->chunked || strpbrk(v, "\r\n") != NULL)
			g->framing_bad = true;
		else
			switch (guard_te_check(v)) {
			case -1: g->framing_bad = true; break;
			case 1: g->chunked = true; break;
			default: break;
			}
	} else {
		/* evhttp_have_expect() looks at the first Expect only. */
		g->expect_last = false;
		if (guard_ascii_eq(line, "Expect") && !g->expect_seen) {
			g->expect_seen = g->expect_last = true;
			g->expect_ok = guard_ascii_eq(v, "100-continue");
		}
		g->withheld_last = false;
		g->npassed++;
		g->pos += n + eol;
		return 0;
	}
	g->withheld_last = true;
	g->expect_last = false;
	return guard_splice(g, buf, g->pos, n + eol, NULL, 0);
}

/* The blank line of n bytes ending the head: decide the body's fate. */
static int
guard_head_end(struct api_guard *g, struct evbuffer *buf, size_t eol)
{
	char line[64];
	int len = 0;

	if (g->ncl > 1 || (g->ncl > 0 && g->nte > 0))
		g->framing_bad = true;
	if (g->framing_bad) {
		/* evhttp_validate_len_and_encoding_() would refuse it. */
		guard_refuse(g, 400, API_GUARD_W_FRAMING);
		g->pos += eol;
		return 0;
	}
	if (!g->may_have_body) {
		g->pos += eol;
		guard_request_end(g);
		return 0;
	}
	if (g->chunked) {
		len = snprintf(line, sizeof(line), "Transfer-Encoding: "
		    "chunked\r\n");
		g->phase = API_GUARD_P_CHUNK_SIZE;
	} else if (g->ncl > 0 && g->cl_bad) {
		guard_refuse(g, 400, API_GUARD_W_FRAMING);
		g->pos += eol;
		return 0;
	} else if (g->ncl > 0 && g->cl > g->max_body) {
		/* Refused: evhttp sees no body, the body is dropped. */
		g->status = 413;
		g->why = API_GUARD_W_BODY;
		g->drop = true;
		g->left = g->cl;
		g->phase = API_GUARD_P_BODY;
	} else if (g->ncl > 0 && g->cl > 0) {
		len = snprintf(line, sizeof(line), "Content-Length: %" PRIu64
		    "\r\n", g->cl);
		g->left = g->cl;
		g->phase = API_GUARD_P_BODY;
	} else {
		g->pos += eol;
		guard_request_end(g);
		return 0;
	}
	/* A body is coming: evhttp would answer 417 to another Expect. */
	if (len > 0 && g->http11 && g->expect_seen && !g->expect_ok) {
		guard_refuse(g, 417, API_GUARD_W_EXPECT);
		g->pos += eol;
		return 0;
	}
	if (len > 0 && guard_splice(g, buf, g->pos, 0, line, (size_t)len) != 0)
		return -1;
	g->pos += (size_t)len + eol;
	return 0;
}

/* A chunk-size line of n bytes, as evhttp_handle_chunked_read() reads it. */
static int
guard_chunk_size(struct api_guard *g, struct evbuffer *buf, size_t n,
    size_t eol)
{
	struct evbuffer_ptr p;
	char *line = guard_linebuf, *end;
	long long size;

	if (n > GUARD_CHUNK_LINE_MAX)
		goto bad;
	if (evbuffer_ptr_set(buf, &p, g->pos, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &p, line, n) != (ev_ssize_t)n)
		goto bad;
	line[n] = '\0';
	if (line[0] != '\0') {
		size = strtoll(line, &end, 16);
		if ((*end != '\0' && *end != ' ') || size < 0 ||
		    (uint64_t)size > SIZE_MAX - g->body)
			goto bad;
		if (!g->drop && g->body + (uint64_t)size > g->max_body) {
			/* End evhttp's body before this chunk; drop the rest. */
			g->status = 413;
			g->why = API_GUARD_W_BODY;
			if (guard_splice(g, buf, g->pos, n + eol, "0\r\n\r\n",
			    5) != 0)
				return -1;
			g->pos += 5;
			g->drop = true;
			g->left = (uint64_t)size;
			g->phase = API_GUARD_P_CHUNK_DATA;
			return 0;
		}
		if (!g->drop)
			g->body += (uint64_t)size;
		g->left = (uint64_t)size;
		g->phase = size == 0 ? API_GUARD_P_TRAILER :
		    API_GUARD_P_CHUNK_DATA;
	}
	/* Blank lines (after chunk data) are skipped, as evhttp does. */
	if (g->drop)
		return guard_splice(g, buf, g->pos, n + eol, NULL, 0);
	g->pos += n + eol;
	return 0;
bad:
	if (g->drop) {
		/* Already answered 413: drop everything, close. */
		g->phase = API_GUARD_P_SKIP;
		g->close = true;
		return 0;
	}
	return guard_cut(g, buf, 400, API_GUARD_W_CHUNK, "0\r\n\r\n");
}

/*
 * An incomplete line of n bytes at g->pos: refused when it is too long
 * already (the phase becomes API_GUARD_P_SKIP), else left to grow.
 */
static int
guard_partial(struct api_guard *g, struct evbuffer *buf, size_t n)
{
	switch (g->phase) {
	case API_GUARD_P_LINE1:
		if (n > g->max_head)
			return guard_cut(g, buf, 414, API_GUARD_W_URI,
			    GUARD_SYNTH_REQUEST);
		break;
	case API_GUARD_P_HEADERS:
		if (g->head + n > g->max_head)
			return guard_cut(g, buf, 431, API_GUARD_W_HEAD, "\r\n");
		break;
	case API_GUARD_P_CHUNK_SIZE:
		if (n > GUARD_CHUNK_LINE_MAX)
			return guard_chunk_size(g, buf, n, 0);
		break;
	case API_GUARD_P_TRAILER:
		if (n <= g->max_head)
			break;
		if (!g->drop)
			return guard_cut(g, buf, 431, API_GUARD_W_HEAD, "\r\n");
		g->phase = API_GUARD_P_SKIP;
		g->close = true;
		break;
	default:
		break;
	}
	return 0;
}

void
api_guard_consumed(struct api_guard *g, size_t n)
{
	g->pos -= MINIMUM(g->pos, n);
}

void
api_guard_feed(struct api_guard *g, struct evbuffer *buf)
{
	struct evbuffer_ptr start, eolp;
	size_t len, eol, n;
	uint64_t k;

	g->busy = true;
	for (;;) {
		len = evbuffer_get_length(buf);
		if (g->pos > len)
			g->pos = len;
		if (g->pos == len || g->phase == API_GUARD_P_WAIT)
			break;
		if (g->phase == API_GUARD_P_SKIP) {
			guard_splice(g, buf, g->pos, len - g->pos, NULL, 0);
			break;
		}
		if (g->phase == API_GUARD_P_BODY ||
		    g->phase == API_GUARD_P_CHUNK_DATA) {
			k = MINIMUM(g->left, (uint64_t)(len - g->pos));
			if (g->drop) {
				if (guard_splice(g, buf, g->pos, (size_t)k,
				    NULL, 0) != 0)
					break;
			} else
				g->pos += (size_t)k;
			g->left -= k;
			if (g->left > 0)
				break;
			if (g->phase == API_GUARD_P_BODY)
				guard_request_end(g);
			else
				g->phase = API_GUARD_P_CHUNK_SIZE;
			continue;
		}
		/* The phases that read lines, ended as evbuffer_readln() does. */
		if (evbuffer_ptr_set(buf, &start, g->pos, EVBUFFER_PTR_SET) != 0)
			break;
		eolp = evbuffer_search_eol(buf, &start, &eol,
		    EVBUFFER_EOL_CRLF);
		if (eolp.pos == -1) {
			if (guard_partial(g, buf, len - g->pos) != 0 ||
			    g->phase != API_GUARD_P_SKIP)
				break;		/* wait for the rest */
			continue;
		}
		n = (size_t)eolp.pos - g->pos;
		switch (g->phase) {
		case API_GUARD_P_LINE1:
			if (guard_line1(g, buf, n, eol) != 0)
				goto out;
			break;
		case API_GUARD_P_HEADERS:
			if (n == 0) {
				if (guard_head_end(g, buf, eol) != 0)
					goto out;
			} else if (guard_header(g, buf, n, eol) != 0)
				goto out;
			break;
		case API_GUARD_P_CHUNK_SIZE:
			if (guard_chunk_size(g, buf, n, eol) != 0)
				goto out;
			break;
		case API_GUARD_P_TRAILER:
			/* evhttp discards trailers: only the blank line goes. */
			if (n > 0) {
				if (guard_splice(g, buf, g->pos, n + eol, NULL,
				    0) != 0)
					goto out;
				break;
			}
			if (g->drop) {
				if (guard_splice(g, buf, g->pos, eol, NULL,
				    0) != 0)
					goto out;
			} else
				g->pos += eol;
			guard_request_end(g);
			break;
		default:
			goto out;
		}
	}
out:
	g->busy = false;
}

int
api_guard_verdict(struct api_guard *g, struct evbuffer *buf, char *why,
    size_t whylen, bool *close)
{
	int status = g->status;

	/*
	 * A client that asked "Expect: 100-continue" and gets 413 instead may
	 * skip the body and send its next request: that would be read as the
	 * refused body, so the connection closes (RFC 9110 section 10.1.1).
	 */
	*close = g->close || (g->why == API_GUARD_W_BODY && g->expect_ok &&
	    g->drop && g->phase != API_GUARD_P_WAIT);
	switch (g->why) {
	case API_GUARD_W_OK:
		snprintf(why, whylen, "ok");
		break;
	case API_GUARD_W_BODY:
		if (g->ncl > 0 && !g->chunked)
			snprintf(why, whylen, "request body of %" PRIu64
			    " bytes exceeds the limit of %" PRIu64 " bytes",
			    g->cl, g->max_body);
		else
			snprintf(why, whylen, "request body exceeds the limit "
			    "of %" PRIu64 " bytes", g->max_body);
		break;
	case API_GUARD_W_URI:
		snprintf(why, whylen, "request line longer than %zu bytes",
		    g->max_head);
		break;
	case API_GUARD_W_HEAD:
		snprintf(why, whylen, "request header fields over %zu bytes "
		    "or %zu lines", g->max_head, g->max_headers);
		break;
	case API_GUARD_W_FRAMING:
		snprintf(why, whylen, "invalid or conflicting Content-Length "
		    "and Transfer-Encoding");
		break;
	case API_GUARD_W_CHUNK:
		snprintf(why, whylen, "malformed chunked body");
		break;
	case API_GUARD_W_REQLINE:
		snprintf(why, whylen, "malformed request line");
		break;
	case API_GUARD_W_METHOD:
		snprintf(why, whylen, "method not implemented");
		break;
	case API_GUARD_W_HEADER:
		snprintf(why, whylen, "malformed header line");
		break;
	case API_GUARD_W_EXPECT:
		snprintf(why, whylen, "only \"Expect: 100-continue\" is "
		    "supported");
		break;
	case API_GUARD_W_NOMEM:
		snprintf(why, whylen, "out of memory");
		break;
	}
	if (g->phase == API_GUARD_P_SKIP)
		;	/* everything more is dropped until the close */
	else if (g->drop && g->phase != API_GUARD_P_WAIT)
		g->handled = true;	/* the body is still coming */
	else {
		/* evhttp consumed exactly this request: the next starts. */
		guard_reset_request(g);
		g->pos = 0;
		api_guard_feed(g, buf);
	}
	return status;
}

/* The glue: one guard per connection, found by its bufferevent. */

static uint32_t
api_ptr_hash(const void *obj)
{
	return ptab_hash_u64((uint64_t)(uintptr_t)obj);
}

static uint32_t
api_conn_hash(const void *obj)
{
	return ptab_hash_u64((uint64_t)(uintptr_t)
	    ((const struct api_conn *)obj)->bev);
}

static bool
api_conn_match(const void *obj, const void *key)
{
	return ((const struct api_conn *)obj)->bev == key;
}

static struct api_conn *
api_conn_find(struct api *api, const struct bufferevent *bev)
{
	return ptab_find(&api->conns, ptab_hash_u64((uint64_t)(uintptr_t)bev),
	    api_conn_match, bev);
}

static void
api_linger_free(struct api_linger *l)
{
	ptab_remove(&l->api->lingers, l);
	event_free(l->ev);
	close(l->fd);
	free(l);
}

static void
api_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_linger *l = arg;
	struct timespec now;
	char buf[16384];
	ssize_t n = 0;
	int i;

	/*
	 * The event's timeout restarts whenever it fires (EV_PERSIST): a
	 * client that keeps sending is cut off by the deadline.
	 */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((what & EV_TIMEOUT) || (l->api->linger_ms > 0 &&
	    (now.tv_sec > l->end.tv_sec || (now.tv_sec == l->end.tv_sec &&
	    now.tv_nsec >= l->end.tv_nsec)))) {
		api_linger_free(l);
		return;
	}
	/* A bounded number of reads, so that the loop moves on. */
	for (i = 0; i < 64; i++)
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
	if (n > 0)
		return;
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		api_linger_free(l);
		return;
	}
}

/*
 * Keeps reading fd, which evhttp is about to close, until the client
 * closes its side or api->linger_ms passed, on a copy of the descriptor.
 */
static void
api_linger_start(struct api *api, int fd)
{
	struct api_linger *l;
	struct timeval tv;

	if (fd == -1 || (l = calloc(1, sizeof(*l))) == NULL)
		return;
	if ((l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		free(l);
		return;
	}
	if ((l->ev = event_new(api->rt->base, l->fd, EV_READ | EV_PERSIST,
	    api_linger_cb, l)) == NULL) {
		close(l->fd);
		free(l);
		return;
	}
	tv.tv_sec = (time_t)(api->linger_ms / 1000);
	tv.tv_usec = (suseconds_t)(api->linger_ms % 1000) * 1000;
	clock_gettime(CLOCK_MONOTONIC, &l->end);
	l->end.tv_sec += tv.tv_sec;
	l->end.tv_nsec += (long)tv.tv_usec * 1000;
	if (l->end.tv_nsec >= 1000000000) {
		l->end.tv_sec++;
		l->end.tv_nsec -= 1000000000;
	}
	event_add(l->ev, api->linger_ms > 0 ? &tv : NULL);
	l->api = api;
	if (ptab_add(&api->lingers, l) != 0) {
		event_free(l->ev);
		close(l->fd);
		free(l);
	}
}

/*
 * evhttp closes the connection: its guard goes with it, and the socket
 * lingers when the client may still be sending what was refused.
 */
static void
api_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct api_conn *c = arg;
	const struct api_guard *g = &c->guard;

	(void)evcon;
	if (g->phase == API_GUARD_P_SKIP || (g->drop &&
	    g->phase != API_GUARD_P_WAIT && g->phase != API_GUARD_P_LINE1))
		api_linger_start(c->api, bufferevent_getfd(c->bev));
	ptab_remove(&c->api->conns, c);
	free(c);
}

/*
 * The first bytes of a connection: its guard is made now, not with the
 * bufferevent, so that a connection that never sends anything has none.
 * evhttp passes its evhttp_connection as the bufferevent's callback
 * argument (every bufferevent_setcb() of http.c does); its close callback
 * frees the guard.
 */
static struct api_conn *
api_conn_new(struct api *api, struct bufferevent *bev)
{
	struct evhttp_connection *evcon = NULL;
	struct api_conn *c;
	void *arg = NULL;

	bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
	evcon = arg;
	if (evcon == NULL || evhttp_connection_get_bufferevent(evcon) != bev)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->bev = bev;
	c->api = api;
	api_guard_init(&c->guard, API_MAX_HEADERS_SIZE, API_MAX_HEADERS,
	    api->max_body);
	if (ptab_add(&api->conns, c) != 0) {
		free(c);
		return NULL;
	}
	evhttp_connection_set_closecb(evcon, api_conn_close_cb, c);
	return c;
}

static void
api_guard_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct bufferevent *bev = arg;
	struct api *api = guard_api;
	struct api_conn *c;

	if (api == NULL)
		return;
	if ((c = api_conn_find(api, bev)) == NULL) {
		if (info->n_added == 0)
			return;
		if ((c = api_conn_new(api, bev)) == NULL) {
			log_debug("api: cannot guard a connection");
			return;
		}
	}
	/* Changes the guard makes itself call back here: not counted. */
	if (c->guard.busy)
		return;
	api_guard_consumed(&c->guard, info->n_deleted);
	api_guard_feed(&c->guard, buf);
}

struct bufferevent *
api_guard_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent *bev;

	(void)arg;
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	if (evbuffer_add_cb(bufferevent_get_input(bev), api_guard_input_cb,
	    bev) == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

int
api_guard_check(struct api *api, struct evhttp_request *req, char *why,
    size_t whylen, bool *close)
{
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct api_conn *c;

	*close = false;
	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (c = api_conn_find(api, bev)) == NULL)
		return 0;
	return api_guard_verdict(&c->guard, bufferevent_get_input(bev), why,
	    whylen, close);
}

void
api_guard_start(struct api *api, uint64_t linger_ms)
{
	ptab_init(&api->conns, api_conn_hash);
	ptab_init(&api->lingers, api_ptr_hash);
	api->linger_ms = linger_ms;
	guard_api = api;
}

void
api_guard_shutdown(struct api *api)
{
	struct api_linger *l;
	struct api_conn *c;
	size_t pos = 0;

	/* evhttp_free() closed every connection; anything left is freed. */
	while ((c = ptab_next(&api->conns, &pos)) != NULL)
		free(c);
	ptab_clear(&api->conns);
	pos = 0;
	while ((l = ptab_next(&api->lingers, &pos)) != NULL) {
		event_free(l->ev);
		close(l->fd);
		free(l);
	}
	ptab_clear(&api->lingers);
	if (guard_api == api)
		guard_api = NULL;
}
