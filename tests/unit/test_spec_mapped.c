/* test_spec_mapped.c - the service names and spec of a mapped task's instances: Swarm's name
 * rules and 63 characters, one name per map index, and the swarmflow.map_index label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/spec.h"

#define RUN_ID "manual__2026-11-01"
/* The most instances one expand may make (max_map_length's upper bound in dag_parse.c). */
#define MAX_INSTANCES 100000

/* The name rule of Swarm's API (daemon/cluster/convert: ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$),
 * in POSIX ERE, and its length limit. */
static bool swarm_name_ok(const char *s)
{
	regex_t re;
	assert_int_equal(
	    regcomp(&re, "^[a-zA-Z0-9]([-_]*[A-Za-z0-9]+)*$", REG_EXTENDED | REG_NOSUB), 0);
	bool ok = regexec(&re, s, 0, NULL, 0) == 0 && strlen(s) <= SPEC_NAME_MAX;
	regfree(&re);
	return ok;
}

static void name_of(const char *dag, const char *task, int try_number, int index,
		    char out[static SPEC_NAME_MAX + 1])
{
	spec_service_name_mapped("swarmflow", "prod", dag, RUN_ID, task, try_number, index, out);
	if (!swarm_name_ok(out))
		fail_msg("'%s' is not a valid Swarm service name", out);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Asserts that the n names (each SPEC_NAME_MAX + 1 bytes) are all different. */
static void assert_distinct(char (*names)[SPEC_NAME_MAX + 1], size_t n)
{
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			fail_msg("two instances are both named '%s'", names[i]);
}

/* --- names --- */

static void test_name_shape(void **state)
{
	(void)state;
	char name[SPEC_NAME_MAX + 1], plain[SPEC_NAME_MAX + 1];
	name_of("etl", "load", 1, 3, name);
	assert_string_equal(name, "swarmflow_etl_load-3_9f6ed222");
	name_of("etl", "load", 1, 0, name);
	assert_memory_equal(name, "swarmflow_etl_load-0_", 21);
	assert_int_equal(strlen(name), 29);
	/* -1: not mapped, the name spec_service_name gives (names of other tasks unchanged). */
	name_of("etl", "load", 1, -1, name);
	spec_service_name("swarmflow", "prod", "etl", RUN_ID, "load", 1, plain);
	assert_string_equal(name, plain);
	assert_string_equal(name, "swarmflow_etl_load_975628e1");
	/* Instance 0 is not the unmapped task, in its readable part and in its hash. */
	name_of("etl", "load", 1, 0, plain);
	assert_string_not_equal(name + strlen(name) - 8, plain + strlen(plain) - 8);
}

static void test_name_deterministic(void **state)
{
	(void)state;
	char a[SPEC_NAME_MAX + 1], b[SPEC_NAME_MAX + 1];
	name_of("etl", "load", 2, 7, a);
	name_of("etl", "load", 2, 7, b);
	assert_string_equal(a, b);
	name_of("etl", "load", 3, 7, b); /* another try of the instance */
	assert_string_not_equal(a, b);
	spec_service_name_mapped("swarmflow", "prod", "etl", "other_run", "load", 2, 7, b);
	assert_string_not_equal(a, b);
	spec_service_name_mapped("swarmflow", "test", "etl", RUN_ID, "load", 2, 7, b);
	assert_string_not_equal(a, b);
	/* Task "t-1" unmapped and instance 1 of task "t" read alike but hash apart. */
	name_of("d", "t-1", 1, -1, a);
	name_of("d", "t", 1, 1, b);
	assert_memory_equal(a, b, strlen(a) - 8);
	assert_string_not_equal(a, b);
	/* The index is a part of its own in the hash: (try 1, index 23) is not (12, 3). */
	name_of("d", "t", 1, 23, a);
	name_of("d", "t", 12, 3, b);
	assert_string_not_equal(a + strlen(a) - 8, b + strlen(b) - 8);
}

/* Every instance of a task of readable length gets its own name, index in view. */
static void test_name_unique_per_index(void **state)
{
	(void)state;
	size_t n = 2048;
	char(*names)[SPEC_NAME_MAX + 1] = xcalloc(n, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		name_of("etl", "load", 1, (int)i, names[i]);
		char *want = xasprintf("swarmflow_etl_load-%zu_", i);
		assert_memory_equal(names[i], want, strlen(want));
		free(want);
	}
	assert_distinct(names, n);
	free(names);
}

/* A name cut to 63 characters loses its index, not its uniqueness: the hash holds it. */
static void test_name_long_cut(void **state)
{
	(void)state;
	char dag[201];
	memset(dag, 'd', 200);
	dag[200] = '\0';
	size_t n = 1024; /* TASK_DEFAULT_MAX_MAP_LENGTH */
	char(*names)[SPEC_NAME_MAX + 1] = xcalloc(n + 2, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		name_of(dag, "task", 1, (int)i, names[i]);
		assert_int_equal(strlen(names[i]), SPEC_NAME_MAX);
		assert_memory_equal(names[i],
				    "swarmflow_dddddddddddddddddddddddddddddddddddddddddddd_", 55);
	}
	name_of(dag, "task", 1, -1, names[n]);
	name_of(dag, "task", 1, MAX_INSTANCES - 1, names[n + 1]);
	assert_distinct(names, n + 2);
	free(names);
}

/* The index is cut wherever the limit falls in it; the name stays valid. */
static void test_name_index_at_the_cut(void **state)
{
	(void)state;
	char name[SPEC_NAME_MAX + 1];
	/* "swarmflow_" (10) + dag + "_t-" + index: the 54 readable characters end in the index,
	 * on its '-' or after it. */
	for (size_t dlen = 36; dlen <= 44; dlen++) {
		char dag[64];
		memset(dag, 'a', dlen);
		dag[dlen] = '\0';
		for (int index = 0; index < MAX_INSTANCES; index = index * 10 + 9) {
			name_of(dag, "t", 1, index, name);
			size_t whole = 10 + dlen + 3 + (size_t)snprintf(NULL, 0, "%d", index);
			size_t kept = whole < 54 ? whole : 54;
			assert_int_equal(strlen(name), kept + 9);
			assert_int_equal(name[kept], '_');
		}
	}
	/* The largest int index fits the buffer the name is built in. */
	name_of("etl", "load", 1, INT_MAX, name);
	assert_memory_equal(name, "swarmflow_etl_load-2147483647_", 30);
	assert_int_equal(strlen(name), 38);
}

static void test_name_odd_ids(void **state)
{
	(void)state;
	char name[SPEC_NAME_MAX + 1];
	spec_service_name_mapped("my.flow", "prod", "etl.v2", RUN_ID, "a.b", 1, 5, name);
	assert_memory_equal(name, "my-flow_etl-v2_a-b-5_", 21);
	assert_true(swarm_name_ok(name));
	spec_service_name_mapped("", NULL, "_x", RUN_ID, "-", 1, 12, name);
	assert_memory_equal(name, "x_--12_", 7);
	assert_true(swarm_name_ok(name));
	spec_service_name_mapped(NULL, NULL, NULL, NULL, NULL, 0, 0, name);
	assert_memory_equal(name, "swarmflow__-0_", 14);
	assert_true(swarm_name_ok(name));
}

/* --- the spec --- */

struct fixture {
	struct dag dag;
	struct task task;
	struct template_ctx tctx;
	struct spec_input in;
	json_t *item;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dag.dag_id = "etl";
	f->task.task_id = "load";
	f->task.image = "busybox:1.36";
	f->task.mapped = true;
	strv_push(&f->task.command, "echo");
	strv_push(&f->task.command, "{{ item }}#{{ map_index }}");
	strv_push(&f->task.labels, "region={{ item }}");
	f->item = json_string("eu");
	f->tctx = (struct template_ctx){
	    .run_id = RUN_ID,
	    .dag_id = "etl",
	    .task_id = "load",
	    .try_number = 1,
	    .item = f->item,
	    .map_index = 4,
	};
	f->in = (struct spec_input){
	    .dag = &f->dag,
	    .task = &f->task,
	    .tctx = &f->tctx,
	    .instance = "prod",
	    .service_prefix = "swarmflow",
	    .job_mode = true,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	strv_finish(&f->task.command);
	strv_finish(&f->task.labels);
	json_decref(f->item);
	free(f);
	return 0;
}

static json_t *build(const struct fixture *f)
{
	char *err = NULL;
	json_t *spec = spec_build(&f->in, &err);
	if (!spec)
		fail_msg("spec_build: %s", err);
	return spec;
}

static const char *label(const json_t *spec, bool container, const char *key)
{
	const json_t *obj =
	    container ? json_object_get(
			    json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"),
			    "Labels")
		      : json_object_get(spec, "Labels");
	return json_string_value(json_object_get(obj, key));
}

static void test_spec_instance(void **state)
{
	struct fixture *f = *state;
	json_t *spec = build(f);
	char want[SPEC_NAME_MAX + 1];
	name_of("etl", "load", 1, 4, want);
	assert_string_equal(json_string_value(json_object_get(spec, "Name")), want);
	for (int c = 0; c <= 1; c++) {
		assert_string_equal(label(spec, c, "swarmflow.map_index"), "4");
		assert_string_equal(label(spec, c, "swarmflow.task_id"), "load");
		assert_string_equal(label(spec, c, "region"), "eu");
	}
	json_t *args = json_object_get(
	    json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"), "Args");
	assert_string_equal(json_string_value(json_array_get(args, 1)), "eu#4");
	json_decref(spec);

	/* Instance 0 is labelled too; a JSON element is rendered as JSON. */
	json_decref(f->item);
	f->item = json_pack("{si}", "n", 1);
	f->tctx.item = f->item;
	f->tctx.map_index = 0;
	spec = build(f);
	assert_string_equal(label(spec, false, "swarmflow.map_index"), "0");
	assert_string_equal(label(spec, true, "region"), "{\"n\":1}");
	name_of("etl", "load", 1, 0, want);
	assert_string_equal(json_string_value(json_object_get(spec, "Name")), want);
	json_decref(spec);
}

/* The task's own labels never replace the identity labels, map_index included. */
static void test_spec_label_wins(void **state)
{
	struct fixture *f = *state;
	strv_push(&f->task.labels, "swarmflow.map_index=99");
	json_t *spec = build(f);
	assert_string_equal(label(spec, false, "swarmflow.map_index"), "4");
	assert_string_equal(label(spec, true, "swarmflow.map_index"), "4");
	json_decref(spec);
}

/* Without an item (an unmapped task, or `dags show --spec`): no map_index label and the
 * unmapped name, whatever map_index holds. */
static void test_spec_not_instance(void **state)
{
	struct fixture *f = *state;
	strv_finish(&f->task.command);
	strv_finish(&f->task.labels);
	strv_push(&f->task.command, "{{ item }}");
	f->tctx.item = NULL;
	f->tctx.map_index = 0;
	f->tctx.preview = true;
	json_t *spec = build(f);
	char want[SPEC_NAME_MAX + 1];
	spec_service_name("swarmflow", "prod", "etl", RUN_ID, "load", 1, want);
	assert_string_equal(json_string_value(json_object_get(spec, "Name")), want);
	assert_null(label(spec, false, "swarmflow.map_index"));
	assert_null(label(spec, true, "swarmflow.map_index"));
	assert_non_null(label(spec, false, "swarmflow.task_id"));
	json_t *args = json_object_get(
	    json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"), "Args");
	assert_string_equal(json_string_value(json_array_get(args, 0)), "{{ item }}");
	json_decref(spec);
	/* Not a preview: {{ item }} without an item fails the build, naming the field. */
	f->tctx.preview = false;
	char *err = NULL;
	assert_null(spec_build(&f->in, &err));
	assert_string_equal(err, "task 'load': command: item: this task is not mapped");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_shape),
	    cmocka_unit_test(test_name_deterministic),
	    cmocka_unit_test(test_name_unique_per_index),
	    cmocka_unit_test(test_name_long_cut),
	    cmocka_unit_test(test_name_index_at_the_cut),
	    cmocka_unit_test(test_name_odd_ids),
	    cmocka_unit_test_setup_teardown(test_spec_instance, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spec_label_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spec_not_instance, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
