/* dags.h - the DAGs as JSON (pure) and the snapshot the web server reads: the scheduler owns the
 * dagbag (libconfuse is not reentrant, so only its thread parses), and after each reload hands
 * the web a JSON copy through web_dags_on_loaded(). */
#ifndef SWARMFLOW_WEB_DAGS_H
#define SWARMFLOW_WEB_DAGS_H

#include <jansson.h>

#include "swarmflow/core/dag.h"
#include "swarmflow/sched/dagbag.h"

/* What the scheduler calls after a reload that changed something (and once after the first
 * load), on its own thread: struct scheduler's on_dags_loaded(dags_ctx, bag). */
typedef void (*web_dags_loaded_fn)(void *ctx, const struct dagbag *bag);

/* [{"file": ..., "line": N, "message": ...}] for every error (line 0: the file as a whole), as
 * `dags list --json` reports them. New reference. */
json_t *dag_errors_to_json(const struct dag_errors *errs);

/* One DAG: dag_id, description (null when unset), schedule, start_date and end_date
 * ("YYYY-MM-DDTHH:MM:SSZ" or null), catchup, tags, file, line, max_active_runs,
 * max_active_tasks, dagrun_timeout (seconds or null) and tasks in dependency order (roots
 * first), each {task_id, upstream[], image, trigger_rule, retries, pool (or null), tty,
 * timeout (seconds or null)}. New reference. Pure. */
json_t *dag_to_json(const struct dag *dag);

/* {"dags": [dag_to_json of every DAG in use, in file order], "import_errors": [every file's
 * errors, then the folder's (unreadable folders, duplicate DAG ids)]}. A broken file whose last
 * good version is still in use contributes both. New reference. Pure. */
json_t *dagbag_to_json(const struct dagbag *bag);

/* The snapshot holder: a mutex around the latest dagbag_to_json() and an index by DAG id. */
struct web_dags;

/* Creates a holder with an empty snapshot. Free with web_dags_destroy() (accepts NULL) once no
 * thread reads it any more (after web_stop()). */
struct web_dags *web_dags_create(void);
void web_dags_destroy(struct web_dags *d);

/* Builds the JSON of bag (on the caller's thread: the lock is held only for the swap). Readers
 * holding the previous snapshot keep it until they drop their reference. */
void web_dags_update(struct web_dags *d, const struct dagbag *bag);

/* A web_dags_loaded_fn: ctx is the struct web_dags. Rebuilds the snapshot only when the bag
 * changed since the last call (files added, removed, re-parsed, errors, DAGs in use), which costs
 * a few microseconds to find out: call it after every dagbag_refresh(). Called from one thread
 * (the scheduler's) only. */
void web_dags_on_loaded(void *ctx, const struct dagbag *bag);

/* The whole snapshot ({"dags", "import_errors"}) as a new tree the caller decrefs, never NULL.
 * The holder keeps each DAG as compact JSON text (a tree of 1,000 DAGs costs ~15 MB, its text
 * ~2 MB) and parses it again here. */
json_t *web_dags_snapshot(struct web_dags *d);

/* How many versions were published (web_dags_update) so far. */
uint64_t web_dags_generation(struct web_dags *d);

/* The number of DAGs in use and, in *n_errors, of import errors (no parsing). */
size_t web_dags_count(struct web_dags *d, size_t *n_errors);

/* The DAG dag_id of the snapshot (a new reference to its dag_to_json object), or NULL. */
json_t *web_dags_find(struct web_dags *d, const char *dag_id);

/* A struct dag rebuilt from dag_to_json() output with what the control operations need: ids,
 * upstreams (graph validated: topo, up_idx, down_idx), retries, image, trigger rule and pool.
 * NULL when the JSON is not such an object. Free with dag_destroy(). */
struct dag *dag_from_json(const json_t *obj);

#endif
