/*
 * push.c: strata push [-a] [-q] [--digestfile F] [--tls-verify=false] [--authfile F]
 *                     NAME[:TAG] [DESTINATION]
 */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "layer_progress.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata push [OPTIONS] NAME[:TAG] [DESTINATION]\n\n"
    "Upload an image to a registry (to DESTINATION, a NAME[:TAG] of its own, when given)\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --progress string    auto, plain or tty: a line per layer with a bar (default auto)\n"
    "  -q, --quiet              Suppress verbose output\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

struct push_opts {
	const char *progress;
	struct st_cli_layers *layers;
	bool quiet, all_tags;
	const char *digestfile;
	struct st_registry_opts ro;
};

static int push_one(struct st_cli *cli, struct st_store *s, struct st_registry *r, const char *src,
		    const struct st_image_ref *dest, const struct push_opts *o,
		    struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, src, &img, err) < 0)
		return -1;
	st_autofree char *repo = st_image_ref_repository(dest);
	if (!o->quiet)
		fprintf(cli->errout, "The push refers to repository [%s]\n", repo);
	struct st_events ev = st_cli_layers_events(o->layers);
	struct st_registry_push_result res;
	struct st_digest index;
	int has_index = st_local_ref_index(s, src, &index, err);
	if (has_index < 0)
		return -1;
	if (has_index) {
		if (st_registry_push_index(s, r, &index, dest, &ev, &res, err) < 0)
			return -1;
	} else if (st_registry_push(s, r, img->id.str, dest, &ev, &res, err) < 0) {
		return -1;
	}
	const char *tag = st_image_ref_tag(dest);
	if (!o->quiet)
		fprintf(cli->errout, "%s: digest: %s size: %llu\n", tag ? tag : "latest",
			res.digest.str, (unsigned long long)res.size);
	fprintf(cli->out, "%s@%s\n", repo, res.digest.str);
	if (o->digestfile) {
		FILE *f = fopen(o->digestfile, "w");
		if (!f)
			return st_err_errno(err, "--digestfile: open '%s'", o->digestfile);
		bool ok = fputs(res.digest.str, f) >= 0;
		if (fclose(f) != 0 || !ok)
			return st_err_errno(err, "--digestfile: write '%s'", o->digestfile);
	}
	return 0;
}

/* Every local tag of the repository 'repo' ("docker.io/library/app"), sorted. */
static int repo_tags(struct st_store *s, const char *repo, char ***out, size_t *n,
		     struct st_error **err)
{
	struct st_store_ref *refs = NULL;
	size_t nr = 0;
	if (st_store_ref_list(s, NULL, &refs, &nr, err) < 0)
		return -1;
	size_t len = strlen(repo);
	*out = st_xcalloc(nr + 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < nr; i++)
		if (!strncmp(refs[i].name, repo, len) && refs[i].name[len] == ':' &&
		    !strchr(refs[i].name + len + 1, '/'))
			(*out)[(*n)++] = st_xstrdup(refs[i].name);
	st_store_refs_free(refs, nr);
	return 0;
}

int cmd_push(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_DIGESTFILE = 256, OPT_PROGRESS };
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "all-tags", no_argument, NULL, 'a' },
		{ "digestfile", required_argument, NULL, OPT_DIGESTFILE },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct push_opts o = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "aqh", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &o.ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case 'q':
			o.quiet = true;
			break;
		case 'a':
			o.all_tags = true;
			break;
		case OPT_PROGRESS:
			o.progress = optarg;
			break;
		case OPT_DIGESTFILE:
			o.digestfile = optarg;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata push --help'");
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return st_cli_usage(err,
				    "\"push\" requires 1 or 2 arguments: NAME[:TAG] [DESTINATION]");
	const char *src = argv[optind];
	const char *dst = argc - optind == 2 ? argv[optind + 1] : src;
	st_auto(st_image_ref) struct st_image_ref *dest = NULL;
	unsigned flags = o.all_tags ? ST_IMAGE_REF_NAME_ONLY : 0;
	if (st_image_ref_parse_flags(dst, flags, &dest, err) < 0)
		return -1;
	if (o.all_tags && argc - optind == 2)
		return st_cli_usage(err, "--all-tags takes one repository, no DESTINATION");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	unsigned lflags = ST_CLI_LAYERS_PIPE_PLAIN | (o.quiet ? ST_CLI_LAYERS_QUIET : 0);
	if (st_cli_layers_init(&layers, cli->errout, o.progress, lflags, err) < 0)
		return -1;
	o.layers = &layers;
	st_auto(st_registry) struct st_registry *r = st_registry_new(&o.ro, err);
	if (!r)
		return -1;
	if (!o.all_tags)
		return push_one(cli, s, r, src, dest, &o, err);
	st_autofree char *repo = st_image_ref_repository(dest);
	char **tags = NULL;
	size_t n = 0;
	if (repo_tags(s, repo, &tags, &n, err) < 0)
		return -1;
	int rc = n ? 0 : st_err(err, ST_E_NOTFOUND, "no tag of %s in the store", src);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		st_auto(st_image_ref) struct st_image_ref *t = NULL;
		rc = st_image_ref_parse(tags[i], &t, err);
		if (rc == 0)
			rc = push_one(cli, s, r, tags[i], t, &o, err);
	}
	st_store_strings_free(tags, n);
	return rc;
}
