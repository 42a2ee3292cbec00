/* fsutil.c - small file-system helpers: create a folder path, replace a file atomically. */
#include "swarmflow/common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swarmflow/common/util.h"

static bool mkdir_one(const char *path)
{
	struct stat st;
	if (mkdir(path, 0755) == 0)
		return true;
	if (errno != EEXIST)
		return false;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return true;
	errno = ENOTDIR;
	return false;
}

bool fs_mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	bool ok = true;
	for (char *q = p + 1; ok && *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		ok = mkdir_one(p);
		*q = '/';
	}
	ok = ok && mkdir_one(p);
	free(p);
	return ok;
}

static bool write_all(int fd, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

bool fs_write_atomic(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && write_all(fd, data, len);
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	ok = ok && rename(tmp, path) == 0;
	if (!ok) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(tmp);
	return ok;
}
