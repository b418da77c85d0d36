/* kill.c: strata kill [-s SIGNAL] CONTAINER...: signal running containers (SIGKILL). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

static int kill_one(struct st_store *s, const struct st_container *c, void *ctx,
		    struct st_error **err)
{
	return st_container_kill(s, c, *(int *)ctx, err);
}

int cmd_kill(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int sig = SIGKILL;
	int c;
	while ((c = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (st_container_signal_parse(optarg, &sig, err) < 0)
				return -1;
			break;
		case 'h':
			fputs("Usage: strata kill [OPTIONS] CONTAINER [CONTAINER...]\n\n"
			      "Kill one or more running containers\n\nOptions:\n"
			      "  -s, --signal string   Signal to send to the container (default "
			      "\"KILL\")\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata kill --help'");
		}
	}
	return run_each(cli, "kill", argc, argv, kill_one, &sig, err);
}
