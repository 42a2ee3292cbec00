/* store_web.c - queries of the web API: pages of runs, lookups, pause flags, counts by state.
 * Statements are prepared per call (the store's table of prepared statements belongs to
 * store.c); each is microseconds next to serving a request. */
#include "swarmflow/store/store_web.h"

#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

/* The four filters of a page of runs: none, DAG, state, both (bound as ?1 and ?2). */
#define RUNS_WHERE_DAG " WHERE dag_id = ?1"
#define RUNS_WHERE_STATE " WHERE state = ?2"
#define RUNS_WHERE_BOTH " WHERE dag_id = ?1 AND state = ?2"
#define RUNS_PAGE_ORDER " ORDER BY logical_date DESC, id DESC LIMIT ?3 OFFSET ?4"

static const char *const page_sql[4] = {
    "SELECT id FROM dag_runs" RUNS_PAGE_ORDER,
    "SELECT id FROM dag_runs" RUNS_WHERE_DAG RUNS_PAGE_ORDER,
    "SELECT id FROM dag_runs" RUNS_WHERE_STATE RUNS_PAGE_ORDER,
    "SELECT id FROM dag_runs" RUNS_WHERE_BOTH RUNS_PAGE_ORDER,
};

static const char *const count_sql[4] = {
    "SELECT COUNT(*) FROM dag_runs",
    "SELECT COUNT(*) FROM dag_runs" RUNS_WHERE_DAG,
    "SELECT COUNT(*) FROM dag_runs" RUNS_WHERE_STATE,
    "SELECT COUNT(*) FROM dag_runs" RUNS_WHERE_BOTH,
};

static sqlite3_stmt *prepare(struct store *s, const char *sql, const char *what, char **err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_fail(s, err, "prepare %s", what);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void bind_filter(sqlite3_stmt *st, const char *dag_id, const enum run_state *state)
{
	if (dag_id)
		sqlite3_bind_text(st, 1, dag_id, -1, SQLITE_STATIC);
	if (state)
		sqlite3_bind_text(st, 2, run_state_name(*state), -1, SQLITE_STATIC);
}

static bool count_runs(struct store *s, size_t variant, const char *dag_id,
		       const enum run_state *state, int64_t *total, char **err)
{
	sqlite3_stmt *st = prepare(s, count_sql[variant], "count runs", err);
	if (!st)
		return false;
	bind_filter(st, dag_id, state);
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	if (ok)
		*total = sqlite3_column_int64(st, 0);
	else
		store_fail(s, err, "count runs");
	sqlite3_finalize(st);
	return ok;
}

/* Collects the run ids of the page (the store's own reader then reads each run). */
static bool page_ids(struct store *s, size_t variant, const char *dag_id,
		     const enum run_state *state, int64_t limit, int64_t offset, int64_t **ids,
		     size_t *n, char **err)
{
	sqlite3_stmt *st = prepare(s, page_sql[variant], "list runs", err);
	if (!st)
		return false;
	bind_filter(st, dag_id, state);
	sqlite3_bind_int64(st, 3, limit);
	sqlite3_bind_int64(st, 4, offset);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*ids = xrealloc(*ids, cap * sizeof(**ids));
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	bool ok = rc == SQLITE_DONE || store_fail(s, err, "list runs");
	sqlite3_finalize(st);
	return ok;
}

bool store_runs_page(struct store *s, const char *dag_id, const enum run_state *state,
		     int64_t limit, int64_t offset, struct run_list *out, int64_t *total,
		     char **err)
{
	size_t variant = (dag_id ? 1u : 0u) | (state ? 2u : 0u);
	int64_t *ids = NULL;
	size_t n = 0;
	*out = (struct run_list){0};
	if (!count_runs(s, variant, dag_id, state, total, err) ||
	    !page_ids(s, variant, dag_id, state, limit, offset, &ids, &n, err)) {
		free(ids);
		return false;
	}
	out->v = xcalloc(n + 1, sizeof(*out->v));
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		ok = store_run_get_by_id(s, ids[i], &out->v[i], err);
		out->len += ok;
	}
	free(ids);
	if (!ok)
		run_list_finish(out);
	return ok;
}

bool store_run_find(struct store *s, const char *dag_id, const char *run_id, struct run *out,
		    bool *found, char **err)
{
	sqlite3_stmt *st = prepare(s, "SELECT id FROM dag_runs WHERE dag_id = ?1 AND run_id = ?2",
				   "find run", err);
	if (!st)
		return false;
	store_bind_text(st, 1, dag_id);
	store_bind_text(st, 2, run_id);
	int rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	*found = rc == SQLITE_ROW;
	bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE || store_fail(s, err, "find run");
	sqlite3_finalize(st);
	if (ok && *found)
		ok = store_run_get_by_id(s, id, out, err);
	return ok;
}

bool store_dags_paused(struct store *s, struct strv *out, char **err)
{
	sqlite3_stmt *st = prepare(s, "SELECT dag_id FROM dags WHERE paused <> 0 ORDER BY dag_id",
				   "list paused DAGs", err);
	if (!st)
		return false;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strv_push(out, (const char *)sqlite3_column_text(st, 0));
	bool ok = rc == SQLITE_DONE || store_fail(s, err, "list paused DAGs");
	sqlite3_finalize(st);
	return ok;
}

/* Runs "SELECT state, COUNT(*) ... GROUP BY state" and adds each count to counts[] through
 * index_of (-1: a state this version does not know, skipped). */
static bool count_states(struct store *s, const char *sql, int (*index_of)(const char *),
			 int64_t *counts, char **err)
{
	sqlite3_stmt *st = prepare(s, sql, "count states", err);
	if (!st)
		return false;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = index_of((const char *)sqlite3_column_text(st, 0));
		if (i >= 0)
			counts[i] += sqlite3_column_int64(st, 1);
	}
	bool ok = rc == SQLITE_DONE || store_fail(s, err, "count states");
	sqlite3_finalize(st);
	return ok;
}

static int ti_index(const char *name)
{
	enum ti_state state;
	return ti_state_parse(name, &state) ? (int)state : -1;
}

static int run_index(const char *name)
{
	enum run_state state;
	return run_state_parse(name, &state) ? (int)state : -1;
}

bool store_ti_state_counts(struct store *s, int64_t counts[TI_STATE_COUNT], char **err)
{
	memset(counts, 0, TI_STATE_COUNT * sizeof(*counts));
	return count_states(s, "SELECT state, COUNT(*) FROM task_instances GROUP BY state",
			    ti_index, counts, err);
}

bool store_run_state_counts(struct store *s, int64_t counts[RUN_STATE_COUNT], char **err)
{
	memset(counts, 0, RUN_STATE_COUNT * sizeof(*counts));
	return count_states(s, "SELECT state, COUNT(*) FROM dag_runs GROUP BY state", run_index,
			    counts, err);
}

/* ---- the queries of Airflow's API: filters as JSON arrays, ordered pages ---- */

/* Columns a page may be ordered by, indexed by enum store_run_order / store_ti_order. */
static const char *const run_order_col[] = {"id",     "logical_date", "start_ms", "end_ms",
					    "run_id", "state",        "dag_id"};
static const char *const ti_order_col[] = {"id",         "task_id", "state",  "start_ms", "end_ms",
					   "try_number", "dag_id",  "run_id", "map_index"};

/* A page of row ids of table: where binds ?1..?n to filters[] (each NULL or a JSON array
 * text), then LIMIT ?n+1 OFFSET ?n+2; *total counts every match. SQL from fixed pieces only. */
struct page {
	const char *table, *where, *order;
	bool desc;
	const char *const *filters;
	int n_filters;
	const struct store_bound *bounds; /* bound after the filters (unset: NULL) */
	int n_bounds;
	int64_t limit, offset;
};

static void bind_filters(sqlite3_stmt *st, const struct page *p)
{
	for (int i = 0; i < p->n_filters; i++)
		store_bind_text(st, i + 1, p->filters[i]);
	for (int i = 0; i < p->n_bounds; i++)
		if (p->bounds[i].set)
			sqlite3_bind_int64(st, p->n_filters + i + 1, p->bounds[i].v);
}

static bool page_count(struct store *s, const struct page *p, int64_t *total, char **err)
{
	char *sql = xasprintf("SELECT COUNT(*) FROM %s WHERE %s", p->table, p->where);
	sqlite3_stmt *st = prepare(s, sql, "count rows", err);
	free(sql);
	if (!st)
		return false;
	bind_filters(st, p);
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	if (ok)
		*total = sqlite3_column_int64(st, 0);
	else
		store_fail(s, err, "count rows");
	sqlite3_finalize(st);
	return ok;
}

static bool page_rows(struct store *s, const struct page *p, int64_t **ids, size_t *n, char **err)
{
	const char *dir = p->desc ? "DESC" : "ASC";
	char *sql =
	    xasprintf("SELECT id FROM %s WHERE %s ORDER BY %s %s, id %s LIMIT ?%d OFFSET ?%d",
		      p->table, p->where, p->order, dir, dir, p->n_filters + p->n_bounds + 1,
		      p->n_filters + p->n_bounds + 2);
	sqlite3_stmt *st = prepare(s, sql, "list rows", err);
	free(sql);
	if (!st)
		return false;
	bind_filters(st, p);
	sqlite3_bind_int64(st, p->n_filters + p->n_bounds + 1, p->limit);
	sqlite3_bind_int64(st, p->n_filters + p->n_bounds + 2, p->offset);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*ids = xrealloc(*ids, cap * sizeof(**ids));
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	bool ok = rc == SQLITE_DONE || store_fail(s, err, "list rows");
	sqlite3_finalize(st);
	return ok;
}

/* The ids of page p in *ids (caller frees, also on failure) and the count of all matches. */
static bool page_query(struct store *s, const struct page *p, int64_t *total, int64_t **ids,
		       size_t *n, char **err)
{
	*ids = NULL;
	*n = 0;
	return page_count(s, p, total, err) && page_rows(s, p, ids, n, err);
}

#define IN_FILTER(col, n) "(?" #n " IS NULL OR " col " IN (SELECT value FROM json_each(?" #n ")))"
#define BOUND(col, op, n) " AND (?" #n " IS NULL OR " col " " op " ?" #n ")"

bool store_runs_query(struct store *s, const struct store_runs_query *q, struct run_list *out,
		      int64_t *total, char **err)
{
	const char *filters[] = {q->dag_ids, q->states};
	struct page p = {
	    .table = "dag_runs",
	    .where = IN_FILTER("dag_id", 1) " AND " IN_FILTER("state", 2)
		BOUND("logical_date", ">=", 3) BOUND("logical_date", "<=", 4)
		    BOUND("start_ms", ">=", 5) BOUND("start_ms", "<=", 6) BOUND("end_ms", ">=", 7)
			BOUND("end_ms", "<=", 8),
	    .order = run_order_col[q->order < ARRAY_LEN(run_order_col) ? q->order : 0],
	    .desc = q->desc,
	    .filters = filters,
	    .n_filters = 2,
	    .bounds = q->range,
	    .n_bounds = STORE_RUN_RANGES,
	    .limit = q->limit,
	    .offset = q->offset,
	};
	int64_t *ids;
	size_t n;
	bool ok = page_query(s, &p, total, &ids, &n, err);
	*out = (struct run_list){.v = xcalloc(n + 1, sizeof(*out->v))};
	for (size_t i = 0; ok && i < n; i++)
		out->len += (ok = store_run_get_by_id(s, ids[i], &out->v[out->len], err));
	free(ids);
	if (!ok)
		run_list_finish(out);
	return ok;
}

bool store_tis_query(struct store *s, const struct store_tis_query *q, struct ti_list *out,
		     int64_t *total, char **err)
{
	const char *filters[] = {q->dag_ids, q->run_ids, q->task_ids, q->states};
	struct page p = {
	    .table = "task_instances",
	    .where = IN_FILTER("dag_id", 1) " AND " IN_FILTER("run_id", 2) " AND " IN_FILTER(
		"task_id", 3) " AND " IN_FILTER("state", 4) BOUND("map_index", ">=", 5),
	    .order = ti_order_col[q->order < ARRAY_LEN(ti_order_col) ? q->order : 0],
	    .desc = q->desc,
	    .filters = filters,
	    .n_filters = 4,
	    .bounds = &q->map_index_min,
	    .n_bounds = 1,
	    .limit = q->limit,
	    .offset = q->offset,
	};
	int64_t *ids;
	size_t n;
	bool ok = page_query(s, &p, total, &ids, &n, err);
	*out = (struct ti_list){.v = xcalloc(n + 1, sizeof(*out->v))};
	for (size_t i = 0; ok && i < n; i++)
		out->len += (ok = store_ti_get(s, ids[i], &out->v[out->len], err));
	free(ids);
	if (!ok)
		ti_list_finish(out);
	return ok;
}

/* Runs one statement with a text parameter ?1 (unless NULL) and integers ?3 and ?4. */
static bool exec_bound(struct store *s, const char *sql, const char *t1, int64_t i3, int64_t i4,
		       const char *what, char **err)
{
	sqlite3_stmt *st = prepare(s, sql, what, err);
	if (!st)
		return false;
	if (t1)
		store_bind_text(st, 1, t1);
	sqlite3_bind_int64(st, 3, i3);
	sqlite3_bind_int64(st, 4, i4);
	bool ok = sqlite3_step(st) == SQLITE_DONE || store_fail(s, err, "%s", what);
	sqlite3_finalize(st);
	return ok;
}

/* How many task instances of the run own (or are about to own) a service. */
static bool count_busy(struct store *s, int64_t run_pk, int *busy, char **err)
{
	sqlite3_stmt *st =
	    prepare(s,
		    "SELECT COUNT(*) FROM task_instances WHERE run_pk = ?1 AND state "
		    "IN ('queued', 'running')",
		    "count busy tasks", err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, run_pk);
	bool ok = sqlite3_step(st) == SQLITE_ROW || store_fail(s, err, "count busy tasks");
	*busy = ok ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return ok;
}

/* Runs apply(s, ctx) in one transaction unless a task instance of the run is queued or
 * running (then true with *busy, nothing changed). */
static bool while_idle(struct store *s, int64_t run_pk, bool *busy,
		       bool (*apply)(struct store *, int64_t, const void *, char **),
		       const void *ctx, char **err)
{
	int n_busy = 0;
	*busy = false;
	if (!store_begin(s, err))
		return false;
	bool ok = count_busy(s, run_pk, &n_busy, err);
	*busy = ok && n_busy > 0;
	if (ok && !*busy && apply(s, run_pk, ctx, err) && store_commit(s, err))
		return true;
	store_rollback(s);
	return ok && *busy;
}

struct mark {
	enum run_state state;
	enum ti_state rest;
	int64_t now_ms;
};

static bool apply_mark(struct store *s, int64_t run_pk, const void *ctx, char **err)
{
	const struct mark *m = ctx;
	return exec_bound(s,
			  "UPDATE task_instances SET state = ?1, end_ms = COALESCE(end_ms, ?4)"
			  " WHERE run_pk = ?3 AND state IN ('none', 'scheduled', 'up_for_retry')",
			  ti_state_name(m->rest), run_pk, m->now_ms, "mark tasks", err) &&
	       store_run_set_state(s, run_pk, m->state, m->now_ms, err);
}

bool store_run_mark(struct store *s, int64_t run_pk, enum run_state state, enum ti_state rest,
		    int64_t now_ms, bool *busy, char **err)
{
	struct mark m = {state, rest, now_ms};
	return while_idle(s, run_pk, busy, apply_mark, &m, err);
}

static bool apply_delete(struct store *s, int64_t run_pk, const void *ctx, char **err)
{
	(void)ctx;
	/* Task instances and their tries go with it (ON DELETE CASCADE). */
	return exec_bound(s, "DELETE FROM dag_runs WHERE id = ?3", NULL, run_pk, 0, "delete run",
			  err);
}

bool store_run_delete(struct store *s, int64_t run_pk, bool *busy, char **err)
{
	return while_idle(s, run_pk, busy, apply_delete, NULL, err);
}
