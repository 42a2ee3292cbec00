/* cron.h - schedules: 5-field cron expressions (UTC), presets, @once and none. */
#ifndef SWARMFLOW_CORE_CRON_H
#define SWARMFLOW_CORE_CRON_H

#include <stdbool.h>
#include <stdint.h>

/* Bit sets of the allowed values of each field. */
struct cron {
	uint64_t minutes; /* bits 0-59 */
	uint32_t hours;   /* bits 0-23 */
	uint32_t dom;     /* bits 1-31 */
	uint16_t months;  /* bits 1-12 */
	uint8_t dow;      /* bits 0-6, Sunday = 0 (7 is accepted as Sunday) */
	/* The field is exactly `*`. Unless one of the two is, a day matches when day-of-month OR
	 * day-of-week matches (Airflow's croniter; "*\/2" counts as restricted). */
	bool dom_star, dow_star;
};

enum schedule_kind { SCHEDULE_NONE, SCHEDULE_ONCE, SCHEDULE_CRON };

struct schedule {
	enum schedule_kind kind;
	struct cron cron; /* when kind == SCHEDULE_CRON */
};

/* Parses "m h dom mon dow" (lists, ranges, steps, JAN-DEC, SUN-SAT), @hourly @daily @weekly
 * @monthly @yearly @annually @once, and "none" (or NULL/empty). On error returns false and sets
 * *err to a message naming the bad field; the caller frees *err. */
bool schedule_parse(const char *s, struct schedule *out, char **err);

/* Returns the first fire time strictly after `after` (unix seconds, UTC), or -1 if none within
 * the next 5 years (e.g. "0 0 30 2 *"). */
int64_t cron_next(const struct cron *c, int64_t after);

/* Returns the last fire time at or before `at`, or -1 if none within the 5 years before. */
int64_t cron_prev(const struct cron *c, int64_t at);

#endif
