/* af_tis.c - Airflow's taskInstances: of a run, one, the batch list across DAGs and runs, a
 * try's log (JSON with continuation_token, or text/plain), and clearTaskInstances. */
#include <stdlib.h>
#include <string.h>

#include "af.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/store/store_web.h"

/* The most log text full_content gathers (a stored log is capped far below). */
#define FULL_LOG_CHUNKS 64

static const struct af_order_key ti_order[] = {
    {"id", TI_ORDER_ID},
    {"task_id", TI_ORDER_TASK_ID},
    {"state", TI_ORDER_STATE},
    {"start_date", TI_ORDER_START},
    {"end_date", TI_ORDER_END},
    {"try_number", TI_ORDER_TRY},
    {"dag_id", TI_ORDER_DAG_ID},
    {"dag_run_id", TI_ORDER_RUN_ID},
    {"map_index", TI_ORDER_MAP_INDEX},
    {NULL, 0},
};

/* listMapped's orders: by map index by default; Airflow's "state", "-state", "-map_index". */
static const struct af_order_key mapped_order[] = {
    {"map_index", TI_ORDER_MAP_INDEX},
    {"state", TI_ORDER_STATE},
    {NULL, 0},
};

/* The task task_id of the snapshot DAG (borrowed), or NULL. */
static const json_t *task_of(const json_t *dag, const char *task_id)
{
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(dag, "tasks"), i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "task_id")), task_id) == 0)
			return t;
	}
	return NULL;
}

/* The pool of the task task_id in the snapshot DAG (NULL: default). */
static const char *pool_of(const json_t *dag, const char *task_id)
{
	return json_string_value(json_object_get(task_of(dag, task_id), "pool"));
}

/* Airflow's objects of tis (each with its run and DAG, read once per run in a row). */
static bool tis_json(struct web_req *q, const struct ti_list *tis, json_t **out, char **err)
{
	struct run run = {0};
	json_t *dag = NULL;
	int64_t now = time_now_ms();
	bool ok = true;
	*out = json_array();
	for (size_t i = 0; ok && i < tis->len; i++) {
		const struct ti *ti = &tis->v[i];
		if (run.id != ti->run_pk) {
			run_finish(&run);
			json_decref(dag);
			ok = store_run_get_by_id(q->store, ti->run_pk, &run, err);
			dag = web_dags_find(web_dags_of(q->w), ti->dag_id);
		}
		if (ok)
			json_array_append_new(*out,
					      af_ti_json(ti, &run, pool_of(dag, ti->task_id), now));
	}
	run_finish(&run);
	json_decref(dag);
	if (!ok)
		json_decref(*out);
	return ok;
}

/* Checks task states (Airflow's names; "none" and null are none) into a JSON array text. */
static bool ti_states_json(const struct strv *states, char **out, struct web_resp *r)
{
	enum ti_state s;
	for (size_t i = 0; i < states->len; i++) {
		if (!ti_state_parse(states->v[i], &s)) {
			resp_error(r, 400, "state: unknown task state '%.50s'", states->v[i]);
			return false;
		}
	}
	*out = af_ids_json(states);
	return true;
}

/* Answers the page of task instances of *sq (filters owned here: freed). */
static void answer_tis(struct web_req *q, struct web_resp *r, struct store_tis_query *sq)
{
	struct ti_list tis = {0};
	int64_t total = 0;
	char *err = NULL;
	json_t *list = NULL;
	if (!store_tis_query(q->store, sq, &tis, &total, &err) || !tis_json(q, &tis, &list, &err))
		resp_store_error(r, err);
	else
		resp_json(r, 200, af_collection("task_instances", list, total));
	ti_list_finish(&tis);
	free((char *)sq->dag_ids);
	free((char *)sq->run_ids);
	free((char *)sq->task_ids);
	free((char *)sq->states);
}

/* A one-element JSON array text. */
static char *one_json(const char *id)
{
	struct strv v = {0};
	strv_push(&v, id);
	char *text = af_ids_json(&v);
	strv_finish(&v);
	return text;
}

void af_tis_get(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"limit", "offset", "order_by", "state", NULL};
	struct store_tis_query sq = {0};
	struct strv states = {0};
	struct run run = {0};
	int col = 0;
	char *st = NULL;
	if (!af_query_known(q, r, params) || !af_page(q, r, &sq.limit, &sq.offset) ||
	    !af_order(query_get(q->query, "order_by"), ti_order, &col, &sq.desc, r) ||
	    !req_run(q, r, &run))
		goto out;
	query_get_all(q->query, "state", &states);
	if (ti_states_json(&states, &st, r)) {
		sq.dag_ids = one_json(run.dag_id);
		sq.run_ids = one_json(run.run_id);
		sq.states = st;
		sq.order = (enum store_ti_order)col;
		answer_tis(q, r, &sq);
	}
out:
	strv_finish(&states);
	run_finish(&run);
}

void af_tis_post_list(struct web_req *q, struct web_resp *r)
{
	static const char *const fields[] = {"dag_ids", "dag_run_ids", "task_ids", "state", NULL};
	struct store_tis_query sq = {.limit = AF_PAGE_MAX};
	struct strv dags = {0}, runs = {0}, tasks = {0}, states = {0};
	json_t *body = req_body_object(q, r);
	char *st = NULL;
	if (body && body_keys_known(body, fields, r) &&
	    af_body_strings(body, "dag_ids", dag_id_valid, &dags, r) &&
	    af_body_strings(body, "dag_run_ids", control_run_id_valid, &runs, r) &&
	    af_body_strings(body, "task_ids", dag_id_valid, &tasks, r) &&
	    af_body_strings(body, "state", af_any_string, &states, r) &&
	    ti_states_json(&states, &st, r)) {
		sq.dag_ids = af_ids_json(&dags);
		sq.run_ids = af_ids_json(&runs);
		sq.task_ids = af_ids_json(&tasks);
		sq.states = st;
		answer_tis(q, r, &sq);
	}
	strv_finish(&dags);
	strv_finish(&runs);
	strv_finish(&tasks);
	strv_finish(&states);
	json_decref(body);
}

/* Airflow's 404 of listMapped when the run has no mapped instance of the path's task: the
 * task is not in the DAG, or not mapped. False when it is a mapped task (not expanded yet, or
 * over nothing): an empty list. */
static bool mapped_missing(struct web_req *q, struct web_resp *r, const char *dag_id)
{
	const char *task_id = q->route->args[ARG_TASK];
	json_t *dag = web_dags_find(web_dags_of(q->w), dag_id);
	const json_t *task = task_of(dag, task_id);
	bool missing = !task || !json_is_true(json_object_get(task, "mapped"));
	if (!task)
		resp_error(r, 404, "Task id %s not found", task_id);
	else if (missing)
		resp_error(r, 404, "Task id %s is not mapped", task_id);
	json_decref(dag);
	return missing;
}

void af_tis_mapped(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"limit", "offset", "order_by", "state", NULL};
	struct store_tis_query sq = {.map_index_min = {.set = true, .v = 0}};
	struct ti_list tis = {0};
	struct strv states = {0};
	struct run run = {0};
	json_t *list = NULL;
	int64_t total = 0;
	char *st = NULL, *err = NULL;
	int col = 0;
	if (!af_query_known(q, r, params) || !af_page(q, r, &sq.limit, &sq.offset) ||
	    !af_order(query_get(q->query, "order_by"), mapped_order, &col, &sq.desc, r) ||
	    !req_run(q, r, &run))
		goto out;
	query_get_all(q->query, "state", &states);
	if (!ti_states_json(&states, &st, r))
		goto out;
	sq.dag_ids = one_json(run.dag_id);
	sq.run_ids = one_json(run.run_id);
	sq.task_ids = one_json(q->route->args[ARG_TASK]);
	sq.states = st;
	sq.order = (enum store_ti_order)col;
	if (!store_tis_query(q->store, &sq, &tis, &total, &err) || !tis_json(q, &tis, &list, &err))
		resp_store_error(r, err);
	else if (total > 0 || !mapped_missing(q, r, run.dag_id))
		resp_json(r, 200, af_collection("task_instances", json_incref(list), total));
	json_decref(list);
	ti_list_finish(&tis);
	free((char *)sq.dag_ids);
	free((char *)sq.run_ids);
	free((char *)sq.task_ids);
out:
	free(st);
	strv_finish(&states);
	run_finish(&run);
}

static const char *const no_params[] = {NULL};

void af_ti_get(struct web_req *q, struct web_resp *r)
{
	struct run run = {0};
	struct ti ti = {0};
	if (af_query_known(q, r, no_params) && req_run(q, r, &run) && req_ti(q, r, &run, &ti)) {
		json_t *dag = web_dags_find(web_dags_of(q->w), run.dag_id);
		resp_json(r, 200, af_ti_json(&ti, &run, pool_of(dag, ti.task_id), time_now_ms()));
		json_decref(dag);
	}
	ti_finish(&ti);
	run_finish(&run);
}

void af_tis_answer_cleared(struct web_req *q, struct web_resp *r,
			   const struct control_clear_result *cleared)
{
	struct run run = {0};
	struct ti_list tis = {0}, picked = {0};
	char *err = NULL;
	json_t *list = NULL;
	if (!req_run(q, r, &run))
		return;
	if (!store_tis_for_run(q->store, run.id, &tis, &err)) {
		resp_store_error(r, err);
		goto out;
	}
	picked.v = xcalloc(tis.len + 1, sizeof(*picked.v));
	for (size_t i = 0; i < tis.len; i++)
		for (size_t k = 0; k < cleared->len; k++)
			if (strcmp(tis.v[i].task_id, cleared->v[k].task_id) == 0)
				picked.v[picked.len++] = tis.v[i]; /* borrowed */
	if (tis_json(q, &picked, &list, &err))
		resp_json(r, 200, af_collection("task_instances", list, (int64_t)picked.len));
	else
		resp_store_error(r, err);
	free(picked.v);
out:
	ti_list_finish(&tis);
	run_finish(&run);
}

/* ---- clearTaskInstances ---- */

/* Options of Airflow's ClearTaskInstances that swarmflow has no meaning for unless false. */
static const char *const must_be_false[] = {"include_upstream", "include_future",
					    "include_past",     "only_running",
					    "include_subdags",  "include_parentdag"};

static bool clear_body(const json_t *body, struct control_clear *req, struct strv *names,
		       struct web_resp *r)
{
	static const char *const fields[] = {"dag_run_id",
					     "task_ids",
					     "dry_run",
					     "only_failed",
					     "only_running",
					     "include_downstream",
					     "include_upstream",
					     "include_future",
					     "include_past",
					     "reset_dag_runs",
					     "include_subdags",
					     "include_parentdag",
					     NULL};
	static const char *const bools[] = {"dry_run", "only_failed", "include_downstream",
					    "reset_dag_runs"};
	json_t *run_id = json_object_get(body, "dag_run_id");
	if (!body_keys_known(body, fields, r))
		return false;
	for (size_t i = 0; i < ARRAY_LEN(bools); i++) {
		json_t *v = json_object_get(body, bools[i]);
		if (v && !json_is_boolean(v)) {
			resp_error(r, 400, "%s: expected true or false", bools[i]);
			return false;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(must_be_false); i++) {
		json_t *v = json_object_get(body, must_be_false[i]);
		if (v && !json_is_false(v)) {
			resp_error(r, 400, "%s: swarmflow clears within one run only (send false)",
				   must_be_false[i]);
			return false;
		}
	}
	if (!json_is_string(run_id) || !control_run_id_valid(json_string_value(run_id))) {
		resp_error(r, 400,
			   "dag_run_id: required, a run id (swarmflow clears within one "
			   "run; start_date and end_date are not supported)");
		return false;
	}
	if (!af_body_strings(body, "task_ids", dag_id_valid, names, r))
		return false;
	json_t *dry = json_object_get(body, "dry_run"),
	       *only = json_object_get(body, "only_failed");
	req->run_id = json_string_value(run_id);
	req->tasks = (const char *const *)names->v;
	req->n_tasks = names->len;
	req->dry_run = !dry || json_is_true(dry);       /* Airflow's default: true */
	req->only_failed = !only || json_is_true(only); /* Airflow's default: true */
	req->downstream = json_is_true(json_object_get(body, "include_downstream"));
	return true;
}

void af_clear_tis(struct web_req *q, struct web_resp *r)
{
	struct req_write w;
	struct control_clear req = {0};
	struct control_clear_result res = {0};
	struct strv names = {0};
	struct run run = {0};
	struct ti_list tis = {0};
	char *err = NULL;
	bool found = false;
	if (!req_write_begin(q, r, NULL, &w))
		return;
	if (!clear_body(w.body, &req, &names, r) || !req_clear(q, r, w.dag, &req, &res))
		goto out;
	if (!store_run_find(q->store, w.dag->dag_id, req.run_id, &run, &found, &err)) {
		resp_store_error(r, err);
		goto out;
	}
	if (!store_tis_for_run(q->store, run.id, &tis, &err)) {
		resp_store_error(r, err);
		goto out;
	}
	char iso[32];
	time_format_iso(run.logical_date, iso);
	json_t *refs = json_array();
	/* One reference per task instance: every instance of a mapped task (swarmflow's own
	 * map_index tells them apart). */
	for (size_t i = 0; i < tis.len; i++)
		for (size_t k = 0; k < res.len; k++)
			if (strcmp(tis.v[i].task_id, res.v[k].task_id) == 0)
				json_array_append_new(
				    refs,
				    json_pack("{s:s, s:s, s:s, s:s, s:i}", "dag_id", w.dag->dag_id,
					      "dag_run_id", req.run_id, "execution_date", iso,
					      "task_id", res.v[k].task_id, "map_index",
					      tis.v[i].map_index));
	resp_json(r, 200, json_pack("{s:o}", "task_instances", refs));
out:
	ti_list_finish(&tis);
	run_finish(&run);
	control_clear_result_finish(&res);
	strv_finish(&names);
	req_write_finish(&w);
}

/* ---- logs ---- */

/* The offset a continuation token names (swarmflow's tokens are the decimal byte offset). */
static bool token_offset(const char *token, int64_t *offset)
{
	return token[0] >= '0' && token[0] <= '9' && parse_int64(token, 0, 1LL << 40, offset);
}

/* Reads from offset to the end of what is there now (full_content), appending to all. */
static void read_full(struct web_req *q, struct web_resp *r, struct buf *all)
{
	int64_t offset = 0;
	for (int i = 0; i < FULL_LOG_CHUNKS; i++) {
		logs_answer(q, r, offset);
		if (r->status != 200)
			return;
		const char *c = json_string_value(json_object_get(r->json, "content"));
		buf_append(all, c, strlen(c));
		int64_t next = json_integer_value(json_object_get(r->json, "next_offset"));
		if (next == offset || json_is_true(json_object_get(r->json, "complete")))
			return;
		offset = next;
	}
}

void af_logs(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"full_content", "token", "map_index", NULL};
	const char *token = query_get(q->query, "token");
	int64_t offset = 0;
	bool whole = false;
	if (!af_query_known(q, r, params))
		return;
	if (token && !token_offset(token, &offset)) {
		resp_error(r, 400, "token: not a continuation token of this server");
		return;
	}
	if (!af_query_bool(q, r, "full_content", false, &whole))
		return;
	struct buf all;
	buf_init(&all, 0);
	buf_append(&all, "", 0);
	if (whole) {
		read_full(q, r, &all);
	} else {
		logs_answer(q, r, offset);
		const char *c =
		    r->status == 200 ? json_string_value(json_object_get(r->json, "content")) : "";
		buf_append(&all, c, strlen(c));
	}
	if (r->status == 200) {
		bool end = json_is_true(json_object_get(r->json, "complete"));
		char *next = xasprintf(
		    "%lld", (long long)json_integer_value(json_object_get(r->json, "next_offset")));
		bool text = q->accept && strncmp(q->accept, "text/plain", 10) == 0;
		if (text) {
			json_decref(r->json);
			r->json = NULL;
			r->content_type = "text/plain; charset=utf-8";
			r->len = all.len;
			r->data = buf_steal(&all);
		} else {
			resp_json(r, 200,
				  json_pack("{s:s, s:s, s:b}", "content", all.data,
					    "continuation_token", next, "end_of_log", end));
		}
		free(next);
	}
	buf_finish(&all);
}
