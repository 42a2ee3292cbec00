/* lease.h - the scheduler lease in the state database: which of the schedulers that share one
 * state folder is active, and the fence that stops a replaced one from writing. */
#ifndef SWARMFLOW_STORE_LEASE_H
#define SWARMFLOW_STORE_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "swarmflow/store/store.h"

/* The lease row. token grows by one each time the lease changes hands (the fencing token);
 * beat grows at every renewal and release, so a waiting scheduler sees a live holder by the
 * pair (token, beat) changing, on its own clock. holder is NULL while nobody holds it. */
struct store_lease {
	char *holder;
	int64_t token;
	int64_t beat;
	int64_t renewed_ms; /* wall clock of the last renewal (shown to people, never compared) */
	int64_t timeout_ms; /* the holder's lease_timeout */
};

/* Reads the lease; the caller frees out with store_lease_finish(). */
bool store_lease_read(struct store *s, struct store_lease *out, char **err);
void store_lease_finish(struct store_lease *l);

/* Takes the lease for `me` if it is still as `seen` was read (same token and beat), in one
 * transaction that also fences this connection: from then on every write it makes to runs, task
 * instances, tries and DAG flags fails ("fenced: ...") once another scheduler has taken the
 * lease. Returns 1 with *token set when taken, 0 when the lease moved meanwhile, -1 on error. */
int store_lease_take(struct store *s, const char *me, const struct store_lease *seen,
		     int64_t now_ms, int64_t timeout_ms, int64_t *token, char **err);

/* Renews a lease held with token. Returns 1 when renewed, 0 when it is not held with token
 * (another scheduler holds it now, or it was released), -1 on error. */
int store_lease_renew(struct store *s, int64_t token, int64_t now_ms, char **err);

/* Gives the lease up (a clean stop), if it is still held with token: a waiting scheduler takes
 * it at once instead of after lease_timeout. Returns 1 when released, 0 when it was not held
 * with token (nothing changed), -1 on error. */
int store_lease_release(struct store *s, int64_t token, int64_t now_ms, char **err);

/* True when err is the message of a write the fence refused. */
bool store_err_fenced(const char *err);

#endif
