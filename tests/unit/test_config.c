/* test_config.c - swarmflow.conf parsing, env overrides and the config file lookup order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/config.h"
#include "swarmflow/core/units.h"

#define MiB (1024 * 1024)

static void parse_ok(struct config *cfg, const char *buf)
{
	char *err = NULL;
	bool ok = config_parse_buf(cfg, buf, "t.conf", &err);
	if (!ok)
		fail_msg("unexpected error: %s", err);
	assert_null(err);
}

static void env_ok(struct config *cfg, char *const *envp)
{
	char *err = NULL;
	bool ok = config_apply_env(cfg, envp, &err);
	if (!ok)
		fail_msg("unexpected error: %s", err);
	assert_null(err);
}

static void assert_strv(const struct strv *sv, size_t n, const char *const *want)
{
	assert_int_equal(sv->len, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(sv->v[i], want[i]);
}

/* Every field as config_init leaves it; used after failed parses too. */
static void assert_defaults(const struct config *cfg)
{
	assert_null(cfg->file);
	assert_string_equal(cfg->dags_folder, "./dags");
	assert_string_equal(cfg->state_dir, "./state");
	assert_string_equal(cfg->docker_host, "unix:///var/run/docker.sock");
	assert_false(cfg->docker_host_set);
	assert_string_equal(cfg->docker_api_version, "auto");
	assert_string_equal(cfg->instance, "swarmflow");
	assert_string_equal(cfg->service_prefix, "swarmflow");
	assert_int_equal(cfg->parallelism, 32);
	assert_true(cfg->poll_interval == 0.5);
	assert_false(cfg->keep_failed_services);
	assert_true(cfg->dag_reload_interval == 5.0);
	assert_string_equal(cfg->log_level, "info");
	assert_null(cfg->on_failure_webhook);
	assert_string_equal(cfg->web_listen, "127.0.0.1:8080");
	assert_null(cfg->api_token_file);
	assert_null(cfg->pools);
	assert_int_equal(cfg->n_pools, 0);
	assert_int_equal(cfg->policy.bind_mount_prefixes.len, 0);
	assert_false(cfg->policy.allow_docker_socket);
	assert_strv(&cfg->policy.images, 1, (const char *const[]){"*"});
	assert_int_equal(cfg->policy.networks.len, 0);
	assert_true(cfg->policy.max_cpus == 0.0);
	assert_int_equal(cfg->policy.max_memory, 0);
}

static void test_defaults(void **state)
{
	struct config cfg;
	config_init(&cfg);
	assert_defaults(&cfg);
	config_finish(&cfg);
	assert_null(cfg.dags_folder);
	config_finish(&cfg); /* harmless twice */
}

static const char full_file[] = "# every key\n"
				"dags_folder = \"/dags\"\n"
				"state_dir = \"/var/lib/swarmflow\"\n"
				"docker_host = \"tcp://swarm.example:2376\"\n"
				"docker_api_version = \"1.43\"\n"
				"instance = prod-eu.1\n"
				"service_prefix = sf\n"
				"parallelism = 64\n"
				"poll_interval = 0.25\n"
				"keep_failed_services = true\n"
				"dag_reload_interval = 30\n"
				"log_level = debug\n"
				"on_failure_webhook = \"https://hooks.example/fail\"\n"
				"web_listen = \"[::1]:9090\"\n"
				"api_token_file = \"/run/secrets/swarmflow_api_token\"\n"
				"pool gpu { slots = 2 }\n"
				"pool \"etl.batch\" {\n"
				"  slots = 16\n"
				"}\n"
				"policy {\n"
				"  bind_mount_prefixes = {\"/srv\", \"/data\"}\n"
				"  allow_docker_socket = yes\n"
				"  images = {\"registry.example/*\", \"busybox:*\"}\n"
				"  networks = {etl_net}\n"
				"  max_cpus = 2.5\n"
				"  max_memory = \"4G\"\n"
				"}\n";

static void assert_full(const struct config *cfg)
{
	assert_string_equal(cfg->dags_folder, "/dags");
	assert_string_equal(cfg->state_dir, "/var/lib/swarmflow");
	assert_string_equal(cfg->docker_host, "tcp://swarm.example:2376");
	assert_true(cfg->docker_host_set);
	assert_string_equal(cfg->docker_api_version, "1.43");
	assert_string_equal(cfg->instance, "prod-eu.1");
	assert_string_equal(cfg->service_prefix, "sf");
	assert_int_equal(cfg->parallelism, 64);
	assert_true(cfg->poll_interval == 0.25);
	assert_true(cfg->keep_failed_services);
	assert_true(cfg->dag_reload_interval == 30.0);
	assert_string_equal(cfg->log_level, "debug");
	assert_string_equal(cfg->on_failure_webhook, "https://hooks.example/fail");
	assert_string_equal(cfg->web_listen, "[::1]:9090");
	assert_string_equal(cfg->api_token_file, "/run/secrets/swarmflow_api_token");
	assert_int_equal(cfg->n_pools, 2);
	assert_string_equal(cfg->pools[0].name, "gpu");
	assert_int_equal(cfg->pools[0].slots, 2);
	assert_string_equal(cfg->pools[1].name, "etl.batch");
	assert_int_equal(cfg->pools[1].slots, 16);
	assert_strv(&cfg->policy.bind_mount_prefixes, 2, (const char *const[]){"/srv", "/data"});
	assert_true(cfg->policy.allow_docker_socket);
	assert_strv(&cfg->policy.images, 2,
		    (const char *const[]){"registry.example/*", "busybox:*"});
	assert_strv(&cfg->policy.networks, 1, (const char *const[]){"etl_net"});
	assert_true(cfg->policy.max_cpus == 2.5);
	assert_int_equal(cfg->policy.max_memory, 4LL * 1024 * MiB);
}

static void test_full_file(void **state)
{
	struct config cfg;
	config_init(&cfg);
	parse_ok(&cfg, full_file);
	assert_string_equal(cfg.file, "t.conf");
	assert_full(&cfg);
	config_finish(&cfg);
}

static void test_parse_on_top(void **state)
{
	struct config cfg;
	config_init(&cfg);
	parse_ok(&cfg, full_file);
	parse_ok(&cfg, "parallelism = 3\npool gpu { slots = 5 }\npolicy { images = {} }\n");
	assert_int_equal(cfg.parallelism, 3);
	assert_string_equal(cfg.instance, "prod-eu.1");
	assert_int_equal(cfg.n_pools, 2);
	assert_int_equal(cfg.pools[0].slots, 5);
	assert_int_equal(cfg.policy.images.len, 0);
	assert_strv(&cfg.policy.networks, 1, (const char *const[]){"etl_net"});
	parse_ok(&cfg, "on_failure_webhook = \"\"\n# nothing else\n");
	assert_null(cfg.on_failure_webhook);
	parse_ok(&cfg, "api_token_file = \"\"\nweb_listen = off\n");
	assert_null(cfg.api_token_file);
	assert_string_equal(cfg.web_listen, "off");
	config_finish(&cfg);
}

static void test_empty_and_spellings(void **state)
{
	struct config cfg;
	config_init(&cfg);
	parse_ok(&cfg, "");
	assert_string_equal(cfg.file, "t.conf");
	parse_ok(&cfg, "parallelism = \"10000\"\nkeep_failed_services = On\npoll_interval = 60\n"
		       "log_level = warning\npolicy { max_memory = 0 }\n");
	assert_int_equal(cfg.parallelism, 10000);
	assert_true(cfg.keep_failed_services);
	assert_true(cfg.poll_interval == 60.0);
	assert_string_equal(cfg.log_level, "warning");
	assert_int_equal(cfg.policy.max_memory, 0);
	config_finish(&cfg);
}

/* Comments are blanked before libconfuse sees them: lines stay right, lists may hold them. */
static void test_comments(void **state)
{
	struct config cfg;
	config_init(&cfg);
	parse_ok(&cfg,
		 "# one\n// two\n/* three\n   four */ parallelism = 9 # five\n"
		 "docker_host = unix:///run/d.sock // an unquoted value keeps its slashes\n"
		 "on_failure_webhook = \"https://h/#x//y/*z*/\" # quoted text is kept\n"
		 "policy {\n  networks = {\n    a, # first\n    'b#\\'c' // second\n  }\n}\n");
	assert_int_equal(cfg.parallelism, 9);
	assert_string_equal(cfg.docker_host, "unix:///run/d.sock");
	assert_string_equal(cfg.on_failure_webhook, "https://h/#x//y/*z*/");
	assert_strv(&cfg.policy.networks, 2, (const char *const[]){"a", "b#'c"});

	static const char *const bad[] = {
	    "# 1\n# 2\n/* 3\n 4 */\n\"quoted # 5\" = 1\n",
	    "#\n#\n#\n#\nparallelism = 0 # 5\n",
	    "policy {\n  images = {\n    \"a\", # 3\n    \"\" // 4\n  } # 5\n}\n",
	};
	static const char *const want[] = {
	    "t.conf:5: no such option 'quoted # 5'",
	    "t.conf:5: parallelism: must be between 1 and 10000",
	    "t.conf:4: policy.images: must not hold empty items",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char *err = NULL;
		assert_false(config_parse_buf(&cfg, bad[i], "t.conf", &err));
		assert_string_equal(err, want[i]);
		free(err);
	}
	config_finish(&cfg);
}

static char *size_err(const char *s)
{
	int64_t bytes;
	char *msg = NULL;
	assert_false(size_parse(s, &bytes, &msg));
	return msg;
}

static void test_bad_file(void **state)
{
	static const struct {
		const char *buf;
		const char *err;
	} cases[] = {
	    {"parallelism = 0\n", "t.conf:1: parallelism: must be between 1 and 10000"},
	    /* libconfuse fails this without calling the error function (found by fuzz_config) */
	    {"\"\"", "t.conf:1: syntax error"},
	    {"# c\n\n\nparallelism = abc\n", "t.conf:4: parallelism: must be between 1 and 10000"},
	    {"parallelism = 10001", "t.conf:1: parallelism: must be between 1 and 10000"},
	    {"poll_interval = 0\n",
	     "t.conf:1: poll_interval: must be greater than 0 and at most 60"},
	    {"poll_interval = 60.5\n",
	     "t.conf:1: poll_interval: must be greater than 0 and at most 60"},
	    {"dag_reload_interval = nan\n",
	     "t.conf:1: dag_reload_interval: must be greater than 0 and at most 3600"},
	    {"keep_failed_services = maybe\n",
	     "t.conf:1: keep_failed_services: must be true or false"},
	    {"log_level = loud\n", "t.conf:1: log_level: must be debug, info, warn or error"},
	    {"instance = \"a b\"\n",
	     "t.conf:1: instance: must be 1 to 63 characters of [A-Za-z0-9_.-]"},
	    {"service_prefix = abcdefghijklmnopqrstu\n",
	     "t.conf:1: service_prefix: must be 1 to 20 characters of [A-Za-z0-9_.-] starting "
	     "with a letter or digit"},
	    {"service_prefix = -x\n",
	     "t.conf:1: service_prefix: must be 1 to 20 characters of [A-Za-z0-9_.-] starting "
	     "with a letter or digit"},
	    {"docker_host = \"http://x\"\n",
	     "t.conf:1: docker_host: must be unix:///path/to/socket or tcp://host:port"},
	    {"docker_api_version = \"1.4\"\n",
	     "t.conf:1: docker_api_version: must be \"auto\" or an API version like \"1.43\""},
	    {"dags_folder = \"\"\n", "t.conf:1: dags_folder: must not be empty"},
	    {"on_failure_webhook = \"ftp://x\"\n",
	     "t.conf:1: on_failure_webhook: must be an http:// or https:// URL (or \"\" for none)"},
	    {"parallelism = 4\nnosuchkey = 1\n", "t.conf:2: no such option 'nosuchkey'"},
	    {"parallelism 5\n", "t.conf:1: missing equal sign after option 'parallelism'"},
	    {"parallelism = {1, 2}\n", "t.conf:1: unexpected token '{'"},
	    {"\n}\n", "t.conf:2: unexpected closing brace"},
	    {"policy {\n  max_cpus = 1\n", "t.conf:3: premature end of file: missing '}'"},
	    {"policy {\n  max_cpus = 1 # }", "t.conf:2: premature end of file: missing '}'"},
	    {"parallelism =\n", "t.conf:2: premature end of file"},
	    {"pool gpu { slots = 0 }\n", "t.conf:1: pool.gpu.slots: must be between 1 and 100000"},
	    {"pool gpu { slots = 1 }\npool gpu { slots = 2 }\n",
	     "t.conf:2: found duplicate title 'gpu'"},
	    {"pool gpu {\n}\n", "t.conf:2: pool.gpu.slots: required"},
	    {"pool \"a b\" { slots = 1 }\n",
	     "t.conf:1: pool 'a b': name must be 1 to 63 characters of [A-Za-z0-9_.-]"},
	    {"pool gpu { size = 1 }\n", "t.conf:1: no such option 'size'"},
	    {"pool { slots = 1 }\n", "t.conf:1: missing title for section 'pool'"},
	    {"policy {\n  max_cpus = -1\n}\n",
	     "t.conf:2: policy.max_cpus: must be between 0 and 4096"},
	    {"policy {\n  bind_mount_prefixes = {\"/srv\",\n    \"data\"}\n}\n",
	     "t.conf:3: policy.bind_mount_prefixes: must hold absolute paths"},
	    {"policy { images = {\"\"} }\n", "t.conf:1: policy.images: must not hold empty items"},
	    {"policy { allow_docker_socket = 2 }\n",
	     "t.conf:1: policy.allow_docker_socket: must be true or false"},
	    {"policy { parallelism = 2 }\n", "t.conf:1: no such option 'parallelism'"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config cfg;
		config_init(&cfg);
		char *err = NULL;
		bool ok = config_parse_buf(&cfg, cases[i].buf, "t.conf", &err);
		if (ok || !err || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err ? err : "(null)",
				 cases[i].err);
		assert_defaults(&cfg); /* a failed parse changes nothing */
		free(err);
		config_finish(&cfg);
	}
}

static void test_bad_size_and_real_path(void **state)
{
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	assert_false(config_parse_buf(&cfg, "\npolicy {\n\n  max_memory = \"4X\"\n}\n",
				      "/etc/swarmflow/swarmflow.conf", &err));
	char *msg = size_err("4X");
	char *want = xasprintf("/etc/swarmflow/swarmflow.conf:4: policy.max_memory: %s", msg);
	assert_string_equal(err, want);
	free(want);
	free(msg);
	free(err);
	config_finish(&cfg);
}

static void test_env_overrides(void **state)
{
	char *envp[] = {
	    "HOME=/root",
	    "SWARMFLOW_DAGS_FOLDER=/env/dags",
	    "SWARMFLOW_STATE_DIR=/env/state",
	    "SWARMFLOW_DOCKER_HOST=unix:///run/docker.sock",
	    "SWARMFLOW_DOCKER_API_VERSION=1.41",
	    "SWARMFLOW_INSTANCE=staging",
	    "SWARMFLOW_SERVICE_PREFIX=stg",
	    "SWARMFLOW_PARALLELISM=8",
	    "SWARMFLOW_POLL_INTERVAL=2",
	    "SWARMFLOW_KEEP_FAILED_SERVICES=no",
	    "SWARMFLOW_DAG_RELOAD_INTERVAL=0.5",
	    "SWARMFLOW_LOG_LEVEL=error",
	    "SWARMFLOW_ON_FAILURE_WEBHOOK=http://hook.local/x",
	    "SWARMFLOW_WEB_LISTEN=:8081",
	    "SWARMFLOW_API_TOKEN_FILE=/env/token",
	    "SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES= /srv , /data,,",
	    "SWARMFLOW_POLICY_ALLOW_DOCKER_SOCKET=0",
	    "SWARMFLOW_POLICY_IMAGES=busybox:*",
	    "SWARMFLOW_POLICY_NETWORKS=",
	    "SWARMFLOW_POLICY_MAX_CPUS=16",
	    "SWARMFLOW_POLICY_MAX_MEMORY=512M",
	    "SWARMFLOW_CONFIG=/ignored/here",
	    "SWARMFLOW_NO_SUCH_KEY=ignored",
	    NULL,
	};
	struct config cfg;
	config_init(&cfg);
	parse_ok(&cfg, full_file);
	env_ok(&cfg, envp);
	assert_string_equal(cfg.dags_folder, "/env/dags");
	assert_string_equal(cfg.state_dir, "/env/state");
	assert_string_equal(cfg.docker_host, "unix:///run/docker.sock");
	assert_string_equal(cfg.docker_api_version, "1.41");
	assert_string_equal(cfg.instance, "staging");
	assert_string_equal(cfg.service_prefix, "stg");
	assert_int_equal(cfg.parallelism, 8);
	assert_true(cfg.poll_interval == 2.0);
	assert_false(cfg.keep_failed_services);
	assert_true(cfg.dag_reload_interval == 0.5);
	assert_string_equal(cfg.log_level, "error");
	assert_string_equal(cfg.on_failure_webhook, "http://hook.local/x");
	assert_string_equal(cfg.web_listen, ":8081");
	assert_string_equal(cfg.api_token_file, "/env/token");
	assert_strv(&cfg.policy.bind_mount_prefixes, 2, (const char *const[]){"/srv", "/data"});
	assert_false(cfg.policy.allow_docker_socket);
	assert_strv(&cfg.policy.images, 1, (const char *const[]){"busybox:*"});
	assert_int_equal(cfg.policy.networks.len, 0);
	assert_true(cfg.policy.max_cpus == 16.0);
	assert_int_equal(cfg.policy.max_memory, 512 * MiB);
	assert_string_equal(cfg.file, "t.conf");
	config_finish(&cfg);
}

static void test_env_none(void **state)
{
	char *envp[] = {"PATH=/bin", NULL};
	struct config cfg;
	config_init(&cfg);
	env_ok(&cfg, envp);
	env_ok(&cfg, NULL);
	assert_defaults(&cfg);
	config_finish(&cfg);
}

static void test_env_pools(void **state)
{
	char *envp[] = {
	    "SWARMFLOW_POOL_ETL_BATCH_SLOTS=3", /* matches pool "etl.batch" */
	    "SWARMFLOW_POOL_GPU_SLOTS=7",
	    "SWARMFLOW_POOL_NEW_ONE_SLOTS=1",
	    "SWARMFLOW_POOL_GPU=9",
	    "SWARMFLOW_POOL__SLOTS=9",
	    NULL,
	};
	struct config cfg;
	config_init(&cfg);
	parse_ok(&cfg, full_file);
	env_ok(&cfg, envp);
	assert_int_equal(cfg.n_pools, 3);
	assert_string_equal(cfg.pools[0].name, "gpu");
	assert_int_equal(cfg.pools[0].slots, 7);
	assert_string_equal(cfg.pools[1].name, "etl.batch");
	assert_int_equal(cfg.pools[1].slots, 3);
	assert_string_equal(cfg.pools[2].name, "new_one");
	assert_int_equal(cfg.pools[2].slots, 1);
	config_finish(&cfg);
}

static void test_env_bad(void **state)
{
	static const struct {
		const char *var;
		const char *err;
	} cases[] = {
	    {"SWARMFLOW_PARALLELISM=abc",
	     "SWARMFLOW_PARALLELISM: must be between 1 and 10000 (got 'abc')"},
	    {"SWARMFLOW_PARALLELISM=",
	     "SWARMFLOW_PARALLELISM: must be between 1 and 10000 (got '')"},
	    {"SWARMFLOW_POLL_INTERVAL=0",
	     "SWARMFLOW_POLL_INTERVAL: must be greater than 0 and at most 60 (got '0')"},
	    {"SWARMFLOW_DAG_RELOAD_INTERVAL= 5",
	     "SWARMFLOW_DAG_RELOAD_INTERVAL: must be greater than 0 and at most 3600 (got ' 5')"},
	    {"SWARMFLOW_KEEP_FAILED_SERVICES=maybe",
	     "SWARMFLOW_KEEP_FAILED_SERVICES: must be true or false (got 'maybe')"},
	    {"SWARMFLOW_LOG_LEVEL=loud",
	     "SWARMFLOW_LOG_LEVEL: must be debug, info, warn or error (got 'loud')"},
	    {"SWARMFLOW_SERVICE_PREFIX=",
	     "SWARMFLOW_SERVICE_PREFIX: must be 1 to 20 characters of [A-Za-z0-9_.-] starting "
	     "with a letter or digit (got '')"},
	    {"SWARMFLOW_INSTANCE=a/b",
	     "SWARMFLOW_INSTANCE: must be 1 to 63 characters of [A-Za-z0-9_.-] (got 'a/b')"},
	    {"SWARMFLOW_DOCKER_API_VERSION=latest",
	     "SWARMFLOW_DOCKER_API_VERSION: must be \"auto\" or an API version like \"1.43\" "
	     "(got 'latest')"},
	    {"SWARMFLOW_STATE_DIR=", "SWARMFLOW_STATE_DIR: must not be empty (got '')"},
	    {"SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES=/srv,data",
	     "SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES: must hold absolute paths (got '/srv,data')"},
	    {"SWARMFLOW_POLICY_ALLOW_DOCKER_SOCKET=2",
	     "SWARMFLOW_POLICY_ALLOW_DOCKER_SOCKET: must be true or false (got '2')"},
	    {"SWARMFLOW_POLICY_MAX_CPUS=x",
	     "SWARMFLOW_POLICY_MAX_CPUS: must be between 0 and 4096 (got 'x')"},
	    {"SWARMFLOW_POOL_GPU_SLOTS=0",
	     "SWARMFLOW_POOL_GPU_SLOTS: must be between 1 and 100000 (got '0')"},
	    {"SWARMFLOW_POOL_A B_SLOTS=1",
	     "SWARMFLOW_POOL_A B_SLOTS: pool name must be 1 to 63 characters of [A-Za-z0-9_.-]"},
	    {"DOCKER_HOST=ssh://me@host", "DOCKER_HOST: must be unix:///path/to/socket or "
					  "tcp://host:port (got 'ssh://me@host')"},
	    {"SWARMFLOW_WEB_LISTEN=8080",
	     "SWARMFLOW_WEB_LISTEN: must be \"HOST:PORT\", \"[IPV6]:PORT\", \":PORT\" or \"off\" "
	     "(got '8080')"},
	    {"SWARMFLOW_WEB_LISTEN=localhost:http",
	     "SWARMFLOW_WEB_LISTEN: port must be a number from 0 to 65535 (got 'localhost:http')"},
	    {"SWARMFLOW_WEB_LISTEN=",
	     "SWARMFLOW_WEB_LISTEN: must be \"HOST:PORT\", \"[IPV6]:PORT\", "
	     "\":PORT\" or \"off\" (got '')"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *envp[] = {(char *)cases[i].var, NULL};
		struct config cfg;
		config_init(&cfg);
		char *err = NULL;
		assert_false(config_apply_env(&cfg, envp, &err));
		if (!err || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err ? err : "(null)",
				 cases[i].err);
		free(err);
		config_finish(&cfg);
	}
}

/* node_lost_timeout: a duration (default 60 s, 0 turns the check off), in the file and as
 * SWARMFLOW_NODE_LOST_TIMEOUT; a bad value names the key or the variable. */
static void test_node_lost_timeout(void **state)
{
	struct config cfg;
	config_init(&cfg);
	assert_int_equal(cfg.node_lost_timeout_s, 60);
	parse_ok(&cfg, "node_lost_timeout = \"1m30s\"\n");
	assert_int_equal(cfg.node_lost_timeout_s, 90);
	parse_ok(&cfg, "parallelism = 4\n"); /* a file that does not set it keeps it */
	assert_int_equal(cfg.node_lost_timeout_s, 90);
	parse_ok(&cfg, "node_lost_timeout = 0\n");
	assert_int_equal(cfg.node_lost_timeout_s, 0);
	char *envp[] = {"SWARMFLOW_NODE_LOST_TIMEOUT=15s", NULL};
	env_ok(&cfg, envp);
	assert_int_equal(cfg.node_lost_timeout_s, 15);
	char *envp2[] = {"SWARMFLOW_NODE_LOST_TIMEOUT=120", NULL};
	env_ok(&cfg, envp2);
	assert_int_equal(cfg.node_lost_timeout_s, 120);

	char *err = NULL;
	assert_false(config_parse_buf(&cfg, "\nnode_lost_timeout = \"soon\"\n", "t.conf", &err));
	assert_string_equal(err, "t.conf:2: node_lost_timeout: invalid duration 'soon': expected "
				 "e.g. 90s, 10m, 1h30m or seconds");
	free(err);
	err = NULL;
	char *bad[] = {"SWARMFLOW_NODE_LOST_TIMEOUT=-5s", NULL};
	assert_false(config_apply_env(&cfg, bad, &err));
	assert_string_equal(err, "SWARMFLOW_NODE_LOST_TIMEOUT: invalid duration '-5s': expected "
				 "e.g. 90s, 10m, 1h30m or seconds (got '-5s')");
	free(err);
	assert_int_equal(cfg.node_lost_timeout_s, 120); /* unchanged by the failures */
	config_finish(&cfg);
}

/* lease_timeout: a duration of 1 s to 1 h (default 15 s), in the file and as
 * SWARMFLOW_LEASE_TIMEOUT; 0 (a standby would take over at once) is refused by name and line. */
static void test_lease_timeout(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	assert_int_equal(cfg.lease_timeout_s, 15);
	parse_ok(&cfg, "lease_timeout = \"1m\"\n");
	assert_int_equal(cfg.lease_timeout_s, 60);
	char *envp[] = {"SWARMFLOW_LEASE_TIMEOUT=4s", NULL};
	env_ok(&cfg, envp);
	assert_int_equal(cfg.lease_timeout_s, 4);
	char *err = NULL;
	assert_false(config_parse_buf(&cfg, "\n\nlease_timeout = 0\n", "t.conf", &err));
	assert_string_equal(err, "t.conf:3: lease_timeout: must be between 1s and 3600s");
	free(err);
	err = NULL;
	char *bad[] = {"SWARMFLOW_LEASE_TIMEOUT=2h", NULL};
	assert_false(config_apply_env(&cfg, bad, &err));
	assert_string_equal(err,
			    "SWARMFLOW_LEASE_TIMEOUT: must be between 1s and 3600s (got '2h')");
	free(err);
	assert_int_equal(cfg.lease_timeout_s, 4);
	config_finish(&cfg);
}

/* dag_rescan_interval: a duration of 1 s to 1 day (default 5 min), in the file and as
 * SWARMFLOW_DAG_RESCAN_INTERVAL; 0 (no safety net) is refused by name and line. */
static void test_dag_rescan_interval(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	assert_int_equal(cfg.dag_rescan_interval_s, 300);
	parse_ok(&cfg, "dag_rescan_interval = \"10m\"\n");
	assert_int_equal(cfg.dag_rescan_interval_s, 600);
	char *envp[] = {"SWARMFLOW_DAG_RESCAN_INTERVAL=30", NULL};
	env_ok(&cfg, envp);
	assert_int_equal(cfg.dag_rescan_interval_s, 30);
	char *err = NULL;
	assert_false(config_parse_buf(&cfg, "\ndag_rescan_interval = 0\n", "t.conf", &err));
	assert_string_equal(err, "t.conf:2: dag_rescan_interval: must be between 1s and 86400s");
	free(err);
	err = NULL;
	char *bad[] = {"SWARMFLOW_DAG_RESCAN_INTERVAL=2d", NULL};
	assert_false(config_apply_env(&cfg, bad, &err));
	assert_non_null(err);
	free(err);
	assert_int_equal(cfg.dag_rescan_interval_s, 30);
	config_finish(&cfg);
}

/* web_listen: every accepted spelling, and what is refused. */
static void test_listen(void **state)
{
	static const struct {
		const char *s;
		const char *host;
		int port;
	} good[] = {
	    {"127.0.0.1:8080", "127.0.0.1", 8080},
	    {":8080", "", 8080},
	    {"[::1]:9090", "::1", 9090},
	    {"[::]:80", "::", 80},
	    {"localhost:0", "localhost", 0},
	    {"web-1.example.org:65535", "web-1.example.org", 65535},
	    {"0.0.0.0:00080", "0.0.0.0", 80},
	};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		struct listen_addr a;
		const char *why = "unset";
		if (!config_listen_parse(good[i].s, &a, &why))
			fail_msg("'%s': %s", good[i].s, why);
		assert_null(why);
		assert_string_equal(a.host, good[i].host);
		assert_int_equal(a.port, good[i].port);
	}
	static const char *const bad[] = {
	    "off",   "8080",     "",        ":",         "host:",  ":65536",
	    ":-1",   ":80x",     ":123456", "::1:8080",  "[::1]",  "[::1]8080",
	    "[]:80", "[::g]:80", "a b:80",  "host/x:80", "[::1]:",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct listen_addr a;
		const char *why = NULL;
		if (config_listen_parse(bad[i], &a, &why))
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(why);
	}
	/* In a file: the error names the key and the line. */
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	assert_false(
	    config_parse_buf(&cfg, "parallelism = 2\nweb_listen = \"*:80\"\n", "t.conf", &err));
	assert_string_equal(err, "t.conf:2: web_listen: must be \"HOST:PORT\", \"[IPV6]:PORT\", "
				 "\":PORT\" or \"off\"");
	free(err);
	assert_string_equal(cfg.web_listen, "127.0.0.1:8080"); /* unchanged */
	config_finish(&cfg);
}

static void test_env_bad_size(void **state)
{
	char *envp[] = {"SWARMFLOW_POLICY_MAX_MEMORY=lots", NULL};
	struct config cfg;
	config_init(&cfg);
	char *err = NULL;
	assert_false(config_apply_env(&cfg, envp, &err));
	char *msg = size_err("lots");
	char *want = xasprintf("SWARMFLOW_POLICY_MAX_MEMORY: %s (got 'lots')", msg);
	assert_string_equal(err, want);
	free(want);
	free(msg);
	free(err);
	config_finish(&cfg);
}

static void test_docker_host_env(void **state)
{
	char *plain[] = {"DOCKER_HOST=tcp://10.0.0.1:2375", NULL};
	char *both[] = {"SWARMFLOW_DOCKER_HOST=unix:///sf.sock", "DOCKER_HOST=tcp://10.0.0.1:2375",
			NULL};
	char *empty[] = {"DOCKER_HOST=", NULL};
	struct config cfg;

	config_init(&cfg); /* no file: $DOCKER_HOST is the default */
	env_ok(&cfg, plain);
	assert_string_equal(cfg.docker_host, "tcp://10.0.0.1:2375");
	config_finish(&cfg);

	config_init(&cfg); /* SWARMFLOW_DOCKER_HOST wins over $DOCKER_HOST */
	env_ok(&cfg, both);
	assert_string_equal(cfg.docker_host, "unix:///sf.sock");
	config_finish(&cfg);

	config_init(&cfg); /* an empty $DOCKER_HOST is unset */
	env_ok(&cfg, empty);
	assert_string_equal(cfg.docker_host, "unix:///var/run/docker.sock");
	config_finish(&cfg);

	config_init(&cfg); /* the file's docker_host wins over $DOCKER_HOST, even the default */
	parse_ok(&cfg, "docker_host = \"unix:///var/run/docker.sock\"\n");
	env_ok(&cfg, plain);
	assert_string_equal(cfg.docker_host, "unix:///var/run/docker.sock");
	config_finish(&cfg);

	config_init(&cfg); /* a file without docker_host leaves $DOCKER_HOST in charge */
	parse_ok(&cfg, "parallelism = 2\n");
	env_ok(&cfg, plain);
	assert_string_equal(cfg.docker_host, "tcp://10.0.0.1:2375");
	config_finish(&cfg);
}

/* ---- config_load: a temporary directory as the working directory ---- */

struct tmpdir {
	char path[64];
	char cwd[4096];
};

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void write_conf(const char *path, int parallelism)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "parallelism = %d\n", parallelism);
	write_file(path, text, (size_t)n);
}

static int tmpdir_setup(void **state)
{
	struct tmpdir *t = xcalloc(1, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "/tmp/sf-config-XXXXXX");
	assert_non_null(mkdtemp(t->path));
	assert_non_null(getcwd(t->cwd, sizeof(t->cwd)));
	assert_int_equal(chdir(t->path), 0);
	*state = t;
	return 0;
}

static int tmpdir_teardown(void **state)
{
	static const char *const files[] = {"swarmflow.conf", "explicit.conf", "env.conf",
					    "big.conf",       "nul.conf",      "bad.conf"};
	struct tmpdir *t = *state;
	for (size_t i = 0; i < ARRAY_LEN(files); i++)
		unlink(files[i]);
	assert_int_equal(chdir(t->cwd), 0);
	assert_int_equal(rmdir(t->path), 0);
	free(t);
	return 0;
}

static int load_parallelism(const char *explicit_path, char *const *envp, char **file)
{
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	bool ok = config_load(&cfg, explicit_path, envp, &err);
	if (!ok)
		fail_msg("unexpected error: %s", err);
	int n = cfg.parallelism;
	*file = xstrdup(cfg.file);
	config_finish(&cfg);
	return n;
}

static void test_load_order(void **state)
{
	char *file = NULL;
	char *noenv[] = {NULL};
	char *withenv[] = {"SWARMFLOW_CONFIG=env.conf", NULL};
	char *emptyenv[] = {"SWARMFLOW_CONFIG=", NULL};
	write_conf("swarmflow.conf", 7);
	write_conf("explicit.conf", 8);
	write_conf("env.conf", 9);

	assert_int_equal(load_parallelism("explicit.conf", withenv, &file), 8);
	assert_string_equal(file, "explicit.conf");
	free(file);
	assert_int_equal(load_parallelism(NULL, withenv, &file), 9);
	assert_string_equal(file, "env.conf");
	free(file);
	assert_int_equal(load_parallelism(NULL, noenv, &file), 7);
	assert_string_equal(file, "./swarmflow.conf");
	free(file);
	assert_int_equal(load_parallelism("", emptyenv, &file), 7);
	free(file);

	assert_int_equal(unlink("swarmflow.conf"), 0);
	if (access("/etc/swarmflow/swarmflow.conf", F_OK) == 0)
		skip(); /* this machine has a system config: the defaults case cannot be seen */
	assert_int_equal(load_parallelism(NULL, noenv, &file), 32);
	assert_null(file);
}

static void test_load_env_after_file(void **state)
{
	char *envp[] = {"SWARMFLOW_PARALLELISM=11", "SWARMFLOW_CONFIG=env.conf", NULL};
	char *file = NULL;
	write_conf("env.conf", 9);
	assert_int_equal(load_parallelism(NULL, envp, &file), 11);
	assert_string_equal(file, "env.conf");
	free(file);
}

static void expect_load_error(const char *explicit_path, char *const *envp, const char *want)
{
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	assert_false(config_load(&cfg, explicit_path, envp, &err));
	assert_string_equal(err, want);
	config_finish(&cfg);
	free(err);
}

static void test_load_errors(void **state)
{
	char *noenv[] = {NULL};
	char *missing_env[] = {"SWARMFLOW_CONFIG=/nonexistent/sf.conf", NULL};
	char *bad_env[] = {"SWARMFLOW_PARALLELISM=0", NULL};
	write_conf("swarmflow.conf", 7); /* an implicit file never replaces a named one */

	expect_load_error("missing.conf", noenv, "missing.conf: No such file or directory");
	expect_load_error(NULL, missing_env, "/nonexistent/sf.conf: No such file or directory");
	expect_load_error(".", noenv, ".: Is a directory");

	write_file("bad.conf", "\nparallelism = 0\n", 17);
	expect_load_error("bad.conf", noenv,
			  "bad.conf:2: parallelism: must be between 1 and 10000");
	expect_load_error(NULL, bad_env,
			  "SWARMFLOW_PARALLELISM: must be between 1 and 10000 (got '0')");

	write_file("nul.conf", "parallelism = 1\n\0", 17);
	expect_load_error("nul.conf", noenv, "nul.conf: contains a NUL byte");

	size_t big = MiB + 1;
	char *data = xmalloc(big);
	memset(data, '#', big);
	write_file("big.conf", data, big);
	free(data);
	expect_load_error("big.conf", noenv, "big.conf: larger than 1048576 bytes");
}

/* The config shipped in the container image parses, and says what it claims. */
static void test_docker_conf(void **state)
{
	struct config cfg;
	char *err = NULL;
	char *noenv[] = {NULL};
	config_init(&cfg);
	bool ok = config_load(&cfg, "../../docker/swarmflow.conf", noenv, &err);
	if (!ok)
		fail_msg("docker/swarmflow.conf: %s", err);
	assert_string_equal(cfg.dags_folder, "/dags");
	assert_string_equal(cfg.state_dir, "/var/lib/swarmflow");
	struct config def;
	config_init(&def);
	assert_string_equal(cfg.docker_host, def.docker_host);
	assert_string_equal(cfg.docker_api_version, def.docker_api_version);
	assert_string_equal(cfg.instance, def.instance);
	assert_string_equal(cfg.service_prefix, def.service_prefix);
	assert_int_equal(cfg.parallelism, def.parallelism);
	assert_true(cfg.poll_interval == def.poll_interval);
	assert_int_equal(cfg.keep_failed_services, def.keep_failed_services);
	assert_true(cfg.dag_reload_interval == def.dag_reload_interval);
	assert_int_equal(cfg.lease_timeout_s, def.lease_timeout_s);
	assert_string_equal(cfg.log_level, def.log_level);
	assert_null(cfg.on_failure_webhook);
	assert_int_equal(cfg.n_pools, 0);
	assert_int_equal(cfg.policy.bind_mount_prefixes.len, 0);
	assert_false(cfg.policy.allow_docker_socket);
	assert_strv(&cfg.policy.images, 1, (const char *const[]){"*"});
	assert_int_equal(cfg.policy.networks.len, 0);
	assert_true(cfg.policy.max_cpus == 0.0);
	assert_int_equal(cfg.policy.max_memory, 0);
	config_finish(&def);
	config_finish(&cfg);
}

/* The table as the docs check sees it: every key named with its override and its default as
 * config_init() sets it, sections spelled as in the file. */
static void test_key_info(void **state)
{
	(void)state;
	size_t n = config_key_count();
	assert_true(n > 20);
	bool seen_parallelism = false, seen_images = false, seen_pool = false;
	for (size_t i = 0; i < n; i++) {
		struct config_key_info info;
		config_key_info_get(i, &info);
		assert_non_null(info.name);
		assert_true(strncmp(info.env, "SWARMFLOW_", 10) == 0);
		assert_true(*info.default_value);
		if (strcmp(info.name, "parallelism") == 0) {
			seen_parallelism = true;
			assert_string_equal(info.env, "SWARMFLOW_PARALLELISM");
			assert_string_equal(info.default_value, "32");
		} else if (strcmp(info.name, "policy.images") == 0) {
			seen_images = true;
			assert_string_equal(info.env, "SWARMFLOW_POLICY_IMAGES");
			assert_string_equal(info.default_value, "*");
		} else if (strcmp(info.name, "lease_timeout") == 0) {
			assert_string_equal(info.default_value, "15s");
		} else if (strcmp(info.name, "api_token_file") == 0) {
			assert_string_equal(info.default_value, "none");
		} else if (strcmp(info.name, "pool.NAME.slots") == 0) {
			seen_pool = true;
			assert_string_equal(info.env, "SWARMFLOW_POOL_<NAME>_SLOTS");
		}
		config_key_info_finish(&info);
		assert_null(info.name);
	}
	assert_true(seen_parallelism && seen_images && seen_pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_parse_on_top),
	    cmocka_unit_test(test_empty_and_spellings),
	    cmocka_unit_test(test_bad_file),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_bad_size_and_real_path),
	    cmocka_unit_test(test_env_overrides),
	    cmocka_unit_test(test_env_none),
	    cmocka_unit_test(test_env_pools),
	    cmocka_unit_test(test_env_bad),
	    cmocka_unit_test(test_listen),
	    cmocka_unit_test(test_node_lost_timeout),
	    cmocka_unit_test(test_lease_timeout),
	    cmocka_unit_test(test_dag_rescan_interval),
	    cmocka_unit_test(test_env_bad_size),
	    cmocka_unit_test(test_docker_host_env),
	    cmocka_unit_test(test_docker_conf),
	    cmocka_unit_test(test_key_info),
	    cmocka_unit_test_setup_teardown(test_load_order, tmpdir_setup, tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_load_env_after_file, tmpdir_setup,
					    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_load_errors, tmpdir_setup, tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
