/* tag.c: strata tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG] */
#include <string.h>

#include "cli.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_tag(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("Usage: strata tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
		      "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n",
		      cli->out);
		return 0;
	}
	if (argc != 3)
		return st_cli_usage(
		    err, "\"tag\" requires exactly 2 arguments: SOURCE_IMAGE TARGET_IMAGE");
	st_autofree char *target = NULL;
	if (st_local_ref_normalize(argv[2], &target, err) < 0)
		return -1;
	if (strchr(target, '@'))
		return st_err(err, ST_E_INVALID,
			      "refusing to create a tag with a digest reference: %s", argv[2]);
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, argv[1], &img, err) < 0)
		return -1;
	/* A name of an index (several platforms, a build's attestations) gives the new name
	 * the whole index, as Docker's containerd store does: a push of it sends them all. */
	struct st_digest index;
	int is_index = st_local_ref_index(s, argv[1], &index, err);
	if (is_index < 0)
		return -1;
	return st_store_ref_set(s, target, img->id.str, is_index ? index.str : NULL, err);
}
