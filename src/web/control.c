/* control.c - triggering a run and clearing tasks: one implementation for `dags trigger` /
 * `tasks clear` and for the REST API, so both accept and refuse exactly the same things. */
#include "swarmflow/web/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/sched/sched.h"
#include "swarmflow/store/store_web.h"

/* The longest run id (they appear in log paths and service labels). */
#define RUN_ID_MAX 250

bool control_run_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > RUN_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~' || id[i] == '/')
			return false;
	return true;
}

json_t *control_conf_parse(const char *text, char **err)
{
	json_error_t jerr;
	json_t *v = json_loads(text ? text : "{}", JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		set_err(err, "invalid JSON at column %d: %s", jerr.column, jerr.text);
	} else if (!json_is_object(v)) {
		set_err(err, "expected a JSON object like '{\"key\": \"value\"}'");
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* The conflict is told apart from a store failure by looking: the store's unique constraint
 * still guards a trigger that races this one. */
static enum control_status run_exists(struct store *st, const char *dag_id, const char *run_id,
				      char **err)
{
	struct run r = {0};
	bool found = false;
	char *ignored = NULL;
	if (!store_run_find(st, dag_id, run_id, &r, &found, &ignored)) {
		free(ignored);
		return CONTROL_FAILED;
	}
	run_finish(&r);
	if (!found)
		return CONTROL_OK;
	set_err(err, "run '%s' already exists for DAG '%s'", run_id, dag_id);
	return CONTROL_CONFLICT;
}

enum control_status control_run_create(struct store *st, const struct dag *dag,
				       const struct control_trigger *t, struct run *out, char **err)
{
	if (t->conf && !json_is_object(t->conf)) {
		set_err(err, "%s: expected a JSON object like '{\"key\": \"value\"}'",
			t->conf_name ? t->conf_name : "conf");
		return CONTROL_INVALID;
	}
	if (t->run_id && !control_run_id_valid(t->run_id)) {
		set_err(err, "%s: '%s' must be 1-%d printable characters without spaces or '/'",
			t->run_id_name ? t->run_id_name : "run_id", t->run_id, RUN_ID_MAX);
		return CONTROL_INVALID;
	}
	char iso[32], made_id[64];
	int64_t logical = t->logical_date ? t->logical_date : t->now_ms / 1000;
	time_format_iso(logical, iso);
	snprintf(made_id, sizeof(made_id), "manual__%s", iso);
	const char *run_id = t->run_id ? t->run_id : made_id;
	enum control_status status = run_exists(st, dag->dag_id, run_id, err);
	if (status != CONTROL_OK)
		return status;
	char *conf = t->conf ? json_dumps(t->conf, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	struct run r = {
	    .dag_id = dag->dag_id,
	    .run_id = (char *)run_id,
	    .run_type = "manual",
	    .runner = (char *)t->runner,
	    .state = RUN_QUEUED,
	    .logical_date = logical,
	    .data_interval_start = logical,
	    .data_interval_end = logical,
	    .queued_ms = t->now_ms,
	    .conf = conf,
	};
	if (!sched_run_create(st, dag, &r, out, err)) {
		char *ignored = NULL;
		status = run_exists(st, dag->dag_id, run_id, &ignored) == CONTROL_CONFLICT
			     ? CONTROL_CONFLICT
			     : CONTROL_FAILED;
		free(ignored);
	}
	free(conf);
	return status;
}

/* ---- clear ---- */

/* The task instance of the run for the DAG's task idx, or NULL when the run has none (a task
 * added to the DAG after the run was created). */
static struct ti *ti_of(struct ti_list *tis, const struct dag *dag, size_t idx)
{
	for (size_t i = 0; i < tis->len; i++)
		if (strcmp(tis->v[i].task_id, dag->tasks[idx].task_id) == 0)
			return &tis->v[i];
	return NULL;
}

/* Whether an instance of the DAG's task idx in the run failed (any one, for a mapped task). */
static bool failed(const struct ti_list *tis, const struct dag *dag, size_t idx)
{
	for (size_t i = 0; i < tis->len; i++)
		if (strcmp(tis->v[i].task_id, dag->tasks[idx].task_id) == 0 &&
		    (tis->v[i].state == TI_FAILED || tis->v[i].state == TI_UPSTREAM_FAILED))
			return true;
	return false;
}

/* Marks in pick[] (one per DAG task) the tasks to clear; a named task the DAG or the run does
 * not have is refused. */
static bool pick_tasks(const struct dag *dag, const struct control_clear *req, struct ti_list *tis,
		       bool *pick, char **err)
{
	for (size_t i = 0; i < req->n_tasks; i++) {
		long idx = dag_task_index(dag, req->tasks[i]);
		if (idx < 0 || !ti_of(tis, dag, (size_t)idx))
			return set_err(err, "%s '%s' has no task '%s'", idx < 0 ? "DAG" : "run",
				       idx < 0 ? dag->dag_id : req->run_id, req->tasks[i]);
		pick[idx] = true;
	}
	for (size_t i = 0; i < dag->n_tasks; i++) {
		if (req->n_tasks == 0)
			pick[i] = ti_of(tis, dag, i) != NULL;
		if (req->only_failed && !failed(tis, dag, i))
			pick[i] = false;
	}
	/* Downstream, transitively: topo order places every task after its upstreams. */
	for (size_t k = 0; req->downstream && k < dag->n_tasks; k++) {
		const struct task *t = &dag->tasks[dag->topo[k]];
		for (size_t j = 0; pick[dag->topo[k]] && j < t->n_down; j++)
			pick[t->down_idx[j]] = true;
	}
	return true;
}

/* Refuses to clear a task one of whose instances has a try that owns a service (clearing a
 * mapped task clears all its instances). */
static bool check_idle(const struct dag *dag, struct ti_list *tis, const bool *pick, char **err)
{
	for (size_t k = 0; k < tis->len; k++) {
		const struct ti *ti = &tis->v[k];
		long idx = dag_task_index(dag, ti->task_id);
		if (idx >= 0 && pick[idx] && (ti->state == TI_QUEUED || ti->state == TI_RUNNING))
			return set_err(err,
				       "cannot clear task '%s': it is %s (try %d); wait for it to "
				       "end, then clear it",
				       ti->task_id, ti_state_name(ti->state), ti->try_number);
	}
	return true;
}

/* Clears the picked task instances into out and sends a finished run back to queued, for the
 * daemon to drive. Inside the caller's transaction. */
static bool clear_picked(struct store *st, const struct dag *dag, const struct run *run,
			 struct ti_list *tis, const bool *pick, struct control_clear_result *out,
			 char **err)
{
	out->v = xcalloc(dag->n_tasks + 1, sizeof(*out->v));
	for (size_t i = 0; i < dag->n_tasks; i++) {
		const struct ti *ti = pick[i] ? ti_of(tis, dag, i) : NULL;
		if (!ti)
			continue; /* a downstream task the run does not have */
		if (!store_ti_clear(st, run->id, ti->task_id, dag->tasks[i].retries, err))
			return false;
		out->v[out->len++] = (struct control_cleared){.task_id = xstrdup(ti->task_id),
							      .was = ti->state,
							      .try_number = ti->try_number};
	}
	if (out->len == 0 || (run->state != RUN_SUCCESS && run->state != RUN_FAILED))
		return true;
	out->requeued = true;
	/* The `dags test` process that drove the run has ended with it: the daemon takes it. */
	return store_run_set_runner(st, run->id, NULL, err) &&
	       store_run_set_state(st, run->id, RUN_QUEUED, time_now_ms(), err);
}

/* Reads the run and its task instances inside the transaction; NOT_FOUND without a run. */
static enum control_status load_run(struct store *st, const struct dag *dag, const char *run_id,
				    struct run *run, struct ti_list *tis, char **err)
{
	bool found = false;
	if (!store_run_find(st, dag->dag_id, run_id, run, &found, err))
		return CONTROL_FAILED;
	if (!found) {
		set_err(err, "no run '%s' for DAG '%s'", run_id, dag->dag_id);
		return CONTROL_NOT_FOUND;
	}
	return store_tis_for_run(st, run->id, tis, err) ? CONTROL_OK : CONTROL_FAILED;
}

enum control_status control_tasks_clear(struct store *st, const struct dag *dag,
					const struct control_clear *req,
					struct control_clear_result *out, char **err)
{
	struct run run = {0};
	struct ti_list tis = {0};
	bool *pick = xcalloc(dag->n_tasks + 1, sizeof(*pick));
	*out = (struct control_clear_result){0};
	enum control_status status = CONTROL_FAILED;
	if (!store_begin(st, err))
		goto out;
	status = load_run(st, dag, req->run_id, &run, &tis, err);
	if (status != CONTROL_OK)
		goto rollback;
	out->run_was = run.state;
	if (!pick_tasks(dag, req, &tis, pick, err)) {
		status = CONTROL_INVALID;
		goto rollback;
	}
	if (!check_idle(dag, &tis, pick, err)) {
		status = CONTROL_CONFLICT;
		goto rollback;
	}
	status = CONTROL_FAILED;
	if (!clear_picked(st, dag, &run, &tis, pick, out, err))
		goto rollback;
	if (req->dry_run) { /* what would be cleared, in out; nothing changed */
		store_rollback(st);
		status = CONTROL_OK;
		goto out;
	}
	if (!store_commit(st, err))
		goto rollback;
	status = CONTROL_OK;
	goto out;
rollback:
	store_rollback(st);
	control_clear_result_finish(out);
out:
	free(pick);
	ti_list_finish(&tis);
	run_finish(&run);
	return status;
}

void control_clear_result_finish(struct control_clear_result *r)
{
	for (size_t i = 0; r && i < r->len; i++)
		free(r->v[i].task_id);
	if (r) {
		free(r->v);
		*r = (struct control_clear_result){0};
	}
}
