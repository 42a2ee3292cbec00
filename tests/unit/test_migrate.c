/* test_migrate.c - the store's schema migrations, from every earlier version to the current one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

#include "db_files.h"

/* Frozen copies of every shipped migration step, oldest first: frozen[i] takes a database from
 * version i to i + 1, exactly as the swarmflow that shipped it did. These are fixtures: never edit
 * one. When src/store/store.c gains step N + 1, append a copy of step N here (test_fixture_count
 * fails until you do), so that version N databases are tested too. */
static const char *const frozen[] = {
    /* 1: DAG flags, runs, task instances and their tries. */
    "CREATE TABLE dags ("
    " dag_id TEXT PRIMARY KEY,"
    " paused INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE dag_runs ("
    " id INTEGER PRIMARY KEY,"
    " dag_id TEXT NOT NULL,"
    " run_id TEXT NOT NULL,"
    " run_type TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " logical_date INTEGER NOT NULL,"
    " data_interval_start INTEGER NOT NULL,"
    " data_interval_end INTEGER NOT NULL,"
    " queued_ms INTEGER,"
    " start_ms INTEGER,"
    " end_ms INTEGER,"
    " conf TEXT NOT NULL DEFAULT '{}',"
    " runner TEXT,"
    " UNIQUE (dag_id, run_id));"
    "CREATE INDEX dag_runs_date ON dag_runs (logical_date);"
    "CREATE INDEX dag_runs_dag_date ON dag_runs (dag_id, logical_date);"
    "CREATE INDEX dag_runs_state_date ON dag_runs (state, logical_date);"
    "CREATE INDEX dag_runs_dag_state_date ON dag_runs (dag_id, state, logical_date);"
    "CREATE TABLE task_instances ("
    " id INTEGER PRIMARY KEY,"
    " run_pk INTEGER NOT NULL REFERENCES dag_runs (id) ON DELETE CASCADE,"
    " dag_id TEXT NOT NULL,"
    " run_id TEXT NOT NULL,"
    " task_id TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'none',"
    " try_number INTEGER NOT NULL DEFAULT 0,"
    " max_tries INTEGER NOT NULL DEFAULT 1,"
    " service_id TEXT,"
    " service_name TEXT,"
    " exit_code INTEGER,"
    " error TEXT,"
    " log_path TEXT,"
    " queued_ms INTEGER,"
    " start_ms INTEGER,"
    " end_ms INTEGER,"
    " next_try_ms INTEGER,"
    " UNIQUE (run_pk, task_id));"
    "CREATE INDEX task_instances_run ON task_instances (run_pk);"
    "CREATE INDEX task_instances_state ON task_instances (state);"
    "CREATE TABLE task_tries ("
    " ti_pk INTEGER NOT NULL REFERENCES task_instances (id) ON DELETE CASCADE,"
    " try_number INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " service_id TEXT,"
    " service_name TEXT,"
    " exit_code INTEGER,"
    " error TEXT,"
    " log_path TEXT,"
    " start_ms INTEGER,"
    " end_ms INTEGER,"
    " PRIMARY KEY (ti_pk, try_number));"
    "PRAGMA user_version = 1;",
    /* 2: the Swarm node a try ran on (task instance and try), when a try was queued. */
    "ALTER TABLE task_instances ADD COLUMN node_id TEXT;"
    "ALTER TABLE task_tries ADD COLUMN node_id TEXT;"
    "ALTER TABLE task_tries ADD COLUMN queued_ms INTEGER;"
    "PRAGMA user_version = 2;",
    /* 3: the scheduler lease (store_lease.c): one row, free (holder NULL) at first. */
    "CREATE TABLE scheduler_lease ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " holder TEXT,"
    " token INTEGER NOT NULL,"
    " beat INTEGER NOT NULL,"
    " renewed_ms INTEGER,"
    " timeout_ms INTEGER);"
    "INSERT INTO scheduler_lease (id, token, beat) VALUES (1, 0, 0);"
    "PRAGMA user_version = 3;",
};

#define CURRENT ((int)ARRAY_LEN(frozen) + 1)

/* Representative rows, in version 1's columns (every later version only adds columns): runs in
 * every state, conf JSON, pause flags, task instances in most states with tries and retries. */
static const char fixture_rows[] =
    "INSERT INTO dags (dag_id, paused) VALUES ('etl', 1), ('ml', 0), ('never_run', 1);"
    "INSERT INTO dag_runs (id, dag_id, run_id, run_type, state, logical_date,"
    " data_interval_start, data_interval_end, queued_ms, start_ms, end_ms, conf, runner) VALUES"
    " (1, 'etl', 'scheduled__2026-11-01T00:00:00+00:00', 'scheduled', 'success', 1793491200,"
    "  1793491200, 1793577600, 1793577600123, 1793577601000, 1793577700999, '{}', NULL),"
    " (2, 'etl', 'manual__2026-11-02', 'manual', 'failed', 1793577600, 1793577600, 1793664000,"
    "  1793577600500, 1793577601500, 1793577609000,"
    "  '{\"k\":\"v\",\"n\":[1,2.5,null],\"s\":\"\xc3\xa9 \\\"q\\\"\"}', NULL),"
    " (3, 'ml', 'backfill__2026-10-01', 'backfill', 'running', 1790812800, 1790812800,"
    "  1790899200, 1793577000000, 1793577001000, NULL, '{\"depth\":{\"a\":[true,false]}}',"
    "  'test'),"
    " (4, 'ml', 'r4', 'manual', 'queued', 1793664000, 1793664000, 1793750400, 1793664000001,"
    "  NULL, NULL, '{}', NULL);"
    "INSERT INTO task_instances (id, run_pk, dag_id, run_id, task_id, state, try_number,"
    " max_tries, service_id, service_name, exit_code, error, log_path, queued_ms, start_ms,"
    " end_ms, next_try_ms) VALUES"
    " (1, 1, 'etl', 'scheduled__2026-11-01T00:00:00+00:00', 'extract', 'success', 1, 1, 's1',"
    "  'swarmflow_etl_extract_00000001', 0, NULL, '/l/etl/1/extract/1.log', 10, 11, 12, NULL),"
    " (2, 1, 'etl', 'scheduled__2026-11-01T00:00:00+00:00', 'transform', 'success', 2, 3,"
    "  's2', 'swarmflow_etl_transform_00000002', 0, NULL, '/l/etl/1/transform/2.log', 20, 21,"
    "  22, NULL),"
    " (3, 2, 'etl', 'manual__2026-11-02', 'extract', 'failed', 1, 1, 's3', 'n3', 137,"
    "  'task: non-zero exit (137) \"oom\"', '/l/3.log', 30, 31, 32, NULL),"
    " (4, 2, 'etl', 'manual__2026-11-02', 'transform', 'upstream_failed', 0, 3, NULL, NULL,"
    "  NULL, 'upstream failed', NULL, NULL, NULL, 42, NULL),"
    " (5, 3, 'ml', 'backfill__2026-10-01', 'train', 'running', 1, 2, 's5', 'n5', NULL, NULL,"
    "  NULL, 50, 51, NULL, NULL),"
    " (6, 3, 'ml', 'backfill__2026-10-01', 'eval', 'up_for_retry', 1, 4, 's6', 'n6', -1,"
    "  'engine: rejected', '/l/6.log', 60, 61, 62, 9000000000000),"
    " (7, 3, 'ml', 'backfill__2026-10-01', 'ship', 'queued', 1, 1, NULL, 'n7', NULL, NULL,"
    "  NULL, 70, NULL, NULL, NULL),"
    " (8, 3, 'ml', 'backfill__2026-10-01', 'notify', 'scheduled', 0, 1, NULL, NULL, NULL,"
    "  NULL, NULL, NULL, NULL, NULL, NULL),"
    " (9, 4, 'ml', 'r4', 'train', 'none', 0, 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    "  NULL);"
    "INSERT INTO task_tries (ti_pk, try_number, state, service_id, service_name, exit_code,"
    " error, log_path, start_ms, end_ms) VALUES"
    " (1, 1, 'success', 's1', 'swarmflow_etl_extract_00000001', 0, NULL,"
    "  '/l/etl/1/extract/1.log', 11, 12),"
    " (2, 1, 'up_for_retry', 's2a', 'swarmflow_etl_transform_0000000a', 1, 'exit (1)',"
    "  '/l/etl/1/transform/1.log', 15, 16),"
    " (2, 2, 'success', 's2', 'swarmflow_etl_transform_00000002', 0, NULL,"
    "  '/l/etl/1/transform/2.log', 21, 22),"
    " (3, 1, 'failed', 's3', 'n3', 137, 'task: non-zero exit (137) \"oom\"', '/l/3.log', 31,"
    "  32),"
    " (6, 1, 'up_for_retry', 's6', 'n6', -1, 'engine: rejected', '/l/6.log', 61, 62);";

/* The tables and the columns of version 1, to compare every value before and after. */
static const char *const v1_dumps[] = {
    "SELECT dag_id, paused FROM dags ORDER BY dag_id",
    "SELECT id, dag_id, run_id, run_type, state, logical_date, data_interval_start,"
    " data_interval_end, queued_ms, start_ms, end_ms, conf, runner FROM dag_runs ORDER BY id",
    "SELECT id, run_pk, dag_id, run_id, task_id, state, try_number, max_tries, service_id,"
    " service_name, exit_code, error, log_path, queued_ms, start_ms, end_ms, next_try_ms"
    " FROM task_instances ORDER BY id",
    "SELECT ti_pk, try_number, state, service_id, service_name, exit_code, error, log_path,"
    " start_ms, end_ms FROM task_tries ORDER BY ti_pk, try_number",
};

/* The schema, normalised: sqlite_master without root pages, whitespace collapsed; and what
 * SQLite itself makes of it (columns, foreign keys, indexes). */
static const char *const schema_dumps[] = {
    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
    "SELECT m.name, p.cid, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk"
    " FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'"
    " ORDER BY m.name, p.cid",
    "SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", f.\"to\", f.on_delete"
    " FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
    " ORDER BY m.name, f.id, f.seq",
    "SELECT m.name, i.name, i.\"unique\", i.origin, i.partial"
    " FROM sqlite_master m, pragma_index_list(m.name) i WHERE m.type = 'table'"
    " ORDER BY m.name, i.name",
};

struct fixture {
	char dir[64];
	char path[128];  /* the database under test */
	char fresh[128]; /* a database created by this build */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sf_migrate_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	snprintf(f->fresh, sizeof(f->fresh), "%s/fresh.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_db(f->path);
	remove_db(f->fresh);
	rmdir(f->dir);
	free(f);
	return 0;
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
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

/* Appends text with its whitespace runs collapsed to one space (none after '(' or before ',' and
 * ')'), so that only the schema's meaning is compared, not its layout. */
static void put_normalised(struct buf *b, const char *t)
{
	bool space = false;
	for (; *t; t++) {
		if (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r') {
			space = true;
			continue;
		}
		bool after_open = b->len && b->data[b->len - 1] == '(';
		if (space && !after_open && *t != ',' && *t != ')')
			buf_append(b, " ", 1);
		space = false;
		buf_append(b, t, 1);
	}
}

/* Every row of every query, each value with its type, one row a line. Caller frees. */
static char *dump(sqlite3 *db, const char *const *queries, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t q = 0; q < n; q++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, queries[q], -1, &st, NULL) != SQLITE_OK)
			fail_msg("%s: %s", queries[q], sqlite3_errmsg(db));
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const char *v = (const char *)sqlite3_column_text(st, c);
				static const char types[] = "?ifbn";
				int type = sqlite3_column_type(st, c);
				buf_printf(&b, "%s%c:", c ? "|" : "",
					   type == SQLITE_TEXT ? 't' : types[type]);
				put_normalised(&b, v ? v : "");
			}
			buf_append(&b, "\n", 1);
		}
		assert_int_equal(rc, SQLITE_DONE);
		sqlite3_finalize(st);
		buf_append(&b, "--\n", 3);
	}
	return buf_steal(&b);
}

static char *dump_file(const char *path, const char *const *queries, size_t n)
{
	sqlite3 *db = raw_open(path);
	char *d = dump(db, queries, n);
	sqlite3_close(db);
	return d;
}

/* Builds a database at `version` with the frozen steps, each in its own transaction as the
 * swarmflow that shipped them ran them, then the fixture rows. */
static void build_old(const char *path, int version)
{
	sqlite3 *db = raw_open(path);
	raw_exec(db, "PRAGMA journal_mode = WAL");
	for (int step = 0; step < version; step++) {
		raw_exec(db, "BEGIN IMMEDIATE");
		raw_exec(db, frozen[step]);
		raw_exec(db, "COMMIT");
	}
	assert_int_equal(raw_int(db, "PRAGMA user_version"), version);
	raw_exec(db, "BEGIN");
	raw_exec(db, fixture_rows);
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
}

static struct store *open_ok(const char *path)
{
	char *err = NULL;
	struct store *s = store_open(path, &err);
	if (!s)
		fail_msg("store_open %s: %s", path, err);
	return s;
}

static void make_fresh(const char *path)
{
	struct store *s = open_ok(path);
	assert_int_equal(store_schema_version(s), CURRENT);
	store_close(s);
}

/* The fixture as the store's API reads it after the migration. */
static void check_api_reads(struct store *s)
{
	char *err = NULL;
	bool paused = false;
	assert_true(store_dag_is_paused(s, "etl", &paused, &err));
	assert_true(paused);
	assert_true(store_dag_is_paused(s, "ml", &paused, &err));
	assert_false(paused);
	assert_true(store_dag_is_paused(s, "never_run", &paused, &err));
	assert_true(paused);

	struct run r = {0};
	assert_true(store_run_get(s, "etl", "manual__2026-11-02", &r, &err));
	assert_int_equal(r.state, RUN_FAILED);
	assert_string_equal(r.conf,
			    "{\"k\":\"v\",\"n\":[1,2.5,null],\"s\":\"\xc3\xa9 \\\"q\\\"\"}");
	assert_int_equal(r.end_ms, 1793577609000);
	run_finish(&r);
	assert_true(store_run_get_by_id(s, 3, &r, &err));
	assert_int_equal(r.state, RUN_RUNNING);
	assert_string_equal(r.runner, "test");
	assert_string_equal(r.run_type, "backfill");
	run_finish(&r);
	struct run_list runs = {0};
	assert_true(store_runs_active(s, &runs, &err));
	assert_int_equal(runs.len, 2);
	run_list_finish(&runs);

	struct ti_list tis = {0};
	assert_true(store_tis_for_run(s, 3, &tis, &err));
	assert_int_equal(tis.len, 4);
	static const enum ti_state want[] = {TI_RUNNING, TI_UP_FOR_RETRY, TI_QUEUED, TI_SCHEDULED};
	for (size_t i = 0; i < tis.len; i++) {
		assert_int_equal(tis.v[i].state, want[i]);
		assert_null(tis.v[i].node_id);
	}
	assert_int_equal(tis.v[1].exit_code, -1);
	assert_int_equal(tis.v[1].next_try_ms, 9000000000000);
	ti_list_finish(&tis);

	assert_true(store_tries_list(s, 2, &tis, &err));
	assert_int_equal(tis.len, 2);
	assert_int_equal(tis.v[0].state, TI_UP_FOR_RETRY);
	assert_string_equal(tis.v[0].error, "exit (1)");
	assert_int_equal(tis.v[1].state, TI_SUCCESS);
	for (size_t i = 0; i < tis.len; i++) {
		assert_null(tis.v[i].node_id);
		assert_int_equal(tis.v[i].queued_ms, 0);
	}
	ti_list_finish(&tis);
	assert_null(err);
}

/* The new columns of every version after 1: NULL (or their default) in migrated rows. */
static void check_new_columns(const char *path)
{
	sqlite3 *db = raw_open(path);
	assert_int_equal(
	    raw_int(db, "SELECT count(*) FROM task_instances WHERE node_id IS NOT NULL"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM task_tries"
				     " WHERE node_id IS NOT NULL OR queued_ms IS NOT NULL"),
			 0);
	/* Version 4: every task instance unmapped, no try with an output; the tries kept. */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM task_instances"
				     " WHERE map_index <> -1 OR map_item IS NOT NULL"),
			 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM task_tries WHERE output IS NOT NULL"),
			 0);
	assert_int_equal(
	    raw_int(db, "SELECT count(*) FROM task_tries t"
			" LEFT JOIN task_instances i ON i.id = t.ti_pk WHERE i.id IS NULL"),
	    0);
	/* Version 3: the scheduler lease, free and never held. */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM scheduler_lease"
				     " WHERE id = 1 AND holder IS NULL AND token = 0 AND beat = 0"),
			 1);
	sqlite3_close(db);
}

/* The migrated store takes the new fields: the node of a running try, copied to its record. */
static void check_new_writes(struct store *s)
{
	char *err = NULL;
	struct ti ti = {0};
	assert_true(store_ti_get(s, 5, &ti, &err));
	assert_true(store_ti_set_node(s, ti.id, "node-after-migration", &err));
	ti.state = TI_SUCCESS;
	ti.end_ms = 52;
	ti.has_exit_code = true;
	assert_true(store_begin(s, &err) && store_ti_update(s, &ti, &err) &&
		    store_try_record(s, &ti, &err) && store_commit(s, &err));
	ti_finish(&ti);
	struct ti_list tries = {0};
	assert_true(store_tries_list(s, 5, &tries, &err));
	assert_int_equal(tries.len, 1);
	assert_string_equal(tries.v[0].node_id, "node-after-migration");
	assert_int_equal(tries.v[0].queued_ms, 50);
	ti_list_finish(&tries);
	assert_null(err);
}

/* A test of its own, so that a forgotten frozen copy fails by name. */
static void test_fixture_count(void **state)
{
	(void)state;
	struct store *s = open_ok(":memory:");
	assert_int_equal(store_schema_version(s), CURRENT);
	store_close(s);
}

/* From each earlier version: every row and value survives, the new columns are NULL, the schema
 * is a fresh database's, and a second open changes nothing. */
static void test_from_every_version(void **state)
{
	struct fixture *f = *state;
	make_fresh(f->fresh);
	char *want_schema = dump_file(f->fresh, schema_dumps, ARRAY_LEN(schema_dumps));
	for (int version = 1; version < CURRENT; version++) {
		remove_db(f->path);
		build_old(f->path, version);
		char *before = dump_file(f->path, v1_dumps, ARRAY_LEN(v1_dumps));
		/* Not vacuous: the fixture is all there before the migration. */
		assert_non_null(strstr(before, "|t:task: non-zero exit (137) \"oom\"|"));
		assert_non_null(strstr(before, "|t:{\"depth\":{\"a\":[true,false]}}|t:test\n"));
		assert_non_null(strstr(before, "i:6|i:1|t:up_for_retry|t:s6|t:n6|i:-1|"));

		struct store *s = open_ok(f->path);
		assert_int_equal(store_schema_version(s), CURRENT);
		check_api_reads(s);
		store_close(s);

		sqlite3 *db = raw_open(f->path);
		assert_int_equal(raw_int(db, "PRAGMA user_version"), CURRENT);
		int64_t cookie = raw_int(db, "PRAGMA schema_version");
		sqlite3_close(db);
		char *after = dump_file(f->path, v1_dumps, ARRAY_LEN(v1_dumps));
		assert_string_equal(after, before);
		check_new_columns(f->path);
		char *schema = dump_file(f->path, schema_dumps, ARRAY_LEN(schema_dumps));
		assert_string_equal(schema, want_schema);

		/* The second open is a no-op: same version, same schema cookie, same rows. */
		s = open_ok(f->path);
		store_close(s);
		db = raw_open(f->path);
		assert_int_equal(raw_int(db, "PRAGMA user_version"), CURRENT);
		assert_int_equal(raw_int(db, "PRAGMA schema_version"), cookie);
		sqlite3_close(db);
		char *again = dump_file(f->path, v1_dumps, ARRAY_LEN(v1_dumps));
		assert_string_equal(again, before);
		check_new_columns(f->path);

		s = open_ok(f->path);
		check_new_writes(s);
		store_close(s);
		free(again);
		free(schema);
		free(after);
		free(before);
	}
	free(want_schema);
}

/* A fresh database: a second open is a no-op too. */
static void test_fresh_reopen(void **state)
{
	struct fixture *f = *state;
	make_fresh(f->path);
	sqlite3 *db = raw_open(f->path);
	int64_t cookie = raw_int(db, "PRAGMA schema_version");
	sqlite3_close(db);
	char *schema = dump_file(f->path, schema_dumps, ARRAY_LEN(schema_dumps));
	make_fresh(f->path);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA schema_version"), cookie);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), CURRENT);
	sqlite3_close(db);
	char *again = dump_file(f->path, schema_dumps, ARRAY_LEN(schema_dumps));
	assert_string_equal(again, schema);
	free(again);
	free(schema);
}

/* A database written by a newer swarmflow is refused, by name and both versions, untouched. */
static void test_newer_refused(void **state)
{
	struct fixture *f = *state;
	build_old(f->path, CURRENT - 1);
	sqlite3 *db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version = 1000");
	int64_t cookie = raw_int(db, "PRAGMA schema_version");
	sqlite3_close(db);
	char *before = dump_file(f->path, v1_dumps, ARRAY_LEN(v1_dumps));

	char *err = NULL;
	assert_null(store_open(f->path, &err));
	char *want = xasprintf("store: %s: schema version 1000 is newer than this swarmflow's (%d);"
			       " use a swarmflow at least as new as the one that wrote it",
			       f->path, CURRENT);
	assert_string_equal(err, want);
	free(want);
	free(err);

	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 1000);
	assert_int_equal(raw_int(db, "PRAGMA schema_version"), cookie);
	sqlite3_close(db);
	char *after = dump_file(f->path, v1_dumps, ARRAY_LEN(v1_dumps));
	assert_string_equal(after, before);
	free(after);
	free(before);
}

/* A file that is not SQLite: a clear error naming it, and the file is left as it was (SQLite
 * alone would take a one-byte file for an empty database and write over it). */
static void test_not_sqlite(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = {1, 37, 100, 4096, 70000};
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		remove_db(f->path);
		char *text = xmalloc(sizes[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			text[j] = "swarmflow.conf: not a database\n"[j % 31];
		int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, sizes[i]), (ssize_t)sizes[i]);
		close(fd);

		char *err = NULL;
		assert_null(store_open(f->path, &err));
		char *want = xasprintf(
		    "store: %s is not an SQLite database (file is not a database)", f->path);
		assert_string_equal(err, want);
		free(want);
		free(err);

		char *back = xmalloc(sizes[i] + 1);
		fd = open(f->path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, back, sizes[i] + 1), (ssize_t)sizes[i]);
		close(fd);
		assert_memory_equal(back, text, sizes[i]);
		free(back);
		free(text);
	}
	/* An empty file is an empty database: created. */
	remove_db(f->path);
	int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	make_fresh(f->path);
}

/* Some other program's SQLite database (tables, user_version 0) is not taken over. */
static void test_foreign_database(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = raw_open(f->path);
	raw_exec(db, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');");
	sqlite3_close(db);
	char *err = NULL;
	assert_null(store_open(f->path, &err));
	char *want = xasprintf("store: %s: has tables but no schema version: not a swarmflow state "
			       "database",
			       f->path);
	assert_string_equal(err, want);
	free(want);
	free(err);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master"), 1);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 0);
	sqlite3_close(db);
}

/* A step that fails half-way (as a crash in the middle would stop it) leaves the older version,
 * whole; once the cause is gone the next open migrates. */
static void test_failed_step_rolls_back(void **state)
{
	struct fixture *f = *state;
	build_old(f->path, 1);
	/* Step 2 adds task_instances.node_id, task_tries.node_id, then task_tries.queued_ms: a
	 * column already there makes its last statement fail after the first two succeeded. */
	sqlite3 *db = raw_open(f->path);
	raw_exec(db, "ALTER TABLE task_tries ADD COLUMN queued_ms INTEGER");
	sqlite3_close(db);
	char *before = dump_file(f->path, schema_dumps, ARRAY_LEN(schema_dumps));

	char *err = NULL;
	assert_null(store_open(f->path, &err));
	char *want = xasprintf("store: %s: migrate to schema version 2: duplicate column name: "
			       "queued_ms",
			       f->path);
	assert_string_equal(err, want);
	free(want);
	free(err);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_table_info('task_instances')"
				     " WHERE name = 'node_id'"),
			 0);
	char *after = dump(db, schema_dumps, ARRAY_LEN(schema_dumps));
	assert_string_equal(after, before);
	raw_exec(db, "ALTER TABLE task_tries DROP COLUMN queued_ms");
	sqlite3_close(db);

	struct store *s = open_ok(f->path);
	assert_int_equal(store_schema_version(s), CURRENT);
	check_api_reads(s);
	store_close(s);
	free(after);
	free(before);
}

/* Six processes open the database at path together; each must end at the current version. */
static void open_together(const char *path)
{
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t kids[6];
	for (size_t i = 0; i < ARRAY_LEN(kids); i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) != 0) /* EOF: everyone starts together */
				_exit(3);
			char *err = NULL;
			struct store *s = store_open(path, &err);
			if (!s) {
				fprintf(stderr, "child: %s\n", err);
				_exit(1);
			}
			int v = store_schema_version(s);
			store_close(s);
			_exit(v == CURRENT ? 0 : 2);
		}
	}
	close(go[0]);
	close(go[1]);
	for (size_t i = 0; i < ARRAY_LEN(kids); i++) {
		int status = 0;
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

/* Several processes open an old database at once: one migrates, the others wait and find it
 * done; nothing is applied twice. */
static void test_concurrent_first_open(void **state)
{
	struct fixture *f = *state;
	build_old(f->path, 1);
	make_fresh(f->fresh);
	open_together(f->path);
	char *want = dump_file(f->fresh, schema_dumps, ARRAY_LEN(schema_dumps));
	char *got = dump_file(f->path, schema_dumps, ARRAY_LEN(schema_dumps));
	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* Several processes create the database together (version 0): a process that read version 0
 * and then waited for another's migration must find every step done, not fail on the first. */
static void test_concurrent_create(void **state)
{
	struct fixture *f = *state;
	for (int round = 0; round < 8; round++) {
		char *path = xasprintf("%s.race%d", f->path, round);
		open_together(path);
		struct store *s = open_ok(path);
		assert_int_equal(store_schema_version(s), CURRENT);
		store_close(s);
		for (const char *sfx = ""; sfx; sfx = *sfx ? NULL : "-wal") {
			char *p2 = xasprintf("%s%s", path, sfx);
			unlink(p2);
			free(p2);
		}
		char *shm = xasprintf("%s-shm", path);
		unlink(shm);
		free(shm);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_count),
	    cmocka_unit_test_setup_teardown(test_from_every_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_sqlite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_step_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_create, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
