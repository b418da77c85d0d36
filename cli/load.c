/* load.c: strata load [-i FILE|DIR] [-q] */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "archive/archive.h"
#include "cli.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata load [OPTIONS]\n\n"
    "Load images from a tar archive (docker-archive or oci-archive, plain or compressed) or an\n"
    "OCI layout directory, read from STDIN by default\n\n"
    "Options:\n"
    "  -i, --input string   Read from a tar archive file or an OCI layout directory, instead "
    "of STDIN\n"
    "  -q, --quiet          Suppress the load output\n";

int cmd_load(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *input = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "i:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'q':
			/* Docker's -q hides progress bars; there are none, the result lines stay.
			 */
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

	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_archive_load_result r = { 0 };
	int rc = input && *input ? st_archive_load_path(s, input, &r, err)
				 : st_archive_load_fd(s, STDIN_FILENO, "stdin", &r, err);
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
