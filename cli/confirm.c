/* confirm.c: the "[y/N]" question of the prune verbs. */
#include <stdio.h>

#include "cli.h"

bool st_cli_confirm(struct st_cli *cli, const char *warning)
{
	/* Like Docker, stdin is read even when it is no terminal: a script that pipes nothing,
	 * or no "y", gets nothing removed rather than a prune it did not ask for. */
	fprintf(cli->errout, "%sAre you sure you want to continue? [y/N] ", warning);
	fflush(cli->errout);
	char line[16] = "";
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}
