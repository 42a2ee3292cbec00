/* test_cron.c - schedule parsing (bit sets, presets, errors) and next/previous fire times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/core/cron.h"

static int64_t at(const char *iso)
{
	int64_t t = 0;
	if (!time_parse_iso(iso, &t))
		fail_msg("bad time in test: %s", iso);
	return t;
}

static struct cron parse_ok(const char *expr)
{
	struct schedule s;
	char *err = NULL;
	if (!schedule_parse(expr, &s, &err))
		fail_msg("'%s' rejected: %s", expr, err);
	assert_int_equal(s.kind, SCHEDULE_CRON);
	return s.cron;
}

/* "expr @ time -> fire time" (or "none"), so that a failing row names itself. */
static char *row(const char *expr, const char *from, int64_t t)
{
	char iso[32] = "none";
	if (t != -1)
		time_format_iso(t, iso);
	return xasprintf("'%s' @ %s -> %s", expr, from, iso);
}

static void expect_row(const char *expr, const char *from, int64_t want, int64_t got)
{
	if (want == got)
		return;
	char *w = row(expr, from, want), *g = row(expr, from, got);
	assert_string_equal(g, w);
	free(w);
	free(g);
}

/* expect_row for a time given as unix seconds. */
static void expect_at(const char *expr, int64_t from, int64_t want, int64_t got)
{
	char label[32];
	if (want == got)
		return;
	time_format_iso(from, label);
	expect_row(expr, label, want, got);
}

static void test_next_prev_table(void **state)
{
	/* expression, time, first fire strictly after it, last fire at or before it. */
	static const struct {
		const char *expr, *time, *next, *prev;
	} cases[] = {
	    {"0 0 29 2 *", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
	    {"0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},
	    {"*/15 * * * *", "2026-11-01T10:07:30Z", "2026-11-01T10:15:00Z",
	     "2026-11-01T10:00:00Z"},
	    {"*/15 * * * *", "2026-11-01T10:15:00Z", "2026-11-01T10:30:00Z",
	     "2026-11-01T10:15:00Z"},
	    {"* * * * *", "2026-11-01T10:07:30Z", "2026-11-01T10:08:00Z", "2026-11-01T10:07:00Z"},
	    {"0 0 31 * *", "2026-04-15T12:00:00Z", "2026-05-31T00:00:00Z", "2026-03-31T00:00:00Z"},
	    {"0 0 30 * *", "2027-01-31T00:00:00Z", "2027-03-30T00:00:00Z", "2027-01-30T00:00:00Z"},
	    {"59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z",
	     "2026-12-31T23:59:00Z"},
	    {"0 0 1 * *", "2026-12-15T08:00:00Z", "2027-01-01T00:00:00Z", "2026-12-01T00:00:00Z"},
	    {"0 0 1 1 *", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
	    {"0 0 1 1 *", "1969-06-01T00:00:00Z", "1970-01-01T00:00:00Z", "1969-01-01T00:00:00Z"},
	    {"0 12 * * MON-FRI", "2026-11-07T13:00:00Z", "2026-11-09T12:00:00Z",
	     "2026-11-06T12:00:00Z"},
	    {"0 0 13 * 5", "2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z", "2026-10-30T00:00:00Z"},
	    {"0 0 13 * 5", "2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-06T00:00:00Z"},
	    {"0 0 * * 5", "2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-06T00:00:00Z"},
	    /* "*\/2" is not `*`: day-of-month OR day-of-week, as croniter (Airflow) does. */
	    {"0 0 */2 * 1", "2026-11-16T12:00:00Z", "2026-11-17T00:00:00Z", "2026-11-16T00:00:00Z"},
	    {"0 0 */2 * 1", "2026-11-29T12:00:00Z", "2026-11-30T00:00:00Z", "2026-11-29T00:00:00Z"},
	    {"0 0 1-7 * 1", "2026-11-08T00:00:00Z", "2026-11-09T00:00:00Z", "2026-11-07T00:00:00Z"},
	    {"30 6 * JAN,jul sun", "2026-11-01T00:00:00Z", "2027-01-03T06:30:00Z",
	     "2026-07-26T06:30:00Z"},
	    {"0 0 * * 7", "2026-11-02T00:00:00Z", "2026-11-08T00:00:00Z", "2026-11-01T00:00:00Z"},
	    {"10-50/10 8 * * *", "2026-11-01T08:50:00Z", "2026-11-02T08:10:00Z",
	     "2026-11-01T08:50:00Z"},
	    {"5/15 * * * *", "2026-11-01T10:50:00Z", "2026-11-01T11:05:00Z",
	     "2026-11-01T10:50:00Z"},
	    {"0 9-17/4 * * *", "2026-11-01T17:00:00Z", "2026-11-02T09:00:00Z",
	     "2026-11-01T17:00:00Z"},
	    {"@hourly", "2026-11-01T10:59:59Z", "2026-11-01T11:00:00Z", "2026-11-01T10:00:00Z"},
	    {"@daily", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"},
	    {"@weekly", "2026-11-04T00:00:00Z", "2026-11-08T00:00:00Z", "2026-11-01T00:00:00Z"},
	    {"@monthly", "2026-11-01T00:00:01Z", "2026-12-01T00:00:00Z", "2026-11-01T00:00:00Z"},
	    {"@yearly", "2026-06-15T00:00:00Z", "2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
	    {"0 0 29 2 *", "2097-03-01T00:00:00Z", NULL, "2096-02-29T00:00:00Z"},
	    {"0 0 29 2 1", "2027-12-31T00:00:00Z", "2028-02-07T00:00:00Z", "2027-02-22T00:00:00Z"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cron c = parse_ok(cases[i].expr);
		int64_t t = at(cases[i].time);
		int64_t next = cases[i].next ? at(cases[i].next) : -1;
		int64_t prev = cases[i].prev ? at(cases[i].prev) : -1;
		expect_row(cases[i].expr, cases[i].time, next, cron_next(&c, t));
		expect_row(cases[i].expr, cases[i].time, prev, cron_prev(&c, t));
	}
}

static void test_never(void **state)
{
	static const char *const never[] = {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *"};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(never); i++) {
		struct cron c = parse_ok(never[i]);
		assert_int_equal(cron_next(&c, at("2026-01-01")), -1);
		assert_int_equal(cron_prev(&c, at("2026-01-01")), -1);
	}
	/* The search gives up after 5 years: Feb 29 of 2104 is 7 years after 2097. */
	struct cron leap = parse_ok("0 0 29 2 *");
	assert_int_equal(cron_next(&leap, at("2097-03-01")), -1);
	assert_int_equal(cron_next(&leap, at("2023-03-01")), at("2024-02-29"));
	assert_int_equal(cron_prev(&leap, at("2103-01-01")), -1);
	assert_int_equal(cron_prev(&leap, at("2104-03-01")), at("2104-02-29"));
}

/* A cron_next that skips by month, day and hour answers the worst case (5 years of nothing)
 * in microseconds; minute-by-minute it would take seconds per call. */
static void test_next_is_fast(void **state)
{
	struct cron c = parse_ok("0 0 30 2 *");
	int64_t start = time_mono_ms();
	(void)state;
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(cron_next(&c, at("2026-01-01") + i * 3600), -1);
		assert_int_equal(cron_prev(&c, at("2026-01-01") - i * 3600), -1);
	}
	assert_in_range(time_mono_ms() - start, 0, 3000);
}

/* A reference matcher written from the rules, minute by minute. */
static bool ref_matches(const struct cron *c, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400, y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	unsigned wd = (unsigned)(((days - 3) % 7 + 7) % 7); /* 1970-01-04 was a Sunday */
	if (!(c->minutes >> (secs % 3600 / 60) & 1) || !(c->hours >> (secs / 3600) & 1) ||
	    !(c->months >> m & 1))
		return false;
	bool dom = c->dom >> d & 1, dow = c->dow >> wd & 1;
	return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

/* For every minute (and half minute) of a window, cron_next and cron_prev agree with a
 * minute-by-minute scan of the reference matcher. */
static void sweep(const char *expr, const char *from, const char *to)
{
	struct cron c = parse_ok(expr);
	int64_t t0 = at(from);
	size_t n = (size_t)((at(to) - t0) / 60);
	int64_t *next = xcalloc(n, sizeof(*next)), *prev = xcalloc(n, sizeof(*prev));
	int64_t last = -1;
	size_t fires = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t t = t0 + (int64_t)i * 60;
		if (ref_matches(&c, t)) {
			last = t;
			fires++;
		}
		prev[i] = last;
	}
	last = -1;
	for (size_t i = n; i-- > 0;) {
		next[i] = last;
		if (ref_matches(&c, t0 + (int64_t)i * 60))
			last = t0 + (int64_t)i * 60;
	}
	if (fires == 0)
		fail_msg("'%s' fires %zu times in the window: a useless sweep", expr, fires);
	for (size_t i = 0; i < n; i++) {
		int64_t t = t0 + (int64_t)i * 60;
		if (next[i] != -1) {
			expect_at(expr, t, next[i], cron_next(&c, t));
			expect_at(expr, t + 30, next[i], cron_next(&c, t + 30));
		}
		if (prev[i] != -1) {
			expect_at(expr, t, prev[i], cron_prev(&c, t));
			expect_at(expr, t + 59, prev[i], cron_prev(&c, t + 59));
		}
	}
	free(next);
	free(prev);
}

static void test_sweep(void **state)
{
	static const char *const exprs[] = {
	    "0 0 29 2 *",
	    "*/7 */5 * * *",
	    "0 0 13 * 5",
	    "0 0 */2 * 1",
	    "15 3 1-7 * 1",
	    "0 0 31 * *",
	    "0 12 * FEB,MAR SAT,SUN",
	    "* * 29 2 *",
	    "59 23 28-31 * *",
	    "@weekly",
	    "5/20 1,13 * 1-3 *",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(exprs); i++)
		sweep(exprs[i], "2027-12-20", "2028-03-10");
	sweep("0 0 * * *", "1969-12-20", "1970-01-10");
	sweep("*/13 * 31 12 4", "1969-12-01", "1970-01-20");
}

static void test_parse_bits(void **state)
{
	(void)state;
	struct cron c = parse_ok("1,5 0-3 */10 JAN-MAR,dec sun,7");
	assert_true(c.minutes == ((1ULL << 1) | (1ULL << 5)));
	assert_int_equal(c.hours, 0xF);
	assert_int_equal(c.dom, (1U << 1) | (1U << 11) | (1U << 21) | (1U << 31));
	assert_int_equal(c.months, (1U << 1) | (1U << 2) | (1U << 3) | (1U << 12));
	assert_int_equal(c.dow, 1);
	assert_false(c.dom_star); /* "*\/10" restricts the days: only "*" is a star */
	assert_false(c.dow_star);

	c = parse_ok("  */15\t10-20/10 5/10 * Mon-Fri ");
	assert_true(c.minutes == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
	assert_int_equal(c.hours, (1U << 10) | (1U << 20));
	assert_int_equal(c.dom, (1U << 5) | (1U << 15) | (1U << 25));
	assert_int_equal(c.months, 0x1FFE);
	assert_int_equal(c.dow, 0x3E);
	assert_false(c.dom_star);
	assert_false(c.dow_star);

	c = parse_ok("* * * * *");
	assert_true(c.minutes == (1ULL << 60) - 1);
	assert_int_equal(c.hours, (1U << 24) - 1);
	assert_int_equal(c.dom, 0xFFFFFFFEU);
	assert_int_equal(c.dow, 0x7F);
	assert_true(c.dom_star && c.dow_star);

	c = parse_ok("0 0 * * 5-7");
	assert_int_equal(c.dow, (1U << 5) | (1U << 6) | 1U);
	c = parse_ok("0 0 * * */2");
	assert_int_equal(c.dow, (1U << 0) | (1U << 2) | (1U << 4) | (1U << 6));
	c = parse_ok("0 0 * * 7");
	assert_int_equal(c.dow, 1);
}

/* Airflow's croniter ORs day-of-month and day-of-week whenever neither field is exactly `*`;
 * Vixie cron would AND them when a field merely starts with `*`. Each row differs between the
 * two rules. */
static void test_day_or_rule(void **state)
{
	static const struct {
		const char *expr;
		bool dom_star, dow_star;
		const char *time, *next, *prev;
	} cases[] = {
	    /* every day (dom "*\/1" OR Mondays); Vixie: Mondays only */
	    {"0 0 */1 * 1", false, false, "2026-11-03T12:00:00Z", "2026-11-04T00:00:00Z",
	     "2026-11-03T00:00:00Z"},
	    /* the 1st OR Sun/Tue/Thu/Sat; Vixie: a 1st that is one of those days */
	    {"0 0 1 * */2", false, false, "2026-11-01T12:00:00Z", "2026-11-03T00:00:00Z",
	     "2026-11-01T00:00:00Z"},
	    {"0 0 1 * */2", false, false, "2026-11-10T12:00:00Z", "2026-11-12T00:00:00Z",
	     "2026-11-10T00:00:00Z"},
	    /* odd days OR Mondays; Vixie: odd Mondays (2026-11-09, 2026-11-23) */
	    {"0 0 */2 * MON", false, false, "2026-11-15T12:00:00Z", "2026-11-16T00:00:00Z",
	     "2026-11-15T00:00:00Z"},
	    /* an exact `*` keeps the AND: Sun/Tue/Thu/Sat of any day */
	    {"0 0 * * */2", true, false, "2026-11-01T12:00:00Z", "2026-11-03T00:00:00Z",
	     "2026-11-01T00:00:00Z"},
	    /* odd days of any weekday */
	    {"0 0 */2 * *", false, true, "2026-11-01T12:00:00Z", "2026-11-03T00:00:00Z",
	     "2026-11-01T00:00:00Z"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cron c = parse_ok(cases[i].expr);
		if (c.dom_star != cases[i].dom_star || c.dow_star != cases[i].dow_star)
			fail_msg("'%s': dom_star %d dow_star %d", cases[i].expr, c.dom_star,
				 c.dow_star);
		int64_t t = at(cases[i].time);
		expect_row(cases[i].expr, cases[i].time, at(cases[i].next), cron_next(&c, t));
		expect_row(cases[i].expr, cases[i].time, at(cases[i].prev), cron_prev(&c, t));
	}
}

static void test_presets(void **state)
{
	static const struct {
		const char *preset, *expr;
	} cases[] = {
	    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
	    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
	    {"@annually", "0 0 1 1 *"}, {"@DAILY", "0 0 * * *"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cron a = parse_ok(cases[i].preset), b = parse_ok(cases[i].expr);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	static const struct {
		const char *s;
		enum schedule_kind kind;
	} kinds[] = {{NULL, SCHEDULE_NONE},   {"", SCHEDULE_NONE},      {"none", SCHEDULE_NONE},
		     {"None", SCHEDULE_NONE}, {"@once", SCHEDULE_ONCE}, {"@daily", SCHEDULE_CRON}};
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		struct schedule s = {.kind = SCHEDULE_CRON};
		char *err = NULL;
		assert_true(schedule_parse(kinds[i].s, &s, &err));
		assert_null(err);
		assert_int_equal(s.kind, kinds[i].kind);
	}
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *expr, *err;
	} cases[] = {
	    {"61 * * * *", "cron: bad minute field '61' (0-59)"},
	    {"* * * *", "cron: expected 5 fields, got 4"},
	    {"* * * * * *", "cron: expected 5 fields, got 6"},
	    {"   ", "cron: expected 5 fields, got 0"},
	    {"@every", "cron: unknown preset '@every' (@hourly, @daily, @weekly, @monthly, "
		       "@yearly or @once)"},
	    {"* 24 * * *", "cron: bad hour field '24' (0-23)"},
	    {"* * 0 * *", "cron: bad day-of-month field '0' (1-31)"},
	    {"* * 32 * *", "cron: bad day-of-month field '32' (1-31)"},
	    {"* * L * *", "cron: bad day-of-month field 'L' (1-31)"},
	    {"* * * 13 *", "cron: bad month field '13' (1-12 or JAN-DEC)"},
	    {"* * * 0 *", "cron: bad month field '0' (1-12 or JAN-DEC)"},
	    {"* * * FOO *", "cron: bad month field 'FOO' (1-12 or JAN-DEC)"},
	    {"* * * JANUARY *", "cron: bad month field 'JANUARY' (1-12 or JAN-DEC)"},
	    {"* * * * 8", "cron: bad day-of-week field '8' (0-7 or SUN-SAT)"},
	    {"* * * * MON-FOO", "cron: bad day-of-week field 'MON-FOO' (0-7 or SUN-SAT)"},
	    {"* * * * JAN", "cron: bad day-of-week field 'JAN' (0-7 or SUN-SAT)"},
	    {"* * * * 1-7/0", "cron: bad day-of-week field '1-7/0' (0-7 or SUN-SAT)"},
	    {"*/0 * * * *", "cron: bad minute field '*/0' (0-59)"},
	    {"*/61 * * * *", "cron: bad minute field '*/61' (0-59)"},
	    {"5-1 * * * *", "cron: bad minute field '5-1' (0-59)"},
	    {"1,,2 * * * *", "cron: bad minute field '1,,2' (0-59)"},
	    {",1 * * * *", "cron: bad minute field ',1' (0-59)"},
	    {"1, * * * *", "cron: bad minute field '1,' (0-59)"},
	    {"-1 * * * *", "cron: bad minute field '-1' (0-59)"},
	    {"1- * * * *", "cron: bad minute field '1-' (0-59)"},
	    {"1-5/ * * * *", "cron: bad minute field '1-5/' (0-59)"},
	    {"** * * * *", "cron: bad minute field '**' (0-59)"},
	    {"*5 * * * *", "cron: bad minute field '*5' (0-59)"},
	    {"0005 * * * *", "cron: bad minute field '0005' (0-59)"},
	    {"a * * * *", "cron: bad minute field 'a' (0-59)"},
	    {"1.5 * * * *", "cron: bad minute field '1.5' (0-59)"},
	    {"0 0 1 * 1/2/3", "cron: bad day-of-week field '1/2/3' (0-7 or SUN-SAT)"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct schedule s = {.kind = SCHEDULE_ONCE};
		char *err = NULL;
		if (schedule_parse(cases[i].expr, &s, &err))
			fail_msg("'%s' was accepted", cases[i].expr);
		assert_non_null(err);
		assert_string_equal(err, cases[i].err);
		assert_int_equal(s.kind, SCHEDULE_ONCE);
		free(err);
	}
	struct schedule s;
	assert_false(schedule_parse("61 * * * *", &s, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_bits),   cmocka_unit_test(test_presets),
	    cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_next_prev_table),
	    cmocka_unit_test(test_never),        cmocka_unit_test(test_next_is_fast),
	    cmocka_unit_test(test_sweep),        cmocka_unit_test(test_day_or_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
