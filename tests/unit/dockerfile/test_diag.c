/* Diagnostics: what the parser notices, with BuildKit's rule names, and the check= options. */
#include <stdbool.h>
#include <string.h>

#include "tests.h"
#include "dockerfile/dockerfile.h"

static struct st_dockerfile *parse(const char *text)
{
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	int rc = st_dockerfile_parse("Dockerfile", text, strlen(text), &df, &err);
	if (rc < 0)
		fail_msg("%s", err->msg);
	return df;
}

/* The one diagnostic of 'rule' in 'df'; fails the test when there is not exactly one. */
static const struct st_dockerfile_diag *one(const struct st_dockerfile *df, const char *rule)
{
	const struct st_dockerfile_diag *d = NULL;
	size_t n = 0;
	for (size_t i = 0; i < df->ndiags; i++)
		if (!strcmp(df->diags[i].rule->name, rule)) {
			d = &df->diags[i];
			n++;
		}
	if (n != 1)
		fail_msg("%zu diagnostics of %s, want 1", n, rule);
	return d;
}

static size_t count(const struct st_dockerfile *df, const char *rule)
{
	size_t n = 0;
	for (size_t i = 0; i < df->ndiags; i++)
		n += !strcmp(df->diags[i].rule->name, rule);
	return n;
}

static void empty_continuation(void **state)
{
	struct st_dockerfile *df = parse("FROM a\nRUN echo a \\\n\n  && echo b\n");
	const struct st_dockerfile_diag *d = one(df, "NoEmptyContinuation");
	assert_string_equal(d->message, "Empty continuation line");
	assert_int_equal(d->start_line, 2);
	assert_int_equal(d->end_line, 4);
	assert_string_equal(d->rule->url,
			    "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/");
	st_dockerfile_free(df);
	df = parse("FROM a\nRUN echo a \\\n  && echo b\n");
	assert_int_equal(count(df, "NoEmptyContinuation"), 0);
	st_dockerfile_free(df);
}

static void stage_names(void **state)
{
	struct st_dockerfile *df = parse("FROM a AS x\nFROM b AS X\nFROM c AS scratch\n");
	const struct st_dockerfile_diag *d = one(df, "DuplicateStageName");
	assert_string_equal(d->message, "Duplicate stage name \"x\", stage names should be unique");
	assert_int_equal(d->start_line, 2);
	d = one(df, "ReservedStageName");
	assert_string_equal(
	    d->message, "Stage name should not use the same name as reserved stage \"scratch\"");
	d = one(df, "StageNameCasing");
	assert_string_equal(d->message, "Stage name 'X' should be lowercase");
	assert_string_equal(d->fix, "FROM b AS x");
	st_dockerfile_free(df);
	df = parse("FROM a AS x\nFROM b AS y\n");
	assert_int_equal(df->ndiags, 0);
	st_dockerfile_free(df);
}

static void from_as_casing(void **state)
{
	struct st_dockerfile *df = parse("FROM a as b\nRUN x\n");
	const struct st_dockerfile_diag *d = one(df, "FromAsCasing");
	assert_string_equal(d->message, "'as' and 'FROM' keywords' casing do not match");
	st_dockerfile_free(df);
	df = parse("from a AS b\nrun x\n");
	d = one(df, "FromAsCasing");
	assert_string_equal(d->message, "'AS' and 'from' keywords' casing do not match");
	st_dockerfile_free(df);
	/* A mixed-case keyword is only ConsistentInstructionCasing's. */
	df = parse("From a as b\nRUN x\nRUN y\n");
	assert_int_equal(count(df, "FromAsCasing"), 0);
	assert_int_equal(count(df, "ConsistentInstructionCasing"), 1);
	st_dockerfile_free(df);
	df = parse("from a as b\nrun x\n");
	assert_int_equal(df->ndiags, 0);
	st_dockerfile_free(df);
}

static void instruction_casing(void **state)
{
	struct st_dockerfile *df = parse("ARG x=1\nFROM a\nRUN x\ncopy a b\nCmd [\"x\"]\n");
	assert_int_equal(count(df, "ConsistentInstructionCasing"), 2);
	assert_string_equal(df->diags[0].message,
			    "Command 'copy' should match the case of the command majority "
			    "(uppercase)");
	assert_string_equal(df->diags[0].fix, "COPY a b");
	assert_string_equal(df->diags[1].message,
			    "Command 'Cmd' should match the case of the command majority "
			    "(uppercase)");
	st_dockerfile_free(df);
	/* The ARGs before FROM do not vote and are not checked. */
	df = parse("arg x=1\nFROM a\nRUN x\n");
	assert_int_equal(df->ndiags, 0);
	st_dockerfile_free(df);
}

static void maintainer(void **state)
{
	struct st_dockerfile *df = parse("FROM a\nMAINTAINER me@example.com\n");
	const struct st_dockerfile_diag *d = one(df, "MaintainerDeprecated");
	assert_string_equal(d->message,
			    "Maintainer instruction is deprecated in favor of using label");
	assert_string_equal(d->fix, "LABEL org.opencontainers.image.authors=\"me@example.com\"");
	st_dockerfile_free(df);
}

static void duplicate_names_build_the_last(void **state)
{
	struct st_dockerfile *df = parse("FROM a AS x\nFROM b AS x\nFROM x\n");
	struct st_dockerfile_plan *p = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_plan(df, NULL, &p, &err), 0);
	assert_int_equal(p->nstages, 2);
	assert_int_equal(p->stages[0].index, 1);
	st_dockerfile_plan_free(p);
	st_dockerfile_free(df);
}

static void check_options(void **state)
{
	struct st_dockerfile_check c;
	struct st_error *err = NULL;
	const struct st_dockerfile_rule *json = st_dockerfile_rule_find("JSONArgsRecommended");
	const struct st_dockerfile_rule *copy = st_dockerfile_rule_find("CopyIgnoredFile");
	assert_non_null(json);
	assert_true(copy->experimental);

	assert_int_equal(st_dockerfile_check_parse(NULL, &c, &err), 0);
	assert_true(st_dockerfile_check_enabled(&c, json));
	assert_false(st_dockerfile_check_enabled(&c, copy));
	assert_false(c.error);

	assert_int_equal(st_dockerfile_check_parse(" skip = JSONArgsRecommended , StageNameCasing ;"
						   "error=true;experimental=CopyIgnoredFile",
						   &c, &err),
			 0);
	assert_false(st_dockerfile_check_enabled(&c, json));
	assert_true(st_dockerfile_check_enabled(&c, copy));
	assert_true(c.error);
	assert_int_equal(c.nskip, 2);
	assert_string_equal(c.skip[1], "StageNameCasing");
	st_dockerfile_check_release(&c);

	assert_int_equal(st_dockerfile_check_parse("skip=all;experimental=all", &c, &err), 0);
	assert_false(st_dockerfile_check_enabled(&c, json));
	/* skip=all leaves experimental rules to experimental= */
	assert_true(st_dockerfile_check_enabled(&c, copy));
	st_dockerfile_check_release(&c);

	assert_int_equal(st_dockerfile_check_parse("skip", &c, &err), -1);
	assert_string_equal(err->msg, "invalid check option \"skip\"");
	st_error_free(err);
	err = NULL;
	assert_int_equal(st_dockerfile_check_parse("ignore=all", &c, &err), -1);
	assert_string_equal(err->msg, "invalid check option \"ignore\"");
	st_error_free(err);
	err = NULL;
	assert_int_equal(st_dockerfile_check_parse("error=maybe", &c, &err), -1);
	assert_string_equal(err->msg, "failed to parse check option \"error=maybe\": "
				      "strconv.ParseBool: parsing \"maybe\": invalid syntax");
	st_error_free(err);
}

int run_diag_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_continuation),
		cmocka_unit_test(stage_names),
		cmocka_unit_test(from_as_casing),
		cmocka_unit_test(instruction_casing),
		cmocka_unit_test(maintainer),
		cmocka_unit_test(duplicate_names_build_the_last),
		cmocka_unit_test(check_options),
	};
	return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
