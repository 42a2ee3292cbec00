/* test_dagbag.c - the dags folder: scan, refresh of changed files, kept versions, duplicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "swarmflow/sched/dagbag.h"

#define GOOD(id) "dag " id " {\n  task t { image = busybox shell = \"true\" }\n}\n"
#define BROKEN "dag broken {\n  task t { image = = x }\n}\n"

struct fixture {
	char dir[64];
	struct dagbag bag;
	int64_t clock; /* mtime given to the next file written */
};

static char *path_of(const struct fixture *fx, const char *rel)
{
	return xasprintf("%s/%s", fx->dir, rel);
}

/* Writes rel (creating its folders) with a new, strictly later mtime. */
static void put(struct fixture *fx, const char *rel, const char *text)
{
	char *path = path_of(fx, rel);
	for (char *slash = strchr(path + strlen(fx->dir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	fx->clock += 10;
	struct timespec ts[2] = {{fx->clock, 0}, {fx->clock, 0}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(path);
}

static void drop(const struct fixture *fx, const char *rel)
{
	char *path = path_of(fx, rel);
	assert_int_equal(unlink(path), 0);
	free(path);
}

static void link_to(const struct fixture *fx, const char *target, const char *rel)
{
	char *path = path_of(fx, rel);
	assert_int_equal(symlink(target, path), 0);
	free(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_dagbag.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->clock = 1700000000;
	put(fx, "a.dag", GOOD("alpha"));
	put(fx, "b.dag", BROKEN);
	put(fx, ".hidden.dag", GOOD("hidden"));
	put(fx, ".git/x.dag", GOOD("in_dot_folder"));
	put(fx, "notes.txt", GOOD("not_a_dag_file"));
	put(fx, "a.dag.bak", GOOD("backup"));
	put(fx, "sub/deeper/c.dag", GOOD("gamma"));
	dagbag_init(&fx->bag, fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	dagbag_finish(&fx->bag);
	char *cmd = xasprintf("rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(fx);
	return 0;
}

static void collect_id(const struct dag *dag, void *ud)
{
	strv_push(ud, dag->dag_id);
}

static void test_scan(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	assert_int_equal(dagbag_refresh(bag), 3);
	assert_int_equal(bag->n_files, 3);
	char *a = path_of(fx, "a.dag"), *b = path_of(fx, "b.dag");
	char *c = path_of(fx, "sub/deeper/c.dag");
	assert_string_equal(bag->files[0].path, a);
	assert_string_equal(bag->files[1].path, b);
	assert_string_equal(bag->files[2].path, c);
	assert_non_null(dagbag_find(bag, "alpha"));
	assert_string_equal(dagbag_find(bag, "gamma")->file, c);
	assert_null(dagbag_find(bag, "hidden"));
	assert_null(dagbag_find(bag, "in_dot_folder"));
	assert_null(dagbag_find(bag, "not_a_dag_file"));
	assert_null(dagbag_find(bag, "backup"));
	assert_null(dagbag_find(bag, "broken"));
	assert_int_equal(bag->errors.len, 0);
	assert_int_equal(dagbag_error_count(bag), 1);
	const struct dag_error *e = &bag->files[1].parsed.errors.v[0];
	assert_string_equal(e->file, b);
	assert_int_equal(e->line, 2);
	assert_int_equal(bag->files[1].n_dags, 0);
	struct strv ids = {0};
	dagbag_foreach(bag, collect_id, &ids);
	assert_int_equal(ids.len, 2);
	assert_string_equal(ids.v[0], "alpha");
	assert_string_equal(ids.v[1], "gamma");
	strv_finish(&ids);
	free(a);
	free(b);
	free(c);
}

/* Unchanged files are not parsed again: their DAG objects stay the same. */
static void test_refresh_only_changed(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	assert_int_equal(dagbag_refresh(bag), 3);
	const struct dag *alpha = dagbag_find(bag, "alpha"), *gamma = dagbag_find(bag, "gamma");
	assert_int_equal(dagbag_refresh(bag), 0);
	assert_ptr_equal(dagbag_find(bag, "alpha"), alpha);
	put(fx, "a.dag", GOOD("alpha") "\n" GOOD("alpha2"));
	assert_int_equal(dagbag_refresh(bag), 1);
	assert_ptr_equal(dagbag_find(bag, "gamma"), gamma);
	assert_non_null(dagbag_find(bag, "alpha2"));
	assert_int_equal(bag->files[0].n_dags, 2);
	put(fx, "sub/new.dag", GOOD("delta"));
	assert_int_equal(dagbag_refresh(bag), 1);
	assert_int_equal(bag->n_files, 4);
	assert_non_null(dagbag_find(bag, "delta"));
}

static void test_removed_file(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	assert_int_equal(dagbag_refresh(bag), 3);
	drop(fx, "sub/deeper/c.dag");
	drop(fx, "b.dag");
	assert_int_equal(dagbag_refresh(bag), 0);
	assert_int_equal(bag->n_files, 1);
	assert_null(dagbag_find(bag, "gamma"));
	assert_int_equal(dagbag_error_count(bag), 0);
}

/* A file that turns invalid keeps its last good DAGs in use and reports the new errors. */
static void test_invalid_keeps_last_good(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	assert_int_equal(dagbag_refresh(bag), 3);
	const struct dag *alpha = dagbag_find(bag, "alpha");
	put(fx, "a.dag", "dag alpha {\n  task t { image = busybox timeout = soon }\n}\n");
	assert_int_equal(dagbag_refresh(bag), 1);
	assert_ptr_equal(dagbag_find(bag, "alpha"), alpha);
	assert_int_equal(bag->files[0].n_dags, 1);
	assert_int_equal(bag->files[0].parsed.n_dags, 0);
	assert_int_equal(bag->files[0].parsed.errors.len, 1);
	assert_int_equal(bag->files[0].parsed.errors.v[0].line, 2);
	assert_int_equal(dagbag_error_count(bag), 2);
	/* Still broken, differently: the same good version stays. */
	put(fx, "a.dag", "dag alpha {\n");
	assert_int_equal(dagbag_refresh(bag), 1);
	assert_ptr_equal(dagbag_find(bag, "alpha"), alpha);
	/* Fixed: the new version replaces it. */
	put(fx, "a.dag", GOOD("alpha") "# fixed\n");
	assert_int_equal(dagbag_refresh(bag), 1);
	assert_non_null(dagbag_find(bag, "alpha"));
	assert_int_equal(bag->files[0].parsed.errors.len, 0);
	assert_ptr_equal(bag->files[0].dags, bag->files[0].parsed.dags);
	/* A file that was never good has no DAGs in use. */
	assert_int_equal(bag->files[1].n_dags, 0);
}

/* With a cache, a file that turns invalid keeps its last good DAGs in a bag that never saw it
 * good (another process: `dags list` after the daemon), and the copy goes with the file. */
static void test_cache_across_bags(void **state)
{
	struct fixture *fx = *state;
	char *cache = path_of(fx, ".cache");
	dagbag_set_cache(&fx->bag, cache);
	assert_int_equal(dagbag_refresh(&fx->bag), 3);
	put(fx, "a.dag", "dag alpha {\n  task t { image = busybox timeout = soon }\n}\n");
	/* The bag that saw it good sees it broken too: that must not drop the copy. */
	assert_int_equal(dagbag_refresh(&fx->bag), 1);

	struct dagbag later;
	dagbag_init(&later, fx->dir);
	dagbag_set_cache(&later, cache);
	dagbag_refresh(&later);
	const struct dag *alpha = dagbag_find(&later, "alpha");
	assert_non_null(alpha); /* from the cached good version */
	assert_string_equal(alpha->file, later.files[0].path);
	assert_int_equal(later.files[0].parsed.errors.len, 1); /* and the new version's error */
	assert_int_equal(later.files[0].parsed.errors.v[0].line, 2);
	/* A bag without the cache cannot know it. */
	struct dagbag plain;
	dagbag_init(&plain, fx->dir);
	dagbag_refresh(&plain);
	assert_null(dagbag_find(&plain, "alpha"));
	dagbag_finish(&plain);
	/* The file is deleted: its copy goes, so a new broken file of that name starts empty. */
	drop(fx, "a.dag");
	dagbag_refresh(&later);
	assert_null(dagbag_find(&later, "alpha"));
	put(fx, "a.dag", "dag alpha {\n");
	dagbag_refresh(&later);
	assert_null(dagbag_find(&later, "alpha"));
	dagbag_finish(&later);
	free(cache);
}

/* Writes rel with its mtime set to now (a file being written). */
static void put_now(struct fixture *fx, const char *rel, const char *text)
{
	put(fx, rel, text);
	char *path = path_of(fx, rel);
	assert_int_equal(utimensat(AT_FDCWD, path, NULL, 0), 0);
	free(path);
}

/* With a settle time, a file changed just now is not read yet: a new one waits, a changed one
 * keeps its previous version (cp truncating it first can never make its DAGs vanish). */
static void test_settle(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	dagbag_set_settle(bag, 60000);
	assert_int_equal(dagbag_refresh(bag), 3); /* old mtimes: all settled */
	const struct dag *alpha = dagbag_find(bag, "alpha");
	put_now(fx, "a.dag", ""); /* truncated, being rewritten */
	put_now(fx, "new.dag", GOOD("newcomer"));
	assert_int_equal(dagbag_refresh(bag), 0);
	assert_ptr_equal(dagbag_find(bag, "alpha"), alpha);
	assert_null(dagbag_find(bag, "newcomer"));
	dagbag_set_settle(bag, 0);
	assert_int_equal(dagbag_refresh(bag), 2);
	assert_null(dagbag_find(bag, "alpha")); /* the empty file is read now: no DAGs */
	assert_non_null(dagbag_find(bag, "newcomer"));
}

static void test_duplicate_ids(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	put(fx, "z.dag", "# again\n" GOOD("alpha"));
	assert_int_equal(dagbag_refresh(bag), 4);
	char *a = path_of(fx, "a.dag"), *z = path_of(fx, "z.dag");
	assert_string_equal(dagbag_find(bag, "alpha")->file, a);
	assert_int_equal(bag->errors.len, 1);
	assert_string_equal(bag->errors.v[0].file, z);
	assert_int_equal(bag->errors.v[0].line, 2);
	char *want = xasprintf("DAG 'alpha' already defined at %s:1", a);
	assert_string_equal(bag->errors.v[0].message, want);
	assert_int_equal(dagbag_error_count(bag), 2);
	struct strv ids = {0};
	dagbag_foreach(bag, collect_id, &ids);
	assert_int_equal(ids.len, 2); /* alpha once, gamma */
	strv_finish(&ids);
	/* Without the first file, the other definition is used. */
	drop(fx, "a.dag");
	assert_int_equal(dagbag_refresh(bag), 0);
	assert_string_equal(dagbag_find(bag, "alpha")->file, z);
	assert_int_equal(bag->errors.len, 0);
	free(want);
	free(a);
	free(z);
}

static void test_symlinks(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	link_to(fx, "..", "sub/loop");
	link_to(fx, "deeper", "sub/again"); /* the same folder twice, not a loop */
	link_to(fx, "/nonexistent/x.dag", "gone.dag");
	char *outside = xasprintf("%s.outside.dag", fx->dir);
	FILE *f = fopen(outside, "w");
	fputs(GOOD("linked"), f);
	fclose(f);
	link_to(fx, outside, "link.dag");
	assert_int_equal(dagbag_refresh(bag), 4);
	assert_non_null(dagbag_find(bag, "linked"));
	assert_non_null(dagbag_find(bag, "gamma"));
	assert_int_equal(bag->errors.len, 2);
	char *gone = path_of(fx, "gone.dag"), *loop = path_of(fx, "sub/loop");
	assert_string_equal(bag->errors.v[0].file, gone);
	assert_int_equal(bag->errors.v[0].line, 0);
	assert_string_equal(bag->errors.v[0].message, "cannot stat: No such file or directory");
	assert_string_equal(bag->errors.v[1].file, loop);
	char *want = xasprintf("symlink loop: same folder as %s", fx->dir);
	assert_string_equal(bag->errors.v[1].message, want);
	unlink(outside);
	free(outside);
	free(gone);
	free(loop);
	free(want);
}

static void test_too_large(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	char *big = path_of(fx, "big.dag");
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 10 * 1024 * 1024 + 1), 0);
	close(fd);
	assert_int_equal(dagbag_refresh(bag), 4);
	const struct dagbag_file *f = &bag->files[2];
	assert_string_equal(f->path, big);
	assert_int_equal(f->parsed.errors.len, 1);
	assert_int_equal(f->parsed.errors.v[0].line, 0);
	assert_string_equal(f->parsed.errors.v[0].message,
			    "file too large (10485761 bytes, limit 10 MiB)");
	assert_int_equal(dagbag_refresh(bag), 0); /* not read again until it changes */
	free(big);
}

static void test_missing_folder(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	assert_int_equal(dagbag_refresh(bag), 3);
	char *moved = xasprintf("%s.moved", fx->dir);
	assert_int_equal(rename(fx->dir, moved), 0);
	assert_int_equal(dagbag_refresh(bag), -1);
	assert_int_equal(bag->errors.len, 1);
	assert_string_equal(bag->errors.v[0].file, fx->dir);
	assert_string_equal(bag->errors.v[0].message,
			    "cannot read folder: No such file or directory");
	assert_non_null(dagbag_find(bag, "alpha")); /* the previous DAGs stay */
	assert_int_equal(rename(moved, fx->dir), 0);
	assert_int_equal(dagbag_refresh(bag), 0);
	assert_int_equal(bag->errors.len, 0);
	free(moved);
}

/* Where stderr (the log) goes while a test captures it. */
struct capture {
	FILE *sink;
	int saved;
};

static void capture_start(struct capture *c)
{
	c->sink = tmpfile();
	assert_non_null(c->sink);
	fflush(stderr);
	c->saved = dup(2);
	dup2(fileno(c->sink), 2);
}

/* Everything logged since capture_start() or the previous call (caller frees). */
static char *capture_take(struct capture *c)
{
	fflush(stderr);
	int fd = fileno(c->sink);
	off_t end = lseek(fd, 0, SEEK_CUR);
	assert_true(end >= 0);
	char *s = calloc(1, (size_t)end + 1);
	assert_non_null(s);
	assert_int_equal(pread(fd, s, (size_t)end, 0), end);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return s;
}

static void capture_stop(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	fclose(c->sink);
}

/* How many lines of log contain both a and b (the log is shown on stdout when want differs:
 * stderr is still captured when a check fails). */
static int lines_with(const char *log, const char *a, const char *b, int want)
{
	int n = 0;
	for (const char *p = log; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		n += strstr(line, a) && strstr(line, b);
		free(line);
		p += len + (nl != NULL);
	}
	if (n != want)
		printf("%d lines with '%s' and '%s', want %d, in the log:\n%s\n", n, a, b, want,
		       log);
	return n;
}

/* A watched bag (the daemon's: it has a settle time) names each broken file once when set, then
 * once per change, never at every refresh (tests/e2e/72_broken_folder counts it too). */
static void test_watched_logs_once(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	char *b = path_of(fx, "b.dag"), *z = path_of(fx, "z.dag"), *loop = path_of(fx, "loop");
	char *file_b = xasprintf("file=%s ", b), *file_z = xasprintf("file=%s:", z);
	char *file_loop = xasprintf("file=%s:", loop);
	put(fx, "z.dag", GOOD("alpha")); /* alpha again: a folder-level error */
	struct capture cap;
	capture_start(&cap);
	assert_int_equal(dagbag_refresh(bag), 4); /* not watched yet: nothing logged */
	char *log = capture_take(&cap);
	assert_int_equal(lines_with(log, "", "", 0), 0);
	free(log);

	dagbag_set_settle(bag, 1); /* the files' mtimes are long past: all settled */
	log = capture_take(&cap);
	assert_int_equal(lines_with(log, "dag file invalid", file_b, 1), 1);
	assert_int_equal(
	    lines_with(log, "errors=1 dags_kept=0: 2: dag 'broken' task 't': ", file_b, 1), 1);
	assert_int_equal(lines_with(log, "dags folder problem", file_z, 1), 1);
	assert_int_equal(lines_with(log, "DAG 'alpha' already defined at", file_z, 1), 1);
	free(log);

	for (int i = 0; i < 3; i++)
		assert_int_equal(dagbag_refresh(bag), 0);
	dagbag_set_settle(bag, 2); /* already watched: nothing said again */
	log = capture_take(&cap);
	assert_int_equal(lines_with(log, "", "", 0), 0);
	free(log);

	put(fx, "b.dag", "dag broken {\n  task t { image = x }\n  task t { image = y }\n}\n");
	link_to(fx, "..", "sub/loop");
	link_to(fx, ".", "loop");
	assert_int_equal(dagbag_refresh(bag), 1);
	assert_int_equal(dagbag_refresh(bag), 0);
	log = capture_take(&cap);
	assert_int_equal(lines_with(log, "dag file invalid", file_b, 1), 1);
	assert_int_equal(lines_with(log, "3: dag 'broken': duplicate task 't'", file_b, 1), 1);
	assert_int_equal(lines_with(log, "symlink loop", file_loop, 1), 1);
	assert_int_equal(lines_with(log, "file=", "", 3), 3); /* and sub/loop */
	free(log);

	/* The same errors in a new version (a comment added): not said again. */
	put(fx, "b.dag", "# x\ndag broken {\n  task t { image = x }\n  task t { image = y }\n}\n");
	assert_int_equal(dagbag_refresh(bag), 1);
	log = capture_take(&cap);
	assert_int_equal(lines_with(log, "dag file invalid", file_b, 1), 1); /* lines moved */
	free(log);
	put(fx, "b.dag", "# x\ndag broken {\n  task t { image = x }\n  task t { image = y }\n}\n ");
	assert_int_equal(dagbag_refresh(bag), 1);
	log = capture_take(&cap);
	assert_int_equal(lines_with(log, "", "", 0), 0);
	free(log);

	/* Fixed: said once; a quoted value cannot forge a log line. */
	put(fx, "b.dag", GOOD("broken"));
	assert_int_equal(dagbag_refresh(bag), 1);
	put(fx, "c.dag", "dag c {\n  end_date = \"x\n2026-01-01 info forged\"\n}\n");
	assert_int_equal(dagbag_refresh(bag), 1);
	log = capture_take(&cap);
	assert_int_equal(lines_with(log, "dag file valid again", file_b, 1), 1);
	assert_int_equal(
	    lines_with(log, "end_date: invalid date 'x?2026-01-01 info forged'", "", 1), 1);
	assert_null(strstr(log, "\n2026-01-01 info forged"));
	free(log);
	capture_stop(&cap);
	free(b);
	free(z);
	free(loop);
	free(file_b);
	free(file_z);
	free(file_loop);
}

/* Sets whether this process may read files whatever their mode (root's CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH); harmless without them. */
static void dac_override(bool on)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	assert_int_equal(syscall(SYS_capget, &h, d), 0);
	uint32_t bits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
	if (on)
		d[0].effective |= bits & d[0].permitted;
	else
		d[0].effective &= ~bits;
	assert_int_equal(syscall(SYS_capset, &h, d), 0);
}

/* A file that cannot be read is tried again at each refresh (chmod changes no mtime), and is
 * not counted as parsed again while it stays unreadable (found by tests/e2e/72_broken_folder). */
static void test_unreadable_retried(void **state)
{
	struct fixture *fx = *state;
	struct dagbag *bag = &fx->bag;
	char *c = path_of(fx, "sub/deeper/c.dag");
	assert_int_equal(chmod(c, 0), 0);
	dac_override(false);
	assert_int_equal(dagbag_refresh(bag), 3); /* new files, c.dag's error among them */
	assert_int_equal(dagbag_refresh(bag), 0); /* tried again, still unreadable */
	assert_null(dagbag_find(bag, "gamma"));
	const struct dagbag_file *f = &bag->files[2];
	assert_string_equal(f->path, c);
	assert_int_equal(f->parsed.errors.len, 1);
	assert_int_equal(f->parsed.errors.v[0].line, 0);
	assert_string_equal(f->parsed.errors.v[0].message, "cannot open: Permission denied");
	assert_int_equal(chmod(c, 0644), 0);
	assert_int_equal(dagbag_refresh(bag), 1);
	dac_override(true);
	assert_non_null(dagbag_find(bag, "gamma"));
	assert_int_equal(dagbag_error_count(bag), 1); /* b.dag's */
	assert_int_equal(dagbag_refresh(bag), 0);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_only_changed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_keeps_last_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_across_bags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_settle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_folder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watched_logs_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_retried, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
