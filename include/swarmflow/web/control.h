/* control.h - what the command line and the REST API both do to the store: trigger a run and
 * clear tasks, with the same checks and messages. No printing: callers report. */
#ifndef SWARMFLOW_WEB_CONTROL_H
#define SWARMFLOW_WEB_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/core/dag.h"
#include "swarmflow/store/store.h"

/* How an operation ended; the CLI maps it to exit codes, the API to HTTP statuses. */
enum control_status {
	CONTROL_OK,
	CONTROL_INVALID,   /* a bad argument (400; CLI usage error) */
	CONTROL_NOT_FOUND, /* no such run or task (404) */
	CONTROL_CONFLICT,  /* the run id exists, a task is busy (409) */
	CONTROL_FAILED,    /* the store failed (500) */
};

/* A run id: 1 to 250 printable ASCII characters, no space and no '/'. */
bool control_run_id_valid(const char *id);

/* Parses a run's conf given as text (NULL: {}). Returns the object (caller decrefs), or NULL
 * with *err (caller frees): "invalid JSON at column N: ..." or "expected a JSON object like
 * '{\"key\": \"value\"}'". Duplicate keys are refused. */
json_t *control_conf_parse(const char *text, char **err);

struct control_trigger {
	const json_t *conf; /* NULL: {}; anything but an object is CONTROL_INVALID */
	/* How the caller's user names the two parameters in messages: "--conf" and "--run-id" on
	 * the command line, "conf" and "run_id" in a JSON body (NULL: the latter). */
	const char *conf_name, *run_id_name;
	const char *run_id;   /* NULL: manual__<now> */
	const char *runner;   /* NULL: the daemon drives the run (see struct run) */
	int64_t now_ms;       /* queued time, logical date and data interval of a manual run */
	int64_t logical_date; /* unix seconds: the logical date and data interval instead */
};

/* Creates a manual run of dag, queued, with one task instance per task. *out (may be NULL) as
 * in store_run_create. On failure *err (caller frees) says why: "run_id: 'x' must be 1-250
 * printable characters without spaces or '/'" and "conf: expected a JSON object ..."
 * (INVALID, named as t says), "run 'x' already exists for DAG 'y'" (CONFLICT), or the store's
 * message (FAILED). */
enum control_status control_run_create(struct store *st, const struct dag *dag,
				       const struct control_trigger *t, struct run *out,
				       char **err);

/* What to clear in one run, as `tasks clear`: the named tasks (none named: every task of the
 * DAG), of those only the failed and upstream_failed ones when only_failed, then with
 * downstream every task after them. The CLI clears the named tasks, or with none named the
 * failed ones (only_failed = n_tasks == 0). */
struct control_clear {
	const char *run_id;
	const char *const *tasks;
	size_t n_tasks;
	bool only_failed;
	bool downstream;
	bool dry_run; /* answer what would be cleared (and refuse the same), change nothing */
};

/* One task instance that was cleared, as it was before. */
struct control_cleared {
	char *task_id;
	enum ti_state was;
	int try_number;
};

struct control_clear_result {
	struct control_cleared *v; /* in the DAG's task order */
	size_t len;
	enum run_state run_was; /* the run's state before */
	bool requeued;          /* the run had finished and is queued again for the daemon */
};

/* Clears in one transaction: each picked task instance goes back to none for another try (its
 * try number goes on; see store_ti_clear), and a finished run goes back to queued for the daemon.
 * Nothing picked is not an error (out->len == 0). Refuses (nothing changed, *err says why): a
 * named task the DAG or the run does not have (INVALID: "DAG 'x' has no task 'y'"), an unknown
 * run (NOT_FOUND: "no run 'r' for DAG 'x'"), a picked task that is queued or running (CONFLICT:
 * "cannot clear task 't': it is running (try 1); wait for it to end, then clear it"). Free out
 * with control_clear_result_finish(). */
enum control_status control_tasks_clear(struct store *st, const struct dag *dag,
					const struct control_clear *req,
					struct control_clear_result *out, char **err);
void control_clear_result_finish(struct control_clear_result *r);

#endif
