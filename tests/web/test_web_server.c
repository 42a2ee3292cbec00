/* test_web_server.c - the REST API, /metrics and /health over HTTP: a real server on a free
 * loopback port, a temporary store, and the fake engine for the logs of a running try. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/sched/heartbeat.h"
#include "swarmflow/store/store_web.h"
#include "web_env.h"

static int setup(void **state)
{
	return env_setup(state, true);
}

static int setup_read_only(void **state)
{
	return env_setup(state, false);
}

static int teardown(void **state)
{
	return env_teardown(state);
}

/* Requests and checks the status; the caller finishes r. */
static void expect(struct env *e, struct http_resp *r, const char *method, const char *path,
		   const char *token, const char *body, long status)
{
	http(e, method, path, token, body, r);
	if (r->status != status)
		fail_msg("%s %s: got %ld (%s), want %ld", method, path, r->status, r->body, status);
	if (strcmp(method, "HEAD") != 0 && strcmp(path, "/metrics") != 0 &&
	    (status != 200 || strncmp(path, "/api", 4) == 0 || strcmp(path, "/health") == 0)) {
		const char *ct = http_header(r, "Content-Type");
		if (!ct || strcmp(ct, "application/json") != 0 || !r->json)
			fail_msg("%s %s: not JSON (%s): %s", method, path, ct ? ct : "none",
				 r->body);
	}
}

/* Checks that an error answer says msg (a substring). */
static void expect_error(struct env *e, const char *method, const char *path, const char *token,
			 const char *body, long status, const char *msg)
{
	struct http_resp r;
	expect(e, &r, method, path, token, body, status);
	const char *got = json_string_value(json_object_get(r.json, "error"));
	if (!got || !strstr(got, msg))
		fail_msg("%s %s: error '%s' does not say '%s'", method, path, got ? got : "none",
			 msg);
	http_finish(&r);
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_dags(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	expect(e, &r, "GET", "/ui/api/dags", NULL, NULL, 200);
	json_t *dags = json_object_get(r.json, "dags");
	assert_int_equal(json_array_size(dags), 1);
	json_t *d = json_array_get(dags, 0);
	assert_string_equal(jstr(d, "dag_id"), "api");
	assert_string_equal(jstr(d, "schedule"), "none");
	assert_int_equal(json_integer_value(json_object_get(d, "n_tasks")), 3);
	assert_true(json_is_false(json_object_get(d, "paused")));
	assert_int_equal(json_array_size(json_object_get(d, "recent_runs")), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "tags"), 0)),
			    "web");
	json_t *errors = json_object_get(r.json, "import_errors");
	assert_true(json_array_size(errors) >= 1);
	assert_non_null(strstr(jstr(json_array_get(errors, 0), "file"), "bad.dag"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, 0), "line")), 2);
	assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
	http_finish(&r);

	expect(e, &r, "GET", "/ui/api/dags/api", NULL, NULL, 200);
	json_t *tasks = json_object_get(r.json, "tasks");
	assert_int_equal(json_array_size(tasks), 3);
	assert_string_equal(jstr(json_array_get(tasks, 1), "task_id"), "two");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(json_array_get(tasks, 1), "upstream"), 0)),
			    "one");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(tasks, 1), "retries")),
			 1);
	assert_string_equal(jstr(json_array_get(tasks, 1), "image"), "busybox");
	assert_string_equal(jstr(json_array_get(tasks, 1), "trigger_rule"), "all_success");
	assert_true(json_is_false(json_object_get(r.json, "paused")));
	http_finish(&r);

	expect(e, &r, "HEAD", "/ui/api/dags/api", NULL, NULL, 200);
	assert_string_equal(r.body, "");
	http_finish(&r);
	expect_error(e, "GET", "/ui/api/dags/nosuch", NULL, NULL, 404, "unknown DAG 'nosuch'");
	expect_error(e, "GET", "/ui/api/dags/no%2Fsuch", NULL, NULL, 400, "invalid DAG id");
	expect_error(e, "GET", "/ui/api/dagz", NULL, NULL, 404, "no such endpoint");
	expect(e, &r, "DELETE", "/ui/api/dags/api", ENV_TOKEN, NULL, 405);
	assert_string_equal(http_header(&r, "Allow"), "GET, HEAD, PATCH");
	http_finish(&r);
}

static void test_ui(void **state)
{
	struct env *e = *state;
	struct http_resp r;
#if SWARMFLOW_HAVE_UI
	http(e, "GET", "/", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(http_header(&r, "Content-Type"), "text/html"));
	assert_non_null(http_header(&r, "Content-Security-Policy"));
	http_finish(&r);
#endif
	expect_error(e, "GET", "/no-such-page.js", NULL, NULL, 404, "no such page");
	expect(e, &r, "POST", "/", ENV_TOKEN, "{}", 405);
	http_finish(&r);
}

static void test_auth(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	const char *path = "/ui/api/dags/api";
	expect(e, &r, "PATCH", path, NULL, "{\"paused\": true}", 401);
	assert_non_null(strstr(http_header(&r, "WWW-Authenticate"), "Bearer"));
	http_finish(&r);
	expect_error(e, "PATCH", path, "wrong", "{\"paused\": true}", 401, "invalid bearer token");
	expect_error(e, "POST", "/ui/api/dags/api/runs", ENV_TOKEN "x", "{}", 401, "invalid");
	/* Nothing changed. */
	bool paused = true;
	char *err = NULL;
	assert_true(store_dag_is_paused(e->st, "api", &paused, &err));
	assert_false(paused);
	/* GETs need no token. */
	expect(e, &r, "GET", path, NULL, NULL, 200);
	http_finish(&r);
}

static void test_read_only(void **state)
{
	struct env *e = *state;
	expect_error(e, "POST", "/ui/api/dags/api/runs", ENV_TOKEN, "{}", 403,
		     "read-only: no api_token_file configured");
	expect_error(e, "PATCH", "/ui/api/dags/api", NULL, "{\"paused\": true}", 403, "read-only");
	struct http_resp r;
	expect(e, &r, "GET", "/ui/api/dags", NULL, NULL, 200);
	http_finish(&r);
}

static void test_pause(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	expect(e, &r, "PATCH", "/ui/api/dags/api", ENV_TOKEN, "{\"paused\": true}", 200);
	assert_true(json_is_true(json_object_get(r.json, "paused")));
	assert_string_equal(jstr(r.json, "dag_id"), "api");
	http_finish(&r);
	bool paused = false;
	char *err = NULL;
	assert_true(store_dag_is_paused(e->st, "api", &paused, &err));
	assert_true(paused);
	expect(e, &r, "GET", "/ui/api/dags", NULL, NULL, 200);
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(r.json, "dags"), 0), "paused")));
	http_finish(&r);
	expect(e, &r, "PATCH", "/ui/api/dags/api", ENV_TOKEN, "{\"paused\": false}", 200);
	assert_true(json_is_false(json_object_get(r.json, "paused")));
	http_finish(&r);
	expect_error(e, "PATCH", "/ui/api/dags/api", ENV_TOKEN, "{\"paused\": 1}", 400,
		     "paused: expected true or false");
	expect_error(e, "PATCH", "/ui/api/dags/api", ENV_TOKEN, "{}", 400, "paused");
	expect_error(e, "PATCH", "/ui/api/dags/api", ENV_TOKEN, "{\"paused\": true, \"x\": 1}", 400,
		     "unknown field 'x'");
	expect_error(e, "PATCH", "/ui/api/dags/api", ENV_TOKEN, "{\"paused\": tru", 400,
		     "invalid JSON");
	expect_error(e, "PATCH", "/ui/api/dags/api", ENV_TOKEN, "[true]", 400,
		     "expected a JSON object");
	expect_error(e, "PATCH", "/ui/api/dags/nosuch", ENV_TOKEN, "{\"paused\": true}", 404,
		     "unknown DAG");
}

static void test_trigger(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	const char *runs = "/ui/api/dags/api/runs";
	expect(e, &r, "POST", runs, ENV_TOKEN,
	       "{\"conf\": {\"day\": \"mon\"}, \"run_id\": \"r 1\"}", 400);
	http_finish(&r);
	expect(e, &r, "POST", runs, ENV_TOKEN,
	       "{\"conf\": {\"day\": \"mon\"}, \"run_id\": \"r:1\"}", 201);
	assert_string_equal(jstr(r.json, "run_id"), "r:1");
	assert_string_equal(jstr(r.json, "state"), "queued");
	assert_string_equal(jstr(r.json, "run_type"), "manual");
	assert_string_equal(jstr(json_object_get(r.json, "conf"), "day"), "mon");
	assert_true(json_is_null(json_object_get(r.json, "start_date")));
	assert_non_null(jstr(r.json, "data_interval_end"));
	assert_string_equal(http_header(&r, "Location"), "/ui/api/dags/api/runs/r%3A1");
	http_finish(&r);
	expect_error(e, "POST", runs, ENV_TOKEN, "{\"run_id\": \"r:1\"}", 409,
		     "run 'r:1' already exists for DAG 'api'");
	expect_error(e, "POST", runs, ENV_TOKEN, "{\"conf\": [1]}", 400,
		     "conf: expected a JSON object");
	expect_error(e, "POST", runs, ENV_TOKEN, "{\"run_id\": 5}", 400,
		     "run_id: expected a string");
	expect_error(e, "POST", runs, ENV_TOKEN, "{\"confx\": {}}", 400, "unknown field 'confx'");
	expect_error(e, "POST", "/ui/api/dags/nosuch/runs", ENV_TOKEN, "{}", 404, "unknown DAG");
	/* An empty body is {}: a run with a made-up id. */
	expect(e, &r, "POST", runs, ENV_TOKEN, NULL, 201);
	assert_non_null(strstr(jstr(r.json, "run_id"), "manual__"));
	http_finish(&r);

	/* Bodies over 64 KiB are refused, whatever the token says about them. */
	size_t n = WEB_MAX_BODY + 10;
	char *big = xmalloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "{\"conf\":{}", 10);
	big[n - 1] = '}';
	big[n] = '\0';
	expect_error(e, "POST", runs, ENV_TOKEN, big, 413, "request body over 65536 bytes");
	free(big);
}

/* Creates runs r0..r(n-1) through the API. */
static void make_runs(struct env *e, int n)
{
	for (int i = 0; i < n; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"run_id\": \"r%d\"}", i);
		struct http_resp r;
		expect(e, &r, "POST", "/ui/api/dags/api/runs", ENV_TOKEN, body, 201);
		http_finish(&r);
	}
}

static void test_runs(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	make_runs(e, 3);
	expect(e, &r, "GET", "/ui/api/dags/api/runs?limit=2", NULL, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 3);
	json_t *list = json_object_get(r.json, "runs");
	assert_int_equal(json_array_size(list), 2);
	http_finish(&r);
	expect(e, &r, "GET", "/ui/api/runs?dag_id=api&limit=2&offset=2", NULL, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "runs")), 1);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 3);
	http_finish(&r);
	expect(e, &r, "GET", "/ui/api/runs?state=success", NULL, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 0);
	http_finish(&r);
	expect(e, &r, "GET", "/ui/api/runs?state=queued", NULL, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 3);
	http_finish(&r);
	expect_error(e, "GET", "/ui/api/runs?limit=0", NULL, NULL, 400, "limit: expected");
	expect_error(e, "GET", "/ui/api/runs?limit=1001", NULL, NULL, 400, "limit");
	expect_error(e, "GET", "/ui/api/runs?offset=-1", NULL, NULL, 400, "offset: expected");
	expect_error(e, "GET", "/ui/api/runs?state=bogus", NULL, NULL, 400, "state: unknown");
	expect_error(e, "GET", "/ui/api/runs?dag_id=a/b", NULL, NULL, 400, "dag_id");
	expect_error(e, "GET", "/ui/api/runs?limit=1&limit=2", NULL, NULL, 400, "given twice");
	expect_error(e, "GET", "/ui/api/dags/nosuch/runs", NULL, NULL, 404, "unknown DAG");

	expect(e, &r, "GET", "/ui/api/dags/api/runs/r1", NULL, NULL, 200);
	assert_string_equal(jstr(r.json, "run_id"), "r1");
	assert_string_equal(jstr(r.json, "dag_id"), "api");
	assert_true(json_is_object(json_object_get(r.json, "conf")));
	http_finish(&r);
	expect_error(e, "GET", "/ui/api/dags/api/runs/r9", NULL, NULL, 404,
		     "no run 'r9' for DAG 'api'");

	expect(e, &r, "GET", "/ui/api/dags/api/runs/r1/tasks", NULL, NULL, 200);
	json_t *tis = json_object_get(r.json, "task_instances");
	assert_int_equal(json_array_size(tis), 3);
	json_t *two = json_array_get(tis, 1);
	assert_string_equal(jstr(two, "task_id"), "two");
	assert_string_equal(jstr(two, "state"), "none");
	assert_int_equal(json_integer_value(json_object_get(two, "max_tries")), 2);
	assert_true(json_is_null(json_object_get(two, "exit_code")));
	assert_true(json_is_null(json_object_get(two, "duration")));
	http_finish(&r);

	expect(e, &r, "GET", "/ui/api/dags/api/grid?limit=2", NULL, NULL, 200);
	json_t *tasks = json_object_get(r.json, "tasks");
	assert_int_equal(json_array_size(tasks), 3);
	assert_string_equal(json_string_value(json_array_get(tasks, 2)), "three");
	json_t *rows = json_object_get(r.json, "runs");
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(jstr(json_object_get(json_array_get(rows, 0), "tasks"), "one"), "none");
	http_finish(&r);
	expect_error(e, "GET", "/ui/api/dags/api/grid?limit=x", NULL, NULL, 400, "limit");

	expect(e, &r, "GET", "/ui/api/dags", NULL, NULL, 200);
	json_t *recent =
	    json_object_get(json_array_get(json_object_get(r.json, "dags"), 0), "recent_runs");
	assert_int_equal(json_array_size(recent), 3);
	assert_non_null(jstr(json_array_get(recent, 0), "logical_date"));
	http_finish(&r);
}

/* The task instance of task in run_id (a copy; caller finishes it). */
static void get_ti(struct env *e, const char *run_id, const char *task, struct ti *out)
{
	struct run run = {0};
	struct ti_list tis = {0};
	char *err = NULL;
	assert_true(store_run_get(e->st, "api", run_id, &run, &err));
	assert_true(store_tis_for_run(e->st, run.id, &tis, &err));
	for (size_t i = 0; i < tis.len; i++) {
		if (strcmp(tis.v[i].task_id, task) == 0) {
			*out = tis.v[i];
			tis.v[i] = (struct ti){0};
		}
	}
	ti_list_finish(&tis);
	run_finish(&run);
}

/* Records try 1 of "one" in r0 as a finished try with a log file holding text. */
static void finish_try(struct env *e, const char *run_id, const char *task, enum ti_state state,
		       const char *text)
{
	struct ti ti = {0};
	char *err = NULL;
	get_ti(e, run_id, task, &ti);
	char *name = xasprintf("%s-%s.log", run_id, task);
	env_write(e->dir, name, text);
	ti.state = state;
	ti.try_number = 1;
	ti.has_exit_code = true;
	ti.exit_code = state == TI_SUCCESS ? 0 : 3;
	free(ti.log_path);
	ti.log_path = xasprintf("%s/%s", e->dir, name);
	ti.start_ms = 1000;
	ti.end_ms = 3500;
	assert_true(store_ti_update(e->st, &ti, &err));
	assert_true(store_try_record(e->st, &ti, &err));
	ti_finish(&ti);
	free(name);
}

static void test_logs(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	make_runs(e, 1);
	finish_try(e, "r0", "one", TI_SUCCESS, "first line\nsecond \xc3\xa9 line\n\xff!");
	const char *base = "/ui/api/dags/api/runs/r0/tasks/one";
	expect(e, &r, "GET", "/ui/api/dags/api/runs/r0/tasks/one/logs/1", NULL, NULL, 200);
	assert_string_equal(jstr(r.json, "content"),
			    "first line\nsecond \xc3\xa9 line\n\xef\xbf\xbd!");
	assert_int_equal(json_integer_value(json_object_get(r.json, "next_offset")), 28);
	assert_true(json_is_true(json_object_get(r.json, "complete")));
	http_finish(&r);
	expect(e, &r, "GET", "/ui/api/dags/api/runs/r0/tasks/one/logs/1?offset=11", NULL, NULL,
	       200);
	assert_string_equal(jstr(r.json, "content"), "second \xc3\xa9 line\n\xef\xbf\xbd!");
	http_finish(&r);
	expect(e, &r, "GET", "/ui/api/dags/api/runs/r0/tasks/one/logs/1?offset=999", NULL, NULL,
	       200);
	assert_string_equal(jstr(r.json, "content"), "");
	assert_int_equal(json_integer_value(json_object_get(r.json, "next_offset")), 28);
	http_finish(&r);
	char *path = xasprintf("%s/logs/2", base);
	expect_error(e, "GET", path, NULL, NULL, 404, "task 'one' has no try 2");
	free(path);
	expect_error(e, "GET", "/ui/api/dags/api/runs/r0/tasks/two/logs/1", NULL, NULL, 404,
		     "has no try 1");
	expect_error(e, "GET", "/ui/api/dags/api/runs/r0/tasks/nosuch/logs/1", NULL, NULL, 404,
		     "run 'r0' has no task 'nosuch'");
	expect_error(e, "GET", "/ui/api/dags/api/runs/r0/tasks/one/logs/1?offset=x", NULL, NULL,
		     400, "offset");

	path = xasprintf("%s/tries", base);
	expect(e, &r, "GET", path, NULL, NULL, 200);
	free(path);
	json_t *tries = json_object_get(r.json, "tries");
	assert_int_equal(json_array_size(tries), 1);
	json_t *t = json_array_get(tries, 0);
	assert_int_equal(json_integer_value(json_object_get(t, "try_number")), 1);
	assert_string_equal(jstr(t, "state"), "success");
	assert_int_equal(json_integer_value(json_object_get(t, "exit_code")), 0);
	assert_true(json_real_value(json_object_get(t, "duration")) == 2.5);
	assert_true(json_is_true(json_object_get(t, "has_log")));
	http_finish(&r);
}

/* A running try's log comes from the engine (the fake's script for task "two"). */
static void test_live_logs(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	make_runs(e, 1);
	json_t *spec = json_pack("{s:s, s:{s:s}, s:{s:{s:s}}}", "Name", "svc_two", "Labels",
				 "swarmflow.task_id", "two", "TaskTemplate", "ContainerSpec",
				 "Image", "busybox");
	char *id = fake_engine_service_add(e->fe, spec);
	json_decref(spec);
	assert_non_null(id);
	struct ti ti = {0};
	char *err = NULL;
	get_ti(e, "r0", "two", &ti);
	ti.state = TI_RUNNING;
	ti.try_number = 1;
	ti.service_id = id;
	ti.service_name = xstrdup("svc_two");
	ti.start_ms = time_now_ms() - 1500;
	assert_true(store_ti_update(e->st, &ti, &err));
	ti_finish(&ti);
	const char *path = "/ui/api/dags/api/runs/r0/tasks/two/logs/1";
	expect(e, &r, "GET", path, NULL, NULL, 200);
	assert_string_equal(jstr(r.json, "content"), "line one\nline two\n");
	assert_int_equal(json_integer_value(json_object_get(r.json, "next_offset")), 18);
	assert_true(json_is_false(json_object_get(r.json, "complete")));
	http_finish(&r);
	expect(e, &r, "GET", "/ui/api/dags/api/runs/r0/tasks/two/logs/1?offset=9", NULL, NULL, 200);
	assert_string_equal(jstr(r.json, "content"), "line two\n");
	http_finish(&r);
	/* Its duration so far, in the task list. */
	expect(e, &r, "GET", "/ui/api/dags/api/runs/r0/tasks", NULL, NULL, 200);
	json_t *two = json_array_get(json_object_get(r.json, "task_instances"), 1);
	assert_true(json_real_value(json_object_get(two, "duration")) >= 1.5);
	http_finish(&r);
	/* The try under way is listed with the tries. */
	expect(e, &r, "GET", "/ui/api/dags/api/runs/r0/tasks/two/tries", NULL, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "tries")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "tries"), 0), "state"),
			    "running");
	http_finish(&r);
	/* An engine failure is a 502 and counted. */
	fake_engine_fault(e->fe, "/logs", "500 Internal Server Error", "{\"message\":\"boom\"}", 1);
	expect_error(e, "GET", path, NULL, NULL, 502, "boom");
	expect(e, &r, "GET", "/metrics", NULL, NULL, 200);
	assert_non_null(strstr(r.body, "swarmflow_engine_errors_total{kind=\"http_5xx\"} 1\n"));
	http_finish(&r);
}

static void test_clear(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	char *err = NULL;
	make_runs(e, 1);
	finish_try(e, "r0", "one", TI_SUCCESS, "ok\n");
	finish_try(e, "r0", "two", TI_FAILED, "broken\n");
	struct run run = {0};
	assert_true(store_run_get(e->st, "api", "r0", &run, &err));
	assert_true(store_run_set_state(e->st, run.id, RUN_FAILED, 5000, &err));
	const char *path = "/ui/api/dags/api/runs/r0/clear";
	expect_error(e, "POST", path, ENV_TOKEN, "{\"tasks\": [\"nosuch\"]}", 400,
		     "DAG 'api' has no task 'nosuch'");
	expect_error(e, "POST", path, ENV_TOKEN, "{\"tasks\": \"two\"}", 400, "tasks: expected");
	expect_error(e, "POST", path, ENV_TOKEN, "{\"downstream\": \"yes\"}", 400,
		     "downstream: expected true or false");
	expect_error(e, "POST", "/ui/api/dags/api/runs/nosuch/clear", ENV_TOKEN, "{}", 404,
		     "no run 'nosuch'");
	expect_error(e, "POST", path, NULL, "{}", 401, "missing bearer token");
	/* No tasks named: the failed ones (two), with downstream three too. */
	expect(e, &r, "POST", path, ENV_TOKEN, "{\"downstream\": true}", 200);
	json_t *cleared = json_object_get(r.json, "cleared");
	assert_int_equal(json_array_size(cleared), 2);
	assert_string_equal(jstr(json_array_get(cleared, 0), "task_id"), "two");
	assert_string_equal(jstr(json_array_get(cleared, 0), "previous_state"), "failed");
	assert_string_equal(jstr(json_array_get(cleared, 1), "task_id"), "three");
	assert_true(json_is_true(json_object_get(r.json, "requeued")));
	assert_string_equal(jstr(json_object_get(r.json, "run"), "state"), "queued");
	http_finish(&r);
	/* Nothing failed now: nothing to clear. */
	expect(e, &r, "POST", path, ENV_TOKEN, "{}", 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "cleared")), 0);
	http_finish(&r);
	/* A running task cannot be cleared. */
	struct ti ti = {0};
	get_ti(e, "r0", "two", &ti);
	ti.state = TI_RUNNING;
	assert_true(store_ti_update(e->st, &ti, &err));
	ti_finish(&ti);
	expect_error(e, "POST", path, ENV_TOKEN, "{\"tasks\": [\"two\"]}", 409,
		     "cannot clear task 'two': it is running");
	run_finish(&run);
}

/* The value of the sample line `series` in a scrape, or -1. */
static double scrape_value(const char *text, const char *series)
{
	char *needle = xasprintf("\n%s ", series);
	const char *p = strstr(text, needle);
	double v = p ? strtod(p + strlen(needle), NULL) : -1;
	free(needle);
	return v;
}

static void test_metrics_health(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	make_runs(e, 2);
	finish_try(e, "r0", "one", TI_SUCCESS, "ok\n");
	metrics_try_started(e->metrics, "api");
	expect(e, &r, "GET", "/metrics", NULL, NULL, 200);
	assert_non_null(strstr(http_header(&r, "Content-Type"), "text/plain; version=0.0.4"));
	assert_true(scrape_value(r.body, "swarmflow_task_instances{state=\"success\"}") == 1);
	assert_true(scrape_value(r.body, "swarmflow_task_instances{state=\"none\"}") == 5);
	assert_true(scrape_value(r.body, "swarmflow_dag_runs{state=\"queued\"}") == 2);
	assert_true(scrape_value(r.body, "swarmflow_dag_runs{state=\"failed\"}") == 0);
	assert_true(scrape_value(r.body, "swarmflow_dags") == 1);
	assert_true(scrape_value(r.body, "swarmflow_dag_import_errors") >= 1);
	assert_true(scrape_value(r.body, "swarmflow_tries_started_total{dag_id=\"api\"}") == 1);
	assert_true(scrape_value(r.body, "swarmflow_http_requests_total{code=\"201\"}") == 2);
	assert_non_null(strstr(r.body, "# TYPE swarmflow_poll_tick_seconds histogram\n"));
	http_finish(&r);

	expect(e, &r, "GET", "/health", NULL, NULL, 503);
	assert_string_equal(jstr(r.json, "status"), "unhealthy");
	assert_non_null(jstr(r.json, "error"));
	http_finish(&r);
	struct heartbeat hb = {
	    .time_ms = time_now_ms(), .pid = 42, .in_flight = 3, .poll_interval = 0.5};
	snprintf(hb.instance, sizeof(hb.instance), "test");
	snprintf(hb.engine, sizeof(hb.engine), "ok");
	assert_true(heartbeat_write(e->state_dir, NULL, &hb));
	expect(e, &r, "GET", "/health", NULL, NULL, 200);
	assert_string_equal(jstr(r.json, "status"), "ok");
	assert_int_equal(json_integer_value(json_object_get(r.json, "in_flight")), 3);
	assert_int_equal(json_integer_value(json_object_get(r.json, "pid")), 42);
	http_finish(&r);
	hb.time_ms -= 3600 * 1000; /* an hour old: the loop is stuck */
	assert_true(heartbeat_write(e->state_dir, NULL, &hb));
	expect(e, &r, "GET", "/health", NULL, NULL, 503);
	http_finish(&r);
}

static void test_bind_errors(void **state)
{
	struct env *e = *state;
	struct config cfg;
	config_init(&cfg);
	free(cfg.state_dir);
	cfg.state_dir = xstrdup(e->state_dir);
	free(cfg.web_listen);
	cfg.web_listen = xasprintf("127.0.0.1:%d", e->port);
	char *err = NULL;
	assert_null(web_start(&cfg, NULL, e->dags, &err));
	char *want =
	    xasprintf("web_listen 127.0.0.1:%d: cannot listen: Address already in use", e->port);
	assert_string_equal(err, want);
	free(want);
	free(err);
	err = NULL;
	free(cfg.web_listen);
	cfg.web_listen = xstrdup("no-such-host.invalid:80");
	assert_null(web_start(&cfg, NULL, e->dags, &err));
	assert_non_null(strstr(err, "web_listen no-such-host.invalid:80: "));
	free(err);
	err = NULL;
	free(cfg.web_listen);
	cfg.web_listen = xstrdup("127.0.0.1:0");
	cfg.api_token_file = xasprintf("%s/missing-token", e->dir);
	assert_null(web_start(&cfg, NULL, e->dags, &err));
	assert_non_null(strstr(err, "missing-token: No such file or directory"));
	free(err);
	config_finish(&cfg);
}

static void test_token_file(void **state)
{
	struct env *e = *state;
	struct {
		const char *text, *token, *error;
	} cases[] = {
	    {"abc\n", "abc", NULL},
	    {" \t abc-DEF_123.~+/= \r\n\n", "abc-DEF_123.~+/=", NULL},
	    {"", NULL, "the file holds no token (it is empty)"},
	    {" \n\t\n", NULL, "the file holds no token (it is empty)"},
	    {"two words\n", NULL, "the token holds a space or a control character"},
	    {"a\x01z", NULL, "the token holds a space or a control character"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		env_write(e->dir, "t", cases[i].text);
		char *path = xasprintf("%s/t", e->dir), *token = NULL, *err = NULL;
		bool ok = web_token_read(path, &token, &err);
		if (cases[i].token) {
			if (!ok)
				fail_msg("case %zu: %s", i, err);
			assert_string_equal(token, cases[i].token);
		} else {
			assert_false(ok);
			assert_non_null(strstr(err, cases[i].error));
			assert_non_null(strstr(err, path));
		}
		free(token);
		free(err);
		free(path);
	}
	char *big = xmalloc(5000);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	env_write(e->dir, "t", big);
	free(big);
	char *path = xasprintf("%s/t", e->dir), *token = NULL, *err = NULL;
	assert_false(web_token_read(path, &token, &err));
	assert_non_null(strstr(err, "larger than 4096 bytes"));
	free(err);
	free(path);
}

static size_t open_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Stopping gives back every descriptor: the listening socket, the store connections, the
 * threads' pipes. */
static void test_no_leak(void **state)
{
	struct env *e = *state;
	struct config cfg;
	config_init(&cfg);
	free(cfg.state_dir);
	cfg.state_dir = xstrdup(e->state_dir);
	free(cfg.web_listen);
	cfg.web_listen = xstrdup(":0"); /* every interface */
	/* SQLite keeps the descriptors of closed connections while another connection of the
	 * process (the test's) holds the file (POSIX locks), and reuses them: count after one
	 * round, then check that more rounds add nothing. */
	size_t before = 0;
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			before = open_fds();
		char *err = NULL;
		struct web *w = web_start(&cfg, e->metrics, e->dags, &err);
		if (!w)
			fail_msg("web_start: %s", err);
		assert_true(web_port(w) > 0);
		web_stop(w);
	}
	assert_int_equal(open_fds(), before);
	config_finish(&cfg);
}

struct hammer {
	struct env *e;
	int fails;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	static const char *const paths[] = {"/ui/api/dags", "/metrics", "/ui/api/dags/api",
					    "/ui/api/runs", "/ui/api/dags/api/grid"};
	for (int i = 0; i < 40; i++) {
		struct http_resp r;
		http(h->e, "GET", paths[i % 5], NULL, NULL, &r);
		h->fails += r.status != 200;
		http_finish(&r);
	}
	return NULL;
}

/* Readers on several connections while the snapshot is replaced and runs are added. */
static void test_concurrent(void **state)
{
	struct env *e = *state;
	struct hammer h[6];
	pthread_t th[6];
	for (int i = 0; i < 6; i++) {
		h[i] = (struct hammer){.e = e};
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &h[i]), 0);
	}
	for (int i = 0; i < 50; i++)
		web_dags_update(e->dags, &e->bag);
	make_runs(e, 5);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].fails, 0);
	}
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ui, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only, setup_read_only, teardown),
	    cmocka_unit_test_setup_teardown(test_pause, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trigger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_logs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_health, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_leak, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
