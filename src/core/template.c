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
};

#define CONF_PREFIX "conf."

/* One `{{ ... }}` of a template. */
struct expr {
	const char *open; /* the `{{` */
	const char *end;  /* just after the `}}` */
	enum var var;
	const char *key; /* conf.KEY: the KEY, key_len bytes */
	size_t key_len;
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
	if (len > plen && memcmp(name, CONF_PREFIX, plen) == 0) {
		size_t i = plen;
		while (i < len && is_key_char(name[i]))
			i++;
		if (i == len) {
			e->var = VAR_CONF;
			e->key = name + plen;
			e->key_len = len - plen;
			return true;
		}
	}
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
	struct expr e;
	int rc;
	for (const char *p = tmpl ? tmpl : ""; (rc = next_expr(p, &e, err)) > 0; p = e.end)
		;
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

/* Appends the value of conf.KEY: a string raw, anything else as compact JSON. */
static bool append_conf(struct buf *out, const struct expr *e, const json_t *conf, char **err)
{
	char *key = xstrndup(e->key, e->key_len);
	json_t *v = json_is_object(conf) ? json_object_get(conf, key) : NULL;
	if (!v) {
		set_err(err, "conf key '%s' is not in the run's conf", key);
		free(key);
		return false;
	}
	free(key);
	if (json_is_string(v)) {
		buf_append(out, json_string_value(v), json_string_length(v));
		return true;
	}
	char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!dump)
		return set_err(err, "conf key '%.*s' cannot be written as JSON", (int)e->key_len,
			       e->key);
	append_str(out, dump);
	free(dump);
	return true;
}

static bool append_var(struct buf *out, const struct expr *e, const struct template_ctx *ctx,
		       char **err)
{
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
