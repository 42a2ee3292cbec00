/* test_metrics.c - counters, histograms and their Prometheus text; thread safety; the cap on
 * label values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/metrics.h"
#include "swarmflow/engine/engine.h"

static char *render(struct metrics *m)
{
	struct buf b;
	buf_init(&b, 0);
	metrics_render(m, &b);
	return buf_steal(&b);
}

/* The value of the sample line that starts with `series ` (exactly), or NAN. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return NAN;
}

static size_t count_lines_with(const char *text, const char *prefix)
{
	size_t count = 0, n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		count += strncmp(p, prefix, n) == 0;
	return count;
}

static void test_empty(void **state)
{
	struct metrics *m = metrics_create();
	char *t = render(m);
	const char *families[] = {METRIC_TRIES_STARTED, METRIC_DISPATCH_LATENCY,
				  METRIC_RUN_DURATION,  METRIC_ENGINE_ERRORS,
				  METRIC_POLL_TICK,     METRIC_HTTP_REQUESTS};
	for (size_t i = 0; i < ARRAY_LEN(families); i++) {
		char *help = xasprintf("# HELP %s ", families[i]);
		char *type = xasprintf("# TYPE %s ", families[i]);
		assert_int_equal(count_lines_with(t, help), 1);
		assert_int_equal(count_lines_with(t, type), 1);
		free(help);
		free(type);
	}
	assert_non_null(strstr(t, "# TYPE swarmflow_tries_started_total counter\n"));
	assert_non_null(strstr(t, "# TYPE swarmflow_dispatch_latency_seconds histogram\n"));
	/* Every engine error kind is there at 0; no DAG has a series yet. */
	const char *kinds[] = {"connect", "timeout", "http_4xx", "http_5xx", "decode"};
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		char *s = xasprintf("swarmflow_engine_errors_total{kind=\"%s\"}", kinds[i]);
		assert_true(sample(t, s) == 0);
		free(s);
	}
	assert_int_equal(count_lines_with(t, "swarmflow_tries_started_total{"), 0);
	assert_true(sample(t, "swarmflow_dispatch_latency_seconds_count") == 0);
	assert_true(sample(t, "swarmflow_dispatch_latency_seconds_bucket{le=\"+Inf\"}") == 0);
	assert_true(sample(t, "swarmflow_run_duration_seconds_count{state=\"success\"}") == 0);
	free(t);
	metrics_destroy(m);
}

static void test_counters(void **state)
{
	struct metrics *m = metrics_create();
	metrics_try_started(m, "zeta");
	metrics_try_started(m, "alpha");
	metrics_try_started(m, "zeta");
	metrics_http_request(m, 200);
	metrics_http_request(m, 404);
	metrics_http_request(m, 200);
	char *t = render(m);
	assert_true(sample(t, "swarmflow_tries_started_total{dag_id=\"zeta\"}") == 2);
	assert_true(sample(t, "swarmflow_tries_started_total{dag_id=\"alpha\"}") == 1);
	/* Sorted by label value: a stable scrape. */
	assert_true(strstr(t, "dag_id=\"alpha\"") < strstr(t, "dag_id=\"zeta\""));
	assert_true(sample(t, "swarmflow_http_requests_total{code=\"200\"}") == 2);
	assert_true(sample(t, "swarmflow_http_requests_total{code=\"404\"}") == 1);
	free(t);
	metrics_destroy(m);
}

static void test_histogram(void **state)
{
	struct metrics *m = metrics_create();
	metrics_dispatch_latency(m, 0.07);
	metrics_dispatch_latency(m, 0.3);
	metrics_dispatch_latency(m, 1000);
	metrics_dispatch_latency(m, 0.05); /* on a bound: counted in it (le is "<=") */
	metrics_dispatch_latency(m, -1);   /* a clock that stepped back: 0 */
	metrics_dispatch_latency(m, NAN);
	char *t = render(m);
	const char *name = "swarmflow_dispatch_latency_seconds_bucket";
	char series[128];
	struct {
		const char *le;
		double want;
	} cases[] = {{"0.01", 2}, {"0.05", 3}, {"0.1", 4}, {"0.25", 4},
		     {"0.5", 5},  {"300", 5},  {"+Inf", 6}};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		snprintf(series, sizeof(series), "%s{le=\"%s\"}", name, cases[i].le);
		double got = sample(t, series);
		if (got != cases[i].want)
			fail_msg("%s: got %g, want %g\n%s", series, got, cases[i].want, t);
	}
	assert_true(sample(t, "swarmflow_dispatch_latency_seconds_count") == 6);
	assert_true(fabs(sample(t, "swarmflow_dispatch_latency_seconds_sum") - 1000.42) < 1e-9);
	free(t);

	metrics_run_finished(m, "failed", 42);
	metrics_poll_tick(m, 0.003);
	t = render(m);
	assert_true(
	    sample(t, "swarmflow_run_duration_seconds_bucket{state=\"failed\",le=\"30\"}") == 0);
	assert_true(
	    sample(t, "swarmflow_run_duration_seconds_bucket{state=\"failed\",le=\"60\"}") == 1);
	assert_true(sample(t, "swarmflow_run_duration_seconds_count{state=\"success\"}") == 0);
	assert_true(sample(t, "swarmflow_poll_tick_seconds_bucket{le=\"0.0025\"}") == 0);
	assert_true(sample(t, "swarmflow_poll_tick_seconds_bucket{le=\"0.005\"}") == 1);
	free(t);
	metrics_destroy(m);
}

static void test_engine_kinds(void **state)
{
	struct {
		enum engine_err_kind kind;
		long status;
		const char *want;
	} cases[] = {
	    {ENGINE_ERR_CONNECT, 0, "connect"}, {ENGINE_ERR_TIMEOUT, 0, "timeout"},
	    {ENGINE_ERR_HTTP, 404, "http_4xx"}, {ENGINE_ERR_HTTP, 409, "http_4xx"},
	    {ENGINE_ERR_HTTP, 500, "http_5xx"}, {ENGINE_ERR_HTTP, 503, "http_5xx"},
	    {ENGINE_ERR_PROTOCOL, 0, "decode"}, {ENGINE_ERR_TOO_BIG, 0, "decode"},
	};
	struct metrics *m = metrics_create();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct engine_err e = {.kind = cases[i].kind, .status = cases[i].status};
		assert_string_equal(metrics_engine_kind(&e), cases[i].want);
		metrics_engine_error(m, &e);
	}
	char *t = render(m);
	assert_true(sample(t, "swarmflow_engine_errors_total{kind=\"connect\"}") == 1);
	assert_true(sample(t, "swarmflow_engine_errors_total{kind=\"http_4xx\"}") == 2);
	assert_true(sample(t, "swarmflow_engine_errors_total{kind=\"http_5xx\"}") == 2);
	assert_true(sample(t, "swarmflow_engine_errors_total{kind=\"decode\"}") == 2);
	free(t);
	metrics_destroy(m);
}

static void test_escaping(void **state)
{
	struct metrics *m = metrics_create();
	metrics_try_started(m, "a\"b\\c\nd");
	char *t = render(m);
	assert_true(sample(t, "swarmflow_tries_started_total{dag_id=\"a\\\"b\\\\c\\nd\"}") == 1);
	free(t);
	metrics_destroy(m);

	struct buf b;
	buf_init(&b, 0);
	const char *labels[] = {"x\"y", "plain"};
	double values[] = {3, 0.5};
	metrics_render_gauge(&b, "g", "A gauge.", "state", labels, values, 2);
	double one = 1;
	metrics_render_gauge(&b, "h", "Unlabelled.", NULL, NULL, &one, 1);
	assert_string_equal(b.data, "# HELP g A gauge.\n# TYPE g gauge\n"
				    "g{state=\"x\\\"y\"} 3\ng{state=\"plain\"} 0.5\n"
				    "# HELP h Unlabelled.\n# TYPE h gauge\nh 1\n");
	buf_finish(&b);
}

/* A flood of label values stops at the cap; the rest is counted under "_other". */
static void test_cap(void **state)
{
	struct metrics *m = metrics_create();
	char id[32];
	for (int i = 0; i < METRICS_MAX_SERIES + 5; i++) {
		snprintf(id, sizeof(id), "dag%05d", i);
		metrics_try_started(m, id);
	}
	metrics_try_started(m, "dag00000"); /* a known one still counts as itself */
	char *t = render(m);
	assert_int_equal(count_lines_with(t, "swarmflow_tries_started_total{"),
			 METRICS_MAX_SERIES + 1);
	assert_true(sample(t, "swarmflow_tries_started_total{dag_id=\"_other\"}") == 5);
	assert_true(sample(t, "swarmflow_tries_started_total{dag_id=\"dag00000\"}") == 2);
	free(t);
	metrics_destroy(m);
}

static void test_null(void **state)
{
	struct engine_err e = {.kind = ENGINE_ERR_CONNECT};
	metrics_try_started(NULL, "x");
	metrics_dispatch_latency(NULL, 1);
	metrics_run_finished(NULL, "success", 1);
	metrics_engine_error(NULL, &e);
	metrics_poll_tick(NULL, 1);
	metrics_http_request(NULL, 200);
	struct buf b;
	buf_init(&b, 0);
	metrics_render(NULL, &b);
	assert_int_equal(b.len, 0);
	buf_finish(&b);
	metrics_destroy(NULL);
}

#define THREADS 4
#define PER_THREAD 20000

static void *hammer(void *arg)
{
	struct metrics *m = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		metrics_try_started(m, i % 2 ? "odd" : "even");
		metrics_poll_tick(m, 0.001);
		if (i % 1000 == 0) {
			char *t = render(m); /* a scrape while the loop counts */
			free(t);
		}
	}
	return NULL;
}

/* Counts from several threads at once are all kept (no lost update). */
static void test_threads(void **state)
{
	struct metrics *m = metrics_create();
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, m), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	char *t = render(m);
	assert_true(sample(t, "swarmflow_tries_started_total{dag_id=\"odd\"}") ==
		    THREADS * PER_THREAD / 2);
	assert_true(sample(t, "swarmflow_tries_started_total{dag_id=\"even\"}") ==
		    THREADS * PER_THREAD / 2);
	assert_true(sample(t, "swarmflow_poll_tick_seconds_count") == THREADS * PER_THREAD);
	free(t);
	metrics_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),     cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_histogram), cmocka_unit_test(test_engine_kinds),
	    cmocka_unit_test(test_escaping),  cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_null),      cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
