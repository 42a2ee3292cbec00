/* orphan.c - runs whose DAG is no longer loaded: polled to the end of their running tries, then
 * ended after a grace period, so that a deleted DAG file never leaves a run running forever. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"

/* How long a run's DAG may be missing before the run is ended: long enough to fix a file that
 * was broken when the scheduler started, or to move a file. */
#define ORPHAN_GRACE_MS (5 * 60 * 1000)
/* When the wait is logged: later than a reload (and a file's settle time) can take. */
#define ORPHAN_WARN_MS (10 * 1000)

static struct orphan *find(struct scheduler *s, int64_t run_pk)
{
	for (size_t i = 0; i < s->n_orphans; i++)
		if (s->orphans[i].run_pk == run_pk)
			return &s->orphans[i];
	return NULL;
}

void orphan_forget(struct scheduler *s, int64_t run_pk)
{
	struct orphan *o = find(s, run_pk);
	if (o)
		*o = s->orphans[--s->n_orphans];
}

static bool has_inflight(const struct scheduler *s, int64_t run_pk)
{
	for (size_t i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].run_pk == run_pk)
			return true;
	return false;
}

bool orphan_run(struct scheduler *s, const struct run *run, int64_t now_ms)
{
	struct orphan *o = find(s, run->id);
	if (!o) {
		s->orphans = xrealloc(s->orphans, (s->n_orphans + 1) * sizeof(*s->orphans));
		s->orphans[s->n_orphans++] = (struct orphan){run->id, s->mono_ms, false};
		return true;
	}
	if (!o->warned && s->mono_ms - o->since_ms >= ORPHAN_WARN_MS) {
		/* Not at once: a run triggered right after its file was added waits a moment for
		 * the next reload, and that is no news. */
		log_warnx(
		    "run waits for its DAG dag=%s run=%s: the DAG is not in the dags folder "
		    "(deleted, renamed or broken); the run ends in %lld s unless it comes back",
		    run->dag_id, run->run_id,
		    (long long)(ORPHAN_GRACE_MS - (s->mono_ms - o->since_ms)) / 1000);
		o->warned = true;
	}
	if (s->mono_ms - o->since_ms < ORPHAN_GRACE_MS || has_inflight(s, run->id))
		return true;
	char *reason = xasprintf("DAG '%s' is no longer in the dags folder", run->dag_id);
	bool ok = end_run(s, run->id, TI_REMOVED, TI_REMOVED, reason, now_ms);
	if (ok) {
		log_warnx("run failed dag=%s run=%s: %s", run->dag_id, run->run_id, reason);
		orphan_forget(s, run->id);
	}
	free(reason);
	return ok;
}
