/* test_sched_recovery.c - the scheduler picking up after crashes, dead `dags test` processes,
 * engine trouble and services left behind, against the fake engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sched_env.h"
#include "swarmflow/common/util.h"
#include "swarmflow/core/spec.h"

/* A service in the fake as swarmflow would have made it for try `try_no` of task_id. */
static char *add_service_of(struct env *env, const char *task_id, int try_no)
{
	char name[SPEC_NAME_MAX + 1], try_s[16];
	snprintf(try_s, sizeof(try_s), "%d", try_no);
	spec_service_name(env->cfg.service_prefix, env->cfg.instance, "t", RUN_ID, task_id, try_no,
			  name);
	json_t *labels = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "swarmflow.managed", "true",
				   "swarmflow.dag_id", "t", "swarmflow.run_id", RUN_ID,
				   "swarmflow.task_id", task_id, "swarmflow.try_number", try_s,
				   "swarmflow.instance", env->cfg.instance);
	json_t *spec =
	    json_pack("{s:s, s:O, s:{s:{s:s, s:O}}}", "Name", name, "Labels", labels,
		      "TaskTemplate", "ContainerSpec", "Image", "busybox:1.36", "Labels", labels);
	char *id = fake_engine_service_add(env->fe, spec);
	assert_non_null(id);
	json_decref(spec);
	json_decref(labels);
	return id;
}

static void store_ti_ok(struct env *env, const struct ti *ti)
{
	char *err = NULL;
	if (!store_ti_update(env->store, ti, &err))
		fail_msg("store_ti_update: %s", err);
}

/* A scheduler died between recording a try as queued and learning its service's id, after the
 * engine had created the service: the restarted scheduler adopts that service (one create,
 * answered 409, then a label lookup) and runs nothing twice. */
static void test_queued_without_id_adopted(void **state)
{
	struct env *env = *state;
	env_start(env, "  task solo {\n    shell = \"echo solo\"\n  }\n");
	char *pre = add_service_of(env, "solo", 1);
	struct ti ti;
	env_get_ti(env, "solo", &ti);
	ti.state = TI_QUEUED;
	ti.try_number = 1;
	ti.queued_ms = env->now;
	char name[SPEC_NAME_MAX + 1];
	spec_service_name(env->cfg.service_prefix, env->cfg.instance, "t", RUN_ID, "solo", 1, name);
	ti.service_name = xstrdup(name);
	store_ti_ok(env, &ti);
	ti_finish(&ti);

	env_restart(env);
	assert_int_equal(env_ti_state_of(env, "solo"),
			 TI_SCHEDULED); /* back, to be re-dispatched */
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	env_get_ti(env, "solo", &ti);
	assert_int_equal(ti.try_number, 1);
	assert_string_equal(ti.service_id, pre);
	ti_finish(&ti);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1);
	struct fake_service svcs[4];
	assert_int_equal(fake_engine_services(env->fe, svcs, ARRAY_LEN(svcs)), 1);
	free(pre);
}

/* The same crash before the engine created anything: the restarted scheduler creates it once. */
static void test_queued_without_id_created(void **state)
{
	struct env *env = *state;
	env_start(env, "  task solo {\n    shell = \"echo solo\"\n  }\n");
	struct ti ti;
	env_get_ti(env, "solo", &ti);
	ti.state = TI_QUEUED;
	ti.try_number = 1;
	ti.queued_ms = env->now;
	store_ti_ok(env, &ti);
	ti_finish(&ti);
	env_restart(env);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	env_get_ti(env, "solo", &ti);
	assert_int_equal(ti.try_number, 1);
	ti_finish(&ti);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1);
}

/* A create answered 500 every time fails the try once pending_timeout has passed since its
 * first attempt, with the engine's message; it is not retried forever. */
static void test_create_5xx_capped(void **state)
{
	struct env *env = *state;
	fake_engine_fault(env->fe, "/services/create", "500 Internal Server Error",
			  "{\"message\": \"network etl_net not found\"}", -1);
	env_start(env, "  task stuck {\n    shell = \"true\"\n    pending_timeout = \"2s\"\n  }\n");
	for (int i = 0; i < 4; i++) {
		env_tick(env, 500);
		assert_int_equal(env_ti_state_of(env, "stuck"), TI_SCHEDULED);
	}
	env_run_to_end(env, 4, 500);
	struct ti ti;
	env_get_ti(env, "stuck", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_int_equal(ti.try_number, 1);
	assert_string_equal(ti.error, "create service failed for longer than pending_timeout: "
				      "network etl_net not found");
	ti_finish(&ti);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
}

/* A secret lookup that fails for a passing reason is retried; a secret that does not exist
 * fails the try at once. */
static void test_secret_lookup(void **state)
{
	struct env *env = *state;
	fake_engine_fault(env->fe, "/secrets", "503 Service Unavailable",
			  "{\"message\": \"manager busy\"}", 2);
	env_start(env, "  task uses {\n    shell = \"true\"\n    secrets = {\"present\"}\n  }\n"
		       "  task missing {\n    shell = \"true\"\n    secrets = {\"absent\"}\n  }\n");
	char *sid = fake_engine_named_add(env->fe, "secrets", "present");
	assert_non_null(sid);
	env_tick(env, 500);
	/* Both lookups met the 503: nothing failed, both wait. */
	assert_int_equal(env_ti_state_of(env, "uses"), TI_SCHEDULED);
	assert_int_equal(env_ti_state_of(env, "missing"), TI_SCHEDULED);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_ti_state_of(env, "uses"), TI_SUCCESS);
	struct ti ti;
	env_get_ti(env, "missing", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_non_null(strstr(ti.error, "secret 'absent'"));
	assert_null(ti.service_id);
	ti_finish(&ti);
	free(sid);
}

/* Services of tries the store says are over (a remove that failed) go at the daemon's sweep;
 * a live try's service stays; a service the store does not know stays for the grace period
 * (sweeps every 30 s), then goes, once. */
static void test_sweep(void **state)
{
	struct env *env = *state;
	env_start(env, "  task done {\n    shell = \"true\"\n  }\n"
		       "  task later {\n    upstream = {done}\n    shell = \"true\"\n  }\n");
	struct ti ti;
	env_get_ti(env, "done", &ti);
	ti.state = TI_SUCCESS;
	ti.try_number = 1;
	store_ti_ok(env, &ti);
	ti_finish(&ti);
	char *left = add_service_of(env, "done", 1);
	char *stranger = add_service_of(env, "not-in-the-store", 1);
	env_restart(env);
	int64_t first_seen = env->now; /* the daemon sweeps at its first tick */
	env_tick(env, 500);
	assert_int_equal(env_deletes_of(env, left), 1);
	assert_int_equal(env_deletes_of(env, stranger), 0);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(env_deletes_of(env, stranger), 0);
	while (env->now - first_seen < STRANGER_GRACE_MS - 30000) {
		env_tick(env, 30000);
		assert_int_equal(env_deletes_of(env, stranger), 0);
	}
	for (int i = 0; i < 4; i++)
		env_tick(env, 30000);
	assert_int_equal(env_deletes_of(env, stranger), 1);
	assert_int_equal(fake_engine_live(env->fe), 0);
	free(left);
	free(stranger);
}

/* A run owned by a live `dags test` is left alone by the daemon. */
static void test_live_test_run_left_alone(void **state)
{
	struct env *env = *state;
	char *me = sched_test_runner(); /* this process: alive */
	env_start_runner(env, "  task solo {\n    shell = \"true\"\n  }\n", me);
	for (int i = 0; i < 4; i++)
		env_tick(env, 500);
	assert_int_equal(env_ti_state_of(env, "solo"), TI_NONE);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 0);
	free(me);
}

/* The runner name of a process that has exited. */
static char *dead_runner(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	return xasprintf("test:%s:%ld", host, (long)pid);
}

/* A run whose `dags test` process died is taken over by the daemon, which adopts its running
 * try and finishes the run. */
static void test_dead_test_run_taken_over(void **state)
{
	struct env *env = *state;
	char *dead = dead_runner();
	assert_true(sched_runner_dead(dead));
	env_start_runner(env,
			 "  task a {\n    shell = \"true\"\n  }\n"
			 "  task b {\n    upstream = {a}\n    shell = \"true\"\n  }\n",
			 dead);
	char *pre = add_service_of(env, "a", 1);
	struct ti ti;
	env_get_ti(env, "a", &ti);
	ti.state = TI_RUNNING;
	ti.try_number = 1;
	ti.service_id = xstrdup(pre);
	ti.queued_ms = ti.start_ms = env->now;
	store_ti_ok(env, &ti);
	ti_finish(&ti);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	env_get_ti(env, "a", &ti);
	assert_string_equal(ti.service_id, pre); /* adopted, not created again */
	ti_finish(&ti);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1); /* only b */
	struct run r = {0};
	char *err = NULL;
	assert_true(store_run_get_by_id(env->store, env->run.id, &r, &err));
	assert_null(r.runner);
	run_finish(&r);
	free(pre);
	free(dead);
}

/* Moves the DAG file away (back: true puts it back) and refreshes the DAGs. */
static void move_dag(struct env *env, bool back)
{
	char *path = xasprintf("%s/t.dag", env->cfg.dags_folder);
	char *aside = xasprintf("%s/t.dag.aside", env->dir);
	assert_int_equal(back ? rename(aside, path) : rename(path, aside), 0);
	free(path);
	free(aside);
	assert_true(dagbag_refresh(&env->bag) >= 0);
}

/* The DAG file is deleted mid-run: the running try is still polled to its end (and its service
 * removed), then after the grace period the tasks not started become removed and the run
 * failed: nothing stays running forever. */
static void test_dag_deleted_mid_run(void **state)
{
	struct env *env = *state;
	env_start(env, "  task a {\n    shell = \"true\"\n  }\n"
		       "  task b {\n    upstream = {a}\n    shell = \"true\"\n  }\n");
	env_tick(env, 100); /* a dispatched */
	move_dag(env, false);
	for (int i = 0; i < 5; i++)
		env_tick(env, 100);
	assert_int_equal(env_ti_state_of(env, "a"), TI_SUCCESS);
	assert_int_equal(env_ti_state_of(env, "b"), TI_NONE); /* waits: the DAG may come back */
	assert_int_equal(env_run_state_of(env), RUN_RUNNING);
	env->now += 5 * 60 * 1000;
	env_tick(env, 100);
	struct ti ti;
	env_get_ti(env, "b", &ti);
	assert_int_equal(ti.state, TI_REMOVED);
	assert_string_equal(ti.error, "DAG 't' is no longer in the dags folder");
	ti_finish(&ti);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
	assert_int_equal(fake_engine_live(env->fe), 0);
}

/* The DAG comes back within the grace period: the run goes on as if nothing happened. */
static void test_dag_back_in_time(void **state)
{
	struct env *env = *state;
	env_start(env, "  task a {\n    shell = \"true\"\n  }\n"
		       "  task b {\n    upstream = {a}\n    shell = \"true\"\n  }\n");
	move_dag(env, false);
	env_tick(env, 100);
	env->now += 4 * 60 * 1000;
	env_tick(env, 100);
	move_dag(env, true);
	env_run_to_end(env, 20, 500);
	env->now += 10 * 60 * 1000; /* long after: the old deadline no longer applies */
	env_tick(env, 100);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(env_ti_state_of(env, "b"), TI_SUCCESS);
}

/* A queued run whose DAG is gone ends the same way after the grace period. */
static void test_dag_deleted_before_start(void **state)
{
	struct env *env = *state;
	env_start(env, "  task a {\n    shell = \"true\"\n  }\n");
	move_dag(env, false);
	env_tick(env, 100);
	assert_int_equal(env_run_state_of(env), RUN_QUEUED);
	env->now += 5 * 60 * 1000;
	env_tick(env, 100);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
	assert_int_equal(env_ti_state_of(env, "a"), TI_REMOVED);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 0);
}

/* On an engine older than API 1.43 services are replicated with one replica (removing a
 * replicated-job there leaves its container running). */
static void test_mode_on_old_engine(void **state)
{
	struct env *env = *state;
	env_start(env, "  task solo {\n    shell = \"true\"\n  }\n");
	env_tick(env, 100);
	size_t i = env_find_request(env, 0, "POST", "/services/create");
	assert_true(i != SIZE_MAX);
	struct fake_request r;
	assert_true(fake_engine_request_get(env->fe, i, &r));
	json_error_t jerr;
	json_t *spec = json_loads(r.body, 0, &jerr);
	assert_non_null(spec);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(spec, "Mode"), "Replicated"), "Replicas")),
	    1);
	assert_null(json_object_get(json_object_get(spec, "Mode"), "ReplicatedJob"));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(spec, "TaskTemplate"), "RestartPolicy"),
		"Condition")),
	    "none");
	json_decref(spec);
	fake_request_finish(&r);
}

/* A try that hits its timeout has no exit code (its container was still running) and its service
 * is removed. */
static void test_timeout_no_exit_code(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING};
	static const struct fake_script forever = {"forever", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &forever);
	env_start(env, "  task forever {\n    shell = \"sleep 300\"\n    timeout = \"1s\"\n  }\n");
	env_run_to_end(env, 10, 500);
	struct ti ti;
	env_get_ti(env, "forever", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_string_equal(ti.error, "timed out after 1s");
	assert_false(ti.has_exit_code);
	assert_int_equal(env_deletes_of(env, ti.service_id), 1);
	ti_finish(&ti);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_queued_without_id_adopted, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_queued_without_id_created, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_create_5xx_capped, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_secret_lookup, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_sweep, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_live_test_run_left_alone, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dead_test_run_taken_over, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dag_deleted_mid_run, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dag_back_in_time, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dag_deleted_before_start, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_mode_on_old_engine, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_no_exit_code, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
