/* SPDX-License-Identifier: MIT */
/*
 * dns_gai.c -- getaddrinfo(NAME) as a libc's stub resolver does it (built
 * with musl-gcc -static by dns_clients.sh): prints "canon NAME" and then
 * each address, one per line. Exits 1 with gai_strerror on failure.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char *argv[])
{
	struct addrinfo hints, *res, *ai;
	char buf[INET6_ADDRSTRLEN];
	const void *a;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: dns_gai NAME\n");
		return 2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_CANONNAME;
	if ((rc = getaddrinfo(argv[1], NULL, &hints, &res)) != 0) {
		fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(rc));
		return 1;
	}
	if (res->ai_canonname != NULL)
		printf("canon %s\n", res->ai_canonname);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else
			a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		if (inet_ntop(ai->ai_family, a, buf, sizeof(buf)) != NULL)
			printf("%s\n", buf);
	}
	freeaddrinfo(res);
	return 0;
}
