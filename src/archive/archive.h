/*
 * archive.h: images to and from files: `docker save`/`docker load` archives, OCI image layout
 * directories and OCI archives (an OCI layout as a tar).
 *
 * What `save` writes, for every format, is one OCI image layout (oci-layout, index.json,
 * blobs/sha256/<hex> for each manifest, config and layer, written once however many images
 * share it). The docker-archive format adds Docker's manifest.json and repositories next to it,
 * as Docker 25 does, so one archive serves `docker load`, skopeo's docker-archive transport and
 * OCI tools. Layers are written as stored (compressed). index.json entries carry
 * org.opencontainers.image.ref.name = the familiar name ("busybox:latest", which skopeo's
 * oci:DIR:busybox:latest looks up) and io.containerd.image.name = the full name.
 *
 * `load` reads a tar (plain or compressed) in one pass: every regular entry is streamed into
 * the store as it comes (small ones are kept in memory until they are known to be needed), so
 * manifest.json may come last. Every blob is verified against its digest, and every layer's
 * uncompressed content against the config's rootfs.diff_ids. Configs and manifests are stored
 * as the archive's own bytes, so image ids and manifest digests survive a round trip.
 */
#ifndef ST_ARCHIVE_ARCHIVE_H
#define ST_ARCHIVE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "digest/digest.h"
#include "image/image.h"
#include "layer/layer.h"
#include "store/store.h"
#include "util/err.h"
#include "util/events.h"

enum st_archive_format {
	ST_ARCHIVE_UNKNOWN = 0,
	ST_ARCHIVE_DOCKER,	/* a tar with manifest.json (old Docker, Docker 25+, skopeo) */
	ST_ARCHIVE_OCI_ARCHIVE, /* a tar holding an OCI layout, without manifest.json */
	ST_ARCHIVE_OCI_DIR,	/* an OCI layout directory */
};

/* "docker-archive", "oci-archive", "oci-dir" into *out; ST_E_INVALID otherwise. */
int st_archive_format_parse(const char *s, enum st_archive_format *out, struct st_error **err);
/* Borrowed, static: the name st_archive_format_parse() takes ("unknown" for UNKNOWN). */
const char *st_archive_format_name(enum st_archive_format f);

/*
 * The format of a tar from the names of its entries (normalised: no leading "./"):
 * manifest.json makes it DOCKER, else index.json makes it OCI_ARCHIVE, else UNKNOWN.
 */
enum st_archive_format st_archive_detect_names(const char *const *names, size_t n);

/*
 * The format of 'path': a directory with index.json (or oci-layout) is OCI_DIR; a file is
 * read as a tar far enough to decide (the whole tar when manifest.json comes last).
 * ST_E_NOTFOUND if 'path' does not exist; ST_E_PARSE if it is not a tar; UNKNOWN for a tar
 * that is neither format.
 */
int st_archive_detect_path(const char *path, enum st_archive_format *out, struct st_error **err);

/*
 * Normalise an archive entry name: leading "./" and "/"-runs removed, "." components dropped,
 * trailing '/' removed. *out is new. ST_E_INVALID for an absolute name or a '..' component
 * ("archive entry '../x': path escapes the archive"). "" is the archive root.
 */
int st_archive_entry_name(const char *raw, char **out, struct st_error **err);

/* ---- save ---- */

struct st_archive_save_opts {
	enum st_archive_format format; /* DOCKER, OCI_ARCHIVE or OCI_DIR */
	const char *const *names;      /* images as a person typed them: name[:tag], id */
	size_t n_names;
	/*
	 * NULL, or the one name the image (there must be one) is saved under instead of its own,
	 * as skopeo's oci:DIR:NAME and docker-archive:FILE:REF write it: an OCI index entry's
	 * org.opencontainers.image.ref.name exactly as given, Docker's RepoTags as a reference.
	 */
	const char *as_name;
	/* An image whose blobs are in the store but which is not recorded there (a build's
	 * export, st_local_image_write()), saved first, under 'image_names' (normalised; none:
	 * untagged). Borrowed; NULL: none. */
	const struct st_store_image *image;
	const char *const *image_names;
	size_t n_image_names;
	/* With 'image': the index of platforms it is one of (its blob and every platform's in
	 * the store), saved in its place, whole. NULL: none. */
	const struct st_digest *image_index;
	/* Each layer as it is written: "Saving" with its bytes, then "Saved"; the id is the
	 * layer's short digest. */
	struct st_events events;
};

/*
 * Write the images of 'o' as a tar (DOCKER or OCI_ARCHIVE) to 'fd' (borrowed; not closed).
 * A name without a tag saves every tag of that repository, as Docker does; an id saves the
 * image untagged. ST_E_NOTFOUND "No such image: <name>". Blobs are verified as they stream.
 */
int st_archive_save_fd(struct st_store *s, const struct st_archive_save_opts *o, int fd,
		       struct st_error **err);

/*
 * Begin entry 'name' (a directory, or a file of 'size' bytes) of the tar 'a' (libarchive's,
 * being written), owned by root with time 0, as save writes every entry: the same images give
 * the same archive, byte for byte.
 */
struct archive;
int st_archive_tar_header(struct archive *a, const char *name, bool dir, int64_t size,
			  struct st_error **err);

/*
 * Write to 'path': a tar is written to a temp file next to it and renamed over it when whole;
 * OCI_DIR fills a temp directory next to 'path' and renames it to 'path', which must not
 * exist or be an empty directory (ST_E_EXISTS otherwise).
 */
int st_archive_save_path(struct st_store *s, const struct st_archive_save_opts *o, const char *path,
			 struct st_error **err);

/* ---- load ---- */

struct st_archive_loaded {
	char *name;	     /* familiar name ("busybox:latest"); NULL: loaded untagged */
	struct st_digest id; /* the image id (config digest) */
	bool replaced;	     /* 'name' pointed to another image before: 'old_id' */
	struct st_digest old_id;
};

struct st_archive_load_result {
	enum st_archive_format format;
	struct st_archive_loaded *v; /* one per name (or per untagged image), in archive order */
	size_t n;
};

/* Release the strings and the array; the struct is zeroed. */
void st_archive_load_result_release(struct st_archive_load_result *r);

/*
 * Load every image of the archive at 'path' (a tar, plain or compressed, or an OCI layout
 * directory) into the store. Blobs land under a lease taken first; images and references are
 * recorded only after every image of the archive verified, so a failure records nothing (the
 * blobs written so far are left for gc). Errors name the archive entry: ST_E_DIGEST
 * "blobs/sha256/ab..: digest mismatch: ...", ST_E_PARSE for a bad tar or JSON, ST_E_INVALID
 * for an archive that is neither format. An index with several platforms gives the host's.
 * 'out' is filled on success; release it with st_archive_load_result_release().
 */
int st_archive_load_path(struct st_store *s, const char *path, struct st_archive_load_result *out,
			 struct st_error **err);

/*
 * The same, loading only the image named 'select' (NULL: every image): in an OCI layout the
 * index entry whose ref.name is 'select' (or whose full name it normalises to), in a
 * docker-archive the entry with that RepoTag, recorded under that name only. ST_E_NOTFOUND
 * when no image of the archive has it.
 */
int st_archive_load_path_select(struct st_store *s, const char *path, const char *select,
				struct st_archive_load_result *out, struct st_error **err);

/* The same from a tar read from 'fd' (borrowed; e.g. stdin). 'what' names it in errors. */
int st_archive_load_fd(struct st_store *s, int fd, const char *what,
		       struct st_archive_load_result *out, struct st_error **err);

struct st_archive_load_opts {
	const char *select; /* as st_archive_load_path_select()'s; NULL: every image */
	/* Each layer as it streams in: "Loading layer" with its bytes (of the size the tar
	 * header gives), then "Loaded"; the id is the layer's short digest. Layers small enough
	 * to be held in memory load without a word. */
	struct st_events events;
};

/* The loads above, with options ('o' may be NULL). */
int st_archive_load_path_opts(struct st_store *s, const char *path,
			      const struct st_archive_load_opts *o,
			      struct st_archive_load_result *out, struct st_error **err);
int st_archive_load_fd_opts(struct st_store *s, int fd, const char *what,
			    const struct st_archive_load_opts *o,
			    struct st_archive_load_result *out, struct st_error **err);

/* ---- reading in place ---- */

/* An image of an archive, read where it is: nothing is loaded into a store. */
struct st_archive_image;

/*
 * Open image 'name' of the archive at 'path' (UNKNOWN: detected) without loading it: for a
 * docker-archive the RepoTags entry of manifest.json ("busybox:latest"), for an OCI layout or
 * archive the org.opencontainers.image.ref.name or io.containerd.image.name annotation of
 * index.json; NULL when the archive holds one image (ST_E_INVALID if several). An index of
 * platforms gives 'platform''s entry (NULL: the host's). The metadata and config are read now,
 * the layers when opened.
 * *out is new: st_archive_image_free(). ST_E_NOTFOUND for a missing path, entry or name.
 */
int st_archive_image_open(const char *path, enum st_archive_format format, const char *name,
			  const struct st_platform *platform, struct st_archive_image **out,
			  struct st_error **err);
/*
 * The image's config and layers as the analysis and the SBOM stream them, borrowed from 'img'
 * (one layer open at a time), each streamed as the archive stores it and not verified here:
 * readers check diff_ids. A layer's digest is its blob's; an old docker-archive's uncompressed
 * layer is named by its diff_id.
 */
struct st_local_layers;
void st_archive_image_layers(struct st_archive_image *img, struct st_local_layers *out);
/*
 * The image as a copy reads it (borrowed from 'img'): its manifest's bytes and its blobs by
 * digest. ST_E_INVALID for a docker-archive, which has no manifest of its own.
 */
struct st_local_source;
int st_archive_image_source(struct st_archive_image *img, struct st_local_source *out,
			    struct st_error **err);
/* The config's bytes as the archive holds them (its digest is the image id). Borrowed. */
const struct st_buf *st_archive_image_config_bytes(const struct st_archive_image *img);
/* Layer 'i''s entry name in the archive, or its path under the layout. Borrowed. */
const char *st_archive_image_layer_name(const struct st_archive_image *img, size_t i);
void st_archive_image_free(struct st_archive_image *img);
void st_archive_image_freep(struct st_archive_image **img);

#endif
