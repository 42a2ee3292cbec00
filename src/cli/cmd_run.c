/* cmd_run.c - `scheduler`, `dags trigger` and `dags test`: making runs and running them. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#include "cli.h"
#include "swarmflow/common/fsutil.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/sched/heartbeat.h"
#include "swarmflow/sched/sched.h"

/* How often `dags trigger --wait` looks at the run. */
#define WAIT_POLL_MS 200
/* How long a changed DAG file must stay unchanged before a running scheduler reads it. */
#define DAG_SETTLE_MS 1000
/* The daemon waits for an engine that does not answer: first retry, and the longest wait. */
#define ENGINE_WAIT_MIN_MS 1000
#define ENGINE_WAIT_MAX_MS 30000
/* After this long in state queued, `--wait` says that no scheduler may be running. */
#define QUEUED_HINT_MS 10000

/* A run id: printable ASCII without '/', at most 250 characters. */
static bool run_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 250)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~' || id[i] == '/')
			return false;
	return true;
}

static json_t *parse_conf(const char *conf, int *exit_code)
{
	json_error_t jerr;
	json_t *v = json_loads(conf ? conf : "{}", JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		fprintf(stderr, "swarmflow: --conf: invalid JSON at column %d: %s\n", jerr.column,
			jerr.text);
	} else if (!json_is_object(v)) {
		fprintf(stderr, "swarmflow: --conf: expected a JSON object like "
				"'{\"key\": \"value\"}'\n");
		json_decref(v);
		v = NULL;
	}
	*exit_code = EXIT_USAGE;
	return v;
}

bool cli_create_run(struct cli *cli, const struct dag *dag, const char *conf, const char *run_id,
		    const char *runner, struct run *out, int *exit_code)
{
	json_t *conf_json = parse_conf(conf, exit_code);
	if (!conf_json)
		return false;
	int64_t now_ms = time_now_ms();
	char iso[32], made_id[64];
	time_format_iso(now_ms / 1000, iso);
	snprintf(made_id, sizeof(made_id), "manual__%s", iso);
	if (run_id && !run_id_valid(run_id)) {
		fprintf(stderr,
			"swarmflow: --run-id: '%s' must be 1-250 printable characters "
			"without spaces or '/'\n",
			run_id);
		json_decref(conf_json);
		return false;
	}
	char *conf_text = json_dumps(conf_json, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(conf_json);
	struct run r = {
	    .dag_id = dag->dag_id,
	    .run_id = (char *)(run_id ? run_id : made_id),
	    .run_type = "manual",
	    .runner = (char *)runner,
	    .state = RUN_QUEUED,
	    .logical_date = now_ms / 1000,
	    .data_interval_start = now_ms / 1000,
	    .data_interval_end = now_ms / 1000,
	    .queued_ms = now_ms,
	    .conf = conf_text,
	};
	struct store *st = cli_store(cli);
	char *err = NULL;
	bool ok = st && sched_run_create(st, dag, &r, out, &err);
	if (!ok && err)
		fprintf(stderr, "swarmflow: %s\n", err);
	*exit_code = EXIT_FAILED;
	free(err);
	free(conf_text);
	return ok;
}

struct run_opts {
	const char *conf;
	const char *run_id;
	bool wait;
	const struct dag *dag;
};

/* Parses the options of `dags trigger` / `dags test`, loads the config and finds the DAG.
 * Returns -1 to go on, else the exit code to return. */
static int parse_run_opts(struct cli *cli, const char *name, bool allow_wait, int argc, char **argv,
			  struct run_opts *o)
{
	static const struct option opts[] = {
	    {"conf", required_argument, NULL, 'c'},
	    {"run-id", required_argument, NULL, 'r'},
	    {"wait", no_argument, NULL, 'w'},
	    {0},
	};
	const struct command *cmd = cli_command(name);
	int c, rc = EXIT_USAGE;
	while ((c = cli_getopt(cmd, argc, argv, "c:r:w", opts, &rc)) != -1) {
		if (c == CLI_OPT_EXIT)
			return rc;
		if (c == 'c')
			o->conf = optarg;
		else if (c == 'r')
			o->run_id = optarg;
		else if (c == 'w' && allow_wait)
			o->wait = true;
		else
			return cli_usage(cmd);
	}
	if (!cli_nargs(cmd, argc, argv, 1, 1) || !cli_config(cli))
		return EXIT_USAGE;
	o->dag = cli_dag(cli, argv[optind]);
	return o->dag ? -1 : EXIT_FAILED;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits for a run queued for the daemon to finish. */
static int wait_run(struct cli *cli, int64_t run_pk)
{
	int64_t since = time_mono_ms();
	bool hinted = false;
	for (;;) {
		struct run r = {0};
		char *err = NULL;
		if (!store_run_get_by_id(cli->store, run_pk, &r, &err)) {
			fprintf(stderr, "swarmflow: %s\n", err);
			free(err);
			return EXIT_FAILED;
		}
		enum run_state state = r.state;
		if (state == RUN_SUCCESS || state == RUN_FAILED) {
			printf("run %s %s\n", r.run_id, run_state_name(state));
			cli_print_tasks(cli, &r);
			run_finish(&r);
			return state == RUN_SUCCESS ? EXIT_OK : EXIT_FAILED;
		}
		run_finish(&r);
		if (!hinted && state == RUN_QUEUED && time_mono_ms() - since > QUEUED_HINT_MS) {
			fprintf(stderr,
				"swarmflow: the run is still queued after %d s: is "
				"`swarmflow scheduler` running with this state_dir (%s)?\n",
				QUEUED_HINT_MS / 1000, cli->cfg.state_dir);
			hinted = true;
		}
		sleep_ms(WAIT_POLL_MS);
	}
}

int cmd_dags_trigger(struct cli *cli, int argc, char **argv)
{
	struct run_opts o = {0};
	int rc = parse_run_opts(cli, "dags trigger", true, argc, argv, &o);
	if (rc >= 0)
		return rc;
	const struct dag *dag = o.dag;
	struct run run = {0};
	if (!cli_create_run(cli, dag, o.conf, o.run_id, NULL, &run, &rc))
		return rc;
	printf("run_id: %s\nqueued run %s of DAG %s\n", run.run_id, run.run_id, dag->dag_id);
	fflush(stdout);
	rc = o.wait ? wait_run(cli, run.id) : EXIT_OK;
	run_finish(&run);
	return rc;
}

/* Blocks the signals the loop waits for (see struct scheduler.signals). */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigprocmask(SIG_BLOCK, set, NULL);
}

/* Says in the heartbeat why the daemon is not running tasks (for `swarmflow health`). */
static void beat_waiting(struct cli *cli, const char *why)
{
	struct heartbeat hb = {.time_ms = time_now_ms(),
			       .pid = (long)getpid(),
			       .poll_interval = cli->cfg.poll_interval};
	str_copy(hb.instance, sizeof(hb.instance), cli->cfg.instance);
	str_copy(hb.engine, sizeof(hb.engine), why);
	heartbeat_write(cli->cfg.state_dir, &hb);
}

/* The daemon waits for an engine that does not answer yet (dockerd starting, a manager
 * rebooting) with a capped backoff, logging once per change of what it sees; one that answers
 * but cannot be used (not a manager) ends it. NULL with *stopped when a signal said stop. */
static struct engine *wait_for_engine(struct cli *cli, const sigset_t *set, bool *stopped)
{
	int64_t delay = ENGINE_WAIT_MIN_MS;
	char *last = NULL;
	*stopped = false;
	for (;;) {
		char *why = NULL;
		bool retry = false;
		struct engine *e = cli_engine_open(cli, &why, &retry);
		if (e && last)
			log_info("engine: %s answers now", cli->cfg.docker_host);
		if (e || !retry) {
			if (!e)
				fprintf(stderr, "swarmflow: %s\n", why);
			free(why);
			free(last);
			return e;
		}
		if (!last || strcmp(last, why) != 0)
			log_warnx("engine: %s; waiting for it (retrying up to every %d s)", why,
				  ENGINE_WAIT_MAX_MS / 1000);
		beat_waiting(cli, why);
		free(last);
		last = why;
		struct timespec ts = {.tv_sec = delay / 1000, .tv_nsec = (delay % 1000) * 1000000};
		siginfo_t info;
		int sig = sigtimedwait(set, &info, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			free(last);
			*stopped = true;
			return NULL;
		}
		delay = delay * 2 < ENGINE_WAIT_MAX_MS ? delay * 2 : ENGINE_WAIT_MAX_MS;
	}
}

static int run_scheduler(struct cli *cli, int64_t only_run_pk)
{
	struct store *st = cli_store(cli);
	if (!st)
		return EXIT_FAILED;
	sigset_t set;
	block_signals(&set);
	bool stopped = false;
	struct engine *e = only_run_pk ? cli_engine(cli) : wait_for_engine(cli, &set, &stopped);
	if (!e)
		return stopped ? EXIT_OK : EXIT_FAILED;
	struct dagbag *bag = cli_dags(cli);
	/* From now on files are re-read while they may be being written: let them settle. */
	dagbag_set_settle(bag, DAG_SETTLE_MS);
	struct scheduler s;
	char *err = NULL;
	if (!sched_init(&s, &cli->cfg, st, e, bag, only_run_pk, &err)) {
		fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return EXIT_FAILED;
	}
	s.signals = &set;
	if (!only_run_pk) {
		s.reload_config = cli_reload_config;
		s.reload_ctx = cli;
	}
	s.next_reload_ms = time_mono_ms() + (int64_t)(cli->cfg.dag_reload_interval * 1000);
	int rc = sched_loop(&s);
	sched_finish(&s);
	return rc;
}

int cmd_dags_test(struct cli *cli, int argc, char **argv)
{
	struct run_opts o = {0};
	int rc = parse_run_opts(cli, "dags test", false, argc, argv, &o);
	if (rc >= 0)
		return rc;
	const struct dag *dag = o.dag;
	if (!cli_engine(cli))
		return EXIT_FAILED;
	struct run run = {0};
	char *runner = sched_test_runner();
	bool created = cli_create_run(cli, dag, o.conf, o.run_id, runner, &run, &rc);
	free(runner);
	if (!created)
		return rc;
	printf("run_id: %s\n", run.run_id);
	fflush(stdout);
	rc = run_scheduler(cli, run.id);
	struct run done = {0};
	char *err = NULL;
	if (store_run_get_by_id(cli->store, run.id, &done, &err)) {
		printf("run %s %s\n", done.run_id, run_state_name(done.state));
		cli_print_tasks(cli, &done);
		run_finish(&done);
	} else {
		free(err);
	}
	run_finish(&run);
	return rc;
}

/* Only one scheduler may drive a state_dir: takes state_dir/scheduler.lock (held until the
 * process ends). Returns its descriptor, or -1 after saying who holds it. */
static int lock_state_dir(struct cli *cli)
{
	if (!fs_mkdir_p(cli->cfg.state_dir)) {
		fprintf(stderr, "swarmflow: state_dir %s: %s\n", cli->cfg.state_dir,
			strerror(errno));
		return -1;
	}
	char *path = xasprintf("%s/scheduler.lock", cli->cfg.state_dir);
	char *owner = sched_test_runner(); /* "test:<host>:<pid>" */
	char *me = xasprintf("scheduler pid %ld on %s (instance %s)", (long)getpid(),
			     strchr(owner, ':') + 1, cli->cfg.instance);
	char *holder = NULL;
	int fd = fs_lock_file(path, me, &holder);
	if (fd < 0 && holder)
		fprintf(stderr, "swarmflow: another scheduler already drives %s: %s holds %s\n",
			cli->cfg.state_dir, holder, path);
	else if (fd < 0)
		fprintf(stderr, "swarmflow: %s: %s\n", path, strerror(errno));
	free(holder);
	free(me);
	free(owner);
	free(path);
	return fd;
}

int cmd_scheduler(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = cli_command("scheduler");
	int rc = EXIT_USAGE;
	if (cli_getopt(cmd, argc, argv, "", NULL, &rc) != -1)
		return rc;
	if (!cli_nargs(cmd, argc, argv, 0, 0) || !cli_config(cli))
		return EXIT_USAGE;
	log_info("scheduler starting instance=%s dags_folder=%s state_dir=%s docker_host=%s",
		 cli->cfg.instance, cli->cfg.dags_folder, cli->cfg.state_dir, cli->cfg.docker_host);
	rc = EXIT_FAILED;
	int lock = lock_state_dir(cli);
	if (lock >= 0) {
		heartbeat_clear(cli->cfg.state_dir); /* healthy only once this process beats */
		rc = run_scheduler(cli, 0);
		close(lock);
	}
	log_info("scheduler stopped");
	return rc;
}
