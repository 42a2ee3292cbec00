/* test_util.c - the small helpers everything uses: bounded copies, capped buffers, lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/common/util.h"

static void test_str_copy(void **state)
{
	(void)state;
	char small[4];
	assert_true(str_copy(small, sizeof(small), "abc"));
	assert_string_equal(small, "abc");
	assert_false(str_copy(small, sizeof(small), "abcd")); /* cut, still terminated */
	assert_string_equal(small, "abc");
	assert_true(str_copy(small, sizeof(small), ""));
	assert_string_equal(small, "");
	assert_false(str_copy(small, 0, "x"));
}

static void test_buf_cap(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	assert_true(buf_append(&b, "12345", 5));
	assert_true(buf_append(&b, "678", 3));
	assert_false(b.too_big);
	assert_false(buf_append(&b, "9", 1)); /* over the cap: refused whole */
	assert_true(b.too_big);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_reset(&b);
	assert_true(buf_printf(&b, "%d-%s", 42, "x"));
	assert_string_equal(b.data, "42-x");
	char *owned = buf_steal(&b);
	assert_string_equal(owned, "42-x");
	assert_int_equal(b.len, 0);
	free(owned);
	buf_finish(&b);
}

/* Strings copied into a strpool keep their bytes while more are added (across blocks, and one
 * longer than a block), NULL stays NULL, and finish leaves the pool empty and usable. */
static void test_strpool(void **state)
{
	(void)state;
	struct strpool p = {0};
	char *copies[3000], want[32];
	assert_null(strpool_dup(&p, NULL));
	for (int i = 0; i < 3000; i++) {
		snprintf(want, sizeof(want), "string %d", i);
		copies[i] = strpool_dup(&p, want);
	}
	size_t n = 40000;
	char *big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	char *big_copy = strpool_dup(&p, big);
	assert_ptr_not_equal(big_copy, big);
	assert_string_equal(big_copy, big);
	assert_string_equal(strpool_dup(&p, ""), "");
	for (int i = 0; i < 3000; i++) {
		snprintf(want, sizeof(want), "string %d", i);
		assert_string_equal(copies[i], want);
	}
	free(big);
	strpool_finish(&p);
	assert_null(p.head);
	assert_string_equal(strpool_dup(&p, "again"), "again");
	strpool_finish(&p);
}

/* The engine wait logs a failure once: curl's timings in its message do not make it new. */
static void test_same_but_ms(void **state)
{
	(void)state;
	assert_true(str_same_but_ms("", ""));
	assert_true(str_same_but_ms("after 1 ms", "after 0 ms"));
	assert_true(str_same_but_ms("port 80 after 1021 ms: x", "port 80 after 3 ms: x"));
	assert_true(str_same_but_ms("12 ms", "12 ms"));
	assert_false(str_same_but_ms("port 80 after 1 ms", "port 81 after 1 ms"));
	assert_false(str_same_but_ms("10.0.0.5 after 1 ms", "10.0.0.6 after 2 ms"));
	assert_false(str_same_but_ms("after 12 ms", "after 12 s"));
	assert_false(str_same_but_ms("after 1 ms", "after ms"));
	assert_false(str_same_but_ms("refused", "timed out"));
	assert_false(str_same_but_ms("abc", "abcd"));
	assert_false(str_same_but_ms("5 ms", ""));
}

static void test_strv_and_parse(void **state)
{
	(void)state;
	struct strv sv = {0};
	strv_push(&sv, "a");
	strv_push(&sv, "b");
	assert_true(strv_contains(&sv, "b"));
	assert_false(strv_contains(&sv, "c"));
	assert_null(sv.v[sv.len]);
	strv_finish(&sv);
	int64_t v = 0;
	assert_true(parse_int64("42", 0, 100, &v));
	assert_int_equal(v, 42);
	assert_false(parse_int64("101", 0, 100, &v));
	assert_false(parse_int64("4x", 0, 100, &v));
	assert_false(parse_int64("", 0, 100, &v));
	assert_false(parse_int64(NULL, 0, 100, &v));
	char *const env[] = {"A=1", "AB=2", "B=", NULL};
	assert_string_equal(env_lookup(env, "AB"), "2");
	assert_string_equal(env_lookup(env, "A"), "1");
	assert_string_equal(env_lookup(env, "B"), "");
	assert_null(env_lookup(env, "C"));
	assert_null(env_lookup(NULL, "A"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_str_copy),       cmocka_unit_test(test_buf_cap),
	    cmocka_unit_test(test_strv_and_parse), cmocka_unit_test(test_strpool),
	    cmocka_unit_test(test_same_but_ms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
