/*
 * lint.h: Dockerfile checks. BuildKit's build checks with its rule names and messages (the
 * ones a build prints, honouring "# check=" and BUILDKIT_DOCKERFILE_CHECK), hadolint's DL
 * rules under their ids, `# hadolint ignore=` pragmas, and the output formats of
 * `strata lint`.
 *
 * Pure computation over a parsed Dockerfile and its text: nothing here reads files, prints or
 * exits. What needs the outside world (a base image's config, the .dockerignore) comes in
 * through struct st_lint_opts.
 */
#ifndef ST_LINT_LINT_H
#define ST_LINT_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "dockerfile/dockerfile.h"
#include "dockerfile/dockerignore.h"
#include "util/buf.h"
#include "util/err.h"

struct st_analyze;

enum st_lint_rulesets {
	ST_LINT_BUILDKIT = 1 << 0, /* BuildKit's build checks, as a build reports them */
	ST_LINT_HADOLINT = 1 << 1, /* hadolint's DL rules */
	ST_LINT_STRATA = 1 << 2,   /* strata's own rules (ST1001...): size and cache costs */
	ST_LINT_IMAGE = 1 << 3,	   /* what the built image holds (ST2001...), with 'image' */
};

/*
 * What a base image holds, for UndefinedVar and InvalidBaseImagePlatform: return 1 and set
 * *env (a new NULL-terminated vector of "K=V", free with st_dockerfile_strv_free) and
 * *platform (new, "linux/amd64") when 'image' is known, 0 when not (those checks then skip
 * the stage rather than guess).
 */
typedef int (*st_lint_base_fn)(void *ctx, const char *image, char ***env, char **platform);

/*
 * .strata-lint.yaml, or hadolint's .hadolint.yaml with the same keys:
 *   ignored: [DL3006, StageNameCasing]
 *   override: { error: [DL3007], info: [DL3059] }
 *   trustedRegistries: [docker.io, registry.example:5000]    (DL3026 when set)
 *   failure-threshold: warning
 */
struct st_lint_override {
	char *rule;
	enum st_dockerfile_severity severity;
};

struct st_lint_config {
	char **ignored; /* NULL-terminated; NULL when none */
	size_t nignored;
	struct st_lint_override *override;
	size_t noverride;
	char **trusted_registries;
	size_t ntrusted;
	bool threshold_set, threshold_none;
	enum st_dockerfile_severity threshold;
};

/*
 * Parse a configuration file's text ('name' for messages) into 'out' (release it with
 * st_lint_config_release). ST_E_PARSE naming the file and line: "lint.yaml:3: override:
 * expected error, warning, info or style lists". Keys strata does not use are let be.
 */
int st_lint_config_parse(const char *name, const char *text, size_t len, struct st_lint_config *out,
			 struct st_error **err);
void st_lint_config_release(struct st_lint_config *c);

struct st_lint_opts {
	unsigned rulesets;	       /* enum st_lint_rulesets; 0 means all */
	const char *const *build_args; /* "K=V" (--build-arg); "K" alone leaves K unset */
	size_t nbuild_args;
	/* The stage to check with the stages it needs; NULL: every stage when 'all_stages'
	 * (`strata lint`, `build --check`), else the last one (a build). */
	const char *target;
	bool all_stages;
	const char *target_platform;	      /* NULL: "linux/amd64" */
	const struct st_dockerignore *ignore; /* the context's, for CopyIgnoredFile; may be NULL */
	/* The names at the top of the context ("src", ".git"), for ST1008; NULL: no context. */
	const char *const *context_entries;
	size_t ncontext_entries;
	const char *const *skip; /* rule names never reported (--ignore) */
	size_t nskip;
	const struct st_lint_config *config; /* may be NULL */
	st_lint_base_fn base;
	void *base_ctx;
	/* The image built from the Dockerfile, analysed: its findings (ST2001...) are reported
	 * on the instructions whose layers hold them. NULL: no image rules. */
	const struct st_analyze *image;
};

struct st_lint_result {
	struct st_dockerfile_diag *diags; /* by line, then rule name */
	size_t ndiags;
	/*
	 * Set when check=error=true (directive or build arg) and a BuildKit check fired:
	 * "lint violation found for rules: A, B", BuildKit's error that fails the build.
	 */
	char *violation;
};

/*
 * Check 'df' (parsed from 'text', 'len' bytes, which the pragmas and description checks
 * read). 'out' is filled with new data: st_lint_result_release(). ST_E_PARSE for a bad
 * check= value ("failed to parse check options: invalid check option \"x\""), ST_E_NOTFOUND
 * for an unknown target.
 */
int st_lint_dockerfile(const struct st_dockerfile *df, const char *text, size_t len,
		       const struct st_lint_opts *o, struct st_lint_result *out,
		       struct st_error **err);
void st_lint_result_release(struct st_lint_result *r);

/*
 * A rule of the hadolint or strata sets by id ("DL3006", "ST1001"); NULL when unknown.
 * Static storage.
 */
const struct st_dockerfile_rule *st_lint_rule_find(const char *name);

/* Parse "error", "warning", "info", "style"; -1 when none of them. */
int st_lint_severity_parse(const char *s, enum st_dockerfile_severity *out);

enum st_lint_format {
	ST_LINT_FORMAT_TTY,	   /* Dockerfile:3 DL3006 warning: ... and the line */
	ST_LINT_FORMAT_JSON,	   /* an array of findings, hadolint's keys */
	ST_LINT_FORMAT_SARIF,	   /* SARIF 2.1.0, for code-scanning views */
	ST_LINT_FORMAT_GNU,	   /* Dockerfile:3: warning: DL3006 ... (editors, compilers) */
	ST_LINT_FORMAT_CHECKSTYLE, /* Checkstyle's XML, as hadolint writes it */
	ST_LINT_FORMAT_JUNIT,	   /* a JUnit report: a failed test case per finding */
	ST_LINT_FORMAT_CHECK,	   /* as `docker build --check` prints them */
};

/* Parse a --format name (tty, json, sarif, gnu, checkstyle, junit); -1 when unknown. */
int st_lint_format_parse(const char *s, enum st_lint_format *out);

/*
 * Append 'r' in format 'f' to 'out'. 'name' is the file name findings name ("Dockerfile"),
 * 'text' its content (the lines shown); 'color' adds ANSI colours to the tty format.
 */
void st_lint_format(const struct st_lint_result *r, enum st_lint_format f, const char *name,
		    const char *text, size_t len, bool color, struct st_buf *out);

/*
 * BuildKit's excerpt of lines start..end of 'text': "Dockerfile:5", a rule of dashes, each line
 * with two (one line: four) of context, the lines marked ">>>".
 */
void st_lint_excerpt(const char *name, const char *text, size_t len, int start, int end,
		     struct st_buf *out);

#endif
