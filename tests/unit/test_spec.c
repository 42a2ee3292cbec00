/* test_spec.c - spec_build and spec_service_name: the ServiceSpec JSON of one task try. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/core/spec.h"

#define RUN_ID "manual__2026-11-01"

/* The swarmflow.* labels of the fixture's try, as JSON members. */
#define IDENTITY_LABELS                                                                            \
	"\"swarmflow.managed\":\"true\",\"swarmflow.dag_id\":\"etl\","                             \
	"\"swarmflow.run_id\":\"" RUN_ID "\",\"swarmflow.task_id\":\"load\","                      \
	"\"swarmflow.try_number\":\"1\",\"swarmflow.instance\":\"prod\""

/* One DAG "etl" with one task "load" (busybox), try 1 of run RUN_ID, instance "prod". */
struct fixture {
	struct dag dag;
	struct task task;
	struct template_ctx tctx;
	struct spec_input in;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dag.dag_id = "etl";
	f->task.task_id = "load";
	f->task.image = "busybox:1.36";
	assert_true(time_parse_iso("2026-11-01", &f->tctx.logical_date));
	f->tctx.data_interval_start = f->tctx.logical_date - 86400;
	f->tctx.data_interval_end = f->tctx.logical_date;
	f->tctx.run_id = RUN_ID;
	f->tctx.dag_id = "etl";
	f->tctx.task_id = "load";
	f->tctx.try_number = 1;
	f->tctx.conf = json_pack("{ss si}", "table", "sales", "n", 3);
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
	struct task *t = &f->task;
	struct strv *lists[] = {&t->command,     &t->entrypoint,  &t->env,     &t->labels,
				&t->mounts,      &t->secrets,     &t->configs, &t->networks,
				&t->constraints, &t->preferences, &t->log_opts};
	for (size_t i = 0; i < ARRAY_LEN(lists); i++)
		strv_finish(lists[i]);
	json_decref((json_t *)f->tctx.conf);
	free(f);
	return 0;
}

static void push(struct strv *sv, const char *a, const char *b, const char *c)
{
	const char *v[] = {a, b, c};
	for (size_t i = 0; i < ARRAY_LEN(v); i++)
		if (v[i])
			strv_push(sv, v[i]);
}

static json_t *build(struct fixture *f)
{
	char *err = NULL;
	json_t *spec = spec_build(&f->in, &err);
	if (!spec)
		fail_msg("spec_build failed: %s", err);
	assert_null(err);
	return spec;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_error_t jerr;
	json_t *want = json_loads(want_text, JSON_DECODE_ANY, &jerr);
	if (!want)
		fail_msg("bad expected JSON: %s: %s", jerr.text, want_text);
	if (!json_equal(got, want)) {
		char *text = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
		fail_msg("got  %s\nwant %s", text ? text : "(null)", want_text);
	}
	json_decref(want);
}

/* Builds the spec and compares the object at path (keys, NULL-terminated) to want_text. */
static void assert_at(struct fixture *f, const char *want_text, const char *k1, const char *k2,
		      const char *k3)
{
	json_t *spec = build(f);
	const char *keys[] = {k1, k2, k3};
	json_t *j = spec;
	for (size_t i = 0; i < ARRAY_LEN(keys) && keys[i]; i++)
		j = json_object_get(j, keys[i]);
	assert_json(j, want_text);
	json_decref(spec);
}

static void assert_cs(struct fixture *f, const char *key, const char *want_text)
{
	assert_at(f, want_text, "TaskTemplate", "ContainerSpec", key);
}

/* Expects spec_build to fail with an error that starts with prefix and contains part. */
static void assert_build_fails(struct fixture *f, const char *prefix, const char *part)
{
	char *err = NULL;
	json_t *spec = spec_build(&f->in, &err);
	if (spec)
		fail_msg("spec_build succeeded, want an error starting \"%s\"", prefix);
	assert_non_null(err);
	if (!str_has_prefix(err, prefix) || !strstr(err, part))
		fail_msg("error \"%s\", want \"%s...%s...\"", err, prefix, part);
	free(err);
}

/* Swarm's rule for service names: ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$, at most 63. */
static bool swarm_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SPEC_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || i == n - 1 || (c != '-' && c != '_')))
			return false;
	}
	return true;
}

/* --- the whole spec --- */

static void test_minimal_spec(void **state)
{
	struct fixture *f = *state;
	json_t *spec = build(f);
	assert_json(spec, "{\"Name\":\"swarmflow_etl_load_975628e1\","
			  "\"Labels\":{" IDENTITY_LABELS "},"
			  "\"TaskTemplate\":{"
			  "\"ContainerSpec\":{\"Image\":\"busybox:1.36\","
			  "\"Labels\":{" IDENTITY_LABELS "}},"
			  "\"RestartPolicy\":{\"Condition\":\"none\",\"MaxAttempts\":0}},"
			  "\"Mode\":{\"ReplicatedJob\":{\"MaxConcurrent\":1,"
			  "\"TotalCompletions\":1}}}");
	json_decref(spec);
}

/* The DESIGN.md example's `transform` task, whole. */
static void test_design_transform(void **state)
{
	struct fixture *f = *state;
	f->task.task_id = "transform";
	f->tctx.task_id = "transform";
	push(&f->task.command, "/bin/echo", "run", "{{ run_id }}");
	push(&f->task.env, "MODE=full", "DAY={{ ds_nodash }}", NULL);
	f->task.cpus = 0.5;
	f->task.memory = 256 << 20;
	json_t *spec = build(f);
	const char *labels = "\"swarmflow.managed\":\"true\",\"swarmflow.dag_id\":\"etl\","
			     "\"swarmflow.run_id\":\"" RUN_ID "\","
			     "\"swarmflow.task_id\":\"transform\","
			     "\"swarmflow.try_number\":\"1\",\"swarmflow.instance\":\"prod\"";
	char *want = xasprintf(
	    "{\"Name\":\"swarmflow_etl_transform_aecd4fb9\",\"Labels\":{%s},"
	    "\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"busybox:1.36\","
	    "\"Labels\":{%s},\"Args\":[\"/bin/echo\",\"run\",\"" RUN_ID "\"],"
	    "\"Env\":[\"MODE=full\",\"DAY=20261101\"]},"
	    "\"Resources\":{\"Limits\":{\"NanoCPUs\":500000000,\"MemoryBytes\":268435456}},"
	    "\"RestartPolicy\":{\"Condition\":\"none\",\"MaxAttempts\":0}},"
	    "\"Mode\":{\"ReplicatedJob\":{\"MaxConcurrent\":1,\"TotalCompletions\":1}}}",
	    labels, labels);
	assert_json(spec, want);
	free(want);
	json_decref(spec);
}

/* --- one test per key of the DESIGN.md table --- */

static void test_key_image(void **state)
{
	struct fixture *f = *state;
	f->task.image = "registry.local:5000/etl/tool@sha256:abc";
	assert_cs(f, "Image", "\"registry.local:5000/etl/tool@sha256:abc\"");
}

static void test_key_command(void **state)
{
	struct fixture *f = *state;
	push(&f->task.command, "/bin/echo", "a b", "");
	assert_cs(f, "Args", "[\"/bin/echo\",\"a b\",\"\"]");
}

static void test_key_shell(void **state)
{
	struct fixture *f = *state;
	f->task.shell = "echo extracting && ls | wc -l";
	assert_cs(f, "Args", "[\"/bin/sh\",\"-c\",\"echo extracting && ls | wc -l\"]");
}

static void test_key_entrypoint(void **state)
{
	struct fixture *f = *state;
	push(&f->task.entrypoint, "/usr/bin/env", "python3", NULL);
	push(&f->task.command, "job.py", NULL, NULL);
	assert_cs(f, "Command", "[\"/usr/bin/env\",\"python3\"]");
	assert_cs(f, "Args", "[\"job.py\"]");
}

static void test_key_env(void **state)
{
	struct fixture *f = *state;
	push(&f->task.env, "MODE=full", "EMPTY=", "A=b=c");
	assert_cs(f, "Env", "[\"MODE=full\",\"EMPTY=\",\"A=b=c\"]");
}

static void test_key_workdir_user_hostname(void **state)
{
	struct fixture *f = *state;
	f->task.workdir = "/work";
	f->task.user = "1000:1000";
	f->task.hostname = "etl-box";
	assert_cs(f, NULL,
		  "{\"Image\":\"busybox:1.36\",\"Labels\":{" IDENTITY_LABELS "},"
		  "\"Dir\":\"/work\",\"User\":\"1000:1000\",\"Hostname\":\"etl-box\"}");
}

static void test_key_labels(void **state)
{
	struct fixture *f = *state;
	push(&f->task.labels, "team=data", "bare", "url=http://x/?a=b");
	const char *want =
	    "{\"team\":\"data\",\"bare\":\"\",\"url\":\"http://x/?a=b\"," IDENTITY_LABELS "}";
	assert_cs(f, "Labels", want);
	assert_at(f, want, "Labels", NULL, NULL);
}

static void test_key_mounts(void **state)
{
	struct fixture *f = *state;
	push(&f->task.mounts, "type=volume,source=warehouse,target=/data",
	     "type=tmpfs,target=/scratch,tmpfs-mode=1777", NULL);
	assert_cs(f, "Mounts",
		  "[{\"Type\":\"volume\",\"Source\":\"warehouse\",\"Target\":\"/data\"},"
		  "{\"Type\":\"tmpfs\",\"Target\":\"/scratch\",\"TmpfsOptions\":{\"Mode\":1023}}]");
}

static void test_key_secrets(void **state)
{
	struct fixture *f = *state;
	push(&f->task.secrets, "db_password", "tls_key:/etc/tls/key.pem", "api:api_token");
	assert_cs(f, "Secrets",
		  "[{\"SecretName\":\"db_password\",\"File\":{\"Name\":\"db_password\","
		  "\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}},"
		  "{\"SecretName\":\"tls_key\",\"File\":{\"Name\":\"/etc/tls/key.pem\","
		  "\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}},"
		  "{\"SecretName\":\"api\",\"File\":{\"Name\":\"api_token\","
		  "\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}}]");
}

static void test_key_secrets_with_ids(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {"s1d", NULL};
	push(&f->task.secrets, "db_password", "other:x", NULL);
	f->in.secret_ids = ids;
	assert_cs(f, "Secrets",
		  "[{\"SecretID\":\"s1d\",\"SecretName\":\"db_password\",\"File\":{"
		  "\"Name\":\"db_password\",\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}},"
		  "{\"SecretName\":\"other\",\"File\":{\"Name\":\"x\","
		  "\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}}]");
}

static void test_key_configs(void **state)
{
	struct fixture *f = *state;
	push(&f->task.configs, "etl_conf:/etc/etl.conf", NULL, NULL);
	assert_cs(f, "Configs",
		  "[{\"ConfigName\":\"etl_conf\",\"File\":{\"Name\":\"/etc/etl.conf\","
		  "\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}}]");
}

static void test_key_configs_with_ids(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {"c0nf1g", "c2"};
	push(&f->task.configs, "etl_conf:/etc/etl.conf", "b:/b", NULL);
	f->in.config_ids = ids;
	assert_cs(f, "Configs",
		  "[{\"ConfigID\":\"c0nf1g\",\"ConfigName\":\"etl_conf\",\"File\":{"
		  "\"Name\":\"/etc/etl.conf\",\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}},"
		  "{\"ConfigID\":\"c2\",\"ConfigName\":\"b\",\"File\":{"
		  "\"Name\":\"/b\",\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292}}]");
}

static void test_key_networks(void **state)
{
	struct fixture *f = *state;
	push(&f->task.networks, "etl_net", "monitoring", NULL);
	assert_at(f, "[{\"Target\":\"etl_net\"},{\"Target\":\"monitoring\"}]", "TaskTemplate",
		  "Networks", NULL);
}

static void test_key_constraints_preferences(void **state)
{
	struct fixture *f = *state;
	push(&f->task.constraints, "node.role==worker", "node.labels.ssd==true", NULL);
	push(&f->task.preferences, "spread=node.labels.zone", "spread=node.id", NULL);
	assert_at(f,
		  "{\"Constraints\":[\"node.role==worker\",\"node.labels.ssd==true\"],"
		  "\"Preferences\":[{\"Spread\":{\"SpreadDescriptor\":\"node.labels.zone\"}},"
		  "{\"Spread\":{\"SpreadDescriptor\":\"node.id\"}}]}",
		  "TaskTemplate", "Placement", NULL);
}

static void test_key_constraints_only(void **state)
{
	struct fixture *f = *state;
	push(&f->task.constraints, "node.role==manager", NULL, NULL);
	assert_at(f, "{\"Constraints\":[\"node.role==manager\"]}", "TaskTemplate", "Placement",
		  NULL);
}

static void test_key_cpus_memory(void **state)
{
	struct fixture *f = *state;
	f->task.cpus = 1.5;
	f->task.memory = 1073741824;
	assert_at(f, "{\"Limits\":{\"NanoCPUs\":1500000000,\"MemoryBytes\":1073741824}}",
		  "TaskTemplate", "Resources", NULL);
}

static void test_key_cpus_rounding(void **state)
{
	struct fixture *f = *state;
	f->task.cpus = 1.0000000006; /* 1000000000.6 nano-CPUs: rounded, not cut */
	assert_at(f, "{\"Limits\":{\"NanoCPUs\":1000000001}}", "TaskTemplate", "Resources", NULL);
}

static void test_key_reservations(void **state)
{
	struct fixture *f = *state;
	f->task.reserve_cpus = 0.25;
	f->task.reserve_memory = 512 << 10;
	f->task.memory = 1 << 20;
	assert_at(f,
		  "{\"Limits\":{\"MemoryBytes\":1048576},"
		  "\"Reservations\":{\"NanoCPUs\":250000000,\"MemoryBytes\":524288}}",
		  "TaskTemplate", "Resources", NULL);
}

static void test_key_tty_init(void **state)
{
	struct fixture *f = *state;
	f->task.tty = true;
	f->task.init = true;
	assert_cs(f, NULL,
		  "{\"Image\":\"busybox:1.36\",\"Labels\":{" IDENTITY_LABELS "},"
		  "\"TTY\":true,\"Init\":true}");
}

static void test_key_init_only(void **state)
{
	struct fixture *f = *state;
	f->task.init = true;
	assert_cs(f, NULL,
		  "{\"Image\":\"busybox:1.36\",\"Labels\":{" IDENTITY_LABELS "},\"Init\":true}");
}

static void test_key_log_driver(void **state)
{
	struct fixture *f = *state;
	f->task.log_driver = "json-file";
	push(&f->task.log_opts, "max-size=10m", "max-file=3", "compress");
	assert_at(f,
		  "{\"Name\":\"json-file\",\"Options\":{\"max-size\":\"10m\",\"max-file\":\"3\","
		  "\"compress\":\"\"}}",
		  "TaskTemplate", "LogDriver", NULL);
}

static void test_key_log_driver_no_opts(void **state)
{
	struct fixture *f = *state;
	f->task.log_driver = "local";
	assert_at(f, "{\"Name\":\"local\"}", "TaskTemplate", "LogDriver", NULL);
}

/* --- labels, mode --- */

static void test_identity_labels_win(void **state)
{
	struct fixture *f = *state;
	push(&f->task.labels, "swarmflow.managed=false", "swarmflow.dag_id=other", "keep=1");
	f->tctx.try_number = 12;
	const char *want = "{\"keep\":\"1\",\"swarmflow.managed\":\"true\","
			   "\"swarmflow.dag_id\":\"etl\",\"swarmflow.run_id\":\"" RUN_ID "\","
			   "\"swarmflow.task_id\":\"load\",\"swarmflow.try_number\":\"12\","
			   "\"swarmflow.instance\":\"prod\"}";
	assert_at(f, want, "Labels", NULL, NULL);
	assert_cs(f, "Labels", want);
}

static void test_mode_replicated(void **state)
{
	struct fixture *f = *state;
	f->in.job_mode = false;
	assert_at(f, "{\"Replicated\":{\"Replicas\":1}}", "Mode", NULL, NULL);
	assert_at(f, "{\"Condition\":\"none\",\"MaxAttempts\":0}", "TaskTemplate", "RestartPolicy",
		  NULL);
}

static void test_mode_job(void **state)
{
	struct fixture *f = *state;
	assert_at(f, "{\"ReplicatedJob\":{\"MaxConcurrent\":1,\"TotalCompletions\":1}}", "Mode",
		  NULL, NULL);
}

/* --- the name --- */

static void test_name_exact(void **state)
{
	(void)state;
	char name[SPEC_NAME_MAX + 1];
	spec_service_name("swarmflow", "prod", "etl", RUN_ID, "load", 1, name);
	assert_string_equal(name, "swarmflow_etl_load_975628e1");
	spec_service_name("swarmflow", "prod", "etl", RUN_ID, "load", 2, name);
	assert_string_equal(name, "swarmflow_etl_load_bd58a34a");
	/* NULL prefix and instance mean the defaults, "swarmflow". */
	spec_service_name(NULL, NULL, "etl", "r", "load", 0, name);
	assert_string_equal(name, "swarmflow_etl_load_10fbcf52");
}

static void test_name_in_spec(void **state)
{
	struct fixture *f = *state;
	f->tctx.try_number = 2;
	assert_at(f, "\"swarmflow_etl_load_bd58a34a\"", "Name", NULL, NULL);
	f->in.service_prefix = "sf";
	assert_at(f, "\"sf_etl_load_bd58a34a\"", "Name", NULL, NULL);
}

static void test_name_deterministic_and_distinct(void **state)
{
	(void)state;
	char a[SPEC_NAME_MAX + 1], b[SPEC_NAME_MAX + 1];
	spec_service_name("p", "i", "d", "r", "t", 3, a);
	spec_service_name("p", "i", "d", "r", "t", 3, b);
	assert_string_equal(a, b);
	spec_service_name("p", "i", "d", "r", "t", 4, b);
	assert_string_not_equal(a, b);
	spec_service_name("p", "i2", "d", "r", "t", 3, b);
	assert_string_not_equal(a, b);
	spec_service_name("p", "i", "d", "r2", "t", 3, b);
	assert_string_not_equal(a, b);
	/* Separators: ("a", "bc") and ("ab", "c") hash differently (compare the hex only). */
	spec_service_name("p", "a", "bc", "r", "t", 1, a);
	spec_service_name("p", "ab", "c", "r", "t", 1, b);
	assert_string_not_equal(a + strlen(a) - 8, b + strlen(b) - 8);
	spec_service_name("p", "i", "d", "r1", "t", 1, a);
	spec_service_name("p", "i", "d", "r", "t", 11, b);
	assert_string_not_equal(a + strlen(a) - 8, b + strlen(b) - 8);
}

static void test_name_long_cut(void **state)
{
	(void)state;
	char dag[201], name[SPEC_NAME_MAX + 1];
	memset(dag, 'd', 200);
	dag[200] = '\0';
	spec_service_name("swarmflow", "prod", dag, "r", "task", 1, name);
	assert_int_equal(strlen(name), 63);
	assert_memory_equal(name, "swarmflow_dddddddddddddddddddddddddddddddddddddddddddd_", 55);
	assert_true(swarm_name_valid(name));
	/* Two tasks of one long DAG still differ by their hash. */
	char other[SPEC_NAME_MAX + 1];
	spec_service_name("swarmflow", "prod", dag, "r", "task2", 1, other);
	assert_int_equal(strlen(other), 63);
	assert_string_not_equal(name, other);
	/* Exactly fitting: 54 characters before "_hash" are kept whole. */
	spec_service_name("p", "i", "dag45678901234567890123456789012345678901234567890", "r", "t",
			  1, name);
	assert_int_equal(strlen(name), 63);
	assert_memory_equal(name, "p_dag45678901234567890123456789012345678901234567890_t_", 55);
}

static void test_name_bad_chars(void **state)
{
	(void)state;
	char name[SPEC_NAME_MAX + 1];
	spec_service_name("my.flow", "prod", "etl.daily", "r", "load@x y", 1, name);
	assert_int_equal(strlen(name), 35);
	assert_memory_equal(name, "my-flow_etl-daily_load-x-y_", 27);
	assert_true(swarm_name_valid(name));
	/* A leading non-alphanumeric is dropped. */
	spec_service_name("", "prod", "_etl", "r", "load", 1, name);
	assert_memory_equal(name, "etl_load_", 9);
	assert_int_equal(strlen(name), 17);
	assert_true(swarm_name_valid(name));
	spec_service_name("-.x", "prod", "etl", "r", "load", 1, name);
	assert_memory_equal(name, "x_etl_load_", 11);
	assert_true(swarm_name_valid(name));
	spec_service_name("swarmflow", "prod", "etl", "r", "load", 1, name);
	assert_true(swarm_name_valid(name));
}

/* --- templates --- */

static void test_templates_rendered(void **state)
{
	struct fixture *f = *state;
	push(&f->task.command, "/bin/echo", "{{ ds }}", "{{ conf.table }}/{{ conf.n }}");
	push(&f->task.entrypoint, "/run-{{ dag_id }}", "--try={{ try_number }}", NULL);
	push(&f->task.env, "DAY={{ ds_nodash }}", "TS={{ ts }}", "T={{ task_id }}");
	push(&f->task.labels, "day={{ ds }}", "table={{ conf.table }}", NULL);
	assert_cs(f, "Args", "[\"/bin/echo\",\"2026-11-01\",\"sales/3\"]");
	assert_cs(f, "Command", "[\"/run-etl\",\"--try=1\"]");
	assert_cs(f, "Env", "[\"DAY=20261101\",\"TS=2026-11-01T00:00:00+00:00\",\"T=load\"]");
	const char *labels = "{\"day\":\"2026-11-01\",\"table\":\"sales\"," IDENTITY_LABELS "}";
	assert_cs(f, "Labels", labels);
	assert_at(f, labels, "Labels", NULL, NULL);
}

static void test_template_shell(void **state)
{
	struct fixture *f = *state;
	f->task.shell = "echo {{ run_id }} {{ data_interval_start }}";
	assert_cs(f, "Args", "[\"/bin/sh\",\"-c\",\"echo " RUN_ID " 2026-10-31T00:00:00+00:00\"]");
}

/* Values outside the templated fields are taken as written. */
static void test_template_not_in_other_fields(void **state)
{
	struct fixture *f = *state;
	f->task.workdir = "/w/{{ ds }}";
	assert_cs(f, "Dir", "\"/w/{{ ds }}\"");
}

static void test_template_errors_name_field(void **state)
{
	struct fixture *f = *state;
	struct strv *lists[] = {&f->task.command, &f->task.entrypoint, &f->task.env,
				&f->task.labels};
	const char *prefixes[] = {"task 'load': command: ", "task 'load': entrypoint: ",
				  "task 'load': env: ", "task 'load': labels: "};
	for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
		push(lists[i], "ok", "x={{ conf.nope }}", NULL);
		assert_build_fails(f, prefixes[i], "'nope'");
		strv_finish(lists[i]);
	}
	f->task.shell = "echo {{ conf.nope }}";
	assert_build_fails(f, "task 'load': shell: ", "'nope'");
}

static void test_template_error_exact(void **state)
{
	struct fixture *f = *state;
	json_decref((json_t *)f->tctx.conf);
	f->tctx.conf = NULL;
	push(&f->task.command, "{{ conf.table }}", NULL, NULL);
	char *err = NULL;
	assert_null(spec_build(&f->in, &err));
	assert_string_equal(err, "task 'load': command: conf key 'table' is not in the run's conf");
	free(err);
}

/* --- other errors --- */

static void test_preference_error(void **state)
{
	struct fixture *f = *state;
	push(&f->task.preferences, "spread=node.labels.zone", "pack=node.id", NULL);
	char *err = NULL;
	assert_null(spec_build(&f->in, &err));
	assert_string_equal(err,
			    "task 'load': preferences: 'pack=node.id' is not spread=DESCRIPTOR");
	free(err);
	strv_finish(&f->task.preferences);
	push(&f->task.preferences, "spread=", NULL, NULL);
	assert_build_fails(f, "task 'load': preferences: 'spread='", "spread=DESCRIPTOR");
}

static void test_mount_error(void **state)
{
	struct fixture *f = *state;
	push(&f->task.mounts, "type=bind,target=/a", NULL, NULL);
	char *err = NULL;
	assert_null(spec_build(&f->in, &err));
	assert_string_equal(err, "task 'load': mount 'type=bind,target=/a': bind mount needs a "
				 "source");
	free(err);
}

static void test_command_and_shell_error(void **state)
{
	struct fixture *f = *state;
	push(&f->task.command, "a", NULL, NULL);
	f->task.shell = "b";
	assert_build_fails(f, "task 'load': command and shell are exclusive", "");
}

static void test_secret_config_errors(void **state)
{
	struct fixture *f = *state;
	push(&f->task.secrets, ":target", NULL, NULL);
	assert_build_fails(f, "task 'load': secrets: ':target' has no name", "");
	strv_finish(&f->task.secrets);
	push(&f->task.configs, ":/etc/x", NULL, NULL);
	assert_build_fails(f, "task 'load': configs: ':/etc/x' has no name", "");
}

static void test_label_and_log_opt_errors(void **state)
{
	struct fixture *f = *state;
	push(&f->task.labels, "=v", NULL, NULL);
	assert_build_fails(f, "task 'load': labels: '=v' has no key", "");
	strv_finish(&f->task.labels);
	push(&f->task.log_opts, "max-size=1m", NULL, NULL);
	assert_build_fails(f, "task 'load': log_opts needs a log_driver", "");
}

static void test_missing_input(void **state)
{
	struct fixture *f = *state;
	f->in.tctx = NULL;
	assert_build_fails(f, "spec: a DAG, a task and a template context are required", "");
}

static void test_missing_image(void **state)
{
	struct fixture *f = *state;
	f->task.image = NULL;
	assert_build_fails(f, "task 'load': no image", "");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_minimal_spec),
	    T(test_design_transform),
	    T(test_key_image),
	    T(test_key_command),
	    T(test_key_shell),
	    T(test_key_entrypoint),
	    T(test_key_env),
	    T(test_key_workdir_user_hostname),
	    T(test_key_labels),
	    T(test_key_mounts),
	    T(test_key_secrets),
	    T(test_key_secrets_with_ids),
	    T(test_key_configs),
	    T(test_key_configs_with_ids),
	    T(test_key_networks),
	    T(test_key_constraints_preferences),
	    T(test_key_constraints_only),
	    T(test_key_cpus_memory),
	    T(test_key_cpus_rounding),
	    T(test_key_reservations),
	    T(test_key_tty_init),
	    T(test_key_init_only),
	    T(test_key_log_driver),
	    T(test_key_log_driver_no_opts),
	    T(test_identity_labels_win),
	    T(test_mode_replicated),
	    T(test_mode_job),
	    T(test_name_exact),
	    T(test_name_in_spec),
	    T(test_name_deterministic_and_distinct),
	    T(test_name_long_cut),
	    T(test_name_bad_chars),
	    T(test_templates_rendered),
	    T(test_template_shell),
	    T(test_template_not_in_other_fields),
	    T(test_template_errors_name_field),
	    T(test_template_error_exact),
	    T(test_preference_error),
	    T(test_mount_error),
	    T(test_command_and_shell_error),
	    T(test_secret_config_errors),
	    T(test_label_and_log_opt_errors),
	    T(test_missing_input),
	    T(test_missing_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
