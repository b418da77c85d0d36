/*
 * image.c: what the built image holds, against the Dockerfile that made it. The analysis of
 * its layers (src/analyze) finds package caches left in a layer, files deleted by a later
 * step, bytes copied again to change owners or modes, files overwritten, secret-looking files
 * and build tools in the final filesystem; each finding is reported on the instruction whose
 * layer added the files. A layer's history entry (created_by: "RUN /bin/sh -c make # buildkit",
 * "COPY . /app") names its instruction's keyword: the layers above the base image are matched
 * in order to the layer-making instructions of the stages the image was built through.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze/analyze.h"
#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const struct st_dockerfile_rule rules[] = {
	[ST_ANALYZE_CACHE] = { "ST2001",
			       "A package manager's cache stays in the layer of this instruction",
			       NULL, ST_DF_SEV_WARNING, false },
	[ST_ANALYZE_DELETED] = { "ST2002",
				 "Files this instruction adds are deleted by a later one: they "
				 "still take their space in the image",
				 NULL, ST_DF_SEV_WARNING, false },
	[ST_ANALYZE_COPIED] = { "ST2003",
				"This instruction copies files again only to change their owners, "
				"modes or times",
				NULL, ST_DF_SEV_WARNING, false },
	[ST_ANALYZE_OVERWRITTEN] = { "ST2004",
				     "Files this instruction adds are replaced by a later one",
				     NULL, ST_DF_SEV_INFO, false },
	[ST_ANALYZE_SECRET] = { "ST2005",
				"A file that looks like a key or credentials is in the layer of "
				"this instruction",
				NULL, ST_DF_SEV_ERROR, false },
	[ST_ANALYZE_BUILD_TOOLS] = { "ST2006", "Build tools are in the final image", NULL,
				     ST_DF_SEV_INFO, false },
};

const struct st_dockerfile_rule *lint_image_rule_find(const char *name)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++)
		if (!strcmp(rules[i].name, name))
			return &rules[i];
	return NULL;
}

static bool makes_layer(enum st_dockerfile_kind k)
{
	return k == ST_DF_RUN || k == ST_DF_COPY || k == ST_DF_ADD || k == ST_DF_WORKDIR;
}

/* The layer-making instructions of the image's stage and the stages it is built on, in the
 * order they ran. */
static const struct st_dockerfile_instr **candidates(const struct lint_ctx *c, size_t *n)
{
	const struct st_dockerfile *df = c->df;
	long last = (long)df->nstages - 1;
	if (c->o->target)
		for (size_t i = 0; i < df->nstages; i++)
			if (df->stages[i].name && !strcasecmp(df->stages[i].name, c->o->target))
				last = (long)i;
	size_t nchain = 0;
	long *chain = st_xcalloc(df->nstages + 1, sizeof(*chain));
	for (long i = last; i >= 0 && nchain < df->nstages; i = c->base_of[i])
		chain[nchain++] = i;
	const struct st_dockerfile_instr **v = NULL;
	*n = 0;
	while (nchain--) {
		const struct st_dockerfile_stage *s = &df->stages[chain[nchain]];
		for (size_t k = 0; k < s->ninstrs; k++) {
			if (!makes_layer(s->instrs[k]->kind))
				continue;
			v = st_xrealloc(v, (*n + 1) * sizeof(*v));
			v[(*n)++] = s->instrs[k];
		}
	}
	free(chain);
	return v;
}

/* The instruction whose keyword opens 'created_by', from v[*at] on; NULL when none. */
static const struct st_dockerfile_instr *match(const struct st_dockerfile_instr **v, size_t n,
					       size_t *at, const char *created_by)
{
	if (!created_by)
		return NULL;
	size_t kw = strcspn(created_by, " \t");
	for (size_t i = *at; i < n; i++)
		if (strlen(v[i]->keyword) == kw && !strncasecmp(v[i]->keyword, created_by, kw)) {
			*at = i + 1;
			return v[i];
		}
	return NULL;
}

void lint_image(struct lint_ctx *c)
{
	const struct st_analyze *a = c->o->image;
	if (!a || !c->df->nstages)
		return;
	size_t ncand = 0, at = 0, nl = st_analyze_n_layers(a);
	const struct st_dockerfile_instr **cand = candidates(c, &ncand);
	const struct st_dockerfile_instr **of = st_xcalloc(nl + 1, sizeof(*of));
	for (size_t i = 0; i < nl; i++) {
		const struct st_analyze_layer *l = st_analyze_layer(a, i);
		if (!l->base)
			of[i] = match(cand, ncand, &at, l->command);
	}
	const struct st_analyze_waste *w = st_analyze_waste(a);
	const struct st_dockerfile_instr *last_from = c->df->stages[c->df->nstages - 1].from;
	for (size_t i = 0; i < w->n_findings; i++) {
		const struct st_analyze_finding *f = &w->findings[i];
		const struct st_dockerfile_instr *in = f->added_in < nl ? of[f->added_in] : NULL;
		/* Files of the base image: the FROM line is where they came in. */
		if (!in && f->added_in < nl && st_analyze_layer(a, f->added_in)->base)
			in = last_from;
		if (!in)
			continue;
		st_autofree char *later =
		    f->removed_in < nl && of[f->removed_in]
			? st_xasprintf(" (removed on line %d)", of[f->removed_in]->start_line)
			: NULL;
		lint_add(c, &rules[f->kind], in->start_line, in->end_line, NULL,
			 "%s: %zu file%s, %" PRIu64 " bytes, such as %s%s; %s",
			 rules[f->kind].description, f->files, f->files == 1 ? "" : "s", f->bytes,
			 f->example, later ? later : "", f->hint);
	}
	free(of);
	free(cand);
}
