/* store.h - swarmflow's state in SQLite: DAG flags, runs, task instances and their tries. */
#ifndef SWARMFLOW_STORE_STORE_H
#define SWARMFLOW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Task instance states (Airflow's names). TI_NONE: created with the run, not yet ready. */
enum ti_state {
	TI_NONE,
	TI_SCHEDULED,
	TI_QUEUED,
	TI_RUNNING,
	TI_SUCCESS,
	TI_FAILED,
	TI_UP_FOR_RETRY,
	TI_UPSTREAM_FAILED,
	TI_SKIPPED,
	TI_REMOVED,
};
#define TI_STATE_COUNT (TI_REMOVED + 1)

enum run_state { RUN_QUEUED, RUN_RUNNING, RUN_SUCCESS, RUN_FAILED };
#define RUN_STATE_COUNT (RUN_FAILED + 1)

const char *ti_state_name(enum ti_state s); /* "none", "scheduled", ... */
bool ti_state_parse(const char *s, enum ti_state *out);
/* success, failed, upstream_failed, skipped, removed. */
bool ti_state_finished(enum ti_state s);
const char *run_state_name(enum run_state s);
bool run_state_parse(const char *s, enum run_state *out);

/* A DAG run. Times are unix milliseconds (0: not yet); dates of the data interval are seconds. */
struct run {
	int64_t id; /* row id */
	char *dag_id;
	char *run_id;
	char *run_type; /* "manual", "scheduled", "backfill" */
	enum run_state state;
	int64_t logical_date, data_interval_start, data_interval_end; /* unix seconds */
	int64_t queued_ms, start_ms, end_ms;
	char *conf; /* JSON object text, "{}" when none */
	/* NULL: the scheduler daemon drives the run. Else the process that does (e.g. "test" for
	 * `dags test`, which runs it in the foreground): the daemon leaves such runs alone. */
	char *runner;
};

/* A task instance: the current try of one task in one run. */
struct ti {
	int64_t id;     /* row id */
	int64_t run_pk; /* struct run.id */
	char *dag_id, *run_id, *task_id;
	enum ti_state state;
	int try_number;   /* 0 before the first try; the try being (or last) run otherwise */
	int max_tries;    /* retries + 1 */
	char *service_id; /* NULL until created */
	char *service_name;
	bool has_exit_code;
	int exit_code;
	char *error;                         /* NULL or the engine's / scheduler's reason */
	char *log_path;                      /* NULL until logs were saved */
	int64_t queued_ms, start_ms, end_ms; /* 0: not yet */
	int64_t next_try_ms;                 /* up_for_retry: earliest time of the next try */
	/* The Swarm node the try's container was placed on; NULL until known. Set only by
	 * store_ti_set_node (store_ti_update does not write it, and clears it when the try number
	 * changes); copied into the try's history row by store_try_record. */
	char *node_id;
	/* -1: a task that is not mapped (or not expanded yet); else the instance's index among
	 * the elements of its mapped task, whose element (as JSON text) is map_item. */
	int map_index;
	char *map_item;
	/* The try's output: read by store_tries_list and store_tis_for_run_outputs (NULL
	 * elsewhere, and for a try without one), written by store_try_record. */
	char *output;
};

struct run_list {
	struct run *v;
	size_t len;
};

struct ti_list {
	struct ti *v;
	size_t len;
};

struct store;

/* Opens (creating when missing) the database at path, with a busy timeout and (for a file) in
 * WAL mode, and migrates its schema to the newest version, each step in its own transaction (a
 * crash leaves the older version, whole). Every connection, readers too, opens here. Returns
 * NULL with *err set; the error names the file when it is not an SQLite database, is some other
 * program's database, or has a schema version newer than this build's (both versions given; the
 * file is then left untouched). ":memory:" works. A store may be used by one thread at a time
 * (SQLite's multi-thread mode): a store shared by threads needs the callers' own lock. */
struct store *store_open(const char *path, char **err);
/* Its statements are prepared at their first use: a command that runs one query does not pay
 * for the others (1.3-2.9 ms, most of opening). A long-lived connection prepares them all at
 * once instead, so that it fails at its start rather than midway; false with *err. */
bool store_prepare_all(struct store *s, char **err);
/* For a connection about to read many pages once (a listing of every run): a page cache of
 * 256 KiB whose buffers are reused, instead of up to 2 MiB of SQLite's default filled with new
 * ones. New memory is what such a read pays for, a page fault every 4 KiB. */
bool store_read_once(struct store *s, char **err);
/* Closes (accepts NULL). */
void store_close(struct store *s);
/* The schema version after migrations. */
int store_schema_version(struct store *s);

/* Marks of what the database holds: data_version moves when another connection commits (a
 * trigger from the CLI, the web API), changes when this connection writes. Two equal marks:
 * nothing was written between them. */
struct store_marks {
	int64_t data_version;
	int64_t changes;
};
bool store_marks_get(struct store *s, struct store_marks *out, char **err);

/* Explicit transactions, for a transition that touches several rows (BEGIN IMMEDIATE). Every
 * other store_* call that writes is its own transaction when none is open. They nest: a
 * store_begin inside an open transaction is a savepoint, which store_rollback undoes alone
 * (the outer transaction goes on) and store_commit releases. store_commit without a
 * transaction fails; store_rollback without one does nothing. */
bool store_begin(struct store *s, char **err);
bool store_commit(struct store *s, char **err);
void store_rollback(struct store *s);

/* Creates a run in state queued with one TI_NONE task instance per task id (max_tries[i] each;
 * 1 each when max_tries is NULL), all in one transaction. r->state and r->id are ignored; a NULL
 * run_type is "manual", a NULL conf "{}". A run id already used for this DAG fails with
 * *err = "run 'X' already exists for DAG 'Y'". On success *out (if not NULL) is filled (caller
 * frees with run_finish). */
bool store_run_create(struct store *s, const struct run *r, const char *const *task_ids,
		      const int *max_tries, size_t n_tasks, struct run *out, char **err);

/* Finds one run by (dag_id, run_id), or by row id. False with *err when there is none. */
bool store_run_get(struct store *s, const char *dag_id, const char *run_id, struct run *out,
		   char **err);
bool store_run_get_by_id(struct store *s, int64_t id, struct run *out, char **err);

/* Sets a run's state; moving to running sets start_ms (once: a cleared run keeps its first
 * start), to success/failed sets end_ms (kept when it was already finished), back to queued or
 * running clears end_ms; moving to queued from another state sets queued_ms. */
bool store_run_set_state(struct store *s, int64_t run_pk, enum run_state state, int64_t now_ms,
			 char **err);

/* The newest run (by logical date) of dag_id with that run type ("scheduled"): *found says
 * whether there is one; when there is, *out is filled (caller frees with run_finish). */
bool store_run_latest(struct store *s, const char *dag_id, const char *run_type, struct run *out,
		      bool *found, char **err);

/* Sets who drives a run (NULL: the daemon), e.g. when the daemon takes over a run whose
 * `dags test` process died. */
bool store_run_set_runner(struct store *s, int64_t run_pk, const char *runner, char **err);

/* Runs newest first (logical_date, then creation), filtered by dag_id (NULL: any) and state
 * (NULL: any), at most limit (0: no limit). Free with run_list_finish(). */
bool store_runs_list(struct store *s, const char *dag_id, const enum run_state *state, size_t limit,
		     struct run_list *out, char **err);
/* The same runs in the same order, one at a time: fn gets each while the rows are read, so that
 * no list is held (`runs list --json` on 10,000 runs). The run's strings are the store's, valid
 * during the call only: fn copies what it keeps (no malloc and free of each string, which
 * were a third of reading 10,000 runs). False (with *err) when the store fails, after the runs
 * given so far. */
bool store_runs_each(struct store *s, const char *dag_id, const enum run_state *state, size_t limit,
		     void (*fn)(const struct run *run, void *ctx), void *ctx, char **err);
/* Runs in state queued or running, oldest (first created) first. */
bool store_runs_active(struct store *s, struct run_list *out, char **err);

/* Finds one task instance by row id; false with *err when there is none. Caller frees *out
 * with ti_finish(). */
bool store_ti_get(struct store *s, int64_t id, struct ti *out, char **err);
/* Task instances of a run, in creation order, the instances of a mapped task together (at its
 * first one) in map order. */
bool store_tis_for_run(struct store *s, int64_t run_pk, struct ti_list *out, char **err);
/* The same with each task instance's output (of its current try) in ->output. */
bool store_tis_for_run_outputs(struct store *s, int64_t run_pk, struct ti_list *out, char **err);
/* Task instances in states queued or running (they own a service), any run, by row id. */
bool store_tis_in_flight(struct store *s, struct ti_list *out, char **err);

/* Writes every mutable field of ti (state, try_number, service_id, service_name, exit code,
 * error, log_path, times, next_try_ms) by ti->id. Not node_id: see store_ti_set_node; a new
 * try_number clears the stored node (the new try has not been placed yet). */
bool store_ti_update(struct store *s, const struct ti *ti, char **err);

/* Clears the task instance of task_id in a run for another go (`tasks clear`): state none, no
 * service, exit code, error, log path or times; its try number is kept and max_tries becomes
 * try_number + retries + 1, so the next try is numbered on from the last. The tries table keeps
 * the history. Fails when the run has no such task. */
bool store_ti_clear(struct store *s, int64_t run_pk, const char *task_id, int retries, char **err);

/* Records the Swarm node a task instance's current try runs on (NULL or "": not known), on the
 * task instance and, when that try is already in the history table and the node is known, on
 * its row too (a try's recorded node is never erased); one transaction. Fails when there is no
 * such task instance. */
bool store_ti_set_node(struct store *s, int64_t ti_pk, const char *node_id, char **err);

/* Records a finished (or started) try in the history table, keyed by (ti id, try_number):
 * inserted or replaced, with ti->output as its output. Its node_id is the task instance's stored
 * node when the task instance is on this try, else ti->node_id; its queued_ms is ti->queued_ms. A
 * node or queue time already on the row is kept when the new record has none. */
bool store_try_record(struct store *s, const struct ti *ti, char **err);
/* The tries of one task instance, oldest first (each as a struct ti snapshot: id is the task
 * instance's, next_try_ms is 0; queued_ms and node_id are the try's own, 0 / NULL for tries
 * recorded before schema version 2). Free with ti_list_finish(). */
bool store_tries_list(struct store *s, int64_t ti_pk, struct ti_list *out, char **err);

/* The output of try try_number of task instance ti_pk: *out is a copy (caller frees), NULL when
 * that try is not recorded or has no output. False only on a store failure. */
bool store_try_output(struct store *s, int64_t ti_pk, int try_number, char **out, char **err);

/* Expands the unexpanded task instance ti_pk (map index -1) of a mapped task over n >= 1
 * elements (items[i]: element i as JSON text), in one transaction: it becomes map index 0 with
 * items[0], and instances 1..n-1 are added in state none with its max_tries. Fails, changing
 * nothing, when ti_pk is not an unexpanded instance (so a task is never expanded twice). */
bool store_ti_expand(struct store *s, int64_t ti_pk, const char *const *items, size_t n,
		     char **err);

/* Pause flag of a DAG (false when never set). */
bool store_dag_set_paused(struct store *s, const char *dag_id, bool paused, char **err);
bool store_dag_is_paused(struct store *s, const char *dag_id, bool *paused, char **err);

void run_finish(struct run *r);
void ti_finish(struct ti *ti);
void run_list_finish(struct run_list *l);
void ti_list_finish(struct ti_list *l);

#endif
