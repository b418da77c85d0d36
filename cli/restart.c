/* restart.c: strata restart [-t SECONDS] CONTAINER...: stop, then start again. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

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
	if (optind >= argc)
		return st_cli_usage(err, "\"restart\" requires at least 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_container) struct st_container *ctr = NULL;
		int code;
		if (st_container_find(s, argv[i], &ctr, err) < 0 ||
		    st_container_stop(s, ctr, timeout, err) < 0 ||
		    st_container_start(s, ctr, &code, err) < 0) {
			failed = run_fail("restart", st_steal(err), 1);
			continue;
		}
		fprintf(cli->out, "%s\n", argv[i]);
	}
	return failed;
}
