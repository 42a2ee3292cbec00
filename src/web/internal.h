/* internal.h - what the web server's files share: the router (pure), the request and response
 * of a handler, and the server's resources (store connections, the engine for live logs). */
#ifndef SWARMFLOW_WEB_INTERNAL_H
#define SWARMFLOW_WEB_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/dag.h"
#include "swarmflow/store/store.h"
#include "swarmflow/web/web.h"

/* ---- routing (route.c, pure) ---- */

enum route_id {
	R_NONE,
	/* The UI's own API, under /ui/api (see route.c for the paths). */
	R_DAGS,      /* GET /ui/api/dags */
	R_DAG,       /* GET /ui/api/dags/{dag} */
	R_DAG_PATCH, /* PATCH /ui/api/dags/{dag} */
	R_DAG_RUNS,  /* GET /ui/api/dags/{dag}/runs */
	R_TRIGGER,   /* POST /ui/api/dags/{dag}/runs */
	R_RUNS,      /* GET /ui/api/runs */
	R_RUN,       /* GET /ui/api/dags/{dag}/runs/{run} */
	R_RUN_TASKS, /* GET /ui/api/dags/{dag}/runs/{run}/tasks */
	R_GRID,      /* GET /ui/api/dags/{dag}/grid */
	R_TRIES,     /* GET /ui/api/dags/{dag}/runs/{run}/tasks/{task}/tries */
	R_LOGS,      /* GET /ui/api/dags/{dag}/runs/{run}/tasks/{task}/logs/{try} */
	R_CLEAR,     /* POST /ui/api/dags/{dag}/runs/{run}/clear */
	R_METRICS,   /* GET /metrics */
	R_HEALTH,    /* GET /health */
	/* Airflow's stable REST API, under /api/v1 (af_*.c). */
	R_AF_HEALTH,
	R_AF_VERSION,
	R_AF_DAGS,
	R_AF_IMPORT_ERRORS,
	R_AF_POOLS,
	R_AF_POOL,
	R_AF_RUNS,      /* GET /dags/{dag}/dagRuns and /dags/~/dagRuns (no {dag}) */
	R_AF_RUNS_LIST, /* POST /dags/~/dagRuns/list */
	R_AF_TIS_LIST,  /* POST /dags/~/dagRuns/~/taskInstances/list */
	R_AF_DAG,
	R_AF_DAG_PATCH,
	R_AF_DAG_DETAILS,
	R_AF_TASKS,
	R_AF_CLEAR_TIS,
	R_AF_TRIGGER,
	R_AF_RUN,
	R_AF_RUN_PATCH,
	R_AF_RUN_DELETE,
	R_AF_RUN_CLEAR,
	R_AF_TIS,
	R_AF_TI,
	R_AF_LOGS,
	R_AF_TIS_MAPPED, /* GET .../taskInstances/{task}/listMapped */
	R_AF_TI_MAPPED,  /* GET .../taskInstances/{task}/{map} */
	R_AF_XCOMS,      /* GET .../taskInstances/{task}/xcomEntries */
	R_AF_XCOM,       /* GET .../taskInstances/{task}/xcomEntries/{key} */
	R_UI,            /* GET of any other path outside /api and /ui/api: the UI's files */
	R_COUNT,
};

/* Path parameters, by position in the pattern. */
enum { ARG_DAG, ARG_RUN, ARG_TASK, ARG_TRY, ARG_POOL, ARG_MAP, ARG_KEY, ROUTE_MAX_ARGS };

struct route_match {
	enum route_id id;
	int status;                 /* 0 matched; else 400, 404 or 405 (then error says why) */
	char error[512];            /* for status != 0 */
	char allow[64];             /* for 405: "GET, PATCH" */
	char *args[ROUTE_MAX_ARGS]; /* percent-decoded and validated; NULL when not in the path */
	int64_t try_number;         /* {try} */
	int64_t map_index;          /* {map}: -1 (not mapped) to INT32_MAX */
	bool mutating;              /* PATCH, POST or DELETE: needs the token */
	bool airflow;               /* under /api/v1: Airflow's API (repeated query keys) */
};

/* Matches method and the raw request target (path and query as the client sent them) against
 * the route table. The query is ignored here. Path parameters are percent-decoded and checked:
 * DAG and task ids (dag_id_valid), run ids (control_run_id_valid), try numbers (1 to 1000000),
 * map indexes (-1 to INT32_MAX), XCom keys (1 to 250 bytes).
 * HEAD is served as GET. A trailing '/' after an API path is ignored. Free with
 * route_match_finish(). */
void route_match(const char *method, const char *target, struct route_match *out);
void route_match_finish(struct route_match *m);

/* Percent-decodes len bytes of s (with plus_space, '+' is a space: the query's form encoding).
 * NULL for a bad escape or an encoded NUL byte. Caller frees. */
char *url_decode(const char *s, size_t len, bool plus_space);
/* Appends s percent-encoded for one path segment (RFC 3986 unreserved characters kept). */
void url_encode_segment(struct buf *out, const char *s);

/* The decoded query of a request: key=value pairs in order. */
struct query {
	struct strv keys, values;
};

/* Parses the query part of target (after '?'; none: empty). False with *err on a bad escape
 * or, unless repeat (Airflow's arrays: state=a&state=b), a key given twice. Free with
 * query_finish(). */
bool query_parse(const char *target, bool repeat, struct query *out, char **err);
/* Every value of key, in order (strv: caller finishes it). */
void query_get_all(const struct query *q, const char *key, struct strv *out);
/* The first key of q not in allowed (NULL-terminated), or NULL. */
const char *query_unknown(const struct query *q, const char *const *allowed);
void query_finish(struct query *q);
/* The value of key, or NULL when absent. */
const char *query_get(const struct query *q, const char *key);
/* An integer parameter in [min, max], def when absent. False with *err naming it:
 * "limit: expected an integer from 1 to 1000, got 'x'". */
bool query_int(const struct query *q, const char *key, int64_t def, int64_t min, int64_t max,
	       int64_t *out, char **err);

/* Checks the Authorization header of a mutating request against token (NULL: none
 * configured): "Bearer TOKEN", or "Basic base64(USER:TOKEN)" with any user name (what Airflow's
 * clients send). 0 when allowed, else 401 (missing or wrong; compared in constant time) or 403
 * (no token configured), with *why the message. */
int auth_check(const char *header, const char *token, const char **why);

/* Cleans len bytes of log text into valid UTF-8 for a JSON string: invalid bytes become U+FFFD;
 * unless at_end, an incomplete sequence at the very end is left out. *used says how many input
 * bytes the output covers (the next offset). Caller frees the result. */
char *utf8_clean(const char *data, size_t len, bool at_end, size_t *used);

/* ---- handlers ---- */

struct web_req {
	struct web *w;
	const struct route_match *route;
	const struct query *query;
	const char *body; /* NULL or body_len bytes (at most WEB_MAX_BODY) */
	size_t body_len;
	struct store *store; /* this request's own connection */
	const char *accept;  /* the Accept header, or NULL */
};

struct web_resp {
	int status;
	json_t *json;                     /* the body, unless data is set */
	const char *content_type;         /* for data */
	char *data;                       /* owned text (metrics) */
	const unsigned char *static_data; /* not owned (UI files) */
	size_t len;
	char *location;    /* Location header (201) */
	const char *allow; /* Allow header (405) */
	bool challenge;    /* WWW-Authenticate (401) */
	bool ui;           /* security headers of a page */
};

/* Sets a JSON body and status (takes the reference). */
void resp_json(struct web_resp *r, int status, json_t *body);
/* Sets status and a Problem JSON body (RFC 7807, as Airflow's: type, title, status, detail)
 * that also carries the message as "error" (what the UI reads). */
void resp_error(struct web_resp *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The HTTP status of a control operation's end (control.h): 200, 400, 404, 409 or 500. */
int web_control_http(int control_status);
/* 500 with the store's message (also logged), then frees err. */
void resp_store_error(struct web_resp *r, char *err);

/* Parses the request body as a JSON object (an empty body is {}); NULL after setting a 400. */
json_t *req_body_object(const struct web_req *q, struct web_resp *r);
/* Checks that obj has no key outside allowed (NULL-terminated); false after setting a 400. */
bool body_keys_known(const json_t *obj, const char *const *allowed, struct web_resp *r);

typedef void (*web_handler)(struct web_req *q, struct web_resp *r);

/* api_dags.c */
void api_dags_list(struct web_req *q, struct web_resp *r);
void api_dag_get(struct web_req *q, struct web_resp *r);
void api_dag_patch(struct web_req *q, struct web_resp *r);
void api_grid(struct web_req *q, struct web_resp *r);
/* api_runs.c */
void api_runs_list(struct web_req *q, struct web_resp *r);
void api_run_get(struct web_req *q, struct web_resp *r);
void api_trigger(struct web_req *q, struct web_resp *r);
void api_run_tasks(struct web_req *q, struct web_resp *r);
void api_tries(struct web_req *q, struct web_resp *r);
void api_clear(struct web_req *q, struct web_resp *r);
/* api_logs.c */
void api_logs(struct web_req *q, struct web_resp *r);
/* The log of the path's try from offset: {"content", "next_offset", "complete"} (200), or an
 * error answer. The one reader behind the UI's and Airflow's logs endpoints. */
void logs_answer(struct web_req *q, struct web_resp *r, int64_t offset);
/* af_meta.c: Airflow's API, what is not DAGs, runs or task instances */
void af_health(struct web_req *q, struct web_resp *r);
void af_version(struct web_req *q, struct web_resp *r);
void af_import_errors(struct web_req *q, struct web_resp *r);
void af_pools(struct web_req *q, struct web_resp *r);
void af_pool(struct web_req *q, struct web_resp *r);
/* af_dags.c */
void af_dags_list(struct web_req *q, struct web_resp *r);
void af_dag_get(struct web_req *q, struct web_resp *r);
void af_dag_patch(struct web_req *q, struct web_resp *r);
void af_dag_details(struct web_req *q, struct web_resp *r);
void af_tasks(struct web_req *q, struct web_resp *r);
/* af_runs.c */
void af_runs_get(struct web_req *q, struct web_resp *r);
void af_runs_post_list(struct web_req *q, struct web_resp *r);
void af_trigger(struct web_req *q, struct web_resp *r);
void af_run_get(struct web_req *q, struct web_resp *r);
void af_run_patch(struct web_req *q, struct web_resp *r);
void af_run_delete(struct web_req *q, struct web_resp *r);
void af_run_clear(struct web_req *q, struct web_resp *r);
/* af_tis.c */
void af_tis_get(struct web_req *q, struct web_resp *r);
void af_tis_post_list(struct web_req *q, struct web_resp *r);
void af_ti_get(struct web_req *q, struct web_resp *r);
void af_clear_tis(struct web_req *q, struct web_resp *r);
void af_logs(struct web_req *q, struct web_resp *r);
void af_tis_mapped(struct web_req *q, struct web_resp *r);
/* af_xcom.c */
void af_xcoms_list(struct web_req *q, struct web_resp *r);
void af_xcom_get(struct web_req *q, struct web_resp *r);
/* status.c */
void api_metrics(struct web_req *q, struct web_resp *r);
void api_health(struct web_req *q, struct web_resp *r);

/* ---- JSON of store rows (api_json.c) ---- */

/* "2026-11-21T18:00:00.000Z" for unix ms, null for 0. */
json_t *ms_json(int64_t ms);
json_t *str_or_null(const char *s);
/* A run: dag_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end,
 * queued_at, start_date, end_date, conf (an object). */
json_t *run_to_json(const struct run *run);
/* A task instance or a try: task_id, state, try_number, max_tries, service_name, service_id,
 * exit_code, error, start_date, end_date, duration (seconds, while running: so far). */
json_t *ti_to_json(const struct ti *ti, int64_t now_ms);
/* The DAG of the snapshot, or NULL after setting a 404 ("unknown DAG 'x'"). New reference. */
json_t *req_dag(struct web_req *q, struct web_resp *r);
/* The run of the path's {dag} and {run}; false after setting a 404 or 500. */
bool req_run(struct web_req *q, struct web_resp *r, struct run *out);
/* The task instance of task_id with map_index in tis, or NULL; *mapped says whether the task
 * has mapped instances there. */
struct ti *ti_list_find(const struct ti_list *tis, const char *task_id, int64_t map_index,
			bool *mapped);
/* The run's task instance of {task}, of the map index {map} when the path names one, else of
 * ?map_index (default -1: an unmapped task); false after setting a 400, 404 or 500. */
bool req_ti(struct web_req *q, struct web_resp *r, const struct run *run, struct ti *out);

/* What a write names: the path's DAG (the snapshot's JSON and a struct dag made from it) and
 * the request body. */
struct req_write {
	json_t *dag_json, *body;
	struct dag *dag;
};
/* Fills w: the DAG (404), the body as an object with no key outside fields (NULL: any; 400),
 * the struct dag (500 when unusable). False after answering. Finish with req_write_finish(). */
bool req_write_begin(struct web_req *q, struct web_resp *r, const char *const *fields,
		     struct req_write *w);
void req_write_finish(struct req_write *w);
struct control_trigger;
struct control_clear;
struct control_clear_result;
/* control_run_create, logged; false after answering its refusal (400, 404, 409, 500). */
bool req_trigger(struct web_req *q, struct web_resp *r, const struct dag *dag,
		 const struct control_trigger *t, struct run *out);
/* control_tasks_clear, logged unless a dry run; false after answering its refusal. */
bool req_clear(struct web_req *q, struct web_resp *r, const struct dag *dag,
	       const struct control_clear *req, struct control_clear_result *out);

/* ---- the server's resources (server.c) ---- */

/* The snapshot of DAGs, metrics and state_dir the server was started with. */
struct web_dags *web_dags_of(struct web *w);
struct metrics *web_metrics_of(struct web *w);
const char *web_state_dir(struct web *w);
/* Airflow's Pool objects by name (default_pool and the config's pools), slots not in use
 * counted. Borrowed: the server's, never changed. */
json_t *web_pools_of(struct web *w);
/* The engine for live logs, locked for the caller (one request at a time uses it); NULL with
 * *err when it cannot be made. Every successful call is paired with web_engine_release(). */
struct engine *web_engine_take(struct web *w, char **err);
void web_engine_release(struct web *w);

#endif
