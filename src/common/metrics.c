/* metrics.c - counters and fixed-bucket histograms behind one mutex, and their Prometheus text. */
#include "swarmflow/common/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/engine/engine.h"

/* Where a family's values fall: bucket upper bounds in seconds, ascending (+Inf is implied). */
static const double dispatch_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
static const double run_bounds[] = {1,   5,    10,   30,   60,    120,  300,
				    600, 1800, 3600, 7200, 21600, 86400};
static const double tick_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				     0.1,   0.25,   0.5,   1,    2.5,   5};

enum fam_type { FAM_COUNTER, FAM_HISTOGRAM };
enum fam_id { F_TRIES, F_DISPATCH, F_RUN, F_ENGINE, F_TICK, F_HTTP, F_COUNT };

/* What a family is: fixed at compile time. */
struct fam_def {
	const char *name, *help;
	enum fam_type type;
	const char *label; /* NULL: one series without labels */
	const double *bounds;
	size_t n_bounds;
};

#define BOUNDS(a) a, ARRAY_LEN(a)

static const struct fam_def defs[F_COUNT] = {
    [F_TRIES] = {METRIC_TRIES_STARTED, "Tries dispatched (a service is created for each), by DAG.",
		 FAM_COUNTER, "dag_id", NULL, 0},
    [F_DISPATCH] = {METRIC_DISPATCH_LATENCY,
		    "Seconds from a task instance being ready to its service created.",
		    FAM_HISTOGRAM, NULL, BOUNDS(dispatch_bounds)},
    [F_RUN] = {METRIC_RUN_DURATION, "Seconds from a DAG run's start to its end, by final state.",
	       FAM_HISTOGRAM, "state", BOUNDS(run_bounds)},
    [F_ENGINE] = {METRIC_ENGINE_ERRORS, "Docker Engine requests that failed, by kind.", FAM_COUNTER,
		  "kind", NULL, 0},
    [F_TICK] = {METRIC_POLL_TICK, "Seconds one scheduler tick (poll, finish, dispatch) took.",
		FAM_HISTOGRAM, NULL, BOUNDS(tick_bounds)},
    [F_HTTP] = {METRIC_HTTP_REQUESTS, "HTTP requests answered by the web server, by status code.",
		FAM_COUNTER, "code", NULL, 0},
};

/* Series every scrape shows, at 0 until something happens (absent series confuse rate()). */
static const char *const engine_kinds[] = {"connect", "timeout", "http_4xx", "http_5xx", "decode"};
static const char *const run_states[] = {"failed", "success"};

/* One label value's numbers. */
struct series {
	char *label;       /* NULL in a family without labels */
	double value;      /* counters */
	uint64_t *buckets; /* histograms: n_bounds + 1 counts, the last for +Inf (not cumulative) */
	double sum;
	uint64_t count;
};

struct family {
	const struct fam_def *def;
	struct series *v; /* sorted by label */
	size_t len, cap;
};

struct metrics {
	pthread_mutex_t lock; /* held only for an update or one render: never across I/O */
	struct family fam[F_COUNT];
};

static struct series *series_insert(struct family *f, size_t at, const char *label)
{
	if (f->len == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	memmove(&f->v[at + 1], &f->v[at], (f->len - at) * sizeof(*f->v));
	f->len++;
	struct series *s = &f->v[at];
	*s = (struct series){.label = xstrdup(label)};
	if (f->def->type == FAM_HISTOGRAM)
		s->buckets = xcalloc(f->def->n_bounds + 1, sizeof(*s->buckets));
	return s;
}

static int label_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : (b ? -1 : 0);
	return strcmp(a, b);
}

/* The series of label (created when new; "_other" once the family is full). */
static struct series *series_get(struct family *f, const char *label)
{
	size_t lo = 0, hi = f->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = label_cmp(f->v[mid].label, label);
		if (c == 0)
			return &f->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (f->len >= METRICS_MAX_SERIES && label && strcmp(label, "_other") != 0)
		return series_get(f, "_other");
	return series_insert(f, lo, label);
}

struct metrics *metrics_create(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	for (size_t i = 0; i < F_COUNT; i++) {
		m->fam[i].def = &defs[i];
		if (!defs[i].label)
			series_get(&m->fam[i], NULL);
	}
	for (size_t i = 0; i < ARRAY_LEN(engine_kinds); i++)
		series_get(&m->fam[F_ENGINE], engine_kinds[i]);
	for (size_t i = 0; i < ARRAY_LEN(run_states); i++)
		series_get(&m->fam[F_RUN], run_states[i]);
	return m;
}

void metrics_destroy(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < F_COUNT; i++) {
		for (size_t j = 0; j < m->fam[i].len; j++) {
			free(m->fam[i].v[j].label);
			free(m->fam[i].v[j].buckets);
		}
		free(m->fam[i].v);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static void count(struct metrics *m, enum fam_id id, const char *label, double n)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	series_get(&m->fam[id], label)->value += n;
	pthread_mutex_unlock(&m->lock);
}

static void observe(struct metrics *m, enum fam_id id, const char *label, double v)
{
	if (!m)
		return;
	if (!(v >= 0)) /* NaN or a clock that went back: a histogram takes no negative time */
		v = 0;
	pthread_mutex_lock(&m->lock);
	struct family *f = &m->fam[id];
	struct series *s = series_get(f, label);
	size_t b = 0;
	while (b < f->def->n_bounds && v > f->def->bounds[b])
		b++;
	s->buckets[b]++;
	s->sum += v;
	s->count++;
	pthread_mutex_unlock(&m->lock);
}

void metrics_try_started(struct metrics *m, const char *dag_id)
{
	count(m, F_TRIES, dag_id ? dag_id : "", 1);
}

void metrics_dispatch_latency(struct metrics *m, double seconds)
{
	observe(m, F_DISPATCH, NULL, seconds);
}

void metrics_run_finished(struct metrics *m, const char *state, double seconds)
{
	observe(m, F_RUN, state ? state : "", seconds);
}

const char *metrics_engine_kind(const struct engine_err *err)
{
	switch (err->kind) {
	case ENGINE_ERR_CONNECT:
		return "connect";
	case ENGINE_ERR_TIMEOUT:
		return "timeout";
	case ENGINE_ERR_HTTP:
		return err->status >= 500 ? "http_5xx" : "http_4xx";
	case ENGINE_ERR_CANCELLED:
		return "cancelled";
	default: /* a body that is not what we expected, or too big */
		break;
	}
	return "decode";
}

void metrics_engine_error(struct metrics *m, const struct engine_err *err)
{
	/* A request we cancelled ourselves (the process is stopping) is not the engine's fault. */
	if (err && err->kind != ENGINE_ERR_CANCELLED)
		metrics_engine_error_kind(m, metrics_engine_kind(err));
}

void metrics_engine_error_kind(struct metrics *m, const char *kind)
{
	count(m, F_ENGINE, kind ? kind : "", 1);
}

void metrics_poll_tick(struct metrics *m, double seconds)
{
	observe(m, F_TICK, NULL, seconds);
}

void metrics_http_request(struct metrics *m, int status)
{
	char code[16];
	snprintf(code, sizeof(code), "%d", status);
	count(m, F_HTTP, code, 1);
}

/* ---- rendering ---- */

void metrics_escape_label(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_append(out, "\\\\", 2);
		else if (*s == '"')
			buf_append(out, "\\\"", 2);
		else if (*s == '\n')
			buf_append(out, "\\n", 2);
		else
			buf_append(out, s, 1);
	}
}

static void header(struct buf *out, const char *name, const char *help, const char *type)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value",le="x"} v: extra ("le") and the family's label, each optional. */
static void sample(struct buf *out, const char *name, const char *suffix, const char *label,
		   const char *value, const char *le, double v)
{
	buf_printf(out, "%s%s", name, suffix);
	if (label || le) {
		buf_append(out, "{", 1);
		if (label) {
			buf_printf(out, "%s=\"", label);
			metrics_escape_label(out, value ? value : "");
			buf_append(out, "\"", 1);
		}
		if (le)
			buf_printf(out, "%s%s=\"%s\"", label ? "," : "", "le", le);
		buf_append(out, "}", 1);
	}
	buf_printf(out, " %.17g\n", v);
}

static void render_histogram(struct buf *out, const struct family *f, const struct series *s)
{
	const struct fam_def *d = f->def;
	uint64_t cum = 0;
	char le[32];
	for (size_t b = 0; b <= d->n_bounds; b++) {
		cum += s->buckets[b];
		if (b < d->n_bounds)
			snprintf(le, sizeof(le), "%g", d->bounds[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		sample(out, d->name, "_bucket", d->label, s->label, le, (double)cum);
	}
	sample(out, d->name, "_sum", d->label, s->label, NULL, s->sum);
	sample(out, d->name, "_count", d->label, s->label, NULL, (double)s->count);
}

void metrics_render(struct metrics *m, struct buf *out)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < F_COUNT; i++) {
		const struct family *f = &m->fam[i];
		bool hist = f->def->type == FAM_HISTOGRAM;
		header(out, f->def->name, f->def->help, hist ? "histogram" : "counter");
		for (size_t j = 0; j < f->len; j++) {
			if (hist)
				render_histogram(out, f, &f->v[j]);
			else
				sample(out, f->def->name, "", f->def->label, f->v[j].label, NULL,
				       f->v[j].value);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_render_gauge(struct buf *out, const char *name, const char *help, const char *label,
			  const char *const *label_values, const double *values, size_t n)
{
	header(out, name, help, "gauge");
	for (size_t i = 0; i < n; i++)
		sample(out, name, "", label, label ? label_values[i] : NULL, NULL, values[i]);
}
