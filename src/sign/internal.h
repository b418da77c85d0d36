/* internal.h: what the files of src/sign/ share; not part of the public API. */
#ifndef ST_SIGN_INTERNAL_H
#define ST_SIGN_INTERNAL_H

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sign/sign.h"

struct st_sign_key {
	EVP_PKEY *pkey;
	bool is_private;
};

/* ST_E_INVALID "<what>: <OpenSSL's first queued error>"; clears the queue. Returns -1. */
int sign_crypto_err(struct st_error **err, const char *what);
int sign_sodium_init(struct st_error **err);
/* New: standard base64 with padding. */
char *sign_b64_encode(const void *p, size_t n);
/* Standard base64 (whitespace ignored) into *out (new); -1 if malformed. */
int sign_b64_decode(const char *s, unsigned char **out, size_t *n);

/* Fetch blob 'd' into 'out' (verified), for sign_verify_manifest(). */
typedef int (*sign_fetch_fn)(void *ctx, const struct st_digest *d, struct st_buf *out,
			     struct st_error **err);
/*
 * Verify the signatures that signature manifest 'm' lists for 'subject' (and 'repository',
 * may be NULL), their payloads fetched through 'fetch'. Fills out->payloads.
 */
int sign_verify_manifest(const struct st_sign_key *pub, const char *subject, const char *repository,
			 const struct st_image_manifest *m, sign_fetch_fn fetch, void *ctx,
			 struct st_sign_result *out, struct st_error **err);

/*
 * Verify the signatures under the "sha256-<hex>.sig" tag of out->subject in ref's repository
 * (out->repository names it). Fills out->signature and out->payloads.
 */
int sign_verify_remote_digest(struct st_registry *r, const struct st_sign_key *pub,
			      const struct st_image_ref *ref, struct st_sign_result *out,
			      struct st_error **err);

#endif
