/* logstream.h - demultiplexer of Docker's 8-byte-header log stream (pure, incremental). */
#ifndef SWARMFLOW_ENGINE_LOGSTREAM_H
#define SWARMFLOW_ENGINE_LOGSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/util.h"

/* Frames: [stream(1) 0 0 0 size(4, big endian)] payload. stream 0 stdin, 1 stdout, 2 stderr,
 * 3 an error of the engine itself (e.g. "Error grabbing logs: ... node X is not available"),
 * which is not part of the logs. */
/* Receives the stdout bytes (every byte of a raw stream) as they are demultiplexed, e.g. to read
 * a try's output from them. */
struct log_tap {
	void (*fn)(void *ctx, const void *data, size_t len);
	void *ctx;
};

struct logstream {
	unsigned char header[8];
	size_t header_len;
	uint32_t remaining; /* payload bytes left in the current frame */
	int stream;
	bool raw;               /* TTY services: no framing, everything is copied as is */
	bool error;             /* a bad header was seen; further input is ignored */
	char daemon_error[256]; /* the payload of stream 3 frames (the first 255 bytes), or "" */
	size_t daemon_error_len;
	const struct log_tap *tap; /* NULL: none; set after logstream_init */
};

void logstream_init(struct logstream *ls, bool raw);
/* Feeds len bytes; payloads are appended to out (stdout and stderr interleaved in order), and
 * stdout payloads also go to ls->tap.
 * Returns false when the stream is malformed (bad stream byte) or out is full (out->too_big). */
bool logstream_feed(struct logstream *ls, const void *data, size_t len, struct buf *out);
/* The engine's own error sent in the stream (stream 3 frames, control bytes blanked), or NULL. */
const char *logstream_daemon_error(const struct logstream *ls);
/* True when the stream ended on a frame boundary (a short read leaves a partial frame). */
bool logstream_complete(const struct logstream *ls);

#endif
