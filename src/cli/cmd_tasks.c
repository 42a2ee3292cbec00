/* cmd_tasks.c - `runs list`, `tasks list` and `tasks logs`: reading the store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rows.h"
#include "swarmflow/common/timeutil.h"

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

/* Streams the rows out as the store reads them: no list, no jansson tree (10,000 runs). */
struct rows_out {
	struct json_stream js;
	struct json_row row;
};

static void run_out(const struct run *run, void *ctx)
{
	struct rows_out *o = ctx;
	cli_json_stream_run(&o->js, &o->row, run);
}

static int runs_json(struct store *st, const char *dag_id, const enum run_state *state)
{
	static char out_buf[1 << 16];
	setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
	struct rows_out o = {0};
	char *err = NULL;
	cli_json_stream_begin(&o.js, stdout);
	bool ok = store_runs_each(st, dag_id, state, 0, run_out, &o, &err);
	json_row_finish(&o.row);
	if (!ok) {
		fflush(stdout);
		return store_failed(err); /* the array stays open: not valid JSON */
	}
	cli_json_stream_end(&o.js);
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
		table_add(&t, ti->task_id);
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
	bool ok = store_tis_for_run(cli->store, run.id, &tis, &err);
	run_finish(&run);
	if (!ok)
		return store_failed(err);
	if (json) {
		struct rows_out o = {0};
		cli_json_stream_begin(&o.js, stdout);
		for (size_t i = 0; i < tis.len; i++)
			cli_json_stream_ti(&o.js, &o.row, &tis.v[i]);
		cli_json_stream_end(&o.js);
		json_row_finish(&o.row);
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

/* Prints the log of try `want` (0: the latest) of a task instance. */
static int print_try_log(struct cli *cli, const struct ti *ti, int want)
{
	struct ti_list tries = {0};
	char *err = NULL;
	if (!store_tries_list(cli->store, ti->id, &tries, &err))
		return store_failed(err);
	const char *path = NULL;
	int found = 0;
	for (size_t i = 0; i < tries.len; i++) {
		if (want == 0 || tries.v[i].try_number == want) {
			path = tries.v[i].log_path;
			found = tries.v[i].try_number;
		}
	}
	int rc;
	if (!found) {
		fprintf(stderr, "swarmflow: task '%s' has no %s try%s\n", ti->task_id,
			want ? "such" : "finished", want ? "" : " yet");
		rc = EXIT_FAILED;
	} else if (!path) {
		fprintf(stderr, "swarmflow: try %d of task '%s' has no stored log\n", found,
			ti->task_id);
		rc = EXIT_FAILED;
	} else {
		rc = print_file(path);
	}
	ti_list_finish(&tries);
	return rc;
}

int cmd_tasks_logs(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"try", required_argument, NULL, 't'}, {0}};
	const struct command *cmd = cli_command("tasks logs");
	int64_t want = 0;
	int c, rc;
	while ((c = cli_getopt(cmd, argc, argv, "t:", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		if (!parse_int64(optarg, 1, 1000000, &want)) {
			fprintf(stderr, "swarmflow: --try: expected a try number >= 1, got '%s'\n",
				optarg);
			return cli_usage(cmd);
		}
	}
	if (!cli_nargs(cmd, argc, argv, 3, 3) || !cli_config(cli))
		return EXIT_USAGE;
	struct run run = {0};
	if (!find_run(cli, argv[optind], argv[optind + 1], &run))
		return EXIT_FAILED;
	struct ti_list tis = {0};
	char *err = NULL;
	bool ok = store_tis_for_run(cli->store, run.id, &tis, &err);
	run_finish(&run);
	if (!ok)
		return store_failed(err);
	rc = EXIT_FAILED;
	const char *task_id = argv[optind + 2];
	size_t i = 0;
	while (i < tis.len && strcmp(tis.v[i].task_id, task_id) != 0)
		i++;
	if (i == tis.len)
		fprintf(stderr, "swarmflow: run has no task '%s'\n", task_id);
	else
		rc = print_try_log(cli, &tis.v[i], (int)want);
	ti_list_finish(&tis);
	return rc;
}
