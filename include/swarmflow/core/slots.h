/* slots.h - counting tries in flight against parallelism, each DAG's max_active_tasks and the
 * configured pools (pure: the scheduler fills it from the store and asks it before dispatching). */
#ifndef SWARMFLOW_CORE_SLOTS_H
#define SWARMFLOW_CORE_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

#include "swarmflow/core/config.h"

/* Tries in flight of one DAG. */
struct slots_dag {
	char *dag_id;
	size_t used;
};

/* One configured pool and the tries in flight that run in it. */
struct slots_pool {
	char *name;
	size_t slots;
	size_t used;
};

struct slots {
	size_t parallelism;     /* most tries in flight at once, all DAGs together */
	size_t used;            /* tries in flight, all DAGs together */
	struct slots_dag *dags; /* only DAGs with a try in flight */
	size_t n_dags, cap_dags;
	struct slots_pool *pools; /* as configured, in config order */
	size_t n_pools;
};

/* Why a try may not be dispatched now (SLOTS_OK: it may). */
enum slots_verdict {
	SLOTS_OK,
	SLOTS_PARALLELISM, /* parallelism tries are in flight */
	SLOTS_DAG,         /* max_active_tasks tries of the DAG are in flight */
	SLOTS_POOL,        /* every slot of the task's pool is taken */
	SLOTS_NO_POOL,     /* the task names a pool the configuration does not define */
};

/* Sets up sl with nothing in flight: parallelism (at least 1) and the pools (copied; names are
 * unique, as config_parse_buf() guarantees). Free with slots_finish(). */
void slots_init(struct slots *sl, int parallelism, const struct pool *pools, size_t n_pools);
/* Frees what sl owns and zeroes it; harmless on a zeroed sl. */
void slots_finish(struct slots *sl);
/* Forgets every try counted (the limits stay). */
void slots_clear(struct slots *sl);

/* Counts one try in flight of DAG dag_id whose task runs in pool (NULL: the default pool, which
 * is unlimited and not counted). A pool that is not configured counts toward parallelism and the
 * DAG only, as does a try whose task is unknown (pass NULL). */
void slots_take(struct slots *sl, const char *dag_id, const char *pool);

/* Whether one more try of DAG dag_id (whose max_active_tasks is max_active_tasks) in pool
 * (NULL: the default pool) may be dispatched now, and if not, the first reason why: an undefined
 * pool first, then parallelism, the DAG's limit, the pool's slots. */
enum slots_verdict slots_check(const struct slots *sl, const char *dag_id, int max_active_tasks,
			       const char *pool);

/* Tries in flight of DAG dag_id, and in pool (0 for the default pool and undefined pools). */
size_t slots_used_dag(const struct slots *sl, const char *dag_id);
size_t slots_used_pool(const struct slots *sl, const char *pool);

/* NULL when pool is NULL (the default pool) or one of the n_pools pools; else the error of a
 * task in that pool: "pool 'x' is not defined in the configuration" (caller frees). */
char *slots_pool_error(const struct pool *pools, size_t n_pools, const char *pool);

/* A short text for a verdict, e.g. "max_active_tasks reached" (static). */
const char *slots_verdict_name(enum slots_verdict v);

#endif
