/*
 * debug.c: strata debug parse [--ast-only] FILE
 *          strata debug expand [--env K=V]... [--escape C] -- WORD
 *          strata debug words [--env K=V]... [--escape C] -- STRING
 *          strata debug ignore [-f DOCKERFILE] CONTEXT
 * Windows into the Dockerfile front end, for tests and for people chasing a parse problem.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dockerfile/dockerfile.h"
#include "dockerfile/dockerignore.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char usage_text[] = "Usage: strata debug parse [--ast-only] FILE\n"
				 "       strata debug expand [--env K=V]... [--escape C] -- WORD\n"
				 "       strata debug words [--env K=V]... [--escape C] -- STRING\n"
				 "       strata debug ignore [-f DOCKERFILE] CONTEXT\n";

static int read_input(const char *path, struct st_buf *b, struct st_error **err)
{
	if (strcmp(path, "-") != 0)
		return st_read_file(path, b, err);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		st_buf_add(b, chunk, n);
	if (ferror(stdin))
		return st_err_errno(err, "read standard input");
	return 0;
}

static int debug_parse(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option opts[] = { { "ast-only", no_argument, NULL, 'a' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	enum st_dockerfile_parse_flags flags = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'a')
			flags |= ST_DOCKERFILE_PARSE_AST_ONLY;
		else if (c == 'h') {
			fputs(usage_text, cli->out);
			return 0;
		} else
			return st_cli_usage(err, "debug parse: bad flag");
	}
	if (optind + 1 != argc)
		return st_cli_usage(err, "debug parse takes one FILE");
	const char *path = argv[optind];
	struct st_buf text = ST_BUF_INIT;
	if (read_input(path, &text, err) < 0) {
		st_buf_release(&text);
		return -1;
	}
	const char *slash = strrchr(path, '/');
	const char *name = !strcmp(path, "-") ? "Dockerfile" : slash ? slash + 1 : path;
	st_auto(st_dockerfile) struct st_dockerfile *df = NULL;
	int rc = st_dockerfile_parse_flags(name, st_buf_str(&text), text.len, flags, &df, err);
	st_buf_release(&text);
	if (rc < 0)
		return -1;
	struct st_buf out = ST_BUF_INIT;
	st_dockerfile_dump(df, &out);
	fwrite(out.data, 1, out.len, cli->out);
	st_buf_release(&out);
	for (size_t i = 0; i < df->ndiags; i++)
		fprintf(cli->errout, "warning: %s:%d: %s: %s\n", df->name, df->diags[i].start_line,
			df->diags[i].rule->name, df->diags[i].message);
	return 0;
}

struct env_opts {
	const char **kv;
	size_t nkv;
	char escape;
};

static int parse_env_opts(int argc, char **argv, struct env_opts *o, struct st_error **err)
{
	static const struct option opts[] = { { "env", required_argument, NULL, 'e' },
					      { "escape", required_argument, NULL, 'E' },
					      { NULL, 0, NULL, 0 } };
	int c;
	o->escape = '\\';
	while ((c = getopt_long(argc, argv, "e:", opts, NULL)) != -1) {
		if (c == 'e') {
			o->kv = st_xrealloc(o->kv, (o->nkv + 1) * sizeof(*o->kv));
			o->kv[o->nkv++] = optarg;
		} else if (c == 'E') {
			if (strcmp(optarg, "\\") && strcmp(optarg, "`"))
				return st_cli_usage(err, "--escape must be \\ or `");
			o->escape = optarg[0];
		} else {
			return st_cli_usage(err, "bad flag");
		}
	}
	if (optind + 1 != argc)
		return st_cli_usage(err, "expected one WORD after --");
	/* Later --env values win, like a later ENV: search from the end. */
	for (size_t i = 0; i < o->nkv / 2; i++) {
		const char *t = o->kv[i];
		o->kv[i] = o->kv[o->nkv - 1 - i];
		o->kv[o->nkv - 1 - i] = t;
	}
	return 0;
}

static int debug_expand(struct st_cli *cli, int argc, char **argv, bool split,
			struct st_error **err)
{
	struct env_opts o = { 0 };
	if (parse_env_opts(argc, argv, &o, err) < 0) {
		free(o.kv);
		return -1;
	}
	struct st_dockerfile_env env = { .kv = o.kv, .nkv = o.nkv };
	int rc;
	if (!split) {
		st_autofree char *x = NULL;
		rc = st_dockerfile_expand(argv[optind], &env, o.escape, &x, err);
		if (rc == 0)
			fprintf(cli->out, "%s\n", x);
	} else {
		char **w = NULL;
		size_t n = 0;
		rc = st_dockerfile_words(argv[optind], &env, o.escape, &w, &n, err);
		for (size_t i = 0; rc == 0 && i < n; i++)
			fprintf(cli->out, "%s\n", w[i]);
		st_dockerfile_strv_free(w);
	}
	free(o.kv);
	return rc;
}

struct paths {
	FILE *out;
};

static int print_file(void *ctx, const char *rel, const struct stat *st)
{
	struct paths *p = ctx;
	if (!S_ISDIR(st->st_mode))
		fprintf(p->out, "%s\n", rel);
	return 0;
}

static int debug_ignore(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	const char *dockerfile = NULL;
	int c;
	while ((c = getopt(argc, argv, "+f:")) != -1) {
		if (c == 'f')
			dockerfile = optarg;
		else
			return st_cli_usage(err, "debug ignore: bad flag");
	}
	if (optind + 1 != argc)
		return st_cli_usage(err, "debug ignore takes one CONTEXT directory");
	const char *context = argv[optind];
	st_autofree char *dfpath = NULL;
	if (dockerfile)
		dfpath = dockerfile[0] == '/' ? st_xstrdup(dockerfile)
					      : st_path_join(context, dockerfile);
	st_auto(st_dockerignore) struct st_dockerignore *m = NULL;
	if (st_dockerignore_load(context, dfpath, &m, err) < 0)
		return -1;
	struct paths p = { cli->out };
	return st_dockerignore_walk(m, context, print_file, &p, err);
}

int cmd_debug(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? cli->errout : cli->out);
		return argc < 2 ? st_cli_usage(err, "debug needs a subcommand") : 0;
	}
	const char *sub = argv[1];
	optind = 1; /* argv[1] (the subcommand) stands in for argv[0] */
	if (!strcmp(sub, "parse"))
		return debug_parse(cli, argc - 1, argv + 1, err);
	if (!strcmp(sub, "expand"))
		return debug_expand(cli, argc - 1, argv + 1, false, err);
	if (!strcmp(sub, "words"))
		return debug_expand(cli, argc - 1, argv + 1, true, err);
	if (!strcmp(sub, "ignore"))
		return debug_ignore(cli, argc - 1, argv + 1, err);
	return st_cli_usage(err, "unknown debug subcommand '%s' (parse, expand, words, ignore)",
			    sub);
}
