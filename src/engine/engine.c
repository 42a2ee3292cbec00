/* engine.c - the Docker Engine API client: version, info, services, tasks, logs, secrets. */
#include "swarmflow/engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/log.h"
#include "swarmflow/engine/logstream.h"
#include "swarmflow/engine/transport.h"

/* The newest API version swarmflow knows, and the oldest it accepts. */
#define API_NEWEST_MAJOR 1
#define API_NEWEST_MINOR 43
#define API_OLDEST_MAJOR 1
#define API_OLDEST_MINOR 30

struct engine {
	struct transport *t;
	bool auto_version; /* negotiate with GET /version before the first versioned request */
	bool negotiated;
	int major, minor;
	char version[16]; /* "1.41"; "" until known */
};

const char *engine_err_kind_name(enum engine_err_kind kind)
{
	static const char *const names[] = {
	    [ENGINE_OK] = "ok",
	    [ENGINE_ERR_CANCELLED] = "cancelled",
	    [ENGINE_ERR_CONNECT] = "connect",
	    [ENGINE_ERR_TIMEOUT] = "timeout",
	    [ENGINE_ERR_HTTP] = "http",
	    [ENGINE_ERR_PROTOCOL] = "protocol",
	    [ENGINE_ERR_TOO_BIG] = "too_big",
	};
	if ((size_t)kind >= ARRAY_LEN(names) || !names[kind])
		return "unknown";
	return names[kind];
}

/* Parses "MAJOR.MINOR" (each 1 to 4 digits) and nothing else. */
static bool parse_version(const char *s, int *major, int *minor)
{
	int v[2] = {0, 0};
	for (int part = 0; part < 2; part++) {
		int digits = 0;
		for (; *s >= '0' && *s <= '9' && digits < 5; s++, digits++)
			v[part] = v[part] * 10 + (*s - '0');
		if (digits == 0 || digits > 4 || *s != (part == 0 ? '.' : '\0'))
			return false;
		s++;
	}
	*major = v[0];
	*minor = v[1];
	return true;
}

static int version_cmp(int amaj, int amin, int bmaj, int bmin)
{
	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	return amin < bmin ? -1 : amin > bmin;
}

static void use_version(struct engine *e, int major, int minor)
{
	e->major = major;
	e->minor = minor;
	snprintf(e->version, sizeof(e->version), "%d.%d", major, minor);
}

struct engine *engine_create(const struct engine_opts *opts, char **err)
{
	const char *v =
	    opts && opts->api_version && opts->api_version[0] ? opts->api_version : "auto";
	int major = 0, minor = 0;
	bool is_auto = strcmp(v, "auto") == 0;
	if (!is_auto && !parse_version(v, &major, &minor)) {
		set_err(err,
			"invalid docker_api_version \"%s\": expected \"auto\" or e.g. \"1.41\"", v);
		return NULL;
	}
	if (!is_auto && version_cmp(major, minor, API_OLDEST_MAJOR, API_OLDEST_MINOR) < 0) {
		set_err(err, "docker_api_version %s is older than %d.%d, the oldest supported", v,
			API_OLDEST_MAJOR, API_OLDEST_MINOR);
		return NULL;
	}
	struct transport *t = transport_create(opts, err);
	if (!t)
		return NULL;
	struct engine *e = xcalloc(1, sizeof(*e));
	e->t = t;
	e->auto_version = is_auto;
	if (!is_auto)
		use_version(e, major, minor);
	return e;
}

void engine_destroy(struct engine *e)
{
	if (!e)
		return;
	transport_destroy(e->t);
	free(e);
}

struct engine *engine_clone(const struct engine *e, bool (*cancel)(void *ctx), void *cancel_ctx)
{
	struct engine *c = xcalloc(1, sizeof(*c));
	*c = *e;
	c->t = transport_clone(e->t, cancel, cancel_ctx);
	return c;
}

bool engine_events_watch(struct engine *e, const char *filters, const char *since,
			 const struct engine_watch_cb *cb, int stop_fd, struct engine_err *err)
{
	if (e->auto_version && !e->negotiated && !engine_negotiate(e, err))
		return false;
	char *f = transport_escape(e->t, filters);
	char *path = since ? xasprintf("/v%s/events?filters=%s&since=%s", e->version, f, since)
			   : xasprintf("/v%s/events?filters=%s", e->version, f);
	struct transport_watch_cb tcb = {
	    .on_open = cb->on_open, .on_data = cb->on_data, .ctx = cb->ctx};
	bool ok = transport_watch(e->t, path, &tcb, stop_fd, err);
	free(path);
	free(f);
	return ok;
}

/* Parses a 2xx body as JSON of the given type; NULL with a protocol error otherwise. */
static json_t *parse_body(const struct buf *b, json_type type, const char *what,
			  struct engine_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(b->data ? b->data : "", b->len, 0, &je);
	if (!j) {
		transport_err_set(err, ENGINE_ERR_PROTOCOL, 0, "%s: invalid JSON: %s", what,
				  je.text);
		return NULL;
	}
	if (json_typeof(j) != type) {
		transport_err_set(err, ENGINE_ERR_PROTOCOL, 0, "%s: expected a JSON %s", what,
				  type == JSON_ARRAY ? "array" : "object");
		json_decref(j);
		return NULL;
	}
	return j;
}

bool engine_ping(struct engine *e, struct engine_err *err)
{
	struct buf b;
	buf_init(&b, 0);
	bool ok = transport_request(e->t, "GET", "/_ping", NULL, &b, err);
	buf_finish(&b);
	return ok;
}

bool engine_negotiate(struct engine *e, struct engine_err *err)
{
	struct buf b;
	buf_init(&b, 0);
	json_t *j = NULL;
	int major = 0, minor = 0;
	bool ok = false;
	if (!transport_request(e->t, "GET", "/version", NULL, &b, err) ||
	    !(j = parse_body(&b, JSON_OBJECT, "GET /version", err)))
		goto out;
	const char *api = json_string_value(json_object_get(j, "ApiVersion"));
	if (!api || !parse_version(api, &major, &minor)) {
		transport_err_set(err, ENGINE_ERR_PROTOCOL, 0, "GET /version: no valid ApiVersion");
		goto out;
	}
	if (!e->auto_version && version_cmp(e->major, e->minor, major, minor) > 0) {
		transport_err_set(err, ENGINE_ERR_PROTOCOL, 0,
				  "docker_api_version %s is newer than the engine's API %s",
				  e->version, api);
		goto out;
	}
	if (e->auto_version) {
		if (version_cmp(major, minor, API_OLDEST_MAJOR, API_OLDEST_MINOR) < 0) {
			transport_err_set(
			    err, ENGINE_ERR_PROTOCOL, 0,
			    "the engine's API %s is older than %d.%d, the oldest supported", api,
			    API_OLDEST_MAJOR, API_OLDEST_MINOR);
			goto out;
		}
		if (version_cmp(major, minor, API_NEWEST_MAJOR, API_NEWEST_MINOR) > 0)
			use_version(e, API_NEWEST_MAJOR, API_NEWEST_MINOR);
		else
			use_version(e, major, minor);
	}
	e->negotiated = true;
	log_debug("engine API %s (the engine speaks %s)", e->version, api);
	ok = true;
out:
	json_decref(j);
	buf_finish(&b);
	return ok;
}

const char *engine_api_version(const struct engine *e)
{
	return e->version;
}

bool engine_api_at_least(const struct engine *e, int major, int minor)
{
	return e->version[0] && version_cmp(e->major, e->minor, major, minor) >= 0;
}

/* A versioned request ("/v1.41" + path), negotiating first when needed; body into b. */
static bool request(struct engine *e, const char *method, const char *path, const char *body,
		    struct buf *b, struct engine_err *err)
{
	if (e->auto_version && !e->negotiated && !engine_negotiate(e, err))
		return false;
	char *full = xasprintf("/v%s%s", e->version, path);
	bool ok = transport_request(e->t, method, full, body, b, err);
	free(full);
	return ok;
}

/* A versioned request whose answer is JSON of the given type (caller decrefs), else NULL. */
static json_t *call(struct engine *e, const char *method, const char *path, const char *body,
		    json_type type, struct engine_err *err)
{
	struct buf b;
	buf_init(&b, 0);
	json_t *j = NULL;
	if (request(e, method, path, body, &b, err)) {
		char *what = xasprintf("%s %s", method, path);
		j = parse_body(&b, type, what, err);
		free(what);
	}
	buf_finish(&b);
	return j;
}

static void copy_string(char *dst, size_t n, const json_t *v)
{
	const char *s = json_string_value(v);
	snprintf(dst, n, "%s", s ? s : "");
}

bool engine_info(struct engine *e, struct engine_info *out, struct engine_err *err)
{
	json_t *j = call(e, "GET", "/info", NULL, JSON_OBJECT, err);
	if (!j)
		return false;
	json_t *swarm = json_object_get(j, "Swarm");
	*out = (struct engine_info){0};
	copy_string(out->node_id, sizeof(out->node_id), json_object_get(swarm, "NodeID"));
	copy_string(out->swarm_state, sizeof(out->swarm_state),
		    json_object_get(swarm, "LocalNodeState"));
	out->is_manager = json_is_true(json_object_get(swarm, "ControlAvailable"));
	copy_string(out->server_version, sizeof(out->server_version),
		    json_object_get(j, "ServerVersion"));
	json_decref(j);
	return true;
}

/* The ID in the answer to a create (j consumed); false with a protocol error without one. */
static bool created_id(json_t *j, char **id_out, struct engine_err *err)
{
	if (!j)
		return false;
	const char *id = json_string_value(json_object_get(j, "ID"));
	if (!id || !id[0]) {
		json_decref(j);
		return transport_err_set(err, ENGINE_ERR_PROTOCOL, 0,
					 "POST /services/create: no ID in the answer");
	}
	json_t *warnings = json_object_get(j, "Warnings");
	for (size_t i = 0; i < json_array_size(warnings); i++)
		log_debug("engine warning for service %s: %s", id,
			  json_string_value(json_array_get(warnings, i)));
	*id_out = xstrdup(id);
	json_decref(j);
	return true;
}

bool engine_service_create(struct engine *e, json_t *spec, char **id_out, struct engine_err *err)
{
	char *body = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
	if (!body)
		return transport_err_set(err, ENGINE_ERR_PROTOCOL, 0,
					 "the service spec cannot be serialized");
	json_t *j = call(e, "POST", "/services/create", body, JSON_OBJECT, err);
	free(body);
	return created_id(j, id_out, err);
}

/* Makes the n calls (paths without the version) at once; false with *err when the version
 * could not be negotiated (no call was made). */
static bool request_many(struct engine *e, struct transport_call *calls, size_t n,
			 struct engine_err *err)
{
	if (e->auto_version && !e->negotiated && !engine_negotiate(e, err))
		return false;
	char **full = xcalloc(n + 1, sizeof(*full));
	for (size_t i = 0; i < n; i++) {
		full[i] = xasprintf("/v%s%s", e->version, calls[i].path);
		calls[i].path = full[i];
	}
	transport_request_many(e->t, calls, n);
	for (size_t i = 0; i < n; i++)
		free(full[i]);
	free(full);
	return true;
}

void engine_services_create_many(struct engine *e, struct engine_create *c, size_t n)
{
	/* Only the specs that serialize are sent; which[k] is the create of calls[k]. */
	struct transport_call *calls = xcalloc(n + 1, sizeof(*calls));
	size_t *which = xcalloc(n + 1, sizeof(*which));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		c[i].id = NULL;
		c[i].ok = false;
		char *body = c[i].spec ? json_dumps(c[i].spec, JSON_COMPACT) : NULL;
		if (!body) {
			transport_err_set(&c[i].err, ENGINE_ERR_PROTOCOL, 0,
					  "the service spec cannot be serialized");
			continue;
		}
		calls[m] = (struct transport_call){
		    .method = "POST", .path = "/services/create", .json_body = body};
		buf_init(&calls[m].resp, 0);
		which[m++] = i;
	}
	struct engine_err nego = {0};
	bool asked = request_many(e, calls, m, &nego);
	for (size_t k = 0; k < m; k++) {
		struct engine_create *ci = &c[which[k]];
		if (!asked)
			ci->err = nego;
		else if (!calls[k].ok)
			ci->err = calls[k].err;
		else
			ci->ok = created_id(parse_body(&calls[k].resp, JSON_OBJECT,
						       "POST /services/create", &ci->err),
					    &ci->id, &ci->err);
		buf_finish(&calls[k].resp);
		free((char *)calls[k].json_body);
	}
	free(which);
	free(calls);
}

void engine_services_remove_many(struct engine *e, const char *const *ids, size_t n, bool *ok,
				 struct engine_err *err)
{
	struct transport_call *calls = xcalloc(n + 1, sizeof(*calls));
	char **paths = xcalloc(n + 1, sizeof(*paths));
	for (size_t i = 0; i < n; i++) {
		char *esc = transport_escape(e->t, ids[i]);
		paths[i] = xasprintf("/services/%s", esc);
		free(esc);
		calls[i] = (struct transport_call){.method = "DELETE", .path = paths[i]};
		buf_init(&calls[i].resp, 0);
	}
	struct engine_err nego = {0};
	bool asked = request_many(e, calls, n, &nego);
	for (size_t i = 0; i < n; i++) {
		err[i] = asked ? calls[i].err : nego;
		ok[i] = asked && calls[i].ok;
		if (!ok[i] && err[i].kind == ENGINE_ERR_HTTP && err[i].status == 404) {
			log_debug("engine: service %s was already gone", ids[i]);
			ok[i] = true;
		}
		buf_finish(&calls[i].resp);
		free(paths[i]);
	}
	free(paths);
	free(calls);
}

bool engine_service_remove(struct engine *e, const char *id, struct engine_err *err)
{
	struct engine_err scratch;
	if (!err)
		err = &scratch;
	struct buf b;
	buf_init(&b, 0);
	char *esc = transport_escape(e->t, id);
	char *path = xasprintf("/services/%s", esc);
	bool ok = request(e, "DELETE", path, NULL, &b, err);
	if (!ok && err->kind == ENGINE_ERR_HTTP && err->status == 404) {
		log_debug("engine: service %s was already gone", id);
		ok = true;
	}
	free(path);
	free(esc);
	buf_finish(&b);
	return ok;
}

/* Builds "?filters=" + the URL-encoded {"key": [values...]}; NULL when a value is not UTF-8. */
static char *filter_query(struct engine *e, const char *key, const char *const *values, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(arr, json_string(values[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	json_t *filters = json_object();
	json_object_set_new(filters, key, arr);
	char *text = json_dumps(filters, JSON_COMPACT);
	json_decref(filters);
	if (!text)
		fatalx("out of memory (json_dumps)");
	char *esc = transport_escape(e->t, text);
	char *query = xasprintf("?filters=%s", esc);
	free(esc);
	free(text);
	return query;
}

/* GET base?filters={key:[values]} and expect a JSON array. */
static bool list(struct engine *e, const char *base, const char *key, const char *const *values,
		 size_t n, json_t **out, struct engine_err *err)
{
	char *query = n ? filter_query(e, key, values, n) : xstrdup("");
	if (!query)
		return transport_err_set(err, ENGINE_ERR_PROTOCOL, 0,
					 "GET %s: a %s filter value is not valid UTF-8", base, key);
	char *path = xasprintf("%s%s", base, query);
	*out = call(e, "GET", path, NULL, JSON_ARRAY, err);
	free(path);
	free(query);
	return *out != NULL;
}

bool engine_services_list(struct engine *e, const char *const *labels, size_t n_labels,
			  json_t **out, struct engine_err *err)
{
	return list(e, "/services", "label", labels, n_labels, out, err);
}

/* Index of the id that a 404 "service ID not found" names, or n when it names none. */
static size_t missing_service(const struct engine_err *err, const char *const *ids, size_t n)
{
	if (err->kind != ENGINE_ERR_HTTP || err->status != 404)
		return n;
	for (size_t i = 0; i < n; i++) {
		char expect[sizeof(err->message)];
		snprintf(expect, sizeof(expect), "service %s not found", ids[i]);
		if (strcmp(err->message, expect) == 0)
			return i;
	}
	return n;
}

bool engine_tasks_list(struct engine *e, const char *const *service_ids, size_t n_ids, json_t **out,
		       struct engine_err *err)
{
	struct engine_err scratch;
	if (!err)
		err = &scratch;
	if (n_ids == 0) {
		*out = json_array();
		return true;
	}
	const char **ids = xcalloc(n_ids, sizeof(*ids));
	memcpy(ids, service_ids, n_ids * sizeof(*ids));
	size_t n = n_ids;
	bool ok = false;
	*out = NULL;
	/* The engine fails the whole request with 404 when one service is gone: drop it, retry. */
	for (;;) {
		if (n == 0) {
			*out = json_array();
			ok = true;
			break;
		}
		if ((ok = list(e, "/tasks", "service", ids, n, out, err)))
			break;
		size_t i = missing_service(err, ids, n);
		if (i == n)
			break;
		log_debug("engine: service %s is gone; polling the others", ids[i]);
		ids[i] = ids[--n];
	}
	free(ids);
	return ok;
}

bool engine_nodes_list(struct engine *e, json_t **out, struct engine_err *err)
{
	return list(e, "/nodes", "id", NULL, 0, out, err); /* no filter: every node */
}

/* Demultiplexes the log body as it arrives, keeping at most ENGINE_MAX_LOG bytes. */
struct log_sink {
	struct logstream ls;
	struct buf logs;
};

static bool log_sink_feed(void *ctx, const char *data, size_t len)
{
	struct log_sink *s = ctx;
	return logstream_feed(&s->ls, data, len, &s->logs);
}

static bool logs_finish(struct log_sink *s, bool ok, struct buf *out, bool *cut,
			struct engine_err *err)
{
	if (s->logs.too_big && cut)
		*cut = true;
	if (s->logs.too_big) {
		s->logs.too_big = false;
		s->logs.max = 0;
		buf_printf(&s->logs, "\n[swarmflow: log truncated at %u bytes]\n", ENGINE_MAX_LOG);
		ok = true;
	} else if (s->ls.error) {
		return transport_err_set(err, ENGINE_ERR_PROTOCOL, 0,
					 "malformed log stream (bad frame header)");
	} else if (logstream_daemon_error(&s->ls)) {
		return transport_err_set(err, ENGINE_ERR_PROTOCOL, 0, "the engine: %s",
					 logstream_daemon_error(&s->ls));
	} else if (ok && !logstream_complete(&s->ls)) {
		return transport_err_set(err, ENGINE_ERR_PROTOCOL, 0,
					 "the log stream ended inside a frame");
	}
	if (ok && !buf_append(out, s->logs.data, s->logs.len))
		return transport_err_set(err, ENGINE_ERR_TOO_BIG, 0,
					 "the logs do not fit in the output buffer");
	return ok;
}

bool engine_service_logs(struct engine *e, const char *id, bool tty, struct buf *out,
			 struct engine_err *err)
{
	return engine_service_logs_tap(e, id, tty, out, NULL, NULL, err);
}

bool engine_service_logs_tap(struct engine *e, const char *id, bool tty, struct buf *out,
			     const struct log_tap *tap, bool *cut, struct engine_err *err)
{
	struct log_sink s;
	logstream_init(&s.ls, tty);
	s.ls.tap = tap;
	buf_init(&s.logs, ENGINE_MAX_LOG);
	if (e->auto_version && !e->negotiated && !engine_negotiate(e, err))
		return false;
	char *esc = transport_escape(e->t, id);
	char *path = xasprintf("/v%s/services/%s/logs?stdout=1&stderr=1&follow=0&timestamps=0",
			       e->version, esc);
	bool ok = transport_stream(e->t, path, log_sink_feed, &s, err);
	ok = logs_finish(&s, ok, out, cut, err);
	free(path);
	free(esc);
	buf_finish(&s.logs);
	return ok;
}

/* GET /secrets or /configs filtered by name, then the exact Spec.Name (the filter is a prefix). */
static bool lookup_id(struct engine *e, const char *kind, const char *name, char **id_out,
		      struct engine_err *err)
{
	char *base = xasprintf("/%ss", kind);
	json_t *arr = NULL;
	bool ok = list(e, base, "name", &name, 1, &arr, err);
	free(base);
	if (!ok)
		return false;
	const char *id = NULL;
	for (size_t i = 0; i < json_array_size(arr) && !id; i++) {
		json_t *it = json_array_get(arr, i);
		const char *n =
		    json_string_value(json_object_get(json_object_get(it, "Spec"), "Name"));
		if (n && strcmp(n, name) == 0)
			id = json_string_value(json_object_get(it, "ID"));
	}
	bool found = id && id[0];
	if (found)
		*id_out = xstrdup(id);
	else
		transport_err_set(err, ENGINE_ERR_HTTP, 404, "%s '%s' not found", kind, name);
	json_decref(arr);
	return found;
}

bool engine_secret_id(struct engine *e, const char *name, char **id_out, struct engine_err *err)
{
	return lookup_id(e, "secret", name, id_out, err);
}

bool engine_config_id(struct engine *e, const char *name, char **id_out, struct engine_err *err)
{
	return lookup_id(e, "config", name, id_out, err);
}
