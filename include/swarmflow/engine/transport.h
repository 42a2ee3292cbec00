/* transport.h - one reusable HTTP connection to the Docker Engine (libcurl); private to engine. */
#ifndef SWARMFLOW_ENGINE_TRANSPORT_H
#define SWARMFLOW_ENGINE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "swarmflow/common/util.h"
#include "swarmflow/engine/engine.h"

/* Error bodies (non-2xx answers) are kept up to this size; the rest is read and dropped. */
#define TRANSPORT_MAX_ERROR_BODY (64u * 1024)

struct transport;

/* Parses opts->host (NULL or "" means unix:///var/run/docker.sock; otherwise unix:///path or
 * tcp://host[:port], port 2375 or 2376 with TLS) and makes one curl easy handle that every
 * request reuses. TLS (https) is used when opts->tls_verify is set or opts->cert_path is given;
 * the peer is always verified. Returns NULL with *err set on a bad host string.
 * Requires curl_global_init() (see engine_create()). Free with transport_destroy(). */
struct transport *transport_create(const struct engine_opts *opts, char **err);
void transport_destroy(struct transport *t);

/* Returns s percent-encoded for a URL query; the caller frees it with free(). */
char *transport_escape(struct transport *t, const char *s);

/* One request. method is "GET", "POST" or "DELETE"; path starts with '/' and includes the
 * query; json_body (POST only, may be NULL) is sent as application/json. A 2xx body goes to
 * resp (reset first, capped at ENGINE_MAX_BODY). True only for CURLE_OK and a 2xx status;
 * otherwise *err (may be NULL) says why, with the engine's JSON message when it sent one. */
bool transport_request(struct transport *t, const char *method, const char *path,
		       const char *json_body, struct buf *resp, struct engine_err *err);

/* One request of a batch: method, path and json_body as for transport_request; ok, resp (a 2xx
 * body; the caller makes it with buf_init and frees it) and err are filled in. */
struct transport_call {
	const char *method;
	const char *path;
	const char *json_body;
	bool ok;
	struct buf resp;
	struct engine_err err;
};

/* Makes the n requests at once, over up to 16 connections (a curl multi handle), and returns
 * when every one has ended; each with the same timeouts, caps and error reporting as
 * transport_request. The order in which they reach the engine is not defined. */
void transport_request_many(struct transport *t, struct transport_call *calls, size_t n);

/* Receives a 2xx body piece by piece; returns false to stop the transfer. */
typedef bool (*transport_sink_fn)(void *ctx, const char *data, size_t len);

/* A GET whose 2xx body is streamed into sink instead of kept in memory. When sink stops the
 * transfer, returns false with kind ENGINE_ERR_PROTOCOL and the message "aborted by receiver";
 * the caller knows from its ctx whether that was a success (for example a cap reached). */
bool transport_stream(struct transport *t, const char *path, transport_sink_fn sink, void *ctx,
		      struct engine_err *err);

/* A new transport with src's host, TLS files and options, for a thread of its own (a transport
 * is never shared between threads), with cancel (may be NULL) instead of src's callback. Free
 * with transport_destroy(). */
struct transport *transport_clone(const struct transport *src, bool (*cancel)(void *ctx),
				  void *cancel_ctx);

/* What transport_watch calls: on_open once the answer's status is known (any status; may be
 * NULL), on_data with every piece of a 2xx body (false stops the transfer, as a sink does). */
struct transport_watch_cb {
	void (*on_open)(void *ctx, long status);
	transport_sink_fn on_data;
	void *ctx;
};

/* A long-lived GET streamed into cb: no total timeout (TCP keepalive instead) and ended at once
 * when stop_fd (-1: none) becomes readable, then false with ENGINE_ERR_CANCELLED. Otherwise as
 * transport_stream: the end of the body is true, a failure false with *err set. */
bool transport_watch(struct transport *t, const char *path, const struct transport_watch_cb *cb,
		     int stop_fd, struct engine_err *err);

/* Fills *err (when not NULL) with kind, status and a formatted message. Returns false. */
bool transport_err_set(struct engine_err *err, enum engine_err_kind kind, long status,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
