/* fake_swarm.c - the fake engine's simulated swarm: services, tasks stepping through scripts,
 * nodes, logs, secrets and configs, answered as the Engine API would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_priv.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/util.h"

static const struct fake_step default_steps[] = {FAKE_PENDING, FAKE_RUNNING, FAKE_COMPLETE};
static const struct script default_script = {NULL, (struct fake_step *)default_steps,
					     ARRAY_LEN(default_steps), NULL};

/* s, or "" when it is NULL. */
static const char *str_or(const char *s)
{
	return s ? s : "";
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *fake_url_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void fake_reply_text(struct reply *out, const char *status, const char *type, const char *body,
		     size_t len)
{
	out->status = xstrdup(status);
	out->type = type;
	out->body = xmalloc(len + 1);
	memcpy(out->body, body, len);
	out->body[len] = '\0';
	out->body_len = len;
}

/* Answers with the JSON body (stolen). */
static void reply_json(struct reply *out, const char *status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	fake_reply_text(out, status, "application/json", text, strlen(text));
	free(text);
	json_decref(body);
}

static void reply_error(struct reply *out, const char *status, const char *message)
{
	reply_json(out, status, json_pack("{s:s}", "message", message));
}

/* The path without its "/v1.41" prefix. */
static const char *unversioned(const char *path)
{
	if (strncmp(path, "/v", 2) != 0 || path[2] < '0' || path[2] > '9')
		return path;
	const char *p = path + 2 + strspn(path + 2, "0123456789.");
	return *p == '/' ? p : path;
}

/* The filters={...} parameter of a query as sent, parsed (caller decrefs); NULL when none. */
static json_t *filters_of(const char *rawq)
{
	for (const char *p = rawq; *p;) {
		size_t n = strcspn(p, "&");
		if (n > 8 && strncmp(p, "filters=", 8) == 0) {
			char *text = fake_url_decode(p + 8, n - 8);
			json_t *j = json_loads(text, 0, NULL);
			free(text);
			return j;
		}
		p += n + (p[n] == '&');
	}
	return NULL;
}

static bool in_array(const json_t *arr, const char *s)
{
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* The live service with that ID or name, or NULL. */
static struct service *find_live(struct fake_engine *fe, const char *id_or_name)
{
	for (size_t i = 0; id_or_name && i < fe->n_svcs; i++) {
		struct service *s = &fe->svcs[i];
		if (!s->info.removed &&
		    (strcmp(s->info.id, id_or_name) == 0 || strcmp(s->info.name, id_or_name) == 0))
			return s;
	}
	return NULL;
}

static const json_t *container_spec(const json_t *spec)
{
	return json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
}

/* The script for a new service: by its task_id label, else its shell command, else default. */
static const struct script *script_for(struct fake_engine *fe, const char *task_id,
				       const json_t *spec)
{
	const json_t *args = json_object_get(container_spec(spec), "Args");
	const char *shell = NULL;
	if (json_array_size(args) == 3 &&
	    strcmp(str_or(json_string_value(json_array_get(args, 0))), "/bin/sh") == 0 &&
	    strcmp(str_or(json_string_value(json_array_get(args, 1))), "-c") == 0)
		shell = json_string_value(json_array_get(args, 2));
	const struct script *def = &default_script;
	for (size_t i = 0; i < fe->n_scripts; i++) {
		const struct script *sc = fe->scripts[i];
		if (sc->key && strcmp(sc->key, task_id) == 0)
			return sc;
		if (!sc->key && def == &default_script)
			def = sc;
	}
	for (size_t i = 0; shell && i < fe->n_scripts; i++)
		if (fe->scripts[i]->key && strcmp(fe->scripts[i]->key, shell) == 0)
			return fe->scripts[i];
	return def;
}

/* Creates a service from spec (copied); NULL with out set to the engine's error answer. */
struct service *fake_swarm_service_new(struct fake_engine *fe, const json_t *spec,
				       struct reply *out)
{
	const char *name = json_string_value(json_object_get(spec, "Name"));
	if (!json_is_object(spec) || !name || !*name) {
		reply_error(out, "400 Bad Request", "invalid spec: a service needs a Name");
		return NULL;
	}
	if (find_live(fe, name)) {
		char *msg =
		    xasprintf("rpc error: code = AlreadyExists desc = name conflicts with an "
			      "existing object: service %s already exists",
			      name);
		reply_error(out, "409 Conflict", msg);
		free(msg);
		return NULL;
	}
	fe->svcs = xrealloc(fe->svcs, (fe->n_svcs + 1) * sizeof(*fe->svcs));
	struct service *s = &fe->svcs[fe->n_svcs++];
	*s = (struct service){.spec = json_deep_copy(spec), .version = 10};
	snprintf(s->info.id, sizeof(s->info.id), "svc%04u", ++fe->next_id);
	snprintf(s->info.name, sizeof(s->info.name), "%s", name);
	const char *task_id = json_string_value(
	    json_object_get(json_object_get(spec, "Labels"), "swarmflow.task_id"));
	if (!task_id)
		task_id = json_string_value(json_object_get(
		    json_object_get(container_spec(spec), "Labels"), "swarmflow.task_id"));
	snprintf(s->info.task_id, sizeof(s->info.task_id), "%s", task_id ? task_id : "");
	s->script = script_for(fe, s->info.task_id, spec);
	if (++fe->live > fe->max_live)
		fe->max_live = fe->live;
	return s;
}

static void do_create(struct fake_engine *fe, const struct record *rec, const char *rest,
		      struct reply *out)
{
	json_t *spec = json_loads(rec->req.body, 0, NULL);
	struct service *s = fake_swarm_service_new(fe, spec, out);
	if (s)
		reply_json(out, "201 Created",
			   json_pack("{s:s, s:n}", "ID", s->info.id, "Warnings"));
	json_decref(spec);
}

/* ---- nodes ---- */

/* The node called id (added as a ready worker when new; node1, a manager, exists from the
 * start). Lock held. */
static struct fake_node *node_get(struct fake_engine *fe, const char *id)
{
	if (fe->n_nodes == 0) {
		fe->nodes[0] = (struct fake_node){.id = "node1", .state = "ready", .manager = true};
		snprintf(fe->nodes[0].hostname, sizeof(fe->nodes[0].hostname), "host-node1");
		fe->n_nodes = 1;
	}
	for (size_t i = 0; i < fe->n_nodes; i++)
		if (strcmp(fe->nodes[i].id, id) == 0)
			return &fe->nodes[i];
	if (fe->n_nodes == ARRAY_LEN(fe->nodes))
		fatalx("fake engine: more than %zu nodes", ARRAY_LEN(fe->nodes));
	struct fake_node *n = &fe->nodes[fe->n_nodes++];
	*n = (struct fake_node){.manager = false};
	snprintf(n->id, sizeof(n->id), "%s", id);
	snprintf(n->hostname, sizeof(n->hostname), "host-%s", id);
	snprintf(n->state, sizeof(n->state), "ready");
	return n;
}

void fake_engine_node_state(struct fake_engine *fe, const char *id, const char *state)
{
	pthread_mutex_lock(&fe->mu);
	struct fake_node *n = node_get(fe, id);
	snprintf(n->state, sizeof(n->state), "%s", state);
	pthread_mutex_unlock(&fe->mu);
}

/* GET /nodes: every node, as a manager lists them. */
static void do_nodes(struct fake_engine *fe, const struct record *rec, const char *rawq,
		     struct reply *out)
{
	node_get(fe, "node1");
	json_t *list = json_array();
	for (size_t i = 0; i < fe->n_nodes; i++) {
		const struct fake_node *n = &fe->nodes[i];
		json_array_append_new(
		    list, json_pack("{s:s, s:{s:s}, s:{s:s, s:s, s:{}}, s:{s:s, s:s}}", "ID", n->id,
				    "Description", "Hostname", n->hostname, "Spec", "Role",
				    n->manager ? "manager" : "worker", "Availability", "active",
				    "Labels", "Status", "State", n->state, "Addr", "10.0.0.1"));
	}
	reply_json(out, "200 OK", list);
}

/* The node a service's task runs on: the one a "node.id==ID" constraint names, else node1. */
static const char *node_of(const json_t *spec)
{
	const json_t *cons = json_object_get(
	    json_object_get(json_object_get(spec, "TaskTemplate"), "Placement"), "Constraints");
	size_t i;
	const json_t *v;
	json_array_foreach(cons, i, v)
	{
		const char *c = str_or(json_string_value(v));
		if (str_has_prefix(c, "node.id==") && c[9])
			return c + 9;
	}
	return "node1";
}

static json_t *template_of(const json_t *spec)
{
	json_t *t = json_object_get(spec, "TaskTemplate");
	return t ? t : json_null();
}

static json_t *task_json(struct service *s)
{
	const struct fake_step *st =
	    &s->script->steps[s->step < s->script->n_steps ? s->step : s->script->n_steps - 1];
	json_t *status = json_pack("{s:s, s:s, s:s}", "Timestamp", "2026-11-01T00:00:00Z", "State",
				   st->state, "Message", st->message ? st->message : st->state);
	if (st->err)
		json_object_set_new(status, "Err", json_string(st->err));
	if (st->container) {
		char cid[40];
		snprintf(cid, sizeof(cid), "c-%s", s->info.id);
		json_object_set_new(status, "ContainerStatus",
				    json_pack("{s:s, s:i, s:i}", "ContainerID", cid, "PID", 0,
					      "ExitCode", st->exit_code));
	}
	bool done = strcmp(st->state, "pending") && strcmp(st->state, "running");
	char tid[40];
	snprintf(tid, sizeof(tid), "t-%s", s->info.id);
	json_t *task =
	    json_pack("{s:s, s:s, s:s, s:i, s:{s:I}, s:O, s:o, s:s}", "ID", tid, "ServiceID",
		      s->info.id, "NodeID", st->container ? node_of(s->spec) : "", "Slot", 1,
		      "Version", "Index", (json_int_t)s->version, "Spec", template_of(s->spec),
		      "Status", status, "DesiredState", done ? "shutdown" : "running");
	snprintf(s->info.state, sizeof(s->info.state), "%s", st->state);
	s->info.polls++;
	s->step++;
	s->version++;
	return task;
}

/* GET /tasks: one task per service asked about (every live one without a filter); a service
 * that does not exist fails the whole request with 404, as the engine does. */
static void do_tasks(struct fake_engine *fe, const struct record *rec, const char *rawq,
		     struct reply *out)
{
	json_t *filters = filters_of(rawq);
	const json_t *ids = json_object_get(filters, "service");
	size_t i;
	const json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (!find_live(fe, json_string_value(v))) {
			char *msg = xasprintf("service %s not found", str_or(json_string_value(v)));
			reply_error(out, "404 Not Found", msg);
			free(msg);
			json_decref(filters);
			return;
		}
	}
	json_t *tasks = json_array();
	for (i = 0; i < fe->n_svcs; i++) {
		struct service *s = &fe->svcs[i];
		if (!s->info.removed &&
		    (!ids || in_array(ids, s->info.id) || in_array(ids, s->info.name)))
			json_array_append_new(tasks, task_json(s));
	}
	json_decref(filters);
	reply_json(out, "200 OK", tasks);
}

static bool labels_match(const json_t *labels, const json_t *want)
{
	size_t i;
	const json_t *v;
	json_array_foreach(want, i, v)
	{
		const char *kv = str_or(json_string_value(v));
		size_t k = strcspn(kv, "=");
		char *key = xstrndup(kv, k);
		const char *have = json_string_value(json_object_get(labels, key));
		free(key);
		if (!have || (kv[k] == '=' && strcmp(have, kv + k + 1) != 0))
			return false;
	}
	return true;
}

static void do_services(struct fake_engine *fe, const struct record *rec, const char *rawq,
			struct reply *out)
{
	json_t *filters = filters_of(rawq);
	const json_t *want = json_object_get(filters, "label");
	json_t *list = json_array();
	for (size_t i = 0; i < fe->n_svcs; i++) {
		const struct service *s = &fe->svcs[i];
		if (!s->info.removed && labels_match(json_object_get(s->spec, "Labels"), want))
			json_array_append_new(
			    list, json_pack("{s:s, s:O}", "ID", s->info.id, "Spec", s->spec));
	}
	json_decref(filters);
	reply_json(out, "200 OK", list);
}

/* GET /secrets or /configs: those whose name starts with a name filter (all without one). */
static void do_named(struct fake_engine *fe, const struct record *rec, const char *rawq,
		     struct reply *out)
{
	const char *kind = unversioned(rec->req.path) + 1;
	json_t *filters = filters_of(rawq);
	const json_t *names = json_object_get(filters, "name");
	json_t *list = json_array();
	for (size_t i = 0; i < fe->n_named; i++) {
		const struct named *n = &fe->named[i];
		bool ok = !names;
		size_t j;
		const json_t *v;
		json_array_foreach(names, j, v)
		{
			ok = ok || str_has_prefix(n->name, str_or(json_string_value(v)));
		}
		if (ok && strcmp(n->kind, kind) == 0)
			json_array_append_new(list, json_pack("{s:s, s:{s:s}}", "ID", n->id, "Spec",
							      "Name", n->name));
	}
	json_decref(filters);
	reply_json(out, "200 OK", list);
}

static void do_version(struct fake_engine *fe, const struct record *rec, const char *rawq,
		       struct reply *out)
{
	reply_json(out, "200 OK",
		   json_pack("{s:s, s:s, s:s, s:s}", "Version", "24.0.9", "ApiVersion",
			     fe->api_version, "MinAPIVersion", "1.12", "Os", "linux"));
}

static void do_info(struct fake_engine *fe, const struct record *rec, const char *rawq,
		    struct reply *out)
{
	reply_json(out, "200 OK",
		   json_pack("{s:s, s:{s:s, s:s, s:b}}", "ServerVersion", "24.0.9", "Swarm",
			     "NodeID", "node1", "LocalNodeState", "active", "ControlAvailable", 1));
}

/* The log of a service: one stdout frame (8-byte header) per line, or raw with a TTY. */
static void do_logs(struct service *s, struct reply *out)
{
	const char *log = s->script->log ? s->script->log : "";
	if (json_is_true(json_object_get(container_spec(s->spec), "TTY"))) {
		fake_reply_text(out, "200 OK", "application/vnd.docker.raw-stream", log,
				strlen(log));
		return;
	}
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (const char *p = log; *p;) {
		size_t n = strcspn(p, "\n");
		n += p[n] == '\n';
		unsigned char h[8] = {1,
				      0,
				      0,
				      0,
				      (unsigned char)(n >> 24),
				      (unsigned char)(n >> 16),
				      (unsigned char)(n >> 8),
				      (unsigned char)n};
		buf_append(&b, h, sizeof(h));
		buf_append(&b, p, n);
		p += n;
	}
	fake_reply_text(out, "200 OK", "application/vnd.docker.multiplexed-stream", b.data, b.len);
	buf_finish(&b);
}

/* /services/{id}, /services/{id}/logs: inspect, delete, logs. */
static void do_service(struct fake_engine *fe, const struct record *rec, const char *rest,
		       struct reply *out)
{
	char *id = xstrndup(rest, strcspn(rest, "/"));
	const char *sub = rest + strlen(id);
	char *unesc = fake_url_decode(id, strlen(id));
	struct service *s = find_live(fe, unesc);
	const char *m = rec->req.method;
	if (!s) {
		char *msg = xasprintf("service %s not found", unesc);
		reply_error(out, "404 Not Found", msg);
		free(msg);
	} else if (strcmp(m, "GET") == 0 && strcmp(sub, "/logs") == 0) {
		do_logs(s, out);
	} else if (strcmp(m, "DELETE") == 0 && !*sub) {
		s->info.removed = true;
		fe->live--;
		fake_reply_text(out, "200 OK", "application/json", "", 0);
	} else if (strcmp(m, "GET") == 0 && !*sub) {
		reply_json(out, "200 OK",
			   json_pack("{s:s, s:{s:I}, s:O}", "ID", s->info.id, "Version", "Index",
				     (json_int_t)s->version, "Spec", s->spec));
	} else {
		reply_error(out, "404 Not Found", "page not found");
	}
	free(unesc);
	free(id);
}

/* The simulated swarm's endpoints (paths without the version prefix). */
static const struct endpoint {
	const char *method;
	const char *path; /* exact, or a prefix when it ends with '/' */
	void (*fn)(struct fake_engine *fe, const struct record *rec, const char *arg,
		   struct reply *out);
} endpoints[] = {
    {"GET", "/version", do_version},
    {"GET", "/info", do_info},
    {"POST", "/services/create", do_create},
    {"GET", "/services", do_services},
    {"GET", "/tasks", do_tasks},
    {"GET", "/nodes", do_nodes},
    {"GET", "/secrets", do_named},
    {"GET", "/configs", do_named},
    {NULL, "/services/", do_service},
};

void fake_swarm_answer(struct fake_engine *fe, const struct record *rec, const char *rawq,
		       struct reply *out)
{
	const char *path = unversioned(rec->req.path);
	for (size_t i = 0; i < ARRAY_LEN(endpoints); i++) {
		const struct endpoint *ep = &endpoints[i];
		if (ep->method && strcmp(ep->method, rec->req.method) != 0)
			continue;
		if (str_has_suffix(ep->path, "/") && str_has_prefix(path, ep->path)) {
			ep->fn(fe, rec, path + strlen(ep->path), out);
			return;
		}
		if (strcmp(ep->path, path) == 0) {
			ep->fn(fe, rec, rawq, out);
			return;
		}
	}
	reply_error(out, "404 Not Found", "page not found");
}
