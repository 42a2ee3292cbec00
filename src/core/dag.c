/* dag.c - the DAG model: trigger rules, error lists, lookups, ids and freeing. */
#include "swarmflow/core/dag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Longest DAG or task id, in bytes. */
#define DAG_ID_MAX 200

static const char *const trigger_names[] = {
    [TRIGGER_ALL_SUCCESS] = "all_success",
    [TRIGGER_ALL_FAILED] = "all_failed",
    [TRIGGER_ALL_DONE] = "all_done",
    [TRIGGER_ONE_SUCCESS] = "one_success",
    [TRIGGER_ONE_FAILED] = "one_failed",
    [TRIGGER_NONE_FAILED] = "none_failed",
    [TRIGGER_ALWAYS] = "always",
    [TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS] = "none_failed_min_one_success",
    [TRIGGER_NONE_SKIPPED] = "none_skipped",
    [TRIGGER_ALL_SKIPPED] = "all_skipped",
    [TRIGGER_ONE_DONE] = "one_done",
};

static const char *const output_names[] = {
    [OUTPUT_NONE] = "none",
    [OUTPUT_LAST_LINE] = "last_line",
    [OUTPUT_MARKED] = "marked",
};

/* The name at index i of a table of n names, or "unknown". */
static const char *name_of(const char *const *names, size_t n, size_t i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

/* The index of s in a table of n names, or -1. */
static long index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0)
			return (long)i;
	return -1;
}

const char *trigger_rule_name(enum trigger_rule rule)
{
	return name_of(trigger_names, ARRAY_LEN(trigger_names), (size_t)rule);
}

bool trigger_rule_parse(const char *s, enum trigger_rule *out)
{
	long i = index_of(trigger_names, ARRAY_LEN(trigger_names), s);
	if (i >= 0)
		*out = (enum trigger_rule)i;
	return i >= 0;
}

const char *output_mode_name(enum output_mode mode)
{
	return name_of(output_names, ARRAY_LEN(output_names), (size_t)mode);
}

bool output_mode_parse(const char *s, enum output_mode *out)
{
	long i = index_of(output_names, ARRAY_LEN(output_names), s);
	if (i >= 0)
		*out = (enum output_mode)i;
	return i >= 0;
}

void dag_errors_add(struct dag_errors *errs, const char *file, int line, const char *fmt, ...)
{
	if (errs->len == errs->cap) {
		errs->cap = errs->cap ? errs->cap * 2 : 4;
		errs->v = xrealloc(errs->v, errs->cap * sizeof(*errs->v));
	}
	va_list ap;
	va_start(ap, fmt);
	errs->v[errs->len++] = (struct dag_error){
	    .file = xstrdup(file ? file : ""),
	    .line = line,
	    .message = xvasprintf(fmt, ap),
	};
	va_end(ap);
}

void dag_errors_finish(struct dag_errors *errs)
{
	for (size_t i = 0; i < errs->len; i++) {
		free(errs->v[i].file);
		free(errs->v[i].message);
	}
	free(errs->v);
	*errs = (struct dag_errors){0};
}

static void task_finish(struct task *t)
{
	free(t->task_id);
	free(t->image);
	strv_finish(&t->command);
	free(t->shell);
	strv_finish(&t->entrypoint);
	strv_finish(&t->env);
	free(t->workdir);
	free(t->user);
	free(t->hostname);
	strv_finish(&t->labels);
	strv_finish(&t->mounts);
	strv_finish(&t->secrets);
	strv_finish(&t->configs);
	strv_finish(&t->networks);
	strv_finish(&t->constraints);
	strv_finish(&t->preferences);
	free(t->log_driver);
	strv_finish(&t->log_opts);
	strv_finish(&t->upstream);
	free(t->pool);
	strv_finish(&t->expand);
	free(t->up_idx);
	free(t->down_idx);
	free(t->sc_idx);
	free(t->ref_idx);
}

void dag_destroy(struct dag *dag)
{
	if (!dag)
		return;
	for (size_t i = 0; i < dag->n_tasks; i++)
		task_finish(&dag->tasks[i]);
	free(dag->tasks);
	free(dag->topo);
	free(dag->dag_id);
	free(dag->file);
	free(dag->description);
	free(dag->schedule_str);
	free(dag->on_failure_webhook);
	strv_finish(&dag->tags);
	free(dag);
}

void dag_file_finish(struct dag_file *f)
{
	for (size_t i = 0; i < f->n_dags; i++)
		dag_destroy(f->dags[i]);
	free(f->dags);
	free(f->path);
	dag_errors_finish(&f->errors);
	*f = (struct dag_file){0};
}

long dag_task_index(const struct dag *dag, const char *task_id)
{
	for (size_t i = 0; task_id && i < dag->n_tasks; i++)
		if (strcmp(dag->tasks[i].task_id, task_id) == 0)
			return (long)i;
	return -1;
}

const struct task *dag_task_find(const struct dag *dag, const char *task_id)
{
	long i = dag_task_index(dag, task_id);
	return i < 0 ? NULL : &dag->tasks[i];
}

static bool id_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
		return true;
	return !first && (c == '.' || c == '-');
}

bool dag_id_valid(const char *s)
{
	if (!s || !*s)
		return false;
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= DAG_ID_MAX || !id_char(s[n], n == 0))
			return false;
	return true;
}
