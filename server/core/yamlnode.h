/* SPDX-License-Identifier: MIT */
/*
 * yamlnode.h -- typed, position-aware reads from a libyaml document, shared
 * by manifests and the configuration. Every error names name:line:column.
 */
#ifndef CIP_YAMLNODE_H
#define CIP_YAMLNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

struct ynode_ctx {
	yaml_document_t	*doc;
	const char	*name;	/* file name for messages */
	char		*err;
	size_t		 errlen;
};

/* Writes "name:line:column: reason" for node into ctx->err; returns -1. */
int	ynode_fail(struct ynode_ctx *, const yaml_node_t *, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* Value of key in mapping node m, or NULL. */
yaml_node_t *ynode_get(struct ynode_ctx *, yaml_node_t *m, const char *key);
/* True for a null scalar (~, null, empty plain) or a missing node. */
bool	ynode_is_null(const yaml_node_t *);
/* A scalar's text (NUL-terminated by libyaml), or NULL when not a scalar. */
const char *ynode_str(const yaml_node_t *);
/* Requires a string scalar; *out points into the document. */
int	ynode_want_str(struct ynode_ctx *, yaml_node_t *, const char *what,
    const char **out);
/* Requires a plain integer scalar within [min, max]. */
int	ynode_want_uint(struct ynode_ctx *, yaml_node_t *, const char *what,
    uint64_t min, uint64_t max, uint64_t *out);
/* Requires true/false (also yes/no/on/off). */
int	ynode_want_bool(struct ynode_ctx *, yaml_node_t *, const char *what,
    bool *out);
/* Requires a mapping / a sequence. */
int	ynode_want_map(struct ynode_ctx *, yaml_node_t *, const char *what);
int	ynode_want_seq(struct ynode_ctx *, yaml_node_t *, const char *what);
/* True when a plain scalar spells an integer. */
bool	ynode_is_int(const yaml_node_t *);
/*
 * Loads each document of buf in turn and calls cb with its root node
 * (NULL for an empty document is skipped). Stops at the first syntax
 * error ("name:line:column: problem") or at the first non-zero cb.
 * Returns 0 or -1.
 */
typedef int ynode_doc_cb(struct ynode_ctx *, yaml_node_t *root, void *arg);
int	ynode_load_each(const char *buf, size_t len, const char *name,
    ynode_doc_cb *cb, void *arg, char *err, size_t errlen);
/*
 * The same for one JSON value already parsed (jansson): its document is
 * built node by node, as libyaml would load the JSON text (strings
 * double-quoted, numbers, booleans and null plain), without the text
 * and its tokens. Positions are all 1:1. Returns 0 or -1.
 */
struct json_t;
int	ynode_load_json(struct json_t *, const char *name,
    ynode_doc_cb *cb, void *arg, char *err, size_t errlen);
/*
 * Formats a libyaml parser error as "name:line:column: problem (context)".
 */
void	ynode_parser_error(const yaml_parser_t *, const char *name, char *err,
    size_t errlen);

#endif
