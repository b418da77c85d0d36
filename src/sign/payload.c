/*
 * payload.c: cosign's simple-signing payload, ECDSA signatures over it, and the checks cosign
 * verify makes of an image's signatures.
 *
 * The payload (sigstore's payload.SimpleContainerImage, marshalled by Go):
 *   {"critical":{"identity":{"docker-reference":"R"},"image":{"docker-manifest-digest":"D"},
 *    "type":"cosign container image signature"},"optional":null}
 * "optional" is an object of the annotations given with `-a k=v` when there are some.
 */
#include "sign/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

void st_sign_payload_make(const char *docker_ref, const char *digest,
			  const struct st_image_map *optional, struct st_buf *out)
{
	json_t *opt = json_null();
	if (optional && optional->n) {
		/* The map is sorted by key, as Go marshals a map. */
		opt = json_object();
		for (size_t i = 0; i < optional->n; i++)
			json_object_set_new(opt, optional->v[i].key,
					    json_string(optional->v[i].value));
	}
	json_t *doc = json_pack("{s:{s:{s:s},s:{s:s},s:s},s:o}", "critical", "identity",
				"docker-reference", docker_ref, "image", "docker-manifest-digest",
				digest, "type", ST_SIGN_PAYLOAD_TYPE, "optional", opt);
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	st_buf_adds(out, s);
	free(s);
}

void st_sign_payload_release(struct st_sign_payload *p)
{
	free(p->docker_reference);
	free(p->type);
	st_image_map_release(&p->optional);
	memset(p, 0, sizeof(*p));
}

static const char *string_at(json_t *obj, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(obj, a), b);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int st_sign_payload_parse(const void *data, size_t len, struct st_sign_payload *out,
			  struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	json_error_t je;
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return st_err(err, ST_E_PARSE, "payload: not JSON: %s (at %d)", je.text,
			      je.position);
	int rc = -1;
	json_t *critical = json_object_get(doc, "critical");
	const char *ref = string_at(critical, "identity", "docker-reference");
	const char *digest = string_at(critical, "image", "docker-manifest-digest");
	json_t *type = json_object_get(critical, "type");
	json_t *optional = json_object_get(doc, "optional");
	if (!json_is_object(critical)) {
		st_err(err, ST_E_PARSE, "payload: critical: missing or not an object");
	} else if (!ref) {
		st_err(err, ST_E_PARSE, "payload: critical.identity.docker-reference: missing");
	} else if (!digest) {
		st_err(err, ST_E_PARSE, "payload: critical.image.docker-manifest-digest: missing");
	} else if (!st_digest_valid(digest)) {
		st_err(err, ST_E_PARSE,
		       "payload: critical.image.docker-manifest-digest: '%s' is not a sha256 "
		       "digest",
		       digest);
	} else if (!json_is_string(type)) {
		st_err(err, ST_E_PARSE, "payload: critical.type: missing or not a string");
	} else if (optional && !json_is_null(optional) && !json_is_object(optional)) {
		st_err(err, ST_E_PARSE, "payload: optional: not an object");
	} else {
		out->docker_reference = st_xstrdup(ref);
		memcpy(out->digest.str, digest, ST_DIGEST_STR_LEN + 1);
		out->type = st_xstrdup(json_string_value(type));
		const char *k;
		json_t *v;
		json_object_foreach(optional, k, v)
		{
			if (json_is_string(v)) {
				st_image_map_set(&out->optional, k, json_string_value(v));
				continue;
			}
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			st_image_map_set(&out->optional, k, s ? s : "");
			free(s);
		}
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

int st_sign_data(const struct st_sign_key *k, const void *data, size_t len, char **b64,
		 struct st_error **err)
{
	if (!k->is_private)
		return st_err(err, ST_E_INVALID, "signing needs a private key");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = 0;
	unsigned char *sig = NULL;
	int rc = -1;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &sig_len, data, len) != 1) {
		sign_crypto_err(err, "sign");
		goto out;
	}
	sig = st_xmalloc(sig_len);
	if (EVP_DigestSign(ctx, sig, &sig_len, data, len) != 1) {
		sign_crypto_err(err, "sign");
		goto out;
	}
	*b64 = sign_b64_encode(sig, sig_len);
	rc = 0;
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int st_sign_data_verify(const struct st_sign_key *k, const void *data, size_t len, const char *b64,
			struct st_error **err)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	if (sign_b64_decode(b64, &sig, &sig_len) < 0)
		return st_err(err, ST_E_INVALID, "the signature annotation is not base64");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1
		     ? EVP_DigestVerify(ctx, sig, sig_len, data, len)
		     : -1;
	EVP_MD_CTX_free(ctx);
	free(sig);
	ERR_clear_error();
	if (ok != 1)
		return st_err(err, ST_E_INVALID, "the signature does not verify against the key");
	return 0;
}

/* "docker.io/library/busybox" for any reference to that repository; NULL if unparsable. */
static char *repository_of(const char *ref)
{
	struct st_error *e = NULL;
	st_auto(st_image_ref) struct st_image_ref *r = NULL;
	if (st_image_ref_parse_flags(ref, ST_IMAGE_REF_NO_DEFAULT_TAG, &r, &e) < 0) {
		st_error_free(e);
		return NULL;
	}
	return st_image_ref_repository(r);
}

/* Why 'sig' does not count, or 0 if it does. */
static int check_one(const struct st_sign_key *pub, const char *digest, const char *repository,
		     const struct st_sign_signature *sig, struct st_error **err)
{
	if (!sig->media_type || strcmp(sig->media_type, ST_SIGN_PAYLOAD_MEDIA_TYPE) != 0)
		return st_err(err, ST_E_INVALID, "a '%s' payload, not a simple-signing signature",
			      sig->media_type ? sig->media_type : "(untyped)");
	if (!sig->b64)
		return st_err(err, ST_E_INVALID, "no %s annotation", ST_SIGN_ANNOTATION);
	if (st_sign_data_verify(pub, sig->payload, sig->len, sig->b64, err) < 0)
		return -1;
	struct st_sign_payload p;
	if (st_sign_payload_parse(sig->payload, sig->len, &p, err) < 0)
		return -1;
	int rc = 0;
	if (strcmp(p.type, ST_SIGN_PAYLOAD_TYPE) != 0) {
		rc = st_err(err, ST_E_INVALID, "payload type '%s', not '%s'", p.type,
			    ST_SIGN_PAYLOAD_TYPE);
	} else if (strcmp(p.digest.str, digest) != 0) {
		rc = st_err(err, ST_E_INVALID, "the payload signs manifest %s, not this image's %s",
			    p.digest.str, digest);
	} else if (repository) {
		st_autofree char *signed_repo = repository_of(p.docker_reference);
		if (!signed_repo || strcmp(signed_repo, repository) != 0)
			rc = st_err(err, ST_E_INVALID,
				    "the payload's docker-reference '%s' is not repository '%s'",
				    p.docker_reference, repository);
	}
	st_sign_payload_release(&p);
	return rc;
}

int st_sign_verify_signatures(const struct st_sign_key *pub, const char *digest,
			      const char *repository, const struct st_sign_signature *sigs,
			      size_t n, char ***verified, size_t *n_verified, struct st_error **err)
{
	*verified = NULL;
	*n_verified = 0;
	if (n == 0)
		return st_err(err, ST_E_NOTFOUND, "no signatures found");
	struct st_buf why = ST_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		struct st_error *e = NULL;
		if (check_one(pub, digest, repository, &sigs[i], &e) < 0) {
			st_buf_addf(&why, "; signature %zu: %s", i + 1, e->msg);
			st_error_free(e);
			continue;
		}
		*verified = st_xrealloc(*verified, (*n_verified + 1) * sizeof(**verified));
		(*verified)[(*n_verified)++] = st_xstrndup(sigs[i].payload, sigs[i].len);
	}
	if (*n_verified == 0) {
		st_err(err, ST_E_INVALID, "no matching signatures%s", why.data);
		st_buf_release(&why);
		return -1;
	}
	st_buf_release(&why);
	return 0;
}
