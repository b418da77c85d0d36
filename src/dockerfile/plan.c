/*
 * plan.c: build arguments and the stage graph: global ARGs (before the first FROM) with
 * --build-arg overrides and the predefined platform args, the base of each stage, the stages a
 * target needs (FROM <stage>, COPY --from, RUN --mount from=) in build order, cycles, and the
 * build args nothing consumed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dockerfile/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char *const predefined[] = {
	"HTTP_PROXY",	  "http_proxy", "HTTPS_PROXY",	"https_proxy",	 "FTP_PROXY",
	"ftp_proxy",	  "NO_PROXY",	"no_proxy",	"ALL_PROXY",	 "all_proxy",
	"TARGETPLATFORM", "TARGETOS",	"TARGETARCH",	"TARGETVARIANT", "BUILDPLATFORM",
	"BUILDOS",	  "BUILDARCH",	"BUILDVARIANT",
};

bool st_dockerfile_arg_is_predefined(const char *name)
{
	for (size_t i = 0; i < sizeof(predefined) / sizeof(*predefined); i++)
		if (!strcmp(predefined[i], name))
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "K=V" list where setting a key replaces its value: the scope of ARGs. */
static void kv_set(struct st_strv *kv, const char *k, const char *v)
{
	size_t n = strlen(k);
	for (size_t i = 0; i < kv->n; i++)
		if (!strncmp(kv->v[i], k, n) && kv->v[i][n] == '=') {
			free(kv->v[i]);
			kv->v[i] = st_xasprintf("%s=%s", k, v);
			return;
		}
	st_strv_push_owned(kv, st_xasprintf("%s=%s", k, v));
}

/* The build-arg for 'k': its value, or NULL when not given (or given without a value). */
static const char *build_arg(const struct st_dockerfile_plan_opts *o, const char *k, bool *given)
{
	size_t n = strlen(k);
	const char *v = NULL;
	for (size_t i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i];
		if (!strncmp(a, k, n) && (a[n] == '=' || !a[n])) {
			if (given)
				*given = true;
			v = a[n] == '=' ? a + n + 1 : NULL;
		}
	}
	return v;
}

static void platform_args(struct st_strv *kv, const char *prefix, const char *plat)
{
	st_autofree char *p = st_xstrdup(plat);
	char *os = p, *arch = strchr(p, '/'), *variant = NULL;
	if (arch) {
		*arch++ = 0;
		variant = strchr(arch, '/');
		if (variant)
			*variant++ = 0;
	}
	st_autofree char *k1 = st_xasprintf("%sPLATFORM", prefix);
	st_autofree char *k2 = st_xasprintf("%sOS", prefix);
	st_autofree char *k3 = st_xasprintf("%sARCH", prefix);
	st_autofree char *k4 = st_xasprintf("%sVARIANT", prefix);
	kv_set(kv, k1, plat);
	kv_set(kv, k2, os);
	kv_set(kv, k3, arch ? arch : "");
	kv_set(kv, k4, variant ? variant : "");
}

static void plan_stage_release(struct st_dockerfile_plan_stage *s)
{
	free(s->base);
	free(s->deps);
}

void st_dockerfile_plan_free(struct st_dockerfile_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstages; i++)
		plan_stage_release(&p->stages[i]);
	free(p->stages);
	st_dockerfile_strv_free(p->global_args);
	st_dockerfile_strv_free(p->unused_args);
	free(p);
}

void st_dockerfile_plan_freep(struct st_dockerfile_plan **p)
{
	st_dockerfile_plan_free(*p);
	*p = NULL;
}

/* A stage by name (case-insensitive) or, when 'by_index', by number; -1 when none. */
static long find_stage(const struct st_dockerfile *df, const char *ref, bool by_index)
{
	if (by_index && *ref) {
		char *end;
		long i = strtol(ref, &end, 10);
		if (!*end && ref[0] >= '0' && ref[0] <= '9')
			return i >= 0 && (size_t)i < df->nstages ? i : -2;
	}
	/* Of stages sharing a name (DuplicateStageName), BuildKit takes the last. */
	for (size_t i = df->nstages; i-- > 0;)
		if (df->stages[i].name && !strcasecmp(df->stages[i].name, ref))
			return (long)i;
	return -1;
}

struct graph {
	struct st_dockerfile_plan_stage *all; /* one per stage of the Dockerfile */
	int *color;			      /* 0 new, 1 in progress, 2 done */
	size_t *order;
	size_t norder;
};

static void add_dep(struct st_dockerfile_plan_stage *s, size_t d)
{
	for (size_t i = 0; i < s->ndeps; i++)
		if (s->deps[i] == d)
			return;
	s->deps = st_xrealloc(s->deps, (s->ndeps + 1) * sizeof(*s->deps));
	s->deps[s->ndeps++] = d;
}

static int dep_ref(const struct st_dockerfile *df, struct st_dockerfile_plan_stage *ps,
		   const struct st_dockerfile_instr *in, const char *ref,
		   const struct st_dockerfile_env *env, struct st_error **err)
{
	st_autofree char *x = NULL;
	if (st_dockerfile_expand(ref, env, df->escape, &x, err) < 0)
		return st_err_wrap(err, "%s:%d", df->name, in->start_line);
	long i = find_stage(df, x, true);
	if (i == -2)
		return st_err(err, ST_E_PARSE, "%s:%d: stage index %s out of range: %zu stages",
			      df->name, in->start_line, x, df->nstages);
	if (i >= 0)
		add_dep(ps, (size_t)i);
	return 0;
}

/* "type=cache,from=builder,target=/x": the value of from= in a --mount spec. */
static char *mount_from(const char *spec)
{
	const char *p = spec;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > 5 && !strncasecmp(p, "from=", 5))
			return st_xstrndup(p + 5, n - 5);
		p += n + (e ? 1 : 0);
	}
	return NULL;
}

static int visit(const struct st_dockerfile *df, struct graph *g, size_t i, struct st_error **err)
{
	if (g->color[i] == 2)
		return 0;
	if (g->color[i] == 1) {
		const struct st_dockerfile_stage *s = &df->stages[i];
		return st_err(err, ST_E_PARSE, "%s:%d: circular dependency detected on stage: %s",
			      df->name, s->from->start_line, s->name ? s->name : s->base);
	}
	g->color[i] = 1;
	for (size_t k = 0; k < g->all[i].ndeps; k++)
		if (visit(df, g, g->all[i].deps[k], err) < 0)
			return -1;
	g->color[i] = 2;
	g->order[g->norder++] = i;
	return 0;
}

int st_dockerfile_plan(const struct st_dockerfile *df, const struct st_dockerfile_plan_opts *o,
		       struct st_dockerfile_plan **out, struct st_error **err)
{
	static const struct st_dockerfile_plan_opts none = { 0 };
	if (!o)
		o = &none;
	if (!df->nstages)
		return st_err(err, ST_E_INVALID, "%s: no build stages", df->name);
	struct st_strv globals = { 0 }; /* what FROM sees */
	struct st_strv used = { 0 };	/* build-arg names some ARG consumed */
	struct graph g = { 0 };
	int rc = -1;
	const char *tp = o->target_platform ? o->target_platform : "linux/amd64";
	const char *bp = o->build_platform ? o->build_platform : tp;
	platform_args(&globals, "TARGET", tp);
	platform_args(&globals, "BUILD", bp);
	size_t npredef = globals.n;

	for (size_t i = 0; i < df->nmeta_args; i++) {
		const struct st_dockerfile_instr *in = df->meta_args[i];
		for (size_t a = 0; a < in->nargs; a++) {
			const char *w = in->args[a];
			const char *eq = strchr(w, '=');
			st_autofree char *k = eq ? st_xstrndup(w, (size_t)(eq - w)) : st_xstrdup(w);
			bool given = false;
			const char *bv = build_arg(o, k, &given);
			if (given)
				st_strv_push_owned(&used, st_xstrdup(k));
			struct st_dockerfile_env env = { .kv = (const char *const *)globals.v,
							 .nkv = globals.n };
			if (bv) {
				kv_set(&globals, k, bv);
			} else if (eq) {
				st_autofree char *x = NULL;
				if (st_dockerfile_expand(eq + 1, &env, df->escape, &x, err) < 0) {
					st_err_wrap(err, "%s:%d", df->name, in->start_line);
					goto done;
				}
				kv_set(&globals, k, x);
			}
		}
	}
	struct st_dockerfile_env genv = { .kv = (const char *const *)globals.v, .nkv = globals.n };

	g.all = st_xcalloc(df->nstages, sizeof(*g.all));
	g.color = st_xcalloc(df->nstages, sizeof(*g.color));
	g.order = st_xcalloc(df->nstages, sizeof(*g.order));
	for (size_t i = 0; i < df->nstages; i++) {
		const struct st_dockerfile_stage *s = &df->stages[i];
		struct st_dockerfile_plan_stage *ps = &g.all[i];
		ps->index = i;
		if (st_dockerfile_expand(s->base, &genv, df->escape, &ps->base, err) < 0) {
			st_err_wrap(err, "%s:%d", df->name, s->from->start_line);
			goto done;
		}
		if (!*ps->base) {
			st_err(err, ST_E_PARSE, "%s:%d: base name (%s) should not be blank",
			       df->name, s->from->start_line, s->base);
			goto done;
		}
		long b = find_stage(df, ps->base, false);
		if (b >= 0) {
			ps->base_is_stage = true;
			ps->base_stage = (size_t)b;
			add_dep(ps, (size_t)b);
		}
		for (size_t k = 0; k < s->ninstrs; k++) {
			const struct st_dockerfile_instr *in = s->instrs[k];
			if (in->kind == ST_DF_COPY) {
				const char *from = st_dockerfile_instr_flag(in, "from");
				if (from && dep_ref(df, ps, in, from, &genv, err) < 0)
					goto done;
			} else if (in->kind == ST_DF_RUN) {
				for (size_t f = 0; f < in->nflags; f++) {
					if (strcmp(in->flags[f].name, "mount") ||
					    !in->flags[f].value)
						continue;
					st_autofree char *from = mount_from(in->flags[f].value);
					if (from && dep_ref(df, ps, in, from, &genv, err) < 0)
						goto done;
				}
			}
		}
	}

	size_t target = df->nstages - 1;
	if (o->target && *o->target) {
		long t = find_stage(df, o->target, true);
		if (t < 0) {
			st_err(err, ST_E_NOTFOUND, "target stage \"%s\" could not be found",
			       o->target);
			goto done;
		}
		target = (size_t)t;
	}
	if (visit(df, &g, target, err) < 0)
		goto done;

	/* ARGs of the needed stages consume build args too. */
	for (size_t n = 0; n < g.norder; n++) {
		const struct st_dockerfile_stage *s = &df->stages[g.order[n]];
		for (size_t k = 0; k < s->ninstrs; k++) {
			const struct st_dockerfile_instr *in = s->instrs[k];
			if (in->kind != ST_DF_ARG)
				continue;
			for (size_t a = 0; a < in->nargs; a++) {
				const char *eq = strchr(in->args[a], '=');
				st_strv_push_owned(
				    &used, eq ? st_xstrndup(in->args[a], (size_t)(eq - in->args[a]))
					      : st_xstrdup(in->args[a]));
			}
		}
	}

	/* The build checks read this one, as BuildKit's frontend does. */
	st_strv_push_owned(&used, st_xstrdup("BUILDKIT_DOCKERFILE_CHECK"));

	struct st_dockerfile_plan *p = st_xcalloc(1, sizeof(*p));
	p->stages = st_xcalloc(g.norder, sizeof(*p->stages));
	for (size_t n = 0; n < g.norder; n++) {
		p->stages[n] = g.all[g.order[n]];
		memset(&g.all[g.order[n]], 0, sizeof(g.all[0]));
	}
	p->nstages = g.norder;
	struct st_strv ga = { 0 };
	for (size_t i = npredef; i < globals.n; i++)
		st_strv_push_owned(&ga, st_xstrdup(globals.v[i]));
	p->global_args = ga.v ? ga.v : st_xcalloc(1, sizeof(char *));
	p->nglobal_args = ga.n;
	struct st_strv un = { 0 };
	for (size_t i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i];
		const char *eq = strchr(a, '=');
		st_autofree char *k = eq ? st_xstrndup(a, (size_t)(eq - a)) : st_xstrdup(a);
		bool seen = st_dockerfile_arg_is_predefined(k);
		for (size_t u = 0; u < used.n && !seen; u++)
			seen = !strcmp(used.v[u], k);
		for (size_t u = 0; u < un.n && !seen; u++)
			seen = !strcmp(un.v[u], k);
		if (!seen)
			st_strv_push_owned(&un, st_steal(&k));
	}
	if (un.n)
		qsort(un.v, un.n, sizeof(char *), cmp_str);
	p->unused_args = un.v ? un.v : st_xcalloc(1, sizeof(char *));
	p->nunused_args = un.n;
	*out = p;
	rc = 0;
done:
	if (g.all) {
		for (size_t i = 0; i < df->nstages; i++)
			plan_stage_release(&g.all[i]);
		free(g.all);
	}
	free(g.color);
	free(g.order);
	st_strv_release(&globals);
	st_strv_release(&used);
	return rc;
}
