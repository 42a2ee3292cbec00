/* fuzz_dag.c - libFuzzer target: `.dag` files through dag_file_parse. Errors are sorted, point
 * into the file and come out the same on a second parse; an accepted file holds only DAGs whose
 * every value is valid and whose graph is ordered. Input: the file (any bytes, no NUL added). */
#include "fuzz.h"

#include <math.h>

#include "swarmflow/core/dag.h"
#include "swarmflow/core/spec.h"
#include "swarmflow/core/template.h"

#define PATH "dags/fuzz.dag"
#define DURATION_MAX (10LL * 365 * 86400)
#define SIZE_MAX_BYTES (1LL << 50)
#define INT_KEY_MAX 100000 /* retries, max_active_runs, max_active_tasks */

static void check_errors(const struct dag_file *f, const uint8_t *data, size_t size)
{
	int lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	for (size_t i = 0; i < f->errors.len; i++) {
		const struct dag_error *e = &f->errors.v[i];
		CHECK(str_same(e->file, PATH));
		CHECK(e->message && *e->message);
		/* every error is at a line of the file, and the list is in line order */
		CHECK(e->line >= 1 && e->line <= lines);
		CHECK(i == 0 || f->errors.v[i - 1].line <= e->line);
	}
}

static bool same_errors(const struct dag_file *a, const struct dag_file *b)
{
	if (a->errors.len != b->errors.len || a->n_dags != b->n_dags)
		return false;
	for (size_t i = 0; i < a->errors.len; i++)
		if (a->errors.v[i].line != b->errors.v[i].line ||
		    strcmp(a->errors.v[i].message, b->errors.v[i].message) != 0)
			return false;
	for (size_t i = 0; i < a->n_dags; i++)
		if (strcmp(a->dags[i]->dag_id, b->dags[i]->dag_id) != 0 ||
		    a->dags[i]->n_tasks != b->dags[i]->n_tasks)
			return false;
	return true;
}

static void check_templates(const struct strv *sv)
{
	for (size_t i = 0; i < sv->len; i++)
		CHECK(template_check(sv->v[i], NULL));
}

/* KEY=VALUE with a non-empty key. */
static void check_pairs(const struct strv *sv)
{
	for (size_t i = 0; i < sv->len; i++) {
		const char *eq = strchr(sv->v[i], '=');
		CHECK(eq && eq != sv->v[i]);
	}
}

static bool duration_ok(int64_t s)
{
	return s >= 0 && s <= DURATION_MAX;
}

static void check_task(const struct dag *d, size_t i)
{
	const struct task *t = &d->tasks[i];
	CHECK(dag_id_valid(t->task_id));
	CHECK(dag_task_find(d, t->task_id) == t && dag_task_index(d, t->task_id) == (long)i);
	CHECK(t->line >= d->line);
	CHECK(t->image && *t->image);
	CHECK(!(t->command.len && t->shell));
	CHECK(!t->shell || template_check(t->shell, NULL));
	check_templates(&t->command);
	check_templates(&t->entrypoint);
	check_templates(&t->env);
	check_templates(&t->labels);
	check_pairs(&t->env);
	check_pairs(&t->labels);
	check_pairs(&t->log_opts);
	for (size_t k = 0; k < t->labels.len; k++)
		CHECK(strncmp(t->labels.v[k], "swarmflow.", 10) != 0);
	for (size_t k = 0; k < t->mounts.len; k++) {
		json_t *m = mount_parse(t->mounts.v[k], NULL);
		CHECK(m != NULL);
		json_decref(m);
	}
	CHECK(!t->workdir || t->workdir[0] == '/');
	CHECK(t->cpus >= 0 && t->cpus <= 1e6 && t->reserve_cpus >= 0 && t->reserve_cpus <= 1e6);
	CHECK(t->memory >= 0 && t->memory <= SIZE_MAX_BYTES);
	CHECK(t->reserve_memory >= 0 && t->reserve_memory <= SIZE_MAX_BYTES);
	CHECK(t->retries >= 0 && t->retries <= INT_KEY_MAX);
	CHECK(duration_ok(t->retry_delay_s) && duration_ok(t->max_retry_delay_s));
	CHECK(duration_ok(t->timeout_s) && duration_ok(t->pending_timeout_s));
	CHECK(strcmp(trigger_rule_name(t->trigger_rule), "unknown") != 0);
	CHECK(!t->pool || *t->pool);

	/* every upstream names another task, linked both ways */
	CHECK(t->n_up <= t->upstream.len);
	for (size_t k = 0; k < t->upstream.len; k++) {
		long j = dag_task_index(d, t->upstream.v[k]);
		CHECK(j >= 0 && (size_t)j != i);
		bool linked = false;
		for (size_t u = 0; u < t->n_up; u++)
			linked |= t->up_idx[u] == (size_t)j;
		CHECK(linked);
	}
	for (size_t u = 0; u < t->n_up; u++) {
		const struct task *up = &d->tasks[t->up_idx[u]];
		CHECK(t->up_idx[u] < d->n_tasks);
		size_t seen = 0;
		for (size_t k = 0; k < up->n_down; k++)
			seen += up->down_idx[k] == i;
		CHECK(seen == 1);
	}
}

static void check_dag(const struct dag *d)
{
	CHECK(dag_id_valid(d->dag_id));
	CHECK(str_same(d->file, PATH) && d->line >= 1);
	struct schedule s;
	CHECK(d->schedule_str && schedule_parse(d->schedule_str, &s, NULL));
	CHECK(s.kind == d->schedule.kind);
	if (s.kind == SCHEDULE_CRON)
		CHECK(
		    s.cron.minutes == d->schedule.cron.minutes &&
		    s.cron.hours == d->schedule.cron.hours && s.cron.dom == d->schedule.cron.dom &&
		    s.cron.months == d->schedule.cron.months && s.cron.dow == d->schedule.cron.dow);
	CHECK(!d->start_date || !d->end_date || d->end_date >= d->start_date);
	CHECK(d->max_active_runs >= 1 && d->max_active_runs <= INT_KEY_MAX);
	CHECK(d->max_active_tasks >= 1 && d->max_active_tasks <= INT_KEY_MAX);
	CHECK(duration_ok(d->dagrun_timeout_s));
	CHECK(!d->on_failure_webhook || strncmp(d->on_failure_webhook, "http://", 7) == 0 ||
	      strncmp(d->on_failure_webhook, "https://", 8) == 0);
	for (size_t i = 0; i < d->tags.len; i++)
		CHECK(*d->tags.v[i]);

	/* topo holds every task once, each after all of its upstreams */
	size_t *pos = calloc(d->n_tasks + 1, sizeof(*pos));
	CHECK(pos != NULL && (d->n_tasks == 0 || d->topo));
	for (size_t i = 0; i < d->n_tasks; i++)
		pos[i] = SIZE_MAX;
	for (size_t k = 0; k < d->n_tasks; k++) {
		CHECK(d->topo[k] < d->n_tasks && pos[d->topo[k]] == SIZE_MAX);
		pos[d->topo[k]] = k;
	}
	for (size_t i = 0; i < d->n_tasks; i++) {
		check_task(d, i);
		for (size_t u = 0; u < d->tasks[i].n_up; u++)
			CHECK(pos[d->tasks[i].up_idx[u]] < pos[i]);
	}
	free(pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dag_file f = {0}, g = {0};
	/* the buffer as libFuzzer gives it: not NUL-terminated, so ASan sees any read past it */
	bool ok = dag_file_parse((const char *)data, size, PATH, &f);
	CHECK(ok == (f.errors.len == 0));
	CHECK(str_same(f.path, PATH));
	CHECK(ok || (f.n_dags == 0 && !f.dags));
	check_errors(&f, data, size);
	for (size_t i = 0; i < f.n_dags; i++) {
		CHECK(f.dags[i] != NULL);
		check_dag(f.dags[i]);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(f.dags[i]->dag_id, f.dags[j]->dag_id) != 0);
	}

	/* The same bytes again give the same errors (libconfuse's lexer keeps global state). */
	bool ok2 = dag_file_parse((const char *)data, size, PATH, &g);
	CHECK(ok2 == ok);
	CHECK(same_errors(&f, &g));

	dag_file_finish(&f);
	dag_file_finish(&g);
	return 0;
}
