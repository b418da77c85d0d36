/*
 * fuzz_lint.c: the build checks and DL rules over any Dockerfile that parses: the check=
 * options, pragmas, the shell reading of RUN, description comments, and every output format.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lint/lint.h"

static int base(void *ctx, const char *image, char ***env, char **platform)
{
	*env = calloc(2, sizeof(char *));
	(*env)[0] = strdup("HOME=/root");
	*platform = strdup(image[0] == 'a' ? "linux/arm64" : "linux/amd64");
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	const char *text = (const char *)data;
	if (st_dockerfile_parse("Dockerfile", text, size, &df, &err) < 0) {
		st_error_free(err);
		return 0;
	}
	struct st_dockerignore *ign = st_dockerignore_new();
	if (st_dockerignore_add_text(ign, ".dockerignore", "*.env\n!keep\n", 12, &err) < 0)
		st_error_clear(&err);
	const char *args[] = { "A=1", "BUILDKIT_DOCKERFILE_CHECK=experimental=all" };
	struct st_lint_opts o = { .all_stages = true, .ignore = ign, .base = base };
	for (int round = 0; round < 2; round++) {
		struct st_lint_result r;
		o.build_args = args;
		o.nbuild_args = (size_t)round * 2;
		if (st_lint_dockerfile(df, text, size, &o, &r, &err) < 0) {
			st_error_clear(&err);
			continue;
		}
		static const enum st_lint_format formats[] = {
			ST_LINT_FORMAT_TTY, ST_LINT_FORMAT_JSON, ST_LINT_FORMAT_SARIF,
			ST_LINT_FORMAT_GNU, ST_LINT_FORMAT_CHECK
		};
		struct st_buf b = ST_BUF_INIT;
		for (size_t f = 0; f < sizeof(formats) / sizeof(*formats); f++)
			st_lint_format(&r, formats[f], "Dockerfile", text, size, f == 0, &b);
		st_buf_release(&b);
		st_lint_result_release(&r);
	}
	st_dockerignore_free(ign);
	st_dockerfile_free(df);
	return 0;
}
