/* fuzz_units.c - libFuzzer target: duration_parse/duration_format and size_parse, each against a
 * small model of the grammar documented in units.h. */
#include "fuzz.h"

#include <ctype.h>

#include "swarmflow/core/units.h"

#define DURATION_MAX (10LL * 365 * 86400)
#define SIZE_MAX_BYTES (1LL << 50)
#define FRAC_DIGITS 9 /* units.h: later fraction digits of a size are ignored */

/* Reads digits at *p, saturating above limit; false when there is none. */
static bool digits(const char **p, __int128 limit, __int128 *out)
{
	const char *s = *p;
	__int128 v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (*s - '0')) > limit)
			v = limit + 1;
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

/* The duration grammar: bare seconds, or <number><unit> groups in the order d, h, m, s, each at
 * most once. Returns false on a syntax error; *v may be over DURATION_MAX. */
static bool model_duration(const char *s, __int128 *v)
{
	static const char units[] = "dhms";
	static const int64_t secs[] = {86400, 3600, 60, 1};
	const char *p = s;
	__int128 n;
	if (digits(&p, DURATION_MAX, &n) && !*p) {
		*v = n;
		return true;
	}
	*v = 0;
	p = s;
	size_t next = 0;
	if (!*p)
		return false;
	while (*p) {
		if (!digits(&p, DURATION_MAX, &n))
			return false;
		const char *u = *p ? strchr(units + next, *p) : NULL;
		if (!u)
			return false;
		next = (size_t)(u - units) + 1;
		*v += n * secs[u - units];
		p++;
	}
	return true;
}

/* The size grammar: digits, an optional ".digits" (only with a suffix), an optional K/M/G/T (any
 * case) with an optional i/I, an optional B/b. Returns false on a syntax error. */
static bool model_size(const char *s, __int128 *v)
{
	const char *p = s;
	__int128 whole, frac = 0, scale = 1;
	if (!digits(&p, SIZE_MAX_BYTES, &whole))
		return false;
	bool has_frac = *p == '.';
	if (has_frac) {
		const char *f = ++p;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (p - f < FRAC_DIGITS) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		}
		if (p == f)
			return false;
	}
	const char *suffix = *p ? strchr("KMGT", toupper((unsigned char)*p)) : NULL;
	int shift = suffix ? 10 * (int)(suffix - "KMGT" + 1) : 0;
	if (suffix) {
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
	} else if (has_frac) {
		return false;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p)
		return false;
	*v = (whole * scale + frac) * ((__int128)1 << shift) / scale;
	return true;
}

static void check_duration(const char *s, uint64_t n)
{
	int64_t v = -1;
	char *err = NULL;
	__int128 want;
	bool ok = duration_parse(s, &v, &err);
	bool syntax = model_duration(s, &want);
	CHECK(ok == (syntax && want <= DURATION_MAX));
	CHECK(ok == (err == NULL));
	free(err);
	err = NULL;
	if (ok) {
		CHECK(v == want);
		/* duration_format then duration_parse gives the value back */
		char text[32];
		int64_t back = -1;
		duration_format(v, text);
		CHECK(duration_parse(text, &back, NULL) && back == v);
	}

	/* Every value in range, written out, reads back the same and in the short form. */
	int64_t any = (int64_t)(n % (uint64_t)(DURATION_MAX + 1));
	char text[32];
	int64_t back = -1;
	duration_format(any, text);
	CHECK(strlen(text) < 32);
	CHECK(duration_parse(text, &back, &err) && back == any);
	CHECK(err == NULL);
	CHECK(model_duration(text, &want) && want == any);
}

static void check_size(const char *s)
{
	int64_t v = -1, v2 = -1;
	char *err = NULL;
	__int128 want;
	bool ok = size_parse(s, &v, &err);
	bool syntax = model_size(s, &want);
	CHECK(ok == (syntax && want <= SIZE_MAX_BYTES));
	CHECK(ok == (err == NULL));
	free(err);
	if (ok)
		CHECK(v == want && v >= 0);

	/* Suffixes are case-insensitive: the other case gives the same answer. */
	char *swapped = strdup(s);
	CHECK(swapped != NULL);
	for (char *c = swapped; *c; c++)
		*c = (char)(islower((unsigned char)*c) ? toupper((unsigned char)*c)
						       : tolower((unsigned char)*c));
	CHECK(size_parse(swapped, &v2, NULL) == ok);
	CHECK(!ok || v2 == v);
	free(swapped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	char *s = input_text(&in);
	uint64_t n = input_uint(&in, 8);
	check_duration(s, n);
	check_size(s);
	free(s);
	return 0;
}
