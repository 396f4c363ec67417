/* SPDX-License-Identifier: MIT */
/* selector.h -- label sets and Kubernetes label selectors; pure. */
#ifndef CIP_SELECTOR_H
#define CIP_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

struct label {
	char	*key;
	char	*value;
};

/* A label set, kept sorted by key; keys are unique. */
struct labels {
	struct label	*v;
	size_t		 n;
};

/* Sets key=value (replacing). Returns 0 or ERR_NOMEM. */
int	labels_set(struct labels *, const char *key, const char *value);
/* Returns the value of key, or NULL. */
const char *labels_get(const struct labels *, const char *key);
/* Deep copy into dst (initially empty). Returns 0 or ERR_NOMEM. */
int	labels_copy(struct labels *dst, const struct labels *src);
bool	labels_equal(const struct labels *, const struct labels *);
/* Frees the contents; the struct is left empty. */
void	labels_clear(struct labels *);
/* "k1=v1,k2=v2" (sorted); "" when empty. Calls malloc; caller frees. */
char	*labels_format(const struct labels *);

enum selector_op {
	SELECTOR_OP_EQ,		/* key=value, key==value, matchLabels */
	SELECTOR_OP_NEQ,	/* key!=value */
	SELECTOR_OP_IN,		/* key in (a,b) */
	SELECTOR_OP_NOTIN,	/* key notin (a,b) */
	SELECTOR_OP_EXISTS,	/* key */
	SELECTOR_OP_NOTEXISTS,	/* !key */
};

struct selector_req {
	char		 *key;
	enum selector_op  op;
	char		**values;	/* sorted, unique */
	size_t		  nvalues;
};

/* A conjunction of requirements; the empty selector matches everything. */
struct selector {
	struct selector_req	*reqs;
	size_t			 nreqs;
};

/* Returns a new empty selector, or NULL on OOM. */
struct selector *selector_new(void);
void	selector_free(struct selector *);
/*
 * Appends one requirement (values are copied). Validates the key and
 * values with Kubernetes' rules (qualified names, label values) and the
 * operator's arity: EQ/NEQ take one value, IN/NOTIN one or more,
 * EXISTS/NOTEXISTS none. Returns 0 or ERR_INVAL with a reason in err.
 */
int	selector_add(struct selector *, const char *key, enum selector_op op,
    const char *const *values, size_t nvalues, char *err, size_t errlen);
/*
 * Parses the string form used on command lines:
 * "name=backend,tier in (a,b),!canary,env!=prod,track". Returns a new
 * selector through *out, or ERR_INVAL with "column N: reason" in err.
 */
int	selector_parse(const char *text, struct selector **out, char *err,
    size_t errlen);
bool	selector_match(const struct selector *, const struct labels *);
bool	selector_equal(const struct selector *, const struct selector *);
/* Deep copy, or NULL on OOM. */
struct selector *selector_copy(const struct selector *);
/*
 * Canonical string form, parseable by selector_parse ("" when empty).
 * Calls malloc; caller frees.
 */
char	*selector_format(const struct selector *);
/*
 * True when the selector only holds EQ requirements, i.e. is a plain
 * map like a Service's spec.selector.
 */
bool	selector_is_map(const struct selector *);
/* Validation helpers, exposed for manifests and the API. */
bool	selector_valid_key(const char *);
bool	selector_valid_value(const char *);

#endif
