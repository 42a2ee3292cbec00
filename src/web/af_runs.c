/* af_runs.c - Airflow's dagRuns: lists (one DAG or "~", GET and the POST form), triggering with
 * conf, one run, marking it success or failed, deleting it and clearing it (control.c's code). */
#include <stdlib.h>
#include <string.h>

#include "af.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/store/store_web.h"
#include "swarmflow/web/control.h"

static const struct af_order_key run_order[] = {
    {"id", RUN_ORDER_ID},
    {"execution_date", RUN_ORDER_LOGICAL_DATE},
    {"logical_date", RUN_ORDER_LOGICAL_DATE},
    {"start_date", RUN_ORDER_START},
    {"end_date", RUN_ORDER_END},
    {"dag_run_id", RUN_ORDER_RUN_ID},
    {"state", RUN_ORDER_STATE},
    {"dag_id", RUN_ORDER_DAG_ID},
    {NULL, 0},
};

/* Airflow's date-range parameters of run lists, in the order of the store's ranges. */
static const char *const range_names[STORE_RUN_RANGES] = {
    [RUN_LOGICAL_GTE] = "execution_date_gte", [RUN_LOGICAL_LTE] = "execution_date_lte",
    [RUN_START_GTE] = "start_date_gte",       [RUN_START_LTE] = "start_date_lte",
    [RUN_END_GTE] = "end_date_gte",           [RUN_END_LTE] = "end_date_lte",
};

/* Sets one range of sq from a date-time text (NULL: unset); false after a 400 naming it. */
static bool range_set(struct store_runs_query *sq, int i, const char *text, struct web_resp *r)
{
	int64_t ms = 0;
	if (!text)
		return true;
	if (!af_date_parse(text, &ms)) {
		resp_error(r, 400,
			   "%s: expected a date-time like 2026-11-21T18:00:00Z, got '%.50s'",
			   range_names[i], text);
		return false;
	}
	/* The logical date is kept in seconds; start and end in milliseconds. */
	bool seconds = i == RUN_LOGICAL_GTE || i == RUN_LOGICAL_LTE;
	bool lte = i == RUN_LOGICAL_LTE || i == RUN_START_LTE || i == RUN_END_LTE;
	sq->range[i] =
	    (struct store_bound){true, seconds ? (lte ? ms / 1000 : (ms + 999) / 1000) : ms};
	return true;
}

/* The ranges of a GET's query. */
static bool ranges_of_query(struct web_req *q, struct web_resp *r, struct store_runs_query *sq)
{
	for (int i = 0; i < STORE_RUN_RANGES; i++)
		if (!range_set(sq, i, query_get(q->query, range_names[i]), r))
			return false;
	return true;
}

/* The ranges of a POST list form (strings, or absent/null). */
static bool ranges_of_body(const json_t *body, struct web_resp *r, struct store_runs_query *sq)
{
	for (int i = 0; i < STORE_RUN_RANGES; i++) {
		json_t *v = json_object_get(body, range_names[i]);
		if (v && !json_is_null(v) && !json_is_string(v)) {
			resp_error(r, 400, "%s: expected a date-time string", range_names[i]);
			return false;
		}
		if (!range_set(sq, i, json_string_value(v), r))
			return false;
	}
	return true;
}

/* Checks run states (Airflow's names) into a JSON array text in *out (NULL: none given). */
static bool states_json(const struct strv *states, char **out, struct web_resp *r)
{
	enum run_state s;
	for (size_t i = 0; i < states->len; i++) {
		if (!run_state_parse(states->v[i], &s)) {
			resp_error(r, 400,
				   "state: unknown run state '%.50s' (queued, running, success, "
				   "failed)",
				   states->v[i]);
			return false;
		}
	}
	*out = af_ids_json(states);
	return true;
}

/* Answers the page of runs of query *sq (its filters owned here: freed). */
static void answer_runs(struct web_req *q, struct web_resp *r, struct store_runs_query *sq,
			const char *one_dag)
{
	struct run_list runs = {0};
	int64_t total = 0;
	char *err = NULL;
	if (!store_runs_query(q->store, sq, &runs, &total, &err)) {
		resp_store_error(r, err);
	} else {
		json_t *dag = one_dag ? web_dags_find(web_dags_of(q->w), one_dag) : NULL;
		if (one_dag && !dag && total == 0) {
			resp_error(r, 404, "unknown DAG '%s'", one_dag); /* not loaded, never run */
		} else {
			json_t *list = json_array();
			for (size_t i = 0; i < runs.len; i++)
				json_array_append_new(list, af_run_json(&runs.v[i]));
			resp_json(r, 200, af_collection("dag_runs", list, total));
		}
		json_decref(dag);
	}
	run_list_finish(&runs);
	free((char *)sq->dag_ids);
	free((char *)sq->states);
}

void af_runs_get(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"limit",
					     "offset",
					     "order_by",
					     "state",
					     "execution_date_gte",
					     "execution_date_lte",
					     "start_date_gte",
					     "start_date_lte",
					     "end_date_gte",
					     "end_date_lte",
					     NULL};
	struct store_runs_query sq = {0};
	struct strv states = {0}, dags = {0};
	int col = 0;
	const char *dag_id = q->route->args[ARG_DAG]; /* NULL for "~" */
	if (!af_query_known(q, r, params) || !af_page(q, r, &sq.limit, &sq.offset) ||
	    !ranges_of_query(q, r, &sq) ||
	    !af_order(query_get(q->query, "order_by"), run_order, &col, &sq.desc, r))
		return;
	query_get_all(q->query, "state", &states);
	char *st = NULL;
	if (states_json(&states, &st, r)) {
		if (dag_id)
			strv_push(&dags, dag_id);
		sq.dag_ids = af_ids_json(&dags);
		sq.states = st;
		sq.order = (enum store_run_order)col;
		answer_runs(q, r, &sq, dag_id);
	}
	strv_finish(&states);
	strv_finish(&dags);
}

/* Reads an optional array of strings member into out; false after a 400 naming it. Each is
 * checked with valid (NULL: any string). */
bool af_body_strings(const json_t *body, const char *key, bool (*valid)(const char *),
		     struct strv *out, struct web_resp *r)
{
	json_t *a = json_object_get(body, key), *v;
	size_t i;
	if (!a || json_is_null(a))
		return true;
	if (!json_is_array(a)) {
		resp_error(r, 400, "%s: expected an array of strings", key);
		return false;
	}
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || (valid && !valid(json_string_value(v)))) {
			resp_error(r, 400, "%s: item %zu is not a valid id", key, i);
			return false;
		}
		strv_push(out, json_string_value(v));
	}
	return true;
}

/* An optional integer member in [min, max] (def when absent); false after a 400. */
bool af_body_int(const json_t *body, const char *key, int64_t def, int64_t min, int64_t max,
		 int64_t *out, struct web_resp *r)
{
	json_t *v = json_object_get(body, key);
	*out = def;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		resp_error(r, 400, "%s: expected an integer from %lld to %lld", key, (long long)min,
			   (long long)max);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

bool af_any_string(const char *s)
{
	return s != NULL;
}

void af_runs_post_list(struct web_req *q, struct web_resp *r)
{
	static const char *const fields[] = {"dag_ids",
					     "states",
					     "order_by",
					     "page_limit",
					     "page_offset",
					     "start_date_gte",
					     "start_date_lte",
					     "end_date_gte",
					     "end_date_lte",
					     "execution_date_gte",
					     "execution_date_lte",
					     NULL};
	struct store_runs_query sq = {0};
	struct strv states = {0}, dags = {0};
	json_t *body = req_body_object(q, r);
	json_t *order = json_object_get(body, "order_by");
	int col = 0;
	char *st = NULL;
	if (!body || !body_keys_known(body, fields, r))
		goto out;
	if (order && !json_is_string(order)) {
		resp_error(r, 400, "order_by: expected a string");
		goto out;
	}
	if (af_body_strings(body, "dag_ids", dag_id_valid, &dags, r) &&
	    af_body_strings(body, "states", af_any_string, &states, r) &&
	    af_body_int(body, "page_limit", AF_PAGE_DEFAULT, 1, AF_PAGE_MAX, &sq.limit, r) &&
	    af_body_int(body, "page_offset", 0, 0, AF_OFFSET_MAX, &sq.offset, r) &&
	    ranges_of_body(body, r, &sq) &&
	    af_order(json_string_value(order), run_order, &col, &sq.desc, r) &&
	    states_json(&states, &st, r)) {
		sq.dag_ids = af_ids_json(&dags);
		sq.states = st;
		sq.order = (enum store_run_order)col;
		answer_runs(q, r, &sq, NULL);
	}
out:
	strv_finish(&states);
	strv_finish(&dags);
	json_decref(body);
}

/* The logical_date (or its old name execution_date) of a trigger body: 0 when absent. */
static bool trigger_date(const json_t *body, int64_t *out, struct web_resp *r)
{
	static const char *const keys[] = {"logical_date", "execution_date"};
	*out = 0;
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		json_t *v = json_object_get(body, keys[i]);
		int64_t t = 0;
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v) || !af_date_parse(json_string_value(v), &t)) {
			resp_error(r, 400, "%s: expected a date-time like 2026-11-21T18:00:00Z",
				   keys[i]);
			return false;
		}
		t /= 1000;
		if (*out && *out != t) {
			resp_error(r, 400, "logical_date and execution_date differ");
			return false;
		}
		*out = t;
	}
	return true;
}

void af_trigger(struct web_req *q, struct web_resp *r)
{
	static const char *const fields[] = {"conf",           "dag_run_id", "logical_date",
					     "execution_date", "note",       NULL};
	struct req_write w;
	struct run run = {0};
	if (!req_write_begin(q, r, fields, &w))
		return;
	json_t *run_id = json_object_get(w.body, "dag_run_id"),
	       *conf = json_object_get(w.body, "conf");
	json_t *note = json_object_get(w.body, "note");
	struct control_trigger t = {.conf = json_is_null(conf) ? NULL : conf,
				    .conf_name = "conf",
				    .run_id = json_string_value(run_id),
				    .run_id_name = "dag_run_id",
				    .now_ms = time_now_ms()};
	if (!trigger_date(w.body, &t.logical_date, r)) {
		/* answered */
	} else if (run_id && !json_is_null(run_id) && !json_is_string(run_id)) {
		resp_error(r, 400, "dag_run_id: expected a string");
	} else if (note && !json_is_null(note)) {
		resp_error(r, 400,
			   "note: swarmflow does not keep notes on runs (send null or leave "
			   "it out)");
	} else if (req_trigger(q, r, w.dag, &t, &run)) {
		resp_json(r, 200, af_run_json(&run)); /* Airflow answers 200, not 201 */
	}
	run_finish(&run);
	req_write_finish(&w);
}

static const char *const no_params[] = {NULL};

void af_run_get(struct web_req *q, struct web_resp *r)
{
	struct run run = {0};
	if (af_query_known(q, r, no_params) && req_run(q, r, &run))
		resp_json(r, 200, af_run_json(&run));
	run_finish(&run);
}

/* Answers the run of the path as it is now (after a change). */
static void answer_run_now(struct web_req *q, struct web_resp *r)
{
	struct run run = {0};
	if (req_run(q, r, &run))
		resp_json(r, 200, af_run_json(&run));
	run_finish(&run);
}

void af_run_patch(struct web_req *q, struct web_resp *r)
{
	static const char *const fields[] = {"state", NULL};
	struct run run = {0};
	json_t *body = req_run(q, r, &run) ? req_body_object(q, r) : NULL;
	const char *state = json_string_value(json_object_get(body, "state"));
	bool busy = false;
	char *err = NULL;
	if (!body || !body_keys_known(body, fields, r)) {
		/* answered */
	} else if (!state || (strcmp(state, "success") != 0 && strcmp(state, "failed") != 0)) {
		resp_error(r, 400,
			   "state: expected \"success\" or \"failed\" (swarmflow does not "
			   "set a run back to queued: clear it)");
	} else {
		bool ok = strcmp(state, "success") == 0;
		if (!store_run_mark(q->store, run.id, ok ? RUN_SUCCESS : RUN_FAILED,
				    ok ? TI_SUCCESS : TI_SKIPPED, time_now_ms(), &busy, &err))
			resp_store_error(r, err);
		else if (busy)
			resp_error(r, 409,
				   "run '%s' has a task queued or running: wait for it to end",
				   run.run_id);
		else {
			log_info("web: run marked %s dag=%s run=%s", state, run.dag_id, run.run_id);
			answer_run_now(q, r);
		}
	}
	json_decref(body);
	run_finish(&run);
}

void af_run_delete(struct web_req *q, struct web_resp *r)
{
	struct run run = {0};
	bool busy = false;
	char *err = NULL;
	if (!af_query_known(q, r, no_params) || !req_run(q, r, &run))
		goto out;
	if (!store_run_delete(q->store, run.id, &busy, &err)) {
		resp_store_error(r, err);
	} else if (busy) {
		resp_error(r, 409, "run '%s' has a task queued or running: wait for it to end",
			   run.run_id);
	} else {
		log_info("web: run deleted dag=%s run=%s", run.dag_id, run.run_id);
		r->status = 204;
	}
out:
	run_finish(&run);
}

void af_run_clear(struct web_req *q, struct web_resp *r)
{
	static const char *const fields[] = {"dry_run", NULL};
	struct req_write w;
	struct control_clear req = {.run_id = q->route->args[ARG_RUN]};
	struct control_clear_result res = {0};
	if (!req_write_begin(q, r, fields, &w))
		return;
	json_t *dry = json_object_get(w.body, "dry_run");
	/* Every task of the run; Airflow's default is a dry run. */
	req.dry_run = !dry || json_is_true(dry);
	if (dry && !json_is_boolean(dry))
		resp_error(r, 400, "dry_run: expected true or false");
	else if (req_clear(q, r, w.dag, &req, &res) && req.dry_run)
		af_tis_answer_cleared(q, r, &res);
	else if (r->status == 0)
		answer_run_now(q, r);
	control_clear_result_finish(&res);
	req_write_finish(&w);
}
