/* template.h - `{{ name }}` templates in commands, env and labels (no I/O). */
#ifndef SWARMFLOW_CORE_TEMPLATE_H
#define SWARMFLOW_CORE_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What a template can see for one task try. */
struct template_ctx {
	int64_t logical_date;        /* unix seconds */
	int64_t data_interval_start; /* unix seconds */
	int64_t data_interval_end;   /* unix seconds */
	const char *run_id;
	const char *dag_id;
	const char *task_id;
	int try_number;
	const json_t *conf; /* the run's conf object, or NULL */
};

/* Checks that every `{{ ... }}` in tmpl names a known variable (ds, ds_nodash, ts, logical_date,
 * data_interval_start, data_interval_end, run_id, dag_id, task_id, try_number, conf.KEY) and
 * that every `{{` is closed. On error sets *err ("unknown template variable 'x'"). */
bool template_check(const char *tmpl, char **err);

/* Returns tmpl with every variable replaced (caller frees), or NULL with *err set when a
 * conf.KEY is missing from ctx->conf or the template is malformed. Values: ds = YYYY-MM-DD,
 * ds_nodash = YYYYMMDD, ts/logical_date/data_interval_* = YYYY-MM-DDTHH:MM:SS+00:00 (Airflow's
 * form), conf strings raw, other conf values as compact JSON. */
char *template_render(const char *tmpl, const struct template_ctx *ctx, char **err);

#endif
