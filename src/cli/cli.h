/* cli.h - what the command files share: the lazily opened config, store, engine and DAGs. */
#ifndef SWARMFLOW_CLI_CLI_H
#define SWARMFLOW_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "swarmflow/core/config.h"
#include "swarmflow/engine/engine.h"
#include "swarmflow/sched/dagbag.h"
#include "swarmflow/store/store.h"

/* Exit codes of every command. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* a run failed, validation found errors, a lookup found nothing */
	EXIT_USAGE = 2,  /* bad arguments or configuration */
	EXIT_INTERNAL = 70,
};

struct cli {
	const char *config_path; /* --config, or NULL */
	struct config cfg;
	char *const *envp;
	struct store *store;   /* NULL until cli_store() */
	struct engine *engine; /* NULL until cli_engine() */
	struct dagbag bag;
	bool bag_loaded;
};

/* One command: its words ("dags list"), its arguments for the usage line, a one-line summary,
 * and the function that runs it with argv[0] = the last word of the command. */
struct command {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/* The store at state_dir/swarmflow.db (created when missing), or NULL after printing why. */
struct store *cli_store(struct cli *cli);
/* The engine, version negotiated and checked to be a swarm manager, or NULL after printing
 * why. */
struct engine *cli_engine(struct cli *cli);
/* The DAGs of dags_folder, scanned once. */
struct dagbag *cli_dags(struct cli *cli);
/* The DAG by id, or NULL after printing "unknown DAG" (and the file errors, if any). */
const struct dag *cli_dag(struct cli *cli, const char *dag_id);

/* Prints the usage of cmd to stderr and returns EXIT_USAGE. */
int cli_usage(const struct command *cmd);
/* The command named name ("dags list"), for its usage line. */
const struct command *cli_command(const char *name);

/* Prints a JSON value to stdout (indented) and frees it. */
void cli_print_json(json_t *v);
/* JSON objects for `runs list --json` and `tasks list --json`. */
json_t *cli_run_json(const struct run *r);
json_t *cli_ti_json(const struct ti *ti);
/* "2026-11-21T18:00:00.000Z" or "-" for 0. */
void cli_format_ms(int64_t ms, char out[static 32]);

/* A plain text table: add cells row by row, then print with aligned columns. */
struct table {
	size_t ncols;
	struct strv cells;
};
void table_init(struct table *t, size_t ncols, const char *const *headers);
void table_add(struct table *t, const char *cell);
void table_print(struct table *t);

/* Command groups. */
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_scheduler(struct cli *cli, int argc, char **argv);
int cmd_dags_list(struct cli *cli, int argc, char **argv);
int cmd_dags_validate(struct cli *cli, int argc, char **argv);
int cmd_dags_show(struct cli *cli, int argc, char **argv);
int cmd_dags_trigger(struct cli *cli, int argc, char **argv);
int cmd_dags_test(struct cli *cli, int argc, char **argv);
int cmd_dags_pause(struct cli *cli, int argc, char **argv);
int cmd_dags_unpause(struct cli *cli, int argc, char **argv);
int cmd_runs_list(struct cli *cli, int argc, char **argv);
int cmd_tasks_list(struct cli *cli, int argc, char **argv);
int cmd_tasks_logs(struct cli *cli, int argc, char **argv);

/* Shared by trigger and test: creates a run of dag with conf text (NULL: {}) and run id (NULL:
 * manual__<now>). Returns false after printing why; *exit_code says how to exit. */
bool cli_create_run(struct cli *cli, const struct dag *dag, const char *conf, const char *run_id,
		    const char *runner, struct run *out, int *exit_code);
/* Prints the task table of a run. */
void cli_print_tasks(struct cli *cli, const struct run *run);

#endif
