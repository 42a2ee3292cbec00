/* test_sched_pass.c - a tick skips its pass over the runs when nothing changed, and still sees
 * at once what another connection wrote (a trigger from the CLI or the web API), whatever the
 * clock says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sched_env.h"
#include "swarmflow/common/util.h"

#define ONE_TASK "  task a {\n    command = {\"true\"}\n  }\n"

/* Creates run run_id of DAG t (one task a) through the connection st, its logical date
 * offset_s after T0. */
static void create_run(struct store *st, const char *run_id, int64_t offset_s, int64_t now)
{
	const char *ids[] = {"a"};
	int tries[] = {1};
	int64_t date = T0_MS / 1000 + offset_s;
	struct run r = {.dag_id = "t",
			.run_id = (char *)run_id,
			.run_type = "manual",
			.logical_date = date,
			.data_interval_start = date,
			.data_interval_end = date,
			.queued_ms = now,
			.conf = "{}"};
	struct run out = {0};
	char *err = NULL;
	if (!store_run_create(st, &r, ids, tries, 1, &out, &err))
		fail_msg("store_run_create: %s", err);
	run_finish(&out);
}

/* The same through a connection of its own, as `dags trigger` does from another process. */
static void trigger_elsewhere(struct env *env, const char *run_id)
{
	char *err = NULL;
	char *db = xasprintf("%s/swarmflow.db", env->cfg.state_dir);
	struct store *other = store_open(db, &err);
	free(db);
	if (!other)
		fail_msg("store_open: %s", err);
	create_run(other, run_id, 60, env->now);
	store_close(other);
}

static enum run_state state_of(struct env *env, const char *run_id)
{
	struct run run = {0};
	char *err = NULL;
	if (!store_run_get(env->store, "t", run_id, &run, &err))
		fail_msg("store_run_get: %s", err);
	enum run_state st = run.state;
	run_finish(&run);
	return st;
}

/* The first run ends; the scheduler settles (ticks at one instant, so that the pass every
 * poll_interval cannot be what finds the new run); a run created by another connection is
 * started by the very next tick. */
static void test_other_connection_seen_at_once(void **state)
{
	struct env *env = *state;
	env_start(env, ONE_TASK);
	env_run_to_end(env, 40, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	for (int i = 0; i < 3; i++)
		env_tick(env, 0);
	trigger_elsewhere(env, "second");
	assert_int_equal(state_of(env, "second"), RUN_QUEUED);
	env_tick(env, 0);
	assert_int_equal(state_of(env, "second"), RUN_RUNNING);
}

/* A run created through the scheduler's own connection between two ticks (the daemon's
 * scheduler writes its lease and its schedules there) is started by the next tick too. */
static void test_own_write_seen_at_once(void **state)
{
	struct env *env = *state;
	env_start(env, ONE_TASK);
	env_run_to_end(env, 40, 500);
	for (int i = 0; i < 3; i++)
		env_tick(env, 0);
	create_run(env->store, "third", 120, env->now);
	env_tick(env, 0);
	assert_int_equal(state_of(env, "third"), RUN_RUNNING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_other_connection_seen_at_once, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_own_write_seen_at_once, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
