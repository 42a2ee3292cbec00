/* test_store.c - unit tests of the SQLite state store, on a temporary file and on :memory:. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

#include "db_files.h"

struct fixture {
	char dir[64];
	char path[128];
	bool memory;
	struct store *s;
};

static void make_dir(struct fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/sf_store_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
}

static void remove_dir(struct fixture *f)
{
	remove_db(f->path);
	rmdir(f->dir);
}

static struct store *open_ok(const char *path)
{
	char *err = NULL;
	struct store *s = store_open(path, &err);
	if (!s)
		fail_msg("store_open: %s", err);
	assert_null(err);
	return s;
}

static int setup_file(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	make_dir(f);
	f->s = open_ok(f->path);
	*state = f;
	return 0;
}

static int setup_memory(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->memory = true;
	f->s = open_ok(":memory:");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	if (!f->memory)
		remove_dir(f);
	free(f);
	return 0;
}

/* A raw connection to the fixture's file, to look at what the store wrote. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *raw_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *t = sqlite3_column_text(st, 0);
	char *v = t ? xstrdup((const char *)t) : xstrdup("NULL");
	sqlite3_finalize(st);
	return v;
}

static const char *const three_tasks[] = {"extract", "transform", "load"};
static const int three_tries[] = {1, 3, 2};

/* Creates a run of dag with the three tasks above; returns its row id. */
static int64_t make_run(struct store *s, const char *dag, const char *run_id, int64_t date)
{
	struct run r = {
	    .dag_id = (char *)dag,
	    .run_id = (char *)run_id,
	    .run_type = "scheduled",
	    .logical_date = date,
	    .data_interval_start = date,
	    .data_interval_end = date + 86400,
	    .queued_ms = date * 1000 + 5,
	    .conf = "{\"k\":\"v\"}",
	};
	struct run out = {0};
	char *err = NULL;
	if (!store_run_create(s, &r, three_tasks, three_tries, 3, &out, &err))
		fail_msg("store_run_create: %s", err);
	int64_t id = out.id;
	run_finish(&out);
	return id;
}

static void set_state(struct store *s, int64_t id, enum run_state st, int64_t now)
{
	char *err = NULL;
	if (!store_run_set_state(s, id, st, now, &err))
		fail_msg("store_run_set_state: %s", err);
}

static void test_open_schema_and_reopen(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_schema_version(f->s), 4);
	int64_t id = make_run(f->s, "etl", "r1", 1000);
	store_close(f->s);

	sqlite3 *db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				     " AND name IN ('dags', 'dag_runs', 'task_instances', "
				     "'task_tries')"),
			 4);
	/* States are stored by name; times of 0 as NULL. */
	char *t = raw_text(db, "SELECT state FROM dag_runs");
	assert_string_equal(t, "queued");
	free(t);
	t = raw_text(db, "SELECT group_concat(state || ':' || ifnull(start_ms, 'null'), ',')"
			 " FROM task_instances");
	assert_string_equal(t, "none:null,none:null,none:null");
	free(t);
	sqlite3_close(db);

	f->s = open_ok(f->path);
	assert_int_equal(store_schema_version(f->s), 4);
	struct run r = {0};
	char *err = NULL;
	assert_true(store_run_get(f->s, "etl", "r1", &r, &err));
	assert_int_equal(r.id, id);
	assert_string_equal(r.conf, "{\"k\":\"v\"}");
	run_finish(&r);
}

static void test_open_memory(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_schema_version(f->s), 4);
	bool paused = true;
	char *err = NULL;
	assert_true(store_dag_is_paused(f->s, "nothing", &paused, &err));
	assert_false(paused);
}

static void test_wal_mode(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = raw_open(f->path);
	char *mode = raw_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	f->s = NULL;
	sqlite3 *db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char *err = NULL;
	assert_null(store_open(f->path, &err));
	char *want =
	    xasprintf("store: %s: schema version 99 is newer than this swarmflow's (4); use"
		      " a swarmflow at least as new as the one that wrote it",
		      f->path);
	assert_string_equal(err, want);
	free(want);
	free(err);
}

static void test_open_bad_path(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(store_open("/nonexistent-dir-sf/x/state.db", &err));
	assert_non_null(err);
	assert_true(str_has_prefix(err, "store: open /nonexistent-dir-sf/x/state.db: "));
	free(err);
}

static void test_run_create_get(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_run(f->s, "etl", "scheduled__2026-11-01", 1793491200);
	struct run r = {0};
	char *err = NULL;
	assert_true(store_run_get_by_id(f->s, id, &r, &err));
	assert_int_equal(r.id, id);
	assert_string_equal(r.dag_id, "etl");
	assert_string_equal(r.run_id, "scheduled__2026-11-01");
	assert_string_equal(r.run_type, "scheduled");
	assert_int_equal(r.state, RUN_QUEUED);
	assert_int_equal(r.logical_date, 1793491200);
	assert_int_equal(r.data_interval_start, 1793491200);
	assert_int_equal(r.data_interval_end, 1793491200 + 86400);
	assert_int_equal(r.queued_ms, 1793491200LL * 1000 + 5);
	assert_int_equal(r.start_ms, 0);
	assert_int_equal(r.end_ms, 0);
	assert_string_equal(r.conf, "{\"k\":\"v\"}");
	run_finish(&r);

	assert_true(store_run_get(f->s, "etl", "scheduled__2026-11-01", &r, &err));
	assert_int_equal(r.id, id);
	run_finish(&r);

	assert_false(store_run_get(f->s, "etl", "nope", &r, &err));
	assert_string_equal(err, "store: no run 'nope' for DAG 'etl'");
	free(err);
	err = NULL;
	assert_false(store_run_get_by_id(f->s, id + 100, &r, &err));
	assert_non_null(err);
	free(err);
}

static void test_run_defaults(void **state)
{
	struct fixture *f = *state;
	struct run r = {.dag_id = "d", .run_id = "manual__1", .logical_date = 7};
	struct run out = {0};
	char *err = NULL;
	assert_true(store_run_create(f->s, &r, NULL, NULL, 0, &out, &err));
	assert_string_equal(out.run_type, "manual");
	assert_string_equal(out.conf, "{}");
	assert_int_equal(out.queued_ms, 0);
	struct ti_list tl = {0};
	assert_true(store_tis_for_run(f->s, out.id, &tl, &err));
	assert_int_equal(tl.len, 0);
	ti_list_finish(&tl);
	run_finish(&out);
}

static void test_run_duplicate(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_run(f->s, "etl", "r1", 1000);
	struct run r = {.dag_id = "etl", .run_id = "r1", .run_type = "manual"};
	const char *tasks[] = {"other"};
	char *err = NULL;
	assert_false(store_run_create(f->s, &r, tasks, NULL, 1, NULL, &err));
	assert_string_equal(err, "run 'r1' already exists for DAG 'etl'");
	free(err);
	err = NULL;
	/* Nothing of the failed run was written; the same run id in another DAG is fine. */
	struct ti_list tl = {0};
	assert_true(store_tis_for_run(f->s, id, &tl, &err));
	assert_int_equal(tl.len, 3);
	ti_list_finish(&tl);
	assert_true(store_run_create(f->s, &(struct run){.dag_id = "other", .run_id = "r1"}, tasks,
				     NULL, 1, NULL, &err));
}

static void test_run_create_atomic(void **state)
{
	struct fixture *f = *state;
	struct run r = {.dag_id = "etl", .run_id = "r2"};
	const char *tasks[] = {"a", "b", "a"};
	char *err = NULL;
	assert_false(store_run_create(f->s, &r, tasks, NULL, 3, NULL, &err));
	assert_string_equal(err, "store: insert task instance 'a' of run 'r2': UNIQUE constraint "
				 "failed: task_instances.run_pk, task_instances.task_id, "
				 "task_instances.map_index");
	free(err);
	err = NULL;
	struct run out = {0};
	assert_false(store_run_get(f->s, "etl", "r2", &out, &err));
	free(err);
	struct run_list l = {0};
	err = NULL;
	assert_true(store_runs_list(f->s, NULL, NULL, 0, &l, &err));
	assert_int_equal(l.len, 0);
	run_list_finish(&l);
}

static void assert_times(struct store *s, int64_t id, enum run_state st, int64_t q, int64_t b,
			 int64_t e)
{
	struct run r = {0};
	char *err = NULL;
	assert_true(store_run_get_by_id(s, id, &r, &err));
	assert_int_equal(r.state, st);
	assert_int_equal(r.queued_ms, q);
	assert_int_equal(r.start_ms, b);
	assert_int_equal(r.end_ms, e);
	run_finish(&r);
}

static void test_run_set_state(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_run(f->s, "etl", "r1", 1);
	assert_times(f->s, id, RUN_QUEUED, 1005, 0, 0);
	set_state(f->s, id, RUN_RUNNING, 2000);
	assert_times(f->s, id, RUN_RUNNING, 1005, 2000, 0);
	set_state(f->s, id, RUN_RUNNING, 2500);
	assert_times(f->s, id, RUN_RUNNING, 1005, 2000, 0);
	set_state(f->s, id, RUN_SUCCESS, 3000);
	assert_times(f->s, id, RUN_SUCCESS, 1005, 2000, 3000);
	set_state(f->s, id, RUN_FAILED, 4000);
	assert_times(f->s, id, RUN_FAILED, 1005, 2000, 3000);
	/* Cleared: queued again, no end; the first start stays. */
	set_state(f->s, id, RUN_QUEUED, 5000);
	assert_times(f->s, id, RUN_QUEUED, 5000, 2000, 0);
	set_state(f->s, id, RUN_RUNNING, 6000);
	set_state(f->s, id, RUN_FAILED, 7000);
	assert_times(f->s, id, RUN_FAILED, 5000, 2000, 7000);

	char *err = NULL;
	assert_false(store_run_set_state(f->s, id + 1, RUN_RUNNING, 1, &err));
	char *want = xasprintf("store: set run state: no run with id %lld", (long long)(id + 1));
	assert_string_equal(err, want);
	free(want);
	free(err);
}

static void assert_run_ids(const struct run_list *l, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < l->len; i++)
		buf_printf(&b, "%s%s/%s", i ? "," : "", l->v[i].dag_id, l->v[i].run_id);
	buf_append(&b, "", 0);
	assert_string_equal(b.data ? b.data : "", want);
	buf_finish(&b);
}

static void list_runs(struct store *s, const char *dag, const enum run_state *st, size_t limit,
		      const char *want)
{
	struct run_list l = {0};
	char *err = NULL;
	if (!store_runs_list(s, dag, st, limit, &l, &err))
		fail_msg("store_runs_list: %s", err);
	assert_run_ids(&l, want);
	run_list_finish(&l);
}

static void test_runs_list(void **state)
{
	struct fixture *f = *state;
	int64_t a1 = make_run(f->s, "a", "a1", 100);
	int64_t b1 = make_run(f->s, "b", "b1", 150);
	int64_t a3 = make_run(f->s, "a", "a3", 300);
	make_run(f->s, "a", "a2", 200);
	make_run(f->s, "b", "b2", 300); /* same date as a3, created later: newer */
	set_state(f->s, a1, RUN_RUNNING, 1);
	set_state(f->s, a1, RUN_SUCCESS, 2);
	set_state(f->s, a3, RUN_RUNNING, 3);
	set_state(f->s, b1, RUN_FAILED, 4);

	enum run_state queued = RUN_QUEUED, success = RUN_SUCCESS, running = RUN_RUNNING;
	list_runs(f->s, NULL, NULL, 0, "b/b2,a/a3,a/a2,b/b1,a/a1");
	list_runs(f->s, NULL, NULL, 2, "b/b2,a/a3");
	list_runs(f->s, "a", NULL, 0, "a/a3,a/a2,a/a1");
	list_runs(f->s, "a", NULL, 1, "a/a3");
	list_runs(f->s, NULL, &queued, 0, "b/b2,a/a2");
	list_runs(f->s, "a", &success, 0, "a/a1");
	list_runs(f->s, "b", &running, 0, "");
	list_runs(f->s, "zzz", NULL, 0, "");

	struct run_list l = {0};
	char *err = NULL;
	assert_true(store_runs_active(f->s, &l, &err));
	assert_run_ids(&l, "a/a3,a/a2,b/b2");
	assert_int_equal(l.v[0].state, RUN_RUNNING);
	assert_int_equal(l.v[1].state, RUN_QUEUED);
	run_list_finish(&l);
}

static void test_tis_for_run(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_run(f->s, "etl", "r1", 1000);
	make_run(f->s, "etl", "r2", 2000);
	struct ti_list l = {0};
	char *err = NULL;
	assert_true(store_tis_for_run(f->s, id, &l, &err));
	assert_int_equal(l.len, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(l.v[i].task_id, three_tasks[i]);
		assert_int_equal(l.v[i].max_tries, three_tries[i]);
		assert_int_equal(l.v[i].run_pk, id);
		assert_string_equal(l.v[i].dag_id, "etl");
		assert_string_equal(l.v[i].run_id, "r1");
		assert_int_equal(l.v[i].state, TI_NONE);
		assert_int_equal(l.v[i].try_number, 0);
		assert_null(l.v[i].service_id);
		assert_false(l.v[i].has_exit_code);
		assert_int_equal(l.v[i].start_ms, 0);
	}
	assert_true(l.v[0].id < l.v[1].id && l.v[1].id < l.v[2].id);
	ti_list_finish(&l);
	assert_true(store_tis_for_run(f->s, id + 10, &l, &err));
	assert_int_equal(l.len, 0);
	ti_list_finish(&l);
}

/* Returns a copy of the task instance of run `run_pk` named task. */
static struct ti get_ti(struct store *s, int64_t run_pk, const char *task)
{
	struct ti_list l = {0};
	struct ti out = {0};
	char *err = NULL;
	assert_true(store_tis_for_run(s, run_pk, &l, &err));
	for (size_t i = 0; i < l.len; i++) {
		if (strcmp(l.v[i].task_id, task) == 0) {
			out = l.v[i];
			l.v[i] = (struct ti){0};
		}
	}
	ti_list_finish(&l);
	assert_non_null(out.task_id);
	return out;
}

static void update_ok(struct store *s, const struct ti *ti)
{
	char *err = NULL;
	if (!store_ti_update(s, ti, &err))
		fail_msg("store_ti_update: %s", err);
}

static void test_ti_update_roundtrip(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_run(f->s, "etl", "r1", 1000);
	struct ti t = get_ti(f->s, id, "transform");
	struct ti w = t;
	w.state = TI_UP_FOR_RETRY;
	w.try_number = 2;
	w.service_id = "svc123";
	w.service_name = "swarmflow_etl_transform_0badcafe";
	w.has_exit_code = true;
	w.exit_code = 0;
	w.error = "task: non-zero exit (1)";
	w.log_path = "/var/lib/swarmflow/logs/etl/r1/transform/2.log";
	w.queued_ms = 11;
	w.start_ms = 12;
	w.end_ms = 13;
	w.next_try_ms = 14;
	update_ok(f->s, &w);

	struct ti g = get_ti(f->s, id, "transform");
	assert_int_equal(g.id, t.id);
	assert_int_equal(g.state, TI_UP_FOR_RETRY);
	assert_int_equal(g.try_number, 2);
	assert_int_equal(g.max_tries, 3);
	assert_string_equal(g.service_id, "svc123");
	assert_string_equal(g.service_name, "swarmflow_etl_transform_0badcafe");
	assert_true(g.has_exit_code);
	assert_int_equal(g.exit_code, 0);
	assert_string_equal(g.error, "task: non-zero exit (1)");
	assert_string_equal(g.log_path, "/var/lib/swarmflow/logs/etl/r1/transform/2.log");
	assert_int_equal(g.queued_ms, 11);
	assert_int_equal(g.start_ms, 12);
	assert_int_equal(g.end_ms, 13);
	assert_int_equal(g.next_try_ms, 14);
	ti_finish(&g);

	/* Back to unknown exit code, NULL strings and zero times. */
	w.state = TI_SCHEDULED;
	w.has_exit_code = false;
	w.exit_code = 137;
	w.service_id = w.service_name = w.error = w.log_path = NULL;
	w.queued_ms = w.start_ms = w.end_ms = w.next_try_ms = 0;
	update_ok(f->s, &w);
	g = get_ti(f->s, id, "transform");
	assert_int_equal(g.state, TI_SCHEDULED);
	assert_false(g.has_exit_code);
	assert_int_equal(g.exit_code, 0);
	assert_null(g.service_id);
	assert_null(g.service_name);
	assert_null(g.error);
	assert_null(g.log_path);
	assert_int_equal(g.queued_ms + g.start_ms + g.end_ms + g.next_try_ms, 0);
	ti_finish(&g);

	/* A negative exit code survives too; the other tasks are untouched. */
	w.has_exit_code = true;
	w.exit_code = -1;
	update_ok(f->s, &w);
	g = get_ti(f->s, id, "transform");
	assert_int_equal(g.exit_code, -1);
	ti_finish(&g);
	g = get_ti(f->s, id, "extract");
	assert_int_equal(g.state, TI_NONE);
	assert_false(g.has_exit_code);
	ti_finish(&g);

	struct ti one = {0};
	char *err = NULL;
	assert_true(store_ti_get(f->s, t.id, &one, &err));
	assert_int_equal(one.id, t.id);
	assert_int_equal(one.run_pk, id);
	assert_string_equal(one.task_id, "transform");
	assert_int_equal(one.exit_code, -1);
	assert_int_equal(one.max_tries, 3);
	ti_finish(&one);
	assert_false(store_ti_get(f->s, t.id + 1000, &one, &err));
	char *want = xasprintf("store: no task instance with id %lld", (long long)(t.id + 1000));
	assert_string_equal(err, want);
	free(want);
	free(err);
	err = NULL;
	w.id = t.id + 1000;
	assert_false(store_ti_update(f->s, &w, &err));
	assert_true(str_has_prefix(err, "store: update task instance: no task instance with id "));
	free(err);
	ti_finish(&t);
}

static void test_tis_in_flight(void **state)
{
	struct fixture *f = *state;
	int64_t r1 = make_run(f->s, "etl", "r1", 1000);
	int64_t r2 = make_run(f->s, "etl", "r2", 2000);
	struct ti a = get_ti(f->s, r1, "load"), b = get_ti(f->s, r2, "extract"),
		  c = get_ti(f->s, r2, "transform");
	a.state = TI_RUNNING;
	b.state = TI_QUEUED;
	c.state = TI_SUCCESS;
	update_ok(f->s, &a);
	update_ok(f->s, &b);
	update_ok(f->s, &c);

	struct ti_list l = {0};
	char *err = NULL;
	assert_true(store_tis_in_flight(f->s, &l, &err));
	assert_int_equal(l.len, 2);
	assert_int_equal(l.v[0].id, a.id);
	assert_int_equal(l.v[0].state, TI_RUNNING);
	assert_string_equal(l.v[0].task_id, "load");
	assert_int_equal(l.v[1].id, b.id);
	assert_int_equal(l.v[1].state, TI_QUEUED);
	assert_string_equal(l.v[1].run_id, "r2");
	ti_list_finish(&l);
	ti_finish(&a);
	ti_finish(&b);
	ti_finish(&c);
}

static void record_ok(struct store *s, const struct ti *ti)
{
	char *err = NULL;
	if (!store_try_record(s, ti, &err))
		fail_msg("store_try_record: %s", err);
}

static void test_tries(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_run(f->s, "etl", "r1", 1000);
	struct ti t = get_ti(f->s, id, "transform");
	struct ti w = t;
	w.try_number = 2;
	w.state = TI_RUNNING;
	w.service_id = "s2";
	w.start_ms = 200;
	record_ok(f->s, &w);
	w.try_number = 1;
	w.state = TI_FAILED;
	w.service_id = "s1";
	w.service_name = "n1";
	w.has_exit_code = true;
	w.exit_code = 3;
	w.error = "boom";
	w.log_path = "/l/1.log";
	w.start_ms = 100;
	w.end_ms = 150;
	record_ok(f->s, &w);
	/* Try 2 finishes: replaced, not duplicated. */
	w = t;
	w.try_number = 2;
	w.state = TI_SUCCESS;
	w.service_id = "s2";
	w.has_exit_code = true;
	w.exit_code = 0;
	w.start_ms = 200;
	w.end_ms = 260;
	record_ok(f->s, &w);

	struct ti_list l = {0};
	char *err = NULL;
	assert_true(store_tries_list(f->s, t.id, &l, &err));
	assert_int_equal(l.len, 2);
	assert_int_equal(l.v[0].try_number, 1);
	assert_int_equal(l.v[0].state, TI_FAILED);
	assert_int_equal(l.v[0].id, t.id);
	assert_int_equal(l.v[0].run_pk, id);
	assert_string_equal(l.v[0].task_id, "transform");
	assert_int_equal(l.v[0].max_tries, 3);
	assert_string_equal(l.v[0].service_id, "s1");
	assert_string_equal(l.v[0].service_name, "n1");
	assert_true(l.v[0].has_exit_code);
	assert_int_equal(l.v[0].exit_code, 3);
	assert_string_equal(l.v[0].error, "boom");
	assert_string_equal(l.v[0].log_path, "/l/1.log");
	assert_int_equal(l.v[0].start_ms, 100);
	assert_int_equal(l.v[0].end_ms, 150);
	assert_int_equal(l.v[1].try_number, 2);
	assert_int_equal(l.v[1].state, TI_SUCCESS);
	assert_string_equal(l.v[1].service_id, "s2");
	assert_null(l.v[1].service_name);
	assert_true(l.v[1].has_exit_code);
	assert_int_equal(l.v[1].exit_code, 0);
	assert_null(l.v[1].error);
	assert_int_equal(l.v[1].end_ms, 260);
	ti_list_finish(&l);

	assert_true(store_tries_list(f->s, t.id + 1, &l, &err));
	assert_int_equal(l.len, 0);
	ti_list_finish(&l);
	/* A try of a task instance that does not exist violates the foreign key. */
	w.id = t.id + 1000;
	assert_false(store_try_record(f->s, &w, &err));
	assert_string_equal(err, "store: record task try: FOREIGN KEY constraint failed");
	free(err);
	ti_finish(&t);
}

/* The node a try ran on and the time it was queued: on the task instance, then on its try. */
static void test_node_and_queue_time(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	int64_t id = make_run(f->s, "etl", "r1", 1000);
	struct ti t = get_ti(f->s, id, "transform");
	assert_null(t.node_id);
	t.state = TI_RUNNING;
	t.try_number = 1;
	t.queued_ms = 40;
	t.start_ms = 50;
	update_ok(f->s, &t);
	assert_true(store_ti_set_node(f->s, t.id, "node-1", &err));
	struct ti g = get_ti(f->s, id, "transform");
	assert_string_equal(g.node_id, "node-1");
	ti_finish(&g);

	/* An update of the same try keeps the node, whatever the struct says (t has none). */
	t.state = TI_UP_FOR_RETRY;
	t.end_ms = 60;
	update_ok(f->s, &t);
	g = get_ti(f->s, id, "transform");
	assert_string_equal(g.node_id, "node-1");
	ti_finish(&g);
	/* The try's record copies the task instance's node and the struct's queue time. */
	record_ok(f->s, &t);

	/* The next try starts without a node, even from a struct that still carries one. */
	t.state = TI_QUEUED;
	t.try_number = 2;
	t.queued_ms = 70;
	t.start_ms = t.end_ms = 0;
	t.node_id = "stale";
	update_ok(f->s, &t);
	t.node_id = NULL;
	g = get_ti(f->s, id, "transform");
	assert_null(g.node_id);
	ti_finish(&g);
	/* Try 2 ends before its node is known; the node arrives late and reaches its row too. */
	t.state = TI_FAILED;
	t.end_ms = 90;
	update_ok(f->s, &t);
	record_ok(f->s, &t);
	assert_true(store_ti_set_node(f->s, t.id, "node-2", &err));
	/* The task instance forgets its node, and the try is recorded once more without one: the
	 * try's known node is kept. */
	assert_true(store_ti_set_node(f->s, t.id, "", &err));
	g = get_ti(f->s, id, "transform");
	assert_null(g.node_id);
	ti_finish(&g);
	record_ok(f->s, &t);

	struct ti_list l = {0};
	assert_true(store_tries_list(f->s, t.id, &l, &err));
	assert_int_equal(l.len, 2);
	assert_int_equal(l.v[0].try_number, 1);
	assert_string_equal(l.v[0].node_id, "node-1");
	assert_int_equal(l.v[0].queued_ms, 40);
	assert_int_equal(l.v[0].next_try_ms, 0);
	assert_int_equal(l.v[1].try_number, 2);
	assert_string_equal(l.v[1].node_id, "node-2");
	assert_int_equal(l.v[1].queued_ms, 70);
	ti_list_finish(&l);

	/* A recorded try of an older number takes the struct's node, not the current try's. */
	struct ti old = t;
	old.try_number = 1;
	old.node_id = "node-x";
	old.queued_ms = 0;
	record_ok(f->s, &old);
	assert_true(store_tries_list(f->s, t.id, &l, &err));
	assert_string_equal(l.v[0].node_id, "node-x");
	assert_int_equal(l.v[0].queued_ms, 40);
	ti_list_finish(&l);

	/* Other task instances are untouched; an unknown one fails and changes nothing. */
	g = get_ti(f->s, id, "extract");
	assert_null(g.node_id);
	ti_finish(&g);
	assert_false(store_ti_set_node(f->s, t.id + 1000, "n", &err));
	char *want =
	    xasprintf("store: set node: no task instance with id %lld", (long long)(t.id + 1000));
	assert_string_equal(err, want);
	free(want);
	free(err);
	t.node_id = NULL;
	ti_finish(&t);
}

static void test_pause(void **state)
{
	struct fixture *f = *state;
	bool paused = true;
	char *err = NULL;
	assert_true(store_dag_is_paused(f->s, "etl", &paused, &err));
	assert_false(paused);
	assert_true(store_dag_set_paused(f->s, "etl", true, &err));
	assert_true(store_dag_is_paused(f->s, "etl", &paused, &err));
	assert_true(paused);
	assert_true(store_dag_is_paused(f->s, "other", &paused, &err));
	assert_false(paused);
	assert_true(store_dag_set_paused(f->s, "etl", false, &err));
	assert_true(store_dag_is_paused(f->s, "etl", &paused, &err));
	assert_false(paused);
	assert_null(err);
}

/* The runner column: NULL for the daemon's runs, a name for a foreground run, and handed over. */
static void test_runner(void **state)
{
	struct fixture *f = *state;
	struct run r = {.dag_id = "etl", .run_id = "t1", .runner = "test:host:42"};
	struct run out = {0}, got = {0};
	char *err = NULL;
	assert_true(store_run_create(f->s, &r, three_tasks, three_tries, 3, &out, &err));
	assert_string_equal(out.runner, "test:host:42");
	int64_t daemon_run = make_run(f->s, "etl", "d1", 100);
	assert_true(store_run_get_by_id(f->s, daemon_run, &got, &err));
	assert_null(got.runner);
	run_finish(&got);
	assert_true(store_run_set_runner(f->s, out.id, NULL, &err));
	assert_true(store_run_get_by_id(f->s, out.id, &got, &err));
	assert_null(got.runner);
	run_finish(&got);
	assert_true(store_run_set_runner(f->s, out.id, "test:other:7", &err));
	assert_true(store_run_get(f->s, "etl", "t1", &got, &err));
	assert_string_equal(got.runner, "test:other:7");
	run_finish(&got);
	run_finish(&out);
	assert_null(err);
}

/* The newest run of a type; and clearing a task instance for another go. */
static void test_latest_and_clear(void **state)
{
	struct fixture *f = *state;
	struct run out = {0};
	bool found = true;
	char *err = NULL;
	assert_true(store_run_latest(f->s, "etl", "scheduled", &out, &found, &err));
	assert_false(found);
	make_run(f->s, "etl", "scheduled__a", 100);
	int64_t newest = make_run(f->s, "etl", "scheduled__b", 300);
	make_run(f->s, "etl", "scheduled__c", 200);
	make_run(f->s, "other", "scheduled__d", 900);
	assert_true(store_run_latest(f->s, "etl", "scheduled", &out, &found, &err));
	assert_true(found);
	assert_int_equal(out.id, newest);
	run_finish(&out);
	assert_true(store_run_latest(f->s, "etl", "manual", &out, &found, &err));
	assert_false(found);

	struct ti ti = get_ti(f->s, newest, "transform");
	ti.state = TI_FAILED;
	ti.try_number = 3;
	ti.service_id = xstrdup("svc");
	ti.has_exit_code = true;
	ti.exit_code = 2;
	ti.error = xstrdup("boom");
	ti.end_ms = 5;
	update_ok(f->s, &ti);
	assert_true(store_ti_set_node(f->s, ti.id, "node-a", &err));
	ti_finish(&ti);
	assert_true(store_ti_clear(f->s, newest, "transform", 2, &err));
	ti = get_ti(f->s, newest, "transform");
	assert_int_equal(ti.state, TI_NONE);
	assert_int_equal(ti.try_number, 3);
	assert_int_equal(ti.max_tries, 6);
	assert_null(ti.service_id);
	assert_false(ti.has_exit_code);
	assert_null(ti.error);
	assert_null(ti.node_id);
	assert_int_equal(ti.end_ms, 0);
	ti_finish(&ti);
	assert_false(store_ti_clear(f->s, newest, "nope", 0, &err));
	assert_non_null(strstr(err, "no task 'nope'"));
	free(err);
}

static void test_transactions(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	int64_t id = make_run(f->s, "etl", "r1", 1000);

	/* Rolled back: the state change, the pause flag and a whole new run are undone. */
	assert_true(store_begin(f->s, &err));
	set_state(f->s, id, RUN_RUNNING, 5);
	assert_true(store_dag_set_paused(f->s, "etl", true, &err));
	make_run(f->s, "etl", "r2", 2000);
	store_rollback(f->s);
	assert_times(f->s, id, RUN_QUEUED, 1000005, 0, 0);
	bool paused = true;
	assert_true(store_dag_is_paused(f->s, "etl", &paused, &err));
	assert_false(paused);
	list_runs(f->s, NULL, NULL, 0, "etl/r1");

	/* A failing run_create inside a transaction undoes only itself. */
	assert_true(store_begin(f->s, &err));
	set_state(f->s, id, RUN_RUNNING, 6);
	struct run dup = {.dag_id = "etl", .run_id = "r1"};
	assert_false(store_run_create(f->s, &dup, NULL, NULL, 0, NULL, &err));
	assert_string_equal(err, "run 'r1' already exists for DAG 'etl'");
	free(err);
	err = NULL;
	make_run(f->s, "etl", "r3", 3000);
	/* A nested transaction rolled back, then the outer one committed. */
	assert_true(store_begin(f->s, &err));
	assert_true(store_dag_set_paused(f->s, "etl", true, &err));
	store_rollback(f->s);
	assert_true(store_commit(f->s, &err));
	assert_times(f->s, id, RUN_RUNNING, 1000005, 6, 0);
	list_runs(f->s, NULL, NULL, 0, "etl/r3,etl/r1");
	assert_true(store_dag_is_paused(f->s, "etl", &paused, &err));
	assert_false(paused);

	assert_false(store_commit(f->s, &err));
	assert_string_equal(err, "store: commit: no transaction is open");
	free(err);
	store_rollback(f->s); /* no-op */
}

struct holder {
	const char *path;
	int ready_fd;
	bool ok;
};

/* Thread of test_two_handles: holds the write lock on its own handle for a while, then
 * commits. */
static void *hold_lock(void *arg)
{
	struct holder *h = arg;
	char *err = NULL;
	struct store *s = store_open(h->path, &err);
	h->ok = s && store_begin(s, &err) && store_dag_set_paused(s, "held", true, &err);
	if (write(h->ready_fd, "x", 1) != 1)
		h->ok = false;
	usleep(300 * 1000);
	h->ok = h->ok && store_commit(s, &err);
	store_close(s);
	free(err);
	return NULL;
}

static void test_two_handles(void **state)
{
	struct fixture *f = *state;
	struct store *w = f->s, *r = open_ok(f->path);
	char *err = NULL;
	int64_t id = make_run(w, "etl", "r1", 1000);

	/* The reader sees committed data, and not what the writer has not committed yet. */
	struct run run = {0};
	assert_true(store_run_get_by_id(r, id, &run, &err));
	run_finish(&run);
	assert_true(store_begin(w, &err));
	/* BEGIN IMMEDIATE: the write lock is taken at once, before any write. */
	sqlite3 *raw = raw_open(f->path);
	sqlite3_busy_timeout(raw, 0);
	assert_int_equal(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
	sqlite3_close(raw);
	set_state(w, id, RUN_RUNNING, 77);
	assert_times(r, id, RUN_QUEUED, 1000005, 0, 0);
	assert_true(store_commit(w, &err));
	assert_times(r, id, RUN_RUNNING, 1000005, 77, 0);

	/* A third handle holds the write lock: our write waits for it instead of failing. */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct holder h = {.path = f->path, .ready_fd = fds[1]};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, hold_lock, &h), 0);
	char c;
	assert_int_equal(read(fds[0], &c, 1), 1);
	int64_t t0 = time_mono_ms();
	assert_true(store_dag_set_paused(r, "mine", true, &err));
	int64_t waited = time_mono_ms() - t0;
	assert_int_equal(pthread_join(thread, NULL), 0);
	close(fds[0]);
	close(fds[1]);
	assert_true(h.ok);
	assert_true(waited >= 100);
	bool paused = false;
	assert_true(store_dag_is_paused(w, "held", &paused, &err));
	assert_true(paused);
	assert_true(store_dag_is_paused(w, "mine", &paused, &err));
	assert_true(paused);
	assert_null(err);
	store_close(r);
}

static void test_state_names(void **state)
{
	(void)state;
	for (int i = 0; i < TI_STATE_COUNT; i++) {
		enum ti_state s = TI_NONE;
		assert_true(ti_state_parse(ti_state_name((enum ti_state)i), &s));
		assert_int_equal(s, i);
	}
	for (int i = 0; i < RUN_STATE_COUNT; i++) {
		enum run_state s = RUN_QUEUED;
		assert_true(run_state_parse(run_state_name((enum run_state)i), &s));
		assert_int_equal(s, i);
	}
	assert_string_equal(ti_state_name(TI_UP_FOR_RETRY), "up_for_retry");
	assert_string_equal(ti_state_name(TI_UPSTREAM_FAILED), "upstream_failed");
	assert_string_equal(run_state_name(RUN_FAILED), "failed");
	enum ti_state t;
	assert_false(ti_state_parse("Running", &t));
	assert_false(ti_state_parse(NULL, &t));
	enum run_state r;
	assert_false(run_state_parse("up_for_retry", &r));
	assert_true(ti_state_finished(TI_SUCCESS));
	assert_true(ti_state_finished(TI_FAILED));
	assert_true(ti_state_finished(TI_UPSTREAM_FAILED));
	assert_true(ti_state_finished(TI_SKIPPED));
	assert_true(ti_state_finished(TI_REMOVED));
	assert_false(ti_state_finished(TI_NONE));
	assert_false(ti_state_finished(TI_SCHEDULED));
	assert_false(ti_state_finished(TI_QUEUED));
	assert_false(ti_state_finished(TI_RUNNING));
	assert_false(ti_state_finished(TI_UP_FOR_RETRY));
}

#define BOTH(t)                                                                                    \
	cmocka_unit_test_setup_teardown(t, setup_file, teardown),                                  \
	    cmocka_unit_test_setup_teardown(t, setup_memory, teardown)
#define FILE_ONLY(t) cmocka_unit_test_setup_teardown(t, setup_file, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FILE_ONLY(test_open_schema_and_reopen),
	    BOTH(test_open_memory),
	    FILE_ONLY(test_wal_mode),
	    FILE_ONLY(test_newer_schema_refused),
	    cmocka_unit_test(test_open_bad_path),
	    BOTH(test_run_create_get),
	    BOTH(test_run_defaults),
	    BOTH(test_run_duplicate),
	    BOTH(test_run_create_atomic),
	    BOTH(test_run_set_state),
	    BOTH(test_runs_list),
	    BOTH(test_tis_for_run),
	    BOTH(test_ti_update_roundtrip),
	    BOTH(test_tis_in_flight),
	    BOTH(test_tries),
	    BOTH(test_node_and_queue_time),
	    BOTH(test_pause),
	    BOTH(test_runner),
	    BOTH(test_latest_and_clear),
	    BOTH(test_transactions),
	    FILE_ONLY(test_two_handles),
	    cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
