/* fuzz_config.c - libFuzzer target: swarmflow.conf through config_parse_buf. A refused text leaves
 * the config as it was; an accepted one only holds values the keys allow, and reading it again
 * changes nothing. Input: the text (cut at a NUL byte: config_load refuses those). */
#include "fuzz.h"

#include <ctype.h>
#include <math.h>

#include "swarmflow/core/config.h"

#define PATH "fuzz.conf"

static bool strv_same(const struct strv *a, const struct strv *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static bool config_same(const struct config *a, const struct config *b)
{
	if (!str_same(a->file, b->file) || !str_same(a->dags_folder, b->dags_folder) ||
	    !str_same(a->state_dir, b->state_dir) || !str_same(a->docker_host, b->docker_host) ||
	    !str_same(a->docker_api_version, b->docker_api_version) ||
	    !str_same(a->instance, b->instance) ||
	    !str_same(a->service_prefix, b->service_prefix) ||
	    !str_same(a->log_level, b->log_level) ||
	    !str_same(a->on_failure_webhook, b->on_failure_webhook))
		return false;
	if (a->docker_host_set != b->docker_host_set || a->parallelism != b->parallelism ||
	    a->poll_interval != b->poll_interval ||
	    a->keep_failed_services != b->keep_failed_services ||
	    a->dag_reload_interval != b->dag_reload_interval || a->n_pools != b->n_pools)
		return false;
	for (size_t i = 0; i < a->n_pools; i++)
		if (strcmp(a->pools[i].name, b->pools[i].name) ||
		    a->pools[i].slots != b->pools[i].slots)
			return false;
	const struct policy *p = &a->policy, *q = &b->policy;
	return strv_same(&p->bind_mount_prefixes, &q->bind_mount_prefixes) &&
	       p->allow_docker_socket == q->allow_docker_socket &&
	       strv_same(&p->images, &q->images) && strv_same(&p->networks, &q->networks) &&
	       p->max_cpus == q->max_cpus && p->max_memory == q->max_memory;
}

/* 1 to max characters of [A-Za-z0-9_.-]. */
static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n >= 1 && n <= max &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static bool url_ok(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Every value is one config.c's key table allows. */
static void check_values(const struct config *c)
{
	CHECK(c->dags_folder && *c->dags_folder && c->state_dir && *c->state_dir);
	CHECK(strncmp(c->docker_host, "unix:///", 8) == 0 ||
	      (strncmp(c->docker_host, "tcp://", 6) == 0 && c->docker_host[6]));
	const char *v = c->docker_api_version;
	CHECK(strcmp(v, "auto") == 0 || (strncmp(v, "1.", 2) == 0 && isdigit((unsigned char)v[2]) &&
					 isdigit((unsigned char)v[3]) && !v[4]));
	CHECK(name_ok(c->instance, 63));
	CHECK(name_ok(c->service_prefix, 20) && isalnum((unsigned char)c->service_prefix[0]));
	CHECK(c->parallelism >= 1 && c->parallelism <= 10000);
	CHECK(c->poll_interval > 0 && c->poll_interval <= 60);
	CHECK(c->dag_reload_interval > 0 && c->dag_reload_interval <= 3600);
	CHECK(!strcmp(c->log_level, "debug") || !strcmp(c->log_level, "info") ||
	      !strcmp(c->log_level, "warn") || !strcmp(c->log_level, "warning") ||
	      !strcmp(c->log_level, "error"));
	CHECK(!c->on_failure_webhook || url_ok(c->on_failure_webhook));
	for (size_t i = 0; i < c->n_pools; i++) {
		CHECK(name_ok(c->pools[i].name, 63));
		CHECK(c->pools[i].slots >= 1 && c->pools[i].slots <= 100000);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->pools[i].name, c->pools[j].name) != 0);
	}
	const struct policy *p = &c->policy;
	for (size_t i = 0; i < p->bind_mount_prefixes.len; i++)
		CHECK(p->bind_mount_prefixes.v[i][0] == '/');
	for (size_t i = 0; i < p->images.len; i++)
		CHECK(*p->images.v[i]);
	for (size_t i = 0; i < p->networks.len; i++)
		CHECK(*p->networks.v[i]);
	CHECK(isfinite(p->max_cpus) && p->max_cpus >= 0 && p->max_cpus <= 4096);
	CHECK(p->max_memory >= 0 && p->max_memory <= (int64_t)1 << 50);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	char *text = input_text(&in);
	struct config cfg, before, again;
	char *err = NULL, *err2 = NULL;
	config_init(&cfg);
	config_init(&before);
	config_init(&again);

	bool ok = config_parse_buf(&cfg, text, PATH, &err);
	CHECK(ok == (err == NULL));
	if (!ok) {
		/* refused: the config is untouched and the message names the file */
		CHECK(config_same(&cfg, &before));
		CHECK(strncmp(err, PATH ":", strlen(PATH ":")) == 0);
	} else {
		CHECK(str_same(cfg.file, PATH));
		check_values(&cfg);
	}

	/* The same text again gives the same answer (libconfuse's lexer keeps global state). */
	bool ok2 = config_parse_buf(&again, text, PATH, &err2);
	CHECK(ok2 == ok && str_same(err, err2));
	CHECK(config_same(&cfg, &again));

	/* Read on top of its own result, an accepted text changes nothing: keys keep their value,
	 * and a pool of the same name is replaced by the same pool. */
	if (ok) {
		CHECK(config_parse_buf(&again, text, PATH, NULL));
		CHECK(config_same(&cfg, &again));
	}

	config_finish(&cfg);
	config_finish(&before);
	config_finish(&again);
	free(err);
	free(err2);
	free(text);
	return 0;
}
