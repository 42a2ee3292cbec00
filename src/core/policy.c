/* policy.c - the operator's policy checked against a DAG's tasks, as a table of rules. */
#include "swarmflow/core/policy.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/core/spec.h"

/* Where the docker socket lives; a folder above one of these exposes it too. */
static const char *const socket_paths[] = {"/var/run/docker.sock", "/run/docker.sock"};

/* One policy check of one DAG. */
struct check {
	const struct policy *p;
	const struct dag *dag;
	const struct task *task;
	struct strv prefixes; /* p->bind_mount_prefixes normalised; the invalid ones dropped */
	struct dag_errors *errs;
	size_t n_errors;
};

__attribute__((format(printf, 2, 3))) static void refuse(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = xvasprintf(fmt, ap);
	va_end(ap);
	dag_errors_add(c->errs, c->dag->file, c->task->line, "dag '%s' task '%s': policy: %s",
		       c->dag->dag_id, c->task->task_id, why);
	free(why);
	c->n_errors++;
}

/* "a, b, c" of a setting's list, or "none allowed" when it is empty; the caller frees. */
static char *list_text(const struct strv *sv)
{
	struct buf b;
	buf_init(&b, 0);
	if (!sv->len)
		buf_printf(&b, "none allowed");
	for (size_t i = 0; i < sv->len; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", sv->v[i]);
	return buf_steal(&b);
}

/* The absolute path s with "//" and "/./" collapsed and no trailing '/' ("/" stays "/").
 * Returns NULL with *why set when s is relative or has a ".." component; the caller frees. */
static char *path_normalize(const char *s, const char **why)
{
	if (s[0] != '/') {
		*why = "is not an absolute path";
		return NULL;
	}
	struct buf b;
	buf_init(&b, 0);
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			buf_finish(&b);
			*why = "has a '..' component";
			return NULL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			buf_append(&b, "/", 1);
			buf_append(&b, p, n);
		}
		p += n;
		p += *p == '/';
	}
	if (!b.len)
		buf_append(&b, "/", 1);
	return buf_steal(&b);
}

/* Whether path (normalised) is prefix (normalised) or lies under it. */
static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strcmp(prefix, "/") == 0)
		return true;
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool is_socket(const char *path)
{
	for (size_t i = 0; i < ARRAY_LEN(socket_paths); i++)
		if (strcmp(path, socket_paths[i]) == 0)
			return true;
	return str_has_suffix(path, "docker.sock");
}

/* Whether path is a folder that holds the docker socket ("/", "/var", "/var/run", "/run"). */
static bool holds_socket(const char *path)
{
	for (size_t i = 0; i < ARRAY_LEN(socket_paths); i++)
		if (strcmp(path, socket_paths[i]) != 0 && path_under(socket_paths[i], path))
			return true;
	return false;
}

/* Checks one host path a mount would expose; what names it ("bind mount source '/etc'"). */
static void check_host_path(struct check *c, const char *what, const char *source)
{
	const char *why = NULL;
	char *path = path_normalize(source, &why);
	if (!path) {
		refuse(c, "%s %s", what, why);
		return;
	}
	bool socket = is_socket(path);
	bool prefixed = false;
	for (size_t i = 0; i < c->prefixes.len && !prefixed; i++)
		prefixed = path_under(path, c->prefixes.v[i]);
	if (socket && !c->p->allow_docker_socket) {
		refuse(c, "%s is the docker socket (policy.allow_docker_socket is false)", what);
	} else if (!socket && holds_socket(path) && !c->p->allow_docker_socket) {
		refuse(c, "%s holds the docker socket (policy.allow_docker_socket is false)", what);
	} else if (!socket && !prefixed) {
		char *list = list_text(&c->p->bind_mount_prefixes);
		refuse(c, "%s is not under policy.bind_mount_prefixes (%s)", what, list);
		free(list);
	}
	free(path);
}

/* Whether the comma list opts holds the option name. */
static bool has_option(const char *opts, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = opts; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len;
		p += *p == ',';
	}
	return false;
}

/* The host path a volume mount names through the local driver's `device` option, or NULL:
 * with o=bind (or rbind) the device is always a host path (the kernel ignores the type); with
 * a network or memory file system type it is not (":/export", "//server/share", "tmpfs"); any
 * other type mounts a host device or path. Other drivers' options are theirs to define. */
static const char *volume_device(json_t *m)
{
	static const char *const not_host[] = {"nfs", "nfs4", "cifs", "smb3", "tmpfs", "ramfs"};
	json_t *dc = json_object_get(json_object_get(m, "VolumeOptions"), "DriverConfig");
	json_t *opts = json_object_get(dc, "Options");
	const char *driver = json_string_value(json_object_get(dc, "Name"));
	const char *device = json_string_value(json_object_get(opts, "device"));
	const char *type = json_string_value(json_object_get(opts, "type"));
	const char *o = json_string_value(json_object_get(opts, "o"));
	if (!device || (driver && strcmp(driver, "local") != 0))
		return NULL;
	if (has_option(o, "bind") || has_option(o, "rbind"))
		return device;
	for (size_t i = 0; type && i < ARRAY_LEN(not_host); i++)
		if (strcmp(type, not_host[i]) == 0)
			return NULL;
	return device;
}

/* ---- the rules: each checks one task ---- */

static void rule_mounts(struct check *c)
{
	const struct strv *mounts = &c->task->mounts;
	for (size_t i = 0; i < mounts->len; i++) {
		char *err = NULL;
		json_t *m = mount_parse(mounts->v[i], &err);
		if (!m) { /* the parser refuses it first; never let it through unchecked */
			refuse(c, "%s", err);
			free(err);
			continue;
		}
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *source = json_string_value(json_object_get(m, "Source"));
		const char *device = volume_device(m);
		char *what = NULL;
		if (type && strcmp(type, "bind") == 0 && source) {
			what = xasprintf("bind mount source '%s'", source);
			check_host_path(c, what, source);
		} else if (device) {
			what = xasprintf("volume '%s' device '%s'", source ? source : "", device);
			check_host_path(c, what, device);
		}
		free(what);
		json_decref(m);
	}
}

static void rule_image(struct check *c)
{
	const char *image = c->task->image;
	if (!image)
		return; /* the parser refuses a task without one */
	for (size_t i = 0; i < c->p->images.len; i++)
		if (fnmatch(c->p->images.v[i], image, 0) == 0)
			return;
	char *list = list_text(&c->p->images);
	refuse(c, "image '%s' matches none of policy.images (%s)", image, list);
	free(list);
}

static void rule_networks(struct check *c)
{
	if (!c->p->networks.len)
		return;
	for (size_t i = 0; i < c->task->networks.len; i++) {
		const char *net = c->task->networks.v[i];
		if (strv_contains(&c->p->networks, net))
			continue;
		char *list = list_text(&c->p->networks);
		refuse(c, "network '%s' is not in policy.networks (%s)", net, list);
		free(list);
	}
}

static void rule_cpus(struct check *c)
{
	const struct {
		const char *key;
		double value;
	} asked[] = {{"cpus", c->task->cpus}, {"reserve_cpus", c->task->reserve_cpus}};
	if (c->p->max_cpus <= 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(asked); i++)
		if (asked[i].value > c->p->max_cpus)
			refuse(c, "%s %g is over policy.max_cpus %g", asked[i].key, asked[i].value,
			       c->p->max_cpus);
}

/* "512M" when bytes is a whole number of K, M, G or T, else "N bytes". */
static void size_text(int64_t bytes, char out[static 32])
{
	static const char units[] = "TGMK";
	for (size_t i = 0; i < 4 && bytes > 0; i++) {
		int64_t unit = (int64_t)1 << (10 * (4 - i));
		if (bytes % unit == 0) {
			snprintf(out, 32, "%" PRId64 "%c", bytes / unit, units[i]);
			return;
		}
	}
	snprintf(out, 32, "%" PRId64 " bytes", bytes);
}

static void rule_memory(struct check *c)
{
	const struct {
		const char *key;
		int64_t value;
	} asked[] = {{"memory", c->task->memory}, {"reserve_memory", c->task->reserve_memory}};
	if (c->p->max_memory <= 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(asked); i++) {
		if (asked[i].value <= c->p->max_memory)
			continue;
		char v[32], max[32];
		size_text(asked[i].value, v);
		size_text(c->p->max_memory, max);
		refuse(c, "%s %s is over policy.max_memory %s", asked[i].key, v, max);
	}
}

/* The rules, in the order their errors are reported for a task. */
static void (*const rules[])(struct check *c) = {
    rule_mounts,              /* bind_mount_prefixes, allow_docker_socket */
    rule_image,               /* images */
    rule_networks, rule_cpus, /* max_cpus */
    rule_memory,              /* max_memory */
};

bool policy_check_dag(const struct policy *p, const struct dag *dag, struct dag_errors *errs)
{
	struct check c = {.p = p, .dag = dag, .errs = errs};
	for (size_t i = 0; i < p->bind_mount_prefixes.len; i++) {
		const char *why;
		char *norm = path_normalize(p->bind_mount_prefixes.v[i], &why);
		if (norm) /* a relative prefix or one with ".." allows nothing */
			strv_push_owned(&c.prefixes, norm);
	}
	for (size_t t = 0; t < dag->n_tasks; t++) {
		c.task = &dag->tasks[t];
		for (size_t r = 0; r < ARRAY_LEN(rules); r++)
			rules[r](&c);
	}
	strv_finish(&c.prefixes);
	return c.n_errors == 0;
}

bool policy_check_file(const struct policy *p, struct dag_file *f)
{
	if (f->errors.len)
		return false; /* the parser kept no DAG */
	bool ok = true;
	for (size_t i = 0; p && i < f->n_dags; i++)
		if (!policy_check_dag(p, f->dags[i], &f->errors))
			ok = false;
	if (ok)
		return true;
	for (size_t i = 0; i < f->n_dags; i++)
		dag_destroy(f->dags[i]);
	free(f->dags);
	f->dags = NULL;
	f->n_dags = 0;
	return false;
}

void policy_copy(struct policy *dst, const struct policy *src)
{
	*dst = (struct policy){
	    .allow_docker_socket = src->allow_docker_socket,
	    .max_cpus = src->max_cpus,
	    .max_memory = src->max_memory,
	};
	strv_copy(&dst->bind_mount_prefixes, &src->bind_mount_prefixes);
	strv_copy(&dst->images, &src->images);
	strv_copy(&dst->networks, &src->networks);
}

void policy_finish(struct policy *p)
{
	strv_finish(&p->bind_mount_prefixes);
	strv_finish(&p->images);
	strv_finish(&p->networks);
	*p = (struct policy){0};
}
