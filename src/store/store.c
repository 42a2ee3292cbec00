/* store.c - the SQLite state database: open, schema migrations, statements, transactions. */
#include "store_priv.h"

#include <sys/stat.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/util.h"

/* The milliseconds a connection waits for another one's lock before SQLITE_BUSY. */
#define BUSY_TIMEOUT_MS 5000

/* Schema migrations, oldest first. Step i takes the database from version i to i + 1; its SQL
 * ends by setting user_version, and runs in its own transaction. Never edit a shipped step:
 * append a new one. */
static const char *const migrations[] = {
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
    /* 4: data between tasks. A mapped task has one task instance per element (map_index
     * 0..N-1, the element as JSON in map_item; -1 for a task that is not mapped or not yet
     * expanded), so the unique key becomes (run, task, map index): SQLite changes a table's
     * constraints only by building it anew (foreign keys are off meanwhile, see migrate()).
     * Each try keeps its output. */
    "CREATE TABLE task_instances_v4 ("
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
    " node_id TEXT,"
    " map_index INTEGER NOT NULL DEFAULT -1,"
    " map_item TEXT,"
    " UNIQUE (run_pk, task_id, map_index));"
    "INSERT INTO task_instances_v4 (id, run_pk, dag_id, run_id, task_id, state, try_number,"
    " max_tries, service_id, service_name, exit_code, error, log_path, queued_ms, start_ms,"
    " end_ms, next_try_ms, node_id)"
    " SELECT id, run_pk, dag_id, run_id, task_id, state, try_number, max_tries, service_id,"
    " service_name, exit_code, error, log_path, queued_ms, start_ms, end_ms, next_try_ms,"
    " node_id FROM task_instances;"
    "DROP TABLE task_instances;"
    "ALTER TABLE task_instances_v4 RENAME TO task_instances;"
    "CREATE INDEX task_instances_run ON task_instances (run_pk);"
    "CREATE INDEX task_instances_state ON task_instances (state);"
    "ALTER TABLE task_tries ADD COLUMN output TEXT;"
    "PRAGMA user_version = 4;",
};

#define SCHEMA_VERSION ((int)ARRAY_LEN(migrations))

/* Column lists shared by the statements that read rows (see read_run / read_ti). */
#define RUN_COLS                                                                                   \
	"id, dag_id, run_id, run_type, state, logical_date, data_interval_start,"                  \
	" data_interval_end, queued_ms, start_ms, end_ms, conf, runner"
#define TI_COLS                                                                                    \
	"id, run_pk, dag_id, run_id, task_id, state, try_number, max_tries, service_id,"           \
	" service_name, exit_code, error, log_path, queued_ms, start_ms, end_ms, next_try_ms,"     \
	" node_id, map_index, map_item"
#define RUNS_ORDER " ORDER BY logical_date DESC, id DESC LIMIT ?3"
#define FINISHED_RUN "('success', 'failed')"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT nested",
    [ST_RELEASE] = "RELEASE nested",
    [ST_ROLLBACK_TO] = "ROLLBACK TO nested",
    [ST_RUN_INSERT] = "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date,"
		      " data_interval_start, data_interval_end, queued_ms, conf, runner)"
		      " VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_TI_INSERT] = "INSERT INTO task_instances (run_pk, dag_id, run_id, task_id, max_tries)"
		     " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_RUN_GET] = "SELECT " RUN_COLS " FROM dag_runs WHERE dag_id = ?1 AND run_id = ?2",
    [ST_RUN_GET_BY_ID] = "SELECT " RUN_COLS " FROM dag_runs WHERE id = ?1",
    [ST_RUN_SET_STATE] =
	"UPDATE dag_runs SET state = ?2,"
	" queued_ms = CASE WHEN ?2 = 'queued' AND state <> 'queued' THEN ?3"
	"  ELSE queued_ms END,"
	" start_ms = CASE WHEN ?2 = 'running' AND start_ms IS NULL THEN ?3 ELSE start_ms END,"
	" end_ms = CASE WHEN ?2 NOT IN " FINISHED_RUN " THEN NULL"
	"  WHEN state IN " FINISHED_RUN " AND end_ms IS NOT NULL THEN end_ms ELSE ?3 END"
	" WHERE id = ?1",
    [ST_RUN_SET_RUNNER] = "UPDATE dag_runs SET runner = ?2 WHERE id = ?1",
    [ST_RUNS_ALL] = "SELECT " RUN_COLS " FROM dag_runs" RUNS_ORDER,
    [ST_RUNS_BY_DAG] = "SELECT " RUN_COLS " FROM dag_runs WHERE dag_id = ?1" RUNS_ORDER,
    [ST_RUNS_BY_STATE] = "SELECT " RUN_COLS " FROM dag_runs WHERE state = ?2" RUNS_ORDER,
    [ST_RUNS_BY_DAG_STATE] = "SELECT " RUN_COLS " FROM dag_runs"
			     " WHERE dag_id = ?1 AND state = ?2" RUNS_ORDER,
    [ST_RUNS_ACTIVE] = "SELECT " RUN_COLS " FROM dag_runs"
		       " WHERE state IN ('queued', 'running') ORDER BY id",
    [ST_TI_GET] = "SELECT " TI_COLS " FROM task_instances WHERE id = ?1",
    /* A mapped task's instances stand together where its first one stands, in map order. */
    /* By id, which the task_instances_run index gives without a sort; store_ti.c groups the
     * instances of a mapped task (a window function here costs more than the rest of a
     * scheduler's pass over a run of 500 instances). */
    [ST_TIS_FOR_RUN] = "SELECT " TI_COLS " FROM task_instances WHERE run_pk = ?1 ORDER BY id",
    [ST_TIS_IN_FLIGHT] = "SELECT " TI_COLS " FROM task_instances"
			 " WHERE state IN ('queued', 'running') ORDER BY id",
    /* node_id is not written from the struct (store_ti_set_node does): a new try number clears
     * it, since the new try has not been placed on a node yet. */
    [ST_TI_UPDATE] = "UPDATE task_instances SET state = ?2, try_number = ?3, service_id = ?4,"
		     " service_name = ?5, exit_code = ?6, error = ?7, log_path = ?8,"
		     " queued_ms = ?9, start_ms = ?10, end_ms = ?11, next_try_ms = ?12,"
		     " node_id = CASE WHEN try_number = ?3 THEN node_id END"
		     " WHERE id = ?1",
    [ST_TI_SET_NODE] = "UPDATE task_instances SET node_id = ?2 WHERE id = ?1",
    [ST_TRY_SET_NODE] = "UPDATE task_tries SET node_id = ?2 WHERE ti_pk = ?1 AND try_number ="
			" (SELECT try_number FROM task_instances WHERE id = ?1)",
    /* The node is the task instance's when it is on this try, else the struct's; a node or a
     * queue time once known is kept when the try is recorded again without one. */
    [ST_TRY_UPSERT] = "INSERT INTO task_tries (ti_pk, try_number, state, service_id,"
		      " service_name, exit_code, error, log_path, start_ms, end_ms, node_id,"
		      " queued_ms, output)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, coalesce((SELECT node_id"
		      "  FROM task_instances WHERE id = ?1 AND try_number = ?2), ?11), ?12, ?13)"
		      " ON CONFLICT (ti_pk, try_number) DO UPDATE SET state = excluded.state,"
		      " service_id = excluded.service_id, service_name = excluded.service_name,"
		      " exit_code = excluded.exit_code, error = excluded.error,"
		      " log_path = excluded.log_path, start_ms = excluded.start_ms,"
		      " end_ms = excluded.end_ms, output = excluded.output,"
		      " node_id = coalesce(excluded.node_id, task_tries.node_id),"
		      " queued_ms = coalesce(excluded.queued_ms, task_tries.queued_ms)",
    /* Same columns as TI_COLS, so that the tries read as task instance snapshots. */
    [ST_TRIES_LIST] = "SELECT t.ti_pk, i.run_pk, i.dag_id, i.run_id, i.task_id, t.state,"
		      " t.try_number, i.max_tries, t.service_id, t.service_name, t.exit_code,"
		      " t.error, t.log_path, t.queued_ms, t.start_ms, t.end_ms, NULL, t.node_id,"
		      " i.map_index, i.map_item, t.output"
		      " FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk"
		      " WHERE t.ti_pk = ?1 ORDER BY t.try_number",
    [ST_DAG_SET_PAUSED] = "INSERT INTO dags (dag_id, paused) VALUES (?1, ?2)"
			  " ON CONFLICT (dag_id) DO UPDATE SET paused = excluded.paused",
    [ST_DAG_IS_PAUSED] = "SELECT paused FROM dags WHERE dag_id = ?1",
    [ST_RUN_LATEST] = "SELECT " RUN_COLS " FROM dag_runs WHERE dag_id = ?1 AND run_type = ?2"
		      " ORDER BY logical_date DESC, id DESC LIMIT 1",
    [ST_TI_EXPAND_FIRST] = "UPDATE task_instances SET map_index = 0, map_item = ?2"
			   " WHERE id = ?1 AND map_index = -1",
    [ST_TI_EXPAND_MORE] = "INSERT INTO task_instances (run_pk, dag_id, run_id, task_id,"
			  " max_tries, map_index, map_item) SELECT run_pk, dag_id, run_id,"
			  " task_id, max_tries, ?2, ?3 FROM task_instances WHERE id = ?1",
    [ST_TIS_FOR_RUN_OUTPUTS] = "SELECT " TI_COLS ", (SELECT output FROM task_tries t"
			       " WHERE t.ti_pk = task_instances.id"
			       " AND t.try_number = task_instances.try_number)"
			       " FROM task_instances WHERE run_pk = ?1 ORDER BY id",
    [ST_TRY_OUTPUT] = "SELECT output FROM task_tries WHERE ti_pk = ?1 AND try_number = ?2",
    [ST_DATA_VERSION] = "PRAGMA data_version",
    [ST_TI_CLEAR] = "UPDATE task_instances SET state = 'none', max_tries = try_number + ?3 + 1,"
		    " service_id = NULL, service_name = NULL, exit_code = NULL, error = NULL,"
		    " log_path = NULL, queued_ms = NULL, start_ms = NULL, end_ms = NULL,"
		    " next_try_ms = NULL, node_id = NULL WHERE run_pk = ?1 AND task_id = ?2",
};

bool store_fail(struct store *s, char **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = xvasprintf(fmt, ap);
	va_end(ap);
	set_err(err, "store: %s: %s", what, sqlite3_errmsg(s->db));
	free(what);
	return false;
}

/* Prepares statement id unless it is; false with *err when SQLite refuses it. */
static bool prepare_one(struct store *s, enum stmt_id id, char **err)
{
	if (!s->stmts[id] && sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
						&s->stmts[id], NULL) != SQLITE_OK)
		return store_fail(s, err, "prepare statement %d", (int)id);
	return true;
}

sqlite3_stmt *store_stmt(struct store *s, enum stmt_id id)
{
	if (!prepare_one(s, id, NULL))
		return NULL; /* see store_priv.h */
	sqlite3_stmt *st = s->stmts[id];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

bool store_step_done(struct store *s, sqlite3_stmt *st, const char *what, char **err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_fail(s, err, "%s", what);
		sqlite3_reset(st);
		return false;
	}
	sqlite3_reset(st);
	return true;
}

void store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void store_bind_ms(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

char *store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? xstrdup((const char *)v) : NULL;
}

int64_t store_col_i64(sqlite3_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

/* The smallest page size: a database file that is not empty holds at least one page. */
#define SQLITE_MIN_FILE 512

/* True for the names SQLite gives databases that have no file: ":memory:" and "" (temporary). */
static bool is_memory(const char *path)
{
	return strcmp(path, ":memory:") == 0 || path[0] == '\0';
}

/* Runs constant SQL (pragmas, migrations and their transaction). */
static bool exec_sql(struct store *s, const char *sql, const char *what, char **err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, err, "%s", what);
	return true;
}

static bool read_int(struct store *s, const char *sql, int *out, char **err)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_ROW;
	if (ok)
		*out = sqlite3_column_int(st, 0);
	else
		store_fail(s, err, "%s", sql);
	sqlite3_finalize(st);
	return ok;
}

/* Applies migration step `step` (to version step + 1) unless another process already did while
 * we waited for the write lock. The step's SQL and its new user_version commit together or not
 * at all: a crash leaves the database at the older version, whole. */
static bool migrate_step(struct store *s, const char *path, int step, char **err)
{
	int version, tables = 0;
	if (!exec_sql(s, "BEGIN IMMEDIATE", "begin migration", err))
		return false;
	if (!read_int(s, "PRAGMA user_version", &version, err))
		goto error;
	if (version > step) /* another process migrated past this step while we waited */
		return exec_sql(s, "COMMIT", "commit migration", err);
	if (version == 0 &&
	    (!read_int(s, "SELECT count(*) FROM sqlite_master", &tables, err) || tables > 0)) {
		/* Version 0 with tables: some other program's database, not an empty one. */
		if (tables > 0)
			set_err(err,
				"store: %s: has tables but no schema version: not a swarmflow "
				"state database",
				path);
		goto error;
	}
	char *what = xasprintf("%s: migrate to schema version %d", path, step + 1);
	bool applied = exec_sql(s, migrations[step], what, err);
	free(what);
	if (!applied)
		goto error;
	if (!read_int(s, "PRAGMA user_version", &version, err))
		goto error;
	if (version != step + 1) {
		set_err(err, "store: %s: migration %d left schema version %d", path, step + 1,
			version);
		goto error;
	}
	if (!exec_sql(s, "COMMIT", "commit migration", err))
		goto error;
	return true;
error:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return false;
}

static bool migrate(struct store *s, const char *path, char **err)
{
	int version;
	if (!read_int(s, "PRAGMA user_version", &version, err))
		return false;
	if (version > SCHEMA_VERSION)
		return set_err(err,
			       "store: %s: schema version %d is newer than this swarmflow's (%d); "
			       "use a swarmflow at least as new as the one that wrote it",
			       path, version, SCHEMA_VERSION);
	if (version < 0)
		return set_err(err, "store: %s: schema version %d: not a swarmflow state database",
			       path, version);
	/* A step may build a table anew (4): dropping the old one must not cascade to the rows
	 * that refer to it. The pragma is a no-op inside a transaction, so it is set around. */
	if (version < SCHEMA_VERSION &&
	    !exec_sql(s, "PRAGMA foreign_keys = OFF", "disable foreign keys", err))
		return false;
	for (int step = version; step < SCHEMA_VERSION; step++) {
		if (!migrate_step(s, path, step, err))
			return false;
	}
	if (version < SCHEMA_VERSION &&
	    !exec_sql(s, "PRAGMA foreign_keys = ON", "enable foreign keys", err))
		return false;
	s->version = SCHEMA_VERSION;
	return true;
}

/* False for a file that cannot be a database because it is too short to hold one page (SQLite
 * itself takes a one-byte file for an empty database and would write over it); a longer one that
 * is not a database is refused by SQLite's own SQLITE_NOTADB. Only stat(): opening and closing
 * the file here would drop the POSIX locks of every connection this process has open on it
 * (the web server's and the scheduler's share the process). */
static bool sqlite_size_ok(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return true; /* missing: created; unreadable: sqlite3_open_v2 says why */
	return sb.st_size == 0 || sb.st_size >= SQLITE_MIN_FILE;
}

/* Checks the file before anything else, so that a file that is not a database says so instead
 * of failing in whatever statement comes first. */
static bool check_database(struct store *s, const char *path, char **err)
{
	int version;
	if (!is_memory(path) && !sqlite_size_ok(path))
		return set_err(err, "store: %s is not an SQLite database (file is not a database)",
			       path);
	if (read_int(s, "PRAGMA user_version", &version, NULL))
		return true;
	if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
		return set_err(err, "store: %s is not an SQLite database (%s)", path,
			       sqlite3_errmsg(s->db));
	return store_fail(s, err, "read %s", path);
}

/* PRAGMA journal_mode = WAL; its step. Switching a new database to WAL takes an exclusive lock
 * and SQLite answers SQLITE_BUSY at once, without the busy handler, when another connection
 * holds one (several processes creating the database together): tried again for up to
 * BUSY_TIMEOUT_MS. */
static int step_wal(struct store *s, sqlite3_stmt **st)
{
	int rc = SQLITE_BUSY;
	for (int waited = 0; waited <= BUSY_TIMEOUT_MS; waited += 10) {
		sqlite3_finalize(*st);
		*st = NULL;
		if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, st, NULL) !=
		    SQLITE_OK)
			return SQLITE_ERROR;
		rc = sqlite3_step(*st);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			return rc;
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	return rc;
}

static bool set_pragmas(struct store *s, const char *path, char **err)
{
	if (!is_memory(path)) {
		sqlite3_stmt *st = NULL;
		if (step_wal(s, &st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			return store_fail(s, err, "set WAL journal mode");
		}
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		if (!mode || strcmp(mode, "wal") != 0)
			log_warnx("store: %s: journal mode is %s, not wal", path,
				  mode ? mode : "?");
		sqlite3_finalize(st);
	}
	return exec_sql(s, "PRAGMA synchronous = NORMAL", "set synchronous mode", err) &&
	       exec_sql(s, "PRAGMA foreign_keys = ON", "enable foreign keys", err);
}

bool store_read_once(struct store *s, char **err)
{
	return exec_sql(s, "PRAGMA cache_size = -256", "set cache size", err);
}

/* The statements of transactions: store_rollback runs them on error paths, where a failed
 * prepare would leave SQLite's transaction open while tx_depth says closed. They read no
 * schema and cost microseconds. */
static bool prepare_transactions(struct store *s, char **err)
{
	for (int i = ST_BEGIN; i <= ST_ROLLBACK_TO; i++)
		if (!prepare_one(s, (enum stmt_id)i, err))
			return false;
	return true;
}

bool store_prepare_all(struct store *s, char **err)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (!prepare_one(s, (enum stmt_id)i, err))
			return false;
	return true;
}

struct store *store_open(const char *path, char **err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	/* NOMUTEX: a store is used by one thread at a time (the daemon's loop, the CLI, or a web
	 * thread that borrowed it under the server's lock), so SQLite's own per-call mutex is
	 * only a cost: a lock and an unlock for every sqlite3_column_* of a 10,000-row listing. */
	int rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (s->db)
			store_fail(s, err, "open %s", path);
		else
			set_err(err, "store: open %s: %s", path, sqlite3_errstr(rc));
		goto error;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* The busy timeout comes first: every later step may wait for another connection. */
	if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK) {
		store_fail(s, err, "set busy timeout");
		goto error;
	}
	if (!check_database(s, path, err) || !set_pragmas(s, path, err) || !migrate(s, path, err) ||
	    !prepare_transactions(s, err))
		goto error;
	return s;
error:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	while (s->tx_depth > 0)
		store_rollback(s);
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	sqlite3_close(s->db);
	free(s);
}

int store_schema_version(struct store *s)
{
	return s->version;
}

bool store_marks_get(struct store *s, struct store_marks *out, char **err)
{
	sqlite3_stmt *st = store_stmt(s, ST_DATA_VERSION);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_fail(s, err, "PRAGMA data_version");
	out->data_version = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	out->changes = (int64_t)sqlite3_total_changes64(s->db);
	return true;
}

bool store_begin(struct store *s, char **err)
{
	enum stmt_id id = s->tx_depth == 0 ? ST_BEGIN : ST_SAVEPOINT;
	if (!store_step_done(s, store_stmt(s, id), "begin transaction", err))
		return false;
	s->tx_depth++;
	return true;
}

bool store_commit(struct store *s, char **err)
{
	if (s->tx_depth == 0)
		return set_err(err, "store: commit: no transaction is open");
	if (sqlite3_get_autocommit(s->db)) {
		/* SQLite rolled the whole transaction back itself after an error. */
		s->tx_depth = 0;
		return set_err(err, "store: commit: the transaction was rolled back");
	}
	enum stmt_id id = s->tx_depth == 1 ? ST_COMMIT : ST_RELEASE;
	if (!store_step_done(s, store_stmt(s, id), "commit transaction", err)) {
		store_rollback(s);
		return false;
	}
	s->tx_depth--;
	return true;
}

void store_rollback(struct store *s)
{
	if (s->tx_depth == 0)
		return;
	if (sqlite3_get_autocommit(s->db)) {
		s->tx_depth = 0;
		return;
	}
	if (s->tx_depth == 1) {
		if (!store_step_done(s, store_stmt(s, ST_ROLLBACK), "rollback", NULL))
			log_warnx("store: rollback: %s", sqlite3_errmsg(s->db));
	} else {
		/* Undo the savepoint's writes, then pop it: the outer transaction goes on. */
		if (!store_step_done(s, store_stmt(s, ST_ROLLBACK_TO), "rollback", NULL) ||
		    !store_step_done(s, store_stmt(s, ST_RELEASE), "rollback", NULL))
			log_warnx("store: rollback to savepoint: %s", sqlite3_errmsg(s->db));
	}
	s->tx_depth--;
	if (sqlite3_get_autocommit(s->db))
		s->tx_depth = 0;
}

static const char *const ti_names[TI_STATE_COUNT] = {
    [TI_NONE] = "none",
    [TI_SCHEDULED] = "scheduled",
    [TI_QUEUED] = "queued",
    [TI_RUNNING] = "running",
    [TI_SUCCESS] = "success",
    [TI_FAILED] = "failed",
    [TI_UP_FOR_RETRY] = "up_for_retry",
    [TI_UPSTREAM_FAILED] = "upstream_failed",
    [TI_SKIPPED] = "skipped",
    [TI_REMOVED] = "removed",
};

static const char *const run_names[RUN_STATE_COUNT] = {
    [RUN_QUEUED] = "queued",
    [RUN_RUNNING] = "running",
    [RUN_SUCCESS] = "success",
    [RUN_FAILED] = "failed",
};

const char *ti_state_name(enum ti_state s)
{
	return (unsigned)s < TI_STATE_COUNT ? ti_names[s] : "unknown";
}

bool ti_state_parse(const char *s, enum ti_state *out)
{
	for (int i = 0; s && i < TI_STATE_COUNT; i++) {
		if (strcmp(s, ti_names[i]) == 0) {
			*out = (enum ti_state)i;
			return true;
		}
	}
	return false;
}

bool ti_state_finished(enum ti_state s)
{
	return s == TI_SUCCESS || s == TI_FAILED || s == TI_UPSTREAM_FAILED || s == TI_SKIPPED ||
	       s == TI_REMOVED;
}

const char *run_state_name(enum run_state s)
{
	return (unsigned)s < RUN_STATE_COUNT ? run_names[s] : "unknown";
}

bool run_state_parse(const char *s, enum run_state *out)
{
	for (int i = 0; s && i < RUN_STATE_COUNT; i++) {
		if (strcmp(s, run_names[i]) == 0) {
			*out = (enum run_state)i;
			return true;
		}
	}
	return false;
}
