/* cmd_health.c - `health`: is the scheduler of this state_dir alive and talking to the engine?
 * (the container's HEALTHCHECK). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/common/util.h"
#include "swarmflow/sched/heartbeat.h"

/* No healthy active scheduler: is this host's scheduler a live standby? Healthy when it beats
 * and its engine answers (it waits for the lease); *why (replaced) says so. */
static bool standby_healthy(struct cli *cli, char **why)
{
	char host[256];
	cli_host_name(host);
	struct heartbeat hb;
	char *err = NULL, *judged = NULL;
	if (!heartbeat_read(cli->cfg.state_dir, host, &hb, &err)) {
		free(err);
		return false;
	}
	bool healthy = heartbeat_judge(&hb, time_now_ms(), &judged);
	char *active = *why;
	if (healthy)
		*why = xasprintf(
		    "healthy: standby scheduler (pid %ld) waiting for the scheduler lease; "
		    "the active one: %s",
		    hb.pid, active ? active : "none");
	else
		*why = xasprintf("%s (a standby, not holding the scheduler lease)", judged);
	free(active);
	free(judged);
	return healthy;
}

int cmd_health(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = cli_command("health");
	int rc = EXIT_USAGE;
	if (cli_getopt(cmd, argc, argv, "", NULL, &rc) != -1)
		return rc;
	if (!cli_nargs(cmd, argc, argv, 0, 0) || !cli_config(cli))
		return EXIT_USAGE;
	struct heartbeat hb;
	char *why = NULL;
	bool healthy = heartbeat_read(cli->cfg.state_dir, NULL, &hb, &why) &&
		       heartbeat_judge(&hb, time_now_ms(), &why);
	if (!healthy)
		healthy = standby_healthy(cli, &why);
	printf("%s\n", why ? why : "unhealthy");
	free(why);
	return healthy ? EXIT_OK : EXIT_FAILED;
}
