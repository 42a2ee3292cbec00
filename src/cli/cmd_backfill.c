/* cmd_backfill.c - `dags backfill DAG --from DATE --to DATE [--wait]`: runs for past intervals. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "swarmflow/sched/sched.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/core/timetable.h"

/* The most runs one backfill may queue: a typo in a date must not fill the store. */
#define BACKFILL_MAX_RUNS 10000
/* How often --wait looks at the runs. */
#define WAIT_POLL_MS 200
/* After this long with every run still queued, --wait says no scheduler may be running. */
#define QUEUED_HINT_MS 10000

struct backfill_opts {
	int64_t from, to;
	bool wait;
	const struct dag *dag;
};

/* Parses one date option into *out; prints what is wrong and returns false when it is bad. */
static bool parse_date(const char *opt, const char *value, int64_t *out)
{
	if (time_parse_iso(value, out))
		return true;
	fprintf(stderr,
		"swarmflow dags backfill: %s: invalid date '%s' (expected YYYY-MM-DD or "
		"YYYY-MM-DDTHH:MM:SSZ, UTC)\n",
		opt, value);
	return false;
}

/* Reads the options and the DAG. Returns -1 to go on, else the exit code to return. */
static int parse_opts(struct cli *cli, int argc, char **argv, struct backfill_opts *o)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"wait", no_argument, NULL, 'w'},
	    {0},
	};
	const struct command *cmd = cli_command("dags backfill");
	const char *from = NULL, *to = NULL;
	int c, rc = EXIT_USAGE;
	while ((c = cli_getopt(cmd, argc, argv, "f:t:w", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		if (c == 'f')
			from = optarg;
		else if (c == 't')
			to = optarg;
		else
			o->wait = true;
	}
	if (!cli_nargs(cmd, argc, argv, 1, 1))
		return EXIT_USAGE;
	if (!from || !to) {
		fprintf(stderr, "swarmflow dags backfill: %s is required\n",
			!from ? "--from" : "--to");
		return cli_usage(cmd);
	}
	if (!parse_date("--from", from, &o->from) || !parse_date("--to", to, &o->to))
		return cli_usage(cmd);
	if (o->from > o->to) {
		fprintf(stderr, "swarmflow dags backfill: --from %s is after --to %s\n", from, to);
		return cli_usage(cmd);
	}
	if (!cli_config(cli))
		return EXIT_USAGE;
	o->dag = cli_dag(cli, argv[optind]);
	return o->dag ? -1 : EXIT_FAILED;
}

/* Queues the run of one interval. *pk is its row id, or 0 when a run with its id exists. */
static bool queue_run(struct store *st, const struct dag *dag, const struct interval *iv,
		      int64_t *pk)
{
	char iso[32], end_iso[32], run_id[64];
	time_format_iso(iv->start, iso);
	time_format_iso(iv->end, end_iso);
	snprintf(run_id, sizeof(run_id), "backfill__%s", iso);
	struct run r = {.dag_id = dag->dag_id,
			.run_id = run_id,
			.run_type = "backfill",
			.logical_date = iv->start,
			.data_interval_start = iv->start,
			.data_interval_end = iv->end,
			.queued_ms = time_now_ms(),
			.conf = "{}"};
	struct run made = {0};
	char *err = NULL, *get_err = NULL;
	bool ok = sched_run_create(st, dag, &r, &made, &err);
	*pk = ok ? made.id : 0;
	if (ok)
		printf("queued  %s  data interval %s to %s\n", run_id, iso, end_iso);
	else if (store_run_get(st, dag->dag_id, run_id, &made, &get_err))
		printf("skipped %s  (a run with this id exists: %s)\n", run_id,
		       run_state_name(made.state));
	else
		fprintf(stderr, "swarmflow: %s\n", err);
	bool exists = !ok && !get_err;
	run_finish(&made);
	free(err);
	free(get_err);
	return ok || exists;
}

/* Queues a run for every interval, in one transaction (the scheduler sees all or none). Fills
 * pks (the queued runs' row ids) and *n_queued. */
static bool queue_all(struct store *st, const struct dag *dag, const struct interval *iv, size_t n,
		      int64_t *pks, size_t *n_queued)
{
	char *err = NULL;
	if (!store_begin(st, &err)) {
		fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return false;
	}
	*n_queued = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t pk = 0;
		if (!queue_run(st, dag, &iv[i], &pk)) {
			store_rollback(st);
			return false;
		}
		if (pk)
			pks[(*n_queued)++] = pk;
	}
	if (!store_commit(st, &err)) {
		fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return false;
	}
	printf("backfill of DAG %s: %zu run%s queued, %zu skipped\n", dag->dag_id, *n_queued,
	       *n_queued == 1 ? "" : "s", n - *n_queued);
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Looks at run pk once: prints it (and a failed run's tasks) when it has finished. Returns 1
 * when it finished, 0 when it has not, -1 when it cannot be read. */
static int check_run(struct cli *cli, int64_t pk, bool *failed, bool *started)
{
	struct run r = {0};
	char *err = NULL;
	if (!store_run_get_by_id(cli->store, pk, &r, &err)) {
		fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return -1;
	}
	bool done = r.state == RUN_SUCCESS || r.state == RUN_FAILED;
	*started = *started || r.state != RUN_QUEUED;
	if (done) {
		printf("run %s %s\n", r.run_id, run_state_name(r.state));
		if (r.state == RUN_FAILED)
			cli_print_tasks(cli, &r);
		fflush(stdout);
		*failed = *failed || r.state == RUN_FAILED;
	}
	run_finish(&r);
	return done;
}

/* Waits until every run in pks has finished: EXIT_OK when all succeeded, else EXIT_FAILED. */
static int wait_runs(struct cli *cli, int64_t *pks, size_t n)
{
	int64_t since = time_mono_ms();
	bool failed = false, started = false, hinted = false;
	while (n > 0) {
		for (size_t i = 0; i < n;) {
			int rc = check_run(cli, pks[i], &failed, &started);
			if (rc < 0)
				return EXIT_FAILED;
			if (rc > 0)
				pks[i] = pks[--n];
			else
				i++;
		}
		if (n > 0 && !hinted && !started && time_mono_ms() - since > QUEUED_HINT_MS) {
			fprintf(stderr,
				"swarmflow: the runs are still queued after %d s: is `swarmflow "
				"scheduler` running with this state_dir (%s)?\n",
				QUEUED_HINT_MS / 1000, cli->cfg.state_dir);
			hinted = true;
		}
		if (n > 0)
			sleep_ms(WAIT_POLL_MS);
	}
	return failed ? EXIT_FAILED : EXIT_OK;
}

int cmd_dags_backfill(struct cli *cli, int argc, char **argv)
{
	struct backfill_opts o = {0};
	int rc = parse_opts(cli, argc, argv, &o);
	if (rc >= 0)
		return rc;
	const struct dag *dag = o.dag;
	if (dag->schedule.kind == SCHEDULE_NONE) {
		fprintf(stderr, "swarmflow: DAG '%s' has no schedule to backfill\n", dag->dag_id);
		return EXIT_FAILED;
	}
	size_t n = 0;
	struct interval *iv =
	    timetable_between(&dag->schedule, o.from, o.to, BACKFILL_MAX_RUNS, &n);
	if (n == SIZE_MAX) {
		fprintf(stderr,
			"swarmflow dags backfill: more than %d intervals of schedule '%s' start "
			"in that range; backfill a shorter one\n",
			BACKFILL_MAX_RUNS, dag->schedule_str);
		return EXIT_USAGE;
	}
	if (n == 0) {
		printf("no interval of schedule '%s' starts in that range: nothing to backfill\n",
		       dag->schedule_str);
		return EXIT_OK;
	}
	struct store *st = cli_store(cli);
	int64_t *pks = xcalloc(n, sizeof(*pks));
	size_t queued = 0;
	rc = st && queue_all(st, dag, iv, n, pks, &queued) ? EXIT_OK : EXIT_FAILED;
	fflush(stdout);
	if (rc == EXIT_OK && o.wait)
		rc = wait_runs(cli, pks, queued);
	free(pks);
	free(iv);
	return rc;
}
