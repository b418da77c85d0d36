#include "layer/compress.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "layer/internal.h"
#include "util/banned.h"

enum st_layer_comp st_layer_comp_detect(const void *p, size_t n)
{
	const unsigned char *b = p;
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return ST_LAYER_COMP_GZIP;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return ST_LAYER_COMP_ZSTD;
	if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return ST_LAYER_COMP_BZIP2;
	if (n >= 6 && memcmp(b,
			     "\xfd"
			     "7zXZ\0",
			     6) == 0)
		return ST_LAYER_COMP_XZ;
	return ST_LAYER_COMP_NONE;
}

const char *st_layer_comp_name(enum st_layer_comp c)
{
	switch (c) {
	case ST_LAYER_COMP_NONE:
		return "none";
	case ST_LAYER_COMP_GZIP:
		return "gzip";
	case ST_LAYER_COMP_ZSTD:
		return "zstd";
	case ST_LAYER_COMP_BZIP2:
		return "bzip2";
	case ST_LAYER_COMP_XZ:
		return "xz";
	}
	return "unknown";
}

int st_layer_comp_parse(const char *name, enum st_layer_comp *out, struct st_error **err)
{
	if (!strcmp(name, "gzip"))
		*out = ST_LAYER_COMP_GZIP;
	else if (!strcmp(name, "zstd"))
		*out = ST_LAYER_COMP_ZSTD;
	else if (!strcmp(name, "none") || !strcmp(name, "uncompressed"))
		*out = ST_LAYER_COMP_NONE;
	else
		return st_err(err, ST_E_INVALID, "unknown compression '%s'", name);
	return 0;
}

#define OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define DOCKER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar"

const char *st_layer_media_type(enum st_layer_comp c, bool docker)
{
	switch (c) {
	case ST_LAYER_COMP_NONE:
		return docker ? DOCKER_LAYER : OCI_LAYER;
	case ST_LAYER_COMP_GZIP:
		return docker ? DOCKER_LAYER ".gzip" : OCI_LAYER "+gzip";
	case ST_LAYER_COMP_ZSTD:
		return OCI_LAYER "+zstd";
	default:
		return NULL;
	}
}

bool st_layer_media_type_comp(const char *mt, enum st_layer_comp *out)
{
	static const struct {
		const char *mt;
		enum st_layer_comp c;
	} map[] = {
		{ OCI_LAYER, ST_LAYER_COMP_NONE },
		{ OCI_LAYER "+gzip", ST_LAYER_COMP_GZIP },
		{ OCI_LAYER "+zstd", ST_LAYER_COMP_ZSTD },
		{ OCI_LAYER_ND, ST_LAYER_COMP_NONE },
		{ OCI_LAYER_ND "+gzip", ST_LAYER_COMP_GZIP },
		{ OCI_LAYER_ND "+zstd", ST_LAYER_COMP_ZSTD },
		{ DOCKER_LAYER, ST_LAYER_COMP_NONE },
		{ DOCKER_LAYER ".gzip", ST_LAYER_COMP_GZIP },
		{ DOCKER_LAYER ".zstd", ST_LAYER_COMP_ZSTD },
		{ DOCKER_FOREIGN ".gzip", ST_LAYER_COMP_GZIP },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
		if (!strcmp(mt, map[i].mt)) {
			*out = map[i].c;
			return true;
		}
	}
	return false;
}

int st_layer_sink_fd_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	return st_write_all(*(int *)ctx, p, n, err);
}

ssize_t st_layer_source_fd_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	for (;;) {
		ssize_t r = read(*(int *)ctx, buf, n);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return st_err_errno(err, "read layer");
	}
}

/* ---- compressor ---- */

struct st_layer_compressor {
	enum st_layer_comp comp;
	struct st_layer_sink sink;
	unsigned char *out;
	size_t out_len;
	struct isal_zstream *gz;
	unsigned char *level_buf;
	ZSTD_CCtx *zc;
	bool finished;
};

static int emit(struct st_layer_compressor *z, struct st_error **err)
{
	if (!z->out_len)
		return 0;
	int r = z->sink.write(z->sink.ctx, z->out, z->out_len, err);
	z->out_len = 0;
	return r;
}

static const uint32_t isal_level_buf_size[] = { ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
						ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT };

struct st_layer_compressor *st_layer_compressor_new(enum st_layer_comp c, int level,
						    struct st_layer_sink sink,
						    struct st_error **err)
{
	struct st_layer_compressor *z = st_xcalloc(1, sizeof(*z));
	z->comp = c;
	z->sink = sink;
	switch (c) {
	case ST_LAYER_COMP_NONE:
		return z;
	case ST_LAYER_COMP_GZIP:
		if (level == 0)
			level = 1;
		if (level < 0 || level > ISAL_DEF_MAX_LEVEL) {
			st_err(err, ST_E_INVALID, "gzip level %d out of range 1..%d", level,
			       ISAL_DEF_MAX_LEVEL);
			break;
		}
		z->gz = st_xcalloc(1, sizeof(*z->gz));
		isal_deflate_init(z->gz);
		z->gz->level = (uint32_t)level;
		z->gz->level_buf_size = isal_level_buf_size[level];
		z->level_buf = st_xmalloc(z->gz->level_buf_size ? z->gz->level_buf_size : 1);
		z->gz->level_buf = z->level_buf;
		z->gz->gzip_flag = IGZIP_GZIP;
		z->gz->flush = NO_FLUSH;
		z->out = st_xmalloc(ST_LAYER_BUFSZ);
		return z;
	case ST_LAYER_COMP_ZSTD:
		if (level == 0)
			level = 3;
		/* libzstd clamps a level out of its range: say so instead. */
		if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
			st_err(err, ST_E_INVALID, "zstd level %d out of range %d..%d", level,
			       ZSTD_minCLevel(), ZSTD_maxCLevel());
			break;
		}
		z->zc = ZSTD_createCCtx();
		if (!z->zc)
			abort();
		ZSTD_CCtx_setParameter(z->zc, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(z->zc, ZSTD_c_checksumFlag, 1);
		/* One worker per core, while the caller's thread hashes and reads the tar; this
		 * fails harmlessly when libzstd was built without threads. */
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		ZSTD_CCtx_setParameter(z->zc, ZSTD_c_nbWorkers, cores > 1 ? (int)cores : 1);
		z->out = st_xmalloc(ST_LAYER_BUFSZ);
		return z;
	default:
		st_err(err, ST_E_INVALID, "cannot compress with %s", st_layer_comp_name(c));
		break;
	}
	st_layer_compressor_free(z);
	return NULL;
}

static int gz_run(struct st_layer_compressor *z, const void *p, size_t n, bool end,
		  struct st_error **err)
{
	struct isal_zstream *s = z->gz;
	const unsigned char *in = p;
	do {
		/* avail_in is 32-bit: feed huge writes in pieces. */
		uint32_t chunk = n > (1u << 30) ? (1u << 30) : (uint32_t)n;
		s->next_in = (uint8_t *)in;
		s->avail_in = chunk;
		s->end_of_stream = end && chunk == n;
		for (;;) {
			s->next_out = z->out + z->out_len;
			s->avail_out = (uint32_t)(ST_LAYER_BUFSZ - z->out_len);
			if (isal_deflate(s) != COMP_OK)
				return st_err(err, ST_E_IO, "gzip: compression failed");
			z->out_len = ST_LAYER_BUFSZ - s->avail_out;
			if (z->out_len == ST_LAYER_BUFSZ && emit(z, err) < 0)
				return -1;
			if (s->end_of_stream ? s->internal_state.state == ZSTATE_END
					     : s->avail_in == 0)
				break;
		}
		in += chunk;
		n -= chunk;
	} while (n > 0);
	return 0;
}

static int zstd_run(struct st_layer_compressor *z, const void *p, size_t n, ZSTD_EndDirective mode,
		    struct st_error **err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		ZSTD_outBuffer out = { z->out, ST_LAYER_BUFSZ, z->out_len };
		size_t r = ZSTD_compressStream2(z->zc, &out, &in, mode);
		if (ZSTD_isError(r))
			return st_err(err, ST_E_IO, "zstd: %s", ZSTD_getErrorName(r));
		z->out_len = out.pos;
		if (z->out_len == ST_LAYER_BUFSZ && emit(z, err) < 0)
			return -1;
		if (mode == ZSTD_e_end ? r == 0 : in.pos == in.size)
			return 0;
	}
}

int st_layer_compressor_write(struct st_layer_compressor *z, const void *p, size_t n,
			      struct st_error **err)
{
	if (n == 0)
		return 0;
	switch (z->comp) {
	case ST_LAYER_COMP_GZIP:
		return gz_run(z, p, n, false, err);
	case ST_LAYER_COMP_ZSTD:
		return zstd_run(z, p, n, ZSTD_e_continue, err);
	default:
		return z->sink.write(z->sink.ctx, p, n, err);
	}
}

int st_layer_compressor_finish(struct st_layer_compressor *z, struct st_error **err)
{
	if (z->finished)
		return 0;
	z->finished = true;
	int r = 0;
	if (z->comp == ST_LAYER_COMP_GZIP)
		r = gz_run(z, "", 0, true, err);
	else if (z->comp == ST_LAYER_COMP_ZSTD)
		r = zstd_run(z, "", 0, ZSTD_e_end, err);
	if (r < 0)
		return -1;
	return emit(z, err);
}

void st_layer_compressor_free(struct st_layer_compressor *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->zc);
	free(z->gz);
	free(z->level_buf);
	free(z->out);
	free(z);
}

void st_layer_compressor_freep(struct st_layer_compressor **z)
{
	st_layer_compressor_free(*z);
}

/* ---- decompressor ---- */

struct st_layer_decompressor {
	enum st_layer_comp comp;
	struct st_layer_sink sink;
	struct inflate_state *gz;
	ZSTD_DCtx *zd;
	unsigned char *out;
	bool started;
	bool frame_done;
};

struct st_layer_decompressor *
st_layer_decompressor_new(enum st_layer_comp c, struct st_layer_sink sink, struct st_error **err)
{
	struct st_layer_decompressor *d = st_xcalloc(1, sizeof(*d));
	d->comp = c;
	d->sink = sink;
	switch (c) {
	case ST_LAYER_COMP_NONE:
		return d;
	case ST_LAYER_COMP_GZIP:
		d->gz = st_xmalloc(sizeof(*d->gz));
		isal_inflate_init(d->gz);
		d->gz->crc_flag = ISAL_GZIP;
		return d;
	case ST_LAYER_COMP_ZSTD:
		d->zd = ZSTD_createDCtx();
		if (!d->zd)
			abort();
		return d;
	default:
		st_err(err, ST_E_INVALID, "cannot decompress %s here", st_layer_comp_name(c));
		st_layer_decompressor_free(d);
		return NULL;
	}
}

static int gz_step(struct st_layer_decompressor *d, const unsigned char *in, size_t in_len,
		   size_t *in_used, unsigned char *out, size_t out_cap, size_t *out_used,
		   struct st_error **err)
{
	struct inflate_state *s = d->gz;
	uint32_t ilen = in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)in_len;
	uint32_t olen = out_cap > UINT32_MAX ? UINT32_MAX : (uint32_t)out_cap;
	s->next_in = (uint8_t *)in;
	s->avail_in = ilen;
	s->next_out = out;
	s->avail_out = olen;
	for (;;) {
		/* A finished member followed by more input: the next member starts (RFC 1952 2.2).
		 */
		if (s->block_state == ISAL_BLOCK_FINISH && s->avail_in > 0) {
			uint8_t *ni = s->next_in;
			uint32_t ai = s->avail_in;
			uint8_t *no = s->next_out;
			uint32_t ao = s->avail_out;
			isal_inflate_reset(s);
			s->crc_flag = ISAL_GZIP;
			s->next_in = ni;
			s->avail_in = ai;
			s->next_out = no;
			s->avail_out = ao;
		}
		int r = isal_inflate(s);
		if (r < 0)
			return st_err(err, ST_E_PARSE, "gzip: %s",
				      r == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch"
								   : "invalid data");
		if (s->block_state == ISAL_BLOCK_FINISH && s->avail_in > 0 && s->avail_out > 0)
			continue;
		break;
	}
	*in_used = ilen - s->avail_in;
	*out_used = olen - s->avail_out;
	d->frame_done = s->block_state == ISAL_BLOCK_FINISH;
	return 0;
}

static int zstd_step(struct st_layer_decompressor *d, const void *in, size_t in_len,
		     size_t *in_used, void *out, size_t out_cap, size_t *out_used,
		     struct st_error **err)
{
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_cap, 0 };
	for (;;) {
		size_t before_in = ib.pos, before_out = ob.pos;
		size_t r = ZSTD_decompressStream(d->zd, &ob, &ib);
		if (ZSTD_isError(r))
			return st_err(err, ST_E_PARSE, "zstd: %s", ZSTD_getErrorName(r));
		if (ib.pos != before_in || ob.pos != before_out)
			d->frame_done = r == 0;
		else
			break;
		if (ob.pos == ob.size || (ib.pos == ib.size && r != 0))
			break;
	}
	*in_used = ib.pos;
	*out_used = ob.pos;
	return 0;
}

int st_layer_decompressor_step(struct st_layer_decompressor *d, const void *in, size_t in_len,
			       size_t *in_used, void *out, size_t out_cap, size_t *out_used,
			       struct st_error **err)
{
	*in_used = *out_used = 0;
	if (in_len)
		d->started = true;
	switch (d->comp) {
	case ST_LAYER_COMP_GZIP:
		return gz_step(d, in, in_len, in_used, out, out_cap, out_used, err);
	case ST_LAYER_COMP_ZSTD:
		return zstd_step(d, in, in_len, in_used, out, out_cap, out_used, err);
	default: {
		size_t n = in_len < out_cap ? in_len : out_cap;
		memcpy(out, in, n);
		*in_used = *out_used = n;
		return 0;
	}
	}
}

bool st_layer_decompressor_at_end(const struct st_layer_decompressor *d)
{
	return d->comp == ST_LAYER_COMP_NONE || !d->started || d->frame_done;
}

int st_layer_decompressor_write(struct st_layer_decompressor *d, const void *p, size_t n,
				struct st_error **err)
{
	if (d->comp == ST_LAYER_COMP_NONE)
		return n ? d->sink.write(d->sink.ctx, p, n, err) : 0;
	if (!d->out)
		d->out = st_xmalloc(ST_LAYER_BUFSZ);
	const unsigned char *in = p;
	for (;;) {
		size_t iu, ou;
		if (st_layer_decompressor_step(d, in, n, &iu, d->out, ST_LAYER_BUFSZ, &ou, err) < 0)
			return -1;
		if (ou && d->sink.write(d->sink.ctx, d->out, ou, err) < 0)
			return -1;
		in += iu;
		n -= iu;
		if (n == 0 && ou < ST_LAYER_BUFSZ)
			return 0;
		if (iu == 0 && ou == 0)
			return st_err(err, ST_E_PARSE, "%s: decompressor made no progress",
				      st_layer_comp_name(d->comp));
	}
}

int st_layer_decompressor_finish(struct st_layer_decompressor *d, struct st_error **err)
{
	if (d->comp == ST_LAYER_COMP_NONE)
		return 0;
	if (!d->out)
		d->out = st_xmalloc(ST_LAYER_BUFSZ);
	for (;;) {
		size_t iu, ou;
		if (st_layer_decompressor_step(d, "", 0, &iu, d->out, ST_LAYER_BUFSZ, &ou, err) < 0)
			return -1;
		if (!ou)
			break;
		if (d->sink.write(d->sink.ctx, d->out, ou, err) < 0)
			return -1;
	}
	if (!st_layer_decompressor_at_end(d))
		return st_err(err, ST_E_PARSE, "%s: truncated stream", st_layer_comp_name(d->comp));
	return 0;
}

void st_layer_decompressor_free(struct st_layer_decompressor *d)
{
	if (!d)
		return;
	ZSTD_freeDCtx(d->zd);
	free(d->gz);
	free(d->out);
	free(d);
}

void st_layer_decompressor_freep(struct st_layer_decompressor **d)
{
	st_layer_decompressor_free(*d);
}
