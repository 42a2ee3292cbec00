/* adopt.c - picking up tries a scheduler did not start itself: after a restart, or from a dead
 * `dags test` process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "swarmflow/common/log.h"

/* Runner names of `dags test` processes: "test:<host>:<pid>". */
#define TEST_RUNNER_PREFIX "test:"

char *sched_test_runner(void)
{
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	return xasprintf(TEST_RUNNER_PREFIX "%s:%ld", host, (long)getpid());
}

bool sched_runner_dead(const char *runner)
{
	if (!runner || !str_has_prefix(runner, TEST_RUNNER_PREFIX))
		return false;
	const char *host = runner + strlen(TEST_RUNNER_PREFIX);
	const char *colon = strrchr(host, ':');
	int64_t pid = 0;
	if (!colon || !parse_int64(colon + 1, 1, INT32_MAX, &pid))
		return false;
	char me[256] = "";
	if (gethostname(me, sizeof(me) - 1) != 0)
		return false;
	/* A process on another host cannot be checked from here: it is presumed alive. */
	if (strlen(me) != (size_t)(colon - host) || strncmp(me, host, (size_t)(colon - host)) != 0)
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Logs and frees *err when ok is false; returns ok. Call as: ok = f(..., &err); store_ok(ok, &err).
 */
static bool store_ok(bool ok, char **err)
{
	if (!ok) {
		log_error("store: %s", *err ? *err : "unknown error");
		free(*err);
		*err = NULL;
	}
	return ok;
}

/* Adopts one try that the store says is queued or running. */
static bool adopt_ti(struct scheduler *s, struct ti *ti, int64_t now_ms)
{
	for (size_t i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].ti_pk == ti->id)
			return true; /* already polled */
	if (!ti->service_id) {
		/* Recorded as queued before its service was known (the scheduler died during the
		 * create): dispatch it again. Its name is the same, so a service that was created
		 * after all answers 409 and is adopted by its labels; nothing runs twice. */
		ti->state = TI_SCHEDULED;
		ti->try_number--;
		char *err = NULL;
		log_info("try recorded without its service id, dispatching again dag=%s run=%s "
			 "task=%s try=%d",
			 ti->dag_id, ti->run_id, ti->task_id, ti->try_number + 1);
		bool ok = store_ti_update(s->store, ti, &err);
		return store_ok(ok, &err);
	}
	const struct dag *dag = dagbag_find(s->bag, ti->dag_id);
	const struct task *task = dag ? dag_task_find(dag, ti->task_id) : NULL;
	struct inflight *f =
	    inflight_track(s, ti, task, ti->queued_ms ? ti->queued_ms : now_ms,
			   ti->state == TI_RUNNING && ti->start_ms ? ti->start_ms : 0);
	f->seen_task = ti->state == TI_RUNNING; /* so that a vanished task is noticed at once */
	log_info("adopted try dag=%s run=%s task=%s try=%d service=%s", ti->dag_id, ti->run_id,
		 ti->task_id, ti->try_number, ti->service_name ? ti->service_name : "-");
	return true;
}

bool adopt_run(struct scheduler *s, int64_t run_pk, int64_t now_ms)
{
	struct ti_list tis = {0};
	char *err = NULL;
	bool ok = store_tis_for_run(s->store, run_pk, &tis, &err);
	if (!store_ok(ok, &err))
		return false;
	for (size_t i = 0; ok && i < tis.len; i++)
		if (tis.v[i].state == TI_QUEUED || tis.v[i].state == TI_RUNNING)
			ok = adopt_ti(s, &tis.v[i], now_ms);
	ti_list_finish(&tis);
	return ok;
}

bool adopt_owned(struct scheduler *s, int64_t now_ms)
{
	struct run_list runs = {0};
	char *err = NULL;
	bool ok = store_runs_active(s->store, &runs, &err);
	if (!store_ok(ok, &err))
		return false;
	for (size_t i = 0; ok && i < runs.len; i++)
		if (sched_owns(s, &runs.v[i]))
			ok = adopt_run(s, runs.v[i].id, now_ms);
	run_list_finish(&runs);
	return ok;
}

bool take_over(struct scheduler *s, struct run *run, int64_t now_ms)
{
	char *err = NULL;
	log_warnx("run taken over by the scheduler dag=%s run=%s: its runner %s is gone",
		  run->dag_id, run->run_id, run->runner);
	bool ok = store_run_set_runner(s->store, run->id, NULL, &err);
	if (!store_ok(ok, &err))
		return false;
	free(run->runner);
	run->runner = NULL;
	return adopt_run(s, run->id, now_ms);
}
