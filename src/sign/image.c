/*
 * image.c: signing and verifying images of the store.
 *
 * An image's signatures are one manifest in cosign's shape (what go-containerregistry makes of
 * an empty image with one layer appended per signature): an OCI image manifest whose config
 * lists the layers' digests as diff_ids, and one layer per signature: the payload's blob,
 * media type ST_SIGN_PAYLOAD_MEDIA_TYPE, the signature in its ST_SIGN_ANNOTATION annotation.
 * Signing again makes a new manifest with one more layer; the store's artifact record moves
 * to it, as cosign moves the "sha256-<hex>.sig" tag.
 */
#include "sign/internal.h"

#include <stdlib.h>
#include <string.h>

#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

void st_sign_result_release(struct st_sign_result *r)
{
	free(r->repository);
	st_strv_free(r->payloads, r->n_payloads);
	memset(r, 0, sizeof(*r));
}

/*
 * What 'name' resolves to in the store: *id, the image; *subject, the digest its name points
 * at (an index when pulled through one); *repository (new; NULL when 'name' is an image id,
 * which names no repository).
 */
static int resolve(struct st_store *s, const char *name, struct st_digest *id,
		   struct st_digest *subject, char **repository, struct st_error **err)
{
	*repository = NULL;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, name, &img, err) < 0)
		return -1;
	*id = img->id;
	*subject = img->manifest_digest;
	struct st_error *e = NULL;
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(name, &ref, &e) < 0) {
		st_error_free(e);
		return 0;
	}
	if (ref->digest) {
		if (st_store_has_blob(s, ref->digest))
			memcpy(subject->str, ref->digest, ST_DIGEST_STR_LEN + 1);
		*repository = st_image_ref_repository(ref);
		return 0;
	}
	st_autofree char *full = st_image_ref_string(ref);
	struct st_store_ref r = { 0 };
	if (st_store_ref_get(s, full, &r, &e) < 0) {
		st_error_free(e); /* an id or an id prefix */
		return 0;
	}
	*subject = r.manifest_digest;
	st_store_ref_release(&r);
	*repository = st_image_ref_repository(ref);
	return 0;
}

/* The image's signature manifest in the store, or a new empty one when it has none. */
static int load_sig_manifest(struct st_store *s, const char *subject,
			     struct st_image_manifest **out, struct st_digest *digest,
			     struct st_error **err)
{
	struct st_error *e = NULL;
	if (st_store_artifact_get(s, subject, ST_MT_COSIGN_SIGNATURES, digest, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_free(e);
		digest->str[0] = '\0';
		*out = st_image_manifest_new();
		return 0;
	}
	struct st_buf b = ST_BUF_INIT;
	int rc = st_store_read_blob(s, digest->str, &b, err);
	if (rc == 0)
		rc = st_image_manifest_parse(b.data, b.len, out, err);
	st_buf_release(&b);
	if (rc < 0)
		return st_err_wrap(err, "signature manifest %s", digest->str);
	return 0;
}

/* go-containerregistry's config of an empty image with these layers appended. */
static void sig_config(const struct st_image_manifest *m, struct st_buf *out)
{
	json_t *diff_ids = json_array(), *history = json_array();
	for (size_t i = 0; i < m->n_layers; i++) {
		json_array_append_new(diff_ids, json_string(m->layers[i].digest.str));
		json_array_append_new(history,
				      json_pack("{s:s}", "created", "0001-01-01T00:00:00Z"));
	}
	json_t *doc = json_pack("{s:s,s:s,s:o,s:s,s:{s:s,s:o},s:{}}", "architecture", "", "created",
				"0001-01-01T00:00:00Z", "history", history, "os", "", "rootfs",
				"type", "layers", "diff_ids", diff_ids, "config");
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	st_buf_adds(out, s);
	free(s);
}

/* Put a small blob, protected by 'lease' until the artifact record names it. */
static int put_leased(struct st_store *s, struct st_store_lease *lease, const void *p, size_t n,
		      struct st_digest *d, struct st_error **err)
{
	st_digest_of(p, n, d);
	if (st_store_lease_add(lease, d->str, err) < 0)
		return -1;
	return st_store_put_blob(s, p, n, d, err);
}

int st_sign_image(struct st_store *s, const struct st_sign_key *k, const char *name,
		  const struct st_image_map *optional, struct st_sign_result *out,
		  struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	struct st_digest id;
	if (resolve(s, name, &id, &out->subject, &out->repository, err) < 0)
		return -1;
	if (!out->repository)
		return st_err(err, ST_E_INVALID,
			      "sign '%s': an image id names no repository for the signature to "
			      "name: sign it by a name (repository:tag)",
			      name);
	struct st_buf payload = ST_BUF_INIT;
	st_sign_payload_make(out->repository, out->subject.str, optional, &payload);
	st_autofree char *sig = NULL;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	struct st_digest old;
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *lease = NULL;
	struct st_buf config = ST_BUF_INIT, manifest = ST_BUF_INIT;
	int rc = -1;
	if (st_sign_data(k, payload.data, payload.len, &sig, err) < 0 ||
	    load_sig_manifest(s, out->subject.str, &m, &old, err) < 0 ||
	    st_store_lease_begin(s, &lease, err) < 0)
		goto out;

	struct st_image_descriptor layer = { .media_type = (char *)ST_SIGN_PAYLOAD_MEDIA_TYPE,
					     .size = (int64_t)payload.len };
	if (put_leased(s, lease, payload.data, payload.len, &layer.digest, err) < 0)
		goto out;
	st_image_map_set(&layer.annotations, ST_SIGN_ANNOTATION, sig);
	st_image_manifest_add_layer(m, &layer);
	st_image_map_release(&layer.annotations);

	sig_config(m, &config);
	free(m->config.media_type);
	m->config.media_type = st_xstrdup("application/vnd.oci.image.config.v1+json");
	m->config.size = (int64_t)config.len;
	if (put_leased(s, lease, config.data, config.len, &m->config.digest, err) < 0)
		goto out;
	st_image_manifest_serialize(m, &manifest);
	if (put_leased(s, lease, manifest.data, manifest.len, &out->signature, err) < 0)
		goto out;

	const char **blobs = st_xcalloc(m->n_layers + 1, sizeof(*blobs));
	blobs[0] = m->config.digest.str;
	for (size_t i = 0; i < m->n_layers; i++)
		blobs[i + 1] = m->layers[i].digest.str;
	rc = st_store_artifact_put(s, out->signature.str, ST_MT_COSIGN_SIGNATURES, out->subject.str,
				   blobs, m->n_layers + 1, err);
	free(blobs);
out:
	st_buf_release(&payload);
	st_buf_release(&config);
	st_buf_release(&manifest);
	if (rc < 0) {
		st_sign_result_release(out);
		return st_err_wrap(err, "sign '%s'", name);
	}
	return 0;
}

/*
 * The signatures listed by signature manifest 'm', with their payloads read through 'fetch'
 * into 'payloads' (m->n_layers buffers). Every layer becomes one signature: an unsigned or
 * foreign one is then reported by st_sign_verify_signatures().
 */
static int sign_collect(const struct st_image_manifest *m, struct st_buf *payloads,
			struct st_sign_signature *sigs, sign_fetch_fn fetch, void *ctx,
			struct st_error **err)
{
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct st_image_descriptor *l = &m->layers[i];
		if (fetch(ctx, &l->digest, &payloads[i], err) < 0)
			return st_err_wrap(err, "signature payload %s", l->digest.str);
		sigs[i] = (struct st_sign_signature){
			.media_type = l->media_type,
			.payload = payloads[i].data,
			.len = payloads[i].len,
			.b64 = st_image_map_get(&l->annotations, ST_SIGN_ANNOTATION),
		};
	}
	return 0;
}

int sign_verify_manifest(const struct st_sign_key *pub, const char *subject, const char *repository,
			 const struct st_image_manifest *m, sign_fetch_fn fetch, void *ctx,
			 struct st_sign_result *out, struct st_error **err)
{
	struct st_buf *payloads = st_xcalloc(m->n_layers + 1, sizeof(*payloads));
	struct st_sign_signature *sigs = st_xcalloc(m->n_layers + 1, sizeof(*sigs));
	int rc = sign_collect(m, payloads, sigs, fetch, ctx, err);
	if (rc == 0)
		rc = st_sign_verify_signatures(pub, subject, repository, sigs, m->n_layers,
					       &out->payloads, &out->n_payloads, err);
	for (size_t i = 0; i < m->n_layers; i++)
		st_buf_release(&payloads[i]);
	free(payloads);
	free(sigs);
	return rc;
}

/* Whether image 'id' was pulled from (or pushed to) 'repository': it has a digest there. */
static bool from_registry(struct st_store *s, const struct st_digest *id, const char *repository)
{
	char **names = NULL;
	size_t n = 0;
	struct st_error *e = NULL;
	if (st_store_repo_digests(s, id->str, &names, &n, &e) < 0) {
		st_error_free(e);
		return false;
	}
	bool found = false;
	size_t len = strlen(repository);
	for (size_t i = 0; i < n && !found; i++)
		found = !strncmp(names[i], repository, len) && names[i][len] == '@';
	st_store_strings_free(names, n);
	return found;
}

static int fetch_local(void *ctx, const struct st_digest *d, struct st_buf *out,
		       struct st_error **err)
{
	return st_store_read_blob(ctx, d->str, out, err);
}

int st_sign_verify_image(struct st_store *s, struct st_registry *r, const struct st_sign_key *pub,
			 const char *name, struct st_sign_result *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = -1;
	struct st_digest id;
	if (resolve(s, name, &id, &out->subject, &out->repository, err) < 0 ||
	    load_sig_manifest(s, out->subject.str, &m, &out->signature, err) < 0)
		goto out;
	if (out->signature.str[0]) {
		rc = sign_verify_manifest(pub, out->subject.str, out->repository, m, fetch_local, s,
					  out, err);
	} else if (r && out->repository && from_registry(s, &id, out->repository)) {
		/* A pulled image: its signatures are beside it in its repository. */
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		if (st_image_ref_parse(name, &ref, err) == 0)
			rc = sign_verify_remote_digest(r, pub, ref, out, err);
	} else {
		st_err(err, ST_E_NOTFOUND, "no signatures found for %s", out->subject.str);
	}
out:
	if (rc < 0) {
		st_sign_result_release(out);
		return st_err_wrap(err, "verify '%s'", name);
	}
	return 0;
}
