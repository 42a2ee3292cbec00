/* test_limits.c - counting tries in flight against parallelism, max_active_tasks and pools
 * (core/slots.c), as a table of in-flight sets and the verdict for one more try. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "swarmflow/core/slots.h"

/* gpu: 2 slots, io: 1 slot. */
static const struct pool pools[] = {{"gpu", 2}, {"io", 1}};

/* One try in flight: its DAG and its task's pool (NULL: the default pool). */
struct held {
	const char *dag, *pool;
};

struct limit_case {
	const char *what;
	int parallelism;
	struct held held[8];
	size_t n_held;
	/* the candidate */
	const char *dag;
	int max_active_tasks;
	const char *pool;
	enum slots_verdict want;
};

static const struct limit_case cases[] = {
    {"nothing in flight", 4, {{0}}, 0, "a", 16, NULL, SLOTS_OK},
    {"parallelism reached by other DAGs",
     2,
     {{"b", NULL}, {"c", NULL}},
     2,
     "a",
     16,
     NULL,
     SLOTS_PARALLELISM},
    {"parallelism counts every pool",
     2,
     {{"b", "gpu"}, {"c", "io"}},
     2,
     "a",
     16,
     NULL,
     SLOTS_PARALLELISM},
    {"one below parallelism", 3, {{"b", NULL}, {"c", NULL}}, 2, "a", 16, NULL, SLOTS_OK},
    {"max_active_tasks of the DAG", 32, {{"a", NULL}, {"a", "gpu"}}, 2, "a", 2, NULL, SLOTS_DAG},
    {"other DAGs do not count toward max_active_tasks",
     32,
     {{"b", NULL}, {"b", NULL}},
     2,
     "a",
     1,
     NULL,
     SLOTS_OK},
    {"max_active_tasks 0 holds everything", 32, {{0}}, 0, "a", 0, NULL, SLOTS_DAG},
    {"pool full", 32, {{"a", "gpu"}, {"b", "gpu"}}, 2, "c", 16, "gpu", SLOTS_POOL},
    {"pool full, default pool still free",
     32,
     {{"a", "gpu"}, {"b", "gpu"}},
     2,
     "c",
     16,
     NULL,
     SLOTS_OK},
    {"another pool full, this one free", 32, {{"a", "io"}}, 1, "a", 16, "gpu", SLOTS_OK},
    {"a one-slot pool", 32, {{"a", "io"}}, 1, "b", 16, "io", SLOTS_POOL},
    {"the default pool is unlimited",
     32,
     {{"a", NULL}, {"a", NULL}, {"a", NULL}},
     3,
     "b",
     16,
     NULL,
     SLOTS_OK},
    {"undefined pool, even with room", 32, {{0}}, 0, "a", 16, "nope", SLOTS_NO_POOL},
    {"undefined pool before parallelism", 1, {{"b", NULL}}, 1, "a", 16, "nope", SLOTS_NO_POOL},
    {"parallelism before the DAG limit", 1, {{"a", NULL}}, 1, "a", 1, NULL, SLOTS_PARALLELISM},
    {"the DAG limit before the pool", 32, {{"a", "io"}}, 1, "a", 1, "io", SLOTS_DAG},
    {"a try of an undefined pool counts toward the DAG only",
     32,
     {{"a", "nope"}, {"a", "nope"}},
     2,
     "b",
     16,
     "gpu",
     SLOTS_OK},
    {"pool names are exact", 32, {{"a", "gpu"}, {"a", "gpu"}}, 2, "b", 16, "GPU", SLOTS_NO_POOL},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct limit_case *c = &cases[i];
		struct slots sl;
		slots_init(&sl, c->parallelism, pools, 2);
		for (size_t j = 0; j < c->n_held; j++)
			slots_take(&sl, c->held[j].dag, c->held[j].pool);
		enum slots_verdict got = slots_check(&sl, c->dag, c->max_active_tasks, c->pool);
		if (got != c->want)
			fail_msg("case %zu (%s): got %s, want %s", i, c->what,
				 slots_verdict_name(got), slots_verdict_name(c->want));
		slots_finish(&sl);
	}
}

/* Counts per DAG and pool; slots_clear forgets them and keeps the limits. */
static void test_counts_and_clear(void **state)
{
	struct slots sl;
	slots_init(&sl, 5, pools, 2);
	slots_take(&sl, "a", "gpu");
	slots_take(&sl, "a", NULL);
	slots_take(&sl, "b", "gpu");
	slots_take(&sl, "b", "undefined");
	assert_int_equal(sl.used, 4);
	assert_int_equal(slots_used_dag(&sl, "a"), 2);
	assert_int_equal(slots_used_dag(&sl, "b"), 2);
	assert_int_equal(slots_used_dag(&sl, "c"), 0);
	assert_int_equal(slots_used_pool(&sl, "gpu"), 2);
	assert_int_equal(slots_used_pool(&sl, "io"), 0);
	assert_int_equal(slots_used_pool(&sl, NULL), 0);
	assert_int_equal(slots_used_pool(&sl, "undefined"), 0);
	assert_int_equal(slots_check(&sl, "c", 16, "gpu"), SLOTS_POOL);
	slots_take(&sl, "c", "io");
	assert_int_equal(slots_check(&sl, "c", 16, NULL), SLOTS_PARALLELISM);

	slots_clear(&sl);
	assert_int_equal(sl.used, 0);
	assert_int_equal(slots_used_dag(&sl, "a"), 0);
	assert_int_equal(slots_used_pool(&sl, "gpu"), 0);
	assert_int_equal(slots_check(&sl, "c", 16, "gpu"), SLOTS_OK);
	assert_int_equal(slots_check(&sl, "c", 16, "nope"), SLOTS_NO_POOL);
	for (int i = 0; i < 2; i++)
		slots_take(&sl, "c", "gpu");
	assert_int_equal(slots_check(&sl, "d", 16, "gpu"), SLOTS_POOL);
	slots_finish(&sl);
	slots_finish(&sl); /* harmless on a zeroed one */
}

/* Many DAGs: each keeps its own count (the DAG table grows). */
static void test_many_dags(void **state)
{
	struct slots sl;
	slots_init(&sl, 10000, NULL, 0);
	char name[16];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		for (int j = 0; j <= i % 3; j++)
			slots_take(&sl, name, NULL);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(slots_used_dag(&sl, name), (size_t)(i % 3 + 1));
		assert_int_equal(slots_check(&sl, name, i % 3 + 1, NULL), SLOTS_DAG);
		assert_int_equal(slots_check(&sl, name, i % 3 + 2, NULL), SLOTS_OK);
	}
	slots_finish(&sl);
}

/* The error of a task in a pool the configuration lacks; none for the default or a known pool. */
static void test_pool_error(void **state)
{
	assert_null(slots_pool_error(pools, 2, NULL));
	assert_null(slots_pool_error(pools, 2, "gpu"));
	assert_null(slots_pool_error(pools, 2, "io"));
	char *e = slots_pool_error(pools, 2, "x");
	assert_string_equal(e, "pool 'x' is not defined in the configuration");
	free(e);
	e = slots_pool_error(NULL, 0, "gpu");
	assert_string_equal(e, "pool 'gpu' is not defined in the configuration");
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_counts_and_clear),
	    cmocka_unit_test(test_many_dags),
	    cmocka_unit_test(test_pool_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
