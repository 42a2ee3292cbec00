/* test_fsutil.c - mkdir -p, atomic writes, and the lock file that keeps a second scheduler out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "swarmflow/common/fsutil.h"
#include "swarmflow/common/util.h"

static char *read_all(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char text[256] = "";
	size_t n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	return xstrndup(text, n);
}

static void test_mkdir_and_write(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-fsutil-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *deep = xasprintf("%s/a/b/c", dir);
	assert_true(fs_mkdir_p(deep));
	assert_true(fs_mkdir_p(deep)); /* again: fine */
	char *file = xasprintf("%s/f", deep);
	assert_true(fs_write_atomic(file, "one", 3));
	assert_true(fs_write_atomic(file, "two!", 4));
	char *text = read_all(file);
	assert_string_equal(text, "two!");
	char *tmp = xasprintf("%s.tmp", file);
	struct stat st;
	assert_int_equal(stat(tmp, &st), -1); /* no temporary left */
	char *under_file = xasprintf("%s/x", file);
	assert_false(fs_mkdir_p(under_file)); /* a file is in the way */
	assert_int_equal(errno, ENOTDIR);
	char *cmd = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(under_file);
	free(tmp);
	free(text);
	free(file);
	free(deep);
}

static void test_lock(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-lock-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/scheduler.lock", dir);
	char *holder = NULL;
	int fd = fs_lock_file(path, "scheduler pid 1 on a", &holder);
	assert_true(fd >= 0);
	assert_null(holder);
	/* Another process cannot take it, and learns who holds it. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *h = NULL;
		int other = fs_lock_file(path, "scheduler pid 2 on b", &h);
		_exit(other < 0 && errno == EWOULDBLOCK && h &&
			      strcmp(h, "scheduler pid 1 on a") == 0
			  ? 0
			  : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Released when closed: the next holder writes its own name. */
	close(fd);
	fd = fs_lock_file(path, "scheduler pid 3 on c", &holder);
	assert_true(fd >= 0);
	char *text = read_all(path);
	assert_string_equal(text, "scheduler pid 3 on c\n");
	close(fd);
	unlink(path);
	rmdir(dir);
	free(text);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mkdir_and_write),
	    cmocka_unit_test(test_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
