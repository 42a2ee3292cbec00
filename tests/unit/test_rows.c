/* test_rows.c - `runs list --json` / `tasks list --json`: streamed rows, byte for byte the tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rows.h"

/* Strings that exercise every escape json_dumps makes, UTF-8 kept as it is, and bytes that are
 * not UTF-8 (jansson refuses those: both ways replace them). */
static const char *const nasty[] = {
    "plain",
    "quote \" backslash \\ slash /",
    "\b\f\n\r\t \x01 \x1f \x7f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3",
    "bad \xff byte, cut \xe2\x82, overlong \xc0\xaf, surrogate \xed\xa0\x80 end",
    "",
};

struct fixture {
	char dir[64];
	struct store *st;
};

/* The id of run_pk's task instance "c" (not mapped yet). */
static int64_t tis_c_pk(struct store *st, int64_t run_pk)
{
	struct ti_list tis = {0};
	char *err = NULL;
	assert_true(store_tis_for_run(st, run_pk, &tis, &err));
	int64_t id = 0;
	for (size_t k = 0; k < tis.len; k++)
		if (strcmp(tis.v[k].task_id, "c") == 0)
			id = tis.v[k].id;
	ti_list_finish(&tis);
	assert_true(id > 0);
	return id;
}

/* Maps task "c" of run_pk over three items and gives the first two instances a try with an
 * output (a string from `nasty`, and an empty one). */
static void map_and_output(struct store *st, int64_t run_pk, int64_t c_pk, size_t m)
{
	const char *items[] = {"\"x.csv\"", "{\"k\":1}", "2"};
	char *err = NULL;
	assert_true(store_ti_expand(st, c_pk, items, 3, &err));
	struct ti_list tis = {0};
	assert_true(store_tis_for_run(st, run_pk, &tis, &err));
	for (size_t k = 0; k < tis.len; k++) {
		struct ti *ti = &tis.v[k];
		if (ti->map_index < 0 || ti->map_index > 1)
			continue;
		ti->state = TI_SUCCESS;
		ti->try_number = 1;
		ti->has_exit_code = true;
		ti->exit_code = 0;
		ti->output = xstrdup(ti->map_index ? "" : nasty[m % ARRAY_LEN(nasty)]);
		assert_true(store_ti_update(st, ti, &err) && store_try_record(st, ti, &err));
	}
	ti_list_finish(&tis);
}

/* A store of runs with every kind of value: confs (none, nested, not JSON), missing times,
 * exit codes or none, errors and names from `nasty`; in every third run task "c" is mapped
 * (three instances, two with an output). */
static void fill(struct store *st)
{
	const char *task_ids[] = {"a", "b", "c"};
	const char *confs[] = {NULL, "{}", "{\"k\":[1,2.5,\"x\\u00e9\"],\"n\":{\"z\":null}}",
			       "not json"};
	char *err = NULL;
	for (int i = 0; i < 24; i++) {
		char run_id[32];
		snprintf(run_id, sizeof(run_id), "r%02d_%s", i, i % 6 == 1 ? "\"q\"" : "x");
		struct run r = {.dag_id = i % 2 ? "d_one" : "d_two",
				.run_id = run_id,
				.run_type = i % 3 ? "scheduled" : "manual",
				.logical_date = 1767225600 + i * 3600,
				.queued_ms = i % 5 ? 1767225600000 + i * 1001 : 0,
				.conf = (char *)confs[i % 4]};
		struct run out = {0};
		assert_true(store_run_create(st, &r, task_ids, NULL, 3, &out, &err));
		if (i % 4)
			assert_true(
			    store_run_set_state(st, out.id, RUN_RUNNING, r.queued_ms + 5, &err));
		if (i % 4 == 2)
			assert_true(
			    store_run_set_state(st, out.id, RUN_FAILED, r.queued_ms + 99, &err));
		struct ti_list tis = {0};
		assert_true(store_tis_for_run(st, out.id, &tis, &err));
		for (size_t k = 0; k < tis.len; k++) {
			struct ti *ti = &tis.v[k];
			size_t m = (size_t)i + k;
			ti->state = k == 0 ? TI_SUCCESS : k == 1 ? TI_FAILED : TI_NONE;
			ti->try_number = (int)k + 1;
			ti->has_exit_code = k < 2;
			ti->exit_code = k == 1 ? -9 : 0;
			ti->error = k == 1 ? xstrdup(nasty[m % ARRAY_LEN(nasty)]) : NULL;
			ti->service_name =
			    k < 2 ? xstrdup(nasty[(m + 1) % ARRAY_LEN(nasty)]) : NULL;
			ti->start_ms = k < 2 ? 1767225600123 + (int64_t)m : 0;
			ti->end_ms = k == 0 ? 1767225601999 : 0;
			assert_true(store_ti_update(st, ti, &err));
		}
		ti_list_finish(&tis);
		if (i % 3 == 0)
			map_and_output(st, out.id, tis_c_pk(st, out.id), (size_t)i);
		run_finish(&out);
	}
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_rows.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	char *db = xasprintf("%s/swarmflow.db", fx->dir);
	char *err = NULL;
	fx->st = store_open(db, &err);
	assert_non_null(fx->st);
	free(db);
	fill(fx->st);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	store_close(fx->st);
	char *cmd = xasprintf("rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(fx);
	return 0;
}

struct out {
	char *text;
	size_t len;
	FILE *f;
	struct json_stream js;
};

/* How a stream gathers its rows: the default (a listing this short is encoded in the main
 * thread), or `batch` rows per batch encoded by `workers` threads, so that these small stores
 * go through the worker pool, its ring of batches and its ordering. */
struct way {
	size_t batch, workers; /* 0, 0: the default */
};
static const struct way ways[] = {{0, 0}, {1, 0}, {3, 2}, {5, 1}, {2, 4}};

static void out_open_way(struct out *o, struct way w)
{
	*o = (struct out){0};
	o->f = open_memstream(&o->text, &o->len);
	assert_non_null(o->f);
	if (w.batch)
		cli_json_stream_begin_with(&o->js, o->f, w.batch, w.workers);
	else
		cli_json_stream_begin(&o->js, o->f);
}

static void out_open(struct out *o)
{
	out_open_way(o, (struct way){0, 0});
}

static void out_close(struct out *o)
{
	cli_json_stream_end(&o->js);
	fclose(o->f);
}

static void streamed_run(const struct run *run, void *ctx)
{
	struct out *o = ctx;
	cli_json_stream_run(&o->js, run);
}

static void expect_same(const struct out *tree, const struct out *streamed, size_t rows)
{
	if (tree->len != streamed->len || memcmp(tree->text, streamed->text, tree->len) != 0)
		fail_msg("tree and streamed differ:\n%s\n---\n%s", tree->text, streamed->text);
	/* And it is the JSON it claims: every row there, as many as the store holds. */
	json_error_t jerr;
	json_t *v = json_loads(streamed->text, 0, &jerr);
	assert_non_null(v);
	assert_int_equal(json_array_size(v), rows);
	json_decref(v);
}

/* The same database listed both ways (the tree as `runs list --json` made it before, through
 * jansson; the rows streamed as the store reads them): the same bytes, for every filter. */
static void test_runs_both_ways(void **state)
{
	struct fixture *fx = *state;
	enum run_state failed = RUN_FAILED;
	const char *dags[] = {NULL, "d_one", "d_two", "none"};
	for (size_t k = 0; k < ARRAY_LEN(dags) * 2 * ARRAY_LEN(ways); k++) {
		size_t d = k / (2 * ARRAY_LEN(ways)), f = k / ARRAY_LEN(ways) % 2;
		{
			const enum run_state *filter = f ? &failed : NULL;
			struct run_list runs = {0};
			char *err = NULL;
			assert_true(store_runs_list(fx->st, dags[d], filter, 0, &runs, &err));
			struct out tree, streamed;
			out_open(&tree);
			for (size_t i = 0; i < runs.len; i++)
				cli_json_stream_item(&tree.js, cli_run_json(&runs.v[i]));
			out_close(&tree);
			out_open_way(&streamed, ways[k % ARRAY_LEN(ways)]);
			assert_true(store_runs_each(fx->st, dags[d], filter, 0, streamed_run,
						    &streamed, &err));
			out_close(&streamed);
			expect_same(&tree, &streamed, runs.len);
			if (d == 0 && f == 0) /* the store's rows, and the nasty strings */
				assert_int_equal(runs.len, 24);
			run_list_finish(&runs);
			free(tree.text);
			free(streamed.text);
		}
	}
}

static void tasks_both_ways(struct fixture *fx, struct way w);

/* Every run's task instances both ways, each way of gathering them; the bad bytes became U+FFFD,
 * the rest is kept. */
static void test_tasks_both_ways(void **state)
{
	for (size_t w = 0; w < ARRAY_LEN(ways); w++)
		tasks_both_ways(*state, ways[w]);
}

/* A listing that fails midway, its batches with the workers: every row given is written, the
 * array is left open, and nothing leaks (the sanitizer build checks that). */
static void test_drop_midway(void **state)
{
	struct fixture *fx = *state;
	struct run_list runs = {0};
	char *err = NULL;
	assert_true(store_runs_list(fx->st, NULL, NULL, 0, &runs, &err));
	struct out o;
	out_open_way(&o, (struct way){2, 2});
	for (size_t i = 0; i < 17; i++)
		cli_json_stream_run(&o.js, &runs.v[i]);
	assert_non_null(runs.v[0].dag_id); /* the stream copied the rows */
	cli_json_stream_drop(&o.js);
	fclose(o.f);
	assert_true(o.len > 1 && o.text[0] == '[');
	size_t rows = 0;
	for (const char *p = o.text; (p = strstr(p, "\"run_id\":")); p++)
		rows++;
	assert_int_equal(rows, 17);
	json_error_t jerr;
	assert_null(json_loads(o.text, 0, &jerr));
	run_list_finish(&runs);
	free(o.text);
}

/* Rows given through the pool and values written directly keep their order. */
static void test_rows_then_item(void **state)
{
	struct fixture *fx = *state;
	struct run_list runs = {0};
	char *err = NULL;
	assert_true(store_runs_list(fx->st, NULL, NULL, 0, &runs, &err));
	char *sixth = xstrdup(runs.v[6].run_id), *seventh = xstrdup(runs.v[7].run_id);
	struct out o;
	out_open_way(&o, (struct way){2, 2});
	for (size_t i = 0; i < 7; i++)
		cli_json_stream_run(&o.js, &runs.v[i]);
	cli_json_stream_item(&o.js, json_string("between"));
	for (size_t i = 7; i < runs.len; i++)
		cli_json_stream_run(&o.js, &runs.v[i]);
	out_close(&o);
	json_error_t jerr;
	json_t *v = json_loads(o.text, 0, &jerr);
	assert_non_null(v);
	assert_int_equal(json_array_size(v), runs.len + 1);
	assert_string_equal(json_string_value(json_array_get(v, 7)), "between");
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 6), "run_id")),
			    sixth);
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 8), "run_id")),
			    seventh);
	json_decref(v);
	free(sixth);
	free(seventh);
	run_list_finish(&runs);
	free(o.text);
}

static void tasks_both_ways(struct fixture *fx, struct way w)
{
	struct run_list runs = {0};
	char *err = NULL;
	assert_true(store_runs_list(fx->st, NULL, NULL, 0, &runs, &err));
	struct out tree, streamed;
	out_open(&tree);
	out_open_way(&streamed, w);
	size_t n = 0;
	for (size_t r = 0; r < runs.len; r++) {
		struct ti_list tis = {0};
		/* What `tasks list --json` reads: the instances with their current try's output. */
		assert_true(store_tis_for_run_outputs(fx->st, runs.v[r].id, &tis, &err));
		for (size_t i = 0; i < tis.len; i++, n++) {
			cli_json_stream_item(&tree.js, cli_ti_json(&tis.v[i]));
			cli_json_stream_ti(&streamed.js, &tis.v[i]);
		}
		ti_list_finish(&tis);
	}
	out_close(&tree);
	out_close(&streamed);
	expect_same(&tree, &streamed, n);
	assert_int_equal(n, 72 + 8 * 2); /* 8 runs of 24 have "c" mapped over 3 items */
	/* The mapped instances and their outputs are there, as the store has them. */
	assert_non_null(strstr(streamed.text, "\"task_id\":\"c\",\"map_index\":2,"));
	assert_non_null(strstr(streamed.text, "\"task_id\":\"a\",\"map_index\":-1,"));
	assert_non_null(strstr(streamed.text, "\"output\":\"plain\"}"));
	assert_non_null(strstr(streamed.text, "\"output\":\"\"}"));
	assert_non_null(strstr(streamed.text, "\"output\":null}"));
	assert_non_null(
	    strstr(streamed.text, "bad \xef\xbf\xbd byte, cut \xef\xbf\xbd\xef\xbf\xbd,"));
	assert_non_null(strstr(streamed.text, "\"\\b\\f\\n\\r\\t \\u0001 \\u001F \x7f\""));
	assert_non_null(strstr(streamed.text, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"));
	run_list_finish(&runs);
	free(tree.text);
	free(streamed.text);
}

/* Members set in another order than the reused object's: each is found by its key, and the
 * object keeps the order it was built in. */
static void test_reused_out_of_order(void **state)
{
	(void)state;
	struct json_row r;
	json_row_begin(&r);
	json_row_str(&r, "a", "1");
	json_row_int(&r, "b", 2);
	json_row_null(&r, "c");
	r.next = json_object_iter(r.tree);
	json_row_str(&r, "c", "3");
	json_row_int(&r, "a", 4);
	json_row_str(&r, "b", "5");
	json_row_object_text(&r, "d", "{\"x\":1}");
	json_t *v = json_row_take(&r);
	char *text = json_dumps(v, JSON_COMPACT);
	assert_string_equal(text, "{\"a\":4,\"b\":\"5\",\"c\":\"3\",\"d\":{\"x\":1}}");
	free(text);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_runs_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tasks_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drop_midway, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows_then_item, setup, teardown),
	    cmocka_unit_test(test_reused_out_of_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
