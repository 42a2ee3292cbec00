/* limits.c - parallelism, max_active_tasks and pools: what may be dispatched now, counted from
 * the store at the start of every tick, so that the limits hold across scheduler restarts and
 * include the tries of `dags test` processes sharing the store. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/slots.h"

struct limits {
	struct slots slots;
	bool ready; /* slots set up from the config (at the first refresh) */
};

struct limits *limits_create(void)
{
	return xcalloc(1, sizeof(struct limits));
}

void limits_destroy(struct limits *l)
{
	if (!l)
		return;
	slots_finish(&l->slots);
	free(l);
}

/* The pool of the task of ti, or NULL when it has none or its DAG or task is no longer loaded
 * (such a try counts toward parallelism and its DAG only). */
static const char *pool_of(const struct scheduler *s, const struct ti *ti)
{
	const struct dag *dag = dagbag_find(s->bag, ti->dag_id);
	const struct task *task = dag ? dag_task_find(dag, ti->task_id) : NULL;
	return task ? task->pool : NULL;
}

void limits_reconfigure(struct limits *l)
{
	if (l->ready)
		slots_finish(&l->slots);
	l->ready = false;
}

bool limits_refresh(struct scheduler *s)
{
	struct limits *l = s->limits;
	if (!l->ready) {
		slots_init(&l->slots, s->cfg->parallelism, s->cfg->pools, s->cfg->n_pools);
		l->ready = true;
	}
	slots_clear(&l->slots);
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_tis_in_flight(s->store, &tis, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	for (size_t i = 0; i < tis.len; i++)
		slots_take(&l->slots, tis.v[i].dag_id, pool_of(s, &tis.v[i]));
	ti_list_finish(&tis);
	return true;
}

bool limits_allow(const struct scheduler *s, const struct dag *dag, const struct task *task)
{
	const struct limits *l = s->limits;
	if (!l->ready)
		return false; /* nothing is dispatched before the first count */
	enum slots_verdict v =
	    slots_check(&l->slots, dag->dag_id, dag->max_active_tasks, task->pool);
	if (v != SLOTS_OK && v != SLOTS_NO_POOL)
		log_debug("task waits dag=%s task=%s: %s", dag->dag_id, task->task_id,
			  slots_verdict_name(v));
	return v == SLOTS_OK;
}

void limits_take(struct scheduler *s, const struct dag *dag, const struct task *task)
{
	if (s->limits->ready)
		slots_take(&s->limits->slots, dag ? dag->dag_id : "", task ? task->pool : NULL);
}
