/* test_events.c - decoding the engine's event lines and splitting the stream into lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/engine/events.h"

/* A die event as Docker Engine 20.10 sends it (GET /events, one line). */
static const char real_die[] =
    "{\"status\":\"die\",\"id\":\"527897005e91\",\"from\":\"swarmflow-test/busybox:latest\","
    "\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"527897005e91\","
    "\"Attributes\":{\"com.docker.swarm.node.id\":\"2kcl0c121a7yvi4jizru41eq1\","
    "\"com.docker.swarm.service.id\":\"wnavoitfihohtnxb84qbgodo0\","
    "\"com.docker.swarm.task.id\":\"sjumumqe7qvrd0xjbrha0j01z\",\"exitCode\":\"137\","
    "\"swarmflow.instance\":\"e2e-12\",\"swarmflow.managed\":\"true\"}},\"scope\":\"local\","
    "\"time\":1796625114,\"timeNano\":1796625114106947236}";

static void test_decode_die(void **state)
{
	(void)state;
	struct engine_event ev;
	char *err = NULL;
	assert_true(engine_event_decode(real_die, strlen(real_die), &ev, &err));
	assert_null(err);
	assert_string_equal(ev.type, "container");
	assert_string_equal(ev.action, "die");
	assert_string_equal(ev.actor_id, "527897005e91");
	assert_string_equal(ev.service_id, "wnavoitfihohtnxb84qbgodo0");
	assert_string_equal(ev.instance, "e2e-12");
	assert_true(ev.has_exit_code);
	assert_int_equal(ev.exit_code, 137);
	assert_int_equal(ev.time_nano, 1796625114106947236LL);
	char since[32];
	engine_event_since(ev.time_nano, since);
	assert_string_equal(since, "1796625114.106947236");
}

static void test_decode_service_and_node(void **state)
{
	(void)state;
	static const char svc[] = "{\"Type\":\"service\",\"Action\":\"remove\",\"Actor\":{\"ID\":"
				  "\"s1\",\"Attributes\":{\"name\":\"x\"}},\"time\":17}";
	struct engine_event ev;
	char *err = NULL;
	assert_true(engine_event_decode(svc, strlen(svc), &ev, &err));
	assert_string_equal(ev.service_id, "s1");
	assert_string_equal(ev.instance, "");
	assert_false(ev.has_exit_code);
	assert_int_equal(ev.time_nano, 17000000000LL);
	static const char node[] = "{\"Type\":\"node\",\"Action\":\"update\"}";
	assert_true(engine_event_decode(node, strlen(node), &ev, &err));
	assert_string_equal(ev.service_id, "");
	assert_string_equal(ev.actor_id, "");
	assert_int_equal(ev.time_nano, 0);
}

static void test_decode_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[1,2]",
	    "{\"Type\":\"container\"}",
	    "{\"Type\":1,\"Action\":\"die\"}",
	    "{\"Type\":\"container\",\"Action\":\"die\"} trailing",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct engine_event ev;
		char *err = NULL;
		assert_false(engine_event_decode(bad[i], strlen(bad[i]), &ev, &err));
		assert_non_null(err);
		assert_non_null(strstr(err, "event: "));
		free(err);
	}
}

static void test_decode_odd_exit_code(void **state)
{
	(void)state;
	static const char *const lines[] = {
	    "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"Attributes\":{\"exitCode\":"
	    "\"x1\"}}}",
	    "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"Attributes\":{\"exitCode\":1}}"
	    "}",
	    "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"Attributes\":{\"exitCode\":"
	    "\"99999999999\"}}}",
	    "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"Attributes\":{\"exitCode\":"
	    "\"1\"}}}",
	};
	for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
		struct engine_event ev;
		char *err = NULL;
		assert_true(engine_event_decode(lines[i], strlen(lines[i]), &ev, &err));
		assert_false(ev.has_exit_code);
	}
}

/* The lines a feed produced, joined with '|'. */
struct seen {
	char text[256];
	int stop_after; /* > 0: fn returns false at that line */
	int n;
};

static bool collect(void *ctx, const char *line, size_t len)
{
	struct seen *s = ctx;
	size_t at = strlen(s->text);
	snprintf(s->text + at, sizeof(s->text) - at, "%s%.*s", at ? "|" : "", (int)len, line);
	return ++s->n != s->stop_after;
}

static void test_lines_split(void **state)
{
	(void)state;
	struct event_lines lb;
	event_lines_init(&lb);
	struct seen s = {0};
	/* a line across three feeds, CRLF, empty lines, and a partial line kept */
	assert_true(event_lines_feed(&lb, "ab", 2, collect, &s));
	assert_true(event_lines_feed(&lb, "c\r\n\n\nd", 6, collect, &s));
	assert_true(event_lines_feed(&lb, "e\nf", 3, collect, &s));
	assert_string_equal(s.text, "abc|de");
	event_lines_reset(&lb); /* a new connection: "f" is forgotten */
	assert_true(event_lines_feed(&lb, "g\n", 2, collect, &s));
	assert_string_equal(s.text, "abc|de|g");
	event_lines_finish(&lb);
}

static void test_lines_too_long(void **state)
{
	(void)state;
	struct event_lines lb;
	event_lines_init(&lb);
	struct seen s = {0};
	char *big = malloc(EVENT_LINE_MAX + 10);
	memset(big, 'x', EVENT_LINE_MAX + 10);
	assert_true(event_lines_feed(&lb, big, EVENT_LINE_MAX / 2, collect, &s));
	assert_true(event_lines_feed(&lb, big, EVENT_LINE_MAX + 10, collect, &s));
	assert_true(event_lines_feed(&lb, "tail\nok\n", 8, collect, &s));
	assert_int_equal(lb.too_long, 1);
	assert_string_equal(s.text, "ok");
	free(big);
	event_lines_finish(&lb);
}

static void test_lines_stop(void **state)
{
	(void)state;
	struct event_lines lb;
	event_lines_init(&lb);
	struct seen s = {.stop_after = 2};
	assert_false(event_lines_feed(&lb, "a\nb\nc\n", 6, collect, &s));
	assert_string_equal(s.text, "a|b");
	event_lines_finish(&lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_die),  cmocka_unit_test(test_decode_service_and_node),
	    cmocka_unit_test(test_decode_bad),  cmocka_unit_test(test_decode_odd_exit_code),
	    cmocka_unit_test(test_lines_split), cmocka_unit_test(test_lines_too_long),
	    cmocka_unit_test(test_lines_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
