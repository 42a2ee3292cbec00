/* sweep.c - removes services of this instance whose try the store says is over: a removal that
 * failed, or a service left by a process that died. Services the store does not know are left
 * alone (they may belong to another deployment sharing the instance name) and reported. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"

static const char *label_of(const json_t *svc, const char *key)
{
	const json_t *labels = json_object_get(json_object_get(svc, "Spec"), "Labels");
	return json_string_value(json_object_get(labels, key));
}

static bool in_flight(const struct scheduler *s, const char *id)
{
	for (size_t i = 0; i < s->n_inflight; i++)
		if (strcmp(s->inflight[i].service_id, id) == 0)
			return true;
	return false;
}

/* Whether the store says the try that created svc is over. *known is false when the store has no
 * such task instance. */
static bool try_over(struct scheduler *s, const json_t *svc, bool *known)
{
	const char *dag = label_of(svc, "swarmflow.dag_id"),
		   *run_id = label_of(svc, "swarmflow.run_id");
	const char *task = label_of(svc, "swarmflow.task_id");
	int64_t try_no = 0;
	*known = false;
	if (!dag || !run_id || !task ||
	    !parse_int64(label_of(svc, "swarmflow.try_number"), 1, INT32_MAX, &try_no))
		return false;
	struct run run = {0};
	struct ti_list tis = {0};
	char *err = NULL;
	bool over = false;
	if (store_run_get(s->store, dag, run_id, &run, &err) &&
	    store_tis_for_run(s->store, run.id, &tis, &err)) {
		for (size_t i = 0; i < tis.len; i++) {
			const struct ti *ti = &tis.v[i];
			if (strcmp(ti->task_id, task) != 0)
				continue;
			*known = true;
			/* Over: the task instance has finished (it owns no live service), a later
			 * try exists, or this try ended and waits for a retry. A try put back to
			 * scheduled (try_number one lower) adopts the service through a 409: not
			 * over. */
			over = ti_state_finished(ti->state) || ti->try_number > try_no ||
			       (ti->try_number == try_no && ti->state == TI_UP_FOR_RETRY);
		}
	}
	free(err);
	ti_list_finish(&tis);
	run_finish(&run);
	return over;
}

static void sweep_one(struct scheduler *s, const json_t *svc)
{
	const char *id = json_string_value(json_object_get(svc, "ID"));
	const char *name = json_string_value(json_object_get(json_object_get(svc, "Spec"), "Name"));
	if (!id || in_flight(s, id))
		return;
	bool known = false;
	if (!try_over(s, svc, &known)) {
		if (!known)
			log_warnx(
			    "service %s has this instance's labels but the store does not know "
			    "its try; left alone",
			    name ? name : id);
		return;
	}
	struct engine_err eerr = {0};
	if (engine_service_remove(s->engine, id, &eerr))
		log_info("removed leftover service %s of a finished try", name ? name : id);
	else
		log_warnx("engine: remove leftover service %s: %s", name ? name : id, eerr.message);
}

void sweep_services(struct scheduler *s, const char *dag_id, const char *run_id)
{
	char *labels[3];
	size_t n = 0;
	labels[n++] = xasprintf("swarmflow.instance=%s", s->cfg->instance);
	if (dag_id && run_id) {
		labels[n++] = xasprintf("swarmflow.dag_id=%s", dag_id);
		labels[n++] = xasprintf("swarmflow.run_id=%s", run_id);
	}
	json_t *services = NULL;
	struct engine_err eerr = {0};
	if (engine_services_list(s->engine, (const char *const *)labels, n, &services, &eerr)) {
		size_t i;
		const json_t *svc;
		json_array_foreach(services, i, svc) sweep_one(s, svc);
	} else {
		log_warnx("engine: list services for the sweep: %s", eerr.message);
	}
	json_decref(services);
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
}
