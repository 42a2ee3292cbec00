/* fsutil.h - small file-system helpers: create a folder path, replace a file atomically. */
#ifndef SWARMFLOW_COMMON_FSUTIL_H
#define SWARMFLOW_COMMON_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Creates path and its missing parents (mode 0755). True when it exists afterwards; errno is
 * left set on failure. */
bool fs_mkdir_p(const char *path);

/* Writes len bytes to path through "path.tmp" and rename(), so readers never see half a file.
 * False (errno set, the temporary removed) on failure. */
bool fs_write_atomic(const char *path, const char *data, size_t len);

/* Takes an exclusive lock (flock) on path, created when missing, and writes owner into it.
 * Returns the open descriptor: the lock is held while it stays open (and dies with the
 * process). Returns -1 when it cannot: errno EWOULDBLOCK when another process holds the lock,
 * with *holder set to what that process wrote (caller frees); other errors leave *holder NULL. */
int fs_lock_file(const char *path, const char *owner, char **holder);

#endif
