/* fake_engine_main.c - the fake engine as a program, for end-to-end tests of the swarmflow binary
 * against what the real engine here cannot show: a node that is not a manager, or not in a
 * swarm, or a manager that hangs (accepts GET /tasks and never answers).
 * Prints the socket path on stdout, then serves until SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fake_engine.h"

static const struct fake_route worker_routes[] = {
    {"/info ", "200 OK",
     "{\"ServerVersion\": \"20.10.24\", \"Swarm\": {\"NodeID\": \"w1\", \"LocalNodeState\": "
     "\"active\", \"ControlAvailable\": false}}",
     NULL, NULL, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct fake_route no_swarm_routes[] = {
    {"/info ", "200 OK",
     "{\"ServerVersion\": \"20.10.24\", \"Swarm\": {\"NodeID\": \"\", \"LocalNodeState\": "
     "\"inactive\", \"ControlAvailable\": false}}",
     NULL, NULL, 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct fake_engine_opts opts = {.swarm = true};
	if (strcmp(mode, "worker") == 0) {
		opts.routes = worker_routes;
	} else if (strcmp(mode, "no-swarm") == 0) {
		opts.routes = no_swarm_routes;
	} else if (strcmp(mode, "manager") != 0 && strcmp(mode, "hung-tasks") != 0) {
		fprintf(stderr, "usage: fake-engine manager|worker|no-swarm|hung-tasks\n");
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL); /* before the server thread starts: it inherits it */
	struct fake_engine *fe = fake_engine_create(&opts);
	if (!fe) {
		perror("fake-engine");
		return 1;
	}
	if (strcmp(mode, "hung-tasks") == 0)
		fake_engine_fault(fe, "/tasks", NULL, NULL, -1);
	printf("%s\n", fake_engine_socket(fe));
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	fake_engine_destroy(fe);
	return 0;
}
