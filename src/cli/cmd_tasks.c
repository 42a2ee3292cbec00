/* cmd_tasks.c - `runs list`, `tasks list`, `tasks logs` and `tasks output`: reading the store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rows.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/core/output.h"

static int store_failed(char *err)
{
	fprintf(stderr, "swarmflow: %s\n", err ? err : "store error");
	free(err);
	return EXIT_FAILED;
}

static void runs_table(const struct run_list *runs)
{
	static const char *const headers[] = {"DAG", "RUN_ID", "STATE", "TYPE", "START", "END"};
	struct table t;
	table_init(&t, ARRAY_LEN(headers), headers);
	for (size_t i = 0; i < runs->len; i++) {
		const struct run *r = &runs->v[i];
		char start[32], end[32];
		cli_format_ms(r->start_ms, start);
		cli_format_ms(r->end_ms, end);
		table_add(&t, r->dag_id);
		table_add(&t, r->run_id);
		table_add(&t, run_state_name(r->state));
		table_add(&t, r->run_type);
		table_add(&t, start);
		table_add(&t, end);
	}
	table_print(&t);
}

/* Streams the rows out as the store reads them: no list, no tree of them all (10,000 runs). */
static void run_out(const struct run *run, void *ctx)
{
	cli_json_stream_run(ctx, run);
}

static int runs_json(struct store *st, const char *dag_id, const enum run_state *state)
{
	struct json_stream js;
	char *err = NULL;
	cli_json_stream_begin(&js, stdout);
	if (!store_runs_each(st, dag_id, state, 0, run_out, &js, &err)) {
		fflush(stdout);
		cli_json_stream_drop(&js);
		return store_failed(err); /* the array stays open: not valid JSON */
	}
	cli_json_stream_end(&js);
	return EXIT_OK;
}

int cmd_runs_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'}, {0}};
	const struct command *cmd = cli_command("runs list");
	bool json = false, has_state = false;
	enum run_state state = RUN_QUEUED;
	int c, rc;
	while ((c = cli_getopt(cmd, argc, argv, "s:j", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		if (c == 'j') {
			json = true;
		} else if (run_state_parse(optarg, &state)) {
			has_state = true;
		} else {
			fprintf(stderr,
				"swarmflow: --state: unknown run state '%s' "
				"(queued, running, success, failed)\n",
				optarg);
			return cli_usage(cmd);
		}
	}
	if (!cli_nargs(cmd, argc, argv, 0, 1) || !cli_config(cli))
		return EXIT_USAGE;
	const char *dag_id = optind < argc ? argv[optind] : NULL;
	struct store *st = cli_store(cli);
	if (!st)
		return EXIT_FAILED;
	const enum run_state *filter = has_state ? &state : NULL;
	char *err = NULL;
	if (!store_read_once(st, &err))
		return store_failed(err);
	if (json)
		return runs_json(st, dag_id, filter);
	struct run_list runs = {0};
	if (!store_runs_list(st, dag_id, filter, 0, &runs, &err))
		return store_failed(err);
	runs_table(&runs);
	run_list_finish(&runs);
	return EXIT_OK;
}

static void tasks_table(const struct ti_list *tis)
{
	static const char *const headers[] = {"TASK", "STATE", "TRY", "EXIT", "SERVICE", "ERROR"};
	struct table t;
	table_init(&t, ARRAY_LEN(headers), headers);
	for (size_t i = 0; i < tis->len; i++) {
		const struct ti *ti = &tis->v[i];
		char try_s[16], exit_s[16];
		snprintf(try_s, sizeof(try_s), "%d/%d", ti->try_number, ti->max_tries);
		snprintf(exit_s, sizeof(exit_s), "%d", ti->exit_code);
		char *name = ti->map_index >= 0 ? xasprintf("%s[%d]", ti->task_id, ti->map_index)
						: xstrdup(ti->task_id);
		table_add(&t, name);
		free(name);
		table_add(&t, ti_state_name(ti->state));
		table_add(&t, try_s);
		table_add(&t, ti->has_exit_code ? exit_s : NULL);
		table_add(&t, ti->service_name);
		table_add(&t, ti->error);
	}
	table_print(&t);
}

void cli_print_tasks(struct cli *cli, const struct run *run)
{
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_tis_for_run(cli->store, run->id, &tis, &err)) {
		store_failed(err);
		return;
	}
	tasks_table(&tis);
	ti_list_finish(&tis);
}

/* Finds the run named on the command line; prints why not. */
static bool find_run(struct cli *cli, const char *dag_id, const char *run_id, struct run *out)
{
	struct store *st = cli_store(cli);
	char *err = NULL;
	if (!st)
		return false;
	if (store_run_get(st, dag_id, run_id, out, &err))
		return true;
	store_failed(err);
	return false;
}

int cmd_tasks_list(struct cli *cli, int argc, char **argv)
{
	bool json = false;
	int rc = cli_parse_json_flag(cli, "tasks list", argc, argv, 2, 2, &json);
	if (rc >= 0)
		return rc;
	struct run run = {0};
	if (!find_run(cli, argv[optind], argv[optind + 1], &run))
		return EXIT_FAILED;
	struct ti_list tis = {0};
	char *err = NULL;
	bool ok = json ? store_tis_for_run_outputs(cli->store, run.id, &tis, &err)
		       : store_tis_for_run(cli->store, run.id, &tis, &err);
	run_finish(&run);
	if (!ok)
		return store_failed(err);
	if (json) {
		struct json_stream js;
		cli_json_stream_begin(&js, stdout);
		for (size_t i = 0; i < tis.len; i++)
			cli_json_stream_ti(&js, &tis.v[i]);
		cli_json_stream_end(&js);
	} else {
		tasks_table(&tis);
	}
	ti_list_finish(&tis);
	return EXIT_OK;
}

static int print_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "swarmflow: %s: %s\n", path, strerror(errno));
		return EXIT_FAILED;
	}
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fwrite(chunk, 1, n, stdout);
	fclose(fp);
	return EXIT_OK;
}

/* Prints the log of one recorded try. */
static int print_log(const struct ti *ti, const struct ti *try)
{
	if (try->log_path)
		return print_file(try->log_path);
	fprintf(stderr, "swarmflow: try %d of task '%s' has no stored log\n", try->try_number,
		ti->task_id);
	return EXIT_FAILED;
}

/* Prints the output of one recorded try (a newline added when it has none at its end). */
static int print_output(const struct ti *ti, const struct ti *try)
{
	if (!try->output) {
		fprintf(stderr, "swarmflow: try %d of task '%s' has no output (%s)\n",
			try->try_number, ti->task_id, ti_state_name(try->state));
		return EXIT_FAILED;
	}
	fputs(try->output, stdout);
	if (*try->output && !str_has_suffix(try->output, "\n"))
		putchar('\n');
	return EXIT_OK;
}

/* Prints, with print, try `want` (0: the latest) of a task instance from its history. */
static int print_try(struct cli *cli, const struct ti *ti, int want,
		     int (*print)(const struct ti *ti, const struct ti *try))
{
	struct ti_list tries = {0};
	char *err = NULL;
	if (!store_tries_list(cli->store, ti->id, &tries, &err))
		return store_failed(err);
	const struct ti *found = NULL;
	for (size_t i = 0; i < tries.len; i++)
		if (want == 0 || tries.v[i].try_number == want)
			found = &tries.v[i];
	int rc = EXIT_FAILED;
	if (found)
		rc = print(ti, found);
	else
		fprintf(stderr, "swarmflow: task '%s' has no %s try%s\n", ti->task_id,
			want ? "such" : "finished", want ? "" : " yet");
	ti_list_finish(&tries);
	return rc;
}

/* The outputs of every instance of a mapped task (the current try of each), as one JSON array
 * in map order: what {{ upstream.TASK.outputs_json }} gives. */
static int print_mapped_outputs(struct cli *cli, const struct run *run, const char *task_id)
{
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_tis_for_run_outputs(cli->store, run->id, &tis, &err))
		return store_failed(err);
	json_t *arr = json_array();
	for (size_t i = 0; i < tis.len; i++)
		if (strcmp(tis.v[i].task_id, task_id) == 0 && tis.v[i].map_index >= 0)
			json_array_append_new(
			    arr,
			    output_as_json(tis.v[i].state == TI_SUCCESS ? tis.v[i].output : NULL));
	cli_print_json(arr);
	ti_list_finish(&tis);
	return EXIT_OK;
}

/* Options of `tasks logs` and `tasks output`: --try N and --map-index N (-1: not given). */
struct try_opts {
	int64_t want;
	int64_t map_index;
};

static int parse_try_opts(const char *name, int argc, char **argv, struct try_opts *o)
{
	static const struct option opts[] = {{"try", required_argument, NULL, 't'},
					     {"map-index", required_argument, NULL, 'm'},
					     {0}};
	const struct command *cmd = cli_command(name);
	int c, rc;
	*o = (struct try_opts){0, -1};
	while ((c = cli_getopt(cmd, argc, argv, "t:m:", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		if (c == 't' && !parse_int64(optarg, 1, 1000000, &o->want)) {
			fprintf(stderr, "swarmflow: --try: expected a try number >= 1, got '%s'\n",
				optarg);
			return cli_usage(cmd);
		}
		if (c == 'm' && !parse_int64(optarg, 0, 1000000, &o->map_index)) {
			fprintf(stderr,
				"swarmflow: --map-index: expected an index >= 0, got '%s'\n",
				optarg);
			return cli_usage(cmd);
		}
	}
	if (!cli_nargs(cmd, argc, argv, 3, 3))
		return EXIT_USAGE;
	return -1;
}

/* The task instance of TASK (and map index) in a run's list; NULL (said why) when none. A mapped
 * task without --map-index is *mapped (its instances are all wanted). */
static const struct ti *pick_ti(const struct ti_list *tis, const char *task_id, int64_t map_index,
				bool *mapped)
{
	*mapped = false;
	const struct ti *any = NULL;
	for (size_t i = 0; i < tis->len; i++) {
		const struct ti *ti = &tis->v[i];
		if (strcmp(ti->task_id, task_id) != 0)
			continue;
		any = ti;
		if (ti->map_index == map_index)
			return ti;
	}
	if (any && map_index < 0 && any->map_index >= 0)
		*mapped = true;
	else if (any)
		fprintf(stderr, "swarmflow: task '%s' has no map index %lld\n", task_id,
			(long long)map_index);
	else
		fprintf(stderr, "swarmflow: run has no task '%s'\n", task_id);
	return NULL;
}

/* `tasks logs` and `tasks output`: one try of one task instance, or a mapped task's outputs. */
static int show_try(struct cli *cli, const char *name, int argc, char **argv, bool output)
{
	struct try_opts o;
	int rc = parse_try_opts(name, argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (!cli_config(cli))
		return EXIT_USAGE;
	struct run run = {0};
	if (!find_run(cli, argv[optind], argv[optind + 1], &run))
		return EXIT_FAILED;
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_tis_for_run(cli->store, run.id, &tis, &err)) {
		run_finish(&run);
		return store_failed(err);
	}
	const char *task_id = argv[optind + 2];
	bool mapped = false;
	const struct ti *ti = pick_ti(&tis, task_id, o.map_index, &mapped);
	rc = EXIT_FAILED;
	if (ti)
		rc = print_try(cli, ti, (int)o.want, output ? print_output : print_log);
	else if (mapped && output && !o.want)
		rc = print_mapped_outputs(cli, &run, task_id);
	else if (mapped)
		fprintf(stderr,
			"swarmflow: task '%s' is mapped: name an instance with --map-index "
			"N\n",
			task_id);
	ti_list_finish(&tis);
	run_finish(&run);
	return rc;
}

int cmd_tasks_logs(struct cli *cli, int argc, char **argv)
{
	return show_try(cli, "tasks logs", argc, argv, false);
}

int cmd_tasks_output(struct cli *cli, int argc, char **argv)
{
	return show_try(cli, "tasks output", argc, argv, true);
}
