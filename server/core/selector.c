/* SPDX-License-Identifier: MIT */
/* selector.c -- label sets and Kubernetes label selectors; pure. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "util.h"
#include "validate.h"

#define SELECTOR_NAME_MAX	63	/* label names and values */
#define SELECTOR_PREFIX_MAX	253	/* DNS subdomain before the '/' */

/* Tokens of the string form, as Kubernetes' lexer cuts them. */
enum sel_tok {
	SEL_TOK_END,
	SEL_TOK_IDENT,
	SEL_TOK_COMMA,
	SEL_TOK_LPAREN,
	SEL_TOK_RPAREN,
	SEL_TOK_EQ,		/* = */
	SEL_TOK_EQEQ,		/* == */
	SEL_TOK_NEQ,		/* != */
	SEL_TOK_NOT,		/* ! */
	SEL_TOK_GT,		/* > (Kubernetes' Gt, not supported here) */
	SEL_TOK_LT,		/* < */
};

struct sel_token {
	enum sel_tok	 type;
	const char	*start;
	size_t		 len;
	size_t		 col;	/* 1-based */
};

struct sel_lexer {
	const char	*text;
	size_t		 pos;
};

/* A growable string for the format functions. */
struct sel_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	bool	 oom;
};

static bool	labels_find(const struct labels *, const char *, size_t *);
static int	sel_strcmp_p(const void *, const void *);
static void	sel_req_clear(struct selector_req *);
static int	sel_req_cmp(const struct selector_req *,
    const struct selector_req *);
static int	sel_req_copy(struct selector_req *,
    const struct selector_req *);
static bool	sel_is_space(char);
static bool	sel_is_special(char);
static void	sel_lex(struct sel_lexer *, struct sel_token *);
static void	sel_quote(char *, size_t, const struct sel_token *);
static char	*sel_tokdup(const struct sel_token *);
static void	sel_buf_add(struct sel_buf *, const char *);
static int	sel_parse_values(struct sel_lexer *, char ***, size_t *,
    char *, size_t);
static void	sel_free_values(char **, size_t);

/* Label sets. */

/* Binary search; *pos is the index of key or where it would go. */
static bool
labels_find(const struct labels *l, const char *key, size_t *pos)
{
	size_t lo = 0, hi = l->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(key, l->v[mid].key);
		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return false;
}

int
labels_set(struct labels *l, const char *key, const char *value)
{
	struct label *nv;
	char *k, *v;
	size_t pos;

	if ((v = strdup(value)) == NULL)
		return ERR_NOMEM;
	if (labels_find(l, key, &pos)) {
		free(l->v[pos].value);
		l->v[pos].value = v;
		return 0;
	}
	if ((k = strdup(key)) == NULL)
		goto fail;
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL)
		goto fail;
	l->v = nv;
	memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof(*nv));
	l->v[pos].key = k;
	l->v[pos].value = v;
	l->n++;
	return 0;
fail:
	free(k);
	free(v);
	return ERR_NOMEM;
}

const char *
labels_get(const struct labels *l, const char *key)
{
	size_t pos;

	if (l == NULL || !labels_find(l, key, &pos))
		return NULL;
	return l->v[pos].value;
}

int
labels_copy(struct labels *dst, const struct labels *src)
{
	size_t i;

	dst->v = NULL;
	dst->n = 0;
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < src->n; i++) {
		dst->v[i].key = strdup(src->v[i].key);
		dst->v[i].value = strdup(src->v[i].value);
		dst->n++;
		if (dst->v[i].key == NULL || dst->v[i].value == NULL) {
			labels_clear(dst);
			return ERR_NOMEM;
		}
	}
	return 0;
}

bool
labels_equal(const struct labels *a, const struct labels *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) != 0 ||
		    strcmp(a->v[i].value, b->v[i].value) != 0)
			return false;
	return true;
}

void
labels_clear(struct labels *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
sel_buf_add(struct sel_buf *b, const char *s)
{
	size_t n = strlen(s), ncap;
	char *ns;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((ns = realloc(b->s, ncap)) == NULL) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

char *
labels_format(const struct labels *l)
{
	struct sel_buf b = { NULL, 0, 0, false };
	size_t i;

	sel_buf_add(&b, "");
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			sel_buf_add(&b, ",");
		sel_buf_add(&b, l->v[i].key);
		sel_buf_add(&b, "=");
		sel_buf_add(&b, l->v[i].value);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Validation, with Kubernetes' rules. */

bool
selector_valid_key(const char *key)
{
	const char *slash;

	if (key == NULL)
		return false;
	if ((slash = strchr(key, '/')) == NULL)
		return validate_label_name(key, strlen(key));
	if (strchr(slash + 1, '/') != NULL)
		return false;
	return validate_dns_subdomain(key, (size_t)(slash - key)) &&
	    validate_label_name(slash + 1, strlen(slash + 1));
}

bool
selector_valid_value(const char *value)
{
	size_t len;

	if (value == NULL)
		return false;
	len = strlen(value);
	return len == 0 || validate_label_name(value, len);
}

/* Selectors. */

static int
sel_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
sel_free_values(char **values, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(values[i]);
	free(values);
}

static void
sel_req_clear(struct selector_req *r)
{
	free(r->key);
	sel_free_values(r->values, r->nvalues);
	memset(r, 0, sizeof(*r));
}

/* Total order: key, operator, then values; equal means same meaning. */
static int
sel_req_cmp(const struct selector_req *a, const struct selector_req *b)
{
	size_t i;
	int c;

	if ((c = strcmp(a->key, b->key)) != 0)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	for (i = 0; i < a->nvalues && i < b->nvalues; i++)
		if ((c = strcmp(a->values[i], b->values[i])) != 0)
			return c;
	if (a->nvalues != b->nvalues)
		return a->nvalues < b->nvalues ? -1 : 1;
	return 0;
}

static int
sel_req_copy(struct selector_req *dst, const struct selector_req *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->op = src->op;
	if ((dst->key = strdup(src->key)) == NULL)
		return ERR_NOMEM;
	if (src->nvalues == 0)
		return 0;
	if ((dst->values = calloc(src->nvalues, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < src->nvalues; i++) {
		if ((dst->values[i] = strdup(src->values[i])) == NULL)
			goto fail;
		dst->nvalues++;
	}
	return 0;
fail:
	sel_req_clear(dst);
	return ERR_NOMEM;
}

struct selector *
selector_new(void)
{
	return calloc(1, sizeof(struct selector));
}

void
selector_free(struct selector *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nreqs; i++)
		sel_req_clear(&s->reqs[i]);
	free(s->reqs);
	free(s);
}

/*
 * Requirements are kept sorted and free of duplicates, so that two
 * selectors with the same meaning compare and format the same.
 */
int
selector_add(struct selector *s, const char *key, enum selector_op op,
    const char *const *values, size_t nvalues, char *err, size_t errlen)
{
	struct selector_req r, *nr;
	size_t i, j, lo, hi, mid;
	int c;

	memset(&r, 0, sizeof(r));
	if (!selector_valid_key(key)) {
		errf(err, errlen, "invalid label key \"%.80s\": want an "
		    "optional DNS subdomain prefix and '/', then a name of "
		    "at most 63 characters [A-Za-z0-9_.-] that starts and "
		    "ends alphanumeric", key ? key : "");
		return ERR_INVAL;
	}
	switch (op) {
	case SELECTOR_OP_EQ:
	case SELECTOR_OP_NEQ:
		if (nvalues != 1) {
			errf(err, errlen, "operator on \"%s\" takes exactly "
			    "one value", key);
			return ERR_INVAL;
		}
		break;
	case SELECTOR_OP_IN:
	case SELECTOR_OP_NOTIN:
		if (nvalues == 0) {
			errf(err, errlen, "set operator on \"%s\" needs at "
			    "least one value", key);
			return ERR_INVAL;
		}
		break;
	case SELECTOR_OP_EXISTS:
	case SELECTOR_OP_NOTEXISTS:
		if (nvalues != 0) {
			errf(err, errlen, "existence operator on \"%s\" takes "
			    "no value", key);
			return ERR_INVAL;
		}
		break;
	default:
		errf(err, errlen, "unknown operator %d", (int)op);
		return ERR_INVAL;
	}
	for (i = 0; i < nvalues; i++) {
		if (!selector_valid_value(values[i])) {
			errf(err, errlen, "invalid label value \"%.80s\" for "
			    "\"%s\": want at most 63 characters [A-Za-z0-9_.-] "
			    "that start and end alphanumeric",
			    values[i] ? values[i] : "", key);
			return ERR_INVAL;
		}
	}

	r.op = op;
	if ((r.key = strdup(key)) == NULL)
		goto oom;
	if (nvalues > 0) {
		if ((r.values = calloc(nvalues, sizeof(char *))) == NULL)
			goto oom;
		for (i = 0; i < nvalues; i++) {
			if ((r.values[i] = strdup(values[i])) == NULL)
				goto oom;
			r.nvalues++;
		}
		qsort(r.values, r.nvalues, sizeof(char *), sel_strcmp_p);
		for (i = j = 1; i < r.nvalues; i++) {
			if (strcmp(r.values[i], r.values[j - 1]) == 0)
				free(r.values[i]);
			else
				r.values[j++] = r.values[i];
		}
		r.nvalues = j;
	}

	lo = 0;
	hi = s->nreqs;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = sel_req_cmp(&r, &s->reqs[mid]);
		if (c == 0) {
			/* Already required: a conjunction needs it once. */
			sel_req_clear(&r);
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if ((nr = realloc(s->reqs, (s->nreqs + 1) * sizeof(*nr))) == NULL)
		goto oom;
	s->reqs = nr;
	memmove(&s->reqs[lo + 1], &s->reqs[lo],
	    (s->nreqs - lo) * sizeof(*nr));
	s->reqs[lo] = r;
	s->nreqs++;
	return 0;
oom:
	sel_req_clear(&r);
	errf(err, errlen, "out of memory");
	return ERR_NOMEM;
}

bool
selector_match(const struct selector *s, const struct labels *l)
{
	const struct selector_req *r;
	const char *v;
	bool found;
	size_t i;

	if (s == NULL)
		return true;
	for (i = 0; i < s->nreqs; i++) {
		r = &s->reqs[i];
		v = labels_get(l, r->key);
		found = false;
		if (v != NULL && r->nvalues > 0)
			found = bsearch(&v, r->values, r->nvalues,
			    sizeof(char *), sel_strcmp_p) != NULL;
		switch (r->op) {
		case SELECTOR_OP_EQ:
		case SELECTOR_OP_IN:
			if (!found)
				return false;
			break;
		case SELECTOR_OP_NEQ:
		case SELECTOR_OP_NOTIN:
			/* Absent keys match, as in Kubernetes. */
			if (found)
				return false;
			break;
		case SELECTOR_OP_EXISTS:
			if (v == NULL)
				return false;
			break;
		case SELECTOR_OP_NOTEXISTS:
			if (v != NULL)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

bool
selector_equal(const struct selector *a, const struct selector *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return (a == NULL || a->nreqs == 0) &&
		    (b == NULL || b->nreqs == 0);
	if (a->nreqs != b->nreqs)
		return false;
	for (i = 0; i < a->nreqs; i++)
		if (sel_req_cmp(&a->reqs[i], &b->reqs[i]) != 0)
			return false;
	return true;
}

struct selector *
selector_copy(const struct selector *src)
{
	struct selector *s;
	size_t i;

	if ((s = selector_new()) == NULL)
		return NULL;
	if (src == NULL || src->nreqs == 0)
		return s;
	if ((s->reqs = calloc(src->nreqs, sizeof(*s->reqs))) == NULL)
		goto fail;
	for (i = 0; i < src->nreqs; i++) {
		if (sel_req_copy(&s->reqs[i], &src->reqs[i]) != 0)
			goto fail;
		s->nreqs++;
	}
	return s;
fail:
	selector_free(s);
	return NULL;
}

char *
selector_format(const struct selector *s)
{
	struct sel_buf b = { NULL, 0, 0, false };
	const struct selector_req *r;
	size_t i, j;

	sel_buf_add(&b, "");
	for (i = 0; s != NULL && i < s->nreqs; i++) {
		r = &s->reqs[i];
		if (i > 0)
			sel_buf_add(&b, ",");
		if (r->op == SELECTOR_OP_NOTEXISTS)
			sel_buf_add(&b, "!");
		sel_buf_add(&b, r->key);
		switch (r->op) {
		case SELECTOR_OP_EQ:
			sel_buf_add(&b, "=");
			sel_buf_add(&b, r->values[0]);
			break;
		case SELECTOR_OP_NEQ:
			sel_buf_add(&b, "!=");
			sel_buf_add(&b, r->values[0]);
			break;
		case SELECTOR_OP_IN:
		case SELECTOR_OP_NOTIN:
			sel_buf_add(&b, r->op == SELECTOR_OP_IN ? " in (" :
			    " notin (");
			for (j = 0; j < r->nvalues; j++) {
				if (j > 0)
					sel_buf_add(&b, ",");
				sel_buf_add(&b, r->values[j]);
			}
			sel_buf_add(&b, ")");
			break;
		default:
			break;
		}
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

bool
selector_is_map(const struct selector *s)
{
	size_t i;

	if (s == NULL)
		return true;
	for (i = 0; i < s->nreqs; i++) {
		if (s->reqs[i].op != SELECTOR_OP_EQ)
			return false;
		/* Sorted by key: a repeated key would be adjacent. */
		if (i > 0 && strcmp(s->reqs[i].key, s->reqs[i - 1].key) == 0)
			return false;
	}
	return true;
}

/* The string form. */

static bool
sel_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static bool
sel_is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' ||
	    c == '<' || c == '>';
}

static void
sel_lex(struct sel_lexer *lx, struct sel_token *t)
{
	const char *p;

	while (sel_is_space(lx->text[lx->pos]))
		lx->pos++;
	p = lx->text + lx->pos;
	t->start = p;
	t->col = lx->pos + 1;
	t->len = 1;
	switch (*p) {
	case '\0':
		t->type = SEL_TOK_END;
		t->len = 0;
		break;
	case ',':
		t->type = SEL_TOK_COMMA;
		break;
	case '(':
		t->type = SEL_TOK_LPAREN;
		break;
	case ')':
		t->type = SEL_TOK_RPAREN;
		break;
	case '<':
		t->type = SEL_TOK_LT;
		break;
	case '>':
		t->type = SEL_TOK_GT;
		break;
	case '=':
		t->type = SEL_TOK_EQ;
		if (p[1] == '=') {
			t->type = SEL_TOK_EQEQ;
			t->len = 2;
		}
		break;
	case '!':
		t->type = SEL_TOK_NOT;
		if (p[1] == '=') {
			t->type = SEL_TOK_NEQ;
			t->len = 2;
		}
		break;
	default:
		t->type = SEL_TOK_IDENT;
		t->len = 0;
		while (p[t->len] != '\0' && !sel_is_space(p[t->len]) &&
		    !sel_is_special(p[t->len]))
			t->len++;
		break;
	}
	lx->pos += t->len;
}

/* A printable, bounded rendering of a token for error messages. */
static void
sel_quote(char *buf, size_t size, const struct sel_token *t)
{
	size_t i, n = 0;

	if (t->type == SEL_TOK_END) {
		strlcpy(buf, "end of input", size);
		return;
	}
	if (size < 8) {
		strlcpy(buf, "?", size);
		return;
	}
	buf[n++] = '\'';
	for (i = 0; i < t->len && n + 6 < size && i < 40; i++) {
		unsigned char c = (unsigned char)t->start[i];
		buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (i < t->len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
}

static char *
sel_tokdup(const struct sel_token *t)
{
	char *s;

	if ((s = malloc(t->len + 1)) == NULL)
		return NULL;
	memcpy(s, t->start, t->len);
	s[t->len] = '\0';
	return s;
}

/*
 * After '(' : a comma-separated list of values, each possibly empty as
 * in Kubernetes ("()" is the empty value), up to ')'.
 */
static int
sel_parse_values(struct sel_lexer *lx, char ***valuesp, size_t *nvaluesp,
    char *err, size_t errlen)
{
	struct sel_token t;
	char **values = NULL, **nv, *v, q[64];
	size_t n = 0;
	int rc = ERR_INVAL;
	bool got;

	for (;;) {
		sel_lex(lx, &t);
		got = t.type == SEL_TOK_IDENT;
		if (got) {
			if ((v = sel_tokdup(&t)) == NULL)
				goto oom;
			if (!selector_valid_value(v)) {
				sel_quote(q, sizeof(q), &t);
				errf(err, errlen, "column %zu: invalid label "
				    "value %s: want at most 63 characters "
				    "[A-Za-z0-9_.-] that start and end "
				    "alphanumeric", t.col, q);
				free(v);
				goto fail;
			}
			sel_lex(lx, &t);
		} else if ((v = strdup("")) == NULL)
			goto oom;
		if ((nv = realloc(values, (n + 1) * sizeof(*nv))) == NULL) {
			free(v);
			goto oom;
		}
		values = nv;
		values[n++] = v;
		if (t.type == SEL_TOK_RPAREN)
			break;
		if (t.type != SEL_TOK_COMMA) {
			sel_quote(q, sizeof(q), &t);
			errf(err, errlen, "column %zu: found %s, expected "
			    "%s',' or ')'", t.col, q, got ? "" : "a value, ");
			goto fail;
		}
	}
	*valuesp = values;
	*nvaluesp = n;
	return 0;
oom:
	rc = ERR_NOMEM;
	errf(err, errlen, "out of memory");
fail:
	sel_free_values(values, n);
	return rc;
}

int
selector_parse(const char *text, struct selector **out, char *err,
    size_t errlen)
{
	struct sel_lexer lx = { text, 0 };
	struct sel_token t, kt;
	struct selector *s;
	enum selector_op op;
	char *key = NULL, *v, **values = NULL, q[64];
	size_t nvalues = 0;
	int rc = ERR_INVAL;

	*out = NULL;
	if (text == NULL) {
		errf(err, errlen, "column 1: no selector");
		return ERR_INVAL;
	}
	if ((s = selector_new()) == NULL) {
		errf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	sel_lex(&lx, &t);
	if (t.type == SEL_TOK_END)
		goto done;
	for (;;) {
		/* One requirement: "!key" or "key [op values]". */
		op = SELECTOR_OP_EXISTS;
		if (t.type == SEL_TOK_NOT) {
			op = SELECTOR_OP_NOTEXISTS;
			sel_lex(&lx, &t);
		}
		if (t.type != SEL_TOK_IDENT) {
			sel_quote(q, sizeof(q), &t);
			errf(err, errlen, "column %zu: found %s, expected "
			    "%slabel key", t.col, q,
			    op == SELECTOR_OP_EXISTS ? "'!' or " : "");
			goto fail;
		}
		kt = t;
		if ((key = sel_tokdup(&kt)) == NULL)
			goto oom;
		if (!selector_valid_key(key)) {
			sel_quote(q, sizeof(q), &kt);
			errf(err, errlen, "column %zu: invalid label key %s: "
			    "want an optional DNS subdomain prefix and '/', "
			    "then a name of at most 63 characters "
			    "[A-Za-z0-9_.-] that starts and ends alphanumeric",
			    kt.col, q);
			goto fail;
		}
		sel_lex(&lx, &t);
		if (op == SELECTOR_OP_EXISTS) {
			switch (t.type) {
			case SEL_TOK_END:
			case SEL_TOK_COMMA:
				break;
			case SEL_TOK_EQ:
			case SEL_TOK_EQEQ:
			case SEL_TOK_NEQ:
				op = t.type == SEL_TOK_NEQ ? SELECTOR_OP_NEQ :
				    SELECTOR_OP_EQ;
				sel_lex(&lx, &t);
				if (t.type == SEL_TOK_IDENT) {
					if ((v = sel_tokdup(&t)) == NULL)
						goto oom;
				} else if (t.type == SEL_TOK_END ||
				    t.type == SEL_TOK_COMMA) {
					/* "key=" compares with "". */
					if ((v = strdup("")) == NULL)
						goto oom;
				} else {
					sel_quote(q, sizeof(q), &t);
					errf(err, errlen, "column %zu: found "
					    "%s, expected a value", t.col, q);
					goto fail;
				}
				if ((values = calloc(1, sizeof(char *))) ==
				    NULL) {
					free(v);
					goto oom;
				}
				values[0] = v;
				nvalues = 1;
				if (!selector_valid_value(v)) {
					sel_quote(q, sizeof(q), &t);
					errf(err, errlen, "column %zu: invalid "
					    "label value %s: want at most "
					    "63 characters [A-Za-z0-9_.-] that "
					    "start and end alphanumeric",
					    t.col, q);
					goto fail;
				}
				if (t.type == SEL_TOK_IDENT)
					sel_lex(&lx, &t);
				break;
			case SEL_TOK_IDENT:
				if (t.len == 2 && memcmp(t.start, "in", 2) == 0)
					op = SELECTOR_OP_IN;
				else if (t.len == 5 &&
				    memcmp(t.start, "notin", 5) == 0)
					op = SELECTOR_OP_NOTIN;
				else {
					sel_quote(q, sizeof(q), &t);
					errf(err, errlen, "column %zu: found "
					    "%s, expected an operator (=, "
					    "==, !=, in, notin), ',' or end "
					    "of input", t.col, q);
					goto fail;
				}
				sel_lex(&lx, &t);
				if (t.type != SEL_TOK_LPAREN) {
					sel_quote(q, sizeof(q), &t);
					errf(err, errlen, "column %zu: found "
					    "%s, expected '('", t.col, q);
					goto fail;
				}
				if ((rc = sel_parse_values(&lx, &values,
				    &nvalues, err, errlen)) != 0)
					goto fail_rc;
				sel_lex(&lx, &t);
				break;
			case SEL_TOK_LT:
			case SEL_TOK_GT:
				errf(err, errlen, "column %zu: operator '%c' is "
				    "not supported", t.col, *t.start);
				goto fail;
			default:
				sel_quote(q, sizeof(q), &t);
				errf(err, errlen, "column %zu: found %s, "
				    "expected an operator (=, ==, !=, in, "
				    "notin), ',' or end of input", t.col, q);
				goto fail;
			}
		}
		if (t.type != SEL_TOK_END && t.type != SEL_TOK_COMMA) {
			sel_quote(q, sizeof(q), &t);
			errf(err, errlen, "column %zu: found %s, expected ',' "
			    "or end of input", t.col, q);
			goto fail;
		}
		if ((rc = selector_add(s, key, op, (const char *const *)values,
		    nvalues, err, errlen)) != 0)
			goto fail_rc;
		free(key);
		key = NULL;
		sel_free_values(values, nvalues);
		values = NULL;
		nvalues = 0;
		if (t.type == SEL_TOK_END)
			break;
		sel_lex(&lx, &t);
		if (t.type != SEL_TOK_IDENT && t.type != SEL_TOK_NOT) {
			sel_quote(q, sizeof(q), &t);
			errf(err, errlen, "column %zu: found %s, expected "
			    "'!' or label key after ','", t.col, q);
			goto fail;
		}
	}
done:
	*out = s;
	return 0;
oom:
	errf(err, errlen, "out of memory");
	rc = ERR_NOMEM;
	goto fail_rc;
fail:
	rc = ERR_INVAL;
fail_rc:
	free(key);
	sel_free_values(values, nvalues);
	selector_free(s);
	return rc;
}
