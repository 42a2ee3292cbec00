/* test_fsutil.c - mkdir -p and atomic writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mkdir_and_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
