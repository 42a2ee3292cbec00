/* dagbag.c - the DAGs of a dags folder: recursive scan, parse of changed files, unique ids. */
#include "swarmflow/sched/dagbag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "swarmflow/common/fsutil.h"
#include "swarmflow/common/log.h"

/* Largest .dag file read; bigger ones are refused with an error. */
#define DAGBAG_FILE_MAX (10 * 1024 * 1024)
/* Deepest folder nesting followed under the dags folder. */
#define DAGBAG_DEPTH_MAX 32

/* A .dag file found by the scan. */
struct found {
	char *path;
	int64_t mtime_ns;
	off_t size;
};

struct dir_id {
	dev_t dev;
	ino_t ino;
	char *path;
};

/* One scan of the folder tree. */
struct scan {
	struct found *v;
	size_t len, cap;
	struct dir_id *ancestors; /* the directories being walked, outermost first */
	size_t n_ancestors;
	struct dir_id *visited; /* every directory walked */
	size_t n_visited;
	struct strv unreadable; /* directories that could not be read: their files are kept */
	struct strv links;      /* .dag files reached through a symlink of their own */
	int64_t settle_wait_ms; /* until the first file left for later settles; -1: none */
	struct dag_errors *errs;
};

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

static void found_add(struct scan *sc, char *path, const struct stat *st)
{
	if (sc->len == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		sc->v = xrealloc(sc->v, sc->cap * sizeof(*sc->v));
	}
	sc->v[sc->len++] = (struct found){path, mtime_ns(st), st->st_size};
}

static const struct dir_id *dir_find(const struct dir_id *v, size_t n, const struct stat *st)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].dev == st->st_dev && v[i].ino == st->st_ino)
			return &v[i];
	return NULL;
}

static void dir_push(struct dir_id **v, size_t *n, const struct stat *st, const char *path)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct dir_id){st->st_dev, st->st_ino, xstrdup(path)};
}

static void dirs_free(struct dir_id *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the names in dir (not those starting with '.'), sorted. */
static bool list_dir(const char *dir, struct stat *st, struct strv *names)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	if (fstat(dirfd(d), st) != 0) {
		closedir(d);
		return false;
	}
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			strv_push(names, e->d_name);
	int saved = errno;
	closedir(d);
	errno = saved;
	if (names->len)
		qsort(names->v, names->len, sizeof(*names->v), cmp_str);
	return saved == 0;
}

static bool scan_dir(struct scan *sc, const char *dir, int depth);

/* Looks at one directory entry: a .dag file is recorded, a directory walked. */
static void scan_entry(struct scan *sc, const char *dir, const char *name, int depth)
{
	char *path = path_join(dir, name);
	bool is_dag = str_has_suffix(name, ".dag");
	struct stat st;
	/* lstat first: as cheap as stat for a plain entry, and it tells a symlink (whose target
	 * a watcher must watch on its own). */
	int rc = lstat(path, &st);
	bool link = rc == 0 && S_ISLNK(st.st_mode);
	if (link)
		rc = stat(path, &st);
	if (rc != 0) {
		if (is_dag) /* e.g. a dangling symlink */
			dag_errors_add(sc->errs, path, 0, "cannot stat: %s", strerror(errno));
		free(path);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth + 1 > DAGBAG_DEPTH_MAX)
			dag_errors_add(sc->errs, path, 0, "folders nested deeper than %d levels",
				       DAGBAG_DEPTH_MAX);
		else
			scan_dir(sc, path, depth + 1);
		free(path);
	} else if (S_ISREG(st.st_mode) && is_dag) {
		if (link)
			strv_push(&sc->links, path);
		found_add(sc, path, &st);
	} else {
		free(path);
	}
}

/* Walks dir; returns false (with an error) when it cannot be read. */
static bool scan_dir(struct scan *sc, const char *dir, int depth)
{
	struct stat st;
	struct strv names = {0};
	if (!list_dir(dir, &st, &names)) {
		dag_errors_add(sc->errs, dir, 0, "cannot read folder: %s", strerror(errno));
		strv_push(&sc->unreadable, dir);
		strv_finish(&names);
		return false;
	}
	const struct dir_id *seen = dir_find(sc->ancestors, sc->n_ancestors, &st);
	if (seen) {
		dag_errors_add(sc->errs, dir, 0, "symlink loop: same folder as %s", seen->path);
	} else if (!dir_find(sc->visited, sc->n_visited, &st)) {
		/* A folder reached twice through symlinks (not a loop) is read once. */
		dir_push(&sc->visited, &sc->n_visited, &st, dir);
		dir_push(&sc->ancestors, &sc->n_ancestors, &st, dir);
		for (size_t i = 0; i < names.len; i++)
			scan_entry(sc, dir, names.v[i], depth);
		free(sc->ancestors[--sc->n_ancestors].path);
	}
	strv_finish(&names);
	return true;
}

static void scan_finish(struct scan *sc)
{
	for (size_t i = 0; i < sc->len; i++)
		free(sc->v[i].path);
	free(sc->v);
	dirs_free(sc->ancestors, sc->n_ancestors);
	dirs_free(sc->visited, sc->n_visited);
	strv_finish(&sc->unreadable);
	strv_finish(&sc->links);
}

/* True when path lies under one of the folders that could not be read. */
static bool under_unreadable(const struct scan *sc, const char *path)
{
	for (size_t i = 0; i < sc->unreadable.len; i++) {
		const char *dir = sc->unreadable.v[i];
		size_t n = strlen(dir);
		if (strncmp(path, dir, n) == 0 && (path[n] == '/' || (n && dir[n - 1] == '/')))
			return true;
	}
	return false;
}

/* ---- reading and parsing one file ---- */

/* Reads the whole file (O_NONBLOCK: a FIFO put in place after the scan cannot block us). */
static bool read_text(const char *path, struct buf *b, struct stat *st, char **err)
{
	buf_init(b, DAGBAG_FILE_MAX); /* before anything can fail: callers always buf_finish */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return set_err(err, "cannot open: %s", strerror(errno));
	bool ok = false;
	if (fstat(fd, st) != 0) {
		set_err(err, "cannot stat: %s", strerror(errno));
	} else if (!S_ISREG(st->st_mode)) {
		set_err(err, "not a regular file");
	} else if (st->st_size > DAGBAG_FILE_MAX) {
		set_err(err, "file too large (%lld bytes, limit 10 MiB)", (long long)st->st_size);
	} else {
		ok = true;
	}
	char chunk[65536];
	while (ok) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ok = set_err(err, "cannot read: %s", strerror(errno));
		else if (n == 0)
			break;
		else if (!buf_append(b, chunk, (size_t)n))
			ok = set_err(err, "file too large (over 10 MiB)");
	}
	close(fd);
	return ok;
}

static void file_finish(struct dagbag_file *f)
{
	if (f->dags != f->parsed.dags) { /* a kept older version, owned by f->dags */
		for (size_t i = 0; i < f->n_dags; i++)
			dag_destroy(f->dags[i]);
		free(f->dags);
	}
	dag_file_finish(&f->parsed);
	free(f->path);
}

/* ---- what a watched bag logs ---- */

/* Whether two error lists say the same things (line and message of each, in order). */
static bool errors_same(const struct dag_errors *a, const struct dag_errors *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (a->v[i].line != b->v[i].line || strcmp(a->v[i].message, b->v[i].message) != 0 ||
		    strcmp(a->v[i].file, b->v[i].file) != 0)
			return false;
	return true;
}

static bool errors_has(const struct dag_errors *errs, const struct dag_error *e)
{
	for (size_t i = 0; i < errs->len; i++)
		if (errs->v[i].line == e->line && strcmp(errs->v[i].message, e->message) == 0 &&
		    strcmp(errs->v[i].file, e->file) == 0)
			return true;
	return false;
}

/* "LINE: message" (or the message alone for line 0) on one log line: control characters that a
 * quoted value may carry become '?', so that a DAG file cannot forge log lines. Caller frees. */
static char *error_text(const struct dag_error *e)
{
	char *s = e->line > 0 ? xasprintf("%d: %s", e->line, e->message) : xstrdup(e->message);
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* Says once that a version of a file has errors (the first one named), or that a file that had
 * errors is valid again. old: the version it replaces (NULL when there was none). */
static void log_file(const struct dagbag_file *nf, const struct dagbag_file *old)
{
	const struct dag_errors *errs = &nf->parsed.errors;
	if (old && errors_same(&old->parsed.errors, errs))
		return;
	if (errs->len == 0) {
		if (old)
			log_info("dag file valid again file=%s dags=%zu", nf->path, nf->n_dags);
		return;
	}
	char *first = error_text(&errs->v[0]);
	char more[64] = "";
	if (errs->len > 1)
		snprintf(more, sizeof(more), " (and %zu more: swarmflow dags list)", errs->len - 1);
	log_warnx("dag file invalid file=%s errors=%zu dags_kept=%zu: %s%s", nf->path, errs->len,
		  nf->n_dags, first, more);
	free(first);
}

/* Says once each folder-level problem in now that was not in before (NULL: none was). */
static void log_folder_errors(const struct dag_errors *now, const struct dag_errors *before)
{
	for (size_t i = 0; i < now->len; i++) {
		if (before && errors_has(before, &now->v[i]))
			continue;
		char *text = error_text(&now->v[i]);
		log_warnx("dags folder problem file=%s: %s", now->v[i].file, text);
		free(text);
	}
}

/* ---- the cache of last good versions ---- */

/* cache_dir/<64-bit FNV-1a of the path, hex>.dag: one copy per file path. */
static char *cache_path(const struct dagbag *bag, const char *path)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return xasprintf("%s/%016llx.dag", bag->cache_dir, (unsigned long long)h);
}

static void cache_store(const struct dagbag *bag, const char *path, const struct buf *text)
{
	if (!bag->cache_dir)
		return;
	char *cp = cache_path(bag, path);
	if (!fs_mkdir_p(bag->cache_dir) ||
	    !fs_write_atomic(cp, text->data ? text->data : "", text->len))
		log_warn("cannot keep the last good version of %s in %s", path, cp);
	free(cp);
}

static void cache_drop(const struct dagbag *bag, const char *path)
{
	if (!bag->cache_dir)
		return;
	char *cp = cache_path(bag, path);
	unlink(cp);
	free(cp);
}

/* The DAGs of the cached last good version of path, parsed as path (NULL when none). */
static struct dag **cache_load(const struct dagbag *bag, const char *path, size_t *n)
{
	*n = 0;
	if (!bag->cache_dir)
		return NULL;
	char *cp = cache_path(bag, path);
	struct buf b;
	struct stat st;
	char *err = NULL;
	struct dag **dags = NULL;
	if (read_text(cp, &b, &st, &err)) {
		struct dag_file df = {0};
		if (dag_file_parse(b.data ? b.data : "", b.len, path, &df) &&
		    policy_check_file(bag->policy, &df) && df.n_dags) {
			dags = df.dags;
			*n = df.n_dags;
			df.dags = NULL;
			df.n_dags = 0;
		}
		dag_file_finish(&df);
	}
	buf_finish(&b);
	free(err);
	free(cp);
	return dags;
}

/* Whether every DAG of a version kept in use passes the bag's policy. */
static bool dags_allowed(const struct dagbag *bag, struct dag **dags, size_t n)
{
	struct dag_errors errs = {0};
	bool ok = true;
	for (size_t i = 0; bag->policy && ok && i < n; i++)
		ok = policy_check_dag(bag->policy, dags[i], &errs);
	dag_errors_finish(&errs);
	return ok;
}

/* Parses the file f found at nf->path into nf and checks the bag's policy. When the new version
 * has an error, the DAGs in use of the previous version (old, may be NULL, else the cached last
 * good version) move to nf, if they pass the policy. */
static void file_load(const struct dagbag *bag, struct dagbag_file *nf, const struct found *f,
		      struct dagbag_file *old)
{
	struct buf b;
	struct stat st = {0};
	char *err = NULL;
	if (read_text(nf->path, &b, &st, &err)) {
		if (dag_file_parse(b.data ? b.data : "", b.len, nf->path, &nf->parsed) &&
		    policy_check_file(bag->policy, &nf->parsed))
			cache_store(bag, nf->path, &b);
	} else {
		nf->parsed.path = xstrdup(nf->path);
		dag_errors_add(&nf->parsed.errors, nf->path, 0, "%s", err);
		nf->unread = true;
	}
	buf_finish(&b);
	free(err);
	/* The version read, or (when it could not be opened) the one the scan saw. */
	nf->mtime_ns = st.st_mode ? mtime_ns(&st) : f->mtime_ns;
	nf->size = st.st_mode ? st.st_size : f->size;
	if (nf->parsed.errors.len == 0) {
		nf->dags = nf->parsed.dags;
		nf->n_dags = nf->parsed.n_dags;
		return;
	}
	if (!old) {
		nf->dags = cache_load(bag, nf->path, &nf->n_dags);
		return;
	}
	/* An old version that breaks the (new) policy is not kept: it goes with old. */
	if (!dags_allowed(bag, old->dags, old->n_dags))
		return;
	nf->dags = old->dags; /* the last good version stays in use */
	nf->n_dags = old->n_dags;
	if (old->dags == old->parsed.dags) {
		old->parsed.dags = NULL;
		old->parsed.n_dags = 0;
	}
	old->dags = NULL;
	old->n_dags = 0;
}

/* ---- the bag ---- */

void dagbag_init(struct dagbag *bag, const char *folder)
{
	*bag = (struct dagbag){.folder = xstrdup(folder), .settle_wait_ms = -1};
}

void dagbag_set_settle(struct dagbag *bag, int64_t ms)
{
	bool watched = bag->settle_ms > 0;
	bag->settle_ms = ms;
	if (watched || ms <= 0)
		return;
	/* Watched from now on: what is wrong already is said once, now. */
	for (size_t i = 0; i < bag->n_files; i++)
		log_file(&bag->files[i], NULL);
	log_folder_errors(&bag->errors, NULL);
}

void dagbag_set_cache(struct dagbag *bag, const char *dir)
{
	free(bag->cache_dir);
	bag->cache_dir = xstrdup(dir);
}

void dagbag_set_policy(struct dagbag *bag, const struct policy *p)
{
	if (bag->policy)
		policy_finish(bag->policy);
	free(bag->policy);
	bag->policy = NULL;
	if (p) {
		bag->policy = xmalloc(sizeof(*bag->policy));
		policy_copy(bag->policy, p);
	}
	for (size_t i = 0; i < bag->n_files; i++)
		bag->files[i].size = -1; /* never a real size: parsed again at the next refresh */
}

static int cmp_found(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->path, ((const struct found *)b)->path);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct dagbag_file *)a)->path, ((const struct dagbag_file *)b)->path);
}

static struct dagbag_file *old_find(struct dagbag *bag, const char *path)
{
	struct dagbag_file key = {.path = (char *)path};
	if (!bag->n_files)
		return NULL;
	return bsearch(&key, bag->files, bag->n_files, sizeof(key), cmp_file);
}

/* Whether the file found has not changed for bag->settle_ms (mtime against the wall clock). */
static bool settled(const struct dagbag *bag, const struct found *f, int64_t now_ns)
{
	return bag->settle_ms <= 0 || now_ns - f->mtime_ns >= bag->settle_ms * 1000000;
}

/* Notes a changed file left for later: when it will have settled. */
static void settle_note(struct scan *sc, const struct dagbag *bag, const struct found *f,
			int64_t now_ns)
{
	int64_t ms = (f->mtime_ns + bag->settle_ms * 1000000 - now_ns) / 1000000 + 1;
	if (sc->settle_wait_ms < 0 || ms < sc->settle_wait_ms)
		sc->settle_wait_ms = ms;
}

/* Builds the new file list from the scan: unchanged files move over, the others are parsed.
 * Returns the number of files parsed. */
static long files_update(struct dagbag *bag, struct scan *sc, struct dagbag_file **out,
			 size_t *n_out)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	long parsed = 0;
	size_t n = 0;
	struct dagbag_file *files = xcalloc(sc->len + bag->n_files, sizeof(*files));
	for (size_t i = 0; i < bag->n_files; i++)
		bag->files[i].seen = false;
	for (size_t i = 0; i < sc->len; i++) {
		const struct found *f = &sc->v[i];
		struct dagbag_file *old = old_find(bag, f->path);
		bool same = old && old->mtime_ns == f->mtime_ns && old->size == f->size;
		/* A file that could not be read is tried again (chmod changes no mtime). */
		bool retry = same && old->unread;
		if (!same && !settled(bag, f, now_ns))
			settle_note(sc, bag, f, now_ns);
		if ((same && !retry) || (!settled(bag, f, now_ns) && old)) {
			files[n++] =
			    *old; /* unchanged, or changed too recently: the old one stays */
			old->seen = true;
			continue;
		}
		if (!settled(bag, f, now_ns))
			continue; /* new and still being written: next refresh */
		struct dagbag_file *nf = &files[n++];
		*nf = (struct dagbag_file){.path = xstrdup(f->path)};
		file_load(bag, nf, f, old);
		if (old)
			old->replaced = true;
		if (bag->settle_ms > 0)
			log_file(nf, old);
		if (!retry || !nf->unread)
			parsed++; /* not a file still unreadable */
	}
	for (size_t i = 0; i < bag->n_files; i++) {
		struct dagbag_file *old = &bag->files[i];
		if (!old->seen && under_unreadable(sc, old->path)) {
			files[n++] = *old; /* its folder is unreadable for now: keep it */
			old->seen = true;
		}
	}
	qsort(files, n, sizeof(*files), cmp_file);
	*out = files;
	*n_out = n;
	return parsed;
}

struct ranked_dag {
	const struct dag *dag;
	size_t order;
};

static int cmp_ranked_dag(const void *a, const void *b)
{
	const struct ranked_dag *x = a, *y = b;
	int c = strcmp(x->dag->dag_id, y->dag->dag_id);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Rebuilds bag->active: a DAG id defined in several files is used from the first path only. */
static void active_build(struct dagbag *bag, struct dag_errors *errs)
{
	size_t n = 0;
	for (size_t f = 0; f < bag->n_files; f++)
		n += bag->files[f].n_dags;
	struct ranked_dag *r = xcalloc(n, sizeof(*r));
	bool *dup = xcalloc(n, sizeof(*dup));
	for (size_t f = 0, k = 0; f < bag->n_files; f++)
		for (size_t i = 0; i < bag->files[f].n_dags; i++, k++)
			r[k] = (struct ranked_dag){bag->files[f].dags[i], k};
	qsort(r, n, sizeof(*r), cmp_ranked_dag);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (strcmp(r[i].dag->dag_id, r[first].dag->dag_id) != 0) {
			first = i;
			continue;
		}
		const struct dag *d = r[i].dag, *winner = r[first].dag;
		dag_errors_add(errs, d->file, d->line, "DAG '%s' already defined at %s:%d",
			       d->dag_id, winner->file, winner->line);
		dup[r[i].order] = true;
	}
	free(bag->active);
	bag->active = xcalloc(n, sizeof(*bag->active));
	bag->n_active = 0;
	for (size_t f = 0, k = 0; f < bag->n_files; f++)
		for (size_t i = 0; i < bag->files[f].n_dags; i++, k++)
			if (!dup[k])
				bag->active[bag->n_active++] = bag->files[f].dags[i];
	free(r);
	free(dup);
}

/* Keeps what a watcher needs from the scan: the folders walked, the symlinked files, and how
 * many changes were left for later. */
static void watch_lists_update(struct dagbag *bag, struct scan *sc)
{
	strv_finish(&bag->dirs);
	for (size_t i = 0; i < sc->n_visited; i++)
		strv_push(&bag->dirs, sc->visited[i].path);
	strv_finish(&bag->links);
	bag->links = sc->links;
	sc->links = (struct strv){0};
	bag->settle_wait_ms = sc->settle_wait_ms;
}

long dagbag_refresh(struct dagbag *bag)
{
	struct dag_errors errs = {0};
	struct scan sc = {.errs = &errs, .settle_wait_ms = -1};
	long parsed = -1;
	if (scan_dir(&sc, bag->folder, 0)) {
		if (sc.len)
			qsort(sc.v, sc.len, sizeof(*sc.v), cmp_found);
		struct dagbag_file *files;
		size_t n;
		parsed = files_update(bag, &sc, &files, &n);
		for (size_t i = 0; i < bag->n_files; i++) {
			if (bag->files[i].seen)
				continue;
			if (!bag->files[i].replaced)
				cache_drop(bag, bag->files[i].path); /* the file is gone */
			file_finish(&bag->files[i]);
		}
		free(bag->files);
		bag->files = files;
		bag->n_files = n;
		active_build(bag, &errs);
	}
	watch_lists_update(bag, &sc);
	scan_finish(&sc);
	if (bag->settle_ms > 0)
		log_folder_errors(&errs, &bag->errors);
	dag_errors_finish(&bag->errors);
	bag->errors = errs;
	return parsed;
}

const struct dag *dagbag_find(const struct dagbag *bag, const char *dag_id)
{
	for (size_t i = 0; dag_id && i < bag->n_active; i++)
		if (strcmp(bag->active[i]->dag_id, dag_id) == 0)
			return bag->active[i];
	return NULL;
}

void dagbag_foreach(const struct dagbag *bag, void (*fn)(const struct dag *dag, void *ud), void *ud)
{
	for (size_t i = 0; i < bag->n_active; i++)
		fn(bag->active[i], ud);
}

size_t dagbag_error_count(const struct dagbag *bag)
{
	size_t n = bag->errors.len;
	for (size_t i = 0; i < bag->n_files; i++)
		n += bag->files[i].parsed.errors.len;
	return n;
}

void dagbag_finish(struct dagbag *bag)
{
	for (size_t i = 0; i < bag->n_files; i++)
		file_finish(&bag->files[i]);
	free(bag->files);
	free(bag->active);
	dag_errors_finish(&bag->errors);
	free(bag->folder);
	free(bag->cache_dir);
	strv_finish(&bag->dirs);
	strv_finish(&bag->links);
	if (bag->policy)
		policy_finish(bag->policy);
	free(bag->policy);
	*bag = (struct dagbag){0};
}
