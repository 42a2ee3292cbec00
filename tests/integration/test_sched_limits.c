/* test_sched_limits.c - parallelism, max_active_tasks, pools and dagrun_timeout against the fake
 * engine: limits are counted from the store (so they hold across restarts and `dags test`
 * processes), an undefined pool fails its task, a run that runs too long is failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched_env.h"
#include "swarmflow/common/util.h"

/* Creates a manual run of dag_id queued now, driven by runner (NULL: the daemon); returns its
 * row id. */
static int64_t add_run(struct env *env, const char *dag_id, const char *run_id, const char *runner)
{
	const struct dag *dag = dagbag_find(&env->bag, dag_id);
	assert_non_null(dag);
	const char **ids = xcalloc(dag->n_tasks, sizeof(*ids));
	int *tries = xcalloc(dag->n_tasks, sizeof(*tries));
	for (size_t i = 0; i < dag->n_tasks; i++) {
		ids[i] = dag->tasks[i].task_id;
		tries[i] = dag->tasks[i].retries + 1;
	}
	struct run r = {.dag_id = (char *)dag_id,
			.run_id = (char *)run_id,
			.run_type = "manual",
			.logical_date = env->now / 1000,
			.data_interval_start = env->now / 1000,
			.data_interval_end = env->now / 1000,
			.queued_ms = env->now,
			.conf = "{}",
			.runner = (char *)runner};
	struct run out = {0};
	char *err = NULL;
	bool ok = store_run_create(env->store, &r, ids, tries, dag->n_tasks, &out, &err);
	free(ids);
	free(tries);
	if (!ok)
		fail_msg("store_run_create: %s", err);
	int64_t pk = out.id;
	run_finish(&out);
	return pk;
}

static struct run get_run(struct env *env, int64_t run_pk)
{
	struct run r = {0};
	char *err = NULL;
	if (!store_run_get_by_id(env->store, run_pk, &r, &err))
		fail_msg("store_run_get_by_id: %s", err);
	return r;
}

static enum run_state run_state(struct env *env, int64_t run_pk)
{
	struct run r = get_run(env, run_pk);
	enum run_state st = r.state;
	run_finish(&r);
	return st;
}

/* The task instance of task_id in run run_pk (caller frees with ti_finish). */
static void get_ti(struct env *env, int64_t run_pk, const char *task_id, struct ti *out)
{
	struct ti_list l = {0};
	char *err = NULL;
	assert_true(store_tis_for_run(env->store, run_pk, &l, &err));
	bool found = false;
	for (size_t i = 0; i < l.len && !found; i++) {
		if (strcmp(l.v[i].task_id, task_id) == 0) {
			*out = l.v[i];
			l.v[i] = (struct ti){0};
			found = true;
		}
	}
	ti_list_finish(&l);
	assert_true(found);
}

/* Tries the store says are in flight (queued or running), of dag_id (NULL: any) whose task id
 * starts with prefix (NULL: any). */
static size_t in_flight(struct env *env, const char *dag_id, const char *prefix)
{
	struct ti_list l = {0};
	char *err = NULL;
	assert_true(store_tis_in_flight(env->store, &l, &err));
	size_t n = 0;
	for (size_t i = 0; i < l.len; i++)
		n += (!dag_id || strcmp(l.v[i].dag_id, dag_id) == 0) &&
		     (!prefix || str_has_prefix(l.v[i].task_id, prefix));
	ti_list_finish(&l);
	return n;
}

static char *tasks_text(const char *prefix, int n, const char *extra)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < n; i++)
		buf_printf(&b, "  task %s%d {\n    shell = \"echo %s%d\"\n%s  }\n", prefix, i,
			   prefix, i, extra);
	return buf_steal(&b);
}

static void set_pool(struct env *env, const char *name, int slots)
{
	env->cfg.pools = xrealloc(env->cfg.pools, (env->cfg.n_pools + 1) * sizeof(*env->cfg.pools));
	env->cfg.pools[env->cfg.n_pools++] = (struct pool){.name = xstrdup(name), .slots = slots};
}

/* parallelism = 3 shared by the daemon and a `dags test` process (a second scheduler on the same
 * store that drives only its own run): never more than three services alive, both runs end. */
static void test_parallelism_shared_with_dags_test(void **state)
{
	struct env *env = *state;
	env->cfg.parallelism = 3;
	char *tasks = tasks_text("p", 6, "");
	env_start(env, tasks);
	free(tasks);
	char *me =
	    sched_test_runner(); /* this process: alive, so the daemon leaves its run alone */
	int64_t other = add_run(env, "t", "manual__other", me);
	struct scheduler tester;
	char *err = NULL;
	if (!sched_init(&tester, &env->cfg, env->store, env->engine, &env->bag, other, &err))
		fail_msg("sched_init: %s", err);
	size_t daemon_peak = 0;
	for (int i = 0; i < 60; i++) {
		if (env_run_state_of(env) == RUN_SUCCESS && run_state(env, other) == RUN_SUCCESS)
			break;
		assert_true(sched_tick(&tester, env->now));
		assert_true(fake_engine_live(env->fe) <= 3);
		assert_true(in_flight(env, NULL, NULL) <= 3);
		env_tick(env, 500);
		assert_true(fake_engine_live(env->fe) <= 3);
		assert_true(in_flight(env, NULL, NULL) <= 3);
		if (env->s.n_inflight > daemon_peak)
			daemon_peak = env->s.n_inflight;
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(run_state(env, other), RUN_SUCCESS);
	assert_int_equal(fake_engine_max_live(env->fe), 3);
	assert_true(daemon_peak >= 1);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 12);
	sched_finish(&tester);
	free(me);
}

/* In-flight rows of a run driven by another live process count against the daemon from its
 * first tick; when they end, the daemon uses the freed slots. */
static void test_parallelism_counts_foreign_rows(void **state)
{
	struct env *env = *state;
	env->cfg.parallelism = 3;
	char *tasks = tasks_text("p", 4, "");
	env_start(env, tasks);
	free(tasks);
	char *me = sched_test_runner();
	int64_t other = add_run(env, "t", "manual__other", me);
	for (int i = 0; i < 2; i++) {
		struct ti ti;
		get_ti(env, other, i ? "p1" : "p0", &ti);
		ti.state = TI_RUNNING;
		ti.try_number = 1;
		ti.service_id = xasprintf("elsewhere%d", i);
		ti.queued_ms = ti.start_ms = env->now;
		char *err = NULL;
		if (!store_ti_update(env->store, &ti, &err))
			fail_msg("store_ti_update: %s", err);
		ti_finish(&ti);
	}
	for (int i = 0; i < 4; i++) {
		env_tick(env, 500);
		assert_int_equal(env->s.n_inflight, 1); /* 3 - the other process's 2 */
	}
	/* The other process's tries end: its slots are free at the next tick. */
	for (int i = 0; i < 2; i++) {
		struct ti ti;
		get_ti(env, other, i ? "p1" : "p0", &ti);
		ti.state = TI_SUCCESS;
		ti.end_ms = env->now;
		char *err = NULL;
		if (!store_ti_update(env->store, &ti, &err))
			fail_msg("store_ti_update: %s", err);
		ti_finish(&ti);
	}
	size_t peak = 0;
	for (int i = 0; i < 20 && env_run_state_of(env) != RUN_SUCCESS; i++) {
		env_tick(env, 500);
		peak = env->s.n_inflight > peak ? env->s.n_inflight : peak;
		assert_true(env->s.n_inflight <= 3);
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(peak, 3);
	free(me);
}

/* A pool of 2 slots with six tasks: never more than two of them in flight, while the tasks
 * outside the pool are all dispatched at once. */
static void test_pool_slots(void **state)
{
	struct env *env = *state;
	set_pool(env, "gpu", 2);
	char *in_pool = tasks_text("g", 6, "    pool = \"gpu\"\n");
	char *free_tasks = tasks_text("f", 3, "");
	char *all = xasprintf("%s%s", in_pool, free_tasks);
	env_start(env, all);
	free(in_pool);
	free(free_tasks);
	free(all);
	env_tick(env, 500);
	assert_int_equal(in_flight(env, "t", "g"), 2);
	assert_int_equal(in_flight(env, "t", "f"), 3);
	size_t peak = 0;
	for (int i = 0; i < 40 && env_run_state_of(env) != RUN_SUCCESS; i++) {
		env_tick(env, 500);
		size_t g = in_flight(env, "t", "g");
		assert_true(g <= 2);
		peak = g > peak ? g : peak;
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(peak, 2);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 9);
}

/* max_active_tasks = 2 bounds the DAG's tries across its runs, one of them driven by a `dags
 * test` process (a second scheduler on the same store); another DAG is not held back. */
static void test_max_active_tasks(void **state)
{
	struct env *env = *state;
	env_start(env, "  task solo {\n    shell = \"true\"\n  }\n");
	env_put_dag(
	    env, "u",
	    "dag u {\n  schedule = \"none\"\n  max_active_tasks = 2\n"
	    "  defaults {\n    image = \"busybox:1.36\"\n  }\n"
	    "  task a {\n    shell = \"echo a\"\n  }\n  task b {\n    shell = \"echo b\"\n  }\n"
	    "  task c {\n    shell = \"echo c\"\n  }\n  task d {\n    upstream = {a}\n"
	    "    shell = \"echo d\"\n  }\n}\n");
	assert_non_null(dagbag_find(&env->bag, "u"));
	int64_t r1 = add_run(env, "u", "manual__1", NULL);
	char *me = sched_test_runner();
	int64_t r2 = add_run(env, "u", "manual__2", me);
	struct scheduler tester;
	char *err = NULL;
	if (!sched_init(&tester, &env->cfg, env->store, env->engine, &env->bag, r2, &err))
		fail_msg("sched_init: %s", err);
	env_tick(env, 0);
	assert_int_equal(in_flight(env, "u", NULL), 2);
	assert_int_equal(in_flight(env, "t", NULL), 1);
	size_t peak = 0;
	for (int i = 0; i < 60; i++) {
		if (run_state(env, r1) == RUN_SUCCESS && run_state(env, r2) == RUN_SUCCESS)
			break;
		assert_true(sched_tick(&tester, env->now));
		assert_true(in_flight(env, "u", NULL) <= 2);
		env_tick(env, 500);
		size_t n = in_flight(env, "u", NULL);
		assert_true(n <= 2);
		peak = n > peak ? n : peak;
	}
	assert_int_equal(run_state(env, r1), RUN_SUCCESS);
	assert_int_equal(run_state(env, r2), RUN_SUCCESS);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(peak, 2);
	sched_finish(&tester);
	free(me);
}

/* A task naming a pool the configuration lacks fails at once with a clear error (it would
 * otherwise wait forever); its downstream is upstream_failed, other tasks go on. */
static void test_undefined_pool(void **state)
{
	struct env *env = *state;
	set_pool(env, "gpu", 2);
	env_start(env, "  task lost {\n    shell = \"true\"\n    pool = \"nope\"\n  }\n"
		       "  task after {\n    upstream = {lost}\n    shell = \"true\"\n  }\n"
		       "  task fine {\n    shell = \"true\"\n    pool = \"gpu\"\n  }\n");
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
	struct ti ti;
	env_get_ti(env, "lost", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_string_equal(ti.error, "pool 'nope' is not defined in the configuration");
	assert_int_equal(ti.try_number, 1);
	assert_null(ti.service_id);
	assert_non_null(ti.log_path);
	char *log = env_read_text(ti.log_path);
	assert_non_null(strstr(log, "pool 'nope' is not defined in the configuration"));
	free(log);
	ti_finish(&ti);
	assert_int_equal(env_ti_state_of(env, "after"), TI_UPSTREAM_FAILED);
	assert_int_equal(env_ti_state_of(env, "fine"), TI_SUCCESS);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1);
}

/* The DAG `u` for the dagrun_timeout tests: two tasks that run until stopped (the second with
 * retries), and one after them. */
static int64_t start_timeout_dag(struct env *env)
{
	static const struct fake_step forever[] = {FAKE_PENDING, FAKE_RUNNING};
	static const struct fake_script slow = {"slow", forever, ARRAY_LEN(forever), "working\n"};
	static const struct fake_script slow2 = {"slow2", forever, ARRAY_LEN(forever), NULL};
	fake_engine_script(env->fe, &slow);
	fake_engine_script(env->fe, &slow2);
	env_start(env, "  task solo {\n    shell = \"true\"\n  }\n");
	env_put_dag(env, "u",
		    "dag u {\n  schedule = \"none\"\n  dagrun_timeout = \"10s\"\n"
		    "  defaults {\n    image = \"busybox:1.36\"\n  }\n"
		    "  task slow {\n    shell = \"sleep 100\"\n  }\n"
		    "  task slow2 {\n    shell = \"sleep 100\"\n    retries = 3\n  }\n"
		    "  task after {\n    upstream = {slow, slow2}\n    shell = \"true\"\n  }\n}\n");
	assert_non_null(dagbag_find(&env->bag, "u"));
	return add_run(env, "u", "manual__slow", NULL);
}

/* A run older than dagrun_timeout is failed: its running tries keep their logs, lose their
 * services and fail without retry; the task that never started is skipped. */
static void test_dagrun_timeout(void **state)
{
	struct env *env = *state;
	int64_t pk = start_timeout_dag(env);
	env_tick(env, 500);
	struct run r = get_run(env, pk);
	int64_t began = r.start_ms;
	run_finish(&r);
	assert_true(began > 0);
	while (env->now <= began + 10000) {
		env_tick(env, 500);
		assert_int_equal(run_state(env, pk), RUN_RUNNING);
	}
	assert_int_equal(in_flight(env, "u", NULL), 2);
	struct fake_service s1 = env_service_of(env, "slow"), s2 = env_service_of(env, "slow2");
	env_tick(env, 500);
	assert_int_equal(run_state(env, pk), RUN_FAILED);
	const char *want = "dagrun_timeout of 10s exceeded";
	struct ti ti;
	const char *started[] = {"slow", "slow2"};
	for (size_t i = 0; i < 2; i++) {
		get_ti(env, pk, started[i], &ti);
		assert_int_equal(ti.state, TI_FAILED);
		assert_string_equal(ti.error, want);
		assert_int_equal(ti.try_number, 1); /* no retry for slow2 */
		assert_non_null(ti.log_path);
		char *log = env_read_text(ti.log_path);
		assert_non_null(strstr(log, want));
		if (i == 0)
			assert_non_null(strstr(log, "working"));
		free(log);
		ti_finish(&ti);
	}
	get_ti(env, pk, "after", &ti);
	assert_int_equal(ti.state, TI_SKIPPED);
	assert_string_equal(ti.error, want);
	ti_finish(&ti);
	assert_int_equal(env_deletes_of(env, s1.id), 1);
	assert_int_equal(env_deletes_of(env, s2.id), 1);
	assert_int_equal(fake_engine_live(env->fe), 0);
	assert_int_equal(env->s.n_inflight, 0);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS); /* `t` was not touched */
	for (int i = 0; i < 4; i++)
		env_tick(env, 500);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 3);
}

/* A timed-out run sent back to queued (what `tasks clear` does) counts its timeout from then,
 * not from its first start: it runs to its end. */
static void test_dagrun_timeout_after_clear(void **state)
{
	struct env *env = *state;
	int64_t pk = start_timeout_dag(env);
	for (int i = 0; i < 24 && run_state(env, pk) != RUN_FAILED; i++)
		env_tick(env, 500);
	assert_int_equal(run_state(env, pk), RUN_FAILED);
	static const struct fake_step quick[] = {FAKE_RUNNING, FAKE_COMPLETE};
	static const struct fake_script slow = {"slow", quick, ARRAY_LEN(quick), NULL};
	static const struct fake_script slow2 = {"slow2", quick, ARRAY_LEN(quick), NULL};
	fake_engine_script(env->fe, &slow);
	fake_engine_script(env->fe, &slow2);
	char *err = NULL;
	const char *clear[] = {"slow", "slow2", "after"};
	for (size_t i = 0; i < 3; i++)
		if (!store_ti_clear(env->store, pk, clear[i], 0, &err))
			fail_msg("store_ti_clear: %s", err);
	if (!store_run_set_state(env->store, pk, RUN_QUEUED, env->now, &err))
		fail_msg("store_run_set_state: %s", err);
	for (int i = 0; i < 10 && run_state(env, pk) != RUN_SUCCESS; i++) {
		env_tick(env, 500);
		assert_int_not_equal(run_state(env, pk), RUN_FAILED);
	}
	assert_int_equal(run_state(env, pk), RUN_SUCCESS);
	struct ti ti;
	get_ti(env, pk, "slow", &ti);
	assert_int_equal(ti.state, TI_SUCCESS);
	assert_int_equal(ti.try_number, 2);
	ti_finish(&ti);
}

/* The limits hold across a restart: the pool's two tries in flight are counted by the new
 * scheduler from the store, nothing more is dispatched until they end. */
static void test_limits_after_restart(void **state)
{
	static const struct fake_step steps[] = {FAKE_PENDING, FAKE_RUNNING, FAKE_RUNNING,
						 FAKE_RUNNING, FAKE_COMPLETE};
	static const struct fake_script longer = {NULL, steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &longer);
	set_pool(env, "gpu", 2);
	env->cfg.parallelism = 3;
	char *in_pool = tasks_text("g", 4, "    pool = \"gpu\"\n");
	char *free_tasks = tasks_text("f", 3, "");
	char *all = xasprintf("%s%s", in_pool, free_tasks);
	env_start(env, all);
	free(in_pool);
	free(free_tasks);
	free(all);
	env_tick(env, 500);
	assert_int_equal(in_flight(env, "t", "g"), 2);
	assert_int_equal(in_flight(env, "t", NULL), 3);
	size_t created = env_count_from(env, 0, "POST", "/services/create");
	env_restart(env);
	env_tick(env, 500);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), created);
	assert_int_equal(in_flight(env, "t", NULL), 3);
	for (int i = 0; i < 60 && env_run_state_of(env) != RUN_SUCCESS; i++) {
		env_tick(env, 500);
		assert_true(in_flight(env, "t", "g") <= 2);
		assert_true(in_flight(env, "t", NULL) <= 3);
		if (i == 20)
			env_restart(env);
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_true(fake_engine_max_live(env->fe) <= 3);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parallelism_shared_with_dags_test, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_parallelism_counts_foreign_rows, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_pool_slots, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_max_active_tasks, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_undefined_pool, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dagrun_timeout, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dagrun_timeout_after_clear, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_limits_after_restart, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
