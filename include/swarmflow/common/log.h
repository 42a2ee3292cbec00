/* log.h - one line per event on stderr: time, level, message, then key=value fields. */
#ifndef SWARMFLOW_COMMON_LOG_H
#define SWARMFLOW_COMMON_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the threshold once at start-up. This is the process's only mutable global: it is written
 * before any other thread or loop starts and only read after. */
void log_init(enum log_level level);
/* Parses "debug", "info", "warn", "error". */
bool log_level_parse(const char *s, enum log_level *out);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
