/* test_control.c - triggering runs and clearing tasks as both `dags trigger`/`tasks clear` and
 * the REST API do it (control.c), on an in-memory store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "swarmflow/store/store_web.h"
#include "swarmflow/web/control.h"

/* a -> b -> c, and a -> side; b retries twice. */
static const char dag_text[] = "dag flow {\n"
			       "  defaults { image = busybox }\n"
			       "  task a { shell = \"true\" }\n"
			       "  task b { upstream = {a}  retries = 2  shell = \"true\" }\n"
			       "  task c { upstream = {b}  shell = \"true\" }\n"
			       "  task side { upstream = {a}  shell = \"true\" }\n"
			       "}\n";

struct fixture {
	struct store *st;
	struct dag_file file;
	const struct dag *dag;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char *err = NULL;
	fx->st = store_open(":memory:", &err);
	assert_non_null(fx->st);
	assert_true(dag_file_parse(dag_text, strlen(dag_text), "flow.dag", &fx->file));
	fx->dag = fx->file.dags[0];
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	dag_file_finish(&fx->file);
	store_close(fx->st);
	free(fx);
	return 0;
}

static enum control_status trigger(struct fixture *fx, const char *run_id, const char *conf,
				   struct run *out, char **err)
{
	json_error_t jerr;
	json_t *c = conf ? json_loads(conf, 0, &jerr) : NULL;
	struct control_trigger t = {.conf = c, .run_id = run_id, .now_ms = 1763750000123};
	enum control_status s = control_run_create(fx->st, fx->dag, &t, out, err);
	json_decref(c);
	return s;
}

static void test_trigger(void **state)
{
	struct fixture *fx = *state;
	struct run run = {0};
	char *err = NULL;
	assert_int_equal(trigger(fx, NULL, "{\"z\": 1, \"a\": \"x\"}", &run, &err), CONTROL_OK);
	assert_string_equal(run.run_id, "manual__2025-11-21T18:33:20Z");
	assert_string_equal(run.run_type, "manual");
	assert_int_equal(run.state, RUN_QUEUED);
	assert_string_equal(run.conf, "{\"a\":\"x\",\"z\":1}"); /* compact, keys sorted */
	assert_int_equal(run.logical_date, 1763750000);
	assert_int_equal(run.queued_ms, 1763750000123);
	assert_null(run.runner);
	struct ti_list tis = {0};
	assert_true(store_tis_for_run(fx->st, run.id, &tis, &err));
	assert_int_equal(tis.len, 4);
	assert_string_equal(tis.v[1].task_id, "b");
	assert_int_equal(tis.v[1].max_tries, 3);
	assert_int_equal(tis.v[0].max_tries, 1);
	ti_list_finish(&tis);
	run_finish(&run);

	/* The same id again: a conflict, and nothing is created. */
	assert_int_equal(trigger(fx, "manual__2025-11-21T18:33:20Z", NULL, NULL, &err),
			 CONTROL_CONFLICT);
	assert_string_equal(err,
			    "run 'manual__2025-11-21T18:33:20Z' already exists for DAG 'flow'");
	free(err);
	err = NULL;
	assert_int_equal(trigger(fx, "bad id", NULL, NULL, &err), CONTROL_INVALID);
	assert_string_equal(err, "run_id: 'bad id' must be 1-250 printable characters without "
				 "spaces or '/'");
	free(err);
	err = NULL;
	assert_int_equal(trigger(fx, "a/b", NULL, NULL, &err), CONTROL_INVALID);
	free(err);
	err = NULL;
	assert_int_equal(trigger(fx, "r2", "[1, 2]", NULL, &err), CONTROL_INVALID);
	assert_string_equal(err, "conf: expected a JSON object like '{\"key\": \"value\"}'");
	free(err);
	err = NULL;
	int64_t total = 0;
	struct run_list runs = {0};
	assert_true(store_runs_page(fx->st, "flow", NULL, 10, 0, &runs, &total, &err));
	assert_int_equal(total, 1);
	run_list_finish(&runs);
}

static void test_conf_parse(void **state)
{
	char *err = NULL;
	json_t *c = control_conf_parse(NULL, &err);
	assert_true(json_is_object(c) && json_object_size(c) == 0);
	json_decref(c);
	assert_null(control_conf_parse("{\"a\": 1, \"a\": 2}", &err));
	assert_non_null(strstr(err, "invalid JSON at column"));
	free(err);
	err = NULL;
	assert_null(control_conf_parse("[\"text\"]", &err));
	assert_string_equal(err, "expected a JSON object like '{\"key\": \"value\"}'");
	free(err);
	assert_true(control_run_id_valid("manual__2026-11-21T18:30:00Z"));
	assert_false(control_run_id_valid(""));
	char long_id[252];
	memset(long_id, 'x', 251);
	long_id[251] = '\0';
	assert_false(control_run_id_valid(long_id));
	long_id[250] = '\0';
	assert_true(control_run_id_valid(long_id));
}

/* Sets the states of the run's task instances (a, b, c, side) and of the run. */
static void set_states(struct fixture *fx, int64_t run_pk, const enum ti_state *states,
		       enum run_state run_state)
{
	struct ti_list tis = {0};
	char *err = NULL;
	assert_true(store_tis_for_run(fx->st, run_pk, &tis, &err));
	for (size_t i = 0; i < tis.len; i++) {
		tis.v[i].state = states[i];
		tis.v[i].try_number = states[i] == TI_UPSTREAM_FAILED ? 0 : 1;
		assert_true(store_ti_update(fx->st, &tis.v[i], &err));
	}
	ti_list_finish(&tis);
	assert_true(store_run_set_state(fx->st, run_pk, run_state, 1000, &err));
}

static enum ti_state state_of(struct fixture *fx, int64_t run_pk, const char *task)
{
	struct ti_list tis = {0};
	char *err = NULL;
	enum ti_state s = TI_REMOVED;
	assert_true(store_tis_for_run(fx->st, run_pk, &tis, &err));
	for (size_t i = 0; i < tis.len; i++)
		if (strcmp(tis.v[i].task_id, task) == 0)
			s = tis.v[i].state;
	ti_list_finish(&tis);
	return s;
}

static void test_clear(void **state)
{
	struct fixture *fx = *state;
	struct run run = {0};
	char *err = NULL;
	assert_int_equal(trigger(fx, "r1", NULL, &run, &err), CONTROL_OK);
	static const enum ti_state failed_run[] = {TI_SUCCESS, TI_FAILED, TI_UPSTREAM_FAILED,
						   TI_SUCCESS};
	set_states(fx, run.id, failed_run, RUN_FAILED);

	/* As `tasks clear DAG RUN`: only the failed ones, and the run goes back to the daemon. */
	struct control_clear req = {.run_id = "r1", .only_failed = true};
	struct control_clear_result res = {0};
	assert_int_equal(control_tasks_clear(fx->st, fx->dag, &req, &res, &err), CONTROL_OK);
	assert_int_equal(res.len, 2);
	assert_string_equal(res.v[0].task_id, "b");
	assert_int_equal(res.v[0].was, TI_FAILED);
	assert_int_equal(res.v[0].try_number, 1);
	assert_string_equal(res.v[1].task_id, "c");
	assert_int_equal(res.v[1].was, TI_UPSTREAM_FAILED);
	assert_true(res.requeued);
	assert_int_equal(res.run_was, RUN_FAILED);
	control_clear_result_finish(&res);
	assert_int_equal(state_of(fx, run.id, "b"), TI_NONE);
	assert_int_equal(state_of(fx, run.id, "a"), TI_SUCCESS);
	struct run after = {0};
	assert_true(store_run_get_by_id(fx->st, run.id, &after, &err));
	assert_int_equal(after.state, RUN_QUEUED);
	run_finish(&after);

	/* Named with downstream: a and everything after it, whatever their state. */
	static const enum ti_state done[] = {TI_SUCCESS, TI_SUCCESS, TI_SUCCESS, TI_SUCCESS};
	set_states(fx, run.id, done, RUN_SUCCESS);
	const char *names[] = {"b"};
	req = (struct control_clear){
	    .run_id = "r1", .tasks = names, .n_tasks = 1, .downstream = true};
	assert_int_equal(control_tasks_clear(fx->st, fx->dag, &req, &res, &err), CONTROL_OK);
	assert_int_equal(res.len, 2); /* b, c: not a, not side */
	assert_string_equal(res.v[0].task_id, "b");
	assert_string_equal(res.v[1].task_id, "c");
	control_clear_result_finish(&res);

	/* only_failed with names: a named task that succeeded is left alone. */
	set_states(fx, run.id, done, RUN_SUCCESS);
	req = (struct control_clear){
	    .run_id = "r1", .tasks = names, .n_tasks = 1, .only_failed = true};
	assert_int_equal(control_tasks_clear(fx->st, fx->dag, &req, &res, &err), CONTROL_OK);
	assert_int_equal(res.len, 0);
	assert_false(res.requeued);
	control_clear_result_finish(&res);
	run_finish(&run);
}

static void test_clear_refused(void **state)
{
	struct fixture *fx = *state;
	struct run run = {0};
	struct control_clear_result res = {0};
	char *err = NULL;
	assert_int_equal(trigger(fx, "r1", NULL, &run, &err), CONTROL_OK);
	static const enum ti_state busy[] = {TI_SUCCESS, TI_RUNNING, TI_NONE, TI_FAILED};
	set_states(fx, run.id, busy, RUN_RUNNING);

	const char *b[] = {"b"}, *nosuch[] = {"nosuch"};
	struct control_clear req = {.run_id = "r1", .tasks = b, .n_tasks = 1};
	assert_int_equal(control_tasks_clear(fx->st, fx->dag, &req, &res, &err), CONTROL_CONFLICT);
	assert_string_equal(err,
			    "cannot clear task 'b': it is running (try 1); wait for it to end, "
			    "then clear it");
	free(err);
	err = NULL;
	/* a clears, but its downstream b runs: refused as a whole, nothing changed. */
	const char *a[] = {"a"};
	req = (struct control_clear){.run_id = "r1", .tasks = a, .n_tasks = 1, .downstream = true};
	assert_int_equal(control_tasks_clear(fx->st, fx->dag, &req, &res, &err), CONTROL_CONFLICT);
	free(err);
	err = NULL;
	assert_int_equal(state_of(fx, run.id, "a"), TI_SUCCESS);
	assert_int_equal(state_of(fx, run.id, "side"), TI_FAILED);

	req = (struct control_clear){.run_id = "r1", .tasks = nosuch, .n_tasks = 1};
	assert_int_equal(control_tasks_clear(fx->st, fx->dag, &req, &res, &err), CONTROL_INVALID);
	assert_string_equal(err, "DAG 'flow' has no task 'nosuch'");
	free(err);
	err = NULL;
	req = (struct control_clear){.run_id = "nope"};
	assert_int_equal(control_tasks_clear(fx->st, fx->dag, &req, &res, &err), CONTROL_NOT_FOUND);
	assert_string_equal(err, "no run 'nope' for DAG 'flow'");
	free(err);
	assert_int_equal(res.len, 0);
	/* A refusal leaves no transaction open: the next write works. */
	err = NULL;
	assert_true(store_dag_set_paused(fx->st, "flow", true, &err));
	run_finish(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_trigger, setup, teardown),
	    cmocka_unit_test(test_conf_parse),
	    cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clear_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
