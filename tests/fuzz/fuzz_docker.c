/* SPDX-License-Identifier: MIT */
/*
 * fuzz_docker.c -- the Docker provider's parsers: the event stream (fed in
 * pieces, cut into lines, each an event message) and the JSON of inspect
 * (as a pod and as the Service its labels define), list and event
 * messages. The first byte picks the parser; the rest is its input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "registry.h"
#include "linebuf.h"
#include "docker_pod.h"
#include "docker_svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_line(const char *line, size_t len, void *arg)
{
	char id[DOCKER_ID_MAX + 1];
	size_t *max = arg;

	if (len > *max)
		abort();
	if (docker_event_parse(line, len, id) != DOCKER_EVENT_IGNORE &&
	    !docker_id_valid(id))
		abort();
	return 0;
}

/* The event stream as it arrives, in pieces of step bytes. */
static void
fuzz_events(const char *data, size_t len, size_t step)
{
	struct linebuf lb;
	size_t off, n, max = 64;
	int rc = 0;

	linebuf_init(&lb, max);
	for (off = 0; off < len && rc == 0; off += n) {
		n = step < len - off ? step : len - off;
		rc = linebuf_feed(&lb, data + off, n, fuzz_line, &max);
		if (lb.len > max || (rc != 0 && rc != ERR_INVAL))
			abort();
	}
	linebuf_clear(&lb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	char err[256], id[DOCKER_ID_MAX + 1];
	struct docker_svc svc;
	struct pod *p = NULL;
	size_t i;
	char **ids;
	size_t nids;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_events(in, size - 1, size - 1);
		fuzz_events(in, size - 1, 1);
		fuzz_events(in, size - 1, 7);
		break;
	case 1:
		if (docker_pod_from_inspect(in, size - 1, NULL, &p, err,
		    sizeof(err)) == 0 && p != NULL && p->name[0] == '\0')
			abort();
		pod_free(p);
		p = NULL;
		docker_pod_from_inspect(in, size - 1, "svcnet", &p, err,
		    sizeof(err));
		pod_free(p);
		switch (docker_svc_from_inspect(in, size - 1, &svc, err,
		    sizeof(err))) {
		case 1:
			if (svc.name[0] == '\0' || svc.nports == 0 ||
			    svc.nports > DOCKER_SVC_MAX_PORTS)
				abort();
			for (i = 0; i < svc.nports; i++)
				if (svc.ports[i].port == 0 ||
				    svc.ports[i].target_port == 0)
					abort();
			if (!docker_svc_equal(&svc, &svc))
				abort();
			docker_svc_diff(&svc, &svc, err, sizeof(err));
			service_free(docker_svc_build(&svc));
			break;
		case 0:
		case ERR_INVAL:
			if (svc.nports != 0)
				abort();
			break;
		default:
			abort();
		}
		break;
	case 2:
		if (docker_list_ids(in, size - 1, &ids, &nids) == 0)
			docker_list_free(ids, nids);
		break;
	case 3:
		if (docker_event_parse(in, size - 1, id) !=
		    DOCKER_EVENT_IGNORE && !docker_id_valid(id))
			abort();
		break;
	}
	return 0;
}
