/* build_checks.c: the build checks of strata build, printed as buildx prints BuildKit's. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "build_checks.h"
#include "cli.h"
#include "digest/digest.h"
#include "local/local.h"
#include "store/store.h"
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

/* The Dockerfile a build -t made an image from: its absolute path and target stage, mapped
 * to "<digest of its text> <image id>". */
#define KV_NS_BUILT "lint.built"

static char *built_key(const char *path, const char *target)
{
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return NULL;
	return st_xasprintf("%s\n%s", abs, target ? target : "");
}

void st_cli_checks_remember(struct st_cli *cli, const struct st_builder_opts *b, const char *image)
{
	if (b->dockerfile_text || (!b->dockerfile && !b->context))
		return;
	st_autofree char *path =
	    b->dockerfile ? st_xstrdup(b->dockerfile) : st_path_join(b->context, "Dockerfile");
	st_autofree char *key = built_key(path, b->target);
	struct st_buf text = ST_BUF_INIT;
	struct st_error *err = NULL;
	struct st_store *s = NULL;
	if (key && st_read_file(path, &text, &err) == 0) {
		struct st_digest d;
		st_digest_of(text.data, text.len, &d);
		st_autofree char *value = st_xasprintf("%s %s", st_digest_hex(&d), image);
		if (st_cli_store(cli, &s, &err) == 0)
			st_store_kv_put(s, KV_NS_BUILT, key, value, &err);
	}
	/* The image is built and named: what lint would have found is only a convenience. */
	st_error_free(err);
	st_buf_release(&text);
}

char *st_cli_checks_recall(struct st_cli *cli, const char *path, const char *target,
			   const char *text, size_t len)
{
	st_autofree char *key = built_key(path, target);
	st_autofree char *db = st_path_join(cli->root, "strata.db");
	if (!key || access(db, F_OK) < 0)
		return NULL;
	struct st_store *s = NULL;
	struct st_error *err = NULL;
	st_autofree char *value = NULL;
	if (st_cli_store(cli, &s, &err) < 0 ||
	    st_store_kv_get(s, KV_NS_BUILT, key, &value, &err) < 0) {
		st_error_free(err);
		return NULL;
	}
	struct st_digest d;
	st_digest_of(text, len, &d);
	const char *sp = strchr(value, ' ');
	/* Another text: the image's layers no longer line up with these lines. */
	if (!sp || (size_t)(sp - value) != strlen(st_digest_hex(&d)) ||
	    strncmp(value, st_digest_hex(&d), (size_t)(sp - value)))
		return NULL;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, sp + 1, &img, &err) < 0) {
		st_error_free(err);
		return NULL;
	}
	return st_xstrdup(sp + 1);
}
