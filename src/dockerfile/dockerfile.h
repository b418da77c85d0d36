/*
 * dockerfile.h: the Dockerfile front end: parser (BuildKit's dockerfile frontend, syntax 1.x,
 * read the same way), word expansion (BuildKit's shell lexer), typed instructions, stages and
 * the stage graph. The .dockerignore matcher is in dockerignore.h.
 *
 * Everything here is pure computation over buffers: nothing reads files, prints or exits.
 */
#ifndef ST_DOCKERFILE_DOCKERFILE_H
#define ST_DOCKERFILE_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

enum st_dockerfile_kind {
	ST_DF_UNKNOWN = 0, /* only in an AST parsed with ST_DOCKERFILE_PARSE_AST_ONLY */
	ST_DF_FROM,
	ST_DF_RUN,
	ST_DF_CMD,
	ST_DF_LABEL,
	ST_DF_MAINTAINER,
	ST_DF_EXPOSE,
	ST_DF_ENV,
	ST_DF_ADD,
	ST_DF_COPY,
	ST_DF_ENTRYPOINT,
	ST_DF_VOLUME,
	ST_DF_USER,
	ST_DF_WORKDIR,
	ST_DF_ARG,
	ST_DF_ONBUILD,
	ST_DF_STOPSIGNAL,
	ST_DF_HEALTHCHECK,
	ST_DF_SHELL,
};

/* Lower-case name of a kind ("run"); "" for ST_DF_UNKNOWN. Static storage. */
const char *st_dockerfile_kind_name(enum st_dockerfile_kind kind);

/* One "--name=value" flag. 'value' is NULL for a bare boolean flag ("--link"). */
struct st_dockerfile_flag {
	char *name;  /* without the leading "--" */
	char *value; /* unexpanded */
};

/* A heredoc attached to RUN, COPY or ADD ("<<EOF", "<<-EOF", "<<'EOF'", "3<<EOF"). */
struct st_dockerfile_heredoc {
	char *name;    /* the delimiter, quotes removed */
	char *content; /* the body, each line with its "\n"; leading tabs already gone if chomp */
	unsigned fd;   /* "3<<EOF" -> 3; 0 when not given */
	bool expand;   /* false when any part of the delimiter was quoted: no $ expansion */
	bool chomp;    /* "<<-": leading tabs removed from the body and the delimiter line */
};

/*
 * One instruction. The shape of 'args' follows BuildKit's AST (what `debug parse` dumps):
 *   FROM        image [AS name]              (whitespace split, "AS" kept)
 *   RUN/CMD/ENTRYPOINT/SHELL  JSON form: the array items; shell form: one string (the rest)
 *   ADD/COPY/VOLUME  JSON form: the items; else whitespace-split words (sources..., dest)
 *   ENV/LABEL   key, value, key, value ...   (quotes still in place: expand each)
 *   ARG         "name" or "name=default" words, as written
 *   EXPOSE      ports, whitespace split
 *   HEALTHCHECK type ("CMD"/"NONE") then the command as for CMD
 *   MAINTAINER/USER/WORKDIR/STOPSIGNAL  one string
 *   ONBUILD     no args: the trigger is 'sub'
 */
struct st_dockerfile_instr {
	enum st_dockerfile_kind kind;
	char *keyword;	/* as written: "run", "Run" */
	char *original; /* the whole logical line (continuations joined), for history created_by */
	int start_line, end_line; /* 1-based, inclusive; end_line covers heredoc bodies */
	struct st_dockerfile_flag *flags;
	size_t nflags;
	char **args;
	size_t nargs;
	bool json; /* exec (JSON array) form */
	/* ENV/LABEL written "key value" (one pair, no '='): BuildKit dumps its separator as "" */
	bool legacy_pair;
	struct st_dockerfile_heredoc *heredocs;
	size_t nheredocs;
	struct st_dockerfile_instr *sub; /* ONBUILD's trigger; NULL otherwise */
};

/*
 * Value of flag 'name' (no "--"): the last one given. Borrowed. NULL when absent; "" for a
 * bare boolean flag. For a repeatable flag (--mount, --exclude) walk instr->flags instead.
 */
const char *st_dockerfile_instr_flag(const struct st_dockerfile_instr *in, const char *name);
/* Whether a boolean flag (--link, --parents, --keep-git-dir) is on: "--link" or "--link=true". */
bool st_dockerfile_instr_flag_bool(const struct st_dockerfile_instr *in, const char *name);

struct st_dockerfile_stage {
	size_t index;
	char *name;	/* "AS name", lower-cased; NULL when unnamed */
	char *base;	/* the FROM word, unexpanded (expand with the global ARGs) */
	char *platform; /* --platform, unexpanded; NULL when absent */
	const struct st_dockerfile_instr *from;	   /* borrowed from the Dockerfile */
	const struct st_dockerfile_instr **instrs; /* after FROM, in order; borrowed */
	size_t ninstrs;
};

/* ---- diagnostics (BuildKit's build checks and the linters built on them) ---- */

enum st_dockerfile_severity {
	ST_DF_SEV_ERROR = 1,
	ST_DF_SEV_WARNING,
	ST_DF_SEV_INFO,
	ST_DF_SEV_STYLE,
};

/* "error", "warning", "info", "style". Static storage. */
const char *st_dockerfile_severity_name(enum st_dockerfile_severity s);

/* A rule a diagnostic is about, with what BuildKit's linter says of it. Static storage. */
struct st_dockerfile_rule {
	const char *name;	 /* "JSONArgsRecommended", "DL3006" */
	const char *description; /* one line: why it matters */
	const char *url;	 /* NULL when there is none */
	enum st_dockerfile_severity severity;
	bool experimental; /* BuildKit runs it only when a check= directive names it */
};

/* BuildKit's build checks, by name ("StageNameCasing"); NULL for an unknown name. */
const struct st_dockerfile_rule *st_dockerfile_rule_find(const char *name);
/* Every BuildKit build check, in BuildKit's order; *n receives the count. */
const struct st_dockerfile_rule *st_dockerfile_rules(size_t *n);

/* One finding: a rule broken on lines start_line..end_line (1-based, inclusive). */
struct st_dockerfile_diag {
	const struct st_dockerfile_rule *rule; /* borrowed, static */
	enum st_dockerfile_severity severity;  /* the rule's, unless configuration changed it */
	char *message;			       /* "Stage name 'Base' should be lowercase" */
	int start_line, end_line;
	char *fix; /* the lines rewritten so the rule holds; NULL when there is no such line */
};

/*
 * A "# check=" directive or BUILDKIT_DOCKERFILE_CHECK build argument, read as BuildKit's
 * linter.ParseLintOptions reads it: "skip=A,B;error=true;experimental=all".
 */
struct st_dockerfile_check {
	bool skip_all, experimental_all, error;
	char **skip; /* NULL-terminated; NULL when none */
	size_t nskip;
	char **experimental;
	size_t nexperimental;
};

/*
 * Parse 's' (NULL or blank: nothing skipped, no error) into 'out' (release it with
 * st_dockerfile_check_release). ST_E_PARSE on an unknown option ("invalid check option
 * \"x\"") or a bad boolean.
 */
int st_dockerfile_check_parse(const char *s, struct st_dockerfile_check *out,
			      struct st_error **err);
void st_dockerfile_check_release(struct st_dockerfile_check *c);
/*
 * Whether a diagnostic of 'rule' is reported under 'c', as BuildKit decides: an experimental
 * rule only when named in experimental= (or experimental=all), any other unless skipped.
 */
bool st_dockerfile_check_enabled(const struct st_dockerfile_check *c,
				 const struct st_dockerfile_rule *rule);

struct st_dockerfile {
	char *name;			    /* as given to the parser, for messages */
	char escape;			    /* '\\' or '`' */
	char *syntax;			    /* "# syntax=" value or NULL */
	char *check;			    /* "# check=" value or NULL */
	struct st_dockerfile_instr *instrs; /* every instruction, in order */
	size_t ninstrs;
	/*
	 * What the parser itself notices, for every stage, never printed: NoEmptyContinuation,
	 * MaintainerDeprecated, StageNameCasing, FromAsCasing, DuplicateStageName,
	 * ReservedStageName, ConsistentInstructionCasing. The checks that need the build's
	 * arguments and stages are src/lint's.
	 */
	struct st_dockerfile_diag *diags;
	size_t ndiags;
	/* Filled unless ST_DOCKERFILE_PARSE_AST_ONLY: */
	const struct st_dockerfile_instr **meta_args; /* ARGs before the first FROM */
	size_t nmeta_args;
	struct st_dockerfile_stage *stages;
	size_t nstages;
};

enum st_dockerfile_parse_flags {
	/*
	 * Stop after the syntax tree, like BuildKit's parser.Parse: unknown instructions, bad
	 * flags, missing arguments and a missing FROM are not errors, and no stages are made.
	 */
	ST_DOCKERFILE_PARSE_AST_ONLY = 1 << 0,
};

/*
 * Parse 'len' bytes of 'text'; 'name' ("Dockerfile") prefixes every message:
 * "Dockerfile:7: unknown instruction: RUNN (did you mean RUN?)" followed by a line
 * " 7 | RUNN x" showing the source. On success *out is new: free it with st_dockerfile_free().
 * Errors are ST_E_PARSE.
 */
int st_dockerfile_parse(const char *name, const char *text, size_t len, struct st_dockerfile **out,
			struct st_error **err);
int st_dockerfile_parse_flags(const char *name, const char *text, size_t len,
			      enum st_dockerfile_parse_flags flags, struct st_dockerfile **out,
			      struct st_error **err);
void st_dockerfile_free(struct st_dockerfile *df);
void st_dockerfile_freep(struct st_dockerfile **df);

/*
 * Append BuildKit's dump of the syntax tree to 'out' (parser/testfiles/x/result): one line per
 * instruction, "(copy [\"--from=builder\"] \"a\" \"/b\")", ending in "\n".
 */
void st_dockerfile_dump(const struct st_dockerfile *df, struct st_buf *out);

/* ---- word expansion (BuildKit's frontend/dockerfile/shell lexer) ---- */

/*
 * A variable lookup: return the value (borrowed until the next call) or NULL when unset.
 * Names are compared case-sensitively, as on Linux.
 */
typedef const char *(*st_dockerfile_lookup_fn)(void *ctx, const char *name);

struct st_dockerfile_env {
	st_dockerfile_lookup_fn lookup; /* used when set; else 'kv' */
	void *ctx;
	const char *const *kv; /* "K=V" strings; the first of a key wins; "K" alone is K="" */
	size_t nkv;
};

/*
 * Expand one word the way ENV, LABEL, WORKDIR, USER... see it: quotes removed, $ expanded,
 * escapes applied, spaces kept. *out is new. ST_E_PARSE on a bad substitution, an
 * unterminated quote or ${V?msg} with V unset ("V: msg").
 */
int st_dockerfile_expand(const char *word, const struct st_dockerfile_env *env, char escape,
			 char **out, struct st_error **err);

/*
 * Expand and split into words like a shell would after expansion (EXPOSE, and heredoc and
 * exec-form handling): unquoted results of $ split on white space, quoted text kept whole.
 * *words is a new NULL-terminated vector of *n new strings: free with st_dockerfile_strv_free.
 */
int st_dockerfile_words(const char *word, const struct st_dockerfile_env *env, char escape,
			char ***words, size_t *n, struct st_error **err);
void st_dockerfile_strv_free(char **v);

/*
 * The body of a COPY/ADD heredoc as the file gets it: with an unquoted delimiter, $ expanded
 * and quotes left as written (BuildKit's ExpandRaw with SkipProcessQuotes); with a quoted one,
 * as written. *out is new.
 */
int st_dockerfile_heredoc_body(const struct st_dockerfile_heredoc *h,
			       const struct st_dockerfile_env *env, char escape, char **out,
			       struct st_error **err);

/*
 * Whether a shell-form RUN command is one heredoc word and nothing else ("<<EOF", "<<-'EOF'",
 * "3<<EOF"), BuildKit's MustParseHeredoc test: such a RUN runs the heredoc's body as its
 * script, where any other command line is handed to the shell with the bodies after it.
 */
bool st_dockerfile_heredoc_is_command(const char *cmd);

/* Whether BuildKit expands this kind's arguments itself (else the shell does, for RUN...). */
bool st_dockerfile_kind_expands(enum st_dockerfile_kind kind);

/*
 * Expand an instruction's arguments as BuildKit does before executing it; *out is a new
 * NULL-terminated vector (free with st_dockerfile_strv_free):
 *   ADD/COPY: each source and the destination (last) expanded (JSON form too)
 *   ENV/LABEL: "key", "value" pairs, each expanded
 *   ARG: "name" or "name=value" with the value expanded
 *   EXPOSE: the ports, expanded and split into words
 *   FROM: the image (and "AS", name); VOLUME: each path; USER/WORKDIR/STOPSIGNAL: the word
 *   RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK/MAINTAINER/ONBUILD: copied unexpanded
 */
int st_dockerfile_instr_expand(const struct st_dockerfile_instr *in,
			       const struct st_dockerfile_env *env, char escape, char ***out,
			       size_t *n, struct st_error **err);
/* Expand the value of flag 'name' (--chown, --from, --mount ...) the way BuildKit does. */
int st_dockerfile_flag_expand(const struct st_dockerfile_flag *f,
			      const struct st_dockerfile_env *env, char escape, char **out,
			      struct st_error **err);

/* ---- build arguments and the stage graph ---- */

struct st_dockerfile_plan_opts {
	const char *const *build_args; /* "K=V" (--build-arg); "K" alone means K is unset */
	size_t nbuild_args;
	const char *target;	     /* stage name or index; NULL: the last stage */
	const char *target_platform; /* "linux/arm64/v8"; NULL: "linux/amd64" */
	const char *build_platform;  /* NULL: same as target_platform */
};

struct st_dockerfile_plan_stage {
	size_t index; /* into df->stages */
	char *base;   /* FROM word expanded with the global ARGs */
	bool base_is_stage;
	size_t base_stage; /* when base_is_stage */
	size_t *deps; /* stage indexes this stage needs (FROM, COPY --from, RUN --mount from=) */
	size_t ndeps;
};

struct st_dockerfile_plan {
	struct st_dockerfile_plan_stage *stages; /* the needed stages, dependencies first */
	size_t nstages;
	char **global_args; /* "K=V" of the ARGs before FROM after overrides (NULL-terminated) */
	size_t nglobal_args;
	char **unused_args; /* build-arg names no needed ARG consumed, sorted (NULL-terminated) */
	size_t nunused_args;
};

/*
 * Resolve the stages 'target' needs, in build order. ST_E_NOTFOUND for an unknown target;
 * ST_E_PARSE for a cycle ("circular dependency detected on stage: a") or a bad stage index.
 * *out is new: st_dockerfile_plan_free().
 */
int st_dockerfile_plan(const struct st_dockerfile *df, const struct st_dockerfile_plan_opts *o,
		       struct st_dockerfile_plan **out, struct st_error **err);
void st_dockerfile_plan_free(struct st_dockerfile_plan *p);
void st_dockerfile_plan_freep(struct st_dockerfile_plan **p);

/* Whether 'name' is one of the args every build has without ARG (HTTP_PROXY, ..., TARGETOS). */
bool st_dockerfile_arg_is_predefined(const char *name);

#endif
