/* log.c - one line per event on stderr: time, level, message, then key=value fields. */
#include "swarmflow/common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/timeutil.h"

/* The threshold, written once by log_init() before anything else runs (see log.h). */
static enum log_level threshold = LOG_INFO;

void log_init(enum log_level level)
{
	threshold = level;
}

bool log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
	    {"debug", LOG_DEBUG},  {"info", LOG_INFO},   {"warn", LOG_WARN},
	    {"warning", LOG_WARN}, {"error", LOG_ERROR},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return true;
		}
	}
	return false;
}

static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	static const char *const tags[] = {"debug", "info", "warn", "error"};
	if (level < threshold)
		return;
	char ts[32];
	time_format_iso_ms(time_now_ms(), ts);
	char line[4096];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		line[0] = '\0';
	if (errnum)
		fprintf(stderr, "%s %s %s: %s\n", ts, tags[level], line, strerror(errnum));
	else
		fprintf(stderr, "%s %s %s\n", ts, tags[level], line);
}

#define DEFINE_LOG(name, level, with_errno)                                                        \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int e = with_errno ? errno : 0;                                                    \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vlog(level, e, fmt, ap);                                                           \
		va_end(ap);                                                                        \
	}

DEFINE_LOG(log_debug, LOG_DEBUG, false)
DEFINE_LOG(log_info, LOG_INFO, false)
DEFINE_LOG(log_warn, LOG_WARN, true)
DEFINE_LOG(log_warnx, LOG_WARN, false)
DEFINE_LOG(log_error, LOG_ERROR, false)

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(70);
}
