/* api_json.c - what every handler shares: JSON of runs and task instances, error answers, the
 * request body, and looking up the DAG, run and task instance a path names. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/store/store_web.h"
#include "swarmflow/web/control.h"

json_t *ms_json(int64_t ms)
{
	char iso[32];
	if (!ms)
		return json_null();
	time_format_iso_ms(ms, iso);
	return json_string(iso);
}

static json_t *date_json(int64_t unix_s)
{
	char iso[32];
	time_format_iso(unix_s, iso);
	return json_string(iso);
}

json_t *str_or_null(const char *s)
{
	if (!s)
		return json_null();
	json_t *v = json_string(s);
	if (!v) { /* not UTF-8 (an engine's message may hold anything): shown cleaned */
		size_t used = 0;
		char *clean = utf8_clean(s, strlen(s), true, &used);
		v = json_string(clean);
		free(clean);
	}
	return v ? v : json_null();
}

json_t *run_to_json(const struct run *run)
{
	json_error_t jerr;
	/* Most runs have no conf: skip the parser for them. */
	bool empty = !run->conf || strcmp(run->conf, "{}") == 0;
	json_t *conf = empty ? NULL : json_loads(run->conf, 0, &jerr);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "dag_id", run->dag_id, "run_id", run->run_id,
			      "run_type", run->run_type ? run->run_type : "manual", "state",
			      run_state_name(run->state));
	json_object_set_new(o, "logical_date", date_json(run->logical_date));
	json_object_set_new(o, "data_interval_start", date_json(run->data_interval_start));
	json_object_set_new(o, "data_interval_end", date_json(run->data_interval_end));
	json_object_set_new(o, "queued_at", ms_json(run->queued_ms));
	json_object_set_new(o, "start_date", ms_json(run->start_ms));
	json_object_set_new(o, "end_date", ms_json(run->end_ms));
	json_object_set_new(o, "conf", json_is_object(conf) ? conf : json_object());
	if (conf && !json_is_object(conf))
		json_decref(conf);
	return o;
}

static json_t *duration_json(const struct ti *ti, int64_t now_ms)
{
	if (!ti->start_ms)
		return json_null();
	bool running = ti->state == TI_RUNNING && !ti->end_ms;
	int64_t end = ti->end_ms ? ti->end_ms : (running ? now_ms : 0);
	if (!end || end < ti->start_ms)
		return json_null();
	return json_real((double)(end - ti->start_ms) / 1000.0);
}

json_t *ti_to_json(const struct ti *ti, int64_t now_ms)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:i}", "task_id", ti->task_id, "state",
			      ti_state_name(ti->state), "try_number", ti->try_number, "max_tries",
			      ti->max_tries);
	json_object_set_new(o, "service_name", str_or_null(ti->service_name));
	json_object_set_new(o, "service_id", str_or_null(ti->service_id));
	json_object_set_new(o, "exit_code",
			    ti->has_exit_code ? json_integer(ti->exit_code) : json_null());
	json_object_set_new(o, "error", str_or_null(ti->error));
	json_object_set_new(o, "start_date", ms_json(ti->start_ms));
	json_object_set_new(o, "end_date", ms_json(ti->end_ms));
	json_object_set_new(o, "duration", duration_json(ti, now_ms));
	json_object_set_new(o, "map_index", json_integer(ti->map_index));
	if (ti->output)
		json_object_set_new(o, "output", str_or_null(ti->output));
	return o;
}

/* ---- answers ---- */

void resp_json(struct web_resp *r, int status, json_t *body)
{
	json_decref(r->json);
	r->status = status;
	r->json = body;
}

/* Airflow's names of the problems (its Error responses), by status. */
static const struct problem {
	int status;
	const char *type, *title;
} problems[] = {
    {400, "BadRequest", "Bad Request"},
    {401, "Unauthenticated", "Unauthorized"},
    {403, "PermissionDenied", "Forbidden"},
    {404, "NotFound", "Not Found"},
    {405, "MethodNotAllowed", "Method Not Allowed"},
    {409, "AlreadyExists", "Conflict"},
    {413, "BadRequest", "Payload Too Large"},
    {502, "Unknown", "Bad Gateway"},
    {503, "Unknown", "Service Unavailable"},
};

#define PROBLEM_DOCS                                                                               \
	"https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/"  \
	"Errors/"

void resp_error(struct web_resp *r, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* Messages may quote what the client sent: keep the JSON valid whatever it was. */
	size_t used = 0;
	char *clean = utf8_clean(msg, strlen(msg), true, &used);
	const struct problem *p =
	    &(const struct problem){status, "Unknown", "Internal Server Error"};
	for (size_t i = 0; i < ARRAY_LEN(problems); i++)
		if (problems[i].status == status)
			p = &problems[i];
	char *type = xasprintf(PROBLEM_DOCS "%s", p->type);
	/* Problem JSON (RFC 7807, as Airflow answers), and "error" for the UI's own API. */
	resp_json(r, status,
		  json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", p->title, "status",
			    status, "detail", clean, "error", clean));
	free(type);
	free(clean);
	free(msg);
}

void resp_store_error(struct web_resp *r, char *err)
{
	log_error("web: %s", err ? err : "store error");
	resp_error(r, 500, "%s", err ? err : "store error");
	free(err);
}

json_t *req_body_object(const struct web_req *q, struct web_resp *r)
{
	if (!q->body || q->body_len == 0)
		return json_object();
	json_error_t jerr;
	json_t *v = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		resp_error(r, 400, "request body: invalid JSON at line %d column %d: %s", jerr.line,
			   jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		resp_error(r, 400, "request body: expected a JSON object");
		return NULL;
	}
	return v;
}

bool body_keys_known(const json_t *obj, const char *const *allowed, struct web_resp *r)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i]) {
			resp_error(r, 400, "request body: unknown field '%.100s'", key);
			return false;
		}
	}
	return true;
}

int web_control_http(int s)
{
	static const int http[] = {[CONTROL_OK] = 200,
				   [CONTROL_INVALID] = 400,
				   [CONTROL_NOT_FOUND] = 404,
				   [CONTROL_CONFLICT] = 409,
				   [CONTROL_FAILED] = 500};
	return (size_t)s < ARRAY_LEN(http) ? http[s] : 500;
}

/* ---- what the path names ---- */

json_t *req_dag(struct web_req *q, struct web_resp *r)
{
	const char *dag_id = q->route->args[ARG_DAG];
	json_t *dag = web_dags_find(web_dags_of(q->w), dag_id);
	if (!dag)
		resp_error(r, 404, "unknown DAG '%s'", dag_id);
	return dag;
}

bool req_run(struct web_req *q, struct web_resp *r, struct run *out)
{
	const char *dag_id = q->route->args[ARG_DAG], *run_id = q->route->args[ARG_RUN];
	bool found = false;
	char *err = NULL;
	if (!store_run_find(q->store, dag_id, run_id, out, &found, &err)) {
		resp_store_error(r, err);
		return false;
	}
	if (!found)
		resp_error(r, 404, "no run '%s' for DAG '%s'", run_id, dag_id);
	return found;
}

struct ti *ti_list_find(const struct ti_list *tis, const char *task_id, int64_t map_index,
			bool *mapped)
{
	*mapped = false;
	for (size_t i = 0; i < tis->len; i++) {
		if (strcmp(tis->v[i].task_id, task_id) != 0)
			continue;
		*mapped = tis->v[i].map_index >= 0;
		if (tis->v[i].map_index == map_index)
			return &tis->v[i];
	}
	return NULL;
}

bool req_ti(struct web_req *q, struct web_resp *r, const struct run *run, struct ti *out)
{
	const char *task_id = q->route->args[ARG_TASK];
	struct ti_list tis = {0};
	char *err = NULL;
	int64_t map_index = q->route->map_index;
	if (!q->route->args[ARG_MAP] &&
	    !query_int(q->query, "map_index", -1, -1, INT32_MAX, &map_index, &err)) {
		resp_error(r, 400, "%s", err);
		free(err);
		return false;
	}
	if (!store_tis_for_run(q->store, run->id, &tis, &err)) {
		resp_store_error(r, err);
		return false;
	}
	bool mapped = false;
	struct ti *hit = ti_list_find(&tis, task_id, map_index, &mapped);
	bool found = hit != NULL;
	if (hit) {
		*out = *hit;
		*hit = (struct ti){0};
	}
	ti_list_finish(&tis);
	if (!found && mapped && map_index < 0 && q->route->airflow)
		resp_error(r, 404, "Task instance is mapped, add the map_index value to the URL");
	else if (!found && mapped && map_index < 0)
		resp_error(r, 404, "task '%s' is mapped: name an instance with ?map_index=N",
			   task_id);
	else if (!found && map_index >= 0)
		resp_error(r, 404, "run '%s' has no instance %lld of task '%s'", run->run_id,
			   (long long)map_index, task_id);
	else if (!found)
		resp_error(r, 404, "run '%s' has no task '%s'", run->run_id, task_id);
	return found;
}

/* ---- writes: the DAG, the body, the control operations ---- */

bool req_write_begin(struct web_req *q, struct web_resp *r, const char *const *fields,
		     struct req_write *w)
{
	*w = (struct req_write){0};
	w->dag_json = req_dag(q, r);
	w->body = w->dag_json ? req_body_object(q, r) : NULL;
	if (!w->body || (fields && !body_keys_known(w->body, fields, r))) {
		req_write_finish(w);
		return false;
	}
	w->dag = dag_from_json(w->dag_json);
	if (!w->dag) {
		resp_error(r, 500, "the DAG snapshot of '%s' is unusable", q->route->args[ARG_DAG]);
		req_write_finish(w);
		return false;
	}
	return true;
}

void req_write_finish(struct req_write *w)
{
	dag_destroy(w->dag);
	json_decref(w->body);
	json_decref(w->dag_json);
	*w = (struct req_write){0};
}

bool req_trigger(struct web_req *q, struct web_resp *r, const struct dag *dag,
		 const struct control_trigger *t, struct run *out)
{
	char *err = NULL;
	enum control_status s = control_run_create(q->store, dag, t, out, &err);
	if (s == CONTROL_OK)
		log_info("web: run queued dag=%s run=%s", out->dag_id, out->run_id);
	else
		resp_error(r, web_control_http(s), "%s", err ? err : "cannot create the run");
	free(err);
	return s == CONTROL_OK;
}

bool req_clear(struct web_req *q, struct web_resp *r, const struct dag *dag,
	       const struct control_clear *req, struct control_clear_result *out)
{
	char *err = NULL;
	enum control_status s = control_tasks_clear(q->store, dag, req, out, &err);
	if (s != CONTROL_OK)
		resp_error(r, web_control_http(s), "%s", err ? err : "cannot clear");
	else if (!req->dry_run)
		log_info("web: cleared %zu task(s) dag=%s run=%s", out->len, dag->dag_id,
			 req->run_id);
	free(err);
	return s == CONTROL_OK;
}
