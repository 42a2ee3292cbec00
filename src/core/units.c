/* units.c - parsing and formatting of durations ("1h30m") and sizes ("256M", binary units). */
#include "swarmflow/core/units.h"

#include <stdio.h>

#include "swarmflow/common/util.h"

/* Longest duration accepted: 10 years of 365 days. */
#define DURATION_MAX_S (10LL * 365 * 86400)
/* Largest size accepted: 1 PiB. */
#define SIZE_MAX_BYTES (1LL << 50)
/* Fraction digits of a size that count ("1.123456789G"); later ones are ignored. */
#define SIZE_FRAC_DIGITS 9

/* Duration units, longest first: groups must come in this order, each at most once. */
static const struct {
	char unit;
	int64_t seconds;
} duration_units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads a run of digits at *p into *out, saturating at limit + 1. False when there is none. */
static bool read_digits(const char **p, int64_t limit, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;
	while (is_digit(*s)) {
		v = v * 10 + (*s - '0');
		if (v > limit)
			v = limit + 1;
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

/* Index in duration_units of unit c at or after `from`, or -1. */
static int unit_index(char c, size_t from)
{
	for (size_t i = from; i < ARRAY_LEN(duration_units); i++)
		if (duration_units[i].unit == c)
			return (int)i;
	return -1;
}

/* Sums the <number><unit> groups of s; false on a syntax error. May exceed the maximum. */
static bool duration_groups(const char *s, int64_t *total)
{
	const char *p = s;
	size_t next_unit = 0;
	int64_t sum = 0, n;
	while (*p) {
		if (!read_digits(&p, DURATION_MAX_S, &n))
			return false;
		int i = unit_index(*p, next_unit);
		if (i < 0)
			return false;
		p++;
		next_unit = (size_t)i + 1;
		sum += n * duration_units[i].seconds;
		if (sum > DURATION_MAX_S)
			sum = DURATION_MAX_S + 1;
	}
	*total = sum;
	return true;
}

bool duration_parse(const char *s, int64_t *seconds, char **err)
{
	const char *str = s ? s : "";
	const char *p = str;
	int64_t v;
	bool ok;
	if (read_digits(&p, DURATION_MAX_S, &v) && *p == '\0')
		ok = true;
	else
		ok = *str && duration_groups(str, &v);
	if (!ok)
		return set_err(
		    err, "invalid duration '%s': expected e.g. 90s, 10m, 1h30m or seconds", str);
	if (v > DURATION_MAX_S)
		return set_err(err, "invalid duration '%s': longer than 10 years", s);
	*seconds = v;
	return true;
}

void duration_format(int64_t seconds, char out[static 32])
{
	size_t off = 0;
	uint64_t rest = seconds < 0 ? -(uint64_t)seconds : (uint64_t)seconds;
	if (seconds < 0)
		out[off++] = '-';
	if (rest == 0) {
		snprintf(out + off, 32 - off, "0s");
		return;
	}
	out[off] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(duration_units); i++) {
		uint64_t unit = (uint64_t)duration_units[i].seconds;
		if (rest < unit)
			continue;
		int n = snprintf(out + off, 32 - off, "%llu%c", (unsigned long long)(rest / unit),
				 duration_units[i].unit);
		off += (size_t)n;
		rest %= unit;
	}
}

/* The power of two of a size suffix (K = 10 ... T = 40), 0 for none, -1 when unknown. */
static int size_shift(char c)
{
	static const char suffixes[] = "KMGT";
	if (c == '\0' || c == 'B' || c == 'b')
		return 0;
	for (int i = 0; suffixes[i]; i++)
		if (c == suffixes[i] || c == suffixes[i] + ('a' - 'A'))
			return 10 * (i + 1);
	return -1;
}

/* Exact floor(frac / 10^digits * 2^shift) without overflow (frac < 10^digits, digits <= 9). */
static int64_t frac_bytes(int64_t frac, int digits, int shift)
{
	int64_t pow5 = 1;
	for (int i = 0; i < digits; i++)
		pow5 *= 5;
	if (shift >= digits)
		return (frac << (shift - digits)) / pow5;
	return (frac << shift) / (pow5 << digits);
}

/* Reads the optional ".ddd" of a size into *frac and *digits. False on "." without digits. */
static bool read_fraction(const char **p, int64_t *frac, int *digits)
{
	*frac = 0;
	*digits = 0;
	if (**p != '.')
		return true;
	const char *s = ++*p;
	for (; is_digit(*s); s++) {
		if (*digits < SIZE_FRAC_DIGITS) {
			*frac = *frac * 10 + (*s - '0');
			(*digits)++;
		}
	}
	if (s == *p)
		return false;
	*p = s;
	return true;
}

/* Parses s into *bytes; 0 when fine, -1 on a syntax error, 1 when over the maximum. */
static int size_value(const char *s, int64_t *bytes)
{
	const char *p = s;
	int64_t whole, frac;
	int digits;
	if (!read_digits(&p, SIZE_MAX_BYTES, &whole) || !read_fraction(&p, &frac, &digits))
		return -1;
	int shift = size_shift(*p);
	if (shift < 0 || (shift == 0 && digits > 0))
		return -1;
	if (shift > 0) {
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p != '\0')
		return -1;
	if (whole > SIZE_MAX_BYTES >> shift)
		return 1;
	int64_t v = (whole << shift) + frac_bytes(frac, digits, shift);
	if (v > SIZE_MAX_BYTES)
		return 1;
	*bytes = v;
	return 0;
}

bool size_parse(const char *s, int64_t *bytes, char **err)
{
	int rc = size_value(s ? s : "", bytes);
	if (rc < 0)
		return set_err(err, "invalid size '%s': expected e.g. 512K, 256M, 1.5G or bytes",
			       s ? s : "");
	if (rc > 0)
		return set_err(err, "invalid size '%s': larger than 1 PiB", s);
	return true;
}
