/* container_rm.c: strata rm [-f] CONTAINER...: remove containers and their writable layers. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

static int remove_one(struct st_store *s, const struct st_container *c, void *ctx,
		      struct st_error **err)
{
	return st_container_remove(s, c, *(unsigned *)ctx, err);
}

int cmd_container_rm(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "volumes", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned flags = 0;
	int c;
	while ((c = getopt_long(argc, argv, "fvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			flags |= ST_CONTAINER_RM_FORCE;
			break;
		case 'v':
			flags |= ST_CONTAINER_RM_VOLUMES;
			break;
		case 'h':
			fputs("Usage: strata rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
			      "Remove one or more containers\n\nOptions:\n"
			      "  -f, --force     Force the removal of a running container (uses "
			      "SIGKILL)\n"
			      "  -v, --volumes   Remove anonymous volumes associated with the "
			      "container\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata rm --help'");
		}
	}
	return run_each(cli, "rm", argc, argv, remove_one, &flags, err);
}
