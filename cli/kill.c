/* kill.c: strata kill [-s SIGNAL] CONTAINER...: signal running containers (SIGKILL). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

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
	if (optind >= argc)
		return st_cli_usage(err, "\"kill\" requires at least 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_container) struct st_container *ctr = NULL;
		if (st_container_find(s, argv[i], &ctr, err) < 0 ||
		    st_container_kill(s, ctr, sig, err) < 0) {
			failed = run_fail("kill", st_steal(err), 1);
			continue;
		}
		fprintf(cli->out, "%s\n", argv[i]);
	}
	return failed;
}
