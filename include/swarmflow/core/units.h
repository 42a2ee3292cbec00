/* units.h - durations ("90s", "10m", "1h30m", bare seconds) and sizes ("512K", "256M", "2G"). */
#ifndef SWARMFLOW_CORE_UNITS_H
#define SWARMFLOW_CORE_UNITS_H

#include <stdbool.h>
#include <stdint.h>

/* Parses a duration: a bare non-negative number of seconds, or one or more <number><unit>
 * groups with units d, h, m, s, ms is not accepted (whole seconds). Rejects negative values,
 * empty strings, unknown units and results over 10 years. Sets *err (caller frees). */
bool duration_parse(const char *s, int64_t *seconds, char **err);
/* Writes a duration back in the short form ("1h30m", "45s", "0s"). */
void duration_format(int64_t seconds, char out[static 32]);

/* Parses a size: a bare number of bytes or a number (decimals allowed: "1.5G") with suffix
 * K, M, G, T (binary: 1K = 1024, as Docker does), optionally followed by B/b or i ("256Mi").
 * Rejects negatives, zero-length, unknown suffixes and values over 1 PiB. Sets *err. */
bool size_parse(const char *s, int64_t *bytes, char **err);

#endif
