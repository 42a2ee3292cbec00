/* sweep.c - removes services of this instance whose try the store says is over: a removal that
 * failed, or a service left by a process that died. A service the store does not know at all
 * (state_dir replaced or restored from an old backup, or another deployment sharing the
 * instance name) is reported at once and removed after a grace period (stranger_grace_ms), so
 * that nothing of ours runs or lies around for ever, yet an operator has time to notice a
 * misconfiguration before anything is touched. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"

static const char *label_of(const json_t *svc, const char *key)
{
	const json_t *labels = json_object_get(json_object_get(svc, "Spec"), "Labels");
	return json_string_value(json_object_get(labels, key));
}

static const char *label_or_dash(const json_t *svc, const char *key)
{
	const char *v = label_of(svc, key);
	return v ? v : "-";
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
	const char *dag = label_or_dash(svc, "swarmflow.dag_id"),
		   *run_id = label_of(svc, "swarmflow.run_id");
	const char *task = label_of(svc, "swarmflow.task_id");
	int64_t try_no = 0, map_index = -1;
	*known = false;
	if (!dag || !run_id || !task ||
	    !parse_int64(label_of(svc, "swarmflow.try_number"), 1, INT32_MAX, &try_no))
		return false;
	const char *index = label_of(svc, "swarmflow.map_index");
	if (index && !parse_int64(index, 0, INT32_MAX, &map_index))
		return false;
	struct run run = {0};
	struct ti_list tis = {0};
	char *err = NULL;
	bool over = false;
	if (store_run_get(s->store, dag, run_id, &run, &err) &&
	    store_tis_for_run(s->store, run.id, &tis, &err)) {
		for (size_t i = 0; i < tis.len; i++) {
			const struct ti *ti = &tis.v[i];
			if (strcmp(ti->task_id, task) != 0 || ti->map_index != map_index)
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

static struct stranger *stranger_find(struct scheduler *s, const char *id)
{
	for (size_t i = 0; i < s->n_strangers; i++)
		if (strcmp(s->strangers[i].service_id, id) == 0)
			return &s->strangers[i];
	return NULL;
}

/* A service the store does not know: remembered when first seen (and logged), true once it has
 * stayed for the grace period. */
static bool stranger_due(struct scheduler *s, const json_t *svc, const char *id, const char *name)
{
	struct stranger *st = stranger_find(s, id);
	if (!st) {
		s->strangers = xrealloc(s->strangers, (s->n_strangers + 1) * sizeof(*s->strangers));
		st = &s->strangers[s->n_strangers++];
		*st = (struct stranger){xstrdup(id), s->mono_ms, true};
		log_warnx(
		    "service %s has this instance's labels (dag=%s run=%s task=%s try=%s) but "
		    "the store does not know its try; removing it in %lld s unless the store "
		    "learns of it",
		    name, label_of(svc, "swarmflow.dag_id"), label_or_dash(svc, "swarmflow.run_id"),
		    label_of(svc, "swarmflow.task_id"), label_or_dash(svc, "swarmflow.try_number"),
		    (long long)(s->stranger_grace_ms / 1000));
	}
	st->seen = true;
	return s->mono_ms - st->since_ms >= s->stranger_grace_ms;
}

/* Forgets the strangers the last full sweep did not see (removed, by us or by someone). */
static void strangers_prune(struct scheduler *s)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->n_strangers; i++) {
		if (s->strangers[i].seen) {
			s->strangers[i].seen = false;
			s->strangers[kept++] = s->strangers[i];
		} else {
			free(s->strangers[i].service_id);
		}
	}
	s->n_strangers = kept;
}

void strangers_free(struct scheduler *s)
{
	for (size_t i = 0; i < s->n_strangers; i++)
		free(s->strangers[i].service_id);
	free(s->strangers);
	s->strangers = NULL;
	s->n_strangers = 0;
}

/* full: the sweep lists every service of the instance, so strangers are tracked. */
static void sweep_one(struct scheduler *s, const json_t *svc, bool full)
{
	const char *id = json_string_value(json_object_get(svc, "ID"));
	const char *name = json_string_value(json_object_get(json_object_get(svc, "Spec"), "Name"));
	if (!id || in_flight(s, id))
		return;
	name = name ? name : id;
	bool known = false;
	bool over = try_over(s, svc, &known);
	if (!over && (known || !full || !stranger_due(s, svc, id, name)))
		return;
	if (!sched_may_change_engine(s))
		return;
	struct engine_err eerr = {0};
	if (!engine_service_remove(s->engine, id, &eerr))
		log_warnx("engine: remove leftover service %s: %s", name, eerr.message);
	else if (over)
		log_info("removed leftover service %s of a finished try", name);
	else
		log_warnx("removed service %s: the store of this instance has not known its try "
			  "for %lld s",
			  name, (long long)(s->stranger_grace_ms / 1000));
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
		bool full = n == 1;
		json_array_foreach(services, i, svc) sweep_one(s, svc, full);
		if (full)
			strangers_prune(s);
	} else {
		metrics_engine_error(s->metrics, &eerr);
		log_warnx("engine: list services for the sweep: %s", eerr.message);
	}
	json_decref(services);
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
}
