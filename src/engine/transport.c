/* transport.c - HTTP to the Docker Engine (unix socket or TCP): one reused libcurl handle for
 * requests in turn, and a curl multi handle for batches of requests made at once. */
#include "swarmflow/engine/transport.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"

#ifndef SWARMFLOW_VERSION
#define SWARMFLOW_VERSION "dev"
#endif

#define DEFAULT_HOST "unix:///var/run/docker.sock"
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
/* How much of a non-JSON error body goes into engine_err.message. */
#define ERROR_BODY_EXCERPT 200

/* The most connections a batch opens at once (transport_request_many). */
#define MANY_MAX_PARALLEL 16

struct transport {
	CURL *curl;
	CURLM *multi;                  /* batches; NULL until the first one */
	CURL *pool[MANY_MAX_PARALLEL]; /* its easy handles, copies of curl's options */
	char pool_err[MANY_MAX_PARALLEL][CURL_ERROR_SIZE];
	char *base_url;    /* "http://localhost", "http://host:2375" or "https://host:2376" */
	char *socket_path; /* the unix socket, or NULL for TCP */
	char *host;        /* as configured, for messages */
	char *ca, *cert, *key;
	bool (*cancel)(void *ctx); /* engine_opts.cancel */
	void *cancel_ctx;
	struct curl_slist *json_headers; /* Content-Type for POST bodies, no Expect: 100-continue */
	char errbuf[CURL_ERROR_SIZE];
};

/* What one transfer collects; the write callback's user data. */
struct xfer {
	struct transport *t;
	CURL *curl;             /* the handle doing the transfer */
	char *errbuf;           /* its CURLOPT_ERRORBUFFER */
	long status;            /* known at the first body byte */
	struct buf *resp;       /* buffered mode */
	transport_sink_fn sink; /* streaming mode */
	void *ctx;
	bool aborted;       /* the sink stopped the transfer */
	struct buf errbody; /* the body of a non-2xx answer, capped */
};

bool transport_err_set(struct engine_err *err, enum engine_err_kind kind, long status,
		       const char *fmt, ...)
{
	if (!err)
		return false;
	err->kind = kind;
	err->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

static bool parse_unix(struct transport *t, const char *host, const char *path, char **err)
{
	if (path[0] != '/')
		return set_err(err, "docker host \"%s\": the socket path must be absolute", host);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return set_err(err, "docker host \"%s\": the socket path is too long", host);
	t->socket_path = xstrdup(path);
	t->base_url = xstrdup("http://localhost");
	return true;
}

/* Checks "host", "host:port", "[v6]" or "[v6]:port"; *has_port says whether a port was given. */
static bool check_authority(const char *a, size_t len, bool *has_port)
{
	const char *colon = NULL;
	if (len == 0 || strcspn(a, "@ \t/?#") < len)
		return false;
	if (a[0] == '[') {
		const char *end = memchr(a, ']', len);
		if (!end || end == a + 1)
			return false;
		if (end + 1 < a + len && end[1] != ':')
			return false;
		colon = end + 1 < a + len ? end + 1 : NULL;
	} else {
		colon = memchr(a, ':', len);
		if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - a)))
			return false;
		if (colon == a)
			return false;
	}
	*has_port = colon != NULL;
	if (!colon)
		return true;
	char *port = xstrndup(colon + 1, len - (size_t)(colon + 1 - a));
	int64_t p = 0;
	bool ok = port[0] >= '0' && port[0] <= '9' && parse_int64(port, 1, 65535, &p);
	free(port);
	return ok;
}

static bool parse_tcp(struct transport *t, const char *host, const char *rest, bool tls, char **err)
{
	size_t len = strcspn(rest, "/");
	if (rest[len] && strcmp(rest + len, "/") != 0)
		return set_err(err, "docker host \"%s\": a path is not allowed", host);
	bool has_port = false;
	if (!check_authority(rest, len, &has_port))
		return set_err(err, "docker host \"%s\": expected tcp://host:port", host);
	t->base_url = xasprintf("%s://%.*s%s", tls ? "https" : "http", (int)len, rest,
				has_port ? "" : (tls ? ":2376" : ":2375"));
	return true;
}

static bool tls_file(char **out, const char *dir, const char *name, char **err)
{
	*out = xasprintf("%s/%s", dir, name);
	if (access(*out, R_OK) != 0)
		return set_err(err, "TLS file %s is not readable", *out);
	return true;
}

static bool parse_host(struct transport *t, const struct engine_opts *opts, char **err)
{
	const char *host = opts->host && opts->host[0] ? opts->host : DEFAULT_HOST;
	t->host = xstrdup(host);
	bool tls = opts->tls_verify || (opts->cert_path && opts->cert_path[0]);
	if (str_has_prefix(host, "unix://"))
		return parse_unix(t, host, host + strlen("unix://"), err);
	if (!str_has_prefix(host, "tcp://"))
		return set_err(
		    err, "unsupported docker host \"%s\": use unix:///path or tcp://host:port",
		    host);
	if (!parse_tcp(t, host, host + strlen("tcp://"), tls, err))
		return false;
	if (!opts->cert_path || !opts->cert_path[0])
		return true;
	return tls_file(&t->ca, opts->cert_path, "ca.pem", err) &&
	       tls_file(&t->cert, opts->cert_path, "cert.pem", err) &&
	       tls_file(&t->key, opts->cert_path, "key.pem", err);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;
	if (!x->status)
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status < 200 || x->status > 299) {
		size_t room = TRANSPORT_MAX_ERROR_BODY - x->errbody.len;
		buf_append(&x->errbody, data, len < room ? len : room);
		return len;
	}
	if (x->sink) {
		if (x->sink(x->ctx, data, len))
			return len;
		x->aborted = true;
		return 0;
	}
	return buf_append(x->resp, data, len) ? len : 0;
}

/* libcurl's progress callback: non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct transport *t = userdata;
	return t->cancel(t->cancel_ctx) ? 1 : 0;
}

static void set_fixed_options(struct transport *t, const struct engine_opts *opts)
{
	CURL *c = t->curl;
	long connect_ms =
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	long total_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "swarmflow/" SWARMFLOW_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (opts->cancel) {
		t->cancel = opts->cancel;
		t->cancel_ctx = opts->cancel_ctx;
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
	}
	if (t->socket_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->socket_path);
	if (str_has_prefix(t->base_url, "https://")) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (t->ca) {
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca);
		curl_easy_setopt(c, CURLOPT_SSLCERT, t->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, t->key);
	}
}

/* The headers of a POST body: Content-Type, and no Expect: 100-continue. */
static void json_headers_make(struct transport *t)
{
	t->json_headers = curl_slist_append(NULL, "Content-Type: application/json");
	t->json_headers = curl_slist_append(t->json_headers, "Expect:");
	if (!t->json_headers)
		fatalx("out of memory (curl_slist_append)");
}

struct transport *transport_create(const struct engine_opts *opts, char **err)
{
	static const struct engine_opts defaults = {0};
	struct transport *t = xcalloc(1, sizeof(*t));
	if (!opts)
		opts = &defaults;
	if (!parse_host(t, opts, err))
		goto error;
	t->curl = curl_easy_init();
	if (!t->curl) {
		set_err(err, "curl_easy_init failed (was curl_global_init called?)");
		goto error;
	}
	json_headers_make(t);
	set_fixed_options(t, opts);
	return t;
error:
	transport_destroy(t);
	return NULL;
}

void transport_destroy(struct transport *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < MANY_MAX_PARALLEL; i++)
		if (t->pool[i])
			curl_easy_cleanup(t->pool[i]);
	if (t->multi)
		curl_multi_cleanup(t->multi);
	if (t->curl)
		curl_easy_cleanup(t->curl);
	curl_slist_free_all(t->json_headers);
	free(t->base_url);
	free(t->socket_path);
	free(t->host);
	free(t->ca);
	free(t->cert);
	free(t->key);
	free(t);
}

char *transport_escape(struct transport *t, const char *s)
{
	char *e = curl_easy_escape(t->curl, s, (int)strlen(s));
	if (!e)
		fatalx("out of memory (curl_easy_escape)");
	char *copy = xstrdup(e);
	curl_free(e);
	return copy;
}

static void set_method(struct transport *t, CURL *c, const char *method, const char *body)
{
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(body ? strlen(body) : 0));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->json_headers);
		return;
	}
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
}

static enum engine_err_kind curl_kind(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return ENGINE_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		return ENGINE_ERR_CONNECT;
	case CURLE_FILESIZE_EXCEEDED:
		return ENGINE_ERR_TOO_BIG;
	default: /* CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_RECV_ERROR, ... */
		return ENGINE_ERR_PROTOCOL;
	}
}

/* The engine's JSON "message", else the start of the body with control bytes blanked. */
static void http_message(const struct buf *body, long status, char *out, size_t n)
{
	json_t *j = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "message"));
	if (msg) {
		snprintf(out, n, "%s", msg);
	} else if (body->len) {
		size_t len = body->len < ERROR_BODY_EXCERPT ? body->len : ERROR_BODY_EXCERPT;
		while (len && (body->data[len - 1] == '\n' || body->data[len - 1] == '\r' ||
			       body->data[len - 1] == ' '))
			len--;
		if (len >= n)
			len = n - 1;
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)body->data[i];
			out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
		}
		out[len] = '\0';
	} else {
		snprintf(out, n, "HTTP %ld with an empty body", status);
	}
	json_decref(j);
}

static bool classify(struct transport *t, struct xfer *x, CURLcode rc, long status,
		     struct engine_err *err)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return transport_err_set(err, ENGINE_ERR_CANCELLED, 0,
					 "request cancelled: the process is stopping");
	if (rc == CURLE_WRITE_ERROR && x->aborted)
		return transport_err_set(err, ENGINE_ERR_PROTOCOL, 0, "aborted by receiver");
	if ((rc == CURLE_WRITE_ERROR && x->resp && x->resp->too_big) ||
	    rc == CURLE_FILESIZE_EXCEEDED)
		return transport_err_set(err, ENGINE_ERR_TOO_BIG, 0, "response body over %u bytes",
					 ENGINE_MAX_BODY);
	const char *text = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	if (rc != CURLE_OK && curl_kind(rc) == ENGINE_ERR_CONNECT)
		return transport_err_set(err, ENGINE_ERR_CONNECT, 0, "cannot connect to %s: %s",
					 t->host, text);
	if (rc != CURLE_OK)
		return transport_err_set(err, curl_kind(rc), 0, "%s", text);
	if (status < 200 || status > 299) {
		if (err) {
			transport_err_set(err, ENGINE_ERR_HTTP, status, "HTTP %ld", status);
			http_message(&x->errbody, status, err->message, sizeof(err->message));
		}
		return false;
	}
	return true;
}

/* Points x's handle at path, with x as the write callback's data; returns the URL to free
 * after the transfer. */
static char *prepare(struct transport *t, struct xfer *x, const char *path)
{
	char *url = xasprintf("%s%s", t->base_url, path);
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)(x->sink ? 0 : ENGINE_MAX_BODY));
	x->errbuf[0] = '\0';
	return url;
}

/* Classifies the finished transfer of x into *err; logs it. */
static bool conclude(struct transport *t, struct xfer *x, CURLcode rc, const char *method,
		     const char *path, int64_t start, struct engine_err *err)
{
	long status = 0, connects = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->curl, CURLINFO_NUM_CONNECTS, &connects);
	log_debug("engine %s %s: status %ld, curl %d, %lld ms, %s connection", method, path, status,
		  (int)rc, (long long)(time_mono_ms() - start), connects ? "new" : "reused");
	bool ok = classify(t, x, rc, status, err);
	buf_finish(&x->errbody);
	return ok;
}

static bool perform(struct transport *t, struct xfer *x, const char *method, const char *path,
		    struct engine_err *err)
{
	char *url = prepare(t, x, path);
	int64_t start = time_mono_ms();
	CURLcode rc = curl_easy_perform(x->curl);
	bool ok = conclude(t, x, rc, method, path, start, err);
	free(url);
	return ok;
}

bool transport_request(struct transport *t, const char *method, const char *path,
		       const char *json_body, struct buf *resp, struct engine_err *err)
{
	struct xfer x = {.t = t, .curl = t->curl, .errbuf = t->errbuf, .resp = resp};
	buf_reset(resp);
	resp->max = ENGINE_MAX_BODY;
	set_method(t, t->curl, method, json_body);
	return perform(t, &x, method, path, err);
}

bool transport_stream(struct transport *t, const char *path, transport_sink_fn sink, void *ctx,
		      struct engine_err *err)
{
	struct xfer x = {.t = t, .curl = t->curl, .errbuf = t->errbuf, .sink = sink, .ctx = ctx};
	set_method(t, t->curl, "GET", NULL);
	return perform(t, &x, "GET", path, err);
}

/* The pool's handle i, made on first use as a copy of the main handle's options. */
static CURL *pool_handle(struct transport *t, size_t i)
{
	if (!t->pool[i]) {
		t->pool[i] = curl_easy_duphandle(t->curl);
		if (!t->pool[i])
			fatalx("out of memory (curl_easy_duphandle)");
		curl_easy_setopt(t->pool[i], CURLOPT_ERRORBUFFER, t->pool_err[i]);
	}
	return t->pool[i];
}

/* One transfer of a batch: its call, and the pool slot that carries it. */
struct many_slot {
	struct xfer x;
	struct transport_call *call;
	char *url;
	int64_t start;
};

static void many_start(struct transport *t, struct many_slot *slot, size_t i,
		       struct transport_call *call)
{
	*slot = (struct many_slot){.call = call, .start = time_mono_ms()};
	slot->x = (struct xfer){
	    .t = t, .curl = pool_handle(t, i), .errbuf = t->pool_err[i], .resp = &call->resp};
	buf_reset(&call->resp);
	call->resp.max = ENGINE_MAX_BODY;
	set_method(t, slot->x.curl, call->method, call->json_body);
	curl_easy_setopt(slot->x.curl, CURLOPT_PRIVATE, (char *)slot);
	slot->url = prepare(t, &slot->x, call->path);
	if (curl_multi_add_handle(t->multi, slot->x.curl) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
}

/* Ends the transfers that are done; returns how many. */
static size_t many_reap(struct transport *t, struct many_slot **free_slots, size_t *n_free)
{
	size_t done = 0;
	int left = 0;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(t->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct many_slot *slot = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
		CURLcode rc = msg->data.result;
		curl_multi_remove_handle(t->multi, msg->easy_handle);
		struct transport_call *c = slot->call;
		c->ok = conclude(t, &slot->x, rc, c->method, c->path, slot->start, &c->err);
		free(slot->url);
		free_slots[(*n_free)++] = slot;
		done++;
	}
	return done;
}

void transport_request_many(struct transport *t, struct transport_call *calls, size_t n)
{
	if (n == 0)
		return;
	if (!t->multi && !(t->multi = curl_multi_init()))
		fatalx("curl_multi_init failed");
	struct many_slot slots[MANY_MAX_PARALLEL];
	struct many_slot *free_slots[MANY_MAX_PARALLEL];
	size_t n_free = 0, next = 0, done = 0;
	for (size_t i = MANY_MAX_PARALLEL; i-- > 0;)
		free_slots[n_free++] = &slots[i];
	while (done < n) {
		while (next < n && n_free > 0) {
			struct many_slot *slot = free_slots[--n_free];
			many_start(t, slot, (size_t)(slot - slots), &calls[next++]);
		}
		int running = 0;
		curl_multi_perform(t->multi, &running);
		size_t reaped = many_reap(t, free_slots, &n_free);
		done += reaped;
		if (!reaped && running)
			curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
	}
}

struct transport *transport_clone(const struct transport *src, bool (*cancel)(void *ctx),
				  void *cancel_ctx)
{
	struct transport *t = xcalloc(1, sizeof(*t));
	t->curl = curl_easy_duphandle(src->curl);
	if (!t->curl)
		fatalx("out of memory (curl_easy_duphandle)");
	t->base_url = xstrdup(src->base_url);
	t->socket_path = src->socket_path ? xstrdup(src->socket_path) : NULL;
	t->host = xstrdup(src->host);
	t->ca = src->ca ? xstrdup(src->ca) : NULL;
	t->cert = src->cert ? xstrdup(src->cert) : NULL;
	t->key = src->key ? xstrdup(src->key) : NULL;
	json_headers_make(t);
	curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf);
	/* src's cancel callback points at src: the clone has its own, or none. */
	t->cancel = cancel;
	t->cancel_ctx = cancel_ctx;
	curl_easy_setopt(t->curl, CURLOPT_NOPROGRESS, cancel ? 0L : 1L);
	curl_easy_setopt(t->curl, CURLOPT_XFERINFOFUNCTION, cancel ? on_progress : NULL);
	curl_easy_setopt(t->curl, CURLOPT_XFERINFODATA, cancel ? t : NULL);
	return t;
}

/* The longest wait of a watched stream with nothing to do (curl keeps no timer then). */
#define WATCH_WAIT_MAX_MS 60000

/* Runs x's transfer on t's multi handle until it ends or stop_fd is readable (*stopped);
 * on_open is called once, when the answer's status is known. Returns the transfer's result. */
static CURLcode watch_run(struct transport *t, struct xfer *x, int stop_fd,
			  void (*on_open)(void *ctx, long status), bool *stopped)
{
	bool opened = false;
	for (;;) {
		int running = 0;
		curl_multi_perform(t->multi, &running);
		int left = 0;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(t->multi, &left)))
			if (msg->msg == CURLMSG_DONE)
				return msg->data.result;
		long status = 0;
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
		if (!opened && status) {
			opened = true;
			if (on_open)
				on_open(x->ctx, status);
		}
		/* Only as long as curl's own timers need: a quiet stream (an idle scheduler) does
		 * not wake this thread; data and stop_fd end the wait. */
		long curl_ms = -1;
		curl_multi_timeout(t->multi, &curl_ms);
		int wait_ms =
		    curl_ms < 0 || curl_ms > WATCH_WAIT_MAX_MS ? WATCH_WAIT_MAX_MS : (int)curl_ms;
		struct curl_waitfd w = {.fd = stop_fd, .events = CURL_WAIT_POLLIN};
		curl_multi_poll(t->multi, &w, stop_fd >= 0 ? 1 : 0, wait_ms, NULL);
		if (w.revents) {
			*stopped = true;
			return CURLE_OK;
		}
	}
}

bool transport_watch(struct transport *t, const char *path, const struct transport_watch_cb *cb,
		     int stop_fd, struct engine_err *err)
{
	if (!t->multi && !(t->multi = curl_multi_init()))
		fatalx("curl_multi_init failed");
	struct xfer x = {
	    .t = t, .curl = t->curl, .errbuf = t->errbuf, .sink = cb->on_data, .ctx = cb->ctx};
	set_method(t, t->curl, "GET", NULL);
	char *url = prepare(t, &x, path);
	curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(t->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	if (curl_multi_add_handle(t->multi, t->curl) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
	int64_t start = time_mono_ms();
	bool stopped = false;
	CURLcode rc = watch_run(t, &x, stop_fd, cb->on_open, &stopped);
	curl_multi_remove_handle(t->multi, t->curl);
	bool ok = false;
	if (stopped) {
		buf_finish(&x.errbody);
		transport_err_set(err, ENGINE_ERR_CANCELLED, 0, "stopped");
	} else {
		ok = conclude(t, &x, rc, "GET", path, start, err);
	}
	free(url);
	return ok;
}
