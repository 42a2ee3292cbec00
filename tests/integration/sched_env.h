/* sched_env.h - a scheduler on the fake engine for tests: store, dags folder, engine client,
 * a manual run of DAG `t`, and helpers to tick it and read what happened. */
#ifndef SWARMFLOW_TESTS_SCHED_ENV_H
#define SWARMFLOW_TESTS_SCHED_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_engine.h"
#include "swarmflow/sched/sched.h"

/* The clock the tests give sched_tick (2026-11-01T00:00:00Z); no test sleeps. */
#define T0_MS INT64_C(1793491200000)
#define RUN_ID "manual__test"

/* Everything one test drives: a fake engine, a store, a dags folder and a scheduler. */
struct env {
	char dir[64];
	struct fake_engine *fe;
	struct config cfg;
	struct store *store;
	struct dagbag bag;
	bool bag_ready;
	struct engine *engine;
	struct scheduler s;
	bool sched_ready;
	struct run run;
	int64_t now; /* the now_ms of the next tick */
};

int env_setup(void **state);
int env_teardown(void **state);
/* Writes DAG `t` (tasks: the task blocks; defaults: an image and no retries), then opens the
 * store, the engine client and the DAGs, creates a manual run and starts the scheduler. */
void env_start(struct env *env, const char *tasks);
/* The same with the run owned by runner (NULL: the daemon). */
void env_start_runner(struct env *env, const char *tasks, const char *runner);
/* Writes dags/FILE.dag with text and reloads the DAGs; every file must be valid. */
void env_put_dag(struct env *env, const char *file, const char *text);
/* Stops the scheduler and starts a new one on the same store, engine and DAGs (a restart). */
void env_restart(struct env *env);
/* One tick at env->now; the clock then moves on by step_ms. */
void env_tick(struct env *env, int64_t step_ms);
/* The task instance of task_id in the run (caller frees with ti_finish). */
void env_get_ti(struct env *env, const char *task_id, struct ti *out);
enum ti_state env_ti_state_of(struct env *env, const char *task_id);
enum run_state env_run_state_of(struct env *env);
/* Ticks (step_ms apart) until the run has finished; at most max_ticks. */
void env_run_to_end(struct env *env, int max_ticks, int64_t step_ms);
/* Index of the first request from `from` on with that method and path suffix, or SIZE_MAX. */
size_t env_find_request(struct env *env, size_t from, const char *method, const char *suffix);
size_t env_count_from(struct env *env, size_t from, const char *method, const char *suffix);
/* Requests with that method and path suffix whose (decoded) query contains needle. */
size_t env_count_query(struct env *env, const char *method, const char *suffix, const char *needle);
/* DELETE requests for one service. */
size_t env_deletes_of(struct env *env, const char *id);
/* The simulated service created for task_id (the last one, if several). */
struct fake_service env_service_of(struct env *env, const char *task_id);
char *env_read_text(const char *path);

#endif
