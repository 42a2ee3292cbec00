/* test_engine_faults.c - the engine client against a scripted fake engine on a unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "fake_engine.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/engine/decode.h"
#include "swarmflow/engine/engine.h"

/* The fake engine of the current test (scripted routes only: no simulated swarm). */
struct fake {
	struct fake_engine *fe;
};

static void fake_start(struct fake *f, const struct fake_route *routes)
{
	struct fake_engine_opts opts = {.routes = routes};
	f->fe = fake_engine_create(&opts);
	assert_non_null(f->fe);
}

/* The requests the fake engine got, each followed by "\n====\n" (caller frees). */
static char *fake_requests(const struct fake *f)
{
	return fake_engine_raw_requests(f->fe);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int fake_setup(void **state)
{
	*state = xcalloc(1, sizeof(struct fake));
	return 0;
}

/* Stops the fake engine even when the test failed half way. */
static int fake_teardown(void **state)
{
	struct fake *f = *state;
	fake_engine_destroy(f->fe);
	free(f);
	return 0;
}

static struct engine *engine_for(const struct fake *f, const char *api, long timeout_ms)
{
	char *host = xasprintf("unix://%s", fake_engine_socket(f->fe));
	struct engine_opts opts = {.host = host, .api_version = api, .timeout_ms = timeout_ms};
	char *err = NULL;
	struct engine *e = engine_create(&opts, &err);
	if (!e)
		fail_msg("engine_create: %s", err);
	free(host);
	return e;
}

#define VERSION_141                                                                                \
	{                                                                                          \
		"GET /version ", "200 OK", "{\"ApiVersion\":\"1.41\"}", NULL, NULL, 0              \
	}
#define END_ROUTES                                                                                 \
	{                                                                                          \
		NULL, NULL, NULL, NULL, NULL, 0                                                    \
	}

static void test_negotiate_newer(void **state)
{
	static const struct fake_route routes[] = {
	    {"GET /version ", "200 OK", "{\"ApiVersion\":\"1.44\"}", NULL, NULL, 0}, END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	fake_start(f, routes);
	struct engine *e = engine_for(f, "auto", 2000);
	assert_true(engine_negotiate(e, &err));
	assert_string_equal(engine_api_version(e), "1.43");
	assert_true(engine_api_at_least(e, 1, 43));
	assert_false(engine_api_at_least(e, 1, 44));
	assert_false(engine_api_at_least(e, 2, 0));
	char *reqs = fake_requests(f);
	assert_true(str_has_prefix(reqs, "GET /version HTTP/1.1\r\nHost: localhost\r\n"
					 "User-Agent: swarmflow/"));
	free(reqs);
	engine_destroy(e);
}

static void test_negotiate_old(void **state)
{
	static const struct fake_route routes[] = {
	    {"GET /version ", "200 OK", "{\"ApiVersion\":\"1.29\"}", NULL, NULL, 0}, END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	fake_start(f, routes);
	struct engine *e = engine_for(f, "auto", 2000);
	assert_false(engine_negotiate(e, &err));
	assert_int_equal(err.kind, ENGINE_ERR_PROTOCOL);
	assert_string_equal(err.message,
			    "the engine's API 1.29 is older than 1.30, the oldest supported");
	assert_string_equal(engine_api_version(e), "");
	assert_false(engine_api_at_least(e, 1, 0));
	engine_destroy(e);
	/* A fixed version newer than the engine's is refused too. */
	e = engine_for(f, "1.43", 2000);
	assert_string_equal(engine_api_version(e), "1.43");
	assert_false(engine_negotiate(e, &err));
	assert_string_equal(err.message,
			    "docker_api_version 1.43 is newer than the engine's API 1.29");
	engine_destroy(e);
}

static void test_lazy_negotiation_and_info(void **state)
{
	static const struct fake_route routes[] = {
	    VERSION_141,
	    {"GET /v1.41/info ", "200 OK",
	     "{\"ServerVersion\":\"20.10.24\",\"Swarm\":{\"NodeID\":\"node1\","
	     "\"LocalNodeState\":\"active\",\"ControlAvailable\":true}}",
	     NULL, NULL, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	struct engine_info info;
	fake_start(f, routes);
	struct engine *e = engine_for(f, NULL, 2000);
	assert_true(engine_info(e, &info, &err));
	assert_string_equal(info.node_id, "node1");
	assert_string_equal(info.swarm_state, "active");
	assert_true(info.is_manager);
	assert_string_equal(info.server_version, "20.10.24");
	assert_true(engine_info(e, &info, &err));
	char *reqs = fake_requests(f);
	assert_int_equal(count(reqs, "GET /version HTTP/1.1\r\n"), 1);
	assert_int_equal(count(reqs, "GET /v1.41/info HTTP/1.1\r\n"), 2);
	free(reqs);
	engine_destroy(e);
}

static void test_create(void **state)
{
	static const struct fake_route routes[] = {
	    VERSION_141,
	    {"POST /v1.41/services/create ", "201 Created",
	     "{\"ID\":\"svc1\",\"Warnings\":[\"unable to pin image\"]}", NULL, NULL, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 2000);
	json_t *spec = json_pack("{s:s, s:{s:s}}", "Name", "x", "Labels", "k", "v\xc3\xa9");
	char *id = NULL;
	assert_true(engine_service_create(e, spec, &id, &err));
	assert_string_equal(id, "svc1");
	char *reqs = fake_requests(f);
	const char *post = strstr(reqs, "POST /v1.41/services/create HTTP/1.1\r\n");
	assert_non_null(post);
	assert_non_null(strstr(post, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(post, "\r\nContent-Length: 33\r\n"));
	assert_null(strstr(post, "Expect:"));
	assert_non_null(
	    strstr(post, "\r\n\r\n{\"Name\":\"x\",\"Labels\":{\"k\":\"v\xc3\xa9\"}}\n===="));
	free(reqs);
	free(id);
	json_decref(spec);
	engine_destroy(e);
}

#define BODY_300                                                                                   \
	"<html>0123456789012345678901234567890123456789012345678901234567890123456789"             \
	"0123456789012345678901234567890123456789012345678901234567890123456789"                   \
	"01234567890123456789012345678901234567890123456789\t0123456789012345678"                  \
	"0123456789012345678901234567890123456789012345678901234567890123456789</html>"

static void test_http_errors(void **state)
{
	static const struct fake_route routes[] = {
	    VERSION_141,
	    {"POST /v1.41/services/create ", "409 Conflict",
	     "{\"message\":\"rpc error: code = AlreadyExists desc = name conflicts\"}\n", NULL,
	     NULL, 0},
	    {"DELETE /v1.41/services/html ", "500 Internal Server Error", BODY_300, NULL, NULL, 0},
	    {"DELETE /v1.41/services/empty ", "502 Bad Gateway", "", NULL, NULL, 0},
	    {"DELETE /v1.41/services/gone ", "404 Not Found",
	     "{\"message\":\"service gone not found\"}", NULL, NULL, 0},
	    {"DELETE /v1.41/services/a%2Fb ", "200 OK", "", NULL, NULL, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 2000);
	json_t *spec = json_object();
	char *id = NULL;
	assert_false(engine_service_create(e, spec, &id, &err));
	assert_null(id);
	assert_int_equal(err.kind, ENGINE_ERR_HTTP);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.message, "rpc error: code = AlreadyExists desc = name conflicts");
	assert_string_equal(engine_err_kind_name(err.kind), "http");
	/* Not JSON: the first 200 bytes, control characters blanked. */
	assert_false(engine_service_remove(e, "html", &err));
	assert_int_equal(err.status, 500);
	assert_int_equal(strlen(err.message), 200);
	assert_memory_equal(err.message, BODY_300, 196);
	assert_int_equal(err.message[196], ' ');
	assert_memory_equal(err.message + 197, &BODY_300[197], 3);
	assert_false(engine_service_remove(e, "empty", &err));
	assert_int_equal(err.status, 502);
	assert_string_equal(err.message, "HTTP 502 with an empty body");
	/* 404 is success for a removal; the id is escaped in the path; err may be NULL. */
	assert_true(engine_service_remove(e, "gone", NULL));
	assert_true(engine_service_remove(e, "a/b", &err));
	json_decref(spec);
	engine_destroy(e);
}

static void test_bad_bodies(void **state)
{
	static const struct fake_route routes[] = {
	    VERSION_141,
	    {"GET /v1.41/info ", "200 OK", "{\"ServerVersion\": ", NULL, NULL, 0},
	    {"GET /v1.41/services ", "200 OK", "{}", NULL, NULL, 0},
	    {"POST /v1.41/services/create ", "201 Created", "{\"Warnings\":null}", NULL, NULL, 0},
	    {"GET /v1.41/tasks?", NULL, NULL,
	     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"ID\":", NULL, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	struct engine_info info;
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 2000);
	assert_false(engine_info(e, &info, &err));
	assert_int_equal(err.kind, ENGINE_ERR_PROTOCOL);
	assert_true(str_has_prefix(err.message, "GET /info: invalid JSON: "));
	json_t *out = NULL;
	assert_false(engine_services_list(e, NULL, 0, &out, &err));
	assert_null(out);
	assert_int_equal(err.kind, ENGINE_ERR_PROTOCOL);
	assert_string_equal(err.message, "GET /services: expected a JSON array");
	json_t *spec = json_object();
	char *id = NULL;
	assert_false(engine_service_create(e, spec, &id, &err));
	assert_string_equal(err.message, "POST /services/create: no ID in the answer");
	/* Content-Length 100, 7 bytes, then the connection closes: a short read is an error. */
	const char *ids[] = {"s1"};
	assert_false(engine_tasks_list(e, ids, 1, &out, &err));
	assert_int_equal(err.kind, ENGINE_ERR_PROTOCOL);
	assert_int_equal(err.status, 0);
	assert_non_null(strstr(err.message, "93 bytes remaining"));
	json_decref(spec);
	engine_destroy(e);
}

/* 65 MiB of JSON-ish bytes, chunked, without a Content-Length. */
static void gen_huge_chunked(int fd)
{
	char *chunk = xmalloc(1024 * 1024);
	memset(chunk, ' ', 1024 * 1024);
	bool ok = true;
	for (int i = 0; ok && i < 65; i++)
		ok = fake_write(fd, "100000\r\n", 8) && fake_write(fd, chunk, 1024 * 1024) &&
		     fake_write(fd, "\r\n", 2);
	if (ok)
		fake_write(fd, "0\r\n\r\n", 5);
	free(chunk);
}

static void test_too_big(void **state)
{
	static const struct fake_route routes[] = {
	    {"GET /v1.41/info ", NULL, NULL, "HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n{",
	     NULL, 0},
	    {"GET /v1.41/services", NULL, NULL,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", gen_huge_chunked, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	struct engine_info info;
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 10000);
	assert_false(engine_info(e, &info, &err));
	assert_int_equal(err.kind, ENGINE_ERR_TOO_BIG);
	assert_string_equal(err.message, "response body over 67108864 bytes");
	json_t *out = NULL;
	assert_false(engine_services_list(e, NULL, 0, &out, &err));
	assert_int_equal(err.kind, ENGINE_ERR_TOO_BIG);
	assert_string_equal(err.message, "response body over 67108864 bytes");
	assert_string_equal(engine_err_kind_name(err.kind), "too_big");
	engine_destroy(e);
}

static void test_timeout(void **state)
{
	static const struct fake_route routes[] = {VERSION_141, END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	struct engine_info info;
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 300);
	int64_t t0 = time_mono_ms();
	assert_false(engine_info(e, &info, &err));
	int64_t ms = time_mono_ms() - t0;
	assert_int_equal(err.kind, ENGINE_ERR_TIMEOUT);
	assert_true(ms >= 290 && ms < 2000);
	assert_string_equal(engine_err_kind_name(err.kind), "timeout");
	engine_destroy(e);
}

/* The cancel check of test_cancel: true from a given monotonic time on. */
static bool cancel_after(void *ctx)
{
	return time_mono_ms() >= *(const int64_t *)ctx;
}

/* A request the engine never answers ends soon after cancel says stop, long before its
 * timeout, as ENGINE_ERR_CANCELLED; the next request on the same client works again. */
static void test_cancel(void **state)
{
	static const struct fake_route routes[] = {VERSION_141, END_ROUTES};
	struct fake *f = *state;
	fake_start(f, routes);
	char *host = xasprintf("unix://%s", fake_engine_socket(f->fe));
	int64_t at = time_mono_ms() + 300;
	struct engine_opts opts = {.host = host,
				   .api_version = "1.41",
				   .timeout_ms = 20000,
				   .cancel = cancel_after,
				   .cancel_ctx = &at};
	char *cerr = NULL;
	struct engine *e = engine_create(&opts, &cerr);
	assert_non_null(e);
	struct engine_err err = {0};
	struct engine_info info;
	int64_t t0 = time_mono_ms();
	assert_false(engine_info(e, &info, &err)); /* /info is never answered */
	int64_t ms = time_mono_ms() - t0;
	assert_int_equal(err.kind, ENGINE_ERR_CANCELLED);
	assert_string_equal(engine_err_kind_name(err.kind), "cancelled");
	assert_true(ms >= 290 && ms < 3000);
	at = INT64_MAX; /* no longer stopping */
	assert_true(engine_negotiate(e, &err));
	engine_destroy(e);
	free(host);
}

#define LOGS_HEAD                                                                                  \
	"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"           \
	"Connection: close\r\n\r\n"

#define LOGS_OK LOGS_HEAD "\1\0\0\0\0\0\0\4out\n\2\0\0\0\0\0\0\0\2\0\0\0\0\0\0\4err\n"
#define LOGS_SHORT LOGS_HEAD "\1\0\0\0\0\0\0\10part"
#define LOGS_BAD LOGS_HEAD "\1\0\0\0\0\0\0\1x\7\0\0\0\0\0\0\1y"

/* More than ENGINE_MAX_LOG: frames of 64 KiB of one letter each, 'a' to 'z' in turn. */
static void gen_huge_logs(int fd)
{
	const size_t frame = 64 * 1024;
	char *payload = xmalloc(frame);
	bool ok = true;
	for (size_t i = 0; ok && i * frame < ENGINE_MAX_LOG + 3 * frame; i++) {
		unsigned char h[8] = {(unsigned char)(1 + i % 2), 0, 0, 0, 0, 1, 0, 0};
		memset(payload, 'a' + (int)(i % 26), frame);
		ok = fake_write(fd, h, 8) && fake_write(fd, payload, frame);
	}
	free(payload);
}

static void test_logs(void **state)
{
	static const struct fake_route routes[] = {
	    VERSION_141,
	    {"/services/ok/logs", NULL, NULL, LOGS_OK, NULL, sizeof(LOGS_OK) - 1},
	    {"/services/tty/logs", NULL, NULL, LOGS_HEAD "\3raw\n", NULL, 0},
	    {"/services/short/logs", NULL, NULL, LOGS_SHORT, NULL, sizeof(LOGS_SHORT) - 1},
	    {"/services/bad/logs", NULL, NULL, LOGS_BAD, NULL, sizeof(LOGS_BAD) - 1},
	    {"/services/none/logs", "404 Not Found", "{\"message\":\"service none not found\"}",
	     NULL, NULL, 0},
	    {"/services/huge/logs", NULL, NULL, LOGS_HEAD, gen_huge_logs, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	struct buf out;
	buf_init(&out, 0);
	buf_append(&out, "pre|", 4);
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 10000);
	assert_true(engine_service_logs(e, "ok", false, &out, &err));
	assert_string_equal(out.data, "pre|out\nerr\n");
	assert_true(engine_service_logs(e, "tty", true, &out, &err));
	assert_string_equal(out.data, "pre|out\nerr\n\3raw\n");
	assert_false(engine_service_logs(e, "short", false, &out, &err));
	assert_int_equal(err.kind, ENGINE_ERR_PROTOCOL);
	assert_string_equal(err.message, "the log stream ended inside a frame");
	assert_false(engine_service_logs(e, "bad", false, &out, &err));
	assert_int_equal(err.kind, ENGINE_ERR_PROTOCOL);
	assert_string_equal(err.message, "malformed log stream (bad frame header)");
	assert_false(engine_service_logs(e, "none", false, &out, &err));
	assert_int_equal(err.kind, ENGINE_ERR_HTTP);
	assert_int_equal(err.status, 404);
	assert_string_equal(err.message, "service none not found");
	assert_string_equal(out.data, "pre|out\nerr\n\3raw\n");
	char *reqs = fake_requests(f);
	assert_non_null(strstr(reqs, "GET /v1.41/services/ok/logs?stdout=1&stderr=1&follow=0&"
				     "timestamps=0 HTTP/1.1\r\n"));
	free(reqs);
	/* Over the cap: the head is kept, then a note. */
	buf_reset(&out);
	assert_true(engine_service_logs(e, "huge", false, &out, &err));
	const char note[] = "\n[swarmflow: log truncated at 16777216 bytes]\n";
	assert_int_equal(out.len, ENGINE_MAX_LOG + strlen(note));
	assert_int_equal(out.data[0], 'a');
	assert_int_equal(out.data[64 * 1024], 'b');
	assert_int_equal(out.data[ENGINE_MAX_LOG - 1], 'a' + (256 - 1) % 26);
	assert_string_equal(out.data + ENGINE_MAX_LOG, note);
	buf_finish(&out);
	engine_destroy(e);
}

static void test_tasks_drop_gone(void **state)
{
	static const struct fake_route routes[] = {
	    VERSION_141,
	    {"gone", "404 Not Found", "{\"message\":\"service gone1 not found\"}", NULL, NULL, 0},
	    {"GET /v1.41/tasks?filters=%7B%22service%22%3A%5B%22live1%22%5D%7D ", "200 OK",
	     "[{\"ID\":\"t1\",\"ServiceID\":\"live1\"}]", NULL, NULL, 0},
	    {"other", "404 Not Found", "{\"message\":\"no such thing\"}", NULL, NULL, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 2000);
	json_t *out = NULL;
	const char *ids[] = {"gone1", "live1"};
	assert_true(engine_tasks_list(e, ids, 2, &out, &err));
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "ID")), "t1");
	json_decref(out);
	char *reqs = fake_requests(f);
	assert_int_equal(count(reqs, "GET /v1.41/tasks?"), 2);
	assert_non_null(strstr(reqs, "GET /v1.41/tasks?filters=%7B%22service%22%3A%5B%22gone1%22"
				     "%2C%22live1%22%5D%7D HTTP/1.1\r\n"));
	free(reqs);
	/* All gone: an empty array. Another 404: an error. None: no request. */
	assert_true(engine_tasks_list(e, ids, 1, &out, &err));
	assert_true(json_is_array(out));
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	const char *other[] = {"other"};
	assert_false(engine_tasks_list(e, other, 1, &out, &err));
	assert_null(out);
	assert_int_equal(err.status, 404);
	assert_string_equal(err.message, "no such thing");
	assert_true(engine_tasks_list(e, NULL, 0, &out, &err));
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	reqs = fake_requests(f);
	assert_int_equal(count(reqs, "GET /v1.41/tasks?"), 4);
	free(reqs);
	engine_destroy(e);
}

static void test_services_filter(void **state)
{
	static const struct fake_route routes[] = {
	    {"GET /v1.41/services?filters=%7B%22label%22%3A%5B%22swarmflow.managed%3Dtrue%22%2C"
	     "%22swarmflow.instance%3Dprod%20a%22%5D%7D ",
	     "200 OK", "[{\"ID\":\"s1\"}]", NULL, NULL, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 2000);
	json_t *out = NULL;
	const char *labels[] = {"swarmflow.managed=true", "swarmflow.instance=prod a"};
	assert_true(engine_services_list(e, labels, 2, &out, &err));
	assert_int_equal(json_array_size(out), 1);
	json_decref(out);
	const char *bad[] = {"label=\xff"};
	assert_false(engine_services_list(e, bad, 1, &out, &err));
	assert_int_equal(err.kind, ENGINE_ERR_PROTOCOL);
	assert_string_equal(err.message, "GET /services: a label filter value is not valid UTF-8");
	engine_destroy(e);
}

static void test_secret_config_lookup(void **state)
{
	static const struct fake_route routes[] = {
	    {"GET /v1.41/secrets?filters=%7B%22name%22%3A%5B%22db%22%5D%7D ", "200 OK",
	     "[{\"ID\":\"id-long\",\"Spec\":{\"Name\":\"db_old\"}},"
	     "{\"ID\":\"id-db\",\"Spec\":{\"Name\":\"db\"}}]",
	     NULL, NULL, 0},
	    {"GET /v1.41/secrets?", "200 OK",
	     "[{\"ID\":\"id-long\",\"Spec\":{\"Name\":\"db_old\"}}]", NULL, NULL, 0},
	    {"GET /v1.41/configs?", "503 Service Unavailable",
	     "{\"message\":\"This node is not a swarm manager.\"}", NULL, NULL, 0},
	    END_ROUTES};
	struct fake *f = *state;
	struct engine_err err = {0};
	fake_start(f, routes);
	struct engine *e = engine_for(f, "1.41", 2000);
	char *id = NULL;
	assert_true(engine_secret_id(e, "db", &id, &err));
	assert_string_equal(id, "id-db");
	free(id);
	id = NULL;
	assert_false(engine_secret_id(e, "db_", &id, &err));
	assert_null(id);
	assert_int_equal(err.kind, ENGINE_ERR_HTTP);
	assert_int_equal(err.status, 404);
	assert_string_equal(err.message, "secret 'db_' not found");
	assert_false(engine_config_id(e, "conf", &id, &err));
	assert_int_equal(err.status, 503);
	assert_string_equal(err.message, "This node is not a swarm manager.");
	engine_destroy(e);
}

/* The fake's simulated swarm through the real client: the scheduler tests rely on it. */
static void test_simulated_swarm(void **state)
{
	static const struct fake_step steps[] = {FAKE_PENDING, FAKE_RUNNING,
						 FAKE_EXIT(3, "task: non-zero exit (3)")};
	static const struct fake_script boom = {"exit 3", steps, ARRAY_LEN(steps), "one\ntwo\n"};
	struct fake *f = *state;
	struct fake_engine_opts opts = {.swarm = true};
	f->fe = fake_engine_create(&opts);
	assert_non_null(f->fe);
	fake_engine_script(f->fe, &boom);
	struct engine *e = engine_for(f, "auto", 2000);
	struct engine_err err = {0};
	struct engine_info info;
	assert_true(engine_info(e, &info, &err));
	assert_string_equal(engine_api_version(e), "1.41");
	assert_string_equal(info.swarm_state, "active");
	assert_true(info.is_manager);
	json_t *spec =
	    json_pack("{s:s, s:{s:s, s:s}, s:{s:{s:s, s:[sss]}}}", "Name", "sf_boom", "Labels",
		      "swarmflow.task_id", "boom", "swarmflow.instance", "x", "TaskTemplate",
		      "ContainerSpec", "Image", "busybox", "Args", "/bin/sh", "-c", "exit 3");
	char *id = NULL, *id2 = NULL;
	assert_true(engine_service_create(e, spec, &id, &err));
	assert_false(engine_service_create(e, spec, &id2, &err));
	assert_int_equal(err.status, 409);
	assert_non_null(strstr(err.message, "name conflicts with an existing object"));
	json_object_set_new(spec, "Name", json_string("sf_other"));
	json_object_set_new(json_object_get(spec, "Labels"), "swarmflow.task_id",
			    json_string("other"));
	json_array_set_new(
	    json_object_get(json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"),
			    "Args"),
	    2, json_string("true"));
	assert_true(engine_service_create(e, spec, &id2, &err));
	/* One step per GET /tasks, the last one repeating; the default script ends complete. */
	const char *ids[] = {id, id2};
	const char *expect[] = {"pending", "running", "failed", "failed"};
	const char *expect2[] = {"pending", "running", "complete", "complete"};
	struct task_status st;
	for (size_t i = 0; i < ARRAY_LEN(expect); i++) {
		json_t *tasks = NULL;
		assert_true(engine_tasks_list(e, ids, 2, &tasks, &err));
		assert_int_equal(json_array_size(tasks), 2);
		assert_true(task_status_pick(tasks, id2, &st));
		assert_string_equal(st.state, expect2[i]);
		assert_true(task_status_pick(tasks, id, &st));
		assert_string_equal(st.state, expect[i]);
		json_decref(tasks);
	}
	assert_true(st.has_exit_code);
	assert_int_equal(st.exit_code, 3);
	assert_string_equal(st.err, "task: non-zero exit (3)");
	json_t *list = NULL;
	const char *labels[] = {"swarmflow.task_id=boom", "swarmflow.instance"};
	assert_true(engine_services_list(e, labels, 2, &list, &err));
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "ID")), id);
	json_decref(list);
	struct buf out;
	buf_init(&out, 0);
	assert_true(engine_service_logs(e, id, false, &out, &err));
	assert_string_equal(out.data, "one\ntwo\n");
	/* Removed: the engine's 404 for the whole GET /tasks, then the survivor alone. */
	assert_true(engine_service_remove(e, id, &err));
	json_t *tasks = NULL;
	assert_true(engine_tasks_list(e, ids, 2, &tasks, &err));
	assert_int_equal(json_array_size(tasks), 1);
	json_decref(tasks);
	assert_false(engine_service_logs(e, id, false, &out, &err));
	assert_int_equal(err.status, 404);
	char *sid = fake_engine_named_add(f->fe, "secrets", "db"), *got = NULL;
	assert_true(engine_secret_id(e, "db", &got, &err));
	assert_string_equal(got, sid);
	/* What was recorded. */
	assert_int_equal(fake_engine_count(f->fe, 0, "GET", "/tasks"), 6);
	assert_int_equal(fake_engine_count(f->fe, 0, "POST", "/v1.41/services/create"), 3);
	assert_int_equal(fake_engine_count(f->fe, 0, "DELETE", NULL), 1);
	struct fake_request req;
	assert_true(fake_engine_request_get(f->fe, 5, &req));
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/v1.41/tasks");
	char *q = xasprintf("filters={\"service\":[\"%s\",\"%s\"]}", id, id2);
	assert_string_equal(req.query, q);
	fake_request_finish(&req);
	struct fake_service svcs[4];
	assert_int_equal(fake_engine_services(f->fe, svcs, 4), 2);
	assert_true(svcs[0].removed);
	assert_string_equal(svcs[0].task_id, "boom");
	assert_int_equal(svcs[0].polls, 4);
	assert_int_equal(svcs[1].polls, 5);
	assert_int_equal(fake_engine_live(f->fe), 1);
	assert_int_equal(fake_engine_max_live(f->fe), 2);
	free(q);
	free(sid);
	free(got);
	buf_finish(&out);
	free(id);
	free(id2);
	json_decref(spec);
	engine_destroy(e);
}

static void expect_bad_opts(const char *host, const char *api, const char *certs,
			    const char *message)
{
	struct engine_opts opts = {.host = host, .api_version = api, .cert_path = certs};
	char *err = NULL;
	assert_null(engine_create(&opts, &err));
	assert_non_null(err);
	assert_string_equal(err, message);
	free(err);
}

static void test_bad_opts(void **state)
{
	expect_bad_opts("ssh://me@host", NULL, NULL,
			"unsupported docker host \"ssh://me@host\": use unix:///path or "
			"tcp://host:port");
	expect_bad_opts("npipe:////./pipe/docker_engine", NULL, NULL,
			"unsupported docker host \"npipe:////./pipe/docker_engine\": use "
			"unix:///path or tcp://host:port");
	expect_bad_opts("unix://", NULL, NULL,
			"docker host \"unix://\": the socket path must be absolute");
	expect_bad_opts("unix://run/docker.sock", NULL, NULL,
			"docker host \"unix://run/docker.sock\": the socket path must be absolute");
	expect_bad_opts("tcp://", NULL, NULL, "docker host \"tcp://\": expected tcp://host:port");
	expect_bad_opts("tcp://h:0", NULL, NULL,
			"docker host \"tcp://h:0\": expected tcp://host:port");
	expect_bad_opts("tcp://h:99999", NULL, NULL,
			"docker host \"tcp://h:99999\": expected tcp://host:port");
	expect_bad_opts("tcp://h:-1", NULL, NULL,
			"docker host \"tcp://h:-1\": expected tcp://host:port");
	expect_bad_opts("tcp://a:1:2", NULL, NULL,
			"docker host \"tcp://a:1:2\": expected tcp://host:port");
	expect_bad_opts("tcp://u@h:1", NULL, NULL,
			"docker host \"tcp://u@h:1\": expected tcp://host:port");
	expect_bad_opts("tcp://h:1/api", NULL, NULL,
			"docker host \"tcp://h:1/api\": a path is not allowed");
	expect_bad_opts("tcp://h:2376", NULL, "/nonexistent/certs",
			"TLS file /nonexistent/certs/ca.pem is not readable");
	expect_bad_opts(NULL, "1.x", NULL,
			"invalid docker_api_version \"1.x\": expected \"auto\" or e.g. \"1.41\"");
	expect_bad_opts(
	    NULL, "1.41.0", NULL,
	    "invalid docker_api_version \"1.41.0\": expected \"auto\" or e.g. \"1.41\"");
	expect_bad_opts(NULL, "1.29", NULL,
			"docker_api_version 1.29 is older than 1.30, the oldest supported");
	const char *good[] = {NULL,
			      "",
			      "unix:///var/run/docker.sock",
			      "tcp://127.0.0.1:2375",
			      "tcp://docker.example",
			      "tcp://[::1]",
			      "tcp://[::1]:2376/"};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		struct engine_opts opts = {.host = good[i], .api_version = "1.41"};
		char *err = NULL;
		struct engine *e = engine_create(&opts, &err);
		assert_non_null(e);
		assert_null(err);
		assert_string_equal(engine_api_version(e), "1.41");
		engine_destroy(e);
	}
	engine_destroy(NULL);
	assert_string_equal(engine_err_kind_name(ENGINE_OK), "ok");
	assert_string_equal(engine_err_kind_name((enum engine_err_kind)42), "unknown");
}

static void test_connect_refused(void **state)
{
	struct engine_opts opts = {.host = "tcp://127.0.0.1:1", .api_version = "1.41"};
	char *e_err = NULL;
	struct engine *e = engine_create(&opts, &e_err);
	struct engine_err err = {0};
	struct engine_info info;
	assert_non_null(e);
	int64_t t0 = time_mono_ms();
	assert_false(engine_info(e, &info, &err));
	assert_true(time_mono_ms() - t0 < 1000);
	assert_int_equal(err.kind, ENGINE_ERR_CONNECT);
	assert_true(str_has_prefix(err.message, "cannot connect to tcp://127.0.0.1:1: "));
	assert_string_equal(engine_err_kind_name(err.kind), "connect");
	engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_negotiate_newer, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_negotiate_old, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_lazy_negotiation_and_info, fake_setup,
					    fake_teardown),
	    cmocka_unit_test_setup_teardown(test_create, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_http_errors, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_bodies, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_too_big, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_logs, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_tasks_drop_gone, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_services_filter, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_secret_config_lookup, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_simulated_swarm, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_opts, fake_setup, fake_teardown),
	    cmocka_unit_test_setup_teardown(test_connect_refused, fake_setup, fake_teardown),
	};
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
