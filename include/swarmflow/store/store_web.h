/* store_web.h - what the web API reads beyond store.h: pages of runs with totals, lookups that
 * tell "not found" from a failure, pause flags of all DAGs, counts by state for metrics. */
#ifndef SWARMFLOW_STORE_STORE_WEB_H
#define SWARMFLOW_STORE_STORE_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

/* Runs newest first (logical_date, then creation, as store_runs_list), filtered by dag_id and
 * state (NULL: any): at most limit (>= 1) of them after skipping offset, and in *total how many
 * match in all. Free out with run_list_finish(). */
bool store_runs_page(struct store *s, const char *dag_id, const enum run_state *state,
		     int64_t limit, int64_t offset, struct run_list *out, int64_t *total,
		     char **err);

/* Finds the run (dag_id, run_id): true with *found false when there is none (no *err), false
 * only when the store fails. When found, *out is filled (caller frees with run_finish). */
bool store_run_find(struct store *s, const char *dag_id, const char *run_id, struct run *out,
		    bool *found, char **err);

/* The ids of every DAG whose pause flag is set, sorted (strv: caller finishes it). */
bool store_dags_paused(struct store *s, struct strv *out, char **err);

/* How many task instances (all runs) are in each state, and runs in each state. */
bool store_ti_state_counts(struct store *s, int64_t counts[TI_STATE_COUNT], char **err);
bool store_run_state_counts(struct store *s, int64_t counts[RUN_STATE_COUNT], char **err);

/* ---- for Airflow's API ---- */

/* What a page of runs may be ordered by (Airflow's order_by names them in src/web/af_*.c). */
enum store_run_order {
	RUN_ORDER_ID,
	RUN_ORDER_LOGICAL_DATE,
	RUN_ORDER_START,
	RUN_ORDER_END,
	RUN_ORDER_RUN_ID,
	RUN_ORDER_STATE,
	RUN_ORDER_DAG_ID,
};

/* One end of a range filter: unset, or the value a column must reach. */
struct store_bound {
	bool set;
	int64_t v;
};

/* The ranges a page of runs may be cut to, in order: logical date >= and <= (unix seconds),
 * start >= and <=, end >= and <= (unix ms). A run without that date is outside a set range. */
enum {
	RUN_LOGICAL_GTE,
	RUN_LOGICAL_LTE,
	RUN_START_GTE,
	RUN_START_LTE,
	RUN_END_GTE,
	RUN_END_LTE,
	STORE_RUN_RANGES
};

/* A page of runs. Each filter is NULL (any) or the text of a JSON array of the values kept
 * (bound as one parameter: SQLite's json_each). */
struct store_runs_query {
	const char *dag_ids, *states;
	struct store_bound range[STORE_RUN_RANGES];
	enum store_run_order order;
	bool desc; /* ties are broken by the row id, in the same direction */
	int64_t limit, offset;
};

/* The page in *out (free with run_list_finish) and in *total how many match in all. */
bool store_runs_query(struct store *s, const struct store_runs_query *q, struct run_list *out,
		      int64_t *total, char **err);

enum store_ti_order {
	TI_ORDER_ID, /* creation: by run, then the DAG's task order */
	TI_ORDER_TASK_ID,
	TI_ORDER_STATE,
	TI_ORDER_START,
	TI_ORDER_END,
	TI_ORDER_TRY,
	TI_ORDER_DAG_ID,
	TI_ORDER_RUN_ID,
	TI_ORDER_MAP_INDEX,
};

/* A page of task instances, as store_runs_query; map_index_min (when set) keeps the instances
 * whose map index is at least its value (0: the instances of mapped tasks only). */
struct store_tis_query {
	const char *dag_ids, *run_ids, *task_ids, *states;
	struct store_bound map_index_min;
	enum store_ti_order order;
	bool desc;
	int64_t limit, offset;
};

bool store_tis_query(struct store *s, const struct store_tis_query *q, struct ti_list *out,
		     int64_t *total, char **err);

/* Marks a run state (success or failed), in one transaction: its task instances not started
 * yet (none, scheduled, up_for_retry) become rest, with an end date. Refused (true with *busy,
 * nothing changed) while a task instance is queued or running: its service is the
 * scheduler's. */
bool store_run_mark(struct store *s, int64_t run_pk, enum run_state state, enum ti_state rest,
		    int64_t now_ms, bool *busy, char **err);

/* Deletes a run with its task instances and tries; refused like store_run_mark. */
bool store_run_delete(struct store *s, int64_t run_pk, bool *busy, char **err);

#endif
