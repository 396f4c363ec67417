/* SPDX-License-Identifier: MIT */
/* manifest.h -- Service, Pod and Endpoints documents (YAML or JSON) -> objects. No libevent. */
#ifndef CIP_MANIFEST_H
#define CIP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

struct objset;

/*
 * An object of a kind clusterip does not run (any apiVersion but v1;
 * ConfigMap, Secret, Namespace, ...), left out of the set. Strings are
 * the report's; reason is static text.
 */
struct manifest_skip {
	char		*where;		/* "name:line:column" */
	char		*kind;		/* "Deployment" */
	char		*api_version;	/* "apps/v1"; "v1" if absent */
	char		*ns;		/* metadata.namespace or NULL */
	char		*name;		/* metadata.name, or NULL */
	const char	*reason;	/* static text */
	uint32_t	 line, col;
};

/* A field clusterip neither reads nor knows to ignore. */
struct manifest_warning {
	char		*where;		/* "name:line:column" */
	char		*msg;		/* unknown field "spec.x" */
	uint32_t	 line, col;
};

/* What a parse left out or found doubtful; filled in document order. */
struct manifest_report {
	struct manifest_skip	*skips;
	size_t			 nskips;
	struct manifest_warning	*warns;
	size_t			 nwarns;
	size_t			 nwarns_dropped; /* beyond the cap */
};

/* Largest manifest file read, bytes. */
#define MANIFEST_MAX_FILE	(64u * 1024 * 1024)

/*
 * Parses a multi-document YAML (or JSON) buffer. Each document is a
 * Service, Pod, Endpoints, or a v1 List of them; documents of other
 * kinds are skipped and, when rep is not NULL, listed in it; unknown
 * fields of Services, Pods and Endpoints are listed in rep as warnings.
 * Wrong types, missing required fields and unsupported values are
 * errors "name:line:column: reason". On success the objects are
 * appended to out (out->src is set to name, which must outlive out's
 * use by registry_apply) and 0 returned; on error nothing is appended,
 * rep is left empty and -1 returned. The caller clears rep.
 */
int	manifest_parse_buf(const char *buf, size_t len, const char *name,
    struct objset *out, struct manifest_report *rep, char *err,
    size_t errlen);
/*
 * The same for one document already parsed from JSON (jansson), without
 * its text: objects shared through etcd. Positions in errors are 1:1.
 */
struct json_t;
int	manifest_parse_json(struct json_t *, const char *name,
    struct objset *out, struct manifest_report *rep, char *err,
    size_t errlen);
/* The same for a file (name = path). */
int	manifest_parse_file(const char *path, struct objset *out,
    struct manifest_report *rep, char *err, size_t errlen);
/* Frees what rep holds and leaves it empty; accepts NULL. */
void	manifest_report_clear(struct manifest_report *rep);
/*
 * "name:line:column: Deployment/backend (apps/v1) skipped: reason" into
 * buf (truncated to len).
 */
void	manifest_skip_format(const struct manifest_skip *, char *buf,
    size_t len);
/* "name:line:column: warning: unknown field ..." into buf. */
void	manifest_warning_format(const struct manifest_warning *, char *buf,
    size_t len);
/*
 * Logs each skip at info and each warning with log_warnx, prefixed by
 * prefix ("api: " or "").
 */
void	manifest_report_log(const struct manifest_report *rep,
    const char *prefix);

#endif
