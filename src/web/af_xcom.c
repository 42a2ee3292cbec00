/* af_xcom.c - Airflow's XCom entries of a task instance: swarmflow keeps one per task instance,
 * return_value, the output of its current try, once that try has ended. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "af.h"
#include "swarmflow/common/timeutil.h"

/* The one key swarmflow has: what the task's command gave as its output. */
#define XCOM_RETURN "return_value"
/* No ?map_index: every instance (the list), or -1 (one entry). */
#define ANY_MAP_INDEX INT64_MIN

/* Whether ti has an XCom: an output of an ended try. */
static bool has_xcom(const struct ti *ti)
{
	return ti->output && ti->end_ms > 0;
}

/* Airflow's XComCollectionItem of ti's return_value (dag_run_id is swarmflow's own). */
static json_t *xcom_item(const struct ti *ti, const struct run *run)
{
	char iso[32];
	time_format_iso(run->logical_date, iso);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "key", XCOM_RETURN, "dag_id",
			      ti->dag_id, "dag_run_id", ti->run_id, "task_id", ti->task_id,
			      "map_index", ti->map_index, "execution_date", iso);
	json_object_set_new(o, "timestamp", ms_json(ti->end_ms));
	return o;
}

/* The path's run and its task instances with their outputs; false after an error answer (no
 * such run, or a run without the path's task). */
static bool load(struct web_req *q, struct web_resp *r, struct run *run, struct ti_list *tis)
{
	const char *task_id = q->route->args[ARG_TASK];
	char *err = NULL;
	if (!req_run(q, r, run))
		return false;
	if (!store_tis_for_run_outputs(q->store, run->id, tis, &err)) {
		resp_store_error(r, err);
		return false;
	}
	for (size_t i = 0; i < tis->len; i++)
		if (strcmp(tis->v[i].task_id, task_id) == 0)
			return true;
	resp_error(r, 404, "run '%s' has no task '%s'", run->run_id, task_id);
	return false;
}

/* ?map_index into *out (ANY_MAP_INDEX when absent); false after a 400. */
static bool map_index_param(struct web_req *q, struct web_resp *r, int64_t *out)
{
	char *err = NULL;
	if (query_int(q->query, "map_index", ANY_MAP_INDEX, -1, INT32_MAX, out, &err))
		return true;
	resp_error(r, 400, "%s", err);
	free(err);
	return false;
}

void af_xcoms_list(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"map_index", "xcom_key", "limit", "offset", NULL};
	const char *key = query_get(q->query, "xcom_key");
	struct run run = {0};
	struct ti_list tis = {0};
	int64_t limit = 0, offset = 0, map_index = ANY_MAP_INDEX, total = 0;
	if (!af_query_known(q, r, params) || !af_page(q, r, &limit, &offset) ||
	    !map_index_param(q, r, &map_index) || !load(q, r, &run, &tis))
		goto out;
	json_t *items = json_array();
	for (size_t i = 0; i < tis.len; i++) {
		const struct ti *ti = &tis.v[i];
		if (strcmp(ti->task_id, q->route->args[ARG_TASK]) != 0 || !has_xcom(ti) ||
		    (map_index != ANY_MAP_INDEX && ti->map_index != map_index) ||
		    (key && strcmp(key, XCOM_RETURN) != 0))
			continue;
		if (total >= offset && total < offset + limit)
			json_array_append_new(items, xcom_item(ti, &run));
		total++;
	}
	resp_json(r, 200, af_collection("xcom_entries", items, total));
out:
	ti_list_finish(&tis);
	run_finish(&run);
}

/* The XCom value of an output: the text (stringify, Airflow's default), or the JSON value it
 * holds (a string when it is not JSON, or is null: Airflow's value is never null). */
static json_t *xcom_value(const char *output, bool stringify)
{
	json_t *v = stringify ? NULL : json_loads(output, JSON_DECODE_ANY, NULL);
	if (v && !json_is_null(v))
		return v;
	json_decref(v);
	return json_string(output);
}

void af_xcom_get(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"map_index", "deserialize", "stringify", NULL};
	const char *key = q->route->args[ARG_KEY], *task_id = q->route->args[ARG_TASK];
	struct run run = {0};
	struct ti_list tis = {0};
	int64_t map_index = ANY_MAP_INDEX;
	bool stringify = true, deserialize = false;
	if (!af_query_known(q, r, params) || !map_index_param(q, r, &map_index) ||
	    !af_query_bool(q, r, "stringify", true, &stringify) ||
	    !af_query_bool(q, r, "deserialize", false, &deserialize) || !load(q, r, &run, &tis))
		goto out;
	if (strcmp(key, XCOM_RETURN) != 0) {
		resp_error(r, 404,
			   "XCom entry not found: swarmflow keeps one key per task instance, "
			   "'" XCOM_RETURN "' (its output), not '%s'",
			   key);
		goto out;
	}
	if (map_index == ANY_MAP_INDEX)
		map_index = -1; /* Airflow's default */
	bool mapped = false;
	const struct ti *hit = ti_list_find(&tis, task_id, map_index, &mapped);
	if (hit && has_xcom(hit)) {
		json_t *o = xcom_item(hit, &run);
		json_object_set_new(o, "value", xcom_value(hit->output, stringify));
		resp_json(r, 200, o);
	} else if (!hit && mapped && map_index < 0) {
		resp_error(r, 404,
			   "XCom entry not found: task '%s' is mapped, name an instance "
			   "with map_index",
			   task_id);
	} else if (!hit) {
		resp_error(r, 404,
			   "XCom entry not found: run '%s' has no instance %lld of task '%s'",
			   run.run_id, (long long)map_index, task_id);
	} else {
		resp_error(r, 404,
			   "XCom entry not found: task instance '%s' (map_index %lld) has no "
			   "output (yet)",
			   task_id, (long long)map_index);
	}
out:
	ti_list_finish(&tis);
	run_finish(&run);
}
