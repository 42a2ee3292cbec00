/* dag_data.c - checks the data a DAG passes between its tasks: {{ upstream.TASK.* }}
 * references, {{ item }} and {{ map_index }}, branch, short_circuit and expand. */
#include "swarmflow/core/dag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/core/template.h"

/* What on_ref() checks one template of one task against. */
struct ref_check {
	struct dag *dag;
	size_t task;
	const char *key; /* the key the template is in */
	struct dag_errors *errs;
	bool ok;
};

static void push_unique(size_t **v, size_t *n, size_t x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = x;
}

bool dag_task_is_ancestor(const struct dag *dag, size_t ancestor, size_t task)
{
	unsigned char *seen = xcalloc(dag->n_tasks + 1, 1);
	size_t *stack = xcalloc(dag->n_tasks + 1, sizeof(*stack)), n = 0;
	bool found = false;
	stack[n++] = task;
	seen[task] = 1;
	while (n && !found) {
		const struct task *t = &dag->tasks[stack[--n]];
		for (size_t k = 0; k < t->n_up && !found; k++) {
			size_t u = t->up_idx[k];
			found = u == ancestor;
			if (!seen[u]) {
				seen[u] = 1;
				stack[n++] = u;
			}
		}
	}
	free(stack);
	free(seen);
	return found;
}

__attribute__((format(printf, 2, 3))) static void ref_error(struct ref_check *c, const char *fmt,
							    ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	const struct task *t = &c->dag->tasks[c->task];
	dag_errors_add(c->errs, c->dag->file, t->line, "dag '%s' task '%s': %s: %s", c->dag->dag_id,
		       t->task_id, c->key, msg);
	free(msg);
	c->ok = false;
}

/* Checks that `kind` can be read of upstream task u (named id); reports why not. */
static bool readable(struct ref_check *c, const struct task *u, const char *id,
		     enum template_ref kind)
{
	bool mapped_only = kind == TEMPLATE_REF_OUTPUTS_JSON;
	if (u->mapped && !mapped_only)
		ref_error(c,
			  "upstream '%s' is mapped: read its outputs with "
			  "{{ upstream.%s.outputs_json }}",
			  id, id);
	else if (!u->mapped && mapped_only)
		ref_error(c,
			  "upstream '%s' is not mapped: read its output with "
			  "{{ upstream.%s.output }}",
			  id, id);
	else if (kind != TEMPLATE_REF_EXIT_CODE && u->output == OUTPUT_NONE)
		ref_error(c,
			  "upstream '%s' has no output (set output = \"last_line\" or "
			  "\"marked\" in task '%s')",
			  id, id);
	else
		return true;
	return false;
}

static void on_ref(void *ctx, enum template_ref kind, const char *name, size_t len)
{
	struct ref_check *c = ctx;
	struct task *t = &c->dag->tasks[c->task];
	if (!name) {
		const char *var = kind == TEMPLATE_REF_ITEM ? "item" : "map_index";
		if (strcmp(c->key, "expand") == 0)
			ref_error(c, "{{ %s }} is not known before the task is expanded", var);
		else if (!t->mapped)
			ref_error(c, "{{ %s }} is only for a mapped task (one with expand)", var);
		return;
	}
	char *id = xstrndup(name, len);
	long j = dag_task_index(c->dag, id);
	if (j < 0)
		ref_error(c, "{{ upstream.%s }}: '%s' is not a task of this DAG", id, id);
	else if (!dag_task_is_ancestor(c->dag, (size_t)j, c->task))
		ref_error(c, "{{ upstream.%s }}: '%s' is not an upstream of '%s'", id, id,
			  t->task_id);
	else if (readable(c, &c->dag->tasks[j], id, kind))
		push_unique(&t->ref_idx, &t->n_ref, (size_t)j);
	free(id);
}

static void check_templates(struct ref_check *c, const char *key, const char *const *v, size_t n)
{
	c->key = key;
	for (size_t i = 0; i < n; i++)
		template_refs(v[i], on_ref, c, NULL);
}

/* The task's own settings: branch, short_circuit and expand, each alone. */
static bool check_kind(const struct dag *dag, const struct task *t, struct dag_errors *errs)
{
	const char *why = NULL;
	if (t->branch && t->short_circuit)
		why = "branch and short_circuit cannot both be set";
	else if (t->mapped && (t->branch || t->short_circuit))
		why = "a mapped task (expand) cannot be a branch or a short_circuit";
	else if ((t->branch || t->short_circuit) && t->output == OUTPUT_NONE)
		why = "branch and short_circuit read the task's output: output cannot be \"none\"";
	else if (t->mapped && t->expand.len == 0)
		why = "expand: the list is empty";
	if (why)
		dag_errors_add(errs, dag->file, t->line, "dag '%s' task '%s': %s", dag->dag_id,
			       t->task_id, why);
	return why == NULL;
}

/* Every task's short_circuit ancestors, in dependency order (upstreams are done first). */
static void fill_short_circuits(struct dag *dag)
{
	for (size_t k = 0; k < dag->n_tasks; k++) {
		struct task *t = &dag->tasks[dag->topo[k]];
		for (size_t i = 0; i < t->n_up; i++) {
			const struct task *u = &dag->tasks[t->up_idx[i]];
			if (u->short_circuit)
				push_unique(&t->sc_idx, &t->n_sc, t->up_idx[i]);
			for (size_t j = 0; j < u->n_sc; j++)
				push_unique(&t->sc_idx, &t->n_sc, u->sc_idx[j]);
		}
	}
}

bool dag_data_validate(struct dag *dag, struct dag_errors *errs)
{
	bool ok = true;
	for (size_t i = 0; i < dag->n_tasks; i++) {
		struct task *t = &dag->tasks[i];
		free(t->ref_idx);
		free(t->sc_idx);
		t->ref_idx = t->sc_idx = NULL;
		t->n_ref = t->n_sc = 0;
	}
	for (size_t i = 0; i < dag->n_tasks; i++) {
		struct task *t = &dag->tasks[i];
		struct ref_check c = {.dag = dag, .task = i, .errs = errs, .ok = true};
		const char *shell[] = {t->shell};
		ok = check_kind(dag, t, errs) && ok;
		check_templates(&c, "command", (const char *const *)t->command.v, t->command.len);
		check_templates(&c, "shell", shell, t->shell ? 1 : 0);
		check_templates(&c, "entrypoint", (const char *const *)t->entrypoint.v,
				t->entrypoint.len);
		check_templates(&c, "env", (const char *const *)t->env.v, t->env.len);
		check_templates(&c, "labels", (const char *const *)t->labels.v, t->labels.len);
		check_templates(&c, "expand", (const char *const *)t->expand.v, t->expand.len);
		ok = c.ok && ok;
	}
	fill_short_circuits(dag);
	return ok;
}
