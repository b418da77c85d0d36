/*
 * import.c: strata import [--change C]... [-m MSG] [--platform P] [--progress auto|plain|tty]
 *                         FILE|DIR|- [REPOSITORY[:TAG]]
 */
#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
#include "cli.h"
#include "dockerfile/dockerfile.h"
#include "layer_progress.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/timestamp.h"
#include "util/banned.h"

struct import_opts {
	const char **changes;
	size_t nchanges;
	const char *message;
	const char *platform;
	const char *progress;
	const char *src;
	const char *ref;
};

static const char usage_text[] =
    "Usage: strata import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]\n\n"
    "Create an image from a root filesystem tarball (plain, gzip, zstd, bzip2, xz) or a "
    "directory\n\n"
    "Options:\n"
    "  -c, --change list      Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV,\n"
    "                         EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,\n"
    "                         WORKDIR)\n"
    "  -m, --message string   Set the commit message of the imported image\n"
    "      --platform string  Set the platform (default: the host's)\n"
    "      --progress string  auto, plain or tty: the tarball's reading, on STDERR (default\n"
    "                         auto: a terminal only)\n";

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct import_opts *o,
		       struct st_error **err)
{
	enum { OPT_PROGRESS = 256 };
	static const struct option longopts[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "message", required_argument, NULL, 'm' },
		{ "platform", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->changes = st_xrealloc(o->changes, (o->nchanges + 1) * sizeof(char *));
			o->changes[o->nchanges++] = optarg;
			break;
		case 'm':
			o->message = optarg;
			break;
		case 'p':
			o->platform = optarg;
			break;
		case OPT_PROGRESS:
			o->progress = optarg;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata import --help'");
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return st_cli_usage(
		    err, "\"import\" requires 1 or 2 arguments: FILE|DIR|- [REPOSITORY[:TAG]]");
	o->src = argv[optind];
	o->ref = argc - optind == 2 ? argv[optind + 1] : NULL;
	return 0;
}

static const char *env_lookup(void *ctx, const char *name)
{
	return st_image_config_env_get(ctx, name);
}

/*
 * The instructions Docker's import and commit accept as changes: its daemon's list, which has
 * HEALTHCHECK and STOPSIGNAL although its documentation leaves them out.
 */
static bool change_allowed(enum st_dockerfile_kind k)
{
	switch (k) {
	case ST_DF_CMD:
	case ST_DF_ENTRYPOINT:
	case ST_DF_ENV:
	case ST_DF_EXPOSE:
	case ST_DF_HEALTHCHECK:
	case ST_DF_LABEL:
	case ST_DF_ONBUILD:
	case ST_DF_STOPSIGNAL:
	case ST_DF_USER:
	case ST_DF_VOLUME:
	case ST_DF_WORKDIR:
		return true;
	default:
		return false;
	}
}

int st_cli_apply_change(struct st_image_config *cfg, bool *cmd_set, const char *change,
			struct st_error **err)
{
	st_autofree char *text = st_xasprintf("%s\n", change);
	st_auto(st_dockerfile) struct st_dockerfile *df = NULL;
	if (st_dockerfile_parse_flags("--change", text, strlen(text), ST_DOCKERFILE_PARSE_AST_ONLY,
				      &df, err) < 0)
		return -1;
	if (df->ninstrs != 1)
		return st_err(err, ST_E_PARSE, "--change '%s': expected one instruction", change);
	const struct st_dockerfile_instr *in = &df->instrs[0];
	if (!change_allowed(in->kind)) {
		/* Docker's words, with the instruction in lower case as its parser keeps it. */
		st_autofree char *name = st_xstrdup(in->keyword);
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		return st_err(err, ST_E_INVALID, "--change '%s': %s is not a valid change command",
			      change, name);
	}
	struct st_dockerfile_env env = { .lookup = env_lookup, .ctx = cfg };
	char **words = NULL;
	size_t n = 0;
	if (st_dockerfile_instr_expand(in, &env, df->escape, &words, &n, err) < 0)
		return st_err_wrap(err, "--change '%s'", change);
	st_autofree char *created_by = NULL;
	st_autofree char *mkdir = NULL;
	int rc = st_builder_config_apply(cfg, in, words, n, cmd_set, &created_by, &mkdir, err);
	st_dockerfile_strv_free(words);
	if (rc < 0)
		return st_err_wrap(err, "--change '%s'", change);
	return 0;
}

int cmd_import(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct import_opts o = { 0 };
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc != 0) {
		free(o.changes);
		return rc < 0 ? -1 : 0;
	}
	st_autofree const char **changes = o.changes; /* frees them on return */
	(void)changes;

	st_autofree char *refname = NULL;
	if (o.ref && st_local_ref_normalize(o.ref, &refname, err) < 0)
		return -1;
	struct st_platform plat;
	st_platform_host(&plat);
	if (o.platform && st_platform_parse(o.platform, &plat, err) < 0)
		return -1;

	st_auto(st_image_config) struct st_image_config *cfg = st_image_config_new();
	bool cmd_set = false;
	for (size_t i = 0; i < o.nchanges; i++)
		if (st_cli_apply_change(cfg, &cmd_set, o.changes[i], err) < 0)
			return -1;

	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	if (st_cli_layers_init(&layers, cli->errout, o.progress, 0, err) < 0)
		return -1;
	struct st_local_import im = {
		.events = st_cli_layers_events(&layers),
		.src = o.src,
		.config = cfg,
		.platform = &plat,
		.message = o.message,
		.ref = refname,
	};
	if (st_time_source_date_epoch(&im.source_date_epoch, &im.clamp, err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_digest id;
	if (st_local_import(s, &im, &id, err) < 0)
		return -1;
	fprintf(cli->out, "%s\n", id.str);
	return 0;
}
