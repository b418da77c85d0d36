/* manifest.c: strata manifest inspect [--raw] [--tls-verify=false] [--authfile F]
 * NAME[:TAG|@DIGEST] */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata manifest inspect [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
    "Display an image's manifest or manifest list, as the registry serves it\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --raw                The bytes as served, not indented (their digest is the image's)\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

int cmd_manifest_inspect(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_RAW = 256 };
	static const struct option longopts[] = {
		{ "raw", no_argument, NULL, OPT_RAW },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_registry_opts ro = { 0 };
	bool raw = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case OPT_RAW:
			raw = true;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata manifest inspect --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"manifest inspect\" requires exactly 1 argument");
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(argv[optind], &ref, err) < 0)
		return -1;
	st_auto(st_registry) struct st_registry *r = st_registry_new(&ro, err);
	if (!r)
		return -1;
	struct st_registry_manifest m;
	if (st_registry_get_manifest(r, ref, &m, err) < 0)
		return -1;
	int rc = 0;
	if (raw) {
		fwrite(m.bytes.data, 1, m.bytes.len, cli->out);
	} else {
		json_error_t je;
		json_t *j = json_loadb(m.bytes.data, m.bytes.len, 0, &je);
		char *text = j ? json_dumps(j, JSON_INDENT(3) | JSON_PRESERVE_ORDER) : NULL;
		if (text)
			fprintf(cli->out, "%s\n", text);
		else
			rc = st_err(err, ST_E_PARSE, "%s: the manifest is not JSON: %s",
				    argv[optind], je.text);
		free(text);
		json_decref(j);
	}
	st_registry_manifest_release(&m);
	return rc;
}
