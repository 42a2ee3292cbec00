/* test_sched_data.c - data between tasks against the fake engine: outputs read from the logs
 * into the next task's spec, a mapped task's instances adopted by their own labels after a
 * crash, branches, and a try whose logs cannot be read yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched_env.h"
#include "swarmflow/common/util.h"

#define LIST_TASK "  task list {\n    shell = \"list\"\n    output = \"marked\"\n  }\n"
#define EACH_TASK                                                                                  \
	"  task each {\n    upstream = {list}\n    expand = \"{{ upstream.list.output }}\"\n"      \
	"    shell = \"echo {{ item }}\"\n    output = \"last_line\"\n  }\n"
#define SUM_TASK                                                                                   \
	"  task sum {\n    upstream = {each}\n"                                                    \
	"    command = {\"echo\", \"{{ upstream.each.outputs_json }}\"}\n  }\n"

static void script_logs(struct env *env, const char *key, const char *log)
{
	static const struct fake_step steps[] = {FAKE_RUNNING, FAKE_COMPLETE};
	struct fake_script sc = {key, steps, ARRAY_LEN(steps), log};
	fake_engine_script(env->fe, &sc);
}

/* The task instances of the run, each with its current try's output. */
static void list_tis(struct env *env, struct ti_list *tis)
{
	char *err = NULL;
	if (!store_tis_for_run_outputs(env->store, env->run.id, tis, &err))
		fail_msg("store: %s", err);
}

/* The body of the last POST /services/create whose spec names this service label task_id. */
static char *create_body_of(struct env *env, const char *needle)
{
	char *found = NULL;
	size_t n = fake_engine_request_count(env->fe);
	for (size_t i = 0; i < n; i++) {
		struct fake_request r;
		if (!fake_engine_request_get(env->fe, i, &r))
			continue;
		if (strcmp(r.method, "POST") == 0 && str_has_suffix(r.path, "/services/create") &&
		    strstr(r.body, needle)) {
			free(found);
			found = xstrdup(r.body);
		}
		fake_request_finish(&r);
	}
	return found;
}

/* list prints three marked values; each is expanded over them; sum reads their outputs. */
static void test_outputs_flow_into_specs(void **state)
{
	struct env *env = *state;
	script_logs(env, "list", "noise\n::output:: a\n::output:: b\n::output:: c\n");
	script_logs(env, "each", "{\"n\": 1}\n");
	env_start(env, LIST_TASK EACH_TASK SUM_TASK);
	env_run_to_end(env, 40, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	struct ti_list tis = {0};
	list_tis(env, &tis);
	assert_int_equal(tis.len, 5);
	assert_string_equal(tis.v[0].output, "a\nb\nc");
	for (int i = 0; i < 3; i++) {
		assert_string_equal(tis.v[1 + i].task_id, "each");
		assert_int_equal(tis.v[1 + i].map_index, i);
		assert_string_equal(tis.v[1 + i].output, "{\"n\": 1}");
	}
	ti_list_finish(&tis);
	/* Each instance's spec carries its element and its map index label. */
	char *body = create_body_of(env, "\"swarmflow.map_index\":\"1\"");
	assert_non_null(body);
	assert_non_null(strstr(body, "\"echo b\""));
	free(body);
	body = create_body_of(env, "\"swarmflow.task_id\":\"sum\"");
	assert_non_null(body);
	assert_non_null(strstr(body, "[{\\\"n\\\":1},{\\\"n\\\":1},{\\\"n\\\":1}]"));
	free(body);
}

/* A scheduler died after the engine created the service of instance 1 but before it recorded
 * the service's id, while instances 0 and 2 (same task, same try) had services too: the
 * restarted scheduler's create answers 409 and it adopts instance 1's own service, found by its
 * map_index label, not a sibling's; no instance runs twice. */
static void test_mapped_instance_adopted_by_its_label(void **state)
{
	struct env *env = *state;
	static const struct fake_step slow[] = {FAKE_PENDING, FAKE_RUNNING, FAKE_RUNNING,
						FAKE_RUNNING, FAKE_COMPLETE};
	struct fake_script sc = {"each", slow, ARRAY_LEN(slow), "done\n"};
	fake_engine_script(env->fe, &sc);
	script_logs(env, "list", "::output:: a\n::output:: b\n::output:: c\n");
	env_start(env, LIST_TASK EACH_TASK);
	struct ti_list tis = {0};
	for (int i = 0; i < 20; i++) {
		env_tick(env, 500);
		list_tis(env, &tis);
		bool all = tis.len == 4;
		for (size_t k = 1; all && k < tis.len; k++)
			all = tis.v[k].service_id != NULL;
		if (all)
			break;
		ti_list_finish(&tis);
	}
	assert_int_equal(tis.len, 4);
	struct ti *one = &tis.v[2];
	assert_int_equal(one->map_index, 1);
	char *svc = xstrdup(one->service_id);
	free(one->service_id);
	one->service_id = NULL; /* as if the crash came before the id was recorded */
	char *err = NULL;
	if (!store_ti_update(env->store, one, &err))
		fail_msg("store: %s", err);
	ti_list_finish(&tis);
	size_t creates = env_count_from(env, 0, "POST", "/services/create");
	assert_int_equal(creates, 4);

	env_restart(env);
	env_run_to_end(env, 40, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	list_tis(env, &tis);
	assert_string_equal(tis.v[2].service_id, svc);
	for (size_t k = 1; k < tis.len; k++)
		assert_int_equal(tis.v[k].try_number, 1);
	ti_list_finish(&tis);
	/* One more create (answered 409), and still four services in all. */
	assert_int_equal(env_count_from(env, 0, "POST", "/services/create"), 5);
	struct fake_service svcs[8];
	assert_int_equal(fake_engine_services(env->fe, svcs, ARRAY_LEN(svcs)), 4);
	free(svc);
}

/* A branch runs the task its output names and skips the other; a bad name fails the branch. */
static void test_branch(void **state)
{
	struct env *env = *state;
	script_logs(env, "pick", "thinking\nright\n");
	env_start(env, "  task pick {\n    branch = true\n    shell = \"pick\"\n  }\n"
		       "  task left {\n    upstream = {pick}\n    shell = \"left\"\n  }\n"
		       "  task right {\n    upstream = {pick}\n    shell = \"right\"\n  }\n");
	env_run_to_end(env, 20, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	assert_int_equal(env_ti_state_of(env, "left"), TI_SKIPPED);
	assert_int_equal(env_ti_state_of(env, "right"), TI_SUCCESS);
	assert_int_equal(env_count_query(env, "POST", "/services/create", "left"), 0);
}

/* Logs that cannot be fetched keep a try that reads an output in flight: it is asked again, and
 * succeeds with its output once the engine gives them. It never succeeds without one. */
static void test_output_waits_for_the_logs(void **state)
{
	struct env *env = *state;
	script_logs(env, "solo", "the answer\n");
	fake_engine_fault(env->fe, "/logs", "500 Internal Server Error",
			  "{\"message\": \"logs unavailable\"}", 3);
	env_start(env, "  task solo {\n    shell = \"solo\"\n    output = \"last_line\"\n  }\n");
	env_run_to_end(env, 20, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	struct ti_list tis = {0};
	list_tis(env, &tis);
	assert_string_equal(tis.v[0].output, "the answer");
	assert_int_equal(tis.v[0].try_number, 1);
	ti_list_finish(&tis);
	assert_int_equal(env_count_from(env, 0, "GET", "/logs"), 4);
}

/* Runs one task that reads no output, its log `log`, with the engine's log requests failed
 * `times` times with status and body; the run must succeed. Returns the try's stored log
 * (caller frees). */
static char *plain_task_log(struct env *env, const char *log, const char *status, const char *body,
			    int times)
{
	script_logs(env, "plain", log);
	fake_engine_fault(env->fe, "/logs", status, body, times);
	env_start(env, "  task plain {\n    shell = \"plain\"\n  }\n");
	env_run_to_end(env, 20, 500);
	assert_int_equal(env_run_state_of(env), RUN_SUCCESS);
	struct ti_list tis = {0};
	list_tis(env, &tis);
	assert_non_null(tis.v[0].log_path);
	char *text = env_read_text(tis.v[0].log_path);
	ti_list_finish(&tis);
	return text;
}

/* The log of a try that reads no output, when the engine fails it for a while (the failover
 * case: "incomplete log stream ... node is not available"): asked again until it comes, and
 * kept whole, not replaced by a note of the failure. */
static void test_log_waits_for_a_passing_failure(void **state)
{
	struct env *env = *state;
	char *log = plain_task_log(env, "line one\nline two\n", "503 Service Unavailable",
				   "{\"message\": \"node x is not available\"}", 2);
	assert_int_equal(env_count_from(env, 0, "GET", "/logs"), 3);
	assert_non_null(strstr(log, "line one\nline two\n"));
	assert_null(strstr(log, "could not fetch the logs"));
	free(log);
}

/* A failure that will not pass (a logging driver that cannot be read: 501) is not waited for:
 * the try ends at once, its log a note of why. */
static void test_log_not_waited_for_a_lasting_failure(void **state)
{
	struct env *env = *state;
	char *log = plain_task_log(
	    env, "line one\n", "501 Not Implemented",
	    "{\"message\": \"configured logging driver does not support reading\"}", -1);
	assert_int_equal(env_count_from(env, 0, "GET", "/logs"), 1);
	assert_non_null(strstr(log, "could not fetch the logs"));
	assert_non_null(strstr(log, "does not support reading"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_outputs_flow_into_specs, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_mapped_instance_adopted_by_its_label, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_branch, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_output_waits_for_the_logs, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_log_waits_for_a_passing_failure, env_setup,
					    env_teardown),
	    cmocka_unit_test_setup_teardown(test_log_not_waited_for_a_lasting_failure, env_setup,
					    env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
