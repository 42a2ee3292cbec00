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
