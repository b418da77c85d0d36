/* exec.c: strata exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "container/container.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_exec(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "interactive", no_argument, NULL, 'i' },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "tty", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_container_exec o = { 0 };
	st_autofree char **env = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+ie:u:w:th", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.interactive = true;
			break;
		case 'e':
			env = st_xrealloc(env, (o.n_env + 1) * sizeof(*env));
			env[o.n_env++] = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case 't':
			o.tty = true;
			break;
		case 'h':
			fputs("Usage: strata exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
			      "Execute a command in a running container\n\nOptions:\n"
			      "  -e, --env list          Set environment variables\n"
			      "  -i, --interactive       Keep STDIN open\n"
			      "  -t, --tty               Allocate a pseudo-TTY\n"
			      "  -u, --user string       Username or UID (format: "
			      "\"<name|uid>[:<group|gid>]\")\n"
			      "  -w, --workdir string    Working directory inside the container\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata exec --help'");
		}
	}
	if (argc - optind < 2)
		return st_cli_usage(err, "\"exec\" requires at least 2 arguments");
	if (o.tty && o.interactive && !isatty(0))
		return st_err(err, ST_E_INVALID, "the input device is not a TTY");
	o.env = env;
	o.argv = argv + optind + 1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_container) struct st_container *ctr = NULL;
	if (st_container_find(s, argv[optind], &ctr, err) < 0)
		return -1;
	int code = 0;
	fflush(cli->out);
	if (st_container_exec(s, ctr, &o, &code, err) < 0)
		return -1;
	return code;
}
