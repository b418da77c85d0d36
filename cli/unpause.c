/* unpause.c: strata unpause CONTAINER...: thaw the processes of paused containers. */
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

static int unpause_one(struct st_store *s, const struct st_container *c, void *ctx,
		       struct st_error **err)
{
	(void)ctx;
	return st_container_unpause(s, c, err);
}

int cmd_unpause(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	return run_each_verb(cli, "unpause", "Unpause all processes within one or more containers",
			     argc, argv, unpause_one, err);
}
