/* cron.c - schedule parsing (5-field cron, presets) and next/previous fire times in UTC. */
#include "swarmflow/core/cron.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"

/* How far cron_next and cron_prev search: to the end (start) of the 5th calendar year after
 * (before) the year they start in; "0 0 30 2 *" gives -1 after that. */
#define CRON_SEARCH_YEARS 5

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* One of the five fields: its name for errors, the values it takes and its names (if any). */
struct field_spec {
	const char *name;
	unsigned min, max;
	unsigned star_max;        /* `*` covers min..star_max (day-of-week: 0-6, 7 is an alias) */
	const char *const *names; /* names[i] is value names_base + i */
	unsigned names_base;
	size_t n_names;
	const char *range; /* for error messages */
};

static const struct field_spec field_specs[5] = {
    {"minute", 0, 59, 59, NULL, 0, 0, "0-59"},
    {"hour", 0, 23, 23, NULL, 0, 0, "0-23"},
    {"day-of-month", 1, 31, 31, NULL, 0, 0, "1-31"},
    {"month", 1, 12, 12, month_names, 1, ARRAY_LEN(month_names), "1-12 or JAN-DEC"},
    {"day-of-week", 0, 7, 6, dow_names, 0, ARRAY_LEN(dow_names), "0-7 or SUN-SAT"},
};

/* Presets and what they stand for. */
static const struct {
	const char *name;
	const char *expr;
} presets[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

/* A span of the expression: one field or one item of a field. */
struct span {
	const char *p;
	size_t len;
};

/* Reads a number (at most 3 digits) or a name at *p, up to end. */
static bool read_value(const struct field_spec *f, const char **p, const char *end, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	size_t n = 0;
	while (s + n < end && s[n] >= '0' && s[n] <= '9' && n < 3)
		v = v * 10 + (unsigned)(s[n++] - '0');
	if (n == 0 && f->names && end - s >= 3) {
		for (size_t i = 0; i < f->n_names; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0) {
				v = f->names_base + (unsigned)i;
				n = 3;
				break;
			}
		}
	}
	if (n == 0 || v < f->min || v > f->max)
		return false;
	*p = s + n;
	*out = v;
	return true;
}

/* Parses one item ("*", "*\/2", "5", "1-5", "10-50/10", "5/15") into the bit set *bits. */
static bool parse_item(const struct field_spec *f, struct span item, uint64_t *bits)
{
	const char *p = item.p, *end = item.p + item.len;
	unsigned lo, hi, step = 1;
	if (p < end && *p == '*') {
		p++;
		lo = f->min;
		hi = f->star_max;
	} else {
		if (!read_value(f, &p, end, &lo))
			return false;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			if (!read_value(f, &p, end, &hi) || hi < lo)
				return false;
		} else if (p < end && *p == '/') {
			hi = lo > f->star_max ? f->max : f->star_max; /* "5/15" is 5-59/15 */
		}
	}
	if (p < end && *p == '/') {
		p++;
		unsigned max_step = f->max - f->min + 1;
		const struct field_spec step_spec = {"step", 1, max_step, max_step, NULL, 0, 0, ""};
		if (!read_value(&step_spec, &p, end, &step))
			return false;
	}
	if (p != end)
		return false;
	for (unsigned v = lo; v <= hi; v += step)
		*bits |= 1ULL << v;
	return true;
}

/* Parses a comma-separated field into *bits; false when an item is bad or empty. */
static bool parse_field(const struct field_spec *f, struct span field, uint64_t *bits)
{
	const char *p = field.p, *end = field.p + field.len;
	*bits = 0;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end;
		if (item_end == p || !parse_item(f, (struct span){p, (size_t)(item_end - p)}, bits))
			return false;
		if (!comma)
			return true;
		p = comma + 1;
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Splits s on whitespace into at most `max` spans; returns how many fields there are. */
static size_t split_fields(const char *s, struct span *fields, size_t max)
{
	size_t n = 0;
	const char *p = s;
	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			return n;
		const char *start = p;
		while (*p && !is_space(*p))
			p++;
		if (n < max)
			fields[n] = (struct span){start, (size_t)(p - start)};
		n++;
	}
}

/* True when a field is exactly `*`. */
static bool is_star(struct span field)
{
	return field.len == 1 && field.p[0] == '*';
}

/* Parses the five fields of a cron expression into *c. */
static bool parse_cron(const char *s, struct cron *c, char **err)
{
	struct span fields[5];
	uint64_t bits[5];
	size_t n = split_fields(s, fields, 5);
	if (n != 5)
		return set_err(err, "cron: expected 5 fields, got %zu", n);
	for (size_t i = 0; i < 5; i++) {
		const struct field_spec *f = &field_specs[i];
		if (!parse_field(f, fields[i], &bits[i]))
			return set_err(err, "cron: bad %s field '%.*s' (%s)", f->name,
				       (int)fields[i].len, fields[i].p, f->range);
	}
	if (bits[4] & (1ULL << 7))
		bits[4] = (bits[4] | 1) & ~(1ULL << 7);
	*c = (struct cron){
	    .minutes = bits[0],
	    .hours = (uint32_t)bits[1],
	    .dom = (uint32_t)bits[2],
	    .months = (uint16_t)bits[3],
	    .dow = (uint8_t)bits[4],
	    /* As in croniter (Airflow): only a field that is exactly `*` leaves the days
	     * unrestricted; "*\/2" restricts them (Vixie cron would count it as a star). */
	    .dom_star = is_star(fields[2]),
	    .dow_star = is_star(fields[4]),
	};
	return true;
}

bool schedule_parse(const char *s, struct schedule *out, char **err)
{
	if (!s || !*s || strcasecmp(s, "none") == 0) {
		*out = (struct schedule){.kind = SCHEDULE_NONE};
		return true;
	}
	if (strcasecmp(s, "@once") == 0) {
		*out = (struct schedule){.kind = SCHEDULE_ONCE};
		return true;
	}
	const char *expr = s;
	if (s[0] == '@') {
		expr = NULL;
		for (size_t i = 0; i < ARRAY_LEN(presets) && !expr; i++)
			if (strcasecmp(s, presets[i].name) == 0)
				expr = presets[i].expr;
		if (!expr)
			return set_err(err,
				       "cron: unknown preset '%s' (@hourly, @daily, @weekly, "
				       "@monthly, @yearly or @once)",
				       s);
	}
	struct cron c;
	if (!parse_cron(expr, &c, err))
		return false;
	*out = (struct schedule){.kind = SCHEDULE_CRON, .cron = c};
	return true;
}

/* A broken-down UTC minute. */
struct when {
	int64_t y;
	unsigned mo, d, h, mi;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static struct when when_from_unix(int64_t t)
{
	struct when w;
	int64_t days = floor_div(t, 86400);
	int64_t rem = t - days * 86400;
	civil_from_days(days, &w.y, &w.mo, &w.d);
	w.h = (unsigned)(rem / 3600);
	w.mi = (unsigned)(rem % 3600 / 60);
	return w;
}

static int64_t when_to_unix(const struct when *w)
{
	return days_from_civil(w->y, w->mo, w->d) * 86400 + w->h * 3600 + w->mi * 60;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	int64_t next = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
	return (unsigned)(next - days_from_civil(y, m, 1));
}

/* The smallest value in [from, max] of bits, or -1. */
static int next_bit(uint64_t bits, unsigned from, unsigned max)
{
	for (unsigned v = from; v <= max; v++)
		if (bits & (1ULL << v))
			return (int)v;
	return -1;
}

/* The largest value in [min, from] of bits, or -1. */
static int prev_bit(uint64_t bits, unsigned from, unsigned min)
{
	for (unsigned v = from + 1; v-- > min;)
		if (bits & (1ULL << v))
			return (int)v;
	return -1;
}

/* The day rule: both fields must match when one of them is exactly `*`; when neither is, either
 * one is enough (croniter's and Vixie's OR of day-of-month and day-of-week). */
static bool day_matches(const struct cron *c, const struct when *w)
{
	int64_t wd = (days_from_civil(w->y, w->mo, w->d) % 7 + 11) % 7; /* 1970-01-01: Thu */
	bool dom_ok = c->dom & (1UL << w->d);
	bool dow_ok = c->dow & (1U << wd);
	if (c->dom_star || c->dow_star)
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

/* Moves to 00:00 of the next day. */
static void next_day(struct when *w)
{
	w->h = w->mi = 0;
	if (++w->d <= days_in_month(w->y, w->mo))
		return;
	w->d = 1;
	if (++w->mo <= 12)
		return;
	w->mo = 1;
	w->y++;
}

/* Moves to 23:59 of the previous day. */
static void prev_day(struct when *w)
{
	w->h = 23;
	w->mi = 59;
	if (--w->d >= 1)
		return;
	if (--w->mo < 1) {
		w->mo = 12;
		w->y--;
	}
	w->d = days_in_month(w->y, w->mo);
}

/* Out-of-range inputs would overflow the calendar arithmetic. */
static bool time_in_range(int64_t t)
{
	return t > INT64_MIN / 4 && t < INT64_MAX / 4;
}

int64_t cron_next(const struct cron *c, int64_t after)
{
	if (!time_in_range(after))
		return -1;
	struct when w = when_from_unix(floor_div(after, 60) * 60 + 60);
	const int64_t last_year = w.y + CRON_SEARCH_YEARS;
	while (w.y <= last_year) {
		int m = next_bit(c->months, w.mo, 12);
		if (m < 0) {
			w = (struct when){w.y + 1, 1, 1, 0, 0};
			continue;
		}
		if ((unsigned)m != w.mo)
			w = (struct when){w.y, (unsigned)m, 1, 0, 0};
		if (!day_matches(c, &w)) {
			next_day(&w);
			continue;
		}
		int h = next_bit(c->hours, w.h, 23);
		if (h < 0) {
			next_day(&w);
			continue;
		}
		if ((unsigned)h != w.h) {
			w.h = (unsigned)h;
			w.mi = 0;
		}
		int mi = next_bit(c->minutes, w.mi, 59);
		if (mi >= 0) {
			w.mi = (unsigned)mi;
			return when_to_unix(&w);
		}
		if (w.h == 23) {
			next_day(&w);
		} else {
			w.h++;
			w.mi = 0;
		}
	}
	return -1;
}

int64_t cron_prev(const struct cron *c, int64_t at)
{
	if (!time_in_range(at))
		return -1;
	struct when w = when_from_unix(floor_div(at, 60) * 60);
	const int64_t first_year = w.y - CRON_SEARCH_YEARS;
	while (w.y >= first_year) {
		int m = prev_bit(c->months, w.mo, 1);
		if (m < 0) {
			w = (struct when){w.y - 1, 12, 31, 23, 59};
			continue;
		}
		if ((unsigned)m != w.mo)
			w = (struct when){w.y, (unsigned)m, days_in_month(w.y, (unsigned)m), 23,
					  59};
		if (!day_matches(c, &w)) {
			prev_day(&w);
			continue;
		}
		int h = prev_bit(c->hours, w.h, 0);
		if (h < 0) {
			prev_day(&w);
			continue;
		}
		if ((unsigned)h != w.h) {
			w.h = (unsigned)h;
			w.mi = 59;
		}
		int mi = prev_bit(c->minutes, w.mi, 0);
		if (mi >= 0) {
			w.mi = (unsigned)mi;
			return when_to_unix(&w);
		}
		if (w.h == 0) {
			prev_day(&w);
		} else {
			w.h--;
			w.mi = 59;
		}
	}
	return -1;
}
