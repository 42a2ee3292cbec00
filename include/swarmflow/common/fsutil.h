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

#endif
