/* schedule.c - creates the runs that DAG schedules make due (Airflow's timetable rules). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/core/timetable.h"

/* How long a DAG with a due run waits, while it is paused, before its flag is read again. */
#define PAUSED_RECHECK_MS 5000
/* How long a DAG with a due run waits, while it is at max_active_runs, before its active runs
 * are counted again. */
#define FULL_RECHECK_MS 1000
/* next_check_ms of a DAG that will never have another scheduled run (until it changes). */
#define NEVER_MS INT64_MAX

/* What schedule_runs() remembers of one DAG between ticks, so that a DAG costs no store access
 * until its next interval ends (or it changes). */
struct dag_sched {
	char *dag_id;
	/* The DAG's fields that decide its runs, as last seen; a reload that changes one of them
	 * makes the DAG be looked at again at once. */
	char *schedule_str;
	int64_t start_date, end_date;
	bool catchup;
	int max_active_runs;
	bool last_loaded;      /* has_last and last were read from the store */
	bool has_last;         /* there is a scheduled run */
	struct interval last;  /* the data interval of the newest scheduled run */
	int64_t next_check_ms; /* look at the DAG again when now reaches it */
	bool seen;             /* in the bag during this tick */
};

struct schedule_state {
	struct dag_sched *v; /* sorted by dag_id */
	size_t len, cap;
	/* hint[i]: where in v the entry of the bag's i-th DAG was at the last tick. A guess
	 * checked by id (entries move when others come and go), so that an unchanged bag costs
	 * one comparison per DAG instead of a binary search. */
	size_t *hint;
	size_t cap_hint;
};

static void entry_free(struct dag_sched *e)
{
	free(e->dag_id);
	free(e->schedule_str);
}

void schedule_state_destroy(struct schedule_state *st)
{
	for (size_t i = 0; st && i < st->len; i++)
		entry_free(&st->v[i]);
	if (st) {
		free(st->v);
		free(st->hint);
	}
	free(st);
}

static bool same_fields(const struct dag_sched *e, const struct dag *dag)
{
	return strcmp(e->schedule_str, dag->schedule_str) == 0 &&
	       e->start_date == dag->start_date && e->end_date == dag->end_date &&
	       e->catchup == dag->catchup && e->max_active_runs == dag->max_active_runs;
}

static void take_fields(struct dag_sched *e, const struct dag *dag)
{
	free(e->schedule_str);
	e->schedule_str = xstrdup(dag->schedule_str);
	e->start_date = dag->start_date;
	e->end_date = dag->end_date;
	e->catchup = dag->catchup;
	e->max_active_runs = dag->max_active_runs;
	e->next_check_ms = 0;
}

/* The index in v of the entry of dag_id (binary search); inserted when new. */
static size_t entry_find(struct schedule_state *st, const struct dag *dag)
{
	size_t lo = 0, hi = st->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->v[mid].dag_id, dag->dag_id);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (st->len == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->v = xrealloc(st->v, st->cap * sizeof(*st->v));
	}
	memmove(&st->v[lo + 1], &st->v[lo], (st->len - lo) * sizeof(*st->v));
	st->len++;
	st->v[lo] = (struct dag_sched){.dag_id = xstrdup(dag->dag_id)};
	take_fields(&st->v[lo], dag);
	return lo;
}

/* The entry of the bag's DAG number idx, its fields brought up to date. */
static struct dag_sched *entry_for(struct schedule_state *st, size_t idx, const struct dag *dag)
{
	if (idx >= st->cap_hint) {
		size_t cap = st->cap_hint;
		st->cap_hint = idx + 1 > cap * 2 ? idx + 1 : cap * 2;
		st->hint = xrealloc(st->hint, st->cap_hint * sizeof(*st->hint));
		for (size_t i = cap; i < st->cap_hint; i++)
			st->hint[i] = SIZE_MAX;
	}
	size_t at = st->hint[idx];
	if (at >= st->len || strcmp(st->v[at].dag_id, dag->dag_id) != 0)
		at = st->hint[idx] = entry_find(st, dag);
	struct dag_sched *e = &st->v[at];
	if (!same_fields(e, dag))
		take_fields(e, dag);
	return e;
}

/* Drops the entries of DAGs that are no longer loaded, and clears the seen marks. */
static void prune(struct schedule_state *st)
{
	size_t n = 0;
	for (size_t i = 0; i < st->len; i++) {
		if (!st->v[i].seen) {
			entry_free(&st->v[i]);
			continue;
		}
		st->v[i].seen = false;
		st->v[n++] = st->v[i];
	}
	st->len = n;
}

static bool store_failed(char *err)
{
	log_error("store: %s", err);
	free(err);
	return false;
}

/* Reads the data interval of the DAG's newest scheduled run. */
static bool load_last(struct scheduler *s, struct dag_sched *e)
{
	struct run run = {0};
	bool found = false;
	char *err = NULL;
	if (!store_run_latest(s->store, e->dag_id, "scheduled", &run, &found, &err))
		return store_failed(err);
	e->has_last = found;
	if (found)
		e->last = (struct interval){run.data_interval_start, run.data_interval_end};
	e->last_loaded = true;
	run_finish(&run);
	return true;
}

/* The number of queued and running runs of dag_id, of any type. */
static bool count_active(struct scheduler *s, const char *dag_id, size_t *n)
{
	static const enum run_state active[] = {RUN_QUEUED, RUN_RUNNING};
	*n = 0;
	for (size_t i = 0; i < ARRAY_LEN(active); i++) {
		struct run_list l = {0};
		char *err = NULL;
		if (!store_runs_list(s->store, dag_id, &active[i], 0, &l, &err))
			return store_failed(err);
		*n += l.len;
		run_list_finish(&l);
	}
	return true;
}

/* Creates the scheduled run of interval iv; *created is false when its run id exists already. */
static bool create_run(struct scheduler *s, const struct dag *dag, const struct interval *iv,
		       int64_t now_ms, bool *created)
{
	char iso[32], end_iso[32], run_id[64];
	time_format_iso(iv->start, iso);
	time_format_iso(iv->end, end_iso);
	snprintf(run_id, sizeof(run_id), "scheduled__%s", iso);
	struct run r = {.dag_id = dag->dag_id,
			.run_id = run_id,
			.run_type = "scheduled",
			.logical_date = iv->start,
			.data_interval_start = iv->start,
			.data_interval_end = iv->end,
			.queued_ms = now_ms,
			.conf = "{}"};
	char *err = NULL;
	*created = sched_run_create(s->store, dag, &r, NULL, &err);
	if (*created) {
		log_info("run created dag=%s run=%s type=scheduled interval=%s/%s", dag->dag_id,
			 run_id, iso, end_iso);
		return true;
	}
	struct run existing = {0};
	char *get_err = NULL;
	if (!store_run_get(s->store, dag->dag_id, run_id, &existing, &get_err)) {
		free(get_err);
		return store_failed(err);
	}
	log_info("run exists dag=%s run=%s: not created again", dag->dag_id, run_id);
	run_finish(&existing);
	free(err);
	return true;
}

/* Creates the due runs of dag from next on, while it has room under max_active_runs; sets
 * e->next_check_ms to when there is more to do. */
static bool create_due(struct scheduler *s, struct dag_sched *e, const struct dag *dag,
		       struct interval next, int64_t now_ms)
{
	int64_t now = now_ms / 1000;
	size_t active = 0;
	if (!count_active(s, dag->dag_id, &active))
		return false;
	while (next.end <= now && active < (size_t)dag->max_active_runs) {
		bool created = false;
		if (!create_run(s, dag, &next, now_ms, &created))
			return false;
		active += created;
		e->last = next;
		e->has_last = true;
		/* Each interval starts after the one before; anything else would loop. */
		if (!timetable_next(dag, &e->last, now, &next) || next.start <= e->last.start) {
			e->next_check_ms = NEVER_MS;
			return true;
		}
	}
	e->next_check_ms = next.end > now ? next.end * 1000 : now_ms + FULL_RECHECK_MS;
	return true;
}

/* Looks at one DAG when it is due: creates its runs, or notes when to look again. */
static bool schedule_dag(struct scheduler *s, struct dag_sched *e, const struct dag *dag,
			 int64_t now_ms)
{
	e->seen = true;
	if (now_ms < e->next_check_ms)
		return true;
	if (dag->schedule.kind == SCHEDULE_NONE || dag->start_date == 0) {
		e->next_check_ms = NEVER_MS;
		return true;
	}
	if (!e->last_loaded && !load_last(s, e))
		return false;
	struct interval next;
	int64_t now = now_ms / 1000;
	if (!timetable_next(dag, e->has_last ? &e->last : NULL, now, &next)) {
		e->next_check_ms = NEVER_MS;
		return true;
	}
	if (next.end > now) {
		e->next_check_ms = next.end * 1000;
		return true;
	}
	bool paused = false;
	char *err = NULL;
	if (!store_dag_is_paused(s->store, dag->dag_id, &paused, &err))
		return store_failed(err);
	if (paused) {
		e->next_check_ms = now_ms + PAUSED_RECHECK_MS;
		return true;
	}
	return create_due(s, e, dag, next, now_ms);
}

bool schedule_runs(struct scheduler *s, int64_t now_ms)
{
	if (!s->schedules)
		s->schedules = xcalloc(1, sizeof(*s->schedules));
	bool ok = true;
	for (size_t i = 0; ok && i < s->bag->n_active; i++) {
		const struct dag *dag = s->bag->active[i];
		ok = schedule_dag(s, entry_for(s->schedules, i, dag), dag, now_ms);
	}
	if (ok)
		prune(s->schedules);
	return ok;
}
