/* test_sched_fence.c - a scheduler whose lease another one took over while it was in the middle
 * of a tick (stalled in an engine request) changes nothing on the engine: no create, no remove,
 * no sweep; it ends its loop with 1; and a try the new holder recorded meanwhile keeps its record
 * and log. Against the fake engine, with a second store connection as the standby that takes
 * over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include "../../src/sched/internal.h"
#include "fake_engine.h"
#include "sched_env.h"
#include "swarmflow/common/fsutil.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/sched/lease.h"
#include "swarmflow/store/lease.h"

#define HOLDER "scheduler-a"
#define STANDBY "scheduler-b"
/* Long enough that no renewal falls due by itself during a test: only the confirmations before
 * engine changes renew the lease. */
#define LEASE_TIMEOUT_MS 60000
/* The sweep's period in the scheduler (sched.c): a tick this much later sweeps again. */
#define SWEEP_EVERY_MS 30000

/* The standby that takes the lease over while the scheduler waits for the engine. The fake's
 * stalled routes (fake_route.gen) take no context argument, so the test in progress sets this
 * up; the route runs on the fake's thread while the scheduler's thread waits for its answer. */
struct standby {
	struct store *store; /* its own connection to the state database */
	int take_at;         /* take over during this stalled request (1-based); 0: never */
	int stalls;          /* stalled requests (secret lookups, log fetches) answered so far */
	bool took;           /* the takeover went through */
};

static struct standby standby;

/* A test's scheduler environment and the lease its scheduler holds. */
struct fence {
	struct env *env;
	struct sched_lease lease;
	bool leased;
};

/* Reads the lease through the standby's connection and takes it as it was read, as a standby
 * does once the holder has not renewed it for its timeout. No asserts: it may run on the fake's
 * thread; standby.took says whether it went through. */
static void standby_take(void)
{
	struct store_lease seen;
	char *err = NULL;
	int64_t token = 0;
	if (!store_lease_read(standby.store, &seen, &err)) {
		free(err);
		return;
	}
	int rc = store_lease_take(standby.store, STANDBY, &seen, time_now_ms(), LEASE_TIMEOUT_MS,
				  &token, &err);
	store_lease_finish(&seen);
	free(err);
	standby.took = rc == 1;
}

/* The rest of a stalled answer (its status line is already out): the standby takes over first
 * when this is the request it waits for. */
static void stall_then_answer(int fd, const char *type, const char *body)
{
	if (++standby.stalls == standby.take_at)
		standby_take();
	char *rest = xasprintf("Content-Type: %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
			       "\r\n%s",
			       type, strlen(body), body);
	fake_write(fd, rest, strlen(rest));
	free(rest);
}

/* GET /secrets: the one secret the DAGs below use. */
static void stalled_secrets(int fd)
{
	stall_then_answer(fd, "application/json",
			  "[{\"ID\": \"sec1\", \"Spec\": {\"Name\": \"s1\"}}]");
}

/* GET /services/ID/logs: the try printed nothing. */
static void stalled_logs(int fd)
{
	stall_then_answer(fd, "application/vnd.docker.multiplexed-stream", "");
}

/* The status line goes out at once; the route then stalls until the standby has acted. */
static const struct fake_route stalled_routes[] = {
    {.match = "/secrets", .raw = "HTTP/1.1 200 OK\r\n", .gen = stalled_secrets},
    {.match = "/logs", .raw = "HTTP/1.1 200 OK\r\n", .gen = stalled_logs},
    {.match = NULL},
};

static int fence_setup(void **state)
{
	void *e = NULL;
	if (env_setup(&e) != 0)
		return -1;
	struct fence *f = xcalloc(1, sizeof(*f));
	f->env = e;
	/* The fixture's fake, with the stalled routes in front of its swarm. */
	fake_engine_destroy(f->env->fe);
	struct fake_engine_opts opts = {.routes = stalled_routes, .swarm = true};
	f->env->fe = fake_engine_create(&opts);
	if (!f->env->fe) {
		env_teardown(&e);
		free(f);
		return -1;
	}
	standby = (struct standby){0};
	*state = f;
	return 0;
}

static int fence_teardown(void **state)
{
	struct fence *f = *state;
	if (f->env->sched_ready)
		f->env->s.lease = NULL;
	if (f->leased)
		sched_lease_finish(&f->lease);
	store_close(standby.store);
	standby = (struct standby){0};
	void *e = f->env;
	free(f);
	return env_teardown(&e);
}

/* Opens the standby's connection to env's state database. */
static void standby_open(const struct env *env)
{
	char *err = NULL;
	char *db = xasprintf("%s/swarmflow.db", env->cfg.state_dir);
	standby.store = store_open(db, &err);
	free(db);
	if (!standby.store)
		fail_msg("store_open: %s", err);
}

/* Starts DAG `t` with tasks; the scheduler then holds the lease (token 1), and the standby has
 * its connection open. */
static struct env *start_leased(struct fence *f, const char *tasks)
{
	struct env *env = f->env;
	env_start(env, tasks);
	sched_lease_init(&f->lease, env->store, HOLDER, LEASE_TIMEOUT_MS);
	f->leased = true;
	assert_int_equal(sched_lease_acquire(&f->lease, NULL), 1);
	assert_int_equal(f->lease.token, 1);
	env->s.lease = &f->lease;
	standby_open(env);
	return env;
}

/* The lease row as the standby reads it. */
static struct store_lease lease_now(void)
{
	struct store_lease l;
	char *err = NULL;
	if (!store_lease_read(standby.store, &l, &err))
		fail_msg("store_lease_read: %s", err);
	return l;
}

/* After the takeover: the standby holds the lease as it took it, untouched by the scheduler
 * (which neither renewed nor released it), and the scheduler knows it lost it. */
static void assert_taken(const struct fence *f)
{
	assert_true(standby.took);
	struct store_lease l = lease_now();
	assert_string_equal(l.holder, STANDBY);
	assert_int_equal(l.token, 2);
	assert_int_equal(l.beat, 0);
	store_lease_finish(&l);
	assert_int_equal(f->lease.token, 0);
	assert_true(f->env->s.fenced);
}

static const char two_tasks_one_secret[] = "  task a {\n    shell = \"echo a\"\n  }\n"
					   "  task b {\n    shell = \"echo b\"\n"
					   "    secrets = {\"s1\"}\n  }\n";

/* The first tick records a as queued, then stalls in b's secret lookup; the standby takes over
 * then when take (b's record is refused by the store's fence, the tick goes on to flush). */
static void create_mid_tick(struct fence *f, bool take)
{
	struct env *env = start_leased(f, two_tasks_one_secret);
	standby.take_at = take ? 1 : 0;
	bool ok = sched_tick(&env->s, env->now);
	assert_int_equal(standby.stalls, 1);
	struct ti a;
	env_get_ti(env, "a", &a);
	assert_int_equal(a.state, TI_QUEUED);
	assert_non_null(a.service_name);
	if (!take) {
		assert_true(ok);
		assert_false(env->s.fenced);
		assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 2);
		assert_non_null(a.service_id);
		assert_int_equal(env_ti_state_of(env, "b"), TI_QUEUED);
		assert_int_equal(env->s.n_inflight, 2);
		/* The create batch was confirmed first: one renewal, still token 1. */
		struct store_lease l = lease_now();
		assert_string_equal(l.holder, HOLDER);
		assert_int_equal(l.token, 1);
		assert_int_equal(l.beat, 1);
		store_lease_finish(&l);
		ti_finish(&a);
		return;
	}
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 0);
	assert_int_equal(fake_engine_live(env->fe), 0);
	assert_false(ok);
	assert_taken(f);
	/* a stays queued without a service, for the new holder to create or adopt by its name. */
	assert_null(a.service_id);
	assert_int_equal(env->s.n_creates, 0);
	assert_int_equal(env->s.n_inflight, 0);
	ti_finish(&a);
	/* The loop ends at once, with 1, without another tick (not a request more). */
	size_t mark = fake_engine_request_count(env->fe);
	assert_int_equal(sched_loop(&env->s), 1);
	assert_int_equal(fake_engine_request_count(env->fe), mark);
}

/* a. Taken over mid-tick, between a's queued record and the create batch: nothing created. */
static void test_create_fenced_mid_tick(void **state)
{
	create_mid_tick(*state, true);
}

/* c. The control: the same tick without a takeover creates both services. */
static void test_create_mid_tick_control(void **state)
{
	create_mid_tick(*state, false);
}

/* a. The same through the scheduler's own steps: dispatch_ti records the try as queued, the
 * standby takes over, dispatch_flush must not send the create (and says the tick failed). */
static void flush_after(struct fence *f, bool take)
{
	struct env *env = start_leased(f, "  task a {\n    shell = \"echo a\"\n  }\n");
	const struct dag *dag = dagbag_find(&env->bag, "t");
	assert_non_null(dag);
	const struct task *task = dag_task_find(dag, "a");
	assert_non_null(task);
	struct ti ti;
	env_get_ti(env, "a", &ti);
	assert_true(dispatch_ti(&env->s, &env->run, dag, task, &ti, NULL, env->now));
	ti_finish(&ti);
	assert_int_equal(env->s.n_creates, 1);
	assert_int_equal(env_ti_state_of(env, "a"), TI_QUEUED);
	if (take)
		standby_take();
	bool ok = dispatch_flush(&env->s, env->now);
	size_t creates = env_count_from(env, 0, "POST", "/services/create");
	assert_int_equal(env->s.n_creates, 0);
	if (!take) {
		assert_true(ok);
		assert_false(env->s.fenced);
		assert_int_equal(creates, 1);
		assert_int_equal(env->s.n_inflight, 1);
		return;
	}
	assert_int_equal(creates, 0);
	assert_false(ok);
	assert_taken(f);
	assert_int_equal(env->s.n_inflight, 0);
	assert_int_equal(env_ti_state_of(env, "a"), TI_QUEUED);
}

static void test_flush_fenced(void **state)
{
	flush_after(*state, true);
}

static void test_flush_control(void **state)
{
	flush_after(*state, false);
}

/* a. Taken over before the tick: the store's fence refuses the tick's first write (the run's
 * activation), so nothing is dispatched and nothing reaches the engine but reads. */
static void test_fenced_before_tick(void **state)
{
	struct fence *f = *state;
	struct env *env = start_leased(f, "  task a {\n    shell = \"echo a\"\n  }\n");
	standby_take();
	assert_true(standby.took);
	assert_false(sched_tick(&env->s, env->now));
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 0);
	assert_int_equal(env_count_from(env, 0, "DELETE", NULL), 0);
	assert_int_equal(env_run_state_of(env), RUN_QUEUED);
	assert_int_equal(env_ti_state_of(env, "a"), TI_NONE);
}

/* b. a and b finish in the same poll. b is finished first (the poll goes backwards): its logs
 * (stall 1), its outcome, its remove kept for the end of the poll; then a's logs stall (stall 2)
 * while the standby takes over when take: a's outcome is refused by the fence, and b's service
 * must not be removed by this scheduler. */
static void remove_mid_tick(struct fence *f, bool take)
{
	struct env *env = start_leased(f, "  task a {\n    shell = \"echo a\"\n  }\n"
					  "  task b {\n    shell = \"echo b\"\n  }\n");
	standby.take_at = take ? 2 : 0;
	bool ok = true;
	for (int i = 0; i < 10 && ok && standby.stalls < 2; i++) {
		ok = sched_tick(&env->s, env->now);
		env->now += 500;
	}
	assert_int_equal(standby.stalls, 2);
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 2);
	struct fake_service sa = env_service_of(env, "a"), sb = env_service_of(env, "b");
	assert_int_equal(env_ti_state_of(env, "b"), TI_SUCCESS);
	if (!take) {
		assert_true(ok);
		assert_false(env->s.fenced);
		assert_int_equal(env_ti_state_of(env, "a"), TI_SUCCESS);
		assert_int_equal(env_deletes_of(env, sa.id), 1);
		assert_int_equal(env_deletes_of(env, sb.id), 1);
		assert_int_equal(fake_engine_live(env->fe), 0);
		return;
	}
	assert_int_equal(env_count_from(env, 0, "DELETE", NULL), 0);
	assert_int_equal(fake_engine_live(env->fe), 2);
	assert_false(ok);
	assert_taken(f);
	assert_int_equal(env_ti_state_of(env, "a"), TI_RUNNING);
	assert_int_equal(env->s.n_removes, 0);
	/* Nor does its sweep, later: b's service belongs to a finished try, a's is in flight. */
	env->now += SWEEP_EVERY_MS;
	size_t mark = fake_engine_request_count(env->fe);
	assert_false(sched_tick(&env->s, env->now));
	assert_true(env_count_from(env, mark, "GET", "/services") >= 1);
	assert_int_equal(env_count_from(env, 0, "DELETE", NULL), 0);
	assert_int_equal(fake_engine_live(env->fe), 2);
}

static void test_remove_fenced_mid_tick(void **state)
{
	remove_mid_tick(*state, true);
}

static void test_remove_mid_tick_control(void **state)
{
	remove_mid_tick(*state, false);
}

/* b. The sweep: a's service outlived its finished try (its removal failed). After a takeover
 * the next sweep leaves it to the new holder; without one, it removes it. */
static void sweep_after(struct fence *f, bool take)
{
	struct env *env = start_leased(f, "  task a {\n    shell = \"echo a\"\n  }\n");
	fake_engine_fault(env->fe, "DELETE /", "500 Internal Server Error",
			  "{\"message\": \"manager busy\"}", -1);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	fake_engine_faults_clear(env->fe);
	struct fake_service sa = env_service_of(env, "a");
	assert_false(sa.removed);
	size_t failed = env_deletes_of(env, sa.id);
	assert_true(failed >= 1);
	if (take)
		standby_take();
	env->now += SWEEP_EVERY_MS;
	size_t mark = fake_engine_request_count(env->fe);
	/* The tick itself writes nothing (no active run): only the fence flag tells. */
	assert_true(sched_tick(&env->s, env->now));
	assert_true(env_count_from(env, mark, "GET", "/services") >= 1);
	if (!take) {
		assert_false(env->s.fenced);
		assert_int_equal(env_deletes_of(env, sa.id), failed + 1);
		assert_int_equal(fake_engine_live(env->fe), 0);
		return;
	}
	assert_int_equal(env_deletes_of(env, sa.id), failed);
	assert_int_equal(fake_engine_live(env->fe), 1);
	assert_taken(f);
	assert_int_equal(sched_loop(&env->s), 1);
}

static void test_sweep_fenced(void **state)
{
	sweep_after(*state, true);
}

static void test_sweep_control(void **state)
{
	sweep_after(*state, false);
}

/* d. Without a lease (`dags test`), a daemon holding the lease changes nothing: the run's
 * service is created and removed as before. */
static void test_no_lease(void **state)
{
	struct fence *f = *state;
	struct env *env = f->env;
	env_start(env, "  task a {\n    shell = \"echo a\"\n  }\n");
	standby_open(env);
	standby_take();
	assert_true(standby.took);
	assert_null(env->s.lease);
	env_run_to_end(env, 10, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_false(env->s.fenced);
	struct fake_service sa = env_service_of(env, "a");
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 1);
	assert_int_equal(env_deletes_of(env, sa.id), 1);
	/* The daemon's lease is untouched. */
	struct store_lease l = lease_now();
	assert_string_equal(l.holder, STANDBY);
	assert_int_equal(l.token, 1);
	assert_int_equal(l.beat, 0);
	store_lease_finish(&l);
}

/* e. The new holder finished a try while the scheduler that dispatched it stalled: its record and
 * its log stand. */
#define NEW_LOG "new holder's log\n"

/* Every column of the rows sql selects (key bound to ?1), one line a row, read through a
 * connection of its own (caller frees). */
static char *rows_dump(const struct env *env, const char *sql, int64_t key)
{
	char *db = xasprintf("%s/swarmflow.db", env->cfg.state_dir);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	free(db);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_int64(st, 1, key), SQLITE_OK);
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);
			buf_printf(&b, "%s=%s%s%s ", sqlite3_column_name(st, i), v ? "'" : "",
				   v ? v : "NULL", v ? "'" : "");
		}
		buf_printf(&b, "\n");
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return buf_steal(&b);
}

/* The task instance's row and its tries' rows. */
static char *ti_rows(const struct env *env, int64_t ti_pk)
{
	char *ti = rows_dump(env, "SELECT * FROM task_instances WHERE id = ?1", ti_pk);
	char *tries =
	    rows_dump(env, "SELECT * FROM task_tries WHERE ti_pk = ?1 ORDER BY try_number", ti_pk);
	char *all = xasprintf("%s--\n%s", ti, tries);
	free(ti);
	free(tries);
	return all;
}

/* Removes a service through an engine client of the test's own (a new holder, or someone outside
 * swarmflow). */
static void remove_service(const struct env *env, const char *id)
{
	char *err = NULL;
	char *host = xasprintf("unix://%s", fake_engine_socket(env->fe));
	struct engine_opts eo = {.host = host, .api_version = "1.41", .timeout_ms = 5000};
	struct engine *e = engine_create(&eo, &err);
	free(host);
	if (!e)
		fail_msg("engine_create: %s", err);
	struct engine_err eerr = {0};
	if (!engine_service_remove(e, id, &eerr))
		fail_msg("remove %s: %s", id, eerr.message);
	engine_destroy(e);
}

/* What the new holder does with try 1 of a, which it found ended: writes its log at log_path,
 * then records the try as a success and the run (a is its only task) as one, in one transaction
 * through its own connection. */
static void new_holder_finish(const struct env *env, int64_t ti_pk, const char *log_path)
{
	char *dir = xasprintf("%s/logs/t/%s/a", env->cfg.state_dir, RUN_ID);
	assert_true(fs_mkdir_p(dir));
	free(dir);
	assert_true(fs_write_atomic(log_path, NEW_LOG, strlen(NEW_LOG)));
	struct ti ti = {0};
	char *err = NULL;
	if (!store_ti_get(standby.store, ti_pk, &ti, &err))
		fail_msg("store_ti_get: %s", err);
	assert_int_equal(ti.try_number, 1);
	free(ti.log_path);
	ti.log_path = xstrdup(log_path);
	ti.state = TI_SUCCESS;
	ti.has_exit_code = true;
	ti.exit_code = 0;
	ti.end_ms = env->now - 100;
	bool ok = store_begin(standby.store, &err) && store_ti_update(standby.store, &ti, &err) &&
		  store_try_record(standby.store, &ti, &err) &&
		  store_run_set_state(standby.store, env->run.id, RUN_SUCCESS, ti.end_ms, &err) &&
		  store_commit(standby.store, &err);
	if (!ok)
		fail_msg("store: %s", err);
	ti_finish(&ti);
}

enum recorded_case {
	RECORDED,          /* the new holder recorded the try, the service ended (complete) */
	RECORDED_REMOVED,  /* it also removed the service: the scheduler finds it gone */
	RECORDED_NO_FENCE, /* the same as RECORDED without the store's fence: no lease at all */
	CONTROL,           /* no takeover: the scheduler records the try itself */
	CONTROL_REMOVED,   /* no takeover, the service removed from outside */
};

/* a runs (tick 2 sees it running); then, per c, the standby takes over and records it, and a's
 * service ends or is removed; the scheduler's next tick finishes the try it still has in flight:
 * the new holder's log, rows and service stay as they are. The controls show that same tick
 * writing the log and the rows and removing the service when nobody recorded the try. */
static void finish_recorded(struct fence *f, enum recorded_case c)
{
	static const struct fake_step steps[] = {FAKE_RUNNING, FAKE_COMPLETE};
	static const struct fake_script script = {"a", steps, ARRAY_LEN(steps), NULL};
	bool record = c == RECORDED || c == RECORDED_REMOVED || c == RECORDED_NO_FENCE;
	bool removed = c == RECORDED_REMOVED || c == CONTROL_REMOVED;
	fake_engine_script(f->env->fe, &script);
	struct env *env = f->env;
	if (c == RECORDED_NO_FENCE) {
		env_start(env, "  task a {\n    shell = \"echo a\"\n  }\n");
		standby_open(env);
	} else {
		start_leased(f, "  task a {\n    shell = \"echo a\"\n  }\n");
	}
	env_tick(env, 500); /* created */
	env_tick(env, 500); /* seen running */
	struct ti a;
	env_get_ti(env, "a", &a);
	assert_int_equal(a.state, TI_RUNNING);
	assert_int_equal(a.try_number, 1);
	assert_int_equal(env->s.n_inflight, 1);
	int64_t pk = a.id;
	ti_finish(&a);
	struct fake_service sa = env_service_of(env, "a");
	char *log_path = xasprintf("%s/logs/t/%s/a/1.log", env->cfg.state_dir, RUN_ID);
	if (record) {
		standby_take();
		assert_true(standby.took);
		new_holder_finish(env, pk, log_path);
	}
	if (removed)
		remove_service(env, sa.id);
	char *before = ti_rows(env, pk);
	size_t mark = fake_engine_request_count(env->fe);
	bool ok = sched_tick(&env->s, env->now);
	assert_true(env_count_from(env, mark, "GET", "/tasks") >= 1);
	char *log = env_read_text(log_path);
	char *after = ti_rows(env, pk);
	if (record) {
		assert_string_equal(log, NEW_LOG);
		assert_string_equal(after, before);
		assert_non_null(strstr(after, "state='success'"));
		assert_int_equal(env_count_from(env, mark, "DELETE", NULL), 0);
		/* Only forgotten: the tick goes on (nothing else to do, the run has ended). */
		assert_true(ok);
		assert_int_equal(env->s.n_inflight, 0);
		/* Left to the new holder (already gone when it removed it). */
		assert_int_equal(fake_engine_live(env->fe), removed ? 0 : 1);
		assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	} else if (!removed) {
		assert_true(ok);
		assert_int_equal(env->s.n_inflight, 0);
		assert_string_equal(log, "");
		assert_string_not_equal(after, before);
		struct ti done;
		env_get_ti(env, "a", &done);
		assert_int_equal(done.state, TI_SUCCESS);
		assert_string_equal(done.log_path, log_path);
		assert_int_equal(done.end_ms, env->now);
		ti_finish(&done);
		assert_int_equal(env_deletes_of(env, sa.id), 1);
		assert_int_equal(fake_engine_live(env->fe), 0);
	} else {
		assert_true(ok);
		assert_int_equal(env->s.n_inflight, 0);
		assert_string_equal(log, "[swarmflow] try 1 failed: the service or its task was "
					 "removed outside swarmflow\n");
		assert_int_equal(env_ti_state_of(env, "a"), TI_FAILED);
	}
	free(log);
	free(after);
	free(before);
	free(log_path);
}

static void test_recorded_by_new_holder(void **state)
{
	finish_recorded(*state, RECORDED);
}

static void test_recorded_and_removed_by_new_holder(void **state)
{
	finish_recorded(*state, RECORDED_REMOVED);
}

static void test_recorded_without_fence(void **state)
{
	finish_recorded(*state, RECORDED_NO_FENCE);
}

static void test_recorded_control(void **state)
{
	finish_recorded(*state, CONTROL);
}

static void test_removed_control(void **state)
{
	finish_recorded(*state, CONTROL_REMOVED);
}

#define T(t) cmocka_unit_test_setup_teardown(t, fence_setup, fence_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_create_fenced_mid_tick),
	    T(test_create_mid_tick_control),
	    T(test_flush_fenced),
	    T(test_flush_control),
	    T(test_fenced_before_tick),
	    T(test_remove_fenced_mid_tick),
	    T(test_remove_mid_tick_control),
	    T(test_sweep_fenced),
	    T(test_sweep_control),
	    T(test_no_lease),
	    T(test_recorded_by_new_holder),
	    T(test_recorded_and_removed_by_new_holder),
	    T(test_recorded_without_fence),
	    T(test_recorded_control),
	    T(test_removed_control),
	};
	log_init(LOG_WARN);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
