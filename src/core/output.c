/* output.c - data between tasks: outputs from stdout, branch choices, short circuits and the
 * elements of a mapped task. Pure, no I/O. */
#include "swarmflow/core/output.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How much of a line is kept: enough for a marked value of OUTPUT_MAX bytes and its marker. */
#define LINE_KEEP (OUTPUT_MAX + sizeof(OUTPUT_MARKER) + 1)

void output_scan_init(struct output_scan *o, enum output_mode mode)
{
	*o = (struct output_scan){.mode = mode};
	buf_init(&o->line, 0);
	buf_init(&o->value, 0);
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* The value v (vlen bytes kept, whole bytes long) becomes the last line. */
static void take_last_line(struct output_scan *o, const char *v, size_t kept, size_t whole)
{
	buf_reset(&o->value);
	o->value_len = whole;
	if (whole <= OUTPUT_MAX)
		buf_append(&o->value, v, kept);
}

/* A marked value joins the others, after a newline. */
static void add_marked(struct output_scan *o, const char *v, size_t kept, size_t whole)
{
	size_t sep = o->n_values++ ? 1 : 0;
	o->value_len += sep + whole;
	if (o->value_len > OUTPUT_MAX)
		return;
	if (sep)
		buf_append(&o->value, "\n", 1);
	buf_append(&o->value, v, kept);
}

/* A whole line has been read (without its '\n'). */
static void end_line(struct output_scan *o)
{
	const char *s = o->line.data ? o->line.data : "";
	size_t kept = o->line.len, whole = o->line_len;
	if (kept == whole && kept && s[kept - 1] == '\r')
		kept = --whole; /* CRLF line ends */
	size_t ml = strlen(OUTPUT_MARKER);
	if (o->mode == OUTPUT_LAST_LINE && o->line_text) {
		take_last_line(o, s, kept, whole);
	} else if (o->mode == OUTPUT_MARKED && kept >= ml && memcmp(s, OUTPUT_MARKER, ml) == 0) {
		size_t skip = ml + (kept > ml && s[ml] == ' ');
		add_marked(o, s + skip, kept - skip, whole - skip);
	}
	buf_reset(&o->line);
	o->line_len = 0;
	o->line_text = false;
}

void output_scan_feed(struct output_scan *o, const void *data, size_t len)
{
	const char *p = data;
	if (o->mode == OUTPUT_NONE)
		return;
	while (len > 0) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) : len;
		size_t room = o->line.len < LINE_KEEP ? LINE_KEEP - o->line.len : 0;
		buf_append(&o->line, p, n < room ? n : room);
		o->line_len += n;
		o->line_text = o->line_text || !blank(p, n);
		if (nl)
			end_line(o);
		n += nl != NULL;
		p += n;
		len -= n;
	}
}

char *output_scan_finish(struct output_scan *o, char **err)
{
	if (o->line_len)
		end_line(o);
	char *out = NULL;
	json_t *utf8 = NULL;
	if (o->value_len > OUTPUT_MAX)
		set_err(err, "the output is %zu bytes, over the cap of %d bytes (64 KiB)",
			o->value_len, OUTPUT_MAX);
	else if (o->value.len && memchr(o->value.data, '\0', o->value.len))
		set_err(err, "the output is not text: it holds a NUL byte");
	else if (!(utf8 = json_stringn(o->value.data ? o->value.data : "", o->value.len)))
		set_err(err, "the output is not valid UTF-8 text");
	else
		out = xstrndup(o->value.data ? o->value.data : "", o->value.len);
	json_decref(utf8);
	buf_finish(&o->line);
	buf_finish(&o->value);
	return out;
}

/* Calls fn for every line of s that is not blank, trimmed as trim says. */
static void each_line(const char *s, bool trim, void (*fn)(void *ctx, const char *, size_t),
		      void *ctx)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		const char *b = s;
		size_t len = n;
		if (len && b[len - 1] == '\r')
			len--;
		while (trim && len && (*b == ' ' || *b == '\t')) {
			b++;
			len--;
		}
		while (trim && len && (b[len - 1] == ' ' || b[len - 1] == '\t'))
			len--;
		if (!blank(b, len))
			fn(ctx, b, len);
		s += n + (s[n] == '\n');
	}
}

static void push_line(void *ctx, const char *s, size_t len)
{
	strv_push_owned(ctx, xstrndup(s, len));
}

bool output_branch_parse(const char *output, struct strv *out, char **err)
{
	json_error_t jerr;
	json_t *arr = json_loads(output ? output : "", JSON_DECODE_ANY, &jerr);
	if (!json_is_array(arr)) {
		json_decref(arr);
		each_line(output ? output : "", true, push_line, out);
		return true;
	}
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(arr);
			strv_finish(out);
			return set_err(
			    err, "the branch output's element %zu is not a task id string", i);
		}
		strv_push(out, json_string_value(v));
	}
	json_decref(arr);
	return true;
}

bool output_is_false(const char *output)
{
	const char *s = output ? output : "";
	size_t len = strlen(s);
	while (len && blank(s, 1)) {
		s++;
		len--;
	}
	while (len && blank(s + len - 1, 1))
		len--;
	return len == 0 || (len == 5 && strncasecmp(s, "false", 5) == 0);
}

static void push_item(void *ctx, const char *s, size_t len)
{
	json_array_append_new(ctx, json_stringn(s, len));
}

json_t *output_expand_items(const char *value)
{
	json_error_t jerr;
	json_t *arr = json_loads(value ? value : "", JSON_DECODE_ANY, &jerr);
	if (json_is_array(arr))
		return arr;
	json_decref(arr);
	arr = json_array();
	each_line(value ? value : "", false, push_item, arr);
	return arr;
}

json_t *output_expand_values(const char *const *values, size_t n)
{
	if (n == 1)
		return output_expand_items(values[0]);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(values[i]));
	return arr;
}

json_t *output_as_json(const char *output)
{
	if (!output)
		return json_null();
	json_error_t jerr;
	json_t *v = json_loads(output, JSON_DECODE_ANY, &jerr);
	return v ? v : json_string(output);
}
