/* test_sched_nodeloss.c - a running try whose Swarm node stays down longer than node_lost_timeout
 * fails "node lost", its service is removed and retries apply; the nodes are asked about once
 * per tick, only while a try runs, and the time is the monotonic clock's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_engine.h"
#include "sched_env.h"
#include "swarmflow/common/util.h"
#include "swarmflow/sched/sched.h"

#define HOUR_MS INT64_C(3600000)

/* Running for 40 polls, then complete: long enough for a node to be lost under it. */
static const struct fake_step long_steps[] = {
    FAKE_PENDING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
    FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
    FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
    FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
    FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
    FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
    FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_COMPLETE};
static const struct fake_step forever_steps[] = {FAKE_PENDING, FAKE_RUNNING};

/* One tick with the wall clock at wall and the monotonic clock at mono. */
static void tick_at(struct env *env, int64_t wall, int64_t mono)
{
	assert_true(sched_tick_clock(&env->s, wall, mono));
}

static size_t nodes_requests(struct env *env, size_t from)
{
	return env_count_from(env, from, "GET", "/nodes");
}

/* The node w1 dies under a running try (retries = 1): the try goes on while w1 has been down
 * for up to 15 s, fails at the first tick after, with the node's name, id and the time; its
 * service is removed; w1 comes back and the retry succeeds. */
static void test_lost_node_fails_try_and_retries(void **state)
{
	static const struct fake_script work = {"work", long_steps, ARRAY_LEN(long_steps),
						"working\n"};
	struct env *env = *state;
	env->cfg.node_lost_timeout_s = 15;
	fake_engine_script(env->fe, &work);
	fake_engine_node_state(env->fe, "w1", "ready");
	env_start(env, "  task work {\n    shell = \"sleep 60\"\n    retries = 1\n"
		       "    retry_delay = \"1s\"\n    constraints = {\"node.id==w1\"}\n  }\n");
	env_tick(env, 1000); /* dispatched */
	env_tick(env, 1000); /* pending */
	env_tick(env, 1000); /* running: the nodes are asked about */
	assert_int_equal(env_ti_state_of(env, "work"), TI_RUNNING);
	assert_int_equal(nodes_requests(env, 0), 1);
	struct fake_service first = env_service_of(env, "work");

	fake_engine_node_state(env->fe, "w1", "down");
	int64_t seen_down = env->now; /* the next tick sees it */
	int64_t failed_at = 0;
	for (int i = 0; i < 30 && !failed_at; i++) {
		int64_t at = env->now;
		env_tick(env, 1000);
		if (env_ti_state_of(env, "work") != TI_RUNNING)
			failed_at = at;
	}
	assert_int_equal(failed_at - seen_down, 16000); /* the first tick past 15 s */
	struct ti ti;
	env_get_ti(env, "work", &ti);
	assert_int_equal(ti.state, TI_UP_FOR_RETRY);
	assert_int_equal(ti.try_number, 1);
	assert_string_equal(ti.error, "node lost: host-w1 (w1) down for 16s");
	assert_false(ti.has_exit_code);
	assert_string_equal(ti.node_id, "w1");
	/* Its logs are on the lost node: not asked for (a partitioned node's would hold the loop
	 * for the request's whole timeout). */
	char *log = env_read_text(ti.log_path);
	assert_string_equal(log,
			    "[swarmflow] logs not fetched: they stay on the lost node\n"
			    "[swarmflow] try 1 failed: node lost: host-w1 (w1) down for 16s\n");
	free(log);
	ti_finish(&ti);
	char *logs_path = xasprintf("/services/%s/logs", first.id);
	assert_int_equal(env_count_from(env, 0, "GET", logs_path), 0);
	free(logs_path);
	assert_int_equal(env_deletes_of(env, first.id), 1);

	/* w1 is back before the retry is placed: the retry runs there and succeeds. */
	fake_engine_node_state(env->fe, "w1", "ready");
	env_run_to_end(env, 80, 1000);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	env_get_ti(env, "work", &ti);
	assert_int_equal(ti.state, TI_SUCCESS);
	assert_int_equal(ti.try_number, 2);
	ti_finish(&ti);
	struct fake_service second = env_service_of(env, "work");
	assert_string_not_equal(second.id, first.id);
	assert_int_equal(fake_engine_live(env->fe), 0);
}

/* Only the tries on the lost node fail: a try on another node goes on and succeeds. */
static void test_only_tries_on_that_node(void **state)
{
	static const struct fake_script lost = {"lost", forever_steps, ARRAY_LEN(forever_steps),
						NULL};
	static const struct fake_script fine = {"fine", long_steps, ARRAY_LEN(long_steps), NULL};
	struct env *env = *state;
	env->cfg.node_lost_timeout_s = 5;
	fake_engine_script(env->fe, &lost);
	fake_engine_script(env->fe, &fine);
	fake_engine_node_state(env->fe, "w2", "ready");
	env_start(env, "  task lost {\n    shell = \"sleep 60\"\n    constraints = "
		       "{\"node.id==w2\"}\n  }\n"
		       "  task fine {\n    shell = \"sleep 30\"\n  }\n");
	env_tick(env, 1000);
	env_tick(env, 1000);
	env_tick(env, 1000);
	fake_engine_node_state(env->fe, "w2", "down");
	for (int i = 0; i < 7; i++)
		env_tick(env, 1000);
	struct ti ti;
	env_get_ti(env, "lost", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_string_equal(ti.error, "node lost: host-w2 (w2) down for 6s");
	ti_finish(&ti);
	assert_int_equal(env_ti_state_of(env, "fine"), TI_RUNNING);
	env_run_to_end(env, 60, 1000);
	assert_int_equal(env_ti_state_of(env, "fine"), TI_SUCCESS);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
	assert_int_equal(fake_engine_live(env->fe), 0);
}

/* One GET /nodes per tick whatever the number of running tries; none while no try runs (only
 * pending ones, or nothing in flight). */
static void test_one_nodes_request_per_tick(void **state)
{
	static const struct fake_step stuck_steps[] = {FAKE_STUCK("no suitable node")};
	static const struct fake_script stuck = {"stuck", stuck_steps, ARRAY_LEN(stuck_steps),
						 NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &stuck);
	struct buf tasks;
	buf_init(&tasks, 0);
	buf_printf(&tasks,
		   "  task stuck {\n    shell = \"true\"\n    pending_timeout = \"1h\"\n"
		   "  }\n  task later {\n    upstream = {stuck}\n    shell = \"true\"\n  }\n");
	for (int i = 0; i < 6; i++)
		buf_printf(&tasks, "  task t%d {\n    shell = \"echo %d\"\n  }\n", i, i);
	env_start(env, tasks.data);
	buf_finish(&tasks);
	bool saw_running = false;
	for (int i = 0; i < 6; i++) {
		size_t mark = fake_engine_request_count(env->fe);
		env_tick(env, 500);
		size_t running = 0;
		for (int t = 0; t < 6; t++) {
			char id[8];
			snprintf(id, sizeof(id), "t%d", t);
			running += env_service_of(env, id).state[0] &&
				   strcmp(env_service_of(env, id).state, "running") == 0;
		}
		saw_running = saw_running || running > 1;
		assert_int_equal(nodes_requests(env, mark), running ? 1 : 0);
	}
	assert_true(saw_running);
	/* Only the stuck task is in flight now: pending, so no GET /nodes. */
	assert_int_equal(env->s.n_inflight, 1);
	size_t mark = fake_engine_request_count(env->fe);
	for (int i = 0; i < 3; i++)
		env_tick(env, 500);
	assert_int_equal(nodes_requests(env, mark), 0);
}

/* A node down for less than the timeout that comes back fails nothing; down again, the time
 * counts from the new loss. */
static void test_back_in_time_resets(void **state)
{
	static const struct fake_script lost = {"lost", forever_steps, ARRAY_LEN(forever_steps),
						NULL};
	struct env *env = *state;
	env->cfg.node_lost_timeout_s = 10;
	fake_engine_script(env->fe, &lost);
	env_start(env, "  task lost {\n    shell = \"sleep 600\"\n    constraints = "
		       "{\"node.id==w1\"}\n  }\n");
	fake_engine_node_state(env->fe, "w1", "ready");
	env_tick(env, 1000);
	env_tick(env, 1000);
	env_tick(env, 1000);
	fake_engine_node_state(env->fe, "w1", "disconnected");
	for (int i = 0; i < 8; i++)
		env_tick(env, 1000);
	fake_engine_node_state(env->fe, "w1", "ready");
	env_tick(env, 1000);
	fake_engine_node_state(env->fe, "w1", "down");
	for (int i = 0; i < 10; i++)
		env_tick(env, 1000);
	assert_int_equal(env_ti_state_of(env, "lost"), TI_RUNNING); /* 9 s since the new loss */
	env_tick(env, 1000);
	env_tick(env, 1000);
	struct ti ti;
	env_get_ti(env, "lost", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_string_equal(ti.error, "node lost: host-w1 (w1) down for 11s");
	ti_finish(&ti);
}

/* The wall clock jumps an hour ahead while the node is down: only monotonic time counts. */
static void test_monotonic_clock(void **state)
{
	static const struct fake_script lost = {"lost", forever_steps, ARRAY_LEN(forever_steps),
						NULL};
	struct env *env = *state;
	env->cfg.node_lost_timeout_s = 15;
	fake_engine_script(env->fe, &lost);
	env_start(env, "  task lost {\n    shell = \"sleep 600\"\n    constraints = "
		       "{\"node.id==w1\"}\n  }\n");
	fake_engine_node_state(env->fe, "w1", "ready");
	int64_t wall = env->now, mono = 2000000;
	tick_at(env, wall, mono);
	tick_at(env, wall + 1000, mono + 1000);
	tick_at(env, wall + 2000, mono + 2000);
	assert_int_equal(env_ti_state_of(env, "lost"), TI_RUNNING);
	fake_engine_node_state(env->fe, "w1", "down");
	tick_at(env, wall + 3000, mono + 3000); /* first seen down */
	tick_at(env, wall + HOUR_MS, mono + 4000);
	tick_at(env, wall + HOUR_MS + 14000, mono + 18000);
	assert_int_equal(env_ti_state_of(env, "lost"), TI_RUNNING);
	tick_at(env, wall + HOUR_MS + 15000, mono + 18500);
	assert_int_equal(env_ti_state_of(env, "lost"), TI_FAILED);
}

/* node_lost_timeout = 0 turns the check off: no GET /nodes, the try runs on. A GET /nodes that
 * fails decides nothing (and the loss counts once it answers again). */
static void test_off_and_engine_errors(void **state)
{
	static const struct fake_script lost = {"lost", forever_steps, ARRAY_LEN(forever_steps),
						NULL};
	struct env *env = *state;
	env->cfg.node_lost_timeout_s = 0;
	fake_engine_script(env->fe, &lost);
	env_start(env, "  task lost {\n    shell = \"sleep 600\"\n    constraints = "
		       "{\"node.id==w1\"}\n  }\n");
	fake_engine_node_state(env->fe, "w1", "down");
	for (int i = 0; i < 30; i++)
		env_tick(env, 1000);
	assert_int_equal(env_ti_state_of(env, "lost"), TI_RUNNING);
	assert_int_equal(nodes_requests(env, 0), 0);

	env->cfg.node_lost_timeout_s = 5; /* as a SIGHUP would set it */
	env_tick(env, 1000);              /* w1 first seen down */
	fake_engine_fault(env->fe, "/nodes", "503 Service Unavailable",
			  "{\"message\": \"This node is not a swarm manager.\"}", -1);
	for (int i = 0; i < 10; i++)
		env_tick(env, 1000);
	assert_int_equal(env_ti_state_of(env, "lost"), TI_RUNNING);
	fake_engine_faults_clear(env->fe);
	env_tick(env, 1000);
	struct ti ti;
	env_get_ti(env, "lost", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_string_equal(ti.error, "node lost: host-w1 (w1) down for 11s");
	ti_finish(&ti);
	assert_int_equal(fake_engine_live(env->fe), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lost_node_fails_try_and_retries, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_only_tries_on_that_node, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_one_nodes_request_per_tick, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_back_in_time_resets, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_monotonic_clock, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_off_and_engine_errors, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
