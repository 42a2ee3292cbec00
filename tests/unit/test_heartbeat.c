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
	assert_true(heartbeat_write(dir, NULL, &hb));
	struct heartbeat got;
	char *why = NULL;
	assert_true(heartbeat_read(dir, NULL, &got, &why));
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
	assert_false(heartbeat_read(dir, NULL, &got, &why));
	assert_non_null(strstr(why, "not a heartbeat"));
	free(why);
	unlink(path);
	why = NULL;
	assert_false(heartbeat_read(dir, NULL, &got, &why));
	assert_non_null(strstr(why, "the scheduler has not started there"));
	free(why);
	free(path);
	rmdir(dir);
}

/* A heartbeat with fields that tell who wrote it. */
static struct heartbeat beat_of(long pid, const char *instance, const char *engine)
{
	struct heartbeat hb = {
	    .time_ms = 2000000 + pid, .pid = pid, .in_flight = pid % 7, .poll_interval = 1.5};
	snprintf(hb.instance, sizeof(hb.instance), "%s", instance);
	snprintf(hb.engine, sizeof(hb.engine), "%s", engine);
	return hb;
}

static void assert_beat(const struct heartbeat *got, const struct heartbeat *want)
{
	assert_int_equal(got->time_ms, want->time_ms);
	assert_int_equal(got->pid, want->pid);
	assert_int_equal(got->in_flight, want->in_flight);
	assert_string_equal(got->instance, want->instance);
	assert_string_equal(got->engine, want->engine);
	assert_true(got->poll_interval == want->poll_interval);
}

static bool exists(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	bool ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

/* A standby's beat: its own file, state_dir/standby-HOST.json, read back as written. */
static void test_standby_round_trip(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-hb-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct heartbeat hb = beat_of(7, "prod", "ok"), got;
	char *err = NULL;
	assert_false(heartbeat_read(dir, "mgr-1", &got, &err));
	assert_non_null(err);
	free(err);
	err = NULL;
	assert_true(heartbeat_write(dir, "mgr-1", &hb));
	assert_true(exists(dir, "standby-mgr-1.json"));
	assert_false(exists(dir, "heartbeat.json"));
	assert_true(heartbeat_read(dir, "mgr-1", &got, &err));
	assert_null(err);
	assert_beat(&got, &hb);
	/* Written again: replaced, not appended to. */
	hb = beat_of(8, "prod", "waiting for the engine");
	assert_true(heartbeat_write(dir, "mgr-1", &hb));
	assert_true(heartbeat_read(dir, "mgr-1", &got, &err));
	assert_beat(&got, &hb);
	/* Another host's file is another file. */
	assert_false(heartbeat_read(dir, "mgr-2", &got, &err));
	free(err);
	heartbeat_clear(dir, "mgr-1");
	assert_false(exists(dir, "standby-mgr-1.json"));
	assert_int_equal(rmdir(dir), 0);
}

/* Characters other than letters, digits, '.', '-' and '_' in the host become '_': the name stays
 * one file in state_dir whatever the host says. */
static void test_standby_name_sanitised(void **state)
{
	(void)state;
	static const struct {
		const char *host, *file;
	} cases[] = {
	    {"a/b c", "standby-a_b_c.json"},
	    {"../up", "standby-.._up.json"},
	    {"Node-1.example_x", "standby-Node-1.example_x.json"},
	    {"h\xc3\xa9:1", "standby-h___1.json"}, /* each byte of a UTF-8 letter */
	};
	char dir[] = "/tmp/sf-hb-XXXXXX";
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct heartbeat hb = beat_of((long)i + 1, "prod", "ok"), got;
		char *err = NULL;
		assert_true(heartbeat_write(dir, cases[i].host, &hb));
		if (!exists(dir, cases[i].file))
			fail_msg("%s: no %s", cases[i].host, cases[i].file);
		assert_true(heartbeat_read(dir, cases[i].host, &got, &err));
		assert_beat(&got, &hb);
		heartbeat_clear(dir, cases[i].host);
		assert_false(exists(dir, cases[i].file));
	}
	assert_int_equal(rmdir(dir), 0); /* nothing else was left in it */
}

/* The active scheduler's heartbeat and standby files never overwrite each other, and clearing
 * one removes only that one. */
static void test_standby_apart(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-hb-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct heartbeat active = beat_of(1, "prod", "ok");
	struct heartbeat one = beat_of(2, "prod", "ok"), two = beat_of(3, "prod", "ok"), got;
	char *err = NULL;
	assert_true(heartbeat_write(dir, NULL, &active));
	assert_true(heartbeat_write(dir, "mgr-1", &one));
	assert_true(heartbeat_write(dir, "mgr-2", &two));
	/* The active one beats again after the standbys: theirs are unchanged, and so on. */
	active.time_ms += 2000;
	assert_true(heartbeat_write(dir, NULL, &active));
	assert_true(heartbeat_read(dir, NULL, &got, &err));
	assert_beat(&got, &active);
	assert_true(heartbeat_read(dir, "mgr-1", &got, &err));
	assert_beat(&got, &one);
	assert_true(heartbeat_read(dir, "mgr-2", &got, &err));
	assert_beat(&got, &two);
	/* A standby on the host named "heartbeat" is not the active heartbeat either. */
	struct heartbeat named = beat_of(4, "prod", "ok");
	assert_true(heartbeat_write(dir, "heartbeat", &named));
	assert_true(heartbeat_read(dir, NULL, &got, &err));
	assert_beat(&got, &active);

	heartbeat_clear(dir, "mgr-1");
	assert_false(heartbeat_read(dir, "mgr-1", &got, &err));
	free(err);
	err = NULL;
	assert_true(heartbeat_read(dir, NULL, &got, &err));
	assert_beat(&got, &active);
	assert_true(heartbeat_read(dir, "mgr-2", &got, &err));
	assert_beat(&got, &two);

	heartbeat_clear(dir, NULL);
	assert_false(heartbeat_read(dir, NULL, &got, &err));
	free(err);
	err = NULL;
	assert_true(heartbeat_read(dir, "mgr-2", &got, &err));
	assert_beat(&got, &two);
	assert_true(heartbeat_read(dir, "heartbeat", &got, &err));
	assert_beat(&got, &named);
	heartbeat_clear(dir, "mgr-2");
	heartbeat_clear(dir, "heartbeat");
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_read_judge),
	    cmocka_unit_test(test_standby_round_trip),
	    cmocka_unit_test(test_standby_name_sanitised),
	    cmocka_unit_test(test_standby_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
