/* pause.c: strata pause CONTAINER...: freeze the processes of running containers. */
#include <getopt.h>
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
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs("Usage: strata pause CONTAINER [CONTAINER...]\n\n"
			      "Pause all processes within one or more containers\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata pause --help'");
		}
	}
	return run_each(cli, "pause", argc, argv, pause_one, NULL, err);
}
