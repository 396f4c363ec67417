/* SPDX-License-Identifier: MIT */
/*
 * dns_flood.c -- sends COUNT random and mutated DNS datagrams to HOST:PORT
 * (bounded, non-blocking, replies drained as they come), for the
 * robustness test: the daemon must survive them and answer correctly
 * afterwards. Usage: dns_flood HOST PORT COUNT SEED
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64
#define MAXPKT	600

static uint64_t rng;

static uint32_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A well-formed query: name, type, optional OPT (version, DO). */
static size_t
query(uint8_t *b, const char *name, uint16_t type, int edns)
{
	size_t o = 12, l;
	const char *s = name, *dot;

	memset(b, 0, 12);
	b[0] = (uint8_t)rnd();
	b[1] = (uint8_t)rnd();
	b[2] = 0x01;
	b[5] = 1;
	while (*s != '\0') {
		dot = strchr(s, '.');
		l = dot ? (size_t)(dot - s) : strlen(s);
		b[o++] = (uint8_t)l;
		memcpy(b + o, s, l);
		o += l;
		s += l + (dot ? 1 : 0);
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(type >> 8);
	b[o++] = (uint8_t)type;
	b[o++] = 0;
	b[o++] = 1;
	if (edns >= 0) {
		b[11] = 1;
		b[o++] = 0;
		b[o++] = 0;
		b[o++] = 41;
		b[o++] = 0x04;
		b[o++] = 0xd0;
		b[o++] = 0;
		b[o++] = (uint8_t)edns;
		b[o++] = 0x80;
		b[o++] = 0;
		b[o++] = 0;
		b[o++] = 0;
	}
	return o;
}

static const struct {
	const char	*name;
	uint16_t	 type;
} seeds[] = {
	{ "backend.default.svc.cluster.local", 1 },
	{ "backend", 1 },
	{ "backend.default", 28 },
	{ "_http._tcp.backend.default.svc.cluster.local", 33 },
	{ "db.default.svc.cluster.local", 1 },
	{ "db-0.db.default.svc.cluster.local", 255 },
	{ "_pg._tcp.db.default.svc.cluster.local", 33 },
	{ "ext.default.svc.cluster.local", 5 },
	{ "1.20.0.127.in-addr.arpa", 12 },
	{ "1.0.96.127.in-addr.arpa", 12 },
	{ "dns-version.cluster.local", 16 },
	{ "cluster.local", 6 },
	{ "cluster.local", 252 },
	{ "www.example.com", 1 },
	{ "nosuch.default.svc.cluster.local", 1 },
};

static size_t
packet(uint8_t *b)
{
	size_t len, i, n;
	uint32_t mode = rnd() % 10;

	if (mode == 0) {
		/* pure noise */
		len = rnd() % MAXPKT;
		for (i = 0; i < len; i++)
			b[i] = (uint8_t)rnd();
		return len;
	}
	i = rnd() % (sizeof(seeds) / sizeof(seeds[0]));
	len = query(b, seeds[i].name, seeds[i].type,
	    (rnd() & 1) ? -1 : (int)(rnd() % 3));
	if (mode == 1)
		return len;
	switch (rnd() % 5) {
	case 0:		/* truncate */
		return rnd() % (len + 1);
	case 1:		/* flip bytes */
		for (n = 1 + rnd() % 8; n > 0; n--)
			b[rnd() % len] = (uint8_t)rnd();
		return len;
	case 2:		/* header bits and counts */
		for (n = 2 + rnd() % 10; n < 12; n++)
			b[n] = (uint8_t)rnd();
		return len;
	case 3:		/* junk appended */
		n = rnd() % 64;
		for (i = 0; i < n && len < MAXPKT; i++)
			b[len++] = (uint8_t)rnd();
		return len;
	default:	/* a compression pointer somewhere */
		n = 12 + rnd() % (len - 12 + 1);
		if (n + 1 < len) {
			b[n] = 0xc0 | (uint8_t)(rnd() & 0x3f);
			b[n + 1] = (uint8_t)rnd();
		}
		return len;
	}
}

static size_t
drain(int fd)
{
	static uint8_t buf[65536];
	size_t n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

int
main(int argc, char **argv)
{
	static uint8_t pkts[BATCH][MAXPKT];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in sin;
	struct pollfd pfd;
	unsigned long count, sent = 0, got = 0;
	int fd, i, n, bufsz = 4 << 20;

	if (argc != 5) {
		fprintf(stderr, "usage: %s HOST PORT COUNT SEED\n", argv[0]);
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", argv[1]);
		return 2;
	}
	count = strtoul(argv[3], NULL, 10);
	rng = strtoull(argv[4], NULL, 10) | 1;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("socket");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	while (sent < count) {
		n = (int)(count - sent < BATCH ? count - sent : BATCH);
		for (i = 0; i < n; i++) {
			iov[i].iov_base = pkts[i];
			iov[i].iov_len = packet(pkts[i]);
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, mm, (unsigned)n, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == ECONNREFUSED ||
			    errno == ENOBUFS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				(void)poll(&pfd, 1, 10);
				got += drain(fd);
				continue;
			}
			perror("sendmmsg");
			return 1;
		}
		sent += (unsigned long)n;
		got += drain(fd);
	}
	usleep(200 * 1000);
	got += drain(fd);
	printf("dns_flood: sent %lu datagrams, %lu replies\n", sent, got);
	close(fd);
	return 0;
}
