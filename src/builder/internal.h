/*
 * internal.h: what the files of src/builder/ share: the parts a build is made of (context,
 * fetch, git, cache, mounts, cache sharing), then the per-build and per-stage state the
 * executors run in. Not a public header.
 */
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
#include "layer/layer.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/fs.h"

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
/* The same for the 'n' entries of 'files' (directories have none), read on two threads. */
int builder_ctx_hash_all(struct build_context *c, struct ctx_file **files, size_t n,
			 struct st_error **err);

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
 * Start fetching, in the background, the imported records' layers that the build can reach
 * from what 's' holds (see cache_share.c); builder_cache_share_fetch() then waits for the
 * one it needs instead of fetching it. Nothing fetched this way is kept after the build
 * unless a step used it. Once, after the import.
 */
void builder_cache_share_prefetch(struct builder_cache_share *c, struct st_store *s);
/* Stop the fetches ahead (those running give up); what they fetched stays leased until free. */
void builder_cache_share_prefetch_end(struct builder_cache_share *c);
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

/* ---- the state of a build in progress, shared by the executors ---------------------------- */

struct build;

/* The PATH a Linux step gets when its image sets none (BuildKit's system.DefaultPathEnv). */
#define BUILD_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* One stage being built, on its own thread with its own store handle. */
struct stage_run {
	struct build *b;
	struct st_store *s;
	struct st_store_lease *lease;
	const struct st_dockerfile_stage *stage;
	const struct st_dockerfile_plan_stage *ps;
	struct build_state st;
	/* What the stage builds for (FROM --platform, else the target); 'platform_strict':
	 * given by --platform or FROM --platform, so a base image must be of it. */
	struct st_platform platform;
	bool platform_strict;
	char **args; /* "K=V" of the ARGs in scope, in declaration order */
	size_t nargs;
	bool missed; /* a step executed: every later step executes too */
	/* The stage's first miss, which later misses name: "#3 COPY . . missed: file a
	 * changed" (or the base stage's), the instruction ("COPY . ."), whether changed files
	 * were the cause, and how long it took. */
	char *root_cause;
	char *root_title;
	const struct st_dockerfile_instr *root_in;
	bool root_files;
	double root_seconds;
	bool no_cache;
	bool cmd_set;	  /* CMD given in this stage (an ENTRYPOINT then keeps it) */
	char *label;	  /* "build " or "" for step titles */
	size_t total;	  /* steps in the stage, FROM included */
	unsigned step_id; /* the running step's number */
	size_t step_pos;  /* the running step's position in the stage: 1 for FROM */
	const char *step_name;
	const struct st_dockerfile_instr *step_in; /* the running step's instruction, if the
						    * Dockerfile has it (not an ONBUILD trigger) */
	char *created;				   /* the running step's history timestamp */
	/* What the stage started from, for --squash: its layers and history entries, and its
	 * id (an image's id, a stage's or context's config digest; none for scratch). */
	size_t base_layers, base_history;
	struct st_digest base_id;
	bool has_base_id;
};

/* Add 'text' to 'b', cut after about 'max' bytes (at a character boundary) with its length
 * said: a step title or an error that quotes a 10 MB command must stay readable. */
void builder_add_capped(struct st_buf *b, const char *text, size_t max);

/* Send an event for the running step of 'r' (serialized by the build). */
void builder_stage_event(struct stage_run *r, enum st_builder_event_type type, const char *text,
			 size_t len, double seconds);

/* The layer writer options of this build (compression, mtime clamp). */
void builder_layer_opts(const struct stage_run *r, struct st_layer_writer_opts *o);
/* Borrowed from the build. */
struct build_context *builder_ctx(struct stage_run *r, struct st_error **err);
const struct st_builder_opts *builder_opts(const struct stage_run *r);
/* The Dockerfile's escape character ('\\' or '`', from "# escape="). */
char builder_stage_escape(const struct stage_run *r);
/* The final state of stage 'index' (waits for it). Borrowed. */
const struct build_state *builder_stage_state(struct stage_run *r, size_t index);

/* ssh.c: the build's SSH agents (one per --ssh), and a relay to one for a step's socket. */
struct builder_ssh;
int builder_ssh_new(const struct st_builder_opts *o, struct builder_ssh **out,
		    struct st_error **err);
void builder_ssh_free(struct builder_ssh *s);
/* The agent socket for 'id', or NULL when the build has none. Borrowed. */
const char *builder_ssh_socket(const struct builder_ssh *s, const char *id);
/* Borrowed from the build: NULL when it has no --ssh. */
const struct builder_ssh *builder_ssh_of(const struct stage_run *r);
/* Listen on <dir>/<name> (with 'mode', 'uid', 'gid') and pass every connection to the agent
 * socket 'agent', until builder_ssh_relay_stop(). */
struct builder_ssh_relay;
int builder_ssh_relay_start(const char *agent, const char *dir, const char *name, mode_t mode,
			    uid_t uid, gid_t gid, struct builder_ssh_relay **out,
			    struct st_error **err);
void builder_ssh_relay_stop(struct builder_ssh_relay *r);

/* pull.c: images named by FROM, COPY --from and RUN --mount from=, pulled per --pull. */
struct build_pull;
struct build_pull *builder_pull_new(const struct st_builder_opts *o);
void builder_pull_free(struct build_pull *p);
/* Borrowed from the build. */
struct build_pull *builder_puller(const struct stage_run *r);
/* The images builder_image_find() gave, as provenance's resolved dependencies. */
void builder_pull_materials(struct build_pull *p, struct st_attest_build *into);
/* The image 'name' names, from the store or pulled. *out is new. */
int builder_image_find(struct stage_run *r, const char *name, struct st_store_image **out,
		       struct st_error **err);

/* The build's --cache-from and --cache-to, NULL when it has none. Borrowed from the build. */
struct builder_cache_share *builder_share(const struct stage_run *r);

/* named.c: --build-context, resolved once per build by the first stage that names it. */
struct build_named;
struct build_named *builder_named_new(const struct st_builder_opts *o);
void builder_named_free(struct build_named *n);
/* Borrowed from the build. */
struct build_named *builder_named(const struct stage_run *r);
/* Whether a named context has the name 'name' (nothing is resolved). */
bool builder_named_has(const struct build_named *n, const char *name);
/*
 * The state the named context 'name' (a FROM base, a --from or from= value, a stage name)
 * gives, resolved now if it was not yet: 1 and *st (borrowed from the build), 0 when no
 * context has that name, -1 when it cannot be resolved.
 */
int builder_named_state(struct stage_run *r, const char *name, const struct build_state **st,
			struct st_error **err);

/* The state of a stage FROM scratch: BuildKit's empty image for the build's platform. */
void builder_state_scratch(struct stage_run *r, struct build_state *st);
/* The state of a stage FROM 'img': its config and layers (leased), keyed by its id. */
int builder_state_from_image(struct stage_run *r, const struct st_store_image *img,
			     struct build_state *st, struct st_error **err);

/* Whether 'name' (a --from value) names a stage before this one: 1 and *index. */
int builder_stage_lookup(struct stage_run *r, const char *name, size_t *index);

/* The environment for expansion: image Env first, then ARGs (ENV wins, as in Docker). */
void builder_stage_env(const struct stage_run *r, struct st_dockerfile_env *env, const char ***kv);

/* Unpacked layer dirs of the current state, top first, as overlay wants them. New vector. */
int builder_stage_lowers(struct stage_run *r, const struct build_state *st, char ***paths,
			 size_t *n, struct st_error **err);

/*
 * Look 'path' (absolute, in the image) up in the layers of 'lowers' (top first) as
 * st_union_lookup() does, not following a link in its last component: 1 and *st filled if it
 * exists, 0 if not.
 */
int builder_lower_lstat(char *const *lowers, size_t n, const char *path, struct stat *st);
/* The host path of 'path' in the layer of 'lowers' that provides it (st_union_lookup()), or
 * NULL if it does not exist. New. */
char *builder_lower_find(char *const *lowers, size_t n, const char *path,
			 enum st_union_flags flags);

/* ---- executors: each fills 'k' (key inputs) before running, then runs on a miss ---- */

/* run.c */
int builder_run_key(struct stage_run *r, const struct st_dockerfile_instr *in, struct key_inputs *k,
		    struct st_error **err);
int builder_run_exec(struct stage_run *r, const struct st_dockerfile_instr *in,
		     struct st_store_layer *layer, bool *has_layer, char **created_by,
		     struct st_error **err);

/* copy.c */
struct copy_plan;
int builder_copy_prepare(struct stage_run *r, const struct st_dockerfile_instr *in,
			 struct key_inputs *k, struct copy_plan **out, struct st_error **err);
int builder_copy_exec(struct stage_run *r, struct copy_plan *p, struct st_store_layer *layer,
		      bool *has_layer, char **created_by, struct st_error **err);
void builder_copy_plan_free(struct copy_plan *p);

/* Create dirs of 'path' missing in 'lowers' as a new layer (WORKDIR). */
int builder_mkdir_layer(struct stage_run *r, const char *path, struct st_store_layer *layer,
			bool *has_layer, struct st_error **err);

/* output.c: ST_E_INVALID for outputs that cannot be written whatever the build makes (a push
 * with no name), so that the build does not start. */
int builder_outputs_check(const struct st_builder_opts *o, struct st_error **err);
/*
 * output.c: write the final state 'fin' of the build to each of o->outputs (or into the store
 * when there is none), tagged 'tags' (normalised) where an output names nothing; 'lease'
 * holds the layers; 'annotations' (may be NULL) go on the manifest. Fills res->has_image,
 * res->id and res->metadata.
 */
int builder_export(struct st_store *s, const struct st_builder_opts *o,
		   const struct build_state *fin, struct st_store_lease *lease, char *const *tags,
		   size_t n_tags, const struct st_image_map *annotations,
		   struct st_builder_result *res, struct st_error **err);

/*
 * squash.c: merge the layers stage 'r' added to its base into one in 'fin' (its final state),
 * as docker build --squash does; 'created' is the new history entry's time.
 */
int builder_squash(struct stage_run *r, struct build_state *fin, const char *created,
		   struct st_error **err);

/* platform.c: building for several platforms, and running a foreign one. */

/* A multi-platform build's result for one platform: its image's blobs, not yet recorded. */
struct platform_image {
	struct st_platform platform;
	struct st_store_image *img;
	struct st_attest_build prov; /* what the attestations say of its build */
};

/*
 * Whether a RUN for 'p' can run here: the host's architecture (or one it runs natively), or
 * one with a QEMU emulator registered with binfmt_misc. ST_E_RUNTIME naming the package.
 */
int builder_platform_can_run(const struct st_platform *p, struct st_error **err);

/*
 * Write the outputs of a multi-platform build: an IMAGE output records each platform's image
 * and an OCI index of them under the names (and pushes the index if asked); OCI writes the
 * index in an OCI layout; LOCAL writes a directory per platform ("linux_arm64"), as BuildKit
 * does. 'lease' holds the blobs.
 */
int builder_export_platforms(struct st_store *s, const struct st_builder_opts *o,
			     const struct platform_image *v, size_t n, struct st_store_lease *lease,
			     char *const *tags, size_t n_tags, struct st_builder_result *res,
			     struct st_error **err);

/*
 * platform.c: the files of each platform's image for a LOCAL or TAR output, as BuildKit's
 * exporters write them: each under a directory named for its platform ("linux_arm64"), or
 * merged into one tree (platform-split=false), where a file two platforms have is refused.
 * Split by default when there are several. The attestations 'att' asks for (may be NULL) go
 * beside each platform's files as in-toto statements about them.
 */
int builder_write_platforms(struct st_store *s, const struct st_builder_output *out,
			    const struct platform_image *v, size_t n,
			    const struct st_attest_opts *att, struct st_error **err);

/* output.c: the files of 'img''s layers (blobs need not be recorded) into directory 'dest'. */
int builder_write_local(struct st_store *s, const struct st_store_image *img, const char *dest,
			struct st_error **err);

/* Clean an absolute path: "/a/./b/../c/" -> "/a/c". New. */
char *builder_path_clean(const char *p);

#endif
