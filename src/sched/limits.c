/* limits.c - parallelism, max_active_tasks and pools: what may be dispatched now. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Placeholder until the scheduling issue's version: counts this process's in-flight tries. */
struct limits {
	int unused;
};

struct limits *limits_create(void)
{
	return xcalloc(1, sizeof(struct limits));
}

void limits_destroy(struct limits *l)
{
	free(l);
}

bool limits_refresh(struct scheduler *s)
{
	return true;
}

bool limits_allow(const struct scheduler *s, const struct dag *dag, const struct task *task)
{
	if (s->n_inflight >= (size_t)s->cfg->parallelism)
		return false;
	return inflight_count_dag(s, dag->dag_id) < (size_t)dag->max_active_tasks;
}

void limits_take(struct scheduler *s, const struct dag *dag, const struct task *task)
{
}
