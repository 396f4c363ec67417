/* SPDX-License-Identifier: MIT */
/*
 * fuzz_selector.c -- label selector strings: parse never crashes, errors
 * name a column, and an accepted selector's canonical form reads back
 * equal and matches the same label sets.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Label sets to compare the matching of a selector and its reparse. */
static void
fuzz_labels(struct labels *sets, size_t nsets, const struct selector *s)
{
	size_t i, j;

	for (i = 0; i < nsets; i++) {
		sets[i].v = NULL;
		sets[i].n = 0;
	}
	labels_set(&sets[1], "name", "backend");
	labels_set(&sets[1], "tier", "a");
	/* Satisfy every requirement that names a value. */
	for (i = 0; i < s->nreqs; i++) {
		if (s->reqs[i].nvalues > 0)
			labels_set(&sets[2], s->reqs[i].key,
			    s->reqs[i].values[0]);
		for (j = 0; j < s->reqs[i].nvalues; j++)
			labels_set(&sets[3], s->reqs[i].key,
			    s->reqs[i].values[j]);
		labels_set(&sets[4], s->reqs[i].key, "");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct selector *s = NULL, *t = NULL, *c = NULL;
	struct labels sets[5];
	char *text, *f = NULL, *g = NULL, err[256];
	size_t i;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (selector_parse(text, &s, err, sizeof(err)) != 0) {
		if (s != NULL || strncmp(err, "column ", 7) != 0)
			abort();
		free(text);
		return 0;
	}
	if ((f = selector_format(s)) == NULL)
		abort();
	if (selector_parse(f, &t, err, sizeof(err)) != 0)
		abort();
	if (!selector_equal(s, t) || (g = selector_format(t)) == NULL ||
	    strcmp(f, g) != 0)
		abort();
	if ((c = selector_copy(s)) == NULL || !selector_equal(c, s))
		abort();
	fuzz_labels(sets, CIP_ARRAY_LEN(sets), s);
	for (i = 0; i < CIP_ARRAY_LEN(sets); i++)
		if (selector_match(s, &sets[i]) != selector_match(t, &sets[i]))
			abort();
	/* A map selector matches the labels it names. */
	if (selector_is_map(s) && !selector_match(s, &sets[2]))
		abort();
	for (i = 0; i < CIP_ARRAY_LEN(sets); i++)
		labels_clear(&sets[i]);
	selector_free(c);
	selector_free(t);
	selector_free(s);
	free(g);
	free(f);
	free(text);
	return 0;
}
