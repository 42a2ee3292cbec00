/* test_sched_schedule.c - schedules making runs (catchup, max_active_runs, pause, @once,
 * templates, restarts, cost per tick), on the fake engine with the fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/store/store_priv.h" /* statement counters: what schedule_runs reads */
#include "sched_env.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"

#define HOUR_MS INT64_C(3600000)
#define DAY_MS (24 * HOUR_MS)
/* DAG `t` of sched_env: one task, so that its manual run ends quickly. */
#define SOLO "  task solo {\n    shell = \"true\"\n  }\n"

static int64_t at(const char *iso)
{
	int64_t t = 0;
	if (!time_parse_iso(iso, &t))
		fail_msg("bad time in test: %s", iso);
	return t;
}

/* A DAG `s` with one task `a` and the given DAG keys. */
static void put_s(struct env *env, const char *keys, const char *task_keys)
{
	char *text = xasprintf("dag s {\n%s  defaults {\n    image = \"busybox:1.36\"\n  }\n"
			       "  task a {\n    shell = \"echo ds={{ ds }}\"\n%s  }\n}\n",
			       keys, task_keys);
	env_put_dag(env, "s", text);
	free(text);
}

static int cmp_run_pk(const void *a, const void *b)
{
	const struct run *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The runs of dag_id in creation order. */
static struct run_list runs_of(struct env *env, const char *dag_id)
{
	struct run_list l = {0};
	char *err = NULL;
	if (!store_runs_list(env->store, dag_id, NULL, 0, &l, &err))
		fail_msg("store_runs_list: %s", err);
	qsort(l.v, l.len, sizeof(*l.v), cmp_run_pk);
	return l;
}

static size_t count_runs(struct env *env, const char *dag_id)
{
	struct run_list l = runs_of(env, dag_id);
	size_t n = l.len;
	run_list_finish(&l);
	return n;
}

/* Runs of dag_id that are queued or running. */
static size_t active_of(struct env *env, const char *dag_id)
{
	struct run_list l = runs_of(env, dag_id);
	size_t n = 0;
	for (size_t i = 0; i < l.len; i++)
		n += l.v[i].state == RUN_QUEUED || l.v[i].state == RUN_RUNNING;
	run_list_finish(&l);
	return n;
}

/* Checks run i (creation order) of l: its id, type and data interval. */
static void expect_run(const struct run_list *l, size_t i, const char *start, const char *end)
{
	assert_true(i < l->len);
	const struct run *r = &l->v[i];
	char *want = xasprintf("scheduled__%s", start);
	assert_string_equal(r->run_id, want);
	free(want);
	assert_string_equal(r->run_type, "scheduled");
	assert_int_equal(r->logical_date, at(start));
	assert_int_equal(r->data_interval_start, at(start));
	assert_int_equal(r->data_interval_end, at(end));
}

static void ticks(struct env *env, int n, int64_t step_ms)
{
	for (int i = 0; i < n; i++)
		env_tick(env, step_ms);
}

/* catchup = false: of the 7 missed days only the latest runs; the next one comes when its day
 * has ended, not before. */
static void test_no_catchup_latest_only(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	put_s(env, "  schedule = \"@daily\"\n  start_date = \"2026-10-25\"\n  catchup = false\n",
	      "");
	env->now = T0_MS + 10 * HOUR_MS;
	ticks(env, 6, 500);
	struct run_list l = runs_of(env, "s");
	assert_int_equal(l.len, 1);
	expect_run(&l, 0, "2026-10-31T00:00:00Z", "2026-11-01T00:00:00Z");
	run_list_finish(&l);

	env->now = T0_MS + DAY_MS - 1000;
	ticks(env, 2, 500);
	assert_int_equal(count_runs(env, "s"), 1);
	ticks(env, 2, 500); /* now past 2026-11-02T00:00:00Z */
	l = runs_of(env, "s");
	assert_int_equal(l.len, 2);
	expect_run(&l, 1, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
	run_list_finish(&l);
}

/* catchup = true: every missed day, oldest first, never more than max_active_runs queued or
 * running; the rest come as runs finish. */
static void test_catchup_within_max_active_runs(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	put_s(env,
	      "  schedule = \"@daily\"\n  start_date = \"2026-10-25\"\n  catchup = true\n"
	      "  max_active_runs = 2\n",
	      "");
	env->now = T0_MS + HOUR_MS;
	env_tick(env, 500);
	struct run_list l = runs_of(env, "s");
	assert_int_equal(l.len, 2);
	expect_run(&l, 0, "2026-10-25T00:00:00Z", "2026-10-26T00:00:00Z");
	expect_run(&l, 1, "2026-10-26T00:00:00Z", "2026-10-27T00:00:00Z");
	run_list_finish(&l);
	size_t most = 0;
	for (int i = 0; i < 400 && !(count_runs(env, "s") == 7 && active_of(env, "s") == 0); i++) {
		env_tick(env, 500);
		size_t active = active_of(env, "s");
		assert_in_range(active, 0, 2);
		most = active > most ? active : most;
	}
	assert_int_equal(most, 2);
	l = runs_of(env, "s");
	assert_int_equal(l.len, 7);
	for (size_t i = 0; i < l.len; i++) {
		char start[32], end[32];
		time_format_iso(at("2026-10-25") + (int64_t)i * 86400, start);
		time_format_iso(at("2026-10-26") + (int64_t)i * 86400, end);
		expect_run(&l, i, start, end);
		assert_int_equal(l.v[i].state, RUN_SUCCESS);
	}
	run_list_finish(&l);
	ticks(env, 10, 500);
	assert_int_equal(count_runs(env, "s"), 7);
}

/* A paused DAG gets no runs however long it waits; unpaused, its missed runs come. */
static void test_paused_gets_no_runs(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	put_s(env,
	      "  schedule = \"@hourly\"\n  start_date = \"2026-10-31T21:00:00Z\"\n"
	      "  catchup = true\n",
	      "");
	char *err = NULL;
	assert_true(store_dag_set_paused(env->store, "s", true, &err));
	ticks(env, 40, 500);
	env->now += 2 * HOUR_MS;
	ticks(env, 20, 500);
	assert_int_equal(count_runs(env, "s"), 0);

	assert_true(store_dag_set_paused(env->store, "s", false, &err));
	ticks(env, 12, 500); /* the pause flag is read again within 5 s */
	struct run_list l = runs_of(env, "s");
	assert_int_equal(l.len, 5);
	expect_run(&l, 0, "2026-10-31T21:00:00Z", "2026-10-31T22:00:00Z");
	expect_run(&l, 4, "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z");
	run_list_finish(&l);
}

/* @once: one run, [start_date, start_date], created once now reaches start_date; never again,
 * not after a restart either. */
static void test_once(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	put_s(env, "  schedule = \"@once\"\n  start_date = \"2026-11-01T02:00:00Z\"\n", "");
	ticks(env, 10, 500);
	assert_int_equal(count_runs(env, "s"), 0);
	env->now = T0_MS + 2 * HOUR_MS;
	env_tick(env, 500);
	struct run_list l = runs_of(env, "s");
	assert_int_equal(l.len, 1);
	expect_run(&l, 0, "2026-11-01T02:00:00Z", "2026-11-01T02:00:00Z");
	run_list_finish(&l);
	ticks(env, 20, 500);
	env->now += 30 * DAY_MS;
	ticks(env, 5, 500);
	env_restart(env);
	ticks(env, 5, 500);
	assert_int_equal(count_runs(env, "s"), 1);
}

/* The request that created the service of task a in DAG s (caller frees). */
static char *create_body_of_s(struct env *env)
{
	struct fake_request r;
	for (size_t i = 0; fake_engine_request_get(env->fe, i, &r); i++) {
		bool hit = strcmp(r.method, "POST") == 0 &&
			   str_has_suffix(r.path, "/services/create") &&
			   strstr(r.body, "\"swarmflow.dag_id\": \"s\"") != NULL;
		hit = hit || (strcmp(r.method, "POST") == 0 &&
			      str_has_suffix(r.path, "/services/create") &&
			      strstr(r.body, "\"swarmflow.dag_id\":\"s\"") != NULL);
		char *body = hit ? xstrdup(r.body) : NULL;
		fake_request_finish(&r);
		if (body)
			return body;
	}
	fail_msg("no POST /services/create for DAG s");
	return NULL;
}

/* A scheduled run's templates see its data interval: ds is the interval's start, not today. */
static void test_templates_see_interval(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	put_s(env, "  schedule = \"@daily\"\n  start_date = \"2026-10-30\"\n  catchup = false\n",
	      "    env = {\"DS={{ ds }}\", \"START={{ data_interval_start }}\",\n"
	      "           \"END={{ data_interval_end }}\", \"LD={{ logical_date }}\",\n"
	      "           \"RUN={{ run_id }}\", \"NODASH={{ ds_nodash }}\"}\n");
	env->now = T0_MS + 5 * HOUR_MS;
	env_tick(env, 500);
	char *body = create_body_of_s(env);
	static const char *const want[] = {
	    "\"DS=2026-10-31\"",
	    "\"START=2026-10-31T00:00:00+00:00\"",
	    "\"END=2026-11-01T00:00:00+00:00\"",
	    "\"LD=2026-10-31T00:00:00+00:00\"",
	    "\"RUN=scheduled__2026-10-31T00:00:00Z\"",
	    "\"NODASH=20261031\"",
	    "echo ds=2026-10-31\"",
	    "\"swarmflow.run_id\"",
	};
	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		if (!strstr(body, want[i]))
			fail_msg("the spec lacks %s: %s", want[i], body);
	free(body);
}

/* A restarted scheduler creates nothing twice, and a run id that exists already (here a manual
 * run named like the next scheduled one) is skipped, not an error. */
static void test_restart_and_existing_ids(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	put_s(env,
	      "  schedule = \"@hourly\"\n  start_date = \"2026-10-31T21:00:00Z\"\n"
	      "  catchup = true\n",
	      "");
	env_tick(env, 500);
	assert_int_equal(count_runs(env, "s"), 3);
	const char *ids[] = {"a"};
	struct run taken = {.dag_id = "s",
			    .run_id = "scheduled__2026-11-01T00:00:00Z",
			    .run_type = "manual",
			    .logical_date = at("2026-11-01T00:30:00Z"),
			    .data_interval_start = at("2026-11-01T00:30:00Z"),
			    .data_interval_end = at("2026-11-01T00:30:00Z"),
			    .queued_ms = env->now};
	char *err = NULL;
	if (!store_run_create(env->store, &taken, ids, NULL, 1, NULL, &err))
		fail_msg("store_run_create: %s", err);
	env_restart(env);
	ticks(env, 10, 500);
	assert_int_equal(count_runs(env, "s"), 4);
	env->now = T0_MS + HOUR_MS;
	ticks(env, 4, 500);
	assert_int_equal(count_runs(env, "s"), 4);
	env_restart(env);
	env->now = T0_MS + 2 * HOUR_MS;
	ticks(env, 4, 500);
	struct run_list l = runs_of(env, "s");
	assert_int_equal(l.len, 5);
	assert_string_equal(l.v[3].run_type, "manual");
	expect_run(&l, 4, "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z");
	run_list_finish(&l);
}

/* After a restart the next run follows the newest scheduled run in the store, also when the
 * schedule changed: Airflow starts it where that run ended, aligned down to the new schedule,
 * instead of going back to start_date. */
static void test_changed_schedule_after_restart(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	put_s(env, "  schedule = \"@daily\"\n  start_date = \"2026-10-29\"\n  catchup = true\n",
	      "");
	env->now = T0_MS + HOUR_MS;
	env_tick(env, 500);
	assert_int_equal(count_runs(env, "s"), 3);
	put_s(env,
	      "  schedule = \"0 6 * * *\"\n  start_date = \"2026-10-29\"\n  catchup = true\n"
	      "  description = \"at six\"\n",
	      "");
	env_restart(env);
	ticks(env, 10, 500);
	env->now = T0_MS + 6 * HOUR_MS - 1000;
	ticks(env, 2, 500);
	assert_int_equal(count_runs(env, "s"), 3);
	ticks(env, 2, 500);
	struct run_list l = runs_of(env, "s");
	assert_int_equal(l.len, 4);
	expect_run(&l, 2, "2026-10-31T00:00:00Z", "2026-11-01T00:00:00Z");
	expect_run(&l, 3, "2026-10-31T06:00:00Z", "2026-11-01T06:00:00Z");
	run_list_finish(&l);
}

/* How often schedule_runs' queries ran: the newest scheduled run, the pause flag, and the
 * active runs of a DAG (one not prepared yet never ran). */
static long schedule_reads(struct env *env)
{
	static const enum stmt_id ids[] = {ST_RUN_LATEST, ST_DAG_IS_PAUSED, ST_RUNS_BY_DAG_STATE};
	long n = 0;
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		sqlite3_stmt *st = env->store->stmts[ids[i]];
		n += st ? sqlite3_stmt_status(st, SQLITE_STMTSTATUS_RUN, 0) : 0;
	}
	return n;
}

/* 100 DAGs with schedules and 100 without cost no query per tick: each scheduled DAG reads
 * its newest run once, then nothing until its interval ends or it changes. */
static void put_many(struct env *env, const char *first_start)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 100; i++) {
		buf_printf(&b,
			   "dag c%d {\n  schedule = \"@hourly\"\n  start_date = \"%s\"\n"
			   "  defaults {\n    image = \"busybox:1.36\"\n  }\n"
			   "  task a {\n    shell = \"true\"\n  }\n}\n"
			   "dag n%d {\n  schedule = \"none\"\n"
			   "  task a {\n    image = \"busybox:1.36\"\n  }\n}\n",
			   i, i == 0 ? first_start : "2027-01-01", i);
	}
	env_put_dag(env, "many", b.data);
	buf_finish(&b);
}

static void test_cost_per_tick(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	env_run_to_end(env, 20, 500);
	put_many(env, "2027-01-01");
	long r0 = schedule_reads(env);
	env_tick(env, 500);
	assert_int_equal(schedule_reads(env) - r0, 100);
	r0 = schedule_reads(env);
	ticks(env, 200, 10000);
	assert_int_equal(schedule_reads(env) - r0, 0);

	/* c0 now starts in the past: only it is looked at again, and gets its latest run. */
	put_many(env, "2026-10-31T00:00:00Z");
	r0 = schedule_reads(env);
	env_tick(env, 500);
	/* c0's pause flag and its queued and running runs, then the pause flag again when the
	 * loop starts the new run (sched.c's activate). */
	assert_int_equal(schedule_reads(env) - r0, 4);
	assert_int_equal(count_runs(env, "c0"), 1);
	r0 = schedule_reads(env);
	ticks(env, 100, 1000);
	assert_int_equal(schedule_reads(env) - r0, 0);
	assert_int_equal(count_runs(env, "c1"), 0);

	/* A file sorted before the others shifts every DAG's place in the bag: the new DAG is
	 * read and run, the others still cost nothing; nor does removing it again. */
	env_put_dag(env, "a_first",
		    "dag a_first {\n  schedule = \"@hourly\"\n  start_date = \"2026-10-31\"\n"
		    "  task a {\n    image = \"busybox:1.36\"\n  }\n}\n");
	r0 = schedule_reads(env);
	env_tick(env, 500);
	assert_int_equal(schedule_reads(env) - r0, 1 + 4);
	assert_int_equal(count_runs(env, "a_first"), 1);
	char *path = xasprintf("%s/a_first.dag", env->cfg.dags_folder);
	assert_int_equal(remove(path), 0);
	free(path);
	assert_true(dagbag_refresh(&env->bag) >= 0);
	r0 = schedule_reads(env);
	ticks(env, 20, 1000);
	assert_int_equal(schedule_reads(env) - r0, 0);
	assert_int_equal(count_runs(env, "c0"), 1);
}

/* A paused DAG with a due run costs one read of its pause flag every 5 s, not one per tick. */
static void test_paused_cost(void **state)
{
	struct env *env = *state;
	env_start(env, SOLO);
	env_run_to_end(env, 20, 500);
	put_s(env,
	      "  schedule = \"@hourly\"\n  start_date = \"2026-10-31T21:00:00Z\"\n"
	      "  catchup = true\n",
	      "");
	char *err = NULL;
	assert_true(store_dag_set_paused(env->store, "s", true, &err));
	long r0 = schedule_reads(env);
	ticks(env, 100, 1000);
	/* its newest scheduled run once, then the flag at 0 s, 5 s, ... 95 s */
	assert_int_equal(schedule_reads(env) - r0, 1 + 20);
	assert_int_equal(count_runs(env, "s"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_no_catchup_latest_only, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_catchup_within_max_active_runs, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_paused_gets_no_runs, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_once, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_templates_see_interval, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_restart_and_existing_ids, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_changed_schedule_after_restart, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_cost_per_tick, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_paused_cost, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
