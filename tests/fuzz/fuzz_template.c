/* fuzz_template.c - libFuzzer target: template_check and template_render, on the fuzzed text and
 * on "TEXT{{ var }}TEXT" built from it, whose output is known in advance.
 * Input: the template, NUL, 8 bytes logical_date, 4 bytes try_number, 1 byte choices, then the
 * run_id and conf.s texts. */
#include "fuzz.h"

#include <stdio.h>
#include <time.h>

#include "swarmflow/core/template.h"

/* The last year whose dates gmtime_r and strftime write as the template does ("%Y": 4 digits). */
#define LAST_SECOND_OF_9999 253402300799LL

/* What a variable renders to, computed here with libc; NULL when rendering must fail. */
static char *expected_value(const char *name, const struct template_ctx *ctx)
{
	static const struct {
		const char *name;
		const char *fmt; /* strftime format of logical_date, or NULL */
	} dates[] = {
	    {"ds", "%Y-%m-%d"},
	    {"ds_nodash", "%Y%m%d"},
	    {"ts", "%Y-%m-%dT%H:%M:%S+00:00"},
	    {"logical_date", "%Y-%m-%dT%H:%M:%S+00:00"},
	};
	char out[64];
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		if (strcmp(name, dates[i].name) == 0) {
			time_t t = (time_t)ctx->logical_date;
			struct tm tm;
			CHECK(gmtime_r(&t, &tm) != NULL);
			CHECK(strftime(out, sizeof(out), dates[i].fmt, &tm) > 0);
			return strdup(out);
		}
	}
	if (strcmp(name, "run_id") == 0)
		return strdup(ctx->run_id);
	if (strcmp(name, "dag_id") == 0)
		return strdup(ctx->dag_id);
	if (strcmp(name, "task_id") == 0)
		return strdup(ctx->task_id);
	if (strcmp(name, "try_number") == 0) {
		snprintf(out, sizeof(out), "%d", ctx->try_number);
		return strdup(out);
	}
	json_t *v = json_object_get(ctx->conf, name + strlen("conf."));
	if (strncmp(name, "conf.", 5) != 0 || !v)
		return NULL;
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* True for the errors of a checked template whose data the try lacks. */
static bool data_missing(const char *err)
{
	return strstr(err, "conf key") || strncmp(err, "upstream '", 10) == 0 ||
	       strncmp(err, "item: ", 6) == 0;
}

/* The fuzzed template, whatever it holds. */
static void check_any(const char *tmpl, const struct template_ctx *ctx, bool braces_in_values)
{
	char *err = NULL, *err2 = NULL;
	bool ok = template_check(tmpl, &err);
	CHECK(ok == (err == NULL));
	char *out = template_render(tmpl, ctx, &err2);
	CHECK((out == NULL) == (err2 != NULL));
	/* what renders also checks; what does not check does not render */
	CHECK(!out || ok);
	if (!strstr(tmpl, "{{")) {
		/* no variable: the text comes back as it is */
		CHECK(ok && out && strcmp(out, tmpl) == 0);
	}
	if (out && !braces_in_values)
		CHECK(!strstr(out, "{{"));
	/* Only what the try does not have stops a checked template: a conf key of the run, an
	 * upstream's output (the fuzzer gives no upstream data) or a mapped task's item. */
	if (ok && !out)
		CHECK(data_missing(err2));

	/* Without conf, only conf.KEY fails; what renders without conf renders the same with it. */
	struct template_ctx bare = *ctx;
	bare.conf = NULL;
	char *err3 = NULL;
	char *out3 = template_render(tmpl, &bare, &err3);
	CHECK(!out3 || (out && strcmp(out, out3) == 0));
	CHECK(out3 || !ok || data_missing(err3));
	free(out3);
	free(err3);
	free(out);
	free(err);
	free(err2);
}

/* "LEFT{{ name }}RIGHT" from the fuzzed text (without braces): the output is known. */
static void check_known(const char *text, unsigned choice, const struct template_ctx *ctx)
{
	static const char *const names[] = {
	    "ds",     "ds_nodash", "ts",         "logical_date", "run_id",
	    "dag_id", "task_id",   "try_number", "conf.s",       "conf.n",
	    "conf.a", "conf.t",    "conf.nul",   "conf.o",       "conf.missing",
	};
	static const char *const spaces[] = {"", " ", "  ", "\t", "\n ", "\r\n"};
	if (strpbrk(text, "{}"))
		return;
	const char *name = names[choice % (sizeof(names) / sizeof(names[0]))];
	const char *lead = spaces[(choice >> 4) % 6], *trail = spaces[(choice >> 5) % 6];
	size_t len = strlen(text), cut = len ? (choice * 7u) % (len + 1) : 0;
	size_t size = len + strlen(name) + strlen(lead) + strlen(trail) + 5;
	char *tmpl = malloc(size);
	CHECK(tmpl != NULL);
	snprintf(tmpl, size, "%.*s{{%s%s%s}}%s", (int)cut, text, lead, name, trail, text + cut);

	char *err = NULL;
	char *want = expected_value(name, ctx);
	char *out = template_render(tmpl, ctx, &err);
	CHECK(template_check(tmpl, NULL));
	if (!want) {
		CHECK(!out && err && strstr(err, "conf key"));
	} else {
		CHECK(out != NULL);
		size_t wlen = strlen(want);
		CHECK(strlen(out) == len + wlen);
		CHECK(memcmp(out, text, cut) == 0);
		CHECK(memcmp(out + cut, want, wlen) == 0);
		CHECK(strcmp(out + cut + wlen, text + cut) == 0);
	}
	free(out);
	free(err);
	free(want);
	free(tmpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	char *tmpl = input_text(&in);
	int64_t date = (int64_t)input_uint(&in, 8);
	int try_number = (int)(uint32_t)input_uint(&in, 4);
	unsigned choice = (unsigned)input_uint(&in, 1);
	char *run_id = input_text(&in);
	char *conf_s = input_text(&in);

	json_t *s = json_string(conf_s); /* NULL for invalid UTF-8: a run's conf is JSON */
	json_t *conf =
	    json_pack("{s:o, s:i, s:[i,s], s:b, s:n, s:{s:s}}", "s", s ? s : json_string(""), "n",
		      42, "a", 1, "x", "t", 1, "nul", "o", "k", "v");
	CHECK(conf != NULL);
	struct template_ctx ctx = {
	    /* a date libc's strftime writes as the template does: years 1970 to 9999 */
	    .logical_date = (int64_t)((uint64_t)date % (LAST_SECOND_OF_9999 + 1)),
	    .data_interval_start = date,
	    .data_interval_end = (int64_t)(0 - (uint64_t)date),
	    .run_id = run_id,
	    .dag_id = "dag",
	    .task_id = "task.1",
	    .try_number = try_number,
	    .conf = conf,
	};
	bool braces = strpbrk(run_id, "{}") || (s && strpbrk(conf_s, "{}"));

	check_any(tmpl, &ctx, braces);
	check_known(tmpl, choice, &ctx);

	json_decref(conf);
	free(conf_s);
	free(run_id);
	free(tmpl);
	return 0;
}
