/*
 * push.c: an image of the store to a registry.
 *
 * The order is the distribution spec's: every blob first (layers, then the config), skipping
 * those the repository already has, then the manifest, byte for byte as the store holds it,
 * so the digest the registry answers with is the image's own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* A blob read for upload, its bytes counted for the events' bytes callback. */
struct blob_reader {
	int fd;
	const struct st_events *ev;
	char id[13];
	uint64_t done, size;
};

static void count(struct blob_reader *b)
{
	if (b->ev && b->ev->bytes)
		b->ev->bytes(b->ev->ctx, b->id, b->done, b->size);
}

static ssize_t blob_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct blob_reader *b = ctx;
	for (;;) {
		ssize_t k = read(b->fd, buf, n);
		if (k >= 0) {
			b->done += (uint64_t)k;
			if (k > 0)
				count(b);
			return k;
		}
		if (errno != EINTR)
			return st_err_errno(err, "read blob");
	}
}

static int blob_rewind(void *ctx, struct st_error **err)
{
	struct blob_reader *b = ctx;
	if (lseek(b->fd, 0, SEEK_SET) < 0)
		return st_err_errno(err, "rewind blob");
	b->done = 0;
	count(b);
	return 0;
}

static void event(const struct st_events *ev, const struct st_digest *d, const char *status)
{
	if (!ev || !ev->fn)
		return;
	char id[13] = "";
	if (d)
		snprintf(id, sizeof(id), "%.12s", st_digest_hex(d));
	ev->fn(ev->ctx, id, status);
}

/*
 * Another repository of dest's registry that holds blob 'd', as the store knows from what it
 * pulled and pushed: the blob can be mounted from there instead of uploaded. New, or NULL.
 */
static char *mount_source(struct st_store *s, const struct st_image_ref *dest,
			  const struct st_digest *d)
{
	char **names = NULL;
	size_t n = 0;
	struct st_error *e = NULL;
	if (st_store_layer_repo_digests(s, d->str, &names, &n, &e) < 0) {
		st_error_free(e); /* no mount then: an upload does the same */
		return NULL;
	}
	const char *domain = st_image_ref_domain(dest);
	size_t dl = strlen(domain);
	char *found = NULL;
	for (size_t i = 0; i < n && !found; i++) {
		const char *name = names[i];
		const char *at = strrchr(name, '@');
		if (!at || strncmp(name, domain, dl) || name[dl] != '/')
			continue;
		const char *path = name + dl + 1;
		size_t pl = (size_t)(at - path);
		if (pl != strlen(st_image_ref_path(dest)) ||
		    strncmp(path, st_image_ref_path(dest), pl))
			found = st_xstrndup(path, pl);
	}
	st_store_strings_free(names, n);
	return found;
}

int st_registry_push_store_blob(struct st_store *s, struct st_registry *r,
				const struct st_image_ref *dest, const struct st_digest *d,
				const struct st_events *ev, struct st_error **err)
{
	bool exists = false;
	if (st_registry_blob_exists(r, dest, d, &exists, err) < 0)
		return -1;
	if (exists) {
		event(ev, d, "Layer already exists");
		return 0;
	}
	struct blob_reader b = { .fd = -1, .ev = ev };
	snprintf(b.id, sizeof(b.id), "%.12s", st_digest_hex(d));
	uint64_t size = 0;
	if (st_store_open_blob(s, d->str, &b.fd, &size, err) < 0)
		return -1;
	b.size = size;
	event(ev, d, "Pushing");
	struct st_http_body_reader body = { blob_read, blob_rewind, &b, size };
	st_autofree char *from = mount_source(s, dest, d);
	bool mounted = false;
	int rc = st_registry_push_blob(r, dest, d, &body, from, &mounted, err);
	close(b.fd);
	if (rc == 0) {
		st_autofree char *what = mounted ? st_xasprintf("Mounted from %s", from) : NULL;
		event(ev, d, mounted ? what : "Pushed");
	}
	return rc;
}

/*
 * Push the signature manifest the store holds for the image 'digest' under cosign's tag
 * "sha256-<hex>.sig", with its blobs. An image without signatures pushes nothing.
 */
static int push_signatures(struct st_store *s, struct st_registry *r,
			   const struct st_image_ref *dest, const struct st_digest *digest,
			   const struct st_events *ev, struct st_error **err)
{
	struct st_digest sig;
	struct st_error *e = NULL;
	if (st_store_artifact_get(s, digest->str, ST_MT_COSIGN_SIGNATURES, &sig, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_free(e);
		return 0;
	}
	struct st_buf bytes = ST_BUF_INIT;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	st_auto(st_image_ref) struct st_image_ref *to = st_image_ref_dup(dest);
	free(to->digest);
	to->digest = NULL;
	st_autofree char *tag = st_image_sig_tag(digest);
	int rc = st_store_read_blob(s, sig.str, &bytes, err);
	if (rc == 0)
		rc = st_image_manifest_parse(bytes.data, bytes.len, &m, err);
	for (size_t i = 0; rc == 0 && i < m->n_layers; i++)
		rc = st_registry_push_store_blob(s, r, dest, &m->layers[i].digest, NULL, err);
	if (rc == 0)
		rc = st_registry_push_store_blob(s, r, dest, &m->config.digest, NULL, err);
	if (rc == 0)
		rc = st_image_ref_set_tag(to, tag, err);
	if (rc == 0)
		rc = st_registry_put_manifest(r, to, m->media_type ? m->media_type : "", bytes.data,
					      bytes.len, err);
	st_buf_release(&bytes);
	if (rc < 0)
		return st_err_wrap(err, "signatures %s", tag);
	st_autofree char *what = st_xasprintf("Pushed signatures as %s", tag);
	event(ev, NULL, what);
	return 0;
}

/*
 * Push the artifacts the store holds about the image 'digest' (OCI 1.1 referrers: manifests
 * whose subject it is), each with its blobs. cosign's signatures, which name no subject, go
 * under their own tag (push_signatures).
 */
static int push_referrers(struct st_store *s, struct st_registry *r,
			  const struct st_image_ref *dest, const struct st_digest *digest,
			  const struct st_events *ev, struct st_error **err)
{
	char **arts = NULL;
	size_t n = 0;
	if (st_store_edge_list_to(s, digest->str, ST_STORE_EDGE_SUBJECT, &arts, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct st_buf b = ST_BUF_INIT;
		st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
		rc = st_store_read_blob(s, arts[i], &b, err);
		if (rc == 0)
			rc = st_image_manifest_parse(b.data, b.len, &m, err);
		bool referrer =
		    rc == 0 && m->subject && st_digest_equal(&m->subject->digest, digest);
		for (size_t j = 0; referrer && rc == 0 && j < m->n_layers; j++)
			rc = st_registry_push_store_blob(s, r, dest, &m->layers[j].digest, NULL,
							 err);
		if (referrer && rc == 0)
			rc = st_registry_push_store_blob(s, r, dest, &m->config.digest, NULL, err);
		if (referrer && rc == 0)
			rc = st_registry_push_referrer(r, dest, digest, b.data, b.len, err);
		st_buf_release(&b);
		if (rc < 0) {
			st_err_wrap(err, "referrer %s", arts[i]);
		} else if (referrer) {
			st_autofree char *what = st_xasprintf("Pushed referrer %s", arts[i]);
			event(ev, NULL, what);
		}
	}
	st_store_strings_free(arts, n);
	return rc;
}

int st_registry_push(struct st_store *s, struct st_registry *r, const char *image_id,
		     const struct st_image_ref *dest, const struct st_events *events,
		     struct st_registry_push_result *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	st_autofree char *repo = st_image_ref_repository(dest);
	st_auto(st_store_image) struct st_store_image *img = NULL;
	struct st_buf bytes = ST_BUF_INIT;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = st_store_image_get(s, image_id, &img, err);
	if (rc == 0)
		rc = st_store_read_blob(s, img->manifest_digest.str, &bytes, err);
	if (rc == 0)
		rc = st_image_manifest_parse(bytes.data, bytes.len, &m, err);
	for (size_t i = 0; rc == 0 && i < m->n_layers; i++)
		rc = st_registry_push_store_blob(s, r, dest, &m->layers[i].digest, events, err);
	if (rc == 0)
		rc = st_registry_push_store_blob(s, r, dest, &m->config.digest, NULL, err);
	const char *mt = m && m->media_type ? m->media_type : img ? img->manifest_media_type : "";
	if (rc == 0)
		rc = st_registry_put_manifest(r, dest, mt, bytes.data, bytes.len, err);
	if (rc == 0) {
		st_digest_of(bytes.data, bytes.len, &out->digest);
		out->size = bytes.len;
		st_autofree char *rd = st_xasprintf("%s@%s", repo, out->digest.str);
		rc = st_store_repo_digest_add(s, img->id.str, rd, err);
	}
	if (rc == 0)
		rc = push_signatures(s, r, dest, &out->digest, events, err);
	if (rc == 0)
		rc = push_referrers(s, r, dest, &out->digest, events, err);
	st_buf_release(&bytes);
	if (rc < 0)
		return st_err_wrap(err, "push %s", repo);
	return 0;
}
