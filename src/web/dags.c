/* dags.c - DAGs as JSON, and the snapshot of them that the web server's threads read. */
#include "swarmflow/web/dags.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"

json_t *dag_errors_to_json(const struct dag_errors *errs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < errs->len; i++)
		json_array_append_new(a,
				      json_pack("{s:s, s:i, s:s}", "file", errs->v[i].file, "line",
						errs->v[i].line, "message", errs->v[i].message));
	return a;
}

static json_t *strv_json(const struct strv *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; i < sv->len; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *date_json(int64_t unix_s)
{
	char iso[32];
	if (!unix_s)
		return json_null();
	time_format_iso(unix_s, iso);
	return json_string(iso);
}

static json_t *seconds_json(int64_t s)
{
	return s ? json_integer(s) : json_null();
}

static json_t *task_json(const struct task *t)
{
	json_t *o =
	    json_pack("{s:s, s:o, s:s?, s:s, s:i, s:s?, s:b, s:o}", "task_id", t->task_id,
		      "upstream", strv_json(&t->upstream), "image", t->image, "trigger_rule",
		      trigger_rule_name(t->trigger_rule), "retries", t->retries, "pool", t->pool,
		      "tty", t->tty, "timeout", seconds_json(t->timeout_s));
	/* Data between tasks, for the UI: only where a task uses it. */
	if (t->output != OUTPUT_NONE)
		json_object_set_new(o, "output", json_string(output_mode_name(t->output)));
	if (t->branch)
		json_object_set_new(o, "branch", json_true());
	if (t->short_circuit)
		json_object_set_new(o, "short_circuit", json_true());
	if (t->mapped)
		json_object_set_new(o, "mapped", json_true());
	return o;
}

json_t *dag_to_json(const struct dag *dag)
{
	json_t *tasks = json_array();
	for (size_t i = 0; i < dag->n_tasks; i++)
		json_array_append_new(tasks, task_json(&dag->tasks[dag->topo ? dag->topo[i] : i]));
	json_t *o = json_pack("{s:s, s:s?, s:s, s:o, s:o, s:b, s:o, s:s, s:i}", "dag_id",
			      dag->dag_id, "description", dag->description, "schedule",
			      dag->schedule_str ? dag->schedule_str : "none", "start_date",
			      date_json(dag->start_date), "end_date", date_json(dag->end_date),
			      "catchup", dag->catchup, "tags", strv_json(&dag->tags), "file",
			      dag->file ? dag->file : "", "line", dag->line);
	json_object_set_new(o, "max_active_runs", json_integer(dag->max_active_runs));
	json_object_set_new(o, "max_active_tasks", json_integer(dag->max_active_tasks));
	json_object_set_new(o, "dagrun_timeout", seconds_json(dag->dagrun_timeout_s));
	json_object_set_new(o, "tasks", tasks);
	return o;
}

/* Each file's errors, then the folder's, as one array (a new reference). */
static json_t *bag_errors_to_json(const struct dagbag *bag)
{
	json_t *errors = json_array();
	for (size_t f = 0; f <= bag->n_files; f++) {
		const struct dag_errors *e =
		    f < bag->n_files ? &bag->files[f].parsed.errors : &bag->errors;
		json_t *part = dag_errors_to_json(e);
		json_array_extend(errors, part);
		json_decref(part);
	}
	return errors;
}

json_t *dagbag_to_json(const struct dagbag *bag)
{
	json_t *dags = json_array();
	for (size_t i = 0; i < bag->n_active; i++)
		json_array_append_new(dags, dag_to_json(bag->active[i]));
	return json_pack("{s:o, s:o}", "dags", dags, "import_errors", bag_errors_to_json(bag));
}

/* ---- the holder ---- */

/* One published version of the DAGs, never changed once published. Each DAG is kept as its
 * compact JSON text and parsed again when a request needs it: the parsed tree of 1,000 DAGs of
 * 10 tasks is about 15 MB, its text about 2 MB, and a request parses only what it shows. */
struct dags_version {
	json_t *texts;  /* dag_id -> JSON string: dag_to_json() serialized */
	json_t *order;  /* [dag_id...] in file order */
	json_t *errors; /* import errors, as in dagbag_to_json() */
};

struct web_dags {
	pthread_mutex_t lock; /* held only to swap or take references */
	struct dags_version v;
	uint64_t generation;  /* versions published so far */
	uint64_t fingerprint; /* of the bag last published (web_dags_on_loaded) */
};

static void version_finish(struct dags_version *v)
{
	json_decref(v->texts);
	json_decref(v->order);
	json_decref(v->errors);
	*v = (struct dags_version){0};
}

/* Builds a version DAG by DAG, so that the tree of one DAG at a time is ever in memory. */
static void version_build(struct dags_version *v, const struct dagbag *bag)
{
	v->texts = json_object();
	v->order = json_array();
	for (size_t i = 0; i < bag->n_active; i++) {
		json_t *dag = dag_to_json(bag->active[i]);
		char *text = json_dumps(dag, JSON_COMPACT);
		json_decref(dag);
		if (!text)
			fatalx("out of memory (json_dumps)");
		json_object_set_new(v->texts, bag->active[i]->dag_id, json_string(text));
		json_array_append_new(v->order, json_string(bag->active[i]->dag_id));
		free(text);
	}
	v->errors = bag_errors_to_json(bag);
}

struct web_dags *web_dags_create(void)
{
	struct web_dags *d = xcalloc(1, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->v = (struct dags_version){json_object(), json_array(), json_array()};
	return d;
}

void web_dags_destroy(struct web_dags *d)
{
	if (!d)
		return;
	version_finish(&d->v);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void web_dags_update(struct web_dags *d, const struct dagbag *bag)
{
	/* Built before taking the lock: a reader never waits for the JSON of 1,000 DAGs. */
	struct dags_version v;
	version_build(&v, bag);
	pthread_mutex_lock(&d->lock);
	struct dags_version old = d->v;
	d->v = v;
	d->generation++;
	pthread_mutex_unlock(&d->lock);
	version_finish(&old);
}

/* References to the current version (the caller finishes it). */
static void version_take(struct web_dags *d, struct dags_version *out)
{
	pthread_mutex_lock(&d->lock);
	*out = (struct dags_version){json_incref(d->v.texts), json_incref(d->v.order),
				     json_incref(d->v.errors)};
	pthread_mutex_unlock(&d->lock);
}

/* The DAG object of one serialized text (a new reference), or NULL. */
static json_t *parse_text(const json_t *text)
{
	const char *s = json_string_value(text);
	return s ? json_loadb(s, json_string_length(text), 0, NULL) : NULL;
}

/* FNV-1a over n bytes. */
static uint64_t mix(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return h;
}

/* What a refresh may change: the files (path, mtime, size), the DAGs each holds (a re-parse
 * makes new ones), the errors and the DAGs in use. Microseconds for 1,000 files. */
static uint64_t bag_fingerprint(const struct dagbag *bag)
{
	uint64_t h = 14695981039346656037u;
	size_t counts[] = {bag->n_files, bag->n_active, bag->errors.len};
	h = mix(h, counts, sizeof(counts));
	for (size_t i = 0; i < bag->n_files; i++) {
		const struct dagbag_file *f = &bag->files[i];
		h = mix(h, f->path, strlen(f->path) + 1);
		int64_t nums[] = {f->mtime_ns, (int64_t)f->size, (int64_t)f->n_dags,
				  (int64_t)f->parsed.errors.len};
		h = mix(h, nums, sizeof(nums));
		h = mix(h, f->dags, f->n_dags * sizeof(*f->dags));
	}
	return mix(h, bag->active, bag->n_active * sizeof(*bag->active));
}

void web_dags_on_loaded(void *ctx, const struct dagbag *bag)
{
	struct web_dags *d = ctx;
	uint64_t fp = bag_fingerprint(bag);
	/* Only the scheduler's thread calls this: the fingerprint needs no lock. */
	if (fp == d->fingerprint)
		return;
	web_dags_update(d, bag);
	d->fingerprint = fp;
}

json_t *web_dags_snapshot(struct web_dags *d)
{
	struct dags_version v;
	version_take(d, &v);
	json_t *dags = json_array(), *id;
	size_t i;
	json_array_foreach(v.order, i, id)
	{
		json_t *dag = parse_text(json_object_get(v.texts, json_string_value(id)));
		if (dag)
			json_array_append_new(dags, dag);
	}
	json_t *snap = json_pack("{s:o, s:O}", "dags", dags, "import_errors", v.errors);
	version_finish(&v);
	return snap;
}

uint64_t web_dags_generation(struct web_dags *d)
{
	pthread_mutex_lock(&d->lock);
	uint64_t g = d->generation;
	pthread_mutex_unlock(&d->lock);
	return g;
}

size_t web_dags_count(struct web_dags *d, size_t *n_errors)
{
	pthread_mutex_lock(&d->lock);
	size_t n = json_array_size(d->v.order);
	*n_errors = json_array_size(d->v.errors);
	pthread_mutex_unlock(&d->lock);
	return n;
}

json_t *web_dags_find(struct web_dags *d, const char *dag_id)
{
	struct dags_version v;
	version_take(d, &v);
	json_t *dag = parse_text(json_object_get(v.texts, dag_id));
	version_finish(&v);
	return dag;
}

/* ---- back to a struct dag ---- */

static char *str_member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? xstrdup(s) : NULL;
}

static bool task_from_json(const json_t *o, struct task *t)
{
	t->task_id = str_member(o, "task_id");
	t->image = str_member(o, "image");
	t->pool = str_member(o, "pool");
	t->retries = (int)json_integer_value(json_object_get(o, "retries"));
	t->tty = json_is_true(json_object_get(o, "tty"));
	t->timeout_s = json_integer_value(json_object_get(o, "timeout"));
	const char *rule = json_string_value(json_object_get(o, "trigger_rule"));
	if (rule)
		trigger_rule_parse(rule, &t->trigger_rule);
	json_t *up;
	size_t i;
	json_array_foreach(json_object_get(o, "upstream"), i, up)
	{
		if (!json_is_string(up))
			return false;
		strv_push(&t->upstream, json_string_value(up));
	}
	return t->task_id != NULL;
}

struct dag *dag_from_json(const json_t *obj)
{
	json_t *tasks = json_object_get(obj, "tasks");
	const char *id = json_string_value(json_object_get(obj, "dag_id"));
	if (!id || !json_is_array(tasks))
		return NULL;
	struct dag *dag = xcalloc(1, sizeof(*dag));
	dag->dag_id = xstrdup(id);
	dag->file = str_member(obj, "file");
	dag->max_active_runs = (int)json_integer_value(json_object_get(obj, "max_active_runs"));
	dag->max_active_tasks = (int)json_integer_value(json_object_get(obj, "max_active_tasks"));
	dag->tasks = xcalloc(json_array_size(tasks) + 1, sizeof(*dag->tasks));
	bool ok = true;
	for (size_t i = 0; ok && i < json_array_size(tasks); i++) {
		ok = task_from_json(json_array_get(tasks, i), &dag->tasks[i]);
		dag->n_tasks++;
	}
	struct dag_errors errs = {0};
	ok = ok && dag_graph_validate(dag, &errs);
	dag_errors_finish(&errs);
	if (!ok) {
		dag_destroy(dag);
		return NULL;
	}
	return dag;
}
