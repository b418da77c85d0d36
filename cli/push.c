/* push.c: strata push [-q] [--tls-verify=false] [--authfile F] NAME[:TAG] [DESTINATION] */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata push [OPTIONS] NAME[:TAG] [DESTINATION]\n\n"
    "Upload an image to a registry (to DESTINATION, a NAME[:TAG] of its own, when given)\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: the one 'strata login' writes)\n"
    "  -q, --quiet              Suppress verbose output\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

static void on_event(void *ctx, const char *id, const char *status)
{
	struct st_cli *cli = ctx;
	fprintf(cli->errout, "%s%s%s\n", id, *id ? ": " : "", status);
}

int cmd_push(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_TLS = 256, OPT_AUTHFILE };
	static const struct option longopts[] = {
	    {"quiet", no_argument, NULL, 'q'},
	    {"tls-verify", required_argument, NULL, OPT_TLS},
	    {"authfile", required_argument, NULL, OPT_AUTHFILE},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct st_registry_opts ro = {0};
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "true") && strcmp(optarg, "false"))
				return st_cli_usage(
				    err, "--tls-verify: expected true or false, not '%s'", optarg);
			ro.tls_verify_off = !strcmp(optarg, "false");
			break;
		case OPT_AUTHFILE:
			ro.auth_file = optarg;
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
	if (st_image_ref_parse(dst, &dest, err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, src, &img, err) < 0)
		return -1;
	st_auto(st_registry) struct st_registry *r = st_registry_new(&ro, err);
	if (!r)
		return -1;
	if (!quiet) {
		st_autofree char *repo = st_image_ref_repository(dest);
		fprintf(cli->errout, "The push refers to repository [%s]\n", repo);
	}
	struct st_registry_events ev = {quiet ? NULL : on_event, cli};
	struct st_registry_push_result res;
	if (st_registry_push(s, r, img->id.str, dest, &ev, &res, err) < 0)
		return -1;
	const char *tag = st_image_ref_tag(dest);
	if (!quiet)
		fprintf(cli->errout, "%s: digest: %s size: %llu\n", tag ? tag : "latest",
			res.digest.str, (unsigned long long)res.size);
	st_autofree char *repo = st_image_ref_repository(dest);
	fprintf(cli->out, "%s@%s\n", repo, res.digest.str);
	return 0;
}
