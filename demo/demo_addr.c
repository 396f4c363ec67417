/* SPDX-License-Identifier: MIT */
/* demo_addr.c -- "HOST[:PORT]" splitting for the demo programs' flags. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_addr.h"

int
demo_split_hostport(const char *text, uint16_t default_port, char *host,
    size_t hostlen, uint16_t *port)
{
	unsigned char buf[sizeof(struct in6_addr)];
	const char *end, *p;
	size_t len;
	char *ep;
	unsigned long v;

	*port = default_port;
	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL)
			return -1;
		len = (size_t)(end - text - 1);
		text++;
		p = end + 1;
		if (*p != '\0' && *p != ':')
			return -1;
	} else if ((p = strchr(text, ':')) != NULL && strchr(p + 1, ':')) {
		/* Bare IPv6 address, no port. */
		len = strlen(text);
		p = text + len;
	} else {
		p = p != NULL ? p : text + strlen(text);
		len = (size_t)(p - text);
	}
	if (len == 0 || len >= hostlen)
		return -1;
	memcpy(host, text, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, buf) != 1 &&
	    inet_pton(AF_INET6, host, buf) != 1)
		return -1;
	if (*p == ':') {
		v = strtoul(p + 1, &ep, 10);
		if (p[1] == '\0' || *ep != '\0' || v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	return 0;
}
