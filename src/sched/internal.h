/* internal.h - what the scheduler's files share with each other (not a public interface). */
#ifndef SWARMFLOW_SCHED_INTERNAL_H
#define SWARMFLOW_SCHED_INTERNAL_H

#include "swarmflow/core/template.h"
#include "swarmflow/sched/sched.h"

/* The task instances of one task in a run (pointers into the run's ti_list): one, or the
 * instances of a mapped task in map order. */
struct task_tis {
	struct ti **v;
	size_t n;
};

/* dispatch.c: creates the service of ti's next try; upstream is what its templates read of
 * its upstream tasks (data_upstream). Returns false only on a store failure. */
bool dispatch_ti(struct scheduler *s, const struct run *run, const struct dag *dag,
		 const struct task *task, struct ti *ti, const json_t *upstream, int64_t now_ms);

/* data.c: data between tasks. by_task has the run's task instances per task index.
 * data_upstream: the object a try's templates read of the tasks it references (see
 *   template_ctx.upstream); NULL on a store failure (logged).
 * data_skipped: *skip when a branch upstream did not choose task or a short_circuit ancestor
 *   stopped it; false on a store failure.
 * data_branch_check: NULL when a branch task's output names only direct downstream tasks, else
 *   the error (caller frees).
 * data_expand: expands the unexpanded instance ti of a mapped task in one transaction (or ends
 *   it skipped with no element, or failed when its elements cannot be had or are too many);
 *   false on a store failure. */
/* data.c: fills *out with the run's template variables for task (no try, upstream or item
 * yet); returns the parsed conf it points at (caller decrefs after use). */
json_t *data_template_ctx(const struct run *run, const struct dag *dag, const struct task *task,
			  struct template_ctx *out);
json_t *data_upstream(struct scheduler *s, const struct dag *dag, const struct task *task,
		      const struct task_tis *by_task);
bool data_skipped(struct scheduler *s, const struct dag *dag, const struct task *task,
		  const struct task_tis *by_task, bool *skip);
char *data_branch_check(const struct dag *dag, const struct task *task, const char *output);
bool data_expand(struct scheduler *s, const struct run *run, const struct dag *dag,
		 const struct task *task, struct ti *ti, const struct task_tis *by_task,
		 int64_t now_ms);

/* dispatch.c: creates, all at once, the services of the tries dispatch_ti recorded as queued
 * this tick, and tracks them (or fails or reschedules the tries). Returns false only on a store
 * failure. dispatch_discard frees what is left (sched_finish). */
bool dispatch_flush(struct scheduler *s, int64_t now_ms);
void dispatch_discard(struct scheduler *s);

/* finish.c: removes, all at once, the services finish_try let go of (their outcome is
 * recorded; a removal that fails is logged and left to the sweep). removes_flush runs at the end
 * of every tick and wherever finish_try was called outside one. */
void removes_flush(struct scheduler *s);

/* poll.c: one GET /tasks for every in-flight service; finishes the tries that ended. Returns the
 * number of tries finished, or -1 on a store failure. */
long poll_inflight(struct scheduler *s, int64_t now_ms);

/* poll.c: takes what the engine's event stream brought (the loop's wait ended because the
 * manager now shows the end of a container of ours that died): the tick that follows polls at
 * once. An event never decides an outcome: the tick's GET /tasks does. */
void poll_events_take(struct scheduler *s);

/* finish.c: records the end of a try (state, exit code, error, logs), removes its service and
 * drops it from the in-flight list. */
bool finish_try(struct scheduler *s, size_t idx, bool success, const struct task_status *st,
		const char *error, int64_t now_ms);
/* Marks a try that never got a service as failed (or up_for_retry) with error. */
bool finish_without_service(struct scheduler *s, struct ti *ti, const struct task *task,
			    const char *error, int64_t now_ms);

/* finish.c: ends a run at once, in one transaction: task instances not finished become
 * `started` (those queued or running) or `waiting` (the others), with reason as their error;
 * the run becomes failed. finish_run_tries first ends the run's in-flight tries (logs kept,
 * services removed, failed with reason, no retry). */
bool end_run(struct scheduler *s, int64_t run_pk, enum ti_state started, enum ti_state waiting,
	     const char *reason, int64_t now_ms);
bool finish_run_tries(struct scheduler *s, int64_t run_pk, const char *reason, int64_t now_ms);

/* inflight list helpers (sched.c). inflight_track adds the try ti (which owns a service) with
 * the timeouts of task (NULL: defaults), created (queued) and, for a try already running,
 * started at those wall-clock times (0: not started), and returns the new entry. */
struct inflight *inflight_add(struct scheduler *s);
struct inflight *inflight_track(struct scheduler *s, const struct ti *ti, const struct task *task,
				int64_t created_ms, int64_t started_ms);
void inflight_remove(struct scheduler *s, size_t idx);
/* " map_index=N" in buf for a mapped instance, "" otherwise: the log lines of a task that is
 * not mapped keep the shape they always had. Returns buf. */
const char *map_tag(char buf[static 24], int map_index);
size_t inflight_count_dag(const struct scheduler *s, const char *dag_id);

/* adopt.c: adopts the queued or running tries of a run (a try recorded without its service id
 * goes back to scheduled: the deterministic name makes its re-dispatch adopt the service if it
 * exists); adopt_owned does it for every active run this scheduler drives; take_over hands a run
 * whose runner died to this scheduler (the daemon) and adopts its tries. */
bool adopt_run(struct scheduler *s, int64_t run_pk, int64_t now_ms);
bool adopt_owned(struct scheduler *s, int64_t now_ms);
bool take_over(struct scheduler *s, struct run *run, int64_t now_ms);

/* sweep.c: removes services of this instance (of one run when dag_id and run_id are given)
 * whose try the store says is over. */
void sweep_services(struct scheduler *s, const char *dag_id, const char *run_id);
void strangers_free(struct scheduler *s);

/* True when this scheduler drives run: the daemon drives runs without a runner, `dags test`
 * only its own. */
bool sched_owns(const struct scheduler *s, const struct run *run);

/* orphan.c: a run whose DAG is no longer loaded (file deleted, DAG renamed, or broken since
 * start). Its in-flight tries are still polled; once the DAG has been missing for
 * ORPHAN_GRACE_MS and no try of the run is in flight, its unfinished tasks become removed and
 * the run failed. orphan_forget: the DAG is back. */
bool orphan_run(struct scheduler *s, const struct run *run, int64_t now_ms);
void orphan_forget(struct scheduler *s, int64_t run_pk);

/* schedule.c: creates the runs that schedules make due (cron and presets, @once, start_date,
 * end_date, catchup within max_active_runs) for every DAG not paused. Daemon only. */
bool schedule_runs(struct scheduler *s, int64_t now_ms);
/* Frees what schedule_runs() keeps per DAG; accepts NULL. */
void schedule_state_destroy(struct schedule_state *st);

/* limits.c: parallelism, max_active_tasks and pools. limits_refresh counts what is in flight
 * from the store at the start of a tick (so that limits hold across restarts and include the
 * tries of `dags test` processes); limits_allow says whether task may be dispatched now;
 * limits_take counts a dispatch made during the tick. */
struct limits *limits_create(void);
void limits_destroy(struct limits *l);
bool limits_refresh(struct scheduler *s);
bool limits_allow(const struct scheduler *s, const struct dag *dag, const struct task *task);
void limits_take(struct scheduler *s, const struct dag *dag, const struct task *task);
/* The config changed (SIGHUP): parallelism and pools are read again at the next refresh. */
void limits_reconfigure(struct limits *l);

/* runtimeout.c: when run has been running longer than dag->dagrun_timeout_s, removes the services
 * of its in-flight tries and fails them, its unfinished tasks and the run, and sets *ended.
 * Returns false only on a store failure. */
bool dagrun_timeout_check(struct scheduler *s, const struct run *run, const struct dag *dag,
			  int64_t now_ms, bool *ended);

/* notify.c: the on_failure_webhook (the DAG's, else the config's). notify_task_failed queues a
 * JSON POST about a task that failed for good (its last 20 log lines from log_text) and never
 * blocks the scheduler; notifier_destroy gives queued posts a short time to go. */
struct notifier *notifier_create(const struct config *cfg);
void notifier_destroy(struct notifier *n);
void notify_task_failed(struct scheduler *s, const struct ti *ti, const char *log_text);

/* nodeloss.c: for a try whose task the engine shows running (st, on node st->node_id): when that
 * node has been down (or disconnected) for longer than node_lost_timeout, fails the try "node lost:
 * HOST (ID) down for DURATION" (its service removed, retries apply). The nodes are asked about
 * (one GET /nodes) at most once per tick, at the first such try. Returns 1 when the try was
 * finished, 0 when it goes on, -1 on a store failure. nodeloss_destroy frees s->nodeloss
 * (accepts NULL). */
int nodeloss_check(struct scheduler *s, size_t idx, const struct task_status *st, int64_t now_ms);
void nodeloss_destroy(struct nodeloss *nl);

/* The delay before try number `next_try` (>= 2) of a task, in seconds. */
int64_t retry_delay_for(const struct task *task, int next_try);

/* Before a change to the engine (service creates and removes): true when this scheduler may
 * make it, i.e. it has no lease (dags test) or the lease was just renewed. Otherwise the
 * change must be dropped; the scheduler is marked fenced and its loop ends. */
bool sched_may_change_engine(struct scheduler *s);

#endif
