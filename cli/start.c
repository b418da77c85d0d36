/* start.c: strata start [-a] [-i] CONTAINER...: start created or stopped containers. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_start(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "attach", no_argument, NULL, 'a' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool attach = false, interactive = false;
	int c;
	while ((c = getopt_long(argc, argv, "aih", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			attach = true;
			break;
		case 'i':
			interactive = true;
			break;
		case 'h':
			fputs(
			    "Usage: strata start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
			    "Start one or more stopped containers\n\nOptions:\n"
			    "  -a, --attach        Attach STDOUT/STDERR and forward its exit code\n"
			    "  -i, --interactive   Attach container's STDIN\n",
			    cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata start --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"start\" requires at least 1 argument");
	if ((attach || interactive) && argc - optind > 1)
		return st_cli_usage(err, "you cannot start and attach multiple containers at once");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_container) struct st_container *ctr = NULL;
		int code = 1;
		if (st_container_find(s, argv[i], &ctr, err) < 0) {
			failed = run_fail("start", st_steal(err), 1);
			continue;
		}
		if (attach || interactive) {
			if (interactive && st_container_tty(ctr) && !isatty(0))
				return run_fail("start", run_not_a_tty(err), 1);
			fflush(cli->out);
			struct st_container_io io = { .out_fd = 1,
						      .err_fd = 2,
						      .attach_stdin = interactive };
			if (st_container_run(s, ctr, &io, &code, err) < 0)
				return run_fail("start", st_steal(err), code);
			return code;
		}
		if (st_container_start(s, ctr, &code, err) < 0) {
			failed = run_fail("start", st_steal(err), code);
			continue;
		}
		fprintf(cli->out, "%s\n", argv[i]);
	}
	return failed;
}
