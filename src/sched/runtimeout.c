/* runtimeout.c - checks made on a running run before its tasks advance: dagrun_timeout (a run
 * that runs too long is failed and its services removed) and tasks in a pool the configuration
 * does not define (their try fails instead of waiting forever). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/slots.h"
#include "swarmflow/core/units.h"

/* Fails the run: the in-flight tries of the run get their logs kept and their services removed
 * and fail with no retry, then the rest of the run ends (end_run in finish.c). */
static bool time_out(struct scheduler *s, const struct run *run, const struct dag *dag,
		     int64_t now_ms)
{
	char limit[32];
	duration_format(dag->dagrun_timeout_s, limit);
	char *reason = xasprintf("dagrun_timeout of %s exceeded", limit);
	log_warnx("run timed out dag=%s run=%s: %s", run->dag_id, run->run_id, reason);
	/* Like Airflow: tries that ran fail, tasks that never started are skipped. */
	bool ok = finish_run_tries(s, run->id, reason, now_ms) &&
		  end_run(s, run->id, TI_FAILED, TI_SKIPPED, reason, now_ms);
	if (ok) {
		/* A create whose answer was lost may have left a service no try knows of. */
		sweep_services(s, run->dag_id, run->run_id);
		s->dispatched_or_finished = true;
		log_info("run failed dag=%s run=%s", run->dag_id, run->run_id);
	}
	free(reason);
	return ok;
}

/* True when some task of dag names a pool the configuration does not define. */
static bool has_undefined_pool(const struct scheduler *s, const struct dag *dag)
{
	for (size_t i = 0; i < dag->n_tasks; i++) {
		char *error = slots_pool_error(s->cfg->pools, s->cfg->n_pools, dag->tasks[i].pool);
		bool undefined = error != NULL;
		free(error);
		if (undefined)
			return true;
	}
	return false;
}

/* Fails the scheduled try of every task of the run whose pool is not defined (limits_allow
 * holds such a task back): it must not wait forever. Retries apply, as for any try that could
 * not be started. */
static bool fail_undefined_pools(struct scheduler *s, const struct run *run, const struct dag *dag,
				 int64_t now_ms)
{
	if (!has_undefined_pool(s, dag))
		return true;
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_tis_for_run(s->store, run->id, &tis, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < tis.len; i++) {
		struct ti *ti = &tis.v[i];
		const struct task *task = dag_task_find(dag, ti->task_id);
		if (ti->state != TI_SCHEDULED || !task)
			continue;
		char *error = slots_pool_error(s->cfg->pools, s->cfg->n_pools, task->pool);
		if (!error)
			continue;
		ti->try_number++;
		if (!ti->queued_ms)
			ti->queued_ms = now_ms;
		ok = finish_without_service(s, ti, task, error, now_ms);
		s->dispatched_or_finished = true;
		free(error);
	}
	ti_list_finish(&tis);
	return ok;
}

/* When the run's current go began: its start, or its return to queued when `tasks clear`
 * sent a finished run back (the store keeps the first start); 0 when it starts this tick. */
static int64_t began_ms(const struct run *run)
{
	if (!run->start_ms)
		return 0;
	return run->queued_ms > run->start_ms ? run->queued_ms : run->start_ms;
}

bool dagrun_timeout_check(struct scheduler *s, const struct run *run, const struct dag *dag,
			  int64_t now_ms, bool *ended)
{
	*ended = false;
	int64_t began = began_ms(run);
	if (dag->dagrun_timeout_s > 0 && began && now_ms - began > dag->dagrun_timeout_s * 1000) {
		*ended = true;
		return time_out(s, run, dag, now_ms);
	}
	return fail_undefined_pools(s, run, dag, now_ms);
}
