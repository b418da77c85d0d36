/* inspect.c: strata inspect [--format F] IMAGE... */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "format.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

static json_t *inspect_one(struct st_store *s, const char *name, struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, name, &img, err) < 0)
		return NULL;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (st_local_image_config(s, img, &cfg, err) < 0)
		return NULL;
	char **tags = NULL;
	size_t nt = 0;
	if (st_local_image_tags(s, img->id.str, &tags, &nt, err) < 0)
		return NULL;
	st_autofree char *added = img->added > 0 ? st_fmt_time((time_t)(img->added / 1000000),
							       (long)(img->added % 1000000) * 1000)
						 : NULL;
	char **digests = NULL;
	size_t nd = 0;
	if (st_local_image_repo_digests(s, img->id.str, &digests, &nd, err) < 0) {
		st_store_strings_free(tags, nt);
		return NULL;
	}
	struct st_image_inspect_info info = {
		.id = img->id.str,
		.repo_tags = (const char *const *)tags,
		.n_repo_tags = nt,
		.repo_digests = (const char *const *)digests,
		.n_repo_digests = nd,
		.size = (int64_t)img->size,
		.last_tag_time = added,
	};
	json_t *v = st_image_config_inspect(cfg, &info);
	st_store_strings_free(tags, nt);
	st_store_strings_free(digests, nd);
	return v;
}

int cmd_inspect(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fmt = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 't':
			if (strcmp(optarg, "image") != 0)
				return st_cli_usage(err, "--type: only 'image' objects exist in strata");
			break;
		case 'h':
			fputs("Usage: strata inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
			      "Display detailed information on one or more images\n\nOptions:\n"
			      "  -f, --format string   Format output using a Go template\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata inspect --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"inspect\" requires at least 1 argument");
	st_auto(st_cli_format) struct st_cli_format *f = NULL;
	if (fmt && st_cli_format_new(fmt, NULL, &f, err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	json_t *all = json_array();
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		json_t *v = inspect_one(s, argv[i], err);
		if (!v) {
			rc = -1;
			break;
		}
		if (f) {
			rc = st_cli_format_row(f, v, cli->out, err);
			json_decref(v);
			if (rc < 0)
				break;
		} else {
			json_array_append_new(all, v);
		}
	}
	if (rc == 0 && !f)
		st_cli_print_json(all, cli->out);
	json_decref(all);
	return rc;
}
