/* main.c - swarmflow's command line: global options, the command table, dispatch. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

extern char **environ;

/* The manual's chapter on the commands, named by `swarmflow --help` and the groups' usage. */
#define MANUAL_CLI "docs/cli.md"

static const struct command commands[] = {
    {"scheduler", "", "run the scheduler in the foreground until SIGTERM", cmd_scheduler,
     "docs/scheduling.md"},
    {"dags list", "[--json]", "DAGs found, paused or not, and every file's errors", cmd_dags_list,
     "docs/cli.md#json-output"},
    {"dags validate", "[PATH...]", "parse and check; errors as FILE:LINE: message",
     cmd_dags_validate, "docs/dag-format.md#validation"},
    {"dags show", "DAG [--spec TASK]", "tasks and upstreams; --spec prints the ServiceSpec",
     cmd_dags_show, "docs/dag-format.md#task-keys"},
    {"dags trigger", "DAG [--conf JSON] [--run-id ID] [--wait]",
     "queue a run for the scheduler; --wait: exit 0 success, 1 failed", cmd_dags_trigger,
     "docs/cli.md#running-and-changing-runs"},
    {"dags test", "DAG [--conf JSON] [--run-id ID]",
     "run one DAG run now in the foreground; exit 0 success, 1 failed", cmd_dags_test,
     "docs/cli.md#running-and-changing-runs"},
    {"dags backfill", "DAG --from DATE --to DATE [--wait]",
     "queue a run for every interval in the range", cmd_dags_backfill,
     "docs/scheduling.md#schedules-catchup-and-backfill"},
    {"dags pause", "DAG", "create no new runs of DAG", cmd_dags_pause,
     "docs/scheduling.md#schedules-catchup-and-backfill"},
    {"dags unpause", "DAG", "let DAG run again", cmd_dags_unpause,
     "docs/scheduling.md#schedules-catchup-and-backfill"},
    {"runs list", "[DAG] [--state S] [--json]", "DAG runs, newest first", cmd_runs_list,
     "docs/cli.md#json-output"},
    {"tasks list", "DAG RUN_ID [--json]", "one row per task of a run", cmd_tasks_list,
     "docs/cli.md#json-output"},
    {"tasks clear", "DAG RUN_ID [TASK...] [--downstream]",
     "run tasks of a finished run again (all failed ones when none is named)", cmd_tasks_clear,
     "docs/cli.md#running-and-changing-runs"},
    {"tasks logs", "DAG RUN_ID TASK [--try N] [--map-index N]", "the stored log of a task's try",
     cmd_tasks_logs, "docs/cli.md#commands"},
    {"tasks output", "DAG RUN_ID TASK [--try N] [--map-index N]",
     "the output of a task's try (a mapped task's: all, as a JSON array)", cmd_tasks_output,
     "docs/dag-format.md#passing-data-between-tasks"},
    {"health", "", "exit 0 when the scheduler of this state_dir is alive and reaches the engine",
     cmd_health, "docs/operations.md#health"},
    {"version", "", "print the version", cmd_version, "docs/cli.md"},
};

const struct command *cli_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: swarmflow [--config FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		char left[96];
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		fprintf(out, "  %-46s %s\n", left, commands[i].summary);
	}
	fprintf(out, "\nEvery command takes --help. Exit codes: 0 ok, 1 failed, 2 usage or "
		     "config error.\n"
		     "Manual: " MANUAL_CLI " (the commands); README.md lists every chapter.\n");
}

/* Finds the command named by the first one or two words of argv; *used is how many. */
static const struct command *find_command(int argc, char **argv, int *used)
{
	if (argc >= 2) {
		char two[128];
		snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
		const struct command *cmd = cli_command(two);
		if (cmd) {
			*used = 2;
			return cmd;
		}
	}
	*used = 1;
	return argc >= 1 ? cli_command(argv[0]) : NULL;
}

/* `swarmflow dags [WORD]`: a group's word without one of its commands. Prints the usage of the
 * group's commands, to stdout for --help; returns the exit code, or -1 if argv[0] is no group. */
static int group_usage(int argc, char **argv)
{
	size_t len = strlen(argv[0]);
	bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
	FILE *out = help ? stdout : stderr;
	bool found = false;
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct command *cmd = &commands[i];
		if (strncmp(cmd->name, argv[0], len) != 0 || cmd->name[len] != ' ')
			continue;
		if (!found && argc >= 2 && !help)
			fprintf(stderr, "swarmflow: unknown command '%s %s'\n\n", argv[0], argv[1]);
		fprintf(out, "%s swarmflow [--config FILE] %s%s%s\n",
			found ? "      " : "usage:", cmd->name, *cmd->args ? " " : "", cmd->args);
		found = true;
	}
	if (!found)
		return -1;
	fprintf(out, "\nManual: " MANUAL_CLI "\n");
	return help ? EXIT_OK : EXIT_USAGE;
}

static int run_command(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	char prog[64];
	snprintf(prog, sizeof(prog), "swarmflow %s", cmd->name);
	argv[0] = prog; /* for getopt's messages */
	optind = 0;     /* each command parses its own options from argv[0] */
	return cmd->run(cli, argc, argv);
}

static void cli_finish(struct cli *cli)
{
	if (cli->bag_loaded)
		dagbag_finish(&cli->bag);
	engine_destroy(cli->engine);
	store_close(cli->store);
	config_finish(&cli->cfg);
	if (cli->curl_ready)
		curl_global_cleanup();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	const char *config_path = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("swarmflow %s\n", SWARMFLOW_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	int used = 0;
	const struct command *cmd = find_command(argc - optind, argv + optind, &used);
	if (!cmd) {
		int rc = optind < argc ? group_usage(argc - optind, argv + optind) : -1;
		if (rc >= 0)
			return rc;
		if (optind < argc)
			fprintf(stderr, "swarmflow: unknown command '%s'\n\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	struct cli cli = {.envp = environ, .config_path = config_path};
	config_init(&cli.cfg);
	int sub_argc = argc - optind - used + 1;
	char **sub_argv = argv + optind + used - 1;
	int rc = run_command(&cli, cmd, sub_argc, sub_argv);
	cli_finish(&cli);
	return rc;
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = cli_command("version");
	int rc;
	if (cli_getopt(cmd, argc, argv, "", NULL, &rc) != -1)
		return rc;
	if (!cli_nargs(cmd, argc, argv, 0, 0))
		return EXIT_USAGE;
	printf("swarmflow %s\n", SWARMFLOW_VERSION);
	return EXIT_OK;
}
