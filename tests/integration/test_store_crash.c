/* test_store_crash.c - SIGKILLs processes that write the store at random moments, then checks
 * that nothing committed was lost and no state was left half-written.
 *
 * Writers (SLOTS at a time) drive runs of a chain DAG through the scheduler's transitions with
 * the public store API, each transition one transaction: create the run with its task instances,
 * start it (run running + first task scheduled), queue a try, run it (state + node), finish it
 * (task instance + try record + next task scheduled or run finished, or the failure cascade),
 * retry. A killed writer's successor in the same slot resumes the slot's unfinished runs from the
 * database, as a restarted scheduler does. After each commit returns, a writer appends what it
 * committed to its slot's log in one write(), ending with "commit" (a kill between commit and
 * write loses only the log lines, never the other way round). A SIGKILL can also cut that
 * write() short (Linux checks for a fatal signal between the pages it copies), so each writer
 * first writes "\nwriter\n": a cut-short tail then stands on a line of its own and the lines
 * of a transaction count only once its "commit" line is there. One log per slot: writers of a
 * slot live one after the other, so no two ever append to one file at once. A reader
 * process opens the store again and again, like the CLI, and checks every snapshot it reads.
 *
 * Afterwards: integrity_check is "ok", foreign_key_check is empty, every logged transition is in
 * the database (or a later state of the same task instance or run is), every run, task instance
 * and try is in a possible state, and a last writer can still write.
 *
 * How we know it can fail (each checked by hand while writing it):
 * - SF_CRASH_SPLIT=1 makes the writers commit a try's end in two transactions (task instance,
 *   then try record and what follows). 13 runs of 13 failed: the reader with "task instance X is
 *   failed on try 1 with 0 tries recorded" or "run X: task 1 is none after 1 successes", the
 *   next writer of the slot on the state it could not resume. With the reader's and the writers'
 *   own checks disabled, the checks at the end alone failed 5 runs of 5 ("running run X has no
 *   active task", "logged try X/2 ... is not recorded as such"), and passed without the split.
 * - Committing store_run_create's run before inserting its task instances (src/store/store_run.c,
 *   reverted): 10 runs of 10 failed with "run X has 0 task instances, its conf says N".
 * SF_CRASH_SEED=n replays a seed (the writers' timing still varies).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

#define SLOTS 2              /* writer processes at once */
#define KILLS 300            /* writer processes SIGKILLed in all, at most */
#define MIN_KILLS 50         /* ... and at least (the test fails with fewer) */
#define KILL_BUDGET_MS 10000 /* no new writer after this long: the test stays under 20 s */
#define MIN_LIFE_US 300      /* a writer lives MIN_LIFE_US..MAX_LIFE_US before its kill */
#define MAX_LIFE_US 25000
#define MAX_TASKS 4      /* tasks per run: 1..MAX_TASKS, a chain */
#define READER_REOPEN 20 /* the reader opens a new connection every this many snapshots */
#define READER_RUNS 40   /* runs per snapshot (newest first), like `runs list` */
#define WHY_LEN 256

/* Where a writer is, in shared memory, sampled by the parent just before each kill. */
enum phase { PH_OPENING, PH_IDLE, PH_TX, PH_UNLOGGED, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"opening the store", "reading or idle",
						  "inside a transaction", "committed, not logged"};

struct writer {
	struct store *s;
	int slot;
	int log_fd;
	bool split; /* SF_CRASH_SPLIT: end a try in two transactions (a bug) */
	uint64_t rng;
	volatile int *phase; /* shared with the parent */
	struct buf log;      /* lines of the transaction under way */
	int64_t run_pk;      /* the run being driven, 0: none */
	unsigned runs_made;
};

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void die(struct writer *w, const char *what, char *err)
{
	fprintf(stderr, "writer %d (pid %d): %s: %s\n", w->slot, (int)getpid(), what,
		err ? err : "?");
	_exit(2);
}

/* The transaction starts: nothing of it is logged yet. */
static void tx_begin(struct writer *w)
{
	buf_reset(&w->log);
	*w->phase = PH_TX;
	char *err = NULL;
	if (!store_begin(w->s, &err))
		die(w, "begin", err);
}

/* After a commit returned (and only then): logs what it committed, in one write(). */
static void log_committed(struct writer *w)
{
	*w->phase = PH_UNLOGGED;
	buf_printf(&w->log, "commit\n");
	if (write(w->log_fd, w->log.data, w->log.len) != (ssize_t)w->log.len)
		die(w, "write the log", strerror(errno));
	*w->phase = PH_IDLE;
}

static void tx_commit(struct writer *w)
{
	char *err = NULL;
	if (!store_commit(w->s, &err))
		die(w, "commit", err);
	log_committed(w);
}

static void update(struct writer *w, struct ti *ti)
{
	char *err = NULL;
	if (!store_ti_update(w->s, ti, &err))
		die(w, "update task instance", err);
	buf_printf(&w->log, "ti %lld %d %s\n", (long long)ti->id, ti->try_number,
		   ti_state_name(ti->state));
}

static void set_run_state(struct writer *w, int64_t run_pk, enum run_state st)
{
	char *err = NULL;
	if (!store_run_set_state(w->s, run_pk, st, time_now_ms(), &err))
		die(w, "set run state", err);
	buf_printf(&w->log, "runstate %lld %s\n", (long long)run_pk, run_state_name(st));
}

static void replace(char **field, char *v)
{
	free(*field);
	*field = v;
}

static void create_run(struct writer *w)
{
	static const char *const names[MAX_TASKS] = {"extract", "transform", "load", "report"};
	int tries[MAX_TASKS];
	size_t n = 1 + next_rand(&w->rng) % MAX_TASKS;
	for (size_t i = 0; i < n; i++)
		tries[i] = 1 + (int)(next_rand(&w->rng) % 3);
	char *run_id = xasprintf("w%d-%d-%u", w->slot, (int)getpid(), w->runs_made++);
	char *runner = xasprintf("w%d", w->slot);
	char *conf =
	    xasprintf("{\"n\":%zu,\"slot\":%d,\"note\":\"\xc3\xa9t\xc3\xa9\"}", n, w->slot);
	struct run r = {.dag_id = "crash",
			.run_id = run_id,
			.queued_ms = time_now_ms(),
			.conf = conf,
			.runner = runner,
			.logical_date = time_now_ms() / 1000};
	struct run out = {0};
	char *err = NULL;
	buf_reset(&w->log);
	*w->phase = PH_TX;
	if (!store_run_create(w->s, &r, names, tries, n, &out, &err))
		die(w, "create run", err);
	buf_printf(&w->log, "run %lld %zu\n", (long long)out.id, n);
	log_committed(w);
	w->run_pk = out.id;
	run_finish(&out);
	free(run_id);
	free(runner);
	free(conf);
}

/* A try ends: the task instance, its try record, and what follows (next task, run's end). */
static void end_try(struct writer *w, struct ti_list *tis, size_t i)
{
	struct ti *ti = &tis->v[i];
	int64_t now = time_now_ms();
	uint64_t r = next_rand(&w->rng) % 10;
	ti->end_ms = now;
	ti->has_exit_code = true;
	ti->exit_code = r < 6 ? 0 : 1;
	ti->state = r < 6                            ? TI_SUCCESS
		    : ti->try_number < ti->max_tries ? TI_UP_FOR_RETRY
						     : TI_FAILED;
	if (ti->state == TI_UP_FOR_RETRY)
		ti->next_try_ms = now + 1;
	replace(&ti->log_path, xasprintf("/logs/%lld/%d.log", (long long)ti->id, ti->try_number));
	tx_begin(w);
	update(w, ti);
	if (w->split) {
		tx_commit(w);
		tx_begin(w);
	}
	char *err = NULL;
	if (!store_try_record(w->s, ti, &err))
		die(w, "record try", err);
	buf_printf(&w->log, "try %lld %d %s %lld %s %lld\n", (long long)ti->id, ti->try_number,
		   ti_state_name(ti->state), (long long)ti->end_ms, ti->node_id ? ti->node_id : "-",
		   (long long)ti->queued_ms);
	if (ti->state == TI_SUCCESS && i + 1 < tis->len) {
		tis->v[i + 1].state = TI_SCHEDULED;
		update(w, &tis->v[i + 1]);
	} else if (ti->state == TI_SUCCESS) {
		set_run_state(w, ti->run_pk, RUN_SUCCESS);
	} else if (ti->state == TI_FAILED) {
		for (size_t j = i + 1; j < tis->len; j++) {
			tis->v[j].state = TI_UPSTREAM_FAILED;
			tis->v[j].end_ms = now;
			update(w, &tis->v[j]);
		}
		set_run_state(w, ti->run_pk, RUN_FAILED);
	}
	tx_commit(w);
}

/* Moves the active task instance of the run one transition on. */
static void advance_ti(struct writer *w, struct ti_list *tis, size_t i)
{
	struct ti *ti = &tis->v[i];
	char *err = NULL;
	switch (ti->state) {
	case TI_SCHEDULED: /* dispatch: a new try, queued, its service named */
		ti->try_number++;
		ti->state = TI_QUEUED;
		ti->queued_ms = time_now_ms();
		ti->start_ms = ti->end_ms = ti->next_try_ms = 0;
		ti->has_exit_code = false;
		replace(&ti->service_id, NULL);
		replace(&ti->service_name,
			xasprintf("crash_%lld_%d", (long long)ti->id, ti->try_number));
		tx_begin(w);
		update(w, ti);
		tx_commit(w);
		return;
	case TI_QUEUED: /* the poll sees it running, on a node */
		ti->state = TI_RUNNING;
		ti->start_ms = time_now_ms();
		replace(&ti->service_id, xasprintf("svc%llx", (unsigned long long)w->rng));
		replace(&ti->node_id, xasprintf("node-%d", (int)(next_rand(&w->rng) % 5)));
		tx_begin(w);
		update(w, ti);
		if (!store_ti_set_node(w->s, ti->id, ti->node_id, &err))
			die(w, "set node", err);
		tx_commit(w);
		return;
	case TI_RUNNING:
		end_try(w, tis, i);
		return;
	case TI_UP_FOR_RETRY: /* its retry delay is over */
		ti->state = TI_SCHEDULED;
		ti->queued_ms = 0;
		tx_begin(w);
		update(w, ti);
		tx_commit(w);
		return;
	default:
		die(w, "advance",
		    xasprintf("task instance %lld in state %s", (long long)ti->id,
			      ti_state_name(ti->state)));
	}
}

/* Picks up an unfinished run of this slot (its last writer was killed), or none. */
static void resume(struct writer *w)
{
	struct run_list runs = {0};
	char *err = NULL;
	char *runner = xasprintf("w%d", w->slot);
	if (!store_runs_active(w->s, &runs, &err))
		die(w, "list active runs", err);
	for (size_t i = 0; !w->run_pk && i < runs.len; i++)
		if (runs.v[i].runner && strcmp(runs.v[i].runner, runner) == 0)
			w->run_pk = runs.v[i].id;
	run_list_finish(&runs);
	free(runner);
}

/* One transition of the writer's run (creating or resuming one first when it has none). */
static void writer_step(struct writer *w)
{
	if (!w->run_pk)
		resume(w);
	if (!w->run_pk) {
		create_run(w);
		return;
	}
	struct run run = {0};
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_run_get_by_id(w->s, w->run_pk, &run, &err) ||
	    !store_tis_for_run(w->s, w->run_pk, &tis, &err))
		die(w, "read run", err);
	if (tis.len == 0)
		die(w, "read run", xasprintf("run %lld has no task instances", (long long)run.id));
	if (run.state == RUN_QUEUED) {
		tx_begin(w);
		set_run_state(w, run.id, RUN_RUNNING);
		tis.v[0].state = TI_SCHEDULED;
		update(w, &tis.v[0]);
		tx_commit(w);
	} else if (run.state == RUN_RUNNING) {
		size_t i = 0;
		while (i < tis.len && tis.v[i].state == TI_SUCCESS)
			i++;
		if (i == tis.len)
			die(w, "advance",
			    xasprintf("run %lld is done but running", (long long)run.id));
		advance_ti(w, &tis, i);
	} else {
		w->run_pk = 0;
	}
	ti_list_finish(&tis);
	run_finish(&run);
}

static void writer_init(struct writer *w, const char *path, int slot, int log_fd, uint64_t seed,
			volatile int *phase)
{
	*w = (struct writer){.slot = slot, .log_fd = log_fd, .rng = seed | 1, .phase = phase};
	w->split = getenv("SF_CRASH_SPLIT") && strcmp(getenv("SF_CRASH_SPLIT"), "1") == 0;
	buf_init(&w->log, 0);
	/* Ends whatever a killed predecessor's cut-short write left (see the top comment). */
	static const char marker[] = "\nwriter\n";
	if (write(log_fd, marker, sizeof(marker) - 1) != (ssize_t)(sizeof(marker) - 1))
		die(w, "write the log", strerror(errno));
	char *err = NULL;
	w->s = store_open(path, &err);
	if (!w->s)
		die(w, "open", err);
	*phase = PH_IDLE;
}

static void writer_finish(struct writer *w)
{
	store_close(w->s);
	buf_finish(&w->log);
}

/* The life of a writer process: it only ends by SIGKILL. */
static void writer_main(const char *path, int slot, int log_fd, uint64_t seed, volatile int *phase)
{
	struct writer w;
	writer_init(&w, path, slot, log_fd, seed, phase);
	for (;;)
		writer_step(&w);
}

/* ---- Checks, shared by the reader (on live snapshots) and the parent (at the end). ---- */

static bool fail_why(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail_why(char *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, WHY_LEN, fmt, ap);
	va_end(ap);
	return false;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *or_null(const char *s)
{
	return s ? s : "NULL";
}

static bool is_active(enum ti_state s)
{
	return s == TI_SCHEDULED || s == TI_QUEUED || s == TI_RUNNING || s == TI_UP_FOR_RETRY;
}

/* The tries of ti: 1..k recorded (k: tries that ended), earlier ones up_for_retry, the last
 * one matching ti when ti's own try has ended. exact: no other rows (tries read later than ti,
 * by the reader, may have moved on). */
static bool check_tries(const struct ti *ti, const struct ti_list *tries, bool exact, char *why)
{
	bool ended = ti->state == TI_UP_FOR_RETRY || ti->state == TI_SUCCESS ||
		     ti->state == TI_FAILED || (ti->state == TI_SCHEDULED && ti->try_number > 0);
	size_t k = (size_t)ti->try_number - (ended || ti->try_number == 0 ? 0 : 1);
	if (tries->len < k || (exact && tries->len != k))
		return fail_why(why, "task instance %lld is %s on try %d with %zu tries recorded",
				(long long)ti->id, ti_state_name(ti->state), ti->try_number,
				tries->len);
	for (size_t i = 0; i < k; i++) {
		const struct ti *t = &tries->v[i];
		bool own = i + 1 == (size_t)ti->try_number && ti->state != TI_SCHEDULED;
		enum ti_state want = own ? ti->state : TI_UP_FOR_RETRY;
		if (t->try_number != (int)i + 1 || t->state != want || !t->end_ms || !t->node_id ||
		    !t->queued_ms)
			return fail_why(why,
					"task instance %lld: try %zu is %s (want %s), end %lld",
					(long long)ti->id, i + 1, ti_state_name(t->state),
					ti_state_name(want), (long long)t->end_ms);
		if (own && (t->end_ms != ti->end_ms || !same_str(t->node_id, ti->node_id) ||
			    t->queued_ms != ti->queued_ms))
			return fail_why(why,
					"task instance %lld: try %d differs from it (node %s/%s)",
					(long long)ti->id, ti->try_number, or_null(t->node_id),
					or_null(ti->node_id));
	}
	return true;
}

/* The fields one task instance must have in its state. */
static bool check_ti(const struct ti *ti, char *why)
{
	bool ok = true;
	switch (ti->state) {
	case TI_NONE:
		ok = ti->try_number == 0 && !ti->end_ms && !ti->node_id;
		break;
	case TI_SCHEDULED: /* the node is its last try's, if it had one */
		ok = !ti->queued_ms && !ti->node_id == (ti->try_number == 0);
		break;
	case TI_QUEUED:
		ok = ti->try_number >= 1 && ti->queued_ms && ti->service_name && !ti->node_id;
		break;
	case TI_RUNNING:
		ok = ti->queued_ms && ti->start_ms && ti->service_id && ti->node_id && !ti->end_ms;
		break;
	case TI_UP_FOR_RETRY:
		ok = ti->end_ms && ti->next_try_ms && ti->node_id && ti->try_number < ti->max_tries;
		break;
	case TI_SUCCESS:
	case TI_FAILED:
		ok = ti->queued_ms && ti->start_ms && ti->end_ms && ti->node_id &&
		     ti->has_exit_code && (ti->exit_code == 0) == (ti->state == TI_SUCCESS) &&
		     (ti->state == TI_SUCCESS || ti->try_number == ti->max_tries);
		break;
	case TI_UPSTREAM_FAILED:
		ok = ti->try_number == 0 && ti->end_ms;
		break;
	default:
		ok = false;
	}
	if (!ok)
		return fail_why(why,
				"task instance %lld is %s without its fields (try %d/%d, "
				"queued %lld, start %lld, end %lld, node %s)",
				(long long)ti->id, ti_state_name(ti->state), ti->try_number,
				ti->max_tries, (long long)ti->queued_ms, (long long)ti->start_ms,
				(long long)ti->end_ms, or_null(ti->node_id));
	return true;
}

/* The chain: successes, then one task that is active, failed (then all upstream_failed), or
 * none (then the run has not started: all none). Returns the index of the first non-success. */
static bool check_chain(const struct ti_list *tis, size_t *first, char *why)
{
	size_t i = 0;
	while (i < tis->len && tis->v[i].state == TI_SUCCESS)
		i++;
	*first = i;
	if (i == tis->len)
		return true;
	enum ti_state after = tis->v[i].state == TI_FAILED ? TI_UPSTREAM_FAILED : TI_NONE;
	if (!is_active(tis->v[i].state) && tis->v[i].state != TI_FAILED &&
	    !(tis->v[i].state == TI_NONE && i == 0))
		return fail_why(why, "run %lld: task %zu is %s after %zu successes",
				(long long)tis->v[i].run_pk, i, ti_state_name(tis->v[i].state), i);
	for (size_t j = i + 1; j < tis->len; j++)
		if (tis->v[j].state != after)
			return fail_why(why, "run %lld: task %zu is %s, want %s",
					(long long)tis->v[j].run_pk, j,
					ti_state_name(tis->v[j].state), ti_state_name(after));
	return true;
}

/* The run's state against its task instances' (only from one consistent read: the parent's). */
static bool check_run_state(const struct run *run, const struct ti_list *tis, size_t first,
			    char *why)
{
	bool ok;
	switch (run->state) {
	case RUN_QUEUED:
		ok = tis->v[0].state == TI_NONE && !run->start_ms;
		break;
	case RUN_RUNNING:
		ok = first < tis->len && is_active(tis->v[first].state) && run->start_ms &&
		     !run->end_ms;
		break;
	case RUN_SUCCESS:
		ok = first == tis->len && run->end_ms;
		break;
	default:
		ok = first < tis->len && tis->v[first].state == TI_FAILED && run->end_ms;
	}
	if (!ok)
		return fail_why(why, "%s run %lld has no active task or the wrong one (%s)",
				run_state_name(run->state), (long long)run->id,
				first < tis->len ? ti_state_name(tis->v[first].state) : "all done");
	return true;
}

/* Everything about one run. whole: the parent's check of a database nobody writes. */
static bool check_run(struct store *s, const struct run *run, bool whole, char *why)
{
	struct ti_list tis = {0};
	char *err = NULL;
	if (!store_tis_for_run(s, run->id, &tis, &err))
		return fail_why(why, "read task instances: %s", err);
	json_t *conf = json_loads(run->conf, 0, NULL);
	size_t n = (size_t)json_integer_value(json_object_get(conf, "n"));
	json_decref(conf);
	size_t first = 0;
	bool ok =
	    tis.len == n || fail_why(why, "run %lld has %zu task instances, its conf says %zu",
				     (long long)run->id, tis.len, n);
	ok = ok && check_chain(&tis, &first, why) &&
	     (!whole || check_run_state(run, &tis, first, why));
	for (size_t i = 0; ok && i < tis.len; i++) {
		struct ti_list tries = {0};
		ok = check_ti(&tis.v[i], why) &&
		     (store_tries_list(s, tis.v[i].id, &tries, &err) ||
		      fail_why(why, "read tries: %s", err)) &&
		     check_tries(&tis.v[i], &tries, whole, why);
		ti_list_finish(&tries);
	}
	ti_list_finish(&tis);
	free(err);
	return ok;
}

/* ---- The reader: like the CLI, a fresh connection now and then, reading all the while. ---- */

static volatile sig_atomic_t reader_stop;

static void on_term(int sig)
{
	(void)sig;
	reader_stop = 1;
}

/* Reads snapshots until SIGTERM; writes how many it checked to out_fd; exits 1 on the first
 * impossible state or store error. */
static void reader_main(const char *path, int out_fd)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	long snapshots = 0, runs = 0;
	char why[WHY_LEN] = "";
	struct store *s = NULL;
	while (!reader_stop) {
		char *err = NULL;
		if (snapshots % READER_REOPEN == 0) {
			store_close(s);
			if (!(s = store_open(path, &err))) {
				snprintf(why, sizeof(why), "open: %s", err);
				break;
			}
		}
		struct run_list l = {0};
		if (!store_runs_list(s, "crash", NULL, READER_RUNS, &l, &err)) {
			snprintf(why, sizeof(why), "list runs: %s", err);
			break;
		}
		bool ok = true;
		for (size_t i = 0; ok && i < l.len; i++)
			ok = check_run(s, &l.v[i], false, why);
		runs += (long)l.len;
		run_list_finish(&l);
		if (!ok)
			break;
		snapshots++;
		free(err);
	}
	store_close(s);
	if (!reader_stop) {
		fprintf(stderr, "reader: %s\n", why[0] ? why : "store error");
		_exit(1);
	}
	dprintf(out_fd, "%ld %ld\n", snapshots, runs);
	_exit(0);
}

/* ---- The parent: spawns, kills, verifies. ---- */

/* In a child: dies with the parent, so that a failing test leaves no writer running; and dies
 * of a crash instead of letting cmocka's handlers run the rest of the test in the child. */
static void child_init(pid_t parent)
{
	static const int crashes[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < ARRAY_LEN(crashes); i++)
		signal(crashes[i], SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(4);
}

struct crash {
	char dir[64], db[128], log[SLOTS][128];
	uint64_t rng;
	int log_fd[SLOTS];    /* one log per slot */
	volatile int *phases; /* one per slot, shared */
	pid_t writers[SLOTS]; /* 0: none alive */
	pid_t reader;
	int64_t deadline_us[SLOTS];
	long kills_in[PH_COUNT];
	long kills;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void spawn_writer(struct crash *c, int slot)
{
	c->phases[slot] = PH_OPENING;
	uint64_t seed = next_rand(&c->rng);
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_init(parent);
		writer_main(c->db, slot, c->log_fd[slot], seed, &c->phases[slot]);
	}
	c->writers[slot] = pid;
	c->deadline_us[slot] =
	    now_us() + MIN_LIFE_US + (int64_t)(next_rand(&c->rng) % (MAX_LIFE_US - MIN_LIFE_US));
}

static void kill_writer(struct crash *c, int slot)
{
	int64_t wait = c->deadline_us[slot] - now_us();
	if (wait > 0)
		usleep((useconds_t)wait);
	int phase = c->phases[slot];
	assert_int_equal(kill(c->writers[slot], SIGKILL), 0);
	int status = 0;
	assert_int_equal(waitpid(c->writers[slot], &status, 0), c->writers[slot]);
	c->writers[slot] = 0;
	if (WIFEXITED(status))
		fail_msg("writer %d exited with %d: see its message above", slot,
			 WEXITSTATUS(status));
	if (WTERMSIG(status) != SIGKILL)
		fail_msg("writer %d died of signal %d", slot, WTERMSIG(status));
	c->kills_in[phase >= 0 && phase < PH_COUNT ? phase : PH_IDLE]++;
	c->kills++;
}

static void spawn_reader(struct crash *c, int *out_fd)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_init(parent);
		close(fds[0]);
		reader_main(c->db, fds[1]);
	}
	close(fds[1]);
	*out_fd = fds[0];
	c->reader = pid;
}

static void stop_reader(struct crash *c, int fd, long *snapshots, long *runs)
{
	assert_int_equal(kill(c->reader, SIGTERM), 0);
	int status = 0;
	assert_int_equal(waitpid(c->reader, &status, 0), c->reader);
	c->reader = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the reader failed (wait status %#x): see its message above", status);
	char line[64] = "";
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	assert_true(n > 0);
	line[n] = '\0';
	assert_int_equal(sscanf(line, "%ld %ld", snapshots, runs), 2);
}

/* The order of a task instance's states (try, then rank): a committed state may only be
 * followed by later ones. Scheduled comes after the end of the try it follows. */
static int64_t ti_order(int try_number, enum ti_state st)
{
	static const int rank[TI_STATE_COUNT] = {
	    [TI_NONE] = 0,      [TI_QUEUED] = 2,  [TI_RUNNING] = 3, [TI_UP_FOR_RETRY] = 4,
	    [TI_SCHEDULED] = 5, [TI_SUCCESS] = 6, [TI_FAILED] = 6,  [TI_UPSTREAM_FAILED] = 6,
	};
	return (int64_t)try_number * 16 + rank[st];
}

static int run_order(enum run_state st)
{
	return st == RUN_QUEUED ? 0 : st == RUN_RUNNING ? 1 : 2;
}

/* One logged line against the database; false with why. */
static bool check_logged(struct store *s, const char *line, char *why)
{
	long long pk, a, end, queued;
	char st[32], node[64];
	char *err = NULL;
	struct run run = {0};
	struct ti ti = {0};
	struct ti_list l = {0};
	bool ok = true;
	if (sscanf(line, "run %lld %lld", &pk, &a) == 2) {
		ok = (store_tis_for_run(s, pk, &l, &err) && l.len == (size_t)a) ||
		     fail_why(why, "logged run %lld: %zu task instances", pk, l.len);
	} else if (sscanf(line, "runstate %lld %31s", &pk, st) == 2) {
		enum run_state want = RUN_QUEUED;
		ok = run_state_parse(st, &want) && store_run_get_by_id(s, pk, &run, &err) &&
		     run_order(run.state) >= run_order(want);
		if (!ok)
			fail_why(why, "logged run %lld %s, found %s", pk, st,
				 run_state_name(run.state));
	} else if (sscanf(line, "ti %lld %lld %31s", &pk, &a, st) == 3) {
		enum ti_state want = TI_NONE;
		ok = ti_state_parse(st, &want) && store_ti_get(s, pk, &ti, &err) &&
		     ti_order(ti.try_number, ti.state) >= ti_order((int)a, want);
		if (!ok)
			fail_why(why, "logged task instance %lld try %lld %s, found try %d %s", pk,
				 a, st, ti.try_number, ti_state_name(ti.state));
	} else if (sscanf(line, "try %lld %lld %31s %lld %63s %lld", &pk, &a, st, &end, node,
			  &queued) == 6) {
		const struct ti *t = NULL;
		ok = store_tries_list(s, pk, &l, &err);
		for (size_t i = 0; ok && i < l.len; i++)
			if (l.v[i].try_number == a)
				t = &l.v[i];
		ok = ok && t && strcmp(ti_state_name(t->state), st) == 0 && t->end_ms == end &&
		     same_str(t->node_id, node) && t->queued_ms == queued;
		if (!ok)
			fail_why(why, "logged try %lld/%lld %s on %s is not recorded as such", pk,
				 a, st, node);
	} else if (strcmp(line, "commit") != 0) {
		ok = fail_why(why, "bad log line '%s'", line);
	}
	ti_list_finish(&l);
	ti_finish(&ti);
	run_finish(&run);
	free(err);
	return ok;
}

/* Checks every line of the log; counts transitions (lines) and transactions ("commit"). */
static void check_log(struct store *s, const char *path, long *transitions, long *txs,
		      long *runs_logged)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char line[256], why[WHY_LEN];
	struct strv pending = {0}; /* the lines of a transaction whose "commit" has not come */
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "writer") == 0 || line[0] == '\0') {
			strv_finish(
			    &pending); /* a transaction cut short by a kill: never confirmed */
			pending = (struct strv){0};
			continue;
		}
		if (strcmp(line, "commit") != 0) {
			strv_push(&pending, line);
			continue;
		}
		for (size_t i = 0; i < pending.len; i++) {
			if (!check_logged(s, pending.v[i], why))
				fail_msg("%s", why);
			*transitions += 1;
			*runs_logged += strncmp(pending.v[i], "run ", 4) == 0;
		}
		*txs += 1;
		strv_finish(&pending);
		pending = (struct strv){0};
	}
	strv_finish(&pending);
	fclose(fp);
}

static void raw_checks(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		fail_msg("foreign_key_check: a row of %s breaks a foreign key",
			 sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Checks every run in the database; returns how many. */
static long check_all_runs(struct store *s)
{
	struct run_list l = {0};
	char *err = NULL;
	char why[WHY_LEN];
	if (!store_runs_list(s, NULL, NULL, 0, &l, &err))
		fail_msg("list runs: %s", err);
	for (size_t i = 0; i < l.len; i++)
		if (!check_run(s, &l.v[i], true, why))
			fail_msg("%s", why);
	long n = (long)l.len;
	run_list_finish(&l);
	return n;
}

/* A last writer, in this process: resumes what slot 0 left, then drives a new run to its end. */
static void last_writer(struct crash *c)
{
	static int phase;
	struct writer w;
	writer_init(&w, c->db, 0, c->log_fd[0], next_rand(&c->rng), &phase);
	int64_t done = 0;
	for (int i = 0; i < 1000 && !done; i++) {
		bool had = w.run_pk != 0;
		writer_step(&w);
		if (w.runs_made && had && !w.run_pk)
			done = 1;
	}
	assert_true(done);
	writer_finish(&w);
}

static uint64_t seed_of(void)
{
	const char *e = getenv("SF_CRASH_SEED");
	int64_t v = 0;
	if (e && parse_int64(e, 1, INT64_MAX, &v))
		return (uint64_t)v;
	return (uint64_t)time_now_ms() ^ ((uint64_t)getpid() << 32);
}

static int setup_crash(void **state)
{
	struct crash *c = xcalloc(1, sizeof(*c));
	*state = c;
	snprintf(c->dir, sizeof(c->dir), "/tmp/sf_crash_XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->db, sizeof(c->db), "%s/state.db", c->dir);
	for (int k = 0; k < SLOTS; k++) {
		snprintf(c->log[k], sizeof(c->log[k]), "%s/committed.%d.log", c->dir, k);
		c->log_fd[k] = open(c->log[k], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		assert_true(c->log_fd[k] >= 0);
	}
	c->phases = mmap(NULL, SLOTS * sizeof(int), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(c->phases != MAP_FAILED);
	/* The schema exists before the first kill (migrations under kills: test_migrate). */
	char *err = NULL;
	struct store *s = store_open(c->db, &err);
	assert_non_null(s);
	store_close(s);
	return 0;
}

/* Also after a failure: no child outlives the test. */
static int teardown_crash(void **state)
{
	struct crash *c = *state;
	pid_t *kids[SLOTS + 1] = {&c->reader};
	for (int k = 0; k < SLOTS; k++)
		kids[k + 1] = &c->writers[k];
	for (size_t i = 0; i < ARRAY_LEN(kids); i++) {
		if (*kids[i] > 0) {
			kill(*kids[i], SIGKILL);
			waitpid(*kids[i], NULL, 0);
		}
	}
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", c->db, suffixes[i]);
		unlink(p);
	}
	for (int k = 0; k < SLOTS; k++)
		unlink(c->log[k]);
	rmdir(c->dir);
	munmap((void *)c->phases, SLOTS * sizeof(int));
	for (int k = 0; k < SLOTS; k++)
		close(c->log_fd[k]);
	free(c);
	return 0;
}

static void test_kill_during_writes(void **state)
{
	struct crash *c = *state;
	uint64_t seed = seed_of();
	c->rng = seed | 1;
	int64_t t0 = time_mono_ms();
	int reader_fd;
	spawn_reader(c, &reader_fd);
	for (int k = 0; k < SLOTS; k++)
		spawn_writer(c, k);
	for (int live = SLOTS; live > 0;) {
		int k = 0;
		for (int j = 1; j < SLOTS; j++)
			if (c->deadline_us[j] < c->deadline_us[k])
				k = j;
		kill_writer(c, k);
		bool more = c->kills + live <= KILLS &&
			    (time_mono_ms() - t0 < KILL_BUDGET_MS || c->kills + live <= MIN_KILLS);
		if (more) {
			spawn_writer(c, k);
		} else {
			c->deadline_us[k] = INT64_MAX;
			live--;
		}
	}
	long snapshots = 0, reader_runs = 0;
	stop_reader(c, reader_fd, &snapshots, &reader_runs);
	int64_t t_kills = time_mono_ms() - t0;

	raw_checks(c->db);
	char *err = NULL;
	struct store *s = store_open(c->db, &err);
	assert_non_null(s);
	long transitions = 0, txs = 0, runs_logged = 0;
	for (int k = 0; k < SLOTS; k++)
		check_log(s, c->log[k], &transitions, &txs, &runs_logged);
	long runs = check_all_runs(s);
	/* At most one unlogged commit per killed writer: a run the log does not know. */
	assert_true(runs >= runs_logged && runs - runs_logged <= c->kills);
	store_close(s);

	last_writer(c);
	raw_checks(c->db);
	s = store_open(c->db, &err);
	assert_non_null(s);
	assert_int_equal(check_all_runs(s), runs + 1);
	store_close(s);

	printf("store crash: seed %llu, %ld kills in %lld ms (", (unsigned long long)seed, c->kills,
	       (long long)t_kills);
	for (int p = 0; p < PH_COUNT; p++)
		printf("%s%ld %s", p ? ", " : "", c->kills_in[p], phase_names[p]);
	printf("); %ld transactions with %ld transitions logged, %ld runs; reader: %ld "
	       "snapshots, %ld runs checked; total %lld ms\n",
	       txs, transitions, runs, snapshots, reader_runs, (long long)(time_mono_ms() - t0));
	assert_true(c->kills >= MIN_KILLS);
	assert_true(c->kills_in[PH_TX] > 0);
	assert_true(snapshots > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kill_during_writes, setup_crash, teardown_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
