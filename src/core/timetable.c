/* timetable.c - Airflow's data intervals of a schedule: the next due run, backfill ranges (pure).
 */
#include "swarmflow/core/timetable.h"

#include <stdlib.h>

#include "swarmflow/common/util.h"

int64_t timetable_align_next(const struct cron *c, int64_t t)
{
	return cron_prev(c, t) == t ? t : cron_next(c, t);
}

int64_t timetable_align_prev(const struct cron *c, int64_t t)
{
	return cron_prev(c, t);
}

bool timetable_latest(const struct cron *c, int64_t now, struct interval *out)
{
	int64_t end = cron_prev(c, now);
	int64_t start = end < 0 ? -1 : cron_prev(c, end - 1);
	if (start < 0)
		return false;
	*out = (struct interval){start, end};
	return true;
}

/* @once: [start_date, start_date], unless it ran already or end_date is before it. */
static bool once_next(const struct dag *dag, const struct interval *last, struct interval *out)
{
	if (last || (dag->end_date && dag->start_date > dag->end_date))
		return false;
	*out = (struct interval){dag->start_date, dag->start_date};
	return true;
}

/* The earliest start a cron DAG may run now: start_date aligned up to the schedule and, without
 * catchup, no earlier than the latest complete interval (Airflow's _skip_to_latest). */
static int64_t earliest_start(const struct dag *dag, int64_t now)
{
	const struct cron *c = &dag->schedule.cron;
	int64_t earliest = timetable_align_next(c, dag->start_date);
	struct interval latest;
	if (earliest >= 0 && !dag->catchup && timetable_latest(c, now, &latest) &&
	    latest.start > earliest)
		earliest = latest.start;
	return earliest;
}

bool timetable_next(const struct dag *dag, const struct interval *last, int64_t now,
		    struct interval *out)
{
	if (dag->schedule.kind == SCHEDULE_NONE || dag->start_date == 0)
		return false;
	if (dag->schedule.kind == SCHEDULE_ONCE)
		return once_next(dag, last, out);
	const struct cron *c = &dag->schedule.cron;
	int64_t start = earliest_start(dag, now);
	if (start < 0)
		return false;
	if (last) {
		/* After a run the next one starts where it ended, aligned down in case the
		 * schedule changed since. */
		int64_t after_last = timetable_align_prev(c, last->end);
		if (after_last > start)
			start = after_last;
	}
	if (dag->end_date && start > dag->end_date)
		return false;
	int64_t end = cron_next(c, start);
	if (end < 0)
		return false;
	*out = (struct interval){start, end};
	return true;
}

/* Appends iv to *v (length *n, capacity *cap). */
static void push(struct interval **v, size_t *n, size_t *cap, struct interval iv)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = iv;
}

struct interval *timetable_between(const struct schedule *s, int64_t from, int64_t to, size_t max,
				   size_t *n)
{
	struct interval *v = NULL;
	size_t cap = 0;
	*n = 0;
	if (s->kind == SCHEDULE_NONE || from > to)
		return NULL;
	int64_t start = s->kind == SCHEDULE_ONCE ? from : timetable_align_next(&s->cron, from);
	while (start >= 0 && start <= to) {
		int64_t end = s->kind == SCHEDULE_ONCE ? start : cron_next(&s->cron, start);
		if (end < 0)
			break;
		if (*n == max) {
			free(v);
			*n = SIZE_MAX;
			return NULL;
		}
		push(&v, n, &cap, (struct interval){start, end});
		if (s->kind == SCHEDULE_ONCE)
			break;
		start = end;
	}
	return v;
}
