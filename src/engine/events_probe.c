/* events_probe.c - after a container of ours died, asks the manager (one GET /tasks for every
 * service due, more and more apart) until it shows the end, then hands the service on: the
 * scheduler's loop is woken when its one batched poll will see the end, not before. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/engine/decode.h"
#include "swarmflow/engine/events.h"

/* The manager shows an end a little after the container's die (its agent reports it, its
 * dispatcher batches task updates): 65-130 ms here, more under load. A service is asked about
 * PROBE_FIRST_MS after its die, then again after a third of the time it has waited, but at
 * least PROBE_EVERY_MS: 20 ms apart up to 80 ms, 67 ms apart at 0.2 s, 0.33 s apart at 1 s. An
 * end is seen within a third of its lag, and a slow manager is not asked 50 times a second.
 * One request asks about many services at the cost of one: a round also takes the services
 * due within PROBE_EVERY_MS, so that the ends of a fan-out share rounds instead of each
 * having its own. */
#define PROBE_FIRST_MS 50
#define PROBE_EVERY_MS 20
#define PROBE_STEP_DIV 3
/* The lag grows with the manager's load (0.2-0.8 s at a load of 10 here): asking before the
 * quickest of the last PROBE_LAGS ends was shown is mostly wasted. So the first ask comes at
 * 3/4 of that quickest lag (at least PROBE_FIRST_MS, at most PROBE_FIRST_MAX_MS); the 3/4 lets
 * the figure come down again when the manager gets quicker. */
#define PROBE_LAGS 8
#define PROBE_FIRST_MAX_MS 1000
/* A service not shown ended after this long is handed on anyway (the loop polls once, then
 * its schedule finds the end). */
#define PROBE_MAX_MS 3000
/* At most this many services are asked about at once (more wait for the next round). */
#define PROBE_BATCH 64

struct waiting {
	char *service_id;
	int64_t since_ms; /* monotonic: the die */
	int64_t next_ms;  /* monotonic: the next round that asks about it */
};

struct end_probe {
	struct engine *engine; /* the thread's own client */
	end_probe_fn on_ended;
	void *ctx;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cv;  /* a service was added, or stop */
	atomic_bool stop;   /* also read by the client's cancel callback, unlocked */
	struct waiting *v;
	size_t len, cap;
	int64_t lags[PROBE_LAGS]; /* die -> shown ended of the last ends, ms; a ring */
	size_t n_lags;            /* how many lags were recorded (the ring holds the newest) */
};

/* When to ask first about a service that died now (lock held): see PROBE_LAGS. */
static int64_t first_ask_ms(const struct end_probe *p)
{
	size_t n = p->n_lags < PROBE_LAGS ? p->n_lags : PROBE_LAGS;
	if (n == 0)
		return PROBE_FIRST_MS;
	int64_t quickest = p->lags[0];
	for (size_t i = 1; i < n; i++)
		if (p->lags[i] < quickest)
			quickest = p->lags[i];
	int64_t first = quickest * 3 / 4;
	return first < PROBE_FIRST_MS       ? PROBE_FIRST_MS
	       : first > PROBE_FIRST_MAX_MS ? PROBE_FIRST_MAX_MS
					    : first;
}

/* Records the lag of an end the manager showed (lock held). */
static void note_lag(struct end_probe *p, int64_t lag_ms)
{
	p->lags[p->n_lags++ % PROBE_LAGS] = lag_ms;
}

enum shown { SHOWN_RUNNING, SHOWN_ENDED, SHOWN_GONE };

/* What tasks show of service_id: still running, ended, or nothing (removed: the loop finds
 * out). */
static enum shown shown(const json_t *tasks, const char *service_id)
{
	struct task_status st;
	if (!task_status_pick(tasks, service_id, &st))
		return SHOWN_GONE;
	return st.phase == PHASE_COMPLETE || st.phase == PHASE_FAILED ? SHOWN_ENDED : SHOWN_RUNNING;
}

/* Removes entry i (lock held) and returns its service id (caller frees). */
static char *take(struct end_probe *p, size_t i)
{
	char *id = p->v[i].service_id;
	p->v[i] = p->v[--p->len];
	return id;
}

/* One round: asks about up to PROBE_BATCH services that are due (or soon); hands on those shown
 * ended, too old, or every one asked when the engine did not answer (the loop then polls and logs
 * it); the others are due again later. */
static void probe_round(struct end_probe *p)
{
	const char *ids[PROBE_BATCH];
	size_t n = 0;
	int64_t now = time_mono_ms();
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->len && n < PROBE_BATCH; i++) {
		struct waiting *wt = &p->v[i];
		if (wt->next_ms > now + PROBE_EVERY_MS)
			continue;
		int64_t step = (now - wt->since_ms) / PROBE_STEP_DIV;
		wt->next_ms = now + (step > PROBE_EVERY_MS ? step : PROBE_EVERY_MS);
		ids[n++] = xstrdup(wt->service_id);
	}
	pthread_mutex_unlock(&p->mu);
	json_t *tasks = NULL;
	struct engine_err err = {0};
	/* tests/bench tells the probe's GET /tasks from the loop's by these lines. */
	log_debug("engine events: probe asks about %zu", n);
	bool ok = engine_tasks_list(p->engine, ids, n, &tasks, &err);
	if (!ok)
		log_debug("engine events: probe: %s", err.message);
	struct strv ended = {0};
	now = time_mono_ms();
	pthread_mutex_lock(&p->mu);
	for (size_t i = p->len; i-- > 0;) {
		bool asked = false;
		for (size_t j = 0; j < n && !asked; j++)
			asked = strcmp(ids[j], p->v[i].service_id) == 0;
		if (!asked)
			continue;
		enum shown sh = ok ? shown(tasks, p->v[i].service_id) : SHOWN_GONE;
		if (sh == SHOWN_ENDED)
			note_lag(p, now - p->v[i].since_ms);
		if (sh != SHOWN_RUNNING || now - p->v[i].since_ms >= PROBE_MAX_MS)
			strv_push_owned(&ended, take(p, i));
	}
	pthread_mutex_unlock(&p->mu);
	json_decref(tasks);
	for (size_t i = 0; i < n; i++)
		free((char *)ids[i]);
	for (size_t i = 0; i < ended.len; i++)
		p->on_ended(p->ctx, ended.v[i]);
	strv_finish(&ended);
}

/* The earliest next_ms of the services waiting (lock held; some are). */
static int64_t next_due(const struct end_probe *p)
{
	int64_t due = p->v[0].next_ms;
	for (size_t i = 1; i < p->len; i++)
		if (p->v[i].next_ms < due)
			due = p->v[i].next_ms;
	return due;
}

/* Waits (lock held) until a waiting service is due, or stop; false on stop. A service added
 * meanwhile is due later than any already waiting, unless none was. */
static bool wait_round(struct end_probe *p)
{
	for (;;) {
		while (!p->stop && p->len == 0)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			return false;
		int64_t left = next_due(p) - time_mono_ms();
		if (left <= 0)
			return true;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(left / 1000);
		until.tv_nsec += (long)(left % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &until);
	}
}

static void *probe_main(void *arg)
{
	struct end_probe *p = arg;
	pthread_mutex_lock(&p->mu);
	while (wait_round(p)) {
		pthread_mutex_unlock(&p->mu);
		probe_round(p);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The client's cancel callback: a request in flight (a hung engine) ends within a second of
 * end_probe_stop. */
static bool stopping(void *ctx)
{
	const struct end_probe *p = ctx;
	return atomic_load(&p->stop);
}

struct end_probe *end_probe_start(const struct engine *engine, end_probe_fn on_ended, void *ctx,
				  char **err)
{
	struct end_probe *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->on_ended = on_ended;
	p->ctx = ctx;
	atomic_init(&p->stop, false);
	p->engine = engine_clone(engine, stopping, p);
	if ((errno = pthread_create(&p->thread, NULL, probe_main, p)) != 0) {
		set_err(err, "engine events: pthread_create: %s", strerror(errno));
		end_probe_stop(p);
		return NULL;
	}
	p->started = true;
	return p;
}

void end_probe_add(struct end_probe *p, const char *service_id)
{
	pthread_mutex_lock(&p->mu);
	bool known = false;
	for (size_t i = 0; i < p->len && !known; i++)
		known = strcmp(p->v[i].service_id, service_id) == 0;
	if (!known) {
		if (p->len == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 16;
			p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
		}
		int64_t now = time_mono_ms();
		/* The manager never shows the end at once. */
		p->v[p->len++] = (struct waiting){xstrdup(service_id), now, now + first_ask_ms(p)};
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

void end_probe_forget(struct end_probe *p, const char *service_id)
{
	pthread_mutex_lock(&p->mu);
	for (size_t i = p->len; i-- > 0;)
		if (strcmp(p->v[i].service_id, service_id) == 0)
			free(take(p, i));
	pthread_mutex_unlock(&p->mu);
}

void end_probe_stop(struct end_probe *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	for (size_t i = 0; i < p->len; i++)
		free(p->v[i].service_id);
	free(p->v);
	engine_destroy(p->engine);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
