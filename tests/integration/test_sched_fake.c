/* test_sched_fake.c - the scheduler's decisions against the fake engine's simulated swarm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "fake_engine.h"
#include "sched_env.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/spec.h"
#include "swarmflow/sched/sched.h"

/* a. Ten independent tasks: one GET /tasks per tick whatever the number in flight. */
static void test_one_poll_per_tick(void **state)
{
	struct env *env = *state;
	struct buf tasks;
	buf_init(&tasks, 0);
	for (int i = 0; i < 10; i++)
		buf_printf(&tasks, "  task t%d {\n    shell = \"echo %d\"\n  }\n", i, i);
	env_start(env, tasks.data);
	buf_finish(&tasks);
	for (int i = 0; i < 8; i++) {
		size_t mark = fake_engine_request_count(env->fe);
		size_t in_flight = env->s.n_inflight;
		env_tick(env, 500);
		assert_int_equal(env_count_from(env, mark, "GET", "/tasks"), in_flight ? 1 : 0);
		if (i == 0) /* nothing in flight yet: all ten created, none polled */
			assert_int_equal(env_count_from(env, mark, "POST", "/services/create"), 10);
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(env->s.n_inflight, 0);

	/* The first poll came after the ten creates and asked about all ten at once. */
	struct fake_service svcs[16];
	assert_int_equal(fake_engine_services(env->fe, svcs, ARRAY_LEN(svcs)), 10);
	size_t first_poll = env_find_request(env, 0, "GET", "/tasks");
	assert_true(first_poll != SIZE_MAX);
	assert_int_equal(env_count_from(env, first_poll, "POST", "/services/create"), 0);
	struct fake_request poll;
	assert_true(fake_engine_request_get(env->fe, first_poll, &poll));
	json_t *filters = json_loads(poll.query + strlen("filters="), 0, NULL);
	const json_t *ids = json_object_get(filters, "service");
	assert_int_equal(json_array_size(ids), 10);
	for (size_t i = 0; i < 10; i++) {
		bool asked = false;
		for (size_t j = 0; j < 10; j++)
			asked = asked ||
				strcmp(json_string_value(json_array_get(ids, j)), svcs[i].id) == 0;
		assert_true(asked);
		assert_int_equal(env_deletes_of(env, svcs[i].id), 1);
		assert_int_equal(svcs[i].polls, 3); /* pending, running, complete */
	}
	json_decref(filters);
	fake_request_finish(&poll);
	assert_int_equal(fake_engine_live(env->fe), 0);
	assert_int_equal(env_count_from(env, 0, "GET", "/logs"), 10);
	for (int i = 0; i < 10; i++) {
		char id[8];
		snprintf(id, sizeof(id), "t%d", i);
		struct ti ti;
		env_get_ti(env, id, &ti);
		assert_int_equal(ti.state, TI_SUCCESS);
		assert_true(ti.has_exit_code);
		assert_int_equal(ti.exit_code, 0);
		assert_int_equal(ti.try_number, 1);
		ti_finish(&ti);
	}
	/* Nothing in flight: a tick asks the engine nothing. */
	size_t mark = fake_engine_request_count(env->fe);
	env_tick(env, 500);
	assert_int_equal(fake_engine_request_count(env->fe), mark);
}

/* b. a -> b: b's service is created in the very tick that sees a complete. */
static void test_downstream_same_tick(void **state)
{
	struct env *env = *state;
	env_start(env, "  task a {\n    shell = \"echo a\"\n  }\n"
		       "  task b {\n    upstream = {a}\n    shell = \"echo b\"\n  }\n");
	bool seen = false;
	for (int i = 0; i < 10 && !seen; i++) {
		size_t mark = fake_engine_request_count(env->fe);
		env_tick(env, 500);
		size_t creates = env_count_from(env, mark, "POST", "/services/create");
		if (env_ti_state_of(env, "a") != TI_SUCCESS) {
			assert_int_equal(creates, i == 0 ? 1 : 0);
			assert_int_equal(env_ti_state_of(env, "b"), TI_NONE);
			continue;
		}
		seen = true;
		assert_int_equal(creates, 1);
		struct ti b;
		env_get_ti(env, "b", &b);
		assert_int_equal(b.state, TI_QUEUED);
		assert_non_null(b.service_id);
		struct fake_service sb = env_service_of(env, "b"), sa = env_service_of(env, "a");
		assert_string_equal(sb.id, b.service_id);
		/* In that tick: a's removal, then b's creation. */
		char *del = xasprintf("/services/%s", sa.id);
		size_t d = env_find_request(env, mark, "DELETE", del);
		free(del);
		assert_true(d != SIZE_MAX);
		assert_true(d < env_find_request(env, mark, "POST", "/services/create"));
		ti_finish(&b);
	}
	assert_true(seen);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(env_ti_state_of(env, "b"), TI_SUCCESS);
}

/* c. Exit code 3: failed with the engine's Err, downstream upstream_failed, logs kept. */
static void test_exit_code(void **state)
{
	static const struct fake_step steps[] = {FAKE_PENDING, FAKE_RUNNING,
						 FAKE_EXIT(3, "task: non-zero exit (3)")};
	static const struct fake_script boom = {"boom", steps, ARRAY_LEN(steps),
						"starting\nsomething broke\n"};
	struct env *env = *state;
	fake_engine_script(env->fe, &boom);
	env_start(env, "  task boom {\n    shell = \"exit 3\"\n  }\n"
		       "  task after {\n    upstream = {boom}\n    shell = \"echo after\"\n  }\n");
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
	struct ti ti;
	env_get_ti(env, "boom", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_int_equal(ti.try_number, 1);
	assert_true(ti.has_exit_code);
	assert_int_equal(ti.exit_code, 3);
	assert_non_null(ti.error);
	assert_non_null(strstr(ti.error, "task: non-zero exit (3)"));
	assert_non_null(ti.log_path);
	char *log = env_read_text(ti.log_path);
	assert_string_equal(log, "starting\nsomething broke\n"
				 "[swarmflow] try 1 failed: failed: task: non-zero exit (3)\n");
	free(log);
	struct fake_service svc = env_service_of(env, "boom");
	assert_string_equal(svc.id, ti.service_id);
	/* The node the engine placed the task on is kept, on the instance and on its try. */
	assert_string_equal(ti.node_id, "node1");
	struct ti_list tries = {0};
	char *err = NULL;
	assert_true(store_tries_list(env->store, ti.id, &tries, &err));
	assert_int_equal(tries.len, 1);
	assert_string_equal(tries.v[0].node_id, "node1");
	assert_int_equal(tries.v[0].queued_ms, ti.queued_ms);
	ti_list_finish(&tries);
	ti_finish(&ti);
	assert_int_equal(env_ti_state_of(env, "after"), TI_UPSTREAM_FAILED);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1);
	assert_int_equal(env_count_from(env, 0, "GET", "/logs"), 1);
	assert_int_equal(env_deletes_of(env, svc.id), 1);
	assert_int_equal(fake_engine_live(env->fe), 0);
}

/* d. Never placed: fails after pending_timeout with the engine's reason; service removed. */
static void test_pending_timeout(void **state)
{
	static const char reason[] =
	    "no suitable node (scheduling constraints not satisfied on 1 node)";
	static const struct fake_step steps[] = {FAKE_STUCK(reason)};
	static const struct fake_script stuck = {"stuck", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &stuck);
	env_start(env, "  task stuck {\n    shell = \"true\"\n    pending_timeout = \"1s\"\n  }\n");
	int64_t t0 = env->now, failed_at = 0;
	for (int i = 0; i < 12 && !failed_at; i++) {
		int64_t at = env->now;
		env_tick(env, 250);
		enum ti_state st = env_ti_state_of(env, "stuck");
		if (st == TI_FAILED)
			failed_at = at;
		else
			assert_int_equal(st, TI_QUEUED);
	}
	/* The first tick more than 1 s after the service was created. */
	assert_int_equal(failed_at - t0, 1250);
	struct ti ti;
	env_get_ti(env, "stuck", &ti);
	char *want = xasprintf("not started after 1s (pending_timeout): %s", reason);
	assert_string_equal(ti.error, want);
	free(want);
	assert_false(ti.has_exit_code);
	struct fake_service svc = env_service_of(env, "stuck");
	assert_string_equal(svc.id, ti.service_id);
	assert_int_equal(svc.polls, 5);
	ti_finish(&ti);
	assert_int_equal(env_deletes_of(env, svc.id), 1);
	assert_int_equal(fake_engine_live(env->fe), 0);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
}

/* e. A service of this very try exists (name and labels): adopted after the 409. */
static void test_adopt_on_conflict(void **state)
{
	struct env *env = *state;
	char name[SPEC_NAME_MAX + 1];
	spec_service_name(env->cfg.service_prefix, env->cfg.instance, "t", RUN_ID, "solo", 1, name);
	json_t *labels =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "swarmflow.managed", "true",
		      "swarmflow.dag_id", "t", "swarmflow.run_id", RUN_ID, "swarmflow.task_id",
		      "solo", "swarmflow.try_number", "1", "swarmflow.instance", env->cfg.instance);
	json_t *spec =
	    json_pack("{s:s, s:O, s:{s:{s:s, s:O}}}", "Name", name, "Labels", labels,
		      "TaskTemplate", "ContainerSpec", "Image", "busybox:1.36", "Labels", labels);
	char *pre = fake_engine_service_add(env->fe, spec);
	assert_non_null(pre);
	json_decref(spec);
	json_decref(labels);
	env_start(env, "  task solo {\n    shell = \"echo solo\"\n  }\n");
	env_tick(env, 500);
	struct ti ti;
	env_get_ti(env, "solo", &ti);
	assert_int_equal(ti.state, TI_QUEUED);
	assert_string_equal(ti.service_id, pre);
	assert_string_equal(ti.service_name, name);
	ti_finish(&ti);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	env_get_ti(env, "solo", &ti);
	assert_int_equal(ti.state, TI_SUCCESS);
	assert_int_equal(ti.try_number, 1);
	ti_finish(&ti);
	/* One create (answered 409), one lookup of this try by its labels (besides the daemon's
	 * sweep, which asks by instance only), no second service. */
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1);
	assert_int_equal(env_count_query(env, "GET", "/services", "swarmflow.try_number=1"), 1);
	struct fake_service svcs[4];
	assert_int_equal(fake_engine_services(env->fe, svcs, ARRAY_LEN(svcs)), 1);
	assert_int_equal(env_deletes_of(env, pre), 1);
	free(pre);
}

/* f. The engine fails creates with 500: the try goes back to scheduled, then runs. */
static void test_create_500(void **state)
{
	struct env *env = *state;
	fake_engine_fault(env->fe, "POST /v1.41/services/create", "500 Internal Server Error",
			  "{\"message\":\"rpc error: code = Unknown desc = raft: no leader\"}", -1);
	env_start(env, "  task flaky {\n    shell = \"echo flaky\"\n    retries = 1\n  }\n");
	for (int i = 0; i < 3; i++) {
		size_t mark = fake_engine_request_count(env->fe);
		env_tick(env, 500);
		assert_int_equal(env_count_from(env, mark, "POST", "/services/create"), 1);
		struct ti ti;
		env_get_ti(env, "flaky", &ti);
		assert_int_equal(ti.state, TI_SCHEDULED);
		assert_int_equal(ti.try_number, 0);
		assert_null(ti.service_id);
		assert_null(ti.error);
		ti_finish(&ti);
		assert_int_equal(env_run_state_of(env), RUN_RUNNING);
	}
	fake_engine_faults_clear(env->fe); /* the engine recovers */
	for (int i = 0; i < 10 && env_run_state_of(env) == RUN_RUNNING; i++) {
		env_tick(env, 500);
		enum ti_state st = env_ti_state_of(env, "flaky");
		assert_true(st != TI_FAILED && st != TI_UP_FOR_RETRY);
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	struct ti ti;
	env_get_ti(env, "flaky", &ti);
	assert_int_equal(ti.state, TI_SUCCESS);
	assert_int_equal(ti.try_number, 1);
	struct ti_list tries = {0};
	char *err = NULL;
	assert_true(store_tries_list(env->store, ti.id, &tries, &err));
	assert_int_equal(tries.len, 1);
	assert_int_equal(tries.v[0].state, TI_SUCCESS);
	ti_list_finish(&tries);
	ti_finish(&ti);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 4);
	struct fake_service svcs[4];
	assert_int_equal(fake_engine_services(env->fe, svcs, ARRAY_LEN(svcs)), 1);
}

/* g. parallelism = 3: never more than three services at once. */
static void test_parallelism(void **state)
{
	struct env *env = *state;
	env->cfg.parallelism = 3;
	struct buf tasks;
	buf_init(&tasks, 0);
	for (int i = 0; i < 8; i++)
		buf_printf(&tasks, "  task p%d {\n    shell = \"echo %d\"\n  }\n", i, i);
	env_start(env, tasks.data);
	buf_finish(&tasks);
	for (int i = 0; i < 30 && env_run_state_of(env) != RUN_SUCCESS; i++) {
		env_tick(env, 500);
		assert_true(env->s.n_inflight <= 3);
		assert_true(fake_engine_live(env->fe) <= 3);
		assert_int_not_equal(env_run_state_of(env), RUN_FAILED);
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(fake_engine_max_live(env->fe), 3);
	struct fake_service svcs[16];
	assert_int_equal(fake_engine_services(env->fe, svcs, ARRAY_LEN(svcs)), 8);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(env_deletes_of(env, svcs[i].id), 1);
}

/* h. keep_failed_services: the failed try's service stays, the successful one goes. */
static void test_keep_failed(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING,
						 FAKE_EXIT(1, "task: non-zero exit (1)")};
	static const struct fake_script bad = {"bad", steps, ARRAY_LEN(steps), "oops\n"};
	struct env *env = *state;
	env->cfg.keep_failed_services = true;
	fake_engine_script(env->fe, &bad);
	env_start(env, "  task good {\n    shell = \"true\"\n  }\n"
		       "  task bad {\n    shell = \"false\"\n  }\n");
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
	assert_int_equal(env_ti_state_of(env, "good"), TI_SUCCESS);
	assert_int_equal(env_ti_state_of(env, "bad"), TI_FAILED);
	struct fake_service good = env_service_of(env, "good"), failed = env_service_of(env, "bad");
	assert_int_equal(env_deletes_of(env, good.id), 1);
	assert_int_equal(env_deletes_of(env, failed.id), 0);
	assert_false(failed.removed);
	assert_int_equal(fake_engine_live(env->fe), 1);
}

/* h'. The same after a restart: a try adopted from the store keeps its failed service too. */
static void test_keep_failed_adopted(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING, FAKE_RUNNING,
						 FAKE_EXIT(1, "task: non-zero exit (1)")};
	static const struct fake_script bad = {"bad", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	env->cfg.keep_failed_services = true;
	fake_engine_script(env->fe, &bad);
	env_start(env, "  task bad {\n    shell = \"false\"\n  }\n");
	env_tick(env, 500);
	env_tick(env, 500);
	assert_int_equal(env_ti_state_of(env, "bad"), TI_RUNNING);
	/* The scheduler stops and starts again: it adopts the running try from the store. */
	sched_finish(&env->s);
	env->sched_ready = false;
	char *err = NULL;
	if (!sched_init(&env->s, &env->cfg, env->store, env->engine, &env->bag, 0, &err))
		fail_msg("sched_init: %s", err);
	env->sched_ready = true;
	assert_int_equal(env->s.n_inflight, 1);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_ti_state_of(env, "bad"), TI_FAILED);
	struct fake_service failed = env_service_of(env, "bad");
	assert_int_equal(env_deletes_of(env, failed.id), 0);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1);
}

/* i. A running try whose task vanishes (its service removed behind our back) fails at once,
 * not after pending_timeout, with a reason that says what happened. */
static void test_task_vanished(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING};
	static const struct fake_script forever = {"forever", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &forever);
	env_start(env, "  task forever {\n    shell = \"sleep 1000\"\n  }\n");
	env_tick(env, 100); /* dispatch */
	env_tick(env, 100); /* seen running */
	assert_int_equal(env_ti_state_of(env, "forever"), TI_RUNNING);
	fake_engine_fault(env->fe, "/tasks", "200 OK", "[]", -1);
	env_tick(env, 100);
	fake_engine_faults_clear(env->fe);
	struct ti ti;
	env_get_ti(env, "forever", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_string_equal(ti.error, "the service or its task was removed outside swarmflow");
	ti_finish(&ti);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
}

/* j. A try that ends between two polls (never seen running) still gets a start time: the
 * creation of its service. */
static void test_start_without_running(void **state)
{
	static const struct fake_step steps[] = {FAKE_COMPLETE};
	static const struct fake_script quick = {"quick", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &quick);
	env_start(env, "  task quick {\n    shell = \"true\"\n  }\n");
	int64_t created = env->now;
	env_run_to_end(env, 5, 300);
	struct ti ti;
	env_get_ti(env, "quick", &ti);
	assert_int_equal(ti.state, TI_SUCCESS);
	assert_int_equal(ti.start_ms, created);
	assert_true(ti.end_ms > ti.start_ms);
	ti_finish(&ti);
}

/* Twelve ready tasks: their twelve creates are made at once, not one after the other, and so
 * are the removes of their services; each service is created and removed exactly once. */
static void test_concurrent_creates_and_removes(void **state)
{
	struct env *env = *state;
	fake_engine_destroy(env->fe);
	struct fake_engine_opts opts = {.swarm = true, .parallel_delay_ms = 40};
	env->fe = fake_engine_create(&opts);
	assert_non_null(env->fe);
	struct buf tasks;
	buf_init(&tasks, 0);
	for (int i = 0; i < 12; i++)
		buf_printf(&tasks, "  task p%d {\n    shell = \"echo %d\"\n  }\n", i, i);
	env_start(env, tasks.data);
	buf_finish(&tasks);
	fake_engine_max_parallel(env->fe); /* count from here */
	env_tick(env, 500);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 12);
	size_t creates_at_once = fake_engine_max_parallel(env->fe);
	/* 12 requests made together over up to 16 connections, each answered after 40 ms. */
	assert_true(creates_at_once >= 6);
	for (int i = 0; i < 12; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(env_ti_state_of(env, name), TI_QUEUED);
	}
	/* Ticks until every task finished: the last tick removes what finished in it. */
	size_t removes_at_once = 0;
	for (int i = 0; i < 10 && env_run_state_of(env) != RUN_SUCCESS; i++) {
		env_tick(env, 500);
		size_t m = fake_engine_max_parallel(env->fe);
		removes_at_once = m > removes_at_once ? m : removes_at_once;
	}
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_true(removes_at_once >= 6);
	struct fake_service svcs[16];
	size_t n = fake_engine_services(env->fe, svcs, 16);
	assert_int_equal(n, 12);
	for (size_t i = 0; i < n; i++) {
		assert_true(svcs[i].removed);
		assert_int_equal(env_deletes_of(env, svcs[i].id), 1);
	}
	assert_int_equal(fake_engine_live(env->fe), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_poll_per_tick, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_downstream_same_tick, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_exit_code, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_pending_timeout, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_creates_and_removes, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_on_conflict, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_create_500, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_parallelism, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_keep_failed, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_keep_failed_adopted, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_task_vanished, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_start_without_running, env_setup, env_teardown),
	};
	log_init(LOG_WARN);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
