/*
 * source.c: an image of a registry read in place, without the store: its config, and its
 * layers one at a time. A layer is downloaded to an unlinked temporary file and checked
 * against its digest before anyone reads it; the file goes when the next one is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer/compress.h"
#include "local/local.h"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* A config is small; anything bigger than this is refused before it is read in full. */
#define CONFIG_MAX (8u << 20)

struct st_registry_image {
	struct st_registry *r;
	struct st_image_ref *ref;
	struct st_image_config *config;
	struct st_registry_manifest manifest; /* as served */
	struct st_image_manifest *m;
	struct st_digest *digests; /* the layers', as st_local_layers lists them */
	int fd;			   /* the open layer, or -1 */
};

struct capped {
	struct st_buf *b;
	size_t max;
};

static int capped_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct capped *c = ctx;
	if (c->b->len + n > c->max)
		return st_err(err, ST_E_INVALID, "larger than %zu MiB", c->max >> 20);
	st_buf_add(c->b, p, n);
	return 0;
}

static int capped_reset(void *ctx, struct st_error **err)
{
	(void)err;
	st_buf_setlen(((struct capped *)ctx)->b, 0);
	return 0;
}

/* The manifest 'ref' names, for 'platform' (NULL: the host's) when it names an index. */
static int resolve(struct st_registry *r, const struct st_image_ref *ref,
		   const struct st_platform *platform, struct st_registry_manifest *out,
		   struct st_error **err)
{
	int rc = st_registry_get_manifest(r, ref, out, err);
	if (rc == 0 && st_image_detect(out->bytes.data, out->bytes.len) == ST_IMAGE_KIND_INDEX) {
		st_auto(st_image_index) struct st_image_index *idx = NULL;
		struct st_platform host;
		st_platform_host(&host);
		const struct st_image_descriptor *sel = NULL;
		rc = st_image_index_parse(out->bytes.data, out->bytes.len, &idx, err);
		if (rc == 0 &&
		    !(sel = st_image_index_select(idx, platform ? platform : &host, err)))
			rc = -1;
		struct st_digest want = rc == 0 ? sel->digest : (struct st_digest){ "" };
		st_registry_manifest_release(out);
		*out = (struct st_registry_manifest){ .bytes = ST_BUF_INIT };
		if (rc == 0)
			rc = st_registry_get_manifest_digest(r, ref, &want, out, err);
	}
	return rc;
}

int st_registry_image_open(struct st_registry *r, const struct st_image_ref *ref,
			   const struct st_platform *platform, struct st_registry_image **out,
			   struct st_error **err)
{
	st_auto(st_registry_image) struct st_registry_image *img = st_xcalloc(1, sizeof(*img));
	img->r = r;
	img->fd = -1;
	img->manifest = (struct st_registry_manifest){ .bytes = ST_BUF_INIT };
	img->ref = st_image_ref_dup(ref);
	if (resolve(r, ref, platform, &img->manifest, err) < 0 ||
	    st_image_manifest_parse(img->manifest.bytes.data, img->manifest.bytes.len, &img->m,
				    err) < 0)
		return -1;
	struct st_buf cfg = ST_BUF_INIT;
	struct capped c = { &cfg, CONFIG_MAX };
	struct st_http_sink sink = { capped_write, capped_reset, &c };
	int rc = st_registry_get_blob(r, ref, &img->m->config.digest, &sink, err);
	struct st_digest got;
	if (rc == 0) {
		st_digest_of(cfg.data, cfg.len, &got);
		if (!st_digest_equal(&got, &img->m->config.digest))
			rc = st_err(err, ST_E_DIGEST, "config %s: digest mismatch: got %s",
				    img->m->config.digest.str, got.str);
	}
	if (rc == 0)
		rc = st_image_config_parse(cfg.data, cfg.len, &img->config, err);
	st_buf_release(&cfg);
	if (rc == 0 && img->config->n_diff_ids != img->m->n_layers)
		rc = st_err(err, ST_E_INVALID, "%zu layers, the config has %zu diff_ids",
			    img->m->n_layers, img->config->n_diff_ids);
	if (rc < 0)
		return -1;
	img->digests = st_xcalloc(img->m->n_layers + 1, sizeof(*img->digests));
	for (size_t i = 0; i < img->m->n_layers; i++)
		img->digests[i] = img->m->layers[i].digest;
	*out = st_steal(&img);
	return 0;
}

/* Layer bytes to the temporary file, hashed on the way. */
struct download {
	int fd;
	struct st_hasher h;
};

static int download_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct download *d = ctx;
	if (st_write_all(d->fd, p, n, err) < 0)
		return -1;
	st_hasher_update(&d->h, p, n);
	return 0;
}

static int download_reset(void *ctx, struct st_error **err)
{
	struct download *d = ctx;
	if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
		return st_err_errno(err, "restart a layer's download");
	st_hasher_release(&d->h);
	st_hasher_init(&d->h);
	return 0;
}

static void layer_close(void *ctx, size_t i)
{
	struct st_registry_image *img = ctx;
	(void)i;
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

/* Blob 'want', downloaded and verified, through *src until layer_close() or the next open. */
static int blob_open(void *ctx, const struct st_digest *want, struct st_layer_source *src,
		     struct st_error **err)
{
	const char *tmp = getenv("TMPDIR");
	struct st_registry_image *img = ctx;
	layer_close(img, 0);
	struct download d = { .fd = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC,
					 0600) };
	if (d.fd < 0)
		return st_err_errno(err, "make a temporary file for %s", want->str);
	st_hasher_init(&d.h);
	struct st_http_sink sink = { download_write, download_reset, &d };
	int rc = st_registry_get_blob(img->r, img->ref, want, &sink, err);
	struct st_digest got;
	st_hasher_final(&d.h, &got);
	if (rc == 0 && !st_digest_equal(&got, want))
		rc = st_err(err, ST_E_DIGEST, "blob %s: digest mismatch: got %s", want->str,
			    got.str);
	if (rc == 0 && lseek(d.fd, 0, SEEK_SET) < 0)
		rc = st_err_errno(err, "rewind blob %s", want->str);
	if (rc < 0) {
		close(d.fd);
		return -1;
	}
	img->fd = d.fd;
	*src = st_layer_source_fd(&img->fd);
	return 0;
}

static int layer_open(void *ctx, size_t i, struct st_layer_source *src, struct st_error **err)
{
	struct st_registry_image *img = ctx;
	return blob_open(img, &img->digests[i], src, err);
}

static void blob_close(void *ctx)
{
	layer_close(ctx, 0);
}

void st_registry_image_source(struct st_registry_image *img, struct st_local_source *out)
{
	*out = (struct st_local_source){ .manifest = img->manifest.bytes.data,
					 .manifest_len = img->manifest.bytes.len,
					 .manifest_digest = img->manifest.digest,
					 .open = blob_open,
					 .close = blob_close,
					 .ctx = img };
}

void st_registry_image_layers(struct st_registry_image *img, struct st_local_layers *out)
{
	*out = (struct st_local_layers){ .config = img->config,
					 .digests = img->digests,
					 .diff_ids = img->config->diff_ids,
					 .n_layers = img->m->n_layers,
					 .open = layer_open,
					 .close = layer_close,
					 .ctx = img };
}

void st_registry_image_free(struct st_registry_image *img)
{
	if (!img)
		return;
	layer_close(img, 0);
	st_image_config_free(img->config);
	st_image_manifest_free(img->m);
	st_registry_manifest_release(&img->manifest);
	free(img->digests);
	st_image_ref_free(img->ref);
	free(img);
}

void st_registry_image_freep(struct st_registry_image **img)
{
	st_registry_image_free(*img);
}
