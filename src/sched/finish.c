/* finish.c - ends a try: keeps its logs, records its outcome, removes its service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/fsutil.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/output.h"

/* A path component from an id: no '/', no leading '.', never empty. */
static char *component(const char *id)
{
	char *c = xstrdup(id && *id ? id : "_");
	for (char *p = c; *p; p++)
		if (*p == '/')
			*p = '_';
	if (c[0] == '.')
		c[0] = '_';
	return c;
}

/* Saves what the try printed (and, when it never printed, why) to its log file. Returns the
 * path (caller frees) or NULL when it could not be written. */
static char *save_log(struct scheduler *s, const struct ti *ti, const struct buf *text)
{
	char *d = component(ti->dag_id), *r = component(ti->run_id), *t = component(ti->task_id);
	char index[16] = "";
	if (ti->map_index >= 0) /* a mapped task's instances: one folder each */
		snprintf(index, sizeof(index), "/%d", ti->map_index);
	char *dir = xasprintf("%s/%s/%s/%s%s", s->logs_dir, d, r, t, index);
	int try_number = ti->try_number;
	char *path = xasprintf("%s/%d.log", dir, try_number);
	free(d);
	free(r);
	free(t);
	bool ok = fs_mkdir_p(dir) && fs_write_atomic(path, text->data ? text->data : "", text->len);
	if (!ok)
		log_warn("cannot write the log %s", path);
	free(dir);
	if (!ok) {
		free(path);
		return NULL;
	}
	return path;
}

/* How long a try whose output cannot be read (its logs not fetched) stays in flight, asked
 * again every tick, before it fails: an engine that does not answer for that long is down. */
#define OUTPUT_FETCH_GRACE_MS (60 * 1000)
/* The same for any other try, while the engine's failure may pass (a node that is briefly
 * unreachable after a manager failover: "incomplete log stream ... node is not available"):
 * its log is asked again every tick for this long before a note of why replaces it. */
#define LOGS_FETCH_GRACE_MS (20 * 1000)

/* Whether a failed logs request may succeed later: no answer, a timeout, a broken or
 * daemon-interrupted stream, a 500/502/503/504. Not a 4xx or a 501 (a logging driver that
 * cannot be read never will be). */
static bool logs_error_may_pass(const struct engine_err *e)
{
	switch (e->kind) {
	case ENGINE_ERR_CONNECT:
	case ENGINE_ERR_TIMEOUT:
	case ENGINE_ERR_PROTOCOL:
		return true;
	case ENGINE_ERR_HTTP:
		return e->status >= 500 && e->status != 501;
	default:
		return false;
	}
}

/* What fetch_logs() got. */
enum logs_got {
	LOGS_OK,    /* the logs (or a note of why they could not be had) are in out */
	LOGS_LATER, /* not now: the try stays in flight for the next tick or start */
};

static void feed_scan(void *ctx, const void *data, size_t len)
{
	output_scan_feed(ctx, data, len);
}

/* Fetches the logs of f into out; stdout also goes to scan when it reads an output. LOGS_LATER
 * when the fetch was cancelled because the process is stopping (the next start finishes the try
 * with its whole log), and when the try's output could not be read but may be later. *why is
 * set when the output can never be had. */
static enum logs_got fetch_logs(struct scheduler *s, struct inflight *f, struct buf *out,
				struct output_scan *scan, const char **why)
{
	struct engine_err eerr = {0};
	bool wants_output = scan->mode != OUTPUT_NONE;
	/* The logs are on a node the manager cannot reach: asking would fail at once (its engine
	 * died) or wait for the request's whole timeout (a partition), holding the loop. */
	if (f->node_lost) {
		buf_printf(out, "[swarmflow] logs not fetched: they stay on the lost node\n");
		if (wants_output)
			*why = "the output cannot be read: the logs stay on the lost node";
		return LOGS_OK;
	}
	struct log_tap tap = {feed_scan, scan};
	bool cut = false;
	if (engine_service_logs_tap(s->engine, f->service_id, f->tty, out,
				    wants_output ? &tap : NULL, &cut, &eerr)) {
		if (cut && wants_output)
			*why = "the output cannot be read: the log is over its cap";
		return LOGS_OK;
	}
	if (eerr.kind == ENGINE_ERR_CANCELLED) {
		log_info(
		    "logs of service %s not fetched: stopping; the try is finished at the next "
		    "start",
		    f->service_name);
		return LOGS_LATER;
	}
	metrics_engine_error(s->metrics, &eerr);
	log_warnx("engine: logs of service %s: %s", f->service_name, eerr.message);
	/* Never a success without its output, and no log lost to a passing failure: asked again
	 * while the engine may answer. */
	int64_t grace = wants_output                 ? OUTPUT_FETCH_GRACE_MS
			: logs_error_may_pass(&eerr) ? LOGS_FETCH_GRACE_MS
						     : 0;
	if (!f->logs_failed_mono)
		f->logs_failed_mono = s->mono_ms ? s->mono_ms : 1;
	if (grace > 0 && s->mono_ms - f->logs_failed_mono < grace)
		return LOGS_LATER;
	if (wants_output)
		*why = "the output cannot be read: the engine did not give the logs";
	buf_printf(out, "\n[swarmflow] could not fetch the logs: %s\n", eerr.message);
	return LOGS_OK;
}

/* The output of a try that succeeded, from what scan read; NULL with *why set when the try must
 * fail instead (over the cap, not UTF-8, a branch naming a task it cannot choose). */
static char *take_output(struct scheduler *s, const struct inflight *f, const struct task *task,
			 struct output_scan *scan, char **why)
{
	char *output = output_scan_finish(scan, why);
	const struct dag *dag = task->branch ? dagbag_find(s->bag, f->dag_id) : NULL;
	if (output && dag && (*why = data_branch_check(dag, task, output))) {
		free(output);
		output = NULL;
	}
	return output;
}

/* Sets the outcome of a try on ti: success, or failed / up_for_retry per the task's retries. */
static void set_outcome(struct ti *ti, const struct task *task, bool success, const char *error,
			int64_t now_ms)
{
	ti->end_ms = now_ms;
	free(ti->error);
	ti->error = error ? xstrdup(error) : NULL;
	if (success) {
		ti->state = TI_SUCCESS;
	} else if (task && ti->try_number < ti->max_tries) {
		ti->state = TI_UP_FOR_RETRY;
		ti->next_try_ms = now_ms + retry_delay_for(task, ti->try_number + 1) * 1000;
	} else {
		ti->state = TI_FAILED;
	}
}

/* Writes ti and its try record in one transaction. */
static bool record(struct scheduler *s, struct ti *ti)
{
	char *err = NULL;
	if (!store_begin(s->store, &err))
		goto error;
	if (!store_ti_update(s->store, ti, &err) || !store_try_record(s->store, ti, &err)) {
		store_rollback(s->store);
		goto error;
	}
	if (!store_commit(s->store, &err))
		goto error;
	return true;
error:
	log_error("store: %s", err);
	free(err);
	return false;
}

static void log_outcome(const struct ti *ti)
{
	char code[16] = "none";
	if (ti->has_exit_code)
		snprintf(code, sizeof(code), "%d", ti->exit_code);
	char tag[24];
	log_info("task %s dag=%s run=%s task=%s%s try=%d exit_code=%s error=\"%s\"",
		 ti_state_name(ti->state), ti->dag_id, ti->run_id, ti->task_id,
		 map_tag(tag, ti->map_index), ti->try_number, code, ti->error ? ti->error : "");
}

/* Keeps f's service for removes_flush (its outcome is recorded: nothing is lost if the
 * scheduler dies before; the sweep removes it then). */
static void keep_remove(struct scheduler *s, const struct inflight *f)
{
	if (s->n_removes == s->cap_removes) {
		s->cap_removes = s->cap_removes ? 2 * s->cap_removes : 16;
		s->removes = xrealloc(s->removes, s->cap_removes * sizeof(*s->removes));
	}
	s->removes[s->n_removes++] =
	    (struct pending_remove){xstrdup(f->service_id), xstrdup(f->service_name)};
}

void removes_flush(struct scheduler *s)
{
	size_t n = s->n_removes;
	if (n == 0)
		return;
	const char **ids = xcalloc(n, sizeof(*ids));
	bool *ok = xcalloc(n, sizeof(*ok));
	struct engine_err *errs = xcalloc(n, sizeof(*errs));
	for (size_t i = 0; i < n; i++) {
		ids[i] = s->removes[i].service_id;
		if (s->events)
			event_watch_forget(s->events, ids[i]);
	}
	/* Without the lease the removes are left to its holder's sweep. */
	bool may = sched_may_change_engine(s);
	if (may)
		engine_services_remove_many(s->engine, ids, n, ok, errs);
	for (size_t i = 0; i < n; i++) {
		if (may && !ok[i]) {
			metrics_engine_error(s->metrics, &errs[i]);
			log_warnx("engine: remove service %s: %s", s->removes[i].service_name,
				  errs[i].message);
		}
		free(s->removes[i].service_id);
		free(s->removes[i].service_name);
	}
	free(errs);
	free(ok);
	free(ids);
	s->n_removes = 0;
}

static const struct task *task_of(struct scheduler *s, const char *dag_id, const char *task_id)
{
	const struct dag *dag = dagbag_find(s->bag, dag_id);
	return dag ? dag_task_find(dag, task_id) : NULL;
}

bool finish_try(struct scheduler *s, size_t idx, bool success, const struct task_status *st,
		const char *error, int64_t now_ms)
{
	struct inflight *f = &s->inflight[idx];
	struct ti ti = {0};
	char *err = NULL;
	if (!store_ti_get(s->store, f->ti_pk, &ti, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	if (ti.try_number != f->try_number || (ti.state != TI_QUEUED && ti.state != TI_RUNNING)) {
		/* Another scheduler took the lease over and recorded this try meanwhile (this one
		 * stalled; nothing else changes a try in flight: clear refuses): its outcome and
		 * log stand, and this one only forgets the try. */
		log_warnx("task %s.%s run %s try %d: already recorded by another scheduler (now "
			  "%s, try %d); left as it is",
			  f->dag_id, f->task_id, f->run_id, f->try_number, ti_state_name(ti.state),
			  ti.try_number);
		inflight_remove(s, idx);
		ti_finish(&ti);
		return true;
	}
	/* An aborted run retries nothing: without the task, set_outcome fails the try. */
	const struct task *known = task_of(s, f->dag_id, f->task_id);
	const struct task *task = s->aborting ? NULL : known;
	struct output_scan scan;
	output_scan_init(&scan, success && known ? known->output : OUTPUT_NONE);
	struct buf logs;
	buf_init(&logs, 0);
	const char *lost = NULL;
	if (fetch_logs(s, f, &logs, &scan, &lost) == LOGS_LATER) {
		free(output_scan_finish(&scan, NULL));
		buf_finish(&logs);
		ti_finish(&ti);
		return true;
	}
	char *bad_output = lost ? xstrdup(lost) : NULL;
	if (scan.mode != OUTPUT_NONE && !bad_output)
		ti.output = take_output(s, f, known, &scan, &bad_output);
	else
		free(output_scan_finish(&scan, NULL));
	if (bad_output) {
		success = false;
		error = bad_output;
	}
	if (!success)
		buf_printf(&logs, "%s[swarmflow] try %d failed: %s\n",
			   logs.len && logs.data[logs.len - 1] != '\n' ? "\n" : "", f->try_number,
			   error ? error : "unknown reason");
	free(ti.log_path);
	ti.log_path = save_log(s, &ti, &logs);
	ti.has_exit_code = st && st->has_exit_code;
	ti.exit_code = ti.has_exit_code ? st->exit_code : 0;
	/* A try that ended between two polls was never seen running (mark_running records the
	 * start): its start is then the creation of its service, the closest time we know. */
	if (!ti.start_ms)
		ti.start_ms = f->created_ms;
	set_outcome(&ti, task, success, error, now_ms);
	bool ok = record(s, &ti);
	if (ok && ti.state == TI_FAILED)
		notify_task_failed(s, &ti, logs.data ? logs.data : "");
	if (ok && !(f->keep_on_failure && !success))
		keep_remove(s, f);
	if (ok) {
		log_outcome(&ti);
		inflight_remove(s, idx);
	}
	buf_finish(&logs);
	ti_finish(&ti);
	free(bad_output);
	return ok;
}

bool finish_without_service(struct scheduler *s, struct ti *ti, const struct task *task,
			    const char *error, int64_t now_ms)
{
	struct buf text;
	buf_init(&text, 0);
	buf_printf(&text, "[swarmflow] try %d was not started: %s\n", ti->try_number, error);
	free(ti->log_path);
	ti->log_path = save_log(s, ti, &text);
	ti->has_exit_code = false;
	if (!ti->start_ms)
		ti->start_ms = now_ms;
	set_outcome(ti, task, false, error, now_ms);
	bool ok = record(s, ti);
	if (ok && ti->state == TI_FAILED)
		notify_task_failed(s, ti, text.data ? text.data : "");
	if (ok)
		log_outcome(ti);
	buf_finish(&text);
	return ok;
}

bool end_run(struct scheduler *s, int64_t run_pk, enum ti_state started, enum ti_state waiting,
	     const char *reason, int64_t now_ms)
{
	struct ti_list tis = {0};
	char *err = NULL;
	bool ok = store_begin(s->store, &err) && store_tis_for_run(s->store, run_pk, &tis, &err);
	for (size_t i = 0; ok && i < tis.len; i++) {
		struct ti *ti = &tis.v[i];
		if (ti_state_finished(ti->state))
			continue;
		ti->state = ti->state == TI_QUEUED || ti->state == TI_RUNNING ? started : waiting;
		ti->end_ms = now_ms;
		free(ti->error);
		ti->error = xstrdup(reason);
		ok = store_ti_update(s->store, ti, &err);
	}
	struct run run = {0};
	ok = ok && store_run_get_by_id(s->store, run_pk, &run, &err) &&
	     store_run_set_state(s->store, run_pk, RUN_FAILED, now_ms, &err) &&
	     store_commit(s->store, &err);
	if (ok)
		metrics_run_finished(s->metrics, "failed",
				     run.start_ms ? (double)(now_ms - run.start_ms) / 1000.0 : 0.0);
	run_finish(&run);
	if (!ok) {
		store_rollback(s->store);
		log_error("store: %s", err ? err : "unknown error");
	}
	free(err);
	ti_list_finish(&tis);
	return ok;
}

bool finish_run_tries(struct scheduler *s, int64_t run_pk, const char *reason, int64_t now_ms)
{
	bool aborting = s->aborting;
	s->aborting = true; /* finish_try retries nothing */
	bool ok = true;
	/* Backwards: finishing a try moves the last entry into its place. */
	for (size_t i = s->n_inflight; ok && i-- > 0;)
		if (s->inflight[i].run_pk == run_pk)
			ok = finish_try(s, i, false, NULL, reason, now_ms);
	s->aborting = aborting;
	removes_flush(s);
	return ok;
}

bool sched_abort_run(struct scheduler *s, const char *reason, int64_t now_ms)
{
	bool ok = finish_run_tries(s, s->only_run_pk, reason, now_ms) &&
		  end_run(s, s->only_run_pk, TI_FAILED, TI_FAILED, reason, now_ms);
	struct run run = {0};
	char *err = NULL;
	if (ok && store_run_get_by_id(s->store, s->only_run_pk, &run, &err)) {
		/* A create whose answer was lost may have left a service no try knows of. */
		sweep_services(s, run.dag_id, run.run_id);
		log_info("run aborted dag=%s run=%s: %s", run.dag_id, run.run_id, reason);
	}
	free(err);
	run_finish(&run);
	return ok;
}
