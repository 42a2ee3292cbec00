/* db_files.h - for the unit tests that use a database file: removing it with the files SQLite
 * keeps beside it. */
#ifndef SWARMFLOW_TESTS_DB_FILES_H
#define SWARMFLOW_TESTS_DB_FILES_H

#include <stdio.h>
#include <unistd.h>

#include "swarmflow/common/util.h"

/* Unlinks path and its -wal, -shm and -journal files, those that exist. */
static inline void remove_db(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

#endif
