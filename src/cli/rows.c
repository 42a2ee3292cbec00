/* rows.c - the JSON objects of `runs list --json` and `tasks list --json`, built or streamed. */
#include "rows.h"

#include <inttypes.h>
#include <string.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"

/* Largest text of one streamed object: a row holds at most a few error and log lines. */
#define ROW_TEXT_MAX (64 * 1024 * 1024)

/* ---- UTF-8: what jansson accepts ---- */

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the byte there does not start
 * one (overlong forms, surrogates and code points past U+10FFFF are invalid, as in jansson). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
	if (n == 0 || c > 0xF4)
		return 0;
	uint32_t cp = c & (0xFF >> (n + 1));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* s itself when it is valid UTF-8, else a copy in *tmp (caller frees) with U+FFFD for each byte
 * that starts no valid sequence. */
static const char *utf8_clean(const char *s, char **tmp)
{
	*tmp = NULL;
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	while (*p && (n = utf8_len(p)) > 0)
		p += n;
	if (!*p)
		return s;
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, s, (size_t)((const char *)p - s));
	while (*p) {
		n = utf8_len(p);
		if (n) {
			buf_append(&b, p, n);
			p += n;
		} else {
			buf_append(&b, "\xEF\xBF\xBD", 3);
			p++;
		}
	}
	*tmp = b.data;
	return *tmp;
}

/* ---- the streamed text: jansson's compact bytes ---- */

static void text_add(struct json_row *r, const char *s, size_t n)
{
	if (!buf_append(&r->text, s, n))
		fatalx("a JSON row is larger than %d bytes", ROW_TEXT_MAX);
}

/* Appends s (valid UTF-8) as a JSON string, escaped as json_dumps does without flags. */
static void text_string(struct json_row *r, const char *s)
{
	text_add(r, "\"", 1);
	const char *span = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		text_add(r, span, (size_t)(p - span));
		span = p + 1;
		char seq[8];
		switch (c) {
		case '"':
			text_add(r, "\\\"", 2);
			break;
		case '\\':
			text_add(r, "\\\\", 2);
			break;
		case '\b':
			text_add(r, "\\b", 2);
			break;
		case '\f':
			text_add(r, "\\f", 2);
			break;
		case '\n':
			text_add(r, "\\n", 2);
			break;
		case '\r':
			text_add(r, "\\r", 2);
			break;
		case '\t':
			text_add(r, "\\t", 2);
			break;
		default:
			snprintf(seq, sizeof(seq), "\\u%04X", c);
			text_add(r, seq, 6);
		}
	}
	text_add(r, span, strlen(span));
	text_add(r, "\"", 1);
}

/* The separator and the key of the next streamed member. */
static void text_key(struct json_row *r, const char *key)
{
	if (!r->empty)
		text_add(r, ",", 1);
	r->empty = false;
	text_string(r, key);
	text_add(r, ":", 1);
}

/* ---- members, both ways ---- */

void json_row_begin(struct json_row *r, bool tree)
{
	if (tree) {
		*r = (struct json_row){.tree = json_object(), .empty = true};
		return;
	}
	if (!r->text.data) /* a row reused for the next object keeps its buffer */
		buf_init(&r->text, ROW_TEXT_MAX);
	buf_reset(&r->text);
	r->tree = NULL;
	r->empty = true;
	text_add(r, "{", 1);
}

void json_row_end(struct json_row *r)
{
	if (!r->tree)
		text_add(r, "}", 1);
}

json_t *json_row_take(struct json_row *r)
{
	json_t *v = r->tree;
	r->tree = NULL;
	return v;
}

void json_row_finish(struct json_row *r)
{
	json_decref(r->tree);
	if (r->text.data)
		buf_finish(&r->text);
	*r = (struct json_row){0};
}

void json_row_str(struct json_row *r, const char *key, const char *v)
{
	if (!v) {
		json_row_null(r, key);
		return;
	}
	char *tmp;
	const char *s = utf8_clean(v, &tmp);
	if (r->tree) {
		json_object_set_new(r->tree, key, json_string(s));
	} else {
		text_key(r, key);
		text_string(r, s);
	}
	free(tmp);
}

void json_row_int(struct json_row *r, const char *key, long long v)
{
	if (r->tree) {
		json_object_set_new(r->tree, key, json_integer(v));
		return;
	}
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", v);
	text_key(r, key);
	text_add(r, num, (size_t)n);
}

void json_row_null(struct json_row *r, const char *key)
{
	if (r->tree) {
		json_object_set_new(r->tree, key, json_null());
		return;
	}
	text_key(r, key);
	text_add(r, "null", 4);
}

void json_row_time_ms(struct json_row *r, const char *key, int64_t ms)
{
	char t[32];
	if (!ms) {
		json_row_null(r, key);
		return;
	}
	time_format_iso_ms(ms, t);
	json_row_str(r, key, t);
}

void json_row_value(struct json_row *r, const char *key, json_t *v)
{
	if (r->tree) {
		json_object_set_new(r->tree, key, v);
		return;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	text_key(r, key);
	text_add(r, s ? s : "null", s ? strlen(s) : 4);
	free(s);
	json_decref(v);
}

/* ---- the objects ---- */

/* A run's conf as JSON: {} when it has none (most runs: no parse) or it is not JSON. */
static json_t *conf_json(const char *conf)
{
	if (!conf || strcmp(conf, "{}") == 0)
		return json_object();
	json_error_t jerr;
	json_t *v = json_loads(conf, 0, &jerr);
	return v ? v : json_object();
}

void cli_run_fields(struct json_row *r, const struct run *run)
{
	char logical[32];
	time_format_iso(run->logical_date, logical);
	json_row_str(r, "dag_id", run->dag_id);
	json_row_str(r, "run_id", run->run_id);
	json_row_str(r, "state", run_state_name(run->state));
	json_row_str(r, "run_type", run->run_type);
	json_row_str(r, "logical_date", logical);
	json_row_time_ms(r, "queued_at", run->queued_ms);
	json_row_time_ms(r, "start_date", run->start_ms);
	json_row_time_ms(r, "end_date", run->end_ms);
	if (r->tree || (run->conf && strcmp(run->conf, "{}") != 0)) {
		json_row_value(r, "conf", conf_json(run->conf));
	} else { /* streamed, no conf: what the empty object dumps as, without making it */
		text_key(r, "conf");
		text_add(r, "{}", 2);
	}
}

void cli_ti_fields(struct json_row *r, const struct ti *ti)
{
	json_row_str(r, "dag_id", ti->dag_id);
	json_row_str(r, "run_id", ti->run_id);
	json_row_str(r, "task_id", ti->task_id);
	json_row_int(r, "map_index", ti->map_index);
	json_row_str(r, "state", ti_state_name(ti->state));
	json_row_int(r, "try_number", ti->try_number);
	json_row_int(r, "max_tries", ti->max_tries);
	json_row_str(r, "service_id", ti->service_id);
	json_row_str(r, "service_name", ti->service_name);
	if (ti->has_exit_code)
		json_row_int(r, "exit_code", ti->exit_code);
	else
		json_row_null(r, "exit_code");
	json_row_str(r, "error", ti->error);
	json_row_time_ms(r, "start_date", ti->start_ms);
	json_row_time_ms(r, "end_date", ti->end_ms);
	json_row_str(r, "log_path", ti->log_path);
	json_row_str(r, "output", ti->output);
}

json_t *cli_run_json(const struct run *run)
{
	struct json_row r;
	json_row_begin(&r, true);
	cli_run_fields(&r, run);
	json_row_end(&r);
	return json_row_take(&r);
}

json_t *cli_ti_json(const struct ti *ti)
{
	struct json_row r;
	json_row_begin(&r, true);
	cli_ti_fields(&r, ti);
	json_row_end(&r);
	return json_row_take(&r);
}

/* ---- the array ---- */

void cli_json_stream_begin(struct json_stream *js, FILE *out)
{
	*js = (struct json_stream){.out = out};
	fputs("[", out);
}

void cli_json_stream_row(struct json_stream *js, const struct json_row *r)
{
	fputs(js->n++ ? ",\n" : "\n", js->out);
	fwrite(r->text.data, 1, r->text.len, js->out);
}

void cli_json_stream_run(struct json_stream *js, struct json_row *r, const struct run *run)
{
	json_row_begin(r, false);
	cli_run_fields(r, run);
	json_row_end(r);
	cli_json_stream_row(js, r);
}

void cli_json_stream_ti(struct json_stream *js, struct json_row *r, const struct ti *ti)
{
	json_row_begin(r, false);
	cli_ti_fields(r, ti);
	json_row_end(r);
	cli_json_stream_row(js, r);
}

void cli_json_stream_item(struct json_stream *js, json_t *v)
{
	/* One object at a time, freed at once: a list never becomes one big document. */
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s) {
		fputs(js->n++ ? ",\n" : "\n", js->out);
		fputs(s, js->out);
	}
	free(s);
	json_decref(v);
}

void cli_json_stream_end(struct json_stream *js)
{
	fputs(js->n ? "\n]\n" : "]\n", js->out);
}
