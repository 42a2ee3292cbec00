/* dagbag.h - the DAGs of a dags folder: scan, parse each file, refresh only what changed. */
#ifndef SWARMFLOW_SCHED_DAGBAG_H
#define SWARMFLOW_SCHED_DAGBAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/dag.h"
#include "swarmflow/core/policy.h"

/* One `.dag` file as last seen. */
struct dagbag_file {
	char *path;       /* full path */
	int64_t mtime_ns; /* st_mtim of the version parsed */
	off_t size;
	struct dag_file parsed; /* the newest parse: its errors (and DAGs when it had none) */
	/* The DAGs in use: parsed.dags when the newest parse was good, else the last good
	 * version's (kept running while the file is broken), else none. Owned here. */
	struct dag **dags;
	size_t n_dags;
	bool unread;   /* internal: the file could not be read (tried again at each refresh) */
	bool seen;     /* internal: marked during a refresh */
	bool replaced; /* internal: a newer version of the same path took its place */
};

struct dagbag {
	char *folder;
	char *cache_dir;   /* last good text of each file (dagbag_set_cache), or NULL */
	int64_t settle_ms; /* a file changed less than this long ago is read later (0: at once) */
	struct policy *policy;     /* checked after each good parse (dagbag_set_policy), or NULL */
	struct dagbag_file *files; /* sorted by path */
	size_t n_files;
	struct dag_errors errors; /* folder-level problems (unreadable dirs, symlink loops,
				     duplicate DAG ids across files) of the last refresh */
	/* Every DAG in use, in file order then file position, without the duplicates across
	 * files; rebuilt by each refresh. The pointers belong to files[]. */
	const struct dag **active;
	size_t n_active;
	/* For a watcher (watch.h), from the last refresh: every folder walked (the dags folder
	 * first, each one once, by the path it was reached through), the .dag files that are
	 * symlinks themselves (their targets change without an event in the folder), and how
	 * long until the first changed file left for a later refresh (written less than
	 * settle_ms ago, or with an mtime in the future) has settled (-1: none was left). */
	struct strv dirs;
	struct strv links;
	int64_t settle_wait_ms;
};

/* Sets up an empty bag for folder (nothing is read yet). */
void dagbag_init(struct dagbag *bag, const char *folder);
/* Keeps the last good text of every file in dir (created when missing), so that a file that
 * turns invalid keeps its last good DAGs in every process that reads the folder (the daemon, and
 * `dags list`/`dags trigger` run later), not only in the one that saw it good. The copy goes
 * when the file is deleted. */
void dagbag_set_cache(struct dagbag *bag, const char *dir);

/* A file whose mtime is less than ms old is not parsed yet (its previous version, if any,
 * stays): a file being written (cp truncates first, editors rewrite) is never read half-done.
 * For the daemon; one-shot commands read files as they are (and print the errors their own way).
 * A bag with a settle time is watched: it logs what is wrong once, when set and then at each
 * change, never at every refresh: "dag file invalid file=PATH errors=N dags_kept=K: LINE: first
 * error" (warn) for each version of a file with errors, "dag file valid again file=PATH" (info)
 * when a file with errors becomes valid, and "dags folder problem file=PATH: ..." (warn) for
 * each new folder-level error (unreadable folder, symlink loop, dangling link, a DAG id already
 * defined in another file). */
void dagbag_set_settle(struct dagbag *bag, int64_t ms);

/* Checks every file's DAGs against a copy of p from now on (NULL: no policy, the default). A
 * file whose DAGs break it is an errored file like any other: its errors say which rule
 * ("FILE:LINE: dag 'x' task 'y': policy: ..."), it contributes no DAG, its text is not kept as
 * the last good version, and the last good version it falls back on (the one in memory or the
 * cached copy) is used only if it passes the policy too. Every file is parsed again at the next
 * refresh, so a new policy (a reloaded config) applies to unchanged files as well. */
void dagbag_set_policy(struct dagbag *bag, const struct policy *p);

/* Scans the folder (subfolders too; names starting with '.' are skipped; only *.dag; symlink
 * loops detected), parses new or changed files (mtime or size differ), drops removed files, and
 * checks DAG ids are unique across files (the later path, in sorted order, gets the error
 * "DAG 'x' already defined at FILE:LINE" and its DAG is not used). Files over 10 MiB are refused
 * with an error. A file that could not be read (e.g. no permission) is tried again at every
 * refresh. Returns the number of files (re)parsed (not counting those still unreadable), or -1
 * when the folder itself cannot be read (bag->errors says why; the previous DAGs stay).
 * Unchanged files cost one stat each (lstat, plus a stat for a symlink). */
long dagbag_refresh(struct dagbag *bag);
/* The DAG with that id currently in use, or NULL. */
const struct dag *dagbag_find(const struct dagbag *bag, const char *dag_id);
/* Calls fn for every DAG in use, in file order then file position. */
void dagbag_foreach(const struct dagbag *bag, void (*fn)(const struct dag *dag, void *ud),
		    void *ud);
/* Total number of errors (files' and folder-level). */
size_t dagbag_error_count(const struct dagbag *bag);
void dagbag_finish(struct dagbag *bag);

#endif
