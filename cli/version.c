/* version.c: strata version */
#include <string.h>

#include "cli.h"

int cmd_version(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("Usage: strata version\n\nShow the strata version\n", cli->out);
		return 0;
	}
	if (argc > 1)
		return st_cli_usage(err, "version takes no arguments");
	fprintf(cli->out, "strata version %s\n", STRATA_VERSION);
	return 0;
}
