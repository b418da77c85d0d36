/*
 * cp.c: strata cp [-a] CONTAINER:SRC DEST|- and strata cp [-a] SRC|- CONTAINER:DEST: copy
 * between a container (running or stopped) and the host, or a tar stream, as docker cp does.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "container/container.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* Docker's split of a cp argument: a local path starts with '/' or '.' or has no ':'; else
 * it is CONTAINER:PATH. *path points into 'arg'; *ctr is new, or NULL for a local path. */
static void split_arg(const char *arg, char **ctr, const char **path)
{
	const char *colon = strchr(arg, ':');
	*ctr = NULL;
	*path = arg;
	if (*arg == '/' || *arg == '.' || !colon)
		return;
	*ctr = st_xstrndup(arg, (size_t)(colon - arg));
	*path = colon + 1;
}

int cmd_cp(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "archive", no_argument, NULL, 'a' },
		{ "follow-link", no_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned flags = 0;
	int c;
	while ((c = getopt_long(argc, argv, "aqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			flags |= ST_CONTAINER_CP_ARCHIVE;
			break;
		case 'q':
			break; /* strata prints no progress for cp */
		case 'L':
			return st_cli_usage(err, "-L: following a symlink source is not supported "
						 "yet: name its target, or end SRC with '/'");
		case 'h':
			fputs(
			    "Usage: strata cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
			    "       strata cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
			    "Copy files/folders between a container and the local filesystem\n\n"
			    "Use '-' as the source to read a tar archive from stdin and extract it "
			    "to a\ndirectory destination in a container.\n"
			    "Use '-' as the destination to stream a tar archive of a container "
			    "source to\nstdout.\n\nOptions:\n"
			    "  -a, --archive   Archive mode (copy all uid/gid information)\n"
			    "  -q, --quiet     Suppress progress output\n",
			    cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata cp --help'");
		}
	}
	if (argc - optind != 2)
		return st_cli_usage(err, "\"cp\" requires exactly 2 arguments");
	st_autofree char *src_ctr = NULL, *dst_ctr = NULL;
	const char *src, *dst;
	split_arg(argv[optind], &src_ctr, &src);
	split_arg(argv[optind + 1], &dst_ctr, &dst);
	if (src_ctr && dst_ctr)
		return st_cli_usage(err, "copying between containers is not supported");
	if (!src_ctr && !dst_ctr)
		return st_cli_usage(err, "must specify at least one container source");
	if (!*src || !*dst)
		return st_cli_usage(err, "filepath can not be empty");
	if (src_ctr && !strcmp(dst, "-") && isatty(1))
		return st_err(err, ST_E_INVALID,
			      "cowardly refusing to write a tar archive to a terminal: redirect "
			      "the output");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_container) struct st_container *ctr = NULL;
	if (st_container_find(s, src_ctr ? src_ctr : dst_ctr, &ctr, err) < 0)
		return -1;
	/* A stopped container's rootfs is a mount, which must die with this process. */
	if (st_snapshot_private_ns(err) < 0)
		return -1;
	if (src_ctr) {
		fflush(cli->out);
		return st_container_cp_from(s, ctr, src, strcmp(dst, "-") ? dst : NULL, 1, flags,
					    err);
	}
	return st_container_cp_to(s, ctr, strcmp(src, "-") ? src : NULL, 0, dst, flags, err);
}
