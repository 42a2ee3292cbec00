/* store_run.c - DAG runs and DAG pause flags in the state database. */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"

/* SQLite's text of column i, valid until the statement steps or resets. */
static char *col_text_view(sqlite3_stmt *st, int i)
{
	return (char *)sqlite3_column_text(st, i);
}

/* Reads the RUN_COLS of the current row into out (zeroed first), its strings borrowed from
 * the statement: they live until it steps or resets, and out is not to be finished. */
static bool read_run_view(sqlite3_stmt *st, struct run *out, char **err)
{
	*out = (struct run){0};
	out->id = store_col_i64(st, 0);
	const char *state = (const char *)sqlite3_column_text(st, 4);
	if (!run_state_parse(state, &out->state))
		return set_err(err, "store: run %lld has an unknown state '%s'", (long long)out->id,
			       state ? state : "NULL");
	out->dag_id = col_text_view(st, 1);
	out->run_id = col_text_view(st, 2);
	out->run_type = col_text_view(st, 3);
	out->logical_date = store_col_i64(st, 5);
	out->data_interval_start = store_col_i64(st, 6);
	out->data_interval_end = store_col_i64(st, 7);
	out->queued_ms = store_col_i64(st, 8);
	out->start_ms = store_col_i64(st, 9);
	out->end_ms = store_col_i64(st, 10);
	out->conf = col_text_view(st, 11);
	out->runner = col_text_view(st, 12);
	return true;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* The same, out owning its strings. */
static bool read_run(sqlite3_stmt *st, struct run *out, char **err)
{
	if (!read_run_view(st, out, err))
		return false;
	out->dag_id = dup_or_null(out->dag_id);
	out->run_id = dup_or_null(out->run_id);
	out->run_type = dup_or_null(out->run_type);
	out->conf = dup_or_null(out->conf);
	out->runner = dup_or_null(out->runner);
	return true;
}

/* Steps a bound statement expected to return one run; "not found" is reported as `missing`. */
static bool get_one(struct store *s, sqlite3_stmt *st, struct run *out, const char *missing,
		    char **err)
{
	bool ok = false;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ok = read_run(st, out, err);
	else if (rc == SQLITE_DONE)
		set_err(err, "%s", missing);
	else
		store_fail(s, err, "read run");
	sqlite3_reset(st);
	return ok;
}

/* Steps a bound statement and appends every run it returns to out (emptied first). */
static bool get_list(struct store *s, sqlite3_stmt *st, struct run_list *out, char **err)
{
	size_t cap = 0;
	bool ok = true;
	int rc = SQLITE_DONE;
	*out = (struct run_list){0};
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->len == cap) {
			cap = cap ? cap * 2 : 16;
			out->v = xrealloc(out->v, cap * sizeof(*out->v));
		}
		ok = read_run(st, &out->v[out->len], err);
		out->len += ok;
	}
	if (ok && rc != SQLITE_DONE)
		ok = store_fail(s, err, "list runs");
	if (!ok)
		run_list_finish(out);
	sqlite3_reset(st);
	return ok;
}

static bool insert_tis(struct store *s, const struct run *r, int64_t run_pk,
		       const char *const *task_ids, const int *max_tries, size_t n_tasks,
		       char **err)
{
	for (size_t i = 0; i < n_tasks; i++) {
		sqlite3_stmt *st = store_stmt(s, ST_TI_INSERT);
		sqlite3_bind_int64(st, 1, run_pk);
		sqlite3_bind_text(st, 2, r->dag_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->run_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, task_ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, max_tries ? max_tries[i] : 1);
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_fail(s, err, "insert task instance '%s' of run '%s'", task_ids[i],
				   r->run_id);
			sqlite3_reset(st);
			return false;
		}
	}
	sqlite3_reset(s->stmts[ST_TI_INSERT]);
	return true;
}

static bool insert_run(struct store *s, const struct run *r, int64_t *run_pk, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_RUN_INSERT);
	sqlite3_bind_text(st, 1, r->dag_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->run_type ? r->run_type : "manual", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->logical_date);
	sqlite3_bind_int64(st, 5, r->data_interval_start);
	sqlite3_bind_int64(st, 6, r->data_interval_end);
	store_bind_ms(st, 7, r->queued_ms);
	sqlite3_bind_text(st, 8, r->conf ? r->conf : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->runner, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	bool ok = rc == SQLITE_DONE;
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		set_err(err, "run '%s' already exists for DAG '%s'", r->run_id, r->dag_id);
	else if (!ok)
		store_fail(s, err, "insert run '%s' of DAG '%s'", r->run_id, r->dag_id);
	*run_pk = sqlite3_last_insert_rowid(s->db);
	sqlite3_reset(st);
	return ok;
}

bool store_run_create(struct store *s, const struct run *r, const char *const *task_ids,
		      const int *max_tries, size_t n_tasks, struct run *out, char **err)
{
	int64_t run_pk = 0;
	if (!r->dag_id || !r->run_id)
		return set_err(err, "store: insert run: a run needs a DAG id and a run id");
	if (!store_begin(s, err))
		return false;
	if (!insert_run(s, r, &run_pk, err) ||
	    !insert_tis(s, r, run_pk, task_ids, max_tries, n_tasks, err)) {
		store_rollback(s);
		return false;
	}
	if (!store_commit(s, err))
		return false;
	return !out || store_run_get_by_id(s, run_pk, out, err);
}

bool store_run_get(struct store *s, const char *dag_id, const char *run_id, struct run *out,
		   char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_RUN_GET);
	store_bind_text(st, 1, dag_id);
	store_bind_text(st, 2, run_id);
	char *missing = xasprintf("store: no run '%s' for DAG '%s'", run_id ? run_id : "",
				  dag_id ? dag_id : "");
	bool ok = get_one(s, st, out, missing, err);
	free(missing);
	return ok;
}

bool store_run_get_by_id(struct store *s, int64_t id, struct run *out, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_RUN_GET_BY_ID);
	sqlite3_bind_int64(st, 1, id);
	char *missing = xasprintf("store: no run with id %lld", (long long)id);
	bool ok = get_one(s, st, out, missing, err);
	free(missing);
	return ok;
}

bool store_run_set_state(struct store *s, int64_t run_pk, enum run_state state, int64_t now_ms,
			 char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_RUN_SET_STATE);
	sqlite3_bind_int64(st, 1, run_pk);
	sqlite3_bind_text(st, 2, run_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	if (!store_step_done(s, st, "set run state", err))
		return false;
	if (sqlite3_changes(s->db) == 0)
		return set_err(err, "store: set run state: no run with id %lld", (long long)run_pk);
	return true;
}

/* The bound statement of a list of runs (store_runs_list). */
static sqlite3_stmt *runs_stmt(struct store *s, const char *dag_id, const enum run_state *state,
			       size_t limit)
{
	enum stmt_id id = dag_id ? (state ? ST_RUNS_BY_DAG_STATE : ST_RUNS_BY_DAG)
				 : (state ? ST_RUNS_BY_STATE : ST_RUNS_ALL);
	sqlite3_stmt *st = store_stmt(s, id);
	if (dag_id)
		sqlite3_bind_text(st, 1, dag_id, -1, SQLITE_STATIC);
	if (state)
		sqlite3_bind_text(st, 2, run_state_name(*state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	return st;
}

bool store_runs_list(struct store *s, const char *dag_id, const enum run_state *state, size_t limit,
		     struct run_list *out, char **err)
{
	return get_list(s, runs_stmt(s, dag_id, state, limit), out, err);
}

bool store_runs_each(struct store *s, const char *dag_id, const enum run_state *state, size_t limit,
		     void (*fn)(const struct run *run, void *ctx), void *ctx, char **err)
{
	sqlite3_stmt *st = runs_stmt(s, dag_id, state, limit);
	bool ok = true;
	int rc = SQLITE_DONE;
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct run run;
		ok = read_run_view(st, &run, err);
		if (ok)
			fn(&run, ctx);
	}
	if (ok && rc != SQLITE_DONE)
		ok = store_fail(s, err, "list runs");
	sqlite3_reset(st);
	return ok;
}

bool store_runs_active(struct store *s, struct run_list *out, char **err)
{
	return get_list(s, store_stmt(s, ST_RUNS_ACTIVE), out, err);
}

bool store_run_latest(struct store *s, const char *dag_id, const char *run_type, struct run *out,
		      bool *found, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_RUN_LATEST);
	store_bind_text(st, 1, dag_id);
	store_bind_text(st, 2, run_type);
	int rc = sqlite3_step(st);
	bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
	*found = rc == SQLITE_ROW;
	if (*found)
		ok = read_run(st, out, err);
	else if (!ok)
		store_fail(s, err, "read the latest run of DAG '%s'", dag_id);
	sqlite3_reset(st);
	return ok;
}

bool store_run_set_runner(struct store *s, int64_t run_pk, const char *runner, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_RUN_SET_RUNNER);
	sqlite3_bind_int64(st, 1, run_pk);
	store_bind_text(st, 2, runner);
	return store_step_done(s, st, "set run runner", err);
}

bool store_dag_set_paused(struct store *s, const char *dag_id, bool paused, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_DAG_SET_PAUSED);
	store_bind_text(st, 1, dag_id);
	sqlite3_bind_int(st, 2, paused);
	return store_step_done(s, st, "set DAG pause flag", err);
}

bool store_dag_is_paused(struct store *s, const char *dag_id, bool *paused, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_DAG_IS_PAUSED);
	store_bind_text(st, 1, dag_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*paused = sqlite3_column_int(st, 0) != 0;
	else if (rc == SQLITE_DONE)
		*paused = false;
	else
		store_fail(s, err, "read DAG pause flag");
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

void run_finish(struct run *r)
{
	if (!r)
		return;
	free(r->dag_id);
	free(r->run_id);
	free(r->run_type);
	free(r->conf);
	free(r->runner);
	*r = (struct run){0};
}

void run_list_finish(struct run_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->len; i++)
		run_finish(&l->v[i]);
	free(l->v);
	*l = (struct run_list){0};
}
