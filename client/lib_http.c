/* SPDX-License-Identifier: MIT */
/*
 * lib_http.c -- libclusterip: blocking client of the control API, over
 * TCP or the daemon's unix socket.
 *
 * One small HTTP/1.1 exchange serves both: libevent 2.1's
 * evhttp_connection can only connect to a host and port itself (it
 * closes any socket it is given and connects anew), and it gives up on a
 * reply that comes while it is still sending the body, which is how the
 * daemon refuses a body over its limit (413 at once, the rest dropped).
 * Here the request is written whole (an early close of the server's side
 * only ends the writing), then the reply is read until the server closes
 * ("Connection: close") and parsed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>

#include "clusterip/clusterip.h"
#include "lib_internal.h"

#define CIP_CLIENT_DEFAULT_PORT		9901
#define CIP_CLIENT_TIMEOUT_MS		10000
#define CIP_CLIENT_MAX_REPLY		(64 * 1024 * 1024)
/* Longest reply head read over the unix socket. */
#define CIP_CLIENT_MAX_HEAD		(64 * 1024)

struct cip_client {
	struct cip_url	 url;
	char		*token;
	unsigned int	 timeout_ms;
};

void
cip_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
cip_url_parse(const char *url, struct cip_url *u, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct evhttp_uri *uri;
	const char *scheme, *host, *path;
	int port, rc = -1;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "unix:", 5) == 0) {
		/* unix:/PATH, unix:PATH (relative) or unix:///PATH */
		path = url + 5;
		if (strncmp(path, "//", 2) == 0) {
			path += 2;
			if (*path != '/') {
				cip_errf(err, errlen, "bad server URL \"%s\" "
				    "(want unix:///PATH)", url);
				return -1;
			}
		}
		if (*path == '\0') {
			cip_errf(err, errlen, "bad server URL \"%s\" (want "
			    "unix:/PATH)", url);
			return -1;
		}
		if (strlen(path) >= sizeof(sun.sun_path) ||
		    strlen(path) >= sizeof(u->path)) {
			cip_errf(err, errlen, "socket path too long: %s", path);
			return -1;
		}
		u->is_unix = true;
		snprintf(u->path, sizeof(u->path), "%s", path);
		return 0;
	}
	if ((uri = evhttp_uri_parse(url)) == NULL) {
		cip_errf(err, errlen, "bad server URL \"%s\" (want "
		    "http://HOST[:PORT] or unix:/PATH)", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	port = evhttp_uri_get_port(uri);
	if (scheme == NULL || strcasecmp(scheme, "http") != 0 ||
	    host == NULL || *host == '\0' || strlen(host) >= sizeof(u->host)) {
		cip_errf(err, errlen, "bad server URL \"%s\" (want "
		    "http://HOST[:PORT] or unix:/PATH)", url);
		goto out;
	}
	snprintf(u->host, sizeof(u->host), "%s", host);
	u->port = port > 0 ? (uint16_t)port : CIP_CLIENT_DEFAULT_PORT;
	rc = 0;
out:
	evhttp_uri_free(uri);
	return rc;
}

struct cip_client *
cip_client_new(const char *url, const char *token, char *err, size_t errlen)
{
	struct cip_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cip_errf(err, errlen, "out of memory");
		return NULL;
	}
	if (cip_url_parse(url, &c->url, err, errlen) != 0) {
		free(c);
		return NULL;
	}
	if (token != NULL && (c->token = strdup(token)) == NULL) {
		cip_errf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->timeout_ms = CIP_CLIENT_TIMEOUT_MS;
	return c;
}

void
cip_client_free(struct cip_client *c)
{
	if (c == NULL)
		return;
	free(c->token);
	free(c);
}

void
cip_client_set_timeout(struct cip_client *c, unsigned int ms)
{
	c->timeout_ms = ms > 0 ? ms : CIP_CLIENT_TIMEOUT_MS;
}

void
cip_reply_clear(struct cip_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Milliseconds until deadline (0 when past). */
static int
cip_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > 86400000 ? 86400000 : (int)ms;
}

/* Waits for events on fd until deadline: 0, or -1 with errno. */
static int
cip_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd;
	int n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		n = poll(&pfd, 1, cip_ms_left(deadline));
		if (n > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* The line at p: its end (before CR LF or LF) and *next, or NULL. */
static const char *
cip_line(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (lf == NULL)
		return NULL;
	*next = lf + 1;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

static bool
cip_name_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

int
cip_http_parse_reply(const char *buf, size_t len, struct cip_reply *r,
    char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len, *le, *next, *colon, *v, *ve;
	uint64_t cl = 0, size;
	size_t nheaders, out = 0, i;
	bool chunked, has_cl;
	int status;

	memset(r, 0, sizeof(*r));
again:
	chunked = has_cl = false;
	nheaders = 0;
	/* "HTTP/1.x NNN reason" */
	if ((le = cip_line(p, end, &next)) == NULL || le - p < 12 ||
	    strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    (le - p > 12 && p[12] != ' '))
		goto bad;
	for (i = 9, status = 0; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			goto bad;
		status = status * 10 + (p[i] - '0');
	}
	if (status < 100)
		goto bad;
	for (p = next;; p = next) {
		if ((le = cip_line(p, end, &next)) == NULL ||
		    ++nheaders > 200)
			goto bad;
		if (le == p)
			break;
		if ((colon = memchr(p, ':', (size_t)(le - p))) == NULL)
			goto bad;
		for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = le; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if (cip_name_is(p, (size_t)(colon - p), "Content-Length")) {
			if (v == ve || has_cl)
				goto bad;
			for (cl = 0; v < ve; v++) {
				if (*v < '0' || *v > '9' ||
				    cl > CIP_CLIENT_MAX_REPLY)
					goto bad;
				cl = cl * 10 + (uint64_t)(*v - '0');
			}
			has_cl = true;
		} else if (cip_name_is(p, (size_t)(colon - p),
		    "Transfer-Encoding")) {
			/* chunked is always the last coding */
			chunked = ve - v >= 7 &&
			    strncasecmp(ve - 7, "chunked", 7) == 0;
		} else if (cip_name_is(p, (size_t)(colon - p),
		    "Content-Type")) {
			snprintf(r->content_type, sizeof(r->content_type),
			    "%.*s", (int)(ve - v), v);
		}
	}
	p = next;
	if (status < 200)
		goto again;	/* 100 Continue: the reply follows */
	if (has_cl && cl > CIP_CLIENT_MAX_REPLY)
		goto bad;
	/* The body is at most what is left, whatever its framing. */
	if ((r->body = malloc((size_t)(end - p) + 1)) == NULL) {
		cip_errf(err, errlen, "out of memory");
		return -1;
	}
	if (status == 204 || status == 304) {
		/* no body */
	} else if (chunked) {
		for (;;) {
			if ((le = cip_line(p, end, &next)) == NULL || le == p)
				goto bad;
			for (size = 0; p < le && *p != ';' && *p != ' '; p++) {
				int d = *p >= '0' && *p <= '9' ? *p - '0' :
				    *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 :
				    *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;

				if (d < 0 || size > CIP_CLIENT_MAX_REPLY)
					goto bad;
				size = size * 16 + (uint64_t)d;
			}
			p = next;
			if (size == 0)
				break;
			if (size > (uint64_t)(end - p) ||
			    out + size > CIP_CLIENT_MAX_REPLY)
				goto bad;
			memcpy(r->body + out, p, (size_t)size);
			out += (size_t)size;
			p += size;
			if ((le = cip_line(p, end, &next)) == NULL || le != p)
				goto bad;
			p = next;
		}
		/* Trailers, up to the blank line. */
		do {
			if ((le = cip_line(p, end, &next)) == NULL)
				goto bad;
			v = p;
			p = next;
		} while (le != v);
	} else if (has_cl) {
		if (cl > (uint64_t)(end - p))
			goto bad;
		memcpy(r->body, p, (size_t)cl);
		out = (size_t)cl;
	} else {
		/* Until the connection closed. */
		out = (size_t)(end - p);
		memcpy(r->body, p, out);
	}
	r->body[out] = '\0';
	r->len = out;
	r->status = status;
	return 0;
bad:
	cip_reply_clear(r);
	cip_errf(err, errlen, "malformed or truncated reply");
	return -1;
}

/* "http://HOST:PORT" or "unix:PATH", for messages. */
static const char *
cip_where(const struct cip_client *c, char *buf, size_t len)
{
	if (c->url.is_unix)
		snprintf(buf, len, "unix:%s", c->url.path);
	else
		snprintf(buf, len, "http://%s:%u", c->url.host,
		    (unsigned)c->url.port);
	return buf;
}

/*
 * A non-blocking socket connected to the server before deadline, or -1
 * with errno.
 */
static int
cip_connect(const struct cip_client *c, const struct timespec *deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_un sun;
	struct timeval tv;
	char host[256], port[8];
	socklen_t elen;
	size_t hl;
	int fd = -1, e = ECONNREFUSED, one = 1, ms;

	if (c->url.is_unix) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->url.path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		/*
		 * A unix connect() does not wait for the server to accept,
		 * but blocks while its listen queue is full: for the send
		 * timeout at most (never 0, which is no timeout).
		 */
		ms = cip_ms_left(deadline);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = ms > 0 ? (ms % 1000) * 1000 : 1;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
			e = errno == EAGAIN ? ETIMEDOUT : errno;
			close(fd);
			errno = e;
			return -1;
		}
		return fd;
	}
	/* "[::1]" as evhttp_uri keeps it: the brackets go. */
	hl = strlen(c->url.host);
	if (hl >= 2 && c->url.host[0] == '[' && c->url.host[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2),
		    c->url.host + 1);
	else
		snprintf(host, sizeof(host), "%s", c->url.host);
	snprintf(port, sizeof(port), "%u", (unsigned)c->url.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		errno = e == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS &&
		    cip_wait(fd, POLLOUT, deadline) == 0)) {
			elen = sizeof(e);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) ==
			    0 && e == 0)
				break;
		} else
			e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = e;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
cip_client_request(struct cip_client *c, const char *method,
    const char *path, const char *content_type, const void *body,
    size_t len, struct cip_reply *reply, char *err, size_t errlen)
{
	struct timespec deadline;
	char *head = NULL, *in = NULL, *nb, why[128], where[400];
	size_t headlen, off, inlen = 0, incap = 0, total;
	const char *p;
	ssize_t n;
	int fd = -1, rc = -1, hl;

	memset(reply, 0, sizeof(*reply));
	cip_where(c, where, sizeof(where));
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0) {
		cip_errf(err, errlen, "unsupported method %s", method);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += c->timeout_ms / 1000;
	deadline.tv_nsec += (long)(c->timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	if (strpbrk(path, " \r\n") != NULL ||
	    (content_type != NULL && strpbrk(content_type, "\r\n") != NULL) ||
	    (c->token != NULL && strpbrk(c->token, "\r\n") != NULL)) {
		cip_errf(err, errlen, "bad request line or header");
		return -1;
	}
	hl = asprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "Accept: application/json\r\nConnection: close\r\n"
	    "%s%s%s" "%s%s%s" "Content-Length: %zu\r\n\r\n", method, path,
	    c->url.is_unix ? "localhost" : where + strlen("http://"),
	    c->token != NULL ? "Authorization: Bearer " : "",
	    c->token != NULL ? c->token : "", c->token != NULL ? "\r\n" : "",
	    body != NULL ? "Content-Type: " : "",
	    body != NULL ? (content_type != NULL ? content_type :
	    "application/json") : "", body != NULL ? "\r\n" : "",
	    body != NULL ? len : 0);
	if (hl < 0) {
		head = NULL;
		cip_errf(err, errlen, "out of memory");
		goto out;
	}
	headlen = (size_t)hl;
	if ((fd = cip_connect(c, &deadline)) == -1) {
		cip_errf(err, errlen, "cannot reach %s: %s", where,
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
		goto out;
	}
	/*
	 * Write the head and the body; a server that answers early (413)
	 * and closes ends the writing, not the request.
	 */
	total = headlen + (body != NULL ? len : 0);
	for (off = 0; off < total; off += (size_t)n) {
		if (off < headlen) {
			p = head + off;
			n = send(fd, p, headlen - off, MSG_NOSIGNAL |
			    MSG_DONTWAIT);
		} else {
			p = (const char *)body + (off - headlen);
			n = send(fd, p, total - off, MSG_NOSIGNAL |
			    MSG_DONTWAIT);
		}
		if (n >= 0)
			continue;
		n = 0;
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			break;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    cip_wait(fd, POLLOUT, &deadline) != 0) {
			cip_errf(err, errlen, "cannot reach %s: %s", where,
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
			goto out;
		}
	}
	for (;;) {
		if (inlen == incap) {
			if (incap >= CIP_CLIENT_MAX_REPLY + CIP_CLIENT_MAX_HEAD) {
				cip_errf(err, errlen, "%s: reply too large",
				    where);
				goto out;
			}
			incap = incap ? incap * 2 : 16384;
			if (incap > CIP_CLIENT_MAX_REPLY + CIP_CLIENT_MAX_HEAD)
				incap = CIP_CLIENT_MAX_REPLY +
				    CIP_CLIENT_MAX_HEAD;
			if ((nb = realloc(in, incap)) == NULL) {
				cip_errf(err, errlen, "out of memory");
				goto out;
			}
			in = nb;
		}
		n = recv(fd, in + inlen, incap - inlen, MSG_DONTWAIT);
		if (n > 0) {
			inlen += (size_t)n;
			continue;
		}
		/*
		 * A server that closed with our body unread resets the
		 * socket once its reply was read.
		 */
		if (n == 0 || (errno == ECONNRESET && inlen > 0))
			break;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    cip_wait(fd, POLLIN, &deadline) != 0) {
			cip_errf(err, errlen, "cannot reach %s: %s", where,
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
			goto out;
		}
	}
	if (cip_http_parse_reply(in, inlen, reply, why, sizeof(why)) != 0) {
		cip_errf(err, errlen, "%s: %s", where, inlen == 0 ?
		    "connection closed without a reply" : why);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(head);
	free(in);
	return rc;
}

