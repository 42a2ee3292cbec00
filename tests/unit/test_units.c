/* test_units.c - durations and sizes: tables of accepted and rejected strings, exact results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/units.h"

struct good {
	const char *s;
	int64_t value;
};

/* Formats "input -> value" so that a failing row names itself. */
static char *row(const char *s, int64_t v)
{
	return xasprintf("'%s' -> %lld", s ? s : "(null)", (long long)v);
}

static void test_duration_good(void **state)
{
	static const struct good cases[] = {
	    {"0", 0},
	    {"45", 45},
	    {"007", 7},
	    {"0s", 0},
	    {"90s", 90},
	    {"10m", 600},
	    {"1h", 3600},
	    {"1h30m", 5400},
	    {"2d", 172800},
	    {"1d2h3m4s", 93784},
	    {"1d30s", 86430},
	    {"2h5s", 7205},
	    {"100m", 6000},
	    {"315360000", 315360000},
	    {"3650d", 315360000},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t v = -1;
		char *err = NULL;
		bool ok = duration_parse(cases[i].s, &v, &err);
		char *want = row(cases[i].s, cases[i].value), *got = row(cases[i].s, v);
		assert_string_equal(got, want);
		assert_true(ok);
		assert_null(err);
		free(want);
		free(got);
	}
}

static void test_duration_bad(void **state)
{
	static const char *const cases[] = {
	    "",    "-5",   "5x",   "1.5h",   "500ms", "ms",    "m",
	    "h1",  " 90s", "90s ", "1h 30m", "1m1h",  "1h1h",  "30s10m",
	    "10M", "1H",   "+5",   "0x10",   "1d-1h", "1d 1h", "d",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t v = 12345;
		char *err = NULL;
		bool ok = duration_parse(cases[i], &v, &err);
		char *want = xasprintf("invalid duration '%s': expected e.g. 90s, 10m, 1h30m or "
				       "seconds",
				       cases[i]);
		if (ok || !err)
			fail_msg("'%s' was accepted", cases[i]);
		assert_string_equal(err, want);
		assert_int_equal(v, 12345);
		free(want);
		free(err);
	}
}

static void test_duration_too_long(void **state)
{
	static const char *const cases[] = {"3651d",
					    "315360001",
					    "3650d1s",
					    "87601h",
					    "99999999999999999999999s",
					    "99999999999999999999999"};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t v = 7;
		char *err = NULL;
		assert_false(duration_parse(cases[i], &v, &err));
		char *want = xasprintf("invalid duration '%s': longer than 10 years", cases[i]);
		assert_string_equal(err, want);
		assert_int_equal(v, 7);
		free(want);
		free(err);
	}
}

static void test_duration_null(void **state)
{
	int64_t v = 3;
	char *err = NULL;
	(void)state;
	assert_false(duration_parse(NULL, &v, &err));
	assert_string_equal(err, "invalid duration '': expected e.g. 90s, 10m, 1h30m or seconds");
	assert_int_equal(v, 3);
	free(err);
	/* A NULL err is allowed. */
	assert_false(duration_parse("x", &v, NULL));
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t seconds;
		const char *want;
	} cases[] = {
	    {0, "0s"},
	    {1, "1s"},
	    {45, "45s"},
	    {60, "1m"},
	    {90, "1m30s"},
	    {3600, "1h"},
	    {5400, "1h30m"},
	    {86400, "1d"},
	    {86430, "1d30s"},
	    {93784, "1d2h3m4s"},
	    {315360000, "3650d"},
	    {-90, "-1m30s"},
	    {INT64_MAX, "106751991167300d15h30m7s"},
	    {INT64_MIN, "-106751991167300d15h30m8s"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char out[32];
		duration_format(cases[i].seconds, out);
		assert_string_equal(out, cases[i].want);
		if (cases[i].seconds < 0 || cases[i].seconds > 315360000)
			continue;
		int64_t back = -1;
		assert_true(duration_parse(out, &back, NULL));
		assert_int_equal(back, cases[i].seconds);
	}
}

static void test_size_good(void **state)
{
	static const struct good cases[] = {
	    {"0", 0},
	    {"512", 512},
	    {"512b", 512},
	    {"512B", 512},
	    {"1K", 1024},
	    {"512K", 524288},
	    {"512k", 524288},
	    {"512KB", 524288},
	    {"256M", 268435456},
	    {"256m", 268435456},
	    {"256Mi", 268435456},
	    {"256MiB", 268435456},
	    {"256MB", 268435456},
	    {"256mb", 268435456},
	    {"2G", 2147483648},
	    {"1.5G", 1610612736},
	    {"0.5K", 512},
	    {"1.1K", 1126},
	    {"0.001K", 1},
	    {"1.123456789G", 1206302541},
	    {"1.1234567899999G", 1206302541},
	    {"3.14159M", 3294195},
	    {"0.999999999T", 1099511626676},
	    {"1T", 1099511627776},
	    {"1024T", 1125899906842624},
	    {"1048576G", 1125899906842624},
	    {"1125899906842624", 1125899906842624},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t v = -1;
		char *err = NULL;
		bool ok = size_parse(cases[i].s, &v, &err);
		char *want = row(cases[i].s, cases[i].value), *got = row(cases[i].s, v);
		assert_string_equal(got, want);
		assert_true(ok);
		assert_null(err);
		free(want);
		free(got);
	}
}

static void test_size_bad(void **state)
{
	static const char *const cases[] = {
	    "",    "-1", "1.5",   "1.5B", "1P",  "1X",  "1.G",  ".5G",   "1 G",    "1GG",
	    "1iB", "G",  "1Gi B", "1e3",  " 1K", "1K ", "0x10", "1..5G", "1.5.5G", "+1K",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t v = 99;
		char *err = NULL;
		bool ok = size_parse(cases[i], &v, &err);
		char *want = xasprintf("invalid size '%s': expected e.g. 512K, 256M, 1.5G or bytes",
				       cases[i]);
		if (ok || !err)
			fail_msg("'%s' was accepted", cases[i]);
		assert_string_equal(err, want);
		assert_int_equal(v, 99);
		free(want);
		free(err);
	}
}

static void test_size_too_big(void **state)
{
	static const char *const cases[] = {"1025T",
					    "1024.5T",
					    "1125899906842625",
					    "1048577G",
					    "99999999999999999999999",
					    "99999999999999999999T"};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t v = 5;
		char *err = NULL;
		assert_false(size_parse(cases[i], &v, &err));
		char *want = xasprintf("invalid size '%s': larger than 1 PiB", cases[i]);
		assert_string_equal(err, want);
		assert_int_equal(v, 5);
		free(want);
		free(err);
	}
	char *err = NULL;
	assert_false(size_parse(NULL, &(int64_t){0}, &err));
	assert_string_equal(err, "invalid size '': expected e.g. 512K, 256M, 1.5G or bytes");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_good),     cmocka_unit_test(test_duration_bad),
	    cmocka_unit_test(test_duration_too_long), cmocka_unit_test(test_duration_null),
	    cmocka_unit_test(test_duration_format),   cmocka_unit_test(test_size_good),
	    cmocka_unit_test(test_size_bad),          cmocka_unit_test(test_size_too_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
