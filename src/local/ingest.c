/*
 * ingest.c: a compressed layer blob from outside (a registry, a shared build cache) into the
 * store, trusted only once checked.
 *
 * The bytes stream once: into a blob writer that checks the blob's digest before it becomes
 * visible, and through a decompressor whose output goes to the layer checker, which hashes it,
 * so the diff_id the image's config claims is checked too (and the uncompressed size learnt),
 * and reads it, so a layer that could not be unpacked safely (paths or hardlinks out of the root,
 * bad whiteouts) is refused before its blob becomes visible, as load refuses it. The blob is
 * never read again: inflating it once is the main cost of a pull.
 */
#include "local/local.h"

#include <stdlib.h>
#include <string.h>

#include "layer/compress.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct st_local_ingest {
	struct st_store *s;
	struct st_store_lease *lease;
	pthread_mutex_t *store_lock;
	struct st_digest digest;
	char *media_type;
	enum st_layer_comp comp;
	struct st_store_blob_writer *w;
	struct st_layer_decompressor *d;
	struct st_layer_checker *check;
};

static void lock(struct st_local_ingest *g)
{
	if (g->store_lock)
		pthread_mutex_lock(g->store_lock);
}

static void unlock(struct st_local_ingest *g)
{
	if (g->store_lock)
		pthread_mutex_unlock(g->store_lock);
}

static void stop(struct st_local_ingest *g)
{
	st_store_blob_writer_free(g->w);
	g->w = NULL;
	st_layer_decompressor_free(g->d);
	g->d = NULL;
	st_layer_checker_free(g->check);
	g->check = NULL;
}

static int start(struct st_local_ingest *g, struct st_error **err)
{
	lock(g);
	int rc = st_store_blob_writer_new(g->s, g->digest.str, &g->w, err);
	unlock(g);
	if (rc < 0)
		return -1;
	st_store_blob_writer_set_lease(g->w, g->lease);
	g->check = st_layer_checker_new(err);
	if (!g->check)
		return -1;
	struct st_layer_sink sink = { .write = st_layer_checker_write, .ctx = g->check };
	g->d = st_layer_decompressor_new(g->comp, sink, err);
	return g->d ? 0 : -1;
}

int st_local_ingest_new(struct st_store *s, struct st_store_lease *lease,
			pthread_mutex_t *store_lock, const struct st_image_descriptor *d,
			struct st_local_ingest **out, struct st_error **err)
{
	st_auto(st_local_ingest) struct st_local_ingest *g = st_xcalloc(1, sizeof(*g));
	*g = (struct st_local_ingest){
		.s = s, .lease = lease, .store_lock = store_lock, .digest = d->digest
	};
	if (!st_layer_media_type_comp(d->media_type, &g->comp))
		return st_err(err, ST_E_INVALID, "layer %s: '%s' is not a layer media type",
			      d->digest.str, d->media_type ? d->media_type : "");
	g->media_type = st_xstrdup(d->media_type);
	if (start(g, err) < 0)
		return -1;
	*out = st_steal(&g);
	return 0;
}

int st_local_ingest_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct st_local_ingest *g = ctx;
	if (st_store_blob_writer_write(g->w, p, n, err) < 0)
		return -1;
	return st_layer_decompressor_write(g->d, p, n, err);
}

int st_local_ingest_reset(void *ctx, struct st_error **err)
{
	struct st_local_ingest *g = ctx;
	lock(g);
	stop(g);
	unlock(g);
	return start(g, err);
}

int st_local_ingest_commit(struct st_local_ingest *g, const struct st_digest *diff_id,
			   struct st_store_layer *out, struct st_error **err)
{
	if (st_layer_decompressor_finish(g->d, err) < 0)
		return -1;
	st_layer_decompressor_free(g->d);
	g->d = NULL;
	struct st_digest got;
	uint64_t diff_size;
	if (st_layer_checker_finish(g->check, &got, &diff_size, err) < 0)
		return -1;
	if (!st_digest_equal(&got, diff_id))
		return st_err(err, ST_E_DIGEST,
			      "its content is %s, the image's config says %s (diff_id)", got.str,
			      diff_id->str);
	uint64_t size;
	lock(g);
	int rc = st_store_blob_writer_commit(g->w, NULL, &size, err);
	unlock(g);
	if (rc < 0)
		return -1;
	struct st_store_layer l = {
		.digest = g->digest,
		.diff_id = got,
		.media_type = g->media_type,
		.size = size,
		.diff_size = diff_size,
	};
	lock(g);
	rc = st_store_layer_put(g->s, &l, err);
	unlock(g);
	if (rc < 0)
		return -1;
	if (out) {
		*out = l;
		out->media_type = st_xstrdup(g->media_type);
	}
	return 0;
}

void st_local_ingest_free(struct st_local_ingest *g)
{
	if (!g)
		return;
	lock(g);
	stop(g);
	unlock(g);
	free(g->media_type);
	free(g);
}

void st_local_ingest_freep(struct st_local_ingest **g)
{
	st_local_ingest_free(*g);
}
