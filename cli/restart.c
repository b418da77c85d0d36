/* restart.c: strata restart [-t SECONDS] CONTAINER...: stop, then start again. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* Stop, then start again: the start's exit code is only for start -a. */
static int restart_one(struct st_store *s, const struct st_container *c, void *ctx,
		       struct st_error **err)
{
	int code;
	if (st_container_stop(s, c, *(int *)ctx, err) < 0)
		return -1;
	return st_container_start(s, c, &code, err);
}

int cmd_restart(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int timeout = ST_CONTAINER_STOP_TIMEOUT_DEFAULT;
	int c;
	while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < -1 || v > 1000000)
				return st_cli_usage(err, "--time %s: expected a number of seconds",
						    optarg);
			timeout = (int)v;
			break;
		}
		case 'h':
			fputs("Usage: strata restart [OPTIONS] CONTAINER [CONTAINER...]\n\n"
			      "Restart one or more containers\n\nOptions:\n"
			      "  -t, --time int   Seconds to wait before killing the container "
			      "(default 10)\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata restart --help'");
		}
	}
	return run_each(cli, "restart", argc, argv, restart_one, &timeout, err);
}
