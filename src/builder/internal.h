/* internal.h: what the files of src/build/ share. Not a public header. */
#ifndef ST_BUILDER_INTERNAL_H
#define ST_BUILDER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "builder/builder.h"
#include "dockerfile/dockerfile.h"
#include "dockerfile/dockerignore.h"
#include "image/image.h"
#include "store/store.h"
#include "util/buf.h"

/* ---- context.c: the build context's files and their checksums ------------------------------ */

struct ctx_file {
	char *rel; /* "/"-separated, relative to the context root */
	struct stat st;
	struct st_digest digest; /* content (regular files) or link target (symlinks) */
	bool hashed;
};

struct build_context {
	char *root;
	char *cache_key;	/* kv key for the checksum cache; NULL: do not remember */
	struct ctx_file *files; /* in walk order: a dir comes before what it holds */
	size_t n, cap;
	size_t *slots; /* open-addressing hash of rel -> index + 1 */
	size_t nslots;
	/* What the kv record needs besides 'files': the root and the excluded directories the
	 * walk still entered ('hidden'), and the walk order over both ('order': an index into
	 * 'files', or into 'hidden' with CTX_HIDDEN set). */
	struct ctx_file *hidden;
	size_t nhidden, hidden_cap;
	size_t *order;
	size_t norder, order_cap;
	int64_t walk_ns;		       /* CLOCK_REALTIME when the walk began */
	char ignore_id[ST_DIGEST_HEX_LEN + 1]; /* which ignore rules the walk applied */
	bool dirty; /* the kv record is out of date: new digests, or directories re-read */
	pthread_mutex_t lock; /* digests are computed lazily, from any stage's thread */
};

#define CTX_HIDDEN ((size_t)1 << (sizeof(size_t) * 8 - 1))

/*
 * Walk 'root' (after .dockerignore) and take what the kv cache knows about unchanged files
 * and directories. 'dockerfile' is the -f path (may be NULL): with the context's ignore
 * files it names the ignore rules the remembered listings were made under.
 * 'remember' false: a throw-away context (extracted from stdin) whose sums are not kept.
 */
int builder_ctx_open(struct st_store *s, const char *root, const char *dockerfile,
		     const struct st_dockerignore *ign, bool remember, struct build_context *c,
		     struct st_error **err);
/* Write back the sums computed during the build, if any. */
int builder_ctx_save(struct st_store *s, struct build_context *c, struct st_error **err);
void builder_ctx_release(struct build_context *c);
/* Borrowed; NULL if the context has no such entry. */
struct ctx_file *builder_ctx_lookup(struct build_context *c, const char *rel);
/* Make sure f->digest is set (reads the file once if its stat data is new). */
int builder_ctx_hash(struct build_context *c, struct ctx_file *f, struct st_error **err);

/* ---- fetch.c: ADD's remote sources ------------------------------------------------------- */

struct fetch_result {
	struct st_digest digest; /* sha256 of the body */
	uint64_t size;
	int64_t mtime; /* Last-Modified, seconds since the epoch; -1 when the server sent none */
};

/* Whether ADD's 'src' is an http(s) URL (one that names a git repository is git.c's). */
bool builder_fetch_is_url(const char *src);
/* The name ADD gives the file from 'url': the last path component, else "__unnamed__". New. */
char *builder_fetch_url_name(const char *url);
/*
 * Download 'url' (redirects followed, stalls bounded) into the new file 'path' (mode 0600).
 * ST_E_NOTFOUND for HTTP 404/410, ST_E_NET for other statuses and transfer errors, each
 * naming the URL: "fetch 'http://h/x': server returned HTTP 404 Not Found".
 */
int builder_fetch_url(const char *url, const char *path, struct fetch_result *out,
		      struct st_error **err);

/* ---- git.c: git repositories as ADD sources and build contexts ---------------------------- */

struct git_source {
	char *remote;	  /* what git fetches: the URL without BuildKit's fragment and query */
	char *ref;	  /* a branch, tag, ref or commit; NULL: the remote's HEAD */
	char *subdir;	  /* relative to the tree, cleaned; NULL: the whole tree */
	char *checksum;	  /* ?checksum= or ?commit=: what the ref must resolve to (a prefix) */
	int keep_git_dir; /* ?keep-git-dir=: -1 when not given */
	int mtime_commit; /* ?mtime=commit (1) or checkout (0): -1 when not given */
	bool ssh;	  /* ssh:// or scp-like "user@host:path": through the build's agent */
};

/* Whether 's' is a git URL in BuildKit's grammar (see git.c). */
bool builder_git_is_url(const char *s);
/* Parse a git URL; *out is new (builder_git_source_release()). ST_E_INVALID naming the URL. */
int builder_git_parse(const char *s, struct git_source *out, struct st_error **err);
void builder_git_source_release(struct git_source *g);
struct git_opts {
	const char *ssh_sock;	 /* the agent ssh uses; NULL: none */
	const char *auth_header; /* "Authorization: ..." sent to an http(s) remote; NULL: none */
	bool keep_git_dir;	 /* the tree keeps its .git */
	bool mtime_commit;	 /* every entry gets the commit's time, not the checkout's */
};
/*
 * The Authorization header for 'g' from the build's secrets, as BuildKit takes them:
 * GIT_AUTH_HEADER.<host> or GIT_AUTH_HEADER (the whole value), else GIT_AUTH_TOKEN.<host> or
 * GIT_AUTH_TOKEN (basic, as user x-access-token). *out is new, NULL when there is none.
 */
int builder_git_auth(const struct st_builder_opts *bo, const struct git_source *g, char **out,
		     struct st_error **err);
/*
 * The commit g->ref names on the remote (ls-remote; a full commit sha as it is). *commit is
 * new. ST_E_NOTFOUND for a ref the remote lacks, ST_E_NET for a remote git cannot reach.
 */
int builder_git_resolve(const struct git_source *g, const struct git_opts *o, char **commit,
			struct st_error **err);
/*
 * Fetch 'commit' of 'g' into the empty directory 'dir' and check it out there; *tree (new) is
 * the checked-out directory to copy (g->subdir of it). ST_E_NOTFOUND for a missing subdir.
 */
int builder_git_checkout(const struct git_source *g, const char *commit, const char *dir,
			 const struct git_opts *o, char **tree, struct st_error **err);

/* ---- the state of a stage between steps -------------------------------------------------- */

struct build_state {
	struct st_image_config *cfg;
	struct st_store_layer *layers; /* owned copies (media_type owned), bottom first */
	size_t n_layers;
	char key[ST_DIGEST_HEX_LEN + 1]; /* the cache key that produced this state */
};

void builder_state_release(struct build_state *st);
void builder_state_copy(struct build_state *dst, const struct build_state *src);
void builder_state_add_layer(struct build_state *st, const struct st_store_layer *l);

/* ---- cache.c: keys, records and miss explanations ----------------------------------------- */

/* The inputs of one step's key, also kept to explain the next miss at the same position. */
struct key_inputs {
	const char *parent; /* parent key (hex) */
	const char *instr;  /* canonical instruction (often instr_own.data) */
	struct st_buf instr_own;
	const char *text;    /* the instruction as written, for messages */
	struct st_buf args;  /* "K=V\n" build args the step sees */
	struct st_buf files; /* "<hex> <path>\n" for COPY/ADD sources */
	char files_sum[ST_DIGEST_HEX_LEN + 1];
};

void builder_key_inputs_init(struct key_inputs *k);
void builder_key_inputs_release(struct key_inputs *k);
/* The hex key of 'k'. */
void builder_key_compute(const struct key_inputs *k, char out[ST_DIGEST_HEX_LEN + 1]);

/* Look a key up: 1 and 'st' advanced on a hit, 0 on a miss, -1 on error. */
int builder_cache_get(struct st_store *s, const char *key, const struct build_state *parent,
		      struct build_state *out, struct st_error **err);
/* Record 'st' (the state after the step) under st->key; 'layer' is the step's layer or NULL. */
int builder_cache_put(struct st_store *s, const struct build_state *st,
		      const struct st_store_layer *layer, struct st_error **err);
/* Why a step missed the cache. */
struct cache_why {
	char *text;	  /* new: "file src/app.js changed"; NULL when nothing is known */
	bool own;	  /* the step's own inputs changed: instruction, args or files */
	bool parent_only; /* the step itself is as it was: only an earlier step changed */
};

/*
 * Why 'k' missed, compared with what was recorded at 'position' last time: why->text is NULL
 * if nothing was recorded or 'hit'. Then records 'k' (whose key is 'key') there, unless the
 * record already names 'key'. Free why->text.
 */
int builder_cache_explain(struct st_store *s, const char *position, const struct key_inputs *k,
			  const char *key, bool hit, struct cache_why *why, struct st_error **err);
/*
 * The step recorded at 'position' under 'key' ran to its end, 'ok' or failed: a next miss there
 * says it failed, and one after a run that never got here (killed) says it was interrupted.
 */
int builder_cache_attempt(struct st_store *s, const char *position, const char *key, bool ok,
			  struct st_error **err);

/* ---- mount.c: RUN --mount (bind, cache, tmpfs, secret) -------------------------------------- */

struct stage_run;
struct run_mounts;
/*
 * Parse one RUN --mount value (after expansion) and append its canonical form, as the cache
 * key holds it, to 'canon'. For tests and the fuzzer: the build parses through
 * builder_mounts_key().
 */
int builder_mount_spec_check(const char *text, struct st_buf *canon, struct st_error **err);

/* Remove the RUN --mount=type=cache directories no running step uses; counts may be NULL. */
int builder_cache_mounts_prune(struct st_store *s, size_t *removed, uint64_t *freed,
			       struct st_error **err);
/*
 * Parse the --mount flags of RUN 'in' (expanded), append each mount's canonical spec to
 * 'canon' and add what bound content the step sees to k->files (context checksums, a source
 * stage's config digest or an image id), setting k->files_sum when there is any. Never a
 * secret's content. ST_E_INVALID for a bad spec or type=ssh.
 */
int builder_mounts_key(struct stage_run *r, const struct st_dockerfile_instr *in,
		       struct st_buf *canon, struct key_inputs *k, struct st_error **err);
/*
 * Make the host side of each mount under <base>/mounts (base: the step's private dir, outside
 * its rootfs): views, overlays, cache dirs (locked as 'sharing' says), secret files on a
 * tmpfs. *out is new: builder_run_mounts_free() after the run.
 */
int builder_mounts_setup(struct stage_run *r, const struct st_dockerfile_instr *in,
			 const char *base, struct run_mounts **out, struct st_error **err);
/* Borrowed from 'm': the extra runtime mounts, and the "K=V" env entries of env= secrets. */
const struct st_runtime_mount *builder_mounts_runtime(const struct run_mounts *m, size_t *n);
const char *const *builder_mounts_env(const struct run_mounts *m, size_t *n);
/* Unmount, unlock and remove what builder_mounts_setup() made. NULL does nothing. */
void builder_run_mounts_free(struct run_mounts *m);
/*
 * The RUN --mount=type=cache directories, as records of type "exec.cachemount": *v is new,
 * n entries; free each id with free() and then *v.
 */
int builder_cache_mounts_list(struct st_store *s, struct st_builder_cache_record **v, size_t *n,
			      struct st_error **err);

/* run.c: ST_E_INVALID naming the first RUN of the stages 'plan' builds when strata is not
 * root: RUN steps need root (overlay mounts, image files owned by their users, runc). */
int builder_run_check_root(const struct st_dockerfile *df, const struct st_dockerfile_plan *plan,
			   struct st_error **err);

/* run.c: delete the containers that killed builds left in this store's runtime state root
 * (ids "strata-build-<tmp dir>" whose tmp dir nobody holds locked any more). */
int builder_run_cleanup_stale(struct st_store *s, const struct st_builder_opts *o,
			      struct st_error **err);

#define KV_NS_CTX "build.context"
#define KV_NS_LAST "build.last"
#define KV_NS_FILES "build.files"
/* COPY --from: the content checksum of what a step copies, by the source's config and sources */
#define KV_NS_FROM "build.fromsum"

/* ---- cache_share.c: --cache-from and --cache-to (OCI layouts and registries) ---------------- */

/* The media type of a shared cache's document (the config of its manifest). */
#define ST_BUILDER_CACHE_MT "application/vnd.strata.buildcache.config.v1+json"

typedef void (*builder_warn_fn)(void *ctx, const char *msg);
struct builder_cache_share;
/* Parse o->cache_from and o->cache_to (ST_E_USAGE naming a bad one); *out NULL when none. */
int builder_cache_share_new(const struct st_builder_opts *o, struct builder_cache_share **out,
			    struct st_error **err);
void builder_cache_share_free(struct builder_cache_share *c);
/* Read the records of every --cache-from, once; one that cannot be read is a warning. */
int builder_cache_share_import(struct builder_cache_share *c, builder_warn_fn warn, void *ctx);
/*
 * After a local miss of 'key': when an imported record has it, bring its layer into the store
 * ('s', the calling stage's handle) and record it locally: 1, and the step can hit. 0 when no
 * record has the key. Any thread.
 */
int builder_cache_share_fetch(struct builder_cache_share *c, struct st_store *s, const char *key,
			      struct st_error **err);
/*
 * A build (of one platform) ended: its keys are shared by mode=min if of a stage 'in_min'
 * marks (indexed by stage), and the keys used after this belong to the next build. One
 * --cache-to of a multi-platform build then holds every platform's steps.
 */
void builder_cache_share_settle(struct builder_cache_share *c, const bool *in_min);
/*
 * type=inline (or --build-arg BUILDKIT_INLINE_CACHE=1): put the records of the final image's
 * steps (mode=min, of the build last settled) in its config 'cfg', before it is committed;
 * nothing when not asked for. 'f': the format of the image's layers, which the records name.
 * A registry reference to the image then works as a --cache-from.
 */
int builder_cache_share_inline(struct builder_cache_share *c, struct st_store *s,
			       const struct st_local_format *f, struct st_image_config *cfg,
			       struct st_error **err);
/* The records of a cache from its manifest and document, as if read from the first
 * --cache-from (for tests and fuzzing: what a registry or a directory may hold). */
int builder_cache_share_parse(struct builder_cache_share *c, const void *manifest, size_t mlen,
			      const void *doc, size_t dlen, struct st_error **err);
/* A step of stage 'stage' ended with 'key' (hit or executed). Any thread. */
void builder_cache_share_used(struct builder_cache_share *c, const char *key, size_t stage);
/*
 * COPY --from keys by the checksum of what it copies, remembered by a memo key (the source's
 * config digest and the sources): a cache carries the checksums of its steps, so a store
 * that has the source stage from the cache need not unpack it to compute them. _sum: the
 * checksum an imported cache has for 'memo' into 'out', true if one has it. _sum_used: a step
 * of stage 'stage' used 'sum' for 'memo' (exported as its records are). Any thread.
 */
bool builder_cache_share_sum(struct builder_cache_share *c, const char *memo,
			     char out[ST_DIGEST_HEX_LEN + 1]);
void builder_cache_share_sum_used(struct builder_cache_share *c, const char *memo, const char *sum,
				  size_t stage);
/*
 * After a successful build, write every --cache-to: mode=max the records of every step,
 * mode=min those of the stages each settled build marked. ignore-error=true makes a failure
 * a warning.
 */
int builder_cache_share_export(struct builder_cache_share *c, struct st_store *s,
			       builder_warn_fn warn, void *ctx, struct st_error **err);

#endif
