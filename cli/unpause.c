/* unpause.c: strata unpause CONTAINER...: thaw the processes of paused containers. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_unpause(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs("Usage: strata unpause CONTAINER [CONTAINER...]\n\n"
			      "Unpause all processes within one or more containers\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata unpause --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"unpause\" requires at least 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_container) struct st_container *ctr = NULL;
		if (st_container_find(s, argv[i], &ctr, err) < 0 ||
		    st_container_unpause(s, ctr, err) < 0) {
			failed = run_fail("unpause", st_steal(err), 1);
			continue;
		}
		fprintf(cli->out, "%s\n", argv[i]);
	}
	return failed;
}
