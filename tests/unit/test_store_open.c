/* test_store_open.c - what opening a store prepares: nothing until a statement is used, all of
 * them on store_prepare_all, and the errors of both when the schema is not what the SQL reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

#include "db_files.h"

struct fixture {
	char dir[64];
	char path[96];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	str_copy(f->dir, sizeof(f->dir), "/tmp/swarmflow-test-open-XXXXXX");
	if (!mkdtemp(f->dir))
		fail_msg("mkdtemp failed");
	snprintf(f->path, sizeof(f->path), "%s/swarmflow.db", f->dir);
	char *err = NULL;
	f->s = store_open(f->path, &err);
	if (!f->s)
		fail_msg("store_open: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	remove_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs sql on a connection of its own, as another program would. */
static void exec_beside(struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void add_run(struct fixture *f, const char *run_id)
{
	struct run r = {.dag_id = "d", .run_id = (char *)run_id}, out = {0};
	char *err = NULL;
	if (!store_run_create(f->s, &r, NULL, NULL, 0, &out, &err))
		fail_msg("store_run_create: %s", err);
	run_finish(&out);
}

/* Every statement compiles against the newest schema. */
static void test_prepare_all(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	assert_true(store_prepare_all(f->s, &err));
	assert_null(err);
	assert_true(store_prepare_all(f->s, &err)); /* again: nothing to do */
}

/* A store that prepared nothing writes and reads, the small cache of a one-time read too. */
static void test_lazy_use(void **state)
{
	struct fixture *f = *state;
	add_run(f, "a");
	add_run(f, "b");
	char *err = NULL;
	assert_true(store_read_once(f->s, &err));
	struct run_list l = {0};
	assert_true(store_runs_list(f->s, "d", NULL, 0, &l, &err));
	assert_int_equal(l.len, 2);
	run_list_finish(&l);
}

/* The table a statement reads is gone: store_prepare_all says which statement and why, and a
 * statement prepared at its first use fails that use with SQLite's reason. */
static void test_prepare_errors(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	exec_beside(f, "PRAGMA foreign_keys = OFF; DROP TABLE dags;");
	char *err = NULL;
	f->s = store_open(f->path, &err); /* opens: it prepares no statement that reads dags */
	if (!f->s)
		fail_msg("store_open: %s", err);
	assert_false(store_prepare_all(f->s, &err));
	assert_non_null(strstr(err, "prepare statement"));
	assert_non_null(strstr(err, "no such table: dags"));
	free(err);
	err = NULL;
	bool paused = false;
	assert_false(store_dag_is_paused(f->s, "d", &paused, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "no such table: dags"));
	free(err);
	err = NULL;
	add_run(f, "c"); /* the statements that do not read it still work */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_prepare_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lazy_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prepare_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
