/* pause.c: strata pause CONTAINER...: freeze the processes of running containers. */
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

static int pause_one(struct st_store *s, const struct st_container *c, void *ctx,
		     struct st_error **err)
{
	(void)ctx;
	return st_container_pause(s, c, err);
}

int cmd_pause(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	return run_each_verb(cli, "pause", "Pause all processes within one or more containers",
			     argc, argv, pause_one, err);
}
