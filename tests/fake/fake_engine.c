/* fake_engine.c - a fake Docker Engine for tests: one thread serving a unix socket. */
#include "fake_priv.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/util.h"

/* Largest request the fake reads; a longer one is dropped unanswered. */
#define MAX_REQUEST (8u * 1024 * 1024)

bool fake_write(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Waits until fd is readable; false when the fake is stopping. */
static bool wait_readable(struct fake_engine *fe, int fd)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = fe->stop[0], .events = POLLIN}};
	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return false;
	return !(p[1].revents & POLLIN);
}

/* Reads one request (headers and a Content-Length body) into b; false at EOF or on stop. */
static bool read_request(struct fake_engine *fe, int fd, struct buf *b)
{
	char chunk[4096];
	size_t need = SIZE_MAX;
	while (b->len < need) {
		if (!wait_readable(fe, fd))
			return false;
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0 || !buf_append(b, chunk, (size_t)n))
			return false;
		char *end = strstr(b->data, "\r\n\r\n");
		if (end && need == SIZE_MAX) {
			const char *cl = strstr(b->data, "Content-Length: ");
			int64_t len = 0;
			if (cl && cl < end) {
				char *num = xstrndup(cl + 16, strcspn(cl + 16, "\r"));
				parse_int64(num, 0, MAX_REQUEST, &len);
				free(num);
			}
			need = (size_t)(end - b->data) + 4 + (size_t)len;
		}
	}
	return true;
}

/* Splits a request into rec (which takes a copy of the raw text); *rawq is the query as sent. */
static void parse(const struct buf *b, struct record *rec, char **line, char **rawq)
{
	rec->raw = xmalloc(b->len + 1);
	memcpy(rec->raw, b->data, b->len + 1);
	rec->raw_len = b->len;
	*line = xstrndup(b->data, strcspn(b->data, "\r"));
	size_t m = strcspn(*line, " ");
	rec->req.method = xstrndup(*line, m);
	const char *target = (*line)[m] ? *line + m + 1 : *line + m;
	size_t t = strcspn(target, " ");
	size_t p = strcspn(target, "? ");
	rec->req.path = xstrndup(target, p);
	*rawq = p < t ? xstrndup(target + p + 1, t - p - 1) : xstrdup("");
	rec->req.query = fake_url_decode(*rawq, strlen(*rawq));
	const char *end = strstr(b->data, "\r\n\r\n");
	rec->req.body = xstrdup(end ? end + 4 : "");
}

/* Decides the answer (called with the lock held): a fault, a route, or the swarm. */
static void decide(struct fake_engine *fe, const struct record *rec, const char *line,
		   const char *rawq, struct reply *out)
{
	for (size_t i = 0; i < fe->n_faults; i++) {
		struct fault *f = &fe->faults[i];
		if (f->left != 0 && strstr(line, f->match)) {
			f->left -= f->left > 0;
			fake_reply_text(out, f->status, "application/json", f->body,
					strlen(f->body));
			return;
		}
	}
	for (const struct fake_route *r = fe->routes; r && r->match; r++) {
		if (strstr(line, r->match)) {
			out->route = r;
			return;
		}
	}
	if (fe->swarm && strcmp(rec->req.method, "GET") == 0 &&
	    str_has_suffix(rec->req.path, "/events")) {
		out->stream = true;
		return;
	}
	if (fe->swarm)
		fake_swarm_answer(fe, rec, rawq, out);
}

static bool send_reply(int c, const struct reply *r)
{
	const struct fake_route *route = r->route;
	if (route && route->raw) {
		if (!fake_write(c, route->raw,
				route->raw_len ? route->raw_len : strlen(route->raw)))
			return false;
		if (route->gen)
			route->gen(c);
		return true;
	}
	const char *status = route ? route->status : r->status;
	const char *body = route ? route->body : r->body;
	size_t len = route ? strlen(body) : r->body_len;
	char *head = xasprintf("HTTP/1.1 %s\r\nContent-Type: %s\r\nConnection: close\r\n"
			       "Content-Length: %zu\r\n\r\n",
			       status, route ? "application/json" : r->type, len);
	bool ok = fake_write(c, head, strlen(head)) && fake_write(c, body, len);
	free(head);
	return ok;
}

/* Keeps c as an event stream: the answer's head now, the events when a test sends them. */
static void stream_open(struct fake_engine *fe, int c)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Connection: close\r\n\r\n";
	pthread_mutex_lock(&fe->mu);
	if (fake_write(c, head, strlen(head))) {
		fe->streams = xrealloc(fe->streams, (fe->n_streams + 1) * sizeof(*fe->streams));
		fe->streams[fe->n_streams++] = c;
	} else {
		close(c);
	}
	pthread_mutex_unlock(&fe->mu);
}

/* What became of a connection. */
enum served {
	SERVED, /* answered: close it */
	HELD,   /* left unanswered until fake_engine_destroy */
	STREAM, /* kept as an event stream (fe->streams) */
};

static enum served serve_one(struct fake_engine *fe, int c)
{
	struct buf b;
	buf_init(&b, MAX_REQUEST);
	enum served what = SERVED;
	if (read_request(fe, c, &b)) {
		struct record rec = {0};
		char *line, *rawq;
		parse(&b, &rec, &line, &rawq);
		struct reply r = {0};
		pthread_mutex_lock(&fe->mu);
		decide(fe, &rec, line, rawq, &r);
		fe->reqs = xrealloc(fe->reqs, (fe->n_reqs + 1) * sizeof(*fe->reqs));
		fe->reqs[fe->n_reqs++] = rec;
		pthread_mutex_unlock(&fe->mu);
		if (r.stream) {
			stream_open(fe, c);
			what = STREAM;
		} else if (r.route || r.status) {
			send_reply(c, &r);
		} else {
			what = HELD;
		}
		free(r.status);
		free(r.body);
		free(line);
		free(rawq);
	}
	buf_finish(&b);
	return what;
}

/* A connection served on a thread of its own (parallel mode). */
struct worker_arg {
	struct fake_engine *fe;
	int c;
};

static void *serve_parallel(void *arg)
{
	struct worker_arg *w = arg;
	struct fake_engine *fe = w->fe;
	int c = w->c;
	free(w);
	pthread_mutex_lock(&fe->mu);
	if (++fe->parallel > fe->max_parallel)
		fe->max_parallel = fe->parallel;
	pthread_mutex_unlock(&fe->mu);
	struct timespec ts = {fe->parallel_delay_ms / 1000,
			      (long)(fe->parallel_delay_ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
	enum served what = serve_one(fe, c);
	pthread_mutex_lock(&fe->mu);
	fe->parallel--;
	if (what == HELD) {
		fe->held = xrealloc(fe->held, (fe->n_held + 1) * sizeof(*fe->held));
		fe->held[fe->n_held++] = c;
	}
	pthread_mutex_unlock(&fe->mu);
	if (what == SERVED)
		close(c);
	return NULL;
}

static void start_worker(struct fake_engine *fe, int c)
{
	struct worker_arg *w = xmalloc(sizeof(*w));
	*w = (struct worker_arg){fe, c};
	pthread_mutex_lock(&fe->mu);
	fe->workers = xrealloc(fe->workers, (fe->n_workers + 1) * sizeof(*fe->workers));
	if ((errno = pthread_create(&fe->workers[fe->n_workers], NULL, serve_parallel, w)) != 0)
		fatalx("fake engine: pthread_create: %s", strerror(errno));
	fe->n_workers++;
	pthread_mutex_unlock(&fe->mu);
}

static void *serve(void *arg)
{
	struct fake_engine *fe = arg;
	while (wait_readable(fe, fe->lfd)) {
		int c = accept(fe->lfd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		if (fe->parallel_delay_ms > 0) {
			start_worker(fe, c);
			continue;
		}
		enum served what = serve_one(fe, c);
		if (what == SERVED)
			close(c);
		if (what != HELD)
			continue;
		fe->held = xrealloc(fe->held, (fe->n_held + 1) * sizeof(*fe->held));
		fe->held[fe->n_held++] = c;
	}
	return NULL;
}

struct fake_engine *fake_engine_create(const struct fake_engine_opts *opts)
{
	struct fake_engine *fe = xcalloc(1, sizeof(*fe));
	fe->lfd = fe->stop[0] = fe->stop[1] = -1;
	pthread_mutex_init(&fe->mu, NULL);
	fe->routes = opts->routes;
	fe->swarm = opts->swarm;
	fe->parallel_delay_ms = opts->parallel_delay_ms;
	snprintf(fe->api_version, sizeof(fe->api_version), "%s",
		 opts->api_version ? opts->api_version : "1.41");
	snprintf(fe->dir, sizeof(fe->dir), "/tmp/sf-fake-XXXXXX");
	if (!mkdtemp(fe->dir)) {
		fe->dir[0] = '\0';
		goto error;
	}
	snprintf(fe->sock, sizeof(fe->sock), "%s/engine.sock", fe->dir);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fe->sock);
	fe->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fe->lfd < 0 || bind(fe->lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(fe->lfd, 64) != 0 || pipe(fe->stop) != 0)
		goto error;
	if ((errno = pthread_create(&fe->thread, NULL, serve, fe)) != 0)
		goto error;
	fe->started = true;
	return fe;
error:;
	int saved = errno;
	fake_engine_destroy(fe);
	errno = saved;
	return NULL;
}

static void script_free(struct script *sc)
{
	for (size_t i = 0; i < sc->n_steps; i++) {
		free((char *)sc->steps[i].state);
		free((char *)sc->steps[i].err);
		free((char *)sc->steps[i].message);
	}
	free(sc->steps);
	free(sc->key);
	free(sc->log);
	free(sc);
}

void fake_engine_faults_clear(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->mu);
	for (size_t i = 0; i < fe->n_faults; i++) {
		free(fe->faults[i].match);
		free(fe->faults[i].status);
		free(fe->faults[i].body);
	}
	free(fe->faults);
	fe->faults = NULL;
	fe->n_faults = 0;
	pthread_mutex_unlock(&fe->mu);
}

void fake_engine_destroy(struct fake_engine *fe)
{
	if (!fe)
		return;
	if (fe->started) {
		ssize_t n = write(fe->stop[1], "x", 1);
		(void)n;
		pthread_join(fe->thread, NULL);
	}
	/* The accept thread has ended: no worker is added any more. */
	for (size_t i = 0; i < fe->n_workers; i++)
		pthread_join(fe->workers[i], NULL);
	free(fe->workers);
	for (size_t i = 0; i < fe->n_held; i++)
		close(fe->held[i]);
	free(fe->held);
	fake_engine_events_cut(fe);
	free(fe->streams);
	for (int i = 0; i < 2; i++)
		if (fe->stop[i] >= 0)
			close(fe->stop[i]);
	if (fe->lfd >= 0) {
		close(fe->lfd);
		unlink(fe->sock);
	}
	if (fe->dir[0])
		rmdir(fe->dir);
	for (size_t i = 0; i < fe->n_reqs; i++) {
		fake_request_finish(&fe->reqs[i].req);
		free(fe->reqs[i].raw);
	}
	free(fe->reqs);
	fake_engine_faults_clear(fe);
	for (size_t i = 0; i < fe->n_scripts; i++)
		script_free(fe->scripts[i]);
	for (size_t i = 0; i < fe->n_svcs; i++)
		json_decref(fe->svcs[i].spec);
	free(fe->svcs);
	for (size_t i = 0; i < fe->n_named; i++) {
		free(fe->named[i].kind);
		free(fe->named[i].name);
		free(fe->named[i].id);
	}
	free(fe->named);
	pthread_mutex_destroy(&fe->mu);
	free(fe);
}

const char *fake_engine_socket(const struct fake_engine *fe)
{
	return fe->sock;
}

void fake_engine_script(struct fake_engine *fe, const struct fake_script *script)
{
	struct script *sc = xcalloc(1, sizeof(*sc));
	sc->key = xstrdup(script->key);
	sc->log = xstrdup(script->log);
	if (script->n_steps == 0)
		fatalx("fake engine: script '%s' has no step", script->key ? script->key : "");
	sc->n_steps = script->n_steps;
	sc->steps = xcalloc(sc->n_steps, sizeof(*sc->steps));
	for (size_t i = 0; i < sc->n_steps; i++) {
		const struct fake_step *st = &script->steps[i];
		sc->steps[i] = *st;
		sc->steps[i].state = xstrdup(st->state);
		sc->steps[i].err = xstrdup(st->err);
		sc->steps[i].message = xstrdup(st->message);
	}
	pthread_mutex_lock(&fe->mu);
	/* Services keep pointing at the script they started with: a replaced one stays alive
	 * (freed by fake_engine_destroy) and the new one is added. */
	if (fe->n_scripts == ARRAY_LEN(fe->scripts))
		fatalx("fake engine: more than %zu scripts", ARRAY_LEN(fe->scripts));
	memmove(&fe->scripts[1], &fe->scripts[0], fe->n_scripts * sizeof(fe->scripts[0]));
	fe->scripts[0] = sc; /* first: the newest wins */
	fe->n_scripts++;
	pthread_mutex_unlock(&fe->mu);
}

void fake_engine_fault(struct fake_engine *fe, const char *match, const char *status,
		       const char *body, int times)
{
	pthread_mutex_lock(&fe->mu);
	fe->faults = xrealloc(fe->faults, (fe->n_faults + 1) * sizeof(*fe->faults));
	fe->faults[fe->n_faults++] =
	    (struct fault){xstrdup(match), xstrdup(status), xstrdup(body ? body : ""), times};
	pthread_mutex_unlock(&fe->mu);
}

char *fake_engine_service_add(struct fake_engine *fe, json_t *spec)
{
	struct reply r = {0};
	pthread_mutex_lock(&fe->mu);
	struct service *s = fake_swarm_service_new(fe, spec, &r);
	char *id = s ? xstrdup(s->info.id) : NULL;
	pthread_mutex_unlock(&fe->mu);
	free(r.status);
	free(r.body);
	return id;
}

char *fake_engine_named_add(struct fake_engine *fe, const char *kind, const char *name)
{
	pthread_mutex_lock(&fe->mu);
	fe->named = xrealloc(fe->named, (fe->n_named + 1) * sizeof(*fe->named));
	char *id = xasprintf("%.3s%04u", kind, ++fe->next_id);
	fe->named[fe->n_named++] = (struct named){xstrdup(kind), xstrdup(name), xstrdup(id)};
	pthread_mutex_unlock(&fe->mu);
	return id;
}

size_t fake_engine_request_count(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->mu);
	size_t n = fe->n_reqs;
	pthread_mutex_unlock(&fe->mu);
	return n;
}

size_t fake_engine_count(struct fake_engine *fe, size_t from, const char *method,
			 const char *path_suffix)
{
	size_t n = 0;
	pthread_mutex_lock(&fe->mu);
	for (size_t i = from; i < fe->n_reqs; i++) {
		const struct fake_request *r = &fe->reqs[i].req;
		n += (!method || strcmp(r->method, method) == 0) &&
		     (!path_suffix || str_has_suffix(r->path, path_suffix));
	}
	pthread_mutex_unlock(&fe->mu);
	return n;
}

bool fake_engine_request_get(struct fake_engine *fe, size_t i, struct fake_request *out)
{
	pthread_mutex_lock(&fe->mu);
	bool ok = i < fe->n_reqs;
	if (ok) {
		const struct fake_request *r = &fe->reqs[i].req;
		*out = (struct fake_request){xstrdup(r->method), xstrdup(r->path),
					     xstrdup(r->query), xstrdup(r->body)};
	}
	pthread_mutex_unlock(&fe->mu);
	return ok;
}

void fake_request_finish(struct fake_request *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->body);
	*r = (struct fake_request){0};
}

char *fake_engine_raw_requests(struct fake_engine *fe)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	pthread_mutex_lock(&fe->mu);
	for (size_t i = 0; i < fe->n_reqs; i++) {
		buf_append(&b, fe->reqs[i].raw, fe->reqs[i].raw_len);
		buf_append(&b, "\n====\n", 6);
	}
	pthread_mutex_unlock(&fe->mu);
	return buf_steal(&b);
}

size_t fake_engine_services(struct fake_engine *fe, struct fake_service *out, size_t max)
{
	pthread_mutex_lock(&fe->mu);
	size_t n = fe->n_svcs;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = fe->svcs[i].info;
	pthread_mutex_unlock(&fe->mu);
	return n;
}

size_t fake_engine_live(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->mu);
	size_t n = fe->live;
	pthread_mutex_unlock(&fe->mu);
	return n;
}

size_t fake_engine_max_live(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->mu);
	size_t n = fe->max_live;
	pthread_mutex_unlock(&fe->mu);
	return n;
}

size_t fake_engine_max_parallel(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->mu);
	size_t n = fe->max_parallel;
	fe->max_parallel = fe->parallel;
	pthread_mutex_unlock(&fe->mu);
	return n;
}

size_t fake_engine_event_raw(struct fake_engine *fe, const void *data, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&fe->mu);
	for (size_t i = 0; i < fe->n_streams; i++)
		n += fake_write(fe->streams[i], data, len);
	pthread_mutex_unlock(&fe->mu);
	return n;
}

size_t fake_engine_event(struct fake_engine *fe, const char *line)
{
	char *text = xasprintf("%s\n", line);
	size_t n = fake_engine_event_raw(fe, text, strlen(text));
	free(text);
	return n;
}

size_t fake_engine_events_cut(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->mu);
	size_t n = fe->n_streams;
	for (size_t i = 0; i < n; i++)
		close(fe->streams[i]);
	fe->n_streams = 0;
	pthread_mutex_unlock(&fe->mu);
	return n;
}

size_t fake_engine_events_open(struct fake_engine *fe)
{
	pthread_mutex_lock(&fe->mu);
	size_t n = fe->n_streams;
	pthread_mutex_unlock(&fe->mu);
	return n;
}
