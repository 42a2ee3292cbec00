/* test_dagjson.c - the DAGs as JSON (dag_to_json, dagbag_to_json), back again (dag_from_json),
 * and the snapshot holder the web threads read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/web/dags.h"

static const char good_text[] =
    "dag etl {\n"
    "  description = \"Extract and load\"\n"
    "  schedule = \"@daily\"\n"
    "  start_date = \"2026-11-01\"\n"
    "  catchup = true\n"
    "  max_active_runs = 2\n"
    "  tags = {etl, demo}\n"
    "  defaults { image = \"busybox:1.36\"  retries = 2 }\n"
    "  task load {\n"
    "    upstream = {extract}\n"
    "    trigger_rule = \"all_done\"\n"
    "    pool = \"warehouse\"\n"
    "    timeout = \"10m\"\n"
    "    shell = \"echo load\"\n"
    "  }\n"
    "  task extract { shell = \"echo extract\"  retries = 0  tty = true }\n"
    "}\n"
    "dag plain {\n"
    "  task only { image = busybox shell = \"true\" }\n"
    "}\n";

static const char bad_text[] = "dag broken {\n  task t { image = = x }\n}\n";

struct fixture {
	struct dag_file good, bad;
	struct dagbag_file files[2];
	struct dagbag bag;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_true(dag_file_parse(good_text, strlen(good_text), "/d/good.dag", &fx->good));
	assert_false(dag_file_parse(bad_text, strlen(bad_text), "/d/bad.dag", &fx->bad));
	fx->files[0] = (struct dagbag_file){.path = "/d/bad.dag", .parsed = fx->bad};
	fx->files[1] = (struct dagbag_file){.path = "/d/good.dag",
					    .parsed = fx->good,
					    .dags = fx->good.dags,
					    .n_dags = fx->good.n_dags};
	fx->bag = (struct dagbag){.folder = "/d", .files = fx->files, .n_files = 2};
	dag_errors_add(&fx->bag.errors, "/d/other.dag", 3, "DAG 'etl' already defined at %s:%d",
		       "/d/good.dag", 1);
	fx->bag.active = (const struct dag **)fx->good.dags;
	fx->bag.n_active = fx->good.n_dags;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	dag_file_finish(&fx->good);
	dag_file_finish(&fx->bad);
	dag_errors_finish(&fx->bag.errors);
	free(fx);
	return 0;
}

static const char *str_at(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s)
		fail_msg("no string '%s'", key);
	return s;
}

static void test_dag_to_json(void **state)
{
	struct fixture *fx = *state;
	json_t *d = dag_to_json(fx->good.dags[0]);
	assert_string_equal(str_at(d, "dag_id"), "etl");
	assert_string_equal(str_at(d, "description"), "Extract and load");
	assert_string_equal(str_at(d, "schedule"), "@daily");
	assert_string_equal(str_at(d, "start_date"), "2026-11-01T00:00:00Z");
	assert_true(json_is_null(json_object_get(d, "end_date")));
	assert_true(json_is_true(json_object_get(d, "catchup")));
	assert_int_equal(json_integer_value(json_object_get(d, "max_active_runs")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "max_active_tasks")), 16);
	assert_string_equal(str_at(d, "file"), "/d/good.dag");
	assert_int_equal(json_integer_value(json_object_get(d, "line")), 1);
	json_t *tags = json_object_get(d, "tags");
	assert_int_equal(json_array_size(tags), 2);
	assert_string_equal(json_string_value(json_array_get(tags, 1)), "demo");
	/* Tasks in dependency order: extract (written second) comes first. */
	json_t *tasks = json_object_get(d, "tasks");
	assert_int_equal(json_array_size(tasks), 2);
	json_t *extract = json_array_get(tasks, 0), *load = json_array_get(tasks, 1);
	assert_string_equal(str_at(extract, "task_id"), "extract");
	assert_int_equal(json_array_size(json_object_get(extract, "upstream")), 0);
	assert_int_equal(json_integer_value(json_object_get(extract, "retries")), 0);
	assert_true(json_is_true(json_object_get(extract, "tty")));
	assert_true(json_is_null(json_object_get(extract, "pool")));
	assert_true(json_is_null(json_object_get(extract, "timeout")));
	assert_string_equal(str_at(load, "task_id"), "load");
	assert_string_equal(json_string_value(json_array_get(json_object_get(load, "upstream"), 0)),
			    "extract");
	assert_string_equal(str_at(load, "image"), "busybox:1.36");
	assert_string_equal(str_at(load, "trigger_rule"), "all_done");
	assert_int_equal(json_integer_value(json_object_get(load, "retries")), 2);
	assert_string_equal(str_at(load, "pool"), "warehouse");
	assert_int_equal(json_integer_value(json_object_get(load, "timeout")), 600);
	json_decref(d);

	d = dag_to_json(fx->good.dags[1]);
	assert_true(json_is_null(json_object_get(d, "description")));
	assert_string_equal(str_at(d, "schedule"), "none");
	assert_true(json_is_null(json_object_get(d, "start_date")));
	json_decref(d);
}

static void test_dagbag_to_json(void **state)
{
	struct fixture *fx = *state;
	json_t *j = dagbag_to_json(&fx->bag);
	json_t *dags = json_object_get(j, "dags"), *errors = json_object_get(j, "import_errors");
	assert_int_equal(json_array_size(dags), 2);
	assert_string_equal(str_at(json_array_get(dags, 0), "dag_id"), "etl");
	assert_string_equal(str_at(json_array_get(dags, 1), "dag_id"), "plain");
	/* Every file's errors (in file order), then the folder's. */
	assert_int_equal(json_array_size(errors), fx->bad.errors.len + 1);
	json_t *first = json_array_get(errors, 0);
	assert_string_equal(str_at(first, "file"), "/d/bad.dag");
	assert_int_equal(json_integer_value(json_object_get(first, "line")), 2);
	assert_string_equal(str_at(first, "message"), fx->bad.errors.v[0].message);
	json_t *last = json_array_get(errors, json_array_size(errors) - 1);
	assert_string_equal(str_at(last, "file"), "/d/other.dag");
	assert_int_equal(json_integer_value(json_object_get(last, "line")), 3);
	assert_string_equal(str_at(last, "message"), "DAG 'etl' already defined at /d/good.dag:1");
	json_decref(j);

	json_t *e = dag_errors_to_json(&fx->bad.errors);
	assert_int_equal(json_array_size(e), fx->bad.errors.len);
	json_decref(e);
}

static void test_from_json(void **state)
{
	struct fixture *fx = *state;
	json_t *d = dag_to_json(fx->good.dags[0]);
	struct dag *back = dag_from_json(d);
	assert_non_null(back);
	assert_string_equal(back->dag_id, "etl");
	assert_int_equal(back->n_tasks, 2);
	/* The JSON's order (extract, load) is the file order of the copy; the graph is rebuilt. */
	assert_string_equal(back->tasks[0].task_id, "extract");
	assert_string_equal(back->tasks[1].task_id, "load");
	assert_int_equal(back->tasks[1].retries, 2);
	assert_int_equal(back->tasks[1].n_up, 1);
	assert_int_equal(back->tasks[1].up_idx[0], 0);
	assert_int_equal(back->tasks[0].n_down, 1);
	assert_int_equal(back->tasks[0].down_idx[0], 1);
	assert_int_equal(back->topo[0], 0);
	assert_int_equal(back->topo[1], 1);
	assert_string_equal(back->tasks[1].pool, "warehouse");
	assert_int_equal(back->tasks[1].trigger_rule, TRIGGER_ALL_DONE);
	dag_destroy(back);

	/* A cycle or an unknown upstream in the JSON is refused. */
	json_t *tasks = json_object_get(d, "tasks");
	json_array_append_new(json_object_get(json_array_get(tasks, 0), "upstream"),
			      json_string("load"));
	assert_null(dag_from_json(d));
	json_decref(d);
	json_t *not_object = json_string("x");
	assert_null(dag_from_json(not_object));
	json_decref(not_object);
	json_t *no_tasks = json_pack("{s:s}", "dag_id", "x");
	assert_null(dag_from_json(no_tasks));
	json_decref(no_tasks);
}

static void test_holder(void **state)
{
	struct fixture *fx = *state;
	struct web_dags *h = web_dags_create();
	json_t *empty = web_dags_snapshot(h);
	assert_int_equal(json_array_size(json_object_get(empty, "dags")), 0);
	assert_null(web_dags_find(h, "etl"));
	web_dags_on_loaded(h, &fx->bag);
	json_t *etl = web_dags_find(h, "etl");
	assert_non_null(etl);
	assert_string_equal(str_at(etl, "dag_id"), "etl");
	assert_null(web_dags_find(h, "broken"));
	json_t *snap = web_dags_snapshot(h);
	assert_int_equal(json_array_size(json_object_get(snap, "dags")), 2);
	/* The same bag again: nothing rebuilt. */
	uint64_t gen = web_dags_generation(h);
	web_dags_on_loaded(h, &fx->bag);
	assert_int_equal(web_dags_generation(h), gen);
	json_t *again = NULL;
	/* A file's errors changed (a new policy, say): rebuilt. */
	dag_errors_add(&fx->bag.errors, "/d/x.dag", 1, "new");
	web_dags_on_loaded(h, &fx->bag);
	assert_int_equal(web_dags_generation(h), gen + 1);
	again = web_dags_snapshot(h);
	size_t n_errors = 0;
	assert_int_equal(web_dags_count(h, &n_errors), 2);
	assert_int_equal(n_errors, fx->bad.errors.len + 2);
	assert_int_equal(json_array_size(json_object_get(again, "import_errors")),
			 fx->bad.errors.len + 2);
	json_decref(again);
	/* A new load replaces the snapshot; references taken before stay readable. */
	struct dagbag none = {.folder = "/d"};
	web_dags_update(h, &none);
	assert_null(web_dags_find(h, "etl"));
	assert_string_equal(str_at(etl, "schedule"), "@daily");
	assert_int_equal(json_array_size(json_object_get(snap, "dags")), 2);
	json_decref(etl);
	json_decref(snap);
	json_decref(empty);
	web_dags_destroy(h);
	web_dags_destroy(NULL);
}

struct race {
	struct web_dags *h;
	const struct dagbag *bag;
	atomic_bool stop;
};

static void *reader(void *arg)
{
	struct race *r = arg;
	size_t found = 0;
	while (!atomic_load(&r->stop) || found == 0) {
		json_t *d = web_dags_find(r->h, "etl");
		if (d) {
			char *s = json_dumps(d, JSON_COMPACT);
			found += s != NULL;
			free(s);
		}
		json_decref(d);
	}
	return (void *)found;
}

/* Readers dump the snapshot while the loop replaces it over and over (ASan sees any misuse). */
static void test_holder_threads(void **state)
{
	struct fixture *fx = *state;
	struct race r = {.h = web_dags_create(), .bag = &fx->bag};
	atomic_init(&r.stop, false);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
	for (int i = 0; i < 500; i++)
		web_dags_update(r.h, &fx->bag);
	atomic_store(&r.stop, true);
	size_t total = 0;
	for (int i = 0; i < 3; i++) {
		void *found = NULL;
		pthread_join(th[i], &found);
		total += (size_t)found;
	}
	assert_true(total > 0);
	web_dags_destroy(r.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dag_to_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dagbag_to_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_from_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_holder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_holder_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
