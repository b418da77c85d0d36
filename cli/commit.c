/* commit.c: strata commit [-a AUTHOR] [-c CHANGE]... [-m MSG] CONTAINER [REPOSITORY[:TAG]] */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_commit(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "author", required_argument, NULL, 'a' },
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "pause", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_container_commit o = { 0 };
	st_autofree const char **changes = NULL;
	size_t nchanges = 0;
	int c;
	while ((c = getopt_long(argc, argv, "a:c:m:ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.author = optarg;
			break;
		case 'c':
			changes = st_xrealloc(changes, (nchanges + 1) * sizeof(*changes));
			changes[nchanges++] = optarg;
			break;
		case 'm':
			o.message = optarg;
			break;
		case 'p':
			break; /* containers are not paused: their upper dir is read as it is */
		case 'h':
			fputs(
			    "Usage: strata commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
			    "Create a new image from a container's changes\n\nOptions:\n"
			    "  -a, --author string    Author (e.g., \"John Hannibal Smith "
			    "<hannibal@a-team.com>\")\n"
			    "  -c, --change list      Apply Dockerfile instruction to the created "
			    "image\n"
			    "  -m, --message string   Commit message\n",
			    cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata commit --help'");
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return st_cli_usage(err, "\"commit\" requires at least 1 and at most 2 arguments");
	st_autofree char *ref = NULL;
	if (argc - optind == 2 && st_local_ref_normalize(argv[optind + 1], &ref, err) < 0)
		return -1;
	o.ref = ref;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_container) struct st_container *ctr = NULL;
	if (st_container_find(s, argv[optind], &ctr, err) < 0)
		return -1;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (st_container_commit_config(s, ctr, &cfg, err) < 0)
		return -1;
	bool cmd_set = false;
	for (size_t i = 0; i < nchanges; i++)
		if (st_cli_apply_change(cfg, &cmd_set, changes[i], err) < 0)
			return -1;
	o.config = cfg;
	struct st_digest id;
	if (st_container_commit(s, ctr, &o, &id, err) < 0)
		return -1;
	fprintf(cli->out, "%s\n", id.str);
	return 0;
}
