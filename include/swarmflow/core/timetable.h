/* timetable.h - Airflow's data intervals of a DAG's schedule: which runs are due, and when (UTC).
 */
#ifndef SWARMFLOW_CORE_TIMETABLE_H
#define SWARMFLOW_CORE_TIMETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/core/cron.h"
#include "swarmflow/core/dag.h"

/* A data interval [start, end) in unix seconds (UTC). start is the run's logical date; the run
 * may be created once now >= end. @once has start == end == start_date. */
struct interval {
	int64_t start, end;
};

/* The first fire time of c at or after t (t itself when t is on the schedule), or -1. */
int64_t timetable_align_next(const struct cron *c, int64_t t);
/* The last fire time of c at or before t (t itself when t is on the schedule), or -1. */
int64_t timetable_align_prev(const struct cron *c, int64_t t);

/* The latest complete interval of c at now: it ends at the last fire time at or before now and
 * starts at the fire time before that. False when there is none within cron's search window. */
bool timetable_latest(const struct cron *c, int64_t now, struct interval *out);

/* The next interval the scheduler runs for dag after last (NULL: no scheduled run yet), with
 * Airflow's rules (next_dagrun_info): the first interval starts at start_date aligned up to the
 * schedule; catchup=false skips to the latest complete interval at now (never before start_date);
 * after a run the next one starts where it ended (aligned down, for a changed schedule); none
 * starts after end_date; @once gives [start_date, start_date] once. Returns false when there is
 * none (schedule none, no start_date, @once already run, past end_date, a cron that never fires).
 * The run is due when out->end <= now; until then out->end is when to look again. */
bool timetable_next(const struct dag *dag, const struct interval *last, int64_t now,
		    struct interval *out);

/* The intervals of schedule s whose start (logical date) lies in [from, to], oldest first, for
 * a backfill (the DAG's start_date, end_date and catchup do not apply): each cron interval
 * starts on a fire time and ends at the next one; @once gives the one interval [from, from].
 * Returns a new array (caller frees; NULL when *n is 0) and sets *n. Returns NULL with
 * *n = SIZE_MAX when there would be more than max. Schedule none gives none. */
struct interval *timetable_between(const struct schedule *s, int64_t from, int64_t to, size_t max,
				   size_t *n);

#endif
