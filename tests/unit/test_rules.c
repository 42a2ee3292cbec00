/* test_rules.c - trigger rules as a table of upstream-state combinations, and run outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "swarmflow/core/rules.h"

#define S TI_SUCCESS
#define F TI_FAILED
#define UF TI_UPSTREAM_FAILED
#define SK TI_SKIPPED
#define R TI_RUNNING
#define N TI_NONE

struct rule_case {
	enum trigger_rule rule;
	enum ti_state up[4];
	size_t n;
	enum rule_verdict want;
};

static const struct rule_case cases[] = {
    /* no upstream: always runs */
    {TRIGGER_ALL_SUCCESS, {0}, 0, RULE_RUN},
    {TRIGGER_ONE_FAILED, {0}, 0, RULE_RUN},
    /* all_success */
    {TRIGGER_ALL_SUCCESS, {S, S}, 2, RULE_RUN},
    {TRIGGER_ALL_SUCCESS, {S, R}, 2, RULE_WAIT},
    {TRIGGER_ALL_SUCCESS, {S, N}, 2, RULE_WAIT},
    {TRIGGER_ALL_SUCCESS, {F, R}, 2, RULE_UPSTREAM_FAILED},
    {TRIGGER_ALL_SUCCESS, {UF, S}, 2, RULE_UPSTREAM_FAILED},
    {TRIGGER_ALL_SUCCESS, {SK, S}, 2, RULE_SKIP},
    {TRIGGER_ALL_SUCCESS, {SK, R}, 2, RULE_WAIT},
    {TRIGGER_ALL_SUCCESS, {SK, F}, 2, RULE_UPSTREAM_FAILED},
    /* all_failed */
    {TRIGGER_ALL_FAILED, {F, UF}, 2, RULE_RUN},
    {TRIGGER_ALL_FAILED, {F, R}, 2, RULE_WAIT},
    {TRIGGER_ALL_FAILED, {F, S}, 2, RULE_SKIP},
    {TRIGGER_ALL_FAILED, {SK, F}, 2, RULE_SKIP},
    /* all_done */
    {TRIGGER_ALL_DONE, {F, S, SK, UF}, 4, RULE_RUN},
    {TRIGGER_ALL_DONE, {F, R}, 2, RULE_WAIT},
    /* one_success */
    {TRIGGER_ONE_SUCCESS, {S, R}, 2, RULE_RUN},
    {TRIGGER_ONE_SUCCESS, {F, R}, 2, RULE_WAIT},
    {TRIGGER_ONE_SUCCESS, {F, UF}, 2, RULE_UPSTREAM_FAILED},
    /* Airflow: done without success is upstream_failed unless all were skipped */
    {TRIGGER_ONE_SUCCESS, {F, SK}, 2, RULE_UPSTREAM_FAILED},
    {TRIGGER_ONE_SUCCESS, {SK, SK}, 2, RULE_SKIP},
    /* one_failed */
    {TRIGGER_ONE_FAILED, {F, R}, 2, RULE_RUN},
    {TRIGGER_ONE_FAILED, {UF, R}, 2, RULE_RUN},
    {TRIGGER_ONE_FAILED, {S, R}, 2, RULE_WAIT},
    {TRIGGER_ONE_FAILED, {S, SK}, 2, RULE_SKIP},
    /* none_failed */
    {TRIGGER_NONE_FAILED, {S, SK}, 2, RULE_RUN},
    {TRIGGER_NONE_FAILED, {SK, SK}, 2, RULE_RUN},
    {TRIGGER_NONE_FAILED, {S, R}, 2, RULE_WAIT},
    {TRIGGER_NONE_FAILED, {F, R}, 2, RULE_UPSTREAM_FAILED},
    {TRIGGER_NONE_FAILED, {UF, S}, 2, RULE_UPSTREAM_FAILED},
    /* none_failed_min_one_success (Airflow: the join after a branch) */
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {S, SK}, 2, RULE_RUN},
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {SK, S, SK}, 3, RULE_RUN},
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {SK, SK}, 2, RULE_SKIP},
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {SK, R}, 2, RULE_WAIT},
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {S, R}, 2, RULE_WAIT},
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {F, SK}, 2, RULE_UPSTREAM_FAILED},
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {UF, R}, 2, RULE_UPSTREAM_FAILED},
    {TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, {SK, TI_REMOVED}, 2, RULE_SKIP},
    /* none_skipped: skipped at the first skipped upstream, else runs when all are done */
    {TRIGGER_NONE_SKIPPED, {S, F, UF}, 3, RULE_RUN},
    {TRIGGER_NONE_SKIPPED, {SK, R}, 2, RULE_SKIP},
    {TRIGGER_NONE_SKIPPED, {S, R}, 2, RULE_WAIT},
    {TRIGGER_NONE_SKIPPED, {S, SK}, 2, RULE_SKIP},
    /* all_skipped */
    {TRIGGER_ALL_SKIPPED, {SK, SK}, 2, RULE_RUN},
    {TRIGGER_ALL_SKIPPED, {SK, R}, 2, RULE_WAIT},
    {TRIGGER_ALL_SKIPPED, {SK, S}, 2, RULE_SKIP},
    {TRIGGER_ALL_SKIPPED, {F, R}, 2, RULE_SKIP},
    {TRIGGER_ALL_SKIPPED, {UF, SK}, 2, RULE_SKIP},
    /* one_done: a success or a failure runs it; skipped and upstream_failed do not */
    {TRIGGER_ONE_DONE, {S, R}, 2, RULE_RUN},
    {TRIGGER_ONE_DONE, {F, R}, 2, RULE_RUN},
    {TRIGGER_ONE_DONE, {SK, R}, 2, RULE_WAIT},
    {TRIGGER_ONE_DONE, {SK, UF}, 2, RULE_SKIP},
    /* skipped upstreams under the older rules, as Airflow has them */
    {TRIGGER_ALL_DONE, {SK, SK}, 2, RULE_RUN},
    {TRIGGER_NONE_FAILED, {SK, SK, S}, 3, RULE_RUN},
    {TRIGGER_ONE_FAILED, {SK, SK}, 2, RULE_SKIP},
    {TRIGGER_ALL_FAILED, {SK, R}, 2, RULE_SKIP},
    {TRIGGER_ALL_SUCCESS, {SK, SK}, 2, RULE_SKIP},
    {TRIGGER_ALWAYS, {SK, SK}, 2, RULE_RUN},
    /* always */
    {TRIGGER_ALWAYS, {R, N}, 2, RULE_RUN},
    {TRIGGER_ALWAYS, {F, UF}, 2, RULE_RUN},
};

static void test_rule_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct upstream_counts c = {0};
		for (size_t j = 0; j < cases[i].n; j++)
			upstream_counts_add(&c, cases[i].up[j]);
		enum rule_verdict got = trigger_rule_evaluate(cases[i].rule, &c);
		if (got != cases[i].want)
			fail_msg("case %zu (%s): got verdict %d, want %d", i,
				 trigger_rule_name(cases[i].rule), got, cases[i].want);
	}
}

static void test_counts(void **state)
{
	(void)state;
	struct upstream_counts c = {0};
	enum ti_state all[] = {S, F, UF, SK, TI_REMOVED, R, N, TI_QUEUED, TI_UP_FOR_RETRY};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		upstream_counts_add(&c, all[i]);
	assert_int_equal(c.total, 9);
	assert_int_equal(c.done, 5);
	assert_int_equal(c.success, 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.upstream_failed, 1);
	assert_int_equal(c.skipped, 1);
	assert_int_equal(c.removed, 1);
}

static void test_run_outcome(void **state)
{
	(void)state;
	enum ti_state ok[] = {S, SK, S};
	enum ti_state bad[] = {S, UF};
	enum ti_state failed[] = {F};
	assert_int_equal(run_outcome(ok, 3), RUN_SUCCESS);
	assert_int_equal(run_outcome(bad, 2), RUN_FAILED);
	assert_int_equal(run_outcome(failed, 1), RUN_FAILED);
	assert_int_equal(run_outcome(NULL, 0), RUN_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_table),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_run_outcome),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
