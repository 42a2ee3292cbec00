/* config.c - the defaults, swarmflow.conf (libconfuse) and SWARMFLOW_<KEY> overrides, driven by
 * the key table of config_keys.c. */
#include "config_priv.h"

#include <confuse.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/log.h"
#include "swarmflow/core/conftext.h"

#define DEFAULT_DOCKER_HOST "unix:///var/run/docker.sock"
/* Loopback only by default: the API can trigger runs, so exposing it is the operator's choice. */
#define DEFAULT_WEB_LISTEN "127.0.0.1:8080"

/* ---- defaults and finish ---- */

void config_init(struct config *cfg)
{
	*cfg = (struct config){
	    .dags_folder = xstrdup("./dags"),
	    .state_dir = xstrdup("./state"),
	    .docker_host = xstrdup(DEFAULT_DOCKER_HOST),
	    .docker_api_version = xstrdup("auto"),
	    .instance = xstrdup("swarmflow"),
	    .service_prefix = xstrdup("swarmflow"),
	    .parallelism = 32,
	    .poll_interval = 0.5,
	    .engine_events = true,
	    .dag_reload_interval = 5,
	    .dag_rescan_interval_s = 300,
	    .node_lost_timeout_s = 60,
	    .lease_timeout_s = 15,
	    .log_level = xstrdup("info"),
	    .web_listen = xstrdup(DEFAULT_WEB_LISTEN),
	};
	strv_push(&cfg->policy.images, "*");
}

void config_finish(struct config *cfg)
{
	char **strings[] = {
	    &cfg->file,           &cfg->dags_folder,        &cfg->state_dir,
	    &cfg->docker_host,    &cfg->docker_api_version, &cfg->instance,
	    &cfg->service_prefix, &cfg->log_level,          &cfg->on_failure_webhook,
	    &cfg->web_listen,     &cfg->api_token_file,
	};
	for (size_t i = 0; i < ARRAY_LEN(strings); i++)
		free(*strings[i]);
	for (size_t i = 0; i < cfg->n_pools; i++)
		free(cfg->pools[i].name);
	free(cfg->pools);
	strv_finish(&cfg->policy.bind_mount_prefixes);
	strv_finish(&cfg->policy.images);
	strv_finish(&cfg->policy.networks);
	*cfg = (struct config){0};
}

/* Returns the pool called name, appending one (with 0 slots) when there is none. */
static struct pool *pool_get(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_pools; i++)
		if (strcmp(cfg->pools[i].name, name) == 0)
			return &cfg->pools[i];
	cfg->pools = xrealloc(cfg->pools, (cfg->n_pools + 1) * sizeof(*cfg->pools));
	cfg->pools[cfg->n_pools] = (struct pool){.name = xstrdup(name)};
	return &cfg->pools[cfg->n_pools++];
}

/* ---- the file, through libconfuse ---- */

/* libconfuse's error and validation callbacks carry no user pointer, so every section of the
 * schema holds this hidden option: its simple_value points at the parse context. The space
 * in its name keeps it out of reach of unquoted keys; a quoted one cannot set it either
 * (a CFGT_PTR option without a parse callback refuses every value). */
#define CTX_OPT "swarmflow parse context"

struct parse_ctx {
	void *self; /* what the hidden option points at: this context */
	const char *path;
	char *err; /* the first error, "PATH:LINE: message" */
};

/* The option arrays given to cfg_init(); sized for the whole key table, so never short. */
struct schema {
	cfg_opt_t root[ARRAY_LEN(config_keys) + 4];
	cfg_opt_t policy[ARRAY_LEN(config_keys) + 2];
	cfg_opt_t pool[ARRAY_LEN(config_keys) + 2];
};

static struct parse_ctx *ctx_of(cfg_t *c)
{
	for (cfg_opt_t *o = c->opts; o && o->name; o++)
		if (o->type == CFGT_PTR && strcmp(o->name, CTX_OPT) == 0)
			return *o->simple_value.ptr;
	return NULL;
}

/* Keeps the first error as "PATH:LINE: message" instead of printing it. */
__attribute__((format(printf, 2, 0))) static void on_error(cfg_t *c, const char *fmt, va_list ap)
{
	struct parse_ctx *ctx = ctx_of(c);
	if (!ctx || ctx->err)
		return;
	char *msg = xvasprintf(fmt, ap);
	if (c->line > 0)
		ctx->err = xasprintf("%s:%d: %s", ctx->path, c->line, msg);
	else
		ctx->err = xasprintf("%s: %s", ctx->path, msg);
	free(msg);
}

/* Parses the value(s) libconfuse holds for opt. */
static bool parse_opt(const struct key *k, cfg_opt_t *opt, struct value *v, char **msg)
{
	if (k->kind != KIND_LIST) {
		const char *s = cfg_opt_getnstr(opt, 0);
		return config_value_parse(k, s ? s : "", v, msg);
	}
	*v = (struct value){0};
	for (unsigned i = 0; i < cfg_opt_size(opt); i++)
		if (!config_value_list_add(k, cfg_opt_getnstr(opt, i), v, msg))
			return false;
	return true;
}

static const char *const section_names[] = {"root", "policy", "pool"};

static enum section section_of(cfg_t *c)
{
	for (size_t i = 0; i < ARRAY_LEN(section_names); i++)
		if (strcmp(cfg_name(c), section_names[i]) == 0)
			return (enum section)i;
	return SEC_ROOT;
}

/* Validation callback run as each value is read: reports "key: problem" at its line. */
static int check_opt(cfg_t *c, cfg_opt_t *opt)
{
	const struct key *k = config_key_find(section_of(c), cfg_opt_name(opt));
	if (!k)
		return 0;
	struct value v;
	char *msg = NULL;
	bool ok = parse_opt(k, opt, &v, &msg);
	config_value_finish(&v);
	if (!ok) {
		char *name = config_key_name(k, cfg_title(c));
		cfg_error(c, "%s: %s", name, msg);
		free(name);
		free(msg);
	}
	return ok ? 0 : -1;
}

/* Validation callback for a `pool NAME { slots = N }` section just read. */
static int check_pool(cfg_t *c, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *title = cfg_title(sec);
	if (!title || !config_name_valid(title, NAME_MAX_LEN)) {
		cfg_error(c, "pool '%s': name must be 1 to 63 characters of [A-Za-z0-9_.-]",
			  title ? title : "");
		return -1;
	}
	if (cfg_size(sec, "slots") == 0) {
		cfg_error(c, "pool.%s.slots: required", title);
		return -1;
	}
	return 0;
}

static cfg_opt_t key_opt(const struct key *k)
{
	cfg_opt_t o = CFG_STR(k->name, NULL, CFGF_NODEFAULT);
	if (k->kind == KIND_LIST)
		o = (cfg_opt_t)CFG_STR_LIST(k->name, NULL, CFGF_NODEFAULT);
	o.validcb = check_opt;
	return o;
}

static cfg_opt_t ctx_opt(struct parse_ctx *ctx)
{
	cfg_opt_t o = CFG_END();
	o.name = CTX_OPT;
	o.type = CFGT_PTR;
	o.simple_value.ptr = &ctx->self;
	return o;
}

/* Fills s from the key table. Every value is read as a string and checked by the table, so
 * that the file and the environment accept exactly the same spellings. */
static void schema_build(struct schema *s, struct parse_ctx *ctx)
{
	cfg_opt_t *arrays[] = {s->root, s->policy, s->pool};
	size_t n[ARRAY_LEN(arrays)] = {0};
	for (size_t i = 0; i < ARRAY_LEN(config_keys); i++) {
		const struct key *k = &config_keys[i];
		arrays[k->section][n[k->section]++] = key_opt(k);
	}
	for (size_t i = 0; i < ARRAY_LEN(arrays); i++)
		arrays[i][n[i]++] = ctx_opt(ctx);
	s->root[n[SEC_ROOT]] =
	    (cfg_opt_t)CFG_SEC("pool", s->pool, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
	s->root[n[SEC_ROOT]++].validcb = check_pool;
	s->root[n[SEC_ROOT]++] = (cfg_opt_t)CFG_SEC("policy", s->policy, CFGF_NONE);
	for (size_t i = 0; i < ARRAY_LEN(arrays); i++)
		arrays[i][n[i]] = (cfg_opt_t)CFG_END();
}

/* Stores the keys of one section that the file set. */
static bool apply_section(cfg_t *sec, enum section section, void *base, char **msg)
{
	for (size_t i = 0; i < ARRAY_LEN(config_keys); i++) {
		const struct key *k = &config_keys[i];
		cfg_opt_t *opt = k->section == section ? cfg_getopt(sec, k->name) : NULL;
		if (!opt || !(opt->flags & CFGF_MODIFIED))
			continue;
		struct value v;
		if (!parse_opt(k, opt, &v, msg)) {
			config_value_finish(&v);
			return false;
		}
		config_value_store(k, base, &v);
	}
	return true;
}

/* Moves what the parsed file set into cfg. Everything was checked while parsing. */
static bool apply_file(cfg_t *root, struct config *cfg, char **msg)
{
	cfg_opt_t *host = cfg_getopt(root, "docker_host");
	if (host && (host->flags & CFGF_MODIFIED))
		cfg->docker_host_set = true;
	if (!apply_section(root, SEC_ROOT, cfg, msg) ||
	    !apply_section(cfg_getsec(root, "policy"), SEC_POLICY, &cfg->policy, msg))
		return false;
	for (unsigned i = 0; i < cfg_size(root, "pool"); i++) {
		cfg_t *sec = cfg_getnsec(root, "pool", i);
		if (!apply_section(sec, SEC_POOL, pool_get(cfg, cfg_title(sec)), msg))
			return false;
	}
	return true;
}

/* Runs libconfuse over buf once conf_text_prepare() found it safe (comments blanked, no ${VAR}).
 * On error sets *err to "PATH:LINE: message", the first problem in the file. */
static bool parse_text(cfg_t *c, const char *buf, struct parse_ctx *ctx, char **err)
{
	struct conf_text t;
	bool ok = conf_text_prepare(buf, strlen(buf), &t) && t.n_errors == 0;
	if (t.n_errors > 0)
		set_err(err, "%s:%d: %s", ctx->path, t.errors[0].line, t.errors[0].message);
	else if (cfg_parse_buf(c, t.text) != CFG_SUCCESS)
		/* libconfuse reports most errors through the error function (ctx->err, already
		 * "PATH:LINE: ..."), but not all: give the rest the same form. */
		ok = ctx->err ? set_err(err, "%s", ctx->err)
			      : set_err(err, "%s:%d: syntax error", ctx->path,
					c->line > 0 ? c->line : 1);
	else if (t.comment_line)
		ok = set_err(err, "%s:%d: comment '/*' is never closed", ctx->path, t.comment_line);
	else if (t.open_line)
		ok = set_err(err, "%s:%d: premature end of file: missing '}'", ctx->path,
			     t.end_line);
	conf_text_finish(&t);
	return ok;
}

bool config_parse_buf(struct config *cfg, const char *buf, const char *path, char **err)
{
	struct parse_ctx ctx = {.path = path};
	ctx.self = &ctx;
	struct schema s;
	schema_build(&s, &ctx);
	cfg_t *c = cfg_init(s.root, CFGF_NONE);
	if (!c)
		fatalx("out of memory (libconfuse)");
	cfg_set_error_function(c, on_error);
	char *msg = NULL;
	bool ok = parse_text(c, buf, &ctx, err);
	if (ok && !(ok = apply_file(c, cfg, &msg)))
		set_err(err, "%s: %s", path, msg);
	if (ok) {
		free(cfg->file);
		cfg->file = xstrdup(path);
	}
	cfg_free(c);
	free(ctx.err);
	free(msg);
	return ok;
}

/* ---- the environment ---- */

/* Parses s for k and stores it in base; on error names var and the value given. */
static bool env_set(const struct key *k, void *base, const char *var, const char *s, char **err)
{
	struct value v;
	char *msg = NULL;
	if (!config_value_parse(k, s, &v, &msg)) {
		set_err(err, "%s: %s (got '%s')", var, msg, s);
		config_value_finish(&v);
		free(msg);
		return false;
	}
	config_value_store(k, base, &v);
	return true;
}

/* True when name and the NAME of SWARMFLOW_POOL_<NAME>_SLOTS (n bytes) match: case is
 * ignored and any character other than a letter or digit matches '_'. */
static bool pool_env_match(const char *name, const char *env, size_t n)
{
	if (strlen(name) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)name[i], b = (unsigned char)env[i];
		if (isalnum(a) ? toupper(a) != toupper(b) : b != '_')
			return false;
	}
	return true;
}

/* The pool that SWARMFLOW_POOL_<NAME>_SLOTS (NAME: n bytes of env) names: an existing one,
 * else NAME in lower case. */
static char *pool_env_name(const struct config *cfg, const char *env, size_t n)
{
	for (size_t i = 0; i < cfg->n_pools; i++)
		if (pool_env_match(cfg->pools[i].name, env, n))
			return xstrdup(cfg->pools[i].name);
	char *name = xstrndup(env, n);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return name;
}

/* SWARMFLOW_POOL_<NAME>_SLOTS=N: sets a pool's slots, adding the pool when it is new. Other
 * SWARMFLOW_POOL_ variables are ignored like any unknown SWARMFLOW_ variable. */
static bool env_pool(struct config *cfg, const char *entry, char **err)
{
	static const char suffix[] = "_SLOTS";
	const size_t slen = sizeof(suffix) - 1;
	const char *name = entry + strlen("SWARMFLOW_POOL_");
	const char *eq = strchr(name, '=');
	if (!eq || (size_t)(eq - name) <= slen || strncmp(eq - slen, suffix, slen) != 0)
		return true;
	char *var = xstrndup(entry, (size_t)(eq - entry));
	struct pool tmp = {.name = pool_env_name(cfg, name, (size_t)(eq - name) - slen)};
	bool ok = config_name_valid(tmp.name, NAME_MAX_LEN);
	if (!ok)
		set_err(err, "%s: pool name must be 1 to 63 characters of [A-Za-z0-9_.-]", var);
	else if ((ok = env_set(config_key_find(SEC_POOL, "slots"), &tmp, var, eq + 1, err)))
		pool_get(cfg, tmp.name)->slots = tmp.slots;
	free(tmp.name);
	free(var);
	return ok;
}

bool config_apply_env(struct config *cfg, char *const *envp, char **err)
{
	const char *host = env_lookup(envp, "DOCKER_HOST");
	if (host && *host && !cfg->docker_host_set &&
	    !env_set(config_key_find(SEC_ROOT, "docker_host"), cfg, "DOCKER_HOST", host, err))
		return false;
	for (size_t i = 0; i < ARRAY_LEN(config_keys); i++) {
		const struct key *k = &config_keys[i];
		if (k->section == SEC_POOL)
			continue;
		char *var = config_key_env_name(k);
		const char *s = env_lookup(envp, var);
		void *base = k->section == SEC_POLICY ? (void *)&cfg->policy : (void *)cfg;
		bool ok = !s || env_set(k, base, var, s, err);
		free(var);
		if (!ok)
			return false;
	}
	for (; envp && *envp; envp++)
		if (str_has_prefix(*envp, "SWARMFLOW_POOL_") && !env_pool(cfg, *envp, err))
			return false;
	return true;
}
