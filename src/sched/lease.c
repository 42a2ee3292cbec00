/* lease.c - waiting for, renewing and giving up the scheduler lease (see sched/lease.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/sched/lease.h"

bool lease_watch_expired(struct lease_watch *w, const struct store_lease *cur, int64_t mono_ms,
			 int64_t timeout_ms)
{
	if (!cur->holder)
		return true;
	if (!w->valid || w->token != cur->token || w->beat != cur->beat) {
		w->valid = true;
		w->token = cur->token;
		w->beat = cur->beat;
		w->seen_ms = mono_ms;
		return false;
	}
	int64_t limit = cur->timeout_ms > timeout_ms ? cur->timeout_ms : timeout_ms;
	return mono_ms - w->seen_ms >= limit;
}

void sched_lease_init(struct sched_lease *l, struct store *st, const char *me, int64_t timeout_ms)
{
	memset(l, 0, sizeof(*l));
	l->store = st;
	l->me = xstrdup(me);
	l->timeout_ms = timeout_ms;
}

void sched_lease_finish(struct sched_lease *l)
{
	free(l->me);
	l->me = NULL;
}

/* How often a standby looks at the lease. */
static int64_t look_every_ms(const struct sched_lease *l)
{
	int64_t ms = l->timeout_ms / 10;
	return ms < 100 ? 100 : ms > 1000 ? 1000 : ms;
}

/* Sleeps ms unless SIGTERM or SIGINT comes first (then false). */
static bool standby_sleep(const sigset_t *signals, int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	if (!signals) {
		nanosleep(&ts, NULL);
		return true;
	}
	siginfo_t info;
	int sig = sigtimedwait(signals, &info, &ts);
	if (sig == SIGTERM || sig == SIGINT) {
		log_info("signal %s while standby: stopping",
			 sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return false;
	}
	if (sig > 0)
		log_info("signal %d ignored while standby", sig);
	return true;
}

/* Says once per holder who holds the lease while we wait. */
static void say_standby(const struct store_lease *cur, int64_t *said_token,
			const struct sched_lease *l)
{
	if (*said_token == cur->token)
		return;
	*said_token = cur->token;
	int64_t limit = cur->timeout_ms > l->timeout_ms ? cur->timeout_ms : l->timeout_ms;
	log_info("standby: the scheduler lease is held by %s (token %lld); taking over when it is "
		 "released or not renewed for %.1f s",
		 cur->holder, (long long)cur->token, (double)limit / 1000.0);
}

/* The lease went through (taken or renewed) at mono_ms: the next renewal is due in
 * lease_timeout / LEASE_RENEWS_PER_TIMEOUT. */
static void renewed(struct sched_lease *l, int64_t mono_ms)
{
	l->last_renew_ms = mono_ms;
	l->next_renew_ms = mono_ms + l->timeout_ms / LEASE_RENEWS_PER_TIMEOUT;
}

/* Tries to take the lease as it was seen in cur: 1 taken, 0 not (someone else moved first, or
 * a store error, logged). */
static int take(struct sched_lease *l, const struct store_lease *cur, const struct lease_watch *w)
{
	char *err = NULL;
	int rc =
	    store_lease_take(l->store, l->me, cur, time_now_ms(), l->timeout_ms, &l->token, &err);
	if (rc < 0) {
		log_warnx("%s; trying again", err);
		free(err);
		return 0;
	}
	if (rc == 0)
		return 0;
	int64_t now = time_mono_ms();
	renewed(l, now);
	if (cur->holder)
		log_info("lease: taken over (token %lld) from %s, not renewed for %.1f s",
			 (long long)l->token, cur->holder, (double)(now - w->seen_ms) / 1000.0);
	else
		log_info("lease: taken (token %lld); this scheduler is active",
			 (long long)l->token);
	return 1;
}

int sched_lease_acquire(struct sched_lease *l, const sigset_t *signals)
{
	struct lease_watch w = {0};
	int64_t said_token = -1;
	for (;;) {
		struct store_lease cur;
		char *err = NULL;
		int rc = 0;
		if (!store_lease_read(l->store, &cur, &err)) {
			/* A database busy for longer than the busy timeout (an old holder stopped
			 * in a write) or briefly unreachable storage: a standby waits on. */
			log_warnx("%s; trying again", err);
			free(err);
		} else {
			if (lease_watch_expired(&w, &cur, time_mono_ms(), l->timeout_ms))
				rc = take(l, &cur, &w);
			else
				say_standby(&cur, &said_token, l);
			store_lease_finish(&cur);
		}
		if (rc > 0)
			return 1;
		if (l->on_standby)
			l->on_standby(l->standby_ctx);
		if (!standby_sleep(signals, look_every_ms(l)))
			return 0;
	}
}

/* Renews the lease now. 1 renewed, 0 lost (logged), -1 a store error (logged). */
static int renew(struct sched_lease *l, int64_t mono_ms, int64_t wall_ms)
{
	char *err = NULL;
	int rc = store_lease_renew(l->store, l->token, wall_ms, &err);
	if (rc > 0) {
		renewed(l, mono_ms);
	} else if (rc < 0) {
		log_warnx("%s (not renewed for %.1f s)", err,
			  (double)(mono_ms - l->last_renew_ms) / 1000.0);
	} else {
		struct store_lease cur;
		bool read = store_lease_read(l->store, &cur, &err);
		log_error("lease: lost: another scheduler (%s, token %lld) has taken the scheduler "
			  "lease from this one (token %lld); stopping",
			  read && cur.holder ? cur.holder : "none",
			  read ? (long long)cur.token : -1LL, (long long)l->token);
		if (read)
			store_lease_finish(&cur);
		l->token = 0;
	}
	free(err);
	return rc;
}

bool sched_lease_keep(struct sched_lease *l, int64_t mono_ms, int64_t wall_ms)
{
	if (!l->token)
		return false;
	if (mono_ms < l->next_renew_ms)
		return true;
	int rc = renew(l, mono_ms, wall_ms);
	if (rc >= 0)
		return rc > 0;
	/* Not renewed for lease_timeout: a standby may hold it by now; stop acting. */
	if (mono_ms - l->last_renew_ms >= l->timeout_ms) {
		log_error("lease: not renewed for %.1f s (lease_timeout %.1f s): stopping",
			  (double)(mono_ms - l->last_renew_ms) / 1000.0,
			  (double)l->timeout_ms / 1000.0);
		return false;
	}
	int64_t retry = l->timeout_ms / LEASE_RENEWS_PER_TIMEOUT;
	l->next_renew_ms = mono_ms + (retry < 1000 ? retry : 1000);
	if (l->next_renew_ms > l->last_renew_ms + l->timeout_ms) /* the last try at the limit */
		l->next_renew_ms = l->last_renew_ms + l->timeout_ms;
	return true;
}

bool sched_lease_confirm(struct sched_lease *l, int64_t mono_ms, int64_t wall_ms)
{
	return l->token && renew(l, mono_ms, wall_ms) > 0;
}

int64_t sched_lease_due(const struct sched_lease *l)
{
	return l->next_renew_ms;
}

void sched_lease_release(struct sched_lease *l)
{
	if (!l->token)
		return;
	char *err = NULL;
	int rc = store_lease_release(l->store, l->token, time_now_ms(), &err);
	if (rc > 0)
		log_info("lease: released (token %lld)", (long long)l->token);
	else if (rc == 0)
		log_info("lease: not released: token %lld is no longer this scheduler's",
			 (long long)l->token);
	else
		log_warnx("%s", err);
	free(err);
	l->token = 0;
}
