/* test_mount.c - mount_parse: --mount strings to Engine Mount JSON, and the errors it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/spec.h"

struct good_case {
	const char *in;
	const char *want; /* expected JSON text */
};

static const struct good_case good[] = {
    {"type=volume,source=warehouse,target=/data",
     "{\"Type\":\"volume\",\"Source\":\"warehouse\",\"Target\":\"/data\"}"},
    {"source=warehouse,target=/data",
     "{\"Type\":\"volume\",\"Source\":\"warehouse\",\"Target\":\"/data\"}"},
    {"type=volume,target=/cache", "{\"Type\":\"volume\",\"Target\":\"/cache\"}"},
    {"src=w,dst=/d,readonly",
     "{\"Type\":\"volume\",\"Source\":\"w\",\"Target\":\"/d\",\"ReadOnly\":true}"},
    {"src=w,destination=/d,ro=true",
     "{\"Type\":\"volume\",\"Source\":\"w\",\"Target\":\"/d\",\"ReadOnly\":true}"},
    {"src=w,target=/d,readonly=1",
     "{\"Type\":\"volume\",\"Source\":\"w\",\"Target\":\"/d\",\"ReadOnly\":true}"},
    {"src=w,target=/d,ro=false", "{\"Type\":\"volume\",\"Source\":\"w\",\"Target\":\"/d\"}"},
    {"src=w,target=/d,readonly=0", "{\"Type\":\"volume\",\"Source\":\"w\",\"Target\":\"/d\"}"},
    {"src=a,src=b,target=/d", "{\"Type\":\"volume\",\"Source\":\"b\",\"Target\":\"/d\"}"},
    {"type=bind,source=/srv/a,target=/a,bind-propagation=rshared,bind-nonrecursive",
     "{\"Type\":\"bind\",\"Source\":\"/srv/a\",\"Target\":\"/a\","
     "\"BindOptions\":{\"Propagation\":\"rshared\",\"NonRecursive\":true}}"},
    {"type=bind,src=/srv,dst=/srv,consistency=cached,ro",
     "{\"Type\":\"bind\",\"Source\":\"/srv\",\"Target\":\"/srv\",\"ReadOnly\":true,"
     "\"Consistency\":\"cached\"}"},
    {"type=bind,src=/a,dst=/b,bind-nonrecursive=false",
     "{\"Type\":\"bind\",\"Source\":\"/a\",\"Target\":\"/b\"}"},
    {"TYPE=Bind,Source=/a,Target=/b", "{\"Type\":\"bind\",\"Source\":\"/a\",\"Target\":\"/b\"}"},
    {"type=volume,src=v,target=/v,volume-driver=local,volume-opt=type=nfs,"
     "volume-opt=device=:/x,volume-label=team=etl,volume-label=bare,volume-nocopy",
     "{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\",\"VolumeOptions\":{"
     "\"NoCopy\":true,\"Labels\":{\"team\":\"etl\",\"bare\":\"\"},"
     "\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"nfs\",\"device\":\":/x\"}}}}"},
    {"target=/d,volume-opt=o", "{\"Type\":\"volume\",\"Target\":\"/d\",\"VolumeOptions\":{"
			       "\"DriverConfig\":{\"Options\":{\"o\":\"\"}}}}"},
    {"target=/d,volume-nocopy=false", "{\"Type\":\"volume\",\"Target\":\"/d\"}"},
    {"type=volume,target=/d,\"volume-opt=o=addr=10.0.0.1,rw\"",
     "{\"Type\":\"volume\",\"Target\":\"/d\",\"VolumeOptions\":{"
     "\"DriverConfig\":{\"Options\":{\"o\":\"addr=10.0.0.1,rw\"}}}}"},
    {"\"target=/a \"\"b\"\"\"", "{\"Type\":\"volume\",\"Target\":\"/a \\\"b\\\"\"}"},
    {"type=tmpfs,target=/tmp,tmpfs-size=64M,tmpfs-mode=1777",
     "{\"Type\":\"tmpfs\",\"Target\":\"/tmp\","
     "\"TmpfsOptions\":{\"SizeBytes\":67108864,\"Mode\":1023}}"},
    {"type=tmpfs,target=/t,tmpfs-mode=0700",
     "{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"Mode\":448}}"},
    {"type=tmpfs,dst=/run", "{\"Type\":\"tmpfs\",\"Target\":\"/run\"}"},
    {"target=/d,type=tmpfs", "{\"Type\":\"tmpfs\",\"Target\":\"/d\"}"},
};

struct bad_case {
	const char *in;
	const char *want; /* substring of the error, after "mount '<in>': " */
};

static const struct bad_case bad[] = {
    {"type=volume,source=x", "target is required"},
    {"", "target is required"},
    {"target=", "target is required"},
    {"type=bind,target=/a", "bind mount needs a source"},
    {"type=npipe,src=x,target=/a", "type 'npipe' is not supported"},
    {"type=foo,target=/a", "unknown type 'foo'"},
    {"target=/a,foo=bar", "unknown option 'foo'"},
    {"target=/a,foo", "unknown option 'foo'"},
    {"type=volume,target=/a,tmpfs-size=1M", "option 'tmpfs-size' is only for tmpfs mounts"},
    {"target=/a,tmpfs-mode=700", "option 'tmpfs-mode' is only for tmpfs mounts"},
    {"type=bind,src=/a,target=/a,volume-nocopy",
     "option 'volume-nocopy' is only for volume mounts"},
    {"volume-driver=x,type=tmpfs,target=/a", "option 'volume-driver' is only for volume mounts"},
    {"type=tmpfs,target=/a,bind-propagation=shared",
     "option 'bind-propagation' is only for bind mounts"},
    {"target=/a,bind-nonrecursive", "option 'bind-nonrecursive' is only for bind mounts"},
    {"type=tmpfs,src=x,target=/a", "tmpfs mount takes no source"},
    {"target=/a,readonly=maybe", "'maybe' is not a boolean"},
    {"type=bind,src=/a,target=/a,bind-propagation=weird", "unknown bind-propagation 'weird'"},
    {"target=/a,consistency=fast", "unknown consistency 'fast'"},
    {"type=tmpfs,target=/a,tmpfs-mode=8", "tmpfs-mode '8' is not an octal mode"},
    {"type=tmpfs,target=/a,tmpfs-mode=", "tmpfs-mode '' is not an octal mode"},
    {"type=tmpfs,target=/a,tmpfs-mode=17777", "tmpfs-mode '17777' is over 7777"},
    {"type=tmpfs,target=/a,tmpfs-size=lots", "tmpfs-size: "},
    {"target=/a,,ro", "empty field"},
    {"target=/a,", "empty field"},
    {",target=/a", "empty field"},
    {"target=/a,source", "option 'source' needs a value"},
    {"target=/a,\"ro", "unterminated quote"},
    {"target=/a\"b", "a quote inside an unquoted field"},
    {"\"target=/a\"x", "text after a closing quote"},
    {"target=/a,volume-opt==x", "volume-opt needs key=value"},
    {"target=/a,volume-label=", "volume-label needs key=value"},
};

static void test_good_mounts(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		char *err = NULL;
		json_t *got = mount_parse(good[i].in, &err);
		json_t *want = json_loads(good[i].want, 0, NULL);
		assert_non_null(want);
		if (!got)
			fail_msg("mount_parse(\"%s\") failed: %s", good[i].in, err);
		if (!json_equal(got, want)) {
			char *text = json_dumps(got, JSON_SORT_KEYS);
			fail_msg("mount_parse(\"%s\") = %s\nwant %s", good[i].in, text,
				 good[i].want);
		}
		assert_null(err);
		json_decref(got);
		json_decref(want);
	}
}

static void test_bad_mounts(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char *err = NULL;
		json_t *got = mount_parse(bad[i].in, &err);
		if (got)
			fail_msg("mount_parse(\"%s\") succeeded", bad[i].in);
		assert_non_null(err);
		char *prefix = xasprintf("mount '%s': ", bad[i].in);
		if (!str_has_prefix(err, prefix) || !strstr(err + strlen(prefix), bad[i].want))
			fail_msg("mount_parse(\"%s\"): error \"%s\", want \"%s%s...\"", bad[i].in,
				 err, prefix, bad[i].want);
		free(prefix);
		free(err);
	}
}

/* Exact full messages, as the DAG validator shows them. */
static void test_error_text(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(mount_parse("src=x,dst=/a,foo=1", &err));
	assert_string_equal(err, "mount 'src=x,dst=/a,foo=1': unknown option 'foo'");
	free(err);
	err = NULL;
	assert_null(mount_parse("type=bind,dst=/a", &err));
	assert_string_equal(err, "mount 'type=bind,dst=/a': bind mount needs a source");
	free(err);
}

/* A NULL err is allowed: the caller only wants to know whether it parses. */
static void test_null_err(void **state)
{
	(void)state;
	assert_null(mount_parse("type=bind", NULL));
	json_t *j = mount_parse("target=/x", NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "Target")), "/x");
	json_decref(j);
}

/* Bytes that are not UTF-8 are refused, not silently left out of the JSON (fuzz_mount). */
static void test_not_utf8(void **state)
{
	(void)state;
	static const char *const in[] = {"type=bind,source=/srv/\xc3,target=/data",
					 "target=/data\xff"};
	for (size_t i = 0; i < ARRAY_LEN(in); i++) {
		char *err = NULL;
		assert_null(mount_parse(in[i], &err));
		assert_string_equal(err, "mount: not valid UTF-8");
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_mounts), cmocka_unit_test(test_bad_mounts),
	    cmocka_unit_test(test_not_utf8),    cmocka_unit_test(test_error_text),
	    cmocka_unit_test(test_null_err),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
