/* notify.c - on_failure_webhook: a JSON POST about a task that failed for good, sent by a worker
 * thread so that a slow or dead receiver never holds up the scheduler loop. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"

/* Notices waiting to be posted; when the queue is full the oldest is dropped (with a warning). */
#define NOTIFY_QUEUE_MAX 256
/* Per POST: time to connect, and time for the whole exchange. */
#define NOTIFY_CONNECT_TIMEOUT_MS 2000L
#define NOTIFY_TIMEOUT_MS 5000L
/* A POST that failed to connect, timed out or got 408, 429 or 5xx is sent again at most this
 * many times, after NOTIFY_BACKOFF_MS, then twice that. Other answers are final. */
#define NOTIFY_RETRIES 2
#define NOTIFY_BACKOFF_MS 250L
/* How long notifier_destroy waits for the queued notices to go before giving up on them. */
#define NOTIFY_DRAIN_MS 2000L
/* log_tail: the last NOTIFY_TAIL_LINES lines of the try's log, at most NOTIFY_TAIL_MAX bytes. */
#define NOTIFY_TAIL_LINES 20
#define NOTIFY_TAIL_MAX ((size_t)64 * 1024)

/* One POST to make. */
struct notice {
	char *url;
	char *body; /* the JSON document */
	char *what; /* "dag=x run=y task=z try=n", for log lines */
};

struct notifier {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* to the worker: a notice was queued, or stop, or abort */
	pthread_cond_t idle; /* to notifier_destroy: the worker finished a notice, or ended */
	struct notice queue[NOTIFY_QUEUE_MAX]; /* a ring: len notices from head */
	size_t head, len;
	bool busy;         /* the worker is posting a notice it took off the queue */
	bool stop;         /* the worker posts what is queued, then ends */
	bool ended;        /* the worker has returned */
	atomic_bool abort; /* the worker gives up at once, even in the middle of a POST */
	bool started;      /* the worker thread exists (created at the first notice) */
	bool start_failed;
	pthread_t thread;
	CURLM *multi; /* the worker's transfers run here, so curl_multi_wakeup can interrupt them */
};

/* What the worker posts with (its own, never touched by another thread). */
struct poster {
	CURL *curl;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
};

enum post_result { POST_OK, POST_RETRY, POST_FINAL, POST_ABORTED };

static void notice_free(struct notice *nt)
{
	free(nt->url);
	free(nt->body);
	free(nt->what);
	*nt = (struct notice){0};
}

/* The CLOCK_MONOTONIC time ms milliseconds from now (the condition variables use that clock). */
static struct timespec deadline_after(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* "scheme://host[:port]" of url, without user info, path or query (which may hold secrets). */
static char *url_origin(const char *url)
{
	const char *p = strstr(url, "://");
	const char *host = p ? p + 3 : url;
	size_t n = strcspn(host, "/?#");
	const char *at = memchr(host, '@', n);
	while (at) {
		n -= (size_t)(at + 1 - host);
		host = at + 1;
		at = memchr(host, '@', n);
	}
	return xasprintf("%.*s%.*s", p ? (int)(p + 3 - url) : 0, url, (int)n, host);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *ud)
{
	return size * nmemb;
}

static void poster_finish(struct poster *p)
{
	if (p->curl)
		curl_easy_cleanup(p->curl);
	curl_slist_free_all(p->headers);
}

static bool poster_init(struct poster *p)
{
	*p = (struct poster){0};
	p->curl = curl_easy_init();
	p->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (p->headers)
		p->headers = curl_slist_append(p->headers, "Expect:");
	if (!p->curl || !p->headers) {
		poster_finish(p);
		*p = (struct poster){0}; /* deliver() then drops each notice with a warning */
		return false;
	}
	CURL *c = p->curl;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, NOTIFY_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, NOTIFY_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "swarmflow/" SWARMFLOW_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	return true;
}

/* Runs the transfer set up on p->curl in n->multi until it ends or abort is set. Returns the
 * transfer's result, or -1 when aborted. */
static int run_transfer(struct notifier *n, struct poster *p)
{
	if (curl_multi_add_handle(n->multi, p->curl) != CURLM_OK)
		return CURLE_FAILED_INIT;
	int running = 1, result = CURLE_FAILED_INIT;
	CURLMcode mc = CURLM_OK;
	while (running && mc == CURLM_OK) {
		if (atomic_load(&n->abort)) {
			result = -1;
			break;
		}
		mc = curl_multi_perform(n->multi, &running);
		if (running && mc == CURLM_OK)
			mc = curl_multi_poll(n->multi, NULL, 0, 1000, NULL);
	}
	int left = 0;
	for (CURLMsg *msg; (msg = curl_multi_info_read(n->multi, &left));)
		if (msg->msg == CURLMSG_DONE && result != -1)
			result = (int)msg->data.result;
	curl_multi_remove_handle(n->multi, p->curl);
	if (mc != CURLM_OK && result != -1)
		snprintf(p->errbuf, sizeof(p->errbuf), "%s", curl_multi_strerror(mc));
	return result;
}

/* One POST of nt; why gets the reason when it did not succeed. */
static enum post_result post_once(struct notifier *n, struct poster *p, const struct notice *nt,
				  char *why, size_t why_len)
{
	p->errbuf[0] = '\0';
	curl_easy_setopt(p->curl, CURLOPT_URL, nt->url);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, nt->body);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(nt->body));
	int rc = run_transfer(n, p);
	if (rc == -1)
		return POST_ABORTED;
	if (rc != CURLE_OK) {
		snprintf(why, why_len, "%s",
			 p->errbuf[0] ? p->errbuf : curl_easy_strerror((CURLcode)rc));
		return POST_RETRY;
	}
	long code = 0;
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code <= 299)
		return POST_OK;
	snprintf(why, why_len, "the receiver answered HTTP %ld", code);
	return code == 408 || code == 429 || code >= 500 ? POST_RETRY : POST_FINAL;
}

/* Waits ms, or less when abort is set. Returns false when it was. */
static bool backoff(struct notifier *n, long ms)
{
	struct timespec until = deadline_after(ms);
	pthread_mutex_lock(&n->mu);
	int rc = 0;
	while (!atomic_load(&n->abort) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&n->wake, &n->mu, &until);
	pthread_mutex_unlock(&n->mu);
	return !atomic_load(&n->abort);
}

/* Posts nt, again after a short backoff when that may help; logs one warning when it fails. */
static void deliver(struct notifier *n, struct poster *p, const struct notice *nt)
{
	char why[CURL_ERROR_SIZE + 64] = "could not set up libcurl";
	int attempt = 1;
	enum post_result r = POST_FINAL;
	for (; p->curl; attempt++) {
		r = post_once(n, p, nt, why, sizeof(why));
		if (r != POST_RETRY || attempt > NOTIFY_RETRIES)
			break;
		if (!backoff(n, NOTIFY_BACKOFF_MS << (attempt - 1)))
			return;
	}
	char *origin = url_origin(nt->url);
	if (r == POST_OK)
		log_debug("webhook: notice posted to %s %s", origin, nt->what);
	else if (r != POST_ABORTED)
		log_warnx("webhook: notice not delivered to %s after %d attempt%s: %s %s", origin,
			  attempt, attempt == 1 ? "" : "s", why, nt->what);
	free(origin);
}

static void *worker_main(void *arg)
{
	struct notifier *n = arg;
	struct poster p;
	if (!poster_init(&p))
		log_error("webhook: cannot set up libcurl; failure notices are dropped");
	pthread_mutex_lock(&n->mu);
	for (;;) {
		while (n->len == 0 && !n->stop)
			pthread_cond_wait(&n->wake, &n->mu);
		if (n->len == 0 || atomic_load(&n->abort))
			break;
		struct notice nt = n->queue[n->head];
		n->queue[n->head] = (struct notice){0};
		n->head = (n->head + 1) % NOTIFY_QUEUE_MAX;
		n->len--;
		n->busy = true;
		pthread_mutex_unlock(&n->mu);
		deliver(n, &p, &nt);
		notice_free(&nt);
		pthread_mutex_lock(&n->mu);
		n->busy = false;
		pthread_cond_broadcast(&n->idle);
	}
	n->ended = true;
	pthread_cond_broadcast(&n->idle);
	pthread_mutex_unlock(&n->mu);
	poster_finish(&p);
	return NULL;
}

/* Starts the worker (n->mu held) with every signal blocked: signals are the loop's business. */
static bool start_worker(struct notifier *n)
{
	if (n->started || n->start_failed)
		return n->started;
	n->multi = curl_multi_init();
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = n->multi ? pthread_create(&n->thread, NULL, worker_main, n) : EAGAIN;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		log_warn("webhook: cannot start the notice thread; failure notices are dropped");
		n->start_failed = true;
		return false;
	}
	n->started = true;
	return true;
}

/* Queues nt (taking what it owns); never waits for anything but the mutex. */
static void enqueue(struct notifier *n, struct notice *nt)
{
	pthread_mutex_lock(&n->mu);
	if (!start_worker(n)) {
		pthread_mutex_unlock(&n->mu);
		notice_free(nt);
		return;
	}
	if (n->len == NOTIFY_QUEUE_MAX) {
		struct notice *old = &n->queue[n->head];
		log_warnx("webhook: %d notices already queued, dropping the oldest: %s",
			  NOTIFY_QUEUE_MAX, old->what);
		notice_free(old);
		n->head = (n->head + 1) % NOTIFY_QUEUE_MAX;
		n->len--;
	}
	n->queue[(n->head + n->len) % NOTIFY_QUEUE_MAX] = *nt;
	n->len++;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->mu);
}

struct notifier *notifier_create(const struct config *cfg)
{
	struct notifier *n = xcalloc(1, sizeof(*n));
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->wake, &attr);
	pthread_cond_init(&n->idle, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&n->abort, false);
	return n;
}

/* Waits up to NOTIFY_DRAIN_MS for the queue to drain, then makes the worker give up. */
static void stop_worker(struct notifier *n)
{
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->wake);
	struct timespec until = deadline_after(NOTIFY_DRAIN_MS);
	int rc = 0;
	while ((n->len || n->busy) && !n->ended && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&n->idle, &n->mu, &until);
	size_t unsent = n->len + (n->busy ? 1 : 0);
	bool give_up = unsent && !n->ended;
	if (give_up) {
		log_warnx("webhook: giving up on %zu failure notice%s not delivered within %ld ms",
			  unsent, unsent == 1 ? "" : "s", NOTIFY_DRAIN_MS);
		atomic_store(&n->abort, true);
		pthread_cond_broadcast(&n->wake);
	}
	pthread_mutex_unlock(&n->mu);
	if (give_up)
		curl_multi_wakeup(n->multi);
	pthread_join(n->thread, NULL);
}

void notifier_destroy(struct notifier *n)
{
	if (!n)
		return;
	if (n->started)
		stop_worker(n);
	for (; n->len; n->len--, n->head = (n->head + 1) % NOTIFY_QUEUE_MAX)
		notice_free(&n->queue[n->head]);
	if (n->multi)
		curl_multi_cleanup(n->multi);
	pthread_cond_destroy(&n->wake);
	pthread_cond_destroy(&n->idle);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when there is none (overlong
 * forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	static const unsigned min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
	if (!len || len > n)
		return 0;
	unsigned cp = c & (0x7Fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* A JSON string of len bytes of s, each byte that is not valid UTF-8 replaced by U+FFFD (logs
 * hold whatever the container wrote; jansson refuses invalid UTF-8). */
static json_t *json_text(const char *s, size_t len)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		buf_append(&b, n ? p + i : (const unsigned char *)"\xEF\xBF\xBD", n ? n : 3);
		i += n ? n : 1;
	}
	json_t *j = json_stringn(b.data, b.len);
	buf_finish(&b);
	return j;
}

static json_t *json_opt_text(const char *s)
{
	return s ? json_text(s, strlen(s)) : json_null();
}

/* The last NOTIFY_TAIL_LINES lines of text (a final newline ends the last line rather than
 * starting an empty one), cut to the last NOTIFY_TAIL_MAX bytes at a character boundary. */
static json_t *log_tail(const char *text)
{
	size_t len = strlen(text), start = 0;
	int lines = 0;
	for (size_t i = len && text[len - 1] == '\n' ? len - 1 : len; i-- > 0;) {
		if (text[i] == '\n' && ++lines == NOTIFY_TAIL_LINES) {
			start = i + 1;
			break;
		}
	}
	if (len - start > NOTIFY_TAIL_MAX) {
		start = len - NOTIFY_TAIL_MAX;
		for (int k = 0; k < 3 && ((unsigned char)text[start] & 0xC0) == 0x80; k++)
			start++;
	}
	return json_text(text + start, len - start);
}

static json_t *notice_json(const struct scheduler *s, const struct ti *ti, const char *log_text)
{
	char end[32];
	time_format_iso_ms(ti->end_ms, end);
	json_t *o = json_object();
	json_object_set_new(o, "dag_id", json_opt_text(ti->dag_id));
	json_object_set_new(o, "run_id", json_opt_text(ti->run_id));
	json_object_set_new(o, "task_id", json_opt_text(ti->task_id));
	json_object_set_new(o, "try_number", json_integer(ti->try_number));
	json_object_set_new(o, "max_tries", json_integer(ti->max_tries));
	json_object_set_new(o, "state", json_string(ti_state_name(ti->state)));
	json_object_set_new(o, "exit_code",
			    ti->has_exit_code ? json_integer(ti->exit_code) : json_null());
	json_object_set_new(o, "error", json_opt_text(ti->error));
	json_object_set_new(o, "log_path", json_opt_text(ti->log_path));
	json_object_set_new(o, "log_tail", log_tail(log_text ? log_text : ""));
	json_object_set_new(o, "end_date", ti->end_ms ? json_string(end) : json_null());
	json_object_set_new(o, "instance", json_opt_text(s->cfg->instance));
	return o;
}

/* The DAG's webhook, else the config's; NULL when there is none. */
static const char *webhook_url(const struct scheduler *s, const char *dag_id)
{
	const struct dag *dag = s->bag && dag_id ? dagbag_find(s->bag, dag_id) : NULL;
	const char *url = dag && dag->on_failure_webhook && *dag->on_failure_webhook
			      ? dag->on_failure_webhook
			      : s->cfg->on_failure_webhook;
	return url && *url ? url : NULL;
}

void notify_task_failed(struct scheduler *s, const struct ti *ti, const char *log_text)
{
	const char *url = webhook_url(s, ti->dag_id);
	if (!url || !s->notifier)
		return;
	json_t *doc = notice_json(s, ti, log_text);
	char *body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!body) {
		log_warnx("webhook: cannot encode the notice of dag=%s run=%s task=%s", ti->dag_id,
			  ti->run_id, ti->task_id);
		return;
	}
	struct notice nt = {.url = xstrdup(url),
			    .body = body,
			    .what = xasprintf("dag=%s run=%s task=%s try=%d", ti->dag_id,
					      ti->run_id, ti->task_id, ti->try_number)};
	enqueue(s->notifier, &nt);
}
