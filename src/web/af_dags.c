/* af_dags.c - Airflow's DAG endpoints: the list (tags, paused, dag_id_pattern), one DAG, pausing
 * (is_paused), its details and its tasks; DAGs come from the scheduler's snapshot. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "af.h"
#include "swarmflow/common/log.h"
#include "swarmflow/store/store_web.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* paused is sorted (store_dags_paused). */
static bool in_sorted(const struct strv *paused, const char *dag_id)
{
	return paused->len && bsearch(&dag_id, paused->v, paused->len, sizeof(*paused->v), cmp_str);
}

/* Whether the DAG has one of tags (none asked: yes). */
static bool has_tag(const json_t *dag, const struct strv *tags)
{
	json_t *t;
	size_t i;
	if (tags->len == 0)
		return true;
	json_array_foreach(json_object_get(dag, "tags"), i,
			   t) for (size_t k = 0; k < tags->len;
				   k++) if (strcmp(json_string_value(t), tags->v[k]) ==
					    0) return true;
	return false;
}

/* Airflow's dag_id_pattern: a case-insensitive substring (its SQL "ILIKE %pattern%"). */
static bool id_matches(const char *id, const char *pattern)
{
	size_t n = pattern ? strlen(pattern) : 0, len = strlen(id);
	if (n == 0)
		return true;
	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (strncasecmp(id + i, pattern, n) == 0)
			return true;
	return false;
}

/* The paused query parameter: absent (*want = -1), "true" (1) or "false" (0). */
static bool paused_param(struct web_req *q, struct web_resp *r, int *want)
{
	const char *v = query_get(q->query, "paused");
	*want = !v ? -1 : strcmp(v, "true") == 0 ? 1 : strcmp(v, "false") == 0 ? 0 : -2;
	if (*want == -2)
		resp_error(r, 400, "paused: expected true or false, got '%.50s'", v);
	return *want != -2;
}

static const struct af_order_key dag_order[] = {{"dag_id", 0}, {NULL, 0}};

void af_dags_list(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"limit",  "offset",         "order_by",    "tags",
					     "paused", "dag_id_pattern", "only_active", NULL};
	int64_t limit = 0, offset = 0;
	int want_paused = -1, col = 0;
	bool desc = false;
	if (!af_query_known(q, r, params) || !af_page(q, r, &limit, &offset) ||
	    !paused_param(q, r, &want_paused) ||
	    !af_order(query_get(q->query, "order_by"), dag_order, &col, &desc, r))
		return;
	struct strv paused = {0}, tags = {0};
	char *err = NULL;
	if (!store_dags_paused(q->store, &paused, &err)) {
		resp_store_error(r, err);
		return;
	}
	query_get_all(q->query, "tags", &tags);
	const char *pattern = query_get(q->query, "dag_id_pattern");
	json_t *snap = web_dags_snapshot(web_dags_of(q->w)), *dag;
	json_t *all = json_array(), *page = json_array();
	size_t i;
	json_array_foreach(json_object_get(snap, "dags"), i, dag)
	{
		const char *id = json_string_value(json_object_get(dag, "dag_id"));
		bool p = in_sorted(&paused, id);
		if (has_tag(dag, &tags) && id_matches(id, pattern) &&
		    (want_paused < 0 || p == (want_paused == 1)))
			json_array_append_new(all, af_dag_json(dag, p));
	}
	size_t n = json_array_size(all);
	for (int64_t k = offset; k < (int64_t)n && (int64_t)json_array_size(page) < limit; k++)
		json_array_append(page, json_array_get(all, desc ? n - 1 - (size_t)k : (size_t)k));
	resp_json(r, 200, af_collection("dags", page, (int64_t)n));
	json_decref(all);
	json_decref(snap);
	strv_finish(&paused);
	strv_finish(&tags);
}

/* The snapshot DAG of the path with its pause flag; NULL after a 404 or 500. */
static json_t *dag_paused(struct web_req *q, struct web_resp *r, bool *paused)
{
	json_t *dag = req_dag(q, r);
	char *err = NULL;
	if (dag && !store_dag_is_paused(q->store, q->route->args[ARG_DAG], paused, &err)) {
		resp_store_error(r, err);
		json_decref(dag);
		return NULL;
	}
	return dag;
}

static const char *const no_params[] = {NULL};

static int cmp_task_id(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "task_id")),
		      json_string_value(json_object_get(*(json_t *const *)b, "task_id")));
}

void af_dag_get(struct web_req *q, struct web_resp *r)
{
	bool paused = false;
	json_t *dag = af_query_known(q, r, no_params) ? dag_paused(q, r, &paused) : NULL;
	if (dag)
		resp_json(r, 200, af_dag_json(dag, paused));
	json_decref(dag);
}

void af_dag_details(struct web_req *q, struct web_resp *r)
{
	bool paused = false;
	json_t *dag = af_query_known(q, r, no_params) ? dag_paused(q, r, &paused) : NULL;
	if (dag)
		resp_json(r, 200, af_dag_detail_json(dag, paused));
	json_decref(dag);
}

void af_tasks(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"order_by", NULL};
	static const struct af_order_key keys[] = {{"task_id", 0}, {NULL, 0}};
	int col = 0;
	bool desc = false;
	if (!af_query_known(q, r, params) ||
	    !af_order(query_get(q->query, "order_by"), keys, &col, &desc, r))
		return;
	json_t *dag = req_dag(q, r), *t;
	if (!dag)
		return;
	/* The snapshot lists tasks upstream first; Airflow's order is by task_id. */
	size_t n = json_array_size(json_object_get(dag, "tasks")), i;
	json_t **sorted = xcalloc(n + 1, sizeof(*sorted));
	json_array_foreach(json_object_get(dag, "tasks"), i, t) sorted[i] = t;
	qsort(sorted, n, sizeof(*sorted), cmp_task_id);
	json_t *tasks = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(tasks, af_task_json(dag, sorted[desc ? n - 1 - i : i]));
	free(sorted);
	resp_json(r, 200,
		  json_pack("{s:o, s:I}", "tasks", tasks, "total_entries",
			    (json_int_t)json_array_size(tasks)));
	json_decref(dag);
}

void af_dag_patch(struct web_req *q, struct web_resp *r)
{
	static const char *const params[] = {"update_mask", NULL};
	static const char *const fields[] = {"is_paused", NULL};
	const char *mask = query_get(q->query, "update_mask");
	bool paused = false;
	json_t *dag = af_query_known(q, r, params) ? req_dag(q, r) : NULL;
	json_t *body = dag ? req_body_object(q, r) : NULL;
	json_t *want = json_object_get(body, "is_paused");
	char *err = NULL;
	if (!body || !body_keys_known(body, fields, r)) {
		/* answered */
	} else if (mask && strcmp(mask, "is_paused") != 0) {
		resp_error(r, 400, "update_mask: only is_paused can be changed, got '%.100s'",
			   mask);
	} else if (!json_is_boolean(want)) {
		resp_error(r, 400, "is_paused: expected true or false");
	} else if (!store_dag_set_paused(q->store, q->route->args[ARG_DAG], json_is_true(want),
					 &err) ||
		   !store_dag_is_paused(q->store, q->route->args[ARG_DAG], &paused, &err)) {
		resp_store_error(r, err);
	} else {
		log_info("web: dag %s %s", q->route->args[ARG_DAG], paused ? "paused" : "unpaused");
		resp_json(r, 200, af_dag_json(dag, paused));
	}
	json_decref(body);
	json_decref(dag);
}
