/* export.c: strata export [-o FILE] [--platform P] IMAGE: the image's flattened root filesystem as
 * a tar. */
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "container/container.h"
#include "local/local.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

int cmd_export(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_PLATFORM = 256 };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *output = NULL;
	const char *platform = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_PLATFORM:
			platform = optarg;
			break;
		case 'h':
			fputs("Usage: strata export [OPTIONS] CONTAINER|IMAGE\n\n"
			      "Export a container's or an image's filesystem (all layers applied) "
			      "as a "
			      "tar archive\n\n"
			      "Options:\n"
			      "  -o, --output string     Write to a file, instead of STDOUT\n"
			      "      --platform string   The platform's files, of a multi-platform "
			      "image\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata export --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"export\" requires exactly 1 argument");
	if (!output && isatty(1))
		return st_err(
		    err, ST_E_INVALID,
		    "cowardly refusing to save to a terminal. Use the -o flag or redirect");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	/* A container by that name or id is what Docker exports; else an image. */
	st_auto(st_container) struct st_container *ctr = NULL;
	struct st_error *cerr = NULL;
	if (st_container_find(s, argv[optind], &ctr, &cerr) < 0) {
		if (cerr->kind != ST_E_NOTFOUND) {
			*err = cerr;
			return -1;
		}
		st_error_free(cerr);
	}
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (!ctr && st_local_image_find(s, argv[optind], &img, err) < 0)
		return -1;
	if (platform && ctr)
		return st_cli_usage(err, "--platform: '%s' is a container, of one platform",
				    argv[optind]);
	if (platform) {
		struct st_platform want;
		st_auto(st_store_image) struct st_store_image *found = st_steal(&img);
		if (st_platform_parse(platform, &want, err) < 0)
			return st_err_wrap(err, "--platform");
		if (st_local_image_platform(s, argv[optind], found, &want, &img, err) < 0)
			return -1;
		if (!img)
			return st_err(err, ST_E_NOTFOUND,
				      "image '%s': the store does not hold its %s image (pull it "
				      "with --platform)",
				      argv[optind], platform);
	}

	/* The view of the image's layers is a mount, which must die with this process. */
	if (st_snapshot_private_ns(err) < 0)
		return -1;
	st_auto_tmpfile struct st_tmpfile out = ST_TMPFILE_INIT;
	int rc = 0;
	int fd = 1;
	if (output) {
		rc = st_tmpfile_open_beside(&out, output, 0644, err);
		fd = out.fd;
	}
	if (rc == 0)
		rc = ctr ? st_container_export(s, ctr, fd, err)
			 : st_local_image_export(s, img, fd, err);
	if (rc == 0 && output)
		rc = st_tmpfile_commit(&out, output, err);
	if (rc < 0)
		return st_err_wrap(err, "export '%s'", argv[optind]);
	return 0;
}
