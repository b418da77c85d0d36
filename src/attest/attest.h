/*
 * attest.h: the attestations a build attaches to its images, in BuildKit's layout.
 *
 * Each attestation is an in-toto Statement v0.1 whose subject is an image manifest: the SBOM
 * of the image (SPDX 2.3 JSON, predicate type https://spdx.dev/Document) and the SLSA v1
 * provenance of the build (https://slsa.dev/provenance/v1). The statements of one image go
 * as the layers (application/vnd.in-toto+json) of one attestation manifest, which the
 * image's index lists beside the image with platform unknown/unknown and the annotations
 * vnd.docker.reference.type=attestation-manifest and vnd.docker.reference.digest=<image>.
 */
#ifndef ST_ATTEST_ATTEST_H
#define ST_ATTEST_ATTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest/digest.h"
#include "image/image.h"
#include "store/store.h"
#include "util/err.h"

#define ST_ATTEST_MT_INTOTO "application/vnd.in-toto+json"
#define ST_ATTEST_STATEMENT_TYPE "https://in-toto.io/Statement/v0.1"
#define ST_ATTEST_PREDICATE_SPDX "https://spdx.dev/Document"
#define ST_ATTEST_PREDICATE_SLSA1 "https://slsa.dev/provenance/v1"
#define ST_ATTEST_ANN_PREDICATE "in-toto.io/predicate-type"
#define ST_ATTEST_ANN_REF_TYPE "vnd.docker.reference.type"
#define ST_ATTEST_ANN_REF_DIGEST "vnd.docker.reference.digest"
#define ST_ATTEST_REF_TYPE_MANIFEST "attestation-manifest"
/* BuildKit's buildType for SLSA v1: it names the structure of the provenance below. */
#define ST_ATTEST_BUILD_TYPE                                                                       \
	"https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"

enum st_attest_provenance {
	ST_ATTEST_PROVENANCE_NONE = 0,
	ST_ATTEST_PROVENANCE_MIN, /* no build arguments, no Dockerfile source */
	ST_ATTEST_PROVENANCE_MAX, /* with both */
};

/* What a build attaches. */
struct st_attest_opts {
	bool sbom;
	enum st_attest_provenance provenance;
	const char *builder_id; /* runDetails.builder.id; NULL: strata's own */
};

/* Whether 'o' (may be NULL) asks for any attestation. */
bool st_attest_wanted(const struct st_attest_opts *o);

/*
 * Parse one --attest value, as buildx does: "type=sbom[,generator=IMAGE]" or
 * "type=provenance[,mode=min|max][,builder-id=URI]", also "type=...,disabled=true". The
 * SBOM's generator is strata's own cataloguer: a generator named is not run, and *warning
 * (new, may be set to NULL) says so. ST_E_INVALID naming the bad key or value. Strings set in
 * 'o' point into 'spec'.
 */
int st_attest_parse(char *spec, struct st_attest_opts *o, char **warning, struct st_error **err);
/* --sbom=VALUE: "true", "false", or the keys of type=sbom. */
int st_attest_parse_sbom(char *value, struct st_attest_opts *o, char **warning,
			 struct st_error **err);
/* --provenance=VALUE: "true", "false", "min", "max", or the keys of type=provenance. */
int st_attest_parse_provenance(char *value, struct st_attest_opts *o, struct st_error **err);

/* A resolved dependency of a build: a base image ("pkg:docker/alpine@3.19?platform=...")
 * with its manifest digest, or the Dockerfile. */
struct st_attest_material {
	char *uri;
	struct st_digest digest;
};

/* What a build's provenance says about it. Strings are new: st_attest_build_release(). */
struct st_attest_build {
	char *dockerfile_name; /* as the build named it: "Dockerfile" */
	struct st_digest dockerfile_digest;
	char *dockerfile_source; /* its text (mode=max) */
	char *context;		 /* a remote context's URL; NULL for a local one */
	char *target;		 /* NULL: the last stage */
	char **args;		 /* "K=V", as given (mode=max) */
	size_t n_args;
	struct st_platform platform;	     /* what the image is for */
	struct st_platform builder_platform; /* what built it */
	struct st_attest_material *materials;
	size_t n_materials;
	char *invocation_id;
	int64_t started, finished; /* seconds since the epoch */
};

/* Add a material once ('uri' and 'digest' copied). */
void st_attest_build_add_material(struct st_attest_build *b, const char *uri,
				  const struct st_digest *digest);
void st_attest_build_release(struct st_attest_build *b);

/*
 * The purl BuildKit names an image by in a statement: "pkg:docker/app@1?platform=linux%2Famd64"
 * (the familiar name, "@latest" by default; a digest when 'ref' has no tag). New.
 */
char *st_attest_purl(const struct st_image_ref *ref, const struct st_platform *p);

/*
 * A new in-toto Statement v0.1 about 'subject' (a manifest digest), named by 'names' (n
 * purls; none: "_", as BuildKit names an unnamed image), of 'predicate_type', with
 * 'predicate' (stolen).
 */
json_t *st_attest_statement(const char *predicate_type, const struct st_digest *subject,
			    const char *const *names, size_t n, json_t *predicate);

/* A new SLSA v1 provenance predicate of 'b' in 'mode' (MIN or MAX). */
json_t *st_attest_provenance(const struct st_attest_build *b, enum st_attest_provenance mode,
			     const char *builder_id);

/* One attestation manifest, written into the store. */
struct st_attest_manifest {
	struct st_image_descriptor desc; /* the index's entry: unknown/unknown, annotations */
	char **blobs;			 /* its config and layers' digests, for the store's edges */
	size_t n_blobs;
};
void st_attest_manifest_release(struct st_attest_manifest *m);

/*
 * Write the attestations 'o' asks for about the image 'img' (its blobs in the store: the SBOM
 * is read from its layers) as blobs under 'lease': each statement, a config and the
 * attestation manifest, whose entry for the index goes to *out. 'names' (n, normalised
 * references, may be none) name the subject; 'b' feeds the provenance.
 */
int st_attest_write(struct st_store *s, const struct st_attest_opts *o,
		    const struct st_attest_build *b, const struct st_store_image *img,
		    const char *const *names, size_t n, struct st_store_lease *lease,
		    struct st_attest_manifest *out, struct st_error **err);

/* A file of a type=local or type=tar output: a subject of the statements written beside it. */
struct st_attest_subject {
	char *name; /* relative to the output's root, as BuildKit names it: "bin/sh" */
	struct st_digest digest;
};
void st_attest_subjects_free(struct st_attest_subject *v, size_t n);

/*
 * The regular files under the directory 'root' (symbolic links not followed), each with its
 * digest, in the order BuildKit's walk of an output finds them (names sorted bytewise at each
 * level). *out is new (st_attest_subjects_free()).
 */
int st_attest_subjects(const char *root, struct st_attest_subject **out, size_t *n,
		       struct st_error **err);

/* One statement as a file beside an output's files. */
struct st_attest_file {
	char *name; /* "sbom.spdx.json", "provenance.json", after the prefix */
	char *text; /* the in-toto statement, indented as BuildKit writes it */
};
void st_attest_files_free(struct st_attest_file *v, size_t n);

/*
 * The statements 'o' asks for about the files 'subjects' (n) of the image 'img' (its blobs in
 * the store: the SBOM is read from its layers), as BuildKit's local and tar exporters write
 * them instead of an attestation manifest: the SBOM as "sbom.spdx.json", the provenance as
 * "provenance.json", each name after 'prefix' (its attestation-prefix, may be NULL) and, when
 * 'platform' is not NULL (several platforms' files in one tree), with ".<platform>" before
 * ".json" ("provenance.linux_arm64.json"). *out is new (st_attest_files_free()), *nout of them.
 */
int st_attest_files(struct st_store *s, const struct st_attest_opts *o,
		    const struct st_attest_build *b, const struct st_store_image *img,
		    const struct st_attest_subject *subjects, size_t n, const char *prefix,
		    const char *platform, struct st_attest_file **out, size_t *nout,
		    struct st_error **err);

/*
 * The attestation manifests that the index 'index' (bytes) lists for the manifest 'subject'
 * (NULL: for any): their digests, in the index's order. *out is a new vector
 * (st_strv_free()). ST_E_PARSE when 'index' is not an index.
 */
int st_attest_for(const char *index, size_t len, const char *subject, char ***out, size_t *n,
		  struct st_error **err);

/* One statement attached to an image in the store. */
struct st_attest_entry {
	struct st_digest manifest; /* the attestation manifest holding it */
	struct st_digest digest;   /* the statement's blob */
	int64_t size;
	char *predicate_type; /* from the layer's annotation */
};
void st_attest_entries_free(struct st_attest_entry *v, size_t n);

/*
 * The statements attached to the image 'subject' (a manifest digest) by the index that the
 * store's name 'name' points at, in the index's order: none when 'name' names no index.
 * *out is new (st_attest_entries_free()).
 */
int st_attest_list(struct st_store *s, const char *name, const struct st_digest *subject,
		   struct st_attest_entry **out, size_t *n, struct st_error **err);

/* The predicate of statement 'e', read and verified from the store. *out is new. */
int st_attest_predicate(struct st_store *s, const struct st_attest_entry *e, json_t **out,
			struct st_error **err);

#endif
