/* pull.c: strata pull [--platform P] [-a] [-q] [--tls-verify=false] [--authfile F]
 * NAME[:TAG|@DIGEST] */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "layer_progress.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
    "Download an image from a registry\n\n"
    "Options:\n"
    "  -a, --all-tags           Download all tagged images in the repository\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --platform string    Set platform if the image is multi-platform (os/arch[/variant])\n"
    "      --progress string    auto, plain or tty: a line per layer with a bar (default auto)\n"
    "  -q, --quiet              Suppress verbose output\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

struct pull_opts {
	bool all_tags, quiet, have_platform;
	const char *progress;
	struct st_cli_layers *layers;
	struct st_platform platform;
	struct st_registry_opts reg;
};

static int pull_one(struct st_cli *cli, struct st_store *s, struct st_registry *r,
		    const struct st_image_ref *ref, const struct pull_opts *o,
		    struct st_error **err)
{
	const char *tag = st_image_ref_tag(ref);
	const char *digest = st_image_ref_digest(ref);
	if (!o->quiet)
		fprintf(cli->errout, "%s: Pulling from %s\n", digest ? digest : tag,
			st_image_ref_path(ref));
	struct st_registry_pull_opts po = {
		.platform = o->have_platform ? &o->platform : NULL,
		.events = st_cli_layers_events(o->layers),
	};
	struct st_registry_pull_result res;
	if (st_registry_pull(s, r, ref, &po, &res, err) < 0)
		return -1;
	st_autofree char *fam = st_image_ref_familiar(ref);
	st_autofree char *full = st_image_ref_string(ref);
	if (!o->quiet) {
		fprintf(cli->errout, "Digest: %s\n", res.digest.str);
		fprintf(cli->errout, "Status: %s for %s\n",
			res.downloaded ? "Downloaded newer image" : "Image is up to date", fam);
	}
	fprintf(cli->out, "%s\n", full);
	st_registry_pull_result_release(&res);
	return 0;
}

/* The image 'ref' names, or with -a every tag of its repository. */
static int pull_all(struct st_cli *cli, struct st_store *s, const struct st_image_ref *ref,
		    const struct pull_opts *o, struct st_error **err)
{
	st_auto(st_registry) struct st_registry *r = st_registry_new(&o->reg, err);
	if (!r)
		return -1;
	if (!o->all_tags)
		return pull_one(cli, s, r, ref, o, err);
	char **tags = NULL;
	size_t n = 0;
	if (st_registry_tags(r, ref, &tags, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		st_auto(st_image_ref) struct st_image_ref *t = st_image_ref_dup(ref);
		rc = st_image_ref_set_tag(t, tags[i], err);
		if (rc == 0)
			rc = pull_one(cli, s, r, t, o, err);
	}
	st_store_strings_free(tags, n);
	return rc;
}

int cmd_pull(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_PLATFORM = 256, OPT_PROGRESS };
	static const struct option longopts[] = {
		{ "all-tags", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct pull_opts o = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "aqh", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &o.reg, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case 'a':
			o.all_tags = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case OPT_PROGRESS:
			o.progress = optarg;
			break;
		case OPT_PLATFORM:
			if (st_platform_parse(optarg, &o.platform, err) < 0)
				return st_err_wrap(err, "--platform");
			o.have_platform = true;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata pull --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err,
				    "\"pull\" requires exactly 1 argument: NAME[:TAG|@DIGEST]");
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	unsigned flags = o.all_tags ? ST_IMAGE_REF_NAME_ONLY : ST_IMAGE_REF_NO_DEFAULT_TAG;
	if (st_image_ref_parse_flags(argv[optind], flags, &ref, err) < 0)
		return -1;
	if (!o.all_tags && !st_image_ref_tag(ref) && !st_image_ref_digest(ref)) {
		if (!o.quiet)
			fputs("Using default tag: latest\n", cli->errout);
		if (st_image_ref_set_tag(ref, "latest", err) < 0)
			return -1;
	}
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_cli_layers layers;
	unsigned lflags = ST_CLI_LAYERS_PIPE_PLAIN | (o.quiet ? ST_CLI_LAYERS_QUIET : 0);
	if (st_cli_layers_init(&layers, cli->errout, o.progress, lflags, err) < 0)
		return -1;
	o.layers = &layers;
	int rc = pull_all(cli, s, ref, &o, err);
	st_cli_layers_release(&layers);
	return rc;
}