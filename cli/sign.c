/* sign.c: strata sign --key KEY [-a KEY=VALUE]... IMAGE */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "password.h"
#include "sign/sign.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata sign --key KEY [OPTIONS] IMAGE\n\n"
    "Sign an image of the store as cosign does, with a cosign-compatible private key: the\n"
    "signature is kept with the image (removed with it, saved and pushed with it)\n\n"
    "Options:\n"
    "  -a, --annotations stringArray   KEY=VALUE to sign in the payload's optional section\n"
    "      --key string                The private key file (cosign.key)\n\n"
    "The key's password is $STRATA_PASSWORD, else $COSIGN_PASSWORD, else asked on the "
    "terminal.\n";

struct sign_opts {
	const char *key;
	struct st_image_map optional; /* -a KEY=VALUE */
	bool help;
};

static int parse_flags(int argc, char **argv, struct sign_opts *o, struct st_error **err)
{
	enum { OPT_KEY = 256 };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, OPT_KEY },
		{ "annotations", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "a:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY:
			o->key = optarg;
			break;
		case 'a': {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return st_cli_usage(err, "-a: expected KEY=VALUE, not '%s'",
						    optarg);
			st_autofree char *k = st_xstrndup(optarg, (size_t)(eq - optarg));
			st_image_map_set(&o->optional, k, eq + 1);
			break;
		}
		case 'h':
			o->help = true;
			return 0;
		default:
			return st_cli_usage(err, "see 'strata sign --help'");
		}
	}
	if (!o->key)
		return st_cli_usage(err, "--key is required: the private key file (cosign.key)");
	if (argc - optind != 1)
		return st_cli_usage(err, "\"sign\" requires exactly 1 argument: IMAGE");
	return 0;
}

static int sign(struct st_cli *cli, const struct sign_opts *o, const char *image,
		struct st_error **err)
{
	struct st_buf pem = ST_BUF_INIT;
	st_autopassword char *password = NULL;
	st_auto(st_sign_key) struct st_sign_key *k = NULL;
	struct st_store *s = NULL;
	struct st_sign_result res = { 0 };
	int rc = -1;
	if (st_read_file(o->key, &pem, err) == 0 &&
	    st_cli_password("Enter password for private key: ", false, &password, err) == 0 &&
	    st_sign_key_load_private(pem.data, pem.len, o->key, password, &k, err) == 0 &&
	    st_cli_store(cli, &s, err) == 0 &&
	    st_sign_image(s, k, image, &o->optional, &res, err) == 0) {
		st_autofree char *tag = st_image_sig_tag(&res.subject);
		fprintf(cli->errout, "Signed %s@%s: signatures in %s (%s)\n", res.repository,
			res.subject.str, res.signature.str, tag);
		rc = 0;
	}
	st_sign_result_release(&res);
	st_buf_release(&pem);
	return rc;
}

int cmd_sign(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct sign_opts o = { 0 };
	int rc = parse_flags(argc, argv, &o, err);
	if (rc == 0 && o.help)
		fputs(usage_text, cli->out);
	else if (rc == 0)
		rc = sign(cli, &o, argv[optind], err);
	st_image_map_release(&o.optional);
	return rc;
}
