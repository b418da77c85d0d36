/* copy.c: strata copy [OPTIONS] SOURCE DESTINATION, as skopeo copy. */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "layer_progress.h"
#include "copy/copy.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata copy [OPTIONS] SOURCE DESTINATION\n\n"
    "Copy an image from one location to another, as skopeo copy does. Each side is one of:\n"
    "  docker://NAME[:TAG|@DIGEST]    a registry\n"
    "  oci:DIR[:NAME]                 an OCI image layout directory (NAME: its ref.name)\n"
    "  oci-archive:FILE[:NAME]        an OCI image layout as a tar\n"
    "  docker-archive:FILE[:NAME]     what docker save writes and docker load reads\n"
    "  strata:NAME, or NAME           strata's store\n"
    "Blobs are verified against their digests on the way and manifests keep their bytes,\n"
    "so the image has the same digest on both sides. A copy into the store also records\n"
    "the name the source gives the image, as pull and load do.\n\n"
    "Options:\n"
    "      --authfile string          Credentials file for both sides\n"
    "                                 (default: ~/.docker/config.json)\n"
    "      --src-authfile string      Credentials file for the source registry\n"
    "      --dest-authfile string     Credentials file for the destination registry\n"
    "      --src-tls-verify bool      Require HTTPS and verify certificates of the source\n"
    "                                 registry (default true)\n"
    "      --dest-tls-verify bool     The same for the destination registry\n"
    "      --override-os string       Choose this OS from an index instead of the host's\n"
    "      --override-arch string     Choose this architecture instead of the host's\n"
    "      --override-variant string  Choose this architecture variant\n"
    "  -a, --all                      From a registry's index: every image and the index\n"
    "                                 (to docker://, oci:, oci-archive: or the store)\n"
    "      --multi-arch string        From an index: system (the host's image, or the one\n"
    "                                 --override-* name; the default), all (as --all) or\n"
    "                                 index-only (the index alone, to docker://)\n"
    "      --digestfile string        Write the digest of the copied manifest to this file\n"
    "      --progress string          auto, plain or tty: a line per layer with a bar\n"
    "  -q, --quiet                    Suppress output\n";

static int tls_verify(const char *flag, const char *arg, bool *off, struct st_error **err)
{
	if (strcmp(arg, "true") && strcmp(arg, "false"))
		return st_cli_usage(err, "--%s: expected true or false, not '%s'", flag, arg);
	*off = !strcmp(arg, "false");
	return 0;
}

static int write_digestfile(const char *path, const struct st_digest *d, struct st_error **err)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return st_err_errno(err, "--digestfile: open '%s'", path);
	bool ok = fputs(d->str, f) >= 0;
	if (fclose(f) != 0 || !ok)
		return st_err_errno(err, "--digestfile: write '%s'", path);
	return 0;
}

int cmd_copy(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum {
		OPT_AUTHFILE = 256,
		OPT_SRC_AUTHFILE,
		OPT_DEST_AUTHFILE,
		OPT_SRC_TLS,
		OPT_DEST_TLS,
		OPT_OS,
		OPT_ARCH,
		OPT_VARIANT,
		OPT_DIGESTFILE,
		OPT_PROGRESS,
		OPT_MULTI_ARCH,
	};
	static const struct option longopts[] = {
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "src-authfile", required_argument, NULL, OPT_SRC_AUTHFILE },
		{ "dest-authfile", required_argument, NULL, OPT_DEST_AUTHFILE },
		{ "src-tls-verify", required_argument, NULL, OPT_SRC_TLS },
		{ "dest-tls-verify", required_argument, NULL, OPT_DEST_TLS },
		{ "override-os", required_argument, NULL, OPT_OS },
		{ "override-arch", required_argument, NULL, OPT_ARCH },
		{ "override-variant", required_argument, NULL, OPT_VARIANT },
		{ "digestfile", required_argument, NULL, OPT_DIGESTFILE },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "multi-arch", required_argument, NULL, OPT_MULTI_ARCH },
		{ "quiet", no_argument, NULL, 'q' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool quiet = false, all = false, index_only = false;
	const char *progress = NULL;
	struct st_registry_opts src_ro = { 0 }, dest_ro = { 0 };
	const char *os = NULL, *arch = NULL, *variant = NULL, *digestfile = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "aqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case OPT_AUTHFILE:
			src_ro.auth_file = dest_ro.auth_file = optarg;
			break;
		case OPT_SRC_AUTHFILE:
			src_ro.auth_file = optarg;
			break;
		case OPT_DEST_AUTHFILE:
			dest_ro.auth_file = optarg;
			break;
		case OPT_SRC_TLS:
			if (tls_verify("src-tls-verify", optarg, &src_ro.tls_verify_off, err) < 0)
				return -1;
			break;
		case OPT_DEST_TLS:
			if (tls_verify("dest-tls-verify", optarg, &dest_ro.tls_verify_off, err) < 0)
				return -1;
			break;
		case OPT_OS:
			os = optarg;
			break;
		case OPT_ARCH:
			arch = optarg;
			break;
		case OPT_VARIANT:
			variant = optarg;
			break;
		case OPT_DIGESTFILE:
			digestfile = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_PROGRESS:
			progress = optarg;
			break;
		case OPT_MULTI_ARCH:
			if (strcmp(optarg, "system") && strcmp(optarg, "all") &&
			    strcmp(optarg, "index-only"))
				return st_cli_usage(
				    err,
				    "--multi-arch: expected system, all or index-only, not '%s'",
				    optarg);
			all = !strcmp(optarg, "all");
			index_only = !strcmp(optarg, "index-only");
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata copy --help'");
		}
	}
	if (argc - optind != 2)
		return st_cli_usage(err,
				    "\"copy\" requires exactly 2 arguments: SOURCE DESTINATION");

	struct st_platform platform;
	bool have_platform = os || arch || variant;
	if (have_platform) {
		st_platform_host(&platform);
		st_autofree char *spec = st_xasprintf("%s/%s%s%s", os ? os : platform.os,
						      arch ? arch : platform.architecture,
						      variant ? "/" : "", variant ? variant : "");
		if (st_platform_parse(spec, &platform, err) < 0)
			return st_err_wrap(err, "--override-os/--override-arch/--override-variant");
	}

	struct st_copy_ref src, dst;
	if (st_copy_ref_parse(argv[optind], &src, err) < 0)
		return st_err_wrap(err, "source");
	if (st_copy_ref_parse(argv[optind + 1], &dst, err) < 0) {
		st_copy_ref_release(&src);
		return st_err_wrap(err, "destination");
	}
	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	unsigned lflags = ST_CLI_LAYERS_PIPE_PLAIN | (quiet ? ST_CLI_LAYERS_QUIET : 0);
	if (st_cli_layers_init(&layers, cli->errout, progress, lflags, err) < 0) {
		st_copy_ref_release(&src);
		st_copy_ref_release(&dst);
		return -1;
	}
	struct st_store *s = NULL;
	st_auto(st_registry) struct st_registry *src_reg = NULL;
	st_auto(st_registry) struct st_registry *dest_reg = NULL;
	int rc = st_copy_needs_store(&src, &dst, all) ? st_cli_store(cli, &s, err) : 0;
	if (rc == 0 && src.kind == ST_COPY_DOCKER && !(src_reg = st_registry_new(&src_ro, err)))
		rc = -1;
	if (rc == 0 && dst.kind == ST_COPY_DOCKER && !(dest_reg = st_registry_new(&dest_ro, err)))
		rc = -1;
	struct st_copy_opts o = {
		.src_registry = src_reg,
		.dest_registry = dest_reg,
		.platform = have_platform ? &platform : NULL,
		.all = all,
		.index_only = index_only,
		.events = st_cli_layers_events(&layers),
	};
	struct st_copy_result res;
	if (rc == 0)
		rc = st_copy(s, &src, &dst, &o, &res, err);
	if (rc == 0 && !quiet)
		fprintf(cli->errout, "Writing manifest to image destination\n");
	if (rc == 0 && digestfile)
		rc = write_digestfile(digestfile, &res.digest, err);
	st_copy_ref_release(&src);
	st_copy_ref_release(&dst);
	return rc;
}
