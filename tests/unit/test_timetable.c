/* test_timetable.c - Airflow's data intervals: the next run of a DAG, the latest complete
 * interval, alignment, backfill ranges, and the start_date rule of validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/core/dag.h"
#include "swarmflow/core/timetable.h"

static int64_t at(const char *iso)
{
	int64_t t = 0;
	if (!iso)
		return 0;
	if (!time_parse_iso(iso, &t))
		fail_msg("bad time in test: %s", iso);
	return t;
}

static struct schedule sched_of(const char *expr)
{
	struct schedule s;
	char *err = NULL;
	if (!schedule_parse(expr, &s, &err))
		fail_msg("'%s' rejected: %s", expr, err);
	return s;
}

/* "[start, end)" or "none", so that a failing row shows both intervals readably. */
static char *iv_text(bool found, const struct interval *iv)
{
	char a[32], b[32];
	if (!found)
		return xstrdup("none");
	time_format_iso(iv->start, a);
	time_format_iso(iv->end, b);
	return xasprintf("[%s, %s)", a, b);
}

static void expect_iv(const char *what, bool want_found, const struct interval *want,
		      bool got_found, const struct interval *got)
{
	char *w = iv_text(want_found, want), *g = iv_text(got_found, got);
	char *wl = xasprintf("%s -> %s", what, w), *gl = xasprintf("%s -> %s", what, g);
	assert_string_equal(gl, wl);
	free(w);
	free(g);
	free(wl);
	free(gl);
}

/* One row: a DAG's schedule fields, its newest scheduled run (or none), the time, and the next
 * interval it runs (NULL start: none). */
struct next_case {
	const char *sched, *start_date, *end_date;
	bool catchup;
	const char *last_start, *last_end;
	const char *now;
	const char *want_start, *want_end;
};

static const struct next_case next_cases[] = {
    /* start_date on the schedule: the first interval starts at it */
    {"@daily", "2026-11-01", NULL, true, NULL, NULL, "2026-11-05T10:00:00Z", "2026-11-01",
     "2026-11-02"},
    /* off the schedule: aligned up to the next fire time */
    {"@daily", "2026-11-01T06:00:00Z", NULL, true, NULL, NULL, "2026-11-05T10:00:00Z", "2026-11-02",
     "2026-11-03"},
    {"@hourly", "2026-11-01T00:30:00Z", NULL, true, NULL, NULL, "2026-11-05T10:00:00Z",
     "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z"},
    {"@hourly", "2026-11-01T00:00:30Z", NULL, true, NULL, NULL, "2026-11-05T10:00:00Z",
     "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z"},
    /* catchup: the interval after the last run, however old */
    {"@daily", "2026-11-01", NULL, true, "2026-11-01", "2026-11-02", "2026-11-05T10:00:00Z",
     "2026-11-02", "2026-11-03"},
    {"@daily", "2026-11-01", NULL, true, "2026-11-04", "2026-11-05", "2026-11-05T10:00:00Z",
     "2026-11-05", "2026-11-06"},
    /* no catchup: only the latest complete interval (also exactly on a boundary) */
    {"@daily", "2026-11-01", NULL, false, NULL, NULL, "2026-11-05T10:00:00Z", "2026-11-04",
     "2026-11-05"},
    {"@daily", "2026-11-01", NULL, false, NULL, NULL, "2026-11-05T00:00:00Z", "2026-11-04",
     "2026-11-05"},
    {"@daily", "2026-11-01", NULL, false, NULL, NULL, "2026-11-04T23:59:59Z", "2026-11-03",
     "2026-11-04"},
    {"@daily", "2026-11-01", NULL, false, "2026-11-01", "2026-11-02", "2026-11-05T10:00:00Z",
     "2026-11-04", "2026-11-05"},
    /* the latest already ran: the next one, not due before its end */
    {"@daily", "2026-11-01", NULL, false, "2026-11-04", "2026-11-05", "2026-11-05T10:00:00Z",
     "2026-11-05", "2026-11-06"},
    /* never before start_date, catchup or not */
    {"@daily", "2026-11-10", NULL, false, NULL, NULL, "2026-11-05T10:00:00Z", "2026-11-10",
     "2026-11-11"},
    {"@daily", "2026-11-04T06:00:00Z", NULL, false, NULL, NULL, "2026-11-05T10:00:00Z",
     "2026-11-05", "2026-11-06"},
    {"@daily", "2026-11-10", NULL, true, NULL, NULL, "2026-11-05T10:00:00Z", "2026-11-10",
     "2026-11-11"},
    /* the latest complete interval of a weekday schedule on a Saturday */
    {"0 12 * * MON-FRI", "2026-10-01", NULL, false, NULL, NULL, "2026-11-07T13:00:00Z",
     "2026-11-05T12:00:00Z", "2026-11-06T12:00:00Z"},
    {"0 12 * * MON-FRI", "2026-10-01", NULL, true, "2026-11-05T12:00:00Z", "2026-11-06T12:00:00Z",
     "2026-11-09T13:00:00Z", "2026-11-06T12:00:00Z", "2026-11-09T12:00:00Z"},
    /* end_date: an interval may start on it, none after it */
    {"@daily", "2026-11-01", "2026-11-03", true, "2026-11-02", "2026-11-03", "2026-11-10T00:00:00Z",
     "2026-11-03", "2026-11-04"},
    {"@daily", "2026-11-01", "2026-11-03", true, "2026-11-03", "2026-11-04", "2026-11-10T00:00:00Z",
     NULL, NULL},
    {"@daily", "2026-11-01", "2026-11-02T12:00:00Z", true, "2026-11-02", "2026-11-03",
     "2026-11-10T00:00:00Z", NULL, NULL},
    {"@daily", "2026-11-01", "2026-11-03", false, NULL, NULL, "2026-11-10T00:00:00Z", NULL, NULL},
    /* months of different lengths */
    {"@monthly", "2027-01-31", NULL, true, NULL, NULL, "2027-06-01", "2027-02-01", "2027-03-01"},
    {"@monthly", "2027-01-31", NULL, true, "2027-02-01", "2027-03-01", "2027-06-01", "2027-03-01",
     "2027-04-01"},
    {"0 0 31 * *", "2027-01-01", NULL, true, "2027-01-31", "2027-03-31", "2027-12-01", "2027-03-31",
     "2027-05-31"},
    {"0 0 31 * *", "2027-01-01", NULL, false, NULL, NULL, "2027-06-15", "2027-03-31", "2027-05-31"},
    {"0 0 30 * *", "2027-01-31", NULL, true, NULL, NULL, "2027-06-01", "2027-03-30", "2027-04-30"},
    /* leap days */
    {"@daily", "2028-01-01", NULL, true, "2028-02-28", "2028-02-29", "2028-03-10", "2028-02-29",
     "2028-03-01"},
    {"@monthly", "2028-01-01", NULL, true, "2028-01-01", "2028-02-01", "2028-03-10", "2028-02-01",
     "2028-03-01"},
    {"0 0 29 2 *", "2024-03-01", NULL, true, NULL, NULL, "2033-01-01", "2028-02-29", "2032-02-29"},
    {"0 0 29 2 *", "2024-01-01", NULL, false, NULL, NULL, "2030-01-01", "2024-02-29", "2028-02-29"},
    /* a schedule changed after the last run: the next starts at that run's end, aligned down */
    {"0 6 * * *", "2026-11-01", NULL, true, "2026-11-01", "2026-11-02", "2026-11-05",
     "2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z"},
    /* @once: [start_date, start_date], once, whatever catchup and now say */
    {"@once", "2026-11-01T06:00:00Z", NULL, false, NULL, NULL, "2026-10-01", "2026-11-01T06:00:00Z",
     "2026-11-01T06:00:00Z"},
    {"@once", "2026-11-01T06:00:00Z", NULL, true, NULL, NULL, "2027-10-01", "2026-11-01T06:00:00Z",
     "2026-11-01T06:00:00Z"},
    {"@once", "2026-11-01T06:00:00Z", NULL, true, "2026-11-01T06:00:00Z", "2026-11-01T06:00:00Z",
     "2027-10-01", NULL, NULL},
    /* none, no start_date, a cron that never fires */
    {"none", "2026-11-01", NULL, true, NULL, NULL, "2027-01-01", NULL, NULL},
    {"@daily", NULL, NULL, true, NULL, NULL, "2027-01-01", NULL, NULL},
    {"0 0 30 2 *", "2026-11-01", NULL, true, NULL, NULL, "2027-01-01", NULL, NULL},
};

static void test_next_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(next_cases); i++) {
		const struct next_case *c = &next_cases[i];
		struct dag dag = {.schedule = sched_of(c->sched),
				  .start_date = at(c->start_date),
				  .end_date = at(c->end_date),
				  .catchup = c->catchup};
		struct interval last = {at(c->last_start), at(c->last_end)};
		struct interval want = {at(c->want_start), at(c->want_end)}, got = {0};
		bool found = timetable_next(&dag, c->last_start ? &last : NULL, at(c->now), &got);
		char *what = xasprintf("row %zu: %s start %s catchup %d last %s now %s", i,
				       c->sched, c->start_date ? c->start_date : "-", c->catchup,
				       c->last_start ? c->last_start : "-", c->now);
		expect_iv(what, c->want_start != NULL, &want, found, &got);
		free(what);
	}
}

/* Catchup walks every interval from start_date to now, each starting where the last ended;
 * without catchup the same DAG gets one run, the latest. */
static void test_catchup_walk(void **state)
{
	(void)state;
	struct dag dag = {.schedule = sched_of("@hourly"),
			  .start_date = at("2026-11-01T00:00:00Z"),
			  .catchup = true};
	int64_t now = at("2026-11-01T03:30:00Z");
	struct interval iv, last;
	bool has_last = false;
	size_t due = 0;
	while (timetable_next(&dag, has_last ? &last : NULL, now, &iv) && iv.end <= now) {
		assert_int_equal(iv.start, dag.start_date + (int64_t)due * 3600);
		assert_int_equal(iv.end, iv.start + 3600);
		last = iv;
		has_last = true;
		due++;
	}
	assert_int_equal(due, 3);
	assert_int_equal(iv.start, at("2026-11-01T03:00:00Z")); /* next, due at 04:00 */

	dag.catchup = false;
	assert_true(timetable_next(&dag, NULL, now, &iv));
	assert_int_equal(iv.start, at("2026-11-01T02:00:00Z"));
	assert_true(timetable_next(&dag, &iv, now, &iv));
	assert_int_equal(iv.start, at("2026-11-01T03:00:00Z"));
	assert_true(iv.end > now);
}

static void test_latest(void **state)
{
	static const struct {
		const char *sched, *now, *start, *end;
	} cases[] = {
	    {"@hourly", "2026-11-01T10:30:00Z", "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z"},
	    {"@hourly", "2026-11-01T10:00:00Z", "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z"},
	    {"@hourly", "2026-11-01T10:59:59Z", "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z"},
	    {"@daily", "2026-11-01T00:00:00Z", "2026-10-31T00:00:00Z", "2026-11-01T00:00:00Z"},
	    {"@monthly", "2027-03-15T00:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"},
	    {"@yearly", "2028-02-29T12:00:00Z", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"},
	    {"*/15 * * * *", "2026-11-01T10:07:00Z", "2026-11-01T09:45:00Z",
	     "2026-11-01T10:00:00Z"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct schedule s = sched_of(cases[i].sched);
		struct interval want = {at(cases[i].start), at(cases[i].end)}, got = {0};
		bool found = timetable_latest(&s.cron, at(cases[i].now), &got);
		char *what = xasprintf("latest %s at %s", cases[i].sched, cases[i].now);
		expect_iv(what, true, &want, found, &got);
		free(what);
	}
	struct schedule never = sched_of("0 0 30 2 *");
	struct interval iv;
	assert_false(timetable_latest(&never.cron, at("2027-01-01"), &iv));
}

static void test_align(void **state)
{
	(void)state;
	struct schedule h = sched_of("@hourly");
	assert_int_equal(timetable_align_next(&h.cron, at("2026-11-01T06:00:00Z")),
			 at("2026-11-01T06:00:00Z"));
	assert_int_equal(timetable_align_next(&h.cron, at("2026-11-01T06:00:30Z")),
			 at("2026-11-01T07:00:00Z"));
	assert_int_equal(timetable_align_next(&h.cron, at("2026-11-01T05:59:59Z")),
			 at("2026-11-01T06:00:00Z"));
	assert_int_equal(timetable_align_prev(&h.cron, at("2026-11-01T06:00:00Z")),
			 at("2026-11-01T06:00:00Z"));
	assert_int_equal(timetable_align_prev(&h.cron, at("2026-11-01T06:59:59Z")),
			 at("2026-11-01T06:00:00Z"));
	struct schedule m = sched_of("0 0 31 * *");
	assert_int_equal(timetable_align_next(&m.cron, at("2027-04-01")), at("2027-05-31"));
	assert_int_equal(timetable_align_prev(&m.cron, at("2027-04-30")), at("2027-03-31"));
	struct schedule never = sched_of("0 0 30 2 *");
	assert_int_equal(timetable_align_next(&never.cron, at("2027-01-01")), -1);
}

/* Formats a backfill list as "start..end start..end" (dates only when at midnight). */
static char *list_text(const struct interval *v, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		char s[32], e[32];
		time_format_iso(v[i].start, s);
		time_format_iso(v[i].end, e);
		buf_printf(&b, "%s%s..%s", i ? " " : "", s, e);
	}
	return buf_steal(&b);
}

static void test_between(void **state)
{
	static const struct {
		const char *sched, *from, *to;
		size_t max;
		const char *want; /* NULL: more than max */
	} cases[] = {
	    {"@daily", "2026-11-01", "2026-11-03", 100,
	     "2026-11-01T00:00:00Z..2026-11-02T00:00:00Z "
	     "2026-11-02T00:00:00Z..2026-11-03T00:00:00Z "
	     "2026-11-03T00:00:00Z..2026-11-04T00:00:00Z"},
	    {"@daily", "2026-11-01T06:00:00Z", "2026-11-03T05:00:00Z", 100,
	     "2026-11-02T00:00:00Z..2026-11-03T00:00:00Z "
	     "2026-11-03T00:00:00Z..2026-11-04T00:00:00Z"},
	    {"@daily", "2026-11-01", "2026-11-01", 100,
	     "2026-11-01T00:00:00Z..2026-11-02T00:00:00Z"},
	    {"@daily", "2026-11-01T01:00:00Z", "2026-11-01T23:00:00Z", 100, ""},
	    {"@daily", "2026-11-03", "2026-11-01", 100, ""},
	    {"@monthly", "2028-01-15", "2028-04-01", 100,
	     "2028-02-01T00:00:00Z..2028-03-01T00:00:00Z "
	     "2028-03-01T00:00:00Z..2028-04-01T00:00:00Z "
	     "2028-04-01T00:00:00Z..2028-05-01T00:00:00Z"},
	    {"@once", "2026-11-01T06:00:00Z", "2026-12-01", 100,
	     "2026-11-01T06:00:00Z..2026-11-01T06:00:00Z"},
	    {"@once", "2026-11-01", "2026-11-01", 0, NULL},
	    {"none", "2026-11-01", "2026-12-01", 100, ""},
	    {"@hourly", "2026-11-01", "2026-11-01T02:00:00Z", 3,
	     "2026-11-01T00:00:00Z..2026-11-01T01:00:00Z "
	     "2026-11-01T01:00:00Z..2026-11-01T02:00:00Z "
	     "2026-11-01T02:00:00Z..2026-11-01T03:00:00Z"},
	    {"@hourly", "2026-11-01", "2026-11-01T03:00:00Z", 3, NULL},
	    {"0 0 30 2 *", "2026-11-01", "2027-11-01", 3, ""},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct schedule s = sched_of(cases[i].sched);
		size_t n = 7;
		struct interval *v =
		    timetable_between(&s, at(cases[i].from), at(cases[i].to), cases[i].max, &n);
		if (!cases[i].want) {
			if (n != SIZE_MAX || v)
				fail_msg("%s %s..%s: %zu intervals, not more than %zu",
					 cases[i].sched, cases[i].from, cases[i].to, n,
					 cases[i].max);
			continue;
		}
		assert_true(n != SIZE_MAX);
		assert_true((n == 0) == (v == NULL));
		char *got = list_text(v, n);
		char *gl =
		    xasprintf("%s %s..%s: %s", cases[i].sched, cases[i].from, cases[i].to, got);
		char *wl = xasprintf("%s %s..%s: %s", cases[i].sched, cases[i].from, cases[i].to,
				     cases[i].want);
		assert_string_equal(gl, wl);
		free(gl);
		free(wl);
		free(got);
		free(v);
	}
}

/* A schedule other than none without start_date is refused at the DAG's line. */
static void test_start_date_required(void **state)
{
	static const struct {
		const char *text;
		bool ok;
		int line;
		const char *msg;
	} cases[] = {
	    {"# a\n\ndag d {\n  schedule = \"@daily\"\n  task t { image = x }\n}\n", false, 3,
	     "dag 'd': schedule '@daily' needs a start_date"},
	    {"dag d {\n  schedule = \"0 6 * * 1-5\"\n}\n", false, 1,
	     "dag 'd': schedule '0 6 * * 1-5' needs a start_date"},
	    {"dag d {\n  schedule = \"@once\"\n}\n", false, 1,
	     "dag 'd': schedule '@once' needs a start_date"},
	    {"dag d {\n  schedule = \"@daily\"\n  start_date = \"2026-11-01\"\n}\n", true, 0, NULL},
	    {"dag d {\n  schedule = \"none\"\n}\n", true, 0, NULL},
	    {"dag d {\n  task t { image = x }\n}\n", true, 0, NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct dag_file f = {0};
		bool ok = dag_file_parse(cases[i].text, strlen(cases[i].text), "d.dag", &f);
		if (ok != cases[i].ok)
			fail_msg("case %zu: parse %s: %s", i, ok ? "succeeded" : "failed",
				 f.errors.len ? f.errors.v[0].message : "");
		if (!cases[i].ok) {
			assert_int_equal(f.errors.len, 1);
			assert_int_equal(f.errors.v[0].line, cases[i].line);
			assert_string_equal(f.errors.v[0].message, cases[i].msg);
		}
		dag_file_finish(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_next_table), cmocka_unit_test(test_catchup_walk),
	    cmocka_unit_test(test_latest),     cmocka_unit_test(test_align),
	    cmocka_unit_test(test_between),    cmocka_unit_test(test_start_date_required),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
