/* test_lease.c - unit tests of the scheduler lease: its row, the fence, and the daemon's side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/sched/lease.h"
#include "swarmflow/store/lease.h"
#include "swarmflow/store/store.h"

#include "db_files.h"

#define FENCED "fenced: another scheduler has taken the scheduler lease"

/* One state database and three connections to it, as three processes would have. */
struct fixture {
	char dir[64];
	char path[128];
	struct store *a, *b; /* two schedulers */
	struct store *c;     /* a CLI or the web server: never takes the lease */
	char *snap;          /* the fenced tables right after a takeover (see takeover) */
};

static struct store *open_ok(const char *path)
{
	char *err = NULL;
	struct store *s = store_open(path, &err);
	if (!s)
		fail_msg("store_open: %s", err);
	return s;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sf_lease_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	f->a = open_ok(f->path);
	f->b = open_ok(f->path);
	f->c = open_ok(f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->a);
	store_close(f->b);
	store_close(f->c);
	free(f->snap);
	remove_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct store_lease read_ok(struct store *s)
{
	struct store_lease l;
	char *err = NULL;
	if (!store_lease_read(s, &l, &err))
		fail_msg("store_lease_read: %s", err);
	return l;
}

/* Asserts the lease row as s reads it (holder NULL: free; renewed_ms -1: any). */
static void assert_lease(struct store *s, const char *holder, int64_t token, int64_t beat,
			 int64_t renewed_ms)
{
	struct store_lease l = read_ok(s);
	if (holder)
		assert_string_equal(l.holder, holder);
	else
		assert_null(l.holder);
	assert_int_equal(l.token, token);
	assert_int_equal(l.beat, beat);
	if (renewed_ms >= 0)
		assert_int_equal(l.renewed_ms, renewed_ms);
	store_lease_finish(&l);
}

/* Reads the lease through s and takes it as it was read; returns the new token. */
static int64_t take_ok(struct store *s, const char *me, int64_t timeout_ms)
{
	struct store_lease seen = read_ok(s);
	int64_t token = -1;
	char *err = NULL;
	int rc = store_lease_take(s, me, &seen, time_now_ms(), timeout_ms, &token, &err);
	store_lease_finish(&seen);
	if (rc != 1)
		fail_msg("store_lease_take: %d %s", rc, err ? err : "");
	return token;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What is in the fenced tables, read on a raw connection of its own. Caller frees. */
static char *snapshot(const char *path)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) || ':' || ifnull(group_concat(id || state ||"
	    "  ifnull(runner, '-') || ifnull(start_ms, '-')), '') FROM dag_runs) || '/' ||"
	    " (SELECT count(*) || ':' || ifnull(group_concat(id || state || try_number ||"
	    "  max_tries || ifnull(node_id, '-')), '') FROM task_instances) || '/' ||"
	    " (SELECT count(*) FROM task_tries) || '/' ||"
	    " (SELECT count(*) || ':' || ifnull(sum(paused), 0) FROM dags)";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Asserts that the fenced tables are (same) or are no longer (!same) as in want. */
static void assert_snapshot(const char *path, const char *want, bool same)
{
	char *now = snapshot(path);
	if (same)
		assert_string_equal(now, want);
	else
		assert_string_not_equal(now, want);
	free(now);
}

/* The run (and its first task instance) the writes below work on, and a new run's id. */
struct target {
	int64_t run_pk, ti_pk;
	const char *new_run;
};

static void make_target(struct store *s, struct target *t)
{
	static const char *const tasks[] = {"extract", "load"};
	struct run r = {.dag_id = "etl", .run_id = "r1", .run_type = "scheduled"};
	struct run out = {0};
	struct ti_list tl = {0};
	char *err = NULL;
	if (!store_run_create(s, &r, tasks, NULL, 2, &out, &err) ||
	    !store_tis_for_run(s, out.id, &tl, &err))
		fail_msg("make_target: %s", err);
	assert_int_equal(tl.len, 2);
	t->run_pk = out.id;
	t->ti_pk = tl.v[0].id;
	run_finish(&out);
	ti_list_finish(&tl);
}

/* The kinds of write a scheduler makes to the fenced tables. */
enum write_kind { W_RUN, W_RUN_STATE, W_RUNNER, W_TI, W_TRY, W_CLEAR, W_NODE, W_PAUSE, W_COUNT };

/* Reads the target's task instance, changes it, and writes it back (or records it as a try). */
static bool ti_rewrite(struct store *s, const struct target *t, bool record, char **err)
{
	struct ti ti = {0};
	if (!store_ti_get(s, t->ti_pk, &ti, err))
		return false;
	ti.state = record ? TI_SUCCESS : TI_RUNNING;
	ti.try_number += !record;
	ti.start_ms = 4242;
	bool ok = record ? store_try_record(s, &ti, err) : store_ti_update(s, &ti, err);
	ti_finish(&ti);
	return ok;
}

static bool write_one(struct store *s, const struct target *t, enum write_kind k, char **err)
{
	static const char *const tasks[] = {"only"};
	struct run r = {.dag_id = "etl", .run_id = (char *)t->new_run, .logical_date = 5};
	switch (k) {
	case W_RUN:
		return store_run_create(s, &r, tasks, NULL, 1, NULL, err);
	case W_RUN_STATE:
		return store_run_set_state(s, t->run_pk, RUN_RUNNING, 4242, err);
	case W_RUNNER:
		return store_run_set_runner(s, t->run_pk, "test:host:1", err);
	case W_TI:
		return ti_rewrite(s, t, false, err);
	case W_TRY:
		return ti_rewrite(s, t, true, err);
	case W_CLEAR:
		return store_ti_clear(s, t->run_pk, "load", 2, err);
	case W_NODE:
		return store_ti_set_node(s, t->ti_pk, "node-7", err);
	default:
		return store_dag_set_paused(s, "etl", true, err);
	}
}

/* Runs every write through s: each must go through (want_ok) or be refused by the fence. */
static void writes_expect(struct store *s, const struct target *t, bool want_ok)
{
	for (int k = 0; k < W_COUNT; k++) {
		char *err = NULL;
		bool ok = write_one(s, t, k, &err);
		if (want_ok && !ok)
			fail_msg("write %d: %s", k, err);
		if (!want_ok && ok)
			fail_msg("write %d: went through a fenced connection", k);
		if (!want_ok && !store_err_fenced(err))
			fail_msg("write %d: not a fence error: %s", k, err);
		free(err);
	}
}

/* A takes the lease and writes freely; then B takes it over (token 2): f->snap. */
static void takeover(struct fixture *f, struct target *t)
{
	assert_int_equal(take_ok(f->a, "sched-a", 30000), 1);
	make_target(f->a, t);
	t->new_run = "a-ok";
	writes_expect(f->a, t, true);
	assert_int_equal(take_ok(f->b, "sched-b", 30000), 2);
	assert_lease(f->a, "sched-b", 2, 0, -1);
	f->snap = snapshot(f->path);
}

static void test_fresh_lease(void **state)
{
	struct fixture *f = *state;
	assert_lease(f->a, NULL, 0, 0, 0);
	struct store_lease l = read_ok(f->b);
	assert_int_equal(l.timeout_ms, 0);
	store_lease_finish(&l);
}

static void test_take_first_wins(void **state)
{
	struct fixture *f = *state;
	struct store_lease seen_a = read_ok(f->a), seen_b = read_ok(f->b);
	int64_t tok_a = -1, tok_b = -7;
	char *err = NULL;
	assert_int_equal(store_lease_take(f->a, "sched-a", &seen_a, 1000, 30000, &tok_a, &err), 1);
	assert_int_equal(tok_a, 1);
	assert_int_equal(store_lease_take(f->b, "sched-b", &seen_b, 2000, 9000, &tok_b, &err), 0);
	assert_null(err);
	assert_int_equal(tok_b, -7);
	store_lease_finish(&seen_a);
	store_lease_finish(&seen_b);
	assert_lease(f->a, "sched-a", 1, 0, 1000);
	assert_lease(f->b, "sched-a", 1, 0, 1000);
	struct store_lease l = read_ok(f->b);
	assert_int_equal(l.timeout_ms, 30000);
	store_lease_finish(&l);
}

/* A renewal after the read is enough to defeat a take: the beat moved. */
static void test_take_stale_beat(void **state)
{
	struct fixture *f = *state;
	int64_t token = take_ok(f->a, "sched-a", 30000);
	struct store_lease seen = read_ok(f->b);
	char *err = NULL;
	assert_int_equal(store_lease_renew(f->a, token, 5, &err), 1);
	int64_t tok_b = -7;
	assert_int_equal(store_lease_take(f->b, "sched-b", &seen, 6, 30000, &tok_b, &err), 0);
	assert_int_equal(tok_b, -7);
	store_lease_finish(&seen);
	assert_lease(f->c, "sched-a", 1, 1, -1);
}

static void test_renew(void **state)
{
	struct fixture *f = *state;
	int64_t token = take_ok(f->a, "sched-a", 30000);
	char *err = NULL;
	assert_int_equal(store_lease_renew(f->a, token, 500, &err), 1);
	assert_int_equal(store_lease_renew(f->a, token, 600, &err), 1);
	assert_lease(f->b, "sched-a", 1, 2, 600);
	assert_int_equal(store_lease_renew(f->a, token + 1, 700, &err), 0);
	assert_int_equal(store_lease_renew(f->b, 0, 700, &err), 0);
	assert_null(err);
	assert_lease(f->b, "sched-a", 1, 2, 600);
}

static void test_err_fenced(void **state)
{
	(void)state;
	assert_false(store_err_fenced(NULL));
	assert_false(store_err_fenced(""));
	assert_false(store_err_fenced("store: set run state: database is locked"));
	assert_false(store_err_fenced("fenced"));
	assert_true(store_err_fenced("store: set run state: " FENCED));
}

static void test_fence_outside_tx(void **state)
{
	struct fixture *f = *state;
	struct target t;
	takeover(f, &t);
	t.new_run = "a-fenced";
	writes_expect(f->a, &t, false);
	char *err = NULL;
	assert_false(store_run_set_state(f->a, t.run_pk, RUN_FAILED, 9, &err));
	assert_string_equal(err, "store: set run state: " FENCED);
	free(err);
	assert_snapshot(f->path, f->snap, true);
}

static void test_fence_inside_tx(void **state)
{
	struct fixture *f = *state;
	struct target t;
	takeover(f, &t);
	char *err = NULL;
	assert_true(store_begin(f->a, &err));
	t.new_run = "a-fenced";
	writes_expect(f->a, &t, false);
	/* The refused statements were undone; committing the empty rest writes nothing. */
	assert_true(store_commit(f->a, &err));
	assert_null(err);
	assert_snapshot(f->path, f->snap, true);
	/* A nested transaction (savepoint) too. */
	assert_true(store_begin(f->a, &err));
	assert_true(store_begin(f->a, &err));
	writes_expect(f->a, &t, false);
	store_rollback(f->a);
	assert_true(store_commit(f->a, &err));
	assert_snapshot(f->path, f->snap, true);
}

/* A replaced scheduler can neither renew nor release the lease it lost. */
static void test_fence_renew_release(void **state)
{
	struct fixture *f = *state;
	struct target t;
	takeover(f, &t);
	char *err = NULL;
	assert_true(store_lease_renew(f->b, 2, 10, &err) == 1);
	assert_int_equal(store_lease_renew(f->a, 1, 11, &err), 0);
	assert_int_equal(store_lease_release(f->a, 1, 12, &err), 0);
	assert_null(err);
	assert_lease(f->c, "sched-b", 2, 1, 10);
}

/* The new holder and a connection that never took the lease write as before. */
static void test_fence_spares_others(void **state)
{
	struct fixture *f = *state;
	struct target t;
	takeover(f, &t);
	t.new_run = "c-ok";
	writes_expect(f->c, &t, true);
	assert_snapshot(f->path, f->snap, false);
	free(f->snap);
	f->snap = snapshot(f->path);
	t.new_run = "b-ok";
	writes_expect(f->b, &t, true);
	assert_snapshot(f->path, f->snap, false);
	/* r1, a-ok, c-ok and b-ok. */
	char *now = snapshot(f->path);
	assert_true(strncmp(now, "4:", 2) == 0);
	free(now);
}

/* Taking the lease back moves the fence: A writes again, B is refused. */
static void test_fence_follows_retake(void **state)
{
	struct fixture *f = *state;
	struct target t;
	takeover(f, &t);
	assert_int_equal(take_ok(f->a, "sched-a", 30000), 3);
	t.new_run = "a-again";
	writes_expect(f->a, &t, true);
	t.new_run = "b-fenced";
	free(f->snap);
	f->snap = snapshot(f->path);
	writes_expect(f->b, &t, false);
	assert_snapshot(f->path, f->snap, true);
}

static void test_release(void **state)
{
	struct fixture *f = *state;
	int64_t token = take_ok(f->a, "sched-a", 30000);
	char *err = NULL;
	assert_int_equal(store_lease_renew(f->a, token, 20, &err), 1);
	assert_int_equal(store_lease_release(f->a, token, 30, &err), 1);
	assert_lease(f->b, NULL, 1, 2, 30);
	/* A standby with a long timeout takes a released lease without waiting. */
	struct sched_lease sl;
	sched_lease_init(&sl, f->b, "sched-b", 10000);
	int64_t t0 = mono_ns();
	assert_int_equal(sched_lease_acquire(&sl, NULL), 1);
	assert_true(mono_ns() - t0 < 1000000000LL);
	assert_int_equal(sl.token, 2);
	assert_lease(f->a, "sched-b", 2, 0, -1);
	sched_lease_finish(&sl);
}

/* One look of a standby at the lease: held by B or free, its pair and B's timeout, our clock
 * and timeout, and whether the standby may take it then. */
struct look {
	bool held;
	int64_t token, beat, holder_ms, mono_ms, ours_ms;
	bool expired;
};

/* Makes the looks in order with one watch; each must answer as it says. */
static void looks_expect(const struct look *v, size_t n)
{
	struct lease_watch w = {0};
	for (size_t i = 0; i < n; i++) {
		struct store_lease cur = {.holder = v[i].held ? (char *)"sched-b" : NULL,
					  .token = v[i].token,
					  .beat = v[i].beat,
					  .timeout_ms = v[i].holder_ms};
		if (lease_watch_expired(&w, &cur, v[i].mono_ms, v[i].ours_ms) != v[i].expired)
			fail_msg("look %zu (at %lld): expected %s", i, (long long)v[i].mono_ms,
				 v[i].expired ? "expired" : "not expired");
	}
}

static void test_watch_free(void **state)
{
	static const struct look v[] = {
	    {false, 4, 2, 100, 1000, 100, true}, /* free: at once, never seen before */
	    {true, 4, 2, 100, 1000, 100, false}, /* held: first sight */
	    {false, 4, 2, 100, 1001, 100, true}, /* released: at once */
	};
	looks_expect(v, ARRAY_LEN(v));
}

/* Expired once the pair has not changed for the timeout; a renewal (beat) or a takeover
 * (token) starts the count again. */
static void test_watch_timeout(void **state)
{
	static const struct look v[] = {
	    {true, 3, 7, 100, 1000, 100, false}, {true, 3, 7, 100, 1000, 100, false},
	    {true, 3, 7, 100, 1099, 100, false}, {true, 3, 7, 100, 1100, 100, true},
	    {true, 3, 7, 100, 9000, 100, true},  {true, 3, 8, 100, 9010, 100, false},
	    {true, 3, 8, 100, 9109, 100, false}, {true, 3, 8, 100, 9110, 100, true},
	    {true, 4, 0, 100, 9120, 100, false}, {true, 4, 0, 100, 9219, 100, false},
	    {true, 4, 0, 100, 9220, 100, true},
	};
	looks_expect(v, ARRAY_LEN(v));
}

/* The longer of the holder's timeout and ours counts. */
static void test_watch_longer_timeout(void **state)
{
	static const struct look holders[] = {
	    {true, 1, 0, 500, 1000, 100, false},
	    {true, 1, 0, 500, 1100, 100, false},
	    {true, 1, 0, 500, 1499, 100, false},
	    {true, 1, 0, 500, 1500, 100, true},
	};
	static const struct look ours[] = {
	    {true, 1, 0, 50, 1000, 100, false},
	    {true, 1, 0, 50, 1050, 100, false},
	    {true, 1, 0, 50, 1099, 100, false},
	    {true, 1, 0, 50, 1100, 100, true},
	};
	looks_expect(holders, ARRAY_LEN(holders));
	looks_expect(ours, ARRAY_LEN(ours));
}

static void test_acquire_free(void **state)
{
	struct fixture *f = *state;
	char me[] = "sched-a";
	struct sched_lease l;
	sched_lease_init(&l, f->a, me, 400);
	me[0] = 'X'; /* init copied it */
	int64_t t0 = time_mono_ms(), n0 = mono_ns();
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	int64_t t1 = time_mono_ms();
	assert_true(mono_ns() - n0 < 1000000000LL);
	assert_int_equal(l.token, 1);
	assert_in_range(sched_lease_due(&l), t0 + 100, t1 + 100);
	struct store_lease cur = read_ok(f->b);
	assert_string_equal(cur.holder, "sched-a");
	assert_int_equal(cur.token, 1);
	assert_int_equal(cur.timeout_ms, 400);
	store_lease_finish(&cur);
	sched_lease_finish(&l);
	assert_null(l.me);
}

/* B holds the lease and never renews it; A's standby must wait the longer timeout, not less. */
static void acquire_waits(struct fixture *f, int64_t holder_ms, int64_t ours_ms)
{
	assert_int_equal(take_ok(f->b, "sched-b", holder_ms), 1);
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", ours_ms);
	int64_t limit = holder_ms > ours_ms ? holder_ms : ours_ms;
	int64_t t0 = mono_ns();
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	int64_t waited = mono_ns() - t0;
	if (waited < limit * 1000000)
		fail_msg("took over after %lld ns, before %lld ms", (long long)waited,
			 (long long)limit);
	assert_true(waited < (limit + 3000) * 1000000);
	assert_int_equal(l.token, 2);
	assert_lease(f->b, "sched-a", 2, 0, -1);
	sched_lease_finish(&l);
}

static void test_acquire_waits_ours(void **state)
{
	acquire_waits(*state, 100, 300);
}

static void test_acquire_waits_holders(void **state)
{
	acquire_waits(*state, 600, 300);
}

/* Renews the lease every 50 ms for for_ms, then releases it. */
struct renewer {
	struct store *s;
	int64_t token, for_ms;
	int renewals, failures;
};

static void *renew_then_release(void *arg)
{
	struct renewer *r = arg;
	int64_t end = time_mono_ms() + r->for_ms;
	struct timespec step = {0, 50 * 1000000};
	char *err = NULL;
	while (time_mono_ms() < end) {
		if (store_lease_renew(r->s, r->token, time_now_ms(), &err) == 1)
			r->renewals++;
		else
			r->failures++;
		nanosleep(&step, NULL);
	}
	if (store_lease_release(r->s, r->token, time_now_ms(), &err) != 1)
		r->failures++;
	free(err);
	return NULL;
}

/* A live holder keeps a standby waiting far past the timeout, until it releases. */
static void test_acquire_live_holder(void **state)
{
	struct fixture *f = *state;
	struct renewer r = {.s = f->b, .token = take_ok(f->b, "sched-b", 300), .for_ms = 900};
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 300);
	int64_t t0 = mono_ns();
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, renew_then_release, &r), 0);
	int rc = sched_lease_acquire(&l, NULL);
	int64_t waited = mono_ns() - t0;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(rc, 1);
	assert_int_equal(r.failures, 0);
	assert_true(r.renewals >= 5);
	if (waited < 900 * 1000000LL)
		fail_msg("took a live lease after %lld ns", (long long)waited);
	assert_int_equal(l.token, 2);
	assert_lease(f->c, "sched-a", 2, 0, -1);
	sched_lease_finish(&l);
}

/* SIGTERM stops a standby (0, lease untouched); another signal does not. */
static void test_acquire_signal(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(take_ok(f->b, "sched-b", 60000), 1);
	sigset_t set, old, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(raise(SIGTERM), 0);
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 60000);
	int rc = sched_lease_acquire(&l, &set);
	sigpending(&pending);
	/* Drain what is left before unblocking, so that a failure is an assert, not a kill. */
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(rc, 0);
	assert_false(sigismember(&pending, SIGUSR1));
	assert_false(sigismember(&pending, SIGTERM));
	assert_int_equal(l.token, 0);
	assert_lease(f->c, "sched-b", 1, 0, -1);
	sched_lease_finish(&l);
}

static void test_keep(void **state)
{
	struct fixture *f = *state;
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 400);
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	int64_t due = sched_lease_due(&l);
	assert_true(sched_lease_keep(&l, due - 1, 111));
	assert_lease(f->b, "sched-a", 1, 0, -1);
	assert_true(sched_lease_keep(&l, due, 222));
	assert_lease(f->b, "sched-a", 1, 1, 222);
	assert_int_equal(sched_lease_due(&l), due + 100);
	assert_int_equal(l.last_renew_ms, due);
	/* B takes over; before the next renewal A does not even look. */
	assert_int_equal(take_ok(f->b, "sched-b", 400), 2);
	assert_true(sched_lease_keep(&l, due + 99, 333));
	assert_int_equal(l.token, 1);
	assert_false(sched_lease_keep(&l, due + 100, 444));
	assert_int_equal(l.token, 0);
	struct store_lease cur = read_ok(f->c);
	assert_true(cur.renewed_ms != 444);
	sched_lease_release(&l); /* the lost lease: B's stays as it is */
	assert_lease(f->c, "sched-b", 2, 0, cur.renewed_ms);
	store_lease_finish(&cur);
	sched_lease_finish(&l);
}

static void test_sched_release(void **state)
{
	struct fixture *f = *state;
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 400);
	sched_lease_release(&l); /* never held: nothing */
	assert_lease(f->b, NULL, 0, 0, -1);
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	sched_lease_release(&l);
	assert_int_equal(l.token, 0);
	assert_lease(f->b, NULL, 1, 1, -1);
	sched_lease_release(&l); /* twice: nothing more */
	assert_lease(f->b, NULL, 1, 1, -1);
	assert_int_equal(take_ok(f->b, "sched-b", 400), 2);
	sched_lease_finish(&l);
}

/* Confirming renews at once, due or not: beat and time move, the next renewal is due later. */
static void test_confirm_held(void **state)
{
	struct fixture *f = *state;
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 400);
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	int64_t due = sched_lease_due(&l);
	assert_true(sched_lease_confirm(&l, due - 90, 555));
	assert_lease(f->b, "sched-a", 1, 1, 555);
	assert_int_equal(l.last_renew_ms, due - 90);
	assert_int_equal(sched_lease_due(&l), due + 10);
	assert_true(sched_lease_confirm(&l, due - 80, 556));
	assert_lease(f->b, "sched-a", 1, 2, 556);
	assert_int_equal(l.token, 1);
	sched_lease_finish(&l);
}

/* After a takeover the holder's confirmation fails and it forgets its token; the new holder's
 * lease is untouched, and the lost lease is neither confirmed nor kept any more. */
static void test_confirm_taken_over(void **state)
{
	struct fixture *f = *state;
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 400);
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	int64_t due = sched_lease_due(&l);
	assert_int_equal(take_ok(f->b, "sched-b", 400), 2);
	assert_false(sched_lease_confirm(&l, due - 90, 777));
	assert_int_equal(l.token, 0);
	assert_lease(f->c, "sched-b", 2, 0, -1);
	assert_false(sched_lease_confirm(&l, due - 80, 778));
	/* Not due yet, but lost: keep says stop at once. */
	assert_false(sched_lease_keep(&l, due - 70, 779));
	struct store_lease cur = read_ok(f->c);
	assert_int_equal(cur.beat, 0);
	assert_true(cur.renewed_ms != 777 && cur.renewed_ms != 778 && cur.renewed_ms != 779);
	store_lease_finish(&cur);
	sched_lease_finish(&l);
}

/* A lease never acquired (token 0) is neither confirmed nor kept, and nothing is written. */
static void test_confirm_keep_not_held(void **state)
{
	struct fixture *f = *state;
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 400);
	assert_false(sched_lease_confirm(&l, 1000, 888));
	assert_false(sched_lease_keep(&l, 0, 889));
	assert_false(sched_lease_keep(&l, 1000000, 890));
	assert_lease(f->b, NULL, 0, 0, 0);
	/* Nor once released. */
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	sched_lease_release(&l);
	assert_false(sched_lease_keep(&l, 0, 891));
	assert_false(sched_lease_confirm(&l, 0, 892));
	assert_lease(f->b, NULL, 1, 1, -1);
	sched_lease_finish(&l);
}

/* Runs sql on a raw connection of its own (a schema change another process makes). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* Renewals that fail (a store error, not a takeover) are retried; the holder goes on until it
 * has not renewed for lease_timeout, then keep says stop; confirm fails at once. */
static void test_keep_store_errors(void **state)
{
	struct fixture *f = *state;
	struct sched_lease l;
	sched_lease_init(&l, f->a, "sched-a", 400);
	assert_int_equal(sched_lease_acquire(&l, NULL), 1);
	int64_t t0 = l.last_renew_ms;
	raw_exec(f->path, "ALTER TABLE scheduler_lease RENAME TO scheduler_lease_away");
	assert_false(sched_lease_confirm(&l, t0 + 50, 1));
	assert_int_equal(l.token, 1); /* not lost: it may renew again */
	/* Tried again every timeout / 4 (at most every second). */
	for (int64_t at = t0 + 100; at < t0 + 400; at += 100) {
		assert_true(sched_lease_keep(&l, at, at));
		assert_int_equal(sched_lease_due(&l), at + 100);
	}
	assert_false(sched_lease_keep(&l, t0 + 400, 4));
	assert_int_equal(l.last_renew_ms, t0);
	raw_exec(f->path, "ALTER TABLE scheduler_lease_away RENAME TO scheduler_lease");
	assert_lease(f->b, "sched-a", 1, 0, -1);
	sched_lease_finish(&l);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_fresh_lease),
	    T(test_take_first_wins),
	    T(test_take_stale_beat),
	    T(test_renew),
	    cmocka_unit_test(test_err_fenced),
	    T(test_fence_outside_tx),
	    T(test_fence_inside_tx),
	    T(test_fence_renew_release),
	    T(test_fence_spares_others),
	    T(test_fence_follows_retake),
	    T(test_release),
	    cmocka_unit_test(test_watch_free),
	    cmocka_unit_test(test_watch_timeout),
	    cmocka_unit_test(test_watch_longer_timeout),
	    T(test_acquire_free),
	    T(test_acquire_waits_ours),
	    T(test_acquire_waits_holders),
	    T(test_acquire_live_holder),
	    T(test_acquire_signal),
	    T(test_keep),
	    T(test_sched_release),
	    T(test_confirm_held),
	    T(test_confirm_taken_over),
	    T(test_confirm_keep_not_held),
	    T(test_keep_store_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
