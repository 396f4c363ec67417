/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vip_state.c -- VIP state files, JSON (version 4, and 3) and the text
 * files of versions 1 and 2 the loader migrates: any content loads
 * without a crash (a bad file means an empty pool), and the pool then
 * hands out distinct, usable addresses and takes explicit requests as it
 * should.
 */
#include "config.h"

#include <sys/mman.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "vip.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"default/backend", "default/front", "kube-system/dns", "a/b",
		"ns/req",
	};
	struct vip_pool *p;
	struct in_addr got[CIP_ARRAY_LEN(keys)], req, none = { 0 };
	char path[64], err[256];
	size_t i, j;
	int fd;

	log_init("fuzz_vip_state", LOG_LEVEL_ERROR);
	/* An in-memory file, so the pool reads the input as its state. */
	if ((fd = memfd_create("vip-state", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((p = vip_pool_new("10.250.0.0/24", path, err,
	    sizeof(err))) == NULL)
		abort();
	if (vip_count(p) != 0)
		abort();
	for (i = 0; i < CIP_ARRAY_LEN(keys) - 1; i++) {
		if (vip_alloc(p, keys[i], none, &got[i], err,
		    sizeof(err)) != 0)
			abort();
		if (!vip_in_range(p, got[i]) ||
		    (ntohl(got[i].s_addr) & 0xff) == 0 ||
		    (ntohl(got[i].s_addr) & 0xff) == 0xff)
			abort();
		for (j = 0; j < i; j++)
			if (got[j].s_addr == got[i].s_addr)
				abort();
	}
	/* An explicit request for a taken address is refused. */
	req = got[0];
	if (vip_alloc(p, "ns/req", req, &got[i], err, sizeof(err)) !=
	    ERR_CONFLICT)
		abort();
	if (vip_count(p) != CIP_ARRAY_LEN(keys) - 1)
		abort();
	vip_pool_free(p);
	/* The same input read by a dual-stack pool: IPv6 lines count too. */
	{
		const char *ranges[] = { "10.250.0.0/24", "fd00:96::/120" };
		struct in6_addr g6[CIP_ARRAY_LEN(keys)];

		if ((p = vip_pool_new_ranges(ranges, 2, path, err,
		    sizeof(err))) == NULL || vip_count(p) != 0)
			abort();
		for (i = 0; i < CIP_ARRAY_LEN(keys); i++) {
			if (vip_alloc6(p, keys[i], NULL, &g6[i], err,
			    sizeof(err)) != 0 || !vip_in_range6(p, &g6[i]) ||
			    g6[i].s6_addr[15] == 0 || g6[i].s6_addr[15] == 0xff)
				abort();
			for (j = 0; j < i; j++)
				if (memcmp(&g6[j], &g6[i], sizeof(g6[i])) == 0)
					abort();
		}
		vip_pool_free(p);
	}
	close(fd);
	return 0;
}
