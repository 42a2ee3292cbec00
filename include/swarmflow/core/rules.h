/* rules.h - trigger rules and run outcome: what the upstream states mean for a task (pure). */
#ifndef SWARMFLOW_CORE_RULES_H
#define SWARMFLOW_CORE_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "swarmflow/core/dag.h"
#include "swarmflow/store/store.h"

/* How many direct upstream tasks are in each state. */
struct upstream_counts {
	size_t total;
	size_t success, failed, upstream_failed, skipped, removed;
	size_t done; /* in a finished state (success, failed, upstream_failed, skipped, removed) */
};

void upstream_counts_add(struct upstream_counts *c, enum ti_state upstream_state);

enum rule_verdict {
	RULE_WAIT,            /* not decidable yet */
	RULE_RUN,             /* schedule the task */
	RULE_SKIP,            /* the task becomes skipped */
	RULE_UPSTREAM_FAILED, /* the task becomes upstream_failed */
};

/* Airflow's semantics for each rule (airflow/ti_deps/deps/trigger_rule_dep.py; a task with no
 * upstream always runs). A mapped upstream counts once per instance.
 * all_success: all upstream success; any failed/upstream_failed -> upstream_failed; else any
 *   skipped -> skipped.
 * all_failed: all upstream failed or upstream_failed; any success or skipped -> skipped.
 * all_done: all upstream finished.
 * all_skipped: all upstream skipped; any success, failed or upstream_failed -> skipped.
 * one_success: runs as soon as one upstream succeeded; all done without success: all skipped
 *   -> skipped, else upstream_failed.
 * one_failed: runs as soon as one upstream failed (or upstream_failed); all done without
 *   failure -> skipped.
 * one_done: runs as soon as one upstream succeeded or failed; all done without -> skipped.
 * none_failed: all done and none failed/upstream_failed (skipped is fine); any failure ->
 *   upstream_failed.
 * none_failed_min_one_success: as none_failed, but all done without a success -> skipped.
 * none_skipped: all done and none skipped; any skipped -> skipped.
 * always: runs at once, whatever the upstream state. */
enum rule_verdict trigger_rule_evaluate(enum trigger_rule rule, const struct upstream_counts *c);

/* The state of a finished run from its leaf tasks (Airflow): failed when any leaf is failed or
 * upstream_failed, success otherwise. leaf_states has n entries. */
enum run_state run_outcome(const enum ti_state *leaf_states, size_t n);

/* The one state that stands for the n instances of a mapped task (the grid's cell, the graph's
 * node), as Airflow's grid sums them up: the first of failed, upstream_failed, up_for_retry,
 * queued, scheduled, running, none, success, skipped, removed that any instance is in. TI_NONE
 * when n is 0. */
enum ti_state ti_states_summary(const enum ti_state *states, size_t n);

#endif
