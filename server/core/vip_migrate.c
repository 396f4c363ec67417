/* SPDX-License-Identifier: MIT */
/*
 * vip_migrate.c -- the VIP state files of earlier versions, read once to
 * migrate: JSON of version 3 and the text files of versions 1 and 2.
 */
#include "config.h"

#include <sys/types.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "vip_impl.h"

/*
 * Version 3, one array per address, its members named once by "fields";
 * "seq" orders allocations and releases (reclaim order), "inUse" false
 * means released and remembered:
 *
 *	{"kind": "clusterip-vips", "version": 3,
 *	 "ranges": ["127.96.0.0/16", "fd00:96::/112"],	(primary first)
 *	 "fields": ["address", "key", "seq", "inUse"],
 *	 "vips": [["127.96.12.34", "default/backend", 17, true],
 *		  ["127.96.0.9", "default/old", 12, false], ...]}
 *
 * The text files before it; the key is the rest of its line:
 *
 *	clusterip-vip 2
 *	range 127.96.0.0/16			(one line per family,
 *	range fd00:96::/112			 primary first)
 *	127.96.12.34 U 17 default/backend	(U in use, R released)
 *	end 3 0123456789abcdef			(count, FNV-1a of the above)
 *
 * Version 1 is the same with one IPv4 range line.
 */
#define VIP_TEXT_MAGIC		"clusterip-vip 2"
#define VIP_TEXT_MAGIC_V1	"clusterip-vip 1"

static json_t	*vip_json_fields(void);

/*
 * A text file of version 1 or 2 held in buf (NUL-terminated at len);
 * the checksum trailer is checked first.
 */
int
vip_load_text(struct vip_pool *p, char *buf, size_t len,
    struct vip_file_ranges *fr, size_t *dropped, bool *v1, char *err,
    size_t errlen)
{
	char *line, *nl, *end, *trailer, hex[17], *f[3], *sp;
	uint64_t count, nread = 0, seq;
	json_t *js;
	size_t lineno = 0, i;
	int rc;

	*v1 = false;
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len)) {
		errf(err, errlen, "truncated or binary file");
		return ERR_INVAL;
	}
	/* The trailer is the last line; it covers every byte before it. */
	buf[len - 1] = '\0';
	trailer = strrchr(buf, '\n');
	trailer = trailer ? trailer + 1 : buf;
	if (strncmp(trailer, "end ", 4) != 0 ||
	    (end = strchr(trailer + 4, ' ')) == NULL) {
		errf(err, errlen, "no trailer (truncated)");
		return ERR_INVAL;
	}
	*end = '\0';
	if (parse_u64(trailer + 4, &count) != 0 || strlen(end + 1) != 16) {
		errf(err, errlen, "bad trailer");
		return ERR_INVAL;
	}
	snprintf(hex, sizeof(hex), "%016" PRIx64,
	    hash_fnv1a(buf, (size_t)(trailer - buf)));
	if (strcmp(hex, end + 1) != 0) {
		errf(err, errlen, "checksum mismatch");
		return ERR_INVAL;
	}
	*trailer = '\0';
	vip_load_reserve(p, count, len);
	for (line = buf; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');	/* present: trailer follows */
		*nl = '\0';
		lineno++;
		if (lineno == 1) {
			*v1 = strcmp(line, VIP_TEXT_MAGIC_V1) == 0;
			if (!*v1 && strcmp(line, VIP_TEXT_MAGIC) != 0) {
				errf(err, errlen, "unknown format or version");
				return ERR_INVAL;
			}
			continue;
		}
		if (lineno == 2 || (!*v1 && fr->n < 2 && lineno == 3 &&
		    strncmp(line, "range ", 6) == 0)) {
			if (strncmp(line, "range ", 6) != 0 ||
			    strlen(line + 6) >= sizeof(fr->v[0])) {
				errf(err, errlen, "line %zu: bad range line",
				    lineno);
				return ERR_INVAL;
			}
			strlcpy(fr->v[fr->n++], line + 6, sizeof(fr->v[0]));
			continue;
		}
		/* "ADDR U|R SEQ KEY" */
		for (i = 0; i < 3; i++) {
			if ((sp = strchr(line, ' ')) == NULL) {
				errf(err, errlen, "line %zu: missing field",
				    lineno);
				return ERR_INVAL;
			}
			*sp = '\0';
			f[i] = line;
			line = sp + 1;
		}
		if (strcmp(f[1], "U") != 0 && strcmp(f[1], "R") != 0) {
			errf(err, errlen, "line %zu: bad state", lineno);
			return ERR_INVAL;
		}
		if (parse_u64(f[2], &seq) != 0)
			seq = 0;
		nread++;
		/* A key JSON cannot hold (not UTF-8) is not carried over. */
		if ((js = json_string(line)) == NULL) {
			(*dropped)++;
			continue;
		}
		json_decref(js);
		if ((rc = vip_load_add(p, f[0], f[1][0] == 'U', seq, line,
		    dropped, err, errlen)) != 0) {
			char why[96];

			strlcpy(why, err, sizeof(why));
			errf(err, errlen, "line %zu: %s", lineno, why);
			return rc;
		}
	}
	if (lineno < 2) {
		errf(err, errlen, "missing header");
		return ERR_INVAL;
	}
	if (nread != count) {
		errf(err, errlen, "%" PRIu64 " entries, trailer says %" PRIu64,
		    nread, count);
		return ERR_INVAL;
	}
	return 0;
}

/* ["address", "key", "seq", "inUse"]: the members of an entry. */
static json_t *
vip_json_fields(void)
{
	return json_pack("[ssss]", "address", "key", "seq", "inUse");
}

int
vip_load_json3(struct vip_pool *p, json_t *root, size_t len,
    struct vip_file_ranges *fr, size_t *dropped, char *err, size_t errlen)
{
	json_t *ranges, *fields, *vips, *want = NULL, *e;
	const char *addr, *key;
	json_int_t seq;
	json_error_t je;
	size_t i;
	int in_use, rc = ERR_INVAL;

	if (json_unpack_ex(root, &je, 0, "{s:o, s:o, s:o}", "ranges",
	    &ranges, "fields", &fields, "vips", &vips) != 0) {
		errf(err, errlen, "%s", je.text);
		goto done;
	}
	if ((want = vip_json_fields()) == NULL) {
		errf(err, errlen, "out of memory");
		rc = ERR_NOMEM;
		goto done;
	}
	if (!json_equal(fields, want)) {
		errf(err, errlen, "\"fields\" is not [\"address\", \"key\", "
		    "\"seq\", \"inUse\"]");
		goto done;
	}
	if (!json_is_array(ranges) || json_array_size(ranges) < 1 ||
	    json_array_size(ranges) > 2) {
		errf(err, errlen, "\"ranges\" is not one or two ranges");
		goto done;
	}
	json_array_foreach(ranges, i, e) {
		if (!json_is_string(e) || json_string_length(e) >=
		    sizeof(fr->v[0])) {
			errf(err, errlen, "ranges[%zu]: not a range", i);
			goto done;
		}
		strlcpy(fr->v[fr->n++], json_string_value(e),
		    sizeof(fr->v[0]));
	}
	if (!json_is_array(vips)) {
		errf(err, errlen, "\"vips\" is not an array");
		goto done;
	}
	vip_load_reserve(p, json_array_size(vips), len);
	json_array_foreach(vips, i, e) {
		/* Member by member: json_unpack parses a format each time. */
		if (!json_is_array(e) || json_array_size(e) != 4 ||
		    !json_is_string(json_array_get(e, 0)) ||
		    !json_is_string(json_array_get(e, 1)) ||
		    !json_is_integer(json_array_get(e, 2)) ||
		    !json_is_boolean(json_array_get(e, 3))) {
			errf(err, errlen, "vips[%zu]: not [address, key, "
			    "seq, inUse]", i);
			goto done;
		}
		addr = json_string_value(json_array_get(e, 0));
		key = json_string_value(json_array_get(e, 1));
		seq = json_integer_value(json_array_get(e, 2));
		in_use = json_is_true(json_array_get(e, 3));
		if ((rc = vip_load_add(p, addr, in_use != 0,
		    seq > 0 ? (uint64_t)seq : 0, key, dropped, err,
		    errlen)) != 0) {
			char why[96];

			strlcpy(why, err, sizeof(why));
			errf(err, errlen, "vips[%zu]: %s", i, why);
			goto done;
		}
		rc = ERR_INVAL;
	}
	rc = 0;
done:
	json_decref(want);
	return rc;
}
