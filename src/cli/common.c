/* common.c - what every command uses: its command line, opening the config, the store, the engine
 * and the DAGs; output. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "swarmflow/core/spec.h"
#include "swarmflow/common/fsutil.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"

int cli_usage(const struct command *cmd)
{
	fprintf(stderr, "usage: swarmflow [--config FILE] %s%s%s\n", cmd->name,
		*cmd->args ? " " : "", cmd->args);
	return EXIT_USAGE;
}

void cli_help(const struct command *cmd)
{
	printf("usage: swarmflow [--config FILE] %s%s%s\n\n%s\nManual: %s\n", cmd->name,
	       *cmd->args ? " " : "", cmd->args, cmd->summary, cmd->manual);
}

int cli_getopt(const struct command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, int *exit_code)
{
	struct option all[CLI_MAX_OPTS + 2];
	size_t n = 0;
	for (; longopts && longopts[n].name; n++) {
		if (n == CLI_MAX_OPTS)
			fatalx("%s: more than %d options", cmd->name, CLI_MAX_OPTS);
		all[n] = longopts[n];
	}
	all[n++] = (struct option){"help", no_argument, NULL, 'h'};
	all[n] = (struct option){0};
	char shorts[64];
	if ((size_t)snprintf(shorts, sizeof(shorts), "%sh", shortopts) >= sizeof(shorts))
		fatalx("%s: option string too long", cmd->name);
	/* Unknown options and missing values: getopt_long prints "argv[0]: what is wrong". */
	int c = getopt_long(argc, argv, shorts, all, NULL);
	if (c == 'h') {
		cli_help(cmd);
		*exit_code = EXIT_OK;
		return CLI_OPT_EXIT;
	}
	if (c == '?' || c == ':') {
		*exit_code = cli_usage(cmd);
		return CLI_OPT_EXIT;
	}
	return c;
}

/* Adds to b the names of the positional arguments from..to-1 of a usage ("DAG RUN_ID [TASK...]
 * [--try N]", "DAG --from DATE --to DATE"): the words outside brackets that are no option and
 * no option's value. */
static void positional_names(const char *args, int from, int to, struct buf *b)
{
	int depth = 0, index = 0;
	bool after_option = false;
	for (const char *p = args; *p;) {
		size_t len = strcspn(p, " ");
		bool opened = *p == '[';
		depth += opened;
		bool word = depth == 0 && len && !after_option && *p != '-';
		after_option = depth == 0 && len > 1 && p[0] == '-' && p[1] == '-';
		if (word && index >= from && index < to)
			buf_printf(b, "%s%.*s", b->len ? ", " : "", (int)len, p);
		index += word;
		for (size_t i = 0; i < len; i++)
			depth -= p[i] == ']' && depth > 0;
		p += len + (p[len] == ' ');
	}
}

bool cli_nargs(const struct command *cmd, int argc, char **argv, int min, int max)
{
	int n = argc - optind;
	if (max >= 0 && n > max) {
		fprintf(stderr, "swarmflow %s: unexpected argument '%s'\n", cmd->name,
			argv[optind + max]);
	} else if (n < min) {
		struct buf names;
		buf_init(&names, 0);
		positional_names(cmd->args, n, min, &names);
		fprintf(stderr, "swarmflow %s: too few arguments%s%s\n", cmd->name,
			names.len ? ": missing " : "", names.len ? names.data : "");
		buf_finish(&names);
	} else {
		return true;
	}
	cli_usage(cmd);
	return false;
}

bool cli_config(struct cli *cli)
{
	if (cli->cfg_loaded)
		return true;
	char *err = NULL;
	if (!config_load(&cli->cfg, cli->config_path, cli->envp, &err)) {
		fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return false;
	}
	enum log_level level = LOG_INFO;
	log_level_parse(cli->cfg.log_level, &level);
	log_init(level);
	cli->cfg_loaded = true;
	return true;
}

struct store *cli_store(struct cli *cli)
{
	if (cli->store)
		return cli->store;
	if (!fs_mkdir_p(cli->cfg.state_dir)) {
		fprintf(stderr, "swarmflow: state_dir %s: %s\n", cli->cfg.state_dir,
			strerror(errno));
		return NULL;
	}
	char *path = xasprintf("%s/swarmflow.db", cli->cfg.state_dir);
	char *err = NULL;
	cli->store = store_open(path, &err);
	if (!cli->store) {
		fprintf(stderr, "swarmflow: %s: %s\n", path, err);
		free(err);
	}
	free(path);
	return cli->store;
}

/* Checks that the engine is a swarm manager; *why says why not (caller frees). */
static bool check_manager(struct engine *e, const char *host, char **why, bool *retry)
{
	struct engine_info info = {0};
	struct engine_err eerr = {0};
	if (!engine_info(e, &info, &eerr)) {
		*retry = eerr.kind == ENGINE_ERR_CONNECT || eerr.kind == ENGINE_ERR_TIMEOUT ||
			 eerr.kind ==
			     ENGINE_ERR_CANCELLED; /* a stopping daemon: the wait sees the signal */
		return set_err(why, "docker engine at %s: %s", host, eerr.message);
	}
	if (strcmp(info.swarm_state, "active") != 0)
		return set_err(why,
			       "the docker engine at %s is not part of a swarm (state '%s'); run "
			       "`docker swarm init` first",
			       host, info.swarm_state);
	if (!info.is_manager)
		return set_err(why,
			       "the docker engine at %s is a swarm worker; swarmflow needs a "
			       "manager's API (run it on a manager or set docker_host to one)",
			       host);
	return true;
}

/* The engine's cancel check: a SIGTERM or SIGINT waits for the daemon's loop (it blocks them),
 * so a request to a hung engine ends at once instead of after its timeout. Commands that do not
 * block them are simply killed by the signal. */
static bool stop_signal_pending(void *ctx)
{
	sigset_t pending;
	if (sigpending(&pending) != 0)
		return false;
	return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

void cli_curl_ready(struct cli *cli)
{
	if (!cli->curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		cli->curl_ready = true;
}

struct engine *cli_engine_open(struct cli *cli, char **why, bool *retry)
{
	*retry = false;
	if (cli->engine)
		return cli->engine;
	const char *verify = env_lookup(cli->envp, "DOCKER_TLS_VERIFY");
	struct engine_opts opts = {
	    .host = cli->cfg.docker_host,
	    .api_version = cli->cfg.docker_api_version,
	    .tls_verify = verify && *verify && strcmp(verify, "0") != 0,
	    .cert_path = env_lookup(cli->envp, "DOCKER_CERT_PATH"),
	    .cancel = stop_signal_pending,
	};
	char *err = NULL;
	cli_curl_ready(cli);
	struct engine *e = engine_create(&opts, &err);
	if (!e) {
		set_err(why, "docker_host: %s", err);
		free(err);
		return NULL;
	}
	struct engine_err eerr = {0};
	if (!engine_negotiate(e, &eerr)) {
		*retry = eerr.kind == ENGINE_ERR_CONNECT || eerr.kind == ENGINE_ERR_TIMEOUT ||
			 eerr.kind ==
			     ENGINE_ERR_CANCELLED; /* a stopping daemon: the wait sees the signal */
		set_err(why, "cannot use the docker engine at %s: %s", cli->cfg.docker_host,
			eerr.message);
		engine_destroy(e);
		return NULL;
	}
	if (!check_manager(e, cli->cfg.docker_host, why, retry)) {
		engine_destroy(e);
		return NULL;
	}
	cli->engine = e;
	return e;
}

struct engine *cli_engine(struct cli *cli)
{
	char *why = NULL;
	bool retry = false;
	struct engine *e = cli_engine_open(cli, &why, &retry);
	if (!e)
		fprintf(stderr, "swarmflow: %s\n", why ? why : "cannot use the docker engine");
	free(why);
	return e;
}

struct dagbag *cli_dags(struct cli *cli)
{
	if (!cli->bag_loaded) {
		dagbag_init(&cli->bag, cli->cfg.dags_folder);
		char *cache = xasprintf("%s/dagcache", cli->cfg.state_dir);
		dagbag_set_cache(&cli->bag, cache);
		free(cache);
		dagbag_set_policy(&cli->bag, &cli->cfg.policy);
		dagbag_refresh(&cli->bag);
		cli->bag_loaded = true;
	}
	return &cli->bag;
}

const struct dag *cli_dag(struct cli *cli, const char *dag_id)
{
	struct dagbag *bag = cli_dags(cli);
	const struct dag *dag = dagbag_find(bag, dag_id);
	if (dag)
		return dag;
	fprintf(stderr, "swarmflow: unknown DAG '%s' in %s\n", dag_id, bag->folder);
	size_t n = dagbag_error_count(bag);
	if (n)
		fprintf(stderr, "(%zu file error%s; see `swarmflow dags list`)\n", n,
			n == 1 ? "" : "s");
	return NULL;
}

void cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(v);
}

void cli_format_ms(int64_t ms, char out[static 32])
{
	if (ms)
		time_format_iso_ms(ms, out);
	else
		snprintf(out, 32, "-");
}

void table_init(struct table *t, size_t ncols, const char *const *headers)
{
	*t = (struct table){.ncols = ncols};
	for (size_t i = 0; i < ncols; i++)
		strv_push(&t->cells, headers[i]);
}

void table_add(struct table *t, const char *cell)
{
	strv_push(&t->cells, cell && *cell ? cell : "-");
}

void table_print(struct table *t)
{
	size_t *width = xcalloc(t->ncols, sizeof(*width));
	for (size_t i = 0; i < t->cells.len; i++) {
		size_t n = strlen(t->cells.v[i]);
		if (n > width[i % t->ncols])
			width[i % t->ncols] = n;
	}
	for (size_t i = 0; i < t->cells.len; i++) {
		size_t col = i % t->ncols;
		bool last = col == t->ncols - 1;
		if (last)
			printf("%s\n", t->cells.v[i]);
		else
			printf("%-*s  ", (int)width[col], t->cells.v[i]);
	}
	free(width);
	strv_finish(&t->cells);
}

int cli_parse_json_flag(struct cli *cli, const char *name, int argc, char **argv, int min_args,
			int max_args, bool *json)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
	const struct command *cmd = cli_command(name);
	int c, rc = EXIT_USAGE;
	while ((c = cli_getopt(cmd, argc, argv, "j", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		*json = true;
	}
	if (!cli_nargs(cmd, argc, argv, min_args, max_args) || !cli_config(cli))
		return EXIT_USAGE;
	return -1;
}

bool cli_job_mode(struct cli *cli)
{
	if (cli->engine)
		return engine_api_at_least(cli->engine, SPEC_JOB_MODE_API_MAJOR,
					   SPEC_JOB_MODE_API_MINOR);
	struct engine_opts opts = {.host = cli->cfg.docker_host,
				   .api_version = cli->cfg.docker_api_version,
				   .connect_timeout_ms = 1000,
				   .timeout_ms = 2000};
	char *err = NULL;
	cli_curl_ready(cli);
	struct engine *e = engine_create(&opts, &err);
	struct engine_err eerr = {0};
	bool job = true; /* no engine to ask: what a current engine gets */
	if (e && engine_negotiate(e, &eerr))
		job = engine_api_at_least(e, SPEC_JOB_MODE_API_MAJOR, SPEC_JOB_MODE_API_MINOR);
	engine_destroy(e);
	free(err);
	return job;
}

void cli_host_name(char out[static 256])
{
	if (gethostname(out, 256) != 0)
		str_copy(out, 256, "unknown");
	out[255] = '\0';
}
