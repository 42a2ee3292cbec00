/* web_env.h - a web server on a free loopback port for tests: a temporary dags folder and
 * state dir, its DAG snapshot, a token file, the fake engine, and an HTTP client. */
#ifndef SWARMFLOW_TESTS_WEB_ENV_H
#define SWARMFLOW_TESTS_WEB_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "fake_engine.h"
#include "swarmflow/common/metrics.h"
#include "swarmflow/core/config.h"
#include "swarmflow/sched/dagbag.h"
#include "swarmflow/store/store.h"
#include "swarmflow/web/web.h"

/* The token of the token file env_start writes. */
#define ENV_TOKEN "tok-5e1d-secret"

struct env {
	char dir[64];
	char *dags_dir, *state_dir, *token_path;
	struct config cfg;
	struct dagbag bag;
	struct metrics *metrics;
	struct web_dags *dags;
	struct web *web;
	int port;
	struct store *st; /* the test's own connection, to set up and check rows */
	struct fake_engine *fe;
	/* When set: every exchange of http() is appended as one JSON line {method, path, status,
	 * content_type, body}, the form tests/openapi/check.mjs reads. */
	FILE *record;
};

/* Starts everything; with_token false: no api_token_file (a read-only API). */
void env_start(struct env *e, bool with_token);
void env_stop(struct env *e);
/* cmocka fixtures: a started env (malloc'd) in *state, and its end. */
int env_setup(void **state, bool with_token);
int env_teardown(void **state);
/* Writes dir/name with text. */
void env_write(const char *dir, const char *name, const char *text);

struct http_resp {
	long status;
	char *body;
	json_t *json;        /* the body parsed, when it is JSON */
	struct strv headers; /* "Name: value" lines */
};

/* One request; token NULL: no Authorization header, "Basic ..." sent as it is, else as a bearer
 * token. Fails the test when curl fails. */
void http(struct env *e, const char *method, const char *path, const char *token, const char *body,
	  struct http_resp *out);
/* The value of header name (case-insensitive), or NULL. */
const char *http_header(const struct http_resp *r, const char *name);
void http_finish(struct http_resp *r);

#endif
