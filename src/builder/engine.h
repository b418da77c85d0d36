/* engine.h: the per-build and per-stage state the executors share. Not a public header. */
#ifndef ST_BUILDER_ENGINE_H
#define ST_BUILDER_ENGINE_H

#include "builder/internal.h"
#include "layer/layer.h"
#include "util/fs.h"

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
