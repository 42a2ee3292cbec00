/* dispatch.c - turns a scheduled task instance into a Swarm service for its next try.
 * dispatch_ti records the try as queued with its service name and keeps its spec; at the end of
 * the tick dispatch_flush creates all the services kept at once (concurrent requests), so that
 * 32 ready tasks do not wait on each other's create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/spec.h"

/* Looks up the IDs of the task's secrets and configs by name (ids: one array of secrets then
 * configs, NULL-filled). On failure *eerr says why and *what which name. */
static bool lookup_ids(struct scheduler *s, const struct task *task, char **ids,
		       struct engine_err *eerr, char **what)
{
	for (size_t i = 0; i < task->secrets.len + task->configs.len; i++) {
		bool secret = i < task->secrets.len;
		const char *item =
		    secret ? task->secrets.v[i] : task->configs.v[i - task->secrets.len];
		char *name = xstrndup(item, strcspn(item, ":"));
		bool ok = secret ? engine_secret_id(s->engine, name, &ids[i], eerr)
				 : engine_config_id(s->engine, name, &ids[i], eerr);
		if (!ok) {
			metrics_engine_error(s->metrics, eerr);
			*what = xasprintf("%s '%s'", secret ? "secret" : "config", name);
			free(name);
			return false;
		}
		free(name);
	}
	return true;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Builds the ServiceSpec of this try with the looked-up ids; NULL with *error set when it cannot
 * be built (a template that fails to render). */
static json_t *build_spec(struct scheduler *s, const struct run *run, const struct dag *dag,
			  const struct task *task, const struct ti *ti, const json_t *upstream,
			  char **ids, char **error)
{
	struct template_ctx tctx;
	json_t *conf = data_template_ctx(run, dag, task, &tctx);
	json_error_t jerr;
	json_t *item = ti->map_index >= 0 && ti->map_item
			   ? json_loads(ti->map_item, JSON_DECODE_ANY, &jerr)
			   : NULL;
	tctx.try_number = ti->try_number;
	tctx.upstream = upstream;
	tctx.item = item;
	tctx.map_index = ti->map_index;
	struct spec_input in = {
	    .dag = dag,
	    .task = task,
	    .tctx = &tctx,
	    .instance = s->cfg->instance,
	    .service_prefix = s->cfg->service_prefix,
	    .job_mode =
		engine_api_at_least(s->engine, SPEC_JOB_MODE_API_MAJOR, SPEC_JOB_MODE_API_MINOR),
	    .secret_ids = (const char *const *)ids,
	    .config_ids = (const char *const *)ids + task->secrets.len,
	};
	json_t *spec = spec_build(&in, error);
	json_decref(item);
	json_decref(conf);
	return spec;
}

/* After a 409 name conflict: the service of this very try may exist already (created before a
 * crash). Returns its ID when the labels prove it is ours, else NULL. */
static char *find_existing(struct scheduler *s, const struct ti *ti)
{
	char *labels[6];
	size_t n = 0;
	labels[n++] = xasprintf("swarmflow.instance=%s", s->cfg->instance);
	labels[n++] = xasprintf("swarmflow.dag_id=%s", ti->dag_id);
	labels[n++] = xasprintf("swarmflow.run_id=%s", ti->run_id);
	labels[n++] = xasprintf("swarmflow.task_id=%s", ti->task_id);
	labels[n++] = xasprintf("swarmflow.try_number=%d", ti->try_number);
	if (ti->map_index >= 0)
		labels[n++] = xasprintf("swarmflow.map_index=%d", ti->map_index);
	json_t *list = NULL;
	struct engine_err eerr = {0};
	char *id = NULL;
	if (!engine_services_list(s->engine, (const char *const *)labels, n, &list, &eerr))
		metrics_engine_error(s->metrics, &eerr);
	else if (json_array_size(list) == 1)
		id = xstrdup(json_string_value(json_object_get(json_array_get(list, 0), "ID")));
	json_decref(list);
	for (size_t i = 0; i < n; i++)
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

/* A failure the engine may get over (it is down, slow, or answered 5xx): the try goes back to
 * scheduled, untouched, and is dispatched again next tick, until pending_timeout has passed
 * since its first attempt; then it fails with the engine's message. */
static bool retry_later(struct scheduler *s, struct ti *ti, const struct task *task,
			const char *what, const struct engine_err *eerr, int64_t now_ms)
{
	if (now_ms - ti->queued_ms > task->pending_timeout_s * 1000) {
		char *error =
		    xasprintf("%s failed for longer than pending_timeout: %s", what, eerr->message);
		bool ok = finish_without_service(s, ti, task, error, now_ms);
		free(error);
		return ok;
	}
	log_warnx("engine: %s failed, will retry dag=%s run=%s task=%s: %s", what, ti->dag_id,
		  ti->run_id, ti->task_id, eerr->message);
	snprintf(s->engine_error, sizeof(s->engine_error), "%s", eerr->message);
	ti->state = TI_SCHEDULED;
	ti->try_number--;
	return store_ti(s, ti);
}

/* True when an engine error says the request itself is wrong (4xx): trying again won't help. */
static bool permanent(const struct engine_err *eerr)
{
	return eerr->kind == ENGINE_ERR_HTTP && eerr->status >= 400 && eerr->status < 500;
}

/* Records the try as queued with its name before the service exists: a scheduler that dies in
 * between finds the name and adopts the service instead of creating a second one. */
static bool record_queued(struct scheduler *s, struct ti *ti, const char *name, int64_t now_ms)
{
	ti->state = TI_QUEUED;
	free(ti->service_name);
	ti->service_name = xstrdup(name);
	free(ti->service_id);
	ti->service_id = NULL;
	ti->has_exit_code = false;
	free(ti->error);
	ti->error = NULL;
	if (!ti->queued_ms)
		ti->queued_ms = now_ms; /* the first attempt of this try */
	ti->start_ms = ti->end_ms = 0;
	return store_ti(s, ti);
}

/* What the create of the service of ti gave (c): on success (or a 409 for this very try's
 * service) tracks the try; else fails it or puts it back to scheduled. */
static bool created(struct scheduler *s, const struct task *task, struct ti *ti,
		    struct engine_create *c, int64_t now_ms)
{
	char *id = c->ok ? c->id : NULL;
	c->id = NULL;
	if (!c->ok)
		metrics_engine_error(s->metrics, &c->err);
	if (!id && c->err.kind == ENGINE_ERR_HTTP && c->err.status == 409)
		id = find_existing(s, ti);
	if (!id) {
		s->runs_stale = true; /* the try is retried or failed: the next tick passes */
		if (permanent(&c->err))
			return finish_without_service(s, ti, task, c->err.message, now_ms);
		return retry_later(s, ti, task, "create service", &c->err, now_ms);
	}
	free(ti->service_id);
	ti->service_id = id;
	if (!store_ti(s, ti))
		return false;
	inflight_track(s, ti, task, ti->queued_ms, 0);
	metrics_try_started(s->metrics, ti->dag_id);
	metrics_dispatch_latency(s->metrics, (double)(now_ms - ti->queued_ms) / 1000.0);
	s->dispatched_or_finished = true;
	char tag[24];
	log_info("task queued dag=%s run=%s task=%s%s try=%d service=%s", ti->dag_id, ti->run_id,
		 ti->task_id, map_tag(tag, ti->map_index), ti->try_number, ti->service_name);
	return true;
}

/* Keeps the spec of a try recorded as queued for dispatch_flush (spec consumed). Counts it
 * against the limits now, so that the rest of the tick sees it. */
static void keep_create(struct scheduler *s, const struct dag *dag, const struct task *task,
			const struct ti *ti, json_t *spec)
{
	if (s->n_creates == s->cap_creates) {
		s->cap_creates = s->cap_creates ? 2 * s->cap_creates : 16;
		s->creates = xrealloc(s->creates, s->cap_creates * sizeof(*s->creates));
	}
	s->creates[s->n_creates++] = (struct pending_create){ti->id, task, spec};
	limits_take(s, dag, task);
}

bool dispatch_flush(struct scheduler *s, int64_t now_ms)
{
	size_t n = s->n_creates;
	if (n == 0)
		return true;
	if (!sched_may_change_engine(s)) {
		/* Recorded as queued: the holder of the lease dispatches them by their names. */
		dispatch_discard(s);
		return false;
	}
	struct engine_create *c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i].spec = s->creates[i].spec;
	engine_services_create_many(s->engine, c, n);
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		struct ti ti = {0};
		char *err = NULL;
		if (ok && !store_ti_get(s->store, s->creates[i].ti_pk, &ti, &err)) {
			log_error("store: %s", err);
			free(err);
			ok = false;
		}
		/* A try whose create succeeded but cannot be recorded is adopted at the next
		 * start through its name (409), like after a crash. */
		if (ok)
			ok = created(s, s->creates[i].task, &ti, &c[i], now_ms);
		ti_finish(&ti);
		free(c[i].id);
		json_decref(s->creates[i].spec);
	}
	free(c);
	s->n_creates = 0;
	return ok;
}

void dispatch_discard(struct scheduler *s)
{
	for (size_t i = 0; i < s->n_creates; i++)
		json_decref(s->creates[i].spec);
	free(s->creates);
	s->creates = NULL;
	s->n_creates = s->cap_creates = 0;
}

bool dispatch_ti(struct scheduler *s, const struct run *run, const struct dag *dag,
		 const struct task *task, struct ti *ti, const json_t *upstream, int64_t now_ms)
{
	ti->try_number++;
	if (!ti->queued_ms)
		ti->queued_ms = now_ms;
	size_t n_ids = task->secrets.len + task->configs.len;
	char **ids = xcalloc(n_ids + 1, sizeof(*ids));
	struct engine_err eerr = {0};
	char *what = NULL, *error = NULL;
	json_t *spec = NULL;
	bool ok;
	if (!lookup_ids(s, task, ids, &eerr, &what)) {
		/* A missing secret or config is the DAG's fault; anything else may pass. */
		error = xasprintf("%s: %s", what, eerr.message);
		ok = permanent(&eerr) ? finish_without_service(s, ti, task, error, now_ms)
				      : retry_later(s, ti, task, what, &eerr, now_ms);
	} else if (!(spec = build_spec(s, run, dag, task, ti, upstream, ids, &error))) {
		ok = finish_without_service(s, ti, task, error, now_ms);
	} else {
		const char *name = json_string_value(json_object_get(spec, "Name"));
		ok = record_queued(s, ti, name, now_ms);
		if (ok)
			keep_create(s, dag, task, ti, spec);
		else
			json_decref(spec);
		spec = NULL;
	}
	json_decref(spec);
	free_ids(ids, n_ids);
	free(what);
	free(error);
	return ok;
}
