/* test_template_data.c - the data variables of templates: upstream outputs, output_json keys,
 * exit codes, a mapped upstream's outputs, item and map_index, and the preview of
 * `dags show --spec`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/template.h"

/* 2026-11-01T00:00:00Z. */
#define LOGICAL 1793491200

/* What a try of a downstream task sees of its upstreams (the shape sched/data.c builds). */
static const char upstream_text[] =
    "{\"a\": {\"state\": \"success\", \"output\": \"hello world\", \"exit_code\": 0},"
    " \"j\": {\"state\": \"success\", \"exit_code\": 0, \"output\":"
    " \"{\\\"rows\\\": 42, \\\"table\\\": \\\"sales\\\", \\\"o\\\": {\\\"x\\\": [1, true]},"
    " \\\"n\\\": null, \\\"e\\\": \\\"\\\", \\\"f\\\": 2.5, \\\"u\\\": \\\"caf\\u00e9\\\","
    " \\\"output\\\": \\\"inner\\\", \\\"exit_code\\\": 7, \\\"outputs_json\\\": [0]}\"},"
    " \"arr\": {\"state\": \"success\", \"output\": \"[1, 2]\", \"exit_code\": 0},"
    " \"txt\": {\"state\": \"success\", \"output\": \"not json\", \"exit_code\": 0},"
    " \"empty\": {\"state\": \"success\", \"output\": \"\", \"exit_code\": 0},"
    " \"lines\": {\"state\": \"success\", \"output\": \"one\\ntwo {{ ds }}\", \"exit_code\": 0},"
    " \"f\": {\"state\": \"failed\", \"output\": null, \"exit_code\": 3},"
    " \"sk\": {\"state\": \"skipped\", \"output\": null, \"exit_code\": null},"
    " \"nostate\": {},"
    " \"odd\": {\"state\": \"success\", \"output\": \"x\", \"outputs\": \"not an array\"},"
    " \"a.b-c\": {\"state\": \"success\", \"output\": \"{\\\"k\\\": \\\"dotted\\\"}\","
    " \"exit_code\": 255},"
    " \"m\": {\"state\": \"success\", \"output\": null, \"exit_code\": null,"
    " \"outputs\": [{\"file\": \"a.csv\", \"n\": 0}, \"b\", null, 3, [\"x\"]]},"
    " \"m0\": {\"state\": \"skipped\", \"output\": null, \"exit_code\": null, \"outputs\": []}}";

struct fixture {
	json_t *upstream;
	json_t *item;
	struct template_ctx ctx;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	json_error_t jerr;
	f->upstream = json_loads(upstream_text, 0, &jerr);
	if (!f->upstream)
		fail_msg("fixture JSON: %s at %d", jerr.text, jerr.position);
	f->ctx = (struct template_ctx){
	    .logical_date = LOGICAL,
	    .data_interval_start = LOGICAL,
	    .data_interval_end = LOGICAL,
	    .run_id = "manual__1",
	    .dag_id = "d",
	    .task_id = "t",
	    .try_number = 1,
	    .upstream = f->upstream,
	    .map_index = -1,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	json_decref(f->upstream);
	json_decref(f->item);
	free(f);
	return 0;
}

/* Sets the fixture's item (a JSON text; NULL: none) and map_index. */
static void set_item(struct fixture *f, const char *item_json, int map_index)
{
	json_decref(f->item);
	f->item = item_json ? json_loads(item_json, JSON_DECODE_ANY, NULL) : NULL;
	if (item_json)
		assert_non_null(f->item);
	f->ctx.item = f->item;
	f->ctx.map_index = map_index;
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
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("'%s' gave '%s', want '%s'", cases[i].tmpl, got, cases[i].want);
		free(got);
		assert_true(template_check(cases[i].tmpl, NULL));
	}
}

/* The template is valid (template_check) but rendering it fails with exactly want. */
static void render_fails(const struct template_ctx *ctx, const char *tmpl, const char *want)
{
	char *err = NULL;
	char *got = template_render(tmpl, ctx, &err);
	if (got)
		fail_msg("'%s' gave '%s', want the error '%s'", tmpl, got, want);
	assert_non_null(err);
	if (strcmp(err, want) != 0)
		fail_msg("'%s' failed with '%s', want '%s'", tmpl, err, want);
	free(err);
	assert_true(template_check(tmpl, NULL));
}

static void test_output(void **state)
{
	struct fixture *f = *state;
	static const struct render_case cases[] = {
	    {"{{ upstream.a.output }}", "hello world"},
	    {"[{{upstream.a.output}}]", "[hello world]"},
	    {"x{{ upstream.empty.output }}y", "xy"},
	    /* An output is inserted as it is: templates inside it are not expanded. */
	    {"{{ upstream.lines.output }}", "one\ntwo {{ ds }}"},
	    {"{{ upstream.j.output }}",
	     "{\"rows\": 42, \"table\": \"sales\", \"o\": {\"x\": [1, true]}, \"n\": null, "
	     "\"e\": \"\", \"f\": 2.5, \"u\": \"caf\xc3\xa9\", \"output\": \"inner\", "
	     "\"exit_code\": 7, \"outputs_json\": [0]}"},
	    {"{{ upstream.a.b-c.output }}", "{\"k\": \"dotted\"}"},
	    {"{{ ds }}:{{ upstream.a.output }}:{{ upstream.txt.output }}",
	     "2026-11-01:hello world:not json"},
	};
	render_all(&f->ctx, cases, ARRAY_LEN(cases));
}

static void test_output_json(void **state)
{
	struct fixture *f = *state;
	static const struct render_case cases[] = {
	    {"{{ upstream.j.output_json.table }}", "sales"},
	    {"{{ upstream.j.output_json.rows }}", "42"},
	    {"{{ upstream.j.output_json.o }}", "{\"x\":[1,true]}"},
	    {"{{ upstream.j.output_json.n }}", "null"},
	    {"[{{ upstream.j.output_json.e }}]", "[]"},
	    {"{{ upstream.j.output_json.f }}", "2.5"},
	    {"{{ upstream.j.output_json.u }}", "caf\xc3\xa9"},
	    {"{{ upstream.a.b-c.output_json.k }}", "dotted"},
	    /* KEY may be a name that also ends the other forms. */
	    {"{{ upstream.j.output_json.output }}", "inner"},
	    {"{{ upstream.j.output_json.exit_code }}", "7"},
	    {"{{ upstream.j.output_json.outputs_json }}", "[0]"},
	    {"{{ upstream.j.output_json.table }} has {{ upstream.j.output_json.rows }} rows",
	     "sales has 42 rows"},
	};
	render_all(&f->ctx, cases, ARRAY_LEN(cases));
	render_fails(&f->ctx, "{{ upstream.j.output_json.missing }}",
		     "upstream 'j': output_json.missing: the output has no key 'missing'");
	render_fails(&f->ctx, "{{ upstream.j.output_json.Table }}",
		     "upstream 'j': output_json.Table: the output has no key 'Table'");
	render_fails(&f->ctx, "{{ upstream.arr.output_json.k }}",
		     "upstream 'arr': output_json.k: the output is not a JSON object (another JSON "
		     "value)");
	render_fails(&f->ctx, "{{ upstream.a.output_json.k }}",
		     "upstream 'a': output_json.k: the output is not a JSON object (invalid token "
		     "near 'hello')");
	render_fails(
	    &f->ctx, "{{ upstream.txt.output_json.k }}",
	    "upstream 'txt': output_json.k: the output is not a JSON object (invalid token "
	    "near 'not')");
	render_fails(&f->ctx, "{{ upstream.empty.output_json.k }}",
		     "upstream 'empty': output_json.k: the output is not a JSON object (unexpected "
		     "token near end of file)");
	render_fails(&f->ctx, "{{ upstream.f.output_json.k }}",
		     "upstream 'f' has no output (it is failed)");
}

static void test_exit_code(void **state)
{
	struct fixture *f = *state;
	static const struct render_case cases[] = {
	    {"{{ upstream.a.exit_code }}", "0"},
	    {"rc={{ upstream.f.exit_code }}", "rc=3"},
	    {"{{ upstream.a.b-c.exit_code }}", "255"},
	};
	render_all(&f->ctx, cases, ARRAY_LEN(cases));
	render_fails(&f->ctx, "{{ upstream.sk.exit_code }}",
		     "upstream 'sk' has no exit code (it is skipped)");
	render_fails(&f->ctx, "{{ upstream.nostate.exit_code }}",
		     "upstream 'nostate' has no exit code (it is not finished)");
}

/* What a try lacks: an upstream that gave no output, or one it does not know. */
static void test_missing_upstream(void **state)
{
	struct fixture *f = *state;
	render_fails(&f->ctx, "{{ upstream.f.output }}",
		     "upstream 'f' has no output (it is failed)");
	render_fails(&f->ctx, "{{ upstream.sk.output }}",
		     "upstream 'sk' has no output (it is skipped)");
	render_fails(&f->ctx, "{{ upstream.nostate.output }}",
		     "upstream 'nostate' has no output (it is not finished)");
	render_fails(&f->ctx, "{{ upstream.zz.output }}", "upstream 'zz' is not known to this try");
	render_fails(&f->ctx, "ok {{ upstream.a.output }} {{ upstream.zz.exit_code }}",
		     "upstream 'zz' is not known to this try");
	struct template_ctx none = f->ctx;
	none.upstream = NULL;
	render_fails(&none, "{{ upstream.a.output }}", "upstream 'a' is not known to this try");
	render_fails(&none, "{{ upstream.a.outputs_json }}",
		     "upstream 'a' is not known to this try");
}

static void test_outputs_json(void **state)
{
	struct fixture *f = *state;
	static const struct render_case cases[] = {
	    {"{{ upstream.m.outputs_json }}",
	     "[{\"file\":\"a.csv\",\"n\":0},\"b\",null,3,[\"x\"]]"},
	    {"{{ upstream.m0.outputs_json }}", "[]"},
	};
	render_all(&f->ctx, cases, ARRAY_LEN(cases));
	/* Map order is the array's order, whatever it holds. */
	json_t *m = json_object_get(f->upstream, "m");
	json_object_set_new(m, "outputs", json_pack("[ssi]", "second", "first", 0));
	char *got = template_render("{{ upstream.m.outputs_json }}", &f->ctx, NULL);
	assert_string_equal(got, "[\"second\",\"first\",0]");
	free(got);
	render_fails(&f->ctx, "{{ upstream.a.outputs_json }}", "upstream 'a' is not mapped");
	render_fails(&f->ctx, "{{ upstream.odd.outputs_json }}", "upstream 'odd' is not mapped");
	render_fails(&f->ctx, "{{ upstream.m.output }}",
		     "upstream 'm' has no output (it is success)");
}

static void test_item(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *item, *tmpl, *want;
		int index;
	} cases[] = {
	    {"\"eu-west\"", "region={{ item }}", "region=eu-west", 0},
	    {"\"\"", "[{{ item }}]", "[]", 1},
	    {"\"say \\\"hi\\\" {{ ds }}\"", "{{ item }}", "say \"hi\" {{ ds }}", 2},
	    {"{\"file\": \"a.csv\", \"n\": 2}", "{{ item }}", "{\"file\":\"a.csv\",\"n\":2}", 2},
	    {"[1, \"x\"]", "{{item}}", "[1,\"x\"]", 3},
	    {"42", "{{ item }}#{{ map_index }}", "42#4", 4},
	    {"-1.5", "{{ item }}", "-1.5", 5},
	    {"true", "{{ item }}", "true", 6},
	    {"null", "{{ item }}", "null", 7},
	    {"\"x\"", "{{ map_index }}/{{ map_index }}", "1023/1023", 1023},
	    {"\"x\"", "{{ map_index }}", "0", 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		set_item(f, cases[i].item, cases[i].index);
		struct render_case rc = {cases[i].tmpl, cases[i].want};
		render_all(&f->ctx, &rc, 1);
	}
	set_item(f, NULL, -1);
	render_fails(&f->ctx, "{{ item }}", "item: this task is not mapped");
}

/* `dags show --spec`: the data variables are left exactly as written; the run's own
 * variables are still rendered, and a missing conf key is still an error. */
static void test_preview(void **state)
{
	struct fixture *f = *state;
	struct template_ctx p = f->ctx;
	p.preview = true;
	p.upstream = NULL;
	p.item = NULL;
	static const struct render_case cases[] = {
	    {"{{ upstream.a.output }}", "{{ upstream.a.output }}"},
	    {"{{upstream.zz.output_json.k}}", "{{upstream.zz.output_json.k}}"},
	    {"x {{  upstream.f.exit_code\t}} y", "x {{  upstream.f.exit_code\t}} y"},
	    {"{{ upstream.m.outputs_json }}", "{{ upstream.m.outputs_json }}"},
	    {"{{ item }}-{{map_index}}", "{{ item }}-{{map_index}}"},
	    {"{{ ds }} {{ item }} {{ task_id }}", "2026-11-01 {{ item }} t"},
	};
	render_all(&p, cases, ARRAY_LEN(cases));
	render_fails(&p, "{{ item }} {{ conf.k }}", "conf key 'k' is not in the run's conf");
	char *err = NULL;
	assert_null(template_render("{{ item }} {{ bad }}", &p, &err));
	assert_string_equal(err, "unknown template variable 'bad'");
	free(err);
	/* Without preview the same context fails on the first data variable. */
	p.preview = false;
	render_fails(&p, "{{ ds }} {{ item }}", "item: this task is not mapped");
}

/* What template_refs reports, in order (for dag_data_validate). */
struct seen {
	struct buf b;
};

static void on_ref(void *ctx, enum template_ref kind, const char *task, size_t len)
{
	static const char *const names[] = {
	    [TEMPLATE_REF_OUTPUT] = "output",       [TEMPLATE_REF_OUTPUT_JSON] = "output_json",
	    [TEMPLATE_REF_EXIT_CODE] = "exit_code", [TEMPLATE_REF_OUTPUTS_JSON] = "outputs_json",
	    [TEMPLATE_REF_ITEM] = "item",           [TEMPLATE_REF_MAP_INDEX] = "map_index",
	};
	struct seen *s = ctx;
	buf_printf(&s->b, "%s(%.*s) ", names[kind], task ? (int)len : 4, task ? task : "NULL");
}

static void test_refs(void **state)
{
	(void)state;
	struct seen s;
	buf_init(&s.b, 0);
	buf_append(&s.b, "", 0);
	assert_true(template_refs("{{ ds }}{{ upstream.a.output }} {{ item }}{{ conf.x }}"
				  "{{upstream.b.c.output_json.output}}{{ upstream.a.exit_code }}"
				  "{{ upstream.x.output_json.exit_code }}"
				  "{{ map_index }}{{ upstream.m-1.outputs_json }}",
				  on_ref, &s, NULL));
	assert_string_equal(s.b.data,
			    "output(a) item(NULL) output_json(b.c) exit_code(a) output_json(x) "
			    "map_index(NULL) outputs_json(m-1) ");
	buf_reset(&s.b);
	buf_append(&s.b, "", 0);
	/* A task id may hold ".output_json." when what follows is no KEY. */
	assert_true(template_refs("{{ upstream.a.output_json.b.output }}", on_ref, &s, NULL));
	assert_string_equal(s.b.data, "output(a.output_json.b) ");
	buf_reset(&s.b);
	buf_append(&s.b, "", 0);
	assert_true(template_refs("{{ ds }} {{ run_id }}", on_ref, &s, NULL));
	assert_true(template_refs(NULL, on_ref, &s, NULL));
	assert_string_equal(s.b.data, "");
	/* A bad expression stops the walk: what came before it was reported. */
	char *err = NULL;
	assert_false(
	    template_refs("{{ item }} {{ upstream.a }} {{ map_index }}", on_ref, &s, &err));
	assert_string_equal(err, "unknown template variable 'upstream.a'");
	assert_string_equal(s.b.data, "item(NULL) ");
	free(err);
	buf_finish(&s.b);
}

static void test_bad_data_names(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
	    "upstream.a",
	    "upstream.",
	    "upstream",
	    "upstream..output",
	    "upstream.a.outputs",
	    "upstream.a.output_json",
	    "upstream.a.output_json.",
	    "upstream.a.output_json.k-x",
	    "upstream.a.output_json.k.l",
	    "upstream.a b.output",
	    "upstream.a/b.exit_code",
	    "upstream.a.exit_code.x",
	    "upstream.a.OUTPUT",
	    "item.x",
	    "items",
	    "map_index.0",
	    "Item",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char *tmpl = xasprintf("{{ %s }}", bad[i]);
		char *want = xasprintf("unknown template variable '%s'", bad[i]);
		char *err = NULL;
		assert_false(template_check(tmpl, &err));
		if (!err || strcmp(err, want) != 0)
			fail_msg("'%s': error '%s', want '%s'", tmpl, err ? err : "(none)", want);
		free(err);
		err = NULL;
		assert_null(template_render(tmpl, &f->ctx, &err));
		assert_string_equal(err, want);
		free(err);
		free(want);
		free(tmpl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_upstream, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outputs_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_item, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_preview, setup, teardown),
	    cmocka_unit_test(test_refs),
	    cmocka_unit_test_setup_teardown(test_bad_data_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
