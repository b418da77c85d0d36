/* internal.h: what the files of src/lint/ share and nobody else sees. */
#ifndef ST_LINT_INTERNAL_H
#define ST_LINT_INTERNAL_H

#include "lint/lint.h"

struct lint_ctx {
	const struct st_dockerfile *df;
	const struct st_lint_opts *o;
	const char *text;
	size_t len;
	size_t *line_off; /* start of each line of 'text' */
	size_t nlines;
	bool *needed; /* per stage: checked by the stage-by-stage checks */
	/* The stage names sorted, and per stage the earlier stage it is built FROM (-1: an
	 * image): a Dockerfile of hundreds of stages is looked up without comparing each pair. */
	struct lint_name *names;
	size_t nnames;
	long *base_of;
	struct st_dockerfile_diag *v;
	size_t n, cap;
	/* Per instruction of df->instrs, its RUN's script once read (lint_run_script). */
	struct lint_script *scripts;
	bool *read;
	struct TSParser *shell;
};

struct lint_name {
	const char *name; /* lower case, as stages keep their names */
	size_t index;
};

/* The last stage before 'before' named 'name' (any case), as FROM and --from find it; -1. */
long lint_stage_before(const struct lint_ctx *c, const char *name, size_t before);

/* Append a finding of 'rule'; 'fix' is owned or NULL. */
void lint_add(struct lint_ctx *c, const struct st_dockerfile_rule *rule, int start, int end,
	      char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Line 'line' (1-based) of the text without its newline; *n receives its length. */
const char *lint_line(const struct lint_ctx *c, int line, size_t *n);

/* CMD ["a", "b"] for CMD a b when the words need no shell to mean the same; else NULL. */
char *lint_json_fix(const struct st_dockerfile_instr *in);

/* BuildKit's checks made while it converts the stages (dispatch): buildkit.c. */
int lint_buildkit(struct lint_ctx *c, struct st_error **err);
/* hadolint's DL rules: hadolint.c. */
void lint_hadolint(struct lint_ctx *c);
/* strata's own rules (ST....): strata.c. */
void lint_strata(struct lint_ctx *c);
const struct st_dockerfile_rule *lint_strata_rule_find(const char *name);
/* The analysed image's findings on the lines that made them (ST2...): image.c. */
void lint_image(struct lint_ctx *c);
const struct st_dockerfile_rule *lint_image_rule_find(const char *name);

/* ---- RUN through tree-sitter's bash grammar: shell.c ---- */

struct lint_cmd {
	char **argv; /* words with quotes removed; NULL-terminated */
	size_t argc;
	bool nested; /* runs in a subshell or a command substitution: a cd there does not last */
};

struct lint_script {
	struct lint_cmd *cmds; /* simple commands in the order they run, `sh -c` scripts too */
	size_t ncmds;
	bool pipe;   /* a '|' joins two commands where `set -o pipefail` has not run */
	char **vars; /* the variables expanded ($X, ${X...}), NULL-terminated */
	size_t nvars;
};

/* A parser of bash (free with ts_parser_delete); it aborts if the runtime refuses the
 * grammar, which only a build against a runtime of another ABI does. */
struct TSParser *lint_shell_new(void);
/* Parse shell text 's' and add what it runs to 'out' (release with lint_script_release). */
void lint_script_parse(struct TSParser *sh, const char *s, size_t len, struct lint_script *out);
void lint_script_release(struct lint_script *s);
/* The script of a RUN, read once per lint: its command line, its exec-form words, the
 * heredocs a shell runs. */
const struct lint_script *lint_run_script(struct lint_ctx *c, const struct st_dockerfile_instr *in);
/* Release what lint_run_script read. */
void lint_scripts_release(struct lint_ctx *c);

#endif
