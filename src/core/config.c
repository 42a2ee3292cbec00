/* config.c - swarmflow.conf (libconfuse) and SWARMFLOW_<KEY> overrides, driven by one key table. */
#include "swarmflow/core/config.h"

#include <confuse.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "swarmflow/common/log.h"
#include "swarmflow/core/conftext.h"
#include "swarmflow/core/units.h"

#define DEFAULT_DOCKER_HOST "unix:///var/run/docker.sock"
/* Loopback only by default: the API can trigger runs, so exposing it is the operator's choice. */
#define DEFAULT_WEB_LISTEN "127.0.0.1:8080"
#define NAME_MAX_LEN 63   /* instance and pool names: a Docker label value and name part */
#define PREFIX_MAX_LEN 20 /* service_prefix: leaves room in Swarm's 63-character names */

enum kind { KIND_STR, KIND_INT, KIND_FLOAT, KIND_BOOL, KIND_SIZE, KIND_DURATION, KIND_LIST };
enum section { SEC_ROOT, SEC_POLICY, SEC_POOL };

/* Checks a string (or one list item); returns what is wrong with it, or NULL when fine. */
typedef const char *(*str_check)(const char *s);

/* One configuration key: where it lives, how it is parsed and checked. The same entry serves
 * the file (libconfuse validation callbacks) and the SWARMFLOW_<KEY> environment overrides. */
struct key {
	enum section section;
	const char *name;
	enum kind kind;
	size_t offset;     /* in struct config, struct policy or struct pool */
	double min, max;   /* KIND_INT and KIND_FLOAT bounds; KIND_DURATION's when max > 0 */
	bool min_excluded; /* KIND_FLOAT: min itself is not allowed */
	bool empty_null;   /* KIND_STR: "" stores NULL (unset) */
	str_check check;   /* KIND_STR and each KIND_LIST item */
};

/* A parsed value on its way into the config; owns str and list. */
struct value {
	char *str;
	int64_t i;
	double f;
	bool b;
	struct strv list;
};

static const char *check_nonempty(const char *s)
{
	return *s ? NULL : "must not be empty";
}

static const char *check_docker_host(const char *s)
{
	if ((str_has_prefix(s, "unix://") && s[7] == '/') || (str_has_prefix(s, "tcp://") && s[6]))
		return NULL;
	return "must be unix:///path/to/socket or tcp://host:port";
}

static const char *check_api_version(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return NULL;
	if (str_has_prefix(s, "1.") && isdigit((unsigned char)s[2]) &&
	    isdigit((unsigned char)s[3]) && s[4] == '\0')
		return NULL;
	return "must be \"auto\" or an API version like \"1.43\"";
}

/* True when s is 1 to max characters of [A-Za-z0-9_.-]. */
static bool valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n >= 1 && n <= max &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

static const char *check_instance(const char *s)
{
	return valid_name(s, NAME_MAX_LEN) ? NULL : "must be 1 to 63 characters of [A-Za-z0-9_.-]";
}

static const char *check_prefix(const char *s)
{
	if (valid_name(s, PREFIX_MAX_LEN) && isalnum((unsigned char)s[0]))
		return NULL;
	return "must be 1 to 20 characters of [A-Za-z0-9_.-] starting with a letter or digit";
}

static const char *check_log_level(const char *s)
{
	enum log_level level;
	return log_level_parse(s, &level) ? NULL : "must be debug, info, warn or error";
}

static const char *check_webhook(const char *s)
{
	if (!*s || str_has_prefix(s, "http://") || str_has_prefix(s, "https://"))
		return NULL;
	return "must be an http:// or https:// URL (or \"\" for none)";
}

static const char *check_listen(const char *s)
{
	struct listen_addr addr;
	const char *why = NULL;
	if (strcmp(s, "off") == 0 || config_listen_parse(s, &addr, &why))
		return NULL;
	return why;
}

static const char *check_abs_path(const char *s)
{
	return s[0] == '/' ? NULL : "must hold absolute paths";
}

static const char *check_item(const char *s)
{
	return *s ? NULL : "must not hold empty items";
}

#define ROOT(field) offsetof(struct config, field)
#define POLICY(field) offsetof(struct policy, field)

/* Every key of swarmflow.conf, one per row: section, name, kind, field, then bounds/checks. */
static const struct key keys[] = {
    {SEC_ROOT, "dags_folder", KIND_STR, ROOT(dags_folder), .check = check_nonempty},
    {SEC_ROOT, "state_dir", KIND_STR, ROOT(state_dir), .check = check_nonempty},
    {SEC_ROOT, "docker_host", KIND_STR, ROOT(docker_host), .check = check_docker_host},
    {SEC_ROOT, "docker_api_version", KIND_STR, ROOT(docker_api_version),
     .check = check_api_version},
    {SEC_ROOT, "instance", KIND_STR, ROOT(instance), .check = check_instance},
    {SEC_ROOT, "service_prefix", KIND_STR, ROOT(service_prefix), .check = check_prefix},
    {SEC_ROOT, "parallelism", KIND_INT, ROOT(parallelism), .min = 1, .max = 10000},
    {SEC_ROOT, "poll_interval", KIND_FLOAT, ROOT(poll_interval), .min = 0, .max = 60,
     .min_excluded = true},
    {SEC_ROOT, "keep_failed_services", KIND_BOOL, .offset = ROOT(keep_failed_services)},
    {SEC_ROOT, "engine_events", KIND_BOOL, .offset = ROOT(engine_events)},
    {SEC_ROOT, "dag_reload_interval", KIND_FLOAT, ROOT(dag_reload_interval), .min = 0, .max = 3600,
     .min_excluded = true},
    {SEC_ROOT, "dag_rescan_interval", KIND_DURATION, ROOT(dag_rescan_interval_s), .min = 1,
     .max = 86400},
    {SEC_ROOT, "node_lost_timeout", KIND_DURATION, .offset = ROOT(node_lost_timeout_s)},
    {SEC_ROOT, "lease_timeout", KIND_DURATION, ROOT(lease_timeout_s), .min = 1, .max = 3600},
    {SEC_ROOT, "log_level", KIND_STR, ROOT(log_level), .check = check_log_level},
    {SEC_ROOT, "on_failure_webhook", KIND_STR, ROOT(on_failure_webhook), .check = check_webhook,
     .empty_null = true},
    {SEC_ROOT, "web_listen", KIND_STR, ROOT(web_listen), .check = check_listen},
    {SEC_ROOT, "api_token_file", KIND_STR, ROOT(api_token_file), .empty_null = true},
    {SEC_POLICY, "bind_mount_prefixes", KIND_LIST, POLICY(bind_mount_prefixes),
     .check = check_abs_path},
    {SEC_POLICY, "allow_docker_socket", KIND_BOOL, .offset = POLICY(allow_docker_socket)},
    {SEC_POLICY, "images", KIND_LIST, POLICY(images), .check = check_item},
    {SEC_POLICY, "networks", KIND_LIST, POLICY(networks), .check = check_item},
    {SEC_POLICY, "max_cpus", KIND_FLOAT, POLICY(max_cpus), .min = 0, .max = 4096},
    {SEC_POLICY, "max_memory", KIND_SIZE, .offset = POLICY(max_memory)},
    {SEC_POOL, "slots", KIND_INT, offsetof(struct pool, slots), .min = 1, .max = 100000},
};

static const char *const section_names[] = {"root", "policy", "pool"};

static const struct key *key_find(enum section section, const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (keys[i].section == section && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* ---- values: parse a string for a key, store it ---- */

static bool parse_int(const struct key *k, const char *s, struct value *v, char **msg)
{
	if (parse_int64(s, (int64_t)k->min, (int64_t)k->max, &v->i))
		return true;
	return set_err(msg, "must be between %lld and %lld", (long long)k->min, (long long)k->max);
}

static bool parse_float(const struct key *k, const char *s, struct value *v, char **msg)
{
	char *end = NULL;
	double f = *s && !isspace((unsigned char)*s) ? strtod(s, &end) : NAN;
	bool ok = end && *end == '\0' && isfinite(f) && f <= k->max &&
		  (k->min_excluded ? f > k->min : f >= k->min);
	if (ok) {
		v->f = f;
		return true;
	}
	if (k->min_excluded)
		return set_err(msg, "must be greater than %g and at most %g", k->min, k->max);
	return set_err(msg, "must be between %g and %g", k->min, k->max);
}

static bool parse_bool(const char *s, bool *out, char **msg)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {
	    {"true", true},   {"yes", true}, {"on", true},   {"1", true},
	    {"false", false}, {"no", false}, {"off", false}, {"0", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(words); i++) {
		if (strcasecmp(s, words[i].word) == 0) {
			*out = words[i].value;
			return true;
		}
	}
	return set_err(msg, "must be true or false");
}

static bool parse_str(const struct key *k, const char *s, struct value *v, char **msg)
{
	const char *problem = k->check ? k->check(s) : NULL;
	if (problem)
		return set_err(msg, "%s", problem);
	v->str = k->empty_null && !*s ? NULL : xstrdup(s);
	return true;
}

/* Checks one list item and appends it to v->list. */
static bool list_add(const struct key *k, const char *item, struct value *v, char **msg)
{
	const char *problem = k->check ? k->check(item) : NULL;
	if (problem)
		return set_err(msg, "%s", problem);
	strv_push(&v->list, item);
	return true;
}

/* Parses s for key k into *v (zeroed first). A list is given comma-separated ("/srv,/data"):
 * items are trimmed and empty ones dropped. On error returns false with *msg (caller frees). */
static bool parse_value(const struct key *k, const char *s, struct value *v, char **msg)
{
	*v = (struct value){0};
	switch (k->kind) {
	case KIND_STR:
		return parse_str(k, s, v, msg);
	case KIND_INT:
		return parse_int(k, s, v, msg);
	case KIND_FLOAT:
		return parse_float(k, s, v, msg);
	case KIND_BOOL:
		return parse_bool(s, &v->b, msg);
	case KIND_SIZE:
		return size_parse(s, &v->i, msg);
	case KIND_DURATION:
		if (!duration_parse(s, &v->i, msg))
			return false;
		if (k->max > 0 && (v->i < k->min || v->i > k->max))
			return set_err(msg, "must be between %llds and %llds", (long long)k->min,
				       (long long)k->max);
		return true;
	case KIND_LIST:
		break;
	}
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ",");
		const char *start = p, *end = p + n;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		char *item = xstrndup(start, (size_t)(end - start));
		bool ok = !*item || list_add(k, item, v, msg);
		free(item);
		if (!ok)
			return false;
		p += p[n] ? n + 1 : n;
	}
	return true;
}

static void value_finish(struct value *v)
{
	free(v->str);
	strv_finish(&v->list);
	*v = (struct value){0};
}

/* Moves *v into the field of k in base (struct config, policy or pool). */
static void value_store(const struct key *k, void *base, struct value *v)
{
	char *field = (char *)base + k->offset;
	switch (k->kind) {
	case KIND_STR:
		free(*(char **)field);
		*(char **)field = v->str;
		v->str = NULL;
		break;
	case KIND_INT:
		*(int *)field = (int)v->i;
		break;
	case KIND_FLOAT:
		*(double *)field = v->f;
		break;
	case KIND_BOOL:
		*(bool *)field = v->b;
		break;
	case KIND_SIZE:
	case KIND_DURATION:
		*(int64_t *)field = v->i;
		break;
	case KIND_LIST:
		strv_finish((struct strv *)field);
		*(struct strv *)field = v->list;
		v->list = (struct strv){0};
		break;
	}
	value_finish(v);
}

/* ---- web_listen ---- */

/* A port: 1 to 5 digits, at most 65535. */
static bool parse_port(const char *s, int *port)
{
	int64_t p = 0;
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5 ||
	    !parse_int64(s, 0, 65535, &p))
		return false;
	*port = (int)p;
	return true;
}

bool config_listen_parse(const char *s, struct listen_addr *out, const char **why)
{
	static const char usage[] = "must be \"HOST:PORT\", \"[IPV6]:PORT\", \":PORT\" or \"off\"";
	const char *colon;
	size_t host_len;
	*out = (struct listen_addr){0};
	*why = usage;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end == s + 1 || end[1] != ':' ||
		    strspn(s + 1, "0123456789abcdefABCDEF:.") != (size_t)(end - s - 1))
			return false;
		colon = end + 1;
		s++;
		host_len = (size_t)(end - s);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		host_len = (size_t)(colon - s);
		if (strspn(s,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_") !=
		    host_len)
			return false;
	}
	if (host_len >= sizeof(out->host))
		return false;
	if (!parse_port(colon + 1, &out->port)) {
		*why = "port must be a number from 0 to 65535";
		return false;
	}
	memcpy(out->host, s, host_len);
	out->host[host_len] = '\0';
	*why = NULL;
	return true;
}

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
	cfg_opt_t root[ARRAY_LEN(keys) + 4];
	cfg_opt_t policy[ARRAY_LEN(keys) + 2];
	cfg_opt_t pool[ARRAY_LEN(keys) + 2];
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
		return parse_value(k, s ? s : "", v, msg);
	}
	*v = (struct value){0};
	for (unsigned i = 0; i < cfg_opt_size(opt); i++)
		if (!list_add(k, cfg_opt_getnstr(opt, i), v, msg))
			return false;
	return true;
}

static enum section section_of(cfg_t *c)
{
	for (size_t i = 0; i < ARRAY_LEN(section_names); i++)
		if (strcmp(cfg_name(c), section_names[i]) == 0)
			return (enum section)i;
	return SEC_ROOT;
}

/* The key as the user wrote it: "parallelism", "policy.max_cpus", "pool.gpu.slots". */
static char *display_name(const struct key *k, cfg_t *c)
{
	if (k->section == SEC_POLICY)
		return xasprintf("policy.%s", k->name);
	if (k->section == SEC_POOL)
		return xasprintf("pool.%s.%s", cfg_title(c), k->name);
	return xstrdup(k->name);
}

/* Validation callback run as each value is read: reports "key: problem" at its line. */
static int check_opt(cfg_t *c, cfg_opt_t *opt)
{
	const struct key *k = key_find(section_of(c), cfg_opt_name(opt));
	if (!k)
		return 0;
	struct value v;
	char *msg = NULL;
	bool ok = parse_opt(k, opt, &v, &msg);
	value_finish(&v);
	if (!ok) {
		char *name = display_name(k, c);
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
	if (!title || !valid_name(title, NAME_MAX_LEN)) {
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
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		arrays[keys[i].section][n[keys[i].section]++] = key_opt(&keys[i]);
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
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];
		cfg_opt_t *opt = k->section == section ? cfg_getopt(sec, k->name) : NULL;
		if (!opt || !(opt->flags & CFGF_MODIFIED))
			continue;
		struct value v;
		if (!parse_opt(k, opt, &v, msg)) {
			value_finish(&v);
			return false;
		}
		value_store(k, base, &v);
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

/* "SWARMFLOW_PARALLELISM", "SWARMFLOW_POLICY_MAX_CPUS". */
static char *env_name(const struct key *k)
{
	char *name =
	    xasprintf("SWARMFLOW_%s%s", k->section == SEC_POLICY ? "POLICY_" : "", k->name);
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return name;
}

/* Parses s for k and stores it in base; on error names var and the value given. */
static bool env_set(const struct key *k, void *base, const char *var, const char *s, char **err)
{
	struct value v;
	char *msg = NULL;
	if (!parse_value(k, s, &v, &msg)) {
		set_err(err, "%s: %s (got '%s')", var, msg, s);
		value_finish(&v);
		free(msg);
		return false;
	}
	value_store(k, base, &v);
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
	bool ok = valid_name(tmp.name, NAME_MAX_LEN);
	if (!ok)
		set_err(err, "%s: pool name must be 1 to 63 characters of [A-Za-z0-9_.-]", var);
	else if ((ok = env_set(key_find(SEC_POOL, "slots"), &tmp, var, eq + 1, err)))
		pool_get(cfg, tmp.name)->slots = tmp.slots;
	free(tmp.name);
	free(var);
	return ok;
}

bool config_apply_env(struct config *cfg, char *const *envp, char **err)
{
	const char *host = env_lookup(envp, "DOCKER_HOST");
	if (host && *host && !cfg->docker_host_set &&
	    !env_set(key_find(SEC_ROOT, "docker_host"), cfg, "DOCKER_HOST", host, err))
		return false;
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];
		if (k->section == SEC_POOL)
			continue;
		char *var = env_name(k);
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

/* ---- the table, described for the docs ---- */

size_t config_key_count(void)
{
	return ARRAY_LEN(keys);
}

/* The value of k in base (a struct config or struct policy) as the docs write it. */
static char *value_text(const struct key *k, const void *base)
{
	const char *field = (const char *)base + k->offset;
	switch (k->kind) {
	case KIND_STR: {
		const char *s = *(char *const *)field;
		return xstrdup(s ? s : "none");
	}
	case KIND_INT:
		return xasprintf("%d", *(const int *)field);
	case KIND_FLOAT:
		return xasprintf("%g", *(const double *)field);
	case KIND_BOOL:
		return xstrdup(*(const bool *)field ? "true" : "false");
	case KIND_SIZE:
		return xasprintf("%lld", (long long)*(const int64_t *)field);
	case KIND_DURATION:
		return xasprintf("%llds", (long long)*(const int64_t *)field);
	case KIND_LIST:
		break;
	}
	const struct strv *list = (const struct strv *)field;
	if (list->len == 0)
		return xstrdup("none");
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < list->len; i++)
		buf_printf(&b, "%s%s", i ? "," : "", list->v[i]);
	return buf_steal(&b);
}

void config_key_info_get(size_t i, struct config_key_info *info)
{
	const struct key *k = &keys[i];
	*info = (struct config_key_info){0};
	if (k->section == SEC_POOL) {
		info->name = xasprintf("pool.NAME.%s", k->name);
		info->env = xstrdup("SWARMFLOW_POOL_<NAME>_SLOTS");
		info->default_value = xstrdup("required");
		return;
	}
	struct config cfg;
	config_init(&cfg);
	info->name = display_name(k, NULL);
	info->env = env_name(k);
	info->default_value = value_text(k, k->section == SEC_POLICY ? (void *)&cfg.policy : &cfg);
	config_finish(&cfg);
}

void config_key_info_finish(struct config_key_info *info)
{
	free(info->name);
	free(info->env);
	free(info->default_value);
	*info = (struct config_key_info){0};
}
