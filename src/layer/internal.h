/* internal.h: pieces shared by the files of src/layer/, not part of the public API. */
#ifndef ST_LAYER_INTERNAL_H
#define ST_LAYER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "digest/digest.h"
#include "layer/compress.h"
#include "util/err.h"

struct archive;

/* Every streaming buffer of the module: large enough that per-call costs vanish. */
#define ST_LAYER_BUFSZ ((size_t)1 << 20)

/*
 * An uncompressed view of a layer stream: the compression is detected from the first bytes;
 * gzip and zstd are decoded by our codecs, bzip2 and xz by libarchive's filters. A stream
 * opened with detect == false is taken as uncompressed whatever its first bytes are.
 */
/* How many uncompressed buffers a stream rotates through while a thread hashes them. */
#define ST_LAYER_HASH_DEPTH 3

/*
 * offload.c: SHA-256 of chunks on a thread of its own, in the order they are submitted. A
 * submitted chunk's bytes must stay as they are until a wait says it is hashed. new() gives
 * NULL when the thread cannot start (hash inline then); free() drops what is still pending.
 */
struct layer_hash_offload;
struct layer_hash_offload *layer_hash_offload_new(struct st_hasher *hash);
void layer_hash_offload_submit(struct layer_hash_offload *ho, const void *p, size_t n);
/* A copy of the chunk, hashed while the caller reuses its buffer (waits for a free slot). */
void layer_hash_offload_submit_copy(struct layer_hash_offload *ho, const void *p, size_t n);
/* Wait until at most 'pending' submitted chunks are still to be hashed. */
void layer_hash_offload_wait(struct layer_hash_offload *ho, uint64_t pending);
uint64_t layer_hash_offload_submitted(struct layer_hash_offload *ho);
void layer_hash_offload_free(struct layer_hash_offload *ho);

struct ustream {
	struct st_layer_source src;
	enum st_layer_comp comp;
	struct st_layer_decompressor *dec;
	struct archive *raw;
	unsigned char *in, *out;
	size_t in_pos, in_len;
	bool src_eof, eof;
	struct st_hasher *hash; /* borrowed, optional: fed every uncompressed byte */
	uint64_t total;		/* uncompressed bytes returned so far */
	struct st_error *cb_err;
	/* Once a stream outgrows one buffer, its bytes are hashed on a thread of their own
	 * (hashing costs about as much as parsing the tar); the chunk handed out is then one of
	 * 'ring', which rotates so a buffer is not refilled while it is being hashed. */
	struct layer_hash_offload *ho;
	unsigned char *ring[ST_LAYER_HASH_DEPTH];
	uint64_t chunks; /* chunks handed out */
};

int layer_ustream_open(struct ustream *u, struct st_layer_source src, bool detect,
		       struct st_hasher *hash, struct st_error **err);
/* Next chunk of uncompressed bytes in *p (valid until the next call); 0 at the end, by which
 * time the hasher has been fed every byte. */
ssize_t layer_ustream_next(struct ustream *u, const void **p, struct st_error **err);
void layer_ustream_close(struct ustream *u);

/* A libarchive tar reader over a ustream; every byte it reads is also given to 'tee'. */
struct tar_in {
	struct ustream u;
	struct archive *a;
	struct st_layer_sink tee; /* write may be NULL */
	struct st_error *err;	  /* the stream error behind an archive failure */
	bool empty;		  /* the input has no bytes at all: no archive was opened */
};

/* 'what' prefixes the error if the input is not a tar. 'detect' as for layer_ustream_open(). */
int layer_tar_in_open(struct tar_in *t, struct st_layer_source src, bool detect,
		      struct st_layer_sink tee, struct st_hasher *hash, const char *what,
		      struct st_error **err);
/* Set *err from the archive (or the stream error behind it), prefixed by 'what'. */
int layer_tar_in_error(struct tar_in *t, const char *what, struct st_error **err);
/* Read what follows the end-of-archive blocks, so hashes and tees cover the whole stream. */
int layer_tar_in_drain(struct tar_in *t, struct st_error **err);
void layer_tar_in_close(struct tar_in *t);

struct archive_entry;
struct st_buf;
/*
 * Whether tar entry 'ae' could be unpacked safely: ST_E_INVALID naming the entry for a name
 * that escapes the root or is longer than Linux allows, a hardlink target that is absolute or
 * escapes the root, or a malformed whiteout. 'scratch' is working space, reused across calls.
 */
int layer_tar_entry_check(struct archive_entry *ae, struct st_buf *scratch, struct st_error **err);

#endif
