/* dispatch.c - turns a scheduled task instance into a Swarm service for its next try. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/spec.h"

/* Looks up the IDs of the task's secrets and configs by name. On failure *error says which. */
static bool lookup_ids(struct scheduler *s, const struct task *task, char ***secret_ids,
		       char ***config_ids, char **error)
{
	*secret_ids = xcalloc(task->secrets.len + 1, sizeof(char *));
	*config_ids = xcalloc(task->configs.len + 1, sizeof(char *));
	struct engine_err eerr = {0};
	for (size_t i = 0; i < task->secrets.len; i++) {
		char *name = xstrndup(task->secrets.v[i], strcspn(task->secrets.v[i], ":"));
		bool ok = engine_secret_id(s->engine, name, &(*secret_ids)[i], &eerr);
		free(name);
		if (!ok)
			return set_err(error, "secret lookup: %s", eerr.message);
	}
	for (size_t i = 0; i < task->configs.len; i++) {
		char *name = xstrndup(task->configs.v[i], strcspn(task->configs.v[i], ":"));
		bool ok = engine_config_id(s->engine, name, &(*config_ids)[i], &eerr);
		free(name);
		if (!ok)
			return set_err(error, "config lookup: %s", eerr.message);
	}
	return true;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Builds the ServiceSpec of this try; NULL with *error set when it cannot be built. */
static json_t *build_spec(struct scheduler *s, const struct run *run, const struct dag *dag,
			  const struct task *task, int try_number, char **error)
{
	json_error_t jerr;
	json_t *conf = json_loads(run->conf ? run->conf : "{}", 0, &jerr);
	struct template_ctx tctx = {
	    .logical_date = run->logical_date,
	    .data_interval_start = run->data_interval_start,
	    .data_interval_end = run->data_interval_end,
	    .run_id = run->run_id,
	    .dag_id = dag->dag_id,
	    .task_id = task->task_id,
	    .try_number = try_number,
	    .conf = conf,
	};
	char **secret_ids = NULL, **config_ids = NULL;
	json_t *spec = NULL;
	if (lookup_ids(s, task, &secret_ids, &config_ids, error)) {
		struct spec_input in = {
		    .dag = dag,
		    .task = task,
		    .tctx = &tctx,
		    .instance = s->cfg->instance,
		    .service_prefix = s->cfg->service_prefix,
		    .job_mode = engine_api_at_least(s->engine, 1, 41),
		    .secret_ids = (const char *const *)secret_ids,
		    .config_ids = (const char *const *)config_ids,
		};
		spec = spec_build(&in, error);
	}
	free_ids(secret_ids, task->secrets.len);
	free_ids(config_ids, task->configs.len);
	json_decref(conf);
	return spec;
}

/* After a 409 name conflict: the service of this very try may exist already (created before a
 * crash). Returns its ID when the labels prove it is ours, else NULL. */
static char *find_existing(struct scheduler *s, const struct run *run, const struct task *task,
			   int try_number)
{
	char *labels[5];
	labels[0] = xasprintf("swarmflow.instance=%s", s->cfg->instance);
	labels[1] = xasprintf("swarmflow.dag_id=%s", run->dag_id);
	labels[2] = xasprintf("swarmflow.run_id=%s", run->run_id);
	labels[3] = xasprintf("swarmflow.task_id=%s", task->task_id);
	labels[4] = xasprintf("swarmflow.try_number=%d", try_number);
	json_t *list = NULL;
	struct engine_err eerr = {0};
	char *id = NULL;
	if (engine_services_list(s->engine, (const char *const *)labels, 5, &list, &eerr) &&
	    json_array_size(list) == 1)
		id = xstrdup(json_string_value(json_object_get(json_array_get(list, 0), "ID")));
	json_decref(list);
	for (size_t i = 0; i < 5; i++)
		free(labels[i]);
	return id;
}

static bool store_ti(struct scheduler *s, struct ti *ti)
{
	char *err = NULL;
	if (store_ti_update(s->store, ti, &err))
		return true;
	log_error("store: %s", err);
	free(err);
	return false;
}

/* Puts a try whose create failed for a passing reason back to scheduled, untouched. */
static bool undo_dispatch(struct scheduler *s, struct ti *ti, const struct engine_err *eerr)
{
	log_warnx("engine: create service failed, will retry dag=%s run=%s task=%s: %s", ti->dag_id,
		  ti->run_id, ti->task_id, eerr->message);
	ti->state = TI_SCHEDULED;
	ti->try_number--;
	free(ti->service_name);
	ti->service_name = NULL;
	ti->queued_ms = 0;
	return store_ti(s, ti);
}

bool dispatch_ti(struct scheduler *s, const struct run *run, const struct dag *dag,
		 const struct task *task, struct ti *ti, int64_t now_ms)
{
	int try_number = ti->try_number + 1;
	char *error = NULL;
	json_t *spec = build_spec(s, run, dag, task, try_number, &error);
	ti->try_number = try_number;
	if (!spec) {
		bool ok = finish_without_service(s, ti, task, error, now_ms);
		free(error);
		return ok;
	}
	char name[SPEC_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(spec, "Name")));
	/* The try is recorded as queued, with its name, before the service exists: a scheduler
	 * that dies in between finds the name and adopts the service instead of creating it. */
	ti->state = TI_QUEUED;
	free(ti->service_name);
	ti->service_name = xstrdup(name);
	free(ti->service_id);
	ti->service_id = NULL;
	ti->has_exit_code = false;
	free(ti->error);
	ti->error = NULL;
	ti->queued_ms = now_ms;
	ti->start_ms = ti->end_ms = 0;
	if (!store_ti(s, ti)) {
		json_decref(spec);
		return false;
	}
	struct engine_err eerr = {0};
	char *id = NULL;
	bool created = engine_service_create(s->engine, spec, &id, &eerr);
	json_decref(spec);
	if (!created && eerr.kind == ENGINE_ERR_HTTP && eerr.status == 409)
		id = find_existing(s, run, task, try_number);
	if (!id) {
		if (eerr.kind == ENGINE_ERR_HTTP && eerr.status >= 400 && eerr.status < 500)
			return finish_without_service(s, ti, task, eerr.message, now_ms);
		return undo_dispatch(s, ti, &eerr);
	}
	ti->service_id = id;
	if (!store_ti(s, ti))
		return false;
	inflight_track(s, ti, task, now_ms);
	s->dispatched_or_finished = true;
	log_info("task queued dag=%s run=%s task=%s try=%d service=%s", ti->dag_id, ti->run_id,
		 ti->task_id, ti->try_number, name);
	return true;
}
