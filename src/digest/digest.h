/* digest.h: "sha256:<hex>" content digests and streaming SHA-256 (OpenSSL EVP). */
#ifndef ST_DIGEST_DIGEST_H
#define ST_DIGEST_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define ST_DIGEST_HEX_LEN 64
#define ST_DIGEST_STR_LEN (7 + ST_DIGEST_HEX_LEN) /* "sha256:" + hex */

/* A SHA-256 digest. Only sha256 is produced; other algorithms are refused on parse. */
struct st_digest {
	char str[ST_DIGEST_STR_LEN + 1]; /* "sha256:<64 lower-case hex>" */
};

/* Borrowed: the 64 hex characters inside 'd'. */
static inline const char *st_digest_hex(const struct st_digest *d)
{
	return d->str + 7;
}

/* Parse "sha256:<64 hex>". ST_E_INVALID with the offending string otherwise. */
int st_digest_parse(const char *s, struct st_digest *out, struct st_error **err);
/* True if 's' is a well-formed "sha256:<64 lower-case hex>". */
bool st_digest_valid(const char *s);
/* True if 's' is 64 lower-case hex digits (a digest without its "sha256:"). */
bool st_digest_hex_valid(const char *s);
/* Accept a 64-hex string without the prefix too. */
int st_digest_from_hex(const char *hex, struct st_digest *out, struct st_error **err);
bool st_digest_equal(const struct st_digest *a, const struct st_digest *b);

/* Streaming hasher. Stack object: st_hasher_init() / st_hasher_final() or st_hasher_release(). */
struct st_hasher {
	void *ctx;	      /* EVP_MD_CTX */
	unsigned long long n; /* bytes fed */
};

void st_hasher_init(struct st_hasher *h);
void st_hasher_update(struct st_hasher *h, const void *p, size_t n);
/* Finishes and releases the context. */
void st_hasher_final(struct st_hasher *h, struct st_digest *out);
void st_hasher_release(struct st_hasher *h);
/*
 * Finishes into 'md' (the 32 raw bytes) and starts over on the same context, for hashing many
 * small inputs one after the other: a fresh context costs more than a small file's bytes
 * (OpenSSL looks the algorithm up again for each). st_hasher_release() when done.
 */
void st_hasher_next(struct st_hasher *h, unsigned char md[32]);
/* The digest of a raw SHA-256 value (what st_hasher_next() gives). */
void st_digest_from_raw(const unsigned char md[32], struct st_digest *out);

void st_digest_of(const void *p, size_t n, struct st_digest *out);
int st_digest_of_file(const char *path, struct st_digest *out, unsigned long long *size,
		      struct st_error **err);

#endif
