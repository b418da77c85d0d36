/* rename.c: strata rename CONTAINER NEW_NAME: give a container another name. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_rename(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs("Usage: strata rename CONTAINER NEW_NAME\n\nRename a container\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata rename --help'");
		}
	}
	if (argc - optind != 2)
		return st_cli_usage(err, "\"rename\" requires exactly 2 arguments");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_container) struct st_container *ctr = NULL;
	if (st_container_find(s, argv[optind], &ctr, err) < 0)
		return -1;
	return st_container_rename(s, ctr, argv[optind + 1], err);
}
