/*
 * remote.c: verifying an image in its registry: the manifest its reference resolves to, and
 * the signature manifest cosign tags "sha256-<hex>.sig" in the same repository.
 */
#include "sign/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

/* Signature payloads are a few hundred bytes; anything far bigger is not one. */
#define PAYLOAD_MAX (1u << 20)

struct remote {
	struct st_registry *r;
	const struct st_image_ref *ref;
};

static int buf_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct st_buf *b = ctx;
	if (b->len + n > PAYLOAD_MAX)
		return st_err(err, ST_E_INVALID, "larger than %u bytes", PAYLOAD_MAX);
	st_buf_add(b, p, n);
	return 0;
}

static int buf_reset(void *ctx, struct st_error **err)
{
	st_buf_reset(ctx);
	return 0;
}

static int fetch_remote(void *ctx, const struct st_digest *d, struct st_buf *out,
			struct st_error **err)
{
	struct remote *rm = ctx;
	struct st_http_sink sink = { buf_write, buf_reset, out };
	if (st_registry_get_blob(rm->r, rm->ref, d, &sink, err) < 0)
		return -1;
	struct st_digest got;
	st_digest_of(out->data, out->len, &got);
	if (strcmp(got.str, d->str) != 0)
		return st_err(err, ST_E_DIGEST, "the registry sent content hashing to %s", got.str);
	return 0;
}

int sign_verify_remote_digest(struct st_registry *r, const struct st_sign_key *pub,
			      const struct st_image_ref *ref, struct st_sign_result *out,
			      struct st_error **err)
{
	st_auto(st_image_ref) struct st_image_ref *sig_ref = st_image_ref_dup(ref);
	free(sig_ref->digest);
	sig_ref->digest = NULL;
	st_autofree char *tag = st_image_sig_tag(&out->subject);
	if (st_image_ref_set_tag(sig_ref, tag, err) < 0)
		return -1;
	struct st_registry_manifest sig = { 0 };
	struct st_error *e = NULL;
	if (st_registry_get_manifest(r, sig_ref, &sig, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_free(e);
		return st_err(err, ST_E_NOTFOUND, "no signatures found (no tag %s in %s)", tag,
			      out->repository);
	}
	out->signature = sig.digest;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = st_image_manifest_parse(sig.bytes.data, sig.bytes.len, &m, err);
	st_registry_manifest_release(&sig);
	if (rc < 0)
		return st_err_wrap(err, "signature manifest %s", tag);
	struct remote rm = { r, ref };
	return sign_verify_manifest(pub, out->subject.str, out->repository, m, fetch_remote, &rm,
				    out, err);
}

int st_sign_verify_remote(struct st_registry *r, const struct st_sign_key *pub,
			  const struct st_image_ref *ref, struct st_sign_result *out,
			  struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	st_autofree char *name = st_image_ref_string(ref);
	struct st_registry_manifest image = { 0 };
	int rc = st_registry_get_manifest(r, ref, &image, err);
	if (rc == 0) {
		out->subject = image.digest;
		out->repository = st_image_ref_repository(ref);
		rc = sign_verify_remote_digest(r, pub, ref, out, err);
	}
	st_registry_manifest_release(&image);
	if (rc < 0) {
		st_sign_result_release(out);
		return st_err_wrap(err, "verify '%s'", name);
	}
	return 0;
}
