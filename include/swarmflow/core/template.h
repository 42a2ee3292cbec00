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
	/* What the try's templates read of its upstream tasks: an object keyed by task id, each
	 * {"state": "...", "output": string or null, "exit_code": integer or null} and, for a
	 * mapped task, "outputs": [...] in map order (output_as_json: each output as JSON when it
	 * parses as JSON, else as a string; null for an instance without one). NULL: none. */
	const json_t *upstream;
	const json_t *item; /* a mapped instance's element, or NULL */
	int map_index;      /* a mapped instance's index; -1 (or 0 when zeroed) otherwise */
	/* A preview without a run (`dags show --spec`): upstream.*, item and map_index are left
	 * as written. */
	bool preview;
};

/* What a `{{ ... }}` reads besides the run's own variables. */
enum template_ref {
	TEMPLATE_REF_OUTPUT,       /* upstream.TASK.output */
	TEMPLATE_REF_OUTPUT_JSON,  /* upstream.TASK.output_json.KEY */
	TEMPLATE_REF_EXIT_CODE,    /* upstream.TASK.exit_code */
	TEMPLATE_REF_OUTPUTS_JSON, /* upstream.TASK.outputs_json */
	TEMPLATE_REF_ITEM,         /* item */
	TEMPLATE_REF_MAP_INDEX,    /* map_index */
};

/* Calls fn(ctx, kind, task, task_len) for every data reference in tmpl, in order (task is NULL
 * for item and map_index; else the TASK part, not NUL-terminated). False with *err set when
 * the template does not pass template_check. */
bool template_refs(const char *tmpl,
		   void (*fn)(void *ctx, enum template_ref kind, const char *task, size_t len),
		   void *ctx, char **err);

/* Checks that every `{{ ... }}` in tmpl names a known variable (ds, ds_nodash, ts, logical_date,
 * data_interval_start, data_interval_end, run_id, dag_id, task_id, try_number, conf.KEY, item,
 * map_index, upstream.TASK.output, upstream.TASK.output_json.KEY, upstream.TASK.exit_code,
 * upstream.TASK.outputs_json) and that every `{{` is closed. Whether TASK is an upstream with an
 * output is dag_data_validate's to check. On error sets *err ("unknown template variable
 * 'x'"). */
bool template_check(const char *tmpl, char **err);

/* Returns tmpl with every variable replaced (caller frees), or NULL with *err set when a
 * conf.KEY is missing from ctx->conf, an upstream has no output (or exit code) to give, an
 * output read with output_json is not a JSON object or lacks the KEY, or the template is
 * malformed. Values: ds = YYYY-MM-DD, ds_nodash = YYYYMMDD, ts/logical_date/data_interval_* =
 * YYYY-MM-DDTHH:MM:SS+00:00 (Airflow's form); conf values, output_json values and items:
 * strings raw, anything else as compact JSON; outputs_json as a compact JSON array. */
char *template_render(const char *tmpl, const struct template_ctx *ctx, char **err);

#endif
