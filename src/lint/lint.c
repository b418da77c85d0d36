/*
 * lint.c: the driver: which checks run, the "# check=" options and BUILDKIT_DOCKERFILE_CHECK
 * over BuildKit's checks (the build argument replaces the directive, as in BuildKit's dockerui
 * client), `# hadolint ignore=` and `# hadolint global ignore=` pragmas, and the order
 * findings come out in.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

void lint_add(struct lint_ctx *c, const struct st_dockerfile_rule *rule, int start, int end,
	      char *fix, const char *fmt, ...)
{
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	/* Most findings are their rule's fixed text: thousands of them need no printf. */
	if (!strcmp(fmt, "%s"))
		st_buf_adds(&b, va_arg(ap, const char *));
	else
		st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	/* Grown by half again: a long Dockerfile has thousands of findings. */
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap + c->cap / 2 : 16;
		c->v = st_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = (struct st_dockerfile_diag){ .rule = rule,
						    .severity = rule->severity,
						    .message = st_buf_detach(&b, NULL),
						    .start_line = start,
						    .end_line = end,
						    .fix = fix };
}

const char *lint_line(const struct lint_ctx *c, int line, size_t *n)
{
	if (line < 1 || (size_t)line > c->nlines) {
		*n = 0;
		return "";
	}
	size_t o = c->line_off[line - 1];
	size_t e = (size_t)line < c->nlines ? c->line_off[line] : c->len;
	while (e > o && (c->text[e - 1] == '\n' || c->text[e - 1] == '\r'))
		e--;
	*n = e - o;
	return c->text + o;
}

int st_lint_severity_parse(const char *s, enum st_dockerfile_severity *out)
{
	static const enum st_dockerfile_severity all[] = { ST_DF_SEV_ERROR, ST_DF_SEV_WARNING,
							   ST_DF_SEV_INFO, ST_DF_SEV_STYLE };
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(s, st_dockerfile_severity_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* "# hadolint ignore=DL3006,DL3008" (the next instruction) or "# hadolint global ignore=". */
struct pragma {
	int line; /* 0: global */
	char **rules;
};

static void read_pragma(const char *p, size_t n, int line, struct pragma **v, size_t *nv)
{
	st_autofree char *s = st_xstrndup(p, n);
	char *q = s;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q++ != '#')
		return;
	while (*q == ' ' || *q == '\t')
		q++;
	if (strncmp(q, "hadolint", 8) || (q[8] != ' ' && q[8] != '\t'))
		return;
	q += 9;
	while (*q == ' ' || *q == '\t')
		q++;
	bool global = !strncmp(q, "global", 6) && (q[6] == ' ' || q[6] == '\t');
	if (global)
		for (q += 7; *q == ' ' || *q == '\t';)
			q++;
	if (strncmp(q, "ignore=", 7))
		return;
	q += 7;
	char *end = q + strcspn(q, " \t");
	*end = 0;
	struct pragma pr = { .line = global ? 0 : line };
	size_t nr = 0;
	for (char *tok = q; tok;) {
		char *comma = strchr(tok, ',');
		if (comma)
			*comma = 0;
		if (*tok) {
			pr.rules = st_xrealloc(pr.rules, (nr + 2) * sizeof(char *));
			pr.rules[nr++] = st_xstrdup(tok);
			pr.rules[nr] = NULL;
		}
		tok = comma ? comma + 1 : NULL;
	}
	if (!nr)
		return;
	*v = st_xrealloc(*v, (*nv + 1) * sizeof(**v));
	(*v)[(*nv)++] = pr;
}

/* The first line of the instruction a pragma on 'line' applies to; 0 if none follows. */
static int pragma_target(const struct st_dockerfile *df, int line)
{
	for (size_t i = 0; i < df->ninstrs; i++)
		if (df->instrs[i].start_line > line)
			return df->instrs[i].start_line;
	return 0;
}

static bool listed(char *const *v, const char *name)
{
	for (; v && *v; v++)
		if (!strcmp(*v, name))
			return true;
	return false;
}

static int cmp_diag(const void *a, const void *b)
{
	const struct st_dockerfile_diag *x = a, *y = b;
	if (x->start_line != y->start_line)
		return x->start_line < y->start_line ? -1 : 1;
	int c = strcmp(x->rule->name, y->rule->name);
	/* The same rule twice on a line: by message, so that every run prints one order. */
	return c ? c : strcmp(x->message, y->message);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *build_arg(const struct st_lint_opts *o, const char *k, bool *given)
{
	size_t n = strlen(k);
	const char *v = NULL;
	for (size_t i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i];
		if (!strncmp(a, k, n) && (a[n] == '=' || !a[n])) {
			*given = true;
			v = a[n] == '=' ? a + n + 1 : "";
		}
	}
	return v;
}

static bool is_buildkit(const struct st_dockerfile_rule *r)
{
	size_t n;
	const struct st_dockerfile_rule *all = st_dockerfile_rules(&n);
	return r >= all && r < all + n;
}

/* Where each line of the text starts, for the pragmas and the comments above instructions. */
static void index_lines(struct lint_ctx *c)
{
	size_t cap = c->len / 16 + 2;
	c->line_off = st_xmalloc(cap * sizeof(size_t));
	for (size_t off = 0; off < c->len;) {
		if (c->nlines == cap) {
			cap *= 2;
			c->line_off = st_xrealloc(c->line_off, cap * sizeof(size_t));
		}
		c->line_off[c->nlines++] = off;
		const char *nl = memchr(c->text + off, '\n', c->len - off);
		off = nl ? (size_t)(nl - c->text) + 1 : c->len;
	}
}

static int cmp_name(const void *a, const void *b)
{
	const struct lint_name *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static void index_stages(struct lint_ctx *c)
{
	const struct st_dockerfile *df = c->df;
	c->names = st_xcalloc(df->nstages + 1, sizeof(*c->names));
	size_t n = 0;
	for (size_t i = 0; i < df->nstages; i++)
		if (df->stages[i].name)
			c->names[n++] = (struct lint_name){ df->stages[i].name, i };
	c->names[n].name = NULL;
	c->nnames = n;
	if (n)
		qsort(c->names, n, sizeof(*c->names), cmp_name);
	c->base_of = st_xcalloc(df->nstages + 1, sizeof(*c->base_of));
	for (size_t i = 0; i < df->nstages; i++)
		c->base_of[i] = lint_stage_before(c, df->stages[i].base, i);
}

long lint_stage_before(const struct lint_ctx *c, const char *name, size_t before)
{
	st_autofree char *lower = st_xstrdup(name);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p |= 0x20;
	size_t lo = 0, hi = c->nnames;
	while (lo < hi) { /* the first entry not below 'lower' */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(c->names[mid].name, lower) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	long found = -1;
	for (; c->names[lo].name && !strcmp(c->names[lo].name, lower); lo++)
		if (c->names[lo].index < before)
			found = (long)c->names[lo].index;
	return found;
}

/*
 * BuildKit's error for check=error=true: "lint violation found for rules: A, B" with each
 * BuildKit rule that fired once, sorted (BuildKit lists them in its map's random order).
 * NULL when none fired.
 */
static char *violation(const struct lint_ctx *c)
{
	const char **names = st_xcalloc(c->n + 1, sizeof(*names));
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		if (is_buildkit(c->v[i].rule))
			names[n++] = c->v[i].rule->name;
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	struct st_buf b = ST_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(names[i], names[i - 1]))
			st_buf_addf(&b, "%s%s", b.len ? ", " : "", names[i]);
	free(names);
	char *msg = b.len ? st_xasprintf("lint violation found for rules: %s", b.data) : NULL;
	st_buf_release(&b);
	return msg;
}

int st_lint_dockerfile(const struct st_dockerfile *df, const char *text, size_t len,
		       const struct st_lint_opts *o, struct st_lint_result *out,
		       struct st_error **err)
{
	static const struct st_lint_opts none = { 0 };
	if (!o)
		o = &none;
	memset(out, 0, sizeof(*out));
	unsigned sets = o->rulesets
			    ? o->rulesets
			    : ST_LINT_BUILDKIT | ST_LINT_HADOLINT | ST_LINT_STRATA | ST_LINT_IMAGE;
	struct st_dockerfile_check check;
	bool given = false;
	const char *arg = build_arg(o, "BUILDKIT_DOCKERFILE_CHECK", &given);
	if (st_dockerfile_check_parse(given ? arg : df->check, &check, err) < 0)
		return st_err_wrap(err, given
					    ? "failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK"
					    : "failed to parse check options");

	struct lint_ctx c = { .df = df, .o = o, .text = text, .len = len };
	index_lines(&c);
	index_stages(&c);
	int rc = 0;
	if (sets & ST_LINT_BUILDKIT) {
		for (size_t i = 0; i < df->ndiags; i++) {
			const struct st_dockerfile_diag *d = &df->diags[i];
			lint_add(&c, d->rule, d->start_line, d->end_line,
				 d->fix ? st_xstrdup(d->fix) : NULL, "%s", d->message);
		}
		rc = lint_buildkit(&c, err);
	}
	if (rc == 0 && (sets & ST_LINT_HADOLINT))
		lint_hadolint(&c);
	if (rc == 0 && (sets & ST_LINT_STRATA))
		lint_strata(&c);
	if (rc == 0 && (sets & ST_LINT_IMAGE))
		lint_image(&c);

	struct pragma *prag = NULL;
	size_t nprag = 0;
	for (size_t l = 0; rc == 0 && l < c.nlines; l++) {
		size_t n;
		const char *p = lint_line(&c, (int)l + 1, &n);
		if (memchr(p, '#', n) && memmem(p, n, "hadolint", 8))
			read_pragma(p, n, pragma_target(df, (int)l + 1), &prag, &nprag);
	}

	size_t keep = 0;
	for (size_t i = 0; i < c.n; i++) {
		struct st_dockerfile_diag *d = &c.v[i];
		bool drop = o->config && listed(o->config->ignored, d->rule->name);
		for (size_t k = 0; k < o->nskip && !drop; k++)
			drop = !strcmp(o->skip[k], d->rule->name);
		for (size_t k = 0; k < nprag && !drop; k++)
			drop = (!prag[k].line || prag[k].line == d->start_line) &&
			       listed(prag[k].rules, d->rule->name);
		if (!drop && is_buildkit(d->rule))
			drop = !st_dockerfile_check_enabled(&check, d->rule);
		if (drop) {
			free(d->message);
			free(d->fix);
			continue;
		}
		for (size_t k = 0; o->config && k < o->config->noverride; k++)
			if (!strcmp(o->config->override[k].rule, d->rule->name))
				d->severity = o->config->override[k].severity;
		c.v[keep++] = *d;
	}
	c.n = keep;
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), cmp_diag);
	if (check.error && rc == 0)
		out->violation = violation(&c);
	for (size_t k = 0; k < nprag; k++)
		st_dockerfile_strv_free(prag[k].rules);
	free(prag);
	free(c.line_off);
	free(c.needed);
	free(c.names);
	free(c.base_of);
	lint_scripts_release(&c);
	st_dockerfile_check_release(&check);
	if (rc < 0) {
		for (size_t i = 0; i < c.n; i++) {
			free(c.v[i].message);
			free(c.v[i].fix);
		}
		free(c.v);
		return -1;
	}
	out->diags = c.v;
	out->ndiags = c.n;
	return 0;
}

void st_lint_result_release(struct st_lint_result *r)
{
	for (size_t i = 0; i < r->ndiags; i++) {
		free(r->diags[i].message);
		free(r->diags[i].fix);
	}
	free(r->diags);
	free(r->violation);
	memset(r, 0, sizeof(*r));
}
