/* test_notify.c - the failure webhook: what is posted (through the scheduler on the fake engine),
 * which URL wins, and that a dead, silent or flooded receiver never holds up the scheduler. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "../../src/sched/internal.h"
#include "sched_env.h"
#include "swarmflow/common/log.h"
#include "swarmflow/common/timeutil.h"

/* ---- a tiny HTTP receiver on 127.0.0.1, one request per connection ---- */

enum rx_mode {
	RX_OK,   /* 200 */
	RX_500,  /* 500 Internal Server Error */
	RX_404,  /* 404 Not Found */
	RX_HOLD, /* 200, but the first request is answered only after rx_release */
};

struct rx {
	int lfd, port;
	enum rx_mode mode;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct strv heads, bodies; /* every request received, in order */
	bool released, stop;
};

/* A TCP socket bound to 127.0.0.1 on a free port (*port), listening when listen_too. */
static int local_socket(int *port, bool listen_too)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (listen_too)
		assert_int_equal(listen(fd, 512), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* The value of Content-Length in the header block head, or 0. */
static size_t content_length(const char *head)
{
	for (const char *l = head; l && *l; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL) {
		int64_t v = 0;
		if (strncasecmp(l, "Content-Length:", 15) == 0) {
			char num[24] = "";
			sscanf(l + 15, " %23[0-9]", num);
			if (parse_int64(num, 0, 1 << 24, &v))
				return (size_t)v;
		}
	}
	return 0;
}

/* Reads one request from c: its head (request line and headers) and its body. */
static bool read_request(int c, char **head, char **body)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	buf_append(&b, "", 0);
	char chunk[4096], *end = NULL;
	size_t need = SIZE_MAX;
	while (need == SIZE_MAX || b.len < need) {
		ssize_t n = recv(c, chunk, sizeof(chunk), 0);
		if (n <= 0 || !buf_append(&b, chunk, (size_t)n))
			break;
		if (!end && (end = strstr(b.data, "\r\n\r\n"))) {
			*end = '\0';
			need = (size_t)(end - b.data) + 4 + content_length(b.data);
		}
	}
	bool ok = end && b.len >= need;
	if (ok) {
		*head = xstrdup(b.data);
		*body = xstrndup(end + 4, b.len - (size_t)(end + 4 - b.data));
	}
	buf_finish(&b);
	return ok;
}

static void serve(struct rx *rx, int c)
{
	struct timeval tv = {.tv_sec = 3};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char *head = NULL, *body = NULL;
	if (!read_request(c, &head, &body))
		return;
	pthread_mutex_lock(&rx->mu);
	strv_push_owned(&rx->heads, head);
	strv_push_owned(&rx->bodies, body);
	size_t n = rx->bodies.len;
	pthread_cond_broadcast(&rx->cv);
	while (rx->mode == RX_HOLD && n == 1 && !rx->released && !rx->stop)
		pthread_cond_wait(&rx->cv, &rx->mu);
	pthread_mutex_unlock(&rx->mu);
	const char *status = rx->mode == RX_500   ? "500 Internal Server Error"
			     : rx->mode == RX_404 ? "404 Not Found"
						  : "200 OK";
	char resp[160];
	int len =
	    snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
	send(c, resp, (size_t)len, MSG_NOSIGNAL);
}

static void *rx_main(void *arg)
{
	struct rx *rx = arg;
	for (;;) {
		pthread_mutex_lock(&rx->mu);
		bool stop = rx->stop;
		pthread_mutex_unlock(&rx->mu);
		if (stop)
			break;
		struct pollfd p = {.fd = rx->lfd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(rx->lfd, NULL, NULL);
		if (c < 0)
			continue;
		serve(rx, c);
		close(c);
	}
	return NULL;
}

static struct rx *rx_start(enum rx_mode mode)
{
	struct rx *rx = xcalloc(1, sizeof(*rx));
	rx->mode = mode;
	rx->lfd = local_socket(&rx->port, true);
	pthread_mutex_init(&rx->mu, NULL);
	pthread_cond_init(&rx->cv, NULL);
	assert_int_equal(pthread_create(&rx->thread, NULL, rx_main, rx), 0);
	return rx;
}

static void rx_release(struct rx *rx)
{
	pthread_mutex_lock(&rx->mu);
	rx->released = true;
	pthread_cond_broadcast(&rx->cv);
	pthread_mutex_unlock(&rx->mu);
}

static void rx_stop(struct rx *rx)
{
	pthread_mutex_lock(&rx->mu);
	rx->stop = true;
	pthread_cond_broadcast(&rx->cv);
	pthread_mutex_unlock(&rx->mu);
	pthread_join(rx->thread, NULL);
	close(rx->lfd);
	strv_finish(&rx->heads);
	strv_finish(&rx->bodies);
	pthread_cond_destroy(&rx->cv);
	pthread_mutex_destroy(&rx->mu);
	free(rx);
}

static char *rx_url(const struct rx *rx, const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", rx->port, path);
}

static size_t rx_count(struct rx *rx)
{
	pthread_mutex_lock(&rx->mu);
	size_t n = rx->bodies.len;
	pthread_mutex_unlock(&rx->mu);
	return n;
}

/* Waits (at most 5 s) until rx has received n requests. */
static void rx_wait(struct rx *rx, size_t n)
{
	int64_t until = time_mono_ms() + 5000;
	while (rx_count(rx) < n && time_mono_ms() < until)
		usleep(2000);
	assert_true(rx_count(rx) >= n);
}

/* Request i's body, parsed (caller decrefs). */
static json_t *rx_json(struct rx *rx, size_t i)
{
	pthread_mutex_lock(&rx->mu);
	assert_true(i < rx->bodies.len);
	json_error_t jerr;
	json_t *j = json_loads(rx->bodies.v[i], 0, &jerr);
	pthread_mutex_unlock(&rx->mu);
	if (!j)
		fail_msg("body %zu is not JSON: %s", i, jerr.text);
	return j;
}

/* ---- notify_task_failed called directly, on a scheduler with only a config ---- */

struct direct {
	struct config cfg;
	struct dagbag bag;
	struct scheduler s;
};

static void direct_init(struct direct *d, const char *url)
{
	config_init(&d->cfg);
	free(d->cfg.on_failure_webhook);
	d->cfg.on_failure_webhook = xstrdup(url);
	dagbag_init(&d->bag, "/nonexistent/swarmflow-test-dags");
	d->s = (struct scheduler){.cfg = &d->cfg, .bag = &d->bag};
	d->s.notifier = notifier_create(&d->cfg);
}

/* Notifies the failure of task_id; returns how long notify_task_failed took, in ms. */
static int64_t direct_notify(struct direct *d, const char *task_id)
{
	struct ti ti = {.dag_id = "d",
			.run_id = "r",
			.task_id = (char *)task_id,
			.state = TI_FAILED,
			.try_number = 1,
			.max_tries = 1,
			.error = "boom",
			.end_ms = T0_MS};
	int64_t t0 = time_mono_ms();
	notify_task_failed(&d->s, &ti, "the log\n");
	return time_mono_ms() - t0;
}

/* Destroys the notifier and the rest; returns how long notifier_destroy took, in ms. */
static int64_t direct_finish(struct direct *d)
{
	int64_t t0 = time_mono_ms();
	notifier_destroy(d->s.notifier);
	int64_t took = time_mono_ms() - t0;
	dagbag_finish(&d->bag);
	config_finish(&d->cfg);
	return took;
}

/* ---- tests ---- */

static const struct fake_step exit3_steps[] = {FAKE_RUNNING,
					       FAKE_EXIT(3, "task: non-zero exit (3)")};

/* Stops the scheduler: notifier_destroy lets the queued notices go first. */
static void env_stop_sched(struct env *env)
{
	sched_finish(&env->s);
	env->sched_ready = false;
}

/* A task exiting 3 without retries: one POST with every field, exactly. */
static void test_fields(void **state)
{
	struct env *env = *state;
	struct rx *rx = rx_start(RX_OK);
	env->cfg.on_failure_webhook = rx_url(rx, "/hooks/fail?token=x");
	struct buf log;
	buf_init(&log, 0);
	for (int i = 1; i <= 25; i++)
		buf_printf(&log, "line %02d\n", i);
	struct fake_script sc = {"bad", exit3_steps, ARRAY_LEN(exit3_steps), log.data};
	fake_engine_script(env->fe, &sc);
	env_start(env, "  task bad {\n    shell = \"exit 3\"\n  }\n"
		       "  task good {\n    shell = \"true\"\n  }\n");
	env_run_to_end(env, 20, 500);
	env_stop_sched(env);
	assert_int_equal(rx_count(rx), 1);

	struct ti ti;
	env_get_ti(env, "bad", &ti);
	assert_int_equal(ti.state, TI_FAILED);
	char end[32];
	time_format_iso_ms(ti.end_ms, end);
	json_t *j = rx_json(rx, 0);
	assert_int_equal(json_object_size(j), 12);
	assert_string_equal(json_string_value(json_object_get(j, "dag_id")), "t");
	assert_string_equal(json_string_value(json_object_get(j, "run_id")), RUN_ID);
	assert_string_equal(json_string_value(json_object_get(j, "task_id")), "bad");
	assert_int_equal(json_integer_value(json_object_get(j, "try_number")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "max_tries")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 3);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "failed: task: non-zero exit (3)");
	assert_string_equal(json_string_value(json_object_get(j, "error")), ti.error);
	assert_string_equal(json_string_value(json_object_get(j, "log_path")), ti.log_path);
	assert_string_equal(json_string_value(json_object_get(j, "end_date")), end);
	assert_string_equal(json_string_value(json_object_get(j, "instance")), "test");
	/* The last 20 lines of the try's log: 07..25, then the scheduler's own line. */
	struct buf tail;
	buf_init(&tail, 0);
	for (int i = 7; i <= 25; i++)
		buf_printf(&tail, "line %02d\n", i);
	buf_printf(&tail, "[swarmflow] try 1 failed: failed: task: non-zero exit (3)\n");
	assert_string_equal(json_string_value(json_object_get(j, "log_tail")), tail.data);
	json_decref(j);
	pthread_mutex_lock(&rx->mu);
	assert_true(str_has_prefix(rx->heads.v[0], "POST /hooks/fail?token=x HTTP/1.1\r\n"));
	assert_non_null(strstr(rx->heads.v[0], "\r\nContent-Type: application/json"));
	pthread_mutex_unlock(&rx->mu);
	buf_finish(&tail);
	buf_finish(&log);
	ti_finish(&ti);
	rx_stop(rx);
}

/* retries = 1: the first failure is up_for_retry and posts nothing; the second posts once. */
static void test_post_after_last_try(void **state)
{
	struct env *env = *state;
	struct rx *rx = rx_start(RX_OK);
	env->cfg.on_failure_webhook = rx_url(rx, "/hook");
	struct fake_script sc = {"bad", exit3_steps, ARRAY_LEN(exit3_steps), "no luck\n"};
	fake_engine_script(env->fe, &sc);
	env_start(env, "  task bad {\n    shell = \"exit 3\"\n    retries = 1\n"
		       "    retry_delay = \"1s\"\n  }\n");
	bool saw_retry = false;
	for (int i = 0; i < 20 && env_run_state_of(env) != RUN_FAILED; i++) {
		env_tick(env, 500);
		saw_retry = saw_retry || env_ti_state_of(env, "bad") == TI_UP_FOR_RETRY;
	}
	assert_true(saw_retry);
	assert_int_equal(env_run_state_of(env), RUN_FAILED);
	env_stop_sched(env);
	assert_int_equal(rx_count(rx), 1);
	json_t *j = rx_json(rx, 0);
	assert_int_equal(json_integer_value(json_object_get(j, "try_number")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "max_tries")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "log_tail")),
			    "no luck\n[swarmflow] try 2 failed: failed: task: non-zero exit (3)\n");
	json_decref(j);
	rx_stop(rx);
}

/* The DAG's on_failure_webhook wins over the config's. */
static void test_dag_url_wins(void **state)
{
	struct env *env = *state;
	struct rx *dag_rx = rx_start(RX_OK), *cfg_rx = rx_start(RX_OK);
	env->cfg.on_failure_webhook = rx_url(cfg_rx, "/cfg");
	char *dag_url = rx_url(dag_rx, "/dag");
	char *tasks = xasprintf("  on_failure_webhook = \"%s\"\n"
				"  task bad {\n    shell = \"exit 3\"\n  }\n",
				dag_url);
	struct fake_script sc = {"bad", exit3_steps, ARRAY_LEN(exit3_steps), NULL};
	fake_engine_script(env->fe, &sc);
	env_start(env, tasks);
	env_run_to_end(env, 20, 500);
	env_stop_sched(env);
	assert_int_equal(rx_count(dag_rx), 1);
	assert_int_equal(rx_count(cfg_rx), 0);
	json_t *j = rx_json(dag_rx, 0);
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 3);
	json_decref(j);
	free(tasks);
	free(dag_url);
	rx_stop(dag_rx);
	rx_stop(cfg_rx);
}

/* A try that never got a service (a missing secret): posted with exit_code null. */
static void test_no_exit_code(void **state)
{
	struct env *env = *state;
	struct rx *rx = rx_start(RX_OK);
	env->cfg.on_failure_webhook = rx_url(rx, "/hook");
	env_start(env,
		  "  task nosecret {\n    shell = \"true\"\n    secrets = {\"absent\"}\n  }\n");
	env_run_to_end(env, 20, 500);
	env_stop_sched(env);
	assert_int_equal(rx_count(rx), 1);
	json_t *j = rx_json(rx, 0);
	assert_true(json_is_null(json_object_get(j, "exit_code")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "secret 'absent'"));
	assert_non_null(
	    strstr(json_string_value(json_object_get(j, "log_tail")), "try 1 was not started"));
	json_decref(j);
	rx_stop(rx);
}

/* Nothing configured anywhere: nothing is posted, and the loop does not care. */
static void test_no_url(void **state)
{
	struct env *env = *state;
	struct fake_script sc = {"bad", exit3_steps, ARRAY_LEN(exit3_steps), NULL};
	fake_engine_script(env->fe, &sc);
	env_start(env, "  task bad {\n    shell = \"exit 3\"\n  }\n");
	env_run_to_end(env, 20, 500);
	int64_t t0 = time_mono_ms();
	env_stop_sched(env);
	assert_true(time_mono_ms() - t0 < 100);
}

/* A webhook on a closed port: notify_task_failed returns at once; destroy gives up at ~2 s. */
static void test_down_webhook(void **state)
{
	int port;
	int closed = local_socket(&port, false); /* bound, never listening: connections refused */
	char *url = xasprintf("http://127.0.0.1:%d/hook", port);
	struct direct d;
	direct_init(&d, url);
	int64_t worst = 0;
	for (int i = 0; i < 4; i++) {
		int64_t took = direct_notify(&d, "down");
		worst = took > worst ? took : worst;
	}
	assert_true(worst < 10);
	/* Each notice: three refused attempts 250 + 500 ms apart; four do not fit in 2 s. */
	int64_t took = direct_finish(&d);
	assert_true(took >= 1900);
	assert_true(took < 2600);
	close(closed);
	free(url);
}

/* A webhook that accepts and never answers: the same. */
static void test_black_hole_webhook(void **state)
{
	int port;
	int hole = local_socket(&port, true); /* the kernel accepts; nobody reads or answers */
	char *url = xasprintf("http://127.0.0.1:%d/hook", port);
	struct direct d;
	direct_init(&d, url);
	int64_t worst = 0;
	for (int i = 0; i < 4; i++) {
		int64_t took = direct_notify(&d, "hole");
		worst = took > worst ? took : worst;
	}
	assert_true(worst < 10);
	int64_t took = direct_finish(&d);
	assert_true(took >= 1900);
	assert_true(took < 2600);
	close(hole);
	free(url);
}

/* 500 is tried three times in all; 404 once. */
static void test_retry_policy(void **state)
{
	static const struct {
		enum rx_mode mode;
		size_t posts;
	} cases[] = {{RX_500, 3}, {RX_404, 1}};
	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		struct rx *rx = rx_start(cases[c].mode);
		char *url = rx_url(rx, "/hook");
		struct direct d;
		direct_init(&d, url);
		direct_notify(&d, "answered");
		assert_true(direct_finish(&d) < 1500);
		assert_int_equal(rx_count(rx), cases[c].posts);
		free(url);
		rx_stop(rx);
	}
}

/* A full queue drops its oldest notices: with the first POST held, 300 more leave the last 256. */
static void test_overflow_drops_oldest(void **state)
{
	struct rx *rx = rx_start(RX_HOLD);
	char *url = rx_url(rx, "/hook");
	struct direct d;
	direct_init(&d, url);
	direct_notify(&d, "n0");
	rx_wait(rx, 1); /* the worker is now inside the held POST */
	for (int i = 1; i <= 300; i++) {
		char id[16];
		snprintf(id, sizeof(id), "n%d", i);
		assert_true(direct_notify(&d, id) < 10);
	}
	rx_release(rx);
	direct_finish(&d);
	assert_int_equal(rx_count(rx), 257);
	for (size_t i = 0; i < 257; i++) {
		json_t *j = rx_json(rx, i);
		char want[16];
		snprintf(want, sizeof(want), "n%zu", i == 0 ? 0 : i + 44);
		assert_string_equal(json_string_value(json_object_get(j, "task_id")), want);
		json_decref(j);
	}
	free(url);
	rx_stop(rx);
}

/* Logs are whatever the container wrote: each byte of invalid UTF-8 becomes U+FFFD. */
#define R "\xEF\xBF\xBD"
#define R2 R R
static void test_invalid_utf8_log(void **state)
{
	struct rx *rx = rx_start(RX_OK);
	char *url = rx_url(rx, "/hook");
	struct direct d;
	direct_init(&d, url);
	struct ti ti = {.dag_id = "d",
			.run_id = "r",
			.task_id = "bin",
			.state = TI_FAILED,
			.try_number = 2,
			.max_tries = 2,
			.has_exit_code = true,
			.exit_code = 0,
			.end_ms = T0_MS};
	notify_task_failed(&d.s, &ti,
			   "ok \xC3\xA9 bad \xFF\xC3 end\n"
			   "a\xC0\x80"         /* overlong */
			   "b\xED\xA0\x80"     /* a surrogate */
			   "c\xF0\x9F\x98\x80" /* valid, 4 bytes */
			   "d\xF4\x90\x80\x80" /* past U+10FFFF */
			   "e\n");
	direct_finish(&d);
	assert_int_equal(rx_count(rx), 1);
	json_t *j = rx_json(rx, 0);
	assert_string_equal(json_string_value(json_object_get(j, "log_tail")),
			    "ok \xC3\xA9 bad " R2 " end\n"
			    "a" R2 "b" R2 R "c\xF0\x9F\x98\x80"
			    "d" R2 R2 "e\n");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
	assert_true(json_is_null(json_object_get(j, "error")));
	assert_true(json_is_null(json_object_get(j, "log_path")));
	assert_string_equal(json_string_value(json_object_get(j, "end_date")),
			    "2026-11-01T00:00:00.000Z");
	json_decref(j);
	free(url);
	rx_stop(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fields, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_post_after_last_try, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dag_url_wins, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_no_exit_code, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_no_url, env_setup, env_teardown),
	    cmocka_unit_test(test_down_webhook),
	    cmocka_unit_test(test_black_hole_webhook),
	    cmocka_unit_test(test_retry_policy),
	    cmocka_unit_test(test_overflow_drops_oldest),
	    cmocka_unit_test(test_invalid_utf8_log),
	};
	log_init(LOG_ERROR);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
