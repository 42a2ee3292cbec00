/* dag_parse.c - the `.dag` file parser: libconfuse option tables, value checks and defaults. */
#include "swarmflow/core/dag.h"

#include <confuse.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/core/conftext.h"
#include "swarmflow/core/cron.h"
#include "swarmflow/core/spec.h"
#include "swarmflow/core/template.h"
#include "swarmflow/core/units.h"

/*
 * libconfuse's callbacks get no user pointer, so the parse tree carries its own diagnostics in two
 * hidden options of every section. Their names contain '|', which cfg_getopt() reads as a path,
 * so a file can never set them.
 *   OPT_LINE   an int list whose default "{0}" is parsed by libconfuse when the section is
 *              created; its validate callback then sees cfg->line at the section's '{'.
 *   OPT_ERRORS "LINE:message" strings added by the error function and the value checks.
 */
#define OPT_LINE "line|"
#define OPT_ERRORS "errors|"

/* Built-in values of the integer and number keys (see dag.h). */
#define DEFAULT_MAX_ACTIVE 16
#define DEFAULT_RETRY_DELAY_S 300
#define MAX_CPUS 1e6

/* What a key holds: its libconfuse type, its check and where it goes in struct dag or task. */
enum kind {
	K_TEXT,        /* any string */
	K_STRING,      /* a non-empty string */
	K_TEMPLATE,    /* a string with {{ }} variables */
	K_PATH,        /* an absolute path */
	K_URL,         /* http:// or https:// */
	K_SCHEDULE,    /* cron, preset, @once or none */
	K_DATE,        /* UTC date or time */
	K_DURATION,    /* "1h30m" or seconds */
	K_SIZE,        /* "256M" */
	K_TRIGGER,     /* a trigger rule */
	K_OUTPUT,      /* an output mode */
	K_BOOL,        /* true/false */
	K_COUNT,       /* integer >= 0 */
	K_LIMIT,       /* integer >= 1 */
	K_CPUS,        /* number >= 0 */
	K_LIST,        /* non-empty strings */
	K_ARGV,        /* templates */
	K_ENV,         /* K=V templates */
	K_LABELS,      /* k=v templates, not swarmflow.* */
	K_KV,          /* k=v */
	K_MOUNTS,      /* --mount syntax */
	K_SECRETS,     /* name or name:target */
	K_CONFIGS,     /* name:target */
	K_CONSTRAINTS, /* node.role==worker */
	K_PREFERENCES, /* spread=node.labels.zone */
};

typedef bool (*check_fn)(const char *s, char **err);

struct kind_info {
	cfg_type_t type;
	bool list;
	check_fn check; /* for each string value; NULL: none */
};

struct key {
	const char *name;
	enum kind kind;
	size_t off; /* of the field in struct task or struct dag */
};

#define TASK_KEY(name, kind, field)                                                                \
	{                                                                                          \
		name, kind, offsetof(struct task, field)                                           \
	}
#define DAG_KEY(name, kind, field)                                                                 \
	{                                                                                          \
		name, kind, offsetof(struct dag, field)                                            \
	}

/* Every task key of DESIGN.md, shared by `defaults { }` and `task NAME { }`. */
static const struct key task_keys[] = {
    TASK_KEY("image", K_STRING, image),
    TASK_KEY("command", K_ARGV, command),
    TASK_KEY("shell", K_TEMPLATE, shell),
    TASK_KEY("entrypoint", K_ARGV, entrypoint),
    TASK_KEY("env", K_ENV, env),
    TASK_KEY("workdir", K_PATH, workdir),
    TASK_KEY("user", K_STRING, user),
    TASK_KEY("hostname", K_STRING, hostname),
    TASK_KEY("labels", K_LABELS, labels),
    TASK_KEY("mounts", K_MOUNTS, mounts),
    TASK_KEY("secrets", K_SECRETS, secrets),
    TASK_KEY("configs", K_CONFIGS, configs),
    TASK_KEY("networks", K_LIST, networks),
    TASK_KEY("constraints", K_CONSTRAINTS, constraints),
    TASK_KEY("preferences", K_PREFERENCES, preferences),
    TASK_KEY("cpus", K_CPUS, cpus),
    TASK_KEY("memory", K_SIZE, memory),
    TASK_KEY("reserve_cpus", K_CPUS, reserve_cpus),
    TASK_KEY("reserve_memory", K_SIZE, reserve_memory),
    TASK_KEY("tty", K_BOOL, tty),
    TASK_KEY("init", K_BOOL, init),
    TASK_KEY("log_driver", K_STRING, log_driver),
    TASK_KEY("log_opts", K_KV, log_opts),
    TASK_KEY("upstream", K_LIST, upstream),
    TASK_KEY("trigger_rule", K_TRIGGER, trigger_rule),
    TASK_KEY("retries", K_COUNT, retries),
    TASK_KEY("retry_delay", K_DURATION, retry_delay_s),
    TASK_KEY("retry_exponential_backoff", K_BOOL, retry_exponential_backoff),
    TASK_KEY("max_retry_delay", K_DURATION, max_retry_delay_s),
    TASK_KEY("timeout", K_DURATION, timeout_s),
    TASK_KEY("pending_timeout", K_DURATION, pending_timeout_s),
    TASK_KEY("pool", K_STRING, pool),
    TASK_KEY("output", K_OUTPUT, output),
    TASK_KEY("branch", K_BOOL, branch),
    TASK_KEY("short_circuit", K_BOOL, short_circuit),
    TASK_KEY("expand", K_ARGV, expand),
    TASK_KEY("max_map_length", K_LIMIT, max_map_length),
};

static const struct key dag_keys[] = {
    DAG_KEY("description", K_TEXT, description),
    DAG_KEY("schedule", K_SCHEDULE, schedule_str),
    DAG_KEY("start_date", K_DATE, start_date),
    DAG_KEY("end_date", K_DATE, end_date),
    DAG_KEY("catchup", K_BOOL, catchup),
    DAG_KEY("max_active_runs", K_LIMIT, max_active_runs),
    DAG_KEY("max_active_tasks", K_LIMIT, max_active_tasks),
    DAG_KEY("dagrun_timeout", K_DURATION, dagrun_timeout_s),
    DAG_KEY("on_failure_webhook", K_URL, on_failure_webhook),
    DAG_KEY("tags", K_LIST, tags),
};

const char *dag_key_name(bool task, size_t i)
{
	if (task)
		return i < ARRAY_LEN(task_keys) ? task_keys[i].name : NULL;
	return i < ARRAY_LEN(dag_keys) ? dag_keys[i].name : NULL;
}

/* ---- value checks (they run inside libconfuse, at the line of the value) ---- */

static bool check_nonempty(const char *s, char **err)
{
	return *s ? true : set_err(err, "must not be empty");
}

static bool check_path(const char *s, char **err)
{
	return s[0] == '/' ? true : set_err(err, "'%s' is not an absolute path", s);
}

static bool check_url(const char *s, char **err)
{
	if (str_has_prefix(s, "http://") || str_has_prefix(s, "https://"))
		return true;
	return set_err(err, "'%s' is not an http:// or https:// URL", s);
}

static bool check_schedule(const char *s, char **err)
{
	struct schedule sched;
	return schedule_parse(s, &sched, err);
}

static bool check_date(const char *s, char **err)
{
	int64_t t;
	if (time_parse_iso(s, &t))
		return true;
	return set_err(err, "invalid date '%s' (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)",
		       s);
}

static bool check_duration(const char *s, char **err)
{
	int64_t v;
	return duration_parse(s, &v, err);
}

static bool check_size(const char *s, char **err)
{
	int64_t v;
	return size_parse(s, &v, err);
}

static bool check_trigger(const char *s, char **err)
{
	enum trigger_rule r;
	if (trigger_rule_parse(s, &r))
		return true;
	struct buf names;
	buf_init(&names, 0);
	for (int i = 0; i < TRIGGER_RULE_COUNT; i++)
		buf_printf(&names, "%s%s", i ? ", " : "", trigger_rule_name((enum trigger_rule)i));
	set_err(err, "unknown trigger rule '%s' (%s)", s, names.data);
	buf_finish(&names);
	return false;
}

static bool check_output(const char *s, char **err)
{
	enum output_mode m;
	if (output_mode_parse(s, &m))
		return true;
	return set_err(err, "unknown output '%s' (none, last_line or marked)", s);
}

/* k=v with a non-empty k. */
static bool check_pair(const char *s, char **err)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return set_err(err, "'%s' is not KEY=VALUE", s);
	return true;
}

static bool check_env(const char *s, char **err)
{
	return check_pair(s, err) && template_check(s, err);
}

static bool check_label(const char *s, char **err)
{
	if (!check_pair(s, err))
		return false;
	if (str_has_prefix(s, "swarmflow."))
		return set_err(err, "'%s': labels starting with 'swarmflow.' are reserved", s);
	return template_check(s, err);
}

static bool check_mount(const char *s, char **err)
{
	json_t *m = mount_parse(s, err);
	json_decref(m);
	return m != NULL;
}

static bool check_secret(const char *s, char **err)
{
	const char *colon = strchr(s, ':');
	if (s[0] == '\0' || colon == s || (colon && colon[1] == '\0'))
		return set_err(err, "'%s' is not NAME or NAME:TARGET", s);
	return true;
}

static bool check_config(const char *s, char **err)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s || colon[1] == '\0')
		return set_err(err, "'%s' is not NAME:TARGET", s);
	return true;
}

static bool check_constraint(const char *s, char **err)
{
	if (strstr(s, "==") || strstr(s, "!="))
		return true;
	return set_err(err, "'%s' is not a constraint like node.role==worker", s);
}

static bool check_preference(const char *s, char **err)
{
	if (str_has_prefix(s, "spread=") && s[7])
		return true;
	return set_err(err, "'%s' is not a preference like spread=node.labels.zone", s);
}

static const struct kind_info kinds[] = {
    [K_TEXT] = {CFGT_STR, false, NULL},
    [K_STRING] = {CFGT_STR, false, check_nonempty},
    [K_TEMPLATE] = {CFGT_STR, false, template_check},
    [K_PATH] = {CFGT_STR, false, check_path},
    [K_URL] = {CFGT_STR, false, check_url},
    [K_SCHEDULE] = {CFGT_STR, false, check_schedule},
    [K_DATE] = {CFGT_STR, false, check_date},
    [K_DURATION] = {CFGT_STR, false, check_duration},
    [K_SIZE] = {CFGT_STR, false, check_size},
    [K_TRIGGER] = {CFGT_STR, false, check_trigger},
    [K_OUTPUT] = {CFGT_STR, false, check_output},
    [K_BOOL] = {CFGT_BOOL, false, NULL},
    [K_COUNT] = {CFGT_INT, false, NULL},
    [K_LIMIT] = {CFGT_INT, false, NULL},
    [K_CPUS] = {CFGT_FLOAT, false, NULL},
    [K_LIST] = {CFGT_STR, true, check_nonempty},
    [K_ARGV] = {CFGT_STR, true, template_check},
    [K_ENV] = {CFGT_STR, true, check_env},
    [K_LABELS] = {CFGT_STR, true, check_label},
    [K_KV] = {CFGT_STR, true, check_pair},
    [K_MOUNTS] = {CFGT_STR, true, check_mount},
    [K_SECRETS] = {CFGT_STR, true, check_secret},
    [K_CONFIGS] = {CFGT_STR, true, check_config},
    [K_CONSTRAINTS] = {CFGT_STR, true, check_constraint},
    [K_PREFERENCES] = {CFGT_STR, true, check_preference},
};

static const struct key *key_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(task_keys); i++)
		if (strcmp(task_keys[i].name, name) == 0)
			return &task_keys[i];
	for (size_t i = 0; i < ARRAY_LEN(dag_keys); i++)
		if (strcmp(dag_keys[i].name, name) == 0)
			return &dag_keys[i];
	return NULL;
}

/* ---- the hidden per-section options ---- */

static cfg_opt_t *hidden_opt(cfg_t *sec, const char *name)
{
	for (cfg_opt_t *o = sec ? sec->opts : NULL; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* Records "LINE:msg" in the section, once per distinct message. */
static void note_error(cfg_t *sec, int line, const char *msg)
{
	cfg_opt_t *opt = hidden_opt(sec, OPT_ERRORS);
	if (!opt)
		return;
	for (unsigned i = 0; i < opt->nvalues; i++) {
		const char *old = strchr(opt->values[i]->string, ':');
		if (old && strcmp(old + 1, msg) == 0)
			return;
	}
	char *s = xasprintf("%d:%s", line, msg);
	cfg_opt_setnstr(opt, s, opt->nvalues);
	free(s);
}

__attribute__((format(printf, 2, 3))) static void notef(cfg_t *sec, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	note_error(sec, sec->line, msg);
	free(msg);
}

/* libconfuse's error function: keeps its message, names duplicates as tasks or DAGs. */
__attribute__((format(printf, 2, 0))) static void on_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char *msg;
	if (strcmp(fmt, "found duplicate title '%s'") == 0) {
		const char *title = va_arg(ap, const char *);
		bool in_dag = strcmp(cfg->name, "dag") == 0;
		msg = xasprintf(in_dag ? "duplicate task '%s'" : "duplicate dag '%s' in this file",
				title);
	} else {
		msg = xvasprintf(fmt, ap);
	}
	note_error(cfg, cfg->line, msg);
	free(msg);
}

/* Validate callback of OPT_LINE: runs once when a section is created, at its '{'. */
static int note_line(cfg_t *cfg, cfg_opt_t *opt)
{
	if (opt->nvalues && opt->values[0]->number == 0)
		opt->values[0]->number = cfg->line;
	return 0;
}

static int section_line(cfg_t *sec)
{
	cfg_opt_t *opt = hidden_opt(sec, OPT_LINE);
	if (opt && opt->nvalues && opt->values[0]->number > 0)
		return (int)opt->values[0]->number;
	return sec->line;
}

/* Validate callback of string keys: checks the value just set (for a list, the newest one). */
static int check_option(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct key *k = key_find(opt->name);
	if (!k || opt->type != CFGT_STR || opt->nvalues == 0)
		return 0;
	const char *s = opt->values[opt->nvalues - 1]->string;
	char *err = NULL;
	json_t *js = json_string(s); /* NULL when an escape made the value invalid UTF-8 */
	json_decref(js);
	if (!js)
		notef(cfg, "%s: value is not valid UTF-8", opt->name);
	else if (kinds[k->kind].check && !kinds[k->kind].check(s, &err))
		notef(cfg, "%s: %s", opt->name, err ? err : "invalid value");
	free(err);
	return 0;
}

/* Parse callbacks of the other types: they record a bad value and let parsing go on. */
static int parse_bool(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	int b = cfg_parse_boolean(value);
	if (b < 0) {
		notef(cfg, "%s: invalid boolean '%s' (true or false)", opt->name, value);
		b = 0;
	}
	*(int *)result = b;
	return 0;
}

/* Largest retries, max_active_runs or max_active_tasks: far above any real need, and small
 * enough that retries + 1 and counts never overflow. */
#define MAX_INT_VALUE 100000

static int parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const struct key *k = key_find(opt->name);
	int64_t min = k && k->kind == K_LIMIT ? 1 : 0, v = 0;
	if (!parse_int64(value, min, MAX_INT_VALUE, &v))
		notef(cfg, "%s: invalid value '%s' (an integer from %lld to %d)", opt->name, value,
		      (long long)min, MAX_INT_VALUE);
	*(long *)result = (long)v;
	return 0;
}

static int parse_cpus(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char *end = NULL;
	double d = strtod(value, &end);
	if (!*value || *end || !isfinite(d) || d < 0 || d > MAX_CPUS) {
		notef(cfg, "%s: invalid value '%s' (a number of CPUs >= 0)", opt->name, value);
		d = 0;
	}
	*(double *)result = d;
	return 0;
}

/* ---- the option tables ---- */

static cfg_opt_t key_opt(const struct key *k)
{
	const struct kind_info *ki = &kinds[k->kind];
	cfg_opt_t o = {.name = k->name, .type = ki->type, .flags = CFGF_NODEFAULT};
	if (ki->list)
		o.flags |= CFGF_LIST;
	if (ki->type == CFGT_BOOL)
		o.parsecb = parse_bool;
	else if (ki->type == CFGT_INT)
		o.parsecb = parse_int;
	else if (ki->type == CFGT_FLOAT)
		o.parsecb = parse_cpus;
	else
		o.validcb = check_option;
	return o;
}

/* Writes the keys, the two hidden options and CFG_END; returns the number of entries used. */
static size_t fill_opts(cfg_opt_t *dst, const struct key *keys, size_t n, bool with_line)
{
	size_t i = 0;
	for (; i < n; i++)
		dst[i] = key_opt(&keys[i]);
	if (with_line) {
		dst[i] = (cfg_opt_t)CFG_INT_LIST(OPT_LINE, "{0}", CFGF_NONE);
		dst[i++].validcb = note_line;
	}
	dst[i++] = (cfg_opt_t)CFG_STR_LIST(OPT_ERRORS, 0, CFGF_NODEFAULT);
	dst[i++] = (cfg_opt_t)CFG_END();
	return i;
}

/* root { dag NAME { dag keys; defaults { task keys } task NAME { task keys } } } */
static cfg_t *tree_create(void)
{
	cfg_opt_t task[ARRAY_LEN(task_keys) + 3];
	cfg_opt_t dag[ARRAY_LEN(dag_keys) + 5];
	cfg_opt_t root[3];
	fill_opts(task, task_keys, ARRAY_LEN(task_keys), true);
	size_t n = fill_opts(dag, dag_keys, ARRAY_LEN(dag_keys), true) - 1;
	dag[n++] = (cfg_opt_t)CFG_SEC("defaults", task, CFGF_NODEFAULT);
	dag[n++] = (cfg_opt_t)CFG_SEC("task", task, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
	dag[n] = (cfg_opt_t)CFG_END();
	root[0] = (cfg_opt_t)CFG_SEC("dag", dag, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
	fill_opts(root + 1, NULL, 0, false);
	cfg_t *cfg = cfg_init(root, CFGF_NONE);
	if (!cfg)
		fatalx("out of memory (libconfuse)");
	cfg_set_error_function(cfg, on_error);
	return cfg;
}

/* ---- from the parse tree to struct dag ---- */

/* True when the file sets the key in this section (an explicit empty list counts). */
static bool key_set(cfg_t *sec, const char *name)
{
	cfg_opt_t *opt = sec ? cfg_getopt(sec, name) : NULL;
	return opt && (opt->nvalues > 0 || (opt->flags & CFGF_MODIFIED));
}

static void store_string(const struct key *k, const char *s, void *obj)
{
	char *field = (char *)obj + k->off;
	int64_t v;
	switch (k->kind) {
	case K_DURATION:
		if (duration_parse(s, &v, NULL))
			*(int64_t *)field = v;
		break;
	case K_SIZE:
		if (size_parse(s, &v, NULL))
			*(int64_t *)field = v;
		break;
	case K_DATE:
		if (time_parse_iso(s, &v))
			*(int64_t *)field = v;
		break;
	case K_TRIGGER:
		trigger_rule_parse(s, (enum trigger_rule *)field);
		break;
	case K_OUTPUT:
		output_mode_parse(s, (enum output_mode *)field);
		break;
	default:
		free(*(char **)field);
		*(char **)field = xstrdup(s);
		break;
	}
}

/* Copies key k from section sec into the struct task or dag at obj (values were checked). */
static void store(const struct key *k, cfg_t *sec, void *obj)
{
	const struct kind_info *ki = &kinds[k->kind];
	char *field = (char *)obj + k->off;
	if (ki->list) {
		struct strv *sv = (struct strv *)field;
		strv_finish(sv);
		for (unsigned i = 0; i < cfg_size(sec, k->name); i++)
			strv_push(sv, cfg_getnstr(sec, k->name, i));
	} else if (ki->type == CFGT_BOOL) {
		*(bool *)field = cfg_getbool(sec, k->name);
	} else if (ki->type == CFGT_INT) {
		*(int *)field = (int)cfg_getint(sec, k->name);
	} else if (ki->type == CFGT_FLOAT) {
		*(double *)field = cfg_getfloat(sec, k->name);
	} else if (cfg_getstr(sec, k->name)) {
		store_string(k, cfg_getstr(sec, k->name), obj);
	}
}

/* A task's own value wins over defaults, defaults over the built-in values. */
static void task_build(struct task *t, cfg_t *sec, cfg_t *defaults)
{
	const char *title = cfg_title(sec);
	t->task_id = xstrdup(title ? title : "");
	t->line = section_line(sec);
	t->trigger_rule = TRIGGER_ALL_SUCCESS;
	t->retry_delay_s = DEFAULT_RETRY_DELAY_S;
	t->pending_timeout_s = TASK_DEFAULT_PENDING_TIMEOUT_S;
	t->max_map_length = TASK_DEFAULT_MAX_MAP_LENGTH;
	for (size_t i = 0; i < ARRAY_LEN(task_keys); i++) {
		const struct key *k = &task_keys[i];
		cfg_t *src = key_set(sec, k->name)        ? sec
			     : key_set(defaults, k->name) ? defaults
							  : NULL;
		if (src)
			store(k, src, t);
	}
	t->mapped = key_set(sec, "expand") || key_set(defaults, "expand");
	if ((t->branch || t->short_circuit) && !key_set(sec, "output") &&
	    !key_set(defaults, "output"))
		t->output = OUTPUT_LAST_LINE;
}

static void task_check(const struct dag *d, const struct task *t, cfg_t *sec,
		       struct dag_errors *errs)
{
	if (!dag_id_valid(t->task_id))
		dag_errors_add(errs, d->file, t->line,
			       "dag '%s': invalid task id '%s' (letters, digits, '_', '.' and '-', "
			       "not starting with '.' or '-', at most 200 bytes)",
			       d->dag_id, t->task_id);
	if (!t->image)
		dag_errors_add(
		    errs, d->file, t->line,
		    "dag '%s' task '%s': no image (set image in the task or in defaults)",
		    d->dag_id, t->task_id);
	if (t->command.len && t->shell) {
		bool cmd = key_set(sec, "command"), sh = key_set(sec, "shell");
		const char *from = !cmd && !sh ? " (both from defaults)"
				   : !cmd      ? " (command from defaults)"
				   : !sh       ? " (shell from defaults)"
					       : "";
		dag_errors_add(errs, d->file, t->line,
			       "dag '%s' task '%s': command and shell are both set%s; use one",
			       d->dag_id, t->task_id, from);
	}
}

static void dag_check(const struct dag *d, struct dag_errors *errs)
{
	if (!dag_id_valid(d->dag_id))
		dag_errors_add(
		    errs, d->file, d->line,
		    "invalid DAG id '%s' (letters, digits, '_', '.' and '-', not starting "
		    "with '.' or '-', at most 200 bytes)",
		    d->dag_id);
	if (d->start_date && d->end_date && d->end_date < d->start_date)
		dag_errors_add(errs, d->file, d->line, "dag '%s': end_date is before start_date",
			       d->dag_id);
}

static struct dag *dag_build(cfg_t *sec, const char *path, struct dag_errors *errs)
{
	struct dag *d = xcalloc(1, sizeof(*d));
	const char *title = cfg_title(sec);
	d->dag_id = xstrdup(title ? title : "");
	d->file = xstrdup(path);
	d->line = section_line(sec);
	d->max_active_runs = d->max_active_tasks = DEFAULT_MAX_ACTIVE;
	for (size_t i = 0; i < ARRAY_LEN(dag_keys); i++)
		if (key_set(sec, dag_keys[i].name))
			store(&dag_keys[i], sec, d);
	if (!d->schedule_str)
		d->schedule_str = xstrdup("none");
	else
		schedule_parse(d->schedule_str, &d->schedule, NULL);
	/* A start_date that is set but invalid is reported at its own line; saying as well that
	 * the schedule needs a start_date would point at the wrong line and the wrong fix (the
	 * file has an error, so this DAG is never used). */
	const char *start = cfg_getstr(sec, "start_date");
	int64_t t;
	if (start && !time_parse_iso(start, &t))
		d->schedule.kind = SCHEDULE_NONE;
	dag_check(d, errs);

	cfg_t *defaults = cfg_getsec(sec, "defaults");
	d->n_tasks = cfg_size(sec, "task");
	d->tasks = xcalloc(d->n_tasks, sizeof(*d->tasks));
	for (size_t i = 0; i < d->n_tasks; i++) {
		cfg_t *ts = cfg_getnsec(sec, "task", (unsigned)i);
		task_build(&d->tasks[i], ts, defaults);
		task_check(d, &d->tasks[i], ts, errs);
	}
	if (dag_graph_validate(d, errs))
		dag_data_validate(d, errs);
	return d;
}

/* ---- errors ---- */

static void collect(cfg_t *sec, const char *path, const char *prefix, struct dag_errors *errs)
{
	cfg_opt_t *opt = hidden_opt(sec, OPT_ERRORS);
	for (unsigned i = 0; opt && i < opt->nvalues; i++) {
		char *msg = NULL;
		long line = strtol(opt->values[i]->string, &msg, 10);
		dag_errors_add(errs, path, (int)line, "%s%s", prefix, *msg == ':' ? msg + 1 : msg);
	}
}

/* Gathers what the error function and the checks noted in every section of the tree. */
static void collect_all(cfg_t *cfg, const char *path, struct dag_errors *errs)
{
	collect(cfg, path, "", errs);
	for (unsigned i = 0; i < cfg_size(cfg, "dag"); i++) {
		cfg_t *d = cfg_getnsec(cfg, "dag", i);
		const char *id = cfg_title(d) ? cfg_title(d) : "";
		char *prefix = xasprintf("dag '%s': ", id);
		collect(d, path, prefix, errs);
		free(prefix);
		prefix = xasprintf("dag '%s' defaults: ", id);
		collect(cfg_getsec(d, "defaults"), path, prefix, errs);
		free(prefix);
		for (unsigned j = 0; j < cfg_size(d, "task"); j++) {
			cfg_t *t = cfg_getnsec(d, "task", j);
			prefix =
			    xasprintf("dag '%s' task '%s': ", id, cfg_title(t) ? cfg_title(t) : "");
			collect(t, path, prefix, errs);
			free(prefix);
		}
	}
}

struct ranked {
	struct dag_error e;
	size_t seq;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->e.line != y->e.line)
		return x->e.line < y->e.line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Orders errors by line, keeping the order of those on one line. */
static void errors_sort(struct dag_errors *errs)
{
	struct ranked *r = xcalloc(errs->len, sizeof(*r));
	for (size_t i = 0; i < errs->len; i++)
		r[i] = (struct ranked){errs->v[i], i};
	qsort(r, errs->len, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < errs->len; i++)
		errs->v[i] = r[i].e;
	free(r);
}

/* ---- the parser ---- */

/* What libconfuse accepts silently: reported only when it found nothing else. */
static void report_unclosed(const struct conf_text *t, const char *path, struct dag_errors *errs)
{
	if (t->comment_line)
		dag_errors_add(errs, path, t->comment_line, "comment '/*' is never closed");
	else if (t->open_line)
		dag_errors_add(errs, path, t->open_line,
			       "'{' is never closed (missing '}' at the end of the file)");
}

static void parse_text(const struct conf_text *t, struct dag_file *out)
{
	cfg_t *cfg = tree_create();
	int rc = cfg_parse_buf(cfg, t->text);
	size_t before = out->errors.len;
	collect_all(cfg, out->path, &out->errors);
	if (rc != CFG_SUCCESS && out->errors.len == before)
		dag_errors_add(&out->errors, out->path, cfg->line, "syntax error");
	if (rc == CFG_SUCCESS) {
		report_unclosed(t, out->path, &out->errors);
		unsigned n = cfg_size(cfg, "dag");
		out->dags = xcalloc(n, sizeof(*out->dags));
		for (unsigned i = 0; i < n; i++)
			out->dags[out->n_dags++] =
			    dag_build(cfg_getnsec(cfg, "dag", i), out->path, &out->errors);
	}
	cfg_free(cfg);
}

bool dag_file_parse(const char *buf, size_t len, const char *path, struct dag_file *out)
{
	struct conf_text t;
	out->path = xstrdup(path);
	bool parsable = conf_text_prepare(buf, len, &t);
	for (size_t i = 0; i < t.n_errors; i++)
		dag_errors_add(&out->errors, path, t.errors[i].line, "%s", t.errors[i].message);
	if (parsable)
		parse_text(&t, out);
	conf_text_finish(&t);
	errors_sort(&out->errors);
	if (out->errors.len == 0)
		return true;
	for (size_t i = 0; i < out->n_dags; i++)
		dag_destroy(out->dags[i]);
	free(out->dags);
	out->dags = NULL;
	out->n_dags = 0;
	return false;
}
