/* fuzz_events.c - libFuzzer target: the engine's event stream split into lines (in one feed and
 * in pieces, which must agree) and each line through engine_event_decode. Input: stream bytes. */
#include "fuzz.h"

#include "swarmflow/engine/events.h"

/* What one way of feeding the input gave: the lines joined with '\n', and the dropped count. */
struct result {
	struct buf lines;
	size_t too_long;
};

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Decodes one line and checks the event against what events.h promises. */
static void decode_checked(const char *line, size_t len)
{
	struct engine_event ev;
	char *err = NULL;
	bool ok = engine_event_decode(line, len, &ev, &err);
	CHECK(ok == (err == NULL));
	free(err);
	if (!ok)
		return;
	CHECK(terminated(ev.type, sizeof(ev.type)) && terminated(ev.action, sizeof(ev.action)));
	CHECK(terminated(ev.actor_id, sizeof(ev.actor_id)));
	CHECK(terminated(ev.service_id, sizeof(ev.service_id)));
	CHECK(terminated(ev.instance, sizeof(ev.instance)));
	CHECK(!ev.has_exit_code || strcmp(ev.action, "die") == 0);
	CHECK(ev.has_exit_code || ev.exit_code == 0);
	CHECK(ev.time_nano >= 0);
	char since[32];
	engine_event_since(ev.time_nano, since);
	CHECK(strchr(since, '.') != NULL);
}

static bool on_line(void *ctx, const char *line, size_t len)
{
	struct result *r = ctx;
	CHECK(len > 0 && len <= EVENT_LINE_MAX);
	CHECK(memchr(line, '\n', len) == NULL);
	CHECK(line[len - 1] != '\r');
	CHECK(buf_append(&r->lines, line, len) && buf_append(&r->lines, "\n", 1));
	decode_checked(line, len);
	return true;
}

/* Feeds data in pieces of `step` bytes (0: all at once). */
static void feed(const uint8_t *data, size_t size, size_t step, struct result *r)
{
	struct event_lines lb;
	event_lines_init(&lb);
	buf_init(&r->lines, 0);
	buf_append(&r->lines, "", 0);
	for (size_t at = 0; at < size;) {
		size_t n = step && size - at > step ? step : size - at;
		CHECK(event_lines_feed(&lb, (const char *)data + at, n, on_line, r));
		at += n;
	}
	r->too_long = lb.too_long;
	event_lines_finish(&lb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, pieces;
	feed(data, size, 0, &whole);
	/* the piece size from the first byte: 1..16 */
	feed(data, size, size ? (size_t)(data[0] % 16) + 1 : 1, &pieces);
	CHECK(whole.lines.len == pieces.lines.len);
	CHECK(memcmp(whole.lines.data, pieces.lines.data, whole.lines.len) == 0);
	CHECK(whole.too_long == pieces.too_long);
	buf_finish(&whole.lines);
	buf_finish(&pieces.lines);
	return 0;
}
