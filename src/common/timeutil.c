/* timeutil.c - UTC time parsing and formatting, and the clocks. */
#include "swarmflow/common/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads exactly n digits. */
static bool digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

bool time_parse_iso(const char *s, int64_t *out)
{
	const char *p = s;
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;
	if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
	    !digits(&p, 2, &d))
		return false;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi))
			return false;
		if (*p == ':' && (p++, !digits(&p, 2, &sec)))
			return false;
		if (*p == 'Z')
			p++;
		else if (strcmp(p, "+00:00") == 0)
			p += 6;
	}
	if (*p != '\0')
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return false;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return true;
}

/* The range formatted: years 0000 to 9999 (what time_parse_iso accepts). Values outside are
 * clamped, so that no arithmetic below can overflow (found by fuzz_template near INT64_MIN). */
#define FORMAT_MIN_S INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define FORMAT_MAX_S INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static void split(int64_t unix_s, int64_t *y, unsigned *mo, unsigned *d, unsigned *h, unsigned *mi,
		  unsigned *s)
{
	if (unix_s < FORMAT_MIN_S)
		unix_s = FORMAT_MIN_S;
	if (unix_s > FORMAT_MAX_S)
		unix_s = FORMAT_MAX_S;
	int64_t days = unix_s >= 0 ? unix_s / 86400 : -((-unix_s + 86399) / 86400);
	int64_t rem = unix_s - days * 86400;
	civil_from_days(days, y, mo, d);
	*h = (unsigned)(rem / 3600);
	*mi = (unsigned)(rem % 3600 / 60);
	*s = (unsigned)(rem % 60);
}

/* Writes v as n decimal digits (zero-padded) at p; returns the end. Without printf: listing
 * 10,000 runs formats 40,000 times (snprintf was a fifth of `runs list --json`). */
static char *put_digits(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

/* "YYYY-MM-DDTHH:MM:SS" at out (the year is 0000..9999: split clamps); returns the end. */
static char *put_iso(char *out, int64_t unix_s)
{
	int64_t y;
	unsigned mo, d, h, mi, s;
	split(unix_s, &y, &mo, &d, &h, &mi, &s);
	char *p = put_digits(out, (unsigned)y, 4);
	*p++ = '-';
	p = put_digits(p, mo, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, h, 2);
	*p++ = ':';
	p = put_digits(p, mi, 2);
	*p++ = ':';
	return put_digits(p, s, 2);
}

void time_format_iso(int64_t unix_s, char out[static 32])
{
	char *p = put_iso(out, unix_s);
	p[0] = 'Z';
	p[1] = '\0';
}

void time_format_iso_ms(int64_t unix_ms, char out[static 32])
{
	if (unix_ms < FORMAT_MIN_S * 1000)
		unix_ms = FORMAT_MIN_S * 1000;
	if (unix_ms > FORMAT_MAX_S * 1000 + 999)
		unix_ms = FORMAT_MAX_S * 1000 + 999;
	int64_t sec = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
	char *p = put_iso(out, sec);
	*p++ = '.';
	p = put_digits(p, (unsigned)(unix_ms - sec * 1000), 3);
	p[0] = 'Z';
	p[1] = '\0';
}

void time_format_date(int64_t unix_s, char out[static 16])
{
	int64_t y;
	unsigned mo, d, h, mi, s;
	split(unix_s, &y, &mo, &d, &h, &mi, &s);
	snprintf(out, 16, "%04lld-%02u-%02u", (long long)y, mo, d);
}

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
