/* fuzz_output.c - libFuzzer target: the stdout output scanner (against a reference, fed in
 * random chunks), branch choices, short circuits, expand items and outputs as JSON. */
#include "fuzz.h"

#include <jansson.h>
#include <strings.h>

#include "swarmflow/core/output.h"

/*
 * Input: flags (1 byte: bits 0-1 the mode, 0 none, 1 last_line, 2 and 3 marked; bit 2 stretch;
 * bit 3 stretch with blanks), split (2 bytes), chunk (2 bytes), stretch (2 bytes), then the
 * stdout. With the stretch bit, a run of 'x' (or ' ') bytes about OUTPUT_MAX long
 * (OUTPUT_MAX - 32 + stretch % 64) is inserted at the split point, so that short inputs reach
 * the cap and its edges, and lines longer than what the scanner keeps of them.
 */
#define STRETCH_BASE (OUTPUT_MAX - 32)
#define STRETCH_SPAN 64
/* Streams longer than this are not also fed one byte at a time (slow for big ones). */
#define BYTEWISE_MAX 4096
/* The most a scan holds while reading (output.h: under twice OUTPUT_MAX). */
#define LINE_HELD_MAX (OUTPUT_MAX + sizeof(OUTPUT_MARKER) + 1)

/* What a scan gave: the output, or the error. */
struct result {
	char *out;
	char *err;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), written from RFC 3629. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len = c < 0x80             ? 1
			     : (c & 0xE0) == 0xC0 ? 2
			     : (c & 0xF0) == 0xE0 ? 3
			     : (c & 0xF8) == 0xF0 ? 4
						  : 0;
		if (!len || n - i < len)
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7F >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

/* The output of stream d (n bytes) in mode, from output.h's words alone: the value, and
 * whether it is over the cap. */
static void reference(enum output_mode mode, const char *d, size_t n, struct buf *value, bool *over)
{
	size_t total = 0, n_values = 0, ml = strlen(OUTPUT_MARKER);
	buf_init(value, 0);
	CHECK(buf_append(value, "", 0));
	*over = false;
	for (size_t at = 0; mode != OUTPUT_NONE && at < n;) {
		const char *nl = memchr(d + at, '\n', n - at);
		size_t len = nl ? (size_t)(nl - (d + at)) : n - at;
		const char *s = d + at;
		at += len + (nl != NULL);
		size_t keep = len && s[len - 1] == '\r' ? len - 1 : len;
		bool text = false;
		for (size_t i = 0; i < len && !text; i++)
			text = !is_blank(s[i]);
		if (mode == OUTPUT_LAST_LINE && text) {
			buf_reset(value);
			CHECK(buf_append(value, s, keep));
			total = keep;
		} else if (mode == OUTPUT_MARKED && keep >= ml &&
			   memcmp(s, OUTPUT_MARKER, ml) == 0) {
			size_t skip = ml + (keep > ml && s[ml] == ' ');
			if (n_values++)
				CHECK(buf_append(value, "\n", 1));
			CHECK(buf_append(value, s + skip, keep - skip));
			total = value->len;
		}
	}
	*over = total > OUTPUT_MAX;
}

/* Scans d fed in pieces of `chunk` bytes (0: one feed), or cut once at `split`. */
static struct result scan(enum output_mode mode, const char *d, size_t n, size_t chunk,
			  size_t split)
{
	struct output_scan o;
	struct result r = {0};
	output_scan_init(&o, mode);
	for (size_t at = 0; at < n;) {
		size_t take = chunk ? chunk : split > at ? split - at : n - at;
		if (take > n - at)
			take = n - at;
		output_scan_feed(&o, d + at, take);
		at += take;
		/* what the scan holds stays bounded, whatever the stream */
		CHECK(o.line.len <= LINE_HELD_MAX);
		CHECK(o.value.len <= OUTPUT_MAX);
	}
	r.out = output_scan_finish(&o, &r.err);
	CHECK((r.out == NULL) != (r.err == NULL));
	/* an output is never over the cap */
	CHECK(!r.out || strlen(r.out) <= OUTPUT_MAX);
	return r;
}

static bool same_result(const struct result *a, const struct result *b)
{
	return str_same(a->out, b->out) && str_same(a->err, b->err);
}

static void result_finish(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* The error for a reference value that is not over the cap, or NULL. */
static const char *text_error(const struct buf *v)
{
	if (v->len && memchr(v->data, '\0', v->len))
		return "the output is not text: it holds a NUL byte";
	if (!utf8_valid((const unsigned char *)v->data, v->len))
		return "the output is not valid UTF-8 text";
	return NULL;
}

static void check_scans(enum output_mode mode, const char *d, size_t n, size_t chunk, size_t split,
			struct result *whole)
{
	struct buf ref;
	bool over;
	reference(mode, d, n, &ref, &over);
	*whole = scan(mode, d, n, 0, 0);
	if (over) {
		CHECK(whole->err && strncmp(whole->err, "the output is ", 14) == 0);
		CHECK(strtoull(whole->err + 14, NULL, 10) > OUTPUT_MAX);
		CHECK(strstr(whole->err, "over the cap of 65536 bytes (64 KiB)") != NULL);
	} else if (text_error(&ref)) {
		CHECK(str_same(whole->err, text_error(&ref)));
	} else {
		CHECK(whole->out && strlen(whole->out) == ref.len);
		CHECK(memcmp(whole->out, ref.data, ref.len) == 0);
		CHECK(ref.len <= OUTPUT_MAX);
	}
	if (mode == OUTPUT_NONE)
		CHECK(str_same(whole->out, ""));
	buf_finish(&ref);

	/* Cut anywhere, in pieces of any size, the same stream gives the same result. */
	struct result r = scan(mode, d, n, 0, split);
	CHECK(same_result(&r, whole));
	result_finish(&r);
	r = scan(mode, d, n, chunk, 0);
	CHECK(same_result(&r, whole));
	result_finish(&r);
	if (n <= BYTEWISE_MAX) {
		r = scan(mode, d, n, 1, 0);
		CHECK(same_result(&r, whole));
		result_finish(&r);
	}
}

/* The lines of s that are not blank, trimmed of blanks around them as output.h says. */
static size_t count_lines(const char *s, bool trim, const char *const *want)
{
	size_t count = 0;
	while (*s) {
		size_t len = strcspn(s, "\n");
		size_t b = 0, e = len;
		if (e && s[e - 1] == '\r')
			e--;
		while (trim && b < e && (s[b] == ' ' || s[b] == '\t'))
			b++;
		while (trim && e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		bool text = false;
		for (size_t i = b; i < e && !text; i++)
			text = !is_blank(s[i]);
		if (text) {
			if (want)
				CHECK(strlen(want[count]) == e - b &&
				      memcmp(want[count], s + b, e - b) == 0);
			count++;
		}
		s += len + (s[len] == '\n');
	}
	return count;
}

static void check_branch(const char *out)
{
	struct strv ids = {0};
	char *err = NULL;
	json_t *arr = json_loads(out, JSON_DECODE_ANY, NULL);
	bool ok = output_branch_parse(out, &ids, &err);
	if (json_is_array(arr)) {
		bool strings = true;
		for (size_t i = 0; i < json_array_size(arr); i++)
			strings = strings && json_is_string(json_array_get(arr, i));
		CHECK(ok == strings);
		CHECK(ok ? !err && ids.len == json_array_size(arr) : err && ids.len == 0);
		for (size_t i = 0; ok && i < ids.len; i++)
			CHECK(strcmp(ids.v[i], json_string_value(json_array_get(arr, i))) == 0);
	} else {
		CHECK(ok && !err);
		CHECK(ids.len == count_lines(out, true, NULL));
		count_lines(out, true, (const char *const *)ids.v);
	}
	json_decref(arr);
	strv_finish(&ids);
	free(err);
}

static void check_false(const char *out)
{
	size_t b = 0, e = strlen(out);
	while (b < e && is_blank(out[b]))
		b++;
	while (e > b && is_blank(out[e - 1]))
		e--;
	bool want = e == b || (e - b == 5 && strncasecmp(out + b, "false", 5) == 0);
	CHECK(output_is_false(out) == want);
}

/* Every element is valid UTF-8; a text that is not a JSON array gives its non-blank lines. */
static void check_expand(const char *text, bool text_valid)
{
	json_t *items = output_expand_items(text);
	CHECK(json_is_array(items));
	json_t *arr = json_loads(text, JSON_DECODE_ANY, NULL);
	if (json_is_array(arr)) {
		CHECK(json_equal(items, arr));
	} else {
		struct strv lines = {0};
		for (size_t i = 0; i < json_array_size(items); i++) {
			const json_t *v = json_array_get(items, i);
			CHECK(json_is_string(v));
			const char *s = json_string_value(v);
			CHECK(utf8_valid((const unsigned char *)s, json_string_length(v)));
			CHECK(!strchr(s, '\n') && strlen(s) == json_string_length(v));
			strv_push(&lines, s);
		}
		/* no element is lost from a text that is valid UTF-8 */
		size_t want = count_lines(text, false, NULL);
		if (text_valid)
			CHECK(lines.len == want &&
			      count_lines(text, false, (const char *const *)lines.v) == want);
		strv_finish(&lines);
	}
	json_decref(arr);
	json_decref(items);

	/* Several values are one element each, as they are. */
	const char *values[] = {text, "", text};
	items = output_expand_values(values, ARRAY_LEN(values));
	if (text_valid) {
		CHECK(json_array_size(items) == ARRAY_LEN(values));
		for (size_t i = 0; i < ARRAY_LEN(values); i++)
			CHECK(str_same(json_string_value(json_array_get(items, i)), values[i]));
	}
	json_decref(items);
}

static void check_as_json(const char *out)
{
	json_t *v = output_as_json(out);
	CHECK(v != NULL);
	json_t *parsed = json_loads(out, JSON_DECODE_ANY, NULL);
	CHECK(parsed ? json_equal(v, parsed) : str_same(json_string_value(v), out));
	char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	CHECK(dump != NULL);
	free(dump);
	json_decref(parsed);
	json_decref(v);
	v = output_as_json(NULL);
	CHECK(json_is_null(v));
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	unsigned flags = (unsigned)input_uint(&in, 1);
	size_t split = (size_t)input_uint(&in, 2);
	size_t chunk = (size_t)input_uint(&in, 2) % BYTEWISE_MAX + 1;
	size_t stretch = STRETCH_BASE + (size_t)input_uint(&in, 2) % STRETCH_SPAN;
	enum output_mode mode = (flags & 3) == 0   ? OUTPUT_NONE
				: (flags & 3) == 1 ? OUTPUT_LAST_LINE
						   : OUTPUT_MARKED;
	split = in.left ? split % (in.left + 1) : 0;

	struct buf stream;
	buf_init(&stream, 0);
	CHECK(buf_append(&stream, in.p, split));
	for (size_t i = 0; (flags & 4) && i < stretch; i++)
		CHECK(buf_append(&stream, flags & 8 ? " " : "x", 1));
	CHECK(buf_append(&stream, in.p + split, in.left - split));
	CHECK(buf_append(&stream, "", 0));

	struct result whole;
	check_scans(mode, stream.data, stream.len, chunk, split, &whole);
	if (whole.out) {
		check_branch(whole.out);
		check_false(whole.out);
		check_expand(whole.out, true);
		check_as_json(whole.out);
	}
	/* expand items of the raw bytes as a C string, valid UTF-8 or not */
	if (stream.len <= BYTEWISE_MAX) {
		char *text = xstrndup(stream.data, stream.len);
		check_expand(text, utf8_valid((const unsigned char *)text, strlen(text)));
		free(text);
	}
	result_finish(&whole);
	buf_finish(&stream);
	return 0;
}
