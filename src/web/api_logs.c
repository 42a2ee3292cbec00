/* api_logs.c - the log of one try, from an offset: the stored file once the try is over, the
 * engine's log of its service while it runs (so that the UI can follow it). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "swarmflow/common/metrics.h"
#include "swarmflow/engine/engine.h"

/* The highest offset a client may ask for (a stored log is at most ENGINE_MAX_LOG and a note). */
#define OFFSET_MAX (1LL << 40)

/* The length of the UTF-8 sequence starting with byte c (0: not a valid first byte), and the
 * range its second byte must fall in (which rules out overlong forms, surrogates and code
 * points above U+10FFFF). */
static size_t seq_len(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF) {
		*lo = c == 0xE0 ? 0xA0 : 0x80;
		*hi = c == 0xED ? 0x9F : 0xBF;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		*lo = c == 0xF0 ? 0x90 : 0x80;
		*hi = c == 0xF4 ? 0x8F : 0xBF;
		return 4;
	}
	return 0;
}

/* How many bytes of a valid sequence start at p (n bytes left): its length when complete, 0
 * when invalid; *partial when p ends inside a sequence that is valid so far. */
static size_t valid_seq(const unsigned char *p, size_t n, bool *partial)
{
	unsigned char lo, hi;
	*partial = false;
	if (p[0] >= 0x01 && p[0] <= 0x7F)
		return 1;
	size_t len = seq_len(p[0], &lo, &hi);
	for (size_t i = 1; len && i < len; i++) {
		if (i == n) {
			*partial = true;
			return 0;
		}
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
			return 0;
	}
	return len;
}

char *utf8_clean(const char *data, size_t len, bool at_end, size_t *used)
{
	static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)data;
	struct buf out;
	buf_init(&out, 0);
	buf_append(&out, "", 0);
	size_t i = 0;
	while (i < len) {
		bool partial = false;
		size_t n = valid_seq(p + i, len - i, &partial);
		if (partial && !at_end)
			break; /* the rest of it comes with the next chunk */
		if (n) {
			buf_append(&out, data + i, n);
			i += n;
		} else {
			buf_append(&out, replacement, 3);
			i++;
		}
	}
	*used = i;
	return buf_steal(&out);
}

/* Answers {"content", "next_offset", "complete"} for text read from offset. */
static void answer(struct web_resp *r, const char *text, size_t len, int64_t offset, bool at_end,
		   bool complete)
{
	size_t used = 0;
	char *clean = utf8_clean(text, len, at_end, &used);
	resp_json(r, 200,
		  json_pack("{s:s, s:I, s:b}", "content", clean, "next_offset",
			    (json_int_t)(offset + (int64_t)used), "complete", complete && at_end));
	free(clean);
}

/* A stored log from offset, at most WEB_MAX_LOG_CHUNK bytes. */
static void from_file(struct web_resp *r, const char *path, int64_t offset)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		resp_error(r, 500, "cannot read the log %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	int64_t size = st.st_size;
	if (offset > size)
		offset = size;
	size_t want =
	    (size_t)(size - offset < WEB_MAX_LOG_CHUNK ? size - offset : WEB_MAX_LOG_CHUNK);
	char *text = xmalloc(want + 1);
	ssize_t got = want ? pread(fd, text, want, (off_t)offset) : 0;
	close(fd);
	if (got < 0)
		resp_error(r, 500, "cannot read the log %s: %s", path, strerror(errno));
	else
		answer(r, text, (size_t)got, offset, offset + got >= size, true);
	free(text);
}

/* Whether the task's containers run with a TTY (their log stream is then not multiplexed). */
static bool task_tty(struct web_req *q)
{
	json_t *dag = web_dags_find(web_dags_of(q->w), q->route->args[ARG_DAG]), *t;
	size_t i;
	bool tty = false;
	json_array_foreach(json_object_get(dag, "tasks"), i, t)
	{
		const char *id = json_string_value(json_object_get(t, "task_id"));
		if (id && strcmp(id, q->route->args[ARG_TASK]) == 0)
			tty = json_is_true(json_object_get(t, "tty"));
	}
	json_decref(dag);
	return tty;
}

/* The log of a running try's service so far, from the engine. */
static void from_engine(struct web_req *q, struct web_resp *r, const struct ti *ti, int64_t offset)
{
	if (!ti->service_id) { /* queued, its service not created yet */
		answer(r, "", 0, offset, true, false);
		return;
	}
	bool tty = task_tty(q);
	char *err = NULL;
	struct engine *e = web_engine_take(q->w, &err);
	if (!e) {
		resp_error(r, 502, "engine: %s", err ? err : "unavailable");
		free(err);
		return;
	}
	struct buf logs;
	buf_init(&logs, 0);
	struct engine_err eerr = {0};
	bool ok = engine_service_logs(e, ti->service_id, tty, &logs, &eerr);
	web_engine_release(q->w);
	if (!ok) {
		metrics_engine_error(web_metrics_of(q->w), &eerr);
		resp_error(r, 502, "engine: logs of service %s: %s", ti->service_name,
			   eerr.message);
	} else {
		int64_t len = (int64_t)logs.len;
		int64_t from = offset < len ? offset : len;
		int64_t n = len - from < WEB_MAX_LOG_CHUNK ? len - from : WEB_MAX_LOG_CHUNK;
		/* Never "at the end": the running container may yet finish a character. */
		answer(r, logs.data ? logs.data + from : "", (size_t)n, from, false, false);
	}
	buf_finish(&logs);
}

/* The recorded try want of ti (in *out, a copy), if the history has it. */
static bool find_try(struct web_req *q, struct web_resp *r, const struct ti *ti, int64_t want,
		     struct ti *out, bool *found)
{
	struct ti_list tries = {0};
	char *err = NULL;
	*found = false;
	if (!store_tries_list(q->store, ti->id, &tries, &err)) {
		resp_store_error(r, err);
		return false;
	}
	for (size_t i = 0; i < tries.len && !*found; i++) {
		if (tries.v[i].try_number == want) {
			*out = tries.v[i];
			tries.v[i] = (struct ti){0};
			*found = true;
		}
	}
	ti_list_finish(&tries);
	return true;
}

void api_logs(struct web_req *q, struct web_resp *r)
{
	int64_t offset = 0;
	char *err = NULL;
	if (!query_int(q->query, "offset", 0, 0, OFFSET_MAX, &offset, &err)) {
		resp_error(r, 400, "%s", err);
		free(err);
		return;
	}
	logs_answer(q, r, offset);
}

void logs_answer(struct web_req *q, struct web_resp *r, int64_t offset)
{
	struct run run = {0};
	struct ti ti = {0}, done = {0};
	int64_t want = q->route->try_number;
	bool found = false;
	if (!req_run(q, r, &run) || !req_ti(q, r, &run, &ti) ||
	    !find_try(q, r, &ti, want, &done, &found))
		goto out;
	bool current = ti.try_number == want;
	bool live = current && (ti.state == TI_QUEUED || ti.state == TI_RUNNING);
	const char *path = found ? done.log_path : (current ? ti.log_path : NULL);
	if (live)
		from_engine(q, r, &ti, offset);
	else if (path)
		from_file(r, path, offset);
	else if (found || current)
		resp_error(r, 404, "try %lld of task '%s' has no stored log", (long long)want,
			   ti.task_id);
	else
		resp_error(r, 404, "task '%s' has no try %lld", ti.task_id, (long long)want);
out:
	ti_finish(&done);
	ti_finish(&ti);
	run_finish(&run);
}
