/* fuzz.h - what the libFuzzer targets share: the entry point, CHECK, input splitting. */
#ifndef SWARMFLOW_TESTS_FUZZ_H
#define SWARMFLOW_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant aborts: libFuzzer saves the input and the stack trace names the CHECK's
 * line (tests/fuzz/run quotes it). noinline and nomerge keep each CHECK a call (and a line). */
__attribute__((noinline, noreturn, nomerge)) static void fuzz_fail(const char *what)
{
	(void)what; /* visible in a debugger */
	abort();
}

#define CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond))

/*
 * A fuzz input is read front to back: texts end at a NUL byte (or at the end of the input), so
 * a seed that is plain text is one text; numbers are the bytes after it, little endian, zero
 * when the input ran out. Everything is a copy: the caller frees the texts.
 */
struct input {
	const uint8_t *p;
	size_t left;
};

/* Returns the next text (up to a NUL byte or the end) as a new NUL-terminated string. */
static inline char *input_text(struct input *in)
{
	const uint8_t *nul = memchr(in->p, 0, in->left);
	size_t n = nul ? (size_t)(nul - in->p) : in->left;
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n + (nul != NULL);
	in->left -= n + (nul != NULL);
	return s;
}

/* Returns the next `bytes` (at most 8) bytes as a little-endian number. */
static inline uint64_t input_uint(struct input *in, size_t bytes)
{
	uint64_t v = 0;
	for (size_t i = 0; i < bytes && in->left; i++, in->p++, in->left--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

/* True when s holds the string t (both may be NULL). */
static inline bool str_same(const char *s, const char *t)
{
	return s == t || (s && t && strcmp(s, t) == 0);
}

#endif
