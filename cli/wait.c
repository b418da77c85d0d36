/* wait.c: strata wait CONTAINER...: block until each stops, print its exit code. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_wait(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs("Usage: strata wait CONTAINER [CONTAINER...]\n\n"
			      "Block until one or more containers stop, then print their exit "
			      "codes\n",
			      cli->out);
			return 0;
		}
		return st_cli_usage(err, "see 'strata wait --help'");
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"wait\" requires at least 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_container) struct st_container *ctr = NULL;
		int code;
		if (st_container_find(s, argv[i], &ctr, err) < 0 ||
		    st_container_wait(s, ctr, &code, err) < 0) {
			failed = run_fail("wait", st_steal(err), 1);
			continue;
		}
		fprintf(cli->out, "%d\n", code);
		fflush(cli->out);
	}
	return failed;
}
