/*
 * sign.h: cosign-compatible keys and key-based image signatures.
 *
 * Keys are ECDSA P-256. A private key is kept as cosign writes it: a PEM block
 * "ENCRYPTED COSIGN PRIVATE KEY" (cosign also writes "ENCRYPTED SIGSTORE PRIVATE KEY"; both
 * are read) whose body is JSON: the scrypt parameters and salt, the NaCl secretbox nonce, and
 * the secretbox of the PKCS#8 DER key under scrypt(password, salt). A public key is a PKIX
 * "PUBLIC KEY" PEM.
 *
 * A signature is cosign's: an ECDSA signature over the SHA-256 of a simple-signing payload
 * (JSON naming the image's repository and manifest digest), base64 in the annotation
 * "dev.cosignproject.cosign/signature" of a layer (the payload's blob) of a signature manifest.
 * Several signatures of one image are layers of one manifest, which a registry holds under
 * the tag "sha256-<hex of the image's digest>.sig" and the store as an artifact whose subject
 * is the image (kept and removed with it).
 */
#ifndef ST_SIGN_SIGN_H
#define ST_SIGN_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* The layer media type of a simple-signing payload, and the annotation holding a signature. */
#define ST_SIGN_PAYLOAD_MEDIA_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define ST_SIGN_ANNOTATION "dev.cosignproject.cosign/signature"
/* critical.type of an image signature's payload. */
#define ST_SIGN_PAYLOAD_TYPE "cosign container image signature"
/* The scrypt cost strata writes (cosign's): N = 65536, r = 8, p = 1. */
#define ST_SIGN_SCRYPT_N 65536

/* ---- Keys --------------------------------------------------------------------------------- */

struct st_sign_key;

/* A new ECDSA P-256 key pair. *out is new: st_sign_key_free(). */
int st_sign_key_generate(struct st_sign_key **out, struct st_error **err);
/* Whether 'k' holds a private key (a loaded public key does not). */
bool st_sign_key_is_private(const struct st_sign_key *k);
/*
 * Append the private key of 'k', encrypted under 'password' as cosign does (scrypt N =
 * ST_SIGN_SCRYPT_N, r = 8, p = 1, a random salt and nonce), as an "ENCRYPTED COSIGN PRIVATE
 * KEY" PEM. ST_E_INVALID if 'k' has no private key.
 */
int st_sign_key_private_pem(const struct st_sign_key *k, const char *password, struct st_buf *out,
			    struct st_error **err);
/* Append the public key of 'k' as a PKIX "PUBLIC KEY" PEM. */
int st_sign_key_public_pem(const struct st_sign_key *k, struct st_buf *out, struct st_error **err);

/*
 * An encrypted private key as read from its PEM, before the password is tried. Everything is
 * owned.
 */
struct st_sign_sealed_key {
	char *pem_type;		     /* "ENCRYPTED COSIGN PRIVATE KEY" or "... SIGSTORE ..." */
	unsigned long long scrypt_n; /* a power of two */
	unsigned scrypt_r, scrypt_p; /* as the file says, within bounds */
	unsigned char *salt, *ciphertext;
	size_t salt_len, ciphertext_len;
	unsigned char nonce[24];
};
/*
 * Parse an encrypted private key PEM (the first PEM block of 'pem'). ST_E_PARSE naming the
 * field that is missing or wrong; ST_E_INVALID for a kdf or cipher other than scrypt and
 * nacl/secretbox, or scrypt parameters beyond what cosign writes (N above 2^20). 'what' names
 * the input in messages (a file name). *out is filled: st_sign_sealed_key_release().
 */
int st_sign_sealed_key_parse(const void *pem, size_t len, const char *what,
			     struct st_sign_sealed_key *out, struct st_error **err);
void st_sign_sealed_key_release(struct st_sign_sealed_key *k);
/*
 * Decrypt with 'password' and load the PKCS#8 ECDSA P-256 key inside. ST_E_INVALID "wrong
 * password" when the secretbox does not open, and naming the problem when the plaintext is
 * not a PKCS#8 P-256 key (cosign refuses a SEC1 "EC PRIVATE KEY" there too). *out is new.
 */
int st_sign_sealed_key_open(const struct st_sign_sealed_key *k, const char *password,
			    struct st_sign_key **out, struct st_error **err);
/* st_sign_sealed_key_parse() then st_sign_sealed_key_open(). */
int st_sign_key_load_private(const void *pem, size_t len, const char *what, const char *password,
			     struct st_sign_key **out, struct st_error **err);
/*
 * Load a PKIX "PUBLIC KEY" PEM holding an ECDSA P-256 key. ST_E_PARSE if there is none,
 * ST_E_INVALID for another kind of key. 'what' names the input. *out is new.
 */
int st_sign_key_load_public(const void *pem, size_t len, const char *what, struct st_sign_key **out,
			    struct st_error **err);
void st_sign_key_free(struct st_sign_key *k);
void st_sign_key_freep(struct st_sign_key **k);

/* ---- Payloads and signatures -------------------------------------------------------------- */

/*
 * Append cosign's simple-signing payload for the image 'digest' of repository 'docker_ref',
 * with 'optional' (may be NULL or empty: "optional":null) as its optional annotations:
 * compact JSON, keys in cosign's order.
 */
void st_sign_payload_make(const char *docker_ref, const char *digest,
			  const struct st_image_map *optional, struct st_buf *out);

struct st_sign_payload {
	char *docker_reference;	      /* critical.identity.docker-reference */
	struct st_digest digest;      /* critical.image.docker-manifest-digest */
	char *type;		      /* critical.type */
	struct st_image_map optional; /* string values as they are, others as JSON */
};
/*
 * Parse a simple-signing payload. ST_E_PARSE naming the field that is missing or malformed.
 * A 'type' other than ST_SIGN_PAYLOAD_TYPE is returned as read: the caller decides.
 * *out is filled: st_sign_payload_release().
 */
int st_sign_payload_parse(const void *data, size_t len, struct st_sign_payload *out,
			  struct st_error **err);
void st_sign_payload_release(struct st_sign_payload *p);

/* Sign 'data' (ECDSA over its SHA-256); *b64 is new: the DER signature in base64. */
int st_sign_data(const struct st_sign_key *k, const void *data, size_t len, char **b64,
		 struct st_error **err);
/*
 * Verify the base64 DER signature 'b64' of 'data' against the public key 'k'. ST_E_INVALID
 * "signature does not verify against the key" or naming a malformed signature.
 */
int st_sign_data_verify(const struct st_sign_key *k, const void *data, size_t len, const char *b64,
			struct st_error **err);

/* ---- Verifying an image's signatures ------------------------------------------------------ */

/* One signature as found beside an image. Everything is borrowed. */
struct st_sign_signature {
	const char *media_type; /* the layer's (or sigstore-json's mimeType) */
	const void *payload;
	size_t len;
	const char *b64; /* the signature annotation; NULL when absent */
};

/*
 * Check 'sigs' (n) of the image whose manifest (or index) is 'digest' as cosign verify
 * does: a signature counts when it is a simple-signing payload whose signature verifies
 * against 'pub', whose docker-manifest-digest is 'digest' and, when 'repository' is not NULL,
 * whose docker-reference names that repository (any tag; "index.docker.io" is "docker.io").
 * *verified receives a new array of the *n_verified payloads that count, in order
 * (st_strv_free()-able strings). When none counts: ST_E_INVALID naming what did not match,
 * signature by signature; ST_E_NOTFOUND when there are no signatures at all.
 */
int st_sign_verify_signatures(const struct st_sign_key *pub, const char *digest,
			      const char *repository, const struct st_sign_signature *sigs,
			      size_t n, char ***verified, size_t *n_verified,
			      struct st_error **err);

/* What `strata sign` and `strata verify` report. */
struct st_sign_result {
	struct st_digest subject;   /* the image's manifest or index digest that was signed */
	struct st_digest signature; /* the signature manifest */
	char *repository;	    /* docker-reference of the payload */
	char **payloads;	    /* verified payloads (verify only) */
	size_t n_payloads;
};
void st_sign_result_release(struct st_sign_result *r);

/*
 * Sign the store's image 'name' (a reference, an id, or repository@digest) with the private
 * key 'k': the payload names the image's repository and the digest its name resolves to (an
 * index when it was pulled through one); 'optional' (may be NULL) are the payload's optional
 * annotations. The signature is added as a layer to the image's signature manifest (a new one
 * if it has none), recorded as the image's artifact. *out is filled.
 */
int st_sign_image(struct st_store *s, const struct st_sign_key *k, const char *name,
		  const struct st_image_map *optional, struct st_sign_result *out,
		  struct st_error **err);
/*
 * Verify the store's image 'name' against the public key 'pub' with the signatures the store
 * holds for it (st_sign_verify_signatures(); the repository is checked when 'name' is a
 * reference). When the store holds none, 'r' is not NULL and the image came from (or went
 * to) the registry repository 'name' names (a RepoDigest there), those of its digest in that
 * repository. ST_E_NOTFOUND when there are no signatures. *out is filled.
 */
int st_sign_verify_image(struct st_store *s, struct st_registry *r, const struct st_sign_key *pub,
			 const char *name, struct st_sign_result *out, struct st_error **err);
/* One sigstore signature file of containers/image ("signature-N" in a dir: layout). Owned. */
struct st_sign_sigstore {
	char *mime_type;       /* mimeType */
	struct st_buf payload; /* payload, decoded from base64 */
	char *b64;	       /* annotations["dev.cosignproject.cosign/signature"], or NULL */
};
/*
 * Parse one: the bytes "\0sigstore-json\n", then JSON with mimeType, payload (base64) and
 * annotations. ST_E_PARSE naming 'what' and the field. *out is filled:
 * st_sign_sigstore_release().
 */
int st_sign_sigstore_parse(const void *data, size_t len, const char *what,
			   struct st_sign_sigstore *out, struct st_error **err);
void st_sign_sigstore_release(struct st_sign_sigstore *s);

/*
 * Verify an image in containers/image's dir: layout ('dir' holds manifest.json and the
 * sigstore signatures signature-1, signature-2, ...: "\0sigstore-json\n" then JSON with
 * mimeType, payload and annotations), as skopeo and podman write it. No repository is
 * checked (a directory has none). *out is filled.
 */
int st_sign_verify_dir(const struct st_sign_key *pub, const char *dir, struct st_sign_result *out,
		       struct st_error **err);
/*
 * Verify 'ref' in its registry: the manifest it resolves to, and the signatures under its
 * "sha256-<hex>.sig" tag. *out is filled.
 */
int st_sign_verify_remote(struct st_registry *r, const struct st_sign_key *pub,
			  const struct st_image_ref *ref, struct st_sign_result *out,
			  struct st_error **err);

#endif
