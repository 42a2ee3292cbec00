/* api_runs.c - runs: pages of them, one run, triggering, its task instances, a task's tries, and
 * clearing tasks (the same code as `dags trigger` and `tasks clear`). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/store/store_web.h"
#include "swarmflow/web/control.h"

/* Runs per page by default and at most. */
#define PAGE_DEFAULT 25
#define PAGE_MAX 1000
/* The highest offset accepted (far beyond any store, small enough for SQLite's int64). */
#define OFFSET_MAX 1000000000LL

/* Reads state, limit and offset; false after setting a 400 naming the parameter. */
static bool page_params(struct web_req *q, struct web_resp *r, enum run_state *state,
			bool *has_state, int64_t *limit, int64_t *offset)
{
	char *err = NULL;
	const char *s = query_get(q->query, "state");
	*has_state = s && *s;
	if (*has_state && !run_state_parse(s, state)) {
		resp_error(r, 400,
			   "state: unknown run state '%.50s' (queued, running, success, failed)",
			   s);
		return false;
	}
	if (!query_int(q->query, "limit", PAGE_DEFAULT, 1, PAGE_MAX, limit, &err) ||
	    !query_int(q->query, "offset", 0, 0, OFFSET_MAX, offset, &err)) {
		resp_error(r, 400, "%s", err);
		free(err);
		return false;
	}
	return true;
}

void api_runs_list(struct web_req *q, struct web_resp *r)
{
	enum run_state state = RUN_QUEUED;
	bool has_state = false;
	int64_t limit = 0, offset = 0, total = 0;
	const char *dag_id = q->route->args[ARG_DAG];
	if (!dag_id) { /* /api/v1/runs?dag_id= */
		dag_id = query_get(q->query, "dag_id");
		if (dag_id && !*dag_id)
			dag_id = NULL;
		if (dag_id && !dag_id_valid(dag_id)) {
			resp_error(r, 400, "dag_id: invalid DAG id '%.100s'", dag_id);
			return;
		}
	}
	if (!page_params(q, r, &state, &has_state, &limit, &offset))
		return;
	struct run_list runs = {0};
	char *err = NULL;
	if (!store_runs_page(q->store, dag_id, has_state ? &state : NULL, limit, offset, &runs,
			     &total, &err)) {
		resp_store_error(r, err);
		return;
	}
	json_t *dag = q->route->args[ARG_DAG] ? web_dags_find(web_dags_of(q->w), dag_id) : NULL;
	if (q->route->args[ARG_DAG] && !dag && total == 0 && !has_state) {
		resp_error(r, 404, "unknown DAG '%s'", dag_id); /* neither loaded nor ever run */
	} else {
		json_t *list = json_array();
		for (size_t i = 0; i < runs.len; i++)
			json_array_append_new(list, run_to_json(&runs.v[i]));
		resp_json(r, 200,
			  json_pack("{s:o, s:I}", "runs", list, "total", (json_int_t)total));
	}
	json_decref(dag);
	run_list_finish(&runs);
}

void api_run_get(struct web_req *q, struct web_resp *r)
{
	struct run run = {0};
	if (req_run(q, r, &run))
		resp_json(r, 200, run_to_json(&run));
	run_finish(&run);
}

/* Sets the Location of a run just created. */
static void run_location(struct web_resp *r, const struct run *run)
{
	struct buf loc;
	buf_init(&loc, 0);
	buf_printf(&loc, "/ui/api/dags/");
	url_encode_segment(&loc, run->dag_id);
	buf_printf(&loc, "/runs/");
	url_encode_segment(&loc, run->run_id);
	r->location = buf_steal(&loc);
}

void api_trigger(struct web_req *q, struct web_resp *r)
{
	static const char *const fields[] = {"conf", "run_id", NULL};
	struct req_write w;
	struct run run = {0};
	if (!req_write_begin(q, r, fields, &w))
		return;
	json_t *run_id = json_object_get(w.body, "run_id"), *conf = json_object_get(w.body, "conf");
	struct control_trigger t = {.conf = json_is_null(conf) ? NULL : conf,
				    .run_id = json_string_value(run_id),
				    .now_ms = time_now_ms()};
	if (run_id && !json_is_null(run_id) && !json_is_string(run_id)) {
		resp_error(r, 400, "run_id: expected a string");
	} else if (req_trigger(q, r, w.dag, &t, &run)) {
		run_location(r, &run);
		resp_json(r, 201, run_to_json(&run));
	}
	run_finish(&run);
	req_write_finish(&w);
}

void api_run_tasks(struct web_req *q, struct web_resp *r)
{
	struct run run = {0};
	struct ti_list tis = {0};
	char *err = NULL;
	if (!req_run(q, r, &run))
		goto out;
	if (!store_tis_for_run_outputs(q->store, run.id, &tis, &err)) {
		resp_store_error(r, err);
		goto out;
	}
	json_t *list = json_array();
	int64_t now = time_now_ms();
	for (size_t i = 0; i < tis.len; i++)
		json_array_append_new(list, ti_to_json(&tis.v[i], now));
	resp_json(r, 200, json_pack("{s:o}", "task_instances", list));
out:
	ti_list_finish(&tis);
	run_finish(&run);
}

/* A try as the tries endpoint shows it: the task instance fields plus whether a log is kept. */
static json_t *try_json(const struct ti *t, int64_t now)
{
	json_t *o = ti_to_json(t, now);
	json_object_del(o, "max_tries");
	json_object_set_new(o, "has_log", json_boolean(t->log_path != NULL));
	return o;
}

void api_tries(struct web_req *q, struct web_resp *r)
{
	struct run run = {0};
	struct ti ti = {0};
	struct ti_list tries = {0};
	char *err = NULL;
	if (!req_run(q, r, &run) || !req_ti(q, r, &run, &ti))
		goto out;
	if (!store_tries_list(q->store, ti.id, &tries, &err)) {
		resp_store_error(r, err);
		goto out;
	}
	json_t *list = json_array();
	int64_t now = time_now_ms();
	bool current_listed = false;
	for (size_t i = 0; i < tries.len; i++) {
		json_array_append_new(list, try_json(&tries.v[i], now));
		current_listed |= tries.v[i].try_number == ti.try_number;
	}
	/* The try under way is recorded in the history only once it ends. */
	if (ti.try_number > 0 && !current_listed)
		json_array_append_new(list, try_json(&ti, now));
	resp_json(r, 200,
		  json_pack("{s:s, s:i, s:i, s:o}", "task_id", ti.task_id, "map_index",
			    ti.map_index, "max_tries", ti.max_tries, "tries", list));
out:
	ti_list_finish(&tries);
	ti_finish(&ti);
	run_finish(&run);
}

/* Reads {"tasks": [...], "downstream": bool, "only_failed": bool} into req (names borrowed
 * from body). False after setting a 400. */
static bool clear_params(json_t *body, struct control_clear *req, struct strv *names,
			 struct web_resp *r)
{
	static const char *const fields[] = {"tasks", "downstream", "only_failed", NULL};
	json_t *tasks = json_object_get(body, "tasks"), *t;
	json_t *down = json_object_get(body, "downstream"),
	       *only = json_object_get(body, "only_failed");
	size_t i;
	if (!body_keys_known(body, fields, r))
		return false;
	if (tasks && !json_is_null(tasks) && !json_is_array(tasks)) {
		resp_error(r, 400, "tasks: expected an array of task ids");
		return false;
	}
	json_array_foreach(tasks, i, t)
	{
		if (!json_is_string(t) || !dag_id_valid(json_string_value(t))) {
			resp_error(r, 400, "tasks: expected an array of task ids");
			return false;
		}
		strv_push(names, json_string_value(t));
	}
	if ((down && !json_is_boolean(down)) || (only && !json_is_boolean(only))) {
		resp_error(r, 400, "%s: expected true or false",
			   down && !json_is_boolean(down) ? "downstream" : "only_failed");
		return false;
	}
	req->tasks = (const char *const *)names->v;
	req->n_tasks = names->len;
	req->downstream = json_is_true(down);
	/* As `tasks clear`: without names, the failed ones; named tasks whatever their state. */
	req->only_failed = only ? json_is_true(only) : names->len == 0;
	return true;
}

static json_t *cleared_json(const struct control_clear_result *res)
{
	json_t *a = json_array();
	for (size_t i = 0; i < res->len; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i}", "task_id", res->v[i].task_id,
						   "previous_state", ti_state_name(res->v[i].was),
						   "try_number", res->v[i].try_number));
	return a;
}

void api_clear(struct web_req *q, struct web_resp *r)
{
	struct req_write w;
	struct control_clear req = {.run_id = q->route->args[ARG_RUN]};
	struct control_clear_result res = {0};
	struct strv names = {0};
	struct run run = {0};
	if (!req_write_begin(q, r, NULL, &w))
		return;
	if (clear_params(w.body, &req, &names, r) && req_clear(q, r, w.dag, &req, &res) &&
	    req_run(q, r, &run))
		resp_json(r, 200,
			  json_pack("{s:o, s:b, s:o}", "cleared", cleared_json(&res), "requeued",
				    res.requeued, "run", run_to_json(&run)));
	run_finish(&run);
	control_clear_result_finish(&res);
	strv_finish(&names);
	req_write_finish(&w);
}
