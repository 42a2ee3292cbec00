/* events_decode.c - the lines of the engine's event stream into plain structs (pure, no I/O). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/engine/events.h"

static void copy_str(char *dst, size_t size, const json_t *v)
{
	str_copy(dst, size, json_is_string(v) ? json_string_value(v) : "");
}

/* The engine sends exitCode as a decimal string ("137"). */
static void decode_exit_code(const json_t *attrs, struct engine_event *out)
{
	const json_t *v = json_object_get(attrs, "exitCode");
	int64_t code = 0;
	if (json_is_string(v) &&
	    parse_int64(json_string_value(v), -2147483648LL, 2147483647LL, &code)) {
		out->has_exit_code = true;
		out->exit_code = (int)code;
	}
}

static int64_t decode_time(const json_t *ev)
{
	const json_t *nano = json_object_get(ev, "timeNano");
	if (json_is_integer(nano) && json_integer_value(nano) > 0)
		return json_integer_value(nano);
	const json_t *sec = json_object_get(ev, "time");
	/* Seconds that fit in nanoseconds of an int64 (until the year 2262). */
	if (json_is_integer(sec) && json_integer_value(sec) > 0 &&
	    json_integer_value(sec) < INT64_MAX / 1000000000)
		return json_integer_value(sec) * 1000000000;
	return 0;
}

bool engine_event_decode(const char *line, size_t len, struct engine_event *out, char **err)
{
	*out = (struct engine_event){0};
	json_error_t jerr;
	json_t *ev = json_loadb(line, len, 0, &jerr);
	if (!ev)
		return set_err(err, "event: not JSON: %s", jerr.text);
	const json_t *type = json_object_get(ev, "Type");
	const json_t *action = json_object_get(ev, "Action");
	if (!json_is_object(ev) || !json_is_string(type) || !json_is_string(action)) {
		json_decref(ev);
		return set_err(err, "event: not an object with string Type and Action");
	}
	copy_str(out->type, sizeof(out->type), type);
	copy_str(out->action, sizeof(out->action), action);
	const json_t *actor = json_object_get(ev, "Actor");
	const json_t *attrs = json_object_get(actor, "Attributes");
	copy_str(out->actor_id, sizeof(out->actor_id), json_object_get(actor, "ID"));
	copy_str(out->instance, sizeof(out->instance),
		 json_object_get(attrs, "swarmflow.instance"));
	if (strcmp(out->type, "service") == 0)
		copy_str(out->service_id, sizeof(out->service_id), json_object_get(actor, "ID"));
	else
		copy_str(out->service_id, sizeof(out->service_id),
			 json_object_get(attrs, "com.docker.swarm.service.id"));
	if (strcmp(out->action, "die") == 0)
		decode_exit_code(attrs, out);
	out->time_nano = decode_time(ev);
	json_decref(ev);
	return true;
}

void engine_event_since(int64_t time_nano, char out[static 32])
{
	snprintf(out, 32, "%lld.%09lld", (long long)(time_nano / 1000000000),
		 (long long)(time_nano % 1000000000));
}

void event_lines_init(struct event_lines *lb)
{
	*lb = (struct event_lines){0};
	buf_init(&lb->line, EVENT_LINE_MAX);
}

void event_lines_reset(struct event_lines *lb)
{
	buf_reset(&lb->line);
	lb->skipping = false;
}

void event_lines_finish(struct event_lines *lb)
{
	buf_finish(&lb->line);
}

/* Hands the line collected so far to fn (without trailing '\r's), then starts the next. */
static bool line_end(struct event_lines *lb, event_line_fn fn, void *ctx)
{
	size_t n = lb->line.len;
	while (n && lb->line.data[n - 1] == '\r')
		n--;
	bool go = lb->skipping || n == 0 || fn(ctx, lb->line.data, n);
	event_lines_reset(lb);
	return go;
}

bool event_lines_feed(struct event_lines *lb, const char *data, size_t len, event_line_fn fn,
		      void *ctx)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t part = nl ? (size_t)(nl - data) : len;
		if (!lb->skipping && !buf_append(&lb->line, data, part)) {
			lb->skipping = true;
			lb->too_long++;
			buf_reset(&lb->line);
		}
		if (nl && !line_end(lb, fn, ctx))
			return false;
		data += part + (nl != NULL);
		len -= part + (nl != NULL);
	}
	return true;
}
