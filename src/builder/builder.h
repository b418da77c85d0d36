/*
 * builder.h: `strata build`: a Dockerfile and a context become an image, step by step, with a
 * build cache that hits and misses the way Docker users expect, and explains its misses.
 *
 * The engine never prints: everything a person sees goes through the progress callback the
 * caller gives (struct st_builder_progress), from whichever thread runs the step; calls are
 * serialized by the engine, so the callback needs no lock of its own.
 */
#ifndef ST_BUILDER_BUILDER_H
#define ST_BUILDER_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"
#include "digest/digest.h"
#include "dockerfile/dockerfile.h"
#include "image/image.h"
#include "local/local.h"
#include "registry/registry.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "util/err.h"

/* ---- progress ------------------------------------------------------------------------------ */

enum st_builder_event_type {
	ST_BUILDER_EVENT_START,	 /* a step begins: 'name' ("[build 3/6] RUN make") */
	ST_BUILDER_EVENT_REASON, /* why the step missed the cache: 'text' ("file src/a.js changed")
				  */
	ST_BUILDER_EVENT_OUTPUT, /* a chunk of the step's output: 'text', 'len' (not split at lines)
				  */
	ST_BUILDER_EVENT_CACHED, /* the step was a cache hit */
	ST_BUILDER_EVENT_DONE,	 /* the step ran: 'seconds' */
	ST_BUILDER_EVENT_ERROR,	 /* the step failed: 'text' is the error message */
	ST_BUILDER_EVENT_INFO,	 /* a message about the whole build: 'text' (warnings, results) */
	ST_BUILDER_EVENT_WARNING,   /* a build check fired: 'name' is its rule, 'text' the message,
				     * 'url' its documentation; 'file', the lines and 'source' where
				     */
	ST_BUILDER_EVENT_COMMITTED, /* a RUN step's layer is in the store: 'text' its size
				     * ("1.0 GiB"), 'seconds' since the process exited */
};

/* One event. Strings are borrowed for the duration of the call. */
struct st_builder_event {
	enum st_builder_event_type type;
	unsigned id;	  /* the step's number, "#4"; 0 for INFO */
	const char *name; /* the step's title */
	const char *text;
	size_t len;	/* of 'text' */
	double seconds; /* DONE, CACHED, ERROR: how long the step took */
	size_t total;	/* the steps of the build (FROMs included), as far as known yet */
	/* ERROR of an instruction of the Dockerfile: its name ("Dockerfile"), the instruction's
	 * lines (1-based, inclusive) and the Dockerfile's text, to show where it failed. NULL,
	 * 0 for other steps (ONBUILD triggers). */
	const char *file;
	int start_line, end_line;
	const char *source;
	size_t source_len;
	const char *url; /* WARNING: the rule's documentation; NULL when it has none */
};

struct st_builder_progress {
	void (*fn)(void *ctx, const struct st_builder_event *ev);
	void *ctx;
};

/* ---- options -------------------------------------------------------------------------------- */

/* When a build pulls the images it names (docker build --pull). */
enum st_builder_pull {
	ST_BUILDER_PULL_MISSING = 0, /* those the store lacks */
	ST_BUILDER_PULL_ALWAYS,	     /* every one, once per build */
	ST_BUILDER_PULL_NEVER,	     /* none: the store must have them */
};

enum st_builder_flags {
	ST_BUILDER_NO_CACHE = 1 << 0,	       /* execute every step; still record the results */
	ST_BUILDER_SOURCE_DATE_EPOCH = 1 << 1, /* clamp every timestamp to 'source_date_epoch' */
	ST_BUILDER_SQUASH = 1 << 2, /* the final stage's own layers merged into one (--squash) */
	ST_BUILDER_CHECK = 1 << 3,  /* run the build checks of every stage, build nothing */
	ST_BUILDER_ALLOW_INSECURE = 1 << 4, /* --allow security.insecure: RUN --security=insecure */
};

/*
 * A secret for RUN --mount=type=secret (strata build --secret). Its content is read when a
 * step mounts it, from the file 'src' or else from 'value'; it never reaches the image, a
 * layer, the history or a cache key (the key holds the id only).
 */
struct st_builder_secret {
	const char *id;
	const char *src;   /* a file, or NULL */
	const char *value; /* the content (an environment variable's), when 'src' is NULL */
};

/* ---- outputs (-o/--output), as BuildKit's exporters ------------------------------------- */

enum st_builder_output_type {
	ST_BUILDER_OUTPUT_IMAGE = 0, /* the store (the default); pushed with 'push' */
	ST_BUILDER_OUTPUT_LOCAL,     /* the final stage's files in the directory 'dest' */
	ST_BUILDER_OUTPUT_TAR,	     /* the same as a tar */
	ST_BUILDER_OUTPUT_OCI,	     /* an OCI layout, as a tar or (not 'tar') a directory */
	ST_BUILDER_OUTPUT_DOCKER,    /* what `docker load` reads (an OCI layout directory when
				      * not 'tar') */
};

/* One -o value, parsed by st_builder_output_parse(). */
struct st_builder_output {
	enum st_builder_output_type type;
	char *dest;   /* a path, or "-": the file descriptor 'fd'; NULL for IMAGE */
	int fd;	      /* where "-" writes (the caller sets it, e.g. to stdout); -1: none */
	char **names; /* name=: normalised references; none: the build's tags */
	size_t n_names;
	bool push; /* IMAGE: push every name to its registry */
	bool tar;  /* OCI, DOCKER: a tar (true, the default) or a directory */
	/* LOCAL, TAR: platform-split=: each platform's files under a directory named for it
	 * (1) or merged (0); -1: as BuildKit, split when the build has several platforms. */
	int platform_split;
	/* LOCAL, TAR: attestation-prefix=: before the name of each attestation file; NULL: none */
	char *attestation_prefix;
	/* IMAGE, OCI, DOCKER: compression=, compression-level= (as the codec takes it),
	 * force-compression=, oci-mediatypes=; gzip and OCI media types by default (Docker's
	 * for type=docker, as BuildKit). */
	struct st_local_format format;
};

#define ST_BUILDER_OUTPUT_INIT                                                                     \
	{                                                                                          \
		.fd = -1, .tar = true, .platform_split = -1, .format = {                           \
			.compression = ST_LAYER_COMP_GZIP                                          \
		}                                                                                  \
	}

/*
 * Parse a -o value as buildx does: "type=T,key=value,..." (types image, registry (an image
 * pushed), local, tar, oci, docker), "DIR" (local) or "-" (a tar on the file descriptor the
 * caller puts in out->fd). ST_E_INVALID naming an unknown type, an unknown key for the type,
 * a bad value, or a missing dest. 'out' must be ST_BUILDER_OUTPUT_INIT; on success it holds
 * new strings: st_builder_output_release().
 */
int st_builder_output_parse(const char *spec, struct st_builder_output *out, struct st_error **err);
void st_builder_output_release(struct st_builder_output *o);

/* ---- named contexts (--build-context), as BuildKit's ------------------------------------ */

enum st_builder_context_kind {
	ST_BUILDER_CONTEXT_DIR,	       /* a directory: its files, as the root of an empty image */
	ST_BUILDER_CONTEXT_IMAGE,      /* docker-image://REF: pulled as --pull says */
	ST_BUILDER_CONTEXT_OCI_LAYOUT, /* oci-layout://DIR[:TAG|@DIGEST]: loaded into the store */
	ST_BUILDER_CONTEXT_GIT, /* a git URL, as ADD takes it: its tree at the ref's commit */
};

/*
 * One --build-context NAME=VALUE. FROM NAME, COPY --from=NAME and RUN --mount from=NAME use it
 * instead of the image of that name, and a stage named NAME is replaced by it. Names compare
 * as BuildKit compares them: normalised, so "alpine", "alpine:latest" and
 * "docker.io/library/alpine" are one name.
 */
struct st_builder_context {
	char *name; /* as given */
	char *key;  /* the name normalised ("alpine", "alpine:3", "localhost:5000/x") */
	enum st_builder_context_kind kind;
	char *value;  /* the directory, reference or layout directory */
	char *tag;    /* OCI_LAYOUT: the entry whose ref.name is this ("latest" by default) */
	char *digest; /* OCI_LAYOUT: else the entry with this manifest digest */
};

/*
 * Parse "NAME=DIR", "NAME=docker-image://REF" or "NAME=oci-layout://DIR[:TAG|@DIGEST]" into
 * 'out' (new strings: st_builder_context_release()). ST_E_INVALID naming what is wrong: no
 * '=', a bad name or reference, a scheme strata does not read (git, https, target:), or a
 * directory that does not exist.
 */
int st_builder_context_parse(const char *spec, struct st_builder_context *out,
			     struct st_error **err);
void st_builder_context_release(struct st_builder_context *c);

/*
 * An /etc/hosts entry for every RUN step (strata build --add-host NAME:IP). 'ip' may be
 * "host-gateway", which the build replaces with the host's address (st_runtime_host_address).
 * Only the name is part of a step's cache key, as in BuildKit: a changed address still hits.
 */
struct st_builder_host {
	const char *name;
	const char *ip;
};

/*
 * An SSH agent for RUN --mount=type=ssh,id=ID (strata build --ssh ID=PATH): 'path' is an
 * agent's socket, or a private key file, which an ssh-agent strata runs for the build holds.
 * Steps reach the agent, never the key.
 */
struct st_builder_ssh {
	const char *id;
	const char *path;
};

struct st_builder_opts {
	/* The context: a directory, or a tar stream on 'context_tar_fd' (>= 0) when NULL. */
	const char *context;
	int context_tar_fd;
	/* The Dockerfile: 'dockerfile_text' if not NULL, else the file 'dockerfile' (relative to
	 * the working directory), else <context>/Dockerfile. */
	const char *dockerfile;
	const char *dockerfile_text;
	size_t dockerfile_len;
	const char *const *tags; /* as typed ("app:1"): normalised by the engine */
	size_t n_tags;
	const char *const *build_args; /* "K=V", or "K" to take K from 'getenv' below */
	size_t n_build_args;
	const char *const *labels; /* "K=V" */
	size_t n_labels;
	const char *const *no_cache_stages; /* --no-cache-filter: stage names (or indexes) */
	size_t n_no_cache_stages;
	const char *target; /* stage name; NULL: the last stage */
	/* NULL: the host's; else "os/arch[/variant],...": each platform is built, several make
	 * an OCI index (not type=tar or type=docker), base images must be of it. */
	const char *platform;
	enum st_runtime_net net; /* the network of RUN steps: ST_RUNTIME_NET_DEFAULT in the INIT */
	const struct st_builder_host *hosts;
	size_t n_hosts;
	/* Every RUN step's /dev/shm size in bytes (0: 64 MiB), resource limits and the cgroup
	 * its container's is made in (NULL: the runtime's choice); all part of its cache key. */
	uint64_t shm_size;
	const struct st_runtime_rlimit *ulimits;
	size_t n_ulimits;
	const char *cgroup_parent;
	/* "KEY=VALUE" (or "manifest:KEY=VALUE") annotations on the image's manifest. */
	const char *const *annotations;
	size_t n_annotations;
	const char *runtime; /* "runc" (NULL), "crun" or a path */
	const struct st_builder_secret *secrets;
	size_t n_secrets;
	const struct st_builder_ssh *ssh;
	size_t n_ssh;
	unsigned jobs;		   /* stages built at once; 0: the number of online CPUs */
	unsigned flags;		   /* enum st_builder_flags */
	int64_t source_date_epoch; /* seconds; with ST_BUILDER_SOURCE_DATE_EPOCH */
	enum st_builder_pull pull;
	const struct st_registry_opts *registry; /* for pulls and pushes; NULL: the defaults */
	/* BuildKit's --cache-from and --cache-to: "type=local,src=DIR", "type=registry,ref=R"
	 * (a bare reference means that), "type=local,dest=DIR,mode=max". */
	const char *const *cache_from;
	size_t n_cache_from;
	const char *const *cache_to;
	size_t n_cache_to;
	struct st_builder_progress progress;
	struct st_events pull_events; /* the layers of the images the build pulls, as pull's */
	const struct st_builder_context *contexts; /* --build-context; borrowed */
	size_t n_contexts;
	/* Where the result goes; none: one IMAGE output. Borrowed. */
	const struct st_builder_output *outputs;
	size_t n_outputs;
	/* --sbom, --provenance, --attest: attestations make the image an index, also of one
	 * platform, with an attestation manifest beside each image (IMAGE and OCI outputs). */
	struct st_attest_opts attest;
};

#define ST_BUILDER_OPTS_INIT                                                                       \
	{                                                                                          \
		.context_tar_fd = -1, .net = ST_RUNTIME_NET_DEFAULT                                \
	}

/* One platform's image of a multi-platform build. */
struct st_builder_platform_image {
	struct st_platform platform;
	struct st_digest id;
};

struct st_builder_result {
	bool has_image;	     /* an image was made (not only a LOCAL or TAR output) */
	struct st_digest id; /* then: the image id (config digest) */
	/* A build of several platforms: the digest of the OCI index of their images (what
	 * BuildKit's containerimage.digest and --iidfile name); "" when none was made. */
	struct st_digest index;
	/* ... and then each platform's image, recorded in the store, in the index's order. */
	struct st_builder_platform_image *images;
	size_t n_images;
	size_t steps, cached; /* steps executed or hit, for a summary */
	/* New: what BuildKit's --metadata-file holds, as a JSON object ("containerimage.digest",
	 * "containerimage.config.digest", "containerimage.descriptor", "image.name"); "{}" when
	 * no image was made. Free with st_builder_result_release(). */
	char *metadata;
};

void st_builder_result_release(struct st_builder_result *res);

/*
 * Build. 's' is used by the calling thread; stages built in parallel open their own handles
 * on st_store_root(s). BuildKit's build checks run first, each finding a WARNING event; with
 * check=error=true among the Dockerfile's directives (or the BUILDKIT_DOCKERFILE_CHECK build
 * arg) a finding fails the build before any step ("lint violation found for rules: ...").
 * With ST_BUILDER_CHECK nothing more happens and 'res' is untouched. On success each output is
 * written: an IMAGE output records the image and points every tag (or its names) at it, then
 * pushes it if asked; the other outputs record no image. On failure no image is recorded and
 * no tag moves (a failed push leaves the image recorded); the cache keeps the steps that
 * succeeded. LOCAL and TAR need st_snapshot_private_ns() first, as st_local_image_export() does.
 * Errors: ST_E_PARSE (Dockerfile), ST_E_NOTFOUND (a base image, a COPY source, a target),
 * ST_E_RUNTIME (a RUN failed: "process \"/bin/sh -c false\" did not complete successfully:
 * exit code: 1", or the runtime could not start), ST_E_INVALID (a bad flag or instruction).
 */
int st_builder_run(struct st_store *s, const struct st_builder_opts *o,
		   struct st_builder_result *res, struct st_error **err);

/* ---- the build cache ------------------------------------------------------------------------ */

/*
 * A cache record is "dangling" when no image in the store was built through its step: the
 * image was removed, the build failed after it, or nothing was ever tagged from it. Records
 * an image was built through are "in use": a rebuild of that image hits them. Only dangling
 * records are reclaimable by a default prune (Docker's builder prune without --all).
 */
struct st_builder_cache_record {
	char *id;	   /* the step's cache key, or the cache mount's directory (hex); owned */
	const char *type;  /* BuildKit's record type: "regular" (a step), "exec.cachemount" */
	char *description; /* the step's instruction; NULL for a cache mount; owned */
	uint64_t size;	   /* the bytes of the layer the step added (0: config only), or on disk */
	int64_t last_used; /* microseconds */
	bool reclaimable;  /* dangling step; cache mount no step uses now */
};

struct st_builder_cache_usage {
	size_t records;
	uint64_t size;	      /* the layers' bytes the records keep (their recorded sizes) */
	uint64_t reclaimable; /* of that, the reclaimable records' */
	uint64_t meta_size;   /* context checksums, miss explanations and file lists (kv) */
	int64_t last_used;    /* the most recent use, microseconds; 0 when empty */
	struct st_builder_cache_record *v; /* most recently used first */
};

/* Which records st_builder_cache_du() reports, as buildx du --filter selects them. */
struct st_builder_cache_filter {
	const char *type; /* NULL: any; else the record type */
	const char *id;	  /* NULL: any; else a prefix of the record's id */
	int64_t until;	  /* 0: any; else only records last used before this (microseconds) */
};

/*
 * `strata builder du` and the build cache of `strata system df`: the step records and the
 * RUN --mount=type=cache directories, those 'filter' (may be NULL) selects. 'out' is filled
 * with new data: st_builder_cache_usage_release().
 */
int st_builder_cache_du(struct st_store *s, const struct st_builder_cache_filter *filter,
			struct st_builder_cache_usage *out, struct st_error **err);
void st_builder_cache_usage_release(struct st_builder_cache_usage *u);

enum st_builder_prune_flags {
	ST_BUILDER_PRUNE_ALL = 1 << 0, /* every record, not only the dangling ones */
};

/*
 * `strata builder prune`: drop the dangling cache records (ST_BUILDER_PRUNE_ALL: all records),
 * least recently used first, until the records left total at most 'keep_bytes' (0: no
 * limit, drop every candidate); then forget what the build keeps beside the records (the
 * checksums and miss explanations of contexts that no longer exist, file lists no
 * explanation refers to; with ST_BUILDER_PRUNE_ALL and no 'keep_bytes', all of it) and collect
 * the layers nothing else needs. Without 'keep_bytes' the RUN --mount=type=cache directories no
 * running step uses go too (they have no size budget of their own). *removed and *freed (may be
 * NULL) receive the records and directories removed and the bytes freed on disk.
 */
int st_builder_cache_prune(struct st_store *s, unsigned flags, uint64_t keep_bytes, size_t *removed,
			   uint64_t *freed, struct st_error **err);

/*
 * Apply a config-only instruction (ENV, LABEL, EXPOSE, VOLUME, USER, WORKDIR, CMD, ENTRYPOINT,
 * SHELL, STOPSIGNAL, MAINTAINER, ONBUILD, HEALTHCHECK, ARG) to 'cfg' as a build step does;
 * 'words' are the instruction's arguments expanded (st_dockerfile_instr_expand). *cmd_set says
 * whether a CMD was given since the base image (an ENTRYPOINT resets only an inherited CMD).
 * *created_by is new: the history line BuildKit writes. For WORKDIR, *mkdir is new and names
 * the directory a build creates when the image lacks it (else NULL). ST_E_INVALID for any
 * other instruction.
 */
int st_builder_config_apply(struct st_image_config *cfg, const struct st_dockerfile_instr *in,
			    char **words, size_t nw, bool *cmd_set, char **created_by, char **mkdir,
			    struct st_error **err);

#endif
