/* SPDX-License-Identifier: MIT */
/* manifest.h -- Service, Pod and Endpoints documents (YAML or JSON) -> objects. No libevent. */
#ifndef CIP_MANIFEST_H
#define CIP_MANIFEST_H

#include <stddef.h>

struct objset;

/*
 * Parses a multi-document YAML (or JSON) buffer. Each document is a
 * Service, Pod, Endpoints, or a v1 List of them; unknown fields are
 * logged at debug and ignored; wrong types and missing required fields
 * are errors "name:line:column: reason". On success the objects are
 * appended to out and 0 returned; on error nothing is appended and -1
 * returned.
 */
int	manifest_parse_buf(const char *buf, size_t len, const char *name,
    struct objset *out, char *err, size_t errlen);
/* The same for a file (name = path). */
int	manifest_parse_file(const char *path, struct objset *out, char *err,
    size_t errlen);

#endif
