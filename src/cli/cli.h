/* cli.h - what the command files share: the lazily opened config, store, engine and DAGs. */
#ifndef SWARMFLOW_CLI_CLI_H
#define SWARMFLOW_CLI_CLI_H

#include <getopt.h>
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
	/* Obsolete: environment trouble (store, engine) is EXIT_FAILED. Delete once cmd_run.c no
	 * longer uses it. */
};

struct cli {
	const char *config_path; /* --config, or NULL */
	struct config cfg;       /* loaded by cli_config() */
	bool cfg_loaded;
	char *const *envp;
	struct store *store;   /* NULL until cli_store() */
	struct engine *engine; /* NULL until cli_engine() */
	/* curl_global_init() was called: by the first command that talks to the engine, not at
	 * start (libcurl's set-up is most of a store-only command's start-up). */
	bool curl_ready;
	struct dagbag bag;
	bool bag_loaded;
};

/* One command: its words ("dags list"), its arguments for the usage line, a one-line summary,
 * and the function that runs it with argv[0] = "swarmflow dags list" (getopt's messages use it)
 * and optind reset. run parses its options with cli_getopt(), checks its positional arguments
 * with cli_nargs(), then calls cli_config() before it touches cli->cfg. */
struct command {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *manual; /* the chapter that explains it, printed by --help: "docs/cli.md#..." */
};

/* What cli_getopt() returns when the command must stop and return *exit_code. */
#define CLI_OPT_EXIT (-2)
/* The most long options a command may pass to cli_getopt(). */
#define CLI_MAX_OPTS 16

/* The next option of a command's argv, like getopt_long(3) (GNU argument order: options may
 * follow positional arguments; "--" ends the options), plus --help and -h, which it answers
 * itself. shortopts and longopts (ending with {0}; NULL for none) list the command's own
 * options; 'h' is taken. Returns the option's val (optarg set for an argument), -1 when the
 * options end (argv[optind..argc-1] are the positional arguments), or CLI_OPT_EXIT with
 * *exit_code = EXIT_OK after printing the help to stdout, EXIT_USAGE after printing what is wrong
 * and the usage to stderr. A command without options calls it once. */
int cli_getopt(const struct command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, int *exit_code);
/* Checks that min to max (-1: any number) positional arguments follow the options. Returns
 * true, or false after printing what is wrong and the usage (the command returns EXIT_USAGE). */
bool cli_nargs(const struct command *cmd, int argc, char **argv, int min, int max);
/* Loads the config (once) and sets the log level. Returns false after printing why (the command
 * returns EXIT_USAGE). */
bool cli_config(struct cli *cli);
/* For commands whose only option is --json: parses it, checks that min_args..max_args
 * positional arguments follow (argv[optind..]) and loads the config. Returns -1 to go on, else
 * the exit code to return. */
int cli_parse_json_flag(struct cli *cli, const char *name, int argc, char **argv, int min_args,
			int max_args, bool *json);

/* The store at state_dir/swarmflow.db (created when missing), or NULL after printing why. */
struct store *cli_store(struct cli *cli);
/* The engine, version negotiated and checked to be a swarm manager, or NULL after printing
 * why. */
struct engine *cli_engine(struct cli *cli);
/* The same without printing: NULL with *why set (caller frees) and *retry true when no engine
 * answered (worth waiting for), false when one answered but cannot be used (not a manager,
 * not in a swarm, a bad docker_host). */
struct engine *cli_engine_open(struct cli *cli, char **why, bool *retry);
/* Calls curl_global_init() once: done by the engine functions above, and by a command before it
 * starts threads that may use curl. */
void cli_curl_ready(struct cli *cli);
/* The DAGs of dags_folder, scanned once. */
struct dagbag *cli_dags(struct cli *cli);

/* SIGHUP (reload.c): loads the config again; on success the live keys (parallelism, pools,
 * policy, poll and reload intervals, log level, webhook, keep_failed_services) replace the
 * running ones and the DAG files are read again under the new policy; a changed key the daemon
 * is bound to (dags_folder, state_dir, docker_host, instance, ...) is logged and kept. On error
 * logs it and keeps the running config. ctx is the struct cli. */
bool cli_reload_config(void *ctx);
/* The DAG by id, or NULL after printing "unknown DAG" (and the file errors, if any). */
const struct dag *cli_dag(struct cli *cli, const char *dag_id);

/* Prints the usage of cmd to stderr and returns EXIT_USAGE. */
int cli_usage(const struct command *cmd);
/* Prints the usage and summary of cmd to stdout (for --help). */
void cli_help(const struct command *cmd);
/* The command named name ("dags list"), for its usage line. */
const struct command *cli_command(const char *name);

/* Whether services get mode replicated-job: asks the engine's API version when one answers
 * (quietly, 2 s at most), else assumes a current engine. */
bool cli_job_mode(struct cli *cli);

/* Prints a JSON value to stdout (indented) and frees it. */
void cli_print_json(json_t *v);
/* "2026-11-21T18:00:00.000Z" or "-" for 0. */
void cli_format_ms(int64_t ms, char out[static 32]);
/* This machine's host name (the container's, in a stack), "unknown" when it cannot be read;
 * names a standby's heartbeat file and the lease holder. */
void cli_host_name(char out[static 256]);

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
int cmd_tasks_output(struct cli *cli, int argc, char **argv);
int cmd_dags_backfill(struct cli *cli, int argc, char **argv); /* cmd_backfill.c */
int cmd_tasks_clear(struct cli *cli, int argc, char **argv);   /* cmd_clear.c */
int cmd_health(struct cli *cli, int argc, char **argv);        /* cmd_health.c */

/* Shared by trigger and test: creates a run of dag with conf text (NULL: {}) and run id (NULL:
 * manual__<now>). Returns false after printing why; *exit_code says how to exit. */
bool cli_create_run(struct cli *cli, const struct dag *dag, const char *conf, const char *run_id,
		    const char *runner, struct run *out, int *exit_code);
/* Prints the task table of a run. */
void cli_print_tasks(struct cli *cli, const struct run *run);

#endif
