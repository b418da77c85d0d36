/*
 * local.h: images in the local store. The glue that import, load, pull and build share
 * between the image model (image/), the store (store/) and layers (layer/): finding an image
 * by the name a person typed, reading its config and manifest, writing a layer straight into
 * the store, committing a new image, importing a root filesystem, exporting the flattened
 * filesystem, removing images as `docker rmi` does, and unpacking a layer once for overlay
 * mounts.
 */
#ifndef ST_LOCAL_LOCAL_H
#define ST_LOCAL_LOCAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "layer/layer.h"
#include "store/store.h"
#include "util/err.h"
#include "util/events.h"

/*
 * Normalise a reference a person typed ("busybox" -> "docker.io/library/busybox:latest").
 * *out is new. ST_E_PARSE with Docker's message on a malformed reference.
 */
int st_local_ref_normalize(const char *s, char **out, struct st_error **err);

/*
 * Find an image the way Docker does: first as a reference (name[:tag][@digest]), then as a
 * full image id or a unique id prefix. *out is new: st_store_image_free().
 * ST_E_NOTFOUND with "No such image: <s>".
 */
int st_local_image_find(struct st_store *s, const char *name, struct st_store_image **out,
			struct st_error **err);

/* Read and parse the image's config blob (verified). *out is new: st_image_config_free(). */
int st_local_image_config(struct st_store *s, const struct st_store_image *img,
			  struct st_image_config **out, struct st_error **err);
/* Read and parse the image's manifest blob (verified). *out is new. */
int st_local_image_manifest(struct st_store *s, const struct st_store_image *img,
			    struct st_image_manifest **out, struct st_error **err);

/*
 * The image of platform 'want' that 'name' gives, 'img' being what st_local_image_find()
 * found for it: when the name points at an index, the index's entry for 'want' (*out NULL
 * when the index has it but the store does not: a platform not pulled); else 'img' itself,
 * which must be of 'want'. *out is new. ST_E_NOTFOUND naming the platforms the image has:
 * "image 'app' has no linux/s390x: it has linux/amd64, linux/arm64".
 */
int st_local_image_platform(struct st_store *s, const char *name, const struct st_store_image *img,
			    const struct st_platform *want, struct st_store_image **out,
			    struct st_error **err);

/*
 * Whether the name 'name' points at an index whose every manifest the store holds (a
 * multi-platform build's, not an index pulled for one platform): 1 and *index, else 0.
 */
int st_local_ref_index(struct st_store *s, const char *name, struct st_digest *index,
		       struct st_error **err);

/* Familiar names of every reference to 'image_id' ("busybox:latest"), sorted. New vector. */
int st_local_image_tags(struct st_store *s, const char *image_id, char ***out, size_t *n,
			struct st_error **err);
/* What `strata import` makes an image of. Everything is borrowed. */
struct st_local_import {
	const char *src; /* a tar (any compression), a directory, or "-" for a tar on stdin */
	struct st_image_config *config; /* --change applied; import completes it in place */
	const struct st_platform *platform;
	const char *message; /* the config's comment; NULL: "Imported from <src>" */
	const char *ref;     /* a normalised name to point at the image, or NULL */
	bool clamp;	     /* SOURCE_DATE_EPOCH: the creation time and every mtime at most */
	int64_t source_date_epoch;
	/* A tar's reading, under the id of its file's name ("-": "stdin"): "Importing" with its
	 * bytes, then "Imported". */
	struct st_events events;
};
/* Import 'o' as a one-layer image; *id receives its id. */
int st_local_import(struct st_store *s, const struct st_local_import *o, struct st_digest *id,
		    struct st_error **err);

struct st_local_removal {
	char **untagged; /* familiar names ("busybox:latest") that were removed, sorted */
	size_t n_untagged;
	struct st_digest id; /* the image named */
	bool deleted;	     /* the image itself went */
};
enum st_local_rmi_flags {
	ST_LOCAL_RMI_FORCE = 1 << 0, /* an image with several names goes with all of them */
};
/*
 * Remove what 'name' (a name, an id or an id prefix) names, as `docker rmi` does: one of
 * several names is untagged; otherwise the image is deleted with its names, which takes
 * ST_LOCAL_RMI_FORCE when an id names an image with several. One transaction; the space is
 * freed by st_store_gc(). *out: st_local_removal_release(). ST_E_NOTFOUND "No such image".
 */
int st_local_rmi(struct st_store *s, const char *name, unsigned flags, struct st_local_removal *out,
		 struct st_error **err);
void st_local_removal_release(struct st_local_removal *r);

/* Familiar "repository@digest" names of 'image_id' in registries ("busybox@sha256:..."). */
int st_local_image_repo_digests(struct st_store *s, const char *image_id, char ***out, size_t *n,
				struct st_error **err);

enum st_local_format_flags {
	/* Every layer gets the compression, also those already compressed otherwise (a base
	 * image's): BuildKit's force-compression. */
	ST_LOCAL_FORMAT_FORCE = 1 << 0,
	/* A Docker schema 2 manifest and media types, not OCI (BuildKit's oci-mediatypes=false).
	 * Docker has no zstd layer type: ST_E_INVALID with ZSTD. */
	ST_LOCAL_FORMAT_DOCKER = 1 << 1,
};

/* How the layers of a new image are compressed and named (BuildKit's exporter options). */
struct st_local_format {
	enum st_layer_comp compression; /* NONE, GZIP or ZSTD */
	int level;			/* 0: the codec's default (compress.h) */
	enum st_local_format_flags flags;
};

/* What a new image is made of. Everything is borrowed. */
struct st_local_commit {
	const struct st_image_config *config; /* its diff_ids must be the layers' diff_ids */
	const struct st_store_layer *layers;  /* recorded layers, bottom first */
	size_t n_layers;
	const char *const *refs; /* normalised names to point at the image; may be none */
	size_t n_refs;
	struct st_store_lease *lease; /* protects the layers until committed; may be NULL */
	const struct st_image_map *annotations; /* the manifest's; may be NULL */
	/* NULL: the layers as given, in an OCI manifest. Otherwise each uncompressed layer (or
	 * every layer, with ST_LOCAL_FORMAT_FORCE) is used in this compression, made once
	 * with st_local_layer_convert(). */
	const struct st_local_format *format;
};

/*
 * An image whose config, layers and manifest are blobs of the store, the manifest's bytes as a
 * commit wrote them or as they came (load keeps them exactly). Everything is borrowed.
 */
struct st_local_stored_image {
	struct st_digest id; /* the config's digest */
	const char *config_media_type;
	const struct st_image_config *config; /* parsed: created, os, architecture, variant */
	struct st_digest manifest;
	const char *manifest_media_type;
	const struct st_store_layer *layers;
	size_t n_layers;
};

/*
 * Record 'img' and point 'refs' (normalised names, may be none) at it in one transaction: how
 * a commit and a load enter an image into the store.
 */
int st_local_image_record(struct st_store *s, const struct st_local_stored_image *img,
			  const char *const *refs, size_t n_refs, struct st_error **err);

/*
 * Write the config and an OCI manifest as blobs and record the image with its references in
 * one transaction. *id (may be NULL) receives the image id (the config digest).
 * ST_E_INVALID if the config's diff_ids do not match the layers.
 */
int st_local_image_commit(struct st_store *s, const struct st_local_commit *c, struct st_digest *id,
			  struct st_error **err);

/*
 * Write the config and manifest of 'c' as blobs, held by c->lease (required), without
 * recording an image: what a build exports to a file and does not keep. 'refs' are ignored.
 * *out is new: st_store_image_free(); its id, manifest and layers are those a commit of 'c'
 * would record.
 */
int st_local_image_write(struct st_store *s, const struct st_local_commit *c,
			 struct st_store_image **out, struct st_error **err);

/*
 * A layer writer whose output is a blob in the store: add entries through the borrowed
 * st_layer_writer, then commit to get the recorded layer. 'lease' (borrowed, may be NULL)
 * protects the blob and its diff_id once committed.
 */
struct st_local_layer_writer;
int st_local_layer_writer_new(struct st_store *s, struct st_store_lease *lease,
			      const struct st_layer_writer_opts *opts,
			      struct st_local_layer_writer **out, struct st_error **err);
/* Borrowed: the writer to add entries to. */
struct st_layer_writer *st_local_layer_writer_layer(struct st_local_layer_writer *w);
/*
 * Finish the layer, commit its blob and record it. *out (may be NULL) is filled with new
 * strings: st_store_layer_release().
 */
int st_local_layer_writer_commit(struct st_local_layer_writer *w, struct st_store_layer *out,
				 struct st_error **err);
/* NULL does nothing; an uncommitted layer is discarded. */
void st_local_layer_writer_free(struct st_local_layer_writer *w);
void st_local_layer_writer_freep(struct st_local_layer_writer **w);

/*
 * Turn 'dir', an overlay upper dir (whiteouts as 0/0 character devices, opaque dirs by xattr),
 * into layer *out (new strings: st_store_layer_release()) uncompressed, its digest its diff_id,
 * and make the directory itself the store's unpacked copy of the layer (renamed, not copied).
 * Its tar is only hashed, not written: the directory holds the layer's bytes until an output
 * or an image needs a blob (st_local_layer_convert() makes the tar again from it and checks
 * its diff_id), as Docker's own store keeps a built layer as its directory. 'lease' (may be
 * NULL) holds the diff_id. With a compression, a clamped mtime, or an unpacked copy of the same
 * layer there already, the tar is written as a blob and recorded, and 'dir' may stay.
 */
int st_local_layer_commit_dir(struct st_store *s, struct st_store_lease *lease,
			      const struct st_layer_writer_opts *opts, const char *dir,
			      struct st_store_layer *out, struct st_error **err);

/*
 * Layer 'l' (a recorded layer) compressed with 'comp': a recorded variant of its diff_id in
 * that compression if there is one, else a new blob made from l's bytes in one pass (decompress
 * or, for a layer committed as its directory, make the tar again; check the tar and its
 * diff_id, compress at 'level', hash) and recorded as a variant of the layer. 'lease' (may be NULL)
 * holds the blob. *out is filled with new strings: st_store_layer_release(). ST_E_DIGEST if l's
 * blob does not hold its diff_id.
 */
int st_local_layer_convert(struct st_store *s, struct st_store_lease *lease,
			   const struct st_store_layer *l, enum st_layer_comp comp, int level,
			   struct st_store_layer *out, struct st_error **err);

/*
 * The layer 'digest' names, as st_store_layer_get() finds it with its blob; or, for a layer the
 * build kept uncompressed whose blob then gave way to a compressed twin
 * (st_store_layer_drop_spare()) or that it committed as its directory
 * (st_local_layer_commit_dir()), that layer as it was: uncompressed, its digest its diff_id, its
 * bytes in the twin or the directory (read them with st_local_layer_open()). 1 and *out filled
 * with new strings (st_store_layer_release()), 0 if there is none of these.
 */
int st_local_layer_find(struct st_store *s, const char *digest, struct st_store_layer *out,
			struct st_error **err);
/*
 * Open the bytes of layer 'l' for a reader that detects compression: l's blob, or when that
 * is gone, the blob of another variant of its diff_id, or, for a layer committed as its
 * directory, the uncompressed blob written from it now. *fd is new. ST_E_NOTFOUND if none.
 */
int st_local_layer_open(struct st_store *s, const struct st_store_layer *l, int *fd,
			struct st_error **err);

/*
 * A compressed layer blob arriving from outside (a registry, a shared build cache), described
 * by 'd' (digest and media type): feed its bytes to st_local_ingest_write() (start over after
 * st_local_ingest_reset(), for a transfer that restarts: the two fit an st_http_sink), then
 * commit. The blob is checked against its digest before it becomes visible, its content
 * against 'diff_id' and for safe unpacking before the layer is recorded; *out (may be NULL)
 * gets the layer: st_store_layer_release(). 'lease' (may be NULL) keeps the blob; every use of
 * 's' holds 'store_lock' when it is not NULL (ingests running on several threads).
 */
struct st_local_ingest;
int st_local_ingest_new(struct st_store *s, struct st_store_lease *lease,
			pthread_mutex_t *store_lock, const struct st_image_descriptor *d,
			struct st_local_ingest **out, struct st_error **err);
int st_local_ingest_write(void *ctx, const void *p, size_t n, struct st_error **err);
int st_local_ingest_reset(void *ctx, struct st_error **err);
int st_local_ingest_commit(struct st_local_ingest *g, const struct st_digest *diff_id,
			   struct st_store_layer *out, struct st_error **err);
/* NULL does nothing; an uncommitted blob is discarded. */
void st_local_ingest_free(struct st_local_ingest *g);
void st_local_ingest_freep(struct st_local_ingest **g);

/*
 * Make sure layer 'diff_id' is unpacked at the store's layers/<hex> as an overlay lowerdir
 * (whiteouts as 0/0 character devices, opaque dirs with the overlay xattr), extracting it
 * once from any recorded compressed variant and checking its diff_id on the way. Several
 * processes may race: one wins the rename, the others discard their copy. *path is new.
 * 'lowers' (n of them, top first) are the unpacked layers below it in the image, where
 * hardlinks to files this layer lacks find them (st_layer_extract_opts).
 * NEEDSWORK: unpacked once per diff_id, so such a copy comes from the first image unpacked.
 */
int st_local_layer_unpack(struct st_store *s, const char *diff_id, char *const *lowers, size_t n,
			  char **path, struct st_error **err);

/*
 * The unpacked directories of 'layers' (n, bottom first, as an image lists them), top first as
 * overlayfs wants its lowerdirs, each unpacked if need be (bottom first, so a hardlink finds
 * the files below it) and added to 'lease' (may be NULL). A layer listed twice appears once,
 * as its topmost copy: overlayfs refuses the same lowerdir twice, and the union is the same.
 * *paths is a new vector of *n paths: st_strv_free(*paths, *n).
 */
int st_local_lowers(struct st_store *s, const struct st_store_layer *layers, size_t n,
		    struct st_store_lease *lease, char ***paths, size_t *np, struct st_error **err);

/*
 * Call 'fn' with 'root', the flattened root filesystem of 'img' (every layer applied,
 * whiteouts gone): a read-only view of its layers, unpacked once into the store as for a
 * build, mounted under tmp/ for the call only. Returns what 'fn' returns. Call
 * st_snapshot_private_ns() first, so that the mount dies with the process.
 */
typedef int (*st_local_view_fn)(void *ctx, const char *root, struct st_error **err);
int st_local_image_view(struct st_store *s, const struct st_store_image *img, st_local_view_fn fn,
			void *ctx, struct st_error **err);

/*
 * Write the flattened root filesystem of 'img' (every layer applied, whiteouts gone) to 'fd'
 * as an uncompressed tar, streamed: the layers are unpacked once into the store, as for a
 * build, and read through a read-only view of them (an overlay mount under tmp/), never
 * copied. Call st_snapshot_private_ns() first, so that the mount dies with the process.
 */
int st_local_image_export(struct st_store *s, const struct st_store_image *img, int fd,
			  struct st_error **err);

/*
 * An image's layers, to be streamed one at a time, wherever the image is (the store, an
 * archive, a registry): what the analysis and the SBOM read.
 */
struct st_local_layers {
	const struct st_image_config *config; /* its history names the layers */
	const struct st_digest *digests;      /* the layers' blobs, bottom first */
	const struct st_digest *diff_ids;     /* their uncompressed digests, checked */
	size_t n_layers;
	/* Open layer 'i' as *src, valid until close(ctx, i). */
	int (*open)(void *ctx, size_t i, struct st_layer_source *src, struct st_error **err);
	void (*close)(void *ctx, size_t i);
	void *ctx;
};

/*
 * An image where it is (an archive, a registry), for a copy that does not pass through the
 * store: its manifest's bytes exactly as they are there, and any blob it names, by digest.
 */
struct st_local_source {
	const void *manifest; /* one image's manifest (from an index: the platform's) */
	size_t manifest_len;
	struct st_digest manifest_digest;
	/* Blob 'd' through *src, valid until close(ctx); not verified here: the reader checks. */
	int (*open)(void *ctx, const struct st_digest *d, struct st_layer_source *src,
		    struct st_error **err);
	void (*close)(void *ctx);
	void *ctx;
};

/* The layers of the store's image 'img' (borrowed until released): each blob opened as a file. */
struct st_local_store_layers {
	struct st_local_layers in;
	struct st_store *s;
	const struct st_store_image *img;
	struct st_image_config *config;
	struct st_digest *digests, *diff_ids;
	int fd;
};
int st_local_store_layers_open(struct st_store *s, const struct st_store_image *img,
			       struct st_local_store_layers *out, struct st_error **err);
void st_local_store_layers_release(struct st_local_store_layers *l);

#endif
