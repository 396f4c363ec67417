/* SPDX-License-Identifier: MIT */
/*
 * yamlnode.c -- typed, position-aware reads from a libyaml document,
 * loaded from YAML text or built from a parsed JSON value.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "util.h"
#include "yamlnode.h"

/* Deepest JSON value ynode_load_json takes: manifests nest a few levels. */
#define YNODE_JSON_DEPTH	100

int
ynode_fail(struct ynode_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		errf(c->err, c->errlen, "%s:%zu:%zu: %s", c->name,
		    n->start_mark.line + 1, n->start_mark.column + 1, msg);
	else
		errf(c->err, c->errlen, "%s: %s", c->name, msg);
	return -1;
}

yaml_node_t *
ynode_get(struct ynode_ctx *c, yaml_node_t *m, const char *key)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k;

	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(c->doc, pair->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(c->doc, pair->value);
	}
	return NULL;
}

bool
ynode_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n == NULL)
		return true;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *
ynode_str(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

int
ynode_want_str(struct ynode_ctx *c, yaml_node_t *n, const char *what,
    const char **out)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE || ynode_is_null(n))
		return ynode_fail(c, n, "%s: expected a string", what);
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length)
		return ynode_fail(c, n, "%s: NUL byte in string", what);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

bool
ynode_is_int(const yaml_node_t *n)
{
	const char *s = ynode_str(n);

	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    *s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int
ynode_want_uint(struct ynode_ctx *c, yaml_node_t *n, const char *what,
    uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!ynode_is_int(n) || parse_u64(ynode_str(n), &v) != 0)
		return ynode_fail(c, n, "%s: expected a whole number", what);
	if (v < min || v > max)
		return ynode_fail(c, n, "%s: %llu is out of range %llu..%llu",
		    what, (unsigned long long)v, (unsigned long long)min,
		    (unsigned long long)max);
	*out = v;
	return 0;
}

int
ynode_want_bool(struct ynode_ctx *c, yaml_node_t *n, const char *what,
    bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char *s = ynode_str(n);
	size_t i;

	if (s != NULL && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		for (i = 0; i < CIP_ARRAY_LEN(yes); i++) {
			if (strcasecmp(s, yes[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcasecmp(s, no[i]) == 0) {
				*out = false;
				return 0;
			}
		}
	}
	return ynode_fail(c, n, "%s: expected true or false", what);
}

int
ynode_want_map(struct ynode_ctx *c, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return ynode_fail(c, n, "%s: expected a mapping", what);
	return 0;
}

int
ynode_want_seq(struct ynode_ctx *c, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return ynode_fail(c, n, "%s: expected a list", what);
	return 0;
}

void
ynode_parser_error(const yaml_parser_t *p, const char *name, char *err,
    size_t errlen)
{
	const yaml_mark_t *m = &p->problem_mark;

	if (p->context != NULL)
		errf(err, errlen, "%s:%zu:%zu: %s %s", name, m->line + 1,
		    m->column + 1, p->problem ? p->problem : "syntax error",
		    p->context);
	else
		errf(err, errlen, "%s:%zu:%zu: %s", name, m->line + 1,
		    m->column + 1, p->problem ? p->problem : "syntax error");
}

int
ynode_load_each(const char *buf, size_t len, const char *name,
    ynode_doc_cb *cb, void *arg, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ynode_ctx c = { &doc, name, err, errlen };
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_initialize(&parser)) {
		errf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_load(&parser, &doc)) {
			ynode_parser_error(&parser, name, err, errlen);
			rc = -1;
			break;
		}
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		rc = cb(&c, root, arg) != 0 ? -1 : 0;
		yaml_document_delete(&doc);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&parser);
	return rc;
}

/* Adds j (and what it holds) to doc; its node's id, or 0 on failure. */
static int
ynode_add_json(yaml_document_t *doc, json_t *j, unsigned depth)
{
	const char *k, *text;
	char num[64];
	json_t *v;
	size_t i, len;
	int id, kid, vid;
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

	if (depth > YNODE_JSON_DEPTH)
		return 0;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if ((id = yaml_document_add_mapping(doc, NULL,
		    YAML_FLOW_MAPPING_STYLE)) == 0)
			return 0;
		json_object_foreach(j, k, v) {
			kid = yaml_document_add_scalar(doc, NULL,
			    (const yaml_char_t *)k, (int)strlen(k),
			    YAML_DOUBLE_QUOTED_SCALAR_STYLE);
			if (kid == 0 || (vid = ynode_add_json(doc, v,
			    depth + 1)) == 0 ||
			    !yaml_document_append_mapping_pair(doc, id, kid,
			    vid))
				return 0;
		}
		return id;
	case JSON_ARRAY:
		if ((id = yaml_document_add_sequence(doc, NULL,
		    YAML_FLOW_SEQUENCE_STYLE)) == 0)
			return 0;
		json_array_foreach(j, i, v) {
			if ((vid = ynode_add_json(doc, v, depth + 1)) == 0 ||
			    !yaml_document_append_sequence_item(doc, id, vid))
				return 0;
		}
		return id;
	case JSON_STRING:
		text = json_string_value(j);
		len = json_string_length(j);
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j));
		text = num;
		len = strlen(num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(j));
		text = num;
		len = strlen(num);
		break;
	case JSON_TRUE:
		text = "true", len = 4;
		break;
	case JSON_FALSE:
		text = "false", len = 5;
		break;
	default:
		text = "null", len = 4;
		break;
	}
	if (len > INT_MAX)
		return 0;
	return yaml_document_add_scalar(doc, NULL,
	    (const yaml_char_t *)text,
	    (int)len, style);
}

int
ynode_load_json(json_t *j, const char *name, ynode_doc_cb *cb,
    void *arg, char *err, size_t errlen)
{
	yaml_document_t doc;
	struct ynode_ctx c = { &doc, name, err, errlen };
	yaml_node_t *root;
	int rc;

	if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1)) {
		errf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (ynode_add_json(&doc, j, 0) == 0 ||
	    (root = yaml_document_get_root_node(&doc)) == NULL) {
		yaml_document_delete(&doc);
		errf(err, errlen, "%s: out of memory or nested too deep",
		    name);
		return -1;
	}
	rc = cb(&c, root, arg) != 0 ? -1 : 0;
	yaml_document_delete(&doc);
	return rc;
}
