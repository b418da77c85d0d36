/* fuzz_dockerfile.c: the Dockerfile parser, dump, plan and per-instruction expansion. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dockerfile/dockerfile.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	if (st_dockerfile_parse_flags("Dockerfile", (const char *)data, size,
				      ST_DOCKERFILE_PARSE_AST_ONLY, &df, &err) == 0) {
		struct st_buf b = ST_BUF_INIT;
		st_dockerfile_dump(df, &b);
		st_buf_release(&b);
		st_dockerfile_free(df);
		df = NULL;
	}
	st_error_clear(&err);
	if (st_dockerfile_parse("Dockerfile", (const char *)data, size, &df, &err) < 0) {
		st_error_free(err);
		return 0;
	}
	const char *args[] = { "A=1", "B" };
	struct st_dockerfile_plan_opts o = { .build_args = args, .nbuild_args = 2 };
	struct st_dockerfile_plan *p = NULL;
	if (st_dockerfile_plan(df, &o, &p, &err) == 0)
		st_dockerfile_plan_free(p);
	st_error_clear(&err);
	const char *kv[] = { "A=a b", "P=x/y.z" };
	struct st_dockerfile_env env = { .kv = kv, .nkv = 2 };
	for (size_t i = 0; i < df->ninstrs; i++) {
		char **v = NULL;
		if (st_dockerfile_instr_expand(&df->instrs[i], &env, df->escape, &v, NULL, &err) ==
		    0)
			st_dockerfile_strv_free(v);
		st_error_clear(&err);
	}
	st_dockerfile_free(df);
	return 0;
}
