/* server.c - the HTTP server: the listening socket, libmicrohttpd's threads, one request from its
 * first byte to its answer (route, token, body cap, handler), store connections and the engine. */
#include "swarmflow/web/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/engine/engine.h"
#include "ui_glue.h"

/* Seconds an idle connection is kept, and connections served at once. */
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 256
/* The nice value of the serving threads: when the CPU is short, a page waits, not the loop. */
#define WEB_NICE 10
/* Timeouts of the engine requests for live logs: a page waits, the scheduler does not. */
#define ENGINE_CONNECT_TIMEOUT_MS 3000
#define ENGINE_TIMEOUT_MS 15000

struct web {
	struct MHD_Daemon *daemon;
	int port;
	char *token; /* NULL: read-only */
	char *state_dir;
	struct metrics *metrics;
	struct web_dags *dags;
	json_t *pools; /* Airflow's Pool objects by name: default_pool and the config's */
	/* One SQLite connection per serving thread, lent per request. */
	pthread_mutex_t stores_lock;
	pthread_cond_t stores_free;
	struct store *stores[WEB_THREADS];
	bool lent[WEB_THREADS];
	/* The engine for live logs: made at the first use, one request at a time. */
	pthread_mutex_t engine_lock;
	struct engine *engine;
	struct engine_opts engine_opts;
	char *docker_host, *api_version, *cert_path;
};

/* One request, from the URI callback (before the headers) to the completion callback. */
struct request {
	char *target; /* the request target as sent: path and query, not decoded */
	bool started;
	bool answered; /* a response was queued early (route, token, size) */
	struct route_match route;
	struct buf body;
};

/* ---- resources the handlers use ---- */

struct web_dags *web_dags_of(struct web *w)
{
	return w->dags;
}

struct metrics *web_metrics_of(struct web *w)
{
	return w->metrics;
}

json_t *web_pools_of(struct web *w)
{
	return w->pools;
}

const char *web_state_dir(struct web *w)
{
	return w->state_dir;
}

int web_port(const struct web *w)
{
	return w->port;
}

static struct store *store_take(struct web *w, size_t *slot)
{
	pthread_mutex_lock(&w->stores_lock);
	for (;;) {
		for (size_t i = 0; i < WEB_THREADS; i++) {
			if (!w->lent[i]) {
				w->lent[i] = true;
				*slot = i;
				pthread_mutex_unlock(&w->stores_lock);
				return w->stores[i];
			}
		}
		pthread_cond_wait(&w->stores_free, &w->stores_lock);
	}
}

static void store_give_back(struct web *w, size_t slot)
{
	pthread_mutex_lock(&w->stores_lock);
	w->lent[slot] = false;
	pthread_cond_signal(&w->stores_free);
	pthread_mutex_unlock(&w->stores_lock);
}

struct engine *web_engine_take(struct web *w, char **err)
{
	pthread_mutex_lock(&w->engine_lock);
	if (!w->engine)
		w->engine = engine_create(&w->engine_opts, err);
	if (!w->engine)
		pthread_mutex_unlock(&w->engine_lock);
	return w->engine;
}

void web_engine_release(struct web *w)
{
	pthread_mutex_unlock(&w->engine_lock);
}

/* ---- answers ---- */

static void add_json_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
}

static void add_ui_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	/* Scripts only from this server: log text shown in a page can never run as code. */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; style-src 'self' "
				"'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
				"form-action 'self'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static struct MHD_Response *make_response(struct web_resp *r)
{
	struct MHD_Response *resp;
	if (r->status == 204) {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else if (r->static_data) {
		resp = MHD_create_response_from_buffer(r->len, (void *)r->static_data,
						       MHD_RESPMEM_PERSISTENT);
	} else if (r->data) {
		resp = MHD_create_response_from_buffer(r->len, r->data, MHD_RESPMEM_MUST_FREE);
		r->data = NULL; /* freed by libmicrohttpd */
	} else {
		char *text = json_dumps(r->json ? r->json : json_object(), JSON_COMPACT);
		if (!text)
			text = xstrdup("{\"error\":\"cannot encode the answer\"}");
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return NULL;
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	else if (r->status != 204)
		add_json_headers(resp);
	if (r->ui)
		add_ui_headers(resp);
	if (r->location)
		MHD_add_response_header(resp, "Location", r->location);
	if (r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->challenge)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"swarmflow\"");
	return resp;
}

static enum MHD_Result send_resp(struct web *w, struct MHD_Connection *c, struct web_resp *r,
				 const struct request *req, const char *method)
{
	if (!r->json && !r->data && !r->static_data && r->status != 204)
		resp_error(r, 500, "no answer");
	struct MHD_Response *resp = make_response(r);
	enum MHD_Result ok = MHD_NO;
	if (resp) {
		ok = MHD_queue_response(c, (unsigned)r->status, resp);
		MHD_destroy_response(resp);
	}
	metrics_http_request(w->metrics, r->status);
	log_debug("web: %s %s -> %d", method, req->target, r->status);
	json_decref(r->json);
	free(r->data);
	free(r->location);
	*r = (struct web_resp){0};
	return ok;
}

/* ---- one request ---- */

static const web_handler handlers[R_COUNT] = {
    [R_DAGS] = api_dags_list,
    [R_DAG] = api_dag_get,
    [R_DAG_PATCH] = api_dag_patch,
    [R_DAG_RUNS] = api_runs_list,
    [R_TRIGGER] = api_trigger,
    [R_RUNS] = api_runs_list,
    [R_RUN] = api_run_get,
    [R_RUN_TASKS] = api_run_tasks,
    [R_GRID] = api_grid,
    [R_TRIES] = api_tries,
    [R_LOGS] = api_logs,
    [R_CLEAR] = api_clear,
    [R_METRICS] = api_metrics,
    [R_HEALTH] = api_health,
    [R_AF_HEALTH] = af_health,
    [R_AF_VERSION] = af_version,
    [R_AF_DAGS] = af_dags_list,
    [R_AF_IMPORT_ERRORS] = af_import_errors,
    [R_AF_POOLS] = af_pools,
    [R_AF_POOL] = af_pool,
    [R_AF_RUNS] = af_runs_get,
    [R_AF_RUNS_LIST] = af_runs_post_list,
    [R_AF_TIS_LIST] = af_tis_post_list,
    [R_AF_DAG] = af_dag_get,
    [R_AF_DAG_PATCH] = af_dag_patch,
    [R_AF_DAG_DETAILS] = af_dag_details,
    [R_AF_TASKS] = af_tasks,
    [R_AF_CLEAR_TIS] = af_clear_tis,
    [R_AF_TRIGGER] = af_trigger,
    [R_AF_RUN] = af_run_get,
    [R_AF_RUN_PATCH] = af_run_patch,
    [R_AF_RUN_DELETE] = af_run_delete,
    [R_AF_RUN_CLEAR] = af_run_clear,
    [R_AF_TIS] = af_tis_get,
    [R_AF_TI] = af_ti_get,
    [R_AF_LOGS] = af_logs,
    [R_AF_TIS_MAPPED] = af_tis_mapped,
    [R_AF_TI_MAPPED] = af_ti_get,
    [R_AF_XCOMS] = af_xcoms_list,
    [R_AF_XCOM] = af_xcom_get,
};

static void serve_ui(const struct request *req, struct web_resp *r)
{
	size_t len = strcspn(req->target, "?#");
	char *path = xstrndup(req->target, len);
	const struct ui_asset *a = ui_asset_find(path);
	free(path);
	if (!a) {
		resp_error(r, 404, "no such page: %.200s", req->target);
		return;
	}
	r->status = 200;
	r->static_data = a->data;
	r->len = a->len;
	r->content_type = a->content_type;
	r->ui = true;
}

/* Checks what can be refused before the body arrives: the route, the token, the size. True
 * when r holds such a refusal. */
static bool refuse_early(struct web *w, struct MHD_Connection *c, struct request *req,
			 struct web_resp *r)
{
	const struct route_match *m = &req->route;
	const char *why = NULL;
	if (m->status) {
		resp_error(r, m->status, "%s", m->error);
		r->allow = m->status == 405 ? m->allow : NULL;
		return true;
	}
	int denied =
	    m->mutating
		? auth_check(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
			     w->token, &why)
		: 0;
	if (denied) {
		resp_error(r, denied, "%s", why);
		r->challenge = denied == 401;
		return true;
	}
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	int64_t n = 0;
	if (cl && (!parse_int64(cl, 0, INT64_MAX, &n) || n > WEB_MAX_BODY)) {
		resp_error(r, 413, "request body over %d bytes", WEB_MAX_BODY);
		return true;
	}
	return false;
}

static void dispatch(struct web *w, struct MHD_Connection *c, struct request *req,
		     struct web_resp *r)
{
	if (req->route.id == R_UI) {
		serve_ui(req, r);
		return;
	}
	struct query query;
	char *err = NULL;
	if (!query_parse(req->target, req->route.airflow, &query, &err)) {
		resp_error(r, 400, "%s", err);
		free(err);
		return;
	}
	size_t slot = 0;
	struct web_req q = {
	    .w = w,
	    .route = &req->route,
	    .query = &query,
	    .body = req->body.data,
	    .body_len = req->body.len,
	    .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"),
	    .store = store_take(w, &slot),
	};
	handlers[req->route.id](&q, r);
	store_give_back(w, slot);
	query_finish(&query);
}

/* Lowers the calling thread's CPU priority (Linux: nice is per thread). libmicrohttpd has no
 * thread-start hook, so every request asks again: one cheap system call. */
static void lower_priority(void)
{
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WEB_NICE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **ctx)
{
	struct web *w = cls;
	struct request *req = *ctx;
	struct web_resp r = {0};
	if (!req) /* the URI callback always makes one; never answer without it */
		return MHD_NO;
	if (!req->started) {
		req->started = true;
		lower_priority();
		route_match(method, req->target, &req->route);
		if (refuse_early(w, c, req, &r)) {
			req->answered = true;
			return send_resp(w, c, &r, req, method);
		}
		return MHD_YES;
	}
	if (*size) {
		/* Past the cap the rest is read and dropped (buf_append refuses it), then 413. */
		buf_append(&req->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (req->answered)
		return MHD_YES;
	req->answered = true;
	if (req->body.too_big)
		resp_error(&r, 413, "request body over %d bytes", WEB_MAX_BODY);
	else
		dispatch(w, c, req, &r);
	return send_resp(w, c, &r, req, method);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *req = xcalloc(1, sizeof(*req));
	req->target = xstrdup(uri ? uri : "/");
	buf_init(&req->body, WEB_MAX_BODY);
	return req;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *ctx;
	if (!req)
		return;
	route_match_finish(&req->route);
	buf_finish(&req->body);
	free(req->target);
	free(req);
	*ctx = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warnx("web: %s", msg);
	free(msg);
}

/* ---- the token ---- */

/* The most a token file may hold. */
#define TOKEN_FILE_MAX 4096

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool web_token_read(const char *path, char **token, char **err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return set_err(err, "api_token_file %s: %s", path, strerror(errno));
	char text[TOKEN_FILE_MAX + 1];
	size_t n = fread(text, 1, sizeof(text), f);
	bool failed = ferror(f);
	int saved = errno;
	fclose(f);
	if (failed)
		return set_err(err, "api_token_file %s: %s", path, strerror(saved));
	if (n > TOKEN_FILE_MAX)
		return set_err(err, "api_token_file %s: larger than %d bytes", path,
			       TOKEN_FILE_MAX);
	size_t start = 0;
	while (start < n && is_space(text[start]))
		start++;
	while (n > start && is_space(text[n - 1]))
		n--;
	if (n == start)
		return set_err(err, "api_token_file %s: the file holds no token (it is empty)",
			       path);
	for (size_t i = start; i < n; i++)
		if ((unsigned char)text[i] <= ' ' || text[i] == 0x7f)
			return set_err(err,
				       "api_token_file %s: the token holds a space or a control "
				       "character",
				       path);
	*token = xstrndup(text + start, n - start);
	return true;
}

/* ---- listening ---- */

static int bind_fd(const struct sockaddr *sa, socklen_t len, int *error)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error = errno;
		return -1;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* ":PORT" listens on IPv4 too, through the IPv6 wildcard. */
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		*error = errno;
		close(fd);
		return -1;
	}
	return fd;
}

/* Every interface: the IPv6 wildcard (dual stack), else IPv4's. */
static int bind_any(int port, int *error)
{
	struct sockaddr_in6 a6 = {
	    .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
	int fd = bind_fd((const struct sockaddr *)&a6, sizeof(a6), error);
	if (fd >= 0 || (*error != EAFNOSUPPORT && *error != EADDRNOTAVAIL))
		return fd;
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY)};
	return bind_fd((const struct sockaddr *)&a4, sizeof(a4), error);
}

/* Binds and listens on addr; returns the socket and sets *port, or -1 with *err. */
static int listen_on(const char *shown, const struct listen_addr *addr, int *port, char **err)
{
	int fd = -1, error = 0;
	if (!addr->host[0]) {
		fd = bind_any(addr->port, &error);
	} else {
		char service[8];
		snprintf(service, sizeof(service), "%d", addr->port);
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
		struct addrinfo *res = NULL;
		int rc = getaddrinfo(addr->host, service, &hints, &res);
		if (rc != 0) {
			set_err(err, "web_listen %s: %s", shown, gai_strerror(rc));
			return -1;
		}
		for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
			fd = bind_fd(ai->ai_addr, ai->ai_addrlen, &error);
		freeaddrinfo(res);
	}
	if (fd < 0) {
		set_err(err, "web_listen %s: cannot listen: %s", shown, strerror(error));
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	*port = addr->port;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* ---- start and stop ---- */

static bool open_stores(struct web *w, char **err)
{
	char *path = xasprintf("%s/swarmflow.db", w->state_dir);
	bool ok = true;
	for (size_t i = 0; ok && i < WEB_THREADS; i++) {
		char *why = NULL;
		w->stores[i] = store_open(path, &why);
		if (!w->stores[i] || !store_prepare_all(w->stores[i], &why))
			ok = set_err(err, "web: %s: %s", path, why);
		free(why);
	}
	free(path);
	return ok;
}

/* Airflow's pools: default_pool (tasks that name none; parallelism slots) and the config's. */
static json_t *pools_json(const struct config *cfg)
{
	json_t *pools = json_object();
	for (size_t i = 0; i <= cfg->n_pools; i++) {
		const char *name = i < cfg->n_pools ? cfg->pools[i].name : "default_pool";
		int slots = i < cfg->n_pools ? cfg->pools[i].slots : cfg->parallelism;
		json_object_set_new(
		    pools, name,
		    json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:s}", "name", name,
			      "slots", slots, "occupied_slots", 0, "running_slots", 0,
			      "queued_slots", 0, "scheduled_slots", 0, "open_slots", slots,
			      "deferred_slots", 0, "include_deferred", 0, "description",
			      i < cfg->n_pools ? "from the configuration"
					       : "tasks without a pool (parallelism)"));
	}
	return pools;
}

static void engine_opts_copy(struct web *w, const struct config *cfg)
{
	const char *verify = getenv("DOCKER_TLS_VERIFY");
	w->docker_host = xstrdup(cfg->docker_host);
	w->api_version = xstrdup(cfg->docker_api_version);
	w->cert_path = xstrdup(getenv("DOCKER_CERT_PATH"));
	w->engine_opts = (struct engine_opts){
	    .host = w->docker_host,
	    .api_version = w->api_version,
	    .tls_verify = verify && *verify && strcmp(verify, "0") != 0,
	    .cert_path = w->cert_path,
	    .connect_timeout_ms = ENGINE_CONNECT_TIMEOUT_MS,
	    .timeout_ms = ENGINE_TIMEOUT_MS,
	};
}

/* Starts libmicrohttpd's threads with every signal blocked: SIGTERM, SIGINT and SIGHUP must
 * reach the scheduler's sigtimedwait, never a web thread (whose default action would kill the
 * process). */
static struct MHD_Daemon *start_daemon(struct web *w, int fd)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, w,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, w, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)WEB_THREADS, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
	    w, MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
	    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return d;
}

struct web *web_start(const struct config *cfg, struct metrics *m, struct web_dags *dags,
		      char **err)
{
	struct listen_addr addr;
	const char *why = NULL;
	if (!config_listen_parse(cfg->web_listen, &addr, &why)) {
		set_err(err, "web_listen '%s': %s", cfg->web_listen, why);
		return NULL;
	}
	struct web *w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->stores_lock, NULL);
	pthread_cond_init(&w->stores_free, NULL);
	pthread_mutex_init(&w->engine_lock, NULL);
	w->metrics = m;
	w->dags = dags;
	w->state_dir = xstrdup(cfg->state_dir);
	w->pools = pools_json(cfg);
	engine_opts_copy(w, cfg);
	if ((cfg->api_token_file && !web_token_read(cfg->api_token_file, &w->token, err)) ||
	    !open_stores(w, err))
		goto error;
	int fd = listen_on(cfg->web_listen, &addr, &w->port, err);
	if (fd < 0)
		goto error;
	w->daemon = start_daemon(w, fd);
	if (!w->daemon) {
		close(fd);
		set_err(err, "web_listen %s: cannot start the HTTP server", cfg->web_listen);
		goto error;
	}
	bool v6 = strchr(addr.host, ':') != NULL;
	log_info("web: listening url=http://%s%s%s:%d/ api=%s", v6 ? "[" : "",
		 addr.host[0] ? addr.host : "*", v6 ? "]" : "", w->port,
		 w->token ? "read-write (bearer token)" : "read-only (no api_token_file)");
	return w;
error:
	web_stop(w);
	return NULL;
}

void web_stop(struct web *w)
{
	if (!w)
		return;
	if (w->daemon)
		MHD_stop_daemon(w->daemon); /* waits for its threads; closes the socket */
	for (size_t i = 0; i < WEB_THREADS; i++)
		store_close(w->stores[i]);
	engine_destroy(w->engine);
	pthread_mutex_destroy(&w->engine_lock);
	pthread_cond_destroy(&w->stores_free);
	pthread_mutex_destroy(&w->stores_lock);
	if (w->token)
		explicit_bzero(w->token, strlen(w->token));
	free(w->token);
	free(w->state_dir);
	json_decref(w->pools);
	free(w->docker_host);
	free(w->api_version);
	free(w->cert_path);
	free(w);
}
