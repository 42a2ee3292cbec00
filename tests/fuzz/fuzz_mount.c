/* fuzz_mount.c - libFuzzer target: mount_parse, checking the Mount object it builds and that the
 * object written back as a --mount string parses to the same object. Input: the mount text. */
#include "fuzz.h"

#include <stdio.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/spec.h"

/* Appends `key=value` as one CSV field (quoted when it holds a comma or a quote). */
static void add_field(struct buf *b, const char *key, const char *val)
{
	char *field = val ? xasprintf("%s=%s", key, val) : xstrdup(key);
	if (b->len)
		buf_append(b, ",", 1);
	if (strpbrk(field, ",\"")) {
		buf_append(b, "\"", 1);
		for (const char *c = field; *c; c++)
			buf_append(b, *c == '"' ? "\"\"" : c, *c == '"' ? 2 : 1);
		buf_append(b, "\"", 1);
	} else {
		buf_append(b, field, strlen(field));
	}
	free(field);
}

/* A string member that must be there: its value. */
static const char *get_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	CHECK(json_is_string(v));
	return json_string_value(v);
}

/* Writes every "k": "v" of a string-to-string object as `opt=k=v` fields. */
static void add_pairs(struct buf *b, const char *opt, const json_t *obj)
{
	const char *k;
	const json_t *v;
	CHECK(json_is_object(obj) && json_object_size(obj) > 0);
	json_object_foreach((json_t *)obj, k, v)
	{
		CHECK(json_is_string(v) && *k && !strchr(k, '='));
		char *kv = xasprintf("%s=%s", k, json_string_value(v));
		add_field(b, opt, kv);
		free(kv);
	}
}

/* Checks the object mount_parse returned and writes it back as a --mount string into b. */
static void check_and_write(const json_t *m, struct buf *b)
{
	const char *type = get_str(m, "Type");
	bool bind = strcmp(type, "bind") == 0, volume = strcmp(type, "volume") == 0;
	bool tmpfs = strcmp(type, "tmpfs") == 0;
	CHECK(bind || volume || tmpfs);
	const char *target = get_str(m, "Target");
	CHECK(*target);
	add_field(b, "type", type);
	add_field(b, "target", target);
	if (bind)
		CHECK(json_is_string(json_object_get(m, "Source")));
	if (tmpfs)
		CHECK(!json_object_get(m, "Source"));

	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)m, key, v)
	{
		if (strcmp(key, "Type") == 0 || strcmp(key, "Target") == 0) {
			continue;
		} else if (strcmp(key, "Source") == 0) {
			CHECK(*get_str(m, "Source"));
			add_field(b, "source", json_string_value(v));
		} else if (strcmp(key, "ReadOnly") == 0) {
			CHECK(json_is_true(v));
			add_field(b, "readonly", NULL);
		} else if (strcmp(key, "Consistency") == 0) {
			add_field(b, "consistency", get_str(m, key));
		} else if (strcmp(key, "BindOptions") == 0) {
			CHECK(bind && json_object_size(v) > 0);
			const json_t *p = json_object_get(v, "Propagation");
			const json_t *nr = json_object_get(v, "NonRecursive");
			CHECK(json_object_size(v) == (p != NULL) + (nr != NULL));
			if (p)
				add_field(b, "bind-propagation", get_str(v, "Propagation"));
			if (nr) {
				CHECK(json_is_true(nr));
				add_field(b, "bind-nonrecursive", NULL);
			}
		} else if (strcmp(key, "VolumeOptions") == 0) {
			CHECK(volume && json_object_size(v) > 0);
			const json_t *nc = json_object_get(v, "NoCopy");
			const json_t *labels = json_object_get(v, "Labels");
			const json_t *dc = json_object_get(v, "DriverConfig");
			CHECK(json_object_size(v) ==
			      (nc != NULL) + (labels != NULL) + (dc != NULL));
			if (nc) {
				CHECK(json_is_true(nc));
				add_field(b, "volume-nocopy", NULL);
			}
			if (labels)
				add_pairs(b, "volume-label", labels);
			if (dc) {
				const json_t *name = json_object_get(dc, "Name");
				const json_t *opts = json_object_get(dc, "Options");
				CHECK(json_object_size(dc) > 0);
				CHECK(json_object_size(dc) == (name != NULL) + (opts != NULL));
				if (name)
					add_field(b, "volume-driver", get_str(dc, "Name"));
				if (opts)
					add_pairs(b, "volume-opt", opts);
			}
		} else if (strcmp(key, "TmpfsOptions") == 0) {
			CHECK(tmpfs && json_object_size(v) > 0);
			const json_t *sz = json_object_get(v, "SizeBytes");
			const json_t *mode = json_object_get(v, "Mode");
			CHECK(json_object_size(v) == (sz != NULL) + (mode != NULL));
			char num[32];
			if (sz) {
				CHECK(json_is_integer(sz));
				json_int_t n = json_integer_value(sz);
				CHECK(n >= 0 && n <= (json_int_t)1 << 50);
				snprintf(num, sizeof(num), "%lld", (long long)n);
				add_field(b, "tmpfs-size", num);
			}
			if (mode) {
				CHECK(json_is_integer(mode));
				json_int_t n = json_integer_value(mode);
				CHECK(n >= 0 && n <= 07777);
				snprintf(num, sizeof(num), "%llo", (long long)n);
				add_field(b, "tmpfs-mode", num);
			}
		} else {
			CHECK(!"a member mount.c does not document");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	char *s = input_text(&in);
	char *err = NULL;
	json_t *m = mount_parse(s, &err);
	CHECK((m == NULL) == (err != NULL));
	if (!m) {
		/* "mount '<input>': why", or, for input that is not UTF-8 (not echoed),
		 * "mount: not valid UTF-8". */
		CHECK(strncmp(err, "mount '", 7) == 0 ||
		      strcmp(err, "mount: not valid UTF-8") == 0);
		free(err);
		free(s);
		return 0;
	}
	CHECK(json_is_object(m));

	/* Written back in the --mount syntax, the object parses to itself. */
	struct buf again;
	buf_init(&again, 0);
	check_and_write(m, &again);
	json_t *m2 = mount_parse(again.data, &err);
	CHECK(m2 != NULL && err == NULL);
	CHECK(json_equal(m, m2));

	json_decref(m2);
	json_decref(m);
	buf_finish(&again);
	free(s);
	return 0;
}
