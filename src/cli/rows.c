/* rows.c - the JSON objects of `runs list --json` and `tasks list --json`, streamed a row at a
 * time. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "rows.h"

#include <inttypes.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "rows_pool.h"
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
	for (;;) {
		while (*p && *p < 0x80) /* most strings are ASCII: no decoding */
			p++;
		if (!*p || (n = utf8_len(p)) == 0)
			break;
		p += n;
	}
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
	*r = (struct json_row){.tree = json_object()};
}

json_t *json_row_take(struct json_row *r)
{
	json_t *v = r->tree;
	r->tree = NULL;
	return v;
}

/* The value `key` has now: NULL when the object lacks it. In a reused object it is the member
 * at the cursor, which then moves on; a key out of that order is looked up by hash (and the
 * cursor is dropped, as the order is no longer known). */
static json_t *old_value(struct json_row *r, const char *key)
{
	if (r->next) {
		void *at = r->next;
		if (strcmp(json_object_iter_key(at), key) == 0) {
			r->next = json_object_iter_next(r->tree, at);
			return json_object_iter_value(at);
		}
		r->next = NULL;
	}
	return json_object_get(r->tree, key);
}

/* Sets a member to v (taken). An existing member keeps its place: setting it replaces the
 * value only. */
static void set_value(struct json_row *r, const char *key, json_t *v)
{
	json_object_set_new_nocheck(r->tree, key, v);
}

/* Sets a string member from s, valid UTF-8. A reused object has the member already: its string
 * is replaced in place, without a new value, and not at all when it is the same. */
static void set_valid_str(struct json_row *r, const char *key, const char *s)
{
	json_t *old = old_value(r, key);
	if (!json_is_string(old))
		set_value(r, key, json_string_nocheck(s));
	else if (strcmp(json_string_value(old), s) != 0)
		json_string_set_nocheck(old, s);
}

void json_row_str(struct json_row *r, const char *key, const char *v)
{
	if (!v) {
		json_row_null(r, key);
		return;
	}
	char *tmp;
	/* utf8_clean made it valid UTF-8, as jansson's own check would require. */
	set_valid_str(r, key, utf8_clean(v, &tmp));
	free(tmp);
}

void json_row_int(struct json_row *r, const char *key, long long v)
{
	json_t *old = old_value(r, key);
	if (json_is_integer(old))
		json_integer_set(old, v);
	else
		set_value(r, key, json_integer(v));
}

void json_row_null(struct json_row *r, const char *key)
{
	if (!json_is_null(old_value(r, key)))
		set_value(r, key, json_null());
}

void json_row_time_ms(struct json_row *r, const char *key, int64_t ms)
{
	char t[32];
	if (!ms) {
		json_row_null(r, key);
		return;
	}
	time_format_iso_ms(ms, t);
	set_valid_str(r, key, t); /* ASCII */
}

void json_row_object_text(struct json_row *r, const char *key, const char *text)
{
	json_t *old = old_value(r, key);
	json_t *v = NULL;
	if (text && strcmp(text, "{}") != 0) { /* most runs have none: no parse */
		json_error_t jerr;
		v = json_loads(text, 0, &jerr);
	}
	if (v)
		set_value(r, key, v);
	else if (!json_is_object(old) || json_object_size(old) != 0)
		set_value(r, key, json_object());
	/* else: the {} of the row before */
}

/* ---- the objects ---- */

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
	json_row_object_text(r, "conf", run->conf);
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

/* ---- the rows, encoded ---- */

static void run_fields_of(struct json_row *r, const void *item)
{
	cli_run_fields(r, item);
}

static void run_finish_of(void *item)
{
	(void)item; /* a copied run: its strings are its batch's strpool's */
}

static void ti_fields_of(struct json_row *r, const void *item)
{
	cli_ti_fields(r, item);
}

static void ti_finish_of(void *item)
{
	ti_finish(item);
}

static const struct row_kind run_kind = {sizeof(struct run), run_fields_of, run_finish_of};
static const struct row_kind ti_kind = {sizeof(struct ti), ti_fields_of, ti_finish_of};

/* Appends v, compact, to out ("null" if jansson cannot dump it). */
static void dump_into(const json_t *v, struct buf *out)
{
	/* Into a buffer on the stack first: json_dumps would allocate for every row. */
	char tmp[16 * 1024];
	size_t n = json_dumpb(v, tmp, sizeof(tmp), JSON_COMPACT | JSON_ENCODE_ANY);
	if (n > 0 && n <= sizeof(tmp)) {
		buf_append(out, tmp, n);
		return;
	}
	char *big = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	buf_append(out, big ? big : "null", big ? strlen(big) : 4);
	free(big);
}

void cli_rows_encode(const struct row_kind *kind, const void *items, size_t len, size_t first,
		     json_t **obj, struct buf *out)
{
	/* One object for every row: its members are replaced in place (every row of a kind has
	 * the same keys, in the same order), so that a row costs no key or table allocations. */
	if (!*obj)
		*obj = json_object();
	struct json_row r = {.tree = *obj};
	for (size_t i = 0; i < len; i++) {
		buf_append(out, first + i ? ",\n" : "\n", first + i ? 2 : 1);
		r.next = json_object_iter(r.tree);
		kind->fields(&r, (const unsigned char *)items + i * kind->size);
		dump_into(*obj, out);
	}
}

/* ---- the array ---- */

/* The worker threads a long listing gets: one per CPU it may run on (`taskset`, a container's
 * cpuset), none on a single CPU (the main thread reads the store meanwhile), at most
 * ROW_POOL_MAX_WORKERS. */
static size_t default_workers(void)
{
	cpu_set_t set;
	long n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
							      : sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 1)
		return 0;
	return n > ROW_POOL_MAX_WORKERS ? ROW_POOL_MAX_WORKERS : (size_t)n;
}

void cli_json_stream_begin_with(struct json_stream *js, FILE *out, size_t batch, size_t workers)
{
	*js = (struct json_stream){.out = out, .batch = batch ? batch : 1, .workers = workers};
	fputs("[", out);
}

void cli_json_stream_begin(struct json_stream *js, FILE *out)
{
	cli_json_stream_begin_with(js, out, JSON_STREAM_BATCH, default_workers());
}

static void items_finish(const struct row_kind *kind, unsigned char *items, size_t len)
{
	for (size_t i = 0; i < len; i++)
		kind->finish(items + i * kind->size);
}

/* Encodes the batch being filled, or hands it to the pool (started when it is a full one). */
static void flush_batch(struct json_stream *js)
{
	if (js->len == 0)
		return;
	size_t first = js->n - js->len;
	if (!js->pool && js->workers && js->len == js->batch) {
		js->pool = row_pool_create(js->workers);
		if (!js->pool) /* no thread could start: not tried again for every batch */
			js->workers = 0;
	}
	if (js->pool) {
		row_pool_submit(js->pool, js->kind, js->items, js->len, first, &js->strings,
				js->out);
		js->items = NULL; /* the pool's now, and the strings */
	} else {
		struct buf text;
		buf_init(&text, 0);
		cli_rows_encode(js->kind, js->items, js->len, first, &js->row, &text);
		fwrite(text.data, 1, text.len, js->out);
		buf_finish(&text);
		items_finish(js->kind, js->items, js->len);
		strpool_finish(&js->strings);
	}
	js->len = 0;
}

static void stream_add(struct json_stream *js, const struct row_kind *kind, void *item)
{
	if (js->kind != kind) {
		flush_batch(js);
		free(js->items); /* sized for the other kind */
		js->items = NULL;
		js->kind = kind;
	}
	if (!js->items)
		js->items = xmalloc(js->batch * kind->size);
	memcpy(js->items + js->len * kind->size, item, kind->size);
	memset(item, 0, kind->size);
	js->len++;
	js->n++;
	if (js->len == js->batch)
		flush_batch(js);
}

void cli_json_stream_run(struct json_stream *js, const struct run *run)
{
	if (js->kind != &run_kind)
		flush_batch(js); /* the strings go with the batch they belong to */
	struct run copy = *run;
	copy.dag_id = strpool_dup(&js->strings, run->dag_id);
	copy.run_id = strpool_dup(&js->strings, run->run_id);
	copy.run_type = strpool_dup(&js->strings, run->run_type);
	copy.conf = strpool_dup(&js->strings, run->conf);
	copy.runner = strpool_dup(&js->strings, run->runner);
	stream_add(js, &run_kind, &copy);
}

void cli_json_stream_ti(struct json_stream *js, struct ti *ti)
{
	stream_add(js, &ti_kind, ti);
}

/* Writes every row given so far. */
static void stream_flush(struct json_stream *js)
{
	flush_batch(js);
	if (js->pool)
		row_pool_drain(js->pool, js->out);
}

void cli_json_stream_item(struct json_stream *js, json_t *v)
{
	stream_flush(js);
	struct buf text;
	buf_init(&text, 0);
	bool later = js->n++ > 0;
	buf_append(&text, later ? ",\n" : "\n", later ? 2 : 1);
	dump_into(v, &text);
	fwrite(text.data, 1, text.len, js->out);
	buf_finish(&text);
	json_decref(v);
}

void cli_json_stream_drop(struct json_stream *js)
{
	stream_flush(js); /* the rows given, as a stream that writes each at once would have */
	row_pool_destroy(js->pool);
	js->pool = NULL;
	if (js->items)
		items_finish(js->kind, js->items, js->len);
	strpool_finish(&js->strings);
	free(js->items);
	js->items = NULL;
	js->len = 0;
	json_decref(js->row);
	js->row = NULL;
}

void cli_json_stream_end(struct json_stream *js)
{
	cli_json_stream_drop(js); /* writes every row given, then frees */
	fputs(js->n ? "\n]\n" : "]\n", js->out);
}
