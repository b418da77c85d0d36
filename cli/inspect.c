/* inspect.c: strata inspect [--format F] IMAGE... */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "format.h"
#include "template/template.h"
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
		{ "size", no_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fmt = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "f:sh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 's':
			/* Docker's -s adds sizes to containers; an image's Size is always there */
			break;
		case 't':
			if (strcmp(optarg, "image") != 0)
				return st_cli_usage(err,
						    "--type: only 'image' objects exist in strata");
			break;
		case 'h':
			fputs("Usage: strata inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
			      "Display detailed information on one or more images\n\nOptions:\n"
			      "  -f, --format string   Format output using a Go template\n"
			      "  -s, --size            Display total file sizes (always shown)\n"
			      "      --type string     Only 'image'\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata inspect --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"inspect\" requires at least 1 argument");
	/* Docker hands an inspect format to the template as typed: "\n" stays two characters
	 * for the template's own string literals ({{"\n"}}); only list verbs unescape theirs. */
	st_auto(st_template) struct st_template *t = NULL;
	if (fmt && st_template_parse_flags(fmt, ST_TEMPLATE_DOCKER, &t, err) < 0)
		return st_err_wrap(err, "--format '%s'", fmt);
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	json_t *all = json_array();
	struct st_error *missing = NULL;
	int rc = 0;
	/* Like Docker: print what was found, report each name that was not, fail at the end. */
	for (int i = optind; i < argc && rc == 0; i++) {
		struct st_error *e = NULL;
		json_t *v = inspect_one(s, argv[i], &e);
		if (!v) {
			if (missing)
				fprintf(cli->errout, "strata: inspect: %s\n", missing->msg);
			st_error_free(missing);
			missing = e;
			continue;
		}
		if (t) {
			struct st_buf b = ST_BUF_INIT;
			rc = st_template_execute(t, v, &b, err);
			if (rc == 0)
				fprintf(cli->out, "%s\n", st_buf_str(&b));
			st_buf_release(&b);
			json_decref(v);
		} else {
			json_array_append_new(all, v);
		}
	}
	if (rc == 0 && !t)
		st_cli_print_json(all, cli->out);
	json_decref(all);
	if (rc == 0 && missing) {
		*err = missing;
		return -1;
	}
	st_error_free(missing);
	return rc;
}
