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
	char *file;               /* the file read, or NULL when only defaults and env were used */
	char *dags_folder;        /* default "./dags" */
	char *state_dir;          /* default "./state" */
	char *docker_host;        /* default $DOCKER_HOST or "unix:///var/run/docker.sock" */
	bool docker_host_set;     /* docker_host came from a file, so $DOCKER_HOST does not apply */
	char *docker_api_version; /* default "auto" */
	char *instance;           /* default "swarmflow" */
	char *service_prefix;     /* default "swarmflow" */
	int parallelism;          /* default 32 */
	double poll_interval;     /* seconds, default 0.5 */
	bool keep_failed_services; /* default false */
	bool engine_events; /* default true: GET /events wakes the poll when a container ends */
	double dag_reload_interval; /* seconds, default 5 */
	char *log_level;            /* default "info" */
	char *on_failure_webhook;   /* default NULL */
	char *web_listen;           /* HTTP API and UI: default "127.0.0.1:8080"; "off" disables */
	char *api_token_file; /* file holding the bearer token for mutating API calls; NULL: none */
	struct pool *pools;
	size_t n_pools;
	struct policy policy;
	/* A running try whose Swarm node has been down this long fails (nodeloss.c); seconds,
	 * default 60; 0: never. */
	int64_t node_lost_timeout_s;
	/* Schedulers sharing one state database: a standby takes the scheduler lease over when
	 * its holder has not renewed it for this long (sched/lease.h); seconds, default 15. */
	int64_t lease_timeout_s;
	/* A watched dags folder is rescanned whole this often all the same, the safety net for
	 * events inotify may not deliver; seconds, default 300 (5 min). dag_reload_interval is
	 * the stat polling used when the folder cannot be watched. */
	int64_t dag_rescan_interval_s;
};

/* Where the web server listens: host ("" for every interface; an IPv6 address without its
 * brackets) and port (0: any free port). */
struct listen_addr {
	char host[256];
	int port;
};

/* Parses a web_listen value: "HOST:PORT", "[IPV6]:PORT" or ":PORT" (HOST a name or an IPv4
 * address). "off" is not an address: callers check for it first. False with *why (static text)
 * on anything else. Pure. */
bool config_listen_parse(const char *s, struct listen_addr *out, const char **why);

/* Fills cfg with the defaults. */
void config_init(struct config *cfg);

/* Parses the config text buf read from `path` on top of what cfg holds (keys the text does not
 * set keep their value; a pool of the same name is replaced) and sets cfg->file to path.
 * Prints nothing. On error returns false, leaves cfg unchanged and sets *err to
 * "PATH:LINE: message" naming the key, e.g. "PATH:4: parallelism: must be between 1 and 10000"
 * (caller frees). buf is a C string (config_load() refuses a file with a NUL byte) checked by
 * conf_text_prepare() first: invalid UTF-8, a string, block comment or '{' never closed, and
 * ${VAR} outside 'single quotes' are errors (libconfuse would substitute it from the process
 * environment; write "\${VAR}" or '${VAR}' for the literal text). Comments may stand
 * anywhere, inside lists too. Uses libconfuse, whose lexer is not reentrant (one parse at a
 * time). */
bool config_parse_buf(struct config *cfg, const char *buf, const char *path, char **err);

/* Applies SWARMFLOW_<KEY> overrides found in envp (a NULL-terminated "K=V" array, like
 * `environ`), e.g. SWARMFLOW_PARALLELISM=8, SWARMFLOW_POLICY_MAX_CPUS=2,
 * SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="/srv,/data" (comma list), SWARMFLOW_POOL_<NAME>_SLOTS=4;
 * also $DOCKER_HOST when no file set docker_host (SWARMFLOW_DOCKER_HOST still wins). On a bad
 * value returns false and sets *err naming the variable, e.g.
 * "SWARMFLOW_PARALLELISM: must be between 1 and 10000 (got 'abc')" (caller frees). Unknown
 * SWARMFLOW_ variables are ignored (SWARMFLOW_CONFIG is the file). */
bool config_apply_env(struct config *cfg, char *const *envp, char **err);

/* Reads the config into cfg (already set up by config_init): --config path if given, else
 * $SWARMFLOW_CONFIG, else ./swarmflow.conf, else /etc/swarmflow/swarmflow.conf, else defaults;
 * then the env overrides. An explicitly named file that does not exist is an error
 * ("PATH: No such file or directory"); files over 1 MiB are refused. Returns false with *err
 * set (caller frees). Either way the caller ends with config_finish. (Does I/O.) */
bool config_load(struct config *cfg, const char *explicit_path, char *const *envp, char **err);

/* Frees everything cfg owns and zeroes it; harmless on a zeroed config. */
void config_finish(struct config *cfg);

/* One key of the config table, described for the docs check (tests/docs/), which keeps
 * docs/configuration.md and the table in step. Owns its strings. */
struct config_key_info {
	char *name; /* as written in the file: "parallelism", "policy.max_cpus",
		     * "pool.NAME.slots" */
	char *env;  /* its override: "SWARMFLOW_PARALLELISM", "SWARMFLOW_POOL_<NAME>_SLOTS" */
	char *default_value; /* config_init()'s value as text: "32", "0.5", "15s", "false", "*",
			      * "none" (unset or an empty list), "required" (a pool's slots) */
};

/* The number of keys in the config table. */
size_t config_key_count(void);

/* Fills *info for the i-th key of the table (i < config_key_count()); free it with
 * config_key_info_finish(). */
void config_key_info_get(size_t i, struct config_key_info *info);

/* Frees what info owns and zeroes it. */
void config_key_info_finish(struct config_key_info *info);

#endif
