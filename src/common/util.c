/* util.c - allocation that never returns NULL, string lists and capped growable buffers. */
#include "swarmflow/common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/log.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		fatalx("out of memory (%zu bytes)", n);
	return q;
}

char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	if (!fmt) /* never true; tells gcc -fsanitize=undefined that vsnprintf gets a format */
		fatalx("xvasprintf: no format");
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatalx("vsnprintf failed for format \"%s\"", fmt);
	char *p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

bool set_err(char **err, const char *fmt, ...)
{
	if (!err || *err)
		return false;
	va_list ap;
	va_start(ap, fmt);
	*err = xvasprintf(fmt, ap);
	va_end(ap);
	return false;
}

void strv_push_owned(struct strv *sv, char *s)
{
	if (sv->len + 1 >= sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 4;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->len++] = s;
	sv->v[sv->len] = NULL;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_owned(sv, xstrdup(s));
}

void strv_copy(struct strv *dst, const struct strv *src)
{
	*dst = (struct strv){0};
	for (size_t i = 0; i < src->len; i++)
		strv_push(dst, src->v[i]);
}

bool strv_contains(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->len; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void strv_finish(struct strv *sv)
{
	for (size_t i = 0; i < sv->len; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct strv){0};
}

void buf_init(struct buf *b, size_t max)
{
	*b = (struct buf){.max = max};
}

bool buf_append(struct buf *b, const void *data, size_t len)
{
	if (b->max && (len > b->max || b->len > b->max - len)) {
		b->too_big = true;
		return false;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

bool buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	bool ok = buf_append(b, s, strlen(s));
	free(s);
	return ok;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->too_big = false;
	if (b->data)
		b->data[0] = '\0';
}

char *buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");
	size_t max = b->max;
	*b = (struct buf){.max = max};
	return p;
}

void buf_finish(struct buf *b)
{
	free(b->data);
	*b = (struct buf){0};
}

/* Bytes of a block of a strpool: some 200 rows' strings. A longer string gets a block of its
 * own size. */
#define STRPOOL_BLOCK 16384

struct strpool_block {
	struct strpool_block *next;
	size_t used, cap;
	char data[];
};

char *strpool_dup(struct strpool *p, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	struct strpool_block *b = p->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > STRPOOL_BLOCK ? n : STRPOOL_BLOCK;
		b = xmalloc(sizeof(*b) + cap);
		*b = (struct strpool_block){.next = p->head, .cap = cap};
		p->head = b;
	}
	char *copy = memcpy(b->data + b->used, s, n);
	b->used += n;
	return copy;
}

void strpool_finish(struct strpool *p)
{
	while (p->head) {
		struct strpool_block *next = p->head->next;
		free(p->head);
		p->head = next;
	}
}

bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s)
		return false;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

bool str_copy(char *dst, size_t size, const char *src)
{
	if (size == 0)
		return false;
	size_t n = strnlen(src, size);
	bool whole = n < size;
	if (!whole)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return whole;
}

/* Past the digits of a "N ms" at s, or NULL when s does not start with one. */
static const char *ms_number_end(const char *s)
{
	const char *p = s;
	while (*p >= '0' && *p <= '9')
		p++;
	return p > s && strncmp(p, " ms", 3) == 0 ? p : NULL;
}

bool str_same_but_ms(const char *a, const char *b)
{
	for (;;) {
		const char *ea = ms_number_end(a), *eb = ms_number_end(b);
		if (ea && eb) {
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}
