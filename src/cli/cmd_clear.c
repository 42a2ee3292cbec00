/* cmd_clear.c - `tasks clear DAG RUN_ID [TASK...] [--downstream]`: runs tasks of a run again. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarmflow/web/control.h"

static void print_cleared(const struct control_clear *req, const struct dag *dag,
			  const struct control_clear_result *res)
{
	if (res->len == 0) {
		printf("nothing to clear: run %s has no failed or upstream_failed task\n",
		       req->run_id);
		return;
	}
	for (size_t i = 0; i < res->len; i++)
		printf("cleared %s (was %s, try %d)\n", res->v[i].task_id,
		       ti_state_name(res->v[i].was), res->v[i].try_number);
	printf("run %s of DAG %s: %zu task%s cleared; the run is %s\n", req->run_id, dag->dag_id,
	       res->len, res->len == 1 ? "" : "s",
	       res->requeued ? "queued again" : run_state_name(res->run_was));
}

/* Clears in one transaction (control.c, shared with the REST API); returns the exit code. */
static int clear_in_store(struct cli *cli, const struct dag *dag, const struct control_clear *req)
{
	struct control_clear_result res = {0};
	char *err = NULL;
	enum control_status s = control_tasks_clear(cli->store, dag, req, &res, &err);
	if (s == CONTROL_OK)
		print_cleared(req, dag, &res);
	else
		fprintf(stderr, "swarmflow: %s%s\n",
			s == CONTROL_FAILED ? "nothing was cleared: " : "", err ? err : "error");
	free(err);
	control_clear_result_finish(&res);
	return s == CONTROL_OK ? EXIT_OK : EXIT_FAILED;
}

int cmd_tasks_clear(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"downstream", no_argument, NULL, 'd'}, {0}};
	const struct command *cmd = cli_command("tasks clear");
	struct control_clear req = {0};
	int c, rc;
	while ((c = cli_getopt(cmd, argc, argv, "d", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		req.downstream = true;
	}
	if (!cli_nargs(cmd, argc, argv, 2, -1) || !cli_config(cli))
		return EXIT_USAGE;
	const struct dag *dag = cli_dag(cli, argv[optind]);
	if (!dag || !cli_store(cli))
		return EXIT_FAILED;
	req.run_id = argv[optind + 1];
	req.tasks = (const char *const *)argv + optind + 2;
	req.n_tasks = (size_t)(argc - optind - 2);
	/* No task named: the failed and upstream_failed ones; named tasks whatever their state. */
	req.only_failed = req.n_tasks == 0;
	return clear_in_store(cli, dag, &req);
}
