/* template.c - `{{ name }}` variables in commands, env and labels: checking and rendering. */
#include "swarmflow/core/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"

enum var {
	VAR_DS,
	VAR_DS_NODASH,
	VAR_TS,
	VAR_LOGICAL_DATE,
	VAR_DATA_INTERVAL_START,
	VAR_DATA_INTERVAL_END,
	VAR_RUN_ID,
	VAR_DAG_ID,
	VAR_TASK_ID,
	VAR_TRY_NUMBER,
	VAR_CONF, /* conf.KEY */
	VAR_ITEM,
	VAR_MAP_INDEX,
	VAR_UPSTREAM, /* upstream.TASK.WHAT (see enum template_ref) */
};

static const struct {
	const char *name;
	enum var var;
} variables[] = {
    {"ds", VAR_DS},
    {"ds_nodash", VAR_DS_NODASH},
    {"ts", VAR_TS},
    {"logical_date", VAR_LOGICAL_DATE},
    {"data_interval_start", VAR_DATA_INTERVAL_START},
    {"data_interval_end", VAR_DATA_INTERVAL_END},
    {"run_id", VAR_RUN_ID},
    {"dag_id", VAR_DAG_ID},
    {"task_id", VAR_TASK_ID},
    {"try_number", VAR_TRY_NUMBER},
    {"item", VAR_ITEM},
    {"map_index", VAR_MAP_INDEX},
};

#define CONF_PREFIX "conf."
#define UPSTREAM_PREFIX "upstream."
#define OUTPUT_JSON_PART ".output_json."

/* The endings of upstream.TASK.WHAT that take no key. */
static const struct {
	const char *suffix;
	enum template_ref ref;
} upstream_suffixes[] = {
    {".output", TEMPLATE_REF_OUTPUT},
    {".exit_code", TEMPLATE_REF_EXIT_CODE},
    {".outputs_json", TEMPLATE_REF_OUTPUTS_JSON},
};

/* One `{{ ... }}` of a template. */
struct expr {
	const char *open; /* the `{{` */
	const char *end;  /* just after the `}}` */
	enum var var;
	const char *key; /* conf.KEY, upstream.TASK.output_json.KEY: the KEY, key_len bytes */
	size_t key_len;
	const char *task; /* upstream.TASK.*: the TASK, task_len bytes */
	size_t task_len;
	enum template_ref ref; /* upstream.TASK.*: what is read */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool all_key_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_key_char(s[i]))
			return false;
	return len > 0;
}

/* A task id's characters (dag_id_valid checks the whole id later). */
static bool all_id_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_key_char(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return len > 0;
}

/* Resolves rest (len bytes, after "upstream.") as TASK.output_json.KEY into e. */
static bool resolve_output_json(const char *rest, size_t len, struct expr *e)
{
	const char *part = NULL;
	size_t pl = strlen(OUTPUT_JSON_PART);
	for (size_t i = 0; i + pl <= len; i++)
		if (memcmp(rest + i, OUTPUT_JSON_PART, pl) == 0)
			part = rest + i; /* the last one: a task id may hold dots */
	if (!part)
		return false;
	size_t task_len = (size_t)(part - rest), key_len = len - task_len - pl;
	if (!all_id_chars(rest, task_len) || !all_key_chars(part + pl, key_len))
		return false;
	*e = (struct expr){.open = e->open,
			   .end = e->end,
			   .var = VAR_UPSTREAM,
			   .task = rest,
			   .task_len = task_len,
			   .ref = TEMPLATE_REF_OUTPUT_JSON,
			   .key = part + pl,
			   .key_len = key_len};
	return true;
}

/* Resolves rest (len bytes, after "upstream.") as TASK.WHAT into e. output_json.KEY comes
 * first, so that a KEY may be "output" or "exit_code" (else read as the end of a TASK named
 * "x.output_json"); a TASK holding ".output_json." is still read when what follows is no KEY. */
static bool resolve_upstream(const char *rest, size_t len, struct expr *e)
{
	if (resolve_output_json(rest, len, e))
		return true;
	for (size_t i = 0; i < ARRAY_LEN(upstream_suffixes); i++) {
		size_t sl = strlen(upstream_suffixes[i].suffix);
		if (len > sl && memcmp(rest + len - sl, upstream_suffixes[i].suffix, sl) == 0 &&
		    all_id_chars(rest, len - sl)) {
			*e = (struct expr){.open = e->open,
					   .end = e->end,
					   .var = VAR_UPSTREAM,
					   .task = rest,
					   .task_len = len - sl,
					   .ref = upstream_suffixes[i].ref};
			return true;
		}
	}
	return false;
}

/* Resolves the trimmed name (len bytes) of an expression into e->var (and e->key). */
static bool resolve(const char *name, size_t len, struct expr *e, char **err)
{
	for (size_t i = 0; i < ARRAY_LEN(variables); i++) {
		if (strlen(variables[i].name) == len && memcmp(variables[i].name, name, len) == 0) {
			e->var = variables[i].var;
			return true;
		}
	}
	size_t plen = strlen(CONF_PREFIX);
	if (len > plen && memcmp(name, CONF_PREFIX, plen) == 0 &&
	    all_key_chars(name + plen, len - plen)) {
		e->var = VAR_CONF;
		e->key = name + plen;
		e->key_len = len - plen;
		return true;
	}
	plen = strlen(UPSTREAM_PREFIX);
	if (len > plen && memcmp(name, UPSTREAM_PREFIX, plen) == 0 &&
	    resolve_upstream(name + plen, len - plen, e))
		return true;
	if (len == 0)
		return set_err(err, "empty template variable '{{ }}'");
	return set_err(err, "unknown template variable '%.*s'", (int)len, name);
}

/* Finds the next expression at or after p into *e. Returns 1 when found, 0 when there is none,
 * -1 on an error (unclosed `{{` or an unknown name; *err set). */
static int next_expr(const char *p, struct expr *e, char **err)
{
	const char *open = strstr(p, "{{");
	if (!open)
		return 0;
	const char *close = strstr(open + 2, "}}");
	if (!close) {
		set_err(err, "unclosed '{{' at '%.30s'", open);
		return -1;
	}
	const char *name = open + 2, *name_end = close;
	while (name < name_end && is_space(*name))
		name++;
	while (name_end > name && is_space(name_end[-1]))
		name_end--;
	*e = (struct expr){.open = open, .end = close + 2};
	return resolve(name, (size_t)(name_end - name), e, err) ? 1 : -1;
}

bool template_check(const char *tmpl, char **err)
{
	return template_refs(tmpl, NULL, NULL, err);
}

bool template_refs(const char *tmpl,
		   void (*fn)(void *ctx, enum template_ref kind, const char *task, size_t len),
		   void *ctx, char **err)
{
	struct expr e;
	int rc;
	for (const char *p = tmpl ? tmpl : ""; (rc = next_expr(p, &e, err)) > 0; p = e.end) {
		if (!fn)
			continue;
		if (e.var == VAR_UPSTREAM)
			fn(ctx, e.ref, e.task, e.task_len);
		else if (e.var == VAR_ITEM || e.var == VAR_MAP_INDEX)
			fn(ctx, e.var == VAR_ITEM ? TEMPLATE_REF_ITEM : TEMPLATE_REF_MAP_INDEX,
			   NULL, 0);
	}
	return rc == 0;
}

/* Appends a time as Airflow writes it: "2026-11-01T00:00:00+00:00". */
static void append_ts(struct buf *out, int64_t t)
{
	char iso[32];
	time_format_iso(t, iso);
	buf_append(out, iso, strlen(iso) - 1); /* without the 'Z' */
	buf_append(out, "+00:00", 6);
}

static void append_date(struct buf *out, int64_t t, bool dashes)
{
	char date[16];
	time_format_date(t, date);
	for (const char *c = date; *c; c++)
		if (dashes || *c != '-')
			buf_append(out, c, 1);
}

static void append_str(struct buf *out, const char *s)
{
	if (s)
		buf_append(out, s, strlen(s));
}

/* Appends a JSON value: a string raw, anything else as compact JSON; what names it in an
 * error. */
static bool append_json(struct buf *out, const json_t *v, const char *what, char **err)
{
	if (json_is_string(v)) {
		buf_append(out, json_string_value(v), json_string_length(v));
		return true;
	}
	char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!dump)
		return set_err(err, "%s cannot be written as JSON", what);
	append_str(out, dump);
	free(dump);
	return true;
}

/* Appends the value of conf.KEY. */
static bool append_conf(struct buf *out, const struct expr *e, const json_t *conf, char **err)
{
	char *key = xstrndup(e->key, e->key_len);
	json_t *v = json_is_object(conf) ? json_object_get(conf, key) : NULL;
	char *what = xasprintf("conf key '%s'", key);
	bool ok = v ? append_json(out, v, what, err)
		    : set_err(err, "conf key '%s' is not in the run's conf", key);
	free(what);
	free(key);
	return ok;
}

/* Appends KEY of the upstream's output, parsed as a JSON object. */
static bool append_output_json(struct buf *out, const struct expr *e, const char *task,
			       const char *output, char **err)
{
	json_error_t jerr;
	json_t *obj = json_loads(output, JSON_DECODE_ANY, &jerr);
	char *key = xstrndup(e->key, e->key_len);
	bool ok = false;
	if (!json_is_object(obj)) {
		set_err(err, "upstream '%s': output_json.%s: the output is not a JSON object (%s)",
			task, key, obj ? "another JSON value" : jerr.text);
	} else if (!json_object_get(obj, key)) {
		set_err(err, "upstream '%s': output_json.%s: the output has no key '%s'", task, key,
			key);
	} else {
		char *what = xasprintf("upstream '%s' output_json.%s", task, key);
		ok = append_json(out, json_object_get(obj, key), what, err);
		free(what);
	}
	free(key);
	json_decref(obj);
	return ok;
}

/* Appends upstream.TASK.WHAT from ctx->upstream. */
static bool append_upstream(struct buf *out, const struct expr *e, const struct template_ctx *ctx,
			    char **err)
{
	char *task = xstrndup(e->task, e->task_len);
	const json_t *up = json_object_get(ctx->upstream, task);
	const char *state = json_string_value(json_object_get(up, "state"));
	const json_t *output = json_object_get(up, "output");
	const json_t *code = json_object_get(up, "exit_code");
	const json_t *outputs = json_object_get(up, "outputs");
	bool ok = true;
	if (!up) {
		ok = set_err(err, "upstream '%s' is not known to this try", task);
	} else if (e->ref == TEMPLATE_REF_EXIT_CODE && json_is_integer(code)) {
		buf_printf(out, "%lld", (long long)json_integer_value(code));
	} else if (e->ref == TEMPLATE_REF_EXIT_CODE) {
		ok = set_err(err, "upstream '%s' has no exit code (it is %s)", task,
			     state ? state : "not finished");
	} else if (e->ref == TEMPLATE_REF_OUTPUTS_JSON) {
		ok = json_is_array(outputs) ? append_json(out, outputs, "outputs_json", err)
					    : set_err(err, "upstream '%s' is not mapped", task);
	} else if (!json_is_string(output)) {
		ok = set_err(err, "upstream '%s' has no output (it is %s)", task,
			     state ? state : "not finished");
	} else if (e->ref == TEMPLATE_REF_OUTPUT) {
		buf_append(out, json_string_value(output), json_string_length(output));
	} else {
		ok = append_output_json(out, e, task, json_string_value(output), err);
	}
	free(task);
	return ok;
}

static bool append_var(struct buf *out, const struct expr *e, const struct template_ctx *ctx,
		       char **err)
{
	bool data = e->var == VAR_UPSTREAM || e->var == VAR_ITEM || e->var == VAR_MAP_INDEX;
	if (data && ctx->preview) {
		buf_append(out, e->open, (size_t)(e->end - e->open));
		return true;
	}
	switch (e->var) {
	case VAR_DS:
	case VAR_DS_NODASH:
		append_date(out, ctx->logical_date, e->var == VAR_DS);
		break;
	case VAR_TS:
	case VAR_LOGICAL_DATE:
		append_ts(out, ctx->logical_date);
		break;
	case VAR_DATA_INTERVAL_START:
		append_ts(out, ctx->data_interval_start);
		break;
	case VAR_DATA_INTERVAL_END:
		append_ts(out, ctx->data_interval_end);
		break;
	case VAR_RUN_ID:
		append_str(out, ctx->run_id);
		break;
	case VAR_DAG_ID:
		append_str(out, ctx->dag_id);
		break;
	case VAR_TASK_ID:
		append_str(out, ctx->task_id);
		break;
	case VAR_TRY_NUMBER:
		buf_printf(out, "%d", ctx->try_number);
		break;
	case VAR_CONF:
		return append_conf(out, e, ctx->conf, err);
	case VAR_ITEM:
		if (!ctx->item)
			return set_err(err, "item: this task is not mapped");
		return append_json(out, ctx->item, "item", err);
	case VAR_MAP_INDEX:
		buf_printf(out, "%d", ctx->map_index);
		break;
	case VAR_UPSTREAM:
		return append_upstream(out, e, ctx, err);
	}
	return true;
}

char *template_render(const char *tmpl, const struct template_ctx *ctx, char **err)
{
	struct buf out;
	struct expr e;
	int rc;
	const char *p = tmpl ? tmpl : "";
	buf_init(&out, 0);
	while ((rc = next_expr(p, &e, err)) > 0) {
		buf_append(&out, p, (size_t)(e.open - p));
		if (!append_var(&out, &e, ctx, err)) {
			rc = -1;
			break;
		}
		p = e.end;
	}
	if (rc < 0) {
		buf_finish(&out);
		return NULL;
	}
	append_str(&out, p);
	return buf_steal(&out);
}
