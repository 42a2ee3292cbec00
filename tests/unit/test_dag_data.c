/* test_dag_data.c - dag_data_validate through the parser: upstream references, item and
 * map_index, branch, short_circuit, expand and max_map_length, ref_idx and sc_idx. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "swarmflow/core/dag.h"

/* Every DAG text below starts with these two lines: its tasks are on line 3 and after. */
#define HEAD "dag d {\n  defaults { image = \"busybox\" }\n"

static bool parse(const char *text, struct dag_file *out)
{
	*out = (struct dag_file){0};
	return dag_file_parse(text, strlen(text), "t.dag", out);
}

/* Prints what the parse found, to tell why an assertion failed. */
static void print_errors(const struct dag_file *f)
{
	for (size_t i = 0; i < f->errors.len; i++)
		print_error("  %s:%d: %s\n", f->errors.v[i].file, f->errors.v[i].line,
			    f->errors.v[i].message);
}

/* Parses text, which must be valid; the caller finishes f. */
static const struct dag *parse_ok(const char *text, struct dag_file *f)
{
	if (!parse(text, f)) {
		print_errors(f);
		fail_msg("the DAG text has errors:\n%s", text);
	}
	assert_int_equal(f->n_dags, 1);
	return f->dags[0];
}

/* Parses text, which must fail with exactly the n errors want ("FILE:LINE: message"). */
static void parse_fails(const char *text, const char *const *want, size_t n)
{
	struct dag_file f;
	assert_false(parse(text, &f));
	assert_int_equal(f.n_dags, 0);
	if (f.errors.len != n) {
		print_errors(&f);
		fail_msg("%zu errors, want %zu, for:\n%s", f.errors.len, n, text);
	}
	for (size_t i = 0; i < n; i++) {
		char *got = xasprintf("%s:%d: %s", f.errors.v[i].file, f.errors.v[i].line,
				      f.errors.v[i].message);
		assert_string_equal(got, want[i]);
		free(got);
	}
	dag_file_finish(&f);
}

#define PARSE_FAILS(text, ...)                                                                     \
	do {                                                                                       \
		static const char *const want_[] = {__VA_ARGS__};                                  \
		parse_fails((text), want_, ARRAY_LEN(want_));                                      \
	} while (0)

/* The ids of the tasks at idx (n of them), as "a,b,c". */
static char *ids(const struct dag *d, const size_t *idx, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "," : "", d->tasks[idx[i]].task_id);
	return buf_steal(&b);
}

static void assert_refs(const struct dag *d, const char *task, const char *want)
{
	const struct task *t = dag_task_find(d, task);
	assert_non_null(t);
	char *got = ids(d, t->ref_idx, t->n_ref);
	assert_string_equal(got, want);
	free(got);
}

static void assert_scs(const struct dag *d, const char *task, const char *want)
{
	const struct task *t = dag_task_find(d, task);
	assert_non_null(t);
	char *got = ids(d, t->sc_idx, t->n_sc);
	assert_string_equal(got, want);
	free(got);
}

/* --- upstream references --- */

/* Every form read of a direct or further ancestor that can give it; ref_idx in the order of
 * the first reference, once each, over all the template keys. */
static void test_refs_valid(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *d = parse_ok(
	    HEAD
	    "  task a { shell = \"echo 1\" output = \"last_line\" }\n"
	    "  task b { upstream = {a} shell = \"echo {{ upstream.a.output }}\" }\n"
	    "  task c { upstream = {b} output = \"marked\"\n"
	    "           command = {\"x\", \"{{ upstream.a.output_json.k }}\", "
	    "\"{{ upstream.b.exit_code }}\"} }\n"
	    "  task e { upstream = {c}\n"
	    "           entrypoint = {\"{{ upstream.c.output }}\"}\n"
	    "           env = {\"A={{ upstream.a.output }}\", \"B={{upstream.c.exit_code}}\"}\n"
	    "           labels = {\"x={{ upstream.b.exit_code }}\", "
	    "\"y={{ upstream.a.output }}\"} }\n"
	    "  task plain { shell = \"echo {{ ds }}\" }\n"
	    "}\n",
	    &f);
	assert_refs(d, "a", "");
	assert_refs(d, "b", "a");
	assert_refs(d, "c", "a,b");
	assert_refs(d, "e", "c,a,b");
	assert_refs(d, "plain", "");
	dag_file_finish(&f);
}

/* An output_json read of a task whose id holds dots and dashes names that task. */
static void test_refs_dotted_ids(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *d =
	    parse_ok(HEAD "  task a.b-c { shell = \"echo {}\" output = \"last_line\" }\n"
			  "  task a { shell = \"echo {}\" output = \"last_line\" }\n"
			  "  task z { upstream = {a.b-c, a}\n"
			  "           command = {\"{{ upstream.a.b-c.output_json.k }}\", "
			  "\"{{ upstream.a.output_json.output_json }}\",\n"
			  "                      \"{{ upstream.a.output_json.output }}\", "
			  "\"{{ upstream.a.output_json.exit_code }}\"} }\n"
			  "}\n",
		     &f);
	assert_refs(d, "z", "a.b-c,a");
	dag_file_finish(&f);
}

static void test_ref_not_ancestor(void **state)
{
	(void)state;
	/* A sibling, a downstream, the task itself, and a task of another DAG of the file. */
	PARSE_FAILS(
	    HEAD
	    "  task a { shell = \"echo\" output = \"last_line\" }\n"
	    "  task b { upstream = {a} shell = \"echo {{ upstream.c.output }}\"\n"
	    "           output = \"last_line\" }\n"
	    "  task c { upstream = {a} env = {\"X={{ upstream.b.exit_code }}\"}\n"
	    "           output = \"last_line\" }\n"
	    "  task s { output = \"last_line\" shell = \"{{ upstream.s.output }}\" }\n"
	    "  task up { output = \"last_line\" labels = {\"k={{ upstream.down.output }}\"} }\n"
	    "  task down { upstream = {up} output = \"last_line\" }\n"
	    "  task far { command = {\"{{ upstream.other.output }}\"} }\n"
	    "}\n"
	    "dag e { task other { image = i output = \"last_line\" } }\n",
	    "t.dag:4: dag 'd' task 'b': shell: {{ upstream.c }}: 'c' is not an upstream of 'b'",
	    "t.dag:6: dag 'd' task 'c': env: {{ upstream.b }}: 'b' is not an upstream of 'c'",
	    "t.dag:8: dag 'd' task 's': shell: {{ upstream.s }}: 's' is not an upstream of 's'",
	    "t.dag:9: dag 'd' task 'up': labels: {{ upstream.down }}: 'down' is not an upstream "
	    "of 'up'",
	    "t.dag:11: dag 'd' task 'far': command: {{ upstream.other }}: 'other' is not a task "
	    "of this DAG");
}

static void test_ref_without_output(void **state)
{
	(void)state;
	/* .output and .output_json need an output; exit_code does not (see test_refs_valid). */
	PARSE_FAILS(HEAD "  task a { shell = \"echo\" }\n"
			 "  task n { shell = \"echo\" output = \"none\" }\n"
			 "  task b { upstream = {a, n}\n"
			 "           command = {\"{{ upstream.a.output }}\", "
			 "\"{{ upstream.n.output_json.k }}\", \"{{ upstream.a.exit_code }}\"} }\n"
			 "}\n",
		    "t.dag:5: dag 'd' task 'b': command: upstream 'a' has no output (set output = "
		    "\"last_line\" or \"marked\" in task 'a')",
		    "t.dag:5: dag 'd' task 'b': command: upstream 'n' has no output (set output = "
		    "\"last_line\" or \"marked\" in task 'n')");
	/* An output set in defaults counts; one set to none in the task does not. */
	struct dag_file f;
	const struct dag *d =
	    parse_ok("dag d {\n  defaults { image = i output = \"marked\" }\n"
		     "  task a { shell = \"echo\" }\n"
		     "  task b { upstream = {a} shell = \"{{ upstream.a.output }}\" }\n}\n",
		     &f);
	assert_int_equal(d->tasks[0].output, OUTPUT_MARKED);
	assert_refs(d, "b", "a");
	dag_file_finish(&f);
	PARSE_FAILS("dag d {\n  defaults { image = i output = \"marked\" }\n"
		    "  task a { shell = \"echo\" output = \"none\" }\n"
		    "  task b { upstream = {a} shell = \"{{ upstream.a.output }}\" }\n}\n",
		    "t.dag:4: dag 'd' task 'b': shell: upstream 'a' has no output (set output = "
		    "\"last_line\" or \"marked\" in task 'a')");
}

/* A mapped task is read by outputs_json only, and outputs_json reads only a mapped task. */
static void test_ref_mapped_upstream(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *d = parse_ok(
	    HEAD "  task m { expand = {\"x\", \"y\"} shell = \"echo {{ item }}\"\n"
		 "           output = \"last_line\" }\n"
		 "  task sum { upstream = {m} command = {\"{{ upstream.m.outputs_json }}\"} }\n"
		 "  task m2 { upstream = {m} expand = \"{{ upstream.m.outputs_json }}\"\n"
		 "            output = \"last_line\" shell = \"echo {{ item }}\" }\n"
		 "  task last { upstream = {m2} env = {\"V={{ upstream.m2.outputs_json }}\"} }\n"
		 "}\n",
	    &f);
	assert_refs(d, "sum", "m");
	assert_refs(d, "m2", "m");
	assert_refs(d, "last", "m2");
	assert_true(dag_task_find(d, "m")->mapped);
	assert_true(dag_task_find(d, "m2")->mapped);
	assert_false(dag_task_find(d, "sum")->mapped);
	dag_file_finish(&f);

	PARSE_FAILS(
	    HEAD "  task m { expand = {\"x\"} shell = \"echo\" output = \"last_line\" }\n"
		 "  task u { shell = \"echo\" output = \"last_line\" }\n"
		 "  task b { upstream = {m, u}\n"
		 "           command = {\"{{ upstream.m.output }}\", "
		 "\"{{ upstream.m.output_json.k }}\", \"{{ upstream.m.exit_code }}\",\n"
		 "                      \"{{ upstream.u.outputs_json }}\"} }\n"
		 "  task mn { expand = {\"x\"} shell = \"echo\" }\n"
		 "  task c { upstream = {mn} shell = \"{{ upstream.mn.outputs_json }}\" }\n"
		 "}\n",
	    "t.dag:5: dag 'd' task 'b': command: upstream 'm' is mapped: read its outputs with "
	    "{{ upstream.m.outputs_json }}",
	    "t.dag:5: dag 'd' task 'b': command: upstream 'm' is mapped: read its outputs with "
	    "{{ upstream.m.outputs_json }}",
	    "t.dag:5: dag 'd' task 'b': command: upstream 'm' is mapped: read its outputs with "
	    "{{ upstream.m.outputs_json }}",
	    "t.dag:5: dag 'd' task 'b': command: upstream 'u' is not mapped: read its output with "
	    "{{ upstream.u.output }}",
	    "t.dag:9: dag 'd' task 'c': shell: upstream 'mn' has no output (set output = "
	    "\"last_line\" or \"marked\" in task 'mn')");
}

/* The data checks run only on a graph without cycles or unknown upstreams. */
static void test_refs_after_graph(void **state)
{
	(void)state;
	PARSE_FAILS(HEAD "  task a { upstream = {b} shell = \"{{ upstream.zz.output }}\" }\n"
			 "  task b { upstream = {a} }\n"
			 "}\n",
		    "t.dag:3: dag 'd': dependency cycle: a -> b -> a");
	PARSE_FAILS(HEAD "  task a { upstream = {nope} shell = \"{{ item }}\" }\n"
			 "}\n",
		    "t.dag:3: dag 'd' task 'a': unknown upstream 'nope'");
}

/* --- item and map_index --- */

static void test_item_outside_mapped(void **state)
{
	(void)state;
	PARSE_FAILS(
	    HEAD "  task a { shell = \"echo {{ item }}\" }\n"
		 "  task b { env = {\"I={{map_index}}\"} labels = {\"i={{ item }}\"} }\n"
		 "  task m { expand = {\"{{ item }}\", \"{{ map_index }}\"} shell = \"echo\" }\n"
		 "}\n",
	    "t.dag:3: dag 'd' task 'a': shell: {{ item }} is only for a mapped task (one with "
	    "expand)",
	    "t.dag:4: dag 'd' task 'b': env: {{ map_index }} is only for a mapped task (one with "
	    "expand)",
	    "t.dag:4: dag 'd' task 'b': labels: {{ item }} is only for a mapped task (one with "
	    "expand)",
	    "t.dag:5: dag 'd' task 'm': expand: {{ item }} is not known before the task is "
	    "expanded",
	    "t.dag:5: dag 'd' task 'm': expand: {{ map_index }} is not known before the task is "
	    "expanded");
}

static void test_item_in_mapped(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *d = parse_ok(
	    HEAD "  task m { expand = {\"eu\", \"us\", \"asia\"}\n"
		 "           command = {\"{{ item }}\", \"{{ map_index }}\"}\n"
		 "           entrypoint = {\"/{{ item }}\"} env = {\"I={{ map_index }}\"}\n"
		 "           labels = {\"item={{ item }}\"} }\n"
		 "  task s { expand = \"a\" shell = \"echo {{ item }}#{{ map_index }}\" }\n"
		 "}\n",
	    &f);
	const struct task *m = &d->tasks[0];
	assert_true(m->mapped);
	assert_int_equal(m->expand.len, 3);
	assert_string_equal(m->expand.v[0], "eu");
	assert_string_equal(m->expand.v[2], "asia");
	assert_int_equal(m->n_ref, 0); /* item and map_index read no upstream */
	assert_true(d->tasks[1].mapped);
	assert_int_equal(d->tasks[1].expand.len, 1);
	dag_file_finish(&f);
}

/* --- expand, branch and short_circuit --- */

static void test_expand_forms(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *d = parse_ok(
	    HEAD "  task l { shell = \"ls\" output = \"marked\" }\n"
		 "  task m { upstream = {l} expand = \"{{ upstream.l.output }}\" shell = \"x\" }\n"
		 "  task n { upstream = {l} expand = {\"[1, 2]\", \"{{ upstream.l.output }}\", "
		 "\"{{ ds }}\"} shell = \"x\" }\n"
		 "  task p { shell = \"x\" }\n"
		 "}\n",
	    &f);
	assert_false(d->tasks[0].mapped);
	assert_int_equal(d->tasks[0].expand.len, 0);
	assert_true(d->tasks[1].mapped);
	assert_string_equal(d->tasks[1].expand.v[0], "{{ upstream.l.output }}");
	assert_refs(d, "m", "l");
	assert_int_equal(d->tasks[2].expand.len, 3);
	assert_refs(d, "n", "l");
	assert_false(d->tasks[3].mapped);
	assert_int_equal(d->tasks[3].max_map_length, TASK_DEFAULT_MAX_MAP_LENGTH);
	dag_file_finish(&f);

	/* expand in defaults maps every task; a task's own list replaces it. */
	d = parse_ok("dag d {\n  defaults { image = i expand = {\"a\", \"b\"} }\n"
		     "  task a { shell = \"echo {{ item }}\" }\n"
		     "  task b { expand = {\"c\"} shell = \"echo {{ item }}\" }\n}\n",
		     &f);
	assert_true(d->tasks[0].mapped);
	assert_int_equal(d->tasks[0].expand.len, 2);
	assert_true(d->tasks[1].mapped);
	assert_int_equal(d->tasks[1].expand.len, 1);
	dag_file_finish(&f);

	PARSE_FAILS(HEAD "  task a { expand = {} shell = \"x\" }\n"
			 "  task b { expand = {\"{{ nope }}\"} shell = \"x\" }\n"
			 "}\n",
		    "t.dag:3: dag 'd' task 'a': expand: the list is empty",
		    "t.dag:4: dag 'd' task 'b': expand: unknown template variable 'nope'");
}

static void test_max_map_length(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *d =
	    parse_ok("dag d {\n  defaults { image = i max_map_length = 7 }\n"
		     "  task a { expand = {\"x\"} shell = \"x\" }\n"
		     "  task b { expand = {\"x\"} shell = \"x\" max_map_length = 1 }\n"
		     "  task c { expand = {\"x\"} shell = \"x\" max_map_length = 100000 }\n}\n",
		     &f);
	assert_int_equal(d->tasks[0].max_map_length, 7);
	assert_int_equal(d->tasks[1].max_map_length, 1);
	assert_int_equal(d->tasks[2].max_map_length, 100000);
	dag_file_finish(&f);

	PARSE_FAILS(HEAD "  task a { expand = {\"x\"} shell = \"x\" max_map_length = 0 }\n"
			 "  task b { expand = {\"x\"} shell = \"x\" max_map_length = 100001 }\n"
			 "  task c { expand = {\"x\"} shell = \"x\" max_map_length = -1 }\n"
			 "  task e { expand = {\"x\"} shell = \"x\" max_map_length = many }\n"
			 "}\n",
		    "t.dag:3: dag 'd' task 'a': max_map_length: invalid value '0' (an integer "
		    "from 1 to 100000)",
		    "t.dag:4: dag 'd' task 'b': max_map_length: invalid value '100001' (an "
		    "integer from 1 to 100000)",
		    "t.dag:5: dag 'd' task 'c': max_map_length: invalid value '-1' (an integer "
		    "from 1 to 100000)",
		    "t.dag:6: dag 'd' task 'e': max_map_length: invalid value 'many' (an integer "
		    "from 1 to 100000)");
}

static void test_branch_output(void **state)
{
	(void)state;
	struct dag_file f;
	/* branch and short_circuit read last_line unless output says otherwise (here or in
	 * defaults); a task with neither keeps none. */
	const struct dag *d =
	    parse_ok(HEAD "  task b { branch = true shell = \"echo x\" }\n"
			  "  task s { short_circuit = true shell = \"echo x\" }\n"
			  "  task bm { branch = true shell = \"echo x\" output = \"marked\" }\n"
			  "  task x { upstream = {b, s, bm} shell = \"{{ upstream.b.output }}\" }\n"
			  "  task off { branch = false short_circuit = false shell = \"x\" }\n"
			  "}\n",
		     &f);
	assert_int_equal(dag_task_find(d, "b")->output, OUTPUT_LAST_LINE);
	assert_int_equal(dag_task_find(d, "s")->output, OUTPUT_LAST_LINE);
	assert_int_equal(dag_task_find(d, "bm")->output, OUTPUT_MARKED);
	assert_int_equal(dag_task_find(d, "x")->output, OUTPUT_NONE);
	assert_int_equal(dag_task_find(d, "off")->output, OUTPUT_NONE);
	assert_refs(d, "x", "b");
	dag_file_finish(&f);
	d = parse_ok("dag d {\n  defaults { image = i output = \"marked\" }\n"
		     "  task b { branch = true shell = \"echo x\" }\n}\n",
		     &f);
	assert_int_equal(d->tasks[0].output, OUTPUT_MARKED);
	dag_file_finish(&f);
}

static void test_kind_conflicts(void **state)
{
	(void)state;
	PARSE_FAILS(HEAD "  task a { branch = true short_circuit = true shell = \"x\" }\n"
			 "  task b { branch = true expand = {\"x\"} shell = \"x\" }\n"
			 "  task c { short_circuit = true expand = {\"x\"} shell = \"x\" }\n"
			 "  task e { branch = true output = \"none\" shell = \"x\" }\n"
			 "  task g { short_circuit = true output = \"none\" shell = \"x\" }\n"
			 "}\n",
		    "t.dag:3: dag 'd' task 'a': branch and short_circuit cannot both be set",
		    "t.dag:4: dag 'd' task 'b': a mapped task (expand) cannot be a branch or a "
		    "short_circuit",
		    "t.dag:5: dag 'd' task 'c': a mapped task (expand) cannot be a branch or a "
		    "short_circuit",
		    "t.dag:6: dag 'd' task 'e': branch and short_circuit read the task's output: "
		    "output cannot be \"none\"",
		    "t.dag:7: dag 'd' task 'g': branch and short_circuit read the task's output: "
		    "output cannot be \"none\"");
	/* output = "none" from defaults is as explicit as the task's own. */
	PARSE_FAILS("dag d {\n  defaults { image = i output = \"none\" }\n"
		    "  task b { branch = true shell = \"x\" }\n}\n",
		    "t.dag:3: dag 'd' task 'b': branch and short_circuit read the task's output: "
		    "output cannot be \"none\"");
	/* One problem of the task's own settings and one of its references: both reported. */
	PARSE_FAILS(HEAD "  task a { branch = true short_circuit = true shell = \"{{ item }}\" }\n"
			 "}\n",
		    "t.dag:3: dag 'd' task 'a': branch and short_circuit cannot both be set",
		    "t.dag:3: dag 'd' task 'a': shell: {{ item }} is only for a mapped task (one "
		    "with expand)");
}

/* --- sc_idx --- */

static void test_short_circuit_ancestors(void **state)
{
	(void)state;
	struct dag_file f;
	/* s1 -> s2 -> t -> u, with a diamond s1 -> {p, q} -> j, and a branch that is not a
	 * short circuit. */
	const struct dag *d =
	    parse_ok(HEAD "  task s1 { short_circuit = true shell = \"x\" }\n"
			  "  task s2 { upstream = {s1} short_circuit = true shell = \"x\" }\n"
			  "  task t { upstream = {s2} shell = \"x\" }\n"
			  "  task u { upstream = {t} shell = \"x\" }\n"
			  "  task p { upstream = {s1} shell = \"x\" }\n"
			  "  task q { upstream = {s1} shell = \"x\" }\n"
			  "  task j { upstream = {p, q, s2} shell = \"x\" }\n"
			  "  task br { branch = true shell = \"x\" }\n"
			  "  task after_br { upstream = {br} shell = \"x\" }\n"
			  "}\n",
		     &f);
	assert_scs(d, "s1", "");
	assert_scs(d, "s2", "s1");
	assert_scs(d, "t", "s2,s1");
	assert_scs(d, "u", "s2,s1");
	assert_scs(d, "p", "s1");
	assert_scs(d, "j", "s1,s2");
	assert_scs(d, "br", "");
	assert_scs(d, "after_br", "");
	dag_file_finish(&f);
}

/* --- calling the validator again --- */

/* dag_data_validate starts over: ref_idx and sc_idx are refilled, not appended to, and a
 * change of the model is seen (here an upstream that lost its output). */
static void test_validate_again(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *cd =
	    parse_ok(HEAD "  task s { short_circuit = true shell = \"x\" }\n"
			  "  task a { upstream = {s} shell = \"x\" output = \"last_line\" }\n"
			  "  task b { upstream = {a} shell = \"{{ upstream.a.output }} {{ "
			  "upstream.a.output }}\" }\n"
			  "}\n",
		     &f);
	struct dag *d = (struct dag *)cd;
	struct dag_errors errs = {0};
	assert_true(dag_data_validate(d, &errs));
	assert_int_equal(errs.len, 0);
	assert_refs(d, "b", "a");
	assert_scs(d, "b", "s");

	d->tasks[1].output = OUTPUT_NONE;
	assert_false(dag_data_validate(d, &errs));
	assert_int_equal(errs.len, 2); /* one per reference */
	assert_string_equal(errs.v[0].file, "t.dag");
	assert_int_equal(errs.v[0].line, 5);
	assert_string_equal(errs.v[0].message,
			    "dag 'd' task 'b': shell: upstream 'a' has no output (set output = "
			    "\"last_line\" or \"marked\" in task 'a')");
	assert_int_equal(d->tasks[2].n_ref, 0);
	assert_scs(d, "b", "s");
	dag_errors_finish(&errs);
	dag_file_finish(&f);
}

static void test_is_ancestor(void **state)
{
	(void)state;
	struct dag_file f;
	const struct dag *d = parse_ok(HEAD "  task a { }\n"
					    "  task b { upstream = {a} }\n"
					    "  task c { upstream = {b} }\n"
					    "  task x { }\n"
					    "  task j { upstream = {x, c} }\n"
					    "}\n",
				       &f);
	assert_true(dag_task_is_ancestor(d, 0, 1));
	assert_true(dag_task_is_ancestor(d, 0, 2));
	assert_true(dag_task_is_ancestor(d, 0, 4));
	assert_true(dag_task_is_ancestor(d, 3, 4));
	assert_false(dag_task_is_ancestor(d, 1, 0)); /* a downstream */
	assert_false(dag_task_is_ancestor(d, 3, 2)); /* unrelated */
	assert_false(dag_task_is_ancestor(d, 2, 2)); /* itself */
	assert_false(dag_task_is_ancestor(d, 4, 0));
	dag_file_finish(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refs_valid),
	    cmocka_unit_test(test_refs_dotted_ids),
	    cmocka_unit_test(test_ref_not_ancestor),
	    cmocka_unit_test(test_ref_without_output),
	    cmocka_unit_test(test_ref_mapped_upstream),
	    cmocka_unit_test(test_refs_after_graph),
	    cmocka_unit_test(test_item_outside_mapped),
	    cmocka_unit_test(test_item_in_mapped),
	    cmocka_unit_test(test_expand_forms),
	    cmocka_unit_test(test_max_map_length),
	    cmocka_unit_test(test_branch_output),
	    cmocka_unit_test(test_kind_conflicts),
	    cmocka_unit_test(test_short_circuit_ancestors),
	    cmocka_unit_test(test_validate_again),
	    cmocka_unit_test(test_is_ancestor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
