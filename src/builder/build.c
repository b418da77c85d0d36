/*
 * build.c: the orchestrator: parse, plan the stages the target needs, build independent
 * stages on parallel threads (each with its own store handle: a handle is not thread-safe),
 * walk each stage's instructions through the cache, and commit the target's image.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/internal.h"
#include "lint/lint.h"
#include "local/local.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/timestamp.h"
#include "util/fs.h"
#include "util/banned.h"

struct stage_slot {
	struct stage_run run;
	struct build_state final;
	bool needed, done, failed;
	pthread_t thread;
	bool started;
	struct st_error *err;
};

struct build {
	struct st_store *store;
	const struct st_builder_opts *o;
	struct st_dockerfile *df;
	struct st_dockerfile_plan *plan;
	struct st_dockerignore *ign;
	struct build_context ctx;
	bool have_ctx;
	char *ctx_dir; /* the context directory (extracted from stdin, or the given one) */
	char *ctx_tmp; /* when extracted: remove at the end */
	int ctx_tmp_lock;
	/* The agents of RUN --mount=type=ssh: NULL without --ssh. */
	struct builder_ssh *ssh;
	char *df_name;
	char *df_key; /* the Dockerfile in explanation keys: its real path when -f named one */
	char *git_df; /* -f with a git context: the file in the checkout */
	const struct st_buf *df_text;
	struct st_platform platform;	   /* the target: TARGETPLATFORM */
	struct st_platform build_platform; /* the host: BUILDPLATFORM */
	bool platform_given;		   /* --platform named it: base images must match */
	struct stage_slot *slots;	   /* one per Dockerfile stage */
	pthread_mutex_t lock;		   /* progress, ids, slots, job slots */
	pthread_cond_t cond;
	unsigned next_id;
	unsigned jobs_free;
	bool abort;
	size_t total; /* steps planned, FROMs and ONBUILD triggers included */
	size_t steps, cached;
	struct build_pull *pull;
	struct builder_cache_share *share; /* --cache-from and --cache-to, or NULL */
	struct build_named *named;
	char *hint; /* the costliest RUN a cheap COPY invalidated, said at the end */
	double hint_seconds;
};

/* ---- small helpers ---- */

char *builder_path_clean(const char *p)
{
	struct st_buf out = ST_BUF_INIT;
	const char *s = p;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 1 && s[0] == '.') {
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			char *slash = strrchr(out.data ? out.data : "", '/');
			if (slash)
				st_buf_setlen(&out, (size_t)(slash - out.data));
		} else {
			st_buf_addch(&out, '/');
			st_buf_add(&out, s, n);
		}
		s += n;
	}
	if (out.len == 0)
		st_buf_addch(&out, '/');
	return st_buf_detach(&out, NULL);
}

/* RFC 3339 UTC with nanoseconds, or the clamp. New. */
static char *timestamp(const struct st_builder_opts *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((o->flags & ST_BUILDER_SOURCE_DATE_EPOCH) && ts.tv_sec >= o->source_date_epoch) {
		ts.tv_sec = o->source_date_epoch;
		ts.tv_nsec = 0;
	}
	return st_time_rfc3339(ts.tv_sec, ts.tv_nsec);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(struct build *b, const struct st_builder_event *ev)
{
	if (b->o->progress.fn)
		b->o->progress.fn(b->o->progress.ctx, ev);
}

static void info(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(struct build *b, const char *fmt, ...)
{
	struct st_buf t = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&t, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&b->lock);
	struct st_builder_event ev = { .type = ST_BUILDER_EVENT_INFO,
				       .text = st_buf_str(&t),
				       .len = t.len,
				       .total = b->total };
	emit(b, &ev);
	pthread_mutex_unlock(&b->lock);
	st_buf_release(&t);
}

void builder_stage_event(struct stage_run *r, enum st_builder_event_type type, const char *text,
			 size_t len, double seconds)
{
	struct build *b = r->b;
	pthread_mutex_lock(&b->lock);
	if (type == ST_BUILDER_EVENT_START)
		r->step_id = ++b->next_id;
	/* A FROM is not a step that runs: only the instructions after it are counted. */
	if (type == ST_BUILDER_EVENT_CACHED)
		b->cached++;
	if (type == ST_BUILDER_EVENT_DONE && r->step_pos > 1)
		b->steps++;
	struct st_builder_event ev = { .type = type,
				       .id = r->step_id,
				       .name = r->step_name,
				       .text = text,
				       .len = text && !len ? strlen(text) : len,
				       .seconds = seconds,
				       .total = b->total };
	if (type == ST_BUILDER_EVENT_ERROR && r->step_in) {
		ev.file = b->df_name;
		ev.start_line = r->step_in->start_line;
		ev.end_line = r->step_in->end_line;
		ev.source = b->df_text->data;
		ev.source_len = b->df_text->len;
	}
	emit(b, &ev);
	pthread_mutex_unlock(&b->lock);
}

void builder_layer_opts(const struct stage_run *r, struct st_layer_writer_opts *o)
{
	memset(o, 0, sizeof(*o));
	/*
	 * A step's layer is kept uncompressed, as Docker's own image store keeps layers: its
	 * digest is its diff_id, so committing it costs one SHA-256 pass and a write, where
	 * compressing a 1 GiB layer takes seconds of one core. It is compressed once, when an
	 * output needs it (st_local_layer_convert()), and that blob is recorded beside it, so a
	 * rebuild or a push finds it. Compressing on a second thread while hashing would still
	 * cost a whole core per step on a two-core machine, and every step would pay it, also
	 * those whose layers no output ever sends anywhere compressed (type=local, tar).
	 * Once compressed, the uncompressed blob goes (st_store_layer_drop_spare()): the
	 * cache record that names it finds the layer through its twin (st_local_layer_find()).
	 */
	o->compression = ST_LAYER_COMP_NONE;
	if (r->b->o->flags & ST_BUILDER_SOURCE_DATE_EPOCH) {
		o->flags |= ST_LAYER_WRITER_CLAMP_MTIME;
		o->mtime_clamp = r->b->o->source_date_epoch;
	}
}

struct build_context *builder_ctx(struct stage_run *r, struct st_error **err)
{
	if (!r->b->have_ctx) {
		st_err(err, ST_E_INVALID, "no build context");
		return NULL;
	}
	return &r->b->ctx;
}

char builder_stage_escape(const struct stage_run *r)
{
	return r->b->df->escape;
}

const struct st_builder_opts *builder_opts(const struct stage_run *r)
{
	return r->b->o;
}

const struct builder_ssh *builder_ssh_of(const struct stage_run *r)
{
	return r->b->ssh;
}

struct build_pull *builder_puller(const struct stage_run *r)
{
	return r->b->pull;
}

struct builder_cache_share *builder_share(const struct stage_run *r)
{
	return r->b->share;
}

struct build_named *builder_named(const struct stage_run *r)
{
	return r->b->named;
}

const struct build_state *builder_stage_state(struct stage_run *r, size_t index)
{
	struct build *b = r->b;
	pthread_mutex_lock(&b->lock);
	while (!b->slots[index].done && !b->abort)
		pthread_cond_wait(&b->cond, &b->lock);
	const struct build_state *st =
	    b->slots[index].done && !b->slots[index].failed ? &b->slots[index].final : NULL;
	pthread_mutex_unlock(&b->lock);
	return st;
}

int builder_stage_lookup(struct stage_run *r, const char *name, size_t *index)
{
	const struct st_dockerfile *df = r->b->df;
	for (size_t i = 0; i < r->stage->index; i++) {
		const struct st_dockerfile_stage *sg = &df->stages[i];
		char num[32];
		snprintf(num, sizeof(num), "%zu", i);
		if ((sg->name && !strcasecmp(sg->name, name)) || !strcmp(num, name)) {
			*index = i;
			return 1;
		}
	}
	return 0;
}

void builder_stage_env(const struct stage_run *r, struct st_dockerfile_env *env, const char ***kv)
{
	const struct st_image_strv *e = &r->st.cfg->config.env;
	size_t n = e->n + r->nargs;
	const char **v = st_xcalloc(n + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < e->n; i++)
		v[k++] = e->v[i];
	for (size_t i = 0; i < r->nargs; i++)
		v[k++] = r->args[i];
	*kv = v;
	*env = (struct st_dockerfile_env){ .kv = v, .nkv = k };
}

int builder_stage_lowers(struct stage_run *r, const struct build_state *st, char ***paths,
			 size_t *n, struct st_error **err)
{
	return st_local_lowers(r->s, st->layers, st->n_layers, r->lease, paths, n, err);
}

int builder_lower_lstat(char *const *lowers, size_t n, const char *path, struct stat *st)
{
	struct st_union_entry e;
	struct st_error *err = NULL;
	int found = st_union_lookup(lowers, n, path, 0, &e, &err);
	if (found == 1)
		*st = e.st;
	st_union_entry_release(&e);
	/* A path that cannot be looked up (a loop of links) does not exist for the caller. */
	st_error_free(err);
	return found == 1;
}

char *builder_lower_find(char *const *lowers, size_t n, const char *path, enum st_union_flags flags)
{
	struct st_union_entry e;
	struct st_error *err = NULL;
	char *host = NULL;
	if (st_union_lookup(lowers, n, path, flags, &e, &err) == 1)
		host = st_steal(&e.host);
	st_union_entry_release(&e);
	st_error_free(err);
	return host;
}

/* ---- config-only instructions ---- */

static void add_history(struct stage_run *r, const char *created_by, bool empty)
{
	struct st_image_history h = { .created = r->created,
				      .created_by = (char *)created_by,
				      .empty_layer = empty };
	st_image_config_add_history(r->st.cfg, &h);
	free(r->st.cfg->created);
	r->st.cfg->created = st_xstrdup(r->created);
}

static int set_arg(struct stage_run *r, const char *name, const char *value)
{
	st_autofree char *kv = st_xasprintf("%s=%s", name, value);
	for (size_t i = 0; i < r->nargs; i++) {
		size_t n = strlen(name);
		if (!strncmp(r->args[i], name, n) && r->args[i][n] == '=') {
			free(r->args[i]);
			r->args[i] = st_steal(&kv);
			return 0;
		}
	}
	r->args = st_xrealloc(r->args, (r->nargs + 1) * sizeof(*r->args));
	r->args[r->nargs++] = st_steal(&kv);
	return 0;
}

/* The value a build arg has from the command line: 1 and *v (borrowed) if given. */
static int cli_arg(const struct st_builder_opts *o, const char *name, const char **v)
{
	size_t n = strlen(name);
	for (size_t i = o->n_build_args; i-- > 0;) {
		const char *a = o->build_args[i];
		if (!strncmp(a, name, n) && (a[n] == '=' || a[n] == '\0')) {
			if (a[n] == '=') {
				*v = a + n + 1;
				return 1;
			}
			const char *env = getenv(name);
			if (env) {
				*v = env;
				return 1;
			}
			return 0;
		}
	}
	return 0;
}

static const char *global_arg(struct build *b, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < b->plan->nglobal_args; i++)
		if (!strncmp(b->plan->global_args[i], name, n) && b->plan->global_args[i][n] == '=')
			return b->plan->global_args[i] + n + 1;
	return NULL;
}

static const char *predefined_arg(struct build *b, const char *name, struct st_buf *tmp)
{
	const struct st_platform *p = NULL;
	if (!strncmp(name, "TARGET", 6))
		p = &b->platform;
	else if (!strncmp(name, "BUILD", 5))
		p = &b->build_platform;
	else
		return NULL;
	const char *field = name + (p == &b->platform ? 6 : 5);
	st_buf_reset(tmp);
	if (!strcmp(field, "PLATFORM")) {
		st_platform_format(p, tmp);
		return tmp->data;
	}
	if (!strcmp(field, "OS"))
		return p->os;
	if (!strcmp(field, "ARCH"))
		return p->architecture;
	if (!strcmp(field, "VARIANT"))
		return p->variant;
	return NULL;
}

/* ---- one step ---- */

void builder_add_capped(struct st_buf *b, const char *text, size_t max)
{
	size_t len = strlen(text);
	if (len <= max) {
		st_buf_add(b, text, len);
		return;
	}
	size_t n = max;
	while (n && ((unsigned char)text[n] & 0xc0) == 0x80) /* inside a UTF-8 sequence */
		n--;
	st_buf_add(b, text, n);
	st_buf_addf(b, "... (%zu bytes)", len);
}

/* Longer instructions are cut in titles: the progress and every error of the step show it. */
#define STEP_TITLE_MAX 1024

static char *step_title(struct stage_run *r, size_t pos, const char *text)
{
	/* Collapse the line's white space as BuildKit's progress names do. */
	struct st_buf line = ST_BUF_INIT;
	bool sp = false;
	for (const char *p = text; *p; p++) {
		if (*p == '\n' || *p == '\t' || *p == ' ') {
			sp = true;
			continue;
		}
		if (sp && line.len && line.data[line.len - 1] != ' ')
			st_buf_addch(&line, ' ');
		sp = false;
		st_buf_addch(&line, *p);
	}
	struct st_buf t = ST_BUF_INIT;
	st_buf_addf(&t, "[%s%zu/%zu] ", r->label, pos, r->total);
	builder_add_capped(&t, st_buf_str(&line), STEP_TITLE_MAX);
	st_buf_release(&line);
	return st_buf_detach(&t, NULL);
}

/*
 * Where a step's inputs are kept for the next build's explanation: the context and the
 * Dockerfile by their real paths, so "." typed in two directories are two places, and one
 * directory reached through a link or typed two ways is one.
 */
static char *position_key(struct stage_run *r, size_t pos)
{
	struct build *b = r->b;
	/* A git context is checked out afresh each time: its place is its URL. */
	const char *ctx = !b->have_ctx			? "-"
			  : b->ctx_tmp && b->o->context ? b->o->context
							: b->ctx.root;
	const char *df = b->df_key ? b->df_key : b->df_name;
	return st_xasprintf("%s\n%s\n%zu\n%zu", ctx, df, r->stage->index, pos);
}

static bool no_cache_for(struct build *b, const struct st_dockerfile_stage *stage)
{
	if (b->o->flags & ST_BUILDER_NO_CACHE)
		return true;
	for (size_t i = 0; i < b->o->n_no_cache_stages; i++) {
		const char *f = b->o->no_cache_stages[i];
		if (stage->name && !strcasecmp(stage->name, f))
			return true;
		char idx[32];
		snprintf(idx, sizeof(idx), "%zu", stage->index);
		if (!strcmp(idx, f))
			return true;
	}
	return false;
}

/* The instruction in a step's title: "COPY . ." of "[build 3/6] COPY . .". Borrowed. */
static const char *instr_of(const char *title)
{
	const char *p = strstr(title, "] ");
	return p ? p + 2 : title;
}

/*
 * Why a step that missed runs: --no-cache; its own inputs as compared with the last build at
 * this place ('cw'); or, when only what came before it changed, the step that missed first
 * and its cause, since that is what to look at.
 */
static char *miss_reason(struct stage_run *r, const struct st_dockerfile_instr *in,
			 struct cache_why *cw, size_t pos)
{
	if (r->no_cache)
		return st_xstrdup("--no-cache");
	if (r->missed && cw->own)
		return st_steal(&cw->text);
	if (r->missed)
		return st_xasprintf("a previous step was rebuilt, because %s", r->root_cause);
	if (cw->parent_only && pos == 2) {
		/* The first step after FROM: what changed is the base. */
		if (!r->ps->base_is_stage)
			return st_xstrdup("the base image changed");
		const char *root = r->b->slots[r->ps->base_stage].run.root_cause;
		if (root) {
			/* The base stage's own first miss is this stage's too. */
			r->root_cause = st_xstrdup(root);
			return st_xasprintf("stage %s changed, because %s", r->ps->base, root);
		}
		return st_xasprintf("stage %s changed", r->ps->base);
	}
	const char *from = st_dockerfile_instr_flag(in, "from");
	size_t idx;
	if (cw->text && from && strstr(cw->text, " from stage ") &&
	    builder_stage_lookup(r, from, &idx) && r->b->slots[idx].run.root_cause) {
		/* What changed in the source stage is what to look at. */
		return st_xasprintf("%s, because %s", cw->text, r->b->slots[idx].run.root_cause);
	}
	if (cw->text)
		return st_steal(&cw->text);
	return st_xstrdup("not in the cache");
}

static bool in_dockerfile(const struct stage_run *r, const struct st_dockerfile_instr *in)
{
	for (size_t i = 0; i < r->stage->ninstrs; i++)
		if (r->stage->instrs[i] == in)
			return true;
	return false;
}

/*
 * A RUN that ran only because an earlier COPY or ADD of changed files missed: the longest
 * such RUN of the build is pointed out at its end, as the place where copying less first
 * (the dependency manifest before the sources) saves the most.
 */
static void note_invalidated(struct stage_run *r, const struct st_dockerfile_instr *in,
			     const char *title, double seconds)
{
	struct build *b = r->b;
	const struct st_dockerfile_instr *root = r->root_in;
	if (!root || !r->root_files || (root->kind != ST_DF_COPY && root->kind != ST_DF_ADD))
		return;
	/* Cheap next to what it costs later: a second or more, and longer than the copy. */
	if (seconds < 1.0 || seconds <= r->root_seconds)
		return;
	/* ONBUILD triggers have no line in the Dockerfile to point at. */
	if (!in_dockerfile(r, root) || !in_dockerfile(r, in))
		return;
	pthread_mutex_lock(&b->lock);
	if (seconds > b->hint_seconds) {
		free(b->hint);
		b->hint = st_xasprintf("%s at %s:%d changed and invalidated %s (%.1fs) at %s:%d: "
				       "copy only what that step needs first",
				       r->root_title, b->df_name, root->start_line, instr_of(title),
				       seconds, b->df_name, in->start_line);
		b->hint_seconds = seconds;
	}
	pthread_mutex_unlock(&b->lock);
}

static int do_step(struct stage_run *r, const struct st_dockerfile_instr *in, size_t pos,
		   struct st_error **err)
{
	struct build *b = r->b;
	if (st_cancel_check(err) < 0)
		return -1;
	st_autofree char *title = step_title(r, pos, in->original);
	r->step_name = title;
	r->step_pos = pos;
	r->step_in = in_dockerfile(r, in) ? in : NULL;
	builder_stage_event(r, ST_BUILDER_EVENT_START, NULL, 0, 0);
	double t0 = now_s();

	struct key_inputs k;
	builder_key_inputs_init(&k);
	char parent[ST_DIGEST_HEX_LEN + 1];
	memcpy(parent, r->st.key, sizeof(parent)); /* r->st changes on a hit */
	k.parent = parent;
	k.text = in->original;
	struct st_buf canon = ST_BUF_INIT;
	struct copy_plan *cp = NULL;
	char **w = NULL;
	size_t nw = 0;
	int rc = 0;
	const char **envkv = NULL;
	struct st_dockerfile_env env;
	builder_stage_env(r, &env, &envkv);

	if (in->kind == ST_DF_RUN) {
		rc = builder_run_key(r, in, &k, err);
	} else if (in->kind == ST_DF_COPY || in->kind == ST_DF_ADD) {
		rc = builder_copy_prepare(r, in, &k, &cp, err);
	} else if (in->kind == ST_DF_FROM) {
		rc = st_err(err, ST_E_INVALID, "FROM inside a stage");
	} else {
		rc = st_dockerfile_instr_expand(in, &env, b->df->escape, &w, &nw, err);
		if (rc == 0 && in->kind == ST_DF_ARG) {
			/* Bind each ARG's value now: the key and every later step see it. */
			for (size_t i = 0; i < nw; i++) {
				char *eq = strchr(w[i], '=');
				st_autofree char *name =
				    eq ? st_xstrndup(w[i], (size_t)(eq - w[i])) : st_xstrdup(w[i]);
				const char *v = NULL;
				struct st_buf tmp = ST_BUF_INIT;
				if (cli_arg(b->o, name, &v))
					set_arg(r, name, v);
				else if (eq)
					set_arg(r, name, eq + 1);
				else if ((v = global_arg(b, name)))
					set_arg(r, name, v);
				else if (st_dockerfile_arg_is_predefined(name) &&
					 (v = predefined_arg(b, name, &tmp)))
					set_arg(r, name, v);
				st_buf_release(&tmp);
				/* The history shows the default as written, as BuildKit's does;
				 * only the steps that see the value (RUN, expansions) depend on it.
				 */
			}
		}
		if (rc == 0) {
			st_buf_addf(&canon, "%s%s", st_dockerfile_kind_name(in->kind),
				    in->json ? " json" : "");
			for (size_t i = 0; i < in->nflags; i++)
				st_buf_addf(&canon, " --%s=%s", in->flags[i].name,
					    in->flags[i].value ? in->flags[i].value : "");
			for (size_t i = 0; i < nw; i++)
				st_buf_addf(&canon, "\x1f%s", w[i]);
			if (in->kind == ST_DF_SHELL || in->kind == ST_DF_CMD ||
			    in->kind == ST_DF_ENTRYPOINT || in->kind == ST_DF_HEALTHCHECK) {
				/* Shell-form commands are wrapped with the SHELL in effect. */
				const struct st_image_strv *sh = &r->st.cfg->config.shell;
				for (size_t i = 0; sh->set && i < sh->n; i++)
					st_buf_addf(&canon, "\x1eshell=%s", sh->v[i]);
			}
			if (in->kind == ST_DF_ENTRYPOINT && !r->cmd_set)
				st_buf_adds(&canon, "\x1e"
						    "reset-cmd");
			k.instr = canon.data;
		}
	}
	free(envkv);

	st_autofree char *why = NULL;
	st_autofree char *posk = NULL;
	st_autofree char *unshared = NULL; /* why an imported cache's record of the key failed */
	char key[ST_DIGEST_HEX_LEN + 1] = "";
	bool hit = false, parent_only = false;
	if (rc == 0) {
		builder_key_compute(&k, key);
		if (!r->no_cache && !r->missed) {
			struct build_state next;
			rc = builder_cache_get(r->s, key, &r->st, &next, err);
			if (rc == 0 && b->share) {
				/* A record of an imported cache makes it a local hit. */
				struct st_error *ferr = NULL;
				int f = builder_cache_share_fetch(b->share, r->s, key, &ferr);
				if (f < 0) {
					info(b, "warning: %s", ferr->msg);
					unshared = st_xstrdup(ferr->msg);
					st_error_free(ferr);
				}
				if (f == 1)
					rc = builder_cache_get(r->s, key, &r->st, &next, err);
			}
			if (rc == 1) {
				builder_state_release(&r->st);
				r->st = next;
				hit = true;
				rc = 0;
			}
		}
		if (rc == 0) {
			/* Record these inputs for the next build's explanation, hit or miss. */
			posk = position_key(r, pos);
			struct cache_why cw;
			rc = builder_cache_explain(r->s, posk, &k, key, hit, &cw, err);
			parent_only = cw.parent_only;
			if (rc == 0 && !hit && unshared)
				why = st_xasprintf(
				    "its record in an imported cache could not be used: %s",
				    unshared);
			else if (rc == 0 && !hit)
				why = miss_reason(r, in, &cw, pos);
			free(cw.text);
		}
	}

	bool executed = false;
	if (rc == 0 && !hit) {
		builder_stage_event(r, ST_BUILDER_EVENT_REASON, why, 0, 0);
		if (!r->missed) {
			/* The first miss of the stage (unless its base stage's was taken): every
			 * later step names it as theirs. */
			if (!r->root_cause)
				r->root_cause = st_xasprintf("#%u %s missed: %s", r->step_id,
							     instr_of(title), why);
			free(r->root_title);
			r->root_title = st_xstrdup(instr_of(title));
			r->root_in = in;
			r->root_files = !strncmp(why, "file ", 5);
		}
		bool invalidated = r->missed && parent_only;
		r->missed = true;
		executed = true;
		free(r->created);
		r->created = timestamp(b->o);
		struct st_store_layer layer = { 0 };
		bool has_layer = false;
		st_autofree char *created_by = NULL;
		if (in->kind == ST_DF_RUN) {
			rc = builder_run_exec(r, in, &layer, &has_layer, &created_by, err);
		} else if (in->kind == ST_DF_COPY || in->kind == ST_DF_ADD) {
			rc = builder_copy_exec(r, cp, &layer, &has_layer, &created_by, err);
		} else {
			st_autofree char *mk = NULL;
			rc = st_builder_config_apply(r->st.cfg, in, w, nw, &r->cmd_set, &created_by,
						     &mk, err);
			if (rc == 0 && mk && in->kind == ST_DF_WORKDIR)
				rc = builder_mkdir_layer(r, mk, &layer, &has_layer, err);
		}
		if (rc == 0) {
			if (has_layer) {
				st_image_config_add_diff_id(r->st.cfg, &layer.diff_id);
				builder_state_add_layer(&r->st, &layer);
			}
			bool buildkit = in->kind == ST_DF_RUN || in->kind == ST_DF_COPY ||
					in->kind == ST_DF_ADD;
			st_autofree char *cb =
			    st_xasprintf("%s%s", created_by, buildkit ? " # buildkit" : "");
			add_history(r, cb, !has_layer);
			memcpy(r->st.key, key, sizeof(key));
			rc = builder_cache_put(r->s, &r->st, has_layer ? &layer : NULL, err);
		}
		if (has_layer)
			st_store_layer_release(&layer);
		if (rc == 0 && r->root_in == in)
			r->root_seconds = now_s() - t0;
		if (rc == 0 && invalidated && in->kind == ST_DF_RUN)
			note_invalidated(r, in, title, now_s() - t0);
	}
	if (rc == 0 && in->kind == ST_DF_CMD)
		r->cmd_set = true;
	if (executed) {
		struct st_error *ferr = NULL;
		if (builder_cache_attempt(r->s, posk, key, rc == 0, &ferr) < 0)
			st_error_free(ferr); /* only a vaguer next explanation */
	}

	if (rc == 0 && key[0])
		builder_cache_share_used(b->share, key, r->stage->index);
	builder_copy_plan_free(cp);
	if (w)
		st_dockerfile_strv_free(w);
	st_buf_release(&canon);
	builder_key_inputs_release(&k);
	if (rc < 0) {
		builder_stage_event(r, ST_BUILDER_EVENT_ERROR, (*err)->msg, 0, now_s() - t0);
		return st_err_wrap(err, "%s", title);
	}
	builder_stage_event(r, hit ? ST_BUILDER_EVENT_CACHED : ST_BUILDER_EVENT_DONE, NULL, 0,
			    now_s() - t0);
	r->step_name = NULL;
	return 0;
}

/* ---- a stage ---- */

void builder_state_scratch(struct stage_run *r, struct build_state *st)
{
	const struct st_platform *p = &r->platform;
	st->cfg = st_image_config_new();
	st->cfg->os = st_xstrdup(p->os);
	st->cfg->architecture = st_xstrdup(p->architecture);
	if (p->variant[0])
		st->cfg->variant = st_xstrdup(p->variant);
	/* BuildKit's empty image: what a scratch stage's image shows if nothing sets it. */
	st->cfg->config.working_dir = st_xstrdup("/");
	st_image_config_env_set(st->cfg, "PATH", BUILD_DEFAULT_PATH);
	/* The key covers the config the stage starts from. */
	st_autofree char *t = st_xasprintf("scratch %s/%s WorkingDir=/ PATH=" BUILD_DEFAULT_PATH,
					   p->os, p->architecture);
	struct st_digest d;
	st_digest_of(t, strlen(t), &d);
	memcpy(st->key, st_digest_hex(&d), sizeof(st->key));
}

int builder_state_from_image(struct stage_run *r, const struct st_store_image *img,
			     struct build_state *st, struct st_error **err)
{
	if (st_local_image_config(r->s, img, &st->cfg, err) < 0)
		return -1;
	for (size_t i = 0; i < img->n_layers; i++) {
		builder_state_add_layer(st, &img->layers[i]);
		if (r->lease && st_store_lease_add(r->lease, img->layers[i].diff_id.str, err) < 0)
			return -1;
	}
	st_autofree char *t = st_xasprintf("image %s", img->id.str);
	struct st_digest d;
	st_digest_of(t, strlen(t), &d);
	memcpy(st->key, st_digest_hex(&d), sizeof(st->key));
	return 0;
}

static int stage_from(struct stage_run *r, struct st_error **err)
{
	const struct st_dockerfile_plan_stage *ps = r->ps;
	st_autofree char *title = NULL;
	st_autofree char *shown = NULL;
	if (ps->base_is_stage) {
		shown = st_xstrdup(ps->base);
	} else if (!strcmp(ps->base, "scratch")) {
		shown = st_xstrdup("scratch");
	} else if (st_local_ref_normalize(ps->base, &shown, NULL) < 0) {
		shown = st_xstrdup(ps->base);
	}
	title = st_xasprintf("[%s1/%zu] FROM %s", r->label, r->total, shown);
	r->step_name = title;
	r->step_pos = 1;
	r->step_in = r->stage->from;
	builder_stage_event(r, ST_BUILDER_EVENT_START, NULL, 0, 0);
	double t0 = now_s();
	int rc = 0;
	if (ps->base_is_stage) {
		const struct build_state *src = builder_stage_state(r, ps->base_stage);
		if (!src)
			return st_err(err, ST_E_INVALID, "stage '%s' failed", ps->base);
		builder_state_copy(&r->st, src);
		/* The content, not the chain: a rebuilt stage with the same result still hits. */
		struct st_buf t = ST_BUF_INIT;
		st_buf_adds(&t, "stage");
		struct st_digest cd;
		st_image_config_digest(src->cfg, &cd);
		r->base_id = cd;
		r->has_base_id = true;
		st_buf_addf(&t, " %s", cd.str);
		struct st_digest d;
		st_digest_of(t.data, t.len, &d);
		st_buf_release(&t);
		memcpy(r->st.key, st_digest_hex(&d), sizeof(r->st.key));
	} else if (!strcmp(ps->base, "scratch")) {
		builder_state_scratch(r, &r->st);
	} else {
		/* A named context of that name comes before any image (BuildKit's order). */
		const struct build_state *named = NULL;
		rc = builder_named_state(r, ps->base, &named, err);
		if (rc == 1) {
			builder_state_copy(&r->st, named);
			st_image_config_digest(named->cfg, &r->base_id);
			rc = 0;
		} else if (rc == 0) {
			st_auto(st_store_image) struct st_store_image *img = NULL;
			rc = builder_image_find(r, ps->base, &img, err);
			if (rc == 0)
				rc = builder_state_from_image(r, img, &r->st, err);
			if (rc == 0)
				r->base_id = img->id;
		}
		r->has_base_id = true;
	}
	if (rc == 0) {
		r->base_layers = r->st.n_layers;
		r->base_history = r->st.cfg->n_history;
	}
	if (rc < 0) {
		builder_stage_event(r, ST_BUILDER_EVENT_ERROR, (*err)->msg, 0, now_s() - t0);
		return st_err_wrap(err, "%s", title);
	}
	builder_stage_event(r, ST_BUILDER_EVENT_DONE, NULL, 0, now_s() - t0);
	r->step_name = NULL;
	return 0;
}

/*
 * A stage that a named context of its name replaces (BuildKit's rule): its instructions do not
 * run and its result is the context. 1 if it was, 0 if not.
 */
static int stage_replaced(struct stage_run *r, struct st_error **err)
{
	const struct build_state *named = NULL;
	int rc = r->stage->name ? builder_named_state(r, r->stage->name, &named, err) : 0;
	if (rc <= 0)
		return rc;
	st_autofree char *title =
	    st_xasprintf("[%s1/1] FROM --build-context %s", r->label, r->stage->name);
	r->step_name = title;
	r->step_pos = 1;
	r->step_in = NULL;
	pthread_mutex_lock(&r->b->lock);
	r->b->total -= r->total - 1;
	pthread_mutex_unlock(&r->b->lock);
	builder_stage_event(r, ST_BUILDER_EVENT_START, NULL, 0, 0);
	builder_state_copy(&r->st, named);
	r->base_layers = r->st.n_layers; /* nothing of its own */
	builder_stage_event(r, ST_BUILDER_EVENT_DONE, NULL, 0, 0);
	r->step_name = NULL;
	return 1;
}

/*
 * The platform the stage builds for: FROM --platform (expanded with the global ARGs, where
 * $BUILDPLATFORM makes the cross-compiling stage of BuildKit's lessons), else the target.
 */
static int stage_platform(struct stage_run *r, struct st_error **err)
{
	struct build *b = r->b;
	r->platform = b->platform;
	r->platform_strict = b->platform_given;
	if (!r->stage->platform)
		return 0;
	/* FROM sees the global ARGs and, without an ARG, the platform ones. */
	static const char *const predefined[] = { "TARGETPLATFORM", "TARGETOS",	     "TARGETARCH",
						  "TARGETVARIANT",  "BUILDPLATFORM", "BUILDOS",
						  "BUILDARCH",	    "BUILDVARIANT" };
	size_t np = sizeof(predefined) / sizeof(*predefined);
	size_t nkv = 0;
	char **kv = st_xcalloc(b->plan->nglobal_args + np + 1, sizeof(*kv));
	for (size_t i = 0; i < b->plan->nglobal_args; i++)
		kv[nkv++] = st_xstrdup(b->plan->global_args[i]);
	struct st_buf tmp = ST_BUF_INIT;
	for (size_t i = 0; i < np; i++)
		if (!global_arg(b, predefined[i]))
			kv[nkv++] = st_xasprintf("%s=%s", predefined[i],
						 predefined_arg(b, predefined[i], &tmp));
	st_buf_release(&tmp);
	struct st_dockerfile_env env = { .kv = (const char *const *)kv, .nkv = nkv };
	st_autofree char *v = NULL;
	int rc = st_dockerfile_expand(r->stage->platform, &env, b->df->escape, &v, err);
	if (rc == 0)
		rc = st_platform_parse(v, &r->platform, err);
	st_strv_free(kv, nkv);
	if (rc < 0)
		return st_err_wrap(err, "%s:%d: FROM --platform=%s", b->df_name,
				   r->stage->from->start_line, r->stage->platform);
	r->platform_strict = true;
	return 0;
}

static int stage_build(struct stage_run *r, struct st_error **err)
{
	if (stage_platform(r, err) < 0)
		return -1;
	int replaced = stage_replaced(r, err);
	if (replaced != 0)
		return replaced < 0 ? -1 : 0;
	if (stage_from(r, err) < 0)
		return -1;
	size_t pos = 2;
	/* The base's ONBUILD triggers run first, then are not inherited (Docker's rule). */
	struct st_image_strv triggers = r->st.cfg->config.on_build;
	memset(&r->st.cfg->config.on_build, 0, sizeof(r->st.cfg->config.on_build));
	int rc = 0;
	if (triggers.n) {
		struct st_buf text = ST_BUF_INIT;
		st_buf_adds(&text, "FROM scratch\n");
		for (size_t i = 0; i < triggers.n; i++)
			st_buf_addf(&text, "%s\n", triggers.v[i]);
		struct st_dockerfile *tdf = NULL;
		rc = st_dockerfile_parse("ONBUILD", text.data, text.len, &tdf, err);
		st_buf_release(&text);
		if (rc == 0) {
			r->total += tdf->stages[0].ninstrs;
			pthread_mutex_lock(&r->b->lock);
			r->b->total += tdf->stages[0].ninstrs;
			pthread_mutex_unlock(&r->b->lock);
			for (size_t i = 0; rc == 0 && i < tdf->stages[0].ninstrs; i++)
				rc = do_step(r, tdf->stages[0].instrs[i], pos++, err);
		}
		st_dockerfile_free(tdf);
	}
	st_image_strv_release(&triggers);
	for (size_t i = 0; rc == 0 && i < r->stage->ninstrs; i++)
		rc = do_step(r, r->stage->instrs[i], pos++, err);
	return rc;
}

static void *stage_thread(void *arg)
{
	struct stage_slot *slot = arg;
	struct stage_run *r = &slot->run;
	struct build *b = r->b;
	/* Wait for the stages this one needs, then for a free job slot. */
	pthread_mutex_lock(&b->lock);
	for (;;) {
		bool ready = true;
		for (size_t i = 0; i < r->ps->ndeps; i++) {
			const struct stage_slot *dep = &b->slots[r->ps->deps[i]];
			if (dep->needed && !dep->done)
				ready = false;
		}
		if (b->abort || (ready && b->jobs_free > 0))
			break;
		pthread_cond_wait(&b->cond, &b->lock);
	}
	bool go = !b->abort;
	if (go)
		b->jobs_free--;
	pthread_mutex_unlock(&b->lock);

	int rc = -1;
	if (!go) {
		st_err(&slot->err, ST_E_INVALID, "cancelled");
	} else {
		rc = st_store_open(st_store_root(b->store), &r->s, &slot->err);
		if (rc == 0)
			rc = st_store_lease_begin(r->s, &r->lease, &slot->err);
		if (rc == 0)
			rc = stage_build(r, &slot->err);
	}
	pthread_mutex_lock(&b->lock);
	if (go)
		b->jobs_free++;
	if (rc == 0) {
		slot->final = r->st;
		memset(&r->st, 0, sizeof(r->st));
	} else {
		slot->failed = true;
		b->abort = true;
	}
	slot->done = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* ---- the whole build ---- */

static int read_dockerfile(struct build *b, struct st_buf *text, struct st_error **err)
{
	const struct st_builder_opts *o = b->o;
	if (o->dockerfile_text) {
		st_buf_add(text, o->dockerfile_text, o->dockerfile_len);
		b->df_name = st_xstrdup("Dockerfile");
		return 0;
	}
	st_autofree char *path = b->git_df	 ? st_xstrdup(b->git_df)
				 : o->dockerfile ? st_xstrdup(o->dockerfile)
						 : st_path_join(b->ctx_dir, "Dockerfile");
	if (st_read_file(path, text, err) < 0)
		return st_err_wrap(err, "read Dockerfile");
	b->df_name = st_xstrdup(o->dockerfile ? o->dockerfile : "Dockerfile");
	if (o->dockerfile && !b->git_df)
		b->df_key = realpath(o->dockerfile, NULL);
	return 0;
}

static int extract_context(struct build *b, struct st_error **err)
{
	int lock = -1;
	if (st_store_tmp_mkdir(b->store, &b->ctx_tmp, &lock, err) < 0)
		return -1;
	b->ctx_tmp_lock = lock;
	int fd = b->o->context_tar_fd;
	struct st_layer_extract_opts eo = { .mode = ST_LAYER_EXTRACT_APPLY };
	if (st_layer_extract(st_layer_source_fd(&fd), b->ctx_tmp, &eo, NULL, err) < 0)
		return st_err_wrap(err, "read build context from stdin");
	b->ctx_dir = st_xstrdup(b->ctx_tmp);
	return 0;
}

/*
 * A git URL as the context, as BuildKit takes one: the commit its ref resolves to, checked out
 * into a temporary directory that is then the context (a stdin tar's is the same), its subdir
 * if the URL names one. An ssh URL goes through the build's --ssh default.
 */
static int git_context(struct build *b, struct st_error **err)
{
	struct git_source g;
	if (builder_git_parse(b->o->context, &g, err) < 0)
		return -1;
	bool epoch = b->o->flags & ST_BUILDER_SOURCE_DATE_EPOCH;
	struct git_opts co = {
		.ssh_sock = g.ssh && b->ssh ? builder_ssh_socket(b->ssh, "default") : NULL,
		.keep_git_dir = g.keep_git_dir == 1,
		.mtime_commit = g.mtime_commit >= 0 ? g.mtime_commit == 1 : epoch,
	};
	st_autofree char *commit = NULL, *tree = NULL, *auth = NULL;
	int rc = 0;
	if (g.ssh && !co.ssh_sock)
		rc = st_err(err, ST_E_INVALID,
			    "an ssh git URL needs an SSH agent: build with --ssh default");
	if (rc == 0)
		rc = builder_git_auth(b->o, &g, &auth, err);
	co.auth_header = auth;
	if (rc == 0)
		rc = builder_git_resolve(&g, &co, &commit, err);
	if (rc == 0 && g.checksum && strncmp(commit, g.checksum, strlen(g.checksum)))
		rc = st_err(err, ST_E_DIGEST, "checksum mismatch: expected commit %s, got %s",
			    g.checksum, commit);
	if (rc == 0)
		rc = st_store_tmp_mkdir(b->store, &b->ctx_tmp, &b->ctx_tmp_lock, err);
	if (rc == 0)
		rc = builder_git_checkout(&g, commit, b->ctx_tmp, &co, &tree, err);
	if (rc == 0)
		b->ctx_dir = st_steal(&tree);
	/* As BuildKit reads it, -f names a file of the repository. */
	if (rc == 0 && b->o->dockerfile)
		b->git_df = st_path_join(b->ctx_dir, b->o->dockerfile);
	builder_git_source_release(&g);
	if (rc < 0)
		return st_err_wrap(err, "build context '%s'", b->o->context);
	return 0;
}

static void build_release(struct build *b)
{
	builder_cache_share_free(b->share);
	if (b->slots) {
		for (size_t i = 0; i < b->df->nstages; i++) {
			struct stage_slot *sl = &b->slots[i];
			builder_state_release(&sl->final);
			builder_state_release(&sl->run.st);
			st_strv_free(sl->run.args, sl->run.nargs);
			free(sl->run.label);
			free(sl->run.root_cause);
			free(sl->run.root_title);
			free(sl->run.created);
			st_store_lease_end(sl->run.lease);
			st_store_free(sl->run.s);
			st_error_free(sl->err);
		}
		free(b->slots);
	}
	if (b->have_ctx)
		builder_ctx_release(&b->ctx);
	st_dockerignore_free(b->ign);
	st_dockerfile_plan_free(b->plan);
	st_dockerfile_free(b->df);
	if (b->ctx_tmp) {
		struct st_error *e = NULL;
		if (st_rm_rf(b->ctx_tmp, &e) < 0)
			st_error_free(e);
		free(b->ctx_tmp);
	}
	if (b->ctx_tmp_lock >= 0)
		close(b->ctx_tmp_lock);
	free(b->ctx_dir);
	free(b->df_name);
	builder_pull_free(b->pull);
	builder_named_free(b->named);
	builder_ssh_free(b->ssh);
	free(b->df_key);
	free(b->git_df);
	free(b->hint);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
}

/*
 * Mark stage 'index' and what it needs as needed, except what only a stage that a named
 * context replaces would need: BuildKit never reaches those, so they are not built.
 */
static void mark_needed(struct build *b, size_t index)
{
	struct stage_slot *sl = &b->slots[index];
	if (sl->needed)
		return;
	sl->needed = true;
	const struct st_dockerfile_stage *stage = &b->df->stages[index];
	if (stage->name && builder_named_has(b->named, stage->name))
		return;
	for (size_t i = 0; i < b->plan->nstages; i++) {
		const struct st_dockerfile_plan_stage *ps = &b->plan->stages[i];
		for (size_t d = 0; ps->index == index && d < ps->ndeps; d++)
			mark_needed(b, ps->deps[d]);
	}
}

/* A base image the store holds: its variables and platform, for the checks that need them. */
static int base_from_store(void *ctx, const char *image, char ***env, char **platform)
{
	struct st_store *s = ctx;
	struct st_error *err = NULL;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (st_local_image_find(s, image, &img, &err) < 0 ||
	    st_local_image_config(s, img, &cfg, &err) < 0) {
		st_error_free(err);
		return 0;
	}
	const struct st_image_strv *e = &cfg->config.env;
	*env = st_xcalloc(e->n + 1, sizeof(char *));
	for (size_t i = 0; i < e->n; i++)
		(*env)[i] = st_xstrdup(e->v[i]);
	/* An index of platforms has each: the build picks the one a stage wants. */
	struct st_digest index;
	if (st_local_ref_index(s, image, &index, &err) != 0) {
		st_error_free(err);
		return 1;
	}
	*platform = st_xasprintf("%s/%s%s%s", cfg->os ? cfg->os : "linux",
				 cfg->architecture ? cfg->architecture : "amd64",
				 cfg->variant ? "/" : "", cfg->variant ? cfg->variant : "");
	return 1;
}

/* BuildKit's build checks: every finding an event; check=error=true makes them fatal. */
static int build_checks(struct build *b, struct st_error **err)
{
	const struct st_builder_opts *o = b->o;
	struct st_buf plat = ST_BUF_INIT;
	st_platform_format(&b->platform, &plat);
	struct st_lint_opts lo = {
		.rulesets = ST_LINT_BUILDKIT,
		.build_args = o->build_args,
		.nbuild_args = o->n_build_args,
		.target = o->target,
		.all_stages = o->flags & ST_BUILDER_CHECK,
		.target_platform = plat.data,
		.ignore = b->ign,
		.base = base_from_store,
		.base_ctx = b->store,
	};
	struct st_lint_result r = { 0 };
	int rc = st_lint_dockerfile(b->df, b->df_text->data, b->df_text->len, &lo, &r, err);
	st_buf_release(&plat);
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; rc == 0 && i < r.ndiags; i++) {
		const struct st_dockerfile_diag *d = &r.diags[i];
		struct st_builder_event ev = { .type = ST_BUILDER_EVENT_WARNING,
					       .name = d->rule->name,
					       .text = d->message,
					       .len = strlen(d->message),
					       .url = d->rule->url,
					       .file = b->df_name,
					       .start_line = d->start_line,
					       .end_line = d->end_line,
					       .source = b->df_text->data,
					       .source_len = b->df_text->len };
		emit(b, &ev);
	}
	pthread_mutex_unlock(&b->lock);
	if (rc == 0 && r.violation)
		rc = st_err(err, ST_E_INVALID, "%s", r.violation);
	st_lint_result_release(&r);
	return rc;
}

/* buildx's --annotation: "[TYPE:]KEY=VALUE". A build of one platform makes one manifest, so
 * "manifest" is the only type there is to put an annotation on. */
static int manifest_annotations(const struct st_builder_opts *o, struct st_image_map *m,
				struct st_error **err)
{
	for (size_t i = 0; i < o->n_annotations; i++) {
		const char *a = o->annotations[i], *eq = strchr(a, '=');
		const char *colon = eq ? memchr(a, ':', (size_t)(eq - a)) : NULL;
		const char *key = a;
		if (colon) {
			if ((size_t)(colon - a) != strlen("manifest") || strncmp(a, "manifest", 8))
				return st_err(err, ST_E_INVALID,
					      "--annotation '%s': only manifest annotations are "
					      "supported: a build makes one manifest, no index",
					      a);
			key = colon + 1;
		}
		if (!eq || eq == key)
			return st_err(err, ST_E_INVALID,
				      "--annotation '%s': expected KEY=VALUE or manifest:KEY=VALUE",
				      a);
		st_autofree char *k = st_xstrndup(key, (size_t)(eq - key));
		st_image_map_set(m, k, eq + 1);
	}
	return 0;
}

static int add_labels(struct build *b, struct st_image_config *cfg, struct st_error **err)
{
	for (size_t i = 0; i < b->o->n_labels; i++) {
		const char *l = b->o->labels[i];
		const char *eq = strchr(l, '=');
		st_autofree char *k = eq ? st_xstrndup(l, (size_t)(eq - l)) : st_xstrdup(l);
		if (!*k)
			return st_err(err, ST_E_INVALID, "invalid label '%s'", l);
		st_image_map_set(&cfg->config.labels, k, eq ? eq + 1 : "");
	}
	return 0;
}

static void warn(void *ctx, const char *msg)
{
	info(ctx, "warning: %s", msg);
}

/* The layer format of the image the build makes: its first image output's, gzip by default. */
static const struct st_local_format *image_format(const struct st_builder_opts *o)
{
	static const struct st_builder_output image = ST_BUILDER_OUTPUT_INIT;
	for (size_t i = 0; i < o->n_outputs; i++)
		if (o->outputs[i].type != ST_BUILDER_OUTPUT_LOCAL &&
		    o->outputs[i].type != ST_BUILDER_OUTPUT_TAR)
			return &o->outputs[i].format;
	return &image.format;
}

/* The format of the image an output makes of the build, or NULL when outputs only write files. */
static const struct st_local_format *collect_format(const struct st_builder_opts *o)
{
	bool files = o->n_outputs > 0;
	for (size_t i = 0; i < o->n_outputs; i++)
		files &= o->outputs[i].type == ST_BUILDER_OUTPUT_LOCAL ||
			 o->outputs[i].type == ST_BUILDER_OUTPUT_TAR;
	return files ? NULL : image_format(o);
}

/* A warning when no build is running: 'ctx' is the build's options. */
static void progress_warn(void *ctx, const char *msg)
{
	const struct st_builder_opts *o = ctx;
	if (!o->progress.fn)
		return;
	st_autofree char *t = st_xasprintf("warning: %s", msg);
	struct st_builder_event ev = { .type = ST_BUILDER_EVENT_INFO, .text = t, .len = strlen(t) };
	o->progress.fn(o->progress.ctx, &ev);
}

/*
 * --cache-to: mode=min shares the steps of the target stage and of the stages it is built
 * FROM (its image's chain), mode=max those of every stage.
 */
static bool *min_stages(struct build *b, size_t target)
{
	bool *in_min = st_xcalloc(b->df->nstages, sizeof(bool));
	for (size_t at = target, hops = 0; hops <= b->df->nstages; hops++) {
		in_min[at] = true;
		const struct st_dockerfile_plan_stage *ps = b->slots[at].run.ps;
		if (!ps || !ps->base_is_stage)
			break;
		at = ps->base_stage;
	}
	return in_min;
}

/*
 * The image of one platform of several: its blobs written under 'lease', not recorded, its
 * layers in the format of the image the outputs make (gzip by default, as for one platform);
 * left as they are when only files are written (local, tar).
 */
static int collect_image(struct st_store *s, const struct build_state *fin,
			 struct st_store_lease *lease, const struct st_image_map *annotations,
			 const struct st_local_format *format, struct platform_image *out,
			 struct st_error **err)
{
	for (size_t i = 0; i < fin->n_layers; i++)
		if (st_store_lease_add(lease, fin->layers[i].diff_id.str, err) < 0)
			return -1;
	struct st_local_commit c = { .config = fin->cfg,
				     .layers = fin->layers,
				     .n_layers = fin->n_layers,
				     .lease = lease,
				     .annotations = annotations,
				     .format = format };
	return st_local_image_write(s, &c, &out->img, err);
}

/* What the provenance of the build 'b', begun at 'started', says of it. */
static void describe_build(struct build *b, int64_t started, struct st_attest_build *out)
{
	const struct st_builder_opts *o = b->o;
	out->dockerfile_name = st_xstrdup(b->df_name);
	st_digest_of(b->df_text->data, b->df_text->len, &out->dockerfile_digest);
	out->dockerfile_source = st_xstrndup(b->df_text->data, b->df_text->len);
	if (o->context && builder_git_is_url(o->context))
		out->context = st_xstrdup(o->context);
	out->target = o->target ? st_xstrdup(o->target) : NULL;
	out->args = st_xcalloc(o->n_build_args + 1, sizeof(*out->args));
	for (size_t i = 0; i < o->n_build_args; i++) {
		const char *v = NULL;
		if (strchr(o->build_args[i], '=') || !cli_arg(o, o->build_args[i], &v))
			out->args[out->n_args++] = st_xstrdup(o->build_args[i]);
		else
			out->args[out->n_args++] = st_xasprintf("%s=%s", o->build_args[i], v);
	}
	out->platform = b->platform;
	out->builder_platform = b->build_platform;
	builder_pull_materials(b->pull, out);
	unsigned char id[16];
	if (RAND_bytes(id, sizeof(id)) != 1)
		memset(id, 0, sizeof(id)); /* an id that says nothing, not a failed build */
	struct st_buf hex = ST_BUF_INIT;
	for (size_t i = 0; i < sizeof(id); i++)
		st_buf_addf(&hex, "%02x", id[i]);
	out->invocation_id = st_buf_detach(&hex, NULL);
	out->started = started;
	out->finished = (int64_t)time(NULL);
}

/*
 * Build for 'target' ('given': named by --platform). Without 'collect' the outputs are
 * written; with it, the image's blobs are written under 'lease' into *collect, for the index
 * of a multi-platform build ('label' then starts the step titles), whose shared caches
 * 'share' (borrowed, may be NULL) the caller exports once every platform is built.
 */
static int build_one(struct st_store *s, const struct st_builder_opts *o,
		     const struct st_platform *target, bool given, const char *label,
		     struct st_store_lease *lease, struct platform_image *collect,
		     struct builder_cache_share *share, struct st_builder_result *res,
		     struct st_error **err)
{
	struct build b = { .store = s,
			   .o = o,
			   .ctx_tmp_lock = -1,
			   .platform = *target,
			   .platform_given = given,
			   .pull = builder_pull_new(o),
			   .named = builder_named_new(o) };
	st_platform_host(&b.build_platform);
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	struct st_buf text = ST_BUF_INIT;
	st_autofree char **refs = NULL;
	size_t nrefs = 0;
	struct st_image_map annotations = { 0 };
	int64_t started = (int64_t)time(NULL);
	int rc = 0;
	if (collect)
		b.share = share;
	else
		rc = builder_cache_share_new(o, &b.share, err);

	/* Refuse bad tags and outputs before any work. */
	if (rc == 0)
		rc = builder_outputs_check(o, err);
	if (rc == 0) {
		refs = st_xcalloc(o->n_tags + 1, sizeof(*refs));
		for (size_t i = 0; rc == 0 && i < o->n_tags; i++) {
			rc = st_local_ref_normalize(o->tags[i], &refs[i], err);
			if (rc < 0)
				st_err_wrap(err, "invalid tag '%s'", o->tags[i]);
			else
				nrefs++;
		}
	}
	/* Before the context: a git context over ssh goes through the agent. */
	if (rc == 0 && o->n_ssh)
		rc = builder_ssh_new(o, &b.ssh, err);
	if (rc == 0) {
		if (o->context && builder_git_is_url(o->context))
			rc = git_context(&b, err);
		else if (o->context)
			b.ctx_dir = st_xstrdup(o->context);
		else if (o->context_tar_fd >= 0)
			rc = extract_context(&b, err);
	}
	if (rc == 0)
		rc = read_dockerfile(&b, &text, err);
	b.df_text = &text;
	if (rc == 0)
		rc = st_dockerfile_parse(b.df_name, text.data, text.len, &b.df, err);
	if (rc == 0) {
		struct st_buf plat = ST_BUF_INIT, bplat = ST_BUF_INIT;
		st_platform_format(&b.platform, &plat);
		st_platform_format(&b.build_platform, &bplat);
		struct st_dockerfile_plan_opts po = {
			.build_args = o->build_args,
			.nbuild_args = o->n_build_args,
			.target = o->target,
			.target_platform = plat.data,
			.build_platform = bplat.data,
		};
		rc = st_dockerfile_plan(b.df, &po, &b.plan, err);
		st_buf_release(&plat);
		st_buf_release(&bplat);
	}
	bool check_only = o->flags & ST_BUILDER_CHECK;
	if (rc == 0 && !check_only)
		rc = builder_run_check_root(b.df, b.plan, err);
	if (rc == 0)
		rc = manifest_annotations(o, &annotations, err);
	if (rc == 0 && !check_only) {
		/* Before the context is read: its layers come in meanwhile (unless no step may
		 * hit). */
		builder_cache_share_import(b.share, warn, &b);
		if (!(o->flags & ST_BUILDER_NO_CACHE))
			builder_cache_share_prefetch(b.share, s);
	}
	if (rc == 0 && b.ctx_dir) {
		const char *df = b.git_df ? b.git_df : o->dockerfile;
		rc = st_dockerignore_load(b.ctx_dir, df, &b.ign, err);
		if (rc == 0 && !check_only) {
			rc = builder_ctx_open(s, b.ctx_dir, df, b.ign, b.ctx_tmp == NULL, &b.ctx,
					      err);
			b.have_ctx = rc == 0;
		}
	}
	if (rc == 0)
		rc = build_checks(&b, err);
	if (check_only)
		goto out;
	if (rc == 0 && b.plan->nunused_args) {
		/* BUILDKIT_* args are the build's own options (BUILDKIT_INLINE_CACHE), not the
		 * Dockerfile's. */
		struct st_buf u = ST_BUF_INIT;
		for (size_t i = 0; i < b.plan->nunused_args; i++)
			if (strncmp(b.plan->unused_args[i], "BUILDKIT_", 9))
				st_buf_addf(&u, "%s%s", u.len ? ", " : "", b.plan->unused_args[i]);
		if (u.len)
			info(&b, "warning: build arguments were not consumed: %s", u.data);
		st_buf_release(&u);
	}

	if (rc == 0) {
		/* Containers of a killed build: a later build must not trip over them. */
		struct st_error *serr = NULL;
		if (builder_run_cleanup_stale(s, o, &serr) < 0) {
			info(&b, "warning: %s", serr->msg);
			st_error_free(serr);
		}
	}
	/* One thread per needed stage; each waits for its dependencies and a job slot. */
	size_t last = 0;
	if (rc == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		b.jobs_free = o->jobs ? o->jobs : (unsigned)(ncpu > 0 ? ncpu : 1);
		b.slots = st_xcalloc(b.df->nstages, sizeof(*b.slots));
		/* The plan lists the target last. */
		last = b.plan->stages[b.plan->nstages - 1].index;
		mark_needed(&b, last);
		for (size_t i = 0; i < b.plan->nstages; i++) {
			const struct st_dockerfile_plan_stage *ps = &b.plan->stages[i];
			struct stage_slot *sl = &b.slots[ps->index];
			const struct st_dockerfile_stage *stage = &b.df->stages[ps->index];
			if (!sl->needed)
				continue;
			sl->run.b = &b;
			sl->run.stage = stage;
			sl->run.ps = ps;
			sl->run.total = stage->ninstrs + 1;
			b.total += sl->run.total;
			sl->run.no_cache = no_cache_for(&b, stage);
			if (stage->name)
				sl->run.label = st_xasprintf("%s%s ", label, stage->name);
			else if (b.df->nstages > 1)
				sl->run.label = st_xasprintf("%sstage-%zu ", label, stage->index);
			else
				sl->run.label = st_xstrdup(label);
		}
		for (size_t i = 0; i < b.plan->nstages; i++) {
			struct stage_slot *sl = &b.slots[b.plan->stages[i].index];
			if (!sl->needed)
				continue;
			if (pthread_create(&sl->thread, NULL, stage_thread, sl) == 0) {
				sl->started = true;
			} else {
				rc = st_err_errno(err, "start a build thread");
				pthread_mutex_lock(&b.lock);
				b.abort = true;
				pthread_cond_broadcast(&b.cond);
				pthread_mutex_unlock(&b.lock);
				break;
			}
		}
		for (size_t i = 0; i < b.df->nstages; i++)
			if (b.slots[i].started)
				pthread_join(b.slots[i].thread, NULL);
		/* No step is left to use a layer still being fetched ahead. */
		builder_cache_share_prefetch_end(b.share);
		/* Report the first real failure (not a stage cancelled because of it). */
		for (size_t i = 0; rc == 0 && i < b.plan->nstages; i++) {
			struct stage_slot *sl = &b.slots[b.plan->stages[i].index];
			if (sl->failed && sl->err && strcmp(sl->err->msg, "cancelled") != 0) {
				*err = st_steal(&sl->err);
				rc = -1;
			}
		}
		for (size_t i = 0; rc == 0 && i < b.plan->nstages; i++)
			if (b.slots[b.plan->stages[i].index].failed)
				rc = st_err(err, ST_E_INVALID, "build cancelled");
	}
	if (rc == 0 && b.hint)
		info(&b, "hint: %s", b.hint);
	if (rc == 0 && b.have_ctx) {
		struct st_error *serr = NULL;
		if (builder_ctx_save(s, &b.ctx, &serr) < 0) /* only a slower next build */
			st_error_free(serr);
	}
	if (rc == 0) {
		struct build_state *fin = &b.slots[last].final;
		rc = add_labels(&b, fin->cfg, err);
		if (rc == 0 && !fin->cfg->created) {
			char *ts = timestamp(o);
			fin->cfg->created = ts;
		}
		if (rc == 0 && (o->flags & ST_BUILDER_SQUASH)) {
			st_autofree char *now = timestamp(o);
			rc = builder_squash(&b.slots[last].run, fin, now, err);
		}
		st_autofree bool *in_min = b.share ? min_stages(&b, last) : NULL;
		if (b.share)
			builder_cache_share_settle(b.share, in_min);
		if (rc == 0 && b.share)
			rc = builder_cache_share_inline(b.share, s, image_format(o), fin->cfg, err);
		if (rc == 0 && collect)
			rc = collect_image(s, fin, lease, &annotations, collect_format(o), collect,
					   err);
		else if (rc == 0)
			rc = builder_export(s, o, fin, b.slots[last].run.lease, refs, nrefs,
					    &annotations, res, err);
		if (rc == 0 && collect && st_attest_wanted(&o->attest))
			describe_build(&b, started, &collect->prov);
		if (rc == 0 && b.share && !collect)
			rc = builder_cache_share_export(b.share, s, warn, &b, err);
		if (rc == 0 && res) {
			res->steps = b.steps;
			res->cached = b.cached;
		}
	}
out:
	if (collect)
		b.share = NULL; /* the caller's */
	for (size_t i = 0; refs && i < nrefs; i++)
		free(refs[i]);
	st_buf_release(&text);
	st_image_map_release(&annotations);
	build_release(&b);
	return rc;
}

/* "linux/amd64,linux/arm64": each platform once, normalised. New array in *out. */
static int parse_platforms(const char *spec, struct st_platform **out, size_t *n,
			   struct st_error **err)
{
	*out = NULL;
	*n = 0;
	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, ",");
		st_autofree char *one = st_xstrndup(p, len);
		p += len + (p[len] == ',');
		struct st_platform plat;
		if (st_platform_parse(one, &plat, err) < 0)
			return st_err_wrap(err, "--platform %s", spec);
		bool dup = false;
		for (size_t i = 0; i < *n; i++)
			dup = dup || st_platform_match(&(*out)[i], &plat);
		if (dup)
			continue;
		*out = st_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = plat;
	}
	if (!*n)
		return st_err(err, ST_E_INVALID, "--platform '%s': no platform named", spec);
	return 0;
}

int st_builder_run(struct st_store *s, const struct st_builder_opts *o,
		   struct st_builder_result *res, struct st_error **err)
{
	struct st_platform host;
	st_platform_host(&host);
	/* Attestations need an index to stand in, as in BuildKit: one platform makes one too. */
	bool index = st_attest_wanted(&o->attest) && !(o->flags & ST_BUILDER_CHECK);
	if (!o->platform && !index)
		return build_one(s, o, &host, false, "", NULL, NULL, NULL, res, err);
	st_autofree struct st_platform *plats = NULL;
	size_t n = 0;
	if (!o->platform) {
		plats = st_xcalloc(1, sizeof(*plats));
		plats[n++] = host;
	} else if (parse_platforms(o->platform, &plats, &n, err) < 0) {
		return -1;
	}
	if ((n == 1 && !index) || (o->flags & ST_BUILDER_CHECK))
		return build_one(s, o, &plats[0], o->platform != NULL, "", NULL, NULL, NULL, res,
				 err);
	for (size_t i = 0; i < o->n_outputs; i++) {
		enum st_builder_output_type t = o->outputs[i].type;
		/* BuildKit's own refusal: the docker exporter writes one image. */
		if (t == ST_BUILDER_OUTPUT_DOCKER && n > 1)
			return st_err(err, ST_E_INVALID,
				      "docker exporter does not currently support exporting "
				      "manifest lists: build one platform, or use type=oci");
		/* type=local and type=tar write the statements as files beside the root. */
		if (index && t == ST_BUILDER_OUTPUT_DOCKER)
			return st_err(err, ST_E_INVALID,
				      "attestations need an image, oci, local or tar output: "
				      "type=docker has no index to hold them");
	}
	/* Each platform is a build of its own; what they share (a stage FROM
	 * --platform=$BUILDPLATFORM, any step whose inputs agree) hits the cache the first
	 * platform filled, as BuildKit's solver merges equal vertices. */
	struct builder_cache_share *share = NULL;
	if (builder_cache_share_new(o, &share, err) < 0)
		return -1;
	struct st_store_lease *lease = NULL;
	if (st_store_lease_begin(s, &lease, err) < 0) {
		builder_cache_share_free(share);
		return -1;
	}
	struct platform_image *v = st_xcalloc(n, sizeof(*v));
	int rc = 0;
	size_t steps = 0, cached = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct st_buf label = ST_BUF_INIT;
		if (n > 1) {
			st_platform_format(&plats[i], &label);
			st_buf_addch(&label, ' ');
		}
		struct st_builder_result one = { 0 };
		v[i].platform = plats[i];
		rc = build_one(s, o, &plats[i], o->platform != NULL, label.data ? label.data : "",
			       lease, &v[i], share, &one, err);
		steps += one.steps;
		cached += one.cached;
		st_builder_result_release(&one);
		st_buf_release(&label);
	}
	if (rc == 0) {
		st_autofree char **refs = st_xcalloc(o->n_tags + 1, sizeof(*refs));
		for (size_t i = 0; rc == 0 && i < o->n_tags; i++)
			rc = st_local_ref_normalize(o->tags[i], &refs[i], err);
		if (rc == 0)
			rc = builder_export_platforms(s, o, v, n, lease, refs, o->n_tags, res, err);
		for (size_t i = 0; i < o->n_tags; i++)
			free(refs[i]);
	}
	/* One cache of every platform's steps, as BuildKit exports the whole build's. */
	if (rc == 0 && share)
		rc = builder_cache_share_export(share, s, progress_warn, (void *)o, err);
	builder_cache_share_free(share);
	if (rc == 0 && res) {
		res->steps = steps;
		res->cached = cached;
	}
	for (size_t i = 0; i < n; i++) {
		st_store_image_free(v[i].img);
		st_attest_build_release(&v[i].prov);
	}
	free(v);
	st_store_lease_end(lease);
	return rc;
}
