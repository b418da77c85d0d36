/*
 * registry.h: the client side of the OCI distribution API, and pull and push between a
 * registry and the store.
 *
 * A struct st_registry talks to any number of registries: it resolves "docker.io" to Docker
 * Hub's API host, answers each registry's authentication challenge (Basic, or a Bearer token
 * fetched from the realm the challenge names, with the scope of the request) with the
 * credentials `strata login` saved or Docker's config.json holds, caches tokens per registry
 * and scope, and reaches loopback registries (and every registry with tls_verify off) over
 * plain HTTP when they do not speak TLS, as Docker does for 127.0.0.0/8.
 */
#ifndef ST_REGISTRY_REGISTRY_H
#define ST_REGISTRY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest/digest.h"
#include "http/http.h"
#include "image/image.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/events.h"

/* The media types asked for when resolving a reference, most wanted first. */
#define ST_REGISTRY_ACCEPT                                                                         \
	"application/vnd.oci.image.index.v1+json, "                                                \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                              \
	"application/vnd.oci.image.manifest.v1+json, "                                             \
	"application/vnd.docker.distribution.manifest.v2+json"

/* The largest manifest or index accepted (the distribution registry's own limit). */
#define ST_REGISTRY_MANIFEST_MAX (4u << 20)

/*
 * New: the registries file: $STRATA_REGISTRIES_CONF, else /etc/strata/registries.json. JSON
 * with Docker daemon.json's keys: "insecure-registries" (hosts reached without TLS
 * verification, over plain HTTP when they do not speak TLS), "registry-mirrors" (URLs tried
 * before Docker Hub for pulls), and strata's "certs-dirs" (where <host>/NAME.crt, client.cert and
 * client.key are found; default /etc/strata/certs.d, /etc/docker/certs.d,
 * /etc/containers/certs.d) and "upload-chunk-size" (bytes: a bigger blob is pushed in PATCH
 * chunks of this size; default 64 MiB).
 */
char *st_registry_hosts_file(void);

struct st_registry_opts {
	const char *auth_file;	/* NULL: st_registry_auth_file() */
	const char *hosts_file; /* NULL: st_registry_hosts_file() */
	bool tls_verify_off;	/* accept any certificate, and plain HTTP, from every registry */
	const struct st_http_client_opts *http; /* NULL: the client's defaults */
};

struct st_registry;

/* New: free with st_registry_free(). */
struct st_registry *st_registry_new(const struct st_registry_opts *o, struct st_error **err);
void st_registry_free(struct st_registry *r);
void st_registry_freep(struct st_registry **r);

/* ---- credentials -------------------------------------------------------------------------- */

/*
 * New: the credentials file: $REGISTRY_AUTH_FILE, else Docker's config.json
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), in Docker's format and with its
 * credential helpers (credHelpers, credsStore); Docker's own file is read after another one.
 */
char *st_registry_auth_file(void);
/* The key credentials are filed under: "https://index.docker.io/v1/" for Docker Hub. Static. */
const char *st_registry_auth_key(const char *domain);
/*
 * Check 'user' and 'password' against the registry 'domain' (GET /v2/ with them) and save them
 * in the auth file. ST_E_INVALID ("unauthorized: ...") when the registry refuses them.
 */
int st_registry_login(struct st_registry *r, const char *domain, const char *user,
		      const char *password, struct st_error **err);
/* Forget the credentials of 'domain'. ST_E_NOTFOUND when there were none. */
int st_registry_logout(struct st_registry *r, const char *domain, struct st_error **err);

/* ---- the API ------------------------------------------------------------------------------ */

struct st_registry_manifest {
	struct st_buf bytes;	 /* exactly as served */
	char *media_type;	 /* the response's Content-Type (or the document's mediaType) */
	struct st_digest digest; /* sha256 of the bytes, checked against what was asked for */
};
void st_registry_manifest_release(struct st_registry_manifest *m);

/*
 * Fetch the manifest or index that 'ref' names: its digest if it has one, else its tag
 * ("latest" when neither). The bytes are verified against the digest asked for, and against
 * the Docker-Content-Digest header when the registry sends one. ST_E_NOTFOUND when the
 * registry does not know it, ST_E_DIGEST when the bytes do not match.
 */
int st_registry_get_manifest(struct st_registry *r, const struct st_image_ref *ref,
			     struct st_registry_manifest *out, struct st_error **err);
/* Same, for the manifest 'digest' of ref's repository. */
int st_registry_get_manifest_digest(struct st_registry *r, const struct st_image_ref *ref,
				    const struct st_digest *digest,
				    struct st_registry_manifest *out, struct st_error **err);
/* Upload a manifest under ref's tag (or its digest when it has no tag). */
int st_registry_put_manifest(struct st_registry *r, const struct st_image_ref *ref,
			     const char *media_type, const void *bytes, size_t len,
			     struct st_error **err);

/* Whether ref's repository has blob 'digest'. */
int st_registry_blob_exists(struct st_registry *r, const struct st_image_ref *ref,
			    const struct st_digest *digest, bool *exists, struct st_error **err);
/*
 * Stream blob 'digest' of ref's repository to 'sink' (a dropped transfer resumes). The
 * caller verifies the digest of what it received. ST_E_NOTFOUND when absent.
 */
int st_registry_get_blob(struct st_registry *r, const struct st_image_ref *ref,
			 const struct st_digest *digest, const struct st_http_sink *sink,
			 struct st_error **err);
/*
 * Upload a blob of 'size' bytes read from 'body' (which must rewind, for retries). When
 * 'mount_from' names another repository of the same registry holding the blob, a cross-
 * repository mount is asked for first and nothing is uploaded if the registry grants it.
 */
int st_registry_push_blob(struct st_registry *r, const struct st_image_ref *ref,
			  const struct st_digest *digest, const struct st_http_body_reader *body,
			  const char *mount_from, bool *mounted, struct st_error **err);
/* The tags of ref's repository (every page). *tags is a new array of *n new strings. */
int st_registry_tags(struct st_registry *r, const struct st_image_ref *ref, char ***tags, size_t *n,
		     struct st_error **err);

/* ---- pull and push ------------------------------------------------------------------------ */

struct st_registry_pull_opts {
	const struct st_platform *platform; /* NULL: the host's */
	struct st_events events;
	unsigned jobs; /* layers downloaded at once; 0: 3 */
};

struct st_registry_pull_result {
	struct st_digest id;	 /* the image id (config digest) */
	struct st_digest digest; /* what the reference resolved to: index or manifest */
	char *name;		 /* the reference recorded ("docker.io/library/x:1"), or NULL */
	bool downloaded;	 /* false: every blob was already in the store */
};
void st_registry_pull_result_release(struct st_registry_pull_result *res);

/*
 * Pull 'ref' into the store: resolve it, choose the platform from an index (an error lists
 * the platforms there are when none fits), fetch the config and every layer the store lacks,
 * several at a time, each verified against its digest (and its diff_id) before it becomes
 * visible; two processes pulling the same blob download it once. The manifest is stored as
 * served, so the image's digest is the registry's; the tag (when 'ref' has one) points at the
 * image and "repo@digest" is recorded among its RepoDigests. The image's cosign signatures
 * (the "sha256-<hex>.sig" tag), when there are some, come with it (ST_MT_COSIGN_SIGNATURES).
 */
int st_registry_pull(struct st_store *s, struct st_registry *r, const struct st_image_ref *ref,
		     const struct st_registry_pull_opts *o, struct st_registry_pull_result *out,
		     struct st_error **err);

/*
 * Upload the store's blob 'd' to dest's repository unless it is there: mounted from another
 * repository of the registry that the store knows holds it, else uploaded. 'ev' (may be NULL)
 * hears "Layer already exists", "Pushing", "Pushed" or "Mounted from R".
 */
int st_registry_push_store_blob(struct st_store *s, struct st_registry *r,
				const struct st_image_ref *dest, const struct st_digest *d,
				const struct st_events *ev, struct st_error **err);

struct st_registry_push_result {
	struct st_digest digest; /* the manifest's digest */
	uint64_t size;		 /* the manifest's size */
};

/*
 * Push the store's image 'image_id' to 'dest' (a tag, or its digest): every layer blob the
 * repository lacks, the config, then the manifest, byte for byte as stored; then the image's
 * signatures (ST_MT_COSIGN_SIGNATURES) when the store holds some. Records
 * "repo@digest" among the image's RepoDigests.
 */
int st_registry_push(struct st_store *s, struct st_registry *r, const char *image_id,
		     const struct st_image_ref *dest, const struct st_events *events,
		     struct st_registry_push_result *out, struct st_error **err);

/* ---- manifest lists kept in the store ------------------------------------------------------ */

/*
 * A manifest list (`strata manifest create`, as `docker manifest` makes them) is an OCI index
 * kept in the store under a name of its own. The name resolves to the index, and to the image
 * of its first entry, as a name pulled through an index does; the index lists each image by
 * its manifest digest; edges keep every manifest, with its config and layers, while the list
 * is kept. An image is named as a person types it: the store's image of that name (or id),
 * else the registry's, which is pulled into the store by digest (no tag is set).
 */

/* How an entry of a list is described; NULL (or n == 0) keeps what the entry says. */
struct st_registry_list_edit {
	const char *os, *architecture, *variant, *os_version;
	char *const *os_features; /* replace the entry's */
	size_t n_os_features;
	char *const *annotations; /* "key=value", added to the entry's */
	size_t n_annotations;
};

/*
 * The index the list 'name' (normalised) points at: its bytes appended to 'bytes' (may be
 * NULL), its digest in *digest (may be NULL). ST_E_NOTFOUND "no such manifest list" when no
 * name of the store resolves to an index.
 */
int st_registry_list_get(struct st_store *s, const char *name, struct st_buf *bytes,
			 struct st_digest *digest, struct st_error **err);

enum st_registry_list_flags {
	ST_REGISTRY_LIST_AMEND = 1 << 0, /* add to the list of that name if there is one */
};
/*
 * Make the list 'name' (normalised) of the 'n' images. ST_E_INVALID when 'name' is already
 * a list (without ST_REGISTRY_LIST_AMEND) or an image.
 */
int st_registry_list_create(struct st_store *s, struct st_registry *r, const char *name,
			    const char *const *images, size_t n, unsigned flags,
			    struct st_error **err);
/*
 * Add 'image' to the list 'name', replacing its entry when it has one; 'e' (may be NULL)
 * describes the entry (when the image is an index of a registry, its platform chooses the
 * manifest, the host's otherwise).
 */
int st_registry_list_add(struct st_store *s, struct st_registry *r, const char *name,
			 const char *image, const struct st_registry_list_edit *e,
			 struct st_error **err);
/*
 * Describe the entry of 'image' (a name, or a manifest digest) in the list 'name'.
 * ST_E_NOTFOUND when the list has no entry for it.
 */
int st_registry_list_annotate(struct st_store *s, struct st_registry *r, const char *name,
			      const char *image, const struct st_registry_list_edit *e,
			      struct st_error **err);
/* Forget the list 'name' (its images stay). ST_E_NOTFOUND "no such manifest list". */
int st_registry_list_remove(struct st_store *s, const char *name, struct st_error **err);

/*
 * Push the store's index 'digest' to 'dest' (a tag, or its digest): each manifest it lists with
 * its blobs (by digest), then the index, byte for byte as stored. 'events' hears each
 * manifest pushed ("Pushed ref REPO@DIGEST").
 */
int st_registry_push_index(struct st_store *s, struct st_registry *r,
			   const struct st_digest *digest, const struct st_image_ref *dest,
			   const struct st_events *events, struct st_registry_push_result *out,
			   struct st_error **err);

/* ---- referrers (OCI 1.1) ------------------------------------------------------------------ */

/*
 * The artifacts about the manifest (or index) 'subject' of ref's repository, as an OCI index of
 * their descriptors appended to 'out' (JSON): from the referrers API where the registry has
 * it, else from the fallback tag "sha256-<hex>" that clients keep (none: an empty index).
 * 'artifact_type' (may be NULL) keeps those of that type only.
 */
int st_registry_referrers(struct st_registry *r, const struct st_image_ref *ref,
			  const struct st_digest *subject, const char *artifact_type,
			  struct st_buf *out, struct st_error **err);

/*
 * Push the artifact manifest 'bytes' (whose subject is 'subject') to ref's repository by its
 * digest, and add it to the subject's fallback tag when the registry does not index subjects
 * itself. Its blobs must be there already.
 */
int st_registry_push_referrer(struct st_registry *r, const struct st_image_ref *ref,
			      const struct st_digest *subject, const void *bytes, size_t len,
			      struct st_error **err);

struct st_registry_artifact {
	const char *artifact_type;
	const char *const *files; /* each a blob of the artifact, titled with its base name */
	size_t n_files;
	char *const *annotations; /* "key=value": the manifest's */
	size_t n_annotations;
};
/*
 * Push artifact 'a' about what 'ref' names (its manifest or index), as `oras attach` does: its
 * files, an OCI manifest with the empty config and 'ref' as its subject (by digest), and, when
 * the registry does not index the subject itself (no OCI-Subject answer), the artifact's entry
 * in the fallback tag's index. *digest receives the artifact manifest's digest.
 */
int st_registry_attach(struct st_registry *r, const struct st_image_ref *ref,
		       const struct st_registry_artifact *a, struct st_digest *digest,
		       struct st_error **err);

/* ---- an image read in place ------------------------------------------------------------- */

/*
 * An image of a registry read without the store (strata dive docker://REF): its config, and
 * its layers one at a time, each downloaded to an unlinked temporary file ($TMPDIR) and checked
 * against its digest before it is read. 'platform' (NULL: the host's) picks from an index.
 */
struct st_registry_image;
int st_registry_image_open(struct st_registry *r, const struct st_image_ref *ref,
			   const struct st_platform *platform, struct st_registry_image **out,
			   struct st_error **err);
/* The image's config and layers as the analysis and the SBOM stream them, borrowed from 'img'. */
struct st_local_layers;
void st_registry_image_layers(struct st_registry_image *img, struct st_local_layers *out);
/* The image as a copy reads it (borrowed from 'img'): its manifest as served, blobs by digest. */
struct st_local_source;
void st_registry_image_source(struct st_registry_image *img, struct st_local_source *out);
void st_registry_image_free(struct st_registry_image *img);
void st_registry_image_freep(struct st_registry_image **img);

#endif
