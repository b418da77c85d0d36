/* compress.h: layer compression: detection, media types, streaming gzip (isa-l) and zstd codecs. */
#ifndef ST_LAYER_COMPRESS_H
#define ST_LAYER_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

enum st_layer_comp {
	ST_LAYER_COMP_NONE = 0,
	ST_LAYER_COMP_GZIP,
	ST_LAYER_COMP_ZSTD,
	/* Recognised on input only (import of a .tar.bz2/.tar.xz); never produced. */
	ST_LAYER_COMP_BZIP2,
	ST_LAYER_COMP_XZ,
};

/* Bytes needed by st_layer_comp_detect() to tell every format apart. */
#define ST_LAYER_COMP_MAGIC_LEN 6

/* The compression of a stream from its first bytes; ST_LAYER_COMP_NONE if no magic matches. */
enum st_layer_comp st_layer_comp_detect(const void *p, size_t n);
/* Borrowed, static: "none", "gzip", "zstd", "bzip2", "xz". */
const char *st_layer_comp_name(enum st_layer_comp c);
/* "gzip", "zstd", "none" or "uncompressed". ST_E_INVALID otherwise. */
int st_layer_comp_parse(const char *name, enum st_layer_comp *out, struct st_error **err);

/*
 * The layer media type for 'c' (only NONE, GZIP, ZSTD). With 'docker', the Docker v2 schema 2
 * name (application/vnd.docker.image.rootfs.diff.tar.gzip); Docker has no zstd type, so zstd
 * always gets the OCI name. Borrowed, static; NULL for BZIP2/XZ.
 */
const char *st_layer_media_type(enum st_layer_comp c, bool docker);
/*
 * The compression a layer media type implies: OCI (…layer.v1.tar, +gzip, +zstd, and the
 * nondistributable variants) and Docker (…rootfs.diff.tar, .tar.gzip, foreign.diff.tar.gzip).
 * False if 'media_type' is not a layer type.
 */
bool st_layer_media_type_comp(const char *media_type, enum st_layer_comp *out);

/* Where bytes go. 'write' consumes all 'n' bytes or returns -1 with *err set. */
struct st_layer_sink {
	int (*write)(void *ctx, const void *p, size_t n, struct st_error **err);
	void *ctx;
};

/* Where bytes come from. 'read' returns the number of bytes read (0 at the end) or -1. */
struct st_layer_source {
	ssize_t (*read)(void *ctx, void *buf, size_t n, struct st_error **err);
	void *ctx;
};

int st_layer_sink_fd_write(void *ctx, const void *p, size_t n, struct st_error **err);
ssize_t st_layer_source_fd_read(void *ctx, void *buf, size_t n, struct st_error **err);
/* A sink/source over a file descriptor. 'fd' is borrowed and must outlive the sink/source. */
static inline struct st_layer_sink st_layer_sink_fd(int *fd)
{
	return (struct st_layer_sink){ .write = st_layer_sink_fd_write, .ctx = fd };
}
static inline struct st_layer_source st_layer_source_fd(int *fd)
{
	return (struct st_layer_source){ .read = st_layer_source_fd_read, .ctx = fd };
}

/*
 * A streaming compressor that writes its output to a sink. 'level' 0 means the default:
 * isa-l level 1 for gzip (its fastest level that still uses a large hash table), zstd level 3.
 * gzip levels are isa-l's 1..3; zstd levels are zstd's (ST_E_INVALID out of its range). zstd
 * compresses on one worker thread per core where libzstd was built with threads. NONE passes bytes
 * through. New: free with st_layer_compressor_free(). Writes to the sink happen in chunks of up to
 * 1 MiB.
 */
struct st_layer_compressor;
struct st_layer_compressor *st_layer_compressor_new(enum st_layer_comp c, int level,
						    struct st_layer_sink sink,
						    struct st_error **err);
int st_layer_compressor_write(struct st_layer_compressor *z, const void *p, size_t n,
			      struct st_error **err);
/* Flush and end the stream. No writes after this. */
int st_layer_compressor_finish(struct st_layer_compressor *z, struct st_error **err);
void st_layer_compressor_free(struct st_layer_compressor *z);
void st_layer_compressor_freep(struct st_layer_compressor **z);

/*
 * A streaming decompressor (NONE, GZIP with any number of members, ZSTD with any number of
 * frames). Two ways to drive it: push with _write()/_finish() (output goes to 'sink'), or
 * pull with _step() (sink unused, may be zeroed). New: free with st_layer_decompressor_free().
 */
struct st_layer_decompressor;
struct st_layer_decompressor *
st_layer_decompressor_new(enum st_layer_comp c, struct st_layer_sink sink, struct st_error **err);
int st_layer_decompressor_write(struct st_layer_decompressor *d, const void *p, size_t n,
				struct st_error **err);
/* ST_E_PARSE if the input ended inside a gzip member or zstd frame. */
int st_layer_decompressor_finish(struct st_layer_decompressor *d, struct st_error **err);
/*
 * Decompress from 'in' to 'out': *in_used and *out_used say how much was consumed and
 * produced. Call again with in_len 0 to drain buffered output until *out_used is 0.
 */
int st_layer_decompressor_step(struct st_layer_decompressor *d, const void *in, size_t in_len,
			       size_t *in_used, void *out, size_t out_cap, size_t *out_used,
			       struct st_error **err);
/* True when the input so far ends on a member/frame boundary (always true for NONE). */
bool st_layer_decompressor_at_end(const struct st_layer_decompressor *d);
void st_layer_decompressor_free(struct st_layer_decompressor *d);
void st_layer_decompressor_freep(struct st_layer_decompressor **d);

#endif
