/* idle.c - what a running process costs over a window: CPU and wake-ups per second (benchmark). */
/*
 * Usage: idle PID SECONDS
 * Reads, for every thread of PID, the CPU time it has run (/proc/PID/task/TID/schedstat, in ns:
 * the kernel's own accounting, the one getrusage(2) sums, at ns instead of getrusage's us) and
 * how often it blocked (voluntary_ctxt_switches in .../status: getrusage's ru_nvcsw; each one is
 * followed by one wake-up), sleeps SECONDS, reads them again, and prints one JSON object: the
 * window, CPU ms and CPU ms per second, wake-ups and wake-ups per second, and the same per thread
 * (by name), so that what wakes an idle process can be seen.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Threads followed at most (the scheduler has a handful). */
#define MAX_THREADS 64

struct thread {
	long tid;
	char name[32];
	long long cpu_ns;
	long long switches;
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static FILE *open_task(long pid, long tid, const char *file)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/%s", pid, tid, file);
	return fopen(path, "r");
}

/* One thread's counters; false when it is gone. */
static bool read_thread(long pid, struct thread *t)
{
	FILE *f = open_task(pid, t->tid, "schedstat");
	if (!f)
		return false;
	bool ok = fscanf(f, "%lld", &t->cpu_ns) == 1;
	fclose(f);
	f = open_task(pid, t->tid, "status");
	if (!f)
		return false;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Name:", 5) == 0)
			sscanf(line + 5, "%31s", t->name);
		else if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
			t->switches = strtoll(line + 24, NULL, 10);
	}
	fclose(f);
	return ok;
}

/* Every thread of pid now; returns how many (-1: no such process). */
static int read_all(long pid, struct thread *v)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < MAX_THREADS) {
		if (e->d_name[0] == '.')
			continue;
		v[n] = (struct thread){.tid = strtol(e->d_name, NULL, 10)};
		n += read_thread(pid, &v[n]);
	}
	closedir(d);
	return n;
}

static const struct thread *find(const struct thread *v, int n, long tid)
{
	for (int i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: idle PID SECONDS\n");
		return 2;
	}
	long pid = strtol(argv[1], NULL, 10);
	double secs = strtod(argv[2], NULL);
	static struct thread a[MAX_THREADS], b[MAX_THREADS];
	int na = read_all(pid, a);
	double t0 = mono_s();
	struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
	nanosleep(&ts, NULL);
	int nb = read_all(pid, b);
	double wall = mono_s() - t0;
	if (na < 0 || nb < 0) {
		fprintf(stderr, "idle: no process %ld\n", pid);
		return 1;
	}
	long long cpu = 0, wakes = 0;
	printf("{\"seconds\":%.3f,\"threads\":[", wall);
	for (int i = 0; i < nb; i++) {
		const struct thread *before = find(a, na, b[i].tid);
		long long c = b[i].cpu_ns - (before ? before->cpu_ns : 0);
		long long w = b[i].switches - (before ? before->switches : 0);
		cpu += c;
		wakes += w;
		printf("%s{\"name\":\"%s\",\"cpu_ms\":%.3f,\"wakeups\":%lld}", i ? "," : "",
		       b[i].name, (double)c / 1e6, w);
	}
	printf("],\"cpu_ms\":%.3f,\"cpu_ms_per_s\":%.4f,\"wakeups\":%lld,\"wakeups_per_s\":%.3f}\n",
	       (double)cpu / 1e6, (double)cpu / 1e6 / wall, wakes, (double)wakes / wall);
	return 0;
}
