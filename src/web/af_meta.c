/* af_meta.c - Airflow's API beyond DAGs, runs and task instances: health, version, import errors
 * and the pools of the configuration (read-only) with the slots in use. */
#include <stdlib.h>
#include <string.h>

#include "af.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/sched/heartbeat.h"

static const char *const no_params[] = {NULL};
static const char *const page_params[] = {"limit", "offset", NULL};

void af_health(struct web_req *q, struct web_resp *r)
{
	struct heartbeat hb;
	char *why = NULL;
	if (!af_query_known(q, r, no_params))
		return;
	bool read = heartbeat_read(web_state_dir(q->w), NULL, &hb, &why);
	free(why);
	why = NULL;
	bool healthy = read && heartbeat_judge(&hb, time_now_ms(), &why);
	/* Airflow answers 200 with the status inside; the store answered: this request has one. */
	json_t *sched = json_pack("{s:s}", "status", healthy ? "healthy" : "unhealthy");
	json_object_set_new(sched, "latest_scheduler_heartbeat",
			    read ? ms_json(hb.time_ms) : json_null());
	json_object_set_new(sched, "detail", str_or_null(why));
	resp_json(
	    r, 200,
	    json_pack("{s:{s:s}, s:o}", "metadatabase", "status", "healthy", "scheduler", sched));
	free(why);
}

void af_version(struct web_req *q, struct web_resp *r)
{
	if (af_query_known(q, r, no_params))
		resp_json(r, 200,
			  json_pack("{s:s, s:n, s:s}", "version", SWARMFLOW_VERSION, "git_version",
				    "product", "swarmflow"));
}

void af_import_errors(struct web_req *q, struct web_resp *r)
{
	int64_t limit = 0, offset = 0;
	if (!af_query_known(q, r, page_params) || !af_page(q, r, &limit, &offset))
		return;
	json_t *snap = web_dags_snapshot(web_dags_of(q->w)), *e;
	json_t *errors = json_object_get(snap, "import_errors"), *list = json_array();
	size_t i;
	int64_t now = time_now_ms(); /* when they were seen: the errors of the last reload */
	json_array_foreach(errors, i, e)
	{
		if ((int64_t)i < offset || (int64_t)json_array_size(list) >= limit)
			continue;
		const char *file = json_string_value(json_object_get(e, "file"));
		char *trace = xasprintf("%s:%lld: %s", file ? file : "",
					(long long)json_integer_value(json_object_get(e, "line")),
					json_string_value(json_object_get(e, "message")));
		json_array_append_new(list,
				      json_pack("{s:I, s:s, s:s, s:o, s:O}", "import_error_id",
						(json_int_t)i + 1, "filename", file ? file : "",
						"stack_trace", trace, "timestamp", ms_json(now),
						"line", json_object_get(e, "line")));
		free(trace);
	}
	resp_json(r, 200, af_collection("import_errors", list, (int64_t)json_array_size(errors)));
	json_decref(snap);
}

/* ---- pools ---- */

/* The pool of task task_id in the snapshot DAG dag (NULL: the default pool). */
static const char *task_pool(const json_t *dag, const char *task_id)
{
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(dag, "tasks"), i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "task_id")), task_id) == 0)
			return json_string_value(json_object_get(t, "pool"));
	}
	return NULL;
}

/* Adds to each pool object of pools its queued and running slots, from the tries in flight. */
static bool count_slots(struct web_req *q, json_t *pools, char **err)
{
	struct ti_list tis = {0};
	if (!store_tis_in_flight(q->store, &tis, err))
		return false;
	json_t *dag = NULL;
	for (size_t i = 0; i < tis.len; i++) {
		const struct ti *ti = &tis.v[i];
		const char *id = json_string_value(json_object_get(dag, "dag_id"));
		if (!id || strcmp(id, ti->dag_id) != 0) {
			json_decref(dag);
			dag = web_dags_find(web_dags_of(q->w), ti->dag_id);
		}
		const char *pool = task_pool(dag, ti->task_id);
		json_t *p = json_object_get(pools, pool ? pool : AF_DEFAULT_POOL);
		const char *key = ti->state == TI_RUNNING ? "running_slots" : "queued_slots";
		json_object_set_new(p, key,
				    json_integer(json_integer_value(json_object_get(p, key)) + 1));
	}
	json_decref(dag);
	ti_list_finish(&tis);
	return true;
}

/* Every pool by name, with its slots in use (a new object), or NULL after a 500. */
static json_t *pools_now(struct web_req *q, struct web_resp *r)
{
	json_t *pools = json_deep_copy(web_pools_of(q->w)), *p;
	const char *name;
	char *err = NULL;
	if (!count_slots(q, pools, &err)) {
		json_decref(pools);
		resp_store_error(r, err);
		return NULL;
	}
	json_object_foreach(pools, name, p)
	{
		json_int_t used = json_integer_value(json_object_get(p, "running_slots")) +
				  json_integer_value(json_object_get(p, "queued_slots"));
		json_int_t slots = json_integer_value(json_object_get(p, "slots"));
		json_object_set_new(p, "occupied_slots", json_integer(used));
		json_object_set_new(p, "open_slots", json_integer(slots > used ? slots - used : 0));
	}
	return pools;
}

void af_pools(struct web_req *q, struct web_resp *r)
{
	int64_t limit = 0, offset = 0;
	if (!af_query_known(q, r, page_params) || !af_page(q, r, &limit, &offset))
		return;
	json_t *pools = pools_now(q, r), *p;
	if (!pools)
		return;
	json_t *list = json_array();
	const char *name;
	int64_t i = 0;
	json_object_foreach(pools, name, p)
	{
		if (i >= offset && (int64_t)json_array_size(list) < limit)
			json_array_append(list, p);
		i++;
	}
	resp_json(r, 200, af_collection("pools", list, (int64_t)json_object_size(pools)));
	json_decref(pools);
}

void af_pool(struct web_req *q, struct web_resp *r)
{
	if (!af_query_known(q, r, no_params))
		return;
	json_t *pools = pools_now(q, r);
	json_t *p = json_object_get(pools, q->route->args[ARG_POOL]);
	if (p)
		resp_json(r, 200, json_incref(p));
	else if (pools)
		resp_error(r, 404, "no pool '%s' (pools come from the configuration)",
			   q->route->args[ARG_POOL]);
	json_decref(pools);
}
