/* load.c: strata load [-i FILE|DIR] [-q] [--progress auto|plain|tty] */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "archive/archive.h"
#include "cli.h"
#include "layer_progress.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata load [OPTIONS]\n\n"
    "Load images from a tar archive (docker-archive or oci-archive, plain or compressed) or an\n"
    "OCI layout directory, read from STDIN by default\n\n"
    "Options:\n"
    "  -i, --input string      Read from a tar archive file or an OCI layout directory, "
    "instead of STDIN\n"
    "      --progress string   auto, plain or tty: a line per layer on STDERR (default auto:\n"
    "                          a bar on a terminal, nothing otherwise)\n"
    "  -q, --quiet             Suppress the progress\n";

int cmd_load(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_PROGRESS = 256 };
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *input = NULL;
	const char *progress = NULL;
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "i:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'q':
			/* As Docker's: the progress goes, the result lines stay. */
			quiet = true;
			break;
		case OPT_PROGRESS:
			progress = optarg;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata load --help'");
		}
	}
	if (optind < argc)
		return st_cli_usage(err, "\"load\" accepts no arguments");
	if ((!input || !*input) && isatty(STDIN_FILENO))
		return st_err(err, ST_E_INVALID, "requested load from stdin, but stdin is empty");

	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	if (st_cli_layers_init(&layers, cli->errout, progress, quiet ? ST_CLI_LAYERS_QUIET : 0,
			       err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_archive_load_opts lo = { .events = st_cli_layers_events(&layers) };
	struct st_archive_load_result r = { 0 };
	int rc = input && *input ? st_archive_load_path_opts(s, input, &lo, &r, err)
				 : st_archive_load_fd_opts(s, STDIN_FILENO, "stdin", &lo, &r, err);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < r.n; i++) {
		const struct st_archive_loaded *l = &r.v[i];
		if (l->replaced)
			fprintf(
			    cli->out,
			    "The image %s already exists, renaming the old one with ID %s to empty "
			    "string\n",
			    l->name, l->old_id.str);
		if (l->name)
			fprintf(cli->out, "Loaded image: %s\n", l->name);
		else
			fprintf(cli->out, "Loaded image ID: %s\n", l->id.str);
	}
	st_archive_load_result_release(&r);
	return 0;
}
