/* verify.c: strata verify --key KEY.pub [--tls-verify=false] [--authfile F] IMAGE */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "local/local.h"
#include "sign/sign.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata verify --key KEY.pub [OPTIONS] IMAGE\n\n"
    "Verify an image's cosign signatures against a public key, and print the verified\n"
    "payloads. IMAGE is an image of the store (its signatures in the store, else in its\n"
    "registry repository), REGISTRY/REPOSITORY[:TAG] not in the store (verified in the\n"
    "registry), or dir:PATH (containers/image's directory layout with sigstore signatures)\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --key string         The public key file (cosign.pub)\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

struct verify_opts {
	const char *key;
	struct st_registry_opts ro;
	bool help;
};

static int parse_flags(int argc, char **argv, struct verify_opts *o, struct st_error **err)
{
	enum { OPT_KEY = 256 };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, OPT_KEY },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &o->ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case OPT_KEY:
			o->key = optarg;
			break;
		case 'h':
			o->help = true;
			return 0;
		default:
			return st_cli_usage(err, "see 'strata verify --help'");
		}
	}
	if (!o->key)
		return st_cli_usage(err, "--key is required: the public key file (cosign.pub)");
	if (argc - optind != 1)
		return st_cli_usage(err, "\"verify\" requires exactly 1 argument: IMAGE");
	return 0;
}

/* As cosign prints it: what was checked on stderr, the payloads as one JSON array on stdout. */
static void print_verified(struct st_cli *cli, const char *image, const struct st_sign_result *r)
{
	fprintf(cli->errout,
		"\nVerification for %s --\n"
		"The following checks were performed on each of these signatures:\n"
		"  - The cosign claims were validated\n"
		"  - The signatures were verified against the specified public key\n",
		image);
	fputc('[', cli->out);
	for (size_t i = 0; i < r->n_payloads; i++)
		fprintf(cli->out, "%s%s", i ? "," : "", r->payloads[i]);
	fputs("]\n", cli->out);
}

static int verify(struct st_cli *cli, const struct verify_opts *o, const char *image,
		  const struct st_sign_key *pub, struct st_sign_result *res, struct st_error **err)
{
	if (!strncmp(image, "dir:", 4))
		return st_sign_verify_dir(pub, image + 4, res, err);
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_registry) struct st_registry *r = st_registry_new(&o->ro, err);
	if (!r)
		return -1;
	struct st_error *e = NULL;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, image, &img, &e) == 0)
		return st_sign_verify_image(s, r, pub, image, res, err);
	if (e->kind != ST_E_NOTFOUND) {
		*err = e;
		return -1;
	}
	st_error_free(e);
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(image, &ref, err) < 0)
		return -1;
	return st_sign_verify_remote(r, pub, ref, res, err);
}

int cmd_verify(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct verify_opts o = { 0 };
	if (parse_flags(argc, argv, &o, err) < 0)
		return -1;
	if (o.help) {
		fputs(usage_text, cli->out);
		return 0;
	}
	const char *image = argv[optind];
	struct st_buf pem = ST_BUF_INIT;
	st_auto(st_sign_key) struct st_sign_key *pub = NULL;
	struct st_sign_result res = { 0 };
	int rc = st_read_file(o.key, &pem, err);
	if (rc == 0)
		rc = st_sign_key_load_public(pem.data, pem.len, o.key, &pub, err);
	if (rc == 0)
		rc = verify(cli, &o, image, pub, &res, err);
	if (rc == 0)
		print_verified(cli, image, &res);
	st_sign_result_release(&res);
	st_buf_release(&pem);
	return rc;
}
