/* cmd_clear.c - `tasks clear` (placeholder until the scheduling issue lands it). */
#include <stdio.h>

#include "cli.h"

int cmd_tasks_clear(struct cli *cli, int argc, char **argv)
{
	fprintf(stderr, "swarmflow: tasks clear is not implemented yet\n");
	return EXIT_FAILED;
}
