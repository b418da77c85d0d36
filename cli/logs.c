/* logs.c: strata logs [-f] [--tail N] [-t] CONTAINER: the container's output, from its log. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container/container.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct logs_out {
	struct st_cli *cli;
	bool timestamps;
};

static int print_line(void *ctx, const struct st_container_log_line *line, struct st_error **err)
{
	(void)err;
	struct logs_out *o = ctx;
	FILE *f = !strcmp(line->stream, "stderr") ? stderr : o->cli->out;
	if (o->timestamps)
		fprintf(f, "%s ", line->time);
	fwrite(line->log, 1, line->len, f);
	fflush(f);
	return 0;
}

int cmd_logs(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 'n' },
		{ "timestamps", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_container_logs_opts lo = { .tail = -1 };
	struct logs_out out = { .cli = cli };
	int c;
	while ((c = getopt_long(argc, argv, "fn:th", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			lo.follow = true;
			break;
		case 'n': {
			char *end;
			if (!strcmp(optarg, "all")) {
				lo.tail = -1;
				break;
			}
			lo.tail = strtoll(optarg, &end, 10);
			if (!*optarg || *end || lo.tail < 0)
				return st_cli_usage(err,
						    "--tail %s: expected a number of lines or "
						    "\"all\"",
						    optarg);
			break;
		}
		case 't':
			out.timestamps = true;
			break;
		case 'h':
			fputs("Usage: strata logs [OPTIONS] CONTAINER\n\n"
			      "Fetch the logs of a container\n\nOptions:\n"
			      "  -f, --follow         Follow log output\n"
			      "  -n, --tail string    Number of lines to show from the end of the "
			      "logs (default \"all\")\n"
			      "  -t, --timestamps     Show timestamps\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata logs --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"logs\" requires exactly 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_container) struct st_container *ctr = NULL;
	if (st_container_find(s, argv[optind], &ctr, err) < 0)
		return -1;
	return st_container_logs(s, ctr, &lo, print_line, &out, err);
}
