/* Build args, global ARGs and the stage graph. */
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "dockerfile/dockerfile.h"

static struct st_dockerfile *parse_ok(const char *text)
{
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	if (st_dockerfile_parse("Dockerfile", text, strlen(text), &df, &err) < 0)
		fail_msg("parse failed: %s", err->msg);
	return df;
}

static const char multi[] = "ARG GO=1.21\n"
			    "ARG IMG=golang:${GO}\n"
			    "ARG UNSET\n"
			    "FROM --platform=$BUILDPLATFORM ${IMG} AS build\n"
			    "ARG VERSION\n"
			    "RUN echo\n"
			    "FROM alpine AS tools\n"
			    "FROM build AS test\n"
			    "RUN --mount=type=bind,from=tools,target=/t true\n"
			    "FROM scratch AS final\n"
			    "COPY --from=build /out /out\n"
			    "COPY --from=0 /x /x\n"
			    "COPY --from=busybox:1 /bin/sh /sh\n";

static void target_last_stage(void **state)
{
	struct st_dockerfile *df = parse_ok(multi);
	const char *args[] = { "GO=1.22", "VERSION=3", "NOPE=1", "HTTP_PROXY=x", "ALSO" };
	struct st_dockerfile_plan_opts o = { .build_args = args, .nbuild_args = 5 };
	struct st_dockerfile_plan *p = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_plan(df, &o, &p, &err), 0);
	assert_int_equal(p->nstages, 2);
	assert_int_equal(p->stages[0].index, 0);
	assert_string_equal(p->stages[0].base, "golang:1.22");
	assert_false(p->stages[0].base_is_stage);
	assert_int_equal(p->stages[1].index, 3);
	assert_int_equal(p->stages[1].ndeps, 1);
	assert_int_equal(p->nglobal_args, 2);
	assert_string_equal(p->global_args[0], "GO=1.22");
	assert_string_equal(p->global_args[1], "IMG=golang:1.22");
	assert_int_equal(p->nunused_args, 2);
	assert_string_equal(p->unused_args[0], "ALSO");
	assert_string_equal(p->unused_args[1], "NOPE");
	st_dockerfile_plan_free(p);
	st_dockerfile_free(df);
}

static void target_named_stage(void **state)
{
	struct st_dockerfile *df = parse_ok(multi);
	struct st_dockerfile_plan_opts o = { .target = "TEST" };
	struct st_dockerfile_plan *p = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_plan(df, &o, &p, &err), 0);
	assert_int_equal(p->nstages, 3);
	assert_int_equal(p->stages[0].index, 0); /* build */
	assert_int_equal(p->stages[1].index, 1); /* tools */
	assert_int_equal(p->stages[2].index, 2); /* test */
	assert_true(p->stages[2].base_is_stage);
	assert_int_equal(p->stages[2].base_stage, 0);
	assert_string_equal(p->global_args[0], "GO=1.21");
	st_dockerfile_plan_free(p);
	st_dockerfile_free(df);
}

static void errors(void **state)
{
	struct st_dockerfile *df = parse_ok(multi);
	struct st_dockerfile_plan_opts o = { .target = "nosuch" };
	struct st_dockerfile_plan *p = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_plan(df, &o, &p, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_string_equal(err->msg, "target stage \"nosuch\" could not be found");
	st_error_free(err);
	err = NULL;
	st_dockerfile_free(df);

	df = parse_ok("FROM b AS a\nFROM a AS b\n");
	assert_int_equal(st_dockerfile_plan(df, NULL, &p, &err), -1);
	assert_non_null(strstr(err->msg, "circular dependency detected on stage: "));
	st_error_free(err);
	err = NULL;
	st_dockerfile_free(df);

	df = parse_ok("FROM a\nCOPY --from=7 / /\n");
	assert_int_equal(st_dockerfile_plan(df, NULL, &p, &err), -1);
	assert_non_null(strstr(err->msg, "Dockerfile:2: stage index 7 out of range"));
	st_error_free(err);
	err = NULL;
	st_dockerfile_free(df);

	df = parse_ok("ARG X\nFROM ${X}\n");
	assert_int_equal(st_dockerfile_plan(df, NULL, &p, &err), -1);
	assert_non_null(strstr(err->msg, "base name (${X}) should not be blank"));
	st_error_free(err);
	st_dockerfile_free(df);
}

static void platform_args(void **state)
{
	struct st_dockerfile *df =
	    parse_ok("FROM img-${TARGETARCH}${TARGETVARIANT:+-}${TARGETVARIANT}-$BUILDOS\n");
	struct st_dockerfile_plan_opts o = { .target_platform = "linux/arm/v7" };
	struct st_dockerfile_plan *p = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_plan(df, &o, &p, &err), 0);
	assert_string_equal(p->stages[0].base, "img-arm-v7-linux");
	assert_true(st_dockerfile_arg_is_predefined("https_proxy"));
	assert_false(st_dockerfile_arg_is_predefined("FOO"));
	st_dockerfile_plan_free(p);
	st_dockerfile_free(df);
}

int run_plan_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(target_last_stage),
		cmocka_unit_test(target_named_stage),
		cmocka_unit_test(errors),
		cmocka_unit_test(platform_args),
	};
	return cmocka_run_group_tests_name("dockerfile_plan", tests, NULL, NULL);
}
