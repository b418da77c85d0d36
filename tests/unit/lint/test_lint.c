/*
 * The rules, one Dockerfile each that breaks it and its fixed form that does not: BuildKit's
 * build checks with BuildKit's messages, hadolint's DL rules with hadolint's, then the
 * check= options, pragmas and output formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile/dockerignore.h"
#include "lint/lint.h"

struct rcase {
	const char *rule;
	const char *bad;     /* fires here ... */
	const char *message; /* ... with this message ... */
	int line;	     /* ... on this line */
	const char *good;    /* and not on the fixed form */
};

static const struct rcase cases[] = {
	/* BuildKit */
	{ "StageNameCasing", "FROM scratch AS Build\n", "Stage name 'Build' should be lowercase", 1,
	  "FROM scratch AS build\n" },
	{ "FromAsCasing", "FROM scratch as build\n",
	  "'as' and 'FROM' keywords' casing do not match", 1, "FROM scratch AS build\n" },
	{ "NoEmptyContinuation", "FROM scratch\nLABEL a=1 \\\n\n  b=2\n", "Empty continuation line",
	  2, "FROM scratch\nLABEL a=1 \\\n  b=2\n" },
	{ "ConsistentInstructionCasing", "FROM scratch\nLABEL a=1\nlabel b=2\n",
	  "Command 'label' should match the case of the command majority (uppercase)", 3,
	  "FROM scratch\nLABEL a=1\nLABEL b=2\n" },
	{ "DuplicateStageName", "FROM scratch AS a\nFROM scratch AS a\n",
	  "Duplicate stage name \"a\", stage names should be unique", 2,
	  "FROM scratch AS a\nFROM scratch AS b\n" },
	{ "ReservedStageName", "FROM scratch AS context\n",
	  "Stage name should not use the same name as reserved stage \"context\"", 1,
	  "FROM scratch AS ctx\n" },
	{ "JSONArgsRecommended", "FROM scratch\nCMD run --fast\n",
	  "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
	  2, "FROM scratch\nCMD [\"run\", \"--fast\"]\n" },
	{ "MaintainerDeprecated", "FROM scratch\nMAINTAINER me\n",
	  "Maintainer instruction is deprecated in favor of using label", 2,
	  "FROM scratch\nLABEL org.opencontainers.image.authors=me\n" },
	{ "UndefinedArgInFrom", "ARG VERSION=1\nFROM busybox:${VERSON}\n",
	  "FROM argument 'VERSON' is not declared (did you mean VERSION?)", 2,
	  "ARG VERSION=1\nFROM busybox:${VERSION}\n" },
	{ "WorkdirRelativePath", "FROM scratch\nWORKDIR app\n",
	  "Relative workdir \"app\" can have unexpected results if the base image changes", 2,
	  "FROM scratch\nWORKDIR /app\nWORKDIR sub\n" },
	{ "UndefinedVar", "FROM scratch\nENV PATH=$PATH:/x\nCOPY $SRC /\n",
	  "Usage of undefined variable '$SRC'", 3,
	  "FROM scratch\nENV PATH=$PATH:/x\nARG SRC\nCOPY $SRC /\n" },
	{ "MultipleInstructionsDisallowed", "FROM scratch\nCMD [\"a\"]\nCMD [\"b\"]\n",
	  "Multiple CMD instructions should not be used in the same stage because only the last "
	  "one will be used",
	  2, "FROM scratch\nCMD [\"b\"]\nFROM scratch\nCMD [\"c\"]\n" },
	{ "LegacyKeyValueFormat", "FROM scratch\nENV A 1\n",
	  "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format", 2,
	  "FROM scratch\nENV A=1\n" },
	{ "InvalidBaseImagePlatform", "FROM other:1\n",
	  "Base image other:1 was pulled with platform \"linux/arm64\", expected \"linux/amd64\" "
	  "for "
	  "current build",
	  1, "FROM known:1\n" },
	{ "RedundantTargetPlatform", "FROM --platform=$TARGETPLATFORM scratch\n",
	  "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
	  "default behavior",
	  1, "FROM --platform=$BUILDPLATFORM scratch\n" },
	{ "SecretsUsedInArgOrEnv", "FROM scratch\nARG GITHUB_TOKEN\n",
	  "Do not use ARG or ENV instructions for sensitive data (ARG \"GITHUB_TOKEN\")", 2,
	  "FROM scratch\nARG PUBLIC_KEY\nARG TOKENIZER\n" },
	{ "InvalidDefaultArgInFrom", "ARG TAG\nFROM busybox:${TAG}\n",
	  "Default value for ARG busybox:${TAG} results in empty or invalid base image name", 2,
	  "ARG TAG=1.36\nFROM busybox:${TAG}\n" },
	{ "FromPlatformFlagConstDisallowed", "FROM --platform=linux/arm64 scratch AS build\n",
	  "FROM --platform flag should not use constant value \"linux/arm64\"", 1,
	  "FROM --platform=linux/arm64 scratch AS build-arm64\n" },
	{ "CopyIgnoredFile", "# check=experimental=CopyIgnoredFile\nFROM scratch\nCOPY .env /\n",
	  "Attempting to Copy file \".env\" that is excluded by .dockerignore", 3,
	  "# check=experimental=CopyIgnoredFile\nFROM scratch\nCOPY app.js /\n" },
	{ "InvalidDefinitionDescription",
	  "# check=experimental=InvalidDefinitionDescription\n\n# the version to use\nARG "
	  "VERSION=1\nFROM scratch\n",
	  "Comment for ARG should follow the format: `# VERSION <description>`", 4,
	  "# check=experimental=InvalidDefinitionDescription\n\n# VERSION to use\nARG "
	  "VERSION=1\nFROM scratch\n" },
	{ "ExposeProtoCasing", "FROM scratch\nEXPOSE 80/TCP\n",
	  "Defined protocol '80/TCP' in EXPOSE instruction should be lowercase", 2,
	  "FROM scratch\nEXPOSE 80/tcp\n" },
	{ "ExposeInvalidFormat", "FROM scratch\nEXPOSE 127.0.0.1:80:80\n",
	  "EXPOSE instruction should not define an IP address or host-port mapping, found "
	  "'127.0.0.1:80:80'",
	  2, "FROM scratch\nEXPOSE 80\n" },
	/* hadolint */
	{ "DL3002", "FROM busybox:1\nUSER root\n", "Last USER should not be root", 2,
	  "FROM busybox:1\nUSER root\nUSER app\n" },
	{ "DL3003", "FROM busybox:1\nRUN cd /tmp && make\n", "Use WORKDIR to switch to a directory",
	  2, "FROM busybox:1\nWORKDIR /tmp\nRUN make\n" },
	{ "DL3004", "FROM busybox:1\nRUN sudo make install\n",
	  "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce "
	  "root",
	  2, "FROM busybox:1\nRUN make install\n" },
	{ "DL3006", "FROM debian\n", "Always tag the version of an image explicitly", 1,
	  "FROM debian:12\n" },
	{ "DL3007", "FROM debian:latest\n",
	  "Using latest is prone to errors if the image will ever update. Pin the version "
	  "explicitly to a release tag",
	  1, "FROM debian:12\n" },
	{ "DL3008",
	  "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl "
	  "&& rm -rf /var/lib/apt/lists/*\n",
	  "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get "
	  "install <package>=<version>`",
	  2,
	  "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
	  "curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*\n" },
	{ "DL3009", "FROM debian:12\nRUN apt-get update && apt-get install -y curl=1\n",
	  "Delete the apt-get lists after installing something", 2,
	  "FROM debian:12\nRUN apt-get update && apt-get install -y curl=1 && rm -rf "
	  "/var/lib/apt/lists/*\n" },
	{ "DL3013", "FROM python:3.12\nRUN pip install --no-cache-dir flask\n",
	  "Pin versions in pip. Instead of `pip install <package>` use `pip install "
	  "<package>==<version>` or `pip install --requirement <requirements file>`",
	  2, "FROM python:3.12\nRUN pip install --no-cache-dir flask==3.0.0\n" },
	{ "DL3015", "FROM debian:12\nRUN apt-get install -y curl=1\n",
	  "Avoid additional packages by specifying `--no-install-recommends`", 2,
	  "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=1\n" },
	/* Asking for recommends outright is a choice, not an oversight. */
	{ "DL3015", "FROM debian:12\nRUN apt-get install -y curl=1\n",
	  "Avoid additional packages by specifying `--no-install-recommends`", 2,
	  "FROM debian:12\nRUN apt-get install -y --install-recommends curl=1\n" },
	{ "DL3016", "FROM node:20\nRUN npm install -g typescript\n",
	  "Pin versions in npm. Instead of `npm install <package>` use `npm install "
	  "<package>@<version>`",
	  2, "FROM node:20\nRUN npm install -g typescript@5.4.5 @scope/pkg@1.0.0\n" },
	{ "DL3018", "FROM alpine:3.20\nRUN apk add --no-cache curl\n",
	  "Pin versions in apk add. Instead of `apk add <package>` use `apk add "
	  "<package>=<version>`",
	  2, "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.0-r0\n" },
	{ "DL3019", "FROM alpine:3.20\nRUN apk add curl=8.9.0-r0\n",
	  "Use the `--no-cache` switch to avoid the need to use `--update` and remove "
	  "`/var/cache/apk/*` when done installing packages",
	  2, "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.0-r0\n" },
	{ "DL3020", "FROM busybox:1\nADD app.js /app/\n",
	  "Use COPY instead of ADD for files and folders", 2,
	  "FROM busybox:1\nADD app.tar.gz /app/\nADD https://example.com/a /a\n" },
	{ "DL3022", "FROM busybox:1\nCOPY --from=build /a /a\n",
	  "COPY --from should reference a previously defined FROM alias", 2,
	  "FROM busybox:1 AS build\nFROM busybox:1\nCOPY --from=build /a /a\n" },
	{ "DL3025", "FROM busybox:1\nENTRYPOINT app --serve\n",
	  "Use arguments JSON notation for CMD and ENTRYPOINT arguments", 2,
	  "FROM busybox:1\nENTRYPOINT [\"app\", \"--serve\"]\n" },
	{ "DL3027", "FROM debian:12\nRUN apt install -y curl=1\n",
	  "Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead",
	  2, "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=1\n" },
	{ "DL3042", "FROM python:3.12\nRUN pip install flask==3.0.0\n",
	  "Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`", 2,
	  "FROM python:3.12\nRUN pip install --no-cache-dir flask==3.0.0\n" },
	{ "DL3045", "FROM busybox:1\nCOPY app.js app/\n",
	  "`COPY` to a relative destination without `WORKDIR` set.", 2,
	  "FROM busybox:1\nWORKDIR /srv\nCOPY app.js app/\n" },
	/* A quoted variable (php's "$PHP_INI_DIR/conf.d/") is no relative path. */
	{ "DL3045", "FROM php:8\nCOPY php.ini conf.d/\n",
	  "`COPY` to a relative destination without `WORKDIR` set.", 2,
	  "FROM php:8\nCOPY php.ini \"$PHP_INI_DIR/conf.d/\"\n" },
	{ "DL3059", "FROM busybox:1\nRUN a\nRUN b\n",
	  "Multiple consecutive `RUN` instructions. Consider consolidation.", 3,
	  "FROM busybox:1\nRUN a && b\n" },
	{ "DL4006", "FROM busybox:1\nRUN wget -O - https://x | tar x\n",
	  "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh "
	  "in an alpine image or if your shell is symlinked to busybox then consider explicitly "
	  "setting your SHELL to /bin/ash, or disable this check",
	  2,
	  "FROM busybox:1\nSHELL [\"/bin/ash\", \"-o\", \"pipefail\", \"-c\"]\nRUN wget -O - "
	  "https://x | tar x\n" },
	/* strata */
	{ "ST1001", "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
	  "COPY of the whole context on line 3 comes before the install on line 4: copy "
	  "package.json package-lock.json first",
	  3,
	  "FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY "
	  ". .\n" },
	{ "ST1002", "FROM node:20\nRUN npm install --omit=dev\n",
	  "`npm install` without packages can change the lockfile; `npm ci` installs exactly what "
	  "it pins",
	  2, "FROM node:20\nRUN npm ci --omit=dev\n" },
	{ "ST1003", "FROM busybox:1\nCOPY app /app\nRUN chown -R 1000:1000 /app\n",
	  "A RUN that only changes owners or modes copies every file it touches into a new layer; "
	  "use COPY --chown/--chmod where the files come in",
	  3, "FROM busybox:1\nCOPY --chown=1000:1000 app /app\n" },
	{ "ST1004",
	  "FROM busybox:1\nRUN wget https://x.org/tool.tgz && tar xzf tool.tgz\nRUN rm "
	  "tool.tgz\n",
	  "tool.tgz, fetched on line 2, is deleted here in another layer: it still takes its "
	  "space in the image",
	  3,
	  "FROM busybox:1\nRUN wget https://x.org/tool.tgz && tar xzf tool.tgz && rm tool.tgz\n" },
	{ "ST1005", "FROM fedora:40\nRUN dnf install -y gcc\n",
	  "Package manager cache not cleaned in the RUN that filled it: add `&& yum clean all` "
	  "(dnf, zypper: their clean)",
	  2, "FROM fedora:40\nRUN dnf install -y gcc && dnf clean all\n" },
	/* The cache of a stage that is only copied from stays out of the image. */
	{ "ST1005", "FROM fedora:40 AS build\nRUN dnf install -y gcc\nFROM build\n",
	  "Package manager cache not cleaned in the RUN that filled it: add `&& yum clean all` "
	  "(dnf, zypper: their clean)",
	  2,
	  "FROM fedora:40 AS build\nRUN dnf install -y gcc\nFROM fedora:40\nCOPY --from=build "
	  "/usr/bin/gcc /usr/bin/\n" },
	{ "ST1006", "FROM busybox:1 AS base\nRUN true\nFROM base\n",
	  "The final stage sets no USER: the container runs as root", 3,
	  "FROM busybox:1 AS base\nUSER app\nFROM base\n" },
	{ "ST1007",
	  "FROM node:20\nARG NPM_TOKEN\nRUN echo \"//r/:_authToken=${NPM_TOKEN}\" > .npmrc\n",
	  "ARG NPM_TOKEN reaches this RUN through the image's history and the build cache: use RUN "
	  "--mount=type=secret,id=NPM_TOKEN,env=NPM_TOKEN and strata build --secret "
	  "id=NPM_TOKEN,env=NPM_TOKEN",
	  3,
	  "FROM node:20\nRUN --mount=type=secret,id=NPM_TOKEN,env=NPM_TOKEN echo "
	  "\"//r/:_authToken=${NPM_TOKEN}\" > .npmrc\n" },
};

/* "known:1" is an amd64 image with no variables of its own; "other:1" an arm64 one. */
static int base(void *ctx, const char *image, char ***env, char **platform)
{
	if (strcmp(image, "known:1") && strcmp(image, "other:1"))
		return 0;
	*env = calloc(1, sizeof(char *));
	*platform = strdup(strcmp(image, "known:1") ? "linux/arm64" : "linux/amd64");
	return 1;
}

static int lint(const char *text, const struct st_lint_opts *extra, struct st_lint_result *r)
{
	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	if (st_dockerfile_parse("Dockerfile", text, strlen(text), &df, &err) < 0)
		fail_msg("parse: %s", err->msg);
	struct st_dockerignore *ign = st_dockerignore_new();
	assert_int_equal(st_dockerignore_add_text(ign, ".dockerignore", ".env\n", 5, &err), 0);
	struct st_lint_opts o = { .all_stages = true, .ignore = ign, .base = base };
	if (extra)
		o = *extra;
	int rc = st_lint_dockerfile(df, text, strlen(text), &o, r, &err);
	if (rc < 0)
		fail_msg("lint: %s", err->msg);
	st_dockerignore_free(ign);
	st_dockerfile_free(df);
	return rc;
}

static const struct st_dockerfile_diag *find(const struct st_lint_result *r, const char *rule)
{
	for (size_t i = 0; i < r->ndiags; i++)
		if (!strcmp(r->diags[i].rule->name, rule))
			return &r->diags[i];
	return NULL;
}

static void each_rule_fires_and_its_fix_does_not(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct rcase *c = &cases[i];
		struct st_lint_result r;
		lint(c->bad, NULL, &r);
		const struct st_dockerfile_diag *d = find(&r, c->rule);
		if (!d)
			fail_msg("%s did not fire on:\n%s", c->rule, c->bad);
		if (strcmp(d->message, c->message))
			fail_msg("%s: message\n  %s\nwant\n  %s", c->rule, d->message, c->message);
		if (d->start_line != c->line)
			fail_msg("%s: line %d, want %d", c->rule, d->start_line, c->line);
		st_lint_result_release(&r);
		lint(c->good, NULL, &r);
		if ((d = find(&r, c->rule)))
			fail_msg("%s fired on the fixed form (line %d: %s):\n%s", c->rule,
				 d->start_line, d->message, c->good);
		st_lint_result_release(&r);
	}
}

/* The shell reading: a quoted "&&" or a word in a string is no command; sh -c and heredocs
 * are read. */
static void run_is_read_as_a_shell_reads_it(void **state)
{
	static const struct {
		const char *text;
		bool fires;
	} runs[] = {
		{ "FROM busybox:1\nRUN echo 'sudo && cd' \"cd ; sudo\"\n", false },
		{ "FROM busybox:1\nRUN echo x # cd /tmp\n", false },
		{ "FROM busybox:1\nRUN set -e; sh -c 'cd /tmp && make'\n", true },
		{ "FROM busybox:1\nRUN [\"/bin/sh\", \"-c\", \"cd /tmp\"]\n", true },
		{ "FROM busybox:1\nRUN <<EOF\nset -e\ncd /tmp\nEOF\n", true },
		{ "FROM busybox:1\nRUN <<EOF bash\ncd /tmp\nEOF\n", true },
		{ "FROM busybox:1\nRUN cat <<EOF >/x.sh\ncd /tmp\nEOF\n", false },
		{ "FROM busybox:1\nRUN echo $(cd /tmp; pwd) >/x\n", false },
		{ "FROM busybox:1\nRUN make \\\n  && cd /tmp\n", true },
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(*runs); i++) {
		struct st_lint_result r;
		lint(runs[i].text, NULL, &r);
		if (!!find(&r, "DL3003") != runs[i].fires)
			fail_msg("DL3003 %s on:\n%s", runs[i].fires ? "missed" : "fired",
				 runs[i].text);
		st_lint_result_release(&r);
	}
}

static void check_directive_and_build_arg(void **state)
{
	const char *text = "# check=skip=JSONArgsRecommended;error=true\nFROM scratch AS A\n"
			   "CMD run\n";
	struct st_lint_result r;
	struct st_lint_opts o = { .rulesets = ST_LINT_BUILDKIT };
	lint(text, &o, &r);
	assert_null(find(&r, "JSONArgsRecommended"));
	assert_non_null(find(&r, "StageNameCasing"));
	assert_string_equal(r.violation, "lint violation found for rules: StageNameCasing");
	st_lint_result_release(&r);

	/* The build argument replaces the directive: nothing skipped, no error. */
	const char *args[] = { "BUILDKIT_DOCKERFILE_CHECK=skip=StageNameCasing" };
	o.build_args = args;
	o.nbuild_args = 1;
	lint(text, &o, &r);
	assert_non_null(find(&r, "JSONArgsRecommended"));
	assert_null(find(&r, "StageNameCasing"));
	assert_null(r.violation);
	st_lint_result_release(&r);

	struct st_dockerfile *df = NULL;
	struct st_error *err = NULL;
	const char *bad = "# check=skip\nFROM scratch\n";
	assert_int_equal(st_dockerfile_parse("Dockerfile", bad, strlen(bad), &df, &err), 0);
	assert_int_equal(st_lint_dockerfile(df, bad, strlen(bad), NULL, &r, &err), -1);
	assert_string_equal(err->msg,
			    "failed to parse check options: invalid check option \"skip\"");
	st_error_free(err);
	st_dockerfile_free(df);
}

static void pragmas_and_skips(void **state)
{
	const char *text = "# hadolint global ignore=DL3007\nFROM debian:latest\n"
			   "# hadolint ignore=DL3003,DL3059\nRUN cd /x\nRUN cd /y\n";
	struct st_lint_result r;
	struct st_lint_opts o = { .rulesets = ST_LINT_HADOLINT };
	lint(text, &o, &r);
	assert_null(find(&r, "DL3007"));
	assert_int_equal(r.ndiags, 2); /* line 5: DL3003 and DL3059 */
	assert_int_equal(r.diags[0].start_line, 5);
	assert_int_equal(r.diags[1].start_line, 5);
	st_lint_result_release(&r);
	const char *skip[] = { "DL3003" };
	o.skip = skip;
	o.nskip = 1;
	lint(text, &o, &r);
	assert_int_equal(r.ndiags, 1);
	assert_string_equal(r.diags[0].rule->name, "DL3059");
	st_lint_result_release(&r);
}

/* ST1008: what the context holds and .dockerignore lets through, when COPY . takes it. */
static void context_rule(void **state)
{
	const char *entries[] = { "src", ".git", "node_modules", ".env" };
	struct st_dockerignore *ign = st_dockerignore_new();
	struct st_error *err = NULL;
	assert_int_equal(st_dockerignore_add_text(ign, ".dockerignore", ".env\n", 5, &err), 0);
	struct st_lint_opts o = { .rulesets = ST_LINT_STRATA,
				  .ignore = ign,
				  .context_entries = entries,
				  .ncontext_entries = 4 };
	struct st_lint_result r;
	lint("FROM busybox:1\nWORKDIR /app\nCOPY . .\nUSER app\n", &o, &r);
	assert_int_equal(r.ndiags, 2);
	assert_string_equal(r.diags[0].message,
			    ".git is in the context and .dockerignore does not exclude it: COPY . "
			    "sends it into the image (add \".git\" to .dockerignore)");
	assert_int_equal(r.diags[0].start_line, 3);
	assert_non_null(strstr(r.diags[1].message, "node_modules is in the context"));
	st_lint_result_release(&r);
	/* without a COPY of everything, nothing of it reaches the image */
	lint("FROM busybox:1\nCOPY src /src\nUSER app\n", &o, &r);
	assert_int_equal(r.ndiags, 0);
	st_lint_result_release(&r);
	st_dockerignore_free(ign);
}

/* A variable with a default or a check of its own is not "undefined" (BuildKit's lexer). */
static void guarded_variables_are_not_undefined(void **state)
{
	struct st_lint_result r;
	lint("FROM scratch\nENV PYTHONPATH=/x:${PYTHONPATH:-}\nLABEL a=${A-1} b=${B:+x} "
	     "c=${C?why}\n",
	     NULL, &r);
	assert_null(find(&r, "UndefinedVar"));
	st_lint_result_release(&r);
	lint("FROM scratch\nLABEL a=$A b=${A:-x}\n", NULL, &r);
	assert_string_equal(find(&r, "UndefinedVar")->message, "Usage of undefined variable '$A'");
	st_lint_result_release(&r);
}

static void a_build_checks_its_target_only(void **state)
{
	const char *text = "FROM scratch AS a\nWORKDIR rel\nFROM scratch AS b\nCMD [\"x\"]\n";
	struct st_lint_result r;
	struct st_lint_opts o = { .rulesets = ST_LINT_BUILDKIT };
	lint(text, &o, &r);
	assert_null(find(&r, "WorkdirRelativePath"));
	st_lint_result_release(&r);
	o.target = "a";
	lint(text, &o, &r);
	assert_non_null(find(&r, "WorkdirRelativePath"));
	st_lint_result_release(&r);
}

/* BuildKit's validateDefinitionDescription: the last comment line above names the stage. */
static void stage_descriptions(void **state)
{
	const char *text =
	    "# check=experimental=InvalidDefinitionDescription\n\n"
	    "# the builder\nFROM scratch AS Build\n# build compiles it\nFROM scratch "
	    "AS build2\n";
	struct st_lint_result r;
	lint(text, NULL, &r);
	const struct st_dockerfile_diag *d = find(&r, "InvalidDefinitionDescription");
	assert_non_null(d);
	assert_string_equal(d->message,
			    "Comment for FROM should follow the format: `# build <description>`");
	assert_int_equal(d->start_line, 4);
	assert_int_equal(r.diags[r.ndiags - 1].start_line, 6);
	st_lint_result_release(&r);
}

static void fixes(void **state)
{
	struct st_lint_result r;
	lint("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n", NULL, &r);
	assert_string_equal(find(&r, "ST1001")->fix,
			    "COPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .");
	assert_int_equal(find(&r, "ST1001")->end_line, 4);
	st_lint_result_release(&r);
	lint("FROM scratch\nCMD node server.js\nENV A hello world\n", NULL, &r);
	assert_string_equal(find(&r, "JSONArgsRecommended")->fix, "CMD [\"node\", \"server.js\"]");
	assert_string_equal(find(&r, "LegacyKeyValueFormat")->fix, "ENV A=\"hello world\"");
	st_lint_result_release(&r);
	lint("FROM debian:12\nRUN apt-get install -y curl=1\nADD a /b\n", NULL, &r);
	assert_string_equal(find(&r, "DL3015")->fix,
			    "RUN apt-get install --no-install-recommends -y curl=1");
	assert_string_equal(find(&r, "DL3020")->fix, "COPY a /b");
	st_lint_result_release(&r);
}

static void formats(void **state)
{
	const char *text = "FROM debian\nCMD run\n";
	struct st_lint_result r;
	struct st_lint_opts o = { .all_stages = true };
	lint(text, &o, &r);
	struct st_buf b = ST_BUF_INIT;
	st_lint_format(&r, ST_LINT_FORMAT_TTY, "Dockerfile", text, strlen(text), false, &b);
	assert_non_null(strstr(b.data, "Dockerfile:1 DL3006 warning: Always tag the version of an "
				       "image explicitly\n    1 | FROM debian\n"));
	st_buf_reset(&b);
	st_lint_format(&r, ST_LINT_FORMAT_GNU, "Dockerfile", text, strlen(text), false, &b);
	assert_non_null(strstr(b.data, "Dockerfile:2: warning: DL3025 Use arguments JSON"));
	st_buf_reset(&b);
	st_lint_format(&r, ST_LINT_FORMAT_SARIF, "Dockerfile", text, strlen(text), false, &b);
	json_error_t je;
	json_t *j = json_loads(b.data, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "version")), "2.1.0");
	json_t *run = json_array_get(json_object_get(j, "runs"), 0);
	json_t *results = json_object_get(run, "results");
	assert_int_equal(json_array_size(results), r.ndiags);
	json_t *res0 = json_array_get(results, 0);
	assert_string_equal(json_string_value(json_object_get(res0, "ruleId")), "DL3006");
	json_t *rules =
	    json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	size_t idx = (size_t)json_integer_value(json_object_get(res0, "ruleIndex"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(rules, idx), "id")),
			    "DL3006");
	json_decref(j);
	st_buf_reset(&b);
	st_lint_format(&r, ST_LINT_FORMAT_JSON, "Dockerfile", text, strlen(text), false, &b);
	j = json_loads(b.data, 0, &je);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "level")),
			    "warning");
	json_decref(j);
	st_buf_reset(&b);
	st_lint_format(&r, ST_LINT_FORMAT_CHECKSTYLE, "Dockerfile", text, strlen(text), false, &b);
	assert_non_null(strstr(b.data, "<checkstyle version=\"4.3\">"));
	assert_non_null(strstr(b.data, "<error line=\"1\" column=\"1\" severity=\"warning\" "
				       "message=\"Always tag the version of an image explicitly\" "
				       "source=\"DL3006\"/>"));
	st_buf_reset(&b);
	st_lint_format(&r, ST_LINT_FORMAT_JUNIT, "Dockerfile", text, strlen(text), false, &b);
	assert_non_null(strstr(b.data, "<testcase name=\"DL3025\" classname=\"Dockerfile:2\">"));
	st_buf_release(&b);
	st_lint_result_release(&r);
}

/* BuildKit's Source.Print: four lines of context around one line, two around several. */
static void excerpt(void **state)
{
	const char *text = "a\nb\nc\nd\ne\nf\ng\n";
	struct st_buf b = ST_BUF_INIT;
	st_lint_excerpt("Dockerfile", text, strlen(text), 4, 4, &b);
	assert_string_equal(b.data, "Dockerfile:4\n--------------------\n"
				    "   2 |     b\n   3 |     c\n   4 | >>> d\n   5 |     e\n"
				    "   6 |     f\n--------------------\n");
	st_buf_reset(&b);
	st_lint_excerpt("Dockerfile", text, strlen(text), 1, 2, &b);
	assert_string_equal(b.data, "Dockerfile:1\n--------------------\n"
				    "   1 | >>> a\n   2 | >>> b\n   3 |     c\n"
				    "--------------------\n");
	st_buf_release(&b);
}

static void config_file(void **state)
{
	const char *yaml = "ignored:\n  - DL3006\noverride:\n  error: [DL3025]\n  style:\n"
			   "    - JSONArgsRecommended\ntrustedRegistries:\n  - quay.io\n"
			   "failure-threshold: warning\nformat: json\n";
	struct st_lint_config cfg;
	struct st_error *err = NULL;
	assert_int_equal(st_lint_config_parse("lint.yaml", yaml, strlen(yaml), &cfg, &err), 0);
	assert_true(cfg.threshold_set);
	assert_int_equal(cfg.threshold, ST_DF_SEV_WARNING);
	struct st_lint_opts o = { .all_stages = true, .config = &cfg };
	struct st_lint_result r;
	lint("FROM debian\nFROM quay.io/x/y:1\nCMD run\n", &o, &r);
	assert_null(find(&r, "DL3006"));
	assert_int_equal(find(&r, "DL3025")->severity, ST_DF_SEV_ERROR);
	assert_int_equal(find(&r, "JSONArgsRecommended")->severity, ST_DF_SEV_STYLE);
	const struct st_dockerfile_diag *d = find(&r, "DL3026");
	assert_non_null(d);
	assert_string_equal(d->message, "Use only an allowed registry in the FROM image");
	assert_int_equal(d->start_line, 1); /* docker.io/library/debian; quay.io is trusted */
	st_lint_result_release(&r);
	st_lint_config_release(&cfg);

	static const struct {
		const char *yaml, *msg;
	} bad[] = {
		{ "ignored: DL3006\n", "c.yaml:1: ignored: expected a list of rule names" },
		{ "override:\n  fatal: [DL1]\n",
		  "c.yaml:2: override: expected error, warning, info or style lists" },
		{ "failure-threshold: loud\n",
		  "c.yaml:1: failure-threshold: expected error, warning, info, style or none" },
		{ "- a\n", "c.yaml:1: expected a mapping of settings" },
		{ "ignored: [a\n", "c.yaml:2: did not find expected ',' or ']'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(
		    st_lint_config_parse("c.yaml", bad[i].yaml, strlen(bad[i].yaml), &cfg, &err),
		    -1);
		assert_string_equal(err->msg, bad[i].msg);
		st_error_free(err);
		err = NULL;
	}
	assert_int_equal(st_lint_config_parse("c.yaml", "", 0, &cfg, &err), 0);
	st_lint_config_release(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_rule_fires_and_its_fix_does_not),
		cmocka_unit_test(run_is_read_as_a_shell_reads_it),
		cmocka_unit_test(check_directive_and_build_arg),
		cmocka_unit_test(pragmas_and_skips),
		cmocka_unit_test(guarded_variables_are_not_undefined),
		cmocka_unit_test(context_rule),
		cmocka_unit_test(a_build_checks_its_target_only),
		cmocka_unit_test(stage_descriptions),
		cmocka_unit_test(fixes),
		cmocka_unit_test(formats),
		cmocka_unit_test(excerpt),
		cmocka_unit_test(config_file),
	};
	return cmocka_run_group_tests_name("lint", tests, NULL, NULL);
}
