/* test_template.c - `{{ name }}` checking and rendering: every variable, conf values, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/template.h"

/* 2026-11-01T06:30:15Z, 2026-10-31T00:00:00Z and 2026-11-01T00:00:00Z. */
#define LOGICAL 1793514615
#define START 1793404800
#define END 1793491200

static const char conf_text[] = "{\"s\": \"hello world\", \"n\": 42, \"neg\": -7, \"f\": 1.5, "
				"\"b\": true, \"z\": null, \"o\": {\"a\": [1, 2], \"k\": \"v\"}, "
				"\"l\": [\"x\", 3], \"e\": \"\", \"q\": \"a\\\"b {{ ds }}\", "
				"\"UP_2\": \"upper\"}";

static int setup(void **state)
{
	json_t *conf = json_loads(conf_text, 0, NULL);
	assert_non_null(conf);
	struct template_ctx *ctx = xcalloc(1, sizeof(*ctx));
	*ctx = (struct template_ctx){
	    .logical_date = LOGICAL,
	    .data_interval_start = START,
	    .data_interval_end = END,
	    .run_id = "scheduled__2026-11-01T06:30:15+00:00",
	    .dag_id = "etl",
	    .task_id = "load",
	    .try_number = 3,
	    .conf = conf,
	};
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	struct template_ctx *ctx = *state;
	json_decref((json_t *)ctx->conf);
	free(ctx);
	return 0;
}

struct render_case {
	const char *tmpl, *want;
};

static void render_all(const struct template_ctx *ctx, const struct render_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *err = NULL;
		char *got = template_render(cases[i].tmpl, ctx, &err);
		if (!got)
			fail_msg("'%s' failed: %s", cases[i].tmpl, err);
		assert_null(err);
		assert_string_equal(got, cases[i].want);
		free(got);
		assert_true(template_check(cases[i].tmpl, &err));
		assert_null(err);
	}
}

static void test_variables(void **state)
{
	static const struct render_case cases[] = {
	    {"{{ ds }}", "2026-11-01"},
	    {"{{ ds_nodash }}", "20261101"},
	    {"{{ ts }}", "2026-11-01T06:30:15+00:00"},
	    {"{{ logical_date }}", "2026-11-01T06:30:15+00:00"},
	    {"{{ data_interval_start }}", "2026-10-31T00:00:00+00:00"},
	    {"{{ data_interval_end }}", "2026-11-01T00:00:00+00:00"},
	    {"{{ run_id }}", "scheduled__2026-11-01T06:30:15+00:00"},
	    {"{{ dag_id }}", "etl"},
	    {"{{ task_id }}", "load"},
	    {"{{ try_number }}", "3"},
	    {"{{ds}}", "2026-11-01"},
	    {"{{   ds_nodash}}", "20261101"},
	    {"{{\tdag_id\t}}", "etl"},
	    {"{{\n task_id \n}}", "load"},
	};
	render_all(*state, cases, ARRAY_LEN(cases));
}

static void test_conf_values(void **state)
{
	static const struct render_case cases[] = {
	    {"{{ conf.s }}", "hello world"},
	    {"{{ conf.n }}", "42"},
	    {"{{ conf.neg }}", "-7"},
	    {"{{ conf.f }}", "1.5"},
	    {"{{ conf.b }}", "true"},
	    {"{{ conf.z }}", "null"},
	    {"{{ conf.o }}", "{\"a\":[1,2],\"k\":\"v\"}"},
	    {"{{ conf.l }}", "[\"x\",3]"},
	    {"[{{ conf.e }}]", "[]"},
	    /* A value is inserted as it is: templates inside it are not expanded. */
	    {"{{ conf.q }}", "a\"b {{ ds }}"},
	    {"{{conf.UP_2}}", "upper"},
	    {"--n={{ conf.n }} --s='{{ conf.s }}'", "--n=42 --s='hello world'"},
	};
	render_all(*state, cases, ARRAY_LEN(cases));
}

static void test_literals(void **state)
{
	static const struct render_case cases[] = {
	    {"", ""},
	    {"echo hello", "echo hello"},
	    {"a } b { c }} d", "a } b { c }} d"},
	    {"{ ds }", "{ ds }"},
	    {"{ {ds} }", "{ {ds} }"},
	    {"$HOME ${X} %s %n %%", "$HOME ${X} %s %n %%"},
	    {"%s{{ ds }}%n", "%s2026-11-01%n"},
	    {"}}{{ ds }}", "}}2026-11-01"},
	    {"x{{ds}}y", "x2026-11-01y"},
	};
	render_all(*state, cases, ARRAY_LEN(cases));
}

static void test_many(void **state)
{
	static const struct render_case cases[] = {
	    {"{{ds}}/{{ ds_nodash }}/{{dag_id}}.{{task_id}}#{{try_number}}:{{ conf.s }}{{ds}}",
	     "2026-11-01/20261101/etl.load#3:hello world2026-11-01"},
	    {"DAY={{ ds_nodash }}", "DAY=20261101"},
	    {"from {{ data_interval_start }} to {{ data_interval_end }} ({{ run_id }})",
	     "from 2026-10-31T00:00:00+00:00 to 2026-11-01T00:00:00+00:00 "
	     "(scheduled__2026-11-01T06:30:15+00:00)"},
	};
	render_all(*state, cases, ARRAY_LEN(cases));

	struct buf tmpl, want;
	buf_init(&tmpl, 0);
	buf_init(&want, 0);
	for (int i = 0; i < 2000; i++) {
		buf_printf(&tmpl, "%d:{{ ds_nodash }},", i);
		buf_printf(&want, "%d:20261101,", i);
	}
	char *got = template_render(tmpl.data, *state, NULL);
	assert_non_null(got);
	assert_string_equal(got, want.data);
	free(got);
	buf_finish(&tmpl);
	buf_finish(&want);
}

static void test_ctx_edges(void **state)
{
	struct template_ctx ctx = {.logical_date = -1, .data_interval_end = 0, .try_number = 0};
	static const struct render_case cases[] = {
	    {"{{ ds }}|{{ ds_nodash }}|{{ ts }}", "1969-12-31|19691231|1969-12-31T23:59:59+00:00"},
	    {"{{ data_interval_end }}", "1970-01-01T00:00:00+00:00"},
	    {"[{{ run_id }}][{{ dag_id }}][{{ task_id }}]", "[][][]"},
	    {"{{ try_number }}", "0"},
	};
	(void)state;
	render_all(&ctx, cases, ARRAY_LEN(cases));
	ctx.try_number = -2;
	char *got = template_render("{{ try_number }}", &ctx, NULL);
	assert_string_equal(got, "-2");
	free(got);
}

static void test_missing_conf(void **state)
{
	struct template_ctx no_conf = *(struct template_ctx *)*state;
	json_t *arr = json_array();
	static const struct {
		const char *tmpl, *err;
		int ctx; /* 0: the test conf, 1: no conf, 2: a conf that is not an object */
	} cases[] = {
	    {"{{ conf.nope }}", "conf key 'nope' is not in the run's conf", 0},
	    {"{{ ds }} {{ conf.S }}", "conf key 'S' is not in the run's conf", 0},
	    {"{{ conf.s }}", "conf key 's' is not in the run's conf", 1},
	    {"{{ conf.s }}", "conf key 's' is not in the run's conf", 2},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		no_conf.conf = cases[i].ctx == 0   ? ((struct template_ctx *)*state)->conf
			       : cases[i].ctx == 1 ? NULL
						   : arr;
		char *err = NULL;
		assert_null(template_render(cases[i].tmpl, &no_conf, &err));
		assert_non_null(err);
		assert_string_equal(err, cases[i].err);
		free(err);
		/* A missing key is a run-time error only: the template itself is fine. */
		assert_true(template_check(cases[i].tmpl, NULL));
	}
	json_decref(arr);
}

static void test_bad_templates(void **state)
{
	static const struct {
		const char *tmpl, *err;
	} cases[] = {
	    {"{{ foo }}", "unknown template variable 'foo'"},
	    {"echo {{ ds }} {{ dss }}", "unknown template variable 'dss'"},
	    {"{{ DS }}", "unknown template variable 'DS'"},
	    {"{{ conf }}", "unknown template variable 'conf'"},
	    {"{{ conf. }}", "unknown template variable 'conf.'"},
	    {"{{ conf.a.b }}", "unknown template variable 'conf.a.b'"},
	    {"{{ conf.a-b }}", "unknown template variable 'conf.a-b'"},
	    {"{{ ds | upper }}", "unknown template variable 'ds | upper'"},
	    {"{{ ds ds }}", "unknown template variable 'ds ds'"},
	    {"{{{ ds }}}", "unknown template variable '{ ds'"},
	    {"{{ }}", "empty template variable '{{ }}'"},
	    {"{{}}", "empty template variable '{{ }}'"},
	    {"echo {{ ds", "unclosed '{{' at '{{ ds'"},
	    {"{{ ds }} and {{", "unclosed '{{' at '{{'"},
	    {"}}{{", "unclosed '{{' at '{{'"},
	    {"{{ ds } }", "unclosed '{{' at '{{ ds } }'"},
	    {"{{ a long unterminated expression that goes on", "unclosed '{{' at '{{ a long "
							       "unterminated express'"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *err = NULL;
		assert_false(template_check(cases[i].tmpl, &err));
		assert_non_null(err);
		assert_string_equal(err, cases[i].err);
		free(err);
		err = NULL;
		assert_null(template_render(cases[i].tmpl, *state, &err));
		assert_non_null(err);
		assert_string_equal(err, cases[i].err);
		free(err);
	}
	assert_true(template_check(NULL, NULL));
	assert_false(template_check("{{ x }}", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_variables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_conf_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctx_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_conf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_templates, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
