/* af_json.c - Airflow's objects (DAG, DAGRun, TaskInstance, Task) made from swarmflow's rows and
 * DAG snapshots, and the query parameters every Airflow list shares (limit, offset, order_by). */
#include "af.h"

#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/timeutil.h"

/* The operator every task is in Airflow's terms: one container as a Swarm service. */
#define AF_OPERATOR "SwarmServiceOperator"

static json_t *date_or_null(const json_t *v)
{
	return json_is_string(v) ? json_incref((json_t *)v) : json_null();
}

static json_t *tags_json(const json_t *tags)
{
	json_t *a = json_array(), *t;
	size_t i;
	json_array_foreach(tags, i, t) json_array_append_new(a, json_pack("{s:O}", "name", t));
	return a;
}

/* Airflow's schedule_interval: a CronExpression for a cron or preset, null for "none". */
static json_t *schedule_json(const char *schedule)
{
	if (!schedule || strcmp(schedule, "none") == 0)
		return json_null();
	return json_pack("{s:s, s:s}", "__type", "CronExpression", "value", schedule);
}

static json_t *timedelta_json(json_int_t seconds)
{
	return json_pack("{s:s, s:I, s:I, s:i}", "__type", "TimeDelta", "days", seconds / 86400,
			 "seconds", seconds % 86400, "microseconds", 0);
}

json_t *af_dag_json(const json_t *dag, bool paused)
{
	const char *id = json_string_value(json_object_get(dag, "dag_id"));
	const char *schedule = json_string_value(json_object_get(dag, "schedule"));
	json_t *o = json_pack(
	    "{s:s, s:s, s:O, s:b, s:b, s:b, s:O, s:O, s:[], s:o, s:o}", "dag_id", id,
	    "dag_display_name", id, "description", json_object_get(dag, "description"), "is_paused",
	    paused, "is_active", 1, "is_subdag", 0, "fileloc", json_object_get(dag, "file"),
	    "file_token", json_object_get(dag, "file"), "owners", "tags",
	    tags_json(json_object_get(dag, "tags")), "schedule_interval", schedule_json(schedule));
	json_object_set_new(o, "timetable_description", str_or_null(schedule));
	json_object_set(o, "max_active_tasks", json_object_get(dag, "max_active_tasks"));
	json_object_set(o, "max_active_runs", json_object_get(dag, "max_active_runs"));
	json_object_set_new(o, "has_import_errors", json_false());
	json_object_set_new(o, "has_task_concurrency_limits", json_false());
	json_object_set_new(o, "default_view", json_string("grid"));
	static const char *const nulls[] = {"root_dag_id",
					    "last_parsed_time",
					    "last_pickled",
					    "last_expired",
					    "scheduler_lock",
					    "pickle_id",
					    "next_dagrun",
					    "next_dagrun_create_after",
					    "next_dagrun_data_interval_start",
					    "next_dagrun_data_interval_end"};
	for (size_t i = 0; i < ARRAY_LEN(nulls); i++)
		json_object_set_new(o, nulls[i], json_null());
	/* swarmflow's own: where in the file the DAG is. */
	json_object_set(o, "line", json_object_get(dag, "line"));
	return o;
}

json_t *af_dag_detail_json(const json_t *dag, bool paused)
{
	json_t *o = af_dag_json(dag, paused);
	json_t *timeout = json_object_get(dag, "dagrun_timeout");
	json_object_set(o, "catchup", json_object_get(dag, "catchup"));
	json_object_set(o, "concurrency", json_object_get(dag, "max_active_tasks"));
	json_object_set_new(o, "dag_run_timeout",
			    json_is_integer(timeout) ? timedelta_json(json_integer_value(timeout))
						     : json_null());
	json_object_set_new(o, "start_date", date_or_null(json_object_get(dag, "start_date")));
	json_object_set_new(o, "end_date", date_or_null(json_object_get(dag, "end_date")));
	json_object_set_new(o, "is_paused_upon_creation", json_null());
	json_object_set_new(o, "last_parsed", json_null());
	json_object_set_new(o, "doc_md", json_null());
	json_object_set_new(o, "orientation", json_string("LR"));
	json_object_set_new(o, "params", json_object());
	json_object_set_new(o, "render_template_as_native_obj", json_false());
	json_object_set_new(o, "template_search_path", json_null());
	json_object_set_new(o, "timezone", json_string("UTC"));
	return o;
}

/* The ids of the tasks that have task_id upstream. */
static json_t *downstream_of(const json_t *dag, const char *task_id)
{
	json_t *down = json_array(), *t, *up;
	size_t i, j;
	json_array_foreach(json_object_get(dag, "tasks"), i, t)
	{
		json_array_foreach(json_object_get(t, "upstream"), j,
				   up) if (strcmp(json_string_value(up), task_id) == 0)
		    json_array_append(down, json_object_get(t, "task_id"));
	}
	return down;
}

json_t *af_task_json(const json_t *dag, const json_t *task)
{
	const char *id = json_string_value(json_object_get(task, "task_id"));
	const char *pool = json_string_value(json_object_get(task, "pool"));
	json_t *timeout = json_object_get(task, "timeout");
	json_t *o = json_pack(
	    "{s:s, s:s, s:{s:s, s:s}, s:s, s:O, s:O, s:s, s:i, s:i, s:b, s:b, s:b, s:o}", "task_id",
	    id, "task_display_name", id, "class_ref", "class_name", AF_OPERATOR, "module_path",
	    "swarmflow", "owner", "swarmflow", "trigger_rule",
	    json_object_get(task, "trigger_rule"), "retries", json_object_get(task, "retries"),
	    "pool", pool ? pool : AF_DEFAULT_POOL, "pool_slots", 1, "priority_weight", 1,
	    "depends_on_past", 0, "wait_for_downstream", 0, "is_mapped",
	    json_is_true(json_object_get(task, "mapped")), "downstream_task_ids",
	    downstream_of(dag, id));
	json_object_set_new(o, "execution_timeout",
			    json_is_integer(timeout) ? timedelta_json(json_integer_value(timeout))
						     : json_null());
	json_object_set_new(o, "start_date", date_or_null(json_object_get(dag, "start_date")));
	json_object_set_new(o, "end_date", date_or_null(json_object_get(dag, "end_date")));
	json_object_set_new(o, "weight_rule", json_string("downstream"));
	json_object_set_new(o, "queue", json_null());
	json_object_set_new(o, "template_fields",
			    json_pack("[s, s, s]", "command", "shell", "env"));
	json_object_set_new(o, "extra_links", json_array());
	/* swarmflow's own: the image and the upstream ids as the DAG file names them. */
	json_object_set(o, "image", json_object_get(task, "image"));
	json_object_set(o, "upstream_task_ids", json_object_get(task, "upstream"));
	return o;
}

json_t *af_run_json(const struct run *run)
{
	json_t *o = run_to_json(run); /* the UI's object: the same fields, the same code */
	json_t *run_id = json_incref(json_object_get(o, "run_id"));
	json_object_del(o, "run_id");
	json_object_del(o, "queued_at");
	json_object_set_new(o, "dag_run_id", run_id);
	json_object_set(o, "execution_date", json_object_get(o, "logical_date"));
	json_object_set_new(o, "queued_at", ms_json(run->queued_ms));
	bool scheduled = run->run_type && strcmp(run->run_type, "scheduled") == 0;
	json_object_set_new(o, "external_trigger", json_boolean(!scheduled));
	json_object_set_new(o, "last_scheduling_decision", json_null());
	json_object_set_new(o, "note", json_null());
	return o;
}

/* Airflow's state of a task instance: its name, null for none (Airflow 2.7 and later). */
static json_t *ti_state_json(enum ti_state s)
{
	return s == TI_NONE ? json_null() : json_string(ti_state_name(s));
}

json_t *af_ti_json(const struct ti *ti, const struct run *run, const char *pool, int64_t now_ms)
{
	json_t *base = ti_to_json(ti, now_ms); /* dates, duration, service, exit code, error */
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i}", "dag_id", ti->dag_id,
			      "dag_run_id", ti->run_id, "task_id", ti->task_id, "task_display_name",
			      ti->task_id, "map_index", ti->map_index, "try_number", ti->try_number,
			      "max_tries", ti->max_tries);
	char iso[32];
	time_format_iso(run->logical_date, iso);
	json_object_set_new(o, "execution_date", json_string(iso));
	json_object_set_new(o, "state", ti_state_json(ti->state));
	static const char *const copied[] = {"start_date",   "end_date",  "duration", "service_id",
					     "service_name", "exit_code", "error"};
	for (size_t i = 0; i < ARRAY_LEN(copied); i++)
		json_object_set(o, copied[i], json_object_get(base, copied[i]));
	json_decref(base);
	json_object_set_new(o, "queued_when", ms_json(ti->queued_ms));
	json_object_set_new(o, "hostname", json_string(ti->node_id ? ti->node_id : ""));
	json_object_set_new(o, "node_id", str_or_null(ti->node_id));
	json_object_set_new(o, "unixname", json_string(""));
	json_object_set_new(o, "pool", json_string(pool ? pool : AF_DEFAULT_POOL));
	json_object_set_new(o, "pool_slots", json_integer(1));
	json_object_set_new(o, "operator", json_string(AF_OPERATOR));
	json_object_set_new(o, "executor_config", json_string("{}"));
	json_object_set_new(o, "rendered_fields", json_object());
	static const char *const nulls[] = {
	    "queue",    "priority_weight", "pid",          "executor", "note", "rendered_map_index",
	    "sla_miss", "trigger",         "triggerer_job"};
	for (size_t i = 0; i < ARRAY_LEN(nulls); i++)
		json_object_set_new(o, nulls[i], json_null());
	return o;
}

json_t *af_collection(const char *key, json_t *items, int64_t total)
{
	return json_pack("{s:o, s:I}", key, items, "total_entries", (json_int_t)total);
}

/* ---- query parameters ---- */

bool af_query_known(struct web_req *q, struct web_resp *r, const char *const *allowed)
{
	const char *bad = query_unknown(q->query, allowed);
	if (bad)
		resp_error(r, 400, "query parameter '%.100s' is not supported here", bad);
	return bad == NULL;
}

bool af_query_bool(struct web_req *q, struct web_resp *r, const char *key, bool def, bool *out)
{
	const char *v = query_get(q->query, key);
	*out = v ? strcmp(v, "true") == 0 : def;
	if (!v || strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return true;
	resp_error(r, 400, "%s: expected true or false", key);
	return false;
}

bool af_page(struct web_req *q, struct web_resp *r, int64_t *limit, int64_t *offset)
{
	char *err = NULL;
	if (query_int(q->query, "limit", AF_PAGE_DEFAULT, 1, AF_PAGE_MAX, limit, &err) &&
	    query_int(q->query, "offset", 0, 0, AF_OFFSET_MAX, offset, &err))
		return true;
	resp_error(r, 400, "%s", err);
	free(err);
	return false;
}

bool af_order(const char *value, const struct af_order_key *keys, int *col, bool *desc,
	      struct web_resp *r)
{
	*col = 0;
	*desc = false;
	if (!value || !*value)
		return true;
	*desc = value[0] == '-';
	const char *name = value + *desc;
	for (size_t i = 0; keys[i].name; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			*col = keys[i].col;
			return true;
		}
	}
	struct buf known;
	buf_init(&known, 0);
	for (size_t i = 0; keys[i].name; i++)
		buf_printf(&known, "%s%s", i ? ", " : "", keys[i].name);
	resp_error(r, 400,
		   "order_by: ordering with '%.100s' is not supported (one of: %s, each may "
		   "start with '-')",
		   name, known.data ? known.data : "");
	buf_finish(&known);
	return false;
}

char *af_ids_json(const struct strv *ids)
{
	if (ids->len == 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < ids->len; i++)
		json_array_append_new(a, json_string(ids->v[i]));
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

bool af_date_parse(const char *text, int64_t *ms)
{
	/* time_parse_iso takes no fraction: cut ".123456" (Python's isoformat) after the seconds,
	 * keeping its milliseconds. */
	char copy[64];
	int64_t s = 0, frac_ms = 0;
	const char *dot = strchr(text, '.');
	size_t n = strlen(text);
	if (n >= sizeof(copy))
		return false;
	if (dot) {
		size_t k = 1, digits = 0;
		for (; dot[k] >= '0' && dot[k] <= '9'; k++, digits++)
			if (digits < 3)
				frac_ms = frac_ms * 10 + (dot[k] - '0');
		if (digits == 0)
			return false;
		for (; digits < 3; digits++)
			frac_ms *= 10;
		size_t head = (size_t)(dot - text);
		memcpy(copy, text, head);
		memcpy(copy + head, dot + k, n - head - k + 1);
	} else {
		memcpy(copy, text, n + 1);
	}
	if (!time_parse_iso(copy, &s))
		return false;
	*ms = s * 1000 + frac_ms;
	return true;
}
