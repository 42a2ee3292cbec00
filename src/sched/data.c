/* data.c - data between the tasks of a run: what a try's templates read of its upstream tasks,
 * what branches and short circuits decide, and the expansion of mapped tasks. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/output.h"
#include "swarmflow/core/template.h"

/* The output of ti's current try, when it succeeded (caller frees; NULL: none). False only on
 * a store failure. */
static bool current_output(struct scheduler *s, const struct ti *ti, char **out)
{
	char *err = NULL;
	*out = NULL;
	if (ti->state != TI_SUCCESS)
		return true;
	if (store_try_output(s->store, ti->id, ti->try_number, out, &err))
		return true;
	log_error("store: %s", err);
	free(err);
	return false;
}

static void set_nullable(json_t *obj, const char *key, char *owned)
{
	json_object_set_new(obj, key, owned ? json_string(owned) : json_null());
	free(owned);
}

/* What one referenced task gives: its state, output and exit code; for a mapped task, its
 * instances' outputs in map order (none yet when it is not expanded). */
static json_t *task_data(struct scheduler *s, const struct task *t, const struct task_tis *tt)
{
	json_t *d = json_object();
	const struct ti *first = tt->n ? tt->v[0] : NULL;
	json_object_set_new(d, "state", json_string(first ? ti_state_name(first->state) : "none"));
	if (t->mapped) {
		json_t *outs = json_array();
		for (size_t i = 0; i < tt->n && tt->v[i]->map_index >= 0; i++) {
			char *o = NULL;
			if (!current_output(s, tt->v[i], &o)) {
				json_decref(outs);
				json_decref(d);
				return NULL;
			}
			json_array_append_new(outs, output_as_json(o));
			free(o);
		}
		json_object_set_new(d, "outputs", outs);
		return d;
	}
	char *o = NULL;
	if (first && !current_output(s, first, &o)) {
		json_decref(d);
		return NULL;
	}
	set_nullable(d, "output", o);
	json_object_set_new(d, "exit_code",
			    first && first->has_exit_code ? json_integer(first->exit_code)
							  : json_null());
	return d;
}

json_t *data_upstream(struct scheduler *s, const struct dag *dag, const struct task *task,
		      const struct task_tis *by_task)
{
	json_t *up = json_object();
	for (size_t i = 0; i < task->n_ref; i++) {
		size_t r = task->ref_idx[i];
		json_t *d = task_data(s, &dag->tasks[r], &by_task[r]);
		if (!d) {
			json_decref(up);
			return NULL;
		}
		json_object_set_new(up, dag->tasks[r].task_id, d);
	}
	return up;
}

/* Whether branch task b (index bi, its instance bti) chose task_id; a branch that has not
 * succeeded chose nothing yet (*chosen stays true). False only on a store failure. */
static bool branch_chose(struct scheduler *s, const struct ti *bti, const char *task_id,
			 bool *chosen)
{
	char *out = NULL, *err = NULL;
	*chosen = true;
	if (bti->state != TI_SUCCESS)
		return true;
	if (!current_output(s, bti, &out))
		return false;
	struct strv names = {0};
	/* The choice was checked when the branch's try ended (finish.c). */
	if (output_branch_parse(out, &names, &err))
		*chosen = strv_contains(&names, task_id);
	free(err);
	strv_finish(&names);
	free(out);
	return true;
}

/* Whether short_circuit task instance ti stopped its downstream. */
static bool circuit_open(struct scheduler *s, const struct ti *ti, bool *open)
{
	char *out = NULL;
	*open = false;
	if (ti->state != TI_SUCCESS)
		return true;
	if (!current_output(s, ti, &out))
		return false;
	*open = output_is_false(out);
	free(out);
	return true;
}

bool data_skipped(struct scheduler *s, const struct dag *dag, const struct task *task,
		  const struct task_tis *by_task, bool *skip)
{
	*skip = false;
	for (size_t i = 0; i < task->n_up && !*skip; i++) {
		const struct task *u = &dag->tasks[task->up_idx[i]];
		const struct task_tis *tt = &by_task[task->up_idx[i]];
		bool chosen = true;
		if (u->branch && tt->n && !branch_chose(s, tt->v[0], task->task_id, &chosen))
			return false;
		*skip = !chosen;
	}
	for (size_t i = 0; i < task->n_sc && !*skip; i++) {
		const struct task_tis *tt = &by_task[task->sc_idx[i]];
		if (tt->n && !circuit_open(s, tt->v[0], skip))
			return false;
	}
	return true;
}

char *data_branch_check(const struct dag *dag, const struct task *task, const char *output)
{
	struct strv names = {0};
	char *err = NULL;
	if (!output_branch_parse(output, &names, &err))
		return err;
	for (size_t i = 0; i < names.len && !err; i++) {
		bool found = false;
		for (size_t k = 0; k < task->n_down && !found; k++)
			found = strcmp(dag->tasks[task->down_idx[k]].task_id, names.v[i]) == 0;
		if (found)
			continue;
		struct buf down;
		buf_init(&down, 0);
		for (size_t k = 0; k < task->n_down; k++)
			buf_printf(&down, "%s%s", k ? ", " : "",
				   dag->tasks[task->down_idx[k]].task_id);
		err = xasprintf("branch chose '%s', which is not a direct downstream of '%s' (its "
				"downstream tasks: %s)",
				names.v[i], task->task_id, down.len ? down.data : "none");
		buf_finish(&down);
	}
	strv_finish(&names);
	return err;
}

/* Ends the unexpanded instance of a mapped task without a try: skipped (no elements) or
 * failed with why (no retry: the same upstream output would fail the same way). */
static bool expand_end(struct scheduler *s, struct ti *ti, enum ti_state state, const char *why,
		       int64_t now_ms)
{
	char *err = NULL;
	ti->state = state;
	ti->start_ms = ti->start_ms ? ti->start_ms : now_ms;
	ti->end_ms = now_ms;
	free(ti->error);
	ti->error = why ? xstrdup(why) : NULL;
	if (!store_ti_update(s->store, ti, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	log_info("task %s dag=%s run=%s task=%s%s%s", ti_state_name(state), ti->dag_id, ti->run_id,
		 ti->task_id, why ? ": " : " (expanded to no element)", why ? why : "");
	return true;
}

json_t *data_template_ctx(const struct run *run, const struct dag *dag, const struct task *task,
			  struct template_ctx *out)
{
	json_error_t jerr;
	json_t *conf = json_loads(run->conf ? run->conf : "{}", 0, &jerr);
	*out = (struct template_ctx){
	    .logical_date = run->logical_date,
	    .data_interval_start = run->data_interval_start,
	    .data_interval_end = run->data_interval_end,
	    .run_id = run->run_id,
	    .dag_id = dag->dag_id,
	    .task_id = task->task_id,
	    .conf = conf,
	    .map_index = -1,
	};
	return conf;
}

/* Renders the expand values of task for this run into their elements; NULL with *why set. */
static json_t *render_elements(const struct run *run, const struct dag *dag,
			       const struct task *task, const json_t *upstream, char **why)
{
	struct template_ctx tctx;
	json_t *conf = data_template_ctx(run, dag, task, &tctx);
	tctx.upstream = upstream;
	char **values = xcalloc(task->expand.len + 1, sizeof(*values));
	json_t *items = NULL;
	size_t n = 0;
	for (; n < task->expand.len; n++)
		if (!(values[n] = template_render(task->expand.v[n], &tctx, why)))
			break;
	if (n == task->expand.len)
		items = output_expand_values((const char *const *)values, n);
	for (size_t i = 0; i < n; i++)
		free(values[i]);
	free(values);
	json_decref(conf);
	return items;
}

bool data_expand(struct scheduler *s, const struct run *run, const struct dag *dag,
		 const struct task *task, struct ti *ti, const struct task_tis *by_task,
		 int64_t now_ms)
{
	char *why = NULL;
	json_t *upstream = data_upstream(s, dag, task, by_task);
	if (!upstream)
		return false;
	json_t *items = render_elements(run, dag, task, upstream, &why);
	json_decref(upstream);
	size_t n = json_array_size(items);
	bool ok;
	if (!items) {
		char *msg = xasprintf("expand: %s", why ? why : "cannot be rendered");
		ok = expand_end(s, ti, TI_FAILED, msg, now_ms);
		free(msg);
	} else if (n > (size_t)task->max_map_length) {
		char *msg = xasprintf("expand: %zu elements, more than max_map_length %d", n,
				      task->max_map_length);
		ok = expand_end(s, ti, TI_FAILED, msg, now_ms);
		free(msg);
	} else if (n == 0) {
		ok = expand_end(s, ti, TI_SKIPPED, NULL, now_ms);
	} else {
		char **texts = xcalloc(n, sizeof(*texts));
		for (size_t i = 0; i < n; i++)
			texts[i] =
			    json_dumps(json_array_get(items, i), JSON_COMPACT | JSON_ENCODE_ANY);
		char *err = NULL;
		ok = store_ti_expand(s->store, ti->id, (const char *const *)texts, n, &err);
		if (ok)
			log_info("task expanded dag=%s run=%s task=%s instances=%zu", ti->dag_id,
				 ti->run_id, ti->task_id, n);
		else
			log_error("store: %s", err);
		free(err);
		for (size_t i = 0; i < n; i++)
			free(texts[i]);
		free(texts);
	}
	free(why);
	json_decref(items);
	return ok;
}
