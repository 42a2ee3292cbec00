/* test_dag.c - the .dag parser, defaults merging, value checks and graph validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swarmflow/core/dag.h"

/* Unix seconds of 2026-11-01 and 2027-01-01T12:00:00Z. */
#define T_2026_11_01 1793491200
#define T_2027_01_01_NOON 1798804800

static bool parse_len(const char *text, size_t len, struct dag_file *out)
{
	*out = (struct dag_file){0};
	return dag_file_parse(text, len, "t.dag", out);
}

static bool parse(const char *text, struct dag_file *out)
{
	return parse_len(text, strlen(text), out);
}

static char *read_fixture(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static const size_t max = 1 << 16;
	char *buf = malloc(max);
	assert_non_null(buf);
	*len = fread(buf, 1, max, f);
	fclose(f);
	return buf;
}

/* "FILE:LINE: message" as `dags validate` prints it. */
static char *error_text(const struct dag_error *e)
{
	return xasprintf("%s:%d: %s", e->file, e->line, e->message);
}

static void assert_strv(const struct strv *sv, const char *const *want, size_t n)
{
	assert_int_equal(sv->len, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(sv->v[i], want[i]);
}

#define ASSERT_STRV(sv, ...)                                                                       \
	do {                                                                                       \
		static const char *const want_[] = {__VA_ARGS__};                                  \
		assert_strv((sv), want_, ARRAY_LEN(want_));                                        \
	} while (0)

static void test_every_key_dag(void **state)
{
	(void)state;
	size_t len;
	char *text = read_fixture("dags/every_key.dag", &len);
	struct dag_file f = {0};
	bool ok = dag_file_parse(text, len, "dags/every_key.dag", &f);
	for (size_t i = 0; i < f.errors.len; i++)
		print_error("%s:%d: %s\n", f.errors.v[i].file, f.errors.v[i].line,
			    f.errors.v[i].message);
	assert_true(ok);
	assert_int_equal(f.errors.len, 0);
	assert_int_equal(f.n_dags, 1);
	const struct dag *d = f.dags[0];
	assert_string_equal(d->dag_id, "every_key");
	assert_string_equal(d->file, "dags/every_key.dag");
	assert_int_equal(d->line, 2);
	assert_string_equal(d->description, "All the keys");
	assert_string_equal(d->schedule_str, "30 6 * * 1-5");
	assert_int_equal(d->schedule.kind, SCHEDULE_CRON);
	assert_int_equal(d->schedule.cron.minutes, UINT64_C(1) << 30);
	assert_int_equal(d->schedule.cron.hours, 1U << 6);
	assert_int_equal(d->schedule.cron.dow, 0x3E);
	assert_int_equal(d->start_date, T_2026_11_01);
	assert_int_equal(d->end_date, T_2027_01_01_NOON);
	assert_true(d->catchup);
	assert_int_equal(d->max_active_runs, 2);
	assert_int_equal(d->max_active_tasks, 4);
	assert_int_equal(d->dagrun_timeout_s, 7200);
	assert_string_equal(d->on_failure_webhook, "https://hooks.example.com/swarmflow");
	ASSERT_STRV(&d->tags, "etl", "nightly");
	assert_int_equal(d->n_tasks, 2);
	assert_int_equal(d->topo[0], 0);
	assert_int_equal(d->topo[1], 1);
	dag_file_finish(&f);
	free(text);
}

static void test_every_key_task(void **state)
{
	(void)state;
	size_t len;
	char *text = read_fixture("dags/every_key.dag", &len);
	struct dag_file f = {0};
	assert_true(dag_file_parse(text, len, "dags/every_key.dag", &f));
	const struct task *t = dag_task_find(f.dags[0], "load");
	assert_non_null(t);
	assert_string_equal(t->task_id, "load");
	assert_int_equal(t->line, 26);
	assert_string_equal(t->image, "alpine:3.20");
	ASSERT_STRV(&t->command, "/bin/echo", "run", "{{ run_id }}");
	assert_null(t->shell);
	ASSERT_STRV(&t->entrypoint, "/usr/bin/env");
	ASSERT_STRV(&t->env, "MODE=full", "DAY={{ ds_nodash }}");
	assert_string_equal(t->workdir, "/work");
	assert_string_equal(t->user, "1000:1000");
	assert_string_equal(t->hostname, "loader");
	ASSERT_STRV(&t->labels, "team=data", "try={{ try_number }}");
	ASSERT_STRV(&t->mounts, "type=volume,source=warehouse,target=/data");
	ASSERT_STRV(&t->secrets, "db_password", "api_key:/run/secrets/key");
	ASSERT_STRV(&t->configs, "etl_conf:/etc/etl.conf");
	ASSERT_STRV(&t->networks, "etl_net");
	ASSERT_STRV(&t->constraints, "node.role==worker");
	ASSERT_STRV(&t->preferences, "spread=node.labels.zone");
	assert_true(t->cpus == 0.5);
	assert_int_equal(t->memory, 256 * 1024 * 1024);
	assert_true(t->reserve_cpus == 0.25);
	assert_int_equal(t->reserve_memory, 128 * 1024 * 1024);
	assert_true(t->tty);
	assert_true(t->init);
	assert_string_equal(t->log_driver, "json-file");
	ASSERT_STRV(&t->log_opts, "max-size=10m");
	ASSERT_STRV(&t->upstream, "extract");
	assert_int_equal(t->trigger_rule, TRIGGER_ONE_SUCCESS);
	assert_int_equal(t->retries, 5);
	assert_int_equal(t->retry_delay_s, 60);
	assert_true(t->retry_exponential_backoff);
	assert_int_equal(t->max_retry_delay_s, 3600);
	assert_int_equal(t->timeout_s, 600);
	assert_int_equal(t->pending_timeout_s, 90);
	assert_string_equal(t->pool, "big");
	assert_int_equal(t->n_up, 1);
	assert_int_equal(t->up_idx[0], 0);
	assert_int_equal(t->n_down, 0);
	dag_file_finish(&f);
	free(text);
}

/* extract sets nothing but shell: everything else comes from defaults or built-in values. */
static void test_defaults_merged(void **state)
{
	(void)state;
	size_t len;
	char *text = read_fixture("dags/every_key.dag", &len);
	struct dag_file f = {0};
	assert_true(dag_file_parse(text, len, "dags/every_key.dag", &f));
	const struct task *t = dag_task_find(f.dags[0], "extract");
	assert_int_equal(dag_task_index(f.dags[0], "extract"), 0);
	assert_int_equal(t->line, 22);
	assert_string_equal(t->image, "busybox:1.36");
	assert_string_equal(t->shell, "echo extracting {{ ds }}");
	assert_int_equal(t->command.len, 0);
	assert_int_equal(t->retries, 2);
	assert_int_equal(t->retry_delay_s, 30);
	ASSERT_STRV(&t->env, "FROM_DEFAULTS=1");
	assert_string_equal(t->pool, "default_pool");
	assert_int_equal(t->trigger_rule, TRIGGER_ALL_SUCCESS);
	assert_int_equal(t->pending_timeout_s, TASK_DEFAULT_PENDING_TIMEOUT_S);
	assert_int_equal(t->timeout_s, 0);
	assert_int_equal(t->max_retry_delay_s, 0);
	assert_false(t->tty);
	assert_true(t->cpus == 0);
	assert_int_equal(t->memory, 0);
	assert_null(t->workdir);
	assert_int_equal(t->n_down, 1);
	assert_int_equal(t->down_idx[0], 1);
	dag_file_finish(&f);
	free(text);
}

static void test_builtin_defaults(void **state)
{
	(void)state;
	struct dag_file f;
	assert_true(parse("dag d {\n"
			  "  defaults { env = {\"A=1\"} labels = {\"x=1\"} }\n"
			  "  task t { image = busybox env = {} }\n"
			  "  task u { image = busybox env += {\"B=2\"} }\n"
			  "}\n",
			  &f));
	const struct dag *d = f.dags[0];
	assert_string_equal(d->schedule_str, "none");
	assert_int_equal(d->schedule.kind, SCHEDULE_NONE);
	assert_int_equal(d->max_active_runs, 16);
	assert_int_equal(d->max_active_tasks, 16);
	assert_false(d->catchup);
	assert_int_equal(d->start_date, 0);
	assert_int_equal(d->dagrun_timeout_s, 0);
	assert_null(d->description);
	assert_null(d->on_failure_webhook);
	const struct task *t = &d->tasks[0];
	assert_int_equal(t->retries, 0);
	assert_int_equal(t->retry_delay_s, 300);
	assert_int_equal(t->pending_timeout_s, 300);
	assert_int_equal(t->env.len, 0); /* an explicit empty list replaces the defaults' */
	ASSERT_STRV(&t->labels, "x=1");
	ASSERT_STRV(&d->tasks[1].env, "B=2"); /* a task's list replaces, never appends */
	assert_null(t->pool);
	dag_file_finish(&f);
}

static void test_several_dags(void **state)
{
	(void)state;
	struct dag_file f;
	assert_true(parse("# three DAGs\n"
			  "dag first { task a { image = x } }\n"
			  "\n"
			  "dag second {\n"
			  "  schedule = \"@hourly\"\n"
			  "  start_date = \"2026-11-01\"\n"
			  "  task a { image = y }\n"
			  "  task b { image = y upstream = {a} }\n"
			  "}\n"
			  "dag third.v2 { }\n",
			  &f));
	assert_int_equal(f.errors.len, 0);
	assert_int_equal(f.n_dags, 3);
	assert_string_equal(f.path, "t.dag");
	assert_string_equal(f.dags[0]->dag_id, "first");
	assert_int_equal(f.dags[0]->line, 2);
	assert_string_equal(f.dags[0]->tasks[0].image, "x");
	assert_string_equal(f.dags[1]->dag_id, "second");
	assert_int_equal(f.dags[1]->line, 4);
	assert_int_equal(f.dags[1]->schedule.kind, SCHEDULE_CRON);
	assert_int_equal(f.dags[1]->n_tasks, 2);
	assert_int_equal(f.dags[1]->tasks[1].line, 8);
	assert_string_equal(f.dags[2]->dag_id, "third.v2");
	assert_int_equal(f.dags[2]->n_tasks, 0);
	dag_file_finish(&f);
}

static void test_empty_file(void **state)
{
	(void)state;
	static const char *const texts[] = {"", "\n\n", "# only a comment\n", "/* block */",
					    "\xEF\xBB\xBF// BOM and a comment\n"};
	for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
		struct dag_file f;
		assert_true(parse(texts[i], &f));
		assert_int_equal(f.n_dags, 0);
		assert_int_equal(f.errors.len, 0);
		dag_file_finish(&f);
	}
}

/* A diamond a -> {b, c} -> d plus a lone e: links and a topological order in file order. */
static void test_topo_order(void **state)
{
	(void)state;
	struct dag_file f;
	assert_true(parse("dag g {\n"
			  "  defaults { image = x }\n"
			  "  task d { upstream = {c, b, b} }\n"
			  "  task c { upstream = {a} }\n"
			  "  task e { }\n"
			  "  task b { upstream = {a} }\n"
			  "  task a { }\n"
			  "}\n",
			  &f));
	const struct dag *d = f.dags[0];
	static const size_t want[] = {2, 4, 1, 3, 0}; /* e, a, c, b, d */
	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		assert_int_equal(d->topo[i], want[i]);
	assert_int_equal(d->tasks[0].n_up, 2); /* b listed twice counts once */
	assert_int_equal(d->tasks[0].up_idx[0], 1);
	assert_int_equal(d->tasks[0].up_idx[1], 3);
	assert_int_equal(d->tasks[4].n_down, 2);
	assert_int_equal(d->tasks[4].down_idx[0], 1);
	assert_int_equal(d->tasks[4].down_idx[1], 3);
	dag_file_finish(&f);
}

struct broken {
	const char *text;
	size_t len; /* 0: strlen(text) */
	int line;
	const char *message; /* a substring of the first error */
};

#define TASK(body) "dag a {\n  task t {\n" body "  }\n}\n"
#define NUL_TEXT "dag a {\n  description = \"x\"\n\0}\n"

static const struct broken broken[] = {
    {TASK("    image = x\n    colour = red\n"), 0, 4, "dag 'a' task 't': no such option 'colour'"},
    {TASK("    image = = x\n"), 0, 3, "unexpected token '='"},
    {TASK("    shell = \"true\"\n"), 0, 2,
     "dag 'a' task 't': no image (set image in the task or in defaults)"},
    {TASK("    image = x\n    shell = \"a\"\n    command = {b}\n"), 0, 2,
     "dag 'a' task 't': command and shell are both set; use one"},
    {"dag a {\n  defaults { image = x shell = s }\n  task t { command = {b} }\n}\n", 0, 3,
     "command and shell are both set (shell from defaults)"},
    {"dag etl {\n  defaults { image = x }\n  task extract { }\n"
     "  task load {\n    upstream = {extrct}\n  }\n}\n",
     0, 4, "dag 'etl' task 'load': unknown upstream 'extrct'"},
    {"dag a {\n  defaults { image = x }\n  task a { upstream = {b} }\n"
     "  task b { upstream = {a} }\n}\n",
     0, 3, "dag 'a': dependency cycle: a -> b -> a"},
    {"dag a {\n  defaults { image = x }\n  task x { }\n  task b { upstream = {a} }\n"
     "  task c { upstream = {b} }\n  task a { upstream = {c} }\n}\n",
     0, 4, "dag 'a': dependency cycle: b -> c -> a -> b"},
    {TASK("    image = x\n    upstream = {t}\n"), 0, 2,
     "dag 'a' task 't': depends on itself (dependency cycle: t -> t)"},
    {"dag a {\n  task t { image = x }\n  task t { image = y }\n}\n", 0, 3,
     "dag 'a': duplicate task 't'"},
    {"dag a { }\n\ndag a { }\n", 0, 3, "duplicate dag 'a' in this file"},
    {TASK("    image = x\n    timeout = \"10x\"\n"), 0, 4,
     "dag 'a' task 't': timeout: invalid duration '10x'"},
    {TASK("    image = x\n    memory = \"lots\"\n"), 0, 4, "memory: invalid size 'lots'"},
    {"dag a {\n  schedule = \"61 * * * *\"\n}\n", 0, 2, "dag 'a': schedule: cron: bad minute"},
    {"dag a {\n  start_date = \"2026-13-01\"\n}\n", 0, 2, "start_date: invalid date '2026-13-01'"},
    {TASK("    image = x\n    trigger_rule = most_success\n"), 0, 4,
     "trigger_rule: unknown trigger rule 'most_success'"},
    {TASK("    image = x\n    command = {\"echo\",\n      \"{{ bogus }}\"}\n"), 0, 5,
     "command: unknown template variable 'bogus'"},
    {TASK("    image = x\n    env = {\"A=1\", \"NOEQ\"}\n"), 0, 4, "env: 'NOEQ' is not KEY=VALUE"},
    {TASK("    image = x\n    mounts = {\"type=bogus,target=/x\"}\n"), 0, 4,
     "mounts: mount 'type=bogus,target=/x': unknown type 'bogus'"},
    {"\ndag \"bad id\" { }\n", 0, 2, "invalid DAG id 'bad id'"},
    {"dag a {\n  task \"-t\" { image = x }\n}\n", 0, 2, "dag 'a': invalid task id '-t'"},
    {"dag a {\n  defaults {\n    retries = -1\n  }\n}\n", 0, 3,
     "dag 'a' defaults: retries: invalid value '-1' (an integer from 0 to 100000)"},
    {"dag a {\n  defaults {\n    retries = 2147483647\n  }\n}\n", 0, 3,
     "dag 'a' defaults: retries: invalid value '2147483647' (an integer from 0 to 100000)"},
    {"dag a {\n  description = \"caf\xc3\"\n}\n", 0, 2, "invalid UTF-8 (byte 0xc3"},
    {NUL_TEXT, sizeof(NUL_TEXT) - 1, 3, "NUL byte in the file"},
    {"dag a {\n  max_active_runs = 0\n}\n", 0, 2,
     "max_active_runs: invalid value '0' (an integer from 1 to 100000)"},
    {TASK("    image = x\n    cpus = -1\n"), 0, 4, "cpus: invalid value '-1'"},
    {TASK("    image = x\n    tty = maybe\n"), 0, 4, "tty: invalid boolean 'maybe'"},
    {TASK("    image = x\n    labels = {team}\n"), 0, 4, "labels: 'team' is not KEY=VALUE"},
    {TASK("    image = x\n    labels = {\"swarmflow.dag_id=x\"}\n"), 0, 4, "reserved"},
    {TASK("    image = x\n    log_opts = {\"max-size\"}\n"), 0, 4,
     "log_opts: 'max-size' is not KEY=VALUE"},
    {TASK("    image = x\n    configs = {etl_conf}\n"), 0, 4,
     "configs: 'etl_conf' is not NAME:TARGET"},
    {TASK("    image = x\n    workdir = work\n"), 0, 4, "workdir: 'work' is not an absolute path"},
    {TASK("    image = x\n    constraints = {worker}\n"), 0, 4, "constraints: 'worker'"},
    {"dag a {\n  on_failure_webhook = \"ftp://x\"\n}\n", 0, 2, "is not an http:// or https:// URL"},
    {"dag a {\n  start_date = 2027-01-01\n  end_date = 2026-01-01\n}\n", 0, 1,
     "dag 'a': end_date is before start_date"},
    {"dag a {\n  task t { image = x }\n", 0, 1, "'{' is never closed"},
    {"dag a {\n  /* note\n  task t { image = x }\n}\n", 0, 2, "comment '/*' is never closed"},
    {"dag a {\n  description = \"unterminated\n}\n", 0, 2, "string is never closed (missing '\"')"},
    {"dag a {\n  description = 'unterminated\n}\n", 0, 2, "string is never closed (missing \"'\")"},
    {"dag a {\n  task t {\n    env = {\"A=1\",\n", 0, 4, "dag 'a' task 't': premature end of file"},
    {"dag a { }\n}\n", 0, 2, "unexpected closing brace"},
    {"task t { image = x }\n", 0, 1, "no such option 'task'"},
    {TASK("    image = x\n    shell = \"echo ${HOME}\"\n"), 0, 4,
     "'${HOME}' would be replaced from the scheduler's environment"},
    {"dag a {\n  description = \"\\xff\"\n}\n", 0, 2, "description: value is not valid UTF-8"},
    {TASK("    image = x\n    env = {\"A=1\" \"B=2\"}\n"), 0, 4, "unexpected token 'B=2'"},
};

/* Parses every broken input with stdout and stderr pointed at a file that must stay empty. */
static void test_broken_inputs(void **state)
{
	(void)state;
	size_t n = ARRAY_LEN(broken);
	assert_true(n >= 25);
	char *first[ARRAY_LEN(broken)];
	bool result[ARRAY_LEN(broken)];
	size_t n_dags[ARRAY_LEN(broken)];
	FILE *sink = tmpfile();
	assert_non_null(sink);
	fflush(stdout);
	fflush(stderr);
	int out = dup(1), err = dup(2);
	dup2(fileno(sink), 1);
	dup2(fileno(sink), 2);
	for (size_t i = 0; i < n; i++) {
		struct dag_file f;
		const struct broken *b = &broken[i];
		result[i] = parse_len(b->text, b->len ? b->len : strlen(b->text), &f);
		first[i] = f.errors.len ? error_text(&f.errors.v[0]) : NULL;
		n_dags[i] = f.n_dags + (f.dags != NULL);
		dag_file_finish(&f);
	}
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	assert_int_equal(ftell(sink), 0);
	fseek(sink, 0, SEEK_END);
	assert_int_equal(ftell(sink), 0);
	fclose(sink);
	for (size_t i = 0; i < n; i++) {
		char *prefix = xasprintf("t.dag:%d: ", broken[i].line);
		if (!first[i] || !str_has_prefix(first[i], prefix) ||
		    !strstr(first[i], broken[i].message))
			fail_msg("case %zu: want %s...%s, got %s", i, prefix, broken[i].message,
				 first[i] ? first[i] : "(no error)");
		assert_false(result[i]);
		assert_int_equal(n_dags[i], 0);
		free(prefix);
		free(first[i]);
	}
}

/* Every independent problem is listed, sorted by line, and the file yields no DAG. */
static void test_all_errors_listed(void **state)
{
	(void)state;
	struct dag_file f;
	assert_false(parse("dag a {\n"
			   "  schedule = \"@never\"\n"
			   "  task t {\n"
			   "    upstream = {nope}\n"
			   "    timeout = \"x\"\n"
			   "    memory = \"y\"\n"
			   "  }\n"
			   "  task u { image = x upstream = {u} }\n"
			   "}\n"
			   "dag \"b!\" { }\n",
			   &f));
	assert_int_equal(f.n_dags, 0);
	assert_null(f.dags);
	static const int lines[] = {2, 3, 3, 5, 6, 8, 10};
	static const char *const msgs[] = {
	    "dag 'a': schedule: ",
	    "dag 'a' task 't': no image",
	    "dag 'a' task 't': unknown upstream 'nope'",
	    "dag 'a' task 't': timeout: invalid duration 'x'",
	    "dag 'a' task 't': memory: invalid size 'y'",
	    "dag 'a' task 'u': depends on itself",
	    "invalid DAG id 'b!'",
	};
	assert_int_equal(f.errors.len, ARRAY_LEN(lines));
	for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
		assert_string_equal(f.errors.v[i].file, "t.dag");
		assert_int_equal(f.errors.v[i].line, lines[i]);
		if (!str_has_prefix(f.errors.v[i].message, msgs[i]))
			fail_msg("error %zu: want %s, got %s", i, msgs[i], f.errors.v[i].message);
	}
	dag_file_finish(&f);
}

/* A start_date that is set but invalid is one error, at its line: not also "schedule needs a
 * start_date" at the DAG's line (found by tests/e2e/72_broken_folder). */
static void test_invalid_start_date_alone(void **state)
{
	(void)state;
	static const char *const texts[] = {
	    "dag a {\n  schedule = \"@daily\"\n  start_date = \"2026-13-01\"\n}\n",
	    "dag a {\n  schedule = \"0 6 * * *\"\n  start_date = \"yesterday\"\n}\n",
	};
	for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
		struct dag_file f;
		assert_false(parse(texts[i], &f));
		assert_int_equal(f.errors.len, 1);
		assert_int_equal(f.errors.v[0].line, 3);
		if (!str_has_prefix(f.errors.v[0].message, "dag 'a': start_date: invalid date"))
			fail_msg("case %zu: got %s", i, f.errors.v[0].message);
		dag_file_finish(&f);
	}
	/* Without one, the schedule still asks for it. */
	struct dag_file f;
	assert_false(parse("dag a {\n  schedule = \"@daily\"\n}\n", &f));
	assert_int_equal(f.errors.len, 1);
	assert_int_equal(f.errors.v[0].line, 1);
	assert_string_equal(f.errors.v[0].message, "dag 'a': schedule '@daily' needs a start_date");
	dag_file_finish(&f);
}

/* A text of prefix, n copies of c, then suffix. Caller frees. */
static char *text_with_run(const char *prefix, char c, size_t n, const char *suffix)
{
	size_t a = strlen(prefix), b = strlen(suffix);
	char *s = malloc(a + n + b + 1);
	assert_non_null(s);
	memcpy(s, prefix, a);
	memset(s + a, c, n);
	memcpy(s + a + n, suffix, b + 1);
	return s;
}

/* Tokens longer than 16 KiB are refused before libconfuse, whose scanner needs time quadratic in
 * a token's length (5 MB of blanks on one line: 10 s; found by tests/e2e/72_broken_folder). */
static void test_long_tokens(void **state)
{
	(void)state;
	static const struct {
		const char *prefix, *suffix;
		char c;
		size_t extra; /* bytes of the run that the prefix and suffix add */
		int line;
		const char *message;
	} cases[] = {
	    {"dag a {\n", "\n}\n", ' ', 0, 2, "more than 16 KiB of blanks or comment in a row"},
	    {"dag a {\n\t", "\n}\n", '\t', 1, 2, "more than 16 KiB of blanks or comment in a row"},
	    {"dag a {\n}\n# ", "\n", '#', 2, 3, "more than 16 KiB of blanks or comment in a row"},
	    {"dag a {\n  /* x\n", " */\n}\n", '*', 3, 3, "more than 16 KiB of blanks or comment"},
	    {"dag a {\n  description = ", "\n}\n", 'x', 0, 2, "unquoted value longer than 16 KiB"},
	    {"dag a {\n  description = 'one\ntwo", "'\n}\n", 'y', 3, 3,
	     "single-quoted string with more than 16 KiB on one line"},
	};
	const size_t max = 16 * 1024;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		/* At the limit: parsed as usual. */
		char *ok = text_with_run(cases[i].prefix, cases[i].c, max - cases[i].extra,
					 cases[i].suffix);
		struct dag_file f;
		parse(ok, &f);
		for (size_t k = 0; k < f.errors.len; k++)
			if (strstr(f.errors.v[k].message, "16 KiB"))
				fail_msg("case %zu at the limit: %s", i, f.errors.v[k].message);
		dag_file_finish(&f);
		free(ok);
		/* One byte over it: refused. */
		char *over = text_with_run(cases[i].prefix, cases[i].c, max - cases[i].extra + 1,
					   cases[i].suffix);
		assert_false(parse(over, &f));
		assert_int_equal(f.errors.len, 1);
		dag_file_finish(&f);
		free(over);
		/* A megabyte over it: refused, at the right line. */
		char *bad = text_with_run(cases[i].prefix, cases[i].c, 1 << 20, cases[i].suffix);
		assert_false(parse(bad, &f));
		assert_int_equal(f.errors.len, 1);
		assert_int_equal(f.errors.v[0].line, cases[i].line);
		if (!strstr(f.errors.v[0].message, cases[i].message))
			fail_msg("case %zu: got %s", i, f.errors.v[0].message);
		dag_file_finish(&f);
		free(bad);
	}
	/* Double-quoted strings are read a byte at a time by libconfuse: not limited. */
	char *dq = text_with_run("dag a {\n  description = \"", 'z', 1 << 17, "\"\n}\n");
	struct dag_file f;
	assert_true(parse(dq, &f));
	assert_int_equal(strlen(f.dags[0]->description), 1 << 17);
	dag_file_finish(&f);
	free(dq);
	/* Many short tokens of the same kind, one per line, are fine. */
	char *lines = text_with_run("dag a {\n", '\n', 1 << 20, "}\n");
	assert_true(parse(lines, &f));
	dag_file_finish(&f);
	free(lines);
}

/* One DAG with n tasks (each with two lists, which are no sections), one task a line from
 * line 2. Caller frees. */
static char *dag_with_tasks(size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "dag many {\n");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "  task t%zu { image = x command = {\"true\"} env = {} }\n", i);
	buf_printf(&b, "}\n");
	return b.data;
}

/* At most 10,000 sections a file: libconfuse's time grows with their square (found by
 * tests/e2e/72_broken_folder: 40,000 empty DAGs, half a megabyte, took 7.5 s and 650 MB). */
static void test_too_many_sections(void **state)
{
	(void)state;
	struct dag_file f;
	char *text = dag_with_tasks(9999); /* 10,000 sections with the DAG */
	assert_true(parse(text, &f));
	assert_int_equal(f.dags[0]->n_tasks, 9999);
	dag_file_finish(&f);
	free(text);
	text = dag_with_tasks(10000);
	assert_false(parse(text, &f));
	assert_int_equal(f.errors.len, 1);
	assert_int_equal(f.errors.v[0].line, 10001);
	assert_string_equal(f.errors.v[0].message,
			    "more than 10000 sections ({ } blocks other than lists) in one file: "
			    "split it into several files");
	dag_file_finish(&f);
	free(text);
}

/* Comments, multi-line strings and continuations keep the line numbers exact. */
static void test_line_numbers(void **state)
{
	(void)state;
	struct dag_file f;
	assert_false(parse("# one\n"
			   "// two\n"
			   "/* three\n"
			   "   four */ dag a { # five\n"
			   "  description = \"six\n"
			   "seven \\\n"
			   "eight\"\n"
			   "  tags = {'nine\n"
			   "ten'}\n"
			   "  dagrun_timeout = x//y\n"
			   "}\n",
			   &f));
	assert_int_equal(f.errors.len, 1);
	assert_int_equal(f.errors.v[0].line, 10);
	assert_string_equal(f.errors.v[0].message,
			    "dag 'a': dagrun_timeout: invalid duration 'x//y': expected e.g. 90s, "
			    "10m, 1h30m or seconds");
	dag_file_finish(&f);
}

static void test_env_not_expanded(void **state)
{
	(void)state;
	struct dag_file f;
	assert_true(parse("dag a {\n"
			  "  task t {\n"
			  "    image = x\n"
			  "    shell = \"echo \\${HOME}\"\n"
			  "    command = {'${HOME}'}\n"
			  "    shell = 'echo ${PATH} $HOME'\n"
			  "  }\n"
			  "}\n",
			  &f) == false);
	/* command and shell together is the only problem: nothing was expanded. */
	assert_int_equal(f.errors.len, 1);
	assert_non_null(strstr(f.errors.v[0].message, "command and shell"));
	dag_file_finish(&f);

	assert_true(parse("dag a { task t { image = x shell = \"echo \\${HOME}\" } }", &f));
	assert_string_equal(f.dags[0]->tasks[0].shell, "echo ${HOME}");
	dag_file_finish(&f);
	assert_true(parse("dag a { task t { image = x command = {'${HOME}', \"$HOME\"} } }", &f));
	ASSERT_STRV(&f.dags[0]->tasks[0].command, "${HOME}", "$HOME");
	dag_file_finish(&f);
}

/* After a parse that stopped inside a string, the next parse starts clean. */
static void test_parser_reusable(void **state)
{
	(void)state;
	struct dag_file f;
	assert_false(parse("dag a { description = \"open", &f));
	dag_file_finish(&f);
	assert_false(parse("dag a { description = 'open", &f));
	dag_file_finish(&f);
	assert_true(parse("dag b { task t { image = \"x\" } }", &f));
	assert_string_equal(f.dags[0]->dag_id, "b");
	dag_file_finish(&f);
}

static void test_graph_validate_direct(void **state)
{
	(void)state;
	struct dag d = {.dag_id = "g", .file = "g.dag"};
	struct task tasks[3] = {
	    {.task_id = "a", .line = 1}, {.task_id = "b", .line = 2}, {.task_id = "a", .line = 3}};
	strv_push(&tasks[1].upstream, "a");
	d.tasks = tasks;
	d.n_tasks = 3;
	struct dag_errors errs = {0};
	assert_false(dag_graph_validate(&d, &errs));
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.v[0].line, 3);
	assert_string_equal(errs.v[0].message, "dag 'g': task 'a' defined twice (first at line 1)");
	assert_int_equal(tasks[1].n_up, 1);
	assert_int_equal(tasks[1].up_idx[0], 0); /* the first 'a' */
	assert_non_null(d.topo);
	dag_errors_finish(&errs);
	for (size_t i = 0; i < 3; i++) {
		free(tasks[i].up_idx);
		free(tasks[i].down_idx);
	}
	strv_finish(&tasks[1].upstream);
	free(d.topo);
}

static void test_trigger_rules(void **state)
{
	(void)state;
	static const char *const names[] = {"all_success", "all_failed",  "all_done", "one_success",
					    "one_failed",  "none_failed", "always"};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		enum trigger_rule r = TRIGGER_ALWAYS;
		assert_true(trigger_rule_parse(names[i], &r));
		assert_int_equal(r, (enum trigger_rule)i);
		assert_string_equal(trigger_rule_name(r), names[i]);
	}
	enum trigger_rule r = TRIGGER_ALL_DONE;
	assert_false(trigger_rule_parse("All_success", &r));
	assert_false(trigger_rule_parse("", &r));
	assert_false(trigger_rule_parse(NULL, &r));
	assert_int_equal(r, TRIGGER_ALL_DONE);
	assert_string_equal(trigger_rule_name((enum trigger_rule)99), "unknown");
}

static void test_id_valid(void **state)
{
	(void)state;
	char long_id[202];
	memset(long_id, 'a', 201);
	long_id[201] = '\0';
	assert_false(dag_id_valid(long_id));
	long_id[200] = '\0';
	assert_true(dag_id_valid(long_id));
	assert_true(dag_id_valid("etl"));
	assert_true(dag_id_valid("_x.y-z9"));
	assert_true(dag_id_valid("9lives"));
	assert_false(dag_id_valid(""));
	assert_false(dag_id_valid(NULL));
	assert_false(dag_id_valid(".hidden"));
	assert_false(dag_id_valid("-x"));
	assert_false(dag_id_valid("a b"));
	assert_false(dag_id_valid("a/b"));
	assert_false(dag_id_valid("caf\xc3\xa9"));
}

static void test_task_lookup(void **state)
{
	(void)state;
	struct dag_file f;
	assert_true(parse("dag a { task x { image = i } task y { image = i } }", &f));
	assert_int_equal(dag_task_index(f.dags[0], "y"), 1);
	assert_int_equal(dag_task_index(f.dags[0], "z"), -1);
	assert_ptr_equal(dag_task_find(f.dags[0], "x"), &f.dags[0]->tasks[0]);
	assert_null(dag_task_find(f.dags[0], "z"));
	dag_file_finish(&f);
	dag_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_key_dag),
	    cmocka_unit_test(test_every_key_task),
	    cmocka_unit_test(test_defaults_merged),
	    cmocka_unit_test(test_builtin_defaults),
	    cmocka_unit_test(test_several_dags),
	    cmocka_unit_test(test_empty_file),
	    cmocka_unit_test(test_topo_order),
	    cmocka_unit_test(test_broken_inputs),
	    cmocka_unit_test(test_all_errors_listed),
	    cmocka_unit_test(test_line_numbers),
	    cmocka_unit_test(test_invalid_start_date_alone),
	    cmocka_unit_test(test_long_tokens),
	    cmocka_unit_test(test_too_many_sections),
	    cmocka_unit_test(test_env_not_expanded),
	    cmocka_unit_test(test_parser_reusable),
	    cmocka_unit_test(test_graph_validate_direct),
	    cmocka_unit_test(test_trigger_rules),
	    cmocka_unit_test(test_id_valid),
	    cmocka_unit_test(test_task_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
