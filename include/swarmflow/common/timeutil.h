/* timeutil.h - UTC time parsing and formatting (pure) and the clock (the one impure call). */
#ifndef SWARMFLOW_COMMON_TIMEUTIL_H
#define SWARMFLOW_COMMON_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ", "YYYY-MM-DDTHH:MM:SS+00:00" and
 * "YYYY-MM-DD HH:MM:SS" (UTC) into unix seconds. False on anything else or an invalid date. */
bool time_parse_iso(const char *s, int64_t *out);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with NUL). */
void time_format_iso(int64_t unix_s, char out[static 32]);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" for unix milliseconds. */
void time_format_iso_ms(int64_t unix_ms, char out[static 32]);
/* Writes "YYYY-MM-DD". */
void time_format_date(int64_t unix_s, char out[static 16]);
/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Wall clock in unix milliseconds, and a monotonic clock in milliseconds. */
int64_t time_now_ms(void);
int64_t time_mono_ms(void);

#endif
