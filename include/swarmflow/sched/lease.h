/* lease.h - the daemon's side of the scheduler lease (store/lease.h): a scheduler waits as a
 * standby until the lease is free or its holder stopped renewing it, renews it while active,
 * and gives it up when it stops cleanly. */
#ifndef SWARMFLOW_SCHED_LEASE_H
#define SWARMFLOW_SCHED_LEASE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "swarmflow/store/lease.h"

/* What a standby saw of the lease, and when (on its own monotonic clock). */
struct lease_watch {
	bool valid; /* seen at least once */
	int64_t token, beat;
	int64_t seen_ms; /* monotonic time the pair (token, beat) was first seen as it is */
};

/* Whether a standby may take the lease now: it is free, or the pair (token, beat) has not
 * changed for the longer of timeout_ms and the holder's own timeout on the watcher's clock. No
 * clock of another machine is compared, so the machines' clocks need not agree. Updates w. */
bool lease_watch_expired(struct lease_watch *w, const struct store_lease *cur, int64_t mono_ms,
			 int64_t timeout_ms);

struct sched_lease {
	struct store *store;
	char *me;              /* who we are: "scheduler pid N on HOST (instance I)" */
	int64_t timeout_ms;    /* lease_timeout */
	int64_t token;         /* the fencing token while held, else 0 */
	int64_t next_renew_ms; /* monotonic */
	int64_t last_renew_ms; /* monotonic time of the last renewal that went through */
	/* Optional: called at every look while waiting as a standby (e.g. to beat). */
	void (*on_standby)(void *ctx);
	void *standby_ctx;
};

/* The lease is renewed this many times per lease_timeout. */
#define LEASE_RENEWS_PER_TIMEOUT 4

/* Sets l up over a store the caller keeps open; me is copied. */
void sched_lease_init(struct sched_lease *l, struct store *st, const char *me, int64_t timeout_ms);
void sched_lease_finish(struct sched_lease *l);

/* Waits until this scheduler holds the lease, looking at it every lease_timeout / 10 (at least
 * 100 ms, at most 1 s) and watching signals (SIGTERM/SIGINT stop the wait, others are logged
 * and ignored). Store errors are logged and the wait goes on. Returns 1 when held, 0 when a
 * signal said stop. */
int sched_lease_acquire(struct sched_lease *l, const sigset_t *signals);

/* Renews the lease when due. False when this scheduler must stop at once: another one holds
 * the lease now, or it could not be renewed for lease_timeout (store errors are logged and the
 * renewal tried again up to every second until then). */
bool sched_lease_keep(struct sched_lease *l, int64_t mono_ms, int64_t wall_ms);

/* Renews the lease right now, before a change to the engine (creates, removes): true only when
 * the renewal went through, so the change is made by the holder of the current token. A
 * scheduler that stalled in the middle of a tick while a standby took over finds out here,
 * before it touches a service. */
bool sched_lease_confirm(struct sched_lease *l, int64_t mono_ms, int64_t wall_ms);

/* The monotonic time of the next renewal (the loop must not sleep past it). */
int64_t sched_lease_due(const struct sched_lease *l);

/* Gives the lease up if still held (a clean stop). */
void sched_lease_release(struct sched_lease *l);

#endif
