/* tags.c: strata tags [--tls-verify=false] [--authfile F] NAME: a repository's tags, as skopeo
 * list-tags prints them */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "cli.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata tags [OPTIONS] NAME\n\n"
    "List the tags of a repository in a registry (as JSON, like skopeo list-tags)\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

int cmd_tags(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_registry_opts ro = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata tags --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"tags\" requires exactly 1 argument: NAME");
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse_flags(argv[optind], ST_IMAGE_REF_NAME_ONLY, &ref, err) < 0)
		return -1;
	st_auto(st_registry) struct st_registry *r = st_registry_new(&ro, err);
	if (!r)
		return -1;
	char **tags = NULL;
	size_t n = 0;
	if (st_registry_tags(r, ref, &tags, &n, err) < 0)
		return -1;
	st_autofree char *repo = st_image_ref_repository(ref);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(tags[i]));
	json_t *o = json_pack("{s:s, s:o}", "Repository", repo, "Tags", list);
	char *text = json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	fprintf(cli->out, "%s\n", text);
	free(text);
	json_decref(o);
	st_store_strings_free(tags, n);
	return 0;
}
