/* dirwatch.h - the pure rules of the dags-folder watcher: which names matter, when to refresh. */
#ifndef SWARMFLOW_CORE_DIRWATCH_H
#define SWARMFLOW_CORE_DIRWATCH_H

#include <stdbool.h>
#include <stdint.h>

/* A refresh comes this long after the last change seen (a file is read once, after its last
 * write)... */
#define DIRWATCH_QUIET_MS 200
/* ...but never later than this after the first change of a burst (a folder that keeps changing
 * is still refreshed, and a changed file parsed within 1 s of its last write holds when the
 * writes end before that). */
#define DIRWATCH_BURST_MAX_MS 900

/* True for the names of editors' temporary and backup files, which no refresh is needed for:
 * vim's swap files (".x.dag.swp", ".swo", ".swx", ...) and its "4913" write test, backups
 * ending in '~', emacs' lock files (".#x.dag") and autosaves ("#x.dag#"). Everything else
 * counts (a rename of "x.dag.tmp" to "x.dag" is seen as a change of "x.dag"). */
bool dirwatch_name_ignored(const char *name);

/* The changes seen since the last refresh (all times monotonic, in ms; zeroed: none). */
struct dirwatch_burst {
	int64_t first_ms; /* 0: nothing pending */
	int64_t last_ms;
};

/* Records a change seen at now_ms. */
void dirwatch_burst_note(struct dirwatch_burst *b, int64_t now_ms);
/* When the refresh for the pending changes is due: DIRWATCH_QUIET_MS after the last one, capped
 * at DIRWATCH_BURST_MAX_MS after the first; INT64_MAX when nothing is pending. */
int64_t dirwatch_burst_due(const struct dirwatch_burst *b);

#endif
