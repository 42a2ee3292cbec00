/* af.h - what the files of Airflow's stable REST API (af_*.c) share: its objects made from
 * swarmflow's rows, and its list parameters. */
#ifndef SWARMFLOW_WEB_AF_H
#define SWARMFLOW_WEB_AF_H

#include "internal.h"
#include "swarmflow/web/control.h"

/* Airflow's page size by default, the largest swarmflow serves (Airflow clamps to its
 * maximum_page_limit; swarmflow answers 400 past it), and the largest offset. */
#define AF_PAGE_DEFAULT 100
#define AF_PAGE_MAX 1000
#define AF_OFFSET_MAX 1000000000LL
/* The pool of a task that names none (Airflow's name for it). */
#define AF_DEFAULT_POOL "default_pool"

/* Airflow's DAG of a snapshot DAG (dag_to_json), with its pause flag. New reference. */
json_t *af_dag_json(const json_t *dag, bool paused);
/* Airflow's DAGDetail: the DAG plus catchup, dates, timeout and the rest. */
json_t *af_dag_detail_json(const json_t *dag, bool paused);
/* Airflow's Task of one task of the snapshot DAG dag. */
json_t *af_task_json(const json_t *dag, const json_t *task);
/* Airflow's DAGRun of a run (dag_run_id, execution_date, external_trigger, note...). */
json_t *af_run_json(const struct run *run);
/* Airflow's TaskInstance of a task instance or a try: THE one place that turns swarmflow's
 * task instance row into Airflow's object (map_index: -1, or the instance's index). run is
 * the task instance's run (its logical date is the execution_date), pool the task's pool (NULL:
 * default_pool). swarmflow's own fields: service_id, service_name, node_id, exit_code, error. */
json_t *af_ti_json(const struct ti *ti, const struct run *run, const char *pool, int64_t now_ms);
/* {key: items, "total_entries": total}; takes items. */
json_t *af_collection(const char *key, json_t *items, int64_t total);

/* False after a 400 naming the first query parameter not in allowed (NULL-terminated). */
bool af_query_known(struct web_req *q, struct web_resp *r, const char *const *allowed);
/* The optional boolean query parameter key ("true" or "false"; def when absent) into *out;
 * false after a 400. */
bool af_query_bool(struct web_req *q, struct web_resp *r, const char *key, bool def, bool *out);
/* limit (1 to AF_PAGE_MAX, default AF_PAGE_DEFAULT) and offset; false after a 400. */
bool af_page(struct web_req *q, struct web_resp *r, int64_t *limit, int64_t *offset);

/* One order_by name and the store's column (enum store_run_order / store_ti_order). */
struct af_order_key {
	const char *name;
	int col;
};
/* Reads an order_by value ("name" or "-name"; NULL or "": keys' column 0, ascending) against
 * keys (ended by a NULL name); false after a 400 listing them. */
bool af_order(const char *value, const struct af_order_key *keys, int *col, bool *desc,
	      struct web_resp *r);
/* Parses a date-time of a request, UTC: "2026-11-21", "2026-11-21T18:00:00Z", with "+00:00"
 * instead of "Z", and with a fraction of a second ("18:00:00.123456+00:00", as Python's
 * isoformat()). Unix milliseconds in *ms; false on anything else. */
bool af_date_parse(const char *text, int64_t *ms);
/* The JSON array text of ids for a store filter, or NULL when there are none. Caller frees. */
char *af_ids_json(const struct strv *ids);

/* Reads an optional array of strings member of body into out, each checked with valid; false
 * after a 400 naming it. */
bool af_body_strings(const json_t *body, const char *key, bool (*valid)(const char *),
		     struct strv *out, struct web_resp *r);
/* An optional integer member in [min, max] (def when absent); false after a 400. */
bool af_body_int(const json_t *body, const char *key, int64_t def, int64_t min, int64_t max,
		 int64_t *out, struct web_resp *r);
/* Whether s is a valid id of any kind (a non-NULL string). */
bool af_any_string(const char *s);
/* Answers the task instances of the path's run that cleared names (a TaskInstanceCollection):
 * what clearing the run would clear. */
void af_tis_answer_cleared(struct web_req *q, struct web_resp *r,
			   const struct control_clear_result *cleared);

#endif
