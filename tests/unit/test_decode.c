/* test_decode.c - decoding the engine's task objects and picking the one of a service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/engine/decode.h"
#include "swarmflow/sched/sched.h"

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);
	if (!v)
		fail_msg("bad test JSON: %s", jerr.text);
	return v;
}

static void test_failed_task(void **state)
{
	(void)state;
	json_t *t = load("{\"ID\":\"t1\",\"ServiceID\":\"s1\",\"NodeID\":\"n1\","
			 "\"Version\":{\"Index\":42},\"Status\":{\"State\":\"failed\","
			 "\"Message\":\"started\",\"Err\":\"task: non-zero exit (3)\","
			 "\"ContainerStatus\":{\"ContainerID\":\"c1\",\"ExitCode\":3}}}");
	struct task_status st;
	char *err = NULL;
	assert_true(task_status_decode(t, &st, &err));
	assert_string_equal(st.id, "t1");
	assert_string_equal(st.service_id, "s1");
	assert_string_equal(st.node_id, "n1");
	assert_string_equal(st.state, "failed");
	assert_int_equal(st.phase, PHASE_FAILED);
	assert_true(st.has_exit_code);
	assert_int_equal(st.exit_code, 3);
	assert_int_equal(st.version, 42);
	char *why = sched_failure_reason(&st);
	assert_string_equal(why, "failed: task: non-zero exit (3)");
	free(why);
	json_decref(t);
}

static void test_phases(void **state)
{
	(void)state;
	static const struct {
		const char *state;
		enum task_phase phase;
	} table[] = {
	    {"new", PHASE_PENDING},       {"pending", PHASE_PENDING},  {"assigned", PHASE_PENDING},
	    {"preparing", PHASE_PENDING}, {"starting", PHASE_PENDING}, {"running", PHASE_RUNNING},
	    {"complete", PHASE_COMPLETE}, {"rejected", PHASE_FAILED},  {"shutdown", PHASE_FAILED},
	    {"orphaned", PHASE_FAILED},   {"remove", PHASE_FAILED},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		json_t *t = json_pack("{s:s, s:{s:s}}", "ServiceID", "s", "Status", "State",
				      table[i].state);
		struct task_status st;
		char *err = NULL;
		assert_true(task_status_decode(t, &st, &err));
		assert_int_equal(st.phase, table[i].phase);
		assert_false(st.has_exit_code);
		json_decref(t);
	}
}

/* A rejected task never had a container: the engine's ExitCode 0 means nothing. */
static void test_no_container_no_exit_code(void **state)
{
	(void)state;
	json_t *t = load("{\"ServiceID\":\"s\",\"Status\":{\"State\":\"rejected\","
			 "\"Err\":\"No such image: x\",\"ContainerStatus\":{\"ExitCode\":0}}}");
	struct task_status st;
	char *err = NULL;
	assert_true(task_status_decode(t, &st, &err));
	assert_false(st.has_exit_code);
	json_decref(t);
	t = load("{\"ServiceID\":\"s\",\"Status\":{\"State\":\"complete\","
		 "\"ContainerStatus\":{\"ContainerID\":\"abc\",\"ExitCode\":0}}}");
	assert_true(task_status_decode(t, &st, &err));
	assert_true(st.has_exit_code);
	assert_int_equal(st.exit_code, 0);
	json_decref(t);
	/* A failed task whose container is gone (dockerd restarted under it): ExitCode 0 is no
	 * exit, the error says what happened; a real non-zero exit of a shut-down task stays. */
	t = load("{\"ServiceID\":\"s\",\"Status\":{\"State\":\"failed\","
		 "\"Err\":\"No such container: x.1.abc\","
		 "\"ContainerStatus\":{\"ContainerID\":\"abc\",\"ExitCode\":0}}}");
	assert_true(task_status_decode(t, &st, &err));
	assert_false(st.has_exit_code);
	json_decref(t);
	t = load("{\"ServiceID\":\"s\",\"Status\":{\"State\":\"shutdown\","
		 "\"ContainerStatus\":{\"ContainerID\":\"abc\",\"ExitCode\":143}}}");
	assert_true(task_status_decode(t, &st, &err));
	assert_true(st.has_exit_code);
	assert_int_equal(st.exit_code, 143);
	json_decref(t);
}

static void test_bad_tasks(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "[]",
	    "{}",
	    "{\"ServiceID\":\"s\"}",
	    "{\"ServiceID\":1,\"Status\":{\"State\":\"running\"}}",
	    "{\"ServiceID\":\"s\",\"Status\":{\"State\":\"exploded\"}}",
	    "{\"ServiceID\":\"s\",\"Status\":\"running\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *t = load(bad[i]);
		struct task_status st;
		char *err = NULL;
		assert_false(task_status_decode(t, &st, &err));
		assert_non_null(err);
		free(err);
		json_decref(t);
	}
}

static void test_pick(void **state)
{
	(void)state;
	json_t *tasks = load(
	    "[{\"ServiceID\":\"a\",\"Version\":{\"Index\":5},\"Status\":{\"State\":\"failed\"}},"
	    " {\"ServiceID\":\"a\",\"Version\":{\"Index\":3},\"Status\":{\"State\":\"running\"}},"
	    " {\"ServiceID\":\"b\",\"Version\":{\"Index\":9},\"Status\":{\"State\":\"rejected\"}},"
	    " {\"ServiceID\":\"b\",\"Version\":{\"Index\":12},\"Status\":{\"State\":\"complete\"}},"
	    " {\"ServiceID\":\"c\",\"Status\":{\"State\":\"bogus\"}}]");
	struct task_status st;
	assert_true(task_status_pick(tasks, "a", &st));
	assert_string_equal(st.state, "running"); /* a live task wins */
	assert_true(task_status_pick(tasks, "b", &st));
	assert_string_equal(st.state, "complete");       /* else the newest */
	assert_false(task_status_pick(tasks, "c", &st)); /* undecodable: skipped */
	assert_false(task_status_pick(tasks, "zzz", &st));
	json_decref(tasks);
}

static void test_reason_fallbacks(void **state)
{
	(void)state;
	struct task_status st = {0};
	snprintf(st.state, sizeof(st.state), "shutdown");
	char *why = sched_failure_reason(&st);
	assert_string_equal(why, "shutdown");
	free(why);
	snprintf(st.message, sizeof(st.message), "removed by user");
	why = sched_failure_reason(&st);
	assert_string_equal(why, "shutdown: removed by user");
	free(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failed_task),
	    cmocka_unit_test(test_phases),
	    cmocka_unit_test(test_no_container_no_exit_code),
	    cmocka_unit_test(test_bad_tasks),
	    cmocka_unit_test(test_pick),
	    cmocka_unit_test(test_reason_fallbacks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
