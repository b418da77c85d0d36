/* build_checks.c: the build checks of strata build, printed as buildx prints BuildKit's. */
#include <stdlib.h>
#include <string.h>

#include "build_checks.h"
#include "util/cleanup.h"
#include "util/banned.h"

void st_cli_checks_add(struct st_cli_checks *c, const struct st_builder_event *ev)
{
	const struct st_dockerfile_rule *rule = st_dockerfile_rule_find(ev->name);
	if (ev->type != ST_BUILDER_EVENT_WARNING || !rule)
		return;
	if (!c->file) {
		c->file = st_xstrdup(ev->file ? ev->file : "Dockerfile");
		st_buf_add(&c->source, ev->source ? ev->source : "", ev->source_len);
	}
	struct st_lint_result *r = &c->r;
	r->diags = st_xrealloc(r->diags, (r->ndiags + 1) * sizeof(*r->diags));
	r->diags[r->ndiags++] = (struct st_dockerfile_diag){
		.rule = rule,
		.severity = rule->severity,
		.message = st_xstrndup(ev->text, ev->len),
		.start_line = ev->start_line,
		.end_line = ev->end_line,
	};
}

void st_cli_checks_on_event(void *ctx, const struct st_builder_event *ev)
{
	st_cli_checks_add(ctx, ev);
}

void st_cli_checks_summary(const struct st_cli_checks *c, FILE *f)
{
	if (!c->r.ndiags)
		return;
	if (c->r.ndiags == 1)
		fputs("\n 1 warning found (use strata build --check to expand):\n", f);
	else
		fprintf(f, "\n %zu warnings found (use strata build --check to expand):\n",
			c->r.ndiags);
	for (size_t i = 0; i < c->r.ndiags; i++) {
		const struct st_dockerfile_diag *d = &c->r.diags[i];
		fprintf(f, " - %s: %s", d->rule->name, d->message);
		if (d->start_line > 0)
			fprintf(f, " (line %d)", d->start_line);
		fputc('\n', f);
	}
}

static int by_line(const void *a, const void *b)
{
	const struct st_dockerfile_diag *x = a, *y = b;
	return x->start_line < y->start_line ? -1 : x->start_line > y->start_line;
}

void st_cli_checks_report(struct st_cli_checks *c, FILE *f)
{
	struct st_buf out = ST_BUF_INIT;
	/* BuildKit sorts the findings by their first line before printing them. */
	if (c->r.ndiags)
		qsort(c->r.diags, c->r.ndiags, sizeof(*c->r.diags), by_line);
	st_lint_format(&c->r, ST_LINT_FORMAT_CHECK, c->file ? c->file : "Dockerfile",
		       st_buf_str(&c->source), c->source.len, false, &out);
	fwrite(out.data, 1, out.len, f);
	st_buf_release(&out);
}

void st_cli_checks_release(struct st_cli_checks *c)
{
	st_lint_result_release(&c->r);
	free(c->file);
	c->file = NULL;
	st_buf_release(&c->source);
}
