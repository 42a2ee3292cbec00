/* watch.h - the dags folder watched with inotify, so that an idle scheduler never polls it. */
#ifndef SWARMFLOW_SCHED_WATCH_H
#define SWARMFLOW_SCHED_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "swarmflow/sched/dagbag.h"

/* The system calls the watcher makes: dagwatch_sys_linux, or a test's fakes (a watch limit
 * reached, a network filesystem). */
struct dagwatch_sys {
	int (*init)(void);                                   /* inotify_init1: fd, or -1/errno */
	int (*add)(int fd, const char *path, uint32_t mask); /* inotify_add_watch */
	int (*rm)(int fd, int wd);                           /* inotify_rm_watch */
	/* The name of the filesystem type holding path when its changes made elsewhere (on
	 * another host) give no inotify events (NFS, CIFS/SMB, FUSE, ...), else NULL. */
	const char *(*remote_fs)(const char *path);
};
extern const struct dagwatch_sys dagwatch_sys_linux;

struct dagwatch;

/* A watcher for the dags folder of bag (nothing is watched before the first dagwatch_sync).
 * sys: NULL for dagwatch_sys_linux. Never NULL: when inotify cannot be used, the watcher is
 * inactive from the start (dagwatch_active), after saying why once in the log. */
struct dagwatch *dagwatch_create(const char *folder, const struct dagwatch_sys *sys);
/* Closes the inotify fd; accepts NULL. */
void dagwatch_destroy(struct dagwatch *w);

/* False once inotify cannot be relied on for this folder (no inotify, the watch limit
 * reached, a folder on a network or FUSE filesystem): said once in the log ("dags folder
 * FOLDER: ...: falling back to polling"); the caller then refreshes the bag by polling as
 * before. It stays false for the life of the watcher. */
bool dagwatch_active(const struct dagwatch *w);
/* The inotify fd to wait on (readable when events are queued), or -1 when inactive. */
int dagwatch_fd(const struct dagwatch *w);

/* Reads every queued event (non-blocking). A change that matters (any name but editors'
 * temporary files, see dirwatch_name_ignored; the folder itself created, deleted or moved; a
 * queue overflow) makes a refresh due (dagwatch_due). now_ms: monotonic. */
void dagwatch_read(struct dagwatch *w, int64_t now_ms);
/* When the bag must be refreshed next (monotonic ms): shortly after the changes seen (see
 * dirwatch.h), at the safety-net rescan, or to retry files written too recently; INT64_MAX
 * never (inactive). */
int64_t dagwatch_due(const struct dagwatch *w);
/* After a refresh of bag at now_ms: watches the folders it walked (subfolders, new ones, and
 * those reached through symlinks), the targets of symlinked files, and the folder above the
 * dags folder (to see the folder itself replaced), drops watches no longer needed, and sets
 * the next rescan rescan_ms later. Pending changes are cleared (the refresh read them). */
void dagwatch_sync(struct dagwatch *w, const struct dagbag *bag, int64_t now_ms, int64_t rescan_ms);
/* The number of inotify watches held (tests). */
size_t dagwatch_count(const struct dagwatch *w);

#endif
