/*
 * image.h: the OCI image model: references (name[:tag][@digest], docker.io normalisation),
 * platforms, media types, manifests, indexes (manifest lists) and image configs.
 *
 * Everything here is pure: no files, no network, no store. Parsers take a JSON buffer and
 * return typed structs; serializers write deterministic bytes into an st_buf.
 *
 * Errors: ST_E_PARSE when the bytes are not JSON (or a reference string does not match the
 * grammar), ST_E_INVALID when the JSON is well-formed but breaks the schema. Messages name the
 * document and the JSON path: "manifest: layers[2].digest: invalid digest 'sha256:zz'".
 */
#ifndef ST_IMAGE_IMAGE_H
#define ST_IMAGE_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest/digest.h"
#include "util/buf.h"
#include "util/err.h"

/* ------------------------------------------------------------------------------------------ */
/* Media types */

#define ST_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ST_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define ST_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define ST_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define ST_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define ST_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define ST_MT_OCI_LAYER_NONDIST "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define ST_MT_OCI_LAYER_NONDIST_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define ST_MT_OCI_LAYER_NONDIST_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define ST_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define ST_MT_OCI_LAYOUT_VERSION "1.0.0"

#define ST_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ST_MT_DOCKER_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ST_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define ST_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define ST_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define ST_MT_DOCKER_LAYER_ZSTD "application/vnd.docker.image.rootfs.diff.tar.zstd"
#define ST_MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/*
 * cosign's signatures of an image: the artifact type they are kept under, beside the image
 * they sign; a registry (or an OCI layout's ref.name) holds them under the tag
 * "sha256-<hex of the image's digest>.sig".
 */
#define ST_MT_COSIGN_SIGNATURES "application/vnd.dev.cosign.artifact.sig.v1+json"
/* New: that tag for the signatures of the image 'digest'. */
static inline char *st_image_sig_tag(const struct st_digest *digest)
{
	return st_xasprintf("sha256-%s.sig", st_digest_hex(digest));
}

enum st_image_compression {
	ST_IMAGE_COMPRESSION_UNKNOWN = 0, /* not a layer media type */
	ST_IMAGE_COMPRESSION_NONE,
	ST_IMAGE_COMPRESSION_GZIP,
	ST_IMAGE_COMPRESSION_ZSTD,
};

/* True for the OCI and Docker layer media types (plain, gzip, zstd, non-distributable). */
bool st_image_mt_is_layer(const char *mt);
/* The compression a layer media type implies; UNKNOWN if 'mt' is not a layer type. */
enum st_image_compression st_image_mt_layer_compression(const char *mt);
/* The OCI twin of a Docker media type (manifest, list, config, layers); 'mt' itself otherwise.
 * Static. */
const char *st_image_mt_to_oci(const char *mt);

enum st_image_kind {
	ST_IMAGE_KIND_UNKNOWN = 0,
	ST_IMAGE_KIND_MANIFEST, /* OCI image manifest or Docker schema2 manifest */
	ST_IMAGE_KIND_INDEX,	/* OCI index or Docker manifest list */
};

/*
 * What a manifest-like JSON blob is: its "mediaType" decides; without one (OCI allows it)
 * "manifests" means an index and "config" a manifest. UNKNOWN for anything else, including
 * Docker schema1 and bytes that are not JSON.
 */
enum st_image_kind st_image_detect(const void *data, size_t len);

/* ------------------------------------------------------------------------------------------ */
/* References: name[:tag][@digest] */

/* A parsed, normalised reference. All strings are owned by the struct. */
struct st_image_ref {
	char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" */
	char *path;   /* "library/busybox", "a/b" */
	char *tag;    /* "latest"; NULL when none */
	char *digest; /* "sha256:<hex>"; NULL when none */
};

enum st_image_ref_flags {
	/* Do not add ":latest" to a bare name (for filters, "images busybox", pushing all tags). */
	ST_IMAGE_REF_NO_DEFAULT_TAG = 1 << 0,
	/* Refuse a tag or digest: only a repository name is wanted. */
	ST_IMAGE_REF_NAME_ONLY = 1 << 1,
};

/*
 * Parse as Docker's ParseNormalizedNamed + TagNameOnly do: "busybox" becomes
 * docker.io/library/busybox:latest, "index.docker.io" becomes "docker.io", the first component
 * is a domain only if it holds '.' or ':' or is "localhost" (or holds an upper-case letter).
 * A tag and a digest together are allowed. *out is new: st_image_ref_free().
 * ST_E_PARSE with Docker's messages: "invalid reference format", "invalid reference format:
 * repository name (library/Busybox) must be lowercase", "invalid tag format", ...
 */
int st_image_ref_parse(const char *s, struct st_image_ref **out, struct st_error **err);
int st_image_ref_parse_flags(const char *s, unsigned flags, struct st_image_ref **out,
			     struct st_error **err);
void st_image_ref_free(struct st_image_ref *r);
void st_image_ref_freep(struct st_image_ref **r);
/* New: a deep copy. */
struct st_image_ref *st_image_ref_dup(const struct st_image_ref *r);
/* New: 'r''s repository pinned to 'digest' ("sha256:..."), without r's tag. */
struct st_image_ref *st_image_ref_at_digest(const struct st_image_ref *r, const char *digest);

/* New strings (caller frees): */
/* "docker.io/library/busybox:latest@sha256:..." */
char *st_image_ref_string(const struct st_image_ref *r);
/* As `docker images` and `docker inspect` RepoTags show it: "busybox:latest", "localhost:5000/x:1"
 */
char *st_image_ref_familiar(const struct st_image_ref *r);
/* "docker.io/library/busybox" (no tag, no digest) */
char *st_image_ref_repository(const struct st_image_ref *r);
/* "busybox", "localhost:5000/x": the REPOSITORY column */
char *st_image_ref_familiar_name(const struct st_image_ref *r);

/* Borrowed (NULL when absent). */
static inline const char *st_image_ref_tag(const struct st_image_ref *r)
{
	return r->tag;
}
static inline const char *st_image_ref_digest(const struct st_image_ref *r)
{
	return r->digest;
}
static inline const char *st_image_ref_domain(const struct st_image_ref *r)
{
	return r->domain;
}
static inline const char *st_image_ref_path(const struct st_image_ref *r)
{
	return r->path;
}

/* Replace the tag (NULL removes it). ST_E_PARSE if 'tag' breaks the tag grammar. */
int st_image_ref_set_tag(struct st_image_ref *r, const char *tag, struct st_error **err);

/*
 * True if 's' looks like an image ID or ID prefix: 12 to 64 lower-case hex characters, or
 * "sha256:" followed by 1 to 64 of them. A 12-hex string can also be a repository name:
 * resolve names first, as Docker does.
 */
bool st_image_ref_is_id(const char *s);
/* True for a valid tag: [\w][\w.-]{0,127} */
bool st_image_ref_tag_valid(const char *tag);

/* ------------------------------------------------------------------------------------------ */
/* Platforms */

#define ST_PLATFORM_FIELD_MAX 64

/* A stack value; fields are "" when unset. */
struct st_platform {
	char os[ST_PLATFORM_FIELD_MAX];		  /* "linux" */
	char architecture[ST_PLATFORM_FIELD_MAX]; /* "amd64", "arm64", "arm" */
	char variant[ST_PLATFORM_FIELD_MAX];	  /* "v7"; "" when none */
	char os_version[ST_PLATFORM_FIELD_MAX];	  /* Windows builds; "" mostly */
};

/*
 * Parse "os/arch[/variant]" (also "os" alone, meaning the host's architecture, or "arch"
 * alone, meaning linux) and normalise it as containerd does: x86_64 -> amd64, aarch64 ->
 * arm64, arm64/v8 -> arm64, arm -> arm/v7, armhf -> arm/v7, i386 -> 386, macos -> darwin.
 * ST_E_INVALID with the string on failure.
 */
int st_platform_parse(const char *s, struct st_platform *out, struct st_error **err);
/* Normalise in place (see st_platform_parse). */
void st_platform_normalize(struct st_platform *p);
/* "linux/arm/v7" into 'out' (appended). */
void st_platform_format(const struct st_platform *p, struct st_buf *out);
/* The platform we run on (uname), normalised: linux/amd64, linux/arm64, linux/arm/v7 ... */
void st_platform_host(struct st_platform *out);
/*
 * Does an image built for 'have' run on 'want'? Same os and architecture (after
 * normalisation), and the variant equal, or 'want' has none, or 'want' is a newer arm
 * (arm/v7 runs v6 and v5) or amd64 (v3 runs v2 and v1) level.
 */
bool st_platform_match(const struct st_platform *want, const struct st_platform *have);
/*
 * A single image 'name' asked for with a platform must be of it: 0 when 'want' is NULL or
 * matches the image's os/arch/variant (each may be NULL), else ST_E_NOTFOUND "'NAME' is
 * linux/arm64, not linux/amd64", so a command says so rather than read another platform.
 */
int st_platform_check(const char *name, const struct st_platform *want, const char *os,
		      const char *arch, const char *variant, struct st_error **err);

/* ------------------------------------------------------------------------------------------ */
/* Descriptors, manifests, indexes */

/* A string-to-string map kept sorted by key (Go marshals maps sorted; so do we). */
struct st_image_kv {
	char *key;
	char *value;
};
struct st_image_map {
	struct st_image_kv *v;
	size_t n;
};

/* Borrowed value for 'key', NULL if absent. */
const char *st_image_map_get(const struct st_image_map *m, const char *key);
/* Set (copying both strings), replacing an existing key. */
void st_image_map_set(struct st_image_map *m, const char *key, const char *value);
/* st_image_map_set() for the 'n' pairs kv[2i] = kv[2i+1], in order, in O(n log n). */
void st_image_map_set_pairs(struct st_image_map *m, char *const *kv, size_t n);
/* Remove 'key'; true if it was there. */
bool st_image_map_del(struct st_image_map *m, const char *key);
void st_image_map_release(struct st_image_map *m);

struct st_image_descriptor {
	char *media_type;
	struct st_digest digest;
	int64_t size;
	char *artifact_type;		 /* NULL when absent */
	struct st_image_map annotations; /* n == 0 when absent */
	char **urls;			 /* n_urls strings */
	size_t n_urls;
	bool has_platform; /* index entries */
	struct st_platform platform;
};

void st_image_descriptor_release(struct st_image_descriptor *d);
/* Deep copy into *dst (which is overwritten, not released). */
void st_image_descriptor_copy(struct st_image_descriptor *dst,
			      const struct st_image_descriptor *src);

struct st_image_manifest {
	int schema_version; /* 2 */
	char *media_type;   /* as read: OCI or Docker; NULL if the input had none */
	char *artifact_type;
	struct st_image_descriptor config;
	struct st_image_descriptor *layers;
	size_t n_layers;
	struct st_image_descriptor *subject; /* NULL when absent */
	struct st_image_map annotations;
};

/* New, empty manifest (OCI media type, schemaVersion 2, config media type OCI config). */
struct st_image_manifest *st_image_manifest_new(void);
/*
 * Parse an OCI image manifest or a Docker schema2 manifest. *out is new:
 * st_image_manifest_free(). Media types are kept as read.
 */
int st_image_manifest_parse(const void *data, size_t len, struct st_image_manifest **out,
			    struct st_error **err);
/*
 * Append the manifest as OCI JSON: Docker media types of the manifest, config and layers
 * become their OCI twins (the blobs are the same bytes). Compact, fields in the order of the
 * OCI Go structs (schemaVersion, mediaType, artifactType, config, layers, subject,
 * annotations; descriptor: mediaType, digest, size, urls, annotations, platform,
 * artifactType), maps sorted by key: the same manifest gives the same bytes.
 */
void st_image_manifest_serialize(const struct st_image_manifest *m, struct st_buf *out);
/*
 * The same as a Docker schema 2 manifest (application/vnd.docker.distribution.manifest.v2+json):
 * the media types of the config and the layers are written as they are in 'm', so the caller
 * gives them their Docker names.
 */
void st_image_manifest_serialize_docker(const struct st_image_manifest *m, struct st_buf *out);
/* Add a layer descriptor (copied). */
void st_image_manifest_add_layer(struct st_image_manifest *m, const struct st_image_descriptor *d);
void st_image_manifest_free(struct st_image_manifest *m);
void st_image_manifest_freep(struct st_image_manifest **m);

struct st_image_index {
	int schema_version;
	char *media_type; /* as read */
	char *artifact_type;
	struct st_image_descriptor *manifests;
	size_t n_manifests;
	struct st_image_descriptor *subject;
	struct st_image_map annotations;
};

struct st_image_index *st_image_index_new(void);
/* Parse an OCI index or a Docker manifest list. *out is new: st_image_index_free(). */
int st_image_index_parse(const void *data, size_t len, struct st_image_index **out,
			 struct st_error **err);
/*
 * Append as an OCI index (same ordering rules as manifests). The entries' media types are
 * kept: they describe blobs whose bytes we do not change.
 */
void st_image_index_serialize(const struct st_image_index *idx, struct st_buf *out);
void st_image_index_add(struct st_image_index *idx, const struct st_image_descriptor *d);
/*
 * The entry for 'want' (borrowed), NULL with ST_E_NOTFOUND ("no matching manifest for
 * linux/arm64 in the manifest list entries") if none. An exact variant wins over a
 * compatible one (st_platform_match); attestation entries (unknown/unknown) are skipped.
 */
const struct st_image_descriptor *st_image_index_select(const struct st_image_index *idx,
							const struct st_platform *want,
							struct st_error **err);
void st_image_index_free(struct st_image_index *idx);
void st_image_index_freep(struct st_image_index **idx);

/* ------------------------------------------------------------------------------------------ */
/* Image config */

/*
 * A list of strings that knows null from empty: 'set' false means absent or null
 * (Entrypoint not given), 'set' true with n == 0 means [] (ENTRYPOINT [] clears it).
 */
struct st_image_strv {
	char **v;
	size_t n;
	bool set;
};

/* Replace the contents with a copy of v[0..n) and mark it set. */
void st_image_strv_set(struct st_image_strv *s, const char *const *v, size_t n);
/* Append a copy of 'str' and mark it set. */
void st_image_strv_push(struct st_image_strv *s, const char *str);
/* Back to unset (null). */
void st_image_strv_release(struct st_image_strv *s);
bool st_image_strv_has(const struct st_image_strv *s, const char *str);

struct st_image_healthcheck {
	struct st_image_strv test; /* ["NONE"], ["CMD", ...], ["CMD-SHELL", "..."] */
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns; /* 0: inherit */
	int64_t retries;
};

/* The "config" object: what a container of this image runs with. */
struct st_image_runconfig {
	char *user;
	struct st_image_strv exposed_ports; /* set: "80/tcp" (sorted on output) */
	struct st_image_strv env;	    /* "K=V", in order */
	struct st_image_strv entrypoint;
	struct st_image_strv cmd;
	struct st_image_strv volumes; /* set: "/data" */
	char *working_dir;
	struct st_image_map labels;
	char *stop_signal;
	bool args_escaped;
	struct st_image_healthcheck *healthcheck; /* NULL when none */
	struct st_image_strv on_build;
	struct st_image_strv shell;
};

struct st_image_history {
	char *created; /* RFC 3339 as written */
	char *created_by;
	char *author;
	char *comment;
	bool empty_layer;
};

struct st_image_config {
	char *created; /* RFC 3339 string as written; NULL when absent */
	char *author;
	char *comment; /* Docker's top-level "comment" (import -m, commit -m) */
	char *architecture;
	char *os;
	char *variant;
	char *os_version;
	struct st_image_runconfig config;
	char *rootfs_type; /* "layers" */
	struct st_digest *diff_ids;
	size_t n_diff_ids;
	struct st_image_history *history;
	size_t n_history;
	json_t *raw; /* the document as parsed (unknown fields live here); NULL for a new config */
};

/* New config: rootfs type "layers", nothing else set. */
struct st_image_config *st_image_config_new(void);
/*
 * Parse an OCI image config or a Docker image JSON. Null lists stay unset, [] stays set and
 * empty. Unknown fields (container_config, docker_version, moby.buildkit.*, ...) are kept and
 * written back by st_image_config_serialize(). *out is new: st_image_config_free().
 */
int st_image_config_parse(const void *data, size_t len, struct st_image_config **out,
			  struct st_error **err);
/*
 * Append the config as JSON. The typed fields are written over the parsed document, so unknown
 * fields survive. Top-level keys are sorted (as Docker and BuildKit write them); inside
 * "config" keys keep the input's order, new ones follow Docker's order (User, ExposedPorts,
 * Env, Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal, ArgsEscaped, Healthcheck,
 * OnBuild, Shell); maps and sets are sorted. An unset list is omitted, or kept as null if the
 * input had null. Compact, deterministic byte for byte.
 */
void st_image_config_serialize(const struct st_image_config *c, struct st_buf *out);
/* The digest of st_image_config_serialize()'s bytes: the image ID. */
void st_image_config_digest(const struct st_image_config *c, struct st_digest *out);
/* New: a deep copy (the raw document too). */
struct st_image_config *st_image_config_dup(const struct st_image_config *c);
void st_image_config_free(struct st_image_config *c);
void st_image_config_freep(struct st_image_config **c);

/* Borrowed: the value of 'key' in Env ("K=V"), NULL if not set. */
const char *st_image_config_env_get(const struct st_image_config *c, const char *key);
/* Set 'key' to 'value' in Env, replacing an existing entry in place, else appending. */
void st_image_config_env_set(struct st_image_config *c, const char *key, const char *value);
/* st_image_config_env_set() for the 'n' pairs kv[2i] = kv[2i+1], in order, in linear time. */
void st_image_config_env_set_pairs(struct st_image_config *c, char *const *kv, size_t n);
/* Append a copy of 'h' to the history. */
void st_image_config_add_history(struct st_image_config *c, const struct st_image_history *h);
void st_image_config_add_diff_id(struct st_image_config *c, const struct st_digest *d);
/* Copy of 'h' into 'dst' / deep copy of a healthcheck (NULL gives NULL). */
struct st_image_healthcheck *st_image_healthcheck_dup(const struct st_image_healthcheck *h);
void st_image_healthcheck_free(struct st_image_healthcheck *h);

/* What `docker image inspect` shows beyond the config. Borrowed strings. */
struct st_image_inspect_info {
	const char *id;		      /* "sha256:<config digest>" */
	const char *const *repo_tags; /* familiar: "busybox:latest" */
	size_t n_repo_tags;
	const char *const *repo_digests; /* "busybox@sha256:..." */
	size_t n_repo_digests;
	int64_t size;
	const char *last_tag_time; /* RFC 3339; NULL: "0001-01-01T00:00:00Z" */
};

/*
 * New: Docker's `image inspect` object for one image, fields in Docker's order: Id, RepoTags,
 * RepoDigests, Parent, Comment, Created, DockerVersion, Author, Config {Hostname, Domainname,
 * User, AttachStdin, AttachStdout, AttachStderr, ExposedPorts?, Tty, OpenStdin, StdinOnce, Env,
 * Cmd, Healthcheck?, ArgsEscaped?, Image, Volumes, WorkingDir, Entrypoint, OnBuild, Labels,
 * StopSignal?, Shell?}, Architecture, Variant?, Os, OsVersion?, Size, RootFS {Type, Layers},
 * Metadata {LastTagTime}. ("?": only when set.) GraphDriver is left out.
 */
json_t *st_image_config_inspect(const struct st_image_config *c,
				const struct st_image_inspect_info *info);

#endif
