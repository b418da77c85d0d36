/*
 * buildkit.c: the build checks BuildKit makes while it turns the stages into a build
 * (frontend/dockerfile/dockerfile2llb): the FROM line's arguments and platform, undefined
 * variables, secrets in ARG and ENV names, relative WORKDIRs, repeated CMD, ENTRYPOINT and
 * HEALTHCHECK, legacy "ENV k v", EXPOSE formats, COPY of ignored files, and the description
 * comments of stages and ARGs. The messages are BuildKit's (linter/ruleset.go), word for word.
 *
 * Each stage is followed as BuildKit dispatches it: the variables a stage sees are its base
 * stage's, or its base image's when the caller can say what that holds (else the checks that
 * need them skip the stage), plus its own ARGs and ENVs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/image.h"
#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const struct st_dockerfile_rule *R(const char *name)
{
	return st_dockerfile_rule_find(name);
}

/* "K=V" strings, one per key. */
struct kv {
	char **v;
	size_t n;
};

/* "k=val", new; without printf, which a long Dockerfile would call for every variable. */
static char *kv_entry(const char *k, size_t n, const char *val)
{
	size_t m = strlen(val);
	char *e = st_xmalloc(n + m + 2);
	memcpy(e, k, n);
	e[n] = '=';
	memcpy(e + n + 1, val, m + 1);
	return e;
}

static void kv_set(struct kv *kv, const char *k, const char *val)
{
	size_t n = strlen(k);
	for (size_t i = 0; i < kv->n; i++)
		if (!strncmp(kv->v[i], k, n) && kv->v[i][n] == '=') {
			free(kv->v[i]);
			kv->v[i] = kv_entry(k, n, val);
			return;
		}
	kv->v = st_xrealloc(kv->v, (kv->n + 2) * sizeof(*kv->v));
	kv->v[kv->n++] = kv_entry(k, n, val);
	kv->v[kv->n] = NULL;
}

static const char *kv_get(const struct kv *kv, const char *k)
{
	size_t n = strlen(k);
	for (size_t i = 0; i < kv->n; i++)
		if (!strncmp(kv->v[i], k, n) && kv->v[i][n] == '=')
			return kv->v[i] + n + 1;
	return NULL;
}

static bool kv_has(const struct kv *kv, const char *k)
{
	return kv_get(kv, k) != NULL;
}

static void kv_del(struct kv *kv, const char *k)
{
	size_t n = strlen(k);
	for (size_t i = 0; i < kv->n; i++)
		if (!strncmp(kv->v[i], k, n) && kv->v[i][n] == '=') {
			free(kv->v[i]);
			memmove(&kv->v[i], &kv->v[i + 1], (kv->n - i) * sizeof(*kv->v));
			kv->n--;
			return;
		}
}

static void kv_copy(struct kv *dst, const struct kv *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const char *eq = strchr(src->v[i], '=');
		st_autofree char *k = st_xstrndup(src->v[i], (size_t)(eq - src->v[i]));
		kv_set(dst, k, eq + 1);
	}
}

static void kv_release(struct kv *kv)
{
	for (size_t i = 0; i < kv->n; i++)
		free(kv->v[i]);
	free(kv->v);
	kv->v = NULL;
	kv->n = 0;
}

/* An expansion that remembers which names it found and which it did not. */
struct tracked {
	const struct kv *env;
	struct kv matched, unmatched; /* names only (values unused) */
};

static const char *tracked_lookup(void *ctx, const char *name)
{
	struct tracked *t = ctx;
	const char *v = kv_get(t->env, name);
	kv_set(v ? &t->matched : &t->unmatched, name, "");
	return v;
}

/*
 * The names 'word' uses as ${NAME:-x}, ${NAME-x}, ${NAME:+x}, ${NAME+x}, ${NAME:?x} or
 * ${NAME?x}: a default or a check of their own, so BuildKit does not call them undefined.
 */
static void guarded_names(const char *word, struct kv *out)
{
	for (const char *p = strstr(word, "${"); p; p = strstr(p + 2, "${")) {
		const char *n = p + 2;
		size_t len = 0;
		while ((n[len] >= 'a' && n[len] <= 'z') || (n[len] >= 'A' && n[len] <= 'Z') ||
		       (n[len] >= '0' && n[len] <= '9') || n[len] == '_')
			len++;
		const char *m = n + len + (n[len] == ':');
		if (len && (*m == '-' || *m == '+' || *m == '?')) {
			st_autofree char *name = st_xstrndup(n, len);
			kv_set(out, name, "");
		}
	}
}

/* Expand 'word' over 'env'; *out (may be NULL) is new. False on a bad expansion. */
static bool expand(const char *word, const struct kv *env, char escape, struct tracked *t,
		   char **out)
{
	/* Most words have nothing to expand or unquote: they stand for themselves. */
	if (!strpbrk(word, "$'\"") && !strchr(word, escape)) {
		if (out)
			*out = st_xstrdup(word);
		return true;
	}
	struct kv guarded = { 0 };
	guarded_names(word, &guarded);
	for (size_t i = guarded.n; i-- > 0;) {
		/* Only what this word leaves undefined: an earlier bare $NAME still counts. */
		st_autofree char *name = st_xstrndup(guarded.v[i], strlen(guarded.v[i]) - 1);
		if (kv_has(&t->unmatched, name))
			kv_del(&guarded, name);
	}
	t->env = env;
	struct st_dockerfile_env e = { .lookup = tracked_lookup, .ctx = t };
	char *x = NULL;
	struct st_error *err = NULL;
	int rc = st_dockerfile_expand(word, &e, escape, &x, &err);
	for (size_t i = 0; i < guarded.n; i++) {
		st_autofree char *name = st_xstrndup(guarded.v[i], strlen(guarded.v[i]) - 1);
		kv_del(&t->unmatched, name);
	}
	kv_release(&guarded);
	if (rc < 0) {
		st_error_free(err);
		return false;
	}
	if (out)
		*out = x;
	else
		free(x);
	return true;
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na > 64 || nb > 64)
		return 99;
	size_t d[65][65];
	for (size_t i = 0; i <= na; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= nb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= na; i++)
		for (size_t j = 1; j <= nb; j++) {
			size_t m = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < m)
				m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			d[i][j] = m;
		}
	return d[na][nb];
}

/* The closest of the keys of 'options' to 'name' (BuildKit's suggest.Search), or NULL. */
static const char *suggest(const char *name, const struct kv *options, struct st_buf *buf)
{
	size_t best = 99, nl = strlen(name);
	size_t allowed = nl <= 3 ? 1 : nl <= 8 ? 2 : 3;
	st_buf_reset(buf);
	for (size_t i = 0; i < options->n; i++) {
		const char *eq = strchr(options->v[i], '=');
		st_autofree char *k = st_xstrndup(options->v[i], (size_t)(eq - options->v[i]));
		size_t d = strcasecmp(k, name) ? levenshtein(k, name) : 0;
		if (d < best && d <= allowed) {
			best = d;
			st_buf_reset(buf);
			st_buf_adds(buf, k);
		}
	}
	return buf->len ? buf->data : NULL;
}

struct stage_state {
	struct kv env;
	struct kv declared; /* ARG names the stage declared (they are never "undefined") */
	bool base_known;    /* the variables of the base are known */
	bool workdir_set, shell_set;
	bool done;
};

struct walk {
	struct lint_ctx *c;
	char escape;
	struct kv globals;  /* what FROM sees, build args applied */
	struct kv arg_keys; /* every ARG before FROM and every predefined arg */
	struct kv meta;	    /* the ARGs before FROM with a value, for "ARG X" in a stage */
	struct stage_state *st;
	struct st_buf sug;
};

static void platform_args(struct kv *kv, const char *prefix, const char *plat)
{
	char os[32] = "", arch[32] = "", variant[32] = "";
	const char *s1 = strchr(plat, '/');
	const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	snprintf(os, sizeof(os), "%.*s", (int)(s1 ? (size_t)(s1 - plat) : strlen(plat)), plat);
	if (s1)
		snprintf(arch, sizeof(arch), "%.*s",
			 (int)(s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1)), s1 + 1);
	if (s2)
		snprintf(variant, sizeof(variant), "%s", s2 + 1);
	char k[32];
	snprintf(k, sizeof(k), "%sPLATFORM", prefix);
	kv_set(kv, k, plat);
	snprintf(k, sizeof(k), "%sOS", prefix);
	kv_set(kv, k, os);
	snprintf(k, sizeof(k), "%sARCH", prefix);
	kv_set(kv, k, arch);
	snprintf(k, sizeof(k), "%sVARIANT", prefix);
	kv_set(kv, k, variant);
}

static const char *build_arg(const struct st_lint_opts *o, const char *k)
{
	size_t n = strlen(k);
	const char *v = NULL;
	for (size_t i = 0; i < o->nbuild_args; i++) {
		const char *a = o->build_args[i];
		if (!strncmp(a, k, n) && a[n] == '=')
			v = a + n + 1;
	}
	return v;
}

/* The globals as FROM sees them: with the build args, or (defaults) the ARGs' defaults only. */
static void meta_args(struct walk *w, struct kv *out, bool defaults)
{
	const struct st_dockerfile *df = w->c->df;
	const char *tp = w->c->o->target_platform ? w->c->o->target_platform : "linux/amd64";
	platform_args(out, "TARGET", tp);
	platform_args(out, "BUILD", tp);
	for (size_t i = 0; i < df->nmeta_args; i++) {
		const struct st_dockerfile_instr *in = df->meta_args[i];
		for (size_t a = 0; a < in->nargs; a++) {
			const char *eq = strchr(in->args[a], '=');
			st_autofree char *k =
			    eq ? st_xstrndup(in->args[a], (size_t)(eq - in->args[a]))
			       : st_xstrdup(in->args[a]);
			if (!defaults)
				kv_set(&w->arg_keys, k, "");
			const char *bv = defaults ? NULL : build_arg(w->c->o, k);
			if (bv) {
				kv_set(out, k, bv);
			} else if (eq) {
				struct tracked t = { 0 };
				st_autofree char *x = NULL;
				if (expand(eq + 1, out, w->escape, &t, &x))
					kv_set(out, k, x);
				kv_release(&t.matched);
				kv_release(&t.unmatched);
			}
		}
	}
}

static void undefined_in_from(struct walk *w, const struct st_dockerfile_instr *from,
			      const struct kv *unmatched)
{
	for (size_t i = 0; i < unmatched->n; i++) {
		st_autofree char *name = st_xstrndup(unmatched->v[i], strlen(unmatched->v[i]) - 1);
		if (kv_has(&w->arg_keys, name) || kv_has(&w->globals, name))
			continue;
		const char *s = suggest(name, &w->arg_keys, &w->sug);
		lint_add(w->c, R("UndefinedArgInFrom"), from->start_line, from->end_line, NULL,
			 "FROM argument '%s' is not declared%s%s%s", name,
			 s ? " (did you mean " : "", s ? s : "", s ? "?)" : "");
	}
}

static bool valid_ref(const char *s)
{
	struct st_image_ref *r = NULL;
	struct st_error *err = NULL;
	if (!*s)
		return false;
	if (st_image_ref_parse(s, &r, &err) < 0) {
		st_error_free(err);
		return false;
	}
	st_image_ref_free(r);
	return true;
}

static void check_from(struct walk *w, const struct st_dockerfile_stage *s,
		       const struct kv *defaults)
{
	const struct st_dockerfile_instr *from = s->from;
	struct lint_ctx *c = w->c;
	struct tracked t = { 0 };
	st_autofree char *base = NULL;
	if (expand(s->base, defaults, w->escape, &t, &base) && !valid_ref(base))
		lint_add(c, R("InvalidDefaultArgInFrom"), from->start_line, from->end_line, NULL,
			 "Default value for ARG %s results in empty or invalid base image name",
			 s->base);
	kv_release(&t.matched);
	kv_release(&t.unmatched);
	free(base);
	base = NULL;
	if (expand(s->base, &w->globals, w->escape, &t, &base))
		undefined_in_from(w, from, &t.unmatched);
	kv_release(&t.matched);
	kv_release(&t.unmatched);
	if (!s->platform)
		return;
	st_autofree char *plat = NULL;
	if (!expand(s->platform, &w->globals, w->escape, &t, &plat))
		goto out;
	undefined_in_from(w, from, &t.unmatched);
	/* $TARGETPLATFORM alone, expanding to itself: what FROM does anyway. */
	if (t.matched.n == 1 && !t.unmatched.n && !strncmp(t.matched.v[0], "TARGETPLATFORM=", 15) &&
	    !strcmp(plat, kv_get(&w->globals, "TARGETPLATFORM")))
		lint_add(c, R("RedundantTargetPlatform"), from->start_line, from->end_line, NULL,
			 "Setting platform to predefined %s in FROM is redundant as this is the "
			 "default behavior",
			 s->platform);
	if (!t.matched.n && !t.unmatched.n) {
		const char *slash = strchr(plat, '/');
		if (slash && slash > plat && slash[1]) {
			st_autofree char *os = st_xstrndup(plat, (size_t)(slash - plat));
			st_autofree char *arch = st_xstrndup(slash + 1, strcspn(slash + 1, "/"));
			const char *name = s->name ? s->name : "";
			if (!strstr(name, os) && !strstr(name, arch))
				lint_add(
				    c, R("FromPlatformFlagConstDisallowed"), from->start_line,
				    from->end_line, NULL,
				    "FROM --platform flag should not use constant value \"%s\"",
				    plat);
		}
	}
out:
	kv_release(&t.matched);
	kv_release(&t.unmatched);
}

/* UndefinedVar for what 'in' expands (BuildKit's reportUnmatchedVariables). */
static void undefined_vars(struct walk *w, struct stage_state *st,
			   const struct st_dockerfile_instr *in, const struct kv *unmatched)
{
	if (!st->base_known)
		return;
	for (size_t i = 0; i < unmatched->n; i++) {
		st_autofree char *name = st_xstrndup(unmatched->v[i], strlen(unmatched->v[i]) - 1);
		if (kv_has(&st->declared, name) || !strcmp(name, "BUILDKIT_SBOM_SCAN_CONTEXT") ||
		    !strcmp(name, "BUILDKIT_SBOM_SCAN_STAGE"))
			continue;
		const char *s = suggest(name, &st->env, &w->sug);
		lint_add(w->c, R("UndefinedVar"), in->start_line, in->end_line, NULL,
			 "Usage of undefined variable '$%s'%s%s%s", name,
			 s ? " (did you mean $" : "", s ? s : "", s ? "?)" : "");
	}
}

/* Expand each of 'in's words over the stage's variables, for UndefinedVar; *out is new. */
static void expand_words(struct walk *w, struct stage_state *st,
			 const struct st_dockerfile_instr *in, size_t from, struct kv *out)
{
	struct tracked t = { 0 };
	for (size_t i = from; i < in->nargs; i++) {
		char *x = NULL;
		if (!expand(in->args[i], &st->env, w->escape, &t, &x))
			continue;
		if (out) {
			char key[24];
			snprintf(key, sizeof(key), "%zu", i);
			kv_set(out, key, x);
		}
		free(x);
	}
	undefined_vars(w, st, in, &t.unmatched);
	kv_release(&t.matched);
	kv_release(&t.unmatched);
}

/* BuildKit's secrets pattern: a "_"-separated part of the name is one of these words. */
static bool secret_name(const char *k)
{
	static const char *const deny[] = { "apikey", "auth",	  "credential", "credentials",
					    "key",    "password", "pword",	"passwd",
					    "secret", "token" };
	bool found = false, allowed = false;
	st_autofree char *s = st_xstrdup(k);
	for (char *part = s; part;) {
		char *us = strchr(part, '_');
		if (us)
			*us = 0;
		for (size_t i = 0; i < sizeof(deny) / sizeof(*deny); i++)
			found = found || !strcasecmp(part, deny[i]);
		allowed = allowed || !strcasecmp(part, "public");
		part = us ? us + 1 : NULL;
	}
	return found && !allowed;
}

static void secrets(struct walk *w, const struct st_dockerfile_instr *in, const char *kind,
		    const char *key)
{
	if (secret_name(key))
		lint_add(w->c, R("SecretsUsedInArgOrEnv"), in->start_line, in->end_line, NULL,
			 "Do not use ARG or ENV instructions for sensitive data (%s \"%s\")", kind,
			 key);
}

/* "ENV k v" (one pair, no '='): the first word after the keyword has no '='. */
static bool legacy_pair(const struct st_dockerfile_instr *in)
{
	const char *p = in->original ? in->original + strlen(in->keyword) : "";
	p += strspn(p, " \t");
	size_t n = strcspn(p, " \t");
	return !memchr(p, '=', n);
}

static void legacy(struct walk *w, const struct st_dockerfile_instr *in)
{
	if (!legacy_pair(in))
		return;
	char *fix = NULL;
	if (in->start_line == in->end_line && in->nargs == 2) {
		const char *v = in->args[1];
		bool plain = !strpbrk(v, " \t\"'");
		fix =
		    st_xasprintf(plain ? "%s %s=%s" : "%s %s=\"%s\"", in->keyword, in->args[0], v);
	}
	lint_add(w->c, R("LegacyKeyValueFormat"), in->start_line, in->end_line, fix,
		 "\"%s key=value\" should be used instead of legacy \"%s key value\" format",
		 in->keyword, in->keyword);
}

char *lint_json_fix(const struct st_dockerfile_instr *in)
{
	if (in->start_line != in->end_line || !in->nargs ||
	    strpbrk(in->args[0], "\"'\\$&|;<>*?`(){}[]~"))
		return NULL;
	struct st_buf b = ST_BUF_INIT;
	st_buf_addf(&b, "%s [", in->keyword);
	bool first = true;
	for (const char *p = in->args[0]; *p;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		size_t n = strcspn(p, " \t");
		st_buf_addf(&b, "%s\"%.*s\"", first ? "" : ", ", (int)n, p);
		first = false;
		p += n;
	}
	st_buf_adds(&b, "]");
	return st_buf_detach(&b, NULL);
}

struct tracker {
	const struct st_dockerfile_instr *last;
};

static void used_once(struct walk *w, struct tracker *t, const struct st_dockerfile_instr *in)
{
	/* The earlier one is reported: it is the one the build ignores. */
	if (t->last)
		lint_add(w->c, R("MultipleInstructionsDisallowed"), t->last->start_line,
			 t->last->end_line, NULL,
			 "Multiple %s instructions should not be used in the same stage because "
			 "only the last one will be used",
			 in->keyword);
	t->last = in;
}

static bool all_lower_s(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return false;
	return true;
}

static bool is_abs(const char *p)
{
	return *p == '/';
}

static void expose(struct walk *w, struct stage_state *st, const struct st_dockerfile_instr *in)
{
	struct kv words = { 0 };
	expand_words(w, st, in, 0, &words);
	for (size_t i = 0; i < words.n; i++) {
		const char *p = strchr(words.v[i], '=') + 1;
		char **split = NULL;
		size_t ns = 0;
		struct st_error *err = NULL;
		struct st_dockerfile_env none = { 0 };
		if (st_dockerfile_words(p, &none, w->escape, &split, &ns, &err) < 0) {
			st_error_free(err);
			continue;
		}
		for (size_t k = 0; k < ns; k++) {
			const char *port = split[k];
			const char *slash = strrchr(port, '/');
			if (slash && !all_lower_s(slash + 1))
				lint_add(w->c, R("ExposeProtoCasing"), in->start_line, in->end_line,
					 NULL,
					 "Defined protocol '%s' in EXPOSE instruction should be "
					 "lowercase",
					 port);
			if (strchr(port, ':'))
				lint_add(w->c, R("ExposeInvalidFormat"), in->start_line,
					 in->end_line, NULL,
					 "EXPOSE instruction should not define an IP address or "
					 "host-port mapping, found '%s'",
					 port);
		}
		st_dockerfile_strv_free(split);
	}
	kv_release(&words);
}

/* CopyIgnoredFile: a source from the context that .dockerignore keeps out of it. */
static void copy_ignored(struct walk *w, struct stage_state *st,
			 const struct st_dockerfile_instr *in)
{
	struct kv words = { 0 };
	expand_words(w, st, in, 0, &words);
	const struct st_dockerignore *ign = w->c->o->ignore;
	bool from_context = in->kind == ST_DF_ADD || !st_dockerfile_instr_flag(in, "from");
	for (size_t i = 0; ign && from_context && i + 1 < words.n; i++) {
		const char *src = strchr(words.v[i], '=') + 1;
		if (!strncmp(src, "http://", 7) || !strncmp(src, "https://", 8) ||
		    !strncmp(src, "<<", 2))
			continue;
		const char *rel = src;
		while (*rel == '/' || (rel[0] == '.' && rel[1] == '/'))
			rel += *rel == '/' ? 1 : 2;
		if (*rel && strcmp(rel, ".") && st_dockerignore_matches(ign, rel))
			lint_add(w->c, R("CopyIgnoredFile"), in->start_line, in->end_line, NULL,
				 "Attempting to %s file \"%s\" that is excluded by .dockerignore",
				 in->kind == ST_DF_ADD ? "Add" : "Copy", src);
	}
	kv_release(&words);
}

static void arg(struct walk *w, struct stage_state *st, const struct st_dockerfile_instr *in)
{
	for (size_t a = 0; a < in->nargs; a++) {
		const char *eq = strchr(in->args[a], '=');
		st_autofree char *k = eq ? st_xstrndup(in->args[a], (size_t)(eq - in->args[a]))
					 : st_xstrdup(in->args[a]);
		secrets(w, in, "ARG", k);
		kv_set(&st->declared, k, "");
		const char *bv = build_arg(w->c->o, k);
		if (bv) {
			kv_set(&st->env, k, bv);
		} else if (eq) {
			struct tracked t = { 0 };
			st_autofree char *x = NULL;
			if (expand(eq + 1, &st->env, w->escape, &t, &x))
				kv_set(&st->env, k, x);
			kv_release(&t.matched);
			kv_release(&t.unmatched);
		} else if (kv_has(&w->meta, k)) {
			kv_set(&st->env, k, kv_get(&w->meta, k));
		}
	}
}

static void env(struct walk *w, struct stage_state *st, const struct st_dockerfile_instr *in)
{
	legacy(w, in);
	for (size_t i = 0; i + 1 < in->nargs; i += 2) {
		secrets(w, in, "ENV", in->args[i]);
		struct tracked t = { 0 };
		st_autofree char *x = NULL;
		bool ok = expand(in->args[i + 1], &st->env, w->escape, &t, &x);
		/* Reported before the pair applies: "ENV A=$A:x" sees the A before it. */
		undefined_vars(w, st, in, &t.unmatched);
		if (ok)
			kv_set(&st->env, in->args[i], x);
		kv_release(&t.matched);
		kv_release(&t.unmatched);
	}
}

static void dispatch(struct walk *w, struct stage_state *st, const struct st_dockerfile_instr *in,
		     struct tracker trk[3])
{
	switch (in->kind) {
	case ST_DF_ENV:
		env(w, st, in);
		break;
	case ST_DF_LABEL:
		legacy(w, in);
		expand_words(w, st, in, 0, NULL);
		break;
	case ST_DF_ARG:
		arg(w, st, in);
		break;
	case ST_DF_WORKDIR: {
		struct kv words = { 0 };
		expand_words(w, st, in, 0, &words);
		const char *p = words.n ? strchr(words.v[0], '=') + 1 : "/";
		if (!st->workdir_set && !is_abs(p))
			lint_add(w->c, R("WorkdirRelativePath"), in->start_line, in->end_line, NULL,
				 "Relative workdir \"%s\" can have unexpected results if the base "
				 "image changes",
				 p);
		st->workdir_set = true;
		kv_release(&words);
		break;
	}
	case ST_DF_CMD:
	case ST_DF_ENTRYPOINT:
		used_once(w, &trk[in->kind == ST_DF_CMD ? 0 : 1], in);
		if (!in->json && !st->shell_set)
			lint_add(w->c, R("JSONArgsRecommended"), in->start_line, in->end_line,
				 lint_json_fix(in),
				 "JSON arguments recommended for %s to prevent unintended behavior "
				 "related to OS signals",
				 in->keyword);
		break;
	case ST_DF_HEALTHCHECK:
		used_once(w, &trk[2], in);
		break;
	case ST_DF_SHELL:
		st->shell_set = true;
		break;
	case ST_DF_EXPOSE:
		expose(w, st, in);
		break;
	case ST_DF_ADD:
	case ST_DF_COPY:
		copy_ignored(w, st, in);
		break;
	case ST_DF_USER:
	case ST_DF_VOLUME:
	case ST_DF_STOPSIGNAL:
		expand_words(w, st, in, 0, NULL);
		break;
	default:
		break;
	}
}

/* The comment lines right above line 'line' (blank lines end them), last one first. */
static const char *comment_above(const struct lint_ctx *c, int line, size_t *n)
{
	if (line < 2)
		return NULL;
	const char *p = lint_line(c, line - 1, n);
	size_t i = 0;
	while (i < *n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= *n || p[i] != '#')
		return NULL;
	i++;
	while (i < *n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	*n -= i;
	return p + i;
}

/*
 * InvalidDefinitionDescription (experimental): the comment right above "FROM ... AS name" or
 * "ARG name" must start with the name, or be kept apart by a blank line.
 */
static void descriptions(struct lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const struct st_dockerfile_instr *in = &c->df->instrs[i];
		size_t n;
		const char *cm = comment_above(c, in->start_line, &n);
		if (!cm)
			continue;
		size_t first = 0;
		while (first < n && cm[first] != ' ')
			first++;
		if (in->kind == ST_DF_FROM && in->nargs == 3) {
			st_autofree char *name = st_xstrdup(in->args[2]);
			for (char *p = name; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p |= 0x20;
			if (strlen(name) != first || memcmp(name, cm, first))
				lint_add(c, R("InvalidDefinitionDescription"), in->start_line,
					 in->end_line, NULL,
					 "Comment for FROM should follow the format: `# %s "
					 "<description>`",
					 name);
		} else if (in->kind == ST_DF_ARG && in->nargs) {
			bool ok = false;
			for (size_t a = 0; a < in->nargs && !ok; a++) {
				size_t kl = strcspn(in->args[a], "=");
				ok = kl == first && !memcmp(in->args[a], cm, kl);
			}
			if (!ok) {
				size_t kl = strcspn(in->args[0], "=");
				lint_add(c, R("InvalidDefinitionDescription"), in->start_line,
					 in->end_line, NULL,
					 "Comment for ARG should follow the format: `# %.*s "
					 "<description>`",
					 in->nargs > 1 ? 9 : (int)kl,
					 in->nargs > 1 ? "<arg_key>" : in->args[0]);
			}
		}
	}
}

/* Whether two "os/arch[/variant]" platforms agree on os and arch, as BuildKit compares them. */
static bool same_os_arch(const char *a, const char *b)
{
	size_t ao = strcspn(a, "/"), bo = strcspn(b, "/");
	if (ao != bo || strncmp(a, b, ao) || !a[ao] || !b[bo])
		return ao == bo && !strncmp(a, b, ao) && !a[ao] && !b[bo];
	a += ao + 1;
	b += bo + 1;
	size_t aa = strcspn(a, "/"), ba = strcspn(b, "/");
	return aa == ba && !strncmp(a, b, aa);
}

static void base_state(struct walk *w, const struct st_dockerfile_stage *s, size_t idx,
		       struct stage_state *st)
{
	const struct lint_ctx *c = w->c;
	struct tracked t = { 0 };
	st_autofree char *base = NULL;
	expand(s->base, &w->globals, w->escape, &t, &base);
	kv_release(&t.matched);
	kv_release(&t.unmatched);
	long from = base ? lint_stage_before(c, base, idx) : -1;
	if (from >= 0 && w->st[from].done) {
		const struct stage_state *b = &w->st[from];
		kv_copy(&st->env, &b->env);
		kv_copy(&st->declared, &b->declared);
		st->base_known = b->base_known;
		st->workdir_set = b->workdir_set;
		st->shell_set = b->shell_set;
		return;
	}
	if (base && !strcasecmp(base, "scratch")) {
		kv_set(&st->env, "PATH", DEFAULT_PATH);
		st->base_known = true;
		return;
	}
	char **env = NULL;
	st_autofree char *plat = NULL;
	if (base && c->o->base && c->o->base(c->o->base_ctx, base, &env, &plat) == 1) {
		st->base_known = true;
		for (size_t i = 0; env && env[i]; i++) {
			const char *eq = strchr(env[i], '=');
			st_autofree char *k =
			    eq ? st_xstrndup(env[i], (size_t)(eq - env[i])) : st_xstrdup(env[i]);
			kv_set(&st->env, k, eq ? eq + 1 : "");
		}
		st_dockerfile_strv_free(env);
		/* BuildKit gives every stage a PATH when its image sets none. */
		if (!kv_has(&st->env, "PATH"))
			kv_set(&st->env, "PATH", DEFAULT_PATH);
		st_autofree char *want = NULL;
		if (s->platform) {
			expand(s->platform, &w->globals, w->escape, &t, &want);
			kv_release(&t.matched);
			kv_release(&t.unmatched);
		}
		const char *expected = want ? want : kv_get(&w->globals, "TARGETPLATFORM");
		bool same = plat && same_os_arch(expected, plat);
		if (plat && !same)
			lint_add(
			    w->c, R("InvalidBaseImagePlatform"), s->from->start_line,
			    s->from->end_line, NULL,
			    "Base image %s was pulled with platform \"%s\", expected \"%s\" for "
			    "current build",
			    base, plat, expected);
	}
}

int lint_buildkit(struct lint_ctx *c, struct st_error **err)
{
	const struct st_dockerfile *df = c->df;
	const struct st_lint_opts *o = c->o;
	struct walk w = { .c = c, .escape = df->escape, .sug = ST_BUF_INIT };
	c->needed = st_xcalloc(df->nstages + 1, sizeof(*c->needed));
	if (o->all_stages && !o->target) {
		for (size_t i = 0; i < df->nstages; i++)
			c->needed[i] = true;
	} else {
		struct st_dockerfile_plan_opts po = { .build_args = o->build_args,
						      .nbuild_args = o->nbuild_args,
						      .target = o->target,
						      .target_platform = o->target_platform };
		struct st_dockerfile_plan *plan = NULL;
		if (st_dockerfile_plan(df, &po, &plan, err) < 0)
			return -1;
		for (size_t i = 0; i < plan->nstages; i++)
			c->needed[plan->stages[i].index] = true;
		st_dockerfile_plan_free(plan);
	}
	struct kv defaults = { 0 };
	meta_args(&w, &defaults, true);
	meta_args(&w, &w.globals, false);
	for (size_t i = 0; i < w.globals.n; i++) {
		const char *eq = strchr(w.globals.v[i], '=');
		st_autofree char *k = st_xstrndup(w.globals.v[i], (size_t)(eq - w.globals.v[i]));
		kv_set(&w.arg_keys, k, "");
	}
	kv_copy(&w.meta, &w.globals);
	w.st = st_xcalloc(df->nstages + 1, sizeof(*w.st));
	for (size_t i = 0; i < df->nstages; i++) {
		const struct st_dockerfile_stage *s = &df->stages[i];
		check_from(&w, s, &defaults);
		if (!c->needed[i])
			continue;
		struct stage_state *st = &w.st[i];
		base_state(&w, s, i, st);
		struct tracker trk[3] = { 0 };
		for (size_t k = 0; k < s->ninstrs; k++)
			dispatch(&w, st, s->instrs[k], trk);
		st->done = true;
	}
	descriptions(c);
	for (size_t i = 0; i < df->nstages; i++) {
		kv_release(&w.st[i].env);
		kv_release(&w.st[i].declared);
	}
	free(w.st);
	kv_release(&defaults);
	kv_release(&w.globals);
	kv_release(&w.arg_keys);
	kv_release(&w.meta);
	st_buf_release(&w.sug);
	return 0;
}
