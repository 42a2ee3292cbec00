/* test_timeutil.c - ISO 8601 parsing and formatting, and the civil-date algorithms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"

static void test_parse_good(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} cases[] = {
	    {"2026-11-01", 1793491200},
	    {"2026-11-01T06:00:00Z", 1793512800},
	    {"2026-11-01T06:00:00+00:00", 1793512800},
	    {"2026-11-01 06:00:00", 1793512800},
	    {"2026-11-01T06:00:00", 1793512800},
	    {"2026-11-01T06:05", 1793513100},
	    {"2026-11-01T06:05Z", 1793513100},
	    {"1970-01-01", 0},
	    {"1970-01-01T00:00:01Z", 1},
	    {"1969-12-31T23:59:59Z", -1},
	    {"2024-02-29", 1709164800},
	    {"2000-02-29", 951782400},
	    {"2100-03-01", 4107542400},
	    {"0000-01-01", -62167219200},
	    {"9999-12-31T23:59:59Z", 253402300799},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t got = 42;
		if (!time_parse_iso(cases[i].s, &got))
			fail_msg("'%s' rejected", cases[i].s);
		char *w = xasprintf("%s -> %lld", cases[i].s, (long long)cases[i].want);
		char *g = xasprintf("%s -> %lld", cases[i].s, (long long)got);
		assert_string_equal(g, w);
		free(w);
		free(g);
	}
}

static void test_parse_bad(void **state)
{
	static const char *const cases[] = {
	    "",
	    "2026-02-30",
	    "2026-02-29",
	    "1900-02-29",
	    "2100-02-29",
	    "2026-04-31",
	    "2026-13-01",
	    "2026-00-10",
	    "2026-01-00",
	    "2026-01-32",
	    "2026-11-01T24:00:00Z",
	    "2026-11-01T23:60:00Z",
	    "2026-11-01T23:59:60Z",
	    "2026-11-01T06:00:00+01:00",
	    "2026-11-01T06:00:00-00:00",
	    "2026-11-01T06:00:00.123Z",
	    "2026-11-01T06:00:00ZZ",
	    "2026-11-01Z",
	    "2026-11-01T",
	    "2026-11-01T06",
	    "2026-11-01T06:00:0",
	    "2026-11-01t06:00:00z",
	    "26-11-01",
	    "2026-1-01",
	    "2026/11/01",
	    "20261101",
	    " 2026-11-01",
	    "2026-11-01 ",
	    "-2026-11-01",
	    "2026-11-01x",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t got = 42;
		if (time_parse_iso(cases[i], &got))
			fail_msg("'%s' accepted as %lld", cases[i], (long long)got);
		assert_int_equal(got, 42);
	}
}

static void test_format(void **state)
{
	static const struct {
		int64_t t;
		const char *iso, *date;
	} cases[] = {
	    {0, "1970-01-01T00:00:00Z", "1970-01-01"},
	    {-1, "1969-12-31T23:59:59Z", "1969-12-31"},
	    {-86400, "1969-12-31T00:00:00Z", "1969-12-31"},
	    {-86401, "1969-12-30T23:59:59Z", "1969-12-30"},
	    {1793512800, "2026-11-01T06:00:00Z", "2026-11-01"},
	    {951782400, "2000-02-29T00:00:00Z", "2000-02-29"},
	    {253402300799, "9999-12-31T23:59:59Z", "9999-12-31"},
	    {-62167219200, "0000-01-01T00:00:00Z", "0000-01-01"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char iso[32], date[16];
		time_format_iso(cases[i].t, iso);
		time_format_date(cases[i].t, date);
		assert_string_equal(iso, cases[i].iso);
		assert_string_equal(date, cases[i].date);
		int64_t back = 0;
		assert_true(time_parse_iso(iso, &back));
		assert_int_equal(back, cases[i].t);
	}
}

static void test_format_ms(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {1, "1970-01-01T00:00:00.001Z"},
	    {999, "1970-01-01T00:00:00.999Z"},
	    {1000, "1970-01-01T00:00:01.000Z"},
	    {-1, "1969-12-31T23:59:59.999Z"},
	    {-999, "1969-12-31T23:59:59.001Z"},
	    {-1000, "1969-12-31T23:59:59.000Z"},
	    {-1001, "1969-12-31T23:59:58.999Z"},
	    {1793512800123, "2026-11-01T06:00:00.123Z"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char out[32];
		time_format_iso_ms(cases[i].ms, out);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_days_from_civil(void **state)
{
	static const struct {
		int64_t y;
		unsigned m, d;
		int64_t days;
	} cases[] = {
	    {1970, 1, 1, 0},       {1969, 12, 31, -1},   {2000, 3, 1, 11017}, {1900, 3, 1, -25508},
	    {1600, 1, 1, -135140}, {1, 1, 1, -719162},   {0, 1, 1, -719528},  {0, 3, 1, -719468},
	    {-1, 1, 1, -719893},   {2026, 11, 1, 20758},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(days_from_civil(cases[i].y, cases[i].m, cases[i].d),
				 cases[i].days);
		int64_t y;
		unsigned m, d;
		civil_from_days(cases[i].days, &y, &m, &d);
		assert_int_equal(y, cases[i].y);
		assert_int_equal(m, cases[i].m);
		assert_int_equal(d, cases[i].d);
	}
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Walks day by day from year -1000 to 3000: every day is the calendar's next date and maps
 * back to its number. */
static void test_civil_round_trip(void **state)
{
	static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t y = -1000;
	unsigned m = 1, d = 1;
	int64_t first = days_from_civil(y, m, d), last = days_from_civil(3000, 12, 31);
	(void)state;
	assert_int_equal(last - first + 1, 4001 * 365 + 970); /* 4001 years, 970 leap years */
	for (int64_t z = first; z <= last; z++) {
		int64_t cy;
		unsigned cm, cd;
		civil_from_days(z, &cy, &cm, &cd);
		if (cy != y || cm != m || cd != d)
			fail_msg("day %lld is %lld-%u-%u, expected %lld-%u-%u", (long long)z,
				 (long long)cy, cm, cd, (long long)y, m, d);
		if (days_from_civil(cy, cm, cd) != z)
			fail_msg("day %lld does not map back", (long long)z);
		unsigned len = m == 2 && is_leap(y) ? 29 : dim[m - 1];
		if (++d > len) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
}

/* Every 7 days and 3601 seconds from year 0 to 9999, format and parse agree. */
static void test_iso_round_trip(void **state)
{
	(void)state;
	for (int64_t t = -62167219200; t <= 253402300799; t += 7 * 86400 + 3601) {
		char iso[32];
		int64_t back = 0;
		time_format_iso(t, iso);
		if (!time_parse_iso(iso, &back) || back != t)
			fail_msg("%lld -> %s -> %lld", (long long)t, iso, (long long)back);
	}
}

static void test_clocks(void **state)
{
	(void)state;
	/* After 2024-01-01 and before 2200-01-01. */
	assert_in_range(time_now_ms(), 1704067200000, 7258118400000);
	int64_t a = time_mono_ms(), b = time_mono_ms();
	assert_true(a >= 0 && b >= a);
}

/* Times outside years 0000-9999 are clamped, never overflowed (fuzz_template found INT64_MIN). */
static void test_format_extremes(void **state)
{
	(void)state;
	char out[32];
	time_format_iso(INT64_MIN, out);
	assert_string_equal(out, "0000-01-01T00:00:00Z");
	time_format_iso(INT64_MAX, out);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	time_format_iso_ms(INT64_MIN, out);
	assert_string_equal(out, "0000-01-01T00:00:00.000Z");
	time_format_iso_ms(INT64_MAX, out);
	assert_string_equal(out, "9999-12-31T23:59:59.999Z");
	char day[16];
	time_format_date(INT64_MIN + 1, day);
	assert_string_equal(day, "0000-01-01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_extremes),  cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_bad),        cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_ms),        cmocka_unit_test(test_days_from_civil),
	    cmocka_unit_test(test_civil_round_trip), cmocka_unit_test(test_iso_round_trip),
	    cmocka_unit_test(test_clocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
