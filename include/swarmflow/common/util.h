/* util.h - allocation that never returns NULL, string lists and capped growable buffers. */
#ifndef SWARMFLOW_COMMON_UTIL_H
#define SWARMFLOW_COMMON_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Out of memory is fatal on purpose: these abort with a message instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns a copy of s (NULL when s is NULL); the caller frees it. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Sets *err (when err is not NULL and *err is NULL) to a new formatted message. Returns false,
 * so that `return set_err(err, "...")` reads naturally. The caller of the failing function
 * frees *err. */
bool set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growable list of owned strings. Zero-initialise ({0}) before use. */
struct strv {
	char **v;
	size_t len;
	size_t cap;
};

/* Appends a copy of s. */
void strv_push(struct strv *sv, const char *s);
/* Appends s itself; the list takes ownership. */
void strv_push_owned(struct strv *sv, char *s);
/* Replaces *dst by a deep copy of src (dst must be finished or zeroed). */
void strv_copy(struct strv *dst, const struct strv *src);
bool strv_contains(const struct strv *sv, const char *s);
/* Frees the strings and the array, and zeroes the list. */
void strv_finish(struct strv *sv);

/* A growable byte buffer with a hard cap (curl's dynbuf idea): appending past `max` fails
 * instead of growing without bound. data is always NUL-terminated after a successful append. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;   /* 0 means no cap */
	bool too_big; /* set when an append was refused because of max */
};

void buf_init(struct buf *b, size_t max);
/* Returns false (and sets too_big) when the result would exceed max. */
bool buf_append(struct buf *b, const void *data, size_t len);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Returns the data and gives up ownership (the buffer is left empty). Never NULL. */
char *buf_steal(struct buf *b);
void buf_finish(struct buf *b);

/* Strings copied into shared blocks and freed together: the strings of a batch of rows, which
 * would otherwise cost a malloc and a free each. Zero-initialise; not for one thread and the
 * next at once. */
struct strpool {
	struct strpool_block *head;
};
/* A copy of s that lives until strpool_finish; NULL for NULL. */
char *strpool_dup(struct strpool *p, const char *s);
/* Frees every string of p and leaves it empty. */
void strpool_finish(struct strpool *p);

/* Parses a whole decimal integer in [min, max]; false on anything else (no atoi). */
bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* The value of variable name in envp (a NULL-terminated "K=V" array like environ), or NULL. */
const char *env_lookup(char *const *envp, const char *name);

/* Copies src into dst (size bytes), cut to fit and always NUL-terminated (strlcpy). Returns
 * true when nothing was cut. */
bool str_copy(char *dst, size_t size, const char *src);

/* True when a and b are the same text but for durations in milliseconds: "port 80 after 1 ms"
 * and "port 80 after 0 ms" (curl's messages carry their timings); other numbers must match. */
bool str_same_but_ms(const char *a, const char *b);

/* True when s starts with prefix / ends with suffix. */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

#endif
