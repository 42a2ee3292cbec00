/* test_engine_live.c - the engine client against the real Docker Engine in swarm mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/engine/engine.h"
#include "swarmflow/engine/transport.h"

#define IMAGE "swarmflow-test/busybox:latest"
#define LABEL_KEY "swarmflow.test.run"
#define POLL_LIMIT_MS 60000
#define LATENCY_ROUNDS 20

struct live {
	struct engine *e;
	char uniq[64];     /* unique per run: names and the label value */
	char label[128];   /* LABEL_KEY=uniq */
	struct strv owned; /* services to remove at the end, whatever happens */
};

/* Monotonic milliseconds with microsecond resolution, for the latency report. */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct engine *live_engine(const char *host, long timeout_ms)
{
	struct engine_opts opts = {.host = host, .api_version = "auto", .timeout_ms = timeout_ms};
	char *err = NULL;
	struct engine *e = engine_create(&opts, &err);
	if (!e)
		fail_msg("engine_create: %s", err);
	return e;
}

static int setup(void **state)
{
	struct live *l = calloc(1, sizeof(*l));
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	l->e = live_engine(getenv("DOCKER_HOST"), 30000);
	snprintf(l->uniq, sizeof(l->uniq), "sftest-%ld-%llx", (long)getpid(),
		 (unsigned long long)time_now_ms());
	snprintf(l->label, sizeof(l->label), "%s=%s", LABEL_KEY, l->uniq);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	struct live *l = *state;
	for (size_t i = 0; i < l->owned.len; i++) {
		struct engine_err err = {0};
		if (!engine_service_remove(l->e, l->owned.v[i], &err))
			fprintf(stderr, "cleanup of %s failed: %s\n", l->owned.v[i], err.message);
	}
	strv_finish(&l->owned);
	engine_destroy(l->e);
	curl_global_cleanup();
	free(l);
	return 0;
}

/* A one-shot job spec with our label; the caller decrefs. */
static json_t *job_spec(const struct live *l, const char *name, const char *script)
{
	json_t *spec =
	    json_pack("{s:s, s:{s:s}, s:{s:{s:s, s:[s,s,s], s:{s:s}}, s:{s:s}}, s:{s:{s:i, s:i}}}",
		      "Name", name, "Labels", LABEL_KEY, l->uniq, "TaskTemplate", "ContainerSpec",
		      "Image", IMAGE, "Args", "/bin/sh", "-c", script, "Labels", LABEL_KEY, l->uniq,
		      "RestartPolicy", "Condition", "none", "Mode", "ReplicatedJob",
		      "MaxConcurrent", 1, "TotalCompletions", 1);
	assert_non_null(spec);
	return spec;
}

static bool terminal(const char *state)
{
	static const char *const states[] = {"complete", "failed",   "rejected",
					     "shutdown", "orphaned", "remove"};
	for (size_t i = 0; i < ARRAY_LEN(states); i++)
		if (state && strcmp(state, states[i]) == 0)
			return true;
	return false;
}

/* Polls until the service's one task is terminal; returns it (caller decrefs). */
static json_t *wait_terminal(struct live *l, const char *id, int64_t *polls)
{
	int64_t deadline = time_mono_ms() + POLL_LIMIT_MS;
	while (time_mono_ms() < deadline) {
		json_t *tasks = NULL;
		struct engine_err err = {0};
		const char *ids[] = {id};
		if (!engine_tasks_list(l->e, ids, 1, &tasks, &err))
			fail_msg("tasks_list: %s", err.message);
		(*polls)++;
		json_t *t = json_array_get(tasks, 0);
		const char *st =
		    json_string_value(json_object_get(json_object_get(t, "Status"), "State"));
		if (json_array_size(tasks) == 1 && terminal(st)) {
			json_incref(t);
			json_decref(tasks);
			return t;
		}
		json_decref(tasks);
		usleep(100 * 1000);
	}
	fail_msg("task of %s not terminal after %d ms", id, POLL_LIMIT_MS);
	return NULL;
}

static void assert_no_services(struct live *l)
{
	json_t *list = NULL;
	struct engine_err err = {0};
	const char *labels[] = {l->label, "swarmflow.test.none"};
	assert_true(engine_services_list(l->e, labels, 1, &list, &err));
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	/* Two labels are ANDed: nothing has the second one. */
	assert_true(engine_services_list(l->e, labels, 2, &list, &err));
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

static void test_negotiate_and_info(void **state)
{
	struct live *l = *state;
	struct engine_err err = {0};
	struct engine_info info;
	assert_string_equal(engine_api_version(l->e), "");
	assert_true(engine_negotiate(l->e, &err));
	assert_true(engine_api_at_least(l->e, 1, 30));
	assert_false(engine_api_at_least(l->e, 1, 44));
	assert_true(engine_info(l->e, &info, &err));
	assert_string_equal(info.swarm_state, "active");
	assert_true(info.is_manager);
	assert_int_equal(strlen(info.node_id), 25);
	if (strncmp(info.server_version, "20.10.", 6) == 0) {
		assert_string_equal(engine_api_version(l->e), "1.41");
		assert_true(engine_api_at_least(l->e, 1, 41));
		assert_false(engine_api_at_least(l->e, 1, 42));
	}
	printf("engine %s, API %s, node %s\n", info.server_version, engine_api_version(l->e),
	       info.node_id);
}

static void check_failed_task(json_t *task, const char *id)
{
	json_t *status = json_object_get(task, "Status");
	assert_string_equal(json_string_value(json_object_get(task, "ServiceID")), id);
	assert_string_equal(json_string_value(json_object_get(status, "State")), "failed");
	assert_string_equal(json_string_value(json_object_get(status, "Err")),
			    "task: non-zero exit (3)");
	json_t *code = json_object_get(json_object_get(status, "ContainerStatus"), "ExitCode");
	assert_true(json_is_integer(code));
	assert_int_equal(json_integer_value(code), 3);
}

static void check_logs(struct live *l, const char *id)
{
	struct buf logs;
	struct engine_err err = {0};
	buf_init(&logs, 0);
	assert_true(buf_append(&logs, "pre:", 4));
	if (!engine_service_logs(l->e, id, false, &logs, &err))
		fail_msg("logs: %s: %s", engine_err_kind_name(err.kind), err.message);
	/* stdout and stderr may come in either order. */
	assert_int_equal(logs.len, 12);
	assert_true(strcmp(logs.data, "pre:out\nerr\n") == 0 ||
		    strcmp(logs.data, "pre:err\nout\n") == 0);
	buf_finish(&logs);
}

/* One tasks request for our service and one that no longer exists: the gone one is dropped. */
static void check_gone_dropped(struct live *l, const char *id)
{
	const char *ids[] = {"swarmflowtestgone00000000", id};
	json_t *tasks = NULL;
	struct engine_err err = {0};
	assert_true(engine_tasks_list(l->e, ids, 2, &tasks, &err));
	assert_int_equal(json_array_size(tasks), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(tasks, 0), "ServiceID")), id);
	json_decref(tasks);
}

static void measure_tasks(struct live *l, const char *id)
{
	const char *ids[] = {id};
	double start = now_ms();
	for (int i = 0; i < LATENCY_ROUNDS; i++) {
		json_t *tasks = NULL;
		struct engine_err err = {0};
		assert_true(engine_tasks_list(l->e, ids, 1, &tasks, &err));
		json_decref(tasks);
	}
	printf("latency: tasks_list %.2f ms (mean of %d)\n", (now_ms() - start) / LATENCY_ROUNDS,
	       LATENCY_ROUNDS);
}

static void test_job_lifecycle(void **state)
{
	struct live *l = *state;
	struct engine_err err = {0};
	char *name = xasprintf("%s-job", l->uniq);
	json_t *spec = job_spec(l, name, "echo out; echo err >&2; exit 3");
	char *id = NULL;
	double t0 = now_ms();
	if (!engine_service_create(l->e, spec, &id, &err))
		fail_msg("create: %s", err.message);
	double t_create = now_ms() - t0;
	strv_push(&l->owned, id);
	assert_int_equal(strlen(id), 25);
	int64_t polls = 0;
	t0 = now_ms();
	json_t *task = wait_terminal(l, id, &polls);
	printf("task terminal after %.0f ms (%lld polls)\n", now_ms() - t0, (long long)polls);
	check_failed_task(task, id);
	json_decref(task);
	t0 = now_ms();
	check_logs(l, id);
	printf("latency: logs %.2f ms\n", now_ms() - t0);
	check_gone_dropped(l, id);
	measure_tasks(l, id);
	t0 = now_ms();
	assert_true(engine_service_remove(l->e, id, &err));
	printf("latency: create %.2f ms, remove %.2f ms\n", t_create, now_ms() - t0);
	assert_no_services(l);
	assert_true(engine_service_remove(l->e, id, &err)); /* 404: already gone */
	json_decref(spec);
	free(id);
	free(name);
}

static void test_invalid_spec(void **state)
{
	struct live *l = *state;
	struct engine_err err = {0};
	char *name = xasprintf("%s bad name!", l->uniq);
	json_t *spec = job_spec(l, name, "true");
	char *id = NULL;
	assert_false(engine_service_create(l->e, spec, &id, &err));
	assert_null(id);
	assert_int_equal(err.kind, ENGINE_ERR_HTTP);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "name must be valid as a DNS name component"));
	assert_no_services(l);
	json_decref(spec);
	free(name);
}

static void test_lookup_missing(void **state)
{
	struct live *l = *state;
	struct engine_err err = {0};
	char *id = NULL;
	char *name = xasprintf("%s-missing", l->uniq);
	char *expect = xasprintf("secret '%s' not found", name);
	assert_false(engine_secret_id(l->e, name, &id, &err));
	assert_null(id);
	assert_int_equal(err.kind, ENGINE_ERR_HTTP);
	assert_int_equal(err.status, 404);
	assert_string_equal(err.message, expect);
	free(expect);
	expect = xasprintf("config '%s' not found", name);
	assert_false(engine_config_id(l->e, name, &id, &err));
	assert_int_equal(err.status, 404);
	assert_string_equal(err.message, expect);
	free(expect);
	free(name);
}

/* Creates a secret or config with the raw transport; returns its ID (caller frees). */
static char *object_create(struct transport *t, const char *kind, const char *name)
{
	struct buf b;
	struct engine_err err = {0};
	buf_init(&b, 0);
	json_t *body = json_pack("{s:s, s:s}", "Name", name, "Data", "eA==");
	char *text = json_dumps(body, JSON_COMPACT);
	char *path = xasprintf("/v1.30/%ss/create", kind);
	if (!transport_request(t, "POST", path, text, &b, &err))
		fail_msg("create %s %s: %s", kind, name, err.message);
	json_t *r = json_loadb(b.data, b.len, 0, NULL);
	char *id = xstrdup(json_string_value(json_object_get(r, "ID")));
	assert_non_null(id);
	json_decref(r);
	json_decref(body);
	free(text);
	free(path);
	buf_finish(&b);
	return id;
}

static void object_remove(struct transport *t, const char *kind, const char *id)
{
	struct buf b;
	struct engine_err err = {0};
	buf_init(&b, 0);
	char *path = xasprintf("/v1.30/%ss/%s", kind, id);
	assert_true(transport_request(t, "DELETE", path, NULL, &b, &err));
	free(path);
	buf_finish(&b);
}

static bool lookup(struct live *l, bool secret, const char *name, char **id, struct engine_err *err)
{
	return secret ? engine_secret_id(l->e, name, id, err)
		      : engine_config_id(l->e, name, id, err);
}

/* The engine's name filter is a prefix match: only the exact name may be returned. */
static void check_exact_lookup(struct live *l, struct transport *t, const char *kind)
{
	bool secret = strcmp(kind, "secret") == 0;
	char *exact = xasprintf("%s-%s", l->uniq, kind);
	char *longer = xasprintf("%s-longer", exact);
	char *prefix = xstrndup(exact, strlen(exact) - 1);
	char *id_longer = object_create(t, kind, longer);
	char *id_exact = object_create(t, kind, exact);
	char *id = NULL, *id_prefix = NULL;
	struct engine_err err = {0}, err_prefix = {0};
	bool ok = lookup(l, secret, exact, &id, &err);
	bool ok_prefix = lookup(l, secret, prefix, &id_prefix, &err_prefix);
	object_remove(t, kind, id_exact);
	object_remove(t, kind, id_longer);
	assert_true(ok);
	assert_string_equal(id, id_exact);
	assert_false(ok_prefix);
	assert_null(id_prefix);
	assert_int_equal(err_prefix.kind, ENGINE_ERR_HTTP);
	assert_int_equal(err_prefix.status, 404);
	char *expect = xasprintf("%s '%s' not found", kind, prefix);
	assert_string_equal(err_prefix.message, expect);
	free(expect);
	free(id);
	free(id_exact);
	free(id_longer);
	free(exact);
	free(longer);
	free(prefix);
}

static void test_lookup_exact(void **state)
{
	struct live *l = *state;
	struct engine_opts opts = {.host = getenv("DOCKER_HOST")};
	char *err = NULL;
	struct transport *t = transport_create(&opts, &err);
	assert_non_null(t);
	check_exact_lookup(l, t, "secret");
	check_exact_lookup(l, t, "config");
	transport_destroy(t);
}

static void test_bad_socket(void **state)
{
	struct engine_err err = {0};
	struct engine_info info;
	char *host = xasprintf("unix:///tmp/swarmflow-no-such-%ld.sock", (long)getpid());
	struct engine *e = live_engine(host, 2000);
	int64_t t0 = time_mono_ms();
	assert_false(engine_negotiate(e, &err));
	int64_t ms = time_mono_ms() - t0;
	assert_int_equal(err.kind, ENGINE_ERR_CONNECT);
	assert_int_equal(err.status, 0);
	assert_true(err.message[0] != '\0');
	assert_true(ms < 500);
	/* A versioned call negotiates first and fails the same way. */
	assert_false(engine_info(e, &info, &err));
	assert_int_equal(err.kind, ENGINE_ERR_CONNECT);
	printf("bad socket: %s after %lld ms\n", err.message, (long long)ms);
	engine_destroy(e);
	free(host);
}

#define MANY 10

/* A service that runs nothing (0 replicas), for create/remove tests. */
static json_t *idle_spec(const struct live *l, const char *name)
{
	json_t *spec = json_pack("{s:s, s:{s:s}, s:{s:{s:s}}, s:{s:{s:i}}}", "Name", name, "Labels",
				 LABEL_KEY, l->uniq, "TaskTemplate", "ContainerSpec", "Image",
				 IMAGE, "Mode", "Replicated", "Replicas", 0);
	assert_non_null(spec);
	return spec;
}

/* Creates and removes made at once: each gets its own outcome (one bad name fails alone, a
 * service already gone counts as removed), and nothing is left. */
static void test_many(void **state)
{
	struct live *l = *state;
	struct engine_create c[MANY] = {{0}};
	char *names[MANY];
	for (int i = 0; i < MANY; i++) {
		names[i] = i == 3 ? xasprintf("%s bad name!", l->uniq)
				  : xasprintf("%s-many-%d", l->uniq, i);
		c[i].spec = idle_spec(l, names[i]);
	}
	double t0 = now_ms();
	engine_services_create_many(l->e, c, MANY);
	printf("latency: %d creates at once %.2f ms\n", MANY, now_ms() - t0);
	const char *ids[MANY + 1];
	size_t n = 0;
	for (int i = 0; i < MANY; i++) {
		if (i == 3) {
			assert_false(c[i].ok);
			assert_null(c[i].id);
			assert_int_equal(c[i].err.status, 400);
			continue;
		}
		if (!c[i].ok)
			fail_msg("create %d: %s", i, c[i].err.message);
		strv_push(&l->owned, c[i].id);
		ids[n++] = c[i].id;
	}
	ids[n++] = "no-such-service-of-swarmflow";
	bool ok[MANY + 1];
	struct engine_err errs[MANY + 1];
	t0 = now_ms();
	engine_services_remove_many(l->e, ids, n, ok, errs);
	printf("latency: %zu removes at once %.2f ms\n", n, now_ms() - t0);
	for (size_t i = 0; i < n; i++)
		if (!ok[i])
			fail_msg("remove %s: %s", ids[i], errs[i].message);
	assert_no_services(l);
	for (int i = 0; i < MANY; i++) {
		free(c[i].id);
		json_decref(c[i].spec);
		free(names[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiate_and_info),
	    cmocka_unit_test(test_job_lifecycle),
	    cmocka_unit_test(test_invalid_spec),
	    cmocka_unit_test(test_lookup_missing),
	    cmocka_unit_test(test_lookup_exact),
	    cmocka_unit_test(test_bad_socket),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
