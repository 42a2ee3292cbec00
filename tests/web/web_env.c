/* web_env.c - a web server on a free loopback port for the tests (see web_env.h). */
#include "web_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char api_dag[] = "dag api {\n"
			      "  schedule = \"none\"\n"
			      "  tags = {web}\n"
			      "  defaults { image = busybox }\n"
			      "  task one { shell = \"echo one\" }\n"
			      "  task two { upstream = {one}  retries = 1  shell = \"echo two\" }\n"
			      "  task three { upstream = {two}  shell = \"echo three\" }\n"
			      "}\n";
static const char bad_dag[] = "dag broken {\n  task t { image = = x }\n}\n";

void env_write(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	free(path);
}

static void fake_start(struct env *e)
{
	struct fake_engine_opts opts = {.swarm = true};
	e->fe = fake_engine_create(&opts);
	assert_non_null(e->fe);
	static const struct fake_step running[] = {FAKE_RUNNING};
	static const struct fake_script live = {
	    .key = "two", .steps = running, .n_steps = 1, .log = "line one\nline two\n"};
	fake_engine_script(e->fe, &live);
	free(e->cfg.docker_host);
	e->cfg.docker_host = xasprintf("unix://%s", fake_engine_socket(e->fe));
}

void env_start(struct env *e, bool with_token)
{
	*e = (struct env){0};
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_web.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->dags_dir = xasprintf("%s/dags", e->dir);
	e->state_dir = xasprintf("%s/state", e->dir);
	e->token_path = xasprintf("%s/token", e->dir);
	assert_int_equal(mkdir(e->dags_dir, 0700), 0);
	env_write(e->dags_dir, "api.dag", api_dag);
	env_write(e->dags_dir, "bad.dag", bad_dag);
	env_write(e->dir, "token", "  " ENV_TOKEN "\n\n");
	config_init(&e->cfg);
	free(e->cfg.state_dir);
	e->cfg.state_dir = xstrdup(e->state_dir);
	free(e->cfg.web_listen);
	e->cfg.web_listen = xstrdup("127.0.0.1:0");
	e->cfg.api_token_file = with_token ? xstrdup(e->token_path) : NULL;
	fake_start(e);
	dagbag_init(&e->bag, e->dags_dir);
	dagbag_refresh(&e->bag);
	e->metrics = metrics_create();
	e->dags = web_dags_create();
	web_dags_update(e->dags, &e->bag);
	assert_int_equal(mkdir(e->state_dir, 0700), 0);
	char *err = NULL;
	e->web = web_start(&e->cfg, e->metrics, e->dags, &err);
	if (!e->web)
		fail_msg("web_start: %s", err);
	e->port = web_port(e->web);
	assert_true(e->port > 0);
	char *db = xasprintf("%s/swarmflow.db", e->state_dir);
	e->st = store_open(db, &err);
	assert_non_null(e->st);
	free(db);
}

void env_stop(struct env *e)
{
	web_stop(e->web);
	store_close(e->st);
	web_dags_destroy(e->dags);
	metrics_destroy(e->metrics);
	dagbag_finish(&e->bag);
	config_finish(&e->cfg);
	fake_engine_destroy(e->fe);
	char *cmd = xasprintf("rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(e->dags_dir);
	free(e->state_dir);
	free(e->token_path);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	buf_append(ud, data, size * n);
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	size_t len = size * n;
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len && memchr(data, ':', len))
		strv_push_owned(ud, xstrndup(data, len));
	return size * n;
}

/* Appends one exchange to e->record. */
static void record(struct env *e, const char *method, const char *path, const struct http_resp *r)
{
	const char *ct = http_header(r, "Content-Type");
	json_t *line =
	    json_pack("{s:s, s:s, s:I, s:s, s:s}", "method", method, "path", path, "status",
		      (json_int_t)r->status, "content_type", ct ? ct : "", "body", r->body);
	assert_non_null(line);
	char *text = json_dumps(line, JSON_COMPACT);
	fprintf(e->record, "%s\n", text);
	free(text);
	json_decref(line);
}

void http(struct env *e, const char *method, const char *path, const char *token, const char *body,
	  struct http_resp *out)
{
	*out = (struct http_resp){0};
	CURL *c = curl_easy_init();
	assert_non_null(c);
	char *url = xasprintf("http://127.0.0.1:%d%s", e->port, path);
	struct buf b;
	buf_init(&b, 0);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	/* A token "Basic ..." is sent as it is (HTTP Basic auth), any other as a bearer token. */
	bool basic = token && strncmp(token, "Basic ", 6) == 0;
	char *auth = token ? xasprintf("Authorization: %s%s", basic ? "" : "Bearer ", token) : NULL;
	if (auth)
		hdrs = curl_slist_append(hdrs, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = buf_steal(&b);
	json_error_t jerr;
	out->json = json_loads(out->body, 0, &jerr);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(auth);
	free(url);
	if (e->record)
		record(e, method, path, out);
}

const char *http_header(const struct http_resp *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->headers.len; i++) {
		const char *h = r->headers.v[i];
		if (strncasecmp(h, name, n) == 0 && h[n] == ':')
			return h + n + 1 + (h[n + 1] == ' ');
	}
	return NULL;
}

void http_finish(struct http_resp *r)
{
	free(r->body);
	json_decref(r->json);
	strv_finish(&r->headers);
	*r = (struct http_resp){0};
}

int env_setup(void **state, bool with_token)
{
	struct env *e = malloc(sizeof(*e));
	env_start(e, with_token);
	*state = e;
	return 0;
}

int env_teardown(void **state)
{
	env_stop(*state);
	free(*state);
	return 0;
}
