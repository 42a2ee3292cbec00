/* test_heartbeat.c - the heartbeat file and how `swarmflow health` judges it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "swarmflow/common/util.h"
#include "swarmflow/sched/heartbeat.h"

static void test_write_read_judge(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-hb-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct heartbeat hb = {.time_ms = 1000000, .pid = 42, .in_flight = 3, .poll_interval = 0.5};
	snprintf(hb.instance, sizeof(hb.instance), "prod");
	snprintf(hb.engine, sizeof(hb.engine), "ok");
	assert_true(heartbeat_write(dir, &hb));
	struct heartbeat got;
	char *why = NULL;
	assert_true(heartbeat_read(dir, &got, &why));
	assert_int_equal(got.time_ms, 1000000);
	assert_int_equal(got.pid, 42);
	assert_int_equal(got.in_flight, 3);
	assert_string_equal(got.instance, "prod");
	assert_string_equal(got.engine, "ok");

	assert_true(heartbeat_judge(&got, 1000000 + 1200, &why));
	assert_string_equal(why, "healthy: scheduler pid 42, instance prod, 3 tries in flight, "
				 "heartbeat 1.2 s old");
	free(why);
	/* Stale: more than 30 s (10 poll intervals would be only 5 s). */
	assert_false(heartbeat_judge(&got, 1000000 + 30001, &why));
	assert_non_null(strstr(why, "has not beaten for 30.0 s"));
	free(why);
	/* A long poll interval stretches the limit to 10 intervals. */
	got.poll_interval = 5;
	assert_true(heartbeat_judge(&got, 1000000 + 45000, &why));
	free(why);
	/* The engine failing makes it unhealthy, with the engine's words. */
	snprintf(got.engine, sizeof(got.engine), "cannot connect to unix:///var/run/docker.sock");
	assert_false(heartbeat_judge(&got, 1000000 + 100, &why));
	assert_non_null(strstr(why, "engine fails: cannot connect to unix:///var/run/docker.sock"));
	free(why);

	char *path = xasprintf("%s/heartbeat.json", dir);
	FILE *fp = fopen(path, "w");
	fputs("{\"time_ms\": \"soon\"}", fp);
	fclose(fp);
	why = NULL;
	assert_false(heartbeat_read(dir, &got, &why));
	assert_non_null(strstr(why, "not a heartbeat"));
	free(why);
	unlink(path);
	why = NULL;
	assert_false(heartbeat_read(dir, &got, &why));
	assert_non_null(strstr(why, "the scheduler has not started there"));
	free(why);
	free(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_write_read_judge)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
