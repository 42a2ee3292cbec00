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

#endif
