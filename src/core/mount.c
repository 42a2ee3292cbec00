/* mount.c - `docker service create --mount` strings parsed into Engine API Mount objects. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/spec.h"
#include "swarmflow/core/units.h"

/* Which mount type an option belongs to (KIND_ANY: every type). */
enum mount_kind { KIND_ANY, KIND_VOLUME, KIND_BIND, KIND_TMPFS, KIND_COUNT };

static const char *const kind_names[KIND_COUNT] = {"any", "volume", "bind", "tmpfs"};

/* Largest tmpfs-mode: all permission bits plus setuid, setgid and sticky. */
#define TMPFS_MODE_MAX 07777

/* One mount string while it is being read. */
struct mount {
	enum mount_kind kind;
	char *source, *target, *consistency, *propagation, *driver;
	bool readonly, nocopy, nonrecursive;
	json_t *driver_opts, *labels;
	int64_t tmpfs_size;               /* -1: unset */
	long tmpfs_mode;                  /* -1: unset */
	const char *kind_opt[KIND_COUNT]; /* the first option used that belongs to each type */
};

/* Sets one option from its value; on a bad value sets *why (without the "mount 'x': " part). */
typedef bool (*option_set_fn)(struct mount *m, const char *val, char **why);

struct option {
	const char *name;
	enum mount_kind kind;
	bool bare_ok; /* a flag: the bare key means "true" */
	option_set_fn set;
};

static bool parse_bool(const char *val, bool *out, char **why)
{
	if (strcasecmp(val, "true") == 0 || strcmp(val, "1") == 0) {
		*out = true;
		return true;
	}
	if (strcasecmp(val, "false") == 0 || strcmp(val, "0") == 0) {
		*out = false;
		return true;
	}
	return set_err(why, "'%s' is not a boolean (true, false, 1, 0)", val);
}

static bool in_list(const char *val, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(val, list[i]) == 0)
			return true;
	return false;
}

/* Replaces *dst by a copy of val (NULL when val is empty). */
static void replace_str(char **dst, const char *val)
{
	free(*dst);
	*dst = val[0] ? xstrdup(val) : NULL;
}

static bool set_type(struct mount *m, const char *val, char **why)
{
	for (int k = KIND_VOLUME; k < KIND_COUNT; k++) {
		if (strcasecmp(val, kind_names[k]) == 0) {
			m->kind = (enum mount_kind)k;
			return true;
		}
	}
	if (strcasecmp(val, "npipe") == 0)
		return set_err(why, "type 'npipe' is not supported (Windows named pipes)");
	return set_err(why, "unknown type '%s' (volume, bind or tmpfs)", val);
}

static bool set_source(struct mount *m, const char *val, char **why)
{
	(void)why;
	replace_str(&m->source, val);
	return true;
}

static bool set_target(struct mount *m, const char *val, char **why)
{
	(void)why;
	replace_str(&m->target, val);
	return true;
}

static bool set_readonly(struct mount *m, const char *val, char **why)
{
	return parse_bool(val, &m->readonly, why);
}

static bool set_consistency(struct mount *m, const char *val, char **why)
{
	static const char *const ok[] = {"default", "consistent", "cached", "delegated"};

	if (!in_list(val, ok, ARRAY_LEN(ok)))
		return set_err(why, "unknown consistency '%s'", val);
	replace_str(&m->consistency, val);
	return true;
}

static bool set_propagation(struct mount *m, const char *val, char **why)
{
	static const char *const ok[] = {"private", "rprivate", "shared",
					 "rshared", "slave",    "rslave"};

	if (!in_list(val, ok, ARRAY_LEN(ok)))
		return set_err(why, "unknown bind-propagation '%s'", val);
	replace_str(&m->propagation, val);
	return true;
}

static bool set_nonrecursive(struct mount *m, const char *val, char **why)
{
	return parse_bool(val, &m->nonrecursive, why);
}

static bool set_driver(struct mount *m, const char *val, char **why)
{
	(void)why;
	replace_str(&m->driver, val);
	return true;
}

/* Adds "k=v" (a bare "k" means an empty value) to *obj, creating it when needed. */
static bool add_kv(json_t **obj, const char *opt, const char *val, char **why)
{
	const char *eq = strchr(val, '=');
	size_t klen = eq ? (size_t)(eq - val) : strlen(val);

	if (klen == 0)
		return set_err(why, "%s needs key=value, got '%s'", opt, val);
	if (!*obj)
		*obj = json_object();
	char *key = xstrndup(val, klen);
	json_object_set_new(*obj, key, json_string(eq ? eq + 1 : ""));
	free(key);
	return true;
}

static bool set_volume_opt(struct mount *m, const char *val, char **why)
{
	return add_kv(&m->driver_opts, "volume-opt", val, why);
}

static bool set_volume_label(struct mount *m, const char *val, char **why)
{
	return add_kv(&m->labels, "volume-label", val, why);
}

static bool set_nocopy(struct mount *m, const char *val, char **why)
{
	return parse_bool(val, &m->nocopy, why);
}

static bool set_tmpfs_size(struct mount *m, const char *val, char **why)
{
	char *e = NULL;

	if (!size_parse(val, &m->tmpfs_size, &e)) {
		set_err(why, "tmpfs-size: %s", e ? e : "bad size");
		free(e);
		return false;
	}
	return true;
}

static bool set_tmpfs_mode(struct mount *m, const char *val, char **why)
{
	long mode = 0;

	if (!val[0] || strlen(val) > 5)
		return set_err(why, "tmpfs-mode '%s' is not an octal mode", val);
	for (const char *p = val; *p; p++) {
		if (*p < '0' || *p > '7')
			return set_err(why, "tmpfs-mode '%s' is not an octal mode", val);
		mode = mode * 8 + (*p - '0');
	}
	if (mode > TMPFS_MODE_MAX)
		return set_err(why, "tmpfs-mode '%s' is over 7777", val);
	m->tmpfs_mode = mode;
	return true;
}

static const struct option options[] = {
    {"type", KIND_ANY, false, set_type},
    {"source", KIND_ANY, false, set_source},
    {"src", KIND_ANY, false, set_source},
    {"target", KIND_ANY, false, set_target},
    {"destination", KIND_ANY, false, set_target},
    {"dst", KIND_ANY, false, set_target},
    {"readonly", KIND_ANY, true, set_readonly},
    {"ro", KIND_ANY, true, set_readonly},
    {"consistency", KIND_ANY, false, set_consistency},
    {"bind-propagation", KIND_BIND, false, set_propagation},
    {"bind-nonrecursive", KIND_BIND, true, set_nonrecursive},
    {"volume-driver", KIND_VOLUME, false, set_driver},
    {"volume-opt", KIND_VOLUME, false, set_volume_opt},
    {"volume-label", KIND_VOLUME, false, set_volume_label},
    {"volume-nocopy", KIND_VOLUME, true, set_nocopy},
    {"tmpfs-size", KIND_TMPFS, false, set_tmpfs_size},
    {"tmpfs-mode", KIND_TMPFS, false, set_tmpfs_mode},
};

static const struct option *option_find(const char *key)
{
	for (size_t i = 0; i < ARRAY_LEN(options); i++)
		if (strcasecmp(key, options[i].name) == 0)
			return &options[i];
	return NULL;
}

/* Applies one "key=value" (or bare "key") field. */
static bool apply_field(struct mount *m, const char *field, char **why)
{
	const char *eq = strchr(field, '=');
	char *key = eq ? xstrndup(field, (size_t)(eq - field)) : xstrdup(field);
	const struct option *opt = option_find(key);
	bool ok = false;

	if (!field[0])
		set_err(why, "empty field");
	else if (!opt)
		set_err(why, "unknown option '%s'", key);
	else if (!eq && !opt->bare_ok)
		set_err(why, "option '%s' needs a value (%s=...)", opt->name, opt->name);
	else
		ok = opt->set(m, eq ? eq + 1 : "true", why);
	if (ok && opt->kind != KIND_ANY && !m->kind_opt[opt->kind])
		m->kind_opt[opt->kind] = opt->name;
	free(key);
	return ok;
}

/* Reads one CSV field from *p (double quotes protect commas, "" is a quote, as Go's
 * encoding/csv reads the docker CLI's flag) into out; advances *p past the comma. */
static bool read_field(const char **p, struct buf *out, char **why)
{
	const char *s = *p;

	buf_reset(out);
	buf_append(out, "", 0);
	if (*s == '"') {
		for (s++;; s++) {
			if (!*s)
				return set_err(why, "unterminated quote");
			if (*s == '"' && s[1] != '"')
				break;
			if (*s == '"')
				s++;
			buf_append(out, s, 1);
		}
		s++;
		if (*s && *s != ',')
			return set_err(why, "text after a closing quote");
	} else {
		size_t n = strcspn(s, ",\"");
		if (s[n] == '"')
			return set_err(why, "a quote inside an unquoted field");
		buf_append(out, s, n);
		s += n;
	}
	*p = *s == ',' ? s + 1 : s;
	return true;
}

/* Checks the combination once every field was read. */
static bool check(const struct mount *m, char **why)
{
	if (!m->target)
		return set_err(why, "target is required");
	if (m->kind == KIND_BIND && !m->source)
		return set_err(why, "bind mount needs a source");
	if (m->kind == KIND_TMPFS && m->source)
		return set_err(why, "tmpfs mount takes no source");
	for (int k = KIND_VOLUME; k < KIND_COUNT; k++) {
		if (k != (int)m->kind && m->kind_opt[k])
			return set_err(why, "option '%s' is only for %s mounts", m->kind_opt[k],
				       kind_names[k]);
	}
	return true;
}

static void set_str(json_t *obj, const char *key, const char *val)
{
	if (val)
		json_object_set_new(obj, key, json_string(val));
}

static void set_true(json_t *obj, const char *key, bool val)
{
	if (val)
		json_object_set_new(obj, key, json_true());
}

/* Sets obj[key] = val when val has members, else drops val. Takes val's reference. */
static void set_nonempty(json_t *obj, const char *key, json_t *val)
{
	if (val && json_object_size(val) > 0)
		json_object_set_new(obj, key, val);
	else
		json_decref(val);
}

static json_t *volume_options(struct mount *m)
{
	json_t *vo = json_object();
	json_t *dc = json_object();

	set_true(vo, "NoCopy", m->nocopy);
	set_nonempty(vo, "Labels", m->labels);
	m->labels = NULL;
	set_str(dc, "Name", m->driver);
	set_nonempty(dc, "Options", m->driver_opts);
	m->driver_opts = NULL;
	set_nonempty(vo, "DriverConfig", dc);
	return vo;
}

static json_t *to_json(struct mount *m)
{
	json_t *j = json_object();

	set_str(j, "Type", kind_names[m->kind]);
	set_str(j, "Source", m->source);
	set_str(j, "Target", m->target);
	set_true(j, "ReadOnly", m->readonly);
	set_str(j, "Consistency", m->consistency);
	if (m->kind == KIND_BIND) {
		json_t *bo = json_object();
		set_str(bo, "Propagation", m->propagation);
		set_true(bo, "NonRecursive", m->nonrecursive);
		set_nonempty(j, "BindOptions", bo);
	} else if (m->kind == KIND_VOLUME) {
		set_nonempty(j, "VolumeOptions", volume_options(m));
	} else {
		json_t *to = json_object();
		if (m->tmpfs_size >= 0)
			json_object_set_new(to, "SizeBytes", json_integer(m->tmpfs_size));
		if (m->tmpfs_mode >= 0)
			json_object_set_new(to, "Mode", json_integer(m->tmpfs_mode));
		set_nonempty(j, "TmpfsOptions", to);
	}
	return j;
}

static void mount_finish(struct mount *m)
{
	free(m->source);
	free(m->target);
	free(m->consistency);
	free(m->propagation);
	free(m->driver);
	json_decref(m->driver_opts);
	json_decref(m->labels);
}

static bool read_all(struct mount *m, const char *s, char **why)
{
	struct buf field;
	const char *p = s;
	bool ok = true;

	if (!*s)
		return check(m, why);
	buf_init(&field, 0);
	do {
		ok = read_field(&p, &field, why) && apply_field(m, field.data, why);
	} while (ok && *p);
	if (ok && s[strlen(s) - 1] == ',')
		ok = set_err(why, "empty field");
	buf_finish(&field);
	return ok && check(m, why);
}

json_t *mount_parse(const char *s, char **err)
{
	struct mount m = {.kind = KIND_VOLUME, .tmpfs_size = -1, .tmpfs_mode = -1};
	char *why = NULL;
	json_t *j = NULL;

	/* jansson refuses strings that are not UTF-8, and a refused Source or Target would be
	 * left out of the mount without a word (found by fuzz_mount). */
	json_t *probe = json_string(s);
	if (!probe) {
		set_err(err, "mount: not valid UTF-8");
		return NULL;
	}
	json_decref(probe);
	if (read_all(&m, s, &why))
		j = to_json(&m);
	else
		set_err(err, "mount '%s': %s", s, why);
	free(why);
	mount_finish(&m);
	return j;
}
