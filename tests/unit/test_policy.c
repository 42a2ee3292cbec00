/* test_policy.c - the policy rules as a table of cases, the error text, and the dagbag hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swarmflow/core/policy.h"
#include "swarmflow/sched/dagbag.h"

#define GIB ((int64_t)1 << 30)
#define MIB ((int64_t)1 << 20)

/* One case: a task (image and extra keys) checked against a policy built from the fields. */
struct policy_case {
	const char *name;
	const char *image;    /* NULL: "busybox:1.36" */
	const char *keys;     /* more task keys, one per line */
	const char *prefixes; /* policy.bind_mount_prefixes, comma list; NULL: none */
	bool socket;          /* policy.allow_docker_socket */
	const char *images;   /* comma list; NULL: the default {"*"}; "": empty */
	const char *networks; /* comma list; NULL: any */
	double max_cpus;
	int64_t max_memory;
	const char *want; /* NULL: allowed; else the first error after "policy: " */
};

#define BIND(src) "mounts = {\"type=bind,source=" src ",target=/x\"}"
#define VOLUME_OPTS(opts) "mounts = {\"type=volume,source=v,target=/x," opts "\"}"
#define NOT_UNDER(src, list)                                                                       \
	"bind mount source '" src "' is not under policy.bind_mount_prefixes (" list ")"
/* What the socket rule says about a source that is or holds the docker socket. */
#define SOCKET_RULE "the docker socket (policy.allow_docker_socket is false)"
#define IS_SOCKET(src) "bind mount source '" src "' is " SOCKET_RULE
#define HOLDS_SOCKET(src) "bind mount source '" src "' holds " SOCKET_RULE

static const struct policy_case cases[] = {
    /* The defaults: any image, no bind mount, volumes and tmpfs fine. */
    {"defaults allow a plain task", .keys = ""},
    {"defaults allow a named volume", .keys = "mounts = {\"type=volume,source=data,target=/d\"}"},
    {"defaults allow tmpfs", .keys = "mounts = {\"type=tmpfs,target=/t,tmpfs-size=1M\"}"},
    {"defaults refuse every bind mount", .keys = BIND("/etc"),
     .want = NOT_UNDER("/etc", "none allowed")},
    /* Prefixes, on a path boundary, normalised. */
    {"prefix allows itself", .keys = BIND("/srv"), .prefixes = "/srv"},
    {"prefix allows below", .keys = BIND("/srv/data/x"), .prefixes = "/data,/srv"},
    {"prefix is a path, not a string", .keys = BIND("/srvx"), .prefixes = "/srv,/data",
     .want = NOT_UNDER("/srvx", "/srv, /data")},
    {"a prefix's trailing slash", .keys = BIND("/srv/x"), .prefixes = "/srv/"},
    {"'//' and '/./' collapse", .keys = BIND("//srv/./x/"), .prefixes = "/srv"},
    {"'..' is refused", .keys = BIND("/srv/../etc"), .prefixes = "/srv",
     .want = "bind mount source '/srv/../etc' has a '..' component"},
    {"'..' at the end is refused", .keys = BIND("/srv/.."), .prefixes = "/srv",
     .want = "bind mount source '/srv/..' has a '..' component"},
    {"'...' is a name", .keys = BIND("/srv/..."), .prefixes = "/srv"},
    {"a relative source is refused", .keys = BIND("srv/x"), .prefixes = "/srv",
     .want = "bind mount source 'srv/x' is not an absolute path"},
    {"a relative prefix allows nothing", .keys = BIND("/srv/x"), .prefixes = "srv",
     .want = NOT_UNDER("/srv/x", "srv")},
    {"prefix '/' allows any path but the socket's", .keys = BIND("/etc"), .prefixes = "/"},
    /* The docker socket. */
    {"the socket by default", .keys = BIND("/var/run/docker.sock"),
     .want = IS_SOCKET("/var/run/docker.sock")},
    {"the socket under an allowed prefix", .keys = BIND("/var/run/docker.sock"),
     .prefixes = "/var/run", .want = IS_SOCKET("/var/run/docker.sock")},
    {"/run/docker.sock under '/'", .keys = BIND("/run/docker.sock"), .prefixes = "/",
     .want = IS_SOCKET("/run/docker.sock")},
    {"the socket written oddly", .keys = BIND("/var//run/./docker.sock"), .prefixes = "/var",
     .want = IS_SOCKET("/var//run/./docker.sock")},
    {"any docker.sock", .keys = BIND("/srv/dind/docker.sock"), .prefixes = "/srv",
     .want = IS_SOCKET("/srv/dind/docker.sock")},
    {"the socket's folder", .keys = BIND("/var/run"), .prefixes = "/var",
     .want = HOLDS_SOCKET("/var/run")},
    {"the root folder", .keys = BIND("/"), .prefixes = "/", .want = HOLDS_SOCKET("/")},
    {"the socket when allowed needs no prefix", .keys = BIND("/var/run/docker.sock"),
     .socket = true},
    {"allowing the socket allows no folder", .keys = BIND("/run"), .socket = true,
     .want = NOT_UNDER("/run", "none allowed")},
    {"the root folder with the socket allowed", .keys = BIND("/"), .prefixes = "/", .socket = true},
    /* Volumes that bind a host path through the local driver. */
    {"a local volume binding /etc",
     .keys = VOLUME_OPTS("volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc"),
     .want = "volume 'v' device '/etc' is not under policy.bind_mount_prefixes (none allowed)"},
    {"a local volume binding an allowed path",
     .keys = VOLUME_OPTS("volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/srv/v"),
     .prefixes = "/srv"},
    {"a local volume binding the socket",
     .keys = VOLUME_OPTS("volume-opt=o=bind,volume-opt=device=/run/docker.sock"), .prefixes = "/",
     .want = "volume 'v' device '/run/docker.sock' is the docker socket "
	     "(policy.allow_docker_socket is false)"},
    {"a local volume on a host disk",
     .keys = VOLUME_OPTS("volume-opt=type=ext4,volume-opt=device=/dev/sdb1"),
     .want =
	 "volume 'v' device '/dev/sdb1' is not under policy.bind_mount_prefixes (none allowed)"},
    {"an nfs volume", .keys = VOLUME_OPTS("volume-opt=type=nfs,volume-opt=device=:/export")},
    {"a tmpfs volume", .keys = VOLUME_OPTS("volume-opt=type=tmpfs,volume-opt=device=tmpfs")},
    {"a plugin's volume options are its own",
     .keys = VOLUME_OPTS("volume-driver=rexray,volume-opt=device=/etc")},
    /* Images. */
    {"any image by default", .image = "registry.example.com/team/app@sha256:abc"},
    {"an image matching a glob", .image = "busybox:1.36", .images = "swarmflow-test/*,busybox:*"},
    {"an image matching none", .image = "alpine:3.20", .images = "swarmflow-test/*,busybox:*",
     .want = "image 'alpine:3.20' matches none of policy.images (swarmflow-test/*, busybox:*)"},
    {"a registry glob is not a host prefix", .image = "registry.example.com.evil.io/x",
     .images = "registry.example.com/*",
     .want = "image 'registry.example.com.evil.io/x' matches none of policy.images "
	     "(registry.example.com/*)"},
    {"an empty image list", .images = "",
     .want = "image 'busybox:1.36' matches none of policy.images (none allowed)"},
    /* Networks. */
    {"any network when the list is empty", .keys = "networks = {etl, other}"},
    {"a listed network", .keys = "networks = {etl}", .networks = "etl,web"},
    {"an unlisted network", .keys = "networks = {etl, other}", .networks = "etl,web",
     .want = "network 'other' is not in policy.networks (etl, web)"},
    /* cpus and memory. */
    {"cpus at the maximum", .keys = "cpus = 2\nreserve_cpus = 2", .max_cpus = 2},
    {"cpus over the maximum", .keys = "cpus = 2.5", .max_cpus = 2,
     .want = "cpus 2.5 is over policy.max_cpus 2"},
    {"reserve_cpus over the maximum", .keys = "reserve_cpus = 3", .max_cpus = 2,
     .want = "reserve_cpus 3 is over policy.max_cpus 2"},
    {"cpus without a maximum", .keys = "cpus = 64"},
    {"memory under the maximum", .keys = "memory = \"512M\"", .max_memory = GIB},
    {"memory over the maximum", .keys = "memory = \"2G\"", .max_memory = GIB,
     .want = "memory 2G is over policy.max_memory 1G"},
    {"reserve_memory over the maximum", .keys = "reserve_memory = \"1500M\"", .max_memory = GIB,
     .want = "reserve_memory 1500M is over policy.max_memory 1G"},
    {"odd sizes in bytes", .keys = "memory = 1000001", .max_memory = 1000000,
     .want = "memory 1000001 bytes is over policy.max_memory 1000000 bytes"},
    {"memory without a maximum", .keys = "memory = \"64G\""},
};

static void split_into(struct strv *sv, const char *list)
{
	strv_finish(sv);
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		strv_push_owned(sv, xstrndup(p, n));
		p += n;
		p += *p == ',';
	}
}

/* The defaults, as config_init() sets them. */
static void policy_default(struct policy *p)
{
	*p = (struct policy){0};
	strv_push(&p->images, "*");
}

static void policy_of(const struct policy_case *c, struct policy *p)
{
	policy_default(p);
	split_into(&p->bind_mount_prefixes, c->prefixes);
	p->allow_docker_socket = c->socket;
	if (c->images)
		split_into(&p->images, c->images);
	split_into(&p->networks, c->networks);
	p->max_cpus = c->max_cpus;
	p->max_memory = c->max_memory;
}

/* Parses one DAG 'd' of one task 't' (at line 2) in t.dag; the file must be valid. */
static void parse_task(const char *image, const char *keys, struct dag_file *f)
{
	char *text =
	    xasprintf("dag d {\n  task t {\n    image = \"%s\"\n    shell = \"true\"\n%s\n  }\n}\n",
		      image ? image : "busybox:1.36", keys ? keys : "");
	*f = (struct dag_file){0};
	bool ok = dag_file_parse(text, strlen(text), "t.dag", f);
	for (size_t i = 0; i < f->errors.len; i++)
		print_error("%s:%d: %s\n", f->errors.v[i].file, f->errors.v[i].line,
			    f->errors.v[i].message);
	assert_true(ok);
	assert_int_equal(f->n_dags, 1);
	free(text);
}

static void test_table(void **state)
{
	(void)state;
	size_t failed = 0;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct policy_case *c = &cases[i];
		struct dag_file f;
		struct policy p;
		struct dag_errors errs = {0};
		parse_task(c->image, c->keys, &f);
		policy_of(c, &p);
		bool ok = policy_check_dag(&p, f.dags[0], &errs);
		const char *got = errs.len ? strstr(errs.v[0].message, "policy: ") : NULL;
		got = got ? got + strlen("policy: ") : errs.len ? errs.v[0].message : NULL;
		bool pass = ok == !c->want && ok == (errs.len == 0) &&
			    (!c->want || (got && strcmp(got, c->want) == 0));
		if (!pass) {
			print_error("case '%s': want %s%s%s, got %s%s%s\n", c->name,
				    c->want ? "'" : "", c->want ? c->want : "allowed",
				    c->want ? "'" : "", got ? "'" : "", got ? got : "allowed",
				    got ? "'" : "");
			failed++;
		}
		dag_errors_finish(&errs);
		policy_finish(&p);
		dag_file_finish(&f);
	}
	assert_int_equal(failed, 0);
}

/* "FILE:LINE: dag 'x' task 'y': policy: ..." at the line of the task, whose keys may come from
 * defaults; one error per violation, every task checked. */
static void test_error_text(void **state)
{
	(void)state;
	static const char text[] = "dag etl {\n"
				   "  defaults {\n"
				   "    image  = \"evil/miner:1\"\n"
				   "    mounts = {\"type=bind,source=/etc,target=/etc\"}\n"
				   "  }\n"
				   "  task ok {\n"
				   "    image  = \"busybox:1.36\"\n"
				   "    mounts = {}\n"
				   "    shell  = \"true\"\n"
				   "  }\n"
				   "  task bad {\n"
				   "    shell = \"true\"\n"
				   "    cpus  = 8\n"
				   "  }\n"
				   "}\n";
	struct dag_file f = {0};
	assert_true(dag_file_parse(text, strlen(text), "dags/etl.dag", &f));
	struct policy p;
	policy_default(&p);
	split_into(&p.images, "busybox:*");
	p.max_cpus = 4;
	struct dag_errors errs = {0};
	assert_false(policy_check_dag(&p, f.dags[0], &errs));
	assert_int_equal(errs.len, 3);
	for (size_t i = 0; i < errs.len; i++) {
		assert_string_equal(errs.v[i].file, "dags/etl.dag");
		assert_int_equal(errs.v[i].line, 11);
	}
	assert_string_equal(errs.v[0].message,
			    "dag 'etl' task 'bad': policy: bind mount source '/etc' is not under "
			    "policy.bind_mount_prefixes (none allowed)");
	assert_string_equal(errs.v[1].message, "dag 'etl' task 'bad': policy: image 'evil/miner:1' "
					       "matches none of policy.images (busybox:*)");
	assert_string_equal(errs.v[2].message,
			    "dag 'etl' task 'bad': policy: cpus 8 is over policy.max_cpus 4");
	dag_errors_finish(&errs);
	policy_finish(&p);
	dag_file_finish(&f);
}

/* A file with a DAG that breaks the policy gives no DAG at all, like any other error. */
static void test_check_file(void **state)
{
	(void)state;
	static const char text[] =
	    "dag good {\n  task t { image = busybox shell = \"true\" }\n}\n"
	    "dag bad {\n  task t {\n    image = busybox\n    shell = \"true\"\n"
	    "    mounts = {\"type=bind,source=/etc,target=/x\"}\n  }\n}\n";
	struct dag_file f = {0};
	struct policy p;
	policy_default(&p);
	assert_true(dag_file_parse(text, strlen(text), "two.dag", &f));
	assert_true(policy_check_file(NULL, &f)); /* no policy: nothing to check */
	assert_int_equal(f.n_dags, 2);
	assert_false(policy_check_file(&p, &f));
	assert_int_equal(f.n_dags, 0);
	assert_null(f.dags);
	assert_int_equal(f.errors.len, 1);
	assert_int_equal(f.errors.v[0].line, 5);
	assert_false(policy_check_file(&p, &f)); /* an errored file stays errored */
	dag_file_finish(&f);
	policy_finish(&p);
}

static void test_copy(void **state)
{
	(void)state;
	struct policy a, b;
	policy_default(&a);
	split_into(&a.bind_mount_prefixes, "/srv,/data");
	split_into(&a.networks, "etl");
	a.allow_docker_socket = true;
	a.max_cpus = 1.5;
	a.max_memory = 256 * MIB;
	policy_copy(&b, &a);
	policy_finish(&a);
	assert_int_equal(b.bind_mount_prefixes.len, 2);
	assert_string_equal(b.bind_mount_prefixes.v[1], "/data");
	assert_string_equal(b.images.v[0], "*");
	assert_string_equal(b.networks.v[0], "etl");
	assert_true(b.allow_docker_socket);
	assert_true(b.max_cpus == 1.5);
	assert_int_equal(b.max_memory, 256 * MIB);
	policy_finish(&b);
	assert_null(b.images.v);
}

/* ---- the dagbag hook ---- */

#define GOOD(id) "dag " id " {\n  task t { image = busybox shell = \"true\" }\n}\n"
#define WITH_MOUNT(id, src)                                                                        \
	"dag " id " {\n  task t {\n    image = busybox\n    shell = \"true\"\n    mounts = "       \
	"{\"type=bind,source=" src ",target=/x\"}\n  }\n}\n"

struct fixture {
	char dir[64];
	char *dags, *cache;
	int64_t clock; /* mtime given to the next file written */
};

static void put(struct fixture *fx, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", fx->dags, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	fx->clock += 10;
	struct timespec ts[2] = {{fx->clock, 0}, {fx->clock, 0}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_policy.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->dags = xasprintf("%s/dags", fx->dir);
	fx->cache = xasprintf("%s/cache", fx->dir);
	assert_int_equal(mkdir(fx->dags, 0755), 0);
	fx->clock = 1700000000;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char *cmd = xasprintf("rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(fx->dags);
	free(fx->cache);
	free(fx);
	return 0;
}

static const struct dag_errors *errors_of(const struct dagbag *bag, const char *name)
{
	for (size_t i = 0; i < bag->n_files; i++)
		if (str_has_suffix(bag->files[i].path, name))
			return &bag->files[i].parsed.errors;
	fail_msg("no file %s in the bag", name);
	return NULL;
}

/* The file that breaks the policy is an errored file; the other file is unaffected. */
static void test_bag_rejects(void **state)
{
	struct fixture *fx = *state;
	struct dagbag bag;
	struct policy p;
	policy_default(&p);
	put(fx, "good.dag", GOOD("good"));
	put(fx, "bad.dag", WITH_MOUNT("bad", "/etc"));
	dagbag_init(&bag, fx->dags);
	dagbag_set_policy(&bag, &p);
	policy_finish(&p); /* the bag keeps its own copy */
	assert_int_equal(dagbag_refresh(&bag), 2);
	assert_non_null(dagbag_find(&bag, "good"));
	assert_null(dagbag_find(&bag, "bad"));
	assert_int_equal(dagbag_error_count(&bag), 1);
	const struct dag_errors *e = errors_of(&bag, "bad.dag");
	assert_int_equal(e->v[0].line, 2);
	assert_non_null(strstr(e->v[0].message, "dag 'bad' task 't': policy: bind mount source"));
	/* No policy: the same file is fine. */
	dagbag_set_policy(&bag, NULL);
	assert_int_equal(dagbag_refresh(&bag), 2); /* a new policy parses every file again */
	assert_non_null(dagbag_find(&bag, "bad"));
	assert_int_equal(dagbag_error_count(&bag), 0);
	dagbag_finish(&bag);
}

/* The last good version stays in use only while it passes the policy. */
static void test_bag_last_good(void **state)
{
	struct fixture *fx = *state;
	struct dagbag bag;
	struct policy srv;
	policy_default(&srv);
	strv_push(&srv.bind_mount_prefixes, "/srv");
	put(fx, "x.dag", WITH_MOUNT("x", "/srv/a"));
	dagbag_init(&bag, fx->dags);
	dagbag_set_policy(&bag, &srv);
	dagbag_refresh(&bag);
	const struct dag *v1 = dagbag_find(&bag, "x");
	assert_non_null(v1);
	put(fx, "x.dag", WITH_MOUNT("x", "/etc")); /* breaks the policy: v1 stays */
	assert_int_equal(dagbag_refresh(&bag), 1);
	assert_ptr_equal(dagbag_find(&bag, "x"), v1);
	assert_int_equal(dagbag_error_count(&bag), 1);
	struct policy strict;
	policy_default(&strict);
	dagbag_set_policy(&bag, &strict); /* v1 breaks this one too: nothing left */
	assert_int_equal(dagbag_refresh(&bag), 1);
	assert_null(dagbag_find(&bag, "x"));
	assert_int_equal(dagbag_error_count(&bag), 1);
	dagbag_finish(&bag);
	policy_finish(&srv);
	policy_finish(&strict);
}

/* Another process (another bag) falls back on the cached copy only if it passes its policy; a
 * version that breaks the policy is never cached. */
static void test_bag_cache(void **state)
{
	struct fixture *fx = *state;
	struct dagbag bag;
	struct policy srv, strict;
	policy_default(&srv);
	policy_default(&strict);
	strv_push(&srv.bind_mount_prefixes, "/srv");
	put(fx, "x.dag", WITH_MOUNT("x", "/srv/a"));
	dagbag_init(&bag, fx->dags);
	dagbag_set_cache(&bag, fx->cache);
	dagbag_set_policy(&bag, &srv);
	dagbag_refresh(&bag); /* good under srv: cached */
	put(fx, "x.dag", WITH_MOUNT("x", "/etc"));
	dagbag_refresh(&bag); /* not cached */
	dagbag_finish(&bag);

	const struct policy *policies[] = {&srv, &strict};
	for (size_t i = 0; i < ARRAY_LEN(policies); i++) {
		dagbag_init(&bag, fx->dags);
		dagbag_set_cache(&bag, fx->cache);
		dagbag_set_policy(&bag, policies[i]);
		dagbag_refresh(&bag);
		const struct dag *d = dagbag_find(&bag, "x");
		assert_int_equal(dagbag_error_count(&bag), 1);
		if (i == 0) { /* the cached /srv/a version */
			assert_non_null(d);
			assert_non_null(strstr(d->tasks[0].mounts.v[0], "/srv/a"));
		} else {
			assert_null(d);
		}
		dagbag_finish(&bag);
	}
	policy_finish(&srv);
	policy_finish(&strict);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_error_text),
	    cmocka_unit_test(test_check_file),
	    cmocka_unit_test(test_copy),
	    cmocka_unit_test_setup_teardown(test_bag_rejects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bag_last_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bag_cache, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
