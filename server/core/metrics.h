/* SPDX-License-Identifier: MIT */
/*
 * metrics.h -- counters, gauges and histograms, printed in Prometheus text
 * format. Callers look a series up once and keep the handle: an update on
 * the data path is one addition. Names start with "clusterip_".
 */
#ifndef CIP_METRICS_H
#define CIP_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metric;

/*
 * Returns the series family{labels}, creating family (with help and
 * type) and the series on first use. labels is the Prometheus label
 * text without braces ('qtype="A",rcode="NOERROR"'), or "" for none;
 * values must already be escaped (metrics_escape). For histograms,
 * bounds (ascending, le) are taken from the first call. Returns NULL on
 * OOM or when family exists with another type. The handle lives until
 * metrics_forget or metrics_shutdown.
 */
struct metric *metrics_get(const char *family, enum metric_type,
    const char *help, const char *labels, const double *bounds,
    size_t nbounds);

/* One series of those a module looks up together (no histograms). */
struct metric_def {
	size_t		 off;		/* of its struct metric * in the owner */
	const char	*family;
	enum metric_type type;
	const char	*help;
	const char	*labels;	/* after the caller's, or "" */
};
/* A metric_def of the struct metric * field f of struct st. */
#define METRIC_DEF(st, f, family, type, help, labels)			\
	{ offsetof(struct st, f), family, type, help, labels }
/*
 * metrics_get for each of n defs, the handle stored at owner + off; the
 * labels are prefix's (may be "") followed by the row's.
 */
void	metrics_get_defs(void *owner, const struct metric_def *defs,
    size_t n, const char *prefix);
/* Accept NULL handles (then do nothing). */
void	metric_add(struct metric *, uint64_t n);
void	metric_set(struct metric *, int64_t value);
void	metric_observe(struct metric *, double value);
int64_t	metric_value(const struct metric *);
/* Drops one series (an endpoint that went away). */
void	metrics_forget(struct metric *);
/*
 * Escapes a label value (backslash, quote, newline) into buf. Returns
 * buf, truncated to len.
 */
const char *metrics_escape(const char *value, char *buf, size_t len);
/*
 * fn(arg) is called at the start of each metrics_render, to bring
 * series up to date that are read only on demand (the kernel path's
 * conntrack). One collector per (fn, arg); returns 0 or -1 on OOM.
 */
int	metrics_collector_add(void (*fn)(void *), void *arg);
/* Stops calling fn(arg). */
void	metrics_collector_del(void (*fn)(void *), void *arg);

/*
 * One collection of the series read on demand, shared by the scrapes
 * that arrive while it runs.
 */
struct metrics_round;
/*
 * An asynchronous collector: start(arg, round) begins bringing its
 * series up to date, possibly on another thread, and calls
 * metrics_round_done(round) on the loop thread once they are (possibly
 * from within start). It must call it exactly once.
 */
typedef void metrics_start_fn(void *arg, struct metrics_round *);
/* Adds one; returns 0 or -1 on OOM. */
int	metrics_collector_add_async(metrics_start_fn *start, void *arg);
/* Stops starting start(arg); a round it runs still waits for it. */
void	metrics_collector_del_async(metrics_start_fn *start, void *arg);
/* An asynchronous collector's series are up to date (on the loop). */
void	metrics_round_done(struct metrics_round *);
/*
 * Starts the asynchronous collectors and calls ready(arg) on the loop
 * once each has finished: before returning when none is registered or
 * all finish at once. A call while a round runs joins it instead of
 * starting another (one at a time); waiters are called in their order.
 * Then metrics_render has the fresh series. Returns 0, or -1 on OOM
 * (ready is then not called).
 */
int	metrics_collect(void (*ready)(void *), void *arg);
/* Rounds started and scrapes that joined a running one, for tests. */
void	metrics_collect_counts(unsigned long *rounds, unsigned long *joined);
/*
 * Writes every family in exposition format 0.0.4. Calls malloc; caller
 * frees. *lenp gets the length.
 */
char	*metrics_render(size_t *lenp);
/* Frees every series. */
void	metrics_shutdown(void);

#endif
