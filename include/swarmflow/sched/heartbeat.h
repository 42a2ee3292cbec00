/* heartbeat.h - the daemon's proof of life: state_dir/heartbeat.json, read by `swarmflow health`
 * (the container's HEALTHCHECK). */
#ifndef SWARMFLOW_SCHED_HEARTBEAT_H
#define SWARMFLOW_SCHED_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

/* The heartbeat is written at most this often (a tick is usually shorter). */
#define HEARTBEAT_EVERY_MS 2000

/* What the scheduler last said about itself. */
struct heartbeat {
	int64_t time_ms; /* when it was written */
	long pid;
	char instance[64];
	long in_flight;       /* tries that own a service */
	char engine[1024];    /* "ok", or the last engine error since the previous heartbeat */
	double poll_interval; /* seconds */
};

/* Which file: standby_host NULL is the active scheduler's, state_dir/heartbeat.json. A standby
 * scheduler (waiting for the lease, or for its engine before it competes) passes its host name
 * and beats in state_dir/standby-HOST.json (characters other than letters, digits, '.', '-'
 * and '_' become '_'), so that it never overwrites the active scheduler's heartbeat on a shared
 * state folder, and its container's health check (on the same HOST) can still see it alive. */

/* Writes hb to that file atomically. False (errno set) on failure. */
bool heartbeat_write(const char *state_dir, const char *standby_host, const struct heartbeat *hb);

/* Removes that file: a scheduler starting must not pass for healthy on the heartbeat of the one
 * before it (same volume, same pid 1 in a container). */
void heartbeat_clear(const char *state_dir, const char *standby_host);

/* Reads that file. False with *err set ("no heartbeat ...", "unreadable ...") when there is none
 * or it cannot be parsed; the caller frees *err. */
bool heartbeat_read(const char *state_dir, const char *standby_host, struct heartbeat *out,
		    char **err);

/* Judges a heartbeat at now_ms: healthy when it is at most max(30 s, 10 poll intervals) old and
 * the engine answered. Returns true when healthy; *why (caller frees) always says what was
 * found, e.g. "healthy: pid 7, 3 tries in flight, heartbeat 1.2 s old". */
bool heartbeat_judge(const struct heartbeat *hb, int64_t now_ms, char **why);

#endif
