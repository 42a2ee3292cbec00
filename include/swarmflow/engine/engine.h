/* engine.h - the Docker Engine API client (libcurl): services, tasks, logs, secrets, configs. */
#ifndef SWARMFLOW_ENGINE_ENGINE_H
#define SWARMFLOW_ENGINE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/util.h"
#include "swarmflow/engine/logstream.h"

/* Largest response body kept in memory (JSON answers); larger ones fail with ENGINE_ERR_TOO_BIG. */
#define ENGINE_MAX_BODY (64u * 1024 * 1024)
/* Largest log kept for one try; the head is kept and a truncation note appended. */
#define ENGINE_MAX_LOG (16u * 1024 * 1024)

enum engine_err_kind {
	ENGINE_OK = 0,
	ENGINE_ERR_CONNECT,   /* no engine answered (socket missing, refused, DNS, TLS) */
	ENGINE_ERR_TIMEOUT,   /* the request took longer than its timeout */
	ENGINE_ERR_HTTP,      /* the engine answered with a non-2xx status; message is its own */
	ENGINE_ERR_PROTOCOL,  /* a body that is not the JSON we expected, or truncated */
	ENGINE_ERR_TOO_BIG,   /* a body over ENGINE_MAX_BODY */
	ENGINE_ERR_CANCELLED, /* opts.cancel said stop (the process is stopping) */
};

/* What went wrong with one call. */
struct engine_err {
	enum engine_err_kind kind;
	long status;        /* HTTP status when kind == ENGINE_ERR_HTTP, else 0 */
	char message[1024]; /* the engine's JSON `message`, or curl's error text */
};

const char *engine_err_kind_name(enum engine_err_kind kind);

struct engine_opts {
	const char *host;        /* unix:///path, tcp://host:port or NULL for the default socket */
	const char *api_version; /* "auto" (negotiate with GET /version) or e.g. "1.41" */
	bool tls_verify;         /* DOCKER_TLS_VERIFY */
	const char *cert_path;   /* DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem */
	long connect_timeout_ms; /* 0: 5000 */
	long timeout_ms;         /* per request; 0: 30000 */
	/* Asked about once a second while a request waits (and as data arrives): true ends it
	 * at once with ENGINE_ERR_CANCELLED, so that a hung engine never holds a stopping
	 * scheduler for the whole timeout. NULL: never. */
	bool (*cancel)(void *ctx);
	void *cancel_ctx;
};

struct engine;

/* Creates a client (no request is made yet). Returns NULL with *err set on a bad host string
 * (only unix:///path and tcp://host[:port] are accepted) or a bad api_version.
 * libcurl must be initialised first: main() calls curl_global_init(CURL_GLOBAL_DEFAULT) once,
 * before any thread starts, and curl_global_cleanup() after the last engine_destroy().
 * With api_version "auto", the first request negotiates if engine_negotiate() was not called.
 * Every request has a timeout (opts). Free with engine_destroy() (accepts NULL). */
struct engine *engine_create(const struct engine_opts *opts, char **err);
void engine_destroy(struct engine *e);

/* GET /version (unversioned path); with api_version "auto", uses min(engine's ApiVersion, the
 * newest we know, 1.43) for every later path "/v1.xx/...". Fails under 1.30 (too old). */
bool engine_negotiate(struct engine *e, struct engine_err *err);
/* GET /_ping (unversioned): the engine answers at all. */
bool engine_ping(struct engine *e, struct engine_err *err);
/* The version in use ("1.41"), after engine_negotiate() or when fixed by opts. */
const char *engine_api_version(const struct engine *e);
/* True when the version in use is >= major.minor. */
bool engine_api_at_least(const struct engine *e, int major, int minor);

struct engine_info {
	char node_id[128];
	char swarm_state[32]; /* "active", "inactive", "pending", "error", "locked" */
	bool is_manager;      /* Swarm.ControlAvailable */
	char server_version[64];
};

/* GET /info. */
bool engine_info(struct engine *e, struct engine_info *out, struct engine_err *err);

/* POST /services/create with spec. On success *id_out is the new service's ID (caller frees). */
bool engine_service_create(struct engine *e, json_t *spec, char **id_out, struct engine_err *err);

/* DELETE /services/{id}. A 404 (already gone) counts as success. */
bool engine_service_remove(struct engine *e, const char *id, struct engine_err *err);

/* One create of a batch: spec in; ok with id (caller frees) or err out. */
struct engine_create {
	json_t *spec;
	bool ok;
	char *id;
	struct engine_err err;
};

/* The n creates at once (concurrent requests, see transport_request_many), each as
 * engine_service_create would do it. */
void engine_services_create_many(struct engine *e, struct engine_create *c, size_t n);

/* DELETE /services/{id} for the n ids at once; ok[i] and err[i] (both arrays of n) as
 * engine_service_remove would set them. */
void engine_services_remove_many(struct engine *e, const char *const *ids, size_t n, bool *ok,
				 struct engine_err *err);

/* GET /services?filters={"label":[...]}: services whose labels match all of `labels`
 * ("k=v" or "k"). *out is the JSON array (caller decrefs). */
bool engine_services_list(struct engine *e, const char *const *labels, size_t n_labels,
			  json_t **out, struct engine_err *err);

/* GET /tasks?filters={"service":[ids...]}: every task of these services in ONE request.
 * *out is the JSON array (caller decrefs). n_ids == 0 returns an empty array without a request.
 * The engine answers 404 for the whole request when one service no longer exists: that id is
 * dropped and the request repeated, so a vanished service simply has no tasks in *out. */
bool engine_tasks_list(struct engine *e, const char *const *service_ids, size_t n_ids, json_t **out,
		       struct engine_err *err);

/* GET /nodes: every node of the swarm (ID, Description.Hostname, Spec.Labels, Spec.Role,
 * Status.State "ready"/"down"/...) in ONE request; only a manager answers. *out is the JSON array
 * (caller decrefs). */
bool engine_nodes_list(struct engine *e, json_t **out, struct engine_err *err);

/* GET /services/{id}/logs?stdout=1&stderr=1&follow=0&timestamps=0: the service's logs,
 * demultiplexed (or raw when tty), streamed. Appended to *out (capped at ENGINE_MAX_LOG: the head
 * is kept and "\n[swarmflow: log truncated at N bytes]\n" appended). On failure (including a
 * malformed stream or one that ends inside a frame) *out is left unchanged. */
bool engine_service_logs(struct engine *e, const char *id, bool tty, struct buf *out,
			 struct engine_err *err);
/* The same, with the stdout bytes (all bytes when tty) also given to tap as they come (NULL:
 * none); *cut (may be NULL) is set when the logs were over ENGINE_MAX_LOG, so that the tap did not
 * see the whole of stdout. */
bool engine_service_logs_tap(struct engine *e, const char *id, bool tty, struct buf *out,
			     const struct log_tap *tap, bool *cut, struct engine_err *err);

/* GET /secrets or /configs filtered by name: *id_out is the ID of the one whose Spec.Name is
 * exactly `name` (caller frees). Not found: false with kind ENGINE_ERR_HTTP and status 404 and
 * message "secret 'name' not found". */
bool engine_secret_id(struct engine *e, const char *name, char **id_out, struct engine_err *err);
bool engine_config_id(struct engine *e, const char *name, char **id_out, struct engine_err *err);

/* A new client like e (host, TLS, the API version in use), for a thread of its own (a client is
 * never shared between threads), with cancel and cancel_ctx (as in engine_opts; cancel may be
 * NULL) instead of e's. Free with engine_destroy(). */
struct engine *engine_clone(const struct engine *e, bool (*cancel)(void *ctx), void *cancel_ctx);

/* What engine_events_watch calls: on_open when the answer's status is known (may be NULL),
 * on_data with every piece of a 2xx body (false stops the stream). */
struct engine_watch_cb {
	void (*on_open)(void *ctx, long status);
	bool (*on_data)(void *ctx, const char *data, size_t len);
	void *ctx;
};

/* GET /events?filters=FILTERS[&since=SINCE] (filters is JSON, since "SECONDS[.NANOS]" or NULL),
 * streamed to cb until the engine ends it (true), it fails or cb stops it (false, *err set), or
 * stop_fd becomes readable (false with ENGINE_ERR_CANCELLED). No total timeout: the stream may
 * stay open for days. */
bool engine_events_watch(struct engine *e, const char *filters, const char *since,
			 const struct engine_watch_cb *cb, int stop_fd, struct engine_err *err);

#endif
