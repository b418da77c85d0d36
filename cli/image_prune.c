/* image_prune.c: strata image prune [-a] [-f] */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "container/container.h"
#include "fmt.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_image_prune(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct st_cli_remove_verb verb = {
		.name = "image prune",
		.usage = "Usage: strata image prune [OPTIONS]\n\nRemove unused images\n\nOptions:\n"
			 "  -a, --all     Remove all unused images, not just dangling ones\n"
			 "  -f, --force   Do not prompt for confirmation\n",
		.flags = ST_CLI_REMOVE_ALL,
	};
	struct st_cli_remove_opts o;
	int rc = st_cli_remove_flags(cli, argc, argv, &verb, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (st_cli_confirm_remove(cli, o.force, verb.name,
				  o.all
				      ? "WARNING! This will remove all images without at least one "
					"container associated to them.\n"
				      : "WARNING! This will remove all dangling images.\n",
				  err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	char **ids = NULL;
	size_t n = 0;
	if (st_container_image_prune(s, o.all ? ST_STORE_PRUNE_ALL : 0, &ids, &n, err) < 0)
		return -1;
	struct st_store_gc_report rep = { 0 };
	rc = st_store_gc(s, 0, &rep, err);
	if (n)
		fprintf(cli->out, "Deleted Images:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(cli->out, "deleted: %s\n", ids[i]);
	if (n)
		fprintf(cli->out, "\n");
	st_store_strings_free(ids, n);
	if (rc < 0)
		return -1;
	st_autofree char *freed = st_fmt_size(rep.blob_bytes + rep.unpacked_bytes);
	fprintf(cli->out, "Total reclaimed space: %s\n", freed);
	return 0;
}
