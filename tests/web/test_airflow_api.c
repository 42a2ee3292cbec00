/* test_airflow_api.c - Airflow's stable REST API (/api/v1) over HTTP without a swarm: a run
 * triggered with HTTP Basic auth, its task instances, marking, deleting and dry-run clears, the
 * 404 of what cannot map, a table of bad input that must answer 4xx Problem JSON and leave the
 * store exactly as it was, and a mapped task's instances, XCom and clear. Every answer is then
 * checked against Airflow's v1 OpenAPI document (tests/openapi/check.mjs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "web_env.h"

/* base64("x:" ENV_TOKEN) and base64("x:wrong"). */
#define BASIC_OK "Basic eDp0b2stNWUxZC1zZWNyZXQ="
#define BASIC_BAD "Basic eDp3cm9uZw=="

/* Where the exchanges go (set by meson), checked against Airflow's document at the end. */
#define EXCHANGES_ENV "SWARMFLOW_TEST_EXCHANGES"

/* A started env whose exchanges are recorded. */
static int setup(void **state)
{
	int rc = env_setup(state, true);
	struct env *e = *state;
	const char *path = getenv(EXCHANGES_ENV);
	if (path) {
		e->record = fopen(path, "a");
		assert_non_null(e->record);
	}
	return rc;
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (e->record)
		fclose(e->record);
	return env_teardown(state);
}

/* Runs tests/openapi/check.mjs on the recorded exchanges: every answer of the tests above,
 * errors too, must match Airflow's v1 OpenAPI document, and each operation named must have
 * been answered with a 2xx. */
static int check_exchanges(const char *path)
{
	const char *dir = getenv("SWARMFLOW_OPENAPI_DIR");
	if (!dir) {
		fprintf(stderr, "SWARMFLOW_OPENAPI_DIR is not set (run through meson test)\n");
		return 1;
	}
	char *script = xasprintf("%s/check.mjs", dir);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("node", "node", script, path, "get_mapped_task_instances",
		       "get_mapped_task_instance", "get_xcom_entries", "get_xcom_entry",
		       "get_task_instances", "get_task_instances_batch",
		       "post_clear_task_instances", (char *)NULL);
		perror("node (apt-get install nodejs; npm ci --prefix tests/openapi)");
		_exit(127);
	}
	int status = 0;
	bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0;
	free(script);
	if (!ok)
		fprintf(stderr,
			"answers that do not match Airflow's v1 OpenAPI document (above)\n");
	return ok ? 0 : 1;
}

/* Requests; checks the status, and for an error a Problem JSON body whose detail says msg. */
static void expect(struct env *e, struct http_resp *r, const char *method, const char *path,
		   const char *auth, const char *body, long status, const char *msg)
{
	http(e, method, path, auth, body, r);
	if (r->status != status)
		fail_msg("%s %s: got %ld (%.300s), want %ld", method, path, r->status, r->body,
			 status);
	if (status < 400)
		return;
	json_t *j = r->json;
	const char *detail = json_string_value(json_object_get(j, "detail"));
	if (!json_is_string(json_object_get(j, "type")) ||
	    !json_is_string(json_object_get(j, "title")) ||
	    json_integer_value(json_object_get(j, "status")) != status || !detail)
		fail_msg("%s %s: not Problem JSON: %.300s", method, path, r->body);
	if (msg && !strstr(detail, msg))
		fail_msg("%s %s: detail '%s' does not say '%s'", method, path, detail, msg);
}

static void expect_done(struct env *e, const char *method, const char *path, const char *auth,
			const char *body, long status, const char *msg)
{
	struct http_resp r;
	expect(e, &r, method, path, auth, body, status, msg);
	http_finish(&r);
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Every row the API could change, as one text (caller frees). */
static char *store_dump(struct env *e)
{
	char *path = xasprintf("%s/swarmflow.db", e->state_dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	static const char sql[] =
	    "SELECT 'd', quote(dag_id), quote(paused), '', '', '' FROM dags UNION ALL"
	    " SELECT 'r', id, quote(dag_id), quote(run_id), quote(state), quote(end_ms) FROM "
	    "dag_runs"
	    " UNION ALL SELECT 't', id, quote(task_id), quote(state), try_number, quote(end_ms)"
	    " FROM task_instances";
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	struct buf out;
	buf_init(&out, 0);
	buf_append(&out, "", 0);
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < sqlite3_column_count(st); i++)
			buf_printf(&out, "%s%c", (const char *)sqlite3_column_text(st, i),
				   i + 1 < sqlite3_column_count(st) ? '|' : '\n');
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return buf_steal(&out);
}

static void test_run(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	expect(e, &r, "GET", "/api/v1/dags", NULL, NULL, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total_entries")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "dags"), 0), "dag_id"),
			    "api");
	http_finish(&r);
	expect_done(e, "POST", "/api/v1/dags/api/dagRuns", BASIC_BAD, "{}", 401, "invalid");
	expect(e, &r, "POST", "/api/v1/dags/api/dagRuns", BASIC_OK,
	       "{\"dag_run_id\": \"r1\", \"conf\": {\"k\": \"v\"}}", 200, NULL);
	assert_string_equal(jstr(r.json, "dag_run_id"), "r1");
	assert_string_equal(jstr(r.json, "state"), "queued");
	http_finish(&r);

	/* Date ranges: the run's logical date is now; a run without an end is outside a range. */
	static const struct {
		const char *query;
		int total;
	} ranges[] = {
	    {"execution_date_gte=2000-01-01T00:00:00.5%2B00:00", 1},
	    {"execution_date_lte=2000-01-01", 0},
	    {"start_date_lte=2999-01-01T00:00:00Z", 0},
	    {"execution_date_gte=2000-01-01&execution_date_lte=2999-12-31T23:59:59.999Z", 1},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		char *path = xasprintf("/api/v1/dags/~/dagRuns?%s", ranges[i].query);
		expect(e, &r, "GET", path, NULL, NULL, 200, NULL);
		if (json_integer_value(json_object_get(r.json, "total_entries")) != ranges[i].total)
			fail_msg("%s: %s", path, r.body);
		http_finish(&r);
		free(path);
	}
	expect(e, &r, "POST", "/api/v1/dags/~/dagRuns/list", ENV_TOKEN,
	       "{\"end_date_gte\": \"2000-01-01\"}", 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total_entries")), 0);
	http_finish(&r);
	expect_done(e, "GET", "/api/v1/dags/~/dagRuns?start_date_gte=noon", NULL, NULL, 400,
		    "start_date_gte: expected a date-time");

	expect(e, &r, "GET", "/api/v1/dags/api/dagRuns/r1/taskInstances?order_by=-task_id", NULL,
	       NULL, 200, NULL);
	json_t *tis = json_object_get(r.json, "task_instances");
	assert_int_equal(json_array_size(tis), 3);
	assert_string_equal(jstr(json_array_get(tis, 0), "task_id"), "two");
	assert_true(json_is_null(json_object_get(json_array_get(tis, 0), "state")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(tis, 0), "map_index")),
			 -1);
	http_finish(&r);

	expect(e, &r, "PATCH", "/api/v1/dags/api/dagRuns/r1", ENV_TOKEN, "{\"state\": \"success\"}",
	       200, NULL);
	assert_string_equal(jstr(r.json, "state"), "success");
	http_finish(&r);
	expect(e, &r, "GET", "/api/v1/dags/api/dagRuns/r1/taskInstances/one", NULL, NULL, 200,
	       NULL);
	assert_string_equal(jstr(r.json, "state"), "success");
	http_finish(&r);
	/* A dry run (Airflow's default) answers what it would clear and changes nothing: the
	 * tasks stay success. */
	char *before = store_dump(e);
	expect(e, &r, "POST", "/api/v1/dags/api/clearTaskInstances", ENV_TOKEN,
	       "{\"dag_run_id\": \"r1\", \"task_ids\": [\"two\"], \"only_failed\": false, "
	       "\"include_downstream\": true}",
	       200, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "task_instances")), 2);
	http_finish(&r);
	char *after = store_dump(e);
	assert_string_equal(before, after);
	free(before);
	free(after);

	expect_done(e, "DELETE", "/api/v1/dags/api/dagRuns/r1", ENV_TOKEN, NULL, 204, NULL);
	expect_done(e, "GET", "/api/v1/dags/api/dagRuns/r1", NULL, NULL, 404, "no run 'r1'");
	expect_done(e, "GET", "/api/v1/dags/api/dagRuns/r1/taskInstances/one/xcomEntries", NULL,
		    NULL, 404, "no run 'r1'");
	expect_done(e, "GET", "/api/v1/variables/x", NULL, NULL, 404, "no Airflow variables");
}

/* One bad request and what it must answer. */
struct bad {
	const char *method, *path, *body;
	long status;
	const char *detail;
};

static const struct bad bad_input[] = {
    /* unknown fields */
    {"POST", "/api/v1/dags/api/dagRuns", "{\"colour\": 1}", 400, "unknown field 'colour'"},
    {"PATCH", "/api/v1/dags/api", "{\"is_paused\": true, \"x\": 1}", 400, "unknown field 'x'"},
    {"POST", "/api/v1/dags/~/dagRuns/list", "{\"dag_idz\": []}", 400, "unknown field"},
    {"GET", "/api/v1/dags?colour=red", NULL, 400, "'colour' is not supported"},
    /* wrong types */
    {"POST", "/api/v1/dags/api/dagRuns", "{\"conf\": \"x\"}", 400, "conf: expected"},
    {"POST", "/api/v1/dags/api/dagRuns", "{\"dag_run_id\": []}", 400, "dag_run_id: expected"},
    {"PATCH", "/api/v1/dags/api", "{\"is_paused\": 1}", 400, "is_paused: expected"},
    {"POST", "/api/v1/dags/api/clearTaskInstances", "{\"dag_run_id\": \"r0\", \"dry_run\": 0}", 400,
     "dry_run: expected"},
    {"POST", "/api/v1/dags/~/dagRuns/~/taskInstances/list", "{\"task_ids\": [1]}", 400,
     "task_ids: item 0"},
    {"POST", "/api/v1/dags/api/dagRuns", "[]", 400, "expected a JSON object"},
    {"GET", "/api/v1/dags?paused=maybe", NULL, 400, "paused: expected true or false"},
    /* bad order_by */
    {"GET", "/api/v1/dags/~/dagRuns?order_by=password", NULL, 400, "order_by"},
    {"GET", "/api/v1/dags/api/tasks?order_by=-", NULL, 400, "order_by"},
    /* negative and huge limits */
    {"GET", "/api/v1/dags/~/dagRuns?limit=-1", NULL, 400, "limit: expected an integer"},
    {"GET", "/api/v1/dags?limit=100000", NULL, 400, "limit: expected an integer"},
    {"GET", "/api/v1/pools?offset=-1", NULL, 400, "offset: expected an integer"},
    {"POST", "/api/v1/dags/~/dagRuns/list", "{\"page_limit\": 1000000000000}", 400, "page_limit"},
    /* ids with '/', '..' and NUL */
    {"GET", "/api/v1/dags/a%2Fb", NULL, 400, "invalid DAG id"},
    {"GET", "/api/v1/dags/../dagRuns", NULL, 400, "invalid DAG id"},
    {"GET", "/api/v1/dags/api%00/dagRuns", NULL, 400, "invalid DAG id"},
    {"GET", "/api/v1/dags/api/dagRuns/..%2F..", NULL, 400, "invalid run id"},
    {"GET", "/api/v1/dags/api/dagRuns/r0/taskInstances/%2E%2E", NULL, 400, "invalid task id"},
    {"POST", "/api/v1/dags/api/dagRuns", "{\"dag_run_id\": \"a/b\"}", 400, "dag_run_id"},
    {"POST", "/api/v1/dags/api/clearTaskInstances",
     "{\"dag_run_id\": \"r0\", \"task_ids\": [\"../one\"], \"dry_run\": false}", 400, "task_ids"},
    /* credentials */
    {"POST", "/api/v1/dags/api/dagRuns", "{}", 401, "missing bearer token"},
};

static void test_bad_input(void **state)
{
	struct env *e = *state;
	expect_done(e, "POST", "/api/v1/dags/api/dagRuns", ENV_TOKEN, "{\"dag_run_id\": \"r0\"}",
		    200, NULL);
	char *before = store_dump(e);
	for (size_t i = 0; i < sizeof(bad_input) / sizeof(bad_input[0]); i++) {
		const struct bad *b = &bad_input[i];
		bool needs_auth = strcmp(b->method, "GET") != 0 && b->status != 401;
		expect_done(e, b->method, b->path, needs_auth ? BASIC_OK : NULL, b->body, b->status,
			    b->detail);
	}
	/* A body over the cap is refused before it is read. */
	char *big = xmalloc(70001);
	memset(big, ' ', 70000);
	big[0] = '{';
	big[69999] = '}';
	big[70000] = '\0';
	expect_done(e, "POST", "/api/v1/dags/api/dagRuns", ENV_TOKEN, big, 413,
		    "request body over");
	free(big);
	char *after = store_dump(e);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* A DAG with a task mapped over three elements. */
static const char map_dag[] =
    "dag maps {\n"
    "  schedule = \"none\"\n"
    "  defaults { image = busybox }\n"
    "  task list { shell = \"echo x\"  output = \"marked\" }\n"
    "  task each { upstream = {list}  expand = \"{{ upstream.list.output }}\"\n"
    "              shell = \"echo {{ item }}\"  output = \"last_line\" }\n"
    "  task after { upstream = {each}  shell = \"echo after\" }\n"
    "}\n";

static int setup_mapped(void **state)
{
	int rc = setup(state);
	struct env *e = *state;
	env_write(e->dags_dir, "maps.dag", map_dag);
	dagbag_refresh(&e->bag);
	web_dags_update(e->dags, &e->bag);
	return rc;
}

/* Ends instance ti of a mapped task: state, one try, and its output (NULL: none). */
static void end_instance(struct env *e, struct ti *ti, enum ti_state state, const char *output)
{
	char *err = NULL;
	ti->state = state;
	ti->try_number = 1;
	ti->start_ms = 1700000000000;
	ti->end_ms = 1700000001000;
	ti->output = output ? xstrdup(output) : NULL;
	if (!store_ti_update(e->st, ti, &err) || !store_try_record(e->st, ti, &err))
		fail_msg("end instance: %s", err);
}

/* The map_index of every task instance of a TaskInstanceCollection, as "0,1,2". */
static char *map_indexes(json_t *collection)
{
	struct buf out;
	buf_init(&out, 0);
	buf_append(&out, "", 0);
	json_t *ti;
	size_t i;
	json_array_foreach(json_object_get(collection, "task_instances"), i, ti)
	    buf_printf(&out, "%s%lld", i ? "," : "",
		       (long long)json_integer_value(json_object_get(ti, "map_index")));
	return buf_steal(&out);
}

/* GET path answers a collection of total_entries total whose map indexes are want. */
static void expect_maps(struct env *e, const char *path, int total, const char *want)
{
	struct http_resp r;
	expect(e, &r, "GET", path, NULL, NULL, 200, NULL);
	char *got = map_indexes(r.json);
	if (json_integer_value(json_object_get(r.json, "total_entries")) != total ||
	    strcmp(got, want) != 0)
		fail_msg("%s: got %s (%.300s), want %d entries, map indexes %s", path, got, r.body,
			 total, want);
	free(got);
	http_finish(&r);
}

#define M "/api/v1/dags/maps/dagRuns/m1/taskInstances"

static void test_mapped(void **state)
{
	struct env *e = *state;
	struct http_resp r;
	char *err = NULL;
	expect_done(e, "POST", "/api/v1/dags/maps/dagRuns", ENV_TOKEN, "{\"dag_run_id\": \"m1\"}",
		    200, NULL);
	expect(e, &r, "GET", "/api/v1/dags/maps/tasks", NULL, NULL, 200, NULL);
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(r.json, "tasks"), 1), "is_mapped")));
	http_finish(&r);
	/* Not expanded yet: no mapped instance, an empty list (Airflow's answer too). */
	expect_maps(e, M "/each/listMapped", 0, "");
	expect_done(e, "GET", M "/list/listMapped", NULL, NULL, 404, "Task id list is not mapped");
	expect_done(e, "GET", M "/nope/listMapped", NULL, NULL, 404, "Task id nope not found");

	struct run run = {0};
	struct ti_list tis = {0};
	assert_true(store_run_get(e->st, "maps", "m1", &run, &err));
	assert_true(store_tis_for_run(e->st, run.id, &tis, &err));
	assert_string_equal(tis.v[1].task_id, "each");
	const char *items[] = {"\"a\"", "\"b\"", "\"c\""};
	assert_true(store_ti_expand(e->st, tis.v[1].id, items, 3, &err));
	ti_list_finish(&tis);
	assert_true(store_tis_for_run(e->st, run.id, &tis, &err));
	assert_int_equal(tis.len, 5);
	end_instance(e, &tis.v[1], TI_SUCCESS, "{\"k\": 1}");
	end_instance(e, &tis.v[2], TI_FAILED, NULL);
	end_instance(e, &tis.v[3], TI_SUCCESS, "out-2");

	/* One instance: by its map index only; the task's own path says it is mapped. */
	expect_done(e, "GET", M "/each", NULL, NULL, 404,
		    "Task instance is mapped, add the map_index value to the URL");
	expect(e, &r, "GET", M "/each/2", NULL, NULL, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "map_index")), 2);
	assert_string_equal(jstr(r.json, "state"), "success");
	http_finish(&r);
	expect(e, &r, "GET", M "/list/-1", NULL, NULL, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "map_index")), -1);
	http_finish(&r);
	expect_done(e, "GET", M "/each/7", NULL, NULL, 404, "no instance 7 of task 'each'");
	expect_done(e, "GET", M "/each/1?map_index=1", NULL, NULL, 400, "'map_index'");

	/* listMapped: paging, Airflow's orders, the state filter. */
	expect_maps(e, M "/each/listMapped", 3, "0,1,2");
	expect_maps(e, M "/each/listMapped?order_by=-map_index", 3, "2,1,0");
	expect_maps(e, M "/each/listMapped?order_by=state", 3, "1,0,2");
	expect_maps(e, M "/each/listMapped?limit=1&offset=1", 3, "1");
	expect_maps(e, M "/each/listMapped?state=success", 2, "0,2");
	expect_done(e, "GET", M "/each/listMapped?order_by=task_id", NULL, NULL, 400,
		    "ordering with 'task_id' is not supported");
	/* The lists of a run and across runs carry every instance. */
	expect_maps(e, M "?order_by=map_index", 5, "-1,-1,0,1,2");
	expect(e, &r, "POST", "/api/v1/dags/~/dagRuns/~/taskInstances/list", ENV_TOKEN,
	       "{\"task_ids\": [\"each\"]}", 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total_entries")), 3);
	http_finish(&r);

	/* XCom: return_value, the output of an ended try, per instance. */
	expect(e, &r, "GET", M "/each/xcomEntries", NULL, NULL, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total_entries")), 2);
	json_t *x = json_array_get(json_object_get(r.json, "xcom_entries"), 1);
	assert_string_equal(jstr(x, "key"), "return_value");
	assert_int_equal(json_integer_value(json_object_get(x, "map_index")), 2);
	assert_string_equal(jstr(x, "timestamp"), "2023-11-14T22:13:21.000Z");
	assert_null(json_object_get(x, "value"));
	http_finish(&r);
	expect_maps(e, M "/each/xcomEntries?map_index=2", 1, "");
	expect(e, &r, "GET", M "/each/xcomEntries?xcom_key=other", NULL, NULL, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total_entries")), 0);
	http_finish(&r);
	expect(e, &r, "GET", M "/each/xcomEntries/return_value?map_index=2", NULL, NULL, 200, NULL);
	assert_string_equal(jstr(r.json, "value"), "out-2");
	http_finish(&r);
	expect(e, &r, "GET", M "/each/xcomEntries/return_value?map_index=0", NULL, NULL, 200, NULL);
	assert_string_equal(jstr(r.json, "value"), "{\"k\": 1}");
	http_finish(&r);
	expect(e, &r, "GET", M "/each/xcomEntries/return_value?map_index=0&stringify=false", NULL,
	       NULL, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "value"), "k")),
			 1);
	http_finish(&r);
	expect_done(e, "GET", M "/each/xcomEntries/return_value", NULL, NULL, 404,
		    "task 'each' is mapped");
	expect_done(e, "GET", M "/each/xcomEntries/return_value?map_index=1", NULL, NULL, 404,
		    "has no output");
	expect_done(e, "GET", M "/each/xcomEntries/colour?map_index=2", NULL, NULL, 404,
		    "one key per task instance");
	expect_done(e, "GET", M "/each/xcomEntries/return_value?map_index=x", NULL, NULL, 400,
		    "map_index");
	expect_done(e, "GET", M "/each/xcomEntries/return_value?map_index=2&stringify=1", NULL,
		    NULL, 400, "stringify: expected true or false");
	expect_done(e, "GET", M "/nope/xcomEntries", NULL, NULL, 404, "has no task 'nope'");
	expect_done(e, "GET", M "/each/logs/1?map_index=9", NULL, NULL, 404, "no instance 9");

	/* Clearing a mapped task clears all its instances (only_failed: one of them failed),
	 * and is refused while any of them runs. */
	tis.v[3].state = TI_RUNNING;
	assert_true(store_ti_update(e->st, &tis.v[3], &err));
	char *before = store_dump(e);
	expect_done(e, "POST", "/api/v1/dags/maps/clearTaskInstances", ENV_TOKEN,
		    "{\"dag_run_id\": \"m1\", \"task_ids\": [\"each\"], \"dry_run\": false}", 409,
		    "cannot clear task 'each': it is running");
	char *after = store_dump(e);
	assert_string_equal(before, after);
	free(before);
	free(after);
	tis.v[3].state = TI_SUCCESS;
	assert_true(store_ti_update(e->st, &tis.v[3], &err));
	expect(e, &r, "POST", "/api/v1/dags/maps/clearTaskInstances", ENV_TOKEN,
	       "{\"dag_run_id\": \"m1\", \"task_ids\": [\"each\"], \"dry_run\": false}", 200, NULL);
	json_t *refs = json_object_get(r.json, "task_instances");
	assert_int_equal(json_array_size(refs), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(refs, 2), "map_index")),
			 2);
	http_finish(&r);
	expect_maps(e, M "/each/listMapped?state=none", 3, "0,1,2");
	ti_list_finish(&tis);
	run_finish(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mapped, setup_mapped, teardown),
	};
	const char *path = getenv(EXCHANGES_ENV);
	FILE *f = path ? fopen(path, "w") : NULL; /* the answers of this run only */
	if (f)
		fclose(f);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (failed || !path)
		return failed;
	return check_exchanges(path);
}
