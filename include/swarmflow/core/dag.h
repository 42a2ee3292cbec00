/* dag.h - the DAG model, the `.dag` file parser (libconfuse, no I/O) and DAG validation. */
#ifndef SWARMFLOW_CORE_DAG_H
#define SWARMFLOW_CORE_DAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/cron.h"

enum trigger_rule {
	TRIGGER_ALL_SUCCESS,
	TRIGGER_ALL_FAILED,
	TRIGGER_ALL_DONE,
	TRIGGER_ONE_SUCCESS,
	TRIGGER_ONE_FAILED,
	TRIGGER_NONE_FAILED,
	TRIGGER_ALWAYS,
	TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS,
	TRIGGER_NONE_SKIPPED,
	TRIGGER_ALL_SKIPPED,
	TRIGGER_ONE_DONE,
};
#define TRIGGER_RULE_COUNT (TRIGGER_ONE_DONE + 1)

/* Returns the rule's name ("all_success", ...); parses one. */
const char *trigger_rule_name(enum trigger_rule rule);
bool trigger_rule_parse(const char *s, enum trigger_rule *out);

/* What of a try's stdout becomes its output (`output = ...`). */
enum output_mode {
	OUTPUT_NONE,      /* no output (default) */
	OUTPUT_LAST_LINE, /* the last non-empty stdout line */
	OUTPUT_MARKED,    /* every `::output:: VALUE` stdout line's VALUE, joined by newlines */
};

/* Returns the mode's name ("none", "last_line", "marked"); parses one. */
const char *output_mode_name(enum output_mode mode);
bool output_mode_parse(const char *s, enum output_mode *out);

/* Default pending_timeout when neither the task nor defaults set one: 5 minutes. */
#define TASK_DEFAULT_PENDING_TIMEOUT_S 300
/* Default max_map_length: the most task instances one expand may make. */
#define TASK_DEFAULT_MAX_MAP_LENGTH 1024

/* One task after `defaults` were merged in: every field holds its effective value.
 * Strings are NULL when unset; lists are empty when unset. All memory is owned by the task. */
struct task {
	char *task_id;
	int line; /* line of `task NAME {` in the file */

	char *image;
	struct strv command;    /* ContainerSpec.Args */
	char *shell;            /* Args = /bin/sh -c shell; never together with command */
	struct strv entrypoint; /* ContainerSpec.Command */
	struct strv env;        /* K=V */
	char *workdir, *user, *hostname;
	struct strv labels;  /* k=v */
	struct strv mounts;  /* `docker service create --mount` syntax, checked by mount_parse() */
	struct strv secrets; /* name or name:target */
	struct strv configs; /* name:target */
	struct strv networks;
	struct strv constraints;
	struct strv preferences;        /* spread=node.labels.zone */
	double cpus, reserve_cpus;      /* 0: unset */
	int64_t memory, reserve_memory; /* bytes, 0: unset */
	bool tty, init;
	char *log_driver;
	struct strv log_opts; /* k=v */

	struct strv upstream; /* task ids */
	enum trigger_rule trigger_rule;
	int retries;
	int64_t retry_delay_s; /* default 300 as in Airflow */
	bool retry_exponential_backoff;
	int64_t max_retry_delay_s; /* 0: no cap */
	int64_t timeout_s;         /* 0: none */
	int64_t pending_timeout_s; /* default TASK_DEFAULT_PENDING_TIMEOUT_S */
	char *pool;                /* NULL: the default pool */

	/* Data between tasks (see output.h). branch and short_circuit imply output = last_line
	 * unless output is set. expand: one value (a template or literal: a JSON array, else one
	 * element per non-empty line) or several (one element each); mapped is true when the key
	 * is set. */
	enum output_mode output;
	bool branch;
	bool short_circuit;
	struct strv expand;
	bool mapped;
	int max_map_length; /* default TASK_DEFAULT_MAX_MAP_LENGTH */

	/* Filled by validation: indices into dag->tasks of upstream and downstream tasks. */
	size_t *up_idx, n_up;
	size_t *down_idx, n_down;
	/* Filled by validation: the short_circuit tasks among all the task's ancestors (indices
	 * into dag->tasks); when one of them succeeds with a false output, this task is skipped. */
	size_t *sc_idx, n_sc;
	/* Filled by validation: the tasks its templates read with {{ upstream.TASK.* }}. */
	size_t *ref_idx, n_ref;
};

struct dag {
	char *dag_id;
	char *file; /* path as given to the parser */
	int line;   /* line of `dag NAME {` */
	char *description;
	char *schedule_str; /* as written; "none" when absent */
	struct schedule schedule;
	int64_t start_date;       /* unix seconds, UTC; 0 when absent */
	int64_t end_date;         /* 0 when absent */
	bool catchup;             /* default false */
	int max_active_runs;      /* default 16 */
	int max_active_tasks;     /* default 16 */
	int64_t dagrun_timeout_s; /* 0: none */
	char *on_failure_webhook; /* NULL: the global default */
	struct strv tags;
	struct task *tasks; /* in file order */
	size_t n_tasks;
	size_t *topo; /* n_tasks indices into tasks, in a dependency order */
};

/* One problem found in a file: "file:line: message". */
struct dag_error {
	char *file;
	int line; /* 0 when the problem has no line (e.g. unreadable file) */
	char *message;
};

struct dag_errors {
	struct dag_error *v;
	size_t len, cap;
};

void dag_errors_add(struct dag_errors *errs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dag_errors_finish(struct dag_errors *errs);

/* What one file held: its DAGs (only when the file had no error) and its errors. */
struct dag_file {
	char *path;
	struct dag **dags;
	size_t n_dags;
	struct dag_errors errors;
};

/* Parses and validates the `.dag` text buf (len bytes, need not be NUL-terminated) read from the
 * file named `path`. Never does I/O. Fills *out (zero it first); returns true when the file has no
 * error. On any error out->dags is empty and out->errors says why, each with its line: syntax
 * errors, unknown keys, type errors, missing image, command with shell, unknown upstream, cycles
 * (naming the cycle), duplicate task names, bad durations/sizes/cron/dates/trigger rules/mounts,
 * unknown template variables, invalid DAG or task ids, and what conf_text_prepare() finds (NUL
 * bytes, invalid UTF-8, ${NAME}, strings, comments or '{' never closed). Free with
 * dag_file_finish(). Not thread-safe: libconfuse's lexer keeps global state, so parse from one
 * thread at a time. */
bool dag_file_parse(const char *buf, size_t len, const char *path, struct dag_file *out);
void dag_file_finish(struct dag_file *f);

/* The keys dag_file_parse() accepts in a `dag NAME { }` section (task false) or in a `task NAME
 * { }` / `defaults { }` section (task true): the i-th one's name (static), or NULL when i is past
 * the last. For the docs check (tests/docs/), which keeps docs/dag-format.md complete. */
const char *dag_key_name(bool task, size_t i);

/* Checks the task graph of one DAG: duplicate task ids, unknown upstreams, self-dependencies and
 * cycles (each named: "dependency cycle: a -> b -> a"). Fills every task's up_idx/down_idx (known
 * upstreams only) and, when there is no cycle, dag->topo (the tasks without upstreams in file
 * order, then each task once its upstreams are placed). Adds one error per problem with dag->file
 * and the task's line; returns true when there was none. Called by dag_file_parse(). */
bool dag_graph_validate(struct dag *dag, struct dag_errors *errs);

/* Checks what passes data between the tasks of a DAG whose graph is valid: every
 * {{ upstream.TASK.* }} names an ancestor (TASK is upstream, directly or further up) that has an
 * output (for .output and .output_json) or is mapped (.outputs_json, the only form a mapped task
 * is read by); {{ item }} and {{ map_index }} only in a mapped task; branch, short_circuit and
 * expand not combined. Fills every task's ref_idx and sc_idx. Adds one error per problem at the
 * task's line; returns true when there was none. Called by dag_file_parse(). */
bool dag_data_validate(struct dag *dag, struct dag_errors *errs);

/* True when ancestor is an upstream of task, directly or further up (indices into dag->tasks;
 * needs up_idx filled). */
bool dag_task_is_ancestor(const struct dag *dag, size_t ancestor, size_t task);

/* Frees a DAG created by dag_file_parse() (accepts NULL). */
void dag_destroy(struct dag *dag);

/* Returns the task with that id, or NULL. */
const struct task *dag_task_find(const struct dag *dag, const char *task_id);
/* Returns the index of the task with that id, or -1. */
long dag_task_index(const struct dag *dag, const char *task_id);

/* True when s is a valid DAG or task id: [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 200 bytes. */
bool dag_id_valid(const char *s);

#endif
