/* .dockerignore: moby/patternmatcher's semantics and the context walker. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "dockerfile/dockerignore.h"
#include "util/buf.h"
#include "util/fs.h"

struct icase {
	const char *patterns;
	const char *path;
	bool excluded;
};

static const struct icase icases[] = {
	{ "*.o", "a.o", true },
	{ "*.o", "dir/a.o", false },
	{ "**/*.o", "dir/sub/a.o", true },
	{ "**/*.o", "a.o", true },
	{ "dir", "dir/sub/file", true },
	{ "dir/", "dir/file", true },
	{ "./dir", "dir/file", true },
	{ "/dir", "dir/file", true },
	{ "dir/*", "dir/x", true },
	{ "dir/*", "dir", false },
	{ "a?c", "abc", true },
	{ "a?c", "a/c", false },
	{ "[a-c]x", "bx", true },
	{ "[^a-c]x", "dx", true },
	{ "[^a-c]x", "ax", false },
	{ "\\*", "*", true },
	{ "\\*", "a", false },
	{ "**", "anything/at/all", true },
	{ "dir/**", "dir/a/b", true },
	{ "dir/**", "other", false },
	{ "a/**/b", "a/b", true },
	{ "a/**/b", "a/x/y/b", true },
	{ "*\n!keep.txt", "keep.txt", false },
	{ "*\n!keep.txt", "other.txt", true },
	{ "*.md\n!README.md\nREADME.md", "README.md", true },
	{ "# comment\n  *.log  \n", "x.log", true },
	{ "# comment\n", "# comment", false },
	{ "docs\n!docs/keep", "docs/keep", false },
	{ "docs\n!docs/keep", "docs/other", true },
	{ "", "anything", false },
	{ "a/../b", "b", true },
	/* one character is one UTF-8 sequence, as in Go's regexp */
	{ "a?c",
	  "a\xc3\xa9"
	  "c",
	  true },
	{ "a??", "a\xc3\xa9", false },
	{ "[^a]b",
	  "\xc3\xa9"
	  "b",
	  true },
	{ "[\xc3\xa9]x", "\xc3\xa9x", true },
	{ "[\xc3\xa0-\xc3\xab]", "\xc3\xa9", true },
	{ "[\xc3\xa0-\xc3\xab]", "\xc3\xac", false },
	{ "?", "\xff", true },
	{ "[!a]", "!", true },
	{ "[\\-a]", "-", true },
	{ "[\\]]", "]", true },
};

static void matches_table(void **state)
{
	for (size_t i = 0; i < sizeof(icases) / sizeof(*icases); i++) {
		struct st_dockerignore *m = st_dockerignore_new();
		struct st_error *err = NULL;
		const char *t = icases[i].patterns;
		assert_int_equal(st_dockerignore_add_text(m, ".dockerignore", t, strlen(t), &err),
				 0);
		if (st_dockerignore_matches(m, icases[i].path) != icases[i].excluded)
			fail_msg("patterns '%s' path '%s': want excluded=%d", t, icases[i].path,
				 icases[i].excluded);
		st_dockerignore_free(m);
	}
}

static void bad_patterns(void **state)
{
	struct st_dockerignore *m = st_dockerignore_new();
	struct st_error *err = NULL;
	assert_int_equal(st_dockerignore_add_text(m, ".dockerignore", "ok\n!\n", 6, &err), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	assert_string_equal(err->msg, ".dockerignore:2: illegal exclusion pattern: \"!\"");
	st_error_free(err);
	err = NULL;
	assert_int_equal(st_dockerignore_add_pattern(m, "a[b", &err), -1);
	assert_non_null(strstr(err->msg, "missing closing ]"));
	st_error_free(err);
	st_dockerignore_free(m);
}

/* What Go's filepath.Match rejects fails the build, naming the line and the pattern. */
static void malformed_patterns(void **state)
{
	static const struct {
		const char *pattern, *why;
	} cases[] = {
		{ "[]", "empty character class" },
		{ "[a-]", "character range with a missing end" },
		{ "[a-", "character range with a missing end" },
		{ "[-a]", "character range with a missing start" },
		{ "[a-b-c]", "character range with a missing start" },
		{ "x/[ab", "missing closing ]" },
		{ "[a\\", "missing closing ]" },
		{ "[z-a]", "bad character range" },
		{ "[\xff]", "invalid UTF-8 in a character class" },
		{ "!./end\\", "trailing backslash" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct st_dockerignore *m = st_dockerignore_new();
		struct st_error *err = NULL;
		char *text = st_xasprintf("ok\n%s\n", cases[i].pattern);
		assert_int_equal(
		    st_dockerignore_add_text(m, "ctx/.dockerignore", text, strlen(text), &err), -1);
		assert_int_equal(err->kind, ST_E_PARSE);
		char *want =
		    st_xasprintf("ctx/.dockerignore:2: invalid .dockerignore pattern \"%s\": %s",
				 cases[i].pattern, cases[i].why);
		if (strcmp(err->msg, want))
			fail_msg("got '%s', want '%s'", err->msg, want);
		free(want);
		free(text);
		st_error_free(err);
		st_dockerignore_free(m);
	}
}

static void may_include_under(void **state)
{
	struct st_dockerignore *m = st_dockerignore_new();
	struct st_error *err = NULL;
	const char *t = "node_modules\nbuild\n!build/keep/*.txt\nvendor\n!**/LICENSE\n";
	assert_int_equal(st_dockerignore_add_text(m, NULL, t, strlen(t), &err), 0);
	assert_true(st_dockerignore_may_include_under(m, "build"));
	assert_true(st_dockerignore_may_include_under(m, "build/keep"));
	assert_true(st_dockerignore_may_include_under(m, "vendor")); /* ** could match */
	st_dockerignore_free(m);
	m = st_dockerignore_new();
	t = "node_modules\nbuild\n!build/keep/*.txt\n";
	assert_int_equal(st_dockerignore_add_text(m, NULL, t, strlen(t), &err), 0);
	assert_false(st_dockerignore_may_include_under(m, "node_modules"));
	assert_false(st_dockerignore_may_include_under(m, "build/other"));
	st_dockerignore_free(m);
}

static void put(const char *dir, const char *rel, const char *content)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = 0;
	struct st_error *err = NULL;
	assert_int_equal(st_mkdir_p(path, 0755, &err), 0);
	*slash = '/';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static int collect(void *ctx, const char *rel, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode)) {
		st_buf_adds(ctx, rel);
		st_buf_addch(ctx, '\n');
	}
	return 0;
}

static void walker(void **state)
{
	char dir[] = "/tmp/st-df-ignore-XXXXXX";
	assert_non_null(mkdtemp(dir));
	put(dir, "Dockerfile", "FROM a\n");
	put(dir, ".dockerignore", "*\n!src\n!build/keep.txt\nsrc/*.tmp\n");
	put(dir, "src/main.c", "");
	put(dir, "src/x.tmp", "");
	put(dir, "build/keep.txt", "");
	put(dir, "build/drop.o", "");
	put(dir, "secret", "");
	put(dir, "ci/app.Dockerfile", "FROM a\n");
	put(dir, "ci/app.Dockerfile.dockerignore", "src\n");
	/* an unreadable excluded directory proves it is never opened */
	put(dir, "zz_excluded/file", "");
	char zz[1100];
	snprintf(zz, sizeof(zz), "%s/zz_excluded", dir);
	chmod(zz, 0);

	struct st_dockerignore *m = NULL;
	struct st_error *err = NULL;
	struct st_buf out = ST_BUF_INIT;
	assert_int_equal(st_dockerignore_load(dir, NULL, &m, &err), 0);
	if (st_dockerignore_walk(m, dir, collect, &out, &err) < 0)
		fail_msg("%s", err->msg);
	/* "*" excludes the Dockerfile and .dockerignore too: BuildKit does not add them back */
	assert_string_equal(out.data, "build/keep.txt\nsrc/main.c\n");
	st_dockerignore_free(m);
	st_buf_reset(&out);

	char df[1100];
	snprintf(df, sizeof(df), "%s/ci/app.Dockerfile", dir);
	assert_int_equal(st_dockerignore_load(dir, df, &m, &err), 0);
	if (st_dockerignore_walk(m, dir, collect, &out, &err) < 0)
		fail_msg("%s", err->msg);
	assert_null(strstr(out.data, "src/"));
	assert_non_null(strstr(out.data, "ci/app.Dockerfile\n"));
	assert_non_null(strstr(out.data, "secret\n"));
	st_dockerignore_free(m);
	st_buf_release(&out);
	chmod(zz, 0755);
	assert_int_equal(st_rm_rf(dir, &err), 0);
}

int run_ignore_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matches_table),
		cmocka_unit_test(bad_patterns),
		cmocka_unit_test(malformed_patterns),
		cmocka_unit_test(may_include_under),
		cmocka_unit_test(walker),
	};
	return cmocka_run_group_tests_name("dockerfile_ignore", tests, NULL, NULL);
}
