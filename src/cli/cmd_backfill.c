/* cmd_backfill.c - `dags backfill` (placeholder until the scheduling issue lands it). */
#include <stdio.h>

#include "cli.h"

int cmd_dags_backfill(struct cli *cli, int argc, char **argv)
{
	fprintf(stderr, "swarmflow: dags backfill is not implemented yet\n");
	return EXIT_FAILED;
}
