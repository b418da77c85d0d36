/* version.c: strata version */
#include "cli.h"

int cmd_version(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	if (argc > 1)
		return st_cli_usage(err, "version takes no arguments");
	fprintf(cli->out, "strata version %s\n", STRATA_VERSION);
	return 0;
}
