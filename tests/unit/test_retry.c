/* test_retry.c - retry_delay_for: constant delays, exponential backoff, max_retry_delay and the
 * 10-year clamp, as a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/sched/internal.h"

#define TEN_YEARS_S (10LL * 365 * 86400)

struct retry_case {
	int64_t delay_s;
	bool exponential;
	int64_t max_s; /* max_retry_delay; 0: none */
	int next_try;
	int64_t want_s;
};

static const struct retry_case cases[] = {
    /* Constant: every try waits retry_delay. */
    {30, false, 0, 2, 30},
    {30, false, 0, 3, 30},
    {30, false, 0, 50, 30},
    {0, false, 0, 2, 0},
    /* A cap only matters when the delay is larger. */
    {30, false, 20, 2, 20},
    {30, false, 60, 5, 30},
    /* Exponential: the delay before try 2, then doubled for each try after. */
    {30, true, 0, 2, 30},
    {30, true, 0, 3, 60},
    {30, true, 0, 4, 120},
    {30, true, 0, 5, 240},
    {1, true, 0, 11, 512},
    {0, true, 0, 9, 0},
    /* max_retry_delay caps the doubling. */
    {30, true, 100, 2, 30},
    {30, true, 100, 3, 60},
    {30, true, 100, 4, 100},
    {30, true, 100, 40, 100},
    /* However many tries: never more than 10 years, never an overflow. */
    {1, true, 0, 1000, TEN_YEARS_S},
    {86400, true, 0, 100000, TEN_YEARS_S},
    {INT64_MAX / 4, true, 0, 3, TEN_YEARS_S},
    {TEN_YEARS_S + 1, false, 0, 2, TEN_YEARS_S},
    {TEN_YEARS_S * 3, false, TEN_YEARS_S * 2, 2, TEN_YEARS_S},
    {1, true, TEN_YEARS_S * 2, 200, TEN_YEARS_S},
    /* Just under the clamp, doubling once more reaches it. */
    {TEN_YEARS_S / 2 + 1, true, 0, 3, TEN_YEARS_S},
    {TEN_YEARS_S / 2, true, 0, 3, TEN_YEARS_S},
    {TEN_YEARS_S / 4, true, 0, 3, TEN_YEARS_S / 2},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct retry_case *c = &cases[i];
		struct task task = {.retry_delay_s = c->delay_s,
				    .retry_exponential_backoff = c->exponential,
				    .max_retry_delay_s = c->max_s};
		int64_t got = retry_delay_for(&task, c->next_try);
		if (got != c->want_s)
			fail_msg("case %zu: delay %lld exponential %d max %lld try %d: want %lld, "
				 "got %lld",
				 i, (long long)c->delay_s, c->exponential, (long long)c->max_s,
				 c->next_try, (long long)c->want_s, (long long)got);
	}
}

/* Exponential delays never shrink from one try to the next, up to the clamp. */
static void test_monotonic(void **state)
{
	struct task task = {.retry_delay_s = 7, .retry_exponential_backoff = true};
	int64_t prev = 0;
	for (int t = 2; t < 2000; t++) {
		int64_t d = retry_delay_for(&task, t);
		assert_true(d >= prev);
		assert_true(d <= TEN_YEARS_S);
		prev = d;
	}
	assert_int_equal(prev, TEN_YEARS_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_monotonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
