/* config.h - swarmflow.conf (libconfuse) and SWARMFLOW_<KEY> overrides, parsed without I/O. */
#ifndef SWARMFLOW_CORE_CONFIG_H
#define SWARMFLOW_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/util.h"

struct pool {
	char *name;
	int slots;
};

/* What DAGs may ask for (enforced at validation by the reliability issue's policy code). */
struct policy {
	struct strv bind_mount_prefixes; /* default: none allowed */
	bool allow_docker_socket;        /* default false */
	struct strv images;              /* globs; default {"*"} */
	struct strv networks;            /* empty: any */
	double max_cpus;                 /* 0: unlimited */
	int64_t max_memory;              /* bytes; 0: unlimited */
};

struct config {
	char *file; /* the file read, or NULL when only defaults and env were used */
	char *dags_folder;       /* default "./dags" */
	char *state_dir;         /* default "./state" */
	char *docker_host;       /* default $DOCKER_HOST or "unix:///var/run/docker.sock" */
	char *docker_api_version; /* default "auto" */
	char *instance;          /* default "swarmflow" */
	char *service_prefix;    /* default "swarmflow" */
	int parallelism;         /* default 32 */
	double poll_interval;    /* seconds, default 0.5 */
	bool keep_failed_services; /* default false */
	double dag_reload_interval; /* seconds, default 5 */
	char *log_level;         /* default "info" */
	char *on_failure_webhook; /* default NULL */
	struct pool *pools;
	size_t n_pools;
	struct policy policy;
};

/* Fills cfg with the defaults. */
void config_init(struct config *cfg);

/* Parses the config text buf read from `path` on top of what cfg holds. On error returns false
 * and sets *err to "PATH:LINE: message" (naming the key). */
bool config_parse_buf(struct config *cfg, const char *buf, const char *path, char **err);

/* Applies SWARMFLOW_<KEY> overrides found in envp (a NULL-terminated "K=V" array, like
 * `environ`), e.g. SWARMFLOW_PARALLELISM=8, SWARMFLOW_POLICY_MAX_CPUS=2,
 * SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="/srv,/data". On a bad value returns false and sets *err
 * naming the variable. Unknown SWARMFLOW_ variables are ignored (SWARMFLOW_CONFIG is the file). */
bool config_apply_env(struct config *cfg, char *const *envp, char **err);

/* Reads the config: --config path if given, else $SWARMFLOW_CONFIG, else ./swarmflow.conf,
 * else /etc/swarmflow/swarmflow.conf, else defaults; then the env overrides. An explicitly named
 * file that does not exist is an error. Returns false with *err set. (Does I/O.) */
bool config_load(struct config *cfg, const char *explicit_path, char *const *envp, char **err);

void config_finish(struct config *cfg);

#endif
