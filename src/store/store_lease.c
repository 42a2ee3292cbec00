/* store_lease.c - the scheduler lease row and the fence (temporary triggers) of its holder. */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/lease.h"

#define FENCED_MSG "fenced: another scheduler has taken the scheduler lease"

/* The tables a fenced connection may no longer write once the lease moved on. */
static const char *const fenced_tables[] = {"dags", "dag_runs", "task_instances", "task_tries"};
static const char *const fenced_ops[] = {"INSERT", "UPDATE", "DELETE"};

static sqlite3_stmt *prepare(struct store *s, const char *sql, char **err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_fail(s, err, "prepare lease statement");
		return NULL;
	}
	return st;
}

/* Runs constant SQL (DDL of the fence, transaction control). */
static bool exec(struct store *s, const char *sql, char **err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, err, "lease: %s", sql);
	return true;
}

bool store_lease_read(struct store *s, struct store_lease *out, char **err)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = prepare(s,
				   "SELECT holder, token, beat, renewed_ms, timeout_ms"
				   " FROM scheduler_lease WHERE id = 1",
				   err);
	if (!st)
		return false;
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	if (ok) {
		out->holder = store_col_text(st, 0);
		out->token = store_col_i64(st, 1);
		out->beat = store_col_i64(st, 2);
		out->renewed_ms = store_col_i64(st, 3);
		out->timeout_ms = store_col_i64(st, 4);
	} else {
		store_fail(s, err, "read the scheduler lease");
	}
	sqlite3_finalize(st);
	return ok;
}

void store_lease_finish(struct store_lease *l)
{
	free(l->holder);
	l->holder = NULL;
}

/* Installs the fence on this connection: temp.fence holds our token, and a temporary trigger
 * on every write to the fenced tables aborts it when the lease's token is no longer ours. The
 * check runs inside the writer's own transaction, so it cannot race with a takeover. */
static bool fence(struct store *s, int64_t token, char **err)
{
	if (!exec(s, "CREATE TEMP TABLE IF NOT EXISTS fence (token INTEGER NOT NULL)", err) ||
	    !exec(s, "DELETE FROM temp.fence", err))
		return false;
	sqlite3_stmt *st = prepare(s, "INSERT INTO temp.fence (token) VALUES (?1)", err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, token);
	bool ok = store_step_done(s, st, "set the fence", err);
	sqlite3_finalize(st);
	for (size_t t = 0; ok && t < ARRAY_LEN(fenced_tables); t++) {
		for (size_t o = 0; ok && o < ARRAY_LEN(fenced_ops); o++) {
			/* Constant names from the tables above: nothing from outside is formatted.
			 */
			char *sql = xasprintf(
			    "CREATE TEMP TRIGGER IF NOT EXISTS fence_%s_%s BEFORE %s ON main.%s"
			    " WHEN (SELECT token FROM main.scheduler_lease WHERE id = 1)"
			    " IS NOT (SELECT token FROM temp.fence)"
			    " BEGIN SELECT RAISE(ABORT, '" FENCED_MSG "'); END",
			    fenced_tables[t], fenced_ops[o], fenced_ops[o], fenced_tables[t]);
			ok = exec(s, sql, err);
			free(sql);
		}
	}
	return ok;
}

int store_lease_take(struct store *s, const char *me, const struct store_lease *seen,
		     int64_t now_ms, int64_t timeout_ms, int64_t *token, char **err)
{
	if (!store_begin(s, err))
		return -1;
	sqlite3_stmt *st =
	    prepare(s,
		    "UPDATE scheduler_lease SET holder = ?1, token = token + 1, beat = 0,"
		    " renewed_ms = ?2, timeout_ms = ?3"
		    " WHERE id = 1 AND token = ?4 AND beat = ?5",
		    err);
	if (!st)
		goto error;
	sqlite3_bind_text(st, 1, me, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, timeout_ms);
	sqlite3_bind_int64(st, 4, seen->token);
	sqlite3_bind_int64(st, 5, seen->beat);
	bool stepped = store_step_done(s, st, "take the scheduler lease", err);
	sqlite3_finalize(st);
	if (!stepped)
		goto error;
	if (sqlite3_changes(s->db) != 1) { /* the lease moved since it was read */
		store_rollback(s);
		return 0;
	}
	/* The row matched seen->token, inside this write transaction. */
	int64_t taken = seen->token + 1;
	if (!fence(s, taken, err) || !store_commit(s, err))
		goto error;
	*token = taken;
	return 1;
error:
	store_rollback(s);
	return -1;
}

/* Runs UPDATE sql with ?1 token and ?2 now_ms; 1 when it changed the row, 0 when not. */
static int update_held(struct store *s, const char *sql, const char *what, int64_t token,
		       int64_t now_ms, char **err)
{
	sqlite3_stmt *st = prepare(s, sql, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, token);
	sqlite3_bind_int64(st, 2, now_ms);
	bool ok = store_step_done(s, st, what, err);
	sqlite3_finalize(st);
	if (!ok)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

int store_lease_renew(struct store *s, int64_t token, int64_t now_ms, char **err)
{
	return update_held(s,
			   "UPDATE scheduler_lease SET beat = beat + 1, renewed_ms = ?2"
			   " WHERE id = 1 AND token = ?1 AND holder IS NOT NULL",
			   "renew the scheduler lease", token, now_ms, err);
}

int store_lease_release(struct store *s, int64_t token, int64_t now_ms, char **err)
{
	return update_held(s,
			   "UPDATE scheduler_lease SET holder = NULL, beat = beat + 1,"
			   " renewed_ms = ?2 WHERE id = 1 AND token = ?1 AND holder IS NOT NULL",
			   "release the scheduler lease", token, now_ms, err);
}

bool store_err_fenced(const char *err)
{
	return err && strstr(err, FENCED_MSG) != NULL;
}
