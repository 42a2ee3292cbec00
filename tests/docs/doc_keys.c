/* doc_keys.c - prints the config and .dag key tables from the code, for tests/docs/check. */
#include <stdio.h>
#include <stdlib.h>

#include "swarmflow/core/config.h"
#include "swarmflow/core/dag.h"

/* Output, one record a line, fields separated by tabs:
 *   config NAME ENV DEFAULT    every key of swarmflow.conf (src/core/config.c)
 *   dag KEY                    every key of a `dag NAME { }` section (src/core/dag_parse.c)
 *   task KEY                   every key of `task NAME { }` and `defaults { }` */
int main(void)
{
	for (size_t i = 0; i < config_key_count(); i++) {
		struct config_key_info info;
		config_key_info_get(i, &info);
		printf("config\t%s\t%s\t%s\n", info.name, info.env, info.default_value);
		config_key_info_finish(&info);
	}
	const char *name;
	for (size_t i = 0; (name = dag_key_name(false, i)); i++)
		printf("dag\t%s\n", name);
	for (size_t i = 0; (name = dag_key_name(true, i)); i++)
		printf("task\t%s\n", name);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
