/* dirwatch.c - the pure rules of the dags-folder watcher: which names matter, when to refresh. */
#include "swarmflow/core/dirwatch.h"

#include <string.h>

#include "swarmflow/common/util.h"

/* vim's swap file suffixes: ".swp", then ".swo", ".swn", ... down to ".saa", and ".swx" (the
 * file it creates to test a folder). */
static bool vim_swap(const char *name)
{
	size_t n = strlen(name);
	if (name[0] != '.' || n < 5 || name[n - 4] != '.' || name[n - 3] != 's')
		return false;
	char a = name[n - 2], b = name[n - 1];
	return a >= 'a' && a <= 'w' && b >= 'a' && b <= 'z';
}

bool dirwatch_name_ignored(const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return false;
	if (name[n - 1] == '~' || str_has_prefix(name, ".#") || strcmp(name, "4913") == 0)
		return true;
	if (n > 2 && name[0] == '#' && name[n - 1] == '#')
		return true;
	return vim_swap(name);
}

void dirwatch_burst_note(struct dirwatch_burst *b, int64_t now_ms)
{
	if (now_ms == 0)
		now_ms = 1; /* 0 means "nothing pending" */
	if (!b->first_ms)
		b->first_ms = now_ms;
	b->last_ms = now_ms;
}

int64_t dirwatch_burst_due(const struct dirwatch_burst *b)
{
	if (!b->first_ms)
		return INT64_MAX;
	int64_t quiet = b->last_ms + DIRWATCH_QUIET_MS;
	int64_t cap = b->first_ms + DIRWATCH_BURST_MAX_MS;
	return quiet < cap ? quiet : cap;
}
