/* cmd_dags.c - `dags list|validate|show|pause|unpause`: what the dags folder holds. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/core/policy.h"
#include "swarmflow/core/spec.h"
#include "swarmflow/web/dags.h"

static void print_errors(FILE *out, const struct dag_errors *errs)
{
	for (size_t i = 0; i < errs->len; i++) {
		if (errs->v[i].line > 0)
			fprintf(out, "%s:%d: %s\n", errs->v[i].file, errs->v[i].line,
				errs->v[i].message);
		else
			fprintf(out, "%s: %s\n", errs->v[i].file, errs->v[i].message);
	}
}

static bool is_paused(struct cli *cli, const char *dag_id)
{
	bool paused = false;
	struct store *st = cli_store(cli);
	char *err = NULL;
	if (st && !store_dag_is_paused(st, dag_id, &paused, &err))
		free(err);
	return paused;
}

static json_t *dag_json(struct cli *cli, const struct dag *dag, const struct dag_errors *errs)
{
	json_t *tags = json_array();
	for (size_t i = 0; i < dag->tags.len; i++)
		json_array_append_new(tags, json_string(dag->tags.v[i]));
	return json_pack("{s:s, s:s, s:i, s:s?, s:s, s:b, s:i, s:o, s:o}", "dag_id", dag->dag_id,
			 "file", dag->file, "line", dag->line, "description", dag->description,
			 "schedule", dag->schedule_str, "paused", is_paused(cli, dag->dag_id),
			 "tasks", (int)dag->n_tasks, "tags", tags, "errors",
			 dag_errors_to_json(errs));
}

static void list_json(struct cli *cli, const struct dagbag *bag)
{
	json_t *out = json_array();
	for (size_t f = 0; f < bag->n_files; f++) {
		const struct dagbag_file *file = &bag->files[f];
		for (size_t i = 0; i < file->n_dags; i++) {
			/* A DAG id defined again in a later file: that copy is not in use; the
			 * duplicate is reported in the folder's errors. */
			if (dagbag_find(bag, file->dags[i]->dag_id) != file->dags[i])
				continue;
			json_array_append_new(out,
					      dag_json(cli, file->dags[i], &file->parsed.errors));
		}
		if (file->n_dags == 0 && file->parsed.errors.len)
			json_array_append_new(
			    out, json_pack("{s:n, s:s, s:o}", "dag_id", "file", file->path,
					   "errors", dag_errors_to_json(&file->parsed.errors)));
	}
	if (bag->errors.len)
		json_array_append_new(out,
				      json_pack("{s:n, s:s, s:o}", "dag_id", "file", bag->folder,
						"errors", dag_errors_to_json(&bag->errors)));
	cli_print_json(out);
}

static void list_dag_row(const struct dag *dag, void *ud)
{
	void **args = ud;
	struct cli *cli = args[0];
	struct table *t = args[1];
	char tasks[16];
	snprintf(tasks, sizeof(tasks), "%zu", dag->n_tasks);
	table_add(t, dag->dag_id);
	table_add(t, dag->schedule_str);
	table_add(t, is_paused(cli, dag->dag_id) ? "yes" : "no");
	table_add(t, tasks);
	table_add(t, dag->file);
}

int cmd_dags_list(struct cli *cli, int argc, char **argv)
{
	bool json = false;
	int rc = cli_parse_json_flag(cli, "dags list", argc, argv, 0, 0, &json);
	if (rc >= 0)
		return rc;
	struct dagbag *bag = cli_dags(cli);
	if (json) {
		list_json(cli, bag);
		return EXIT_OK;
	}
	static const char *const headers[] = {"DAG", "SCHEDULE", "PAUSED", "TASKS", "FILE"};
	struct table t;
	table_init(&t, ARRAY_LEN(headers), headers);
	void *args[] = {cli, &t};
	dagbag_foreach(bag, list_dag_row, args);
	table_print(&t);
	if (dagbag_error_count(bag)) {
		printf("\nerrors:\n");
		for (size_t f = 0; f < bag->n_files; f++)
			print_errors(stdout, &bag->files[f].parsed.errors);
		print_errors(stdout, &bag->errors);
	}
	return EXIT_OK;
}

/* Validates one file against the parser and the policy; returns its number of errors and adds its
 * DAG count to *n_dags. */
static size_t validate_file(const char *path, const struct policy *policy, size_t *n_dags)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	struct buf text;
	buf_init(&text, 10u * 1024 * 1024);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && buf_append(&text, chunk, n))
		;
	fclose(fp);
	if (text.too_big) {
		fprintf(stderr, "%s: file too large (limit 10 MiB)\n", path);
		buf_finish(&text);
		return 1;
	}
	struct dag_file df = {0};
	if (dag_file_parse(text.data ? text.data : "", text.len, path, &df))
		policy_check_file(policy, &df);
	buf_finish(&text);
	print_errors(stderr, &df.errors);
	size_t errors = df.errors.len;
	*n_dags += df.n_dags;
	dag_file_finish(&df);
	return errors;
}

static size_t validate_folder(const char *path, const struct policy *policy, size_t *n_dags)
{
	struct dagbag bag;
	dagbag_init(&bag, path);
	dagbag_set_policy(&bag, policy);
	dagbag_refresh(&bag);
	for (size_t f = 0; f < bag.n_files; f++) {
		print_errors(stderr, &bag.files[f].parsed.errors);
		*n_dags += bag.files[f].n_dags;
	}
	print_errors(stderr, &bag.errors);
	size_t errors = dagbag_error_count(&bag);
	dagbag_finish(&bag);
	return errors;
}

int cmd_dags_validate(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = cli_command("dags validate");
	int rc;
	if (cli_getopt(cmd, argc, argv, "", NULL, &rc) != -1)
		return rc;
	if (!cli_config(cli))
		return EXIT_USAGE;
	size_t errors = 0, n_dags = 0;
	if (optind == argc)
		errors += validate_folder(cli->cfg.dags_folder, &cli->cfg.policy, &n_dags);
	for (int i = optind; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			errors += validate_folder(argv[i], &cli->cfg.policy, &n_dags);
		else
			errors += validate_file(argv[i], &cli->cfg.policy, &n_dags);
	}
	printf("%zu DAG%s, %zu error%s\n", n_dags, n_dags == 1 ? "" : "s", errors,
	       errors == 1 ? "" : "s");
	return errors ? EXIT_FAILED : EXIT_OK;
}

static int show_spec(struct cli *cli, const struct dag *dag, const char *task_id)
{
	const struct task *task = dag_task_find(dag, task_id);
	if (!task) {
		fprintf(stderr, "swarmflow: DAG '%s' has no task '%s'\n", dag->dag_id, task_id);
		return EXIT_FAILED;
	}
	int64_t now = time_now_ms() / 1000;
	char iso[32], run_id[64];
	time_format_iso(now, iso);
	snprintf(run_id, sizeof(run_id), "manual__%s", iso);
	struct template_ctx tctx = {
	    .logical_date = now,
	    .data_interval_start = now,
	    .data_interval_end = now,
	    .run_id = run_id,
	    .dag_id = dag->dag_id,
	    .task_id = task->task_id,
	    .try_number = 1,
	    .map_index = -1,
	    .preview = true,
	};
	struct spec_input in = {
	    .dag = dag,
	    .task = task,
	    .tctx = &tctx,
	    .instance = cli->cfg.instance,
	    .service_prefix = cli->cfg.service_prefix,
	    .job_mode = cli_job_mode(cli),
	};
	char *err = NULL;
	json_t *spec = spec_build(&in, &err);
	if (!spec) {
		fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return EXIT_FAILED;
	}
	cli_print_json(spec);
	return EXIT_OK;
}

static void show_tasks(const struct dag *dag)
{
	printf("dag %s (%s:%d)\nschedule: %s\n", dag->dag_id, dag->file, dag->line,
	       dag->schedule_str);
	if (dag->description)
		printf("description: %s\n", dag->description);
	printf("\n");
	static const char *const headers[] = {"TASK", "UPSTREAM", "TRIGGER", "IMAGE"};
	struct table t;
	table_init(&t, ARRAY_LEN(headers), headers);
	for (size_t i = 0; i < dag->n_tasks; i++) {
		const struct task *task = &dag->tasks[dag->topo[i]];
		struct buf up;
		buf_init(&up, 0);
		for (size_t u = 0; u < task->upstream.len; u++)
			buf_printf(&up, "%s%s", u ? "," : "", task->upstream.v[u]);
		table_add(&t, task->task_id);
		table_add(&t, up.data);
		table_add(&t, trigger_rule_name(task->trigger_rule));
		table_add(&t, task->image);
		buf_finish(&up);
	}
	table_print(&t);
}

int cmd_dags_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"spec", required_argument, NULL, 's'}, {0}};
	const struct command *cmd = cli_command("dags show");
	const char *spec_task = NULL;
	int c, rc;
	while ((c = cli_getopt(cmd, argc, argv, "s:", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		spec_task = optarg;
	}
	if (!cli_nargs(cmd, argc, argv, 1, 1) || !cli_config(cli))
		return EXIT_USAGE;
	const struct dag *dag = cli_dag(cli, argv[optind]);
	if (!dag)
		return EXIT_FAILED;
	if (spec_task)
		return show_spec(cli, dag, spec_task);
	show_tasks(dag);
	return EXIT_OK;
}

static int set_paused(struct cli *cli, const char *name, int argc, char **argv, bool paused)
{
	const struct command *cmd = cli_command(name);
	int rc;
	if (cli_getopt(cmd, argc, argv, "", NULL, &rc) != -1)
		return rc;
	if (!cli_nargs(cmd, argc, argv, 1, 1) || !cli_config(cli))
		return EXIT_USAGE;
	const char *dag_id = argv[optind];
	if (!cli_dag(cli, dag_id))
		return EXIT_FAILED;
	struct store *st = cli_store(cli);
	char *err = NULL;
	if (!st)
		return EXIT_FAILED;
	if (!store_dag_set_paused(st, dag_id, paused, &err)) {
		fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return EXIT_FAILED;
	}
	printf("dag %s %s\n", dag_id, paused ? "paused" : "unpaused");
	return EXIT_OK;
}

int cmd_dags_pause(struct cli *cli, int argc, char **argv)
{
	return set_paused(cli, "dags pause", argc, argv, true);
}

int cmd_dags_unpause(struct cli *cli, int argc, char **argv)
{
	return set_paused(cli, "dags unpause", argc, argv, false);
}
