/* cmd_health.c - `health`: is the scheduler of this state_dir alive and talking to the engine?
 * (the container's HEALTHCHECK). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "swarmflow/common/timeutil.h"
#include "swarmflow/sched/heartbeat.h"

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
	bool healthy = heartbeat_read(cli->cfg.state_dir, &hb, &why) &&
		       heartbeat_judge(&hb, time_now_ms(), &why);
	printf("%s\n", why ? why : "unhealthy");
	free(why);
	return healthy ? EXIT_OK : EXIT_FAILED;
}
