/* test_output.c - unit tests of data between tasks: the stdout scanner, branch choices, short
 * circuits and the elements of a mapped task. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/core/output.h"

/* Scans len bytes of s in mode, fed in chunks of `chunk` bytes (0: one feed). */
static char *scan(enum output_mode mode, const char *s, size_t len, size_t chunk, char **err)
{
	struct output_scan o;
	output_scan_init(&o, mode);
	if (!chunk)
		output_scan_feed(&o, s, len);
	for (size_t i = 0; chunk && i < len; i += chunk)
		output_scan_feed(&o, s + i, len - i < chunk ? len - i : chunk);
	return output_scan_finish(&o, err);
}

/* Checks that s scans to want in mode, whole and byte by byte. */
static void scan_is(enum output_mode mode, const char *s, const char *want)
{
	for (size_t chunk = 0; chunk <= 1; chunk++) {
		char *err = NULL;
		char *got = scan(mode, s, strlen(s), chunk, &err);
		assert_null(err);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
	}
}

/* Checks that len bytes of s fail to scan in mode with an error containing want. */
static void scan_fails(enum output_mode mode, const char *s, size_t len, const char *want)
{
	for (size_t chunk = 0; chunk <= 4096; chunk += 4096) {
		char *err = NULL;
		char *got = scan(mode, s, len, chunk, &err);
		assert_null(got);
		assert_non_null(err);
		assert_non_null(strstr(err, want));
		free(err);
	}
}

static void test_last_line(void **state)
{
	(void)state;
	scan_is(OUTPUT_LAST_LINE, "a\nb\nc\n", "c");
	scan_is(OUTPUT_LAST_LINE, "a\nb\nlast", "last");
	scan_is(OUTPUT_LAST_LINE, "a\r\nb\r\n", "b");
	scan_is(OUTPUT_LAST_LINE, "a\nvalue\n\n  \n\t\r\n", "value");
	scan_is(OUTPUT_LAST_LINE, "  spaced  \n", "  spaced  ");
	scan_is(OUTPUT_LAST_LINE, "", "");
	scan_is(OUTPUT_LAST_LINE, "\n\n \n", "");
}

static void test_marked(void **state)
{
	(void)state;
	scan_is(OUTPUT_MARKED, "x\n::output:: one\ny\n::output::two\n::output::  three\n",
		"one\ntwo\n three");
	scan_is(OUTPUT_MARKED, "say ::output:: no\n ::output:: no\nplain\n", "");
	scan_is(OUTPUT_MARKED, "::output::\n::output:: \n::output:: v\r\n", "\n\nv");
	scan_is(OUTPUT_MARKED, "::output:: last", "last");
	scan_is(OUTPUT_MARKED, "", "");
}

static void test_none(void **state)
{
	(void)state;
	scan_is(OUTPUT_NONE, "a\n::output:: b\n", "");
}

/* A buffer of n bytes of 'x' followed by tail. */
static char *filled(size_t n, const char *head, const char *tail, size_t *len)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *s = malloc(hl + n + tl + 1);
	assert_non_null(s);
	memcpy(s, head, hl);
	memset(s + hl, 'x', n);
	memcpy(s + hl + n, tail, tl + 1);
	*len = hl + n + tl;
	return s;
}

static void test_cap(void **state)
{
	(void)state;
	size_t len;
	char *s = filled(OUTPUT_MAX, "", "\n", &len);
	char *err = NULL, *got = scan(OUTPUT_LAST_LINE, s, len, 1000, &err);
	assert_non_null(got);
	assert_int_equal(strlen(got), OUTPUT_MAX);
	free(got);
	free(s);
	s = filled(OUTPUT_MAX + 1, "", "\n", &len);
	scan_fails(OUTPUT_LAST_LINE, s, len, "65537 bytes, over the cap of 65536 bytes (64 KiB)");
	free(s);

	s = filled(OUTPUT_MAX, "::output:: ", "\r\n", &len);
	got = scan(OUTPUT_MARKED, s, len, 777, &err);
	assert_non_null(got);
	assert_int_equal(strlen(got), OUTPUT_MAX);
	free(got);
	free(s);
	s = filled(OUTPUT_MAX + 1, "::output:: ", "\n", &len);
	scan_fails(OUTPUT_MARKED, s, len, "over the cap of 65536 bytes (64 KiB)");
	free(s);
	/* several values whose sum (with the newlines joining them) is over the cap */
	s = filled(OUTPUT_MAX - 1, "::output:: a\n::output:: ", "\n", &len);
	scan_fails(OUTPUT_MARKED, s, len, "65537 bytes, over the cap");
	free(s);
}

static void test_huge_line_then_short(void **state)
{
	(void)state;
	size_t len;
	char *s = filled(10 * 1024 * 1024, "first\n", "\nshort\n", &len);
	char *err = NULL, *got = scan(OUTPUT_LAST_LINE, s, len, 65536, &err);
	assert_null(err);
	assert_non_null(got);
	assert_string_equal(got, "short");
	free(got);
	free(s);
	/* a huge line last fails, even when its kept start is blank */
	s = filled(10 * 1024 * 1024, "ok\n", "\n", &len);
	memset(s + 3, ' ', OUTPUT_MAX + 100);
	scan_fails(OUTPUT_LAST_LINE, s, len, "over the cap");
	free(s);
}

static void test_utf8(void **state)
{
	(void)state;
	scan_is(OUTPUT_LAST_LINE, "h\xc3\xa9llo\n", "h\xc3\xa9llo");
	scan_fails(OUTPUT_LAST_LINE, "bad \xff\xfe\n", 7, "not valid UTF-8");
	scan_fails(OUTPUT_MARKED, "::output:: \xc3\n", 13, "not valid UTF-8");
	/* a bad line that is not the output does not matter */
	scan_is(OUTPUT_LAST_LINE, "\xff\ngood\n", "good");
}

/* Checks that output parses to the n ids given. */
static void branch_is(const char *output, size_t n, ...)
{
	struct strv sv = {0};
	char *err = NULL;
	assert_true(output_branch_parse(output, &sv, &err));
	assert_null(err);
	assert_int_equal(sv.len, n);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(sv.v[i], va_arg(ap, const char *));
	va_end(ap);
	strv_finish(&sv);
}

static void test_branch(void **state)
{
	(void)state;
	branch_is("a\n  b \n\n\tc\r\n", 3, "a", "b", "c");
	branch_is("[\"x\", \"y.z\"]", 2, "x", "y.z");
	branch_is("[]", 0);
	branch_is("", 0);
	branch_is("  \n\n", 0);
	branch_is(NULL, 0);
	branch_is("{\"a\": 1}", 1, "{\"a\": 1}");
	struct strv sv = {0};
	char *err = NULL;
	assert_false(output_branch_parse("[\"a\", 3]", &sv, &err));
	assert_non_null(err);
	assert_string_equal(err, "the branch output's element 1 is not a task id string");
	free(err);
	strv_finish(&sv);
}

static void test_is_false(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool want;
	} cases[] = {
	    {"", true},        {NULL, true},       {" \n\t", true},   {"false", true},
	    {"FALSE", true},   {" False\n", true}, {"true", false},   {"0", false},
	    {"falsey", false}, {"no", false},      {"f alse", false}, {"x", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (output_is_false(cases[i].s) != cases[i].want)
			fail_msg("output_is_false(\"%s\") != %d",
				 cases[i].s ? cases[i].s : "(null)", cases[i].want);
	}
}

/* Checks that the JSON text of j is want, and frees j. */
static void json_is(json_t *j, const char *want)
{
	assert_non_null(j);
	char *got = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	json_decref(j);
}

static void test_expand_items(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"[1, \"a\", null, {\"k\": true}, [2]]", "[1,\"a\",null,{\"k\":true},[2]]"},
	    {"a\n\n b\r\n  \nc", "[\"a\",\" b\",\"c\"]"},
	    {"{\"a\": 1}", "[\"{\\\"a\\\": 1}\"]"},
	    {"42", "[\"42\"]"},
	    {"", "[]"},
	    {"[]", "[]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		json_is(output_expand_items(cases[i].in), cases[i].want);
}

static void test_expand_values(void **state)
{
	(void)state;
	const char *one[] = {"[\"a\", \"b\"]"};
	json_is(output_expand_values(one, 1), "[\"a\",\"b\"]");
	const char *lines[] = {"x\ny\n"};
	json_is(output_expand_values(lines, 1), "[\"x\",\"y\"]");
	const char *several[] = {"[1]", "a\nb", ""};
	json_is(output_expand_values(several, 3), "[\"[1]\",\"a\\nb\",\"\"]");
}

static void test_as_json(void **state)
{
	(void)state;
	json_is(output_as_json(NULL), "null");
	json_is(output_as_json("{\"a\": [1]}"), "{\"a\":[1]}");
	json_is(output_as_json("3"), "3");
	json_is(output_as_json("hello"), "\"hello\"");
	json_is(output_as_json(""), "\"\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_last_line),
	    cmocka_unit_test(test_marked),
	    cmocka_unit_test(test_none),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_huge_line_then_short),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_branch),
	    cmocka_unit_test(test_is_false),
	    cmocka_unit_test(test_expand_items),
	    cmocka_unit_test(test_expand_values),
	    cmocka_unit_test(test_as_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
