/* cmd_clear.c - `tasks clear DAG RUN_ID [TASK...] [--downstream]`: runs tasks of a run again. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarmflow/common/timeutil.h"

/* What to clear: named tasks (else the failed ones) and, with downstream, all after them. */
struct clear_req {
	const struct dag *dag;
	const char *run_id;
	char **names;
	size_t n_names;
	bool downstream;
};

static int fail_msg(const char *msg, char *err)
{
	fprintf(stderr, "swarmflow: %s%s%s\n", msg ? msg : "", msg && err ? ": " : "",
		err ? err : "");
	free(err);
	return EXIT_FAILED;
}

/* The task instance of the run for the DAG's task idx, or NULL when the run has none (a task
 * added to the DAG after the run was created). */
static struct ti *ti_of(struct ti_list *tis, const struct dag *dag, size_t idx)
{
	for (size_t i = 0; i < tis->len; i++)
		if (strcmp(tis->v[i].task_id, dag->tasks[idx].task_id) == 0)
			return &tis->v[i];
	return NULL;
}

/* Marks in pick[] (one per DAG task) the tasks to clear. Returns false after printing why (a
 * named task the DAG or the run does not have). */
static bool pick_tasks(const struct clear_req *req, struct ti_list *tis, bool *pick)
{
	const struct dag *dag = req->dag;
	for (size_t i = 0; i < req->n_names; i++) {
		long idx = dag_task_index(dag, req->names[i]);
		if (idx < 0 || !ti_of(tis, dag, (size_t)idx)) {
			fprintf(stderr, "swarmflow: %s '%s' has no task '%s'\n",
				idx < 0 ? "DAG" : "run", idx < 0 ? dag->dag_id : req->run_id,
				req->names[i]);
			return false;
		}
		pick[idx] = true;
	}
	for (size_t i = 0; req->n_names == 0 && i < dag->n_tasks; i++) {
		const struct ti *ti = ti_of(tis, dag, i);
		pick[i] = ti && (ti->state == TI_FAILED || ti->state == TI_UPSTREAM_FAILED);
	}
	/* Downstream, transitively: topo order places every task after its upstreams. */
	for (size_t k = 0; req->downstream && k < dag->n_tasks; k++) {
		const struct task *t = &dag->tasks[dag->topo[k]];
		for (size_t j = 0; pick[dag->topo[k]] && j < t->n_down; j++)
			pick[t->down_idx[j]] = true;
	}
	return true;
}

/* Refuses to clear a task whose try owns a service. */
static bool check_idle(const struct dag *dag, struct ti_list *tis, const bool *pick)
{
	for (size_t i = 0; i < dag->n_tasks; i++) {
		const struct ti *ti = pick[i] ? ti_of(tis, dag, i) : NULL;
		if (ti && (ti->state == TI_QUEUED || ti->state == TI_RUNNING)) {
			fprintf(stderr,
				"swarmflow: cannot clear task '%s': it is %s (try %d); wait for it "
				"to end, then clear it\n",
				ti->task_id, ti_state_name(ti->state), ti->try_number);
			return false;
		}
	}
	return true;
}

/* Clears the picked task instances (*n: how many) and sends a finished run back to queued, for
 * the daemon to drive. Inside the caller's transaction. */
static bool clear_picked(struct store *st, const struct dag *dag, struct run *run,
			 struct ti_list *tis, const bool *pick, size_t *n, char **err)
{
	*n = 0;
	for (size_t i = 0; i < dag->n_tasks; i++) {
		const struct ti *ti = pick[i] ? ti_of(tis, dag, i) : NULL;
		if (!ti)
			continue; /* downstream task the run does not have */
		if (!store_ti_clear(st, run->id, ti->task_id, dag->tasks[i].retries, err))
			return false;
		(*n)++;
	}
	if (*n == 0 || (run->state != RUN_SUCCESS && run->state != RUN_FAILED))
		return true;
	/* The `dags test` process that drove the run has ended with it: the daemon takes it. */
	return store_run_set_runner(st, run->id, NULL, err) &&
	       store_run_set_state(st, run->id, RUN_QUEUED, time_now_ms(), err);
}

static void print_cleared(const struct clear_req *req, const struct run *run, struct ti_list *tis,
			  const bool *pick, size_t n)
{
	if (n == 0) {
		printf("nothing to clear: run %s has no failed or upstream_failed task\n",
		       req->run_id);
		return;
	}
	for (size_t i = 0; i < req->dag->n_tasks; i++) {
		const struct ti *ti = pick[i] ? ti_of(tis, req->dag, i) : NULL;
		if (ti)
			printf("cleared %s (was %s, try %d)\n", ti->task_id,
			       ti_state_name(ti->state), ti->try_number);
	}
	bool finished = run->state == RUN_SUCCESS || run->state == RUN_FAILED;
	printf("run %s of DAG %s: %zu task%s cleared; the run is %s\n", req->run_id,
	       req->dag->dag_id, n, n == 1 ? "" : "s",
	       finished ? "queued again" : run_state_name(run->state));
}

/* Clears inside one transaction; returns the exit code. */
static int clear_in_store(struct cli *cli, const struct clear_req *req)
{
	struct store *st = cli->store;
	struct run run = {0};
	struct ti_list tis = {0};
	bool *pick = xcalloc(req->dag->n_tasks + 1, sizeof(*pick));
	char *err = NULL;
	size_t n = 0;
	int rc = EXIT_FAILED;
	if (!store_begin(st, &err)) {
		fail_msg(NULL, err);
		goto out;
	}
	if (!store_run_get(st, req->dag->dag_id, req->run_id, &run, &err) ||
	    !store_tis_for_run(st, run.id, &tis, &err)) {
		fail_msg(NULL, err);
		goto rollback;
	}
	if (!pick_tasks(req, &tis, pick) || !check_idle(req->dag, &tis, pick))
		goto rollback;
	if (!clear_picked(st, req->dag, &run, &tis, pick, &n, &err) || !store_commit(st, &err)) {
		fail_msg("nothing was cleared", err);
		goto rollback;
	}
	print_cleared(req, &run, &tis, pick, n);
	rc = EXIT_OK;
	goto out;
rollback:
	store_rollback(st);
out:
	free(pick);
	ti_list_finish(&tis);
	run_finish(&run);
	return rc;
}

int cmd_tasks_clear(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"downstream", no_argument, NULL, 'd'}, {0}};
	const struct command *cmd = cli_command("tasks clear");
	struct clear_req req = {0};
	int c, rc;
	while ((c = cli_getopt(cmd, argc, argv, "d", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		req.downstream = true;
	}
	if (!cli_nargs(cmd, argc, argv, 2, -1) || !cli_config(cli))
		return EXIT_USAGE;
	req.dag = cli_dag(cli, argv[optind]);
	if (!req.dag || !cli_store(cli))
		return EXIT_FAILED;
	req.names = argv + optind + 2;
	req.n_names = (size_t)(argc - optind - 2);
	req.run_id = argv[optind + 1];
	return clear_in_store(cli, &req);
}
