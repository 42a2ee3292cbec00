/* store_priv.h - what the store's source files share: the handle, its statements, helpers. */
#ifndef SWARMFLOW_STORE_STORE_PRIV_H
#define SWARMFLOW_STORE_STORE_PRIV_H

#include <sqlite3.h>

#include "swarmflow/store/store.h"

/* Every statement the store runs (SQL in store.c), each prepared once: the transaction ones by
 * store_open(), which a rollback on an error path must not fail to prepare, the others at
 * their first use or by store_prepare_all(). */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_RUN_INSERT,
	ST_TI_INSERT,
	ST_RUN_GET,
	ST_RUN_GET_BY_ID,
	ST_RUN_SET_STATE,
	ST_RUN_SET_RUNNER,
	ST_RUNS_ALL,
	ST_RUNS_BY_DAG,
	ST_RUNS_BY_STATE,
	ST_RUNS_BY_DAG_STATE,
	ST_RUNS_ACTIVE,
	ST_TI_GET,
	ST_TIS_FOR_RUN,
	ST_TIS_IN_FLIGHT,
	ST_TI_UPDATE,
	ST_TI_SET_NODE,
	ST_TRY_SET_NODE,
	ST_TRY_UPSERT,
	ST_TRIES_LIST,
	ST_DAG_SET_PAUSED,
	ST_DAG_IS_PAUSED,
	ST_RUN_LATEST,
	ST_TI_CLEAR,
	ST_TI_EXPAND_FIRST,
	ST_TI_EXPAND_MORE,
	ST_TRY_OUTPUT,
	ST_TIS_FOR_RUN_OUTPUTS,
	ST_DATA_VERSION,
	ST_COUNT,
};

struct store {
	sqlite3 *db;
	int version;  /* schema version after migrations */
	int tx_depth; /* open transactions: 0 none, 1 BEGIN, more are savepoints */
	sqlite3_stmt *stmts[ST_COUNT];
};

/* Returns statement id, reset and with its bindings cleared; NULL when SQLite refuses to prepare
 * it. The caller's step then fails with SQLITE_MISUSE, and its store_fail carries SQLite's
 * reason, the connection's last error, as long as nothing runs on it in between (every caller
 * binds and steps at once). */
sqlite3_stmt *store_stmt(struct store *s, enum stmt_id id);
/* Sets *err to "store: WHAT: sqlite's message" and returns false. */
bool store_fail(struct store *s, char **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Steps a statement that returns no rows and resets it; false with *err naming what. */
bool store_step_done(struct store *s, sqlite3_stmt *st, const char *what, char **err);

/* Binding helpers: NULL for a NULL string, and for a time of 0 (store_bind_ms). */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
void store_bind_ms(sqlite3_stmt *st, int i, int64_t v);
/* Column helpers: a copy of the text (NULL for NULL), and an integer (0 for NULL). */
char *store_col_text(sqlite3_stmt *st, int i);
int64_t store_col_i64(sqlite3_stmt *st, int i);

#endif
