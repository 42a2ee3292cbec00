/* sched.c - the scheduler loop: activate runs, decide ready tasks, finish runs. */
#include "swarmflow/sched/sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/core/dirwatch.h"
#include "swarmflow/core/rules.h"
#include "swarmflow/sched/heartbeat.h"
#include "swarmflow/sched/lease.h"

/* Shortest and longest sleep between two ticks (adaptive polling), in milliseconds. */
#define TICK_MIN_MS 50
/* The first wait after a change (adaptive polling; see next_interval). */
#define ADAPTIVE_MIN_MS 100
/* A watched dags folder's files are read once their mtime is this old (see dagbag_set_settle),
 * less than the watcher's quiet time (dirwatch.h), so that a change is read at the first
 * refresh after it. */
#define SCHED_WATCH_SETTLE_MS (DIRWATCH_QUIET_MS - 50)
/* How often the daemon looks for leftover services of finished tries. */
#define SWEEP_INTERVAL_MS 30000
/* Longest delay between two tries (10 years, as for durations): keeps ms arithmetic far from
 * overflow however many tries exponential backoff doubles over. */
#define MAX_RETRY_DELAY_S (10LL * 365 * 86400)

struct inflight *inflight_add(struct scheduler *s)
{
	if (s->n_inflight == s->cap_inflight) {
		s->cap_inflight = s->cap_inflight ? s->cap_inflight * 2 : 16;
		s->inflight = xrealloc(s->inflight, s->cap_inflight * sizeof(*s->inflight));
	}
	struct inflight *f = &s->inflight[s->n_inflight++];
	*f = (struct inflight){0};
	return f;
}

static void inflight_free(struct inflight *f)
{
	free(f->dag_id);
	free(f->run_id);
	free(f->task_id);
	free(f->service_id);
	free(f->service_name);
}

void inflight_remove(struct scheduler *s, size_t idx)
{
	inflight_free(&s->inflight[idx]);
	s->inflight[idx] = s->inflight[--s->n_inflight];
}

const char *map_tag(char buf[static 24], int map_index)
{
	buf[0] = '\0';
	if (map_index >= 0)
		snprintf(buf, 24, " map_index=%d", map_index);
	return buf;
}

size_t inflight_count_dag(const struct scheduler *s, const char *dag_id)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_inflight; i++)
		n += strcmp(s->inflight[i].dag_id, dag_id) == 0;
	return n;
}

int64_t retry_delay_for(const struct task *task, int next_try)
{
	int64_t delay = task->retry_delay_s;
	if (task->retry_exponential_backoff) {
		for (int i = 2; i < next_try && delay < MAX_RETRY_DELAY_S; i++)
			delay *= 2;
	}
	if (task->max_retry_delay_s > 0 && delay > task->max_retry_delay_s)
		delay = task->max_retry_delay_s;
	return delay < MAX_RETRY_DELAY_S ? delay : MAX_RETRY_DELAY_S;
}

/* The monotonic time (on the tick's mono_ms clock) of a past wall-clock time wall_ms, e.g. a
 * queued_ms recorded before a restart; never 0. */
static int64_t sched_mono_of(const struct scheduler *s, int64_t wall_ms)
{
	int64_t ago = s->wall_ms - wall_ms;
	/* A time in the future (the clock was stepped back since) counts as now. The result is
	 * never 0, which means "not yet" in the in-flight entries. */
	int64_t mono = s->mono_ms - (ago > 0 ? ago : 0);
	return mono != 0 ? mono : -1;
}

/* Sets f's monotonic times from its wall-clock ones (created_ms, started_ms) and the tick's
 * clocks. */
static void inflight_set_clock(const struct scheduler *s, struct inflight *f)
{
	f->created_mono = sched_mono_of(s, f->created_ms);
	f->started_mono = f->started_ms ? sched_mono_of(s, f->started_ms) : 0;
	f->clock_pending = false;
}

struct inflight *inflight_track(struct scheduler *s, const struct ti *ti, const struct task *task,
				int64_t created_ms, int64_t started_ms)
{
	struct inflight *f = inflight_add(s);
	f->ti_pk = ti->id;
	f->run_pk = ti->run_pk;
	f->dag_id = xstrdup(ti->dag_id);
	f->run_id = xstrdup(ti->run_id);
	f->task_id = xstrdup(ti->task_id);
	f->map_index = ti->map_index;
	f->try_number = ti->try_number;
	f->service_id = xstrdup(ti->service_id);
	f->service_name = xstrdup(ti->service_name);
	f->created_ms = created_ms;
	f->started_ms = started_ms;
	f->clock_pending = true;
	if (s->ticked)
		inflight_set_clock(s, f);
	f->pending_timeout_s = task ? task->pending_timeout_s : TASK_DEFAULT_PENDING_TIMEOUT_S;
	f->timeout_s = task ? task->timeout_s : 0;
	f->tty = task && task->tty;
	f->keep_on_failure = s->cfg->keep_failed_services;
	return f;
}

bool sched_owns(const struct scheduler *s, const struct run *run)
{
	return s->only_run_pk ? run->id == s->only_run_pk : run->runner == NULL;
}

bool sched_init(struct scheduler *s, const struct config *cfg, struct store *store,
		struct engine *engine, struct dagbag *bag, int64_t only_run_pk, char **err)
{
	*s = (struct scheduler){
	    .cfg = cfg, .store = store, .engine = engine, .bag = bag, .only_run_pk = only_run_pk};
	s->logs_dir = xasprintf("%s/logs", cfg->state_dir);
	s->limits = limits_create();
	s->stranger_grace_ms = STRANGER_GRACE_MS;
	s->engine_seen_ms = time_mono_ms();
	s->notifier = notifier_create(cfg);
	if (!adopt_owned(s, time_now_ms()))
		return set_err(err, "store: cannot read the tries to adopt");
	return true;
}

void sched_finish(struct scheduler *s)
{
	for (size_t i = 0; i < s->n_inflight; i++)
		inflight_free(&s->inflight[i]);
	free(s->inflight);
	free(s->orphans);
	dispatch_discard(s);
	removes_flush(s);
	free(s->removes);
	strangers_free(s);
	free(s->logs_dir);
	limits_destroy(s->limits);
	notifier_destroy(s->notifier);
	schedule_state_destroy(s->schedules);
	nodeloss_destroy(s->nodeloss);
	sched_wake_finish(s);
	dagwatch_destroy(s->watch);
	*s = (struct scheduler){0};
}

static bool set_ti_state(struct scheduler *s, struct ti *ti, enum ti_state state, int64_t now_ms)
{
	char *err = NULL;
	ti->state = state;
	if (ti_state_finished(state) && !ti->end_ms)
		ti->end_ms = now_ms;
	if (!store_ti_update(s->store, ti, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	log_info("task %s dag=%s run=%s task=%s", ti_state_name(state), ti->dag_id, ti->run_id,
		 ti->task_id);
	return true;
}

/* Decides what a task still waiting on its upstream becomes: skipped when a branch or a short
 * circuit says so, else what its trigger rule says of its upstream instances (each instance of a
 * mapped upstream counts). False only on a store failure. */
static bool verdict_for(struct scheduler *s, const struct dag *dag, const struct task *task,
			const struct task_tis *by_task, enum rule_verdict *v)
{
	bool skip = false;
	if (!data_skipped(s, dag, task, by_task, &skip))
		return false;
	struct upstream_counts c = {0};
	for (size_t i = 0; i < task->n_up; i++) {
		const struct task_tis *up = &by_task[task->up_idx[i]];
		if (up->n == 0)
			upstream_counts_add(&c, TI_REMOVED);
		for (size_t k = 0; k < up->n; k++)
			upstream_counts_add(&c, up->v[k]->state);
	}
	*v = skip ? RULE_SKIP : trigger_rule_evaluate(task->trigger_rule, &c);
	return true;
}

/* What advance_task works out once per task and tick, for all of its instances. */
struct task_step {
	const struct run *run;
	const struct dag *dag;
	const struct task *task;
	const struct task_tis *by_task;
	bool have_verdict;
	enum rule_verdict verdict;
	json_t *upstream; /* data_upstream, made at the first dispatch */
	bool expanded;    /* a mapped task was expanded: its instances are read again */
	/* The limits refused an instance: the others wait too (a tick only takes slots), without
	 * asking again for each of a mapped task's hundreds of instances. */
	bool limited;
};

/* Moves one task instance forward if it can; dispatches it when it is ready. */
static bool advance_ti(struct scheduler *s, struct task_step *t, struct ti *ti, int64_t now_ms)
{
	if (ti->state == TI_NONE) {
		if (!t->have_verdict && !verdict_for(s, t->dag, t->task, t->by_task, &t->verdict))
			return false;
		t->have_verdict = true;
		switch (t->verdict) {
		case RULE_WAIT:
			return true;
		case RULE_SKIP:
			return set_ti_state(s, ti, TI_SKIPPED, now_ms);
		case RULE_UPSTREAM_FAILED:
			return set_ti_state(s, ti, TI_UPSTREAM_FAILED, now_ms);
		case RULE_RUN:
			if (t->task->mapped && ti->map_index < 0) {
				t->expanded = true;
				return data_expand(s, t->run, t->dag, t->task, ti, t->by_task,
						   now_ms);
			}
			if (!set_ti_state(s, ti, TI_SCHEDULED, now_ms))
				return false;
			break;
		}
	}
	if (ti->state == TI_UP_FOR_RETRY && now_ms >= ti->next_try_ms) {
		ti->queued_ms = 0; /* the next try's first create attempt sets it */
		if (!set_ti_state(s, ti, TI_SCHEDULED, now_ms))
			return false;
	}
	if (ti->state != TI_SCHEDULED || t->limited)
		return true;
	if (!limits_allow(s, t->dag, t->task)) {
		t->limited = true;
		return true;
	}
	if (!t->upstream && !(t->upstream = data_upstream(s, t->dag, t->task, t->by_task)))
		return false;
	return dispatch_ti(s, t->run, t->dag, t->task, ti, t->upstream, now_ms);
}

/* Moves every instance of one task forward; *expanded when a mapped task was expanded. */
static bool advance_task(struct scheduler *s, const struct run *run, const struct dag *dag,
			 size_t task_idx, const struct task_tis *by_task, bool *expanded,
			 int64_t now_ms)
{
	struct task_step t = {
	    .run = run, .dag = dag, .task = &dag->tasks[task_idx], .by_task = by_task};
	const struct task_tis *tt = &by_task[task_idx];
	bool ok = true;
	for (size_t i = 0; ok && i < tt->n; i++)
		ok = advance_ti(s, &t, tt->v[i], now_ms);
	json_decref(t.upstream);
	*expanded = *expanded || t.expanded;
	return ok;
}

/* Finishes the run when every task instance has finished: its state comes from the leaves. */
static bool maybe_finish_run(struct scheduler *s, const struct run *run, const struct dag *dag,
			     struct ti_list *tis, const struct task_tis *by_task, int64_t now_ms)
{
	for (size_t i = 0; i < tis->len; i++)
		if (!ti_state_finished(tis->v[i].state))
			return true;
	enum ti_state *leaves = xcalloc(tis->len + 1, sizeof(*leaves));
	size_t n = 0;
	for (size_t i = 0; i < dag->n_tasks; i++)
		for (size_t k = 0; dag->tasks[i].n_down == 0 && k < by_task[i].n; k++)
			leaves[n++] = by_task[i].v[k]->state;
	enum run_state state = run_outcome(leaves, n);
	free(leaves);
	char *err = NULL;
	if (!store_run_set_state(s->store, run->id, state, now_ms, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	log_info("run %s dag=%s run=%s", run_state_name(state), run->dag_id, run->run_id);
	metrics_run_finished(s->metrics, run_state_name(state),
			     run->start_ms ? (double)(now_ms - run->start_ms) / 1000.0 : 0.0);
	s->dispatched_or_finished = true;
	return true;
}

/* Marks the instances of tasks that are no longer in the DAG as removed. */
static bool remove_stale(struct scheduler *s, const struct dag *dag, struct ti_list *tis,
			 int64_t now_ms)
{
	for (size_t i = 0; i < tis->len; i++) {
		struct ti *ti = &tis->v[i];
		if (dag_task_index(dag, ti->task_id) >= 0 || ti_state_finished(ti->state))
			continue;
		if (ti->state == TI_QUEUED || ti->state == TI_RUNNING)
			continue; /* its service is polled to the end */
		if (!set_ti_state(s, ti, TI_REMOVED, now_ms))
			return false;
	}
	return true;
}

/* Groups the run's task instances per task index, each task's in the order of tis (map
 * order); *slots holds the pointers (caller frees both). */
static struct task_tis *group_tis(const struct dag *dag, struct ti_list *tis, struct ti ***slots)
{
	struct task_tis *by_task = xcalloc(dag->n_tasks + 1, sizeof(*by_task));
	long *idx = xcalloc(tis->len + 1, sizeof(*idx));
	for (size_t i = 0; i < tis->len; i++)
		if ((idx[i] = dag_task_index(dag, tis->v[i].task_id)) >= 0)
			by_task[idx[i]].n++;
	*slots = xcalloc(tis->len + 1, sizeof(**slots));
	size_t used = 0;
	for (size_t t = 0; t < dag->n_tasks; t++) {
		by_task[t].v = *slots + used;
		used += by_task[t].n;
		by_task[t].n = 0;
	}
	for (size_t i = 0; i < tis->len; i++)
		if (idx[i] >= 0)
			by_task[idx[i]].v[by_task[idx[i]].n++] = &tis->v[i];
	free(idx);
	return by_task;
}

static bool process_tis(struct scheduler *s, const struct run *run, const struct dag *dag,
			bool *expanded, int64_t now_ms)
{
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_tis_for_run(s->store, run->id, &tis, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	struct ti **slots = NULL;
	struct task_tis *by_task = group_tis(dag, &tis, &slots);
	bool ok = remove_stale(s, dag, &tis, now_ms);
	for (size_t i = 0; ok && i < dag->n_tasks; i++)
		ok = advance_task(s, run, dag, dag->topo[i], by_task, expanded, now_ms);
	if (ok && !*expanded)
		ok = maybe_finish_run(s, run, dag, &tis, by_task, now_ms);
	free(by_task);
	free(slots);
	ti_list_finish(&tis);
	return ok;
}

static bool process_run(struct scheduler *s, const struct run *run, int64_t now_ms)
{
	const struct dag *dag = dagbag_find(s->bag, run->dag_id);
	if (!dag)
		return orphan_run(s, run, now_ms);
	orphan_forget(s, run->id);
	bool ended = false;
	if (!dagrun_timeout_check(s, run, dag, now_ms, &ended))
		return false;
	if (ended)
		return true;
	/* Twice when a mapped task was expanded, so that its instances are dispatched in the
	 * same tick. */
	bool ok = true, expanded = true;
	for (int pass = 0; ok && expanded && pass < 2; pass++) {
		expanded = false;
		ok = process_tis(s, run, dag, &expanded, now_ms);
	}
	return ok;
}

/* A queued run starts when its DAG is not paused and is under max_active_runs. */
static bool activate(struct scheduler *s, struct run *run, size_t *running_of_dag, int64_t now_ms)
{
	const struct dag *dag = dagbag_find(s->bag, run->dag_id);
	if (!dag)
		return orphan_run(s, run, now_ms);
	bool paused = false;
	char *err = NULL;
	if (!store_dag_is_paused(s->store, run->dag_id, &paused, &err))
		goto error;
	/* `dags test` runs now, like Airflow's: neither the pause flag nor max_active_runs holds
	 * it back. */
	bool limited = paused || *running_of_dag >= (size_t)dag->max_active_runs;
	if (limited && !s->only_run_pk)
		return true;
	if (!store_run_set_state(s->store, run->id, RUN_RUNNING, now_ms, &err))
		goto error;
	run->state = RUN_RUNNING;
	(*running_of_dag)++;
	log_info("run running dag=%s run=%s", run->dag_id, run->run_id);
	return true;
error:
	log_error("store: %s", err);
	free(err);
	return false;
}

static size_t running_runs_of(const struct run_list *runs, const char *dag_id)
{
	size_t n = 0;
	for (size_t i = 0; i < runs->len; i++)
		n += runs->v[i].state == RUN_RUNNING && strcmp(runs->v[i].dag_id, dag_id) == 0;
	return n;
}

static bool process_runs(struct scheduler *s, int64_t now_ms)
{
	struct run_list runs = {0};
	char *err = NULL;
	if (!store_runs_active(s->store, &runs, &err)) {
		log_error("store: %s", err);
		free(err);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < runs.len; i++) {
		struct run *run = &runs.v[i];
		if (!s->only_run_pk && run->runner && sched_runner_dead(run->runner))
			ok = take_over(s, run, now_ms);
		if (!ok || !sched_owns(s, run))
			continue;
		if (run->state == RUN_QUEUED) {
			size_t running = running_runs_of(&runs, run->dag_id);
			ok = activate(s, run, &running, now_ms);
		}
		if (ok && run->state == RUN_RUNNING)
			ok = process_run(s, run, now_ms);
	}
	run_list_finish(&runs);
	return ok;
}

static bool dags_watched(const struct scheduler *s)
{
	return s->watch && dagwatch_active(s->watch);
}

/* When the dags folder must be refreshed next (monotonic): when its watcher says (changes
 * seen, the rescan), or next_reload_ms (polling, or a SIGHUP that asks for it now). */
static int64_t dags_due(const struct scheduler *s)
{
	int64_t due = dags_watched(s) ? dagwatch_due(s->watch) : INT64_MAX;
	return s->next_reload_ms < due ? s->next_reload_ms : due;
}

static int64_t rescan_ms(const struct scheduler *s)
{
	return s->cfg->dag_rescan_interval_s * 1000;
}

/* The longest wait between ticks: poll_interval (which a SIGHUP may change). */
static int64_t max_interval(const struct scheduler *s)
{
	int64_t max = (int64_t)(s->cfg->poll_interval * 1000);
	return max < TICK_MIN_MS ? TICK_MIN_MS : max;
}

/* The store's marks now; on failure (logged) a pass is made, as if something changed. */
static bool marks_now(struct scheduler *s, struct store_marks *out)
{
	char *err = NULL;
	if (store_marks_get(s->store, out, &err))
		return true;
	log_error("store: %s", err);
	free(err);
	return false;
}

/* Whether this tick must pass over the runs (a try that finishes in it makes one too). A pass
 * costs a read of every active run's task instances (milliseconds for a run of 500 mapped
 * instances), and with the event stream most ticks only see one end or nothing. A pass is
 * skipped when the last one wrote nothing (the runs were settled), no try finished, nothing
 * was written to the store since the last tick (by this scheduler or another connection: a
 * trigger, a clear, the web API), no DAG reload or SIGHUP came between, and the last pass is
 * less than poll_interval old (what time alone changes: a retry delay over, a run's timeout,
 * a dead runner). */
static bool runs_pass_needed(struct scheduler *s)
{
	struct store_marks now;
	bool changed = !s->marks_valid || !marks_now(s, &now) ||
		       now.data_version != s->marks.data_version || now.changes != s->marks.changes;
	return changed || s->runs_stale || !s->runs_settled ||
	       s->mono_ms - s->runs_pass_mono >= max_interval(s);
}

/* limits_refresh and process_runs, noting whether the pass wrote anything. */
static bool runs_pass(struct scheduler *s, int64_t now_ms)
{
	struct store_marks before, after;
	bool marked = marks_now(s, &before);
	bool ok = limits_refresh(s) && process_runs(s, now_ms);
	s->runs_settled = ok && marked && marks_now(s, &after) && after.changes == before.changes;
	s->runs_pass_mono = s->mono_ms;
	s->runs_stale = false;
	return ok;
}

static void reload_dags(struct scheduler *s, int64_t now_ms)
{
	(void)now_ms;
	if (s->mono_ms < dags_due(s))
		return;
	s->runs_stale = true;
	long n = dagbag_refresh(s->bag);
	if (n > 0)
		log_info("dags reloaded files=%ld errors=%zu", n, dagbag_error_count(s->bag));
	/* Also when nothing was re-read: a deleted file changes the bag too (cheap when not). */
	if (s->on_dags_loaded)
		s->on_dags_loaded(s->dags_ctx, s->bag);
	s->next_reload_ms = s->mono_ms + (int64_t)(s->cfg->dag_reload_interval * 1000);
	if (!dags_watched(s))
		return;
	int fd = dagwatch_fd(s->watch);
	dagwatch_sync(s->watch, s->bag, s->mono_ms, rescan_ms(s));
	if (dagwatch_active(s->watch))
		s->next_reload_ms = INT64_MAX; /* the watcher says when */
	else
		sched_wake_remove(s, fd); /* fell back to polling */
}

static void on_dags_event(void *ctx)
{
	struct scheduler *s = ctx;
	dagwatch_read(s->watch, time_mono_ms());
}

bool sched_watch_dags(struct scheduler *s, const struct dagwatch_sys *sys)
{
	dagwatch_destroy(s->watch);
	s->watch = dagwatch_create(s->bag->folder, sys);
	if (!dagwatch_active(s->watch))
		return false;
	int fd = dagwatch_fd(s->watch);
	sched_wake_add(s, fd, on_dags_event, s);
	/* The watcher's quiet time already waits for the last write: the mtime check is only the
	 * safety net for a write it did not see. */
	dagbag_set_settle(s->bag, SCHED_WATCH_SETTLE_MS);
	dagwatch_sync(s->watch, s->bag, time_mono_ms(), rescan_ms(s));
	if (!dagwatch_active(s->watch)) {
		sched_wake_remove(s, fd);
		return false;
	}
	s->next_reload_ms = INT64_MAX;
	return true;
}

bool sched_tick(struct scheduler *s, int64_t now_ms)
{
	return sched_tick_clock(s, now_ms, now_ms);
}

bool sched_tick_clock(struct scheduler *s, int64_t now_ms, int64_t mono_ms)
{
	s->wall_ms = now_ms;
	s->mono_ms = mono_ms;
	s->ticked = true;
	for (size_t i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].clock_pending)
			inflight_set_clock(s, &s->inflight[i]);
	s->dispatched_or_finished = false;
	reload_dags(s, now_ms);
	if (!s->only_run_pk && mono_ms >= s->next_sweep_ms) {
		sweep_services(s, NULL, NULL);
		s->next_sweep_ms = mono_ms + SWEEP_INTERVAL_MS;
	}
	if (!s->only_run_pk && !schedule_runs(s, now_ms))
		return false;
	/* Before the poll: its own writes (a try seen running) need no pass. */
	bool pass = runs_pass_needed(s);
	long finished = poll_inflight(s, now_ms);
	if (finished < 0)
		return false;
	if (finished > 0)
		s->dispatched_or_finished = true;
	bool ok = !(pass || finished > 0) || runs_pass(s, now_ms);
	/* Also after a store failure: the tries recorded as queued get their services (or are
	 * adopted through their names at the next start). */
	ok = dispatch_flush(s, now_ms) && ok;
	removes_flush(s);
	s->marks_valid = marks_now(s, &s->marks);
	return ok;
}

static bool watched_run_done(struct scheduler *s, enum run_state *state)
{
	struct run run = {0};
	char *err = NULL;
	if (!store_run_get_by_id(s->store, s->only_run_pk, &run, &err)) {
		log_error("store: %s", err);
		free(err);
		*state = RUN_FAILED;
		return true;
	}
	*state = run.state;
	run_finish(&run);
	return *state == RUN_SUCCESS || *state == RUN_FAILED;
}

/* The daemon's heartbeat (see heartbeat.h), at most every HEARTBEAT_EVERY_MS. */
static void beat(struct scheduler *s, int64_t now_ms, int64_t mono_ms)
{
	if (s->only_run_pk || mono_ms < s->next_heartbeat_ms)
		return;
	struct heartbeat hb = {.time_ms = now_ms,
			       .pid = (long)getpid(),
			       .in_flight = (long)s->n_inflight,
			       .poll_interval = s->cfg->poll_interval};
	snprintf(hb.instance, sizeof(hb.instance), "%s", s->cfg->instance);
	snprintf(hb.engine, sizeof(hb.engine), "%s", s->engine_error[0] ? s->engine_error : "ok");
	if (!heartbeat_write(s->cfg->state_dir, NULL, &hb))
		log_warn("cannot write the heartbeat in %s", s->cfg->state_dir);
	s->engine_error[0] = '\0';
	s->next_heartbeat_ms = mono_ms + HEARTBEAT_EVERY_MS;
}

int64_t sched_next_poll(int64_t since_change_ms, int64_t max_ms)
{
	if (since_change_ms < 0)
		since_change_ms = 0;
	for (int64_t step = ADAPTIVE_MIN_MS; step < max_ms; step *= 2)
		if (step > since_change_ms)
			return step - since_change_ms;
	return max_ms - since_change_ms % max_ms;
}

/* The idle daemon's wait: at least max, and the ticks spread evenly up to the lease renewal, so
 * that the renewal falls on a tick instead of adding a wake-up of its own (lease_timeout 15 s:
 * a renewal every 3.75 s, ticks 1.25 s apart). */
static int64_t idle_wait(const struct scheduler *s, int64_t now, int64_t max)
{
	if (!s->lease)
		return max;
	int64_t to_renewal = sched_lease_due(s->lease) - now;
	if (to_renewal < max)
		return to_renewal;
	return to_renewal / (to_renewal / max);
}

/* How long the loop waits after a tick that started at start (monotonic): with tries in
 * flight, the adaptive poll schedule; with none, the rest of poll_interval (`dags test`), or
 * for the daemon SCHED_IDLE_TICK_MS at least (nothing to poll, and what may come, a trigger or
 * a schedule, can wait a second; see idle_wait). Never past the lease renewal or the dags
 * folder's refresh. */
static int64_t next_wait(const struct scheduler *s, int64_t start, int64_t last_change)
{
	int64_t now = time_mono_ms(), max = max_interval(s);
	int64_t wait;
	if (s->n_inflight)
		wait = sched_next_poll(now - last_change, max);
	else if (!s->only_run_pk)
		wait = idle_wait(s, now, max > SCHED_IDLE_TICK_MS ? max : SCHED_IDLE_TICK_MS);
	else
		wait = now - start < max ? max - (now - start) : 0;
	if (s->lease && sched_lease_due(s->lease) - now < wait)
		wait = sched_lease_due(s->lease) - now;
	int64_t dags = dags_due(s);
	if (dags != INT64_MAX && dags - now < wait)
		wait = dags - now;
	return wait > 0 ? wait : 0;
}

/* Applies a SIGHUP: the new config is in place for this tick, DAG files are read again now
 * (the policy may have changed) and the limits follow the new config at the tick's refresh. */
static void apply_reload(struct scheduler *s)
{
	s->reload_pending = false;
	if (!s->reload_config(s->reload_ctx))
		return;
	s->runs_stale = true;
	s->next_reload_ms = 0;
	limits_reconfigure(s->limits);
}

/* The daemon keeps its lease while its own engine answers: when the engine has not answered
 * for lease_timeout (dockerd dead, the manager cut off), the lease is handed over so that a
 * standby on a healthy manager takes over, and the loop ends (exit 1; Swarm restarts it, and it
 * waits for its engine before it competes again). The renewal comes first, so that a slow ping
 * never delays it. False when the loop must end. */
static bool keep_lease(struct scheduler *s, int64_t mono_ms)
{
	if (!s->lease || mono_ms < sched_lease_due(s->lease))
		return true;
	if (!sched_lease_keep(s->lease, mono_ms, time_now_ms()))
		return false;
	struct engine_err eerr = {0};
	if (engine_ping(s->engine, &eerr) ||
	    (eerr.kind != ENGINE_ERR_CONNECT && eerr.kind != ENGINE_ERR_TIMEOUT)) {
		s->engine_seen_ms = time_mono_ms();
		return true;
	}
	int64_t now = time_mono_ms();
	if (now - s->engine_seen_ms < s->lease->timeout_ms)
		return true;
	log_error("engine: %s has not answered for %.1f s (%s): handing the scheduler lease over "
		  "and stopping",
		  s->cfg->docker_host, (double)(now - s->engine_seen_ms) / 1000.0, eerr.message);
	sched_lease_release(s->lease);
	return false;
}

bool sched_may_change_engine(struct scheduler *s)
{
	if (!s->lease)
		return true;
	if (sched_lease_confirm(s->lease, time_mono_ms(), time_now_ms()))
		return true;
	s->fenced = true;
	return false;
}

/* sched_loop's ticks and waits (sched_wake_wait). */
static int run_loop(struct scheduler *s)
{
	int64_t last_change = 0; /* monotonic start of the last tick that dispatched or finished */
	while (!s->stop && !s->fenced) {
		if (s->reload_pending)
			apply_reload(s);
		int64_t start = time_mono_ms();
		if (!keep_lease(s, start))
			return 1;
		if (!sched_tick_clock(s, time_now_ms(), time_mono_ms()))
			return 1;
		metrics_poll_tick(s->metrics, (double)(time_mono_ms() - start) / 1000.0);
		beat(s, time_now_ms(), time_mono_ms());
		enum run_state state;
		if (s->only_run_pk && watched_run_done(s, &state))
			return state == RUN_SUCCESS ? 0 : 1;
		if (s->dispatched_or_finished)
			last_change = start;
		sched_wake_wait(s, next_wait(s, start, last_change));
	}
	if (s->fenced)
		return 1;
	if (s->only_run_pk &&
	    !sched_abort_run(s, "interrupted: dags test was stopped by a signal", time_now_ms()))
		return 1;
	return s->only_run_pk ? 1 : 0;
}

/* The engine's event stream named services of ours (or overflowed): taken, and the tick that
 * follows at once polls them (poll.c). */
static void on_engine_events(void *ctx)
{
	poll_events_take(ctx);
}

int sched_loop(struct scheduler *s)
{
	int events_fd = s->events ? event_watch_fd(s->events) : -1;
	sched_wake_add(s, events_fd, on_engine_events, s); /* nothing when -1 */
	int rc = run_loop(s);
	sched_wake_remove(s, events_fd);
	return rc;
}
