/* stop.c: strata stop [-t SECONDS] CONTAINER...: the stop signal, then SIGKILL after -t. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_stop(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 't' },
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
			fputs("Usage: strata stop [OPTIONS] CONTAINER [CONTAINER...]\n\n"
			      "Stop one or more running containers\n\nOptions:\n"
			      "  -t, --time int   Seconds to wait before killing the container "
			      "(default: the\n"
			      "                   container's --stop-timeout, else 10)\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata stop --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"stop\" requires at least 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	/* All at once, as Docker stops them: one process each, since a stop mostly waits. A
	 * container's files are all a stop reads, never the database, so forks are safe. */
	fflush(NULL);
	int n = argc - optind;
	pid_t *pids = st_xcalloc((size_t)n, sizeof(*pids));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			st_auto(st_container) struct st_container *ctr = NULL;
			if (st_container_find(s, argv[optind + i], &ctr, err) < 0 ||
			    st_container_stop(s, ctr, timeout, err) < 0)
				_exit(run_fail("stop", st_steal(err), 1));
			_exit(0);
		}
	}
	int failed = 0;
	for (int i = 0; i < n; i++) {
		int status = 1;
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			failed = 1;
			continue;
		}
		fprintf(cli->out, "%s\n", argv[optind + i]);
	}
	free(pids);
	return failed;
}
