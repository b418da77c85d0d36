/*
 * check.c: from syntax tree to instructions: unknown instructions, flags, argument counts,
 * ONBUILD rules and the stages, with BuildKit's rules (frontend/dockerfile/instructions) and
 * messages a person can act on. Also the per-instruction expansion.
 */
#include <stdarg.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dockerfile/internal.h"
#include "dockerfile/lex.h"
#include "util/cleanup.h"
#include "util/banned.h"

enum ftype { F_STRING, F_STRINGS, F_BOOL };

struct flagdef {
	enum st_dockerfile_kind kind;
	const char *name;
	enum ftype type;
};

static const struct flagdef flagdefs[] = {
	{ ST_DF_FROM, "platform", F_STRING },
	{ ST_DF_RUN, "mount", F_STRINGS },
	{ ST_DF_RUN, "network", F_STRING },
	{ ST_DF_RUN, "security", F_STRING },
	{ ST_DF_RUN, "device", F_STRINGS },
	{ ST_DF_COPY, "from", F_STRING },
	{ ST_DF_COPY, "chown", F_STRING },
	{ ST_DF_COPY, "chmod", F_STRING },
	{ ST_DF_COPY, "link", F_BOOL },
	{ ST_DF_COPY, "parents", F_BOOL },
	{ ST_DF_COPY, "exclude", F_STRINGS },
	{ ST_DF_ADD, "chown", F_STRING },
	{ ST_DF_ADD, "chmod", F_STRING },
	{ ST_DF_ADD, "link", F_BOOL },
	{ ST_DF_ADD, "keep-git-dir", F_BOOL },
	{ ST_DF_ADD, "checksum", F_STRING },
	{ ST_DF_ADD, "exclude", F_STRINGS },
	{ ST_DF_ADD, "unpack", F_BOOL },
	{ ST_DF_HEALTHCHECK, "interval", F_STRING },
	{ ST_DF_HEALTHCHECK, "timeout", F_STRING },
	{ ST_DF_HEALTHCHECK, "start-period", F_STRING },
	{ ST_DF_HEALTHCHECK, "start-interval", F_STRING },
	{ ST_DF_HEALTHCHECK, "retries", F_STRING },
};

static const char *upper_name(enum st_dockerfile_kind k, char buf[16])
{
	const char *n = st_dockerfile_kind_name(k);
	size_t i = 0;
	for (; n[i] && i < 15; i++)
		buf[i] = (char)(n[i] & ~0x20);
	buf[i] = 0;
	return buf;
}

const char *st_dockerfile_instr_flag(const struct st_dockerfile_instr *in, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < in->nflags; i++)
		if (!strcmp(in->flags[i].name, name))
			v = in->flags[i].value ? in->flags[i].value : "";
	return v;
}

bool st_dockerfile_instr_flag_bool(const struct st_dockerfile_instr *in, const char *name)
{
	const char *v = st_dockerfile_instr_flag(in, name);
	return v && (!*v || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "t"));
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na > 32 || nb > 32)
		return 99;
	size_t d[33][33];
	for (size_t i = 0; i <= na; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= nb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= na; i++)
		for (size_t j = 1; j <= nb; j++) {
			size_t c = (a[i - 1] & ~0x20) == (b[j - 1] & ~0x20) ? 0 : 1;
			size_t m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + c < m)
				m = d[i - 1][j - 1] + c;
			d[i][j] = m;
		}
	return d[na][nb];
}

static const char *suggest(const char *kw)
{
	static const char *const all[] = { "FROM",	  "RUN",	"CMD",	   "LABEL",
					   "MAINTAINER",  "EXPOSE",	"ENV",	   "ADD",
					   "COPY",	  "ENTRYPOINT", "VOLUME",  "USER",
					   "WORKDIR",	  "ARG",	"ONBUILD", "STOPSIGNAL",
					   "HEALTHCHECK", "SHELL" };
	const char *best = NULL;
	size_t bd = 99;
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++) {
		size_t d = levenshtein(kw, all[i]);
		if (d < bd) {
			bd = d;
			best = all[i];
		}
	}
	size_t n = strlen(kw);
	return bd <= (n > 6 ? 3 : n > 3 ? 2 : 1) ? best : NULL;
}

/* Go's time.ParseDuration, enough to tell a valid value: "1h30m", "5s", "0", ".5s". */
static bool valid_duration(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (!strcmp(s, "0"))
		return true;
	if (!*s)
		return false;
	while (*s) {
		const char *d = s;
		while (*s >= '0' && *s <= '9')
			s++;
		bool digits = s > d;
		if (*s == '.') {
			s++;
			const char *f = s;
			while (*s >= '0' && *s <= '9')
				s++;
			digits = digits || s > f;
		}
		if (!digits)
			return false;
		static const char *const units[] = { "ns", "us", "µs", "μs", "ms", "s", "m", "h" };
		size_t best = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
			size_t n = strlen(units[i]);
			if (!strncmp(s, units[i], n) && n > best)
				best = n;
		}
		if (!best)
			return false;
		s += best;
	}
	return true;
}

static int check_flags(const struct src *s, const struct st_dockerfile_instr *in,
		       struct st_error **err)
{
	for (size_t i = 0; i < in->nflags; i++) {
		const struct st_dockerfile_flag *f = &in->flags[i];
		const struct flagdef *def = NULL;
		for (size_t k = 0; k < sizeof(flagdefs) / sizeof(*flagdefs); k++)
			if (flagdefs[k].kind == in->kind && !strcmp(flagdefs[k].name, f->name))
				def = &flagdefs[k];
		if (!def)
			return dockerfile_src_error(s, in->start_line, err,
						    "unknown flag: --%s for %s", f->name,
						    in->keyword);
		if (def->type == F_BOOL) {
			if (f->value && strcasecmp(f->value, "true") &&
			    strcasecmp(f->value, "false") && strcmp(f->value, "1") &&
			    strcmp(f->value, "0"))
				return dockerfile_src_error(
				    s, in->start_line, err,
				    "expecting boolean value for flag --%s, not: %s", f->name,
				    f->value);
		} else if (!f->value) {
			return dockerfile_src_error(s, in->start_line, err,
						    "missing a value on flag: --%s", f->name);
		}
		if (def->type != F_STRINGS)
			for (size_t j = 0; j < i; j++)
				if (!strcmp(in->flags[j].name, f->name))
					return dockerfile_src_error(
					    s, in->start_line, err,
					    "duplicate flag specified: --%s", f->name);
		if (in->kind == ST_DF_HEALTHCHECK) {
			if (!strcmp(f->name, "retries")) {
				char *end;
				long r = strtol(f->value, &end, 10);
				if (!*f->value || *end || r < 0)
					return dockerfile_src_error(
					    s, in->start_line, err,
					    "invalid --retries value '%s': want a "
					    "whole number >= 0",
					    f->value);
			} else if (!valid_duration(f->value)) {
				return dockerfile_src_error(
				    s, in->start_line, err,
				    "invalid --%s duration '%s' (want e.g. 30s, 1m30s)", f->name,
				    f->value);
			}
		}
	}
	return 0;
}

static bool all_lower(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return false;
	return true;
}

static bool all_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			return false;
	return true;
}

/* A single-line instruction's text with its first 'skip' bytes replaced; NULL otherwise. */
static char *fix_line(const struct st_dockerfile_instr *in, size_t skip, const char *repl)
{
	if (in->start_line != in->end_line || !in->original || strlen(in->original) < skip)
		return NULL;
	return st_xasprintf("%s%s", repl, in->original + skip);
}

/* StageNameCasing and FromAsCasing, as BuildKit's instruction parser runs them on FROM. */
static void check_from_casing(struct st_dockerfile *df, const struct st_dockerfile_instr *in)
{
	if (in->nargs != 3)
		return;
	const char *as = in->args[1], *name = in->args[2];
	if (!all_lower(name)) {
		st_autofree char *lower = st_xstrdup(name);
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p |= 0x20;
		char *fix = NULL;
		const char *at = in->original ? strstr(in->original, name) : NULL;
		if (at && in->start_line == in->end_line)
			fix = st_xasprintf("%.*s%s%s", (int)(at - in->original), in->original,
					   lower, at + strlen(name));
		dockerfile_diag_add(&df->diags, &df->ndiags, "StageNameCasing", in->start_line,
				    in->end_line, fix, "Stage name '%s' should be lowercase", name);
	}
	/* A keyword of mixed case is ConsistentInstructionCasing's; no second warning here. */
	bool lower = all_lower(in->keyword), upper = all_upper(in->keyword);
	if ((lower && !all_lower(as)) || (!lower && upper && !all_upper(as)))
		dockerfile_diag_add(&df->diags, &df->ndiags, "FromAsCasing", in->start_line,
				    in->end_line, NULL,
				    "'%s' and '%s' keywords' casing do not match", as, in->keyword);
}

static bool valid_stage_name(const char *n)
{
	if (!(*n >= 'a' && *n <= 'z'))
		return false;
	for (n++; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '-' ||
		      *n == '_' || *n == '.'))
			return false;
	return true;
}

static int check_instr(const struct src *s, struct st_dockerfile *df,
		       const struct st_dockerfile_instr *in, bool trigger, struct st_error **err)
{
	char up[16];
	const char *K = upper_name(in->kind, up);
	int line = in->start_line;
	if (in->kind == ST_DF_UNKNOWN) {
		const char *sg = suggest(in->keyword);
		if (sg)
			return dockerfile_src_error(s, line, err,
						    "unknown instruction: %s (did you mean %s?)",
						    in->keyword, sg);
		return dockerfile_src_error(s, line, err, "unknown instruction: %s", in->keyword);
	}
	if (check_flags(s, in, err) < 0)
		return -1;
	size_t n = in->nargs;
	switch (in->kind) {
	case ST_DF_FROM:
		if (n != 1 && !(n == 3 && !strcasecmp(in->args[1], "as")))
			return dockerfile_src_error(
			    s, line, err,
			    "FROM requires either one argument, or three: FROM <image> AS <name>");
		if (n == 3) {
			st_autofree char *lower = st_xstrdup(in->args[2]);
			for (char *p = lower; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p |= 0x20;
			if (!valid_stage_name(lower))
				return dockerfile_src_error(
				    s, line, err,
				    "invalid name for build stage: \"%s\", name can't "
				    "start with a number or contain symbols",
				    in->args[2]);
		}
		if (!trigger)
			check_from_casing(df, in);
		break;
	case ST_DF_RUN:
		if (!n)
			return dockerfile_src_error(s, line, err,
						    "RUN requires at least one argument");
		break;
	case ST_DF_SHELL:
		if (!in->json)
			return dockerfile_src_error(
			    s, line, err, "SHELL requires the arguments to be in JSON form");
		if (!n)
			return dockerfile_src_error(s, line, err,
						    "SHELL requires at least one argument");
		break;
	case ST_DF_ENV:
	case ST_DF_LABEL:
	case ST_DF_EXPOSE:
	case ST_DF_ARG:
	case ST_DF_VOLUME:
		if (!n)
			return dockerfile_src_error(s, line, err,
						    "%s requires at least one argument", K);
		if (in->kind == ST_DF_VOLUME)
			for (size_t i = 0; i < n; i++)
				if (!*in->args[i])
					return dockerfile_src_error(
					    s, line, err,
					    "VOLUME specified can not be an empty string");
		if (in->kind == ST_DF_ARG)
			for (size_t i = 0; i < n; i++)
				if (in->args[i][0] == '=')
					return dockerfile_src_error(s, line, err,
								    "ARG names can not be blank");
		break;
	case ST_DF_MAINTAINER:
	case ST_DF_USER:
	case ST_DF_WORKDIR:
	case ST_DF_STOPSIGNAL:
		if (n != 1)
			return dockerfile_src_error(s, line, err,
						    "%s requires exactly one argument", K);
		if (in->kind == ST_DF_MAINTAINER)
			dockerfile_diag_add(
			    &df->diags, &df->ndiags, "MaintainerDeprecated", line, in->end_line,
			    st_xasprintf("LABEL org.opencontainers.image.authors=\"%s\"",
					 in->args[0]),
			    "Maintainer instruction is deprecated in favor of using label");
		break;
	case ST_DF_ADD:
	case ST_DF_COPY:
		if (n < 2)
			return dockerfile_src_error(
			    s, line, err,
			    "%s requires at least two arguments, but only %s "
			    "provided. Destination could not be determined",
			    K, n ? "one was" : "none were");
		break;
	case ST_DF_HEALTHCHECK: {
		if (!n)
			return dockerfile_src_error(
			    s, line, err,
			    "HEALTHCHECK requires at least one argument: CMD <command> or NONE");
		if (!strcasecmp(in->args[0], "NONE")) {
			if (n > 1 || in->nflags)
				return dockerfile_src_error(s, line, err,
							    "HEALTHCHECK NONE takes no arguments");
		} else if (!strcasecmp(in->args[0], "CMD")) {
			if (n < 2)
				return dockerfile_src_error(
				    s, line, err, "missing command after HEALTHCHECK CMD");
		} else {
			return dockerfile_src_error(s, line, err,
						    "unknown type \"%s\" in HEALTHCHECK (try CMD)",
						    in->args[0]);
		}
		break;
	}
	case ST_DF_ONBUILD:
		if (!in->sub)
			return dockerfile_src_error(s, line, err,
						    "ONBUILD requires at least one argument");
		if (in->sub->kind == ST_DF_ONBUILD)
			return dockerfile_src_error(
			    s, line, err, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
		if (in->sub->kind == ST_DF_FROM || in->sub->kind == ST_DF_MAINTAINER)
			return dockerfile_src_error(s, line, err,
						    "%s isn't allowed as an ONBUILD trigger",
						    upper_name(in->sub->kind, up));
		return check_instr(s, df, in->sub, true, err);
	default:
		break;
	}
	return 0;
}

/*
 * ConsistentInstructionCasing, BuildKit's validateCommandCasing: the keywords of the stages
 * (not the ARGs before the first FROM) vote upper or lower case; mixed-case ones and those
 * against the majority are reported, ties going to upper case.
 */
static void check_casing(struct st_dockerfile *df)
{
	size_t nlower = 0, nupper = 0;
	bool staged = false;
	for (size_t i = 0; i < df->ninstrs; i++) {
		const char *kw = df->instrs[i].keyword;
		staged = staged || df->instrs[i].kind == ST_DF_FROM;
		if (!staged)
			continue;
		if (all_lower(kw))
			nlower++;
		else if (all_upper(kw))
			nupper++;
	}
	bool lower = nlower > nupper;
	staged = false;
	for (size_t i = 0; i < df->ninstrs; i++) {
		const struct st_dockerfile_instr *in = &df->instrs[i];
		staged = staged || in->kind == ST_DF_FROM;
		if (!staged || (lower ? all_lower(in->keyword) : all_upper(in->keyword)))
			continue;
		size_t kl = strlen(in->keyword);
		st_autofree char *want = st_xstrdup(in->keyword);
		for (char *p = want; *p; p++)
			*p = lower ? (char)(*p | (*p >= 'A' && *p <= 'Z' ? 0x20 : 0))
				   : (char)(*p >= 'a' && *p <= 'z' ? *p & ~0x20 : *p);
		dockerfile_diag_add(
		    &df->diags, &df->ndiags, "ConsistentInstructionCasing", in->start_line,
		    in->end_line, fix_line(in, kl, want),
		    "Command '%s' should match the case of the command majority (%s)", in->keyword,
		    lower ? "lowercase" : "uppercase");
	}
}

int dockerfile_df_check(struct st_dockerfile *df, const struct src *s, struct st_error **err)
{
	size_t nfrom = 0;
	for (size_t i = 0; i < df->ninstrs; i++) {
		const struct st_dockerfile_instr *in = &df->instrs[i];
		if (check_instr(s, df, in, false, err) < 0)
			return -1;
		if (in->kind == ST_DF_FROM)
			nfrom++;
		else if (!nfrom && in->kind != ST_DF_ARG)
			return dockerfile_src_error(
			    s, in->start_line, err,
			    "%s before the first FROM: only ARG can come before FROM", in->keyword);
	}
	if (!nfrom)
		return dockerfile_src_error(
		    s, 0, err, "no FROM instruction: a Dockerfile needs at least one build stage");
	df->stages = st_xcalloc(nfrom, sizeof(*df->stages));
	df->meta_args = st_xcalloc(df->ninstrs, sizeof(*df->meta_args));
	/* The stage names so far, for DuplicateStageName without comparing each with all the
	 * others (a generated Dockerfile has thousands of stages). The _r table is ours alone. */
	struct hsearch_data names = { 0 };
	if (!hcreate_r(2 * nfrom, &names))
		abort();
	struct st_dockerfile_stage *cur = NULL;
	for (size_t i = 0; i < df->ninstrs; i++) {
		const struct st_dockerfile_instr *in = &df->instrs[i];
		if (in->kind == ST_DF_FROM) {
			cur = &df->stages[df->nstages];
			cur->index = df->nstages++;
			cur->from = in;
			cur->base = st_xstrdup(in->args[0]);
			const char *pf = st_dockerfile_instr_flag(in, "platform");
			cur->platform = pf ? st_xstrdup(pf) : NULL;
			if (in->nargs == 3) {
				cur->name = st_xstrdup(in->args[2]);
				for (char *p = cur->name; *p; p++)
					if (*p >= 'A' && *p <= 'Z')
						*p |= 0x20;
				/* BuildKit builds these; a later stage of the name wins. */
				if (!strcmp(cur->name, "context") || !strcmp(cur->name, "scratch"))
					dockerfile_diag_add(
					    &df->diags, &df->ndiags, "ReservedStageName",
					    in->start_line, in->end_line, NULL,
					    "Stage name should not use the same name as reserved "
					    "stage \"%s\"",
					    cur->name);
				ENTRY e = { .key = cur->name }, *seen = NULL;
				if (hsearch_r(e, FIND, &seen, &names))
					dockerfile_diag_add(&df->diags, &df->ndiags,
							    "DuplicateStageName", in->start_line,
							    in->end_line, NULL,
							    "Duplicate stage name \"%s\", stage "
							    "names should be unique",
							    cur->name);
				else if (!hsearch_r(e, ENTER, &seen, &names))
					abort();
			}
			size_t k = i + 1; /* size the list exactly: one per stage adds up */
			while (k < df->ninstrs && df->instrs[k].kind != ST_DF_FROM)
				k++;
			cur->instrs = st_xcalloc(k - i, sizeof(*cur->instrs));
			continue;
		}
		if (!cur)
			df->meta_args[df->nmeta_args++] = in;
		else
			cur->instrs[cur->ninstrs++] = in;
	}
	hdestroy_r(&names);
	check_casing(df);
	return 0;
}

/* ---- expansion per instruction ---- */

bool st_dockerfile_kind_expands(enum st_dockerfile_kind kind)
{
	switch (kind) {
	case ST_DF_ADD:
	case ST_DF_COPY:
	case ST_DF_ENV:
	case ST_DF_EXPOSE:
	case ST_DF_FROM:
	case ST_DF_LABEL:
	case ST_DF_STOPSIGNAL:
	case ST_DF_USER:
	case ST_DF_VOLUME:
	case ST_DF_WORKDIR:
	case ST_DF_ARG:
	case ST_DF_ONBUILD: /* when the trigger runs, as its own instruction */
		return true;
	default:
		return false;
	}
}

static int push_expanded(struct st_strv *v, const char *w, const struct st_dockerfile_env *env,
			 char esc, struct st_error **err)
{
	char *x = NULL;
	if (st_dockerfile_expand(w, env, esc, &x, err) < 0)
		return -1;
	st_strv_push_owned(v, x);
	return 0;
}

int st_dockerfile_instr_expand(const struct st_dockerfile_instr *in,
			       const struct st_dockerfile_env *env, char escape, char ***out,
			       size_t *n, struct st_error **err)
{
	struct st_strv v = { 0 };
	int rc = 0;
	switch (in->kind) {
	case ST_DF_ADD:
	case ST_DF_COPY:
	case ST_DF_ENV:
	case ST_DF_LABEL:
	case ST_DF_FROM:
	case ST_DF_VOLUME:
	case ST_DF_USER:
	case ST_DF_WORKDIR:
	case ST_DF_STOPSIGNAL:
		for (size_t i = 0; i < in->nargs && rc == 0; i++)
			rc = push_expanded(&v, in->args[i], env, escape, err);
		break;
	case ST_DF_ARG:
		for (size_t i = 0; i < in->nargs && rc == 0; i++) {
			const char *eq = strchr(in->args[i], '=');
			if (!eq) {
				rc = push_expanded(&v, in->args[i], env, escape, err);
				continue;
			}
			st_autofree char *k = st_xstrndup(in->args[i], (size_t)(eq - in->args[i]));
			char *kx = NULL, *vx = NULL;
			if (st_dockerfile_expand(k, env, escape, &kx, err) < 0 ||
			    st_dockerfile_expand(eq + 1, env, escape, &vx, err) < 0) {
				free(kx);
				rc = -1;
				break;
			}
			st_strv_push_owned(&v, st_xasprintf("%s=%s", kx, vx));
			free(kx);
			free(vx);
		}
		break;
	case ST_DF_EXPOSE:
		for (size_t i = 0; i < in->nargs && rc == 0; i++) {
			char **w = NULL;
			size_t nw = 0;
			rc = st_dockerfile_words(in->args[i], env, escape, &w, &nw, err);
			for (size_t k = 0; k < nw; k++)
				st_strv_push_owned(&v, w[k]);
			free(w);
		}
		break;
	default:
		for (size_t i = 0; i < in->nargs; i++)
			st_strv_push_owned(&v, st_xstrdup(in->args[i]));
	}
	if (rc < 0) {
		st_strv_release(&v);
		return -1;
	}
	if (!v.v)
		v.v = st_xcalloc(1, sizeof(char *));
	*out = v.v;
	if (n)
		*n = v.n;
	return 0;
}

int st_dockerfile_flag_expand(const struct st_dockerfile_flag *f,
			      const struct st_dockerfile_env *env, char escape, char **out,
			      struct st_error **err)
{
	return st_dockerfile_expand(f->value ? f->value : "", env, escape, out, err);
}
