/* store_open.c: the store, opened once per process on first use. */
#include "cli.h"

void st_cli_close(struct st_cli *cli)
{
	(void)cli;
}
