/* fuzz_cron.c - libFuzzer target: schedule_parse, then cron_next and cron_prev checked against
 * the parsed bit sets. Input: the schedule text, then a NUL and 8 bytes of "after" (seconds). */
#include "fuzz.h"

#include <ctype.h>

#include "swarmflow/core/cron.h"

/* A UTC minute, computed here without the project's calendar code. */
struct tm_utc {
	int64_t year;
	unsigned month, day, hour, minute, weekday; /* weekday: Sunday = 0 */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return q - (a % b != 0 && (a < 0) != (b < 0));
}

/* Howard Hinnant's civil_from_days, written again so that a bug there cannot hide here. */
static struct tm_utc utc_of(int64_t t)
{
	struct tm_utc r;
	int64_t days = floor_div(t, 86400), secs = t - days * 86400;
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	r.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	r.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	r.year = yoe + era * 400 + (r.month <= 2);
	r.hour = (unsigned)(secs / 3600);
	r.minute = (unsigned)(secs % 3600 / 60);
	r.weekday = (unsigned)(days + 4 - floor_div(days + 4, 7) * 7); /* 1970-01-01: Thursday */
	return r;
}

/* True when t is a fire time of c: the minute, the hour, the month and the day rule of cron.h. */
static bool fires_at(const struct cron *c, int64_t t)
{
	if (floor_div(t, 60) * 60 != t)
		return false;
	struct tm_utc u = utc_of(t);
	bool dom = c->dom >> u.day & 1, dow = c->dow >> u.weekday & 1;
	bool day = c->dom_star || c->dow_star ? dom && dow : dom || dow;
	return (c->minutes >> u.minute & 1) && (c->hours >> u.hour & 1) &&
	       (c->months >> u.month & 1) && day;
}

static void check_parsed(const struct cron *c)
{
	/* Every field allows something, and only values of its range. */
	CHECK(c->minutes && !(c->minutes >> 60));
	CHECK(c->hours && !(c->hours >> 24));
	CHECK(c->dom && !(c->dom & 1));
	CHECK(c->months && !(c->months & 1) && !(c->months >> 13));
	CHECK(c->dow && !(c->dow >> 7));
	CHECK(!c->dom_star || c->dom == 0xfffffffe);
	CHECK(!c->dow_star || c->dow == 0x7f);
}

static void check_times(const struct cron *c, int64_t after)
{
	int64_t next = cron_next(c, after);
	if (next != -1) {
		CHECK(next > after);
		CHECK(fires_at(c, next));
		CHECK(cron_prev(c, next) == next);
		/* nothing fires in between: the last fire time before next is at or before after */
		int64_t before = cron_prev(c, next - 1);
		CHECK(before == -1 || before <= after);
		CHECK(before == -1 || fires_at(c, before));
	}
	int64_t prev = cron_prev(c, after);
	if (prev != -1) {
		CHECK(prev <= after);
		CHECK(fires_at(c, prev));
		CHECK(cron_next(c, prev - 1) == prev);
		int64_t later = cron_next(c, prev);
		CHECK(later == -1 || later > after);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	char *text = input_text(&in);
	/* cron.c refuses times past +-2^61 (calendar overflow): stay well inside, where the
	 * 5-year search never crosses that edge. */
	int64_t after = (int64_t)input_uint(&in, 8) / 8;
	struct schedule s, s2;
	char *err = NULL, *err2 = NULL;

	bool ok = schedule_parse(text, &s, &err);
	CHECK(ok == (err == NULL));
	CHECK(!ok || s.kind == SCHEDULE_NONE || s.kind == SCHEDULE_ONCE || s.kind == SCHEDULE_CRON);

	/* Names, presets and "none" are case-insensitive: the other case parses the same. */
	for (char *p = text; *p; p++)
		*p = (char)(islower((unsigned char)*p) ? toupper((unsigned char)*p)
						       : tolower((unsigned char)*p));
	bool ok2 = schedule_parse(text, &s2, &err2);
	CHECK(ok2 == ok);
	if (ok && s.kind == SCHEDULE_CRON) {
		CHECK(s2.kind == SCHEDULE_CRON);
		CHECK(s.cron.minutes == s2.cron.minutes && s.cron.hours == s2.cron.hours);
		CHECK(s.cron.dom == s2.cron.dom && s.cron.months == s2.cron.months);
		CHECK(s.cron.dow == s2.cron.dow && s.cron.dom_star == s2.cron.dom_star &&
		      s.cron.dow_star == s2.cron.dow_star);
		check_parsed(&s.cron);
		check_times(&s.cron, after);
		/* A time of the documented era as well: the fuzzer's 8 bytes are mostly huge. */
		check_times(&s.cron, (int64_t)((uint64_t)after % 8000000000ULL));
	} else if (ok) {
		CHECK(s2.kind == s.kind);
	}
	free(err);
	free(err2);
	free(text);
	return 0;
}
