/* heartbeat.c - the daemon's proof of life, written by the loop and judged by `swarmflow health`.
 */
#include "swarmflow/sched/heartbeat.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swarmflow/common/fsutil.h"
#include "swarmflow/common/util.h"

/* A heartbeat older than this (or than 10 poll intervals, when longer) means a stuck loop. */
#define HEARTBEAT_STALE_MS 30000

/* The file of heartbeat.h: heartbeat.json, or standby-HOST.json (HOST sanitised). */
static char *beat_path(const char *state_dir, const char *standby_host)
{
	if (!standby_host)
		return xasprintf("%s/heartbeat.json", state_dir);
	char *path = xasprintf("%s/standby-%s.json", state_dir, standby_host);
	for (char *p = path + strlen(state_dir) + strlen("/standby-"); *p && strcmp(p, ".json");
	     p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			*p = '_';
	return path;
}

bool heartbeat_write(const char *state_dir, const char *standby_host, const struct heartbeat *hb)
{
	json_t *v = json_pack("{s:I, s:I, s:s, s:I, s:s, s:f}", "time_ms", (json_int_t)hb->time_ms,
			      "pid", (json_int_t)hb->pid, "instance", hb->instance, "in_flight",
			      (json_int_t)hb->in_flight, "engine", hb->engine, "poll_interval",
			      hb->poll_interval);
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	char *path = beat_path(state_dir, standby_host);
	bool ok = text && fs_write_atomic(path, text, strlen(text));
	free(path);
	free(text);
	return ok;
}

void heartbeat_clear(const char *state_dir, const char *standby_host)
{
	char *path = beat_path(state_dir, standby_host);
	unlink(path);
	free(path);
}

bool heartbeat_read(const char *state_dir, const char *standby_host, struct heartbeat *out,
		    char **err)
{
	char *path = beat_path(state_dir, standby_host);
	json_error_t jerr;
	json_t *v = json_load_file(path, 0, &jerr);
	*out = (struct heartbeat){0};
	const char *instance = NULL, *engine = NULL;
	json_int_t time_ms = 0, pid = 0, in_flight = 0;
	double poll = 0;
	bool ok = v && json_unpack(v, "{s:I, s:I, s:s, s:I, s:s, s:F}", "time_ms", &time_ms, "pid",
				   &pid, "instance", &instance, "in_flight", &in_flight, "engine",
				   &engine, "poll_interval", &poll) == 0;
	if (ok) {
		out->time_ms = time_ms;
		out->pid = (long)pid;
		out->in_flight = (long)in_flight;
		out->poll_interval = poll;
		snprintf(out->instance, sizeof(out->instance), "%s", instance);
		snprintf(out->engine, sizeof(out->engine), "%s", engine);
	} else if (!v) {
		set_err(err, "no heartbeat in %s (%s): the scheduler has not started there", path,
			jerr.text);
	} else {
		set_err(err, "%s: not a heartbeat", path);
	}
	json_decref(v);
	free(path);
	return ok;
}

bool heartbeat_judge(const struct heartbeat *hb, int64_t now_ms, char **why)
{
	int64_t age = now_ms - hb->time_ms;
	int64_t limit = (int64_t)(hb->poll_interval * 10 * 1000);
	if (limit < HEARTBEAT_STALE_MS)
		limit = HEARTBEAT_STALE_MS;
	if (age > limit) {
		*why = xasprintf("unhealthy: the scheduler (pid %ld) has not beaten for %.1f s "
				 "(limit %.0f s): its loop is stuck or it has stopped",
				 hb->pid, (double)age / 1000, (double)limit / 1000);
		return false;
	}
	if (strcmp(hb->engine, "ok") != 0) {
		*why = xasprintf("unhealthy: the scheduler (pid %ld) runs but the engine fails: %s",
				 hb->pid, hb->engine);
		return false;
	}
	*why = xasprintf("healthy: scheduler pid %ld, instance %s, %ld tries in flight, "
			 "heartbeat %.1f s old",
			 hb->pid, hb->instance, hb->in_flight, (double)age / 1000);
	return true;
}
