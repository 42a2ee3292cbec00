/* events.c - watches the engine's events of one instance on a thread: one long-lived
 * GET /events, reconnected with backoff and a `since` resume, made into wake-ups on one eventfd
 * that the scheduler's loop waits on. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/engine/events.h"

/* The wait before a reconnect: doubles from the first to the last after each failure. */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
/* Without an event seen, a resumed stream starts this long before the last connect (the
 * engine's clock and ours may differ a little; a repeated event is harmless). */
#define SINCE_SLACK_S 1

struct event_watch {
	struct engine *engine; /* the thread's own client */
	char *filters;         /* the JSON of GET /events?filters= */
	char instance[64];
	int wake_fd; /* eventfd: readable while something waits to be taken */
	int stop[2]; /* pipe: readable when the thread must end */
	pthread_t thread;
	bool started;
	/* The thread's own. */
	struct event_lines lines;
	int64_t last_nano;       /* the newest event's time (engine clock): the next since */
	int64_t connected_s;     /* wall clock of the last connect, when no event came yet */
	bool logged_down;        /* the loss was logged: say when the stream is back */
	bool good;               /* this connection brought a line that decoded */
	char bad[256];           /* why the stream was dropped by us, or "" */
	struct end_probe *probe; /* waits for the manager to show what died */
	pthread_mutex_t mu;      /* guards what follows */
	struct event_batch pending;
	struct event_watch_stats stats;
};

/* Makes the descriptor readable (lock held). */
static void wake(struct event_watch *w)
{
	uint64_t one = 1;
	ssize_t n = write(w->wake_fd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero, the fd readable */
}

/* One decoded event: a container of ours that died names its service. */
static void on_event(struct event_watch *w, const struct engine_event *ev)
{
	if (ev->time_nano > w->last_nano)
		w->last_nano = ev->time_nano;
	bool ours = strcmp(ev->type, "container") == 0 && strcmp(ev->action, "die") == 0 &&
		    strcmp(ev->instance, w->instance) == 0 && ev->service_id[0];
	pthread_mutex_lock(&w->mu);
	w->pending.events++;
	w->stats.events++;
	pthread_mutex_unlock(&w->mu);
	if (ours)
		end_probe_add(w->probe, ev->service_id);
}

/* The manager shows the end of service_id (end_probe's thread): the loop may poll now. */
static void on_ended(void *ctx, const char *service_id)
{
	struct event_watch *w = ctx;
	pthread_mutex_lock(&w->mu);
	if (w->pending.service_ids.len < EVENT_PENDING_MAX)
		strv_push(&w->pending.service_ids, service_id);
	else
		w->pending.overflow = true;
	wake(w);
	pthread_mutex_unlock(&w->mu);
}

static bool on_line(void *ctx, const char *line, size_t len)
{
	struct event_watch *w = ctx;
	struct engine_event ev;
	char *err = NULL;
	if (engine_event_decode(line, len, &ev, &err)) {
		/* Back only once an event decodes: an engine that answers every connect with
		 * garbage is logged once, not once per reconnect. */
		if (!w->good && w->logged_down) {
			log_info("engine events: stream back; ends are seen as they happen again");
			w->logged_down = false;
		}
		w->good = true;
		on_event(w, &ev);
		return true;
	}
	/* Garbage: this stream cannot be trusted; drop it (the next one resumes with since). */
	snprintf(w->bad, sizeof(w->bad), "garbage on the stream (%s)", err);
	free(err);
	pthread_mutex_lock(&w->mu);
	w->stats.bad_lines++;
	pthread_mutex_unlock(&w->mu);
	return false;
}

static bool on_data(void *ctx, const char *data, size_t len)
{
	struct event_watch *w = ctx;
	size_t before = w->lines.too_long;
	bool go = event_lines_feed(&w->lines, data, len, on_line, w);
	if (w->lines.too_long != before) {
		pthread_mutex_lock(&w->mu);
		w->stats.bad_lines += w->lines.too_long - before;
		pthread_mutex_unlock(&w->mu);
	}
	return go;
}

static void on_open(void *ctx, long status)
{
	struct event_watch *w = ctx;
	if (status < 200 || status > 299)
		return;
	w->connected_s = time_now_ms() / 1000;
	pthread_mutex_lock(&w->mu);
	bool again = w->stats.connects++ > 0;
	w->stats.up = true;
	/* Back after a loss: poll once now, for what ended while no event could come. */
	if (again) {
		w->pending.overflow = true;
		wake(w);
	}
	pthread_mutex_unlock(&w->mu);
}

/* The stream ended or could not be opened: logged once per loss. */
static void on_down(struct event_watch *w, const struct engine_err *err)
{
	pthread_mutex_lock(&w->mu);
	bool was_up = w->stats.up;
	w->stats.up = false;
	w->stats.failures++;
	pthread_mutex_unlock(&w->mu);
	if (w->logged_down)
		return;
	const char *why = w->bad[0] ? w->bad : err->kind ? err->message : "the engine ended it";
	log_warnx("engine events: %s %s; falling back to polling on schedule, reconnecting with "
		  "backoff",
		  was_up ? "stream lost:" : "no stream:", why);
	w->logged_down = true;
}

/* Sleeps ms unless stop comes first; false when it did. */
static bool pause_unless_stopped(struct event_watch *w, int64_t ms)
{
	struct pollfd p = {.fd = w->stop[0], .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
		;
	return n == 0;
}

/* The since of the next connection, or NULL for "from now" (out: 32 bytes). */
static const char *next_since(const struct event_watch *w, char *out)
{
	if (w->last_nano > 0) {
		engine_event_since(w->last_nano, out);
		return out;
	}
	if (w->connected_s <= 0)
		return NULL;
	snprintf(out, 32, "%lld", (long long)(w->connected_s - SINCE_SLACK_S));
	return out;
}

static void *watch_main(void *arg)
{
	struct event_watch *w = arg;
	struct engine_watch_cb cb = {.on_open = on_open, .on_data = on_data, .ctx = w};
	int64_t backoff = BACKOFF_MIN_MS;
	for (;;) {
		char since[32];
		const char *s = next_since(w, since);
		struct engine_err err = {0};
		w->bad[0] = '\0';
		w->good = false;
		event_lines_reset(&w->lines);
		engine_events_watch(w->engine, w->filters, s, &cb, w->stop[0], &err);
		if (err.kind == ENGINE_ERR_CANCELLED)
			break;
		on_down(w, &err);
		if (w->good && !w->bad[0])
			backoff = BACKOFF_MIN_MS; /* it worked: a new loss */
		log_debug("engine events: reconnecting in %lld ms", (long long)backoff);
		if (!pause_unless_stopped(w, backoff))
			break;
		backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
	}
	return NULL;
}

static char *filters_for(const char *instance)
{
	char *label = xasprintf("swarmflow.instance=%s", instance);
	json_t *f =
	    json_pack("{s:[s], s:[s], s:[s]}", "type", "container", "event", "die", "label", label);
	free(label);
	if (!f)
		fatalx("out of memory (json_pack)");
	char *text = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	if (!text)
		fatalx("out of memory (json_dumps)");
	return text;
}

struct event_watch *event_watch_start(const struct engine *engine, const char *instance, char **err)
{
	struct event_watch *w = xcalloc(1, sizeof(*w));
	w->stop[0] = w->stop[1] = -1;
	pthread_mutex_init(&w->mu, NULL);
	event_lines_init(&w->lines);
	str_copy(w->instance, sizeof(w->instance), instance);
	w->filters = filters_for(instance);
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0 || pipe(w->stop) != 0) {
		set_err(err, "engine events: %s", strerror(errno));
		goto error;
	}
	w->engine = engine_clone(engine, NULL, NULL); /* the stop pipe ends its stream */
	w->probe = end_probe_start(engine, on_ended, w, err);
	if (!w->probe)
		goto error;
	if ((errno = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
		set_err(err, "engine events: pthread_create: %s", strerror(errno));
		goto error;
	}
	w->started = true;
	return w;
error:
	event_watch_stop(w);
	return NULL;
}

void event_watch_forget(struct event_watch *w, const char *service_id)
{
	end_probe_forget(w->probe, service_id);
}

void event_watch_stop(struct event_watch *w)
{
	if (!w)
		return;
	if (w->started) {
		ssize_t n = write(w->stop[1], "x", 1);
		(void)n;
		pthread_join(w->thread, NULL);
	}
	end_probe_stop(w->probe); /* after the reader: nothing is added any more */
	engine_destroy(w->engine);
	for (int i = 0; i < 2; i++)
		if (w->stop[i] >= 0)
			close(w->stop[i]);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	event_lines_finish(&w->lines);
	event_batch_finish(&w->pending);
	free(w->filters);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int event_watch_fd(const struct event_watch *w)
{
	return w->wake_fd;
}

bool event_watch_take(struct event_watch *w, struct event_batch *out)
{
	event_batch_finish(out);
	pthread_mutex_lock(&w->mu);
	uint64_t count;
	ssize_t n = read(w->wake_fd, &count, sizeof(count));
	(void)n; /* EAGAIN: nothing was waiting */
	*out = w->pending;
	w->pending = (struct event_batch){0};
	bool up = w->stats.up;
	pthread_mutex_unlock(&w->mu);
	return up;
}

void event_batch_finish(struct event_batch *b)
{
	strv_finish(&b->service_ids);
	*b = (struct event_batch){0};
}

void event_watch_stats(struct event_watch *w, struct event_watch_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	pthread_mutex_unlock(&w->mu);
}
