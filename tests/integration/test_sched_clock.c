/* test_sched_clock.c - elapsed times (pending_timeout, timeout, grace periods) follow the
 * monotonic clock: a step of the wall clock (NTP, a VM resumed, an operator) neither fires a
 * timeout early nor holds one back. */
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

/* One tick with the wall clock at wall and the monotonic clock at mono. */
static void tick_at(struct env *env, int64_t wall, int64_t mono)
{
	assert_true(sched_tick_clock(&env->s, wall, mono));
}

/* The wall clock jumps an hour ahead while a task waits to be placed: its 10 s pending_timeout
 * has not passed on the monotonic clock, so it keeps waiting; it fails once 10 s have. */
static void test_wall_jump_ahead_keeps_pending(void **state)
{
	static const struct fake_step steps[] = {FAKE_STUCK("no suitable node")};
	static const struct fake_script stuck = {"stuck", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &stuck);
	env_start(env,
		  "  task stuck {\n    shell = \"true\"\n    pending_timeout = \"10s\"\n  }\n");
	int64_t wall = env->now, mono = 1000000;
	tick_at(env, wall, mono); /* dispatched */
	assert_int_equal(env_ti_state_of(env, "stuck"), TI_QUEUED);
	tick_at(env, wall + HOUR_MS, mono + 1000);
	tick_at(env, wall + HOUR_MS + 5000, mono + 6000);
	assert_int_equal(env_ti_state_of(env, "stuck"), TI_QUEUED);
	tick_at(env, wall + HOUR_MS + 10000, mono + 10500);
	assert_int_equal(env_ti_state_of(env, "stuck"), TI_FAILED);
}

/* The wall clock is stepped an hour back while a task runs: its 5 s timeout still fires 5 s
 * after it started, by the monotonic clock. */
static void test_wall_step_back_still_times_out(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING};
	static const struct fake_script forever = {"forever", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &forever);
	env_start(env, "  task forever {\n    shell = \"sleep 999\"\n    timeout = \"5s\"\n  }\n");
	int64_t wall = env->now, mono = 5000000;
	tick_at(env, wall, mono);             /* dispatched */
	tick_at(env, wall + 500, mono + 500); /* seen running */
	assert_int_equal(env_ti_state_of(env, "forever"), TI_RUNNING);
	tick_at(env, wall - HOUR_MS, mono + 3000);
	assert_int_equal(env_ti_state_of(env, "forever"), TI_RUNNING);
	tick_at(env, wall - HOUR_MS + 3000, mono + 6000);
	struct ti ti;
	env_get_ti(env, "forever", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	assert_string_equal(ti.error, "timed out after 5s");
	ti_finish(&ti);
	assert_int_equal(fake_engine_live(env->fe), 0);
}

/* A restarted scheduler adopts a running try: its timeout counts from the start the store
 * recorded (wall clock), carried over onto the new process's monotonic clock. */
static void test_adopted_timeout_counts_from_recorded_start(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING};
	static const struct fake_script forever = {"forever", steps, ARRAY_LEN(steps), NULL};
	struct env *env = *state;
	fake_engine_script(env->fe, &forever);
	env_start(env, "  task forever {\n    shell = \"sleep 999\"\n    timeout = \"5s\"\n  }\n");
	int64_t wall = env->now;
	tick_at(env, wall, 1000);
	tick_at(env, wall + 1000, 2000); /* running since wall + 1000 */
	assert_int_equal(env_ti_state_of(env, "forever"), TI_RUNNING);
	env_restart(env);
	/* The new process's monotonic clock starts elsewhere; 3 s of wall time have passed. */
	tick_at(env, wall + 4000, 777000);
	assert_int_equal(env_ti_state_of(env, "forever"), TI_RUNNING);
	tick_at(env, wall + 5500, 778500); /* 4.5 s after the recorded start */
	assert_int_equal(env_ti_state_of(env, "forever"), TI_RUNNING);
	tick_at(env, wall + 6500, 779500); /* 5.5 s */
	assert_int_equal(env_ti_state_of(env, "forever"), TI_FAILED);
}

/* The poll times after a change: 0.1, 0.2, 0.4 s, then every multiple of poll_interval, so
 * a task that ends 1.0 s after its dispatch is seen at 1.0 s (not 1.2 s, as plain doubling
 * would); the time the tick took is taken off. */
static void test_next_poll(void **state)
{
	(void)state;
	int64_t t = 0, seen[8];
	for (int i = 0; i < 8; i++) {
		t += sched_next_poll(t, 500);
		seen[i] = t;
	}
	const int64_t want[8] = {100, 200, 400, 500, 1000, 1500, 2000, 2500};
	for (int i = 0; i < 8; i++)
		assert_int_equal(seen[i], want[i]);
	assert_int_equal(sched_next_poll(130, 500), 70); /* a tick that took 30 ms */
	assert_int_equal(sched_next_poll(1020, 500), 480);
	assert_int_equal(sched_next_poll(0, 2000), 100);
	assert_int_equal(sched_next_poll(900, 2000), 700); /* 1.6 s: the last short step */
	assert_int_equal(sched_next_poll(0, 50), 50);      /* poll_interval under 0.1 s */
	assert_int_equal(sched_next_poll(-5, 500), 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_next_poll),
	    cmocka_unit_test_setup_teardown(test_wall_jump_ahead_keeps_pending, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_wall_step_back_still_times_out, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_adopted_timeout_counts_from_recorded_start,
					    env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
