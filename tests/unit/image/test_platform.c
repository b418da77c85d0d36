#include "tests.h"

#include <string.h>

#include "image/image.h"

static void platform_parse_table(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "linux/amd64", "linux/amd64" },
		{ "linux/x86_64", "linux/amd64" },
		{ "linux/x86-64", "linux/amd64" },
		{ "linux/amd64/v1", "linux/amd64" },
		{ "linux/amd64/v3", "linux/amd64/v3" },
		{ "linux/aarch64", "linux/arm64" },
		{ "linux/arm64/v8", "linux/arm64" },
		{ "linux/arm64/8", "linux/arm64" },
		{ "linux/arm", "linux/arm/v7" },
		{ "linux/arm/7", "linux/arm/v7" },
		{ "linux/arm/v6", "linux/arm/v6" },
		{ "linux/armhf", "linux/arm/v7" },
		{ "linux/armel", "linux/arm/v6" },
		{ "linux/i386", "linux/386" },
		{ "Linux/AMD64", "linux/amd64" },
		{ "macos/arm64", "darwin/arm64" },
		{ "windows/amd64", "windows/amd64" },
		{ "linux/ppc64le", "linux/ppc64le" },
		{ "linux/s390x", "linux/s390x" },
		{ "linux/riscv64", "linux/riscv64" },
		{ "amd64", "linux/amd64" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct st_platform p;
		struct st_error *err = NULL;
		struct st_buf b = ST_BUF_INIT;
		if (st_platform_parse(cases[i].in, &p, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err->msg);
		st_platform_format(&p, &b);
		assert_string_equal(st_buf_str(&b), cases[i].out);
		st_buf_release(&b);
	}
}

static void platform_parse_errors(void **state)
{
	const char *bad[] = {
		"", "/", "linux/", "/amd64", "linux/amd64/v7/x", "linux/am d64", NULL
	};
	for (size_t i = 0; bad[i]; i++) {
		struct st_platform p;
		struct st_error *err = NULL;
		assert_int_equal(st_platform_parse(bad[i], &p, &err), -1);
		assert_int_equal(err->kind, ST_E_INVALID);
		assert_non_null(strstr(err->msg, "invalid platform"));
		st_error_clear(&err);
	}
}

static void platform_host_is_normalised(void **state)
{
	struct st_platform h, lone;
	struct st_error *err = NULL;
	st_platform_host(&h);
	assert_string_equal(h.os, "linux");
	assert_true(strcmp(h.architecture, "x86_64") != 0 &&
		    strcmp(h.architecture, "aarch64") != 0);
	assert_int_equal(st_platform_parse("linux", &lone, &err), 0);
	assert_string_equal(lone.architecture, h.architecture);
	assert_true(st_platform_match(&h, &h));
}

static void platform_match_rules(void **state)
{
	struct st_platform w, h;
	struct st_error *err = NULL;
	static const struct {
		const char *want, *have;
		bool ok;
	} cases[] = {
		{ "linux/amd64", "linux/amd64", true },
		{ "linux/amd64", "linux/arm64", false },
		{ "linux/amd64", "windows/amd64", false },
		{ "linux/arm64", "linux/arm64/v8", true },
		{ "linux/arm/v7", "linux/arm/v6", true },
		{ "linux/arm/v6", "linux/arm/v7", false },
		{ "linux/arm/v7", "linux/arm/v7", true },
		{ "linux/amd64/v3", "linux/amd64", true },
		{ "linux/amd64", "linux/amd64/v3", true },
		{ "linux/arm64", "linux/arm64/v9", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		assert_int_equal(st_platform_parse(cases[i].want, &w, &err), 0);
		assert_int_equal(st_platform_parse(cases[i].have, &h, &err), 0);
		if (st_platform_match(&w, &h) != cases[i].ok)
			fail_msg("match(%s, %s) != %d", cases[i].want, cases[i].have, cases[i].ok);
	}
}

int test_platform_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(platform_parse_table),
		cmocka_unit_test(platform_parse_errors),
		cmocka_unit_test(platform_host_is_normalised),
		cmocka_unit_test(platform_match_rules),
	};
	return cmocka_run_group_tests_name("platform", tests, NULL, NULL);
}
