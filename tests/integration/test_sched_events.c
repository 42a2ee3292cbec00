/* test_sched_events.c - the scheduler's loop woken by the engine's event stream (fake engine):
 * an event ends the wait at once, never decides an outcome, and every fault of the stream (cut,
 * garbage, a flood of other services' events, the engine restarted) falls back to polling, said
 * once, with nothing lost. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sched_env.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"

/* The fake's tasks stay running this many polls: polling alone at poll_interval 10 s takes
 * about a minute to see the end; a wake-up per event, well under a second. */
#define LONG_RUN 12
/* How often the engine side sends its round of events. */
#define ROUND_MS 30

#define STEPS_LONG(last)                                                                           \
	{                                                                                          \
		FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,              \
		    FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,          \
		    FAKE_RUNNING, FAKE_RUNNING, last                                               \
	}

/* What the engine side of a test does each round (a thread next to the loop). */
enum side_mode {
	SIDE_DIE,     /* a die event (exit code 0, whatever the task does) per live service */
	SIDE_GARBAGE, /* lines that are not JSON, and bytes that are not text */
};

struct side {
	struct env *env;
	struct event_watch *watch;
	enum side_mode mode;
	int cut_at;     /* > 0: the round at which the streams are cut */
	int restart_at; /* > 0: the round at which the engine restarts (streams cut, /events
			   refused twice) */
	int flood;      /* events of other services sent before the first round */
	int rounds;     /* > 0: rounds that name a service sent (then only waits) */
	size_t tasks_before_flood, tasks_after_flood; /* GET /tasks around the flood */
	int64_t flood_ms;                             /* how long it took to be read */
	atomic_bool stop;
	pthread_t thread;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char *die_event(const char *service_id, const char *instance, long long nano)
{
	return xasprintf(
	    "{\"status\":\"die\",\"id\":\"c%s\",\"from\":\"busybox:1.36\","
	    "\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"c%s\","
	    "\"Attributes\":{\"com.docker.swarm.service.id\":\"%s\",\"exitCode\":\"0\","
	    "\"swarmflow.instance\":\"%s\"}},\"scope\":\"local\",\"time\":%lld,"
	    "\"timeNano\":%lld}",
	    service_id, service_id, service_id, instance, nano / 1000000000, nano);
}

static void send_flood(struct side *sd)
{
	sd->tasks_before_flood = env_count_from(sd->env, 0, "GET", "/tasks");
	int64_t t0 = time_mono_ms();
	long long nano = (long long)time_now_ms() * 1000000;
	for (int i = 0; i < sd->flood; i++) {
		char id[32];
		snprintf(id, sizeof(id), "other%05d", i);
		char *ev = die_event(id, i % 2 ? "another" : "", nano + i);
		fake_engine_event(sd->env->fe, ev);
		free(ev);
	}
	/* Until the watcher has read them all (or 10 s). */
	struct event_watch_stats st = {0};
	for (int i = 0; i < 1000 && st.events < (size_t)sd->flood; i++) {
		sleep_ms(10);
		event_watch_stats(sd->watch, &st);
	}
	sleep_ms(100);
	sd->tasks_after_flood = env_count_from(sd->env, 0, "GET", "/tasks");
	sd->flood_ms = time_mono_ms() - t0;
}

/* One round of events; returns how many services it named. */
static int send_round(struct side *sd, int round)
{
	struct fake_service svcs[64];
	size_t n = fake_engine_services(sd->env->fe, svcs, ARRAY_LEN(svcs));
	long long nano = (long long)time_now_ms() * 1000000 + round;
	int named = 0;
	for (size_t i = 0; i < n && i < ARRAY_LEN(svcs); i++) {
		if (svcs[i].removed)
			continue;
		if (sd->mode == SIDE_GARBAGE) {
			static const char junk[] = "this is {not json\n\x01\x02\xff\xfe\n";
			fake_engine_event_raw(sd->env->fe, junk, sizeof(junk) - 1);
			continue;
		}
		char *ev = die_event(svcs[i].id, "test", nano);
		fake_engine_event(sd->env->fe, ev);
		free(ev);
		named++;
	}
	if (round == sd->cut_at)
		fake_engine_events_cut(sd->env->fe);
	if (round == sd->restart_at) {
		fake_engine_fault(sd->env->fe, "/events?", "500 Internal Server Error",
				  "{\"message\":\"the engine is starting\"}", 2);
		fake_engine_events_cut(sd->env->fe);
	}
	return named;
}

static void *side_main(void *arg)
{
	struct side *sd = arg;
	while (!atomic_load(&sd->stop) && fake_engine_events_open(sd->env->fe) == 0)
		sleep_ms(5);
	if (sd->flood)
		send_flood(sd);
	int named_rounds = 0; /* rounds that named a service */
	for (int round = 1; !atomic_load(&sd->stop); round++) {
		if (!sd->rounds || named_rounds < sd->rounds)
			named_rounds += send_round(sd, round) > 0;
		sleep_ms(ROUND_MS);
	}
	return NULL;
}

/* What one loop run showed. */
struct outcome {
	int rc;
	int64_t ms;
	struct event_watch_stats stats;
	char *log; /* stderr while it ran */
};

/* Runs the scheduler's loop on the run with the event watcher and the engine side sd until
 * the run ends; stderr is captured into out->log. */
static void run_loop(struct env *env, struct side *sd, struct outcome *out)
{
	char *err = NULL;
	env->s.only_run_pk = env->run.id;
	env->s.events = event_watch_start(env->engine, "test", &err);
	assert_non_null(env->s.events);
	sd->env = env;
	sd->watch = env->s.events;
	atomic_store(&sd->stop, false);
	char path[] = "/tmp/sf-events-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	close(fd);
	assert_int_equal(pthread_create(&sd->thread, NULL, side_main, sd), 0);
	int64_t t0 = time_mono_ms();
	out->rc = sched_loop(&env->s);
	out->ms = time_mono_ms() - t0;
	atomic_store(&sd->stop, true);
	pthread_join(sd->thread, NULL);
	event_watch_stats(env->s.events, &out->stats);
	event_watch_stop(env->s.events);
	env->s.events = NULL;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	out->log = env_read_text(path);
	unlink(path);
	fprintf(stderr, "%s(loop: rc %d, %lld ms, %zu connects, %zu failures, %zu bad lines)\n",
		out->log, out->rc, (long long)out->ms, out->stats.connects, out->stats.failures,
		out->stats.bad_lines);
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The GET /events requests, and how many of them resumed with since=. */
static void events_requests(struct env *env, size_t *all, size_t *since)
{
	*all = *since = 0;
	size_t n = fake_engine_request_count(env->fe);
	for (size_t i = 0; i < n; i++) {
		struct fake_request r;
		assert_true(fake_engine_request_get(env->fe, i, &r));
		if (str_has_suffix(r.path, "/events")) {
			(*all)++;
			*since += strstr(r.query, "since=") != NULL;
		}
		fake_request_finish(&r);
	}
}

static void start_long(struct env *env, const char *tasks, const struct fake_step *steps,
		       size_t n_steps, double poll_interval)
{
	static const char *const keys[] = {"a", "b"};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		struct fake_script sc = {keys[i], steps, n_steps, NULL};
		fake_engine_script(env->fe, &sc);
	}
	env->cfg.poll_interval = poll_interval;
	env_start(env, tasks);
}

static const char one_task[] = "  task a {\n    shell = \"true\"\n  }\n";
static const char chain[] = "  task a {\n    shell = \"true\"\n  }\n"
			    "  task b {\n    upstream = {a}\n    shell = \"true\"\n  }\n";

/* 1. Each die event ends the wait: the end is seen in well under a second, not a minute; the
 * events say exit 0 (and come again and again) but the outcome is GET /tasks's exit 3. The
 * stream asks the engine for our instance's container die events only. */
static void test_event_wakes_poll(void **state)
{
	static const struct fake_step steps[] = STEPS_LONG(FAKE_EXIT(3, "task: non-zero exit (3)"));
	struct env *env = *state;
	start_long(env, one_task, steps, ARRAY_LEN(steps), 10);
	struct side sd = {.mode = SIDE_DIE};
	struct outcome o = {0};
	run_loop(env, &sd, &o);
	assert_int_equal(o.rc, 1);
	assert_true(o.ms < 5000);
	struct ti a;
	env_get_ti(env, "a", &a);
	assert_int_equal(a.state, TI_FAILED);
	assert_true(a.has_exit_code);
	assert_int_equal(a.exit_code, 3);
	ti_finish(&a);
	assert_int_equal(env_count_query(env, "GET", "/events", "\"type\":[\"container\"]"), 1);
	assert_int_equal(env_count_query(env, "GET", "/events", "\"event\":[\"die\"]"), 1);
	assert_int_equal(
	    env_count_query(env, "GET", "/events", "\"label\":[\"swarmflow.instance=test\"]"), 1);
	assert_int_equal(count_of(o.log, "falling back to polling"), 0);
	free(o.log);
}

/* 2. The stream cut mid-run: said once, reconnected with since=, both tasks end as GET /tasks
 * says, still early. */
static void test_stream_cut(void **state)
{
	static const struct fake_step steps[] = STEPS_LONG(FAKE_COMPLETE);
	struct env *env = *state;
	start_long(env, chain, steps, ARRAY_LEN(steps), 10);
	struct side sd = {.mode = SIDE_DIE, .cut_at = 3};
	struct outcome o = {0};
	run_loop(env, &sd, &o);
	assert_int_equal(o.rc, 0);
	assert_true(o.ms < 8000);
	assert_int_equal(env_ti_state_of(env, "a"), TI_SUCCESS);
	assert_int_equal(env_ti_state_of(env, "b"), TI_SUCCESS);
	size_t all, since;
	events_requests(env, &all, &since);
	assert_true(all >= 2);
	assert_true(since >= 1);
	assert_true(o.stats.failures >= 1);
	assert_int_equal(count_of(o.log, "falling back to polling"), 1);
	assert_int_equal(count_of(o.log, "stream back"), 1);
	free(o.log);
}

/* 3. A stream of garbage: dropped at its first bad line and reconnected with backoff, said
 * once however often it comes back bad; the poll schedule finds the end. */
static void test_stream_garbage(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
						 FAKE_RUNNING, FAKE_RUNNING, FAKE_COMPLETE};
	struct env *env = *state;
	start_long(env, one_task, steps, ARRAY_LEN(steps), 0.3);
	struct side sd = {.mode = SIDE_GARBAGE};
	struct outcome o = {0};
	run_loop(env, &sd, &o);
	assert_int_equal(o.rc, 0);
	struct ti a;
	env_get_ti(env, "a", &a);
	assert_int_equal(a.state, TI_SUCCESS);
	assert_int_equal(a.exit_code, 0);
	ti_finish(&a);
	assert_true(o.stats.bad_lines >= 2);
	assert_true(o.stats.connects >= 2);
	assert_int_equal(count_of(o.log, "falling back to polling"), 1);
	assert_int_equal(count_of(o.log, "garbage on the stream"), 1);
	free(o.log);
}

/* 4. 10,000 events of other services (other instances, or none): read and dropped without a
 * single extra poll; ours still wake the loop. */
static void test_event_flood(void **state)
{
	static const struct fake_step steps[] = STEPS_LONG(FAKE_COMPLETE);
	struct env *env = *state;
	start_long(env, one_task, steps, ARRAY_LEN(steps), 10);
	struct side sd = {.mode = SIDE_DIE, .flood = 10000};
	struct outcome o = {0};
	run_loop(env, &sd, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(env_ti_state_of(env, "a"), TI_SUCCESS);
	assert_true(o.stats.events >= 10000);
	assert_int_equal(o.stats.bad_lines, 0);
	/* The schedule's own polls only: at most 4 in its first second (0.1, 0.2, 0.4, 0.8 s
	 * after the create), then fewer; a wake per foreign event would be thousands. */
	fprintf(stderr, "flood: %lld ms, %zu polls\n", (long long)sd.flood_ms,
		sd.tasks_after_flood - sd.tasks_before_flood);
	assert_true(sd.tasks_after_flood - sd.tasks_before_flood <=
		    4 + 2 * (size_t)(sd.flood_ms / 1000));
	assert_true(o.ms < 15000);
	free(o.log);
}

/* 5. The engine restarted: the stream ends, /events is refused while it starts, then comes
 * back; resumed with since=, said once, nothing lost. */
static void test_engine_restart(void **state)
{
	static const struct fake_step steps[] = STEPS_LONG(FAKE_COMPLETE);
	struct env *env = *state;
	start_long(env, chain, steps, ARRAY_LEN(steps), 10);
	struct side sd = {.mode = SIDE_DIE, .restart_at = 3};
	struct outcome o = {0};
	run_loop(env, &sd, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(env_ti_state_of(env, "a"), TI_SUCCESS);
	assert_int_equal(env_ti_state_of(env, "b"), TI_SUCCESS);
	assert_true(o.stats.failures >= 3);
	assert_true(o.stats.connects >= 2);
	size_t all, since;
	events_requests(env, &all, &since);
	assert_true(all >= 4);
	assert_true(since >= 3);
	assert_true(o.ms < 10000);
	assert_int_equal(count_of(o.log, "falling back to polling"), 1);
	free(o.log);
}

/* 6. One die event is enough: the watcher asks the manager until it shows the end (here 8
 * polls of the fake later), then wakes the loop once; the schedule alone would take 20 s. */
static void test_one_event_enough(void **state)
{
	static const struct fake_step steps[] = {FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
						 FAKE_RUNNING, FAKE_RUNNING, FAKE_RUNNING,
						 FAKE_RUNNING, FAKE_RUNNING, FAKE_COMPLETE};
	struct env *env = *state;
	start_long(env, one_task, steps, ARRAY_LEN(steps), 10);
	struct side sd = {.mode = SIDE_DIE, .rounds = 1};
	struct outcome o = {0};
	run_loop(env, &sd, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(env_ti_state_of(env, "a"), TI_SUCCESS);
	assert_true(o.ms < 3000);
	free(o.log);
}

/* 7. The engine hangs on the probe's GET /tasks after a die: stopping the watcher does not
 * wait for the request's timeout (5 s here), only for its cancel check (about a second). */
static void test_stop_hung_probe(void **state)
{
	struct env *env = *state;
	env_start(env, one_task);
	char *err = NULL;
	struct event_watch *w = event_watch_start(env->engine, "test", &err);
	assert_non_null(w);
	for (int i = 0; i < 500 && fake_engine_events_open(env->fe) == 0; i++)
		sleep_ms(10);
	assert_int_equal(fake_engine_events_open(env->fe), 1);
	fake_engine_fault(env->fe, "/tasks", NULL, NULL, -1); /* held, never answered */
	char *ev = die_event("svc9", "test", (long long)time_now_ms() * 1000000);
	fake_engine_event(env->fe, ev);
	free(ev);
	for (int i = 0; i < 500 && env_count_from(env, 0, "GET", "/tasks") == 0; i++)
		sleep_ms(10);
	assert_int_equal(env_count_from(env, 0, "GET", "/tasks"), 1);
	int64_t t0 = time_mono_ms();
	event_watch_stop(w);
	int64_t ms = time_mono_ms() - t0;
	fprintf(stderr, "stopped in %lld ms\n", (long long)ms);
	assert_true(ms < 2500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_event_wakes_poll, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_stream_cut, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_stream_garbage, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_event_flood, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_engine_restart, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_one_event_enough, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_stop_hung_probe, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
