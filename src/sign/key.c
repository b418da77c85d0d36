/*
 * key.c: ECDSA P-256 keys in cosign's files.
 *
 * cosign's encrypted key (go-securesystemslib's "encrypted" package) is base64 of
 *   {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64 32 bytes>"},
 *    "cipher":{"name":"nacl/secretbox","nonce":"<b64 24 bytes>"},
 *    "ciphertext":"<b64 secretbox(PKCS#8 DER)>"}
 * inside a PEM block. The secretbox key is scrypt(password, salt, N, r, p) with 32 bytes;
 * NaCl's secretbox is libsodium's crypto_secretbox_easy (the tag before the ciphertext, as Go's
 * secretbox.Seal writes it).
 */
#include "sign/internal.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

#define SALT_LEN 32
/* Above what cosign writes, and at r = 8 already 1 GiB of memory: refused before trying. */
#define SCRYPT_N_MAX (1ull << 20)
#define SCRYPT_R_MAX 32
#define SCRYPT_P_MAX 16

static const char cosign_pem_type[] = "ENCRYPTED COSIGN PRIVATE KEY";
static const char sigstore_pem_type[] = "ENCRYPTED SIGSTORE PRIVATE KEY";

int sign_crypto_err(struct st_error **err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return st_err(err, ST_E_INVALID, "%s: %s", what, buf);
}

int sign_sodium_init(struct st_error **err)
{
	if (sodium_init() < 0)
		return st_err(err, ST_E_RUNTIME, "cannot initialise libsodium");
	return 0;
}

char *sign_b64_encode(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = st_xmalloc(cap);
	sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int sign_b64_decode(const char *s, unsigned char **out, size_t *n)
{
	size_t len = strlen(s);
	unsigned char *bin = st_xmalloc(len / 4 * 3 + 3);
	size_t got = 0;
	const char *end = NULL;
	if (sodium_base642bin(bin, len / 4 * 3 + 3, s, len, "\n\r ", &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    (end && *end)) {
		free(bin);
		return -1;
	}
	*out = bin;
	*n = got;
	return 0;
}

bool st_sign_key_is_private(const struct st_sign_key *k)
{
	return k->is_private;
}

void st_sign_key_free(struct st_sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

void st_sign_key_freep(struct st_sign_key **k)
{
	st_sign_key_free(*k);
	*k = NULL;
}

static struct st_sign_key *key_wrap(EVP_PKEY *pkey, bool is_private)
{
	struct st_sign_key *k = st_xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->is_private = is_private;
	return k;
}

/* Only ECDSA P-256: the one kind cosign generates and strata signs with. */
static int check_p256(EVP_PKEY *pkey, const char *what, struct st_error **err)
{
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
		return st_err(err, ST_E_INVALID, "%s: not an ECDSA key (%s)", what,
			      OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
	char group[64] = "";
	size_t glen = 0;
	if (EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof(group), &glen) != 1 ||
	    strcmp(group, SN_X9_62_prime256v1) != 0)
		return st_err(err, ST_E_INVALID, "%s: ECDSA key on curve '%s', not P-256", what,
			      group[0] ? group : "?");
	return 0;
}

int st_sign_key_generate(struct st_sign_key **out, struct st_error **err)
{
	EVP_PKEY *pkey = EVP_EC_gen(SN_X9_62_prime256v1);
	if (!pkey)
		return sign_crypto_err(err, "generate an ECDSA P-256 key");
	*out = key_wrap(pkey, true);
	return 0;
}

static void bio_freep(BIO **b)
{
	BIO_free(*b);
}
#define st_autobio __attribute__((cleanup(bio_freep)))

static void bio_append(BIO *b, struct st_buf *out)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	st_buf_add(out, p, (size_t)n);
}

int st_sign_key_public_pem(const struct st_sign_key *k, struct st_buf *out, struct st_error **err)
{
	st_autobio BIO *b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_PUBKEY(b, k->pkey) != 1)
		return sign_crypto_err(err, "write the public key");
	bio_append(b, out);
	return 0;
}

static int scrypt_key(const char *password, const unsigned char *salt, size_t salt_len,
		      unsigned long long n, unsigned r, unsigned p,
		      unsigned char key[crypto_secretbox_KEYBYTES], struct st_error **err)
{
	/* scrypt needs 128 * N * r * p bytes; OpenSSL's default ceiling is 32 MiB. */
	uint64_t maxmem = 128ull * n * r * p + (1u << 20);
	if (EVP_PBE_scrypt(password, strlen(password), salt, salt_len, n, r, p, maxmem, key,
			   crypto_secretbox_KEYBYTES) != 1)
		return sign_crypto_err(err, "scrypt");
	return 0;
}

int st_sign_key_private_pem(const struct st_sign_key *k, const char *password, struct st_buf *out,
			    struct st_error **err)
{
	if (!k->is_private)
		return st_err(err, ST_E_INVALID, "not a private key");
	if (sign_sodium_init(err) < 0)
		return -1;
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k->pkey);
	unsigned char *der = NULL;
	int der_len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (der_len <= 0)
		return sign_crypto_err(err, "encode the private key as PKCS#8");

	unsigned char salt[SALT_LEN], nonce[crypto_secretbox_NONCEBYTES];
	unsigned char key[crypto_secretbox_KEYBYTES];
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	if (scrypt_key(password, salt, sizeof(salt), ST_SIGN_SCRYPT_N, 8, 1, key, err) < 0) {
		OPENSSL_clear_free(der, (size_t)der_len);
		return -1;
	}
	size_t ct_len = crypto_secretbox_MACBYTES + (size_t)der_len;
	st_autofree unsigned char *ct = st_xmalloc(ct_len);
	crypto_secretbox_easy(ct, der, (unsigned long long)der_len, nonce, key);
	OPENSSL_clear_free(der, (size_t)der_len);
	sodium_memzero(key, sizeof(key));

	st_autofree char *salt_b64 = sign_b64_encode(salt, sizeof(salt));
	st_autofree char *nonce_b64 = sign_b64_encode(nonce, sizeof(nonce));
	st_autofree char *ct_b64 = sign_b64_encode(ct, ct_len);
	json_t *doc =
	    json_pack("{s:{s:s,s:{s:I,s:i,s:i},s:s},s:{s:s,s:s},s:s}", "kdf", "name", "scrypt",
		      "params", "N", (json_int_t)ST_SIGN_SCRYPT_N, "r", 8, "p", 1, "salt", salt_b64,
		      "cipher", "name", "nacl/secretbox", "nonce", nonce_b64, "ciphertext", ct_b64);
	st_autofree char *json = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);

	st_autobio BIO *b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio(b, cosign_pem_type, "", (const unsigned char *)json,
				(long)strlen(json)) <= 0)
		return sign_crypto_err(err, "write the private key");
	bio_append(b, out);
	return 0;
}

void st_sign_sealed_key_release(struct st_sign_sealed_key *k)
{
	free(k->pem_type);
	free(k->salt);
	free(k->ciphertext);
	memset(k, 0, sizeof(*k));
}

/* The base64 string 'v' (the field named 'field'), decoded into *out (new). */
static int b64_field(json_t *v, const char *what, const char *field, unsigned char **out, size_t *n,
		     struct st_error **err)
{
	if (!json_is_string(v))
		return st_err(err, ST_E_PARSE, "%s: %s: missing or not a string", what, field);
	if (sign_b64_decode(json_string_value(v), out, n) < 0)
		return st_err(err, ST_E_PARSE, "%s: %s: not base64", what, field);
	return 0;
}

static int sealed_from_json(json_t *doc, const char *what, struct st_sign_sealed_key *k,
			    struct st_error **err)
{
	if (!json_is_object(doc))
		return st_err(err, ST_E_PARSE, "%s: the key is not a JSON object", what);
	json_t *kdf = json_object_get(doc, "kdf");
	json_t *cipher = json_object_get(doc, "cipher");
	if (!json_is_object(kdf))
		return st_err(err, ST_E_PARSE, "%s: kdf: missing or not an object", what);
	if (!json_is_object(cipher))
		return st_err(err, ST_E_PARSE, "%s: cipher: missing or not an object", what);
	const char *kname = json_string_value(json_object_get(kdf, "name"));
	const char *cname = json_string_value(json_object_get(cipher, "name"));
	if (!kname || strcmp(kname, "scrypt") != 0)
		return st_err(err, ST_E_INVALID, "%s: kdf.name: '%s', expected 'scrypt'", what,
			      kname ? kname : "(missing)");
	if (!cname || strcmp(cname, "nacl/secretbox") != 0)
		return st_err(err, ST_E_INVALID, "%s: cipher.name: '%s', expected 'nacl/secretbox'",
			      what, cname ? cname : "(missing)");
	json_t *params = json_object_get(kdf, "params");
	json_t *jn = json_object_get(params, "N"), *jr = json_object_get(params, "r");
	json_t *jp = json_object_get(params, "p");
	if (!json_is_integer(jn) || !json_is_integer(jr) || !json_is_integer(jp))
		return st_err(err, ST_E_PARSE, "%s: kdf.params: N, r and p must be integers", what);
	json_int_t n = json_integer_value(jn), r = json_integer_value(jr);
	json_int_t p = json_integer_value(jp);
	if (n < 2 || (n & (n - 1)) != 0 || (unsigned long long)n > SCRYPT_N_MAX)
		return st_err(err, ST_E_INVALID,
			      "%s: kdf.params.N: %lld, expected a power of two up to %llu", what,
			      (long long)n, SCRYPT_N_MAX);
	if (r < 1 || r > SCRYPT_R_MAX || p < 1 || p > SCRYPT_P_MAX)
		return st_err(err, ST_E_INVALID,
			      "%s: kdf.params: r %lld and p %lld, expected 1..%d and 1..%d", what,
			      (long long)r, (long long)p, SCRYPT_R_MAX, SCRYPT_P_MAX);
	k->scrypt_n = (unsigned long long)n;
	k->scrypt_r = (unsigned)r;
	k->scrypt_p = (unsigned)p;
	unsigned char *nonce = NULL;
	size_t nonce_len = 0;
	if (b64_field(json_object_get(kdf, "salt"), what, "kdf.salt", &k->salt, &k->salt_len, err) <
		0 ||
	    b64_field(json_object_get(cipher, "nonce"), what, "cipher.nonce", &nonce, &nonce_len,
		      err) < 0)
		return -1;
	bool nonce_ok = nonce_len == sizeof(k->nonce);
	if (nonce_ok)
		memcpy(k->nonce, nonce, sizeof(k->nonce));
	free(nonce);
	if (!nonce_ok)
		return st_err(err, ST_E_PARSE, "%s: cipher.nonce: %zu bytes, expected %zu", what,
			      nonce_len, sizeof(k->nonce));
	if (b64_field(json_object_get(doc, "ciphertext"), what, "ciphertext", &k->ciphertext,
		      &k->ciphertext_len, err) < 0)
		return -1;
	if (k->ciphertext_len <= crypto_secretbox_MACBYTES)
		return st_err(err, ST_E_PARSE, "%s: ciphertext: too short (%zu bytes)", what,
			      k->ciphertext_len);
	return 0;
}

/* The first PEM block of 'pem': *type and *data are new (OPENSSL_free). */
static int read_pem(const void *pem, size_t len, const char *what, char **type,
		    unsigned char **data, long *data_len, struct st_error **err)
{
	if (len > INT32_MAX)
		return st_err(err, ST_E_PARSE, "%s: too large for a key", what);
	st_autobio BIO *b = BIO_new_mem_buf(pem, (int)len);
	char *header = NULL;
	if (!b || PEM_read_bio(b, type, &header, data, data_len) != 1) {
		ERR_clear_error();
		return st_err(err, ST_E_PARSE, "%s: no PEM block (-----BEGIN ...-----)", what);
	}
	OPENSSL_free(header);
	return 0;
}

int st_sign_sealed_key_parse(const void *pem, size_t len, const char *what,
			     struct st_sign_sealed_key *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	char *type = NULL;
	unsigned char *data = NULL;
	long data_len = 0;
	if (read_pem(pem, len, what, &type, &data, &data_len, err) < 0)
		return -1;
	int rc = -1;
	if (strcmp(type, cosign_pem_type) != 0 && strcmp(type, sigstore_pem_type) != 0) {
		st_err(err, ST_E_INVALID, "%s: a '%s' PEM block, expected '%s' or '%s'", what, type,
		       cosign_pem_type, sigstore_pem_type);
		goto out;
	}
	out->pem_type = st_xstrdup(type);
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, (size_t)data_len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		st_err(err, ST_E_PARSE, "%s: the key's JSON: %s (at %d)", what, je.text,
		       je.position);
		goto out;
	}
	rc = sealed_from_json(doc, what, out, err);
	json_decref(doc);
out:
	OPENSSL_free(type);
	OPENSSL_free(data);
	if (rc < 0)
		st_sign_sealed_key_release(out);
	return rc;
}

int st_sign_sealed_key_open(const struct st_sign_sealed_key *k, const char *password,
			    struct st_sign_key **out, struct st_error **err)
{
	if (sign_sodium_init(err) < 0)
		return -1;
	unsigned char key[crypto_secretbox_KEYBYTES];
	if (scrypt_key(password, k->salt, k->salt_len, k->scrypt_n, k->scrypt_r, k->scrypt_p, key,
		       err) < 0)
		return -1;
	size_t der_len = k->ciphertext_len - crypto_secretbox_MACBYTES;
	unsigned char *der = st_xmalloc(der_len);
	int opened =
	    crypto_secretbox_open_easy(der, k->ciphertext, k->ciphertext_len, k->nonce, key);
	sodium_memzero(key, sizeof(key));
	if (opened != 0) {
		free(der);
		return st_err(err, ST_E_INVALID, "decrypt the private key: wrong password");
	}
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der_len);
	EVP_PKEY *pkey = p8 ? EVP_PKCS82PKEY(p8) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8);
	sodium_memzero(der, der_len);
	free(der);
	if (!pkey) {
		ERR_clear_error();
		return st_err(err, ST_E_INVALID,
			      "the decrypted private key is not PKCS#8 (cosign writes PKCS#8; a "
			      "SEC1 'EC PRIVATE KEY' is not accepted)");
	}
	if (check_p256(pkey, "the decrypted private key", err) < 0) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	*out = key_wrap(pkey, true);
	return 0;
}

int st_sign_key_load_private(const void *pem, size_t len, const char *what, const char *password,
			     struct st_sign_key **out, struct st_error **err)
{
	struct st_sign_sealed_key k;
	if (st_sign_sealed_key_parse(pem, len, what, &k, err) < 0)
		return -1;
	int rc = st_sign_sealed_key_open(&k, password, out, err);
	st_sign_sealed_key_release(&k);
	if (rc < 0)
		return st_err_wrap(err, "%s", what);
	return 0;
}

int st_sign_key_load_public(const void *pem, size_t len, const char *what, struct st_sign_key **out,
			    struct st_error **err)
{
	char *type = NULL;
	unsigned char *data = NULL;
	long data_len = 0;
	if (read_pem(pem, len, what, &type, &data, &data_len, err) < 0)
		return -1;
	bool is_pub = strcmp(type, "PUBLIC KEY") == 0;
	int rc = -1;
	if (!is_pub) {
		st_err(err, ST_E_INVALID, "%s: a '%s' PEM block, expected 'PUBLIC KEY'", what,
		       type);
		goto out;
	}
	const unsigned char *p = data;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, data_len);
	if (!pkey) {
		ERR_clear_error();
		st_err(err, ST_E_PARSE, "%s: the PUBLIC KEY block is not a PKIX public key", what);
		goto out;
	}
	if (check_p256(pkey, what, err) < 0) {
		EVP_PKEY_free(pkey);
		goto out;
	}
	*out = key_wrap(pkey, false);
	rc = 0;
out:
	OPENSSL_free(type);
	OPENSSL_free(data);
	return rc;
}
