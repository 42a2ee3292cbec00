/* sched.h - the scheduler: activate runs, decide ready tasks, dispatch services, poll, finish. */
#ifndef SWARMFLOW_SCHED_SCHED_H
#define SWARMFLOW_SCHED_SCHED_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/metrics.h"
#include "swarmflow/core/config.h"
#include "swarmflow/engine/decode.h"
#include "swarmflow/engine/engine.h"
#include "swarmflow/engine/events.h"
#include "swarmflow/sched/dagbag.h"
#include "swarmflow/sched/wake.h"
#include "swarmflow/sched/watch.h"
#include "swarmflow/store/store.h"

/* A try that owns a service (queued or running), as the poller tracks it. */
struct inflight {
	int64_t ti_pk;
	int64_t run_pk;
	char *dag_id, *run_id, *task_id;
	int map_index; /* -1: not mapped */
	int try_number;
	char *service_id;
	char *service_name;
	/* On the monotonic clock (see struct scheduler.mono_ms), so that a step of the wall
	 * clock never fires or delays a timeout. */
	int64_t created_ms;   /* wall clock, as recorded: the start of a try never seen running */
	int64_t started_ms;   /* wall clock: when an adopted try was recorded running, else 0 */
	int64_t created_mono; /* when the service was created (or, adopted, recorded as queued) */
	int64_t started_mono; /* first seen running; 0 until then */
	bool clock_pending;   /* adopted before the first tick: the _mono times come from the
				 _ms ones at that tick */
	bool seen_task;       /* the engine has shown a task for the service at least once */
	bool node_recorded;   /* the node its task was placed on is in the store */
	bool node_lost;       /* nodeloss.c: its node is lost, so are its logs (not fetched) */
	int64_t pending_timeout_s;
	int64_t timeout_s;
	bool tty;
	bool keep_on_failure;
	int64_t logs_failed_mono; /* first failed fetch of the try's logs; 0: none */
	char last_reason[512];    /* what the engine last said while the task waited */
};

/* The default time a service with this instance's labels that the store does not know may stay:
 * the sweep of the daemon removes it then (logged with its labels). Long enough for an operator
 * to notice that two deployments share an instance name, or that state_dir was replaced. */
#define STRANGER_GRACE_MS (10 * 60 * 1000)

/* A service with this instance's labels whose try the store does not know, and when the sweep
 * first saw it (monotonic). */
struct stranger {
	char *service_id;
	int64_t since_ms;
	bool seen; /* in the current sweep's list */
};

/* A try recorded as queued whose service is created at the end of the tick (dispatch.c). */
struct pending_create {
	int64_t ti_pk;
	const struct task *task; /* in the dagbag, which does not change during a tick */
	json_t *spec;
};

/* A service to remove at the end of the tick (finish.c), with its name for the log. */
struct pending_remove {
	char *service_id;
	char *service_name;
};

/* A run whose DAG is not loaded, and when that was first seen. */
struct orphan {
	int64_t run_pk;
	int64_t since_ms; /* monotonic */
	bool warned;      /* the wait has been logged */
};

struct scheduler {
	const struct config *cfg;
	struct store *store;
	struct engine *engine;
	struct dagbag *bag;
	/* Signals the caller blocked; the loop waits for them between ticks (sigtimedwait), so
	 * no handler and no global flag are needed. NULL: sleep without watching signals. */
	const sigset_t *signals;
	bool stop; /* set when SIGTERM or SIGINT arrived: the loop ends */
	/* SIGHUP: reloads the config the scheduler reads through cfg (same address, new values)
	 * and returns whether it did. NULL: SIGHUP is logged and ignored. */
	bool (*reload_config)(void *ctx);
	void *reload_ctx;
	bool reload_pending; /* SIGHUP arrived: reload before the next tick */
	/* Optional, set by the caller after sched_init (the daemon's web server reads them):
	 * counters and histograms (NULL: none), and a function called on the loop's thread
	 * after every DAG reload (and at start) with the dagbag. */
	struct metrics *metrics;
	void (*on_dags_loaded)(void *ctx, const struct dagbag *bag);
	void *dags_ctx;
	int64_t only_run_pk; /* 0: every run; else only this one (dags test) */
	struct inflight *inflight;
	size_t n_inflight, cap_inflight;
	struct pending_create *creates; /* made at once by dispatch_flush */
	size_t n_creates, cap_creates;
	struct pending_remove *removes; /* made at once by removes_flush */
	size_t n_removes, cap_removes;
	/* The clocks of the current tick: wall_ms for what is recorded and scheduled (UTC dates),
	 * mono_ms (CLOCK_MONOTONIC) for elapsed time: timeouts, grace periods, intervals. */
	int64_t wall_ms, mono_ms;
	bool ticked;            /* wall_ms and mono_ms hold a tick's clocks */
	int64_t next_reload_ms; /* monotonic */
	int64_t next_sweep_ms;  /* monotonic; the daemon sweeps leftover services now and then */
	char *logs_dir;
	bool dispatched_or_finished; /* the last tick changed something (adaptive polling) */
	/* A tick skips the pass over the runs when nothing it reads can have changed since the
	 * last pass (sched.c, runs_pass_needed): the store's marks at the end of the last tick,
	 * whether that pass wrote anything, when it was (monotonic), and a reason to pass anyway
	 * (a DAG reload, a SIGHUP, a create that failed). */
	struct store_marks marks;
	bool marks_valid;
	bool runs_settled;
	bool runs_active; /* the last pass found active runs */
	int64_t runs_pass_mono;
	bool runs_stale;
	struct limits *limits;     /* limits.c: what is in flight, per DAG and pool */
	struct notifier *notifier; /* notify.c: failure webhooks, posted off the loop */
	struct orphan *orphans;    /* runs whose DAG went missing, and since when (orphan.c) */
	size_t n_orphans;
	struct stranger *strangers; /* sweep.c: our services the store does not know */
	size_t n_strangers;
	int64_t stranger_grace_ms; /* how long one may stay before it is removed */
	char engine_error[1024];   /* the last engine failure since the last heartbeat, or "" */
	int64_t next_heartbeat_ms; /* monotonic */
	bool aborting;             /* sched_abort_run() is ending the run: no retries */
	struct schedule_state *schedules; /* schedule.c: per DAG, when to look at it again */
	struct nodeloss *nodeloss;        /* nodeloss.c: nodes seen down, and since when (lazy) */
	/* The daemon's scheduler lease, held when the loop starts (set by the caller; NULL for
	 * `dags test`): renewed before each tick; the loop ends with 1 when it is lost. */
	struct sched_lease *lease;
	int64_t engine_seen_ms; /* monotonic: the engine last answered a ping (lease keeping) */
	bool fenced; /* the lease could not be confirmed before an engine change: stop (exit 1) */
	/* The dags folder's watcher (sched_watch_dags), or NULL: then the folder is polled every
	 * dag_reload_interval, as it also is once the watcher fell back to polling. */
	struct dagwatch *watch;
	/* wake.c: what ends the wait between ticks besides the time (see wake.h). */
	int signal_fd; /* a signalfd of signals, once signal_fd_open (-1: none could be made) */
	bool signal_fd_open;
	struct sched_wake_fd *wakes;
	size_t n_wakes;
	/* The engine's event stream (set by the caller; NULL: polling only): the loop's wait also
	 * ends when it names a service, which is then polled at once (poll.c). */
	struct event_watch *events;
};

/* Sets up a scheduler over objects the caller owns and keeps alive. only_run_pk: 0 for the
 * daemon, else the one run a `dags test` drives. Loads the tries that own a service from the
 * store, to be polled again (a restarted scheduler adopts them). */
bool sched_init(struct scheduler *s, const struct config *cfg, struct store *store,
		struct engine *engine, struct dagbag *bag, int64_t only_run_pk, char **err);
void sched_finish(struct scheduler *s);

/* One pass: reload DAGs when due, poll every in-flight service in one request, finish what
 * ended, activate queued runs, decide ready tasks and dispatch them (downstream tasks of a try
 * that just finished are dispatched in the same pass), and finish runs. False only when the
 * store fails (engine trouble is logged and retried next pass). */
bool sched_tick(struct scheduler *s, int64_t now_ms);
/* The same with the two clocks apart (sched_tick gives now_ms as both): wall_ms is the UTC time
 * recorded and scheduled by, mono_ms a monotonic clock that measures every elapsed time. */
bool sched_tick_clock(struct scheduler *s, int64_t wall_ms, int64_t mono_ms);

/* Adaptive polling: how long to wait before the next poll, since_change_ms after the start of
 * the last tick that dispatched or finished a try, with poll_interval max_ms. Right after a
 * change a task may end any moment, so the polls come 0.1, 0.2 and 0.4 s after it, then at
 * every multiple of max_ms after it: never later than a poll every max_ms would see the end. */
int64_t sched_next_poll(int64_t since_change_ms, int64_t max_ms);

/* Watches the dags folder of s->bag (already loaded) with inotify from now on (the daemon):
 * a change is read within a second, with no polling, and the whole folder is rescanned every
 * dag_rescan_interval all the same. sys: NULL for the real system calls (watch.h). False when
 * inotify cannot be used (said once in the log): the folder is then polled every
 * dag_reload_interval as without this call. */
bool sched_watch_dags(struct scheduler *s, const struct dagwatch_sys *sys);

/* With nothing in flight the daemon's loop ticks at most this often (or every poll_interval
 * when that is longer; the ticks are spread evenly up to the next lease renewal, so that it
 * needs no wake-up of its own). What an idle tick finds (a run triggered from the CLI or the
 * web API, a schedule that came due) starts within 2 s; Airflow's scheduler heartbeat is 5 s.
 * A tick blocks on the engine and the store a few times, so 2 s keeps an idle scheduler under
 * one wake-up per second. */
#define SCHED_IDLE_TICK_MS 2000

/* Runs ticks until SIGTERM/SIGINT (see signals) or, with only_run_pk, until that run has
 * finished. Returns 0 on a clean stop or a successful watched run, 1 when the watched run failed
 * or was interrupted, or when the store failed. */
int sched_loop(struct scheduler *s);

/* Creates a run of dag in state queued (store_run_create) with one task instance per task of
 * the DAG, each allowed retries + 1 tries. r gives the run id, type, dates, conf and runner;
 * its dag_id is taken from dag. *out (may be NULL) and *err as in store_run_create. */
bool sched_run_create(struct store *st, const struct dag *dag, const struct run *r, struct run *out,
		      char **err);

/* The runner name of this process as a `dags test`: "test:<host>:<pid>" (caller frees). */
char *sched_test_runner(void);
/* True when runner names a `dags test` process on this host that no longer exists. */
bool sched_runner_dead(const char *runner);

/* Ends the run of a `dags test` (only_run_pk) at once: fetches the logs of its tries that own
 * a service and removes the services, marks those tries and every task instance not finished
 * as failed with reason, and the run as failed. Nothing of the run is left running. */
bool sched_abort_run(struct scheduler *s, const char *reason, int64_t now_ms);

/* The engine's reason for a try that ended (exposed for tests). */
char *sched_failure_reason(const struct task_status *st);

#endif
