/* build_checks.c: the build checks of strata build, printed as buildx prints BuildKit's. */
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "build_checks.h"
#include "cli.h"
#include "util/cleanup.h"
#include "util/fs.h"
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

int st_cli_checks_image(struct st_cli *cli, const struct st_builder_opts *b, const char *image,
			FILE *f, struct st_error **err)
{
	struct st_buf text = ST_BUF_INIT;
	st_autofree char *path = NULL;
	const char *name = "Dockerfile";
	if (b->dockerfile_text)
		st_buf_add(&text, b->dockerfile_text, b->dockerfile_len);
	else if (b->dockerfile)
		path = st_xstrdup(b->dockerfile);
	else if (b->context)
		path = st_path_join(b->context, "Dockerfile");
	else
		return 0;
	if (path)
		name = path;
	st_auto(st_dockerfile) struct st_dockerfile *df = NULL;
	st_auto(st_analyze) struct st_analyze *a = NULL;
	int rc = path ? st_read_file(path, &text, err) : 0;
	if (rc == 0)
		rc = st_dockerfile_parse(name, st_buf_str(&text), text.len, &df, err);
	if (rc == 0)
		rc = st_cli_analyze_open(cli, image, NULL, NULL, &a, err);
	struct st_lint_opts lo = {
		.rulesets = ST_LINT_IMAGE,
		.build_args = b->build_args,
		.nbuild_args = b->n_build_args,
		.target = b->target,
		.image = a,
	};
	struct st_cli_checks c = { 0 };
	if (rc == 0)
		rc = st_lint_dockerfile(df, st_buf_str(&text), text.len, &lo, &c.r, err);
	/* The build's own warnings' form, each on the line whose layer holds the files. */
	if (rc == 0 && c.r.ndiags) {
		fprintf(f,
			"\n %zu finding%s in the image (use strata lint --image %s to expand):\n",
			c.r.ndiags, c.r.ndiags == 1 ? "" : "s", image);
		for (size_t i = 0; i < c.r.ndiags; i++) {
			const struct st_dockerfile_diag *d = &c.r.diags[i];
			fprintf(f, " - %s: %s (line %d)\n", d->rule->name, d->message,
				d->start_line);
		}
	}
	st_cli_checks_release(&c);
	st_buf_release(&text);
	return rc;
}
