/*
 * darchive.c: a docker-archive as the source of a streamed copy. Its manifest.json is not an
 * image manifest, so one is made here (OCI) from the config and the layers as they will be
 * sent. Old Docker and skopeo write uncompressed layers: those going anywhere but another
 * docker-archive are gzip-compressed, as skopeo does, the digest of what comes out computed in
 * the same pass as the digest of what goes in. A tar entry and a manifest name a blob's size and
 * digest before its bytes, so a compressed layer waits in an unlinked temporary file (gone with
 * the process) until it is sent; a layer kept as it is streams from the archive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/archive.h"
#include "copy/internal.h"
#include "layer/compress.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

#define CHUNK (1u << 20)

struct layer {
	struct st_digest blob; /* as sent */
	int fd;		       /* the compressed blob, or -1: the archive's entry as it is */
};

struct st_copy_darchive {
	struct st_archive_image *img;
	struct st_local_layers layers;
	struct layer *v;
	struct st_buf manifest;
	struct st_digest config;
	size_t config_pos; /* the config being read */
	int open;	   /* -2: nothing, -1: the config, else the layer */
};

/* Bytes of the compressed layer to its temporary file, hashed and counted. */
struct spool {
	int fd;
	struct st_hasher h;
	uint64_t size;
};

static int spool_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct spool *s = ctx;
	if (st_write_all(s->fd, p, n, err) < 0)
		return -1;
	st_hasher_update(&s->h, p, n);
	s->size += n;
	return 0;
}

/*
 * Layer 'i' read once: checked against the digest the archive names it by (its blob's, or its
 * diff_id for an uncompressed one) and, when 'compress' and it is uncompressed, gzipped to a
 * temporary file. *desc describes the blob as it will be sent.
 */
static int prepare_layer(struct st_copy_darchive *da, size_t i, bool compress, const char *path,
			 struct st_image_descriptor *desc, struct st_error **err)
{
	const char *name = st_archive_image_layer_name(da->img, i);
	struct st_layer_source in;
	if (da->layers.open(da->layers.ctx, i, &in, err) < 0)
		return st_err_wrap(err, "%s: layer %s", path, name);
	st_autofree char *buf = st_xmalloc(CHUNK);
	struct st_hasher h;
	st_hasher_init(&h);
	struct spool sp = { .fd = -1 };
	struct st_layer_compressor *z = NULL;
	enum st_layer_comp comp = ST_LAYER_COMP_NONE;
	uint64_t size = 0;
	int rc = 0;
	for (bool first = true;; first = false) {
		ssize_t k = in.read(in.ctx, buf, CHUNK, err);
		if (k <= 0) {
			rc = (int)k;
			break;
		}
		if (first)
			comp = st_layer_comp_detect(buf, (size_t)k);
		if (first && compress && comp == ST_LAYER_COMP_NONE) {
			const char *tmp = getenv("TMPDIR");
			sp.fd =
			    open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
			if (sp.fd < 0) {
				rc = st_err_errno(err, "make a temporary file");
				break;
			}
			st_hasher_init(&sp.h);
			z = st_layer_compressor_new(
			    ST_LAYER_COMP_GZIP, 0, (struct st_layer_sink){ spool_write, &sp }, err);
			if (!z) {
				rc = -1;
				break;
			}
		}
		st_hasher_update(&h, buf, (size_t)k);
		size += (uint64_t)k;
		if (z && st_layer_compressor_write(z, buf, (size_t)k, err) < 0) {
			rc = -1;
			break;
		}
	}
	da->layers.close(da->layers.ctx, i);
	if (rc == 0 && z)
		rc = st_layer_compressor_finish(z, err);
	st_layer_compressor_free(z);
	struct st_digest got;
	st_hasher_final(&h, &got);
	if (rc == 0 && !st_digest_equal(&got, &da->layers.digests[i]))
		rc = st_err(err, ST_E_DIGEST, "digest mismatch: the archive names it %s, got %s",
			    da->layers.digests[i].str, got.str);
	desc->digest = got;
	desc->size = (int64_t)size;
	if (sp.fd >= 0) {
		st_hasher_final(&sp.h, &desc->digest);
		desc->size = (int64_t)sp.size;
		comp = ST_LAYER_COMP_GZIP;
		da->v[i].fd = sp.fd;
	}
	da->v[i].blob = desc->digest;
	desc->media_type = st_xstrdup(st_layer_media_type(comp, false));
	if (rc < 0)
		return st_err_wrap(err, "%s: layer %s", path, name);
	return 0;
}

static ssize_t config_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct st_copy_darchive *da = ctx;
	const struct st_buf *b = st_archive_image_config_bytes(da->img);
	(void)err;
	if (n > b->len - da->config_pos)
		n = b->len - da->config_pos;
	memcpy(buf, b->data + da->config_pos, n);
	da->config_pos += n;
	return (ssize_t)n;
}

static void blob_close(void *ctx)
{
	struct st_copy_darchive *da = ctx;
	if (da->open >= 0 && da->v[da->open].fd < 0)
		da->layers.close(da->layers.ctx, (size_t)da->open);
	da->open = -2;
}

static int blob_open(void *ctx, const struct st_digest *d, struct st_layer_source *src,
		     struct st_error **err)
{
	struct st_copy_darchive *da = ctx;
	blob_close(da);
	if (st_digest_equal(d, &da->config)) {
		da->config_pos = 0;
		da->open = -1;
		*src = (struct st_layer_source){ config_read, da };
		return 0;
	}
	for (size_t i = 0; i < da->layers.n_layers; i++) {
		if (!st_digest_equal(d, &da->v[i].blob))
			continue;
		if (da->v[i].fd < 0) {
			if (da->layers.open(da->layers.ctx, i, src, err) < 0)
				return -1;
		} else {
			if (lseek(da->v[i].fd, 0, SEEK_SET) < 0)
				return st_err_errno(err, "rewind layer %zu", i);
			*src = st_layer_source_fd(&da->v[i].fd);
		}
		da->open = (int)i;
		return 0;
	}
	return st_err(err, ST_E_NOTFOUND, "no blob %s", d->str);
}

int st_copy_darchive_open(const struct st_copy_ref *src, const struct st_copy_ref *dst,
			  const struct st_copy_opts *o, struct st_copy_darchive **out,
			  struct st_local_source *in, struct st_error **err)
{
	st_auto(st_copy_darchive) struct st_copy_darchive *da = st_xcalloc(1, sizeof(*da));
	da->open = -2;
	da->manifest = (struct st_buf)ST_BUF_INIT;
	if (st_archive_image_open(src->path, ST_ARCHIVE_DOCKER, src->name, o->platform, &da->img,
				  err) < 0)
		return -1;
	st_archive_image_layers(da->img, &da->layers);
	size_t n = da->layers.n_layers;
	da->v = st_xcalloc(n + 1, sizeof(*da->v));
	for (size_t i = 0; i < n; i++)
		da->v[i].fd = -1;
	const struct st_buf *config = st_archive_image_config_bytes(da->img);
	st_digest_of(config->data, config->len, &da->config);
	st_auto(st_image_manifest) struct st_image_manifest *m = st_image_manifest_new();
	m->config.digest = da->config;
	m->config.size = (int64_t)config->len;
	/* a docker-archive is the one destination that keeps layers uncompressed, as Docker does */
	bool compress = dst->kind != ST_COPY_DOCKER_ARCHIVE;
	for (size_t i = 0; i < n; i++) {
		struct st_image_descriptor d = { 0 };
		int rc = prepare_layer(da, i, compress, src->path, &d, err);
		if (rc == 0)
			st_image_manifest_add_layer(m, &d);
		st_image_descriptor_release(&d);
		if (rc < 0)
			return -1;
	}
	st_image_manifest_serialize(m, &da->manifest);
	*in = (struct st_local_source){ .manifest = da->manifest.data,
					.manifest_len = da->manifest.len,
					.open = blob_open,
					.close = blob_close,
					.ctx = da };
	st_digest_of(da->manifest.data, da->manifest.len, &in->manifest_digest);
	*out = st_steal(&da);
	return 0;
}

void st_copy_darchive_free(struct st_copy_darchive *da)
{
	if (!da)
		return;
	blob_close(da);
	for (size_t i = 0; da->v && i < da->layers.n_layers; i++)
		if (da->v[i].fd >= 0)
			close(da->v[i].fd);
	free(da->v);
	st_buf_release(&da->manifest);
	st_archive_image_free(da->img);
	free(da);
}

void st_copy_darchive_freep(struct st_copy_darchive **da)
{
	st_copy_darchive_free(*da);
}
