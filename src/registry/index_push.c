/*
 * index_push.c: an index of the store to a registry, with everything it lists.
 *
 * The distribution registry refuses a manifest whose blobs it lacks and an index whose
 * manifests it lacks, so the order is bottom up: each manifest's blobs, the manifest (by
 * digest: it needs no tag of its own), then the index, byte for byte as stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* The store's index 'digest', parsed; ST_E_INVALID when the blob is not an index. */
static int read_index(struct st_store *s, const struct st_digest *digest, struct st_buf *bytes,
		      struct st_image_index **out, struct st_error **err)
{
	if (st_store_read_blob(s, digest->str, bytes, err) < 0)
		return -1;
	if (st_image_detect(bytes->data, bytes->len) != ST_IMAGE_KIND_INDEX)
		return st_err(err, ST_E_INVALID, "%s: not an index", digest->str);
	return st_image_index_parse(bytes->data, bytes->len, out, err);
}

static int read_manifest(struct st_store *s, const struct st_digest *digest, struct st_buf *bytes,
			 struct st_image_manifest **out, struct st_error **err)
{
	if (st_store_read_blob(s, digest->str, bytes, err) < 0)
		return -1;
	return st_image_manifest_parse(bytes->data, bytes->len, out, err);
}

static void event(const struct st_events *ev, const char *status)
{
	if (ev && ev->fn)
		ev->fn(ev->ctx, "", status);
}

/* One manifest of the index: its blobs, then itself under its digest. */
static int push_manifest(struct st_store *s, struct st_registry *r, const struct st_image_ref *dest,
			 const struct st_image_descriptor *d, const struct st_events *ev,
			 struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	st_auto(st_image_ref) struct st_image_ref *to = st_image_ref_at_digest(dest, d->digest.str);
	int rc = read_manifest(s, &d->digest, &b, &m, err);
	for (size_t i = 0; rc == 0 && i < m->n_layers; i++)
		rc = st_registry_push_store_blob(s, r, dest, &m->layers[i].digest, ev, err);
	if (rc == 0)
		rc = st_registry_push_store_blob(s, r, dest, &m->config.digest, NULL, err);
	const char *mt = m && m->media_type ? m->media_type : d->media_type;
	if (rc == 0)
		rc = st_registry_put_manifest(r, to, mt ? mt : "", b.data, b.len, err);
	st_buf_release(&b);
	if (rc < 0 && d->has_platform) {
		struct st_buf p = ST_BUF_INIT;
		st_platform_format(&d->platform, &p);
		st_err_wrap(err, "%s manifest %s", p.data, d->digest.str);
		st_buf_release(&p);
		return -1;
	}
	if (rc < 0)
		return st_err_wrap(err, "manifest %s", d->digest.str);
	st_autofree char *repo = st_image_ref_repository(dest);
	st_autofree char *what = st_xasprintf("Pushed ref %s@%s", repo, d->digest.str);
	event(ev, what);
	return 0;
}

int st_registry_push_index(struct st_store *s, struct st_registry *r,
			   const struct st_digest *digest, const struct st_image_ref *dest,
			   const struct st_events *events, struct st_registry_push_result *out,
			   struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	struct st_buf b = ST_BUF_INIT;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = read_index(s, digest, &b, &idx, err);
	for (size_t i = 0; rc == 0 && i < idx->n_manifests; i++)
		rc = push_manifest(s, r, dest, &idx->manifests[i], events, err);
	const char *mt = idx && idx->media_type ? idx->media_type : ST_MT_OCI_INDEX;
	if (rc == 0)
		rc = st_registry_put_manifest(r, dest, mt, b.data, b.len, err);
	if (rc == 0) {
		out->digest = *digest;
		out->size = b.len;
	}
	st_buf_release(&b);
	if (rc < 0) {
		st_autofree char *repo = st_image_ref_repository(dest);
		return st_err_wrap(err, "push %s", repo);
	}
	return 0;
}
