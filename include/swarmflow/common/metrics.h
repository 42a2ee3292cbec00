/* metrics.h - the scheduler's counters and histograms, thread-safe, rendered as Prometheus text. */
#ifndef SWARMFLOW_COMMON_METRICS_H
#define SWARMFLOW_COMMON_METRICS_H

#include <stddef.h>

#include "swarmflow/common/util.h"

struct engine_err;

/* One labelled family holds at most this many series; further label values are counted under
 * "_other", so that a flood of DAG ids can never grow memory or a scrape without bound. */
#define METRICS_MAX_SERIES 1000

/* The families of metrics_render() (also the names a scrape is checked for). */
#define METRIC_TRIES_STARTED "swarmflow_tries_started_total"
#define METRIC_DISPATCH_LATENCY "swarmflow_dispatch_latency_seconds"
#define METRIC_RUN_DURATION "swarmflow_run_duration_seconds"
#define METRIC_ENGINE_ERRORS "swarmflow_engine_errors_total"
#define METRIC_POLL_TICK "swarmflow_poll_tick_seconds"
#define METRIC_HTTP_REQUESTS "swarmflow_http_requests_total"

struct metrics;

/* Creates an empty set (every family present, no samples yet). Free with metrics_destroy()
 * (accepts NULL). Every function below accepts m == NULL and then does nothing, so that code
 * shared with `dags test` needs no metrics. All of them may be called from any thread. */
struct metrics *metrics_create(void);
void metrics_destroy(struct metrics *m);

/* A try of a task of dag_id was dispatched (its service is being created). */
void metrics_try_started(struct metrics *m, const char *dag_id);
/* Seconds from the moment a task instance became ready (scheduled) to its service created. */
void metrics_dispatch_latency(struct metrics *m, double seconds);
/* A run ended in state ("success", "failed") after seconds (start to end). */
void metrics_run_finished(struct metrics *m, const char *state, double seconds);
/* An engine request failed; counted by kind: "connect", "timeout", "http_4xx", "http_5xx",
 * "decode" (a body that is not what we expected, or too big). A request cancelled because the
 * process stops is not counted. */
void metrics_engine_error(struct metrics *m, const struct engine_err *err);
/* The same with the kind given as text (one of the kinds above). */
void metrics_engine_error_kind(struct metrics *m, const char *kind);
/* One scheduler tick (poll, finish, dispatch) took seconds. */
void metrics_poll_tick(struct metrics *m, double seconds);
/* The web server answered a request with HTTP status code. */
void metrics_http_request(struct metrics *m, int status);

/* The kind metrics_engine_error() counts err under. */
const char *metrics_engine_kind(const struct engine_err *err);

/* Appends every family in the Prometheus text format 0.0.4 (# HELP, # TYPE, samples; label
 * values escaped) to out. */
void metrics_render(struct metrics *m, struct buf *out);

/* Appends one gauge family (# HELP, # TYPE and one sample per label value, or a single sample
 * without labels when label is NULL and n == 1) for values computed at scrape time. */
void metrics_render_gauge(struct buf *out, const char *name, const char *help, const char *label,
			  const char *const *label_values, const double *values, size_t n);

/* Appends s to out escaped as a Prometheus label value (backslash, double quote, newline). */
void metrics_escape_label(struct buf *out, const char *s);

#endif
