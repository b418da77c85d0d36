/*
 * save.c: strata save [-o FILE] [--format docker-archive|oci-archive|oci-dir]
 *                     [--progress auto|plain|tty] [-q] IMAGE...
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "cli.h"
#include "layer_progress.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata save [OPTIONS] IMAGE [IMAGE...]\n\n"
    "Save one or more images to a tar archive (streamed to STDOUT by default)\n\n"
    "Options:\n"
    "      --format string     docker-archive (default; docker load, skopeo docker-archive:),\n"
    "                          oci-archive (an OCI layout as a tar) or oci-dir (needs -o DIR)\n"
    "  -o, --output string     Write to a file (a directory for oci-dir), instead of STDOUT\n"
    "      --progress string   auto, plain or tty: a line per layer on STDERR (default auto:\n"
    "                          a bar on a terminal, nothing otherwise)\n"
    "  -q, --quiet             Suppress the progress\n";

/* As docker save: the directory that will hold -o must exist (an OCI layout's own directory is
 * created), so a typo in a path fails instead of creating a tree. */
static int check_output_dir(const char *output, struct st_error **err)
{
	st_autofree char *dir = st_xstrdup(output);
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	slash[slash == dir] = '\0';
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return st_err(err, ST_E_NOTFOUND,
			      "invalid output path: directory \"%s\" does not exist", dir);
	return 0;
}

int cmd_save(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_PROGRESS = 256 };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *output = NULL;
	const char *progress = NULL;
	unsigned lflags = 0;
	struct st_archive_save_opts o = { .format = ST_ARCHIVE_DOCKER };
	int c;
	while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_PROGRESS:
			progress = optarg;
			break;
		case 'q':
			lflags |= ST_CLI_LAYERS_QUIET;
			break;
		case 'f':
			if (st_archive_format_parse(optarg, &o.format, err) < 0) {
				st_error_clear(err);
				return st_cli_usage(
				    err,
				    "invalid argument \"%s\" for \"--format\" flag: "
				    "expected docker-archive, oci-archive or oci-dir",
				    optarg);
			}
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata save --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"save\" requires at least 1 argument: IMAGE [IMAGE...]");
	o.names = (const char *const *)argv + optind;
	o.n_names = (size_t)(argc - optind);
	if (o.format == ST_ARCHIVE_OCI_DIR && (!output || !*output))
		return st_cli_usage(err, "--format oci-dir needs -o DIR");

	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	if (st_cli_layers_init(&layers, cli->errout, progress, lflags, err) < 0)
		return -1;
	o.events = st_cli_layers_events(&layers);
	if (output && *output && check_output_dir(output, err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (!output || !*output) {
		int fd = fileno(cli->out);
		if (isatty(fd))
			return st_err(err, ST_E_INVALID,
				      "cowardly refusing to save to a terminal. "
				      "Use the -o flag or redirect");
		if (st_cli_store(cli, &s, err) < 0)
			return -1;
		fflush(cli->out);
		return st_archive_save_fd(s, &o, fd, err);
	}
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	return st_archive_save_path(s, &o, output, err);
}
