/* sched_env.c - a scheduler on the fake engine for tests (see sched_env.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "sched_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>

#include "swarmflow/common/log.h"
#include "swarmflow/core/spec.h"

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

int env_setup(void **state)
{
	struct env *env = xcalloc(1, sizeof(*env));
	snprintf(env->dir, sizeof(env->dir), "/tmp/sf-sched-XXXXXX");
	if (!mkdtemp(env->dir))
		return -1;
	struct fake_engine_opts opts = {.swarm = true};
	env->fe = fake_engine_create(&opts);
	if (!env->fe)
		return -1;
	config_init(&env->cfg);
	char *dags = xasprintf("%s/dags", env->dir), *st = xasprintf("%s/state", env->dir);
	mkdir(dags, 0755);
	mkdir(st, 0755);
	set_str(&env->cfg.dags_folder, dags);
	set_str(&env->cfg.state_dir, st);
	set_str(&env->cfg.instance, "test");
	env->cfg.dag_reload_interval = 3600;
	free(dags);
	free(st);
	env->now = T0_MS;
	*state = env;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

int env_teardown(void **state)
{
	struct env *env = *state;
	if (env->sched_ready)
		sched_finish(&env->s);
	engine_destroy(env->engine);
	run_finish(&env->run);
	store_close(env->store);
	if (env->bag_ready)
		dagbag_finish(&env->bag);
	config_finish(&env->cfg);
	fake_engine_destroy(env->fe);
	nftw(env->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(env);
	return 0;
}

/* Writes DAG `t` (tasks: the task blocks; defaults: an image and no retries), then opens the
 * store, the engine client and the DAGs, creates a manual run and starts the scheduler. */
void env_start(struct env *env, const char *tasks)
{
	env_start_runner(env, tasks, NULL);
}

void env_start_runner(struct env *env, const char *tasks, const char *runner)
{
	char *path = xasprintf("%s/t.dag", env->cfg.dags_folder);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"dag t {\n  schedule = \"none\"\n  max_active_tasks = 16\n"
		"  defaults {\n    image = \"busybox:1.36\"\n    retries = 0\n  }\n%s}\n",
		tasks);
	assert_int_equal(fclose(fp), 0);
	free(path);
	dagbag_init(&env->bag, env->cfg.dags_folder);
	env->bag_ready = true;
	assert_int_equal(dagbag_refresh(&env->bag), 1);
	assert_int_equal(dagbag_error_count(&env->bag), 0);
	const struct dag *dag = dagbag_find(&env->bag, "t");
	assert_non_null(dag);

	char *err = NULL;
	char *db = xasprintf("%s/swarmflow.db", env->cfg.state_dir);
	env->store = store_open(db, &err);
	free(db);
	if (!env->store)
		fail_msg("store_open: %s", err);
	char *host = xasprintf("unix://%s", fake_engine_socket(env->fe));
	struct engine_opts eo = {.host = host, .api_version = "1.41", .timeout_ms = 5000};
	env->engine = engine_create(&eo, &err);
	free(host);
	if (!env->engine)
		fail_msg("engine_create: %s", err);

	const char **ids = xcalloc(dag->n_tasks, sizeof(*ids));
	int *tries = xcalloc(dag->n_tasks, sizeof(*tries));
	for (size_t i = 0; i < dag->n_tasks; i++) {
		ids[i] = dag->tasks[i].task_id;
		tries[i] = dag->tasks[i].retries + 1;
	}
	struct run r = {.dag_id = "t",
			.run_id = RUN_ID,
			.run_type = "manual",
			.logical_date = T0_MS / 1000,
			.data_interval_start = T0_MS / 1000,
			.data_interval_end = T0_MS / 1000,
			.queued_ms = T0_MS,
			.conf = "{}",
			.runner = (char *)runner};
	bool ok = store_run_create(env->store, &r, ids, tries, dag->n_tasks, &env->run, &err);
	free(ids);
	free(tries);
	if (!ok)
		fail_msg("store_run_create: %s", err);
	if (!sched_init(&env->s, &env->cfg, env->store, env->engine, &env->bag, 0, &err))
		fail_msg("sched_init: %s", err);
	env->sched_ready = true;
}

/* One tick at env->now; the clock then moves on by step_ms. */
void env_tick(struct env *env, int64_t step_ms)
{
	assert_true(sched_tick(&env->s, env->now));
	env->now += step_ms;
}

/* The task instance of task_id in the run (caller frees with ti_finish). */
void env_get_ti(struct env *env, const char *task_id, struct ti *out)
{
	struct ti_list l = {0};
	char *err = NULL;
	assert_true(store_tis_for_run(env->store, env->run.id, &l, &err));
	bool found = false;
	for (size_t i = 0; i < l.len && !found; i++) {
		if (strcmp(l.v[i].task_id, task_id) == 0) {
			*out = l.v[i];
			l.v[i] = (struct ti){0};
			found = true;
		}
	}
	ti_list_finish(&l);
	assert_true(found);
}

enum ti_state env_ti_state_of(struct env *env, const char *task_id)
{
	struct ti ti;
	env_get_ti(env, task_id, &ti);
	enum ti_state st = ti.state;
	ti_finish(&ti);
	return st;
}

enum run_state env_run_state_of(struct env *env)
{
	struct run r = {0};
	char *err = NULL;
	assert_true(store_run_get_by_id(env->store, env->run.id, &r, &err));
	enum run_state st = r.state;
	run_finish(&r);
	return st;
}

/* Ticks (step_ms apart) until the run has finished; at most max_ticks. */
void env_run_to_end(struct env *env, int max_ticks, int64_t step_ms)
{
	for (int i = 0; i < max_ticks; i++) {
		env_tick(env, step_ms);
		enum run_state st = env_run_state_of(env);
		if (st == RUN_SUCCESS || st == RUN_FAILED)
			return;
	}
	fail_msg("the run did not finish in %d ticks", max_ticks);
}

/* Index of the first request from `from` on with that method and path suffix, or SIZE_MAX. */
size_t env_find_request(struct env *env, size_t from, const char *method, const char *suffix)
{
	struct fake_request r;
	for (size_t i = from; fake_engine_request_get(env->fe, i, &r); i++) {
		bool hit = strcmp(r.method, method) == 0 && str_has_suffix(r.path, suffix);
		fake_request_finish(&r);
		if (hit)
			return i;
	}
	return SIZE_MAX;
}

size_t env_count_from(struct env *env, size_t from, const char *method, const char *suffix)
{
	return fake_engine_count(env->fe, from, method, suffix);
}

/* Requests with that method and path suffix whose (decoded) query contains needle. */
size_t env_count_query(struct env *env, const char *method, const char *suffix, const char *needle)
{
	struct fake_request r;
	size_t n = 0;
	for (size_t i = 0; fake_engine_request_get(env->fe, i, &r); i++) {
		n += strcmp(r.method, method) == 0 && str_has_suffix(r.path, suffix) &&
		     strstr(r.query, needle) != NULL;
		fake_request_finish(&r);
	}
	return n;
}

/* DELETE requests for one service. */
size_t env_deletes_of(struct env *env, const char *id)
{
	char *suffix = xasprintf("/services/%s", id);
	size_t n = env_count_from(env, 0, "DELETE", suffix);
	free(suffix);
	return n;
}

/* The simulated service created for task_id (the last one, if several). */
struct fake_service env_service_of(struct env *env, const char *task_id)
{
	struct fake_service all[32], found = {0};
	size_t n = fake_engine_services(env->fe, all, ARRAY_LEN(all));
	for (size_t i = 0; i < n && i < ARRAY_LEN(all); i++)
		if (strcmp(all[i].task_id, task_id) == 0)
			found = all[i];
	assert_true(found.id[0]);
	return found;
}

char *env_read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	return buf_steal(&b);
}

void env_restart(struct env *env)
{
	char *err = NULL;
	sched_finish(&env->s);
	if (!sched_init(&env->s, &env->cfg, env->store, env->engine, &env->bag, 0, &err))
		fail_msg("sched_init: %s", err);
}

void env_put_dag(struct env *env, const char *file, const char *text)
{
	char *path = xasprintf("%s/%s.dag", env->cfg.dags_folder, file);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	free(path);
	assert_true(dagbag_refresh(&env->bag) >= 1);
	for (size_t i = 0; i < env->bag.n_files; i++)
		if (env->bag.files[i].parsed.errors.len)
			fail_msg("%s: %s", env->bag.files[i].path,
				 env->bag.files[i].parsed.errors.v[0].message);
	assert_int_equal(dagbag_error_count(&env->bag), 0);
}
