/*
 * lint.c: strata lint [OPTIONS] [PATH|-]: BuildKit's build checks and hadolint's DL rules
 * over a Dockerfile, without building it; with --image, what the image built from it holds.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "build_checks.h"
#include "cli.h"
#include "dockerfile/dockerfile.h"
#include "dockerfile/dockerignore.h"
#include "lint/lint.h"
#include "local/local.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata lint [OPTIONS] [PATH|-]\n\n"
    "Check a Dockerfile with BuildKit's build checks and hadolint's DL rules\n\n"
    "PATH is a Dockerfile, or a build context holding one (its .dockerignore is read); - reads\n"
    "the Dockerfile from stdin. Without PATH: ./Dockerfile.\n\n"
    "Options:\n"
    "      --build-arg list            Set build-time variables (K=V)\n"
    "      --config string             Settings file (default: .strata-lint.yaml, else\n"
    "                                  .hadolint.yaml, in the working directory)\n"
    "      --context string            The build context, for .dockerignore (default: the\n"
    "                                  Dockerfile's directory)\n"
    "  -f, --file string               Name of the Dockerfile (default: PATH/Dockerfile)\n"
    "      --failure-threshold string  Exit 1 on a finding this severe or more: error,\n"
    "                                  warning, info, style or none (default: info)\n"
    "      --format string             tty, json, sarif, gnu, checkstyle or junit (default:\n"
    "                                  tty)\n"
    "      --ignore list               Do not report this rule (StageNameCasing, DL3006)\n"
    "      --image string              The image built from the Dockerfile: what its layers\n"
    "                                  hold (caches, files deleted later, secret-looking\n"
    "                                  files) is reported on the lines that made them\n"
    "                                  (default: what the last build -t of this Dockerfile\n"
    "                                  made, while its text is unchanged)\n"
    "      --target string             Check this stage and the stages it needs (default:\n"
    "                                  every stage)\n\n"
    "Findings are silenced by \"# check=skip=RULE\" (BuildKit's rules), by\n"
    "\"# hadolint ignore=RULE\" above an instruction and \"# hadolint global ignore=RULE\".\n"
    "Exit status: 0 when nothing reaches the threshold, 1 when something does.\n";

struct lint_cli_opts {
	const char **args, **ignore;
	size_t nargs, nignore;
	const char *file, *context, *target, *path, *config, *image;
	enum st_lint_format format;
	enum st_dockerfile_severity threshold;
	bool no_threshold, threshold_given;
};

static void push(const char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct lint_cli_opts *o,
		       struct st_error **err)
{
	enum {
		O_BUILD_ARG = 256,
		O_CONFIG,
		O_CONTEXT,
		O_THRESHOLD,
		O_FORMAT,
		O_IGNORE,
		O_IMAGE,
		O_TARGET
	};
	static const struct option longopts[] = {
		{ "build-arg", required_argument, NULL, O_BUILD_ARG },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "file", required_argument, NULL, 'f' },
		{ "failure-threshold", required_argument, NULL, O_THRESHOLD },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "ignore", required_argument, NULL, O_IGNORE },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "target", required_argument, NULL, O_TARGET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	o->threshold = ST_DF_SEV_INFO;
	int c;
	while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_BUILD_ARG:
			if (optarg[0] == '=' || !optarg[0])
				return st_cli_usage(
				    err, "invalid --build-arg '%s': expected NAME=VALUE or NAME",
				    optarg);
			push(&o->args, &o->nargs, optarg);
			break;
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_CONTEXT:
			o->context = optarg;
			break;
		case 'f':
			o->file = optarg;
			break;
		case O_THRESHOLD:
			o->threshold_given = true;
			if (!strcmp(optarg, "none"))
				o->no_threshold = true;
			else if (st_lint_severity_parse(optarg, &o->threshold) < 0)
				return st_cli_usage(err,
						    "invalid --failure-threshold '%s': use error, "
						    "warning, info, style or none",
						    optarg);
			break;
		case O_FORMAT:
			if (st_lint_format_parse(optarg, &o->format) < 0)
				return st_cli_usage(err,
						    "invalid --format '%s': use tty, json, sarif, "
						    "gnu, checkstyle or junit",
						    optarg);
			break;
		case O_IGNORE:
			push(&o->ignore, &o->nignore, optarg);
			break;
		case O_IMAGE:
			o->image = optarg;
			break;
		case O_TARGET:
			o->target = optarg;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata lint --help'");
		}
	}
	if (argc - optind > 1)
		return st_cli_usage(err, "lint takes at most one PATH");
	o->path = optind < argc ? argv[optind] : NULL;
	return 0;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? st_xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
		     : st_xstrdup(".");
}

/* A base image the store holds: its variables and platform, for UndefinedVar and the like. */
static int base_from_store(void *ctx, const char *image, char ***env, char **platform)
{
	struct st_cli *cli = ctx;
	struct st_store *s = NULL;
	struct st_error *err = NULL;
	/* Only a store that exists: linting must not create one. */
	st_autofree char *db = st_path_join(cli->root, "strata.db");
	if (access(db, F_OK) < 0)
		return 0;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (st_cli_store(cli, &s, &err) < 0 || st_local_image_find(s, image, &img, &err) < 0 ||
	    st_local_image_config(s, img, &cfg, &err) < 0) {
		st_error_free(err);
		return 0;
	}
	const struct st_image_strv *e = &cfg->config.env;
	*env = st_xcalloc(e->n + 1, sizeof(char *));
	for (size_t i = 0; i < e->n; i++)
		(*env)[i] = st_xstrdup(e->v[i]);
	*platform = st_xasprintf("%s/%s%s%s", cfg->os ? cfg->os : "linux",
				 cfg->architecture ? cfg->architecture : "amd64",
				 cfg->variant ? "/" : "", cfg->variant ? cfg->variant : "");
	return 1;
}

/* --config FILE, else the first of strata's and hadolint's file names that exists here. */
static int load_config(struct lint_cli_opts *o, struct st_lint_config *cfg, bool *loaded,
		       struct st_error **err)
{
	static const char *const names[] = { ".strata-lint.yaml", ".strata-lint.yml",
					     ".hadolint.yaml", ".hadolint.yml" };
	const char *path = o->config;
	for (size_t i = 0; !path && i < sizeof(names) / sizeof(*names); i++)
		if (access(names[i], F_OK) == 0)
			path = names[i];
	if (!path)
		return 0;
	struct st_buf text = ST_BUF_INIT;
	int rc = st_read_file(path, &text, err);
	if (rc == 0)
		rc = st_lint_config_parse(path, st_buf_str(&text), text.len, cfg, err);
	st_buf_release(&text);
	if (rc < 0)
		return -1;
	*loaded = true;
	if (cfg->threshold_set && !o->threshold_given) {
		o->no_threshold = cfg->threshold_none;
		o->threshold = cfg->threshold;
	}
	return 0;
}

/* The names at the top of the context, for the rules about what a build sends. */
static char **context_entries(const char *dir, size_t *n)
{
	char **v = NULL;
	*n = 0;
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return NULL;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		v = st_xrealloc(v, (*n + 2) * sizeof(*v));
		v[(*n)++] = st_xstrdup(e->d_name);
		v[*n] = NULL;
	}
	closedir(d);
	return v;
}

static int lint(struct st_cli *cli, struct lint_cli_opts *o, struct st_error **err)
{
	struct st_lint_config cfg = { 0 };
	bool have_cfg = false;
	if (load_config(o, &cfg, &have_cfg, err) < 0)
		return -1;
	st_autofree char *dfpath = NULL, *ctx = NULL;
	const char *name = "Dockerfile";
	if (o->path && !strcmp(o->path, "-")) {
		name = "Dockerfile";
	} else if (o->file) {
		dfpath = st_xstrdup(o->file);
		ctx = o->path ? st_xstrdup(o->path) : dir_of(o->file);
	} else if (o->path && is_dir(o->path)) {
		dfpath = st_path_join(o->path, "Dockerfile");
		ctx = st_xstrdup(o->path);
	} else {
		dfpath = st_xstrdup(o->path ? o->path : "Dockerfile");
		ctx = dir_of(dfpath);
	}
	if (o->context) {
		free(ctx);
		ctx = st_xstrdup(o->context);
	}
	if (dfpath)
		name = dfpath;
	struct st_buf text = ST_BUF_INIT;
	int rc;
	if (dfpath) {
		rc = st_read_file(dfpath, &text, err);
	} else {
		char chunk[65536];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			st_buf_add(&text, chunk, n);
		rc = ferror(stdin) ? st_err_errno(err, "read Dockerfile from stdin") : 0;
	}
	st_auto(st_dockerfile) struct st_dockerfile *df = NULL;
	st_auto(st_dockerignore) struct st_dockerignore *ign = NULL;
	if (rc == 0)
		rc = st_dockerfile_parse(name, st_buf_str(&text), text.len, &df, err);
	if (rc == 0 && ctx)
		rc = st_dockerignore_load(ctx, dfpath, &ign, err);
	/* Without --image: the image the last build -t of this very text made, if any. */
	st_autofree char *built =
	    rc == 0 && !o->image && dfpath
		? st_cli_checks_recall(cli, dfpath, o->target, st_buf_str(&text), text.len)
		: NULL;
	const char *imgname = o->image ? o->image : built;
	st_auto(st_analyze) struct st_analyze *image = NULL;
	if (rc == 0 && imgname)
		rc = st_cli_analyze_open(cli, imgname, NULL, NULL, &image, err);
	size_t nentries = 0;
	char **entries = context_entries(ctx, &nentries);
	struct st_lint_opts lo = {
		.build_args = o->args,
		.nbuild_args = o->nargs,
		.target = o->target,
		.all_stages = true,
		.ignore = ign,
		.context_entries = (const char *const *)entries,
		.ncontext_entries = nentries,
		.skip = o->ignore,
		.nskip = o->nignore,
		.base = base_from_store,
		.base_ctx = cli,
		.config = have_cfg ? &cfg : NULL,
		.image = image,
	};
	struct st_lint_result res = { 0 };
	if (rc == 0)
		rc = st_lint_dockerfile(df, st_buf_str(&text), text.len, &lo, &res, err);
	if (rc == 0) {
		struct st_buf out = ST_BUF_INIT;
		/* https://no-color.org: set and not empty turns colour off. */
		const char *nc = getenv("NO_COLOR");
		bool color = isatty(fileno(cli->out)) && !(nc && *nc);
		st_lint_format(&res, o->format, name, st_buf_str(&text), text.len, color, &out);
		if (out.len)
			fwrite(out.data, 1, out.len, cli->out);
		st_buf_release(&out);
		for (size_t i = 0; !o->no_threshold && i < res.ndiags; i++)
			if (res.diags[i].severity <= o->threshold)
				rc = 1;
	}
	st_lint_result_release(&res);
	st_lint_config_release(&cfg);
	st_dockerfile_strv_free(entries);
	st_buf_release(&text);
	return rc;
}

int cmd_lint(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct lint_cli_opts o = { 0 };
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc == 0)
		rc = lint(cli, &o, err);
	else if (rc == 1)
		rc = 0;
	free(o.args);
	free(o.ignore);
	return rc;
}
