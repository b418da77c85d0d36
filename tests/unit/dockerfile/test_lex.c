/* Word expansion and splitting, as BuildKit's shell lexer does them (its lex_test cases). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "tests.h"
#include "dockerfile/dockerfile.h"

static const char *const env_kv[] = { "PWD=/home", "SHELL=bash",      "EMPTY=", "P=a/b/c",
				      "SP=x  y",   "NAME=foo.tar.gz", "1=one" };
static const struct st_dockerfile_env env = { .kv = env_kv, .nkv = 7 };

struct xcase {
	const char *in;
	const char *want; /* NULL: an error containing 'msg' */
	const char *msg;
};

static const struct xcase xcases[] = {
	{ "hello", "hello", NULL },
	{ "he'll'o", "hello", NULL },
	{ "he'llo", NULL, "matching single-quote" },
	{ "he\\'llo", "he'llo", NULL },
	{ "\"hello\"", "hello", NULL },
	{ "\"hel'lo\"", "hel'lo", NULL },
	{ "'hello\\'", "hello\\", NULL },
	{ "\"''\"", "''", NULL },
	{ "\"a\\\"b\"", "a\"b", NULL },
	{ "\"a\\b\"", "a\\b", NULL },
	{ "$.", "$.", NULL },
	{ "he$1x", "heonex", NULL },
	{ "he$.x", "he$.x", NULL },
	{ "he$pwd.", "he.", NULL },
	{ "he$PWD", "he/home", NULL },
	{ "he\\$PWD", "he$PWD", NULL },
	{ "\"he\\$PWD\"", "he$PWD", NULL },
	{ "'$PWD'", "$PWD", NULL },
	{ "${PWD}", "/home", NULL },
	{ "he${PWD:-000}xx", "he/homexx", NULL },
	{ "he${XXX:-000}xx", "he000xx", NULL },
	{ "he${XXX:+000}xx", "hexx", NULL },
	{ "he${PWD:+000}xx", "he000xx", NULL },
	{ "${EMPTY:-x}", "x", NULL },
	{ "${EMPTY-x}", "", NULL },
	{ "${XXX-x}", "x", NULL },
	{ "${EMPTY+x}", "x", NULL },
	{ "${EMPTY:+x}", "", NULL },
	{ "${XXX:-${PWD:-no}}", "/home", NULL },
	{ "${XXX:?msg here}", NULL, "XXX: msg here" },
	{ "${XXX?}", NULL, "XXX: is not allowed to be unset" },
	{ "${EMPTY:?}", NULL, "EMPTY: is not allowed to be empty" },
	{ "${EMPTY?}", "", NULL },
	{ "${PWD?x}", "/home", NULL },
	{ "${PWD#/}", "home", NULL },
	{ "${P#*/}", "b/c", NULL },
	{ "${P##*/}", "c", NULL },
	{ "${P%/*}", "a/b", NULL },
	{ "${P%%/*}", "a", NULL },
	{ "${NAME%.*}", "foo.tar", NULL },
	{ "${NAME%%.*}", "foo", NULL },
	{ "${NAME#*.}", "tar.gz", NULL },
	{ "${NAME#x}", "foo.tar.gz", NULL },
	{ "${P/b/X}", "a/X/c", NULL },
	{ "${P//\\//-}", "a-b-c", NULL },
	{ "${P/\\//-}", "a-b/c", NULL },
	{ "${NAME/.*/}", "foo", NULL },
	{ "${NAME//o/0}", "f00.tar.gz", NULL },
	{ "${P:#x}", NULL, "unsupported modifier (:#) in substitution" },
	{ "${P:=x}", NULL, "unsupported modifier (:=) in substitution" },
	{ "${P^}", NULL, "unsupported modifier (^) in substitution" },
	{ "${", NULL, "syntax error: missing '}'" },
	{ "${}", NULL, "syntax error: bad substitution" },
	{ "${:}", NULL, "syntax error: bad substitution" },
	{ "${{a}}", NULL, "syntax error: bad substitution" },
	{ "${a", NULL, "syntax error: missing '}'" },
	{ "${a:-b", NULL, "syntax error: missing '}'" },
	{ "${a/b}", NULL, "syntax error: missing '/' in ${}" },
	{ "${P#\\x}", NULL, "invalid escape" },
	{ "a\\", "a", NULL },
	{ "\"unterminated", NULL, "matching double-quote" },
};

static void expand_table(void **state)
{
	for (size_t i = 0; i < sizeof(xcases) / sizeof(*xcases); i++) {
		const struct xcase *c = &xcases[i];
		char *out = NULL;
		struct st_error *err = NULL;
		int rc = st_dockerfile_expand(c->in, &env, '\\', &out, &err);
		if (c->want) {
			if (rc != 0)
				fail_msg("%s: %s", c->in, err->msg);
			if (strcmp(out, c->want))
				fail_msg("%s: got '%s' want '%s'", c->in, out, c->want);
		} else {
			if (rc == 0)
				fail_msg("%s: want error '%s', got '%s'", c->in, c->msg, out);
			assert_int_equal(err->kind, ST_E_PARSE);
			if (!strstr(err->msg, c->msg))
				fail_msg("%s: message '%s' lacks '%s'", c->in, err->msg, c->msg);
			assert_non_null(strstr(err->msg, "failed to process"));
		}
		free(out);
		st_error_free(err);
	}
}

static void expand_backtick_escape(void **state)
{
	char *out = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_expand("a`$PWD\\x", &env, '`', &out, &err), 0);
	assert_string_equal(out, "a$PWD\\x");
	free(out);
}

static const char *lookup_fn(void *ctx, const char *name)
{
	(*(int *)ctx)++;
	return strcmp(name, "X") ? NULL : "from-callback";
}

static void expand_with_callback(void **state)
{
	int calls = 0;
	struct st_dockerfile_env cb = { .lookup = lookup_fn, .ctx = &calls };
	char *out = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_expand("$X-${Y:-y}", &cb, '\\', &out, &err), 0);
	assert_string_equal(out, "from-callback-y");
	assert_int_equal(calls, 2);
	free(out);
}

struct wcase {
	const char *in;
	const char *want; /* words joined by '|' */
};

static const struct wcase wcases[] = {
	{ "a b  c", "a|b|c" },	{ "a \"b c\" d", "a|b c|d" },
	{ "'a  b'c", "a  bc" }, { "$SP", "x|y" },
	{ "\"$SP\"", "x  y" },	{ "p${SP}q", "px|yq" },
	{ "a\\ b", "a b" },	{ "${EMPTY}", "" },
	{ "\"\"", "" },		{ "8080/tcp $PWD", "8080/tcp|/home" },
};

static void words_table(void **state)
{
	for (size_t i = 0; i < sizeof(wcases) / sizeof(*wcases); i++) {
		char **w = NULL;
		size_t n = 0;
		struct st_error *err = NULL;
		assert_int_equal(st_dockerfile_words(wcases[i].in, &env, '\\', &w, &n, &err), 0);
		char joined[256] = "";
		size_t off = 0;
		for (size_t k = 0; k < n; k++)
			off += (size_t)snprintf(joined + off, sizeof(joined) - off, "%s%s",
						k ? "|" : "", w[k]);
		if (strcmp(joined, wcases[i].want))
			fail_msg("%s: got '%s' want '%s'", wcases[i].in, joined, wcases[i].want);
		st_dockerfile_strv_free(w);
	}
}

static void deep_nesting_is_bounded(void **state)
{
	/* 100k levels of ${a:-${a:-...}} must fail cleanly, not blow the stack */
	size_t levels = 100000;
	char *s = malloc(levels * 6 + levels + 1);
	size_t o = 0;
	for (size_t i = 0; i < levels; i++) {
		memcpy(s + o, "${a:-", 5);
		o += 5;
	}
	for (size_t i = 0; i < levels; i++)
		s[o++] = '}';
	s[o] = 0;
	char *out = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_expand(s, &env, '\\', &out, &err), -1);
	assert_non_null(strstr(err->msg, "nested too deeply"));
	st_error_free(err);
	free(s);
}

static void growing_substitution_is_capped(void **state)
{
	/* each level multiplies the length: without a cap this takes minutes and gigabytes */
	const char *kv[] = { "A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	struct st_dockerfile_env e = { .kv = kv, .nkv = 1 };
	char *out = NULL;
	struct st_error *err = NULL;
	assert_int_equal(
	    st_dockerfile_expand("${A//a/${A//a/${A//a/${A//a/$A}}}}", &e, '\\', &out, &err), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	assert_non_null(strstr(err->msg, "expansion larger than 1 MiB"));
	st_error_free(err);
	/* two levels (40 * 40 * 40 bytes) are fine */
	assert_int_equal(st_dockerfile_expand("${A//a/${A//a/$A}}", &e, '\\', &out, &err), 0);
	assert_int_equal(strlen(out), 40 * 40 * 40);
	free(out);
}

static void pathological_pattern_is_fast(void **state)
{
	/* *a*a*a*...b against aaaa...: exponential for a naive matcher */
	char pat[200], val[3000], word[400];
	size_t o = 0;
	for (int i = 0; i < 40; i++) {
		pat[o++] = '*';
		pat[o++] = 'a';
	}
	pat[o++] = 'b';
	pat[o] = 0;
	memset(val, 'a', 2999);
	val[2999] = 0;
	char kv[3100];
	snprintf(kv, sizeof(kv), "V=%s", val);
	const char *one[] = { kv };
	struct st_dockerfile_env e = { .kv = one, .nkv = 1 };
	snprintf(word, sizeof(word), "${V#%s}", pat);
	char *out = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_expand(word, &e, '\\', &out, &err), 0);
	assert_int_equal(strlen(out), 2999);
	free(out);
}

int run_lex_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(expand_table),
		cmocka_unit_test(expand_backtick_escape),
		cmocka_unit_test(expand_with_callback),
		cmocka_unit_test(words_table),
		cmocka_unit_test(deep_nesting_is_bounded),
		cmocka_unit_test(growing_substitution_is_capped),
		cmocka_unit_test(pathological_pattern_is_fast),
	};
	return cmocka_run_group_tests_name("dockerfile_lex", tests, NULL, NULL);
}
