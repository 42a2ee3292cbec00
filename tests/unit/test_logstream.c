/* test_logstream.c - unit tests of the incremental demultiplexer of Docker's log stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/engine/logstream.h"

/* Appends one frame (header + payload) to b. */
static void frame(struct buf *b, unsigned char stream, const void *payload, uint32_t len)
{
	unsigned char h[8] = {stream,
			      0,
			      0,
			      0,
			      (unsigned char)(len >> 24),
			      (unsigned char)(len >> 16),
			      (unsigned char)(len >> 8),
			      (unsigned char)len};
	assert_true(buf_append(b, h, sizeof(h)));
	assert_true(buf_append(b, payload, len));
}

/* out\n on stdout, an empty frame, err\n on stderr, "in" on stdin, more\n on stdout. */
static void sample(struct buf *b)
{
	buf_init(b, 0);
	frame(b, 1, "out\n", 4);
	frame(b, 1, "", 0);
	frame(b, 2, "err\n", 4);
	frame(b, 0, "in", 2);
	frame(b, 1, "more\n", 5);
}

static void test_whole_stream(void **state)
{
	struct buf in, out;
	struct logstream ls;
	sample(&in);
	buf_init(&out, 0);
	logstream_init(&ls, false);
	assert_true(logstream_complete(&ls));
	assert_true(logstream_feed(&ls, in.data, in.len, &out));
	assert_int_equal(out.len, 15);
	assert_string_equal(out.data, "out\nerr\ninmore\n");
	assert_true(logstream_complete(&ls));
	assert_int_equal(ls.stream, 1);
	buf_finish(&in);
	buf_finish(&out);
}

static void test_byte_at_a_time(void **state)
{
	struct buf in, out;
	struct logstream ls;
	sample(&in);
	buf_init(&out, 0);
	logstream_init(&ls, false);
	for (size_t i = 0; i < in.len; i++) {
		assert_true(logstream_feed(&ls, in.data + i, 1, &out));
		/* Frame boundaries: after 12, 20, 32, 42 and 55 bytes. */
		bool boundary =
		    i + 1 == 12 || i + 1 == 20 || i + 1 == 32 || i + 1 == 42 || i + 1 == 55;
		assert_int_equal(logstream_complete(&ls), boundary);
	}
	assert_int_equal(in.len, 55);
	assert_string_equal(out.data, "out\nerr\ninmore\n");
	buf_finish(&in);
	buf_finish(&out);
}

static void test_split_header(void **state)
{
	struct buf out;
	struct logstream ls;
	const unsigned char part1[] = {2, 0, 0};
	const unsigned char part2[] = {0, 0, 0, 0, 6, 'h', 'e'};
	const unsigned char part3[] = {'l', 'l', 'o', '\n', 1, 0, 0, 0, 0};
	const unsigned char part4[] = {0, 0, 1, '!'};
	buf_init(&out, 0);
	logstream_init(&ls, false);
	assert_true(logstream_feed(&ls, part1, sizeof(part1), &out));
	assert_int_equal(ls.header_len, 3);
	assert_false(logstream_complete(&ls));
	assert_true(logstream_feed(&ls, part2, sizeof(part2), &out));
	assert_int_equal(ls.stream, 2);
	assert_int_equal(ls.remaining, 4);
	assert_string_equal(out.data, "he");
	assert_true(logstream_feed(&ls, part3, sizeof(part3), &out));
	assert_int_equal(ls.header_len, 5);
	assert_false(logstream_complete(&ls));
	assert_true(logstream_feed(&ls, part4, sizeof(part4), &out));
	assert_int_equal(ls.stream, 1);
	assert_true(logstream_complete(&ls));
	assert_int_equal(out.len, 7);
	assert_string_equal(out.data, "hello\n!");
	buf_finish(&out);
}

static void test_big_frame(void **state)
{
	const uint32_t size = 3u * 1024 * 1024 + 17;
	struct buf in, out, expect;
	struct logstream ls;
	buf_init(&expect, 0);
	for (uint32_t i = 0; i < size; i++) {
		unsigned char c = (unsigned char)('a' + i % 26);
		assert_true(buf_append(&expect, &c, 1));
	}
	buf_init(&in, 0);
	frame(&in, 1, expect.data, size);
	frame(&in, 2, "tail", 4);
	buf_init(&out, 0);
	logstream_init(&ls, false);
	for (size_t off = 0; off < in.len; off += 4093) {
		size_t n = in.len - off < 4093 ? in.len - off : 4093;
		assert_true(logstream_feed(&ls, in.data + off, n, &out));
	}
	assert_true(logstream_complete(&ls));
	assert_int_equal(out.len, (size_t)size + 4);
	assert_memory_equal(out.data, expect.data, size);
	assert_memory_equal(out.data + size, "tail", 4);
	buf_finish(&in);
	buf_finish(&out);
	buf_finish(&expect);
}

static void test_bad_stream_byte(void **state)
{
	struct buf in, out;
	struct logstream ls;
	buf_init(&in, 0);
	frame(&in, 1, "ok\n", 3);
	frame(&in, 4, "bad\n", 4);
	frame(&in, 1, "after\n", 6);
	buf_init(&out, 0);
	logstream_init(&ls, false);
	assert_false(logstream_feed(&ls, in.data, in.len, &out));
	assert_true(ls.error);
	assert_false(out.too_big);
	assert_string_equal(out.data, "ok\n");
	assert_false(logstream_complete(&ls));
	/* Further input is ignored. */
	assert_false(logstream_feed(&ls, in.data, 11, &out));
	assert_int_equal(out.len, 3);
	buf_finish(&in);
	buf_finish(&out);
}

/* Stream 3 is the engine's own error (a node that is not available, say): kept apart from the
 * logs, its control bytes blanked, at most 255 bytes; the stream goes on. */
static void test_daemon_error(void **state)
{
	struct buf in, out;
	struct logstream ls;
	buf_init(&in, 0);
	frame(&in, 1, "ok\n", 3);
	frame(&in, 3, "Error grabbing logs: node x is not available\n", 45);
	frame(&in, 2, "err\n", 4);
	buf_init(&out, 0);
	logstream_init(&ls, false);
	assert_null(logstream_daemon_error(&ls));
	assert_true(logstream_feed(&ls, in.data, in.len, &out));
	assert_string_equal(out.data, "ok\nerr\n");
	assert_string_equal(logstream_daemon_error(&ls),
			    "Error grabbing logs: node x is not available ");
	assert_true(logstream_complete(&ls));
	char big[600];
	memset(big, 'e', sizeof(big));
	buf_reset(&in);
	frame(&in, 3, big, sizeof(big));
	assert_true(logstream_feed(&ls, in.data, in.len, &out));
	assert_int_equal(strlen(logstream_daemon_error(&ls)), 255);
	buf_finish(&in);
	buf_finish(&out);
}

static void test_bad_padding(void **state)
{
	/* Plain text where a header is expected ("Error: ..." is not a frame). */
	const char text[] = "Error: no such service";
	struct buf out;
	struct logstream ls;
	buf_init(&out, 0);
	logstream_init(&ls, false);
	assert_false(logstream_feed(&ls, text, strlen(text), &out));
	assert_true(ls.error);
	assert_int_equal(out.len, 0);
	const unsigned char pad[8] = {1, 0, 1, 0, 0, 0, 0, 1};
	logstream_init(&ls, false);
	assert_false(logstream_feed(&ls, pad, sizeof(pad), &out));
	assert_true(ls.error);
	buf_finish(&out);
}

static void test_raw(void **state)
{
	/* Bytes that would be a bad header are copied as they are. */
	const unsigned char data[] = {7, 'x', 0, 'y', '\n'};
	struct buf out;
	struct logstream ls;
	buf_init(&out, 0);
	logstream_init(&ls, true);
	assert_true(logstream_feed(&ls, data, 2, &out));
	assert_true(logstream_feed(&ls, data + 2, 3, &out));
	assert_true(logstream_complete(&ls));
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, data, 5);
	buf_finish(&out);
}

static void test_cap(void **state)
{
	struct buf in, out;
	struct logstream ls;
	buf_init(&in, 0);
	frame(&in, 1, "0123456789", 10);
	frame(&in, 2, "abcdefghij", 10);
	buf_init(&out, 14);
	logstream_init(&ls, false);
	assert_true(logstream_feed(&ls, in.data, 18, &out));
	assert_false(logstream_feed(&ls, in.data + 18, in.len - 18, &out));
	assert_true(out.too_big);
	assert_false(ls.error);
	assert_int_equal(out.len, 14);
	assert_string_equal(out.data, "0123456789abcd");
	/* Once full, more input is refused and out stays as it is. */
	assert_false(logstream_feed(&ls, "x", 1, &out));
	assert_string_equal(out.data, "0123456789abcd");
	buf_finish(&in);
	buf_finish(&out);
}

static void test_cap_raw(void **state)
{
	struct buf out;
	struct logstream ls;
	buf_init(&out, 4);
	logstream_init(&ls, true);
	assert_true(logstream_feed(&ls, "ab", 2, &out));
	assert_false(logstream_feed(&ls, "cdef", 4, &out));
	assert_true(out.too_big);
	assert_int_equal(out.len, 4);
	assert_string_equal(out.data, "abcd");
	buf_finish(&out);
}

static void test_complete_partial(void **state)
{
	struct buf in, out;
	struct logstream ls;
	buf_init(&in, 0);
	frame(&in, 1, "hello", 5);
	buf_init(&out, 0);
	/* A short read inside the payload. */
	logstream_init(&ls, false);
	assert_true(logstream_feed(&ls, in.data, 10, &out));
	assert_false(logstream_complete(&ls));
	assert_int_equal(ls.remaining, 3);
	assert_string_equal(out.data, "he");
	/* A short read right after a complete header of a non-empty frame. */
	logstream_init(&ls, false);
	assert_true(logstream_feed(&ls, in.data, 8, &out));
	assert_false(logstream_complete(&ls));
	/* An empty frame alone is complete. */
	logstream_init(&ls, false);
	assert_true(logstream_feed(&ls, "\2\0\0\0\0\0\0\0", 8, &out));
	assert_true(logstream_complete(&ls));
	assert_int_equal(ls.stream, 2);
	assert_string_equal(out.data, "he");
	buf_finish(&in);
	buf_finish(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_stream),
	    cmocka_unit_test(test_byte_at_a_time),
	    cmocka_unit_test(test_split_header),
	    cmocka_unit_test(test_big_frame),
	    cmocka_unit_test(test_bad_stream_byte),
	    cmocka_unit_test(test_daemon_error),
	    cmocka_unit_test(test_bad_padding),
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_cap_raw),
	    cmocka_unit_test(test_complete_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
