/* dag_validate.c - a DAG's task graph (duplicate ids, unknown upstreams, cycles, the order) and
 * its schedule's start_date. */
#include "swarmflow/core/dag.h"

#include <stdlib.h>
#include <string.h>

/* Task pointers sorted by id (then by position), for duplicate checks and lookups. */
struct id_index {
	const struct task **v;
	size_t n;
};

static int cmp_task_id(const void *a, const void *b)
{
	const struct task *x = *(const struct task *const *)a;
	const struct task *y = *(const struct task *const *)b;
	int c = strcmp(x->task_id, y->task_id);
	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static int cmp_key_task(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct task *const *)elem)->task_id);
}

/* Builds the index and reports every task id defined more than once. */
static bool index_build(struct dag *dag, struct id_index *ix, struct dag_errors *errs)
{
	bool ok = true;
	ix->n = dag->n_tasks;
	ix->v = xcalloc(ix->n, sizeof(*ix->v));
	for (size_t i = 0; i < ix->n; i++)
		ix->v[i] = &dag->tasks[i];
	qsort(ix->v, ix->n, sizeof(*ix->v), cmp_task_id);
	for (size_t i = 1; i < ix->n; i++) {
		const struct task *first = ix->v[i - 1], *t = ix->v[i];
		if (strcmp(first->task_id, t->task_id) != 0)
			continue;
		dag_errors_add(errs, dag->file, t->line,
			       "dag '%s': task '%s' defined twice (first at line %d)", dag->dag_id,
			       t->task_id, first->line);
		ok = false;
	}
	return ok;
}

/* Returns the index of the first task with that id, or -1. */
static long index_find(const struct dag *dag, const struct id_index *ix, const char *id)
{
	const struct task **hit = bsearch(id, ix->v, ix->n, sizeof(*ix->v), cmp_key_task);
	if (!hit)
		return -1;
	while (hit > ix->v && strcmp(hit[-1]->task_id, id) == 0)
		hit--;
	return (long)(*hit - dag->tasks);
}

static bool has_index(const size_t *v, size_t n, size_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void links_reset(struct dag *dag)
{
	for (size_t i = 0; i < dag->n_tasks; i++) {
		struct task *t = &dag->tasks[i];
		free(t->up_idx);
		free(t->down_idx);
		t->up_idx = t->down_idx = NULL;
		t->n_up = t->n_down = 0;
	}
	free(dag->topo);
	dag->topo = NULL;
}

/* Resolves one task's upstream names into up_idx; counts downstream links in *n_down. */
static bool link_upstreams(struct dag *dag, const struct id_index *ix, size_t i,
			   struct dag_errors *errs)
{
	struct task *t = &dag->tasks[i];
	bool ok = true;
	t->up_idx = xcalloc(t->upstream.len, sizeof(*t->up_idx));
	for (size_t k = 0; k < t->upstream.len; k++) {
		const char *name = t->upstream.v[k];
		long j = index_find(dag, ix, name);
		if (j < 0) {
			dag_errors_add(errs, dag->file, t->line,
				       "dag '%s' task '%s': unknown upstream '%s'", dag->dag_id,
				       t->task_id, name);
			ok = false;
		} else if ((size_t)j == i) {
			dag_errors_add(errs, dag->file, t->line,
				       "dag '%s' task '%s': depends on itself (dependency cycle: "
				       "%s -> %s)",
				       dag->dag_id, t->task_id, t->task_id, t->task_id);
			ok = false;
		} else if (!has_index(t->up_idx, t->n_up, (size_t)j)) {
			t->up_idx[t->n_up++] = (size_t)j;
			dag->tasks[j].n_down++;
		}
	}
	return ok;
}

/* Fills down_idx from the up_idx lists, in file order. */
static void link_downstreams(struct dag *dag)
{
	size_t *fill = xcalloc(dag->n_tasks, sizeof(*fill));
	for (size_t i = 0; i < dag->n_tasks; i++)
		dag->tasks[i].down_idx = xcalloc(dag->tasks[i].n_down, sizeof(size_t));
	for (size_t i = 0; i < dag->n_tasks; i++) {
		const struct task *t = &dag->tasks[i];
		for (size_t k = 0; k < t->n_up; k++) {
			size_t j = t->up_idx[k];
			dag->tasks[j].down_idx[fill[j]++] = i;
		}
	}
	free(fill);
}

/* Reports the cycle path[from..len-1] -> path[from], starting at its first task in file order. */
static void report_cycle(const struct dag *dag, const size_t *path, size_t from, size_t len,
			 struct dag_errors *errs)
{
	size_t n = len - from, start = 0;
	for (size_t k = 1; k < n; k++)
		if (path[from + k] < path[from + start])
			start = k;
	struct buf b;
	buf_init(&b, 0);
	for (size_t k = 0; k <= n; k++) {
		size_t idx = path[from + (start + k) % n];
		buf_printf(&b, "%s%s", k ? " -> " : "", dag->tasks[idx].task_id);
	}
	const struct task *first = &dag->tasks[path[from + start]];
	dag_errors_add(errs, dag->file, first->line, "dag '%s': dependency cycle: %s", dag->dag_id,
		       b.data);
	buf_finish(&b);
}

enum { WHITE, GREY, BLACK };

/* Iterative depth-first search along downstream links from root; reports every back edge. */
static bool dfs(const struct dag *dag, size_t root, unsigned char *color, size_t *path,
		size_t *next, struct dag_errors *errs)
{
	bool ok = true;
	size_t len = 0;
	path[len] = root;
	next[len++] = 0;
	color[root] = GREY;
	while (len) {
		size_t u = path[len - 1];
		const struct task *t = &dag->tasks[u];
		if (next[len - 1] == t->n_down) {
			color[u] = BLACK;
			len--;
			continue;
		}
		size_t v = t->down_idx[next[len - 1]++];
		if (color[v] == GREY) {
			size_t from = len - 1;
			while (path[from] != v)
				from--;
			report_cycle(dag, path, from, len, errs);
			ok = false;
		} else if (color[v] == WHITE) {
			color[v] = GREY;
			path[len] = v;
			next[len++] = 0;
		}
	}
	return ok;
}

static bool check_cycles(const struct dag *dag, struct dag_errors *errs)
{
	size_t n = dag->n_tasks;
	unsigned char *color = xcalloc(n, 1);
	size_t *path = xcalloc(n, sizeof(*path));
	size_t *next = xcalloc(n, sizeof(*next));
	bool ok = true;
	for (size_t i = 0; i < n; i++)
		if (color[i] == WHITE && !dfs(dag, i, color, path, next, errs))
			ok = false;
	free(color);
	free(path);
	free(next);
	return ok;
}

/* Kahn's algorithm, first-in first-out from the roots in file order. */
static void topo_sort(struct dag *dag)
{
	size_t n = dag->n_tasks, head = 0, tail = 0;
	size_t *indeg = xcalloc(n, sizeof(*indeg));
	size_t *order = xcalloc(n, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		indeg[i] = dag->tasks[i].n_up;
		if (indeg[i] == 0)
			order[tail++] = i;
	}
	while (head < tail) {
		const struct task *t = &dag->tasks[order[head++]];
		for (size_t k = 0; k < t->n_down; k++)
			if (--indeg[t->down_idx[k]] == 0)
				order[tail++] = t->down_idx[k];
	}
	free(indeg);
	if (tail == n)
		dag->topo = order;
	else
		free(order);
}

/* A schedule other than none needs a start_date: its intervals are aligned from it (Airflow
 * refuses such a DAG too). */
static bool check_start_date(const struct dag *dag, struct dag_errors *errs)
{
	if (dag->schedule.kind == SCHEDULE_NONE || dag->start_date != 0)
		return true;
	dag_errors_add(errs, dag->file, dag->line, "dag '%s': schedule '%s' needs a start_date",
		       dag->dag_id, dag->schedule_str ? dag->schedule_str : "");
	return false;
}

bool dag_graph_validate(struct dag *dag, struct dag_errors *errs)
{
	struct id_index ix;
	links_reset(dag);
	bool ok = check_start_date(dag, errs);
	if (!index_build(dag, &ix, errs))
		ok = false;
	for (size_t i = 0; i < dag->n_tasks; i++)
		if (!link_upstreams(dag, &ix, i, errs))
			ok = false;
	free(ix.v);
	link_downstreams(dag);
	if (!check_cycles(dag, errs))
		ok = false;
	topo_sort(dag);
	return ok;
}
