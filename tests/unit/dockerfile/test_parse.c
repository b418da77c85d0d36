/* The parser: BuildKit's testfile dumps, error messages, heredocs, lines, warnings, stages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "dockerfile/dockerfile.h"
#include "util/buf.h"
#include "util/fs.h"

static struct st_dockerfile *parse_ok(const char *text)
{
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	if (st_dockerfile_parse("Dockerfile", text, strlen(text), &df, &err) < 0)
		fail_msg("parse failed: %s", err->msg);
	return df;
}

static void testfiles(void **state)
{
	static const char *const names[] = { "docker",	   "health",	  "influxdb",
					     "multistage", "heredoc",	  "escape-backtick",
					     "onbuild",	   "continuation" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct st_buf df_text = ST_BUF_INIT, want = ST_BUF_INIT, got = ST_BUF_INIT;
		char path[512];
		struct st_error *err = NULL;
		snprintf(path, sizeof(path), "%s/%s/Dockerfile", TESTFILES, names[i]);
		assert_int_equal(st_read_file(path, &df_text, &err), 0);
		snprintf(path, sizeof(path), "%s/%s/result", TESTFILES, names[i]);
		assert_int_equal(st_read_file(path, &want, &err), 0);
		struct st_dockerfile *df = NULL;
		if (st_dockerfile_parse_flags("Dockerfile", df_text.data, df_text.len,
					      ST_DOCKERFILE_PARSE_AST_ONLY, &df, &err) < 0)
			fail_msg("%s: %s", names[i], err->msg);
		st_dockerfile_dump(df, &got);
		if (strcmp(got.data, want.data))
			fail_msg("%s: dump differs:\n--- got\n%s--- want\n%s", names[i], got.data,
				 want.data);
		st_dockerfile_free(df);
		st_buf_release(&df_text);
		st_buf_release(&want);
		st_buf_release(&got);
	}
}

struct ecase {
	const char *text;
	const char *msg;
};

static const struct ecase ecases[] = {
	{ "FROM a\nRUNN x\n",
	  "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)\n     2 | RUNN x" },
	{ "FROM a\ncopyy a b\n", "Dockerfile:2: unknown instruction: copyy (did you mean COPY?)" },
	{ "FROM a\nFROBNICATE x\n", "Dockerfile:2: unknown instruction: FROBNICATE" },
	{ "", "Dockerfile: file with no instructions" },
	{ "# just a comment\n\n", "Dockerfile: file with no instructions" },
	{ "ARG a=1\n", "no FROM instruction" },
	{ "RUN true\nFROM a\n", "Dockerfile:1: RUN before the first FROM" },
	{ "FROM a\nRUN <<EOF\nhello\n", "Dockerfile:2: unterminated heredoc 'EOF'" },
	{ "FROM a\nCMD [1, 2]\n",
	  "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only" },
	{ "FROM a\nCOPY --form=x a b\n", "Dockerfile:2: unknown flag: --form for COPY" },
	{ "FROM a\nRUN --chown=1 true\n", "unknown flag: --chown for RUN" },
	{ "FROM a\nCOPY --link=maybe a b\n",
	  "expecting boolean value for flag --link, not: maybe" },
	{ "FROM a\nCOPY --from a b\n", "missing a value on flag: --from" },
	{ "FROM a\nCOPY --from=a --from=b x y\n", "duplicate flag specified: --from" },
	{ "FROM a\nCOPY onlyone\n", "COPY requires at least two arguments" },
	{ "FROM a\nRUN\n", "RUN requires at least one argument" },
	{ "FROM a\nUSER\n", "USER requires exactly one argument" },
	{ "FROM a\nENV\n", "ENV requires at least one argument" },
	{ "FROM a\nENV onlykey\n", "ENV must have two arguments" },
	{ "FROM a\nENV a=b c\n", "Syntax error - can't find = in \"c\"" },
	{ "FROM a\nLABEL =x\n", "LABEL names can not be blank" },
	{ "FROM a b\n", "FROM requires either one argument, or three" },
	{ "FROM a AS 1x\n", "invalid name for build stage: \"1x\"" },
	{ "FROM a\nONBUILD ONBUILD RUN x\n",
	  "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed" },
	{ "FROM a\nONBUILD FROM b\n", "FROM isn't allowed as an ONBUILD trigger" },
	{ "FROM a\nONBUILD MAINTAINER me\n", "MAINTAINER isn't allowed as an ONBUILD trigger" },
	{ "FROM a\nONBUILD\n", "ONBUILD requires at least one argument" },
	{ "FROM a\nHEALTHCHECK CONNECT x\n", "unknown type \"CONNECT\" in HEALTHCHECK (try CMD)" },
	{ "FROM a\nHEALTHCHECK CMD\n", "missing command after HEALTHCHECK CMD" },
	{ "FROM a\nHEALTHCHECK --interval=5 CMD x\n", "invalid --interval duration '5'" },
	{ "FROM a\nHEALTHCHECK --retries=-1 CMD x\n", "invalid --retries value '-1'" },
	{ "FROM a\nHEALTHCHECK NONE x\n", "HEALTHCHECK NONE takes no arguments" },
	{ "FROM a\nSHELL /bin/sh -c\n", "SHELL requires the arguments to be in JSON form" },
	{ "FROM a\nVOLUME [\"\"]\n", "VOLUME specified can not be an empty string" },
	{ "# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\" },
	{ "# escape=`\n# escape=\\\nFROM a\n",
	  "Dockerfile:2: only one escape parser directive can be used" },
	{ "# syntax=a\n#syntax=b\nFROM a\n", "only one syntax parser directive can be used" },
};

static void errors_table(void **state)
{
	for (size_t i = 0; i < sizeof(ecases) / sizeof(*ecases); i++) {
		struct st_dockerfile *df = NULL;
		struct st_error *err = NULL;
		const char *t = ecases[i].text;
		if (st_dockerfile_parse("Dockerfile", t, strlen(t), &df, &err) == 0)
			fail_msg("'%s' parsed, want '%s'", t, ecases[i].msg);
		assert_int_equal(err->kind, ST_E_PARSE);
		if (!strstr(err->msg, ecases[i].msg))
			fail_msg("'%s': message '%s' lacks '%s'", t, err->msg, ecases[i].msg);
		st_error_free(err);
	}
}

/* A NUL byte would cut the line where C strings end: it is an error naming its line. */
static void nul_byte_names_its_line(void **state)
{
	static const char t[] = "FROM scratch\nENV A=1\nRUN echo a\0b\n";
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_parse("Dockerfile", t, sizeof(t) - 1, &df, &err), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	assert_non_null(
	    strstr(err->msg, "Dockerfile:3: NUL byte at column 11: a Dockerfile must be text"));
	st_error_free(err);
}

static void instructions_and_lines(void **state)
{
	struct st_dockerfile *df =
	    parse_ok("# syntax=docker/dockerfile:1.7\n"
		     "# check=skip=all\n"
		     "ARG BASE=node:20\n"
		     "from ${BASE} as Deps\n"
		     "WORKDIR /app\n"
		     "COPY --link --chown=node:node package*.json ./\n"
		     "RUN --mount=type=cache,target=/root/.npm \\\n"
		     "    --mount=type=secret,id=npmrc,target=/root/.npmrc \\\n"
		     "    npm ci\n"
		     "FROM node:20-slim\n"
		     "COPY --from=deps /app/node_modules ./node_modules\n"
		     "HEALTHCHECK --interval=30s --timeout=3s CMD [\"node\", \"health.js\"]\n"
		     "CMD node server.js\n"
		     "MAINTAINER someone\n");
	assert_string_equal(df->syntax, "docker/dockerfile:1.7");
	assert_string_equal(df->check, "skip=all");
	assert_int_equal(df->nstages, 2);
	assert_int_equal(df->nmeta_args, 1);
	assert_string_equal(df->stages[0].name, "deps");
	assert_string_equal(df->stages[0].base, "${BASE}");
	assert_null(df->stages[1].name);
	assert_int_equal(df->stages[0].ninstrs, 3);
	const struct st_dockerfile_instr *run = df->stages[0].instrs[2];
	assert_int_equal(run->kind, ST_DF_RUN);
	assert_int_equal(run->start_line, 7);
	assert_int_equal(run->end_line, 9);
	assert_int_equal(run->nflags, 2);
	assert_string_equal(run->flags[0].name, "mount");
	assert_string_equal(run->flags[1].value, "type=secret,id=npmrc,target=/root/.npmrc");
	assert_string_equal(run->args[0], "npm ci");
	assert_false(run->json);
	const struct st_dockerfile_instr *cp = df->stages[0].instrs[1];
	assert_true(st_dockerfile_instr_flag_bool(cp, "link"));
	assert_string_equal(st_dockerfile_instr_flag(cp, "chown"), "node:node");
	assert_null(st_dockerfile_instr_flag(cp, "chmod"));
	const struct st_dockerfile_instr *hc = df->stages[1].instrs[1];
	assert_int_equal(hc->kind, ST_DF_HEALTHCHECK);
	assert_true(hc->json);
	assert_int_equal(hc->nargs, 3);
	assert_string_equal(hc->args[0], "CMD");
	assert_string_equal(df->instrs[1].keyword, "from");
	assert_string_equal(df->instrs[1].original, "from ${BASE} as Deps");
	/* what the parser notices: "as Deps", lower-case "from" and "as", MAINTAINER */
	assert_int_equal(df->ndiags, 3);
	assert_string_equal(df->diags[0].rule->name, "StageNameCasing");
	assert_string_equal(df->diags[0].message, "Stage name 'Deps' should be lowercase");
	assert_string_equal(df->diags[0].fix, "from ${BASE} as deps");
	assert_string_equal(df->diags[1].rule->name, "MaintainerDeprecated");
	assert_int_equal(df->diags[1].start_line, 14);
	assert_string_equal(df->diags[2].rule->name, "ConsistentInstructionCasing");
	assert_string_equal(df->diags[2].message,
			    "Command 'from' should match the case of the command majority "
			    "(uppercase)");
	assert_string_equal(df->diags[2].fix, "FROM ${BASE} as Deps");
	st_dockerfile_free(df);
}

static void heredocs(void **state)
{
	struct st_dockerfile *df = parse_ok("FROM a\n"
					    "RUN <<EOF bash && cat <<'EOT' >/x\n"
					    "echo $HOME\n"
					    "EOF\n"
					    "raw $HOME\n"
					    "EOT\n"
					    "COPY <<-END 3<<\"Q\" /dst\n"
					    "\t\tindented\n"
					    "\tEND\n"
					    "q\n"
					    "Q\n"
					    "RUN echo after\n");
	const struct st_dockerfile_instr *run = &df->instrs[1];
	assert_int_equal(run->nheredocs, 2);
	assert_string_equal(run->heredocs[0].name, "EOF");
	assert_true(run->heredocs[0].expand);
	assert_string_equal(run->heredocs[0].content, "echo $HOME\n");
	assert_string_equal(run->heredocs[1].name, "EOT");
	assert_false(run->heredocs[1].expand);
	assert_string_equal(run->heredocs[1].content, "raw $HOME\n");
	assert_int_equal(run->start_line, 2);
	assert_int_equal(run->end_line, 6);
	const struct st_dockerfile_instr *cp = &df->instrs[2];
	assert_int_equal(cp->nheredocs, 2);
	assert_true(cp->heredocs[0].chomp);
	assert_string_equal(cp->heredocs[0].content, "indented\n");
	assert_int_equal(cp->heredocs[1].fd, 3);
	assert_false(cp->heredocs[1].expand);
	assert_string_equal(cp->heredocs[1].content, "q\n");
	assert_int_equal(df->instrs[3].start_line, 12);
	st_dockerfile_free(df);
}

static void heredoc_as_the_whole_command(void **state)
{
	(void)state;
	/* BuildKit runs these heredocs' bodies as the script */
	assert_true(st_dockerfile_heredoc_is_command("<<EOF"));
	assert_true(st_dockerfile_heredoc_is_command("<<-'EOF'"));
	assert_true(st_dockerfile_heredoc_is_command("<<\"E\"OF"));
	assert_true(st_dockerfile_heredoc_is_command("3<<EOF"));
	/* and hands these to the shell */
	assert_false(st_dockerfile_heredoc_is_command("<<EOF bash"));
	assert_false(st_dockerfile_heredoc_is_command("python3 <<EOF"));
	assert_false(st_dockerfile_heredoc_is_command("<<A <<B"));
	assert_false(st_dockerfile_heredoc_is_command("<<"));
	assert_false(st_dockerfile_heredoc_is_command("<<'EOF"));
	assert_false(st_dockerfile_heredoc_is_command(""));
}

static void many_heredocs_on_one_line(void **state)
{
	/* 20000 heredocs and no bodies: fails fast and cleanly */
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, "FROM a\nRUN cat");
	for (int i = 0; i < 20000; i++)
		st_buf_addf(&b, " <<E%d", i);
	st_buf_adds(&b, "\nE0\nE1\n");
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_parse("Dockerfile", b.data, b.len, &df, &err), -1);
	assert_non_null(strstr(err->msg, "unterminated heredoc 'E2'"));
	st_error_free(err);
	st_buf_release(&b);
}

static void env_forms_and_expansion(void **state)
{
	struct st_dockerfile *df = parse_ok("FROM a\n"
					    "ENV A=1 B=\"two words\" C=${A}x\n"
					    "ENV LEGACY some value\n"
					    "EXPOSE 80 ${PORTS}\n"
					    "COPY [\"$SRC\", \"/d st/\"]\n"
					    "ARG V=${A:-z} W\n");
	const char *kv[] = { "A=1", "PORTS=443/tcp 53/udp", "SRC=app" };
	struct st_dockerfile_env env = { .kv = kv, .nkv = 3 };
	char **v = NULL;
	size_t n = 0;
	struct st_error *err = NULL;
	assert_int_equal(st_dockerfile_instr_expand(&df->instrs[1], &env, '\\', &v, &n, &err), 0);
	assert_int_equal(n, 6);
	assert_string_equal(v[3], "two words");
	assert_string_equal(v[5], "1x");
	st_dockerfile_strv_free(v);
	assert_int_equal(st_dockerfile_instr_expand(&df->instrs[2], &env, '\\', &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1], "some value");
	st_dockerfile_strv_free(v);
	assert_int_equal(st_dockerfile_instr_expand(&df->instrs[3], &env, '\\', &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2], "53/udp");
	st_dockerfile_strv_free(v);
	assert_int_equal(st_dockerfile_instr_expand(&df->instrs[4], &env, '\\', &v, &n, &err), 0);
	assert_true(df->instrs[4].json);
	assert_string_equal(v[0], "app");
	assert_string_equal(v[1], "/d st/");
	st_dockerfile_strv_free(v);
	assert_int_equal(st_dockerfile_instr_expand(&df->instrs[5], &env, '\\', &v, &n, &err), 0);
	assert_string_equal(v[0], "V=1");
	assert_string_equal(v[1], "W");
	st_dockerfile_strv_free(v);
	assert_true(st_dockerfile_kind_expands(ST_DF_COPY));
	assert_false(st_dockerfile_kind_expands(ST_DF_RUN));
	assert_false(st_dockerfile_kind_expands(ST_DF_CMD));
	st_dockerfile_free(df);
}

static void bom_crlf_and_case(void **state)
{
	struct st_dockerfile *df = parse_ok("\xEF\xBB\xBF"
					    "FrOm a\r\nrun echo hi \\\r\n  there\r\n");
	struct st_buf b = ST_BUF_INIT;
	st_dockerfile_dump(df, &b);
	assert_string_equal(b.data, "(from \"a\")\n(run \"echo hi   there\")\n");
	st_buf_release(&b);
	st_dockerfile_free(df);
}

static void directive_after_comment_is_a_comment(void **state)
{
	struct st_dockerfile *df = parse_ok("# hello\n# escape=`\nFROM a\nRUN a \\\n b\n");
	assert_int_equal(df->escape, '\\');
	assert_string_equal(df->instrs[1].args[0], "a  b");
	st_dockerfile_free(df);
}

int run_parse_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(testfiles),
		cmocka_unit_test(errors_table),
		cmocka_unit_test(nul_byte_names_its_line),
		cmocka_unit_test(instructions_and_lines),
		cmocka_unit_test(heredocs),
		cmocka_unit_test(heredoc_as_the_whole_command),
		cmocka_unit_test(many_heredocs_on_one_line),
		cmocka_unit_test(env_forms_and_expansion),
		cmocka_unit_test(bom_crlf_and_case),
		cmocka_unit_test(directive_after_comment_is_a_comment),
	};
	return cmocka_run_group_tests_name("dockerfile_parse", tests, NULL, NULL);
}
