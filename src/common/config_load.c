/* config_load.c - finds and reads swarmflow.conf (the I/O half of core/config.c). */
#include "swarmflow/core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES (1024 * 1024) /* a bigger config file is refused, not read */

/* Tried in this order when neither --config nor $SWARMFLOW_CONFIG names a file. */
static const char *const implicit_paths[] = {
    "./swarmflow.conf",
    "/etc/swarmflow/swarmflow.conf",
};

/* Reads all of fp (at most CONFIG_MAX_BYTES) into *data, NUL-terminated. */
static bool read_all(FILE *fp, const char *path, char **data, char **err)
{
	struct buf b;
	buf_init(&b, CONFIG_MAX_BYTES);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (!buf_append(&b, chunk, n)) {
			buf_finish(&b);
			return set_err(err, "%s: larger than %d bytes", path, CONFIG_MAX_BYTES);
		}
	}
	if (ferror(fp)) {
		int e = errno;
		buf_finish(&b);
		return set_err(err, "%s: %s", path, strerror(e));
	}
	if (b.len && memchr(b.data, '\0', b.len)) {
		buf_finish(&b);
		return set_err(err, "%s: contains a NUL byte", path);
	}
	*data = buf_steal(&b);
	return true;
}

/* Reads path into *data. Returns 1 when read, 0 when it does not exist and is optional, -1 on
 * an error (with *err set). */
static int read_file(const char *path, bool required, char **data, char **err)
{
	FILE *fp = fopen(path, "re");
	if (!fp) {
		if (errno == ENOENT && !required)
			return 0;
		set_err(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	bool ok = read_all(fp, path, data, err);
	fclose(fp);
	return ok ? 1 : -1;
}

/* Finds the config file by the lookup order and reads it. Returns like read_file, with *path
 * set to the file read. */
static int find_file(const char *explicit_path, char *const *envp, const char **path, char **data,
		     char **err)
{
	const char *named = explicit_path && *explicit_path ? explicit_path : NULL;
	const char *env = env_lookup(envp, "SWARMFLOW_CONFIG");
	if (!named && env && *env)
		named = env;
	if (named) {
		*path = named;
		return read_file(named, true, data, err);
	}
	for (size_t i = 0; i < ARRAY_LEN(implicit_paths); i++) {
		*path = implicit_paths[i];
		int rc = read_file(*path, false, data, err);
		if (rc != 0)
			return rc;
	}
	*path = NULL;
	return 0;
}

bool config_load(struct config *cfg, const char *explicit_path, char *const *envp, char **err)
{
	const char *path = NULL;
	char *data = NULL;
	int rc = find_file(explicit_path, envp, &path, &data, err);
	bool ok = rc >= 0;
	if (rc > 0)
		ok = config_parse_buf(cfg, data, path, err);
	free(data);
	return ok && config_apply_env(cfg, envp, err);
}
