/* status.c - GET /metrics (the loop's counters plus counts read from the store and the DAG
 * snapshot at scrape time) and GET /health (the scheduler's heartbeat). */
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "swarmflow/common/metrics.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/sched/heartbeat.h"
#include "swarmflow/store/store_web.h"

/* Appends task instances and runs by state, from the store. */
static bool store_gauges(struct store *st, struct buf *out, char **err)
{
	int64_t tis[TI_STATE_COUNT], runs[RUN_STATE_COUNT];
	if (!store_ti_state_counts(st, tis, err) || !store_run_state_counts(st, runs, err))
		return false;
	const char *ti_names[TI_STATE_COUNT], *run_names[RUN_STATE_COUNT];
	double ti_values[TI_STATE_COUNT], run_values[RUN_STATE_COUNT];
	for (int i = 0; i < TI_STATE_COUNT; i++) {
		ti_names[i] = ti_state_name((enum ti_state)i);
		ti_values[i] = (double)tis[i];
	}
	for (int i = 0; i < RUN_STATE_COUNT; i++) {
		run_names[i] = run_state_name((enum run_state)i);
		run_values[i] = (double)runs[i];
	}
	metrics_render_gauge(out, "swarmflow_task_instances",
			     "Task instances in the store, by state.", "state", ti_names, ti_values,
			     TI_STATE_COUNT);
	metrics_render_gauge(out, "swarmflow_dag_runs", "DAG runs in the store, by state.", "state",
			     run_names, run_values, RUN_STATE_COUNT);
	return true;
}

/* Appends the number of DAGs in use and of import errors, from the snapshot. */
static void dag_gauges(struct web_dags *dags, struct buf *out)
{
	size_t errs = 0;
	double n_dags = (double)web_dags_count(dags, &errs);
	double n_errors = (double)errs;
	metrics_render_gauge(out, "swarmflow_dags", "DAGs loaded and in use.", NULL, NULL, &n_dags,
			     1);
	metrics_render_gauge(out, "swarmflow_dag_import_errors",
			     "Errors in DAG files (each FILE:LINE: message) at the last reload.",
			     NULL, NULL, &n_errors, 1);
}

void api_metrics(struct web_req *q, struct web_resp *r)
{
	struct buf out;
	char *err = NULL;
	buf_init(&out, 0);
	metrics_render(web_metrics_of(q->w), &out);
	if (!store_gauges(q->store, &out, &err)) {
		buf_finish(&out);
		resp_store_error(r, err);
		return;
	}
	dag_gauges(web_dags_of(q->w), &out);
	static const char *const version[] = {SWARMFLOW_VERSION};
	double one = 1;
	metrics_render_gauge(&out, "swarmflow_build_info", "The running swarmflow's version.",
			     "version", version, &one, 1);
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	r->len = out.len;
	r->data = buf_steal(&out);
}

void api_health(struct web_req *q, struct web_resp *r)
{
	struct heartbeat hb;
	char *why = NULL;
	bool read = heartbeat_read(web_state_dir(q->w), NULL, &hb, &why);
	int64_t now = time_now_ms();
	bool healthy = read && heartbeat_judge(&hb, now, &why);
	json_t *body = json_pack("{s:s, s:s}", "status", healthy ? "ok" : "unhealthy", "detail",
				 why ? why : "unknown");
	if (read) {
		json_object_set_new(body, "pid", json_integer(hb.pid));
		json_object_set_new(body, "in_flight", json_integer(hb.in_flight));
		json_object_set_new(body, "heartbeat_age_seconds",
				    json_real((double)(now - hb.time_ms) / 1000.0));
		json_object_set_new(body, "engine", str_or_null(hb.engine));
	}
	if (!healthy) /* errors carry "error", as every other one */
		json_object_set(body, "error", json_object_get(body, "detail"));
	resp_json(r, healthy ? 200 : 503, body);
	free(why);
}
