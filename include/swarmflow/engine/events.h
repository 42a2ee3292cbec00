/* events.h - the engine's event stream (GET /events) as wake-ups for the scheduler's poll: the
 * decoding of its lines (pure) and a watcher that keeps one stream open on a thread of its own. */
#ifndef SWARMFLOW_ENGINE_EVENTS_H
#define SWARMFLOW_ENGINE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/util.h"
#include "swarmflow/engine/engine.h"

/* The longest line of the stream kept; a longer one is dropped (counted as bad). */
#define EVENT_LINE_MAX (64u * 1024)

/* One line of GET /events. Strings are cut to fit; absent ones are "". */
struct engine_event {
	char type[16];       /* Type: "container", "service", "node", ... */
	char action[32];     /* Action: "die", "remove", "update", ... */
	char actor_id[80];   /* Actor.ID */
	char service_id[80]; /* a container's com.docker.swarm.service.id; a service's Actor.ID */
	char instance[64];   /* the attribute swarmflow.instance (a container's label) */
	bool has_exit_code;  /* a die event's exitCode was a decimal integer */
	int exit_code;
	int64_t time_nano; /* timeNano, else time * 1e9; 0 when neither */
};

/* Decodes one line (len bytes, not NUL-terminated). False (with *err set) when it is not a
 * JSON object with string Type and Action. */
bool engine_event_decode(const char *line, size_t len, struct engine_event *out, char **err);

/* The `since` of a resumed stream: "SECONDS.NANOSECONDS" of time_nano (out: 32 bytes). */
void engine_event_since(int64_t time_nano, char out[static 32]);

/* Splits a byte stream into lines, each at most EVENT_LINE_MAX bytes. */
struct event_lines {
	struct buf line;
	bool skipping;   /* inside a line that was too long: dropped up to its newline */
	size_t too_long; /* lines dropped so far */
};

/* Called for each complete line (without its '\n' and trailing '\r's; empty lines are skipped);
 * false stops the feed. */
typedef bool (*event_line_fn)(void *ctx, const char *line, size_t len);

void event_lines_init(struct event_lines *lb);
/* Feeds len bytes; fn sees every line they complete. Returns false when fn did (the rest of
 * data is not looked at). */
bool event_lines_feed(struct event_lines *lb, const char *data, size_t len, event_line_fn fn,
		      void *ctx);
/* Forgets a partial line (a new connection starts). */
void event_lines_reset(struct event_lines *lb);
void event_lines_finish(struct event_lines *lb);

/* events_probe.c (used by the watcher): after a die, asks the manager (one GET /tasks for every
 * service due: at 3/4 of the quickest recent lag after the die, at least 50 ms, then at least
 * 20 ms apart, growing with the wait) until it shows the service's end, or not at all, or 3 s
 * passed, or the engine did not answer; then calls on_ended (on its own thread) with the
 * service id. A client of its own, made like engine's. NULL with *err set when the thread
 * cannot start. */
typedef void (*end_probe_fn)(void *ctx, const char *service_id);
struct end_probe;
struct end_probe *end_probe_start(const struct engine *engine, end_probe_fn on_ended, void *ctx,
				  char **err);
/* Adds service_id to the services waiting (once: a repeated die changes nothing). */
void end_probe_add(struct end_probe *p, const char *service_id);
/* Stops asking about service_id (the scheduler found its end itself and removes it: asking
 * about a removed service costs the engine a 404 and the client a retry without it). */
void end_probe_forget(struct end_probe *p, const char *service_id);
/* Joins the thread (after the request in flight, if any) and frees p; accepts NULL. */
void end_probe_stop(struct end_probe *p);

/* The engine's events of one instance, watched on a thread: a long-lived
 * GET /events?filters={"type":["container"],"event":["die"],"label":["swarmflow.instance=X"]},
 * reconnected with backoff and a `since` resume after it ends or fails. A container that died
 * names its service to an end_probe, which waits until the manager shows the end; then the
 * service id is kept and one file descriptor made readable: the loop that waits on it polls once
 * and sees the end, and takes the ids with event_watch_take. Every event is only a wake-up: the
 * scheduler still reads outcomes from its own batched GET /tasks. */
struct event_watch;

/* Starts watching over a client of its own made like engine's (same host, TLS and API version;
 * no request timeout, TCP keepalive instead). instance is the label value to filter on. Returns
 * NULL with *err set when the thread or the descriptor cannot be made (the scheduler then just
 * polls). Stop and free with event_watch_stop (accepts NULL). */
struct event_watch *event_watch_start(const struct engine *engine, const char *instance,
				      char **err);
/* Ends the stream at once (no wait for the engine), joins the thread and frees w. */
void event_watch_stop(struct event_watch *w);
/* The scheduler removes service_id: the probe stops asking about it (end_probe_forget). */
void event_watch_forget(struct event_watch *w, const char *service_id);
/* Readable while service ids (or an overflow) wait to be taken; never changes. */
int event_watch_fd(const struct event_watch *w);

/* What event_watch_take hands over. */
struct event_batch {
	/* Services whose container died (our instance) and whose end the manager now shows (or
	 * 3 s passed), in order. */
	struct strv service_ids;
	bool overflow; /* more than EVENT_PENDING_MAX came, or the stream is back after a loss:
			  poll every service */
	size_t events; /* lines decoded since the last take (all, ours or not) */
};

/* At most this many service ids wait between two takes; more set overflow. */
#define EVENT_PENDING_MAX 4096

/* Takes what came since the last call into *out (emptied first; free with event_batch_finish)
 * and makes the descriptor unreadable again. Returns whether the stream is up now. */
bool event_watch_take(struct event_watch *w, struct event_batch *out);
void event_batch_finish(struct event_batch *b);

/* Counters, for tests and logs. */
struct event_watch_stats {
	size_t connects;  /* streams the engine answered with 2xx */
	size_t failures;  /* streams that ended or could not be opened */
	size_t events;    /* lines decoded (ours or not) */
	size_t bad_lines; /* lines that did not decode, or were too long */
	bool up;          /* a stream is open now */
};
void event_watch_stats(struct event_watch *w, struct event_watch_stats *out);

#endif
