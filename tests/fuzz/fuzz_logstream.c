/* fuzz_logstream.c - libFuzzer target: the Docker log-stream demultiplexer, against a reference. */
#include "fuzz.h"

#include "swarmflow/engine/logstream.h"

/* Inputs longer than this are also fed one byte at a time (slow for big ones). */
#define BYTEWISE_MAX 4096

/* What feeding a whole stream gives. */
struct result {
	bool ok;       /* every feed returned true */
	bool complete; /* logstream_complete() at the end */
	struct buf out;
};

/* The stream decoded in one pass over the whole buffer, written from the frame format alone. */
static void reference(const uint8_t *d, size_t n, bool raw, struct result *r)
{
	*r = (struct result){.ok = true, .complete = true};
	buf_init(&r->out, 0);
	if (raw) {
		CHECK(buf_append(&r->out, d, n));
		return;
	}
	size_t i = 0;
	while (i < n) {
		if (n - i < 8) { /* a header cut short, not checked yet */
			r->complete = false;
			return;
		}
		if (d[i] > 3 || d[i + 1] || d[i + 2] || d[i + 3]) {
			r->ok = r->complete = false;
			return;
		}
		uint32_t size = (uint32_t)d[i + 4] << 24 | (uint32_t)d[i + 5] << 16 |
				(uint32_t)d[i + 6] << 8 | (uint32_t)d[i + 7];
		i += 8;
		size_t take = size < n - i ? size : n - i;
		if (d[i - 8] != 3) /* stream 3: the engine's error, not part of the logs */
			CHECK(buf_append(&r->out, d + i, take));
		i += take;
		if (take < size)
			r->complete = false;
	}
}

/* Feeds d in pieces: cut at the given offsets (ascending, at most n). */
static void feed(const uint8_t *d, size_t n, bool raw, size_t max, const size_t *cuts,
		 size_t n_cuts, struct result *r)
{
	struct logstream ls;
	logstream_init(&ls, raw);
	CHECK(logstream_complete(&ls));
	*r = (struct result){.ok = true};
	buf_init(&r->out, max);
	size_t at = 0;
	for (size_t c = 0; c <= n_cuts; c++) {
		size_t to = c < n_cuts ? cuts[c] : n;
		size_t before = r->out.len;
		bool ok = logstream_feed(&ls, d + at, to - at, &r->out);
		/* a feed never writes more than it was given */
		CHECK(r->out.len - before <= to - at);
		CHECK(max == 0 || r->out.len <= max);
		if (!ok && r->ok) {
			r->ok = false;
			/* once refused, the stream stays refused and writes nothing */
			if (ls.error) {
				size_t len = r->out.len;
				CHECK(!logstream_feed(&ls, d, n, &r->out));
				CHECK(r->out.len == len);
				CHECK(!logstream_complete(&ls));
			} else {
				CHECK(r->out.too_big);
			}
		}
		at = to;
		if (!r->ok)
			break;
	}
	r->complete = logstream_complete(&ls);
}

static bool same_output(const struct result *a, const struct result *b)
{
	return a->out.len == b->out.len &&
	       (a->out.len == 0 || memcmp(a->out.data, b->out.data, a->out.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	unsigned flags = (unsigned)input_uint(&in, 1);
	size_t split = (size_t)input_uint(&in, 2);
	size_t max = (size_t)input_uint(&in, 2);
	bool raw = flags & 1;
	const uint8_t *d = in.p;
	size_t n = in.left;
	split = n ? split % (n + 1) : 0;

	struct result ref, whole, two, bytewise, capped;
	reference(d, n, raw, &ref);

	/* The whole stream in one call is what the reference decodes. */
	feed(d, n, raw, 0, NULL, 0, &whole);
	CHECK(whole.ok == ref.ok);
	CHECK(whole.complete == ref.complete);
	CHECK(same_output(&whole, &ref));
	CHECK(whole.out.len <= n);

	/* Cut anywhere, the same stream gives the same bytes. */
	feed(d, n, raw, 0, &split, 1, &two);
	CHECK(two.ok == whole.ok && two.complete == whole.complete);
	CHECK(same_output(&two, &whole));

	if (n <= BYTEWISE_MAX) {
		size_t *cuts = malloc((n ? n : 1) * sizeof(*cuts));
		CHECK(cuts != NULL);
		for (size_t i = 0; i < n; i++)
			cuts[i] = i + 1;
		feed(d, n, raw, 0, cuts, n ? n - 1 : 0, &bytewise);
		free(cuts);
		CHECK(bytewise.ok == whole.ok && bytewise.complete == whole.complete);
		CHECK(same_output(&bytewise, &whole));
		buf_finish(&bytewise.out);
	}

	/* With a cap, the output is the uncapped output cut at the cap, and a cut is refused. */
	if (max) {
		feed(d, n, raw, max, &split, 1, &capped);
		size_t expect = whole.out.len < max ? whole.out.len : max;
		CHECK(capped.out.len == expect);
		CHECK(expect == 0 || memcmp(capped.out.data, whole.out.data, expect) == 0);
		if (whole.out.len > max)
			CHECK(!capped.ok && capped.out.too_big);
		else
			CHECK(capped.ok == whole.ok && !capped.out.too_big);
		buf_finish(&capped.out);
	}

	buf_finish(&ref.out);
	buf_finish(&whole.out);
	buf_finish(&two.out);
	return 0;
}
