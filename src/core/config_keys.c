/* config_keys.c - the config key table: each key's checks, the parsing and storing of its
 * values, its names in the file and the environment, and its description for the docs. */
#include "config_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "swarmflow/common/log.h"
#include "swarmflow/core/units.h"

#define PREFIX_MAX_LEN 20 /* service_prefix: leaves room in Swarm's 63-character names */

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

bool config_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n >= 1 && n <= max &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

static const char *check_instance(const char *s)
{
	return config_name_valid(s, NAME_MAX_LEN) ? NULL
						  : "must be 1 to 63 characters of [A-Za-z0-9_.-]";
}

static const char *check_prefix(const char *s)
{
	if (config_name_valid(s, PREFIX_MAX_LEN) && isalnum((unsigned char)s[0]))
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
const struct key config_keys[] = {
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

_Static_assert(ARRAY_LEN(config_keys) == CONFIG_N_KEYS,
	       "CONFIG_N_KEYS (config_priv.h) must be the number of rows of config_keys[]");

const struct key *config_key_find(enum section section, const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(config_keys); i++)
		if (config_keys[i].section == section && strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
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

bool config_value_list_add(const struct key *k, const char *item, struct value *v, char **msg)
{
	const char *problem = k->check ? k->check(item) : NULL;
	if (problem)
		return set_err(msg, "%s", problem);
	strv_push(&v->list, item);
	return true;
}

bool config_value_parse(const struct key *k, const char *s, struct value *v, char **msg)
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
		bool ok = !*item || config_value_list_add(k, item, v, msg);
		free(item);
		if (!ok)
			return false;
		p += p[n] ? n + 1 : n;
	}
	return true;
}

void config_value_finish(struct value *v)
{
	free(v->str);
	strv_finish(&v->list);
	*v = (struct value){0};
}

void config_value_store(const struct key *k, void *base, struct value *v)
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
	config_value_finish(v);
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

/* ---- a key's names ---- */

char *config_key_name(const struct key *k, const char *pool)
{
	if (k->section == SEC_POLICY)
		return xasprintf("policy.%s", k->name);
	if (k->section == SEC_POOL)
		return xasprintf("pool.%s.%s", pool, k->name);
	return xstrdup(k->name);
}

char *config_key_env_name(const struct key *k)
{
	char *name =
	    xasprintf("SWARMFLOW_%s%s", k->section == SEC_POLICY ? "POLICY_" : "", k->name);
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return name;
}

/* ---- the table, described for the docs ---- */

size_t config_key_count(void)
{
	return ARRAY_LEN(config_keys);
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
	const struct key *k = &config_keys[i];
	*info = (struct config_key_info){0};
	if (k->section == SEC_POOL) {
		info->name = xasprintf("pool.NAME.%s", k->name);
		info->env = xstrdup("SWARMFLOW_POOL_<NAME>_SLOTS");
		info->default_value = xstrdup("required");
		return;
	}
	struct config cfg;
	config_init(&cfg);
	info->name = config_key_name(k, NULL);
	info->env = config_key_env_name(k);
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
