/* SPDX-License-Identifier: MIT */
/* metrics.c -- counters, gauges and histograms in Prometheus text format. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "metrics.h"

struct metric_family {
	struct metric_family	*next;
	char			*name;
	char			*help;
	enum metric_type	 type;
	double			*bounds;
	size_t			 nbounds;
	struct metric		*series;	/* doubly linked */
};

struct metric {
	struct metric		*prev, *next;
	struct metric_family	*family;
	char			*labels;
	char			*key;	/* family{labels} in the index */
	int64_t			 value;
	double			 sum;		/* histograms */
	uint64_t		*buckets;	/* nbounds, cumulative at render */
	uint64_t		 count;
};

static struct metric_family *families, *families_tail;
static struct hmap *metrics_index;

/* Called before each rendering; a handful at most. */
struct metrics_collector {
	void	(*fn)(void *);
	void	*arg;
};
static struct metrics_collector	*collectors;
static size_t			 ncollectors;

static struct metric_family *
metrics_family(const char *name, enum metric_type type, const char *help,
    const double *bounds, size_t nbounds)
{
	struct metric_family *f;

	for (f = families; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f->type == type ? f : NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->type = type;
	if (type == METRIC_HISTOGRAM && nbounds > 0) {
		f->bounds = calloc(nbounds, sizeof(*f->bounds));
		if (f->bounds)
			memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
		f->nbounds = nbounds;
	}
	if (f->name == NULL || f->help == NULL ||
	    (nbounds > 0 && type == METRIC_HISTOGRAM && f->bounds == NULL)) {
		free(f->name);
		free(f->help);
		free(f->bounds);
		free(f);
		return NULL;
	}
	/* Families print in creation order. */
	if (families_tail)
		families_tail->next = f;
	else
		families = f;
	families_tail = f;
	return f;
}

void
metrics_get_defs(void *owner, const struct metric_def *defs, size_t n,
    const char *prefix)
{
	struct metric **mp;
	size_t i, len;

	for (i = 0; i < n; i++) {
		len = strlen(prefix) + strlen(defs[i].labels) + 2;
		{
			char labels[len];

			snprintf(labels, len, "%s%s%s", prefix,
			    *prefix != '\0' && *defs[i].labels != '\0' ? "," :
			    "", defs[i].labels);
			mp = (struct metric **)(void *)((char *)owner +
			    defs[i].off);
			*mp = metrics_get(defs[i].family, defs[i].type,
			    defs[i].help, labels, NULL, 0);
		}
	}
}

struct metric *
metrics_get(const char *family, enum metric_type type, const char *help,
    const char *labels, const double *bounds, size_t nbounds)
{
	struct metric_family *f;
	struct metric *m;
	size_t klen;

	if (metrics_index == NULL && (metrics_index = hmap_new()) == NULL)
		return NULL;
	if (labels == NULL)
		labels = "";
	klen = strlen(family) + strlen(labels) + 3;
	{
		char key[klen];

		snprintf(key, klen, "%s{%s}", family, labels);
		if ((m = hmap_get(metrics_index, key)) != NULL)
			return m->family->type == type ? m : NULL;
		if ((f = metrics_family(family, type, help, bounds,
		    nbounds)) == NULL)
			return NULL;
		if ((m = calloc(1, sizeof(*m))) == NULL)
			return NULL;
		m->family = f;
		m->labels = strdup(labels);
		m->key = strdup(key);
		if (f->nbounds)
			m->buckets = calloc(f->nbounds, sizeof(*m->buckets));
		if (m->labels == NULL || m->key == NULL ||
		    (f->nbounds && m->buckets == NULL) ||
		    hmap_put(metrics_index, key, m, NULL) != 0) {
			free(m->labels);
			free(m->key);
			free(m->buckets);
			free(m);
			return NULL;
		}
	}
	m->next = f->series;
	if (f->series)
		f->series->prev = m;
	f->series = m;
	return m;
}

void
metric_add(struct metric *m, uint64_t n)
{
	if (m)
		m->value += (int64_t)n;
}

void
metric_set(struct metric *m, int64_t value)
{
	if (m)
		m->value = value;
}

void
metric_observe(struct metric *m, double value)
{
	size_t i;

	if (m == NULL)
		return;
	m->count++;
	m->sum += value;
	for (i = 0; i < m->family->nbounds; i++)
		if (value <= m->family->bounds[i]) {
			m->buckets[i]++;
			break;
		}
}

int64_t
metric_value(const struct metric *m)
{
	if (m == NULL)
		return 0;
	return m->family->type == METRIC_HISTOGRAM ? (int64_t)m->count :
	    m->value;
}

static void
metric_free(struct metric *m)
{
	free(m->labels);
	free(m->key);
	free(m->buckets);
	free(m);
}

void
metrics_forget(struct metric *m)
{
	if (m == NULL)
		return;
	if (m->prev)
		m->prev->next = m->next;
	else
		m->family->series = m->next;
	if (m->next)
		m->next->prev = m->prev;
	hmap_del(metrics_index, m->key);
	metric_free(m);
}

const char *
metrics_escape(const char *value, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return buf;
	for (; *value && o + 3 < len; value++) {
		if (*value == '\\' || *value == '"') {
			buf[o++] = '\\';
			buf[o++] = *value;
		} else if (*value == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else
			buf[o++] = *value;
	}
	buf[o] = '\0';
	return buf;
}

static const char *
metrics_type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	default:
		return "histogram";
	}
}

/* Prints "name{labels,extra}" with the braces only when needed. */
static void
metrics_print_name(FILE *fp, const char *name, const char *suffix,
    const char *labels, const char *extra)
{
	bool has_l = labels[0] != '\0', has_e = extra && extra[0];

	fprintf(fp, "%s%s", name, suffix);
	if (has_l || has_e)
		fprintf(fp, "{%s%s%s}", labels, has_l && has_e ? "," : "",
		    has_e ? extra : "");
}

static void
metrics_render_histogram(FILE *fp, const struct metric_family *f,
    const struct metric *m)
{
	char le[64];
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < f->nbounds; i++) {
		cum += m->buckets[i];
		snprintf(le, sizeof(le), "le=\"%g\"", f->bounds[i]);
		metrics_print_name(fp, f->name, "_bucket", m->labels, le);
		fprintf(fp, " %llu\n", (unsigned long long)cum);
	}
	metrics_print_name(fp, f->name, "_bucket", m->labels, "le=\"+Inf\"");
	fprintf(fp, " %llu\n", (unsigned long long)m->count);
	metrics_print_name(fp, f->name, "_sum", m->labels, NULL);
	fprintf(fp, " %.9g\n", m->sum);
	metrics_print_name(fp, f->name, "_count", m->labels, NULL);
	fprintf(fp, " %llu\n", (unsigned long long)m->count);
}

int
metrics_collector_add(void (*fn)(void *), void *arg)
{
	struct metrics_collector *nc;

	if ((nc = reallocarray(collectors, ncollectors + 1,
	    sizeof(*nc))) == NULL)
		return -1;
	collectors = nc;
	collectors[ncollectors].fn = fn;
	collectors[ncollectors].arg = arg;
	ncollectors++;
	return 0;
}

void
metrics_collector_del(void (*fn)(void *), void *arg)
{
	size_t i;

	for (i = 0; i < ncollectors; i++)
		if (collectors[i].fn == fn && collectors[i].arg == arg) {
			collectors[i] = collectors[--ncollectors];
			break;
		}
	if (ncollectors == 0) {
		free(collectors);
		collectors = NULL;
	}
}

char *
metrics_render(size_t *lenp)
{
	struct metric_family *f;
	struct metric *m;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *fp;

	for (i = 0; i < ncollectors; i++)
		collectors[i].fn(collectors[i].arg);
	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	for (f = families; f != NULL; f = f->next) {
		if (f->series == NULL)
			continue;
		fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
		    f->name, metrics_type_name(f->type));
		for (m = f->series; m != NULL; m = m->next) {
			if (f->type == METRIC_HISTOGRAM) {
				metrics_render_histogram(fp, f, m);
				continue;
			}
			metrics_print_name(fp, f->name, "", m->labels, NULL);
			fprintf(fp, " %lld\n", (long long)m->value);
		}
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	if (lenp)
		*lenp = len;
	return buf;
}

void
metrics_shutdown(void)
{
	struct metric_family *f, *fn;
	struct metric *m, *mn;

	for (f = families; f != NULL; f = fn) {
		fn = f->next;
		for (m = f->series; m != NULL; m = mn) {
			mn = m->next;
			metric_free(m);
		}
		free(f->name);
		free(f->help);
		free(f->bounds);
		free(f);
	}
	families = families_tail = NULL;
	hmap_free(metrics_index, NULL);
	metrics_index = NULL;
}
