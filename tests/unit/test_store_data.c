/* test_store_data.c - the store's data between tasks: expanding a mapped task once, the
 * instances' order, and each try's output (schema version 4), on :memory:. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

static const char *const tasks[] = {"list", "each", "sum"};

struct fixture {
	struct store *s;
	int64_t run_pk;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *err = NULL;
	f->s = store_open(":memory:", &err);
	if (!f->s)
		fail_msg("store_open: %s", err);
	struct run r = {.dag_id = "d", .run_id = "r"}, out = {0};
	const int tries[] = {1, 3, 1};
	if (!store_run_create(f->s, &r, tasks, tries, 3, &out, &err))
		fail_msg("store_run_create: %s", err);
	f->run_pk = out.id;
	run_finish(&out);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	free(f);
	return 0;
}

/* The run's task instances; the one of task_id at map_index (NULL when none). */
static struct ti *find(struct ti_list *tis, const char *task_id, int map_index)
{
	for (size_t i = 0; i < tis->len; i++)
		if (strcmp(tis->v[i].task_id, task_id) == 0 && tis->v[i].map_index == map_index)
			return &tis->v[i];
	return NULL;
}

static void list(struct fixture *f, struct ti_list *tis)
{
	char *err = NULL;
	if (!store_tis_for_run(f->s, f->run_pk, tis, &err))
		fail_msg("store_tis_for_run: %s", err);
}

static int64_t ti_pk_of(struct fixture *f, const char *task_id, int map_index)
{
	struct ti_list tis = {0};
	list(f, &tis);
	struct ti *ti = find(&tis, task_id, map_index);
	assert_non_null(ti);
	int64_t id = ti->id;
	ti_list_finish(&tis);
	return id;
}

static void test_new_run_is_unmapped(void **state)
{
	struct fixture *f = *state;
	struct ti_list tis = {0};
	list(f, &tis);
	assert_int_equal(tis.len, 3);
	for (size_t i = 0; i < tis.len; i++) {
		assert_int_equal(tis.v[i].map_index, -1);
		assert_null(tis.v[i].map_item);
		assert_null(tis.v[i].output);
	}
	ti_list_finish(&tis);
}

static void test_expand_once(void **state)
{
	struct fixture *f = *state;
	int64_t each = ti_pk_of(f, "each", -1);
	const char *items[] = {"\"a.csv\"", "\"b.csv\"", "{\"k\":1}"};
	char *err = NULL;
	assert_true(store_ti_expand(f->s, each, items, 3, &err));
	assert_null(err);

	struct ti_list tis = {0};
	list(f, &tis);
	assert_int_equal(tis.len, 5);
	/* The instances stand where the task's first row stood, in map order. */
	const char *order[] = {"list", "each", "each", "each", "sum"};
	for (size_t i = 0; i < tis.len; i++)
		assert_string_equal(tis.v[i].task_id, order[i]);
	for (int i = 0; i < 3; i++) {
		struct ti *ti = find(&tis, "each", i);
		assert_non_null(ti);
		assert_string_equal(ti->map_item, items[i]);
		assert_int_equal(ti->state, TI_NONE);
		assert_int_equal(ti->max_tries, 3);
		assert_int_equal(ti->try_number, 0);
	}
	assert_int_equal(find(&tis, "each", 0)->id, each); /* the first keeps its row */
	assert_null(find(&tis, "each", -1));
	ti_list_finish(&tis);

	/* A second expansion of the same task (a restarted scheduler) fails and changes nothing. */
	assert_false(store_ti_expand(f->s, each, items, 2, &err));
	assert_non_null(strstr(err, "is not an unexpanded one"));
	free(err);
	err = NULL;
	list(f, &tis);
	assert_int_equal(tis.len, 5);
	ti_list_finish(&tis);
	assert_false(store_ti_expand(f->s, each, items, 0, &err));
	free(err);
}

static void test_try_output(void **state)
{
	struct fixture *f = *state;
	struct ti_list tis = {0};
	list(f, &tis);
	struct ti *ti = find(&tis, "list", -1);
	char *err = NULL, *out = NULL;
	/* No try yet: no output. */
	assert_true(store_try_output(f->s, ti->id, 1, &out, &err));
	assert_null(out);
	ti->try_number = 1;
	ti->state = TI_SUCCESS;
	ti->output = xstrdup("a\nb");
	assert_true(store_ti_update(f->s, ti, &err) && store_try_record(f->s, ti, &err));
	assert_true(store_try_output(f->s, ti->id, 1, &out, &err));
	assert_string_equal(out, "a\nb");
	free(out);
	/* A try recorded again without an output (e.g. its start) has none. */
	free(ti->output);
	ti->output = NULL;
	ti->try_number = 2;
	assert_true(store_ti_update(f->s, ti, &err) && store_try_record(f->s, ti, &err));
	assert_true(store_try_output(f->s, ti->id, 2, &out, &err));
	assert_null(out);
	assert_true(store_try_output(f->s, ti->id, 1, &out, &err));
	assert_string_equal(out, "a\nb");
	free(out);
	int64_t pk = ti->id;
	ti_list_finish(&tis);

	/* The history has each try's output; the outputs listing, the current try's. */
	struct ti_list tries = {0};
	assert_true(store_tries_list(f->s, pk, &tries, &err));
	assert_int_equal(tries.len, 2);
	assert_string_equal(tries.v[0].output, "a\nb");
	assert_null(tries.v[1].output);
	ti_list_finish(&tries);
	assert_true(store_tis_for_run_outputs(f->s, f->run_pk, &tis, &err));
	assert_null(find(&tis, "list", -1)->output); /* try 2 is current */
	ti_list_finish(&tis);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_new_run_is_unmapped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expand_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_try_output, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
