/* reload.c - SIGHUP: the daemon reads its config again and applies what can change live. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/util.h"

/* Keys that name what the daemon is bound to (its store, engine, services, folder): a new value
 * takes effect only at the next start, so the running one is kept and the change logged. */
struct fixed_key {
	const char *name;
	size_t offset; /* of the char * in struct config */
};

static const struct fixed_key fixed_keys[] = {
    {"dags_folder", offsetof(struct config, dags_folder)},
    {"state_dir", offsetof(struct config, state_dir)},
    {"docker_host", offsetof(struct config, docker_host)},
    {"docker_api_version", offsetof(struct config, docker_api_version)},
    {"instance", offsetof(struct config, instance)},
    {"service_prefix", offsetof(struct config, service_prefix)},
    {"web_listen", offsetof(struct config, web_listen)},
    {"api_token_file", offsetof(struct config, api_token_file)},
};

static char **str_field(struct config *cfg, size_t offset)
{
	return (char **)((char *)cfg + offset);
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Puts the running value of every fixed key back into fresh, saying which ones were changed. */
static void keep_fixed_keys(struct config *running, struct config *fresh)
{
	for (size_t i = 0; i < ARRAY_LEN(fixed_keys); i++) {
		char **old = str_field(running, fixed_keys[i].offset);
		char **now = str_field(fresh, fixed_keys[i].offset);
		if (str_same(*old, *now))
			continue;
		log_warn("config reload: %s changed from '%s' to '%s': it takes effect at the next "
			 "start; keeping '%s'",
			 fixed_keys[i].name, *old ? *old : "", *now ? *now : "", *old ? *old : "");
		free(*now);
		*now = *old ? xstrdup(*old) : NULL;
	}
	fresh->docker_host_set = running->docker_host_set;
}

/* Logs the live keys whose value changed (the ones an operator reloads for). */
static void log_changes(const struct config *a, const struct config *b)
{
	if (a->parallelism != b->parallelism)
		log_info("config reload: parallelism %d -> %d", a->parallelism, b->parallelism);
	if (a->poll_interval != b->poll_interval)
		log_info("config reload: poll_interval %g -> %g", a->poll_interval,
			 b->poll_interval);
	if (a->dag_reload_interval != b->dag_reload_interval)
		log_info("config reload: dag_reload_interval %g -> %g", a->dag_reload_interval,
			 b->dag_reload_interval);
	if (a->dag_rescan_interval_s != b->dag_rescan_interval_s)
		log_info("config reload: dag_rescan_interval %llds -> %llds",
			 (long long)a->dag_rescan_interval_s, (long long)b->dag_rescan_interval_s);
	if (a->keep_failed_services != b->keep_failed_services)
		log_info("config reload: keep_failed_services %s",
			 b->keep_failed_services ? "true" : "false");
	if (a->lease_timeout_s != b->lease_timeout_s)
		log_warnx(
		    "config reload: lease_timeout changed from %llds to %llds: it takes effect "
		    "at the next start",
		    (long long)a->lease_timeout_s, (long long)b->lease_timeout_s);
	if (a->engine_events != b->engine_events)
		log_warnx("config reload: engine_events changed to %s: it takes effect at the next "
			  "start",
			  b->engine_events ? "true" : "false");
	if (!str_same(a->log_level, b->log_level))
		log_info("config reload: log_level %s -> %s", a->log_level, b->log_level);
	if (!str_same(a->on_failure_webhook, b->on_failure_webhook))
		log_info("config reload: on_failure_webhook changed");
	if (a->node_lost_timeout_s != b->node_lost_timeout_s)
		log_info("config reload: node_lost_timeout %llds -> %llds",
			 (long long)a->node_lost_timeout_s, (long long)b->node_lost_timeout_s);
	if (a->n_pools != b->n_pools)
		log_info("config reload: %zu pools -> %zu", a->n_pools, b->n_pools);
}

bool cli_reload_config(void *ctx)
{
	struct cli *cli = ctx;
	struct config fresh;
	config_init(&fresh);
	char *err = NULL;
	if (!config_load(&fresh, cli->config_path, cli->envp, &err)) {
		log_error("config reload failed: %s; keeping the running config", err);
		free(err);
		config_finish(&fresh);
		return false;
	}
	keep_fixed_keys(&cli->cfg, &fresh);
	log_changes(&cli->cfg, &fresh);
	config_finish(&cli->cfg);
	cli->cfg = fresh;
	enum log_level level = LOG_INFO;
	log_level_parse(cli->cfg.log_level, &level);
	log_init(level);
	/* The policy may now allow or refuse what DAG files ask for: every file is read again. */
	if (cli->bag_loaded)
		dagbag_set_policy(&cli->bag, &cli->cfg.policy);
	log_info("config reloaded from %s", cli->cfg.file ? cli->cfg.file : "defaults and env");
	return true;
}
