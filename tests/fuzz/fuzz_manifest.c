/* SPDX-License-Identifier: MIT */
/*
 * fuzz_manifest.c -- manifest bytes -> parse -> apply to a scratch
 * registry; bytes that are JSON are also parsed from their tree (as
 * objects read from etcd are).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "vip.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct owner o = { OWNER_FILE, (char *)"fuzz.yaml" };
	struct objset set = { 0 };
	struct manifest_report rep = { 0 };
	struct vip_pool *pool;
	struct registry *reg;
	json_t *j;
	char err[512];

	log_init("fuzz", LOG_LEVEL_ERROR);
	pool = vip_pool_new("127.96.0.0/28", NULL, err, sizeof(err));
	reg = registry_new(pool);
	if (manifest_parse_buf((const char *)data, len, "fuzz.yaml", &set,
	    &rep, err, sizeof(err)) == 0) {
		manifest_report_log(&rep, "");
		registry_apply(reg, &o, &set, REGISTRY_REPLACE, err,
		    sizeof(err));
		registry_remove_owner(reg, &o);
	}
	objset_clear(&set);
	manifest_report_clear(&rep);
	if ((j = json_loadb((const char *)data, len, 0, NULL)) != NULL) {
		if (manifest_parse_json(j, "fuzz.json", &set, &rep, err,
		    sizeof(err)) == 0)
			registry_apply(reg, &o, &set, REGISTRY_REPLACE, err,
			    sizeof(err));
		json_decref(j);
		objset_clear(&set);
		manifest_report_clear(&rep);
	}
	registry_free(reg);
	vip_pool_free(pool);
	return 0;
}
