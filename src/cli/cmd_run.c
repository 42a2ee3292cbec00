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
#include "swarmflow/sched/lease.h"
#include "swarmflow/sched/sched.h"
#include "swarmflow/web/control.h"
#include "swarmflow/web/web.h"

/* How often `dags trigger --wait` looks at the run. */
#define WAIT_POLL_MS 200
/* How long a changed DAG file must stay unchanged before a running scheduler reads it. */
#define DAG_SETTLE_MS 1000
/* The daemon waits for an engine that does not answer: first retry, and the longest wait. */
#define ENGINE_WAIT_MIN_MS 1000
#define ENGINE_WAIT_MAX_MS 30000
/* After this long in state queued, `--wait` says that no scheduler may be running. */
#define QUEUED_HINT_MS 10000

bool cli_create_run(struct cli *cli, const struct dag *dag, const char *conf, const char *run_id,
		    const char *runner, struct run *out, int *exit_code)
{
	char *err = NULL;
	json_t *conf_json = control_conf_parse(conf, &err);
	if (!conf_json) {
		fprintf(stderr, "swarmflow: --conf: %s\n", err);
		free(err);
		*exit_code = EXIT_USAGE;
		return false;
	}
	/* The same checks and run as POST /api/v1/dags/{dag}/runs (control.c). */
	struct control_trigger t = {.conf = conf_json,
				    .conf_name = "--conf",
				    .run_id = run_id,
				    .run_id_name = "--run-id",
				    .runner = runner,
				    .now_ms = time_now_ms()};
	struct store *st = cli_store(cli);
	enum control_status s = st ? control_run_create(st, dag, &t, out, &err) : CONTROL_FAILED;
	if (s != CONTROL_OK && err)
		fprintf(stderr, "swarmflow: %s\n", err);
	*exit_code = s == CONTROL_INVALID ? EXIT_USAGE : EXIT_FAILED;
	json_decref(conf_json);
	free(err);
	return s == CONTROL_OK;
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

/* A scheduler that does not hold the lease beats in its own standby file (see heartbeat.h):
 * why it does not run tasks ("ok" while it only waits for the lease). */
static void beat_waiting(struct cli *cli, const char *why)
{
	struct heartbeat hb = {.time_ms = time_now_ms(),
			       .pid = (long)getpid(),
			       .poll_interval = cli->cfg.poll_interval};
	str_copy(hb.instance, sizeof(hb.instance), cli->cfg.instance);
	str_copy(hb.engine, sizeof(hb.engine), why);
	char host[256];
	cli_host_name(host);
	heartbeat_write(cli->cfg.state_dir, host, &hb);
}

/* The standby's beat, at most every HEARTBEAT_EVERY_MS (sched_lease.on_standby). */
struct standby_beat {
	struct cli *cli;
	int64_t next_ms; /* monotonic */
};

static void beat_standby(void *ctx)
{
	struct standby_beat *b = ctx;
	int64_t now = time_mono_ms();
	if (now < b->next_ms)
		return;
	beat_waiting(b->cli, "ok");
	b->next_ms = now + HEARTBEAT_EVERY_MS;
}

static void standby_clear(struct cli *cli)
{
	char host[256];
	cli_host_name(host);
	heartbeat_clear(cli->cfg.state_dir, host);
}

/* The daemon waits for an engine that does not answer yet (dockerd starting, a manager
 * rebooting) with a capped backoff, logging once per change of what it sees (the connect
 * time in curl's message aside); one that answers
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
		if (!last || !str_same_but_ms(last, why)) /* "after 1 ms", then "after 0 ms" */
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

/* What the daemon's web server reads from the loop (NULL members for `dags test`). */
struct loop_hooks {
	struct metrics *metrics;
	struct web_dags *dags;
	struct sched_lease *lease;
};

/* The engine's event stream of this instance, or NULL (then the loop only polls). */
static struct event_watch *watch_events(struct engine *e, const char *instance)
{
	char *err = NULL;
	struct event_watch *w = event_watch_start(e, instance, &err);
	if (!w) {
		log_warnx("%s; polling only", err);
		free(err);
	}
	return w;
}

static int run_scheduler(struct cli *cli, int64_t only_run_pk, const struct loop_hooks *hooks)
{
	struct store *st = cli_store(cli);
	char *err = NULL;
	if (!st || !store_prepare_all(st, &err)) { /* a long-lived connection: all at its start */
		if (err)
			fprintf(stderr, "swarmflow: %s\n", err);
		free(err);
		return EXIT_FAILED;
	}
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
	if (hooks && hooks->dags) {
		s.on_dags_loaded = web_dags_on_loaded;
		s.dags_ctx = hooks->dags;
	}
	s.metrics = hooks ? hooks->metrics : NULL;
	s.lease = hooks ? hooks->lease : NULL;
	s.next_reload_ms = time_mono_ms() + (int64_t)(cli->cfg.dag_reload_interval * 1000);
	s.events = cli->cfg.engine_events ? watch_events(e, cli->cfg.instance) : NULL;
	struct event_watch *events = s.events;
	if (!only_run_pk)
		sched_watch_dags(&s, NULL); /* else (said in the log) polled as set just above */
	int rc = sched_loop(&s);
	sched_finish(&s);
	event_watch_stop(events);
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
	rc = run_scheduler(cli, run.id, NULL);
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

/* Who this scheduler is, in the lease and in the logs of the others. */
static char *lease_holder_name(struct cli *cli)
{
	char host[256];
	cli_host_name(host);
	return xasprintf("scheduler pid %ld on %s (instance %s)", (long)getpid(), host,
			 cli->cfg.instance);
}

/* Waits (standby) until this scheduler holds the lease of its state database: schedulers that
 * share a state folder take turns, one active at a time. 1 held, 0 stopped by a signal, -1 when
 * the store or the engine cannot be used (printed). */
static int lease_begin(struct cli *cli, struct sched_lease *lease, const sigset_t *set)
{
	if (!fs_mkdir_p(cli->cfg.state_dir)) {
		fprintf(stderr, "swarmflow: state_dir %s: %s\n", cli->cfg.state_dir,
			strerror(errno));
		return -1;
	}
	struct store *st = cli_store(cli);
	if (!st)
		return -1;
	bool stopped = false;
	if (!wait_for_engine(cli, set, &stopped)) {
		standby_clear(cli);
		return stopped ? 0 : -1;
	}
	cli_dags(cli); /* before the lease: the first renewal must not wait for a slow parse */
	char *me = lease_holder_name(cli);
	sched_lease_init(lease, st, me, cli->cfg.lease_timeout_s * 1000);
	free(me);
	struct standby_beat beat = {cli, 0};
	lease->on_standby = beat_standby;
	lease->standby_ctx = &beat;
	int rc = sched_lease_acquire(lease, set);
	lease->on_standby = NULL;
	standby_clear(cli);
	return rc;
}

/* A token file that cannot be used is a configuration error: said before anything starts. */
static bool web_token_ok(struct cli *cli)
{
	char *token = NULL, *err = NULL;
	if (strcmp(cli->cfg.web_listen, "off") == 0 || !cli->cfg.api_token_file ||
	    web_token_read(cli->cfg.api_token_file, &token, &err)) {
		free(token);
		return true;
	}
	fprintf(stderr, "swarmflow: %s\n", err);
	free(err);
	return false;
}

/* Starts the web server (unless web_listen is off) with the DAGs as first loaded; the
 * scheduler's loop hands it every reload after that. False after printing why. */
static bool web_begin(struct cli *cli, struct metrics *m, struct web_dags *dags, struct web **out)
{
	*out = NULL;
	if (strcmp(cli->cfg.web_listen, "off") == 0)
		return true;
	web_dags_on_loaded(dags, cli_dags(cli));
	char *err = NULL;
	*out = web_start(&cli->cfg, m, dags, &err);
	if (!*out)
		fprintf(stderr, "swarmflow: %s\n", err);
	free(err);
	return *out != NULL;
}

int cmd_scheduler(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = cli_command("scheduler");
	int rc = EXIT_USAGE;
	if (cli_getopt(cmd, argc, argv, "", NULL, &rc) != -1)
		return rc;
	if (!cli_nargs(cmd, argc, argv, 0, 0) || !cli_config(cli) || !web_token_ok(cli))
		return EXIT_USAGE;
	cli_curl_ready(cli); /* before the web server's threads, which may open engines */
	log_info("scheduler starting instance=%s dags_folder=%s state_dir=%s docker_host=%s",
		 cli->cfg.instance, cli->cfg.dags_folder, cli->cfg.state_dir, cli->cfg.docker_host);
	sigset_t set;
	block_signals(&set);
	struct sched_lease lease = {0};
	int held = lease_begin(cli, &lease, &set);
	rc = held == 0 ? EXIT_OK : EXIT_FAILED;
	if (held > 0) {
		heartbeat_clear(cli->cfg.state_dir,
				NULL); /* healthy only once this process beats */
		struct metrics *metrics = metrics_create();
		struct web_dags *dags = web_dags_create();
		struct web *web = NULL;
		struct loop_hooks hooks = {metrics, NULL, &lease};
		if (web_begin(cli, metrics, dags, &web)) {
			hooks.dags = web ? dags : NULL;
			rc = run_scheduler(cli, 0, &hooks);
		}
		web_stop(web);
		web_dags_destroy(dags);
		metrics_destroy(metrics);
		sched_lease_release(&lease);
	}
	sched_lease_finish(&lease);
	log_info("scheduler stopped");
	return rc;
}
