/* container_rm.c: strata rm [-f] CONTAINER...: remove containers and their writable layers. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

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
	if (optind >= argc)
		return st_cli_usage(err, "\"rm\" requires at least 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_container) struct st_container *ctr = NULL;
		if (st_container_find(s, argv[i], &ctr, err) < 0 ||
		    st_container_remove(s, ctr, flags, err) < 0) {
			failed = run_fail("rm", st_steal(err), 1);
			continue;
		}
		fprintf(cli->out, "%s\n", argv[i]);
	}
	return failed;
}
