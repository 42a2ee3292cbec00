/* slots.c - counting tries in flight against parallelism, max_active_tasks and pools. */
#include "swarmflow/core/slots.h"

#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"

void slots_init(struct slots *sl, int parallelism, const struct pool *pools, size_t n_pools)
{
	*sl = (struct slots){.parallelism = parallelism > 0 ? (size_t)parallelism : 1};
	sl->pools = xcalloc(n_pools + 1, sizeof(*sl->pools));
	for (size_t i = 0; i < n_pools; i++) {
		sl->pools[i].name = xstrdup(pools[i].name);
		sl->pools[i].slots = pools[i].slots > 0 ? (size_t)pools[i].slots : 0;
	}
	sl->n_pools = n_pools;
}

void slots_clear(struct slots *sl)
{
	for (size_t i = 0; i < sl->n_dags; i++)
		free(sl->dags[i].dag_id);
	sl->n_dags = 0;
	for (size_t i = 0; i < sl->n_pools; i++)
		sl->pools[i].used = 0;
	sl->used = 0;
}

void slots_finish(struct slots *sl)
{
	slots_clear(sl);
	free(sl->dags);
	for (size_t i = 0; i < sl->n_pools; i++)
		free(sl->pools[i].name);
	free(sl->pools);
	*sl = (struct slots){0};
}

static struct slots_dag *find_dag(const struct slots *sl, const char *dag_id)
{
	for (size_t i = 0; i < sl->n_dags; i++)
		if (strcmp(sl->dags[i].dag_id, dag_id) == 0)
			return &sl->dags[i];
	return NULL;
}

static struct slots_pool *find_pool(const struct slots *sl, const char *pool)
{
	for (size_t i = 0; pool && i < sl->n_pools; i++)
		if (strcmp(sl->pools[i].name, pool) == 0)
			return &sl->pools[i];
	return NULL;
}

void slots_take(struct slots *sl, const char *dag_id, const char *pool)
{
	sl->used++;
	struct slots_dag *d = find_dag(sl, dag_id);
	if (!d) {
		if (sl->n_dags == sl->cap_dags) {
			sl->cap_dags = sl->cap_dags ? sl->cap_dags * 2 : 8;
			sl->dags = xrealloc(sl->dags, sl->cap_dags * sizeof(*sl->dags));
		}
		d = &sl->dags[sl->n_dags++];
		*d = (struct slots_dag){.dag_id = xstrdup(dag_id)};
	}
	d->used++;
	struct slots_pool *p = find_pool(sl, pool);
	if (p)
		p->used++;
}

enum slots_verdict slots_check(const struct slots *sl, const char *dag_id, int max_active_tasks,
			       const char *pool)
{
	const struct slots_pool *p = find_pool(sl, pool);
	if (pool && !p)
		return SLOTS_NO_POOL;
	if (sl->used >= sl->parallelism)
		return SLOTS_PARALLELISM;
	if (slots_used_dag(sl, dag_id) >= (size_t)(max_active_tasks > 0 ? max_active_tasks : 0))
		return SLOTS_DAG;
	if (p && p->used >= p->slots)
		return SLOTS_POOL;
	return SLOTS_OK;
}

size_t slots_used_dag(const struct slots *sl, const char *dag_id)
{
	const struct slots_dag *d = find_dag(sl, dag_id);
	return d ? d->used : 0;
}

size_t slots_used_pool(const struct slots *sl, const char *pool)
{
	const struct slots_pool *p = find_pool(sl, pool);
	return p ? p->used : 0;
}

char *slots_pool_error(const struct pool *pools, size_t n_pools, const char *pool)
{
	if (!pool)
		return NULL;
	for (size_t i = 0; i < n_pools; i++)
		if (strcmp(pools[i].name, pool) == 0)
			return NULL;
	return xasprintf("pool '%s' is not defined in the configuration", pool);
}

const char *slots_verdict_name(enum slots_verdict v)
{
	switch (v) {
	case SLOTS_OK:
		return "ok";
	case SLOTS_PARALLELISM:
		return "parallelism reached";
	case SLOTS_DAG:
		return "max_active_tasks reached";
	case SLOTS_POOL:
		return "pool full";
	case SLOTS_NO_POOL:
		return "pool not defined";
	}
	return "?";
}
