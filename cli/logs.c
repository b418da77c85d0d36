/* logs.c: strata logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER: the container's
 * output, from its log. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container/container.h"
#include "fmt.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct logs_out {
	struct st_cli *cli;
	bool timestamps;
	time_t since, until; /* 0: no bound */
};

/*
 * Docker's --since and --until: an RFC 3339 time, a Unix time (seconds, maybe with a
 * fraction), or a Go duration before now ("10m").
 */
static int parse_bound(const char *flag, const char *arg, time_t now, time_t *out,
		       struct st_error **err)
{
	int64_t ns;
	struct st_error *derr = NULL;
	if (st_fmt_parse_duration(flag, arg, &ns, &derr) == 0) {
		*out = now - (time_t)(ns / 1000000000LL);
		return 0;
	}
	st_error_free(derr);
	char *end;
	double unix_time = strtod(arg, &end);
	if (*arg >= '0' && *arg <= '9' && !*end && unix_time > 0) {
		*out = (time_t)unix_time;
		return 0;
	}
	if (st_fmt_parse_time(arg, out) == 0)
		return 0;
	return st_cli_usage(err,
			    "%s %s: expected a timestamp (2013-01-02T13:23:37Z or Unix seconds) or "
			    "a duration before now (42m)",
			    flag, arg);
}

static int print_line(void *ctx, const struct st_container_log_line *line, struct st_error **err)
{
	(void)err;
	struct logs_out *o = ctx;
	time_t t;
	if ((o->since || o->until) && st_fmt_parse_time(line->time, &t) == 0 &&
	    ((o->since && t < o->since) || (o->until && t > o->until)))
		return 0;
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
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
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
		case 'S':
			if (parse_bound("--since", optarg, time(NULL), &out.since, err) < 0)
				return -1;
			break;
		case 'U':
			if (parse_bound("--until", optarg, time(NULL), &out.until, err) < 0)
				return -1;
			break;
		case 'h':
			fputs(
			    "Usage: strata logs [OPTIONS] CONTAINER\n\n"
			    "Fetch the logs of a container\n\nOptions:\n"
			    "  -f, --follow         Follow log output\n"
			    "      --since string   Show logs since a timestamp (e.g. "
			    "\"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)\n"
			    "  -n, --tail string    Number of lines to show from the end of the "
			    "logs (default \"all\")\n"
			    "  -t, --timestamps     Show timestamps\n"
			    "      --until string   Show logs before a timestamp (e.g. "
			    "\"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)\n",
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
