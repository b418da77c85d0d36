/* store_open.c: the store, opened once per process on first use. */
#include "cli.h"

#include "store/store.h"

int st_cli_store(struct st_cli *cli, struct st_store **out, struct st_error **err)
{
	if (!cli->store && st_store_open(cli->root, &cli->store, err) < 0)
		return -1;
	*out = cli->store;
	return 0;
}

void st_cli_close(struct st_cli *cli)
{
	st_store_free(cli->store);
	cli->store = NULL;
}
