/* loadbag.c - times the loading of a dags folder and idle refreshes of it (benchmark). */
/*
 * Usage: loadbag FOLDER [IDLE_REFRESHES]
 * Loads FOLDER with the scheduler's own dagbag (the cold load), then refreshes it
 * IDLE_REFRESHES times (default 20) with nothing changed. Prints one JSON object: wall and CPU
 * time of the load, CPU per idle refresh, the number of files and DAGs, and VmRSS/VmHWM after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "swarmflow/sched/dagbag.h"

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A "VmXXX:" line of /proc/self/status in kB, or -1. */
static long status_kb(const char *key)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	size_t n = strlen(key);
	while (fp && fgets(line, sizeof(line), fp))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	if (fp)
		fclose(fp);
	return kb;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: loadbag FOLDER [IDLE_REFRESHES]\n");
		return 2;
	}
	long idle = argc == 3 ? strtol(argv[2], NULL, 10) : 20;
	long rss_before = status_kb("VmRSS");
	struct dagbag bag;
	dagbag_init(&bag, argv[1]);
	double w0 = mono_s(), c0 = cpu_s();
	long parsed = dagbag_refresh(&bag);
	double load_wall = mono_s() - w0, load_cpu = cpu_s() - c0;
	long rss_loaded = status_kb("VmRSS");
	double w1 = mono_s(), c1 = cpu_s();
	long reparsed = 0;
	for (long i = 0; i < idle; i++)
		reparsed += dagbag_refresh(&bag);
	double idle_wall = mono_s() - w1, idle_cpu = cpu_s() - c1;
	printf("{\"files\":%zu,\"parsed\":%ld,\"dags\":%zu,\"errors\":%zu,\"load_wall_s\":%.6f,"
	       "\"load_cpu_s\":%.6f,\"idle_refreshes\":%ld,\"idle_reparsed\":%ld,"
	       "\"idle_wall_ms_per_refresh\":%.4f,\"idle_cpu_ms_per_refresh\":%.4f,"
	       "\"rss_before_kb\":%ld,\"rss_loaded_kb\":%ld,\"hwm_kb\":%ld}\n",
	       bag.n_files, parsed, bag.n_active, dagbag_error_count(&bag), load_wall, load_cpu,
	       idle, reparsed, idle ? idle_wall * 1e3 / (double)idle : 0.0,
	       idle ? idle_cpu * 1e3 / (double)idle : 0.0, rss_before, rss_loaded,
	       status_kb("VmHWM"));
	dagbag_finish(&bag);
	return parsed < 0 ? 1 : 0;
}
