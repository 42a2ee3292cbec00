/* fillstore.c - fills a swarmflow store with finished runs through the store API (benchmark). */
/*
 * Usage: fillstore DB RUNS TASKS DAGS
 * Creates RUNS runs spread over DAGS DAGs ("bench_store_0" ...), TASKS task instances each, all
 * finished the way the scheduler leaves them: every try recorded, a service id and name, exit
 * code, times and a log path. Every tenth run failed (its last task exited 1). Runs are named
 * "run_<i>" (i from 0), one logical date per run. Prints one JSON object with the counts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

/* Runs per transaction: large enough to be fast, small enough to keep the WAL modest. */
#define BATCH 500
/* Every FAIL_EVERY-th run failed. */
#define FAIL_EVERY 10
/* The first logical date (2026-01-01T00:00:00Z) and the step between runs (one hour). */
#define BASE_DATE 1767225600LL
#define STEP_S 3600

static bool finish_tis(struct store *st, const struct run *run, bool fail, char **err)
{
	struct ti_list tis = {0};
	if (!store_tis_for_run(st, run->id, &tis, err))
		return false;
	bool ok = true;
	for (size_t i = 0; ok && i < tis.len; i++) {
		struct ti *ti = &tis.v[i];
		bool bad = fail && i + 1 == tis.len;
		int64_t start = (run->logical_date + (int64_t)i) * 1000;
		ti->state = bad ? TI_FAILED : TI_SUCCESS;
		ti->try_number = 1;
		ti->service_id = xasprintf("%025" PRIx64, (uint64_t)ti->id * 2654435761u);
		ti->service_name = xasprintf("swarmflow_%s_%s_%08" PRIx64, ti->dag_id, ti->task_id,
					     (uint64_t)ti->id);
		ti->has_exit_code = true;
		ti->exit_code = bad ? 1 : 0;
		ti->error = bad ? xstrdup("complete: exit code 1") : NULL;
		ti->log_path =
		    xasprintf("state/logs/%s/%s/%s/1.log", ti->dag_id, ti->run_id, ti->task_id);
		ti->queued_ms = start;
		ti->start_ms = start + 300;
		ti->end_ms = start + 900;
		ok = store_ti_update(st, ti, err) && store_try_record(st, ti, err);
	}
	ti_list_finish(&tis);
	return ok;
}

static bool make_run(struct store *st, long i, long n_tasks, long n_dags, char **task_ids,
		     char **err)
{
	char dag_id[64], run_id[64];
	snprintf(dag_id, sizeof(dag_id), "bench_store_%ld", i % n_dags);
	snprintf(run_id, sizeof(run_id), "run_%ld", i);
	int64_t date = BASE_DATE + (int64_t)i * STEP_S;
	struct run r = {.dag_id = dag_id,
			.run_id = run_id,
			.run_type = "scheduled",
			.logical_date = date,
			.data_interval_start = date,
			.data_interval_end = date + STEP_S,
			.queued_ms = date * 1000};
	struct run out = {0};
	if (!store_run_create(st, &r, (const char *const *)task_ids, NULL, (size_t)n_tasks, &out,
			      err))
		return false;
	bool fail = i % FAIL_EVERY == FAIL_EVERY - 1;
	bool ok = store_run_set_state(st, out.id, RUN_RUNNING, date * 1000, err) &&
		  finish_tis(st, &out, fail, err) &&
		  store_run_set_state(st, out.id, fail ? RUN_FAILED : RUN_SUCCESS,
				      (date + n_tasks) * 1000, err);
	run_finish(&out);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: fillstore DB RUNS TASKS DAGS\n");
		return 2;
	}
	long n_runs = strtol(argv[2], NULL, 10), n_tasks = strtol(argv[3], NULL, 10);
	long n_dags = strtol(argv[4], NULL, 10);
	if (n_runs < 1 || n_tasks < 1 || n_dags < 1) {
		fprintf(stderr, "fillstore: RUNS, TASKS and DAGS must be positive\n");
		return 2;
	}
	char *err = NULL;
	struct store *st = store_open(argv[1], &err);
	if (!st) {
		fprintf(stderr, "fillstore: %s\n", err);
		free(err);
		return 1;
	}
	char **task_ids = xcalloc((size_t)n_tasks, sizeof(*task_ids));
	for (long t = 0; t < n_tasks; t++)
		task_ids[t] = xasprintf("t%02ld", t);
	bool ok = true;
	for (long i = 0; ok && i < n_runs; i++) {
		if (i % BATCH == 0)
			ok = store_begin(st, &err);
		ok = ok && make_run(st, i, n_tasks, n_dags, task_ids, &err);
		if (ok && (i % BATCH == BATCH - 1 || i == n_runs - 1))
			ok = store_commit(st, &err);
	}
	if (!ok) {
		store_rollback(st);
		fprintf(stderr, "fillstore: %s\n", err ? err : "store error");
	} else {
		printf("{\"runs\":%ld,\"task_instances\":%ld,\"dags\":%ld}\n", n_runs,
		       n_runs * n_tasks, n_dags);
	}
	free(err);
	for (long t = 0; t < n_tasks; t++)
		free(task_ids[t]);
	free(task_ids);
	store_close(st);
	return ok ? 0 : 1;
}
