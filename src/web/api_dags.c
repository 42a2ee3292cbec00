/* api_dags.c - /api/v1/dags: the DAGs of the snapshot with their pause flags and latest runs,
 * one DAG, pausing, and the grid of recent runs by task. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/rules.h"
#include "swarmflow/store/store_web.h"

/* Runs shown per DAG in the list, and in the grid by default and at most. */
#define RECENT_RUNS 10
#define GRID_DEFAULT 25
#define GRID_MAX 1000

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* paused is sorted (store_dags_paused). */
static bool is_paused(const struct strv *paused, const char *dag_id)
{
	return paused->len && bsearch(&dag_id, paused->v, paused->len, sizeof(*paused->v), cmp_str);
}

static bool recent_runs(struct store *st, const char *dag_id, json_t **out, char **err)
{
	struct run_list runs = {0};
	if (!store_runs_list(st, dag_id, NULL, RECENT_RUNS, &runs, err))
		return false;
	*out = json_array();
	for (size_t i = 0; i < runs.len; i++) {
		json_t *run = run_to_json(&runs.v[i]);
		json_array_append_new(*out, json_pack("{s:O, s:O, s:O}", "run_id",
						      json_object_get(run, "run_id"), "state",
						      json_object_get(run, "state"), "logical_date",
						      json_object_get(run, "logical_date")));
		json_decref(run);
	}
	run_list_finish(&runs);
	return true;
}

/* One row of the list: the DAG's summary, without its tasks. */
static json_t *summary(const json_t *dag, bool paused, json_t *recent)
{
	json_t *o = json_object();
	static const char *const keys[] = {"dag_id", "description", "schedule", "file", "tags"};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		json_object_set_new(o, keys[i], json_deep_copy(json_object_get(dag, keys[i])));
	json_object_set_new(o, "paused", json_boolean(paused));
	json_object_set_new(
	    o, "n_tasks", json_integer((json_int_t)json_array_size(json_object_get(dag, "tasks"))));
	json_object_set_new(o, "recent_runs", recent);
	return o;
}

void api_dags_list(struct web_req *q, struct web_resp *r)
{
	json_t *snap = web_dags_snapshot(web_dags_of(q->w));
	struct strv paused = {0};
	char *err = NULL;
	json_t *dags = json_array(), *dag;
	size_t i;
	bool ok = store_dags_paused(q->store, &paused, &err);
	json_array_foreach(json_object_get(snap, "dags"), i, dag)
	{
		const char *id = json_string_value(json_object_get(dag, "dag_id"));
		json_t *recent = NULL;
		if (!ok || !(ok = recent_runs(q->store, id, &recent, &err)))
			break;
		json_array_append_new(dags, summary(dag, is_paused(&paused, id), recent));
	}
	if (ok)
		resp_json(r, 200,
			  json_pack("{s:o, s:o}", "dags", dags, "import_errors",
				    json_deep_copy(json_object_get(snap, "import_errors"))));
	else
		resp_store_error(r, err);
	if (!ok)
		json_decref(dags);
	strv_finish(&paused);
	json_decref(snap);
}

/* The DAG (a copy of the snapshot's) with its pause flag; the 200 answer of GET and PATCH. */
static void answer_dag(struct web_req *q, struct web_resp *r, const json_t *dag)
{
	bool paused = false;
	char *err = NULL;
	const char *dag_id = json_string_value(json_object_get(dag, "dag_id"));
	if (!store_dag_is_paused(q->store, dag_id, &paused, &err)) {
		resp_store_error(r, err);
		return;
	}
	json_t *copy = json_deep_copy(dag);
	json_object_set_new(copy, "paused", json_boolean(paused));
	resp_json(r, 200, copy);
}

void api_dag_get(struct web_req *q, struct web_resp *r)
{
	json_t *dag = req_dag(q, r);
	if (dag)
		answer_dag(q, r, dag);
	json_decref(dag);
}

void api_dag_patch(struct web_req *q, struct web_resp *r)
{
	static const char *const fields[] = {"paused", NULL};
	json_t *dag = req_dag(q, r);
	json_t *body = dag ? req_body_object(q, r) : NULL;
	json_t *paused = json_object_get(body, "paused");
	char *err = NULL;
	if (!body || !body_keys_known(body, fields, r)) {
		/* answered */
	} else if (!json_is_boolean(paused)) {
		resp_error(r, 400, "paused: expected true or false");
	} else if (!store_dag_set_paused(q->store, q->route->args[ARG_DAG], json_is_true(paused),
					 &err)) {
		resp_store_error(r, err);
	} else {
		log_info("web: dag %s %s", q->route->args[ARG_DAG],
			 json_is_true(paused) ? "paused" : "unpaused");
		answer_dag(q, r, dag);
	}
	json_decref(body);
	json_decref(dag);
}

/* A mapped task's instances tis[from..to): their summed-up state into states, and
 * {"count": N, "states": {state: n}} into mapped. */
static void grid_mapped(const struct ti_list *tis, size_t from, size_t to, json_t *states,
			json_t *mapped)
{
	enum ti_state *v = xcalloc(to - from + 1, sizeof(*v));
	json_t *counts = json_object();
	for (size_t i = from; i < to; i++) {
		const char *name = ti_state_name(tis->v[i].state);
		v[i - from] = tis->v[i].state;
		json_object_set_new(
		    counts, name,
		    json_integer(json_integer_value(json_object_get(counts, name)) + 1));
	}
	const char *task = tis->v[from].task_id;
	json_object_set_new(states, task,
			    json_string(ti_state_name(ti_states_summary(v, to - from))));
	json_object_set_new(
	    mapped, task,
	    json_pack("{s:I, s:o}", "count", (json_int_t)(to - from), "states", counts));
	free(v);
}

/* {"run_id", "state", "logical_date", "tasks": {task_id: state}, "mapped": {task_id: {count,
 * states}}} of one run: a mapped task's cell is the state its instances sum up to. */
static bool grid_run(struct store *st, const struct run *run, json_t **out, char **err)
{
	struct ti_list tis = {0};
	if (!store_tis_for_run(st, run->id, &tis, err))
		return false;
	json_t *full = run_to_json(run);
	json_t *states = json_object(), *mapped = json_object();
	for (size_t i = 0; i < tis.len;) {
		size_t end = i + 1;
		if (tis.v[i].map_index < 0) {
			json_object_set_new(states, tis.v[i].task_id,
					    json_string(ti_state_name(tis.v[i].state)));
			i = end;
			continue;
		}
		/* store_tis_for_run lists a mapped task's instances together. */
		while (end < tis.len && strcmp(tis.v[end].task_id, tis.v[i].task_id) == 0)
			end++;
		grid_mapped(&tis, i, end, states, mapped);
		i = end;
	}
	*out = json_pack("{s:O, s:O, s:O, s:o, s:o}", "run_id", json_object_get(full, "run_id"),
			 "state", json_object_get(full, "state"), "logical_date",
			 json_object_get(full, "logical_date"), "tasks", states, "mapped", mapped);
	json_decref(full);
	ti_list_finish(&tis);
	return true;
}

void api_grid(struct web_req *q, struct web_resp *r)
{
	int64_t limit = 0;
	char *err = NULL;
	struct run_list runs = {0};
	json_t *dag = req_dag(q, r);
	if (!dag)
		return;
	if (!query_int(q->query, "limit", GRID_DEFAULT, 1, GRID_MAX, &limit, &err)) {
		resp_error(r, 400, "%s", err);
		goto out;
	}
	if (!store_runs_list(q->store, q->route->args[ARG_DAG], NULL, (size_t)limit, &runs, &err)) {
		resp_store_error(r, err);
		err = NULL;
		goto out;
	}
	json_t *tasks = json_array(), *rows = json_array(), *task;
	size_t i;
	json_array_foreach(json_object_get(dag, "tasks"), i, task)
	    json_array_append(tasks, json_object_get(task, "task_id"));
	bool ok = true;
	for (i = 0; ok && i < runs.len; i++) {
		json_t *row = NULL;
		if ((ok = grid_run(q->store, &runs.v[i], &row, &err)))
			json_array_append_new(rows, row);
	}
	if (ok) {
		resp_json(r, 200, json_pack("{s:o, s:o}", "tasks", tasks, "runs", rows));
	} else {
		json_decref(tasks);
		json_decref(rows);
		resp_store_error(r, err);
		err = NULL;
	}
out:
	free(err);
	run_list_finish(&runs);
	json_decref(dag);
}
