/* runmake.c - creating a run of a DAG: one task instance per task, max tries from retries. */
#include <stdlib.h>

#include "swarmflow/sched/sched.h"

bool sched_run_create(struct store *st, const struct dag *dag, const struct run *r, struct run *out,
		      char **err)
{
	const char **ids = xcalloc(dag->n_tasks + 1, sizeof(*ids));
	int *tries = xcalloc(dag->n_tasks + 1, sizeof(*tries));
	for (size_t i = 0; i < dag->n_tasks; i++) {
		ids[i] = dag->tasks[i].task_id;
		tries[i] = dag->tasks[i].retries + 1;
	}
	struct run copy = *r;
	copy.dag_id = dag->dag_id;
	bool ok = store_run_create(st, &copy, ids, tries, dag->n_tasks, out, err);
	free(ids);
	free(tries);
	return ok;
}
