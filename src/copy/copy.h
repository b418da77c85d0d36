/*
 * copy.h: an image from one place to another, named as skopeo names them.
 *
 *   docker://REF            a registry (REF as `docker pull` takes it)
 *   oci:DIR[:NAME]          an OCI image layout directory; NAME is an index entry's ref.name
 *   oci-archive:FILE[:NAME] the same as a tar
 *   docker-archive:FILE[:REF] what `docker save` writes and `docker load` reads
 *   strata:REF, or REF      the store
 *
 * Between any of those but the store, each blob streams from one side to the other, checked
 * against its digest on the way, and the manifest keeps its bytes, so the image keeps its
 * digest. A docker-archive without an OCI layout beside its manifest.json has no manifest of
 * its own: one is made, its uncompressed layers gzipped on the way to anything but another
 * docker-archive, as skopeo does. A copy from or to the store is verified and written by the
 * same code as pull, load, push and save (each layer also checked against the config's
 * diff_ids); --all from a registry to a registry passes through a private store made for the
 * copy under the store's tmp/ (gone when the copy ends, or at the next gc if it is killed).
 */
#ifndef ST_COPY_COPY_H
#define ST_COPY_COPY_H

#include "digest/digest.h"
#include "image/image.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/err.h"

enum st_copy_kind {
	ST_COPY_STORE,
	ST_COPY_DOCKER,
	ST_COPY_OCI,
	ST_COPY_OCI_ARCHIVE,
	ST_COPY_DOCKER_ARCHIVE,
};

struct st_copy_ref {
	enum st_copy_kind kind;
	char *path;		  /* OCI and archives: the directory or file */
	char *name;		  /* the image's name there, or NULL (the only one; untagged) */
	struct st_image_ref *ref; /* DOCKER: the parsed reference */
};

/*
 * Parse "TRANSPORT:..." as above into *out (release it with st_copy_ref_release()). A string
 * without a known transport is a name in the store. ST_E_INVALID naming the transport for a
 * bad one ("docker://: expected a reference").
 */
int st_copy_ref_parse(const char *s, struct st_copy_ref *out, struct st_error **err);
void st_copy_ref_release(struct st_copy_ref *r);
/* "docker", "oci", "oci-archive", "docker-archive" or "strata". Static. */
const char *st_copy_kind_name(enum st_copy_kind k);

struct st_copy_opts {
	struct st_registry *src_registry;   /* needed when the source is DOCKER */
	struct st_registry *dest_registry;  /* needed when the destination is DOCKER */
	const struct st_platform *platform; /* from an index: NULL for the host's */
	struct st_events events;	    /* progress of pulls and pushes */
	/* From a registry's index: every image it lists, and the index, to a registry, an OCI
	 * layout or archive, or the store (skopeo's --all). A source that is one image copies
	 * that image. */
	bool all;
	/* From a registry's index to a registry: the index alone, as served (skopeo's
	 * --multi-arch index-only); the registry may refuse it without the images it lists. */
	bool index_only;
};

struct st_copy_result {
	struct st_digest id;	 /* the image id (config digest) */
	struct st_digest digest; /* the manifest's (or index's) digest, the same on both sides */
};

/*
 * Whether a copy from 'src' to 'dst' ('all': skopeo's --all) uses the store. One where neither
 * side is the store streams its blobs and does not, but for --all to a registry.
 */
bool st_copy_needs_store(const struct st_copy_ref *src, const struct st_copy_ref *dst, bool all);

/*
 * Copy the image 'src' names to 'dst' through the store 's' (NULL when st_copy_needs_store()
 * says it is not needed). A source with several images
 * and no name fails naming how many there are. A destination directory for OCI must not exist
 * or be empty; a destination file is replaced whole, only once the copy is complete.
 */
int st_copy(struct st_store *s, const struct st_copy_ref *src, const struct st_copy_ref *dst,
	    const struct st_copy_opts *o, struct st_copy_result *out, struct st_error **err);

#endif
