/* logstream.c - incremental demultiplexer of Docker's 8-byte-header log stream (pure). */
#include "swarmflow/engine/logstream.h"

#include <string.h>

#define HEADER_LEN 8

void logstream_init(struct logstream *ls, bool raw)
{
	*ls = (struct logstream){.raw = raw};
}

/* Appends as much of data as fits under out->max; false (too_big) when some was left out. */
static bool append_capped(struct buf *out, const unsigned char *data, size_t len)
{
	size_t fit = len;
	if (out->max) {
		size_t room = out->max > out->len ? out->max - out->len : 0;
		fit = len < room ? len : room;
	}
	if (fit && !buf_append(out, data, fit))
		return false;
	if (fit < len) {
		out->too_big = true;
		return false;
	}
	return true;
}

/* Checks a complete header: stream 0 to 3, then three zero bytes, then the size. */
static bool parse_header(struct logstream *ls)
{
	const unsigned char *h = ls->header;
	if (h[0] > 3 || h[1] || h[2] || h[3]) {
		ls->error = true;
		return false;
	}
	ls->stream = h[0];
	ls->remaining =
	    (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | (uint32_t)h[7];
	if (ls->remaining == 0)
		ls->header_len = 0; /* an empty frame: the next byte starts a header */
	return true;
}

/* Keeps what fits of a stream 3 payload, control bytes (newlines too) as spaces. */
static void keep_daemon_error(struct logstream *ls, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && ls->daemon_error_len + 1 < sizeof(ls->daemon_error); i++)
		ls->daemon_error[ls->daemon_error_len++] =
		    p[i] < 0x20 || p[i] == 0x7f ? ' ' : (char)p[i];
	ls->daemon_error[ls->daemon_error_len] = '\0';
}

const char *logstream_daemon_error(const struct logstream *ls)
{
	return ls->daemon_error_len ? ls->daemon_error : NULL;
}

bool logstream_feed(struct logstream *ls, const void *data, size_t len, struct buf *out)
{
	const unsigned char *p = data;
	if (ls->error)
		return false;
	if (ls->raw) {
		if (ls->tap)
			ls->tap->fn(ls->tap->ctx, p, len);
		return append_capped(out, p, len);
	}
	while (len > 0) {
		if (ls->header_len < HEADER_LEN) {
			size_t n = HEADER_LEN - ls->header_len;
			n = n < len ? n : len;
			memcpy(ls->header + ls->header_len, p, n);
			ls->header_len += n;
			p += n;
			len -= n;
			if (ls->header_len == HEADER_LEN && !parse_header(ls))
				return false;
			continue;
		}
		size_t n = len < ls->remaining ? len : ls->remaining;
		if (ls->stream == 1 && ls->tap)
			ls->tap->fn(ls->tap->ctx, p, n);
		if (ls->stream == 3)
			keep_daemon_error(ls, p, n);
		else if (!append_capped(out, p, n))
			return false;
		ls->remaining -= (uint32_t)n;
		p += n;
		len -= n;
		if (ls->remaining == 0)
			ls->header_len = 0;
	}
	return true;
}

bool logstream_complete(const struct logstream *ls)
{
	return !ls->error && ls->header_len == 0 && ls->remaining == 0;
}
