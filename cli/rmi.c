/* rmi.c: strata rmi [-f] IMAGE... */
#include <getopt.h>
#include <stdbool.h>

#include "cli.h"
#include "container/container.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

static int remove_one(struct st_cli *cli, struct st_store *s, const char *arg, bool force,
		      struct st_error **err)
{
	/* Docker keeps an image a container was created from, unless forced; untagging one of
	 * its several names is fine. */
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (!force && st_local_image_find(s, arg, &img, err) < 0)
		return -1;
	bool used = false;
	if (img && st_container_image_used(s, img->id.str, &used, err) < 0)
		return -1;
	char **tags = NULL;
	size_t nt = 0;
	if (used && st_local_image_tags(s, img->id.str, &tags, &nt, err) < 0)
		return -1;
	st_store_strings_free(tags, nt);
	if (used && nt < 2)
		return st_err(err, ST_E_BUSY,
			      "conflict: unable to remove repository reference \"%s\" (must "
			      "force) - a container is using its referenced image %.12s",
			      arg, img->id.str + 7);
	struct st_local_removal r;
	if (st_local_rmi(s, arg, force ? ST_LOCAL_RMI_FORCE : 0, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r.n_untagged; i++)
		fprintf(cli->out, "Untagged: %s\n", r.untagged[i]);
	if (r.deleted)
		fprintf(cli->out, "Deleted: %s\n", r.id.str);
	st_local_removal_release(&r);
	return 0;
}

int cmd_rmi(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	/* Docker's --no-prune is taken and ignored: strata keeps no untagged parents. */
	static const struct option more[] = {
		{ "no-prune", no_argument, NULL, 0 },
		{ 0 },
	};
	static const struct st_cli_remove_verb verb = {
		.name = "rmi",
		.usage = "Usage: strata rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
			 "Remove one or more images\n\nOptions:\n"
			 "  -f, --force      Force removal of the image\n"
			 "      --no-prune   Do not delete untagged parents (strata keeps none)\n",
		.flags = ST_CLI_REMOVE_OPERANDS,
		.more = more,
	};
	struct st_cli_remove_opts o;
	int rc = st_cli_remove_flags(cli, argc, argv, &verb, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	for (int i = optind; i < argc; i++) {
		struct st_error *e = NULL;
		if (remove_one(cli, s, argv[i], o.force, &e) < 0) {
			/* Like Docker: report each failure, go on with the rest, fail at the end.
			 */
			if (rc == 0 && i + 1 == argc) {
				*err = e;
				return -1;
			}
			fprintf(cli->errout, "Error response: %s\n", e->msg);
			st_error_free(e);
			rc = -1;
		}
	}
	/* Free the space now; what another image still uses stays. */
	if (st_store_gc(s, 0, NULL, err) < 0)
		return -1;
	if (rc < 0)
		return st_err(err, ST_E_NOTFOUND, "some images could not be removed");
	return 0;
}
