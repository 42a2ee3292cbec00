/* rows.c - the JSON objects of `runs list --json` and `tasks list --json`, streamed a row at a
 * time. */
#include "rows.h"

#include <inttypes.h>
#include <string.h>

#include "swarmflow/common/timeutil.h"

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

/* ---- members, both ways ---- */

void json_row_begin(struct json_row *r)
{
	r->tree = json_object();
}

json_t *json_row_take(struct json_row *r)
{
	json_t *v = r->tree;
	r->tree = NULL;
	return v;
}

void json_row_str(struct json_row *r, const char *key, const char *v)
{
	if (!v) {
		json_row_null(r, key);
		return;
	}
	char *tmp;
	/* utf8_clean made it valid UTF-8, as jansson's own check would require. */
	json_object_set_new_nocheck(r->tree, key, json_string_nocheck(utf8_clean(v, &tmp)));
	free(tmp);
}

void json_row_int(struct json_row *r, const char *key, long long v)
{
	json_object_set_new_nocheck(r->tree, key, json_integer(v));
}

void json_row_null(struct json_row *r, const char *key)
{
	json_object_set_new_nocheck(r->tree, key, json_null());
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
	json_object_set_new(r->tree, key, v);
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
	json_row_value(r, "conf", conf_json(run->conf));
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
	json_row_begin(&r);
	cli_run_fields(&r, run);
	return json_row_take(&r);
}

json_t *cli_ti_json(const struct ti *ti)
{
	struct json_row r;
	json_row_begin(&r);
	cli_ti_fields(&r, ti);
	return json_row_take(&r);
}

/* ---- the array ---- */

void cli_json_stream_begin(struct json_stream *js, FILE *out)
{
	*js = (struct json_stream){.out = out};
	fputs("[", out);
}

/* The object of the next row: the one of the row before, its members replaced in place (every
 * row of a kind has the same keys, in the same order), so that a row costs no key or table
 * allocations. */
static struct json_row stream_row(struct json_stream *js)
{
	if (!js->row)
		js->row = json_object();
	return (struct json_row){.tree = js->row};
}

/* Writes js->row as the next element (kept for the next row). */
static void stream_put(struct json_stream *js)
{
	cli_json_stream_item(js, json_incref(js->row));
}

void cli_json_stream_run(struct json_stream *js, const struct run *run)
{
	struct json_row r = stream_row(js);
	cli_run_fields(&r, run);
	stream_put(js);
}

void cli_json_stream_ti(struct json_stream *js, const struct ti *ti)
{
	struct json_row r = stream_row(js);
	cli_ti_fields(&r, ti);
	stream_put(js);
}

void cli_json_stream_item(struct json_stream *js, json_t *v)
{
	/* One object at a time, freed at once: a list never becomes one big document. */
	fputs(js->n++ ? ",\n" : "\n", js->out);
	/* Into a buffer, then one write: json_dumpf writes each token through stdio. */
	char buf[16 * 1024];
	size_t n = json_dumpb(v, buf, sizeof(buf), JSON_COMPACT | JSON_ENCODE_ANY);
	if (n > 0 && n <= sizeof(buf)) {
		fwrite(buf, 1, n, js->out);
	} else if (json_dumpf(v, js->out, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
		fputs("null", js->out);
	}
	json_decref(v);
}

void cli_json_stream_drop(struct json_stream *js)
{
	json_decref(js->row);
	js->row = NULL;
}

void cli_json_stream_end(struct json_stream *js)
{
	cli_json_stream_drop(js);
	fputs(js->n ? "\n]\n" : "]\n", js->out);
}
