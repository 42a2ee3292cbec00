/* spec.c - builds the Engine API ServiceSpec (JSON) of one task try; pure, no I/O. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/spec.h"

/* FNV-1a, 32 bits: offset basis and prime. */
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u
/* "_" and 8 hex digits at the end of every service name. */
#define NAME_SUFFIX_LEN 9
/* Mode 0444 (read for everyone) of mounted secrets and configs. */
#define FILE_MODE_READ_ALL 0444
/* Used when the caller leaves service_prefix or instance NULL (the config's default). */
#define DEFAULT_NAME "swarmflow"

/* Hashes s and then a NUL byte, so that ("a", "bc") and ("ab", "c") differ. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	return h * FNV_PRIME; /* the NUL separator: h ^ 0 == h */
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Swarm's service names match ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$: no dots. */
static char name_char(char c)
{
	return is_alnum(c) || c == '_' || c == '-' ? c : '-';
}

void spec_service_name(const char *prefix, const char *instance, const char *dag_id,
		       const char *run_id, const char *task_id, int try_number,
		       char out[static SPEC_NAME_MAX + 1])
{
	spec_service_name_mapped(prefix, instance, dag_id, run_id, task_id, try_number, -1, out);
}

void spec_service_name_mapped(const char *prefix, const char *instance, const char *dag_id,
			      const char *run_id, const char *task_id, int try_number,
			      int map_index, char out[static SPEC_NAME_MAX + 1])
{
	char try_str[16], index_str[16] = "";
	snprintf(try_str, sizeof(try_str), "%d", try_number);
	if (map_index >= 0)
		snprintf(index_str, sizeof(index_str), "%d", map_index);
	const char *parts[] = {
	    instance ? instance : DEFAULT_NAME, dag_id, run_id, task_id, try_str, index_str};
	uint32_t h = FNV_OFFSET;
	/* Not mapped: the five parts only, so that names stay what they were. */
	for (size_t i = 0; i < ARRAY_LEN(parts) - (map_index < 0); i++)
		h = fnv1a(h, parts[i] ? parts[i] : "");

	char *base = xasprintf("%s_%s_%s%s%s", prefix ? prefix : DEFAULT_NAME, dag_id ? dag_id : "",
			       task_id ? task_id : "", map_index >= 0 ? "-" : "", index_str);
	const char *p = base;
	size_t n = 0;
	while (*p && !is_alnum(*p))
		p++; /* a name must start with a letter or digit */
	for (; *p && n < SPEC_NAME_MAX - NAME_SUFFIX_LEN; p++)
		out[n++] = name_char(*p);
	if (n)
		out[n++] = '_';
	snprintf(out + n, SPEC_NAME_MAX + 1 - n, "%08" PRIx32, h);
	free(base);
}

/* Takes val: NULL (its builder failed) returns false; an empty array or object is left out. */
static bool put(json_t *obj, const char *key, json_t *val)
{
	if (!val)
		return false;
	if ((json_is_array(val) && json_array_size(val) == 0) ||
	    (json_is_object(val) && json_object_size(val) == 0)) {
		json_decref(val);
		return true;
	}
	json_object_set_new(obj, key, val);
	return true;
}

static void put_str(json_t *obj, const char *key, const char *val)
{
	if (val)
		json_object_set_new(obj, key, json_string(val));
}

static json_t *str_array(const struct strv *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; i < sv->len; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/* Renders one templated value; on failure sets *err "task 'x': FIELD: why". */
static char *render(const struct spec_input *in, const char *field, const char *tmpl, char **err)
{
	char *why = NULL;
	char *s = template_render(tmpl, in->tctx, &why);

	if (!s)
		set_err(err, "task '%s': %s: %s", in->task->task_id, field,
			why ? why : "template failed");
	free(why);
	return s;
}

static json_t *render_array(const struct spec_input *in, const char *field, const struct strv *sv,
			    char **err)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->len; i++) {
		char *s = render(in, field, sv->v[i], err);
		if (!s) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return a;
}

/* Sets obj[k] = v from "k=v" (a bare "k" means an empty value). */
static bool kv_set(json_t *obj, const char *kv, const char *task_id, const char *field, char **err)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

	if (klen == 0)
		return set_err(err, "task '%s': %s: '%s' has no key", task_id, field, kv);
	char *key = xstrndup(kv, klen);
	json_object_set_new(obj, key, json_string(eq ? eq + 1 : ""));
	free(key);
	return true;
}

/* The task's rendered labels, then the swarmflow.* identity labels (which win). */
static json_t *labels(const struct spec_input *in, char **err)
{
	const struct task *t = in->task;
	json_t *obj = json_object();

	for (size_t i = 0; i < t->labels.len; i++) {
		char *s = render(in, "labels", t->labels.v[i], err);
		bool ok = s && kv_set(obj, s, t->task_id, "labels", err);
		free(s);
		if (!ok) {
			json_decref(obj);
			return NULL;
		}
	}
	char try_str[16];
	snprintf(try_str, sizeof(try_str), "%d", in->tctx->try_number);
	json_object_set_new(obj, "swarmflow.managed", json_string("true"));
	json_object_set_new(obj, "swarmflow.dag_id", json_string(in->dag->dag_id));
	json_object_set_new(obj, "swarmflow.run_id",
			    json_string(in->tctx->run_id ? in->tctx->run_id : ""));
	json_object_set_new(obj, "swarmflow.task_id", json_string(t->task_id));
	json_object_set_new(obj, "swarmflow.try_number", json_string(try_str));
	json_object_set_new(obj, "swarmflow.instance",
			    json_string(in->instance ? in->instance : DEFAULT_NAME));
	if (in->tctx->item) {
		char index_str[16];
		snprintf(index_str, sizeof(index_str), "%d", in->tctx->map_index);
		json_object_set_new(obj, "swarmflow.map_index", json_string(index_str));
	}
	return obj;
}

/* Args: the rendered command, or /bin/sh -c and the rendered shell. */
static json_t *args(const struct spec_input *in, char **err)
{
	const struct task *t = in->task;

	if (t->command.len && t->shell) {
		set_err(err, "task '%s': command and shell are exclusive", t->task_id);
		return NULL;
	}
	if (!t->shell)
		return render_array(in, "command", &t->command, err);
	char *s = render(in, "shell", t->shell, err);
	if (!s)
		return NULL;
	json_t *a = json_pack("[ss s]", "/bin/sh", "-c", s);
	free(s);
	return a;
}

static json_t *mounts(const struct spec_input *in, char **err)
{
	json_t *a = json_array();

	for (size_t i = 0; i < in->task->mounts.len; i++) {
		char *why = NULL;
		json_t *m = mount_parse(in->task->mounts.v[i], &why);
		if (!m) {
			set_err(err, "task '%s': %s", in->task->task_id, why);
			free(why);
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, m);
	}
	return a;
}

/* What differs between Secrets and Configs entries. */
struct file_ref_kind {
	const char *field;    /* "secrets" */
	const char *id_key;   /* "SecretID" */
	const char *name_key; /* "SecretName" */
};

/* One "name" or "name:target" entry; File.Name is the target, else the name. */
static json_t *file_ref(const struct file_ref_kind *k, const char *spec, const char *id,
			const char *task_id, char **err)
{
	const char *colon = strchr(spec, ':');
	size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);

	if (nlen == 0) {
		set_err(err, "task '%s': %s: '%s' has no name", task_id, k->field, spec);
		return NULL;
	}
	char *name = xstrndup(spec, nlen);
	const char *target = colon && colon[1] ? colon + 1 : name;
	json_t *ref = json_object();
	put_str(ref, k->id_key, id);
	put_str(ref, k->name_key, name);
	json_object_set_new(ref, "File",
			    json_pack("{ss ss ss si}", "Name", target, "UID", "0", "GID", "0",
				      "Mode", FILE_MODE_READ_ALL));
	free(name);
	return ref;
}

static json_t *file_refs(const struct file_ref_kind *k, const struct strv *sv,
			 const char *const *ids, const char *task_id, char **err)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->len; i++) {
		json_t *ref = file_ref(k, sv->v[i], ids ? ids[i] : NULL, task_id, err);
		if (!ref) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, ref);
	}
	return a;
}

static const struct file_ref_kind secret_kind = {"secrets", "SecretID", "SecretName"};
static const struct file_ref_kind config_kind = {"configs", "ConfigID", "ConfigName"};

static json_t *container_spec(const struct spec_input *in, char **err)
{
	const struct task *t = in->task;
	json_t *cs = json_object();
	json_t *lab = labels(in, err);

	put_str(cs, "Image", t->image);
	bool ok = put(cs, "Labels", lab) && put(cs, "Args", args(in, err)) &&
		  put(cs, "Command", render_array(in, "entrypoint", &t->entrypoint, err)) &&
		  put(cs, "Env", render_array(in, "env", &t->env, err)) &&
		  put(cs, "Mounts", mounts(in, err)) &&
		  put(cs, "Secrets",
		      file_refs(&secret_kind, &t->secrets, in->secret_ids, t->task_id, err)) &&
		  put(cs, "Configs",
		      file_refs(&config_kind, &t->configs, in->config_ids, t->task_id, err));
	if (!ok) {
		json_decref(cs);
		return NULL;
	}
	put_str(cs, "Dir", t->workdir);
	put_str(cs, "User", t->user);
	put_str(cs, "Hostname", t->hostname);
	if (t->tty)
		json_object_set_new(cs, "TTY", json_true());
	if (t->init)
		json_object_set_new(cs, "Init", json_true());
	return cs;
}

/* {NanoCPUs, MemoryBytes}, each only when set. */
static json_t *resource_set(double cpus, int64_t memory)
{
	json_t *obj = json_object();

	if (cpus > 0)
		json_object_set_new(obj, "NanoCPUs", json_integer((json_int_t)(cpus * 1e9 + 0.5)));
	if (memory > 0)
		json_object_set_new(obj, "MemoryBytes", json_integer(memory));
	return obj;
}

static json_t *resources(const struct task *t)
{
	json_t *obj = json_object();

	put(obj, "Limits", resource_set(t->cpus, t->memory));
	put(obj, "Reservations", resource_set(t->reserve_cpus, t->reserve_memory));
	return obj;
}

static json_t *placement(const struct task *t, char **err)
{
	json_t *obj = json_object();
	json_t *prefs = json_array();

	for (size_t i = 0; i < t->preferences.len; i++) {
		const char *p = t->preferences.v[i];
		if (!str_has_prefix(p, "spread=") || !p[strlen("spread=")]) {
			set_err(err, "task '%s': preferences: '%s' is not spread=DESCRIPTOR",
				t->task_id, p);
			json_decref(prefs);
			json_decref(obj);
			return NULL;
		}
		json_array_append_new(prefs, json_pack("{s{ss}}", "Spread", "SpreadDescriptor",
						       p + strlen("spread=")));
	}
	put(obj, "Constraints", str_array(&t->constraints));
	put(obj, "Preferences", prefs);
	return obj;
}

static json_t *networks(const struct task *t)
{
	json_t *a = json_array();

	for (size_t i = 0; i < t->networks.len; i++)
		json_array_append_new(a, json_pack("{ss}", "Target", t->networks.v[i]));
	return a;
}

static json_t *log_driver(const struct task *t, char **err)
{
	json_t *obj = json_object();
	json_t *opts = json_object();

	if (!t->log_driver && t->log_opts.len) {
		set_err(err, "task '%s': log_opts needs a log_driver", t->task_id);
		goto error;
	}
	for (size_t i = 0; i < t->log_opts.len; i++)
		if (!kv_set(opts, t->log_opts.v[i], t->task_id, "log_opts", err))
			goto error;
	put_str(obj, "Name", t->log_driver);
	put(obj, "Options", opts);
	return obj;
error:
	json_decref(opts);
	json_decref(obj);
	return NULL;
}

static json_t *task_template(const struct spec_input *in, char **err)
{
	const struct task *t = in->task;
	json_t *tt = json_object();

	bool ok = put(tt, "ContainerSpec", container_spec(in, err)) &&
		  put(tt, "Resources", resources(t)) && put(tt, "Placement", placement(t, err)) &&
		  put(tt, "Networks", networks(t)) && put(tt, "LogDriver", log_driver(t, err));
	if (!ok) {
		json_decref(tt);
		return NULL;
	}
	json_object_set_new(tt, "RestartPolicy",
			    json_pack("{ss si}", "Condition", "none", "MaxAttempts", 0));
	return tt;
}

static json_t *mode(bool job_mode)
{
	if (job_mode)
		return json_pack("{s{si si}}", "ReplicatedJob", "MaxConcurrent", 1,
				 "TotalCompletions", 1);
	return json_pack("{s{si}}", "Replicated", "Replicas", 1);
}

json_t *spec_build(const struct spec_input *in, char **err)
{
	if (!in->dag || !in->task || !in->tctx) {
		set_err(err, "spec: a DAG, a task and a template context are required");
		return NULL;
	}
	if (!in->task->image) {
		set_err(err, "task '%s': no image", in->task->task_id);
		return NULL;
	}
	char name[SPEC_NAME_MAX + 1];
	spec_service_name_mapped(in->service_prefix, in->instance, in->dag->dag_id,
				 in->tctx->run_id, in->task->task_id, in->tctx->try_number,
				 in->tctx->item ? in->tctx->map_index : -1, name);

	json_t *spec = json_object();
	json_object_set_new(spec, "Name", json_string(name));
	if (!put(spec, "Labels", labels(in, err)) ||
	    !put(spec, "TaskTemplate", task_template(in, err))) {
		json_decref(spec);
		return NULL;
	}
	json_object_set_new(spec, "Mode", mode(in->job_mode));
	return spec;
}
