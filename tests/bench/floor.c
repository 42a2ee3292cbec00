/* floor.c - the benchmark's reference: N one-shot services straight on the Engine API. */
/*
 * No store, no DAG, no scheduling: with concurrency C, create services until C are in flight,
 * then every P ms ask about ALL of them in one GET /tasks, remove each one that ended (optionally
 * after fetching its logs, as swarmflow does) and create the next. The spec is swarmflow's own
 * (`swarmflow dags show DAG --spec TASK`), with the name and the instance/run/task labels made
 * unique, so both sides ask the engine for exactly the same kind of service.
 *
 * Usage: floor --spec FILE --instance NAME [-n N] [-c C] [-p POLL_MS] [--logs]
 * Prints one JSON object: the wall time and where it went. Exit 1 when a service failed or the
 * engine could not be used; every service created is removed whatever happens.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "swarmflow/common/util.h"
#include "swarmflow/engine/decode.h"
#include "swarmflow/engine/engine.h"

/* A service that has not shown a finished task after this long fails the benchmark. */
#define STUCK_MS 120000
/* Longest name Swarm accepts. */
#define NAME_MAX_LEN 63

struct slot {
	char *id;
	int64_t created_us;
};

struct floor {
	struct engine *e;
	json_t *spec; /* the template; copied per service */
	const char *instance;
	long n, c, poll_ms;
	bool logs;
	struct slot *slots; /* in flight, first n_slots used */
	size_t n_slots;
	long created, done, failed;
	/* Where the time went, in microseconds of wall clock inside each kind of call. */
	int64_t t_create, t_poll, t_remove, t_logs, t_sleep;
	long n_polls;
	int64_t latency_sum_us, latency_max_us; /* create -> seen ended */
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
	if (us <= 0)
		return;
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static json_t *load_spec(const char *path)
{
	json_error_t jerr;
	json_t *spec = json_load_file(path, 0, &jerr);
	if (!spec) {
		fprintf(stderr, "floor: %s:%d: %s\n", path, jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(spec) || !json_object_get(spec, "TaskTemplate")) {
		fprintf(stderr, "floor: %s: not a ServiceSpec\n", path);
		json_decref(spec);
		return NULL;
	}
	return spec;
}

/* Sets the identity labels of one labels object (present keys only: the shape stays). */
static void relabel(json_t *labels, const char *instance, const char *run_id, const char *task)
{
	if (!json_is_object(labels))
		return;
	if (json_object_get(labels, "swarmflow.instance"))
		json_object_set_new(labels, "swarmflow.instance", json_string(instance));
	if (json_object_get(labels, "swarmflow.run_id"))
		json_object_set_new(labels, "swarmflow.run_id", json_string(run_id));
	if (json_object_get(labels, "swarmflow.task_id"))
		json_object_set_new(labels, "swarmflow.task_id", json_string(task));
	json_object_set_new(labels, "swarmflow.bench", json_string(instance));
}

static json_t *spec_for(const struct floor *fl, long i)
{
	json_t *spec = json_deep_copy(fl->spec);
	char name[NAME_MAX_LEN + 1], task[32];
	snprintf(name, sizeof(name), "%s_floor_%ld", fl->instance, i);
	snprintf(task, sizeof(task), "f%ld", i);
	json_object_set_new(spec, "Name", json_string(name));
	relabel(json_object_get(spec, "Labels"), fl->instance, "floor", task);
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	relabel(json_object_get(cs, "Labels"), fl->instance, "floor", task);
	return spec;
}

static bool create_one(struct floor *fl)
{
	json_t *spec = spec_for(fl, fl->created);
	struct engine_err err = {0};
	char *id = NULL;
	int64_t t0 = mono_us();
	bool ok = engine_service_create(fl->e, spec, &id, &err);
	int64_t t1 = mono_us();
	fl->t_create += t1 - t0;
	json_decref(spec);
	if (!ok) {
		fprintf(stderr, "floor: create: %s\n", err.message);
		return false;
	}
	fl->slots[fl->n_slots++] = (struct slot){.id = id, .created_us = t1};
	fl->created++;
	return true;
}

static void remove_slot(struct floor *fl, size_t i)
{
	struct engine_err err = {0};
	if (fl->logs) {
		struct buf out;
		buf_init(&out, ENGINE_MAX_LOG);
		int64_t t0 = mono_us();
		if (!engine_service_logs(fl->e, fl->slots[i].id, false, &out, &err))
			fprintf(stderr, "floor: logs of %s: %s\n", fl->slots[i].id, err.message);
		fl->t_logs += mono_us() - t0;
		buf_finish(&out);
	}
	int64_t t0 = mono_us();
	if (!engine_service_remove(fl->e, fl->slots[i].id, &err))
		fprintf(stderr, "floor: remove %s: %s\n", fl->slots[i].id, err.message);
	fl->t_remove += mono_us() - t0;
	free(fl->slots[i].id);
	fl->slots[i] = fl->slots[--fl->n_slots];
}

/* One GET /tasks for every service in flight; removes those that ended. False on engine error
 * or a service stuck for STUCK_MS. */
static bool poll_round(struct floor *fl)
{
	if (fl->n_slots == 0)
		return true;
	const char **ids = xcalloc(fl->n_slots, sizeof(*ids));
	for (size_t i = 0; i < fl->n_slots; i++)
		ids[i] = fl->slots[i].id;
	json_t *tasks = NULL;
	struct engine_err err = {0};
	int64_t t0 = mono_us();
	bool ok = engine_tasks_list(fl->e, ids, fl->n_slots, &tasks, &err);
	int64_t now = mono_us();
	fl->t_poll += now - t0;
	fl->n_polls++;
	free(ids);
	if (!ok) {
		fprintf(stderr, "floor: GET /tasks: %s\n", err.message);
		return false;
	}
	for (size_t i = fl->n_slots; i-- > 0;) {
		struct task_status st;
		bool found = task_status_pick(tasks, fl->slots[i].id, &st);
		bool ended = found && (st.phase == PHASE_COMPLETE || st.phase == PHASE_FAILED);
		int64_t age = now - fl->slots[i].created_us;
		if (!ended) {
			if (age > (int64_t)STUCK_MS * 1000) {
				fprintf(stderr, "floor: service %s stuck (%s)\n", fl->slots[i].id,
					found ? st.state : "no task");
				ok = false;
			}
			continue;
		}
		if (st.phase != PHASE_COMPLETE || (st.has_exit_code && st.exit_code != 0)) {
			fprintf(stderr, "floor: service %s ended %s: %s\n", fl->slots[i].id,
				st.state, st.err);
			fl->failed++;
		}
		fl->latency_sum_us += age;
		if (age > fl->latency_max_us)
			fl->latency_max_us = age;
		fl->done++;
		remove_slot(fl, i);
	}
	json_decref(tasks);
	return ok;
}

/* swarmflow's loop shape: poll, finish (remove), dispatch, then sleep what is left of P. */
static bool run(struct floor *fl)
{
	while (fl->done < fl->n) {
		int64_t start = mono_us();
		if (!poll_round(fl))
			return false;
		while ((long)fl->n_slots < fl->c && fl->created < fl->n)
			if (!create_one(fl))
				return false;
		if (fl->done >= fl->n)
			break;
		int64_t left = fl->poll_ms * 1000 - (mono_us() - start);
		int64_t t0 = mono_us();
		sleep_us(left);
		fl->t_sleep += mono_us() - t0;
	}
	return fl->failed == 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: floor --spec FILE --instance NAME [-n N] [-c C] [-p POLL_MS] "
			"[--logs]\n");
}

static bool parse_args(struct floor *fl, const char **spec_path, int argc, char **argv)
{
	static const struct option opts[] = {{"spec", required_argument, NULL, 's'},
					     {"instance", required_argument, NULL, 'i'},
					     {"count", required_argument, NULL, 'n'},
					     {"concurrency", required_argument, NULL, 'c'},
					     {"poll-ms", required_argument, NULL, 'p'},
					     {"logs", no_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	int ch;
	while ((ch = getopt_long(argc, argv, "s:i:n:c:p:l", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			*spec_path = optarg;
			break;
		case 'i':
			fl->instance = optarg;
			break;
		case 'n':
			fl->n = strtol(optarg, NULL, 10);
			break;
		case 'c':
			fl->c = strtol(optarg, NULL, 10);
			break;
		case 'p':
			fl->poll_ms = strtol(optarg, NULL, 10);
			break;
		case 'l':
			fl->logs = true;
			break;
		default:
			return false;
		}
	}
	return *spec_path && fl->instance && fl->n > 0 && fl->c > 0 && fl->poll_ms >= 0;
}

static void report(const struct floor *fl, bool ok, int64_t wall_us)
{
	json_t *o = json_pack(
	    "{s:b, s:i, s:i, s:i, s:b, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:f, s:f}",
	    "ok", ok, "n", (json_int_t)fl->n, "concurrency", (json_int_t)fl->c, "poll_ms",
	    (json_int_t)fl->poll_ms, "logs", fl->logs, "done", (json_int_t)fl->done, "failed",
	    (json_int_t)fl->failed, "wall_s", wall_us / 1e6, "create_s", fl->t_create / 1e6,
	    "poll_s", fl->t_poll / 1e6, "remove_s", fl->t_remove / 1e6, "logs_s", fl->t_logs / 1e6,
	    "sleep_s", fl->t_sleep / 1e6, "polls", (json_int_t)fl->n_polls, "latency_mean_s",
	    fl->done ? fl->latency_sum_us / 1e6 / (double)fl->done : 0.0, "latency_max_s",
	    fl->latency_max_us / 1e6);
	char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	printf("%s\n", s);
	free(s);
	json_decref(o);
}

int main(int argc, char **argv)
{
	struct floor fl = {.n = 1, .c = 1, .poll_ms = 500};
	const char *spec_path = NULL;
	if (!parse_args(&fl, &spec_path, argc, argv)) {
		usage();
		return 2;
	}
	fl.spec = load_spec(spec_path);
	if (!fl.spec)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct engine_opts opts = {.api_version = "auto"};
	char *cerr = NULL;
	fl.e = engine_create(&opts, &cerr);
	struct engine_err err = {0};
	if (!fl.e || !engine_negotiate(fl.e, &err)) {
		fprintf(stderr, "floor: engine: %s\n", fl.e ? err.message : cerr);
		free(cerr);
		engine_destroy(fl.e);
		json_decref(fl.spec);
		return 1;
	}
	fl.slots = xcalloc((size_t)fl.c, sizeof(*fl.slots));
	int64_t t0 = mono_us();
	bool ok = run(&fl);
	int64_t wall = mono_us() - t0;
	while (fl.n_slots > 0) /* on failure: nothing of ours is left behind */
		remove_slot(&fl, fl.n_slots - 1);
	report(&fl, ok, wall);
	free(fl.slots);
	engine_destroy(fl.e);
	json_decref(fl.spec);
	curl_global_cleanup();
	return ok ? 0 : 1;
}
