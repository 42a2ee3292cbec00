/* watch.c - the dags folder watched with inotify, so that an idle scheduler never polls it. */
#include "swarmflow/sched/watch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/util.h"
#include "swarmflow/core/dirwatch.h"

/* What a folder watch reports: its entries created, deleted, written, moved in or out, their
 * permissions changed, and the folder itself deleted or moved. */
#define DIR_MASK                                                                                   \
	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |        \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* The target of a symlinked .dag file: written, replaced, deleted. */
#define FILE_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
/* The folder above the dags folder: only the dags folder's own name matters there. */
#define PARENT_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR)

enum watch_kind { W_DIR, W_FILE, W_PARENT };

struct watch {
	int wd;
	char *path;
	enum watch_kind kind;
	bool seen; /* wanted by the current sync */
};

struct dagwatch {
	const struct dagwatch_sys *sys;
	char *folder;
	char *parent; /* the folder above it, or NULL (the dags folder is "/") */
	char *base;   /* the dags folder's name in parent */
	int fd;
	bool active;
	bool announced; /* the first sync said the folder is watched */
	struct watch *v;
	size_t n;
	struct dirwatch_burst burst; /* changes seen since the last refresh */
	int64_t rescan_ms;           /* next safety-net rescan (monotonic) */
	int64_t retry_ms;            /* next look at files left for later, or INT64_MAX */
};

/* ---- the real system calls ---- */

static int sys_init(void)
{
	return inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

static int sys_add(int fd, const char *path, uint32_t mask)
{
	return inotify_add_watch(fd, path, mask);
}

static int sys_rm(int fd, int wd)
{
	return inotify_rm_watch(fd, wd);
}

/* Filesystems whose changes made by other hosts (or by a FUSE daemon) raise no inotify event on
 * this one; from statfs(2) f_type. */
static const struct {
	unsigned long magic;
	const char *name;
} remote_types[] = {
    {0x6969, "NFS"},        {0x517B, "SMB"},      {0xFF534D42, "CIFS"}, {0xFE534D42, "SMB2"},
    {0x65735546, "FUSE"},   {0x01021997, "9P"},   {0x00C36400, "Ceph"}, {0x5346414F, "AFS"},
    {0x0BD00BD0, "Lustre"}, {0x73757245, "Coda"}, {0x47504653, "GPFS"}, {0x01161970, "GFS2"},
};

static const char *sys_remote_fs(const char *path)
{
	struct statfs sf;
	if (statfs(path, &sf) != 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(remote_types); i++)
		if ((unsigned long)(unsigned int)sf.f_type == remote_types[i].magic)
			return remote_types[i].name;
	return NULL;
}

const struct dagwatch_sys dagwatch_sys_linux = {sys_init, sys_add, sys_rm, sys_remote_fs};

/* ---- the watcher ---- */

static void watches_free(struct dagwatch *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].path);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

/* Gives up on inotify for good, saying why once: the caller polls from now on. */
static void fall_back(struct dagwatch *w, const char *why)
{
	if (!w->active)
		return;
	log_warnx("dags folder %s: %s: falling back to polling it every dag_reload_interval",
		  w->folder, why);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->active = false;
	watches_free(w);
}

/* Splits folder into the folder above it and its name (trailing slashes ignored). */
static void split_folder(struct dagwatch *w)
{
	char *f = xstrdup(w->folder);
	size_t n = strlen(f);
	while (n > 1 && f[n - 1] == '/')
		f[--n] = '\0';
	char *slash = strrchr(f, '/');
	if (!slash) {
		w->parent = xstrdup(".");
		w->base = xstrdup(f);
	} else if (slash[1] != '\0') {
		w->base = xstrdup(slash + 1);
		*slash = '\0';
		w->parent = xstrdup(slash == f ? "/" : f);
	}
	free(f);
}

struct dagwatch *dagwatch_create(const char *folder, const struct dagwatch_sys *sys)
{
	struct dagwatch *w = xcalloc(1, sizeof(*w));
	w->sys = sys ? sys : &dagwatch_sys_linux;
	w->folder = xstrdup(folder);
	w->rescan_ms = INT64_MAX;
	w->retry_ms = INT64_MAX;
	split_folder(w);
	w->fd = w->sys->init();
	w->active = true;
	if (w->fd < 0) {
		char why[256];
		snprintf(why, sizeof(why), "inotify is not available (%s)", strerror(errno));
		fall_back(w, why);
	}
	return w;
}

void dagwatch_destroy(struct dagwatch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	watches_free(w);
	free(w->folder);
	free(w->parent);
	free(w->base);
	free(w);
}

bool dagwatch_active(const struct dagwatch *w)
{
	return w->active;
}

int dagwatch_fd(const struct dagwatch *w)
{
	return w->active ? w->fd : -1;
}

size_t dagwatch_count(const struct dagwatch *w)
{
	return w->n;
}

static struct watch *watch_by_wd(struct dagwatch *w, int wd)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].wd == wd)
			return &w->v[i];
	return NULL;
}

/* Whether one event asks for a refresh. */
static bool event_matters(struct dagwatch *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW)
		return true; /* events were lost: rescan */
	const struct watch *wt = watch_by_wd(w, ev->wd);
	if (!wt)
		return false; /* a watch dropped by the last sync */
	const char *name = ev->len ? ev->name : "";
	switch (wt->kind) {
	case W_PARENT:
		return strcmp(name, w->base) == 0;
	case W_FILE:
		return true;
	case W_DIR:
		break;
	}
	if (!*name || (ev->mask & IN_ISDIR))
		return true; /* the folder itself, or a subfolder */
	return !dirwatch_name_ignored(name);
}

void dagwatch_read(struct dagwatch *w, int64_t now_ms)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (w->active) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EAGAIN: drained */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (event_matters(w, ev))
				dirwatch_burst_note(&w->burst, now_ms);
			p += sizeof(*ev) + ev->len;
		}
	}
}

int64_t dagwatch_due(const struct dagwatch *w)
{
	if (!w->active)
		return INT64_MAX;
	int64_t due = dirwatch_burst_due(&w->burst);
	if (w->rescan_ms < due)
		due = w->rescan_ms;
	return w->retry_ms < due ? w->retry_ms : due;
}

/* Watches path as kind (again: the inode behind a path may have changed). Returns false when
 * the watcher fell back to polling. */
static bool watch_one(struct dagwatch *w, const char *path, enum watch_kind kind, int64_t now_ms)
{
	const char *remote = kind == W_DIR ? w->sys->remote_fs(path) : NULL;
	if (remote) {
		char why[PATH_MAX + 128];
		snprintf(why, sizeof(why),
			 "%s is on a %s filesystem, whose changes made on other hosts raise no "
			 "inotify event",
			 path, remote);
		fall_back(w, why);
		return false;
	}
	uint32_t mask = kind == W_DIR ? DIR_MASK : kind == W_FILE ? FILE_MASK : PARENT_MASK;
	int wd = w->sys->add(w->fd, path, mask);
	if (wd < 0 && (errno == ENOSPC || errno == ENOMEM)) {
		fall_back(
		    w, "the inotify watch limit is reached (sysctl fs.inotify.max_user_watches)");
		return false;
	}
	if (wd < 0)
		return true; /* gone since the scan, or unreadable: the next scan says so */
	for (size_t i = 0; i < w->n; i++) {
		struct watch *wt = &w->v[i];
		if (wt->kind == kind && strcmp(wt->path, path) == 0) {
			if (wt->wd != wd) /* the path now leads elsewhere: look at it again */
				dirwatch_burst_note(&w->burst, now_ms);
			wt->wd = wd;
			wt->seen = true;
			return true;
		}
	}
	/* New: what changed in it between the scan and now is found by one more refresh. */
	dirwatch_burst_note(&w->burst, now_ms);
	w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	w->v[w->n++] = (struct watch){wd, xstrdup(path), kind, true};
	return true;
}

/* Drops the watches the last sync did not want (the kernel's watch only when no wanted path
 * shares it: two paths may lead to one folder). */
static void drop_unseen(struct dagwatch *w)
{
	size_t k = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].seen) {
			w->v[k++] = w->v[i];
			continue;
		}
		bool shared = false;
		for (size_t j = 0; j < w->n; j++)
			shared |= j != i && w->v[j].seen && w->v[j].wd == w->v[i].wd;
		if (!shared)
			w->sys->rm(w->fd, w->v[i].wd);
		free(w->v[i].path);
	}
	w->n = k;
}

void dagwatch_sync(struct dagwatch *w, const struct dagbag *bag, int64_t now_ms, int64_t rescan_ms)
{
	if (!w->active)
		return;
	w->burst = (struct dirwatch_burst){0};
	for (size_t i = 0; i < w->n; i++)
		w->v[i].seen = false;
	bool ok = !w->parent || watch_one(w, w->parent, W_PARENT, now_ms);
	for (size_t i = 0; ok && i < bag->dirs.len; i++)
		ok = watch_one(w, bag->dirs.v[i], W_DIR, now_ms);
	for (size_t i = 0; ok && i < bag->links.len; i++)
		ok = watch_one(w, bag->links.v[i], W_FILE, now_ms);
	if (!ok)
		return;
	drop_unseen(w);
	w->rescan_ms = now_ms + rescan_ms;
	w->retry_ms = bag->settle_wait_ms >= 0 ? now_ms + bag->settle_wait_ms : INT64_MAX;
	if (!w->announced)
		log_info("dags folder %s: watched with inotify (%zu folders); full rescan every "
			 "%llds",
			 w->folder, bag->dirs.len, (long long)(rescan_ms / 1000));
	w->announced = true;
}
