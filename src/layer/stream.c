#include "layer/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/banned.h"

static int fill(struct ustream *u, struct st_error **err)
{
	u->in_pos = u->in_len = 0;
	if (u->src_eof)
		return 0;
	ssize_t r = u->src.read(u->src.ctx, u->in, ST_LAYER_BUFSZ, err);
	if (r < 0)
		return -1;
	if (r == 0)
		u->src_eof = true;
	u->in_len = (size_t)r;
	return 0;
}

/* libarchive pulls compressed bytes for bzip2/xz through this. */
static la_ssize_t raw_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct ustream *u = ctx;
	if (u->in_pos == u->in_len && fill(u, &u->cb_err) < 0) {
		archive_set_error(a, EIO, "%s", u->cb_err->msg);
		return -1;
	}
	*buf = u->in + u->in_pos;
	size_t n = u->in_len - u->in_pos;
	u->in_pos = u->in_len;
	return (la_ssize_t)n;
}

int layer_ustream_open(struct ustream *u, struct st_layer_source src, bool detect,
		       struct st_hasher *hash, struct st_error **err)
{
	memset(u, 0, sizeof(*u));
	u->src = src;
	u->hash = hash;
	u->in = st_xmalloc(ST_LAYER_BUFSZ);
	/* Gather enough bytes to see the magic, however small the source's reads are. */
	while (u->in_len < ST_LAYER_COMP_MAGIC_LEN && !u->src_eof) {
		ssize_t r = src.read(src.ctx, u->in + u->in_len, ST_LAYER_BUFSZ - u->in_len, err);
		if (r < 0)
			return -1;
		if (r == 0)
			u->src_eof = true;
		u->in_len += (size_t)r;
	}
	u->comp = detect ? st_layer_comp_detect(u->in, u->in_len) : ST_LAYER_COMP_NONE;
	switch (u->comp) {
	case ST_LAYER_COMP_GZIP:
	case ST_LAYER_COMP_ZSTD:
		u->dec = st_layer_decompressor_new(u->comp, (struct st_layer_sink){ 0 }, err);
		if (!u->dec)
			return -1;
		u->out = st_xmalloc(ST_LAYER_BUFSZ);
		return 0;
	case ST_LAYER_COMP_BZIP2:
	case ST_LAYER_COMP_XZ:
		u->raw = archive_read_new();
		archive_read_support_filter_all(u->raw);
		archive_read_support_format_raw(u->raw);
		if (archive_read_open(u->raw, u, NULL, raw_read_cb, NULL) != ARCHIVE_OK)
			return st_err(err, ST_E_PARSE, "%s: %s", st_layer_comp_name(u->comp),
				      archive_error_string(u->raw));
		struct archive_entry *e;
		if (archive_read_next_header(u->raw, &e) != ARCHIVE_OK)
			return st_err(err, ST_E_PARSE, "%s: %s", st_layer_comp_name(u->comp),
				      archive_error_string(u->raw));
		return 0;
	default:
		return 0;
	}
}

static ssize_t next_raw(struct ustream *u, const void **p, struct st_error **err)
{
	size_t n;
	la_int64_t off;
	int r = archive_read_data_block(u->raw, p, &n, &off);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK) {
		if (u->cb_err) {
			*err = u->cb_err;
			u->cb_err = NULL;
			return -1;
		}
		return st_err(err, ST_E_PARSE, "%s: %s", st_layer_comp_name(u->comp),
			      archive_error_string(u->raw));
	}
	return (ssize_t)n;
}

static ssize_t next_decoded(struct ustream *u, const void **p, struct st_error **err)
{
	for (;;) {
		if (u->in_pos == u->in_len && !u->src_eof && fill(u, err) < 0)
			return -1;
		size_t iu, ou;
		if (st_layer_decompressor_step(u->dec, u->in + u->in_pos, u->in_len - u->in_pos,
					       &iu, u->out, ST_LAYER_BUFSZ, &ou, err) < 0)
			return -1;
		u->in_pos += iu;
		if (ou) {
			*p = u->out;
			return (ssize_t)ou;
		}
		if (u->in_pos == u->in_len && u->src_eof) {
			if (!st_layer_decompressor_at_end(u->dec))
				return st_err(err, ST_E_PARSE, "%s: truncated stream",
					      st_layer_comp_name(u->comp));
			return 0;
		}
		if (iu == 0 && u->in_pos < u->in_len)
			return st_err(err, ST_E_PARSE, "%s: decoder made no progress",
				      st_layer_comp_name(u->comp));
	}
}

/* The buffer that holds the chunks handed out: the decoder's output, or the plain input. */
static unsigned char **rotating(struct ustream *u)
{
	return u->dec ? &u->out : &u->in;
}

/* From the second chunk on: one buffer per chunk in flight, and the hashing thread. A stream
 * that cannot start the thread keeps hashing inline. */
static void offload_start(struct ustream *u)
{
	u->ho = layer_hash_offload_new(u->hash);
	if (!u->ho)
		return;
	u->ring[0] = *rotating(u);
	for (size_t i = 1; i < ST_LAYER_HASH_DEPTH; i++)
		u->ring[i] = st_xmalloc(ST_LAYER_BUFSZ);
}

static void offload_stop(struct ustream *u)
{
	if (!u->ho)
		return;
	layer_hash_offload_free(u->ho);
	u->ho = NULL;
	/* the rotating pointer is one of the ring's buffers */
	*rotating(u) = NULL;
	for (size_t i = 0; i < ST_LAYER_HASH_DEPTH; i++) {
		free(u->ring[i]);
		u->ring[i] = NULL;
	}
}

static ssize_t next_chunk(struct ustream *u, const void **p, struct st_error **err)
{
	if (u->dec)
		return next_decoded(u, p, err);
	if (u->raw)
		return next_raw(u, p, err);
	if (u->in_pos == u->in_len && fill(u, err) < 0)
		return -1;
	*p = u->in + u->in_pos;
	ssize_t n = (ssize_t)(u->in_len - u->in_pos);
	u->in_pos = u->in_len;
	return n;
}

ssize_t layer_ustream_next(struct ustream *u, const void **p, struct st_error **err)
{
	if (u->eof)
		return 0;
	/* bzip2 and xz hand out libarchive's own buffers, which do not rotate */
	if (u->hash && !u->ho && !u->raw && u->chunks == 1)
		offload_start(u);
	if (u->ho) {
		/* the buffer this chunk goes into was handed out DEPTH chunks ago */
		layer_hash_offload_wait(u->ho, ST_LAYER_HASH_DEPTH - 1);
		*rotating(u) = u->ring[layer_hash_offload_submitted(u->ho) % ST_LAYER_HASH_DEPTH];
	}
	ssize_t n = next_chunk(u, p, err);
	if (n < 0)
		return -1;
	if (n == 0) {
		u->eof = true;
		if (u->ho)
			layer_hash_offload_wait(u->ho, 0);
		return 0;
	}
	if (u->ho)
		layer_hash_offload_submit(u->ho, *p, (size_t)n);
	else if (u->hash)
		st_hasher_update(u->hash, *p, (size_t)n);
	u->total += (uint64_t)n;
	u->chunks++;
	return n;
}

void layer_ustream_close(struct ustream *u)
{
	offload_stop(u);
	if (u->raw)
		archive_read_free(u->raw);
	st_layer_decompressor_free(u->dec);
	st_error_free(u->cb_err);
	free(u->in);
	free(u->out);
	memset(u, 0, sizeof(*u));
}

static la_ssize_t tar_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct tar_in *t = ctx;
	ssize_t n = layer_ustream_next(&t->u, buf, &t->err);
	if (n > 0 && t->tee.write && t->tee.write(t->tee.ctx, *buf, (size_t)n, &t->err) < 0)
		n = -1;
	if (n < 0) {
		archive_set_error(a, EIO, "%s", t->err->msg);
		return -1;
	}
	return (la_ssize_t)n;
}

int layer_tar_in_open(struct tar_in *t, struct st_layer_source src, bool detect,
		      struct st_layer_sink tee, struct st_hasher *hash, const char *what,
		      struct st_error **err)
{
	memset(t, 0, sizeof(*t));
	t->tee = tee;
	if (layer_ustream_open(&t->u, src, detect, hash, err) < 0)
		return -1;
	if (t->u.comp == ST_LAYER_COMP_NONE && t->u.src_eof && t->u.in_len == 0) {
		t->empty = true;
		t->u.eof = true;
		return 0;
	}
	t->a = archive_read_new();
	/* Only tar: a layer is a tar, and the compression was already peeled off. */
	archive_read_support_format_tar(t->a);
	if (archive_read_open(t->a, t, NULL, tar_read_cb, NULL) != ARCHIVE_OK)
		return layer_tar_in_error(t, what, err);
	return 0;
}

int layer_tar_in_error(struct tar_in *t, const char *what, struct st_error **err)
{
	if (t->err) {
		if (!err) {
			st_error_free(t->err);
			t->err = NULL;
			return -1;
		}
		st_error_free(*err);
		*err = t->err;
		t->err = NULL;
		return st_err_wrap(err, "%s", what);
	}
	const char *msg = t->a ? archive_error_string(t->a) : NULL;
	return st_err(err, ST_E_PARSE, "%s: %s", what, msg ? msg : "invalid tar data");
}

int layer_tar_in_drain(struct tar_in *t, struct st_error **err)
{
	for (;;) {
		const void *p;
		ssize_t n = layer_ustream_next(&t->u, &p, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (t->tee.write && t->tee.write(t->tee.ctx, p, (size_t)n, err) < 0)
			return -1;
	}
}

void layer_tar_in_close(struct tar_in *t)
{
	if (t->a)
		archive_read_free(t->a);
	layer_ustream_close(&t->u);
	st_error_free(t->err);
	t->a = NULL;
	t->err = NULL;
}
