/* rmi.c: strata rmi [-f] IMAGE... */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* Remove one image argument the way `docker rmi` does: untag a name, delete when no tag is left. */
static int remove_one(struct st_cli *cli, struct st_store *s, const char *arg, bool force,
		      struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, arg, &img, err) < 0)
		return -1;
	char **tags = NULL;
	size_t nt = 0;
	if (st_local_image_tags(s, img->id.str, &tags, &nt, err) < 0)
		return -1;

	/* Was 'arg' one of the names, or the id? */
	st_autofree char *name = NULL;
	struct st_error *perr = NULL;
	if (st_local_ref_normalize(arg, &name, &perr) < 0)
		st_error_free(perr);
	struct st_store_ref r = { 0 };
	bool by_name = false;
	if (name && !strchr(name, '@')) {
		perr = NULL;
		if (st_store_ref_get(s, name, &r, &perr) == 0) {
			by_name = !strcmp(r.image_id.str, img->id.str);
			st_store_ref_release(&r);
		} else {
			st_error_free(perr);
		}
	}

	int rc = 0;
	if (by_name && nt > 1) {
		rc = st_store_ref_delete(s, name, err);
		if (rc == 0) {
			st_auto(st_image_ref) struct st_image_ref *ref = NULL;
			st_image_ref_parse(name, &ref, NULL);
			st_autofree char *fam = ref ? st_image_ref_familiar(ref) : st_xstrdup(arg);
			fprintf(cli->out, "Untagged: %s\n", fam);
		}
		st_store_strings_free(tags, nt);
		return rc;
	}
	if (!by_name && nt > 1 && !force) {
		st_autofree char *short_id = st_fmt_short_id(img->id.str);
		st_store_strings_free(tags, nt);
		return st_err(
		    err, ST_E_BUSY,
		    "conflict: unable to delete %s (must be forced) - image is referenced in "
		    "multiple repositories (use -f)",
		    short_id);
	}
	rc = st_store_image_delete(s, img->id.str, ST_STORE_DELETE_FORCE, err);
	if (rc == 0) {
		for (size_t i = 0; i < nt; i++)
			fprintf(cli->out, "Untagged: %s\n", tags[i]);
		fprintf(cli->out, "Deleted: %s\n", img->id.str);
	}
	st_store_strings_free(tags, nt);
	return rc;
}

int cmd_rmi(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "no-prune", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'n':
			break;
		case 'h':
			fputs("Usage: strata rmi [OPTIONS] IMAGE [IMAGE...]\n\nRemove one or more "
			      "images\n\n"
			      "Options:\n  -f, --force      Force removal of the image\n"
			      "      --no-prune   Do not delete untagged parents (strata keeps "
			      "none)\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata rmi --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"rmi\" requires at least 1 argument");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct st_error *e = NULL;
		if (remove_one(cli, s, argv[i], force, &e) < 0) {
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
