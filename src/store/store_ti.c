/* store_ti.c - task instances and the history of their tries in the state database. */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"

/* Reads the TI_COLS of the current row into out (zeroed first). */
static bool read_ti(sqlite3_stmt *st, struct ti *out, char **err)
{
	*out = (struct ti){0};
	out->id = store_col_i64(st, 0);
	const char *state = (const char *)sqlite3_column_text(st, 5);
	if (!ti_state_parse(state, &out->state))
		return set_err(err, "store: task instance %lld has an unknown state '%s'",
			       (long long)out->id, state ? state : "NULL");
	out->run_pk = store_col_i64(st, 1);
	out->dag_id = store_col_text(st, 2);
	out->run_id = store_col_text(st, 3);
	out->task_id = store_col_text(st, 4);
	out->try_number = sqlite3_column_int(st, 6);
	out->max_tries = sqlite3_column_int(st, 7);
	out->service_id = store_col_text(st, 8);
	out->service_name = store_col_text(st, 9);
	out->has_exit_code = sqlite3_column_type(st, 10) != SQLITE_NULL;
	out->exit_code = sqlite3_column_int(st, 10);
	out->error = store_col_text(st, 11);
	out->log_path = store_col_text(st, 12);
	out->queued_ms = store_col_i64(st, 13);
	out->start_ms = store_col_i64(st, 14);
	out->end_ms = store_col_i64(st, 15);
	out->next_try_ms = store_col_i64(st, 16);
	out->node_id = store_col_text(st, 17);
	out->map_index = sqlite3_column_int(st, 18);
	out->map_item = store_col_text(st, 19);
	if (sqlite3_column_count(st) > 20) /* a statement that reads the try's output */
		out->output = store_col_text(st, 20);
	return true;
}

/* Steps a bound statement and collects every task instance it returns into out. */
static bool get_list(struct store *s, sqlite3_stmt *st, const char *what, struct ti_list *out,
		     char **err)
{
	size_t cap = 0;
	bool ok = true;
	int rc = SQLITE_DONE;
	*out = (struct ti_list){0};
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->len == cap) {
			cap = cap ? cap * 2 : 16;
			out->v = xrealloc(out->v, cap * sizeof(*out->v));
		}
		ok = read_ti(st, &out->v[out->len], err);
		out->len += ok;
	}
	if (ok && rc != SQLITE_DONE)
		ok = store_fail(s, err, "%s", what);
	if (!ok)
		ti_list_finish(out);
	sqlite3_reset(st);
	return ok;
}

bool store_ti_get(struct store *s, int64_t id, struct ti *out, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_TI_GET);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	bool ok = false;
	if (rc == SQLITE_ROW)
		ok = read_ti(st, out, err);
	else if (rc == SQLITE_DONE)
		set_err(err, "store: no task instance with id %lld", (long long)id);
	else
		store_fail(s, err, "read task instance");
	sqlite3_reset(st);
	return ok;
}

/* A task instance and the sort key of its place in a run's list. */
struct ti_place {
	const struct ti *ti;
	int64_t first_id; /* the smallest id of the task's instances */
};

static int by_task_then_id(const void *a, const void *b)
{
	const struct ti_place *x = a, *y = b;
	int c = strcmp(x->ti->task_id, y->ti->task_id);
	return c ? c : (x->ti->id > y->ti->id) - (x->ti->id < y->ti->id);
}

static int by_place(const void *a, const void *b)
{
	const struct ti_place *x = a, *y = b;
	if (x->first_id != y->first_id)
		return (x->first_id > y->first_id) - (x->first_id < y->first_id);
	return (x->ti->map_index > y->ti->map_index) - (x->ti->map_index < y->ti->map_index);
}

/* Puts a run's task instances, read by id, in their documented order: each task at its first
 * instance, its instances in map order. */
static void group_by_task(struct ti_list *l)
{
	if (l->len < 2)
		return;
	struct ti_place *p = xcalloc(l->len, sizeof(*p));
	for (size_t i = 0; i < l->len; i++)
		p[i].ti = &l->v[i];
	qsort(p, l->len, sizeof(*p), by_task_then_id);
	for (size_t i = 0; i < l->len; i++)
		p[i].first_id = i > 0 && strcmp(p[i].ti->task_id, p[i - 1].ti->task_id) == 0
				    ? p[i - 1].first_id
				    : p[i].ti->id;
	qsort(p, l->len, sizeof(*p), by_place);
	struct ti *v = xcalloc(l->len, sizeof(*v));
	for (size_t i = 0; i < l->len; i++)
		v[i] = *p[i].ti; /* moves the fields: the old array is freed, not finished */
	free(l->v);
	l->v = v;
	free(p);
}

static bool tis_of_run(struct store *s, enum stmt_id id, int64_t run_pk, const char *what,
		       struct ti_list *out, char **err)
{
	sqlite3_stmt *st = store_stmt(s, id);
	sqlite3_bind_int64(st, 1, run_pk);
	if (!get_list(s, st, what, out, err))
		return false;
	group_by_task(out);
	return true;
}

bool store_tis_for_run(struct store *s, int64_t run_pk, struct ti_list *out, char **err)
{
	return tis_of_run(s, ST_TIS_FOR_RUN, run_pk, "list task instances of a run", out, err);
}

bool store_tis_for_run_outputs(struct store *s, int64_t run_pk, struct ti_list *out, char **err)
{
	return tis_of_run(s, ST_TIS_FOR_RUN_OUTPUTS, run_pk,
			  "list task instances of a run with their outputs", out, err);
}

bool store_tis_in_flight(struct store *s, struct ti_list *out, char **err)
{
	return get_list(s, store_stmt(s, ST_TIS_IN_FLIGHT), "list task instances in flight", out,
			err);
}

static void bind_exit_code(sqlite3_stmt *st, int i, const struct ti *ti)
{
	if (ti->has_exit_code)
		sqlite3_bind_int(st, i, ti->exit_code);
	else
		sqlite3_bind_null(st, i);
}

bool store_ti_update(struct store *s, const struct ti *ti, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_TI_UPDATE);
	sqlite3_bind_int64(st, 1, ti->id);
	sqlite3_bind_text(st, 2, ti_state_name(ti->state), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ti->try_number);
	store_bind_text(st, 4, ti->service_id);
	store_bind_text(st, 5, ti->service_name);
	bind_exit_code(st, 6, ti);
	store_bind_text(st, 7, ti->error);
	store_bind_text(st, 8, ti->log_path);
	store_bind_ms(st, 9, ti->queued_ms);
	store_bind_ms(st, 10, ti->start_ms);
	store_bind_ms(st, 11, ti->end_ms);
	store_bind_ms(st, 12, ti->next_try_ms);
	if (!store_step_done(s, st, "update task instance", err))
		return false;
	if (sqlite3_changes(s->db) == 0)
		return set_err(err, "store: update task instance: no task instance with id %lld",
			       (long long)ti->id);
	return true;
}

bool store_ti_clear(struct store *s, int64_t run_pk, const char *task_id, int retries, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_TI_CLEAR);
	sqlite3_bind_int64(st, 1, run_pk);
	store_bind_text(st, 2, task_id);
	sqlite3_bind_int(st, 3, retries);
	if (!store_step_done(s, st, "clear task instance", err))
		return false;
	if (sqlite3_changes(s->db) == 0)
		return set_err(err, "store: clear: the run has no task '%s'", task_id);
	return true;
}

bool store_ti_set_node(struct store *s, int64_t ti_pk, const char *node_id, char **err)
{
	if (node_id && !*node_id)
		node_id = NULL;
	if (!store_begin(s, err))
		return false;
	sqlite3_stmt *st = store_stmt(s, ST_TI_SET_NODE);
	sqlite3_bind_int64(st, 1, ti_pk);
	store_bind_text(st, 2, node_id);
	bool ok = store_step_done(s, st, "set the node of a task instance", err);
	if (ok && sqlite3_changes(s->db) == 0)
		ok = set_err(err, "store: set node: no task instance with id %lld",
			     (long long)ti_pk);
	if (ok && node_id) {
		/* The current try may be recorded already (it ended before its node was known). A
		 * try's recorded node is never erased. */
		st = store_stmt(s, ST_TRY_SET_NODE);
		sqlite3_bind_int64(st, 1, ti_pk);
		store_bind_text(st, 2, node_id);
		ok = store_step_done(s, st, "set the node of a try", err);
	}
	if (!ok) {
		store_rollback(s);
		return false;
	}
	return store_commit(s, err);
}

bool store_try_record(struct store *s, const struct ti *ti, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_TRY_UPSERT);
	sqlite3_bind_int64(st, 1, ti->id);
	sqlite3_bind_int(st, 2, ti->try_number);
	sqlite3_bind_text(st, 3, ti_state_name(ti->state), -1, SQLITE_STATIC);
	store_bind_text(st, 4, ti->service_id);
	store_bind_text(st, 5, ti->service_name);
	bind_exit_code(st, 6, ti);
	store_bind_text(st, 7, ti->error);
	store_bind_text(st, 8, ti->log_path);
	store_bind_ms(st, 9, ti->start_ms);
	store_bind_ms(st, 10, ti->end_ms);
	store_bind_text(st, 11, ti->node_id);
	store_bind_ms(st, 12, ti->queued_ms);
	store_bind_text(st, 13, ti->output);
	return store_step_done(s, st, "record task try", err);
}

bool store_try_output(struct store *s, int64_t ti_pk, int try_number, char **out, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_TRY_OUTPUT);
	sqlite3_bind_int64(st, 1, ti_pk);
	sqlite3_bind_int(st, 2, try_number);
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? store_col_text(st, 0) : NULL;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, err, "read the output of a try");
	return true;
}

/* Adds the task instances of elements 1..n-1 after the first one (ti_pk, now map index 0). */
static bool expand_more(struct store *s, int64_t ti_pk, const char *const *items, size_t n,
			char **err)
{
	for (size_t i = 1; i < n; i++) {
		sqlite3_stmt *st = store_stmt(s, ST_TI_EXPAND_MORE);
		sqlite3_bind_int64(st, 1, ti_pk);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		store_bind_text(st, 3, items[i]);
		if (!store_step_done(s, st, "add a mapped task instance", err))
			return false;
	}
	return true;
}

bool store_ti_expand(struct store *s, int64_t ti_pk, const char *const *items, size_t n, char **err)
{
	if (n == 0)
		return set_err(err, "store: expand: no elements");
	if (!store_begin(s, err))
		return false;
	sqlite3_stmt *st = store_stmt(s, ST_TI_EXPAND_FIRST);
	sqlite3_bind_int64(st, 1, ti_pk);
	store_bind_text(st, 2, items[0]);
	bool ok = store_step_done(s, st, "expand a task instance", err);
	if (ok && sqlite3_changes(s->db) == 0)
		ok = set_err(err, "store: expand: task instance %lld is not an unexpanded one",
			     (long long)ti_pk);
	if (!ok || !expand_more(s, ti_pk, items, n, err)) {
		store_rollback(s);
		return false;
	}
	return store_commit(s, err);
}

bool store_tries_list(struct store *s, int64_t ti_pk, struct ti_list *out, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_TRIES_LIST);
	sqlite3_bind_int64(st, 1, ti_pk);
	return get_list(s, st, "list task tries", out, err);
}

void ti_finish(struct ti *ti)
{
	if (!ti)
		return;
	free(ti->dag_id);
	free(ti->run_id);
	free(ti->task_id);
	free(ti->service_id);
	free(ti->service_name);
	free(ti->error);
	free(ti->log_path);
	free(ti->node_id);
	free(ti->map_item);
	free(ti->output);
	*ti = (struct ti){0};
}

void ti_list_finish(struct ti_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->len; i++)
		ti_finish(&l->v[i]);
	free(l->v);
	*l = (struct ti_list){0};
}
