/* poll.c - asks the engine about every in-flight service in one request and acts on the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/units.h"

char *sched_failure_reason(const struct task_status *st)
{
	if (st->err[0])
		return xasprintf("%s: %s", st->state, st->err);
	if (st->message[0])
		return xasprintf("%s: %s", st->state, st->message);
	if (st->has_exit_code)
		return xasprintf("%s: exit code %d", st->state, st->exit_code);
	return xasprintf("%s", st->state);
}

static bool mark_running(struct scheduler *s, struct inflight *f, int64_t now_ms)
{
	struct ti ti = {0};
	char *err = NULL;
	f->started_mono = s->mono_ms;
	if (!store_ti_get(s->store, f->ti_pk, &ti, &err))
		goto error;
	ti.state = TI_RUNNING;
	ti.start_ms = now_ms;
	if (!store_ti_update(s->store, &ti, &err))
		goto error;
	ti_finish(&ti);
	char tag[24];
	log_info("task running dag=%s run=%s task=%s%s try=%d service=%s", f->dag_id, f->run_id,
		 f->task_id, map_tag(tag, f->map_index), f->try_number, f->service_name);
	return true;
error:
	log_error("store: %s", err);
	free(err);
	ti_finish(&ti);
	return false;
}

/* A task that has not started yet: fails once it has waited longer than pending_timeout. */
static int check_pending(struct scheduler *s, size_t idx, const struct task_status *st,
			 int64_t now_ms)
{
	struct inflight *f = &s->inflight[idx];
	if (st) {
		const char *why = st->err[0] ? st->err : st->message;
		str_copy(f->last_reason, sizeof(f->last_reason), why);
	}
	if (s->mono_ms - f->created_mono <= f->pending_timeout_s * 1000)
		return 0;
	char limit[32];
	duration_format(f->pending_timeout_s, limit);
	char *error = xasprintf("not started after %s (pending_timeout): %s", limit,
				f->last_reason[0] ? f->last_reason : "no task was created");
	bool ok = finish_try(s, idx, false, st, error, now_ms);
	free(error);
	return ok ? 1 : -1;
}

/* A running task: fails once it has run longer than its timeout. */
static int check_running(struct scheduler *s, size_t idx, const struct task_status *st,
			 int64_t now_ms)
{
	struct inflight *f = &s->inflight[idx];
	if (!f->started_mono && !mark_running(s, f, now_ms))
		return -1;
	if (!f->timeout_s || s->mono_ms - f->started_mono <= f->timeout_s * 1000)
		return 0;
	char limit[32];
	duration_format(f->timeout_s, limit);
	char *error = xasprintf("timed out after %s", limit);
	/* No exit code: the container was still running (its status says 0). */
	bool ok = finish_try(s, idx, false, NULL, error, now_ms);
	free(error);
	return ok ? 1 : -1;
}

/* Acts on what the engine says of one in-flight try. Returns 1 when it finished, 0 when it goes
 * on, -1 on a store failure. */
/* Records the node the task was placed on, once per try (for the UI, `tasks list` and the
 * try's history). False only on a store failure. */
static bool note_node(struct scheduler *s, struct inflight *f, const struct task_status *st)
{
	if (f->node_recorded || !st->node_id[0])
		return true;
	char *err = NULL;
	if (!store_ti_set_node(s->store, f->ti_pk, st->node_id, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	f->node_recorded = true;
	return true;
}

static int handle(struct scheduler *s, size_t idx, const struct task_status *st, int64_t now_ms)
{
	if (!st && s->inflight[idx].seen_task) {
		bool ok =
		    finish_try(s, idx, false, NULL,
			       "the service or its task was removed outside swarmflow", now_ms);
		return ok ? 1 : -1;
	}
	if (!st)
		return check_pending(s, idx, NULL, now_ms);
	s->inflight[idx].seen_task = true;
	if (!note_node(s, &s->inflight[idx], st))
		return -1;
	switch (st->phase) {
	case PHASE_PENDING:
		return check_pending(s, idx, st, now_ms);
	case PHASE_RUNNING: {
		int r = check_running(s, idx, st, now_ms);
		return r ? r : nodeloss_check(s, idx, st, now_ms);
	}
	case PHASE_COMPLETE:
		if (!st->has_exit_code || st->exit_code == 0)
			return finish_try(s, idx, true, st, NULL, now_ms) ? 1 : -1;
		break;
	case PHASE_FAILED:
		break;
	}
	char *error = sched_failure_reason(st);
	bool ok = finish_try(s, idx, false, st, error, now_ms);
	free(error);
	return ok ? 1 : -1;
}

long poll_inflight(struct scheduler *s, int64_t now_ms)
{
	if (s->n_inflight == 0)
		return 0;
	const char **ids = xcalloc(s->n_inflight, sizeof(*ids));
	for (size_t i = 0; i < s->n_inflight; i++)
		ids[i] = s->inflight[i].service_id;
	json_t *tasks = NULL;
	struct engine_err eerr = {0};
	/* tests/bench counts these against its GET /tasks lines: one request a poll. */
	log_debug("poll: %zu tries in flight", s->n_inflight);
	bool ok = engine_tasks_list(s->engine, ids, s->n_inflight, &tasks, &eerr);
	free(ids);
	if (!ok) {
		metrics_engine_error(s->metrics, &eerr);
		log_warnx("engine: list tasks failed (%s): %s", engine_err_kind_name(eerr.kind),
			  eerr.message);
		snprintf(s->engine_error, sizeof(s->engine_error), "%s", eerr.message);
		return 0;
	}
	long finished = 0;
	/* Backwards: finishing a try moves the last entry into its place. */
	for (size_t i = s->n_inflight; i-- > 0;) {
		struct task_status st;
		bool found = task_status_pick(tasks, s->inflight[i].service_id, &st);
		int r = handle(s, i, found ? &st : NULL, now_ms);
		if (r < 0) {
			finished = -1;
			break;
		}
		finished += r;
	}
	json_decref(tasks);
	/* Before this tick dispatches anything: the services of finished tries are gone before
	 * new ones are created, so no more than parallelism services ever exist at once. */
	removes_flush(s);
	return finished;
}

void poll_events_take(struct scheduler *s)
{
	if (!s->events)
		return;
	struct event_batch b = {0};
	event_watch_take(s->events, &b);
	if (b.service_ids.len || b.overflow)
		log_debug("engine events: %zu end(s) of ours%s: polling now", b.service_ids.len,
			  b.overflow ? " and more" : "");
	event_batch_finish(&b);
}
