/* test_route.c - the route table, path parameters, percent-encoding, the query, the bearer token
 * check and the UTF-8 cleaning of log text: the request parsing, without a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct route_case {
	const char *method, *target;
	enum route_id id;
	int status;
	const char *dag, *run, *task;
	int64_t try_number;
};

static void check_route(const struct route_case *c)
{
	struct route_match m;
	route_match(c->method, c->target, &m);
	if (m.id != c->id || m.status != c->status)
		fail_msg("%s %s: got route %d status %d (%s), want route %d status %d", c->method,
			 c->target, m.id, m.status, m.error, c->id, c->status);
	const char *want[] = {c->dag, c->run, c->task};
	for (int i = 0; i < 3; i++) {
		if (!want[i] != !m.args[i] || (want[i] && strcmp(want[i], m.args[i]) != 0))
			fail_msg("%s %s: arg %d is '%s', want '%s'", c->method, c->target, i,
				 m.args[i] ? m.args[i] : "(none)", want[i] ? want[i] : "(none)");
	}
	assert_int_equal(m.try_number, c->try_number);
	route_match_finish(&m);
}

static void test_routes(void **state)
{
	static const struct route_case cases[] = {
	    {"GET", "/ui/api/dags", R_DAGS, 0, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/", R_DAGS, 0, NULL, NULL, NULL, 0},
	    {"HEAD", "/ui/api/dags?x=1", R_DAGS, 0, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl", R_DAG, 0, "etl", NULL, NULL, 0},
	    {"PATCH", "/ui/api/dags/etl", R_DAG_PATCH, 0, "etl", NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs?state=failed", R_DAG_RUNS, 0, "etl", NULL, NULL, 0},
	    {"POST", "/ui/api/dags/etl/runs", R_TRIGGER, 0, "etl", NULL, NULL, 0},
	    {"GET", "/ui/api/runs?dag_id=etl", R_RUNS, 0, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/manual__2026-11-21T18%3A30%3A00Z", R_RUN, 0, "etl",
	     "manual__2026-11-21T18:30:00Z", NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/manual__2026-11-21T18:30:00Z/tasks", R_RUN_TASKS, 0,
	     "etl", "manual__2026-11-21T18:30:00Z", NULL, 0},
	    {"GET", "/ui/api/dags/etl/grid?limit=5", R_GRID, 0, "etl", NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/r%2B1/tasks/load/tries", R_TRIES, 0, "etl", "r+1",
	     "load", 0},
	    {"GET", "/ui/api/dags/etl/runs/r1/tasks/load/logs/3?offset=10", R_LOGS, 0, "etl", "r1",
	     "load", 3},
	    {"POST", "/ui/api/dags/etl/runs/r1/clear", R_CLEAR, 0, "etl", "r1", NULL, 0},
	    {"GET", "/metrics", R_METRICS, 0, NULL, NULL, NULL, 0},
	    {"GET", "/health", R_HEALTH, 0, NULL, NULL, NULL, 0},
	    {"GET", "/", R_UI, 0, NULL, NULL, NULL, 0},
	    {"GET", "/app.js?v=2", R_UI, 0, NULL, NULL, NULL, 0},
	    {"GET", "/healthz", R_UI, 0, NULL, NULL, NULL, 0},
	    /* Airflow's API: "~" rows before the parameter rows. */
	    {"GET", "/api/v1/health", R_AF_HEALTH, 0, NULL, NULL, NULL, 0},
	    {"GET", "/api/v1/dags?tags=a&tags=b", R_AF_DAGS, 0, NULL, NULL, NULL, 0},
	    {"PATCH", "/api/v1/dags/etl?update_mask=is_paused", R_AF_DAG_PATCH, 0, "etl", NULL,
	     NULL, 0},
	    {"GET", "/api/v1/dags/~/dagRuns", R_AF_RUNS, 0, NULL, NULL, NULL, 0},
	    {"GET", "/api/v1/dags/etl/dagRuns", R_AF_RUNS, 0, "etl", NULL, NULL, 0},
	    {"POST", "/api/v1/dags/~/dagRuns/list", R_AF_RUNS_LIST, 0, NULL, NULL, NULL, 0},
	    {"POST", "/api/v1/dags/~/dagRuns/~/taskInstances/list", R_AF_TIS_LIST, 0, NULL, NULL,
	     NULL, 0},
	    {"DELETE", "/api/v1/dags/etl/dagRuns/r1", R_AF_RUN_DELETE, 0, "etl", "r1", NULL, 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/load/logs/2", R_AF_LOGS, 0, "etl",
	     "r1", "load", 2},
	    {"POST", "/api/v1/dags/etl/clearTaskInstances", R_AF_CLEAR_TIS, 0, "etl", NULL, NULL,
	     0},
	    {"GET", "/api/v1/pools/default_pool", R_AF_POOL, 0, NULL, NULL, NULL, 0},
	    {"GET", "/api/v1/variables", R_NONE, 404, NULL, NULL, NULL, 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/xcomEntries", R_AF_XCOMS, 0, "etl",
	     "r1", "t", 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/xcomEntries/return_value",
	     R_AF_XCOM, 0, "etl", "r1", "t", 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/listMapped", R_AF_TIS_MAPPED, 0,
	     "etl", "r1", "t", 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/3", R_AF_TI_MAPPED, 0, "etl", "r1",
	     "t", 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/-1", R_AF_TI_MAPPED, 0, "etl",
	     "r1", "t", 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/-2", R_NONE, 400, NULL, NULL, NULL,
	     0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/x1", R_NONE, 400, NULL, NULL, NULL,
	     0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/99999999999", R_NONE, 400, NULL,
	     NULL, NULL, 0},
	    {"GET", "/api/v1/dags/etl/dagRuns/r1/taskInstances/t/xcomEntries/a%00b", R_NONE, 400,
	     NULL, NULL, NULL, 0},
	    {"GET", "/api/v1/dags/~", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/api/v1/dags/..", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/api/v1/pools/a%2Fb", R_NONE, 400, NULL, NULL, NULL, 0},
	    /* Wrong methods, unknown endpoints, bad parameters. */
	    {"DELETE", "/ui/api/dags/etl", R_NONE, 405, NULL, NULL, NULL, 0},
	    {"POST", "/ui/api/dags", R_NONE, 405, NULL, NULL, NULL, 0},
	    {"POST", "/metrics", R_NONE, 405, NULL, NULL, NULL, 0},
	    {"POST", "/index.html", R_NONE, 405, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/nothing", R_NONE, 404, NULL, NULL, NULL, 0},
	    {"GET", "/api", R_NONE, 404, NULL, NULL, NULL, 0},
	    {"GET", "/api/v2/dags", R_NONE, 404, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags//runs", R_NONE, 404, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/r1/tasks/t/logs/1/2/3/4/5", R_NONE, 404, NULL, NULL,
	     NULL, 0},
	    {"GET", "/ui/api/dags/bad%2Fid", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/bad%00id", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/bad%zzid", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/-dash", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/a%20b", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/r1/tasks/t/logs/0", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/r1/tasks/t/logs/x1", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "/ui/api/dags/etl/runs/r1/tasks/t/logs/-1", R_NONE, 400, NULL, NULL, NULL, 0},
	    {"GET", "http://host/ui/api/dags", R_NONE, 400, NULL, NULL, NULL, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		check_route(&cases[i]);
}

static void test_route_details(void **state)
{
	struct route_match a;
	route_match("GET", "/api/v1/connections/c1", &a);
	assert_int_equal(a.status, 404);
	assert_true(a.airflow);
	assert_non_null(strstr(a.error, "no Airflow connections"));
	route_match_finish(&a);
	route_match("DELETE", "/api/v1/dags/etl/dagRuns/r1", &a);
	assert_true(a.mutating && a.airflow);
	route_match_finish(&a);
	route_match("GET", "/ui/api/dags", &a);
	assert_false(a.airflow);
	route_match_finish(&a);
	struct route_match m;
	route_match("DELETE", "/ui/api/dags/etl", &m);
	assert_string_equal(m.allow, "GET, HEAD, PATCH");
	route_match_finish(&m);
	route_match("PUT", "/ui/api/dags/etl/runs", &m);
	assert_string_equal(m.allow, "GET, HEAD, POST");
	route_match_finish(&m);
	route_match("GET", "/ui/api/dags/bad%2Fid", &m);
	assert_string_equal(m.error, "invalid DAG id 'bad%2Fid'");
	route_match_finish(&m);
	route_match("GET", "/ui/api/nothing", &m);
	assert_string_equal(m.error, "no such endpoint: /ui/api/nothing");
	route_match_finish(&m);
	/* Only PATCH and POST need the token. */
	route_match("PATCH", "/ui/api/dags/etl", &m);
	assert_true(m.mutating);
	route_match_finish(&m);
	route_match("GET", "/ui/api/dags/etl", &m);
	assert_false(m.mutating);
	route_match_finish(&m);
	route_match("POST", "/ui/api/dags/etl/runs/r/clear", &m);
	assert_true(m.mutating);
	route_match_finish(&m);
	/* A mapped instance's index and an XCom key, decoded. */
	route_match("GET", "/api/v1/dags/etl/dagRuns/r/taskInstances/t/12", &m);
	assert_int_equal(m.map_index, 12);
	assert_string_equal(m.args[ARG_MAP], "12");
	route_match_finish(&m);
	route_match("GET", "/api/v1/dags/etl/dagRuns/r/taskInstances/t/xcomEntries/my%20key", &m);
	assert_string_equal(m.args[ARG_KEY], "my key");
	route_match_finish(&m);
	route_match("POST", "/api/v1/dags/etl/dagRuns/r/taskInstances/t/listMapped", &m);
	assert_int_equal(m.status, 405);
	assert_string_equal(m.allow, "GET, HEAD");
	route_match_finish(&m);
}

static void test_url_coding(void **state)
{
	char *s = url_decode("%41%2f+x", 8, true);
	assert_string_equal(s, "A/ x");
	free(s);
	s = url_decode("a+b", 3, false);
	assert_string_equal(s, "a+b");
	free(s);
	s = url_decode("abc%4", 3, false); /* only 3 bytes: "abc" */
	assert_string_equal(s, "abc");
	free(s);
	assert_null(url_decode("%4", 2, false));
	assert_null(url_decode("abc%4", 5, false)); /* the escape runs past len */
	assert_null(url_decode("%zz", 3, false));
	assert_null(url_decode("%00", 3, false));
	struct buf b;
	buf_init(&b, 0);
	url_encode_segment(&b, "manual__2026-11-21T18:30:00Z/x y~");
	assert_string_equal(b.data, "manual__2026-11-21T18%3A30%3A00Z%2Fx%20y~");
	buf_finish(&b);
}

static void test_query(void **state)
{
	struct query q;
	char *err = NULL;
	assert_true(query_parse("/x?a=1&b=x%20y+z&c&&d=#frag", false, &q, &err));
	assert_string_equal(query_get(&q, "a"), "1");
	assert_string_equal(query_get(&q, "b"), "x y z");
	assert_string_equal(query_get(&q, "c"), "");
	assert_string_equal(query_get(&q, "d"), "");
	assert_null(query_get(&q, "e"));
	int64_t v = 0;
	assert_true(query_int(&q, "a", 25, 1, 1000, &v, &err));
	assert_int_equal(v, 1);
	assert_true(query_int(&q, "missing", 25, 1, 1000, &v, &err));
	assert_int_equal(v, 25);
	assert_false(query_int(&q, "b", 25, 1, 1000, &v, &err));
	assert_string_equal(err, "b: expected an integer from 1 to 1000, got 'x y z'");
	free(err);
	err = NULL;
	assert_false(query_int(&q, "c", 25, 1, 1000, &v, &err));
	free(err);
	err = NULL;
	query_finish(&q);

	assert_true(query_parse("/x?limit=1001", false, &q, &err));
	assert_false(query_int(&q, "limit", 25, 1, 1000, &v, &err));
	assert_string_equal(err, "limit: expected an integer from 1 to 1000, got '1001'");
	free(err);
	err = NULL;
	query_finish(&q);

	assert_true(query_parse("/x", false, &q, &err));
	assert_int_equal(q.keys.len, 0);
	query_finish(&q);
	assert_true(query_parse("/x?state=a&state=b&limit=1", true, &q, &err));
	struct strv all = {0};
	query_get_all(&q, "state", &all);
	assert_int_equal(all.len, 2);
	assert_string_equal(all.v[1], "b");
	static const char *const known[] = {"state", NULL};
	assert_string_equal(query_unknown(&q, known), "limit");
	strv_finish(&all);
	query_finish(&q);
	assert_false(query_parse("/x?a=1&a=2", false, &q, &err));
	assert_string_equal(err, "parameter 'a' given twice");
	free(err);
	err = NULL;
	assert_false(query_parse("/x?a=%G1", false, &q, &err));
	assert_string_equal(err, "bad percent-encoding in the query");
	free(err);
}

static void test_auth(void **state)
{
	const char *why = NULL;
	assert_int_equal(auth_check("Bearer tok", NULL, &why), 403);
	assert_string_equal(why, "read-only: no api_token_file configured");
	assert_int_equal(auth_check(NULL, "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Basic czNjcmV0", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Bearer s3cret", "s3cret-token", &why), 401);
	assert_string_equal(why, "invalid bearer token or Basic auth password");
	assert_int_equal(auth_check("Bearer s3cret-token-and-more", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Bearer S3cret-token", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Bearer ", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Bearer s3cret-token", "s3cret-token", &why), 0);
	assert_int_equal(auth_check("bearer  s3cret-token", "s3cret-token", &why), 0);
	/* HTTP Basic, as Airflow's clients send it: the token is the password, any user. */
	assert_int_equal(auth_check("Basic YWRtaW46czNjcmV0LXRva2Vu", "s3cret-token", &why), 0);
	assert_int_equal(auth_check("basic OnMzY3JldC10b2tlbg==", "s3cret-token", &why), 0);
	assert_int_equal(auth_check("Basic YWRtaW46d3Jvbmc=", "s3cret-token", &why), 401);
	assert_string_equal(why, "invalid bearer token or Basic auth password");
	assert_int_equal(auth_check("Basic YWRtaW46czNjcmV0LXRva2VuLXg=", "s3cret-token", &why),
			 401);
	assert_int_equal(auth_check("Basic dTpzM2NyZXQtdG9r", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Basic bm9jb2xvbg==", "s3cret-token", &why), 401);
	assert_non_null(strstr(why, "missing bearer token"));
	assert_int_equal(auth_check("Basic YQA6czNjcmV0LXRva2Vu", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Basic YWRtaW46czNjcmV0LXRva2Vu=", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Basic YWRt=W46czNjcmV0LXRva2Vu", "s3cret-token", &why), 401);
	assert_int_equal(auth_check("Basic ", "s3cret-token", &why), 401);
}

static void check_clean(const char *in, size_t len, bool at_end, const char *want, size_t want_used)
{
	size_t used = 99;
	char *out = utf8_clean(in, len, at_end, &used);
	assert_string_equal(out, want);
	assert_int_equal(used, want_used);
	free(out);
}

static void test_utf8(void **state)
{
	check_clean("plain\n", 6, true, "plain\n", 6);
	check_clean("h\xc3\xa9!", 4, true, "h\xc3\xa9!", 4);
	check_clean("\xf0\x9f\x98\x80", 4, false, "\xf0\x9f\x98\x80", 4);
	/* Bad bytes become U+FFFD, one each. */
	check_clean("a\xffz", 3, true, "a\xef\xbf\xbdz", 3);
	check_clean("\xc0\x80", 2, true, "\xef\xbf\xbd\xef\xbf\xbd", 2); /* overlong */
	check_clean("\xed\xa0\x80", 3, true, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		    3); /* UTF-16 surrogate */
	check_clean("\xf4\x90\x80\x80", 4, true, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		    4); /* above U+10FFFF */
	check_clean("a\0b", 3, true,
		    "a\xef\xbf\xbd"
		    "b",
		    3);
	/* A character cut by the chunk's end waits for the next chunk, unless the log ends. */
	check_clean("ab\xe2\x82", 4, false, "ab", 2);
	check_clean("ab\xe2\x82", 4, true, "ab\xef\xbf\xbd\xef\xbf\xbd", 4);
	check_clean("ab\xe2\x28", 4, false, "ab\xef\xbf\xbd(", 4); /* not a prefix: bad now */
	check_clean("", 0, true, "", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes),     cmocka_unit_test(test_route_details),
	    cmocka_unit_test(test_url_coding), cmocka_unit_test(test_query),
	    cmocka_unit_test(test_auth),       cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
