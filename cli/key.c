/* key.c: strata key generate [--output-key-prefix PREFIX] */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "password.h"
#include "sign/sign.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata key generate [--output-key-prefix PREFIX]\n\n"
    "Generate a cosign-compatible ECDSA P-256 key pair: PREFIX.key, the private key encrypted\n"
    "with a password (mode 0600), and PREFIX.pub, the public key\n\n"
    "Options:\n"
    "      --output-key-prefix string   Name of the key files, without .key and .pub\n"
    "                                   (default \"cosign\")\n\n"
    "The password is $STRATA_PASSWORD, else $COSIGN_PASSWORD, else asked on the terminal.\n";

/* Refuse to replace a key: a lost private key cannot be made again. */
static int refuse_existing(const char *path, struct st_error **err)
{
	if (st_path_exists(path))
		return st_err(err, ST_E_EXISTS,
			      "'%s' exists: remove it or choose another --output-key-prefix", path);
	return 0;
}

int cmd_key_generate(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_PREFIX = 256 };
	static const struct option longopts[] = {
		{ "output-key-prefix", required_argument, NULL, OPT_PREFIX },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *prefix = "cosign";
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PREFIX:
			prefix = optarg;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata key generate --help'");
		}
	}
	if (optind != argc)
		return st_cli_usage(err, "\"key generate\" takes no arguments");
	if (!*prefix)
		return st_cli_usage(err, "--output-key-prefix: empty");
	st_autofree char *key_path = st_xasprintf("%s.key", prefix);
	st_autofree char *pub_path = st_xasprintf("%s.pub", prefix);
	if (refuse_existing(key_path, err) < 0 || refuse_existing(pub_path, err) < 0)
		return -1;

	st_autopassword char *password = NULL;
	if (st_cli_password("Enter password for private key: ", true, &password, err) < 0)
		return -1;
	st_auto(st_sign_key) struct st_sign_key *k = NULL;
	struct st_buf priv = ST_BUF_INIT, pub = ST_BUF_INIT;
	int rc = -1;
	if (st_sign_key_generate(&k, err) < 0 ||
	    st_sign_key_private_pem(k, password, &priv, err) < 0 ||
	    st_sign_key_public_pem(k, &pub, err) < 0 ||
	    st_write_file_atomic(key_path, NULL, priv.data, priv.len, 0600, err) < 0)
		goto out;
	if (st_write_file_atomic(pub_path, NULL, pub.data, pub.len, 0644, err) < 0) {
		unlink(key_path);
		goto out;
	}
	fprintf(cli->errout, "Private key written to %s\nPublic key written to %s\n", key_path,
		pub_path);
	rc = 0;
out:
	st_buf_release(&priv);
	st_buf_release(&pub);
	return rc;
}
