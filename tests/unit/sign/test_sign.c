/* test_sign.c: cosign keys, payloads and signature checks, against cosign's own bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"
#include "util/cleanup.h"

/* Fail with the error's message if 'expr' is negative. */
#define OK(expr)                                                                                   \
	do {                                                                                       \
		struct st_error *ok_err_ = NULL;                                                   \
		struct st_error **err = &ok_err_;                                                  \
		if ((expr) < 0)                                                                    \
			fail_msg("%s: %s", #expr, ok_err_ ? ok_err_->msg : "(no error)");          \
		(void)err;                                                                         \
	} while (0)

/* Expect 'expr' to fail with 'kind' and a message containing 'needle'. */
#define FAILS(expr, kind_, needle)                                                                 \
	do {                                                                                       \
		struct st_error *f_err_ = NULL;                                                    \
		struct st_error **err = &f_err_;                                                   \
		(void)err;                                                                         \
		assert_int_equal((expr), -1);                                                      \
		assert_non_null(f_err_);                                                           \
		if (f_err_->kind != (kind_) || !strstr(f_err_->msg, (needle)))                     \
			fail_msg("got kind %d '%s', want kind %d with '%s'", f_err_->kind,         \
				 f_err_->msg, (int)(kind_), (needle));                             \
		st_error_free(f_err_);                                                             \
	} while (0)

/* containers/image's signature/fixtures: cosign.pub and dir-img-cosign-valid/signature-1. */
static const char cosign_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0\n"
    "vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==\n"
    "-----END PUBLIC KEY-----\n";
static const char cosign_payload[] =
    "{\"critical\":{\"identity\":{\"docker-reference\":\"192.168.64.2:5000/"
    "cosign-signed-single-sample\"},\"image\":{\"docker-manifest-digest\":\"sha256:"
    "634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00\"},\"type\":\"cosign "
    "container image signature\"},\"optional\":null}";
static const char cosign_sig[] =
    "MEYCIQDmtamqYPjMg81nqeBhptrPls44aA/r7PwLmspINJY4MwIhANKRpqe2E9UCBtGF"
    "dPoz/8jAbaQm4uP4h+IpwKTE6ClR";
#define SIGNED_DIGEST "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"

static struct st_sign_key *load_pub(const char *pem)
{
	struct st_sign_key *k = NULL;
	OK(st_sign_key_load_public(pem, strlen(pem), "cosign.pub", &k, err));
	return k;
}

static void payload_is_byte_for_byte_cosigns(void **state)
{
	struct st_buf b = ST_BUF_INIT;
	st_sign_payload_make("192.168.64.2:5000/cosign-signed-single-sample", SIGNED_DIGEST, NULL,
			     &b);
	assert_string_equal(b.data, cosign_payload);
	st_buf_reset(&b);

	struct st_image_map opt = { 0 };
	st_image_map_set(&opt, "z", "last");
	st_image_map_set(&opt, "a", "first");
	st_sign_payload_make("r", SIGNED_DIGEST, &opt, &b);
	assert_non_null(strstr(b.data, "\"optional\":{\"a\":\"first\",\"z\":\"last\"}}"));
	struct st_sign_payload p;
	OK(st_sign_payload_parse(b.data, b.len, &p, err));
	assert_string_equal(p.docker_reference, "r");
	assert_string_equal(p.digest.str, SIGNED_DIGEST);
	assert_string_equal(p.type, ST_SIGN_PAYLOAD_TYPE);
	assert_string_equal(st_image_map_get(&p.optional, "z"), "last");
	st_sign_payload_release(&p);
	st_image_map_release(&opt);
	st_buf_release(&b);
}

static void payload_errors_name_the_field(void **state)
{
	struct st_sign_payload p;
	const char *bad[][2] = {
		{ "not json", "payload: not JSON" },
		{ "{}", "critical: missing" },
		{ "{\"critical\":{}}", "critical.identity.docker-reference: missing" },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"}}}",
		  "critical.image.docker-manifest-digest: missing" },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-"
		  "manifest-digest\":\"md5:x\"}}}",
		  "'md5:x' is not a sha256 digest" },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-"
		  "manifest-digest\":\"" SIGNED_DIGEST "\"}}}",
		  "critical.type: missing" },
		{ "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-"
		  "manifest-digest\":\"" SIGNED_DIGEST "\"},\"type\":\"t\"},\"optional\":[]}",
		  "optional: not an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		FAILS(st_sign_payload_parse(bad[i][0], strlen(bad[i][0]), &p, err), ST_E_PARSE,
		      bad[i][1]);
}

static void cosigns_signature_verifies(void **state)
{
	st_auto(st_sign_key) struct st_sign_key *pub = load_pub(cosign_pub);
	assert_false(st_sign_key_is_private(pub));
	OK(st_sign_data_verify(pub, cosign_payload, strlen(cosign_payload), cosign_sig, err));
	FAILS(st_sign_data_verify(pub, cosign_payload, strlen(cosign_payload) - 1, cosign_sig, err),
	      ST_E_INVALID, "does not verify against the key");
	FAILS(st_sign_data_verify(pub, cosign_payload, strlen(cosign_payload), "!!", err),
	      ST_E_INVALID, "not base64");

	struct st_sign_signature sig = { ST_SIGN_PAYLOAD_MEDIA_TYPE, cosign_payload,
					 strlen(cosign_payload), cosign_sig };
	char **ok = NULL;
	size_t n = 0;
	/* Any tag of the signed repository is that repository. */
	OK(st_sign_verify_signatures(pub, SIGNED_DIGEST,
				     "192.168.64.2:5000/cosign-signed-single-sample", &sig, 1, &ok,
				     &n, err));
	assert_int_equal(n, 1);
	assert_string_equal(ok[0], cosign_payload);
	for (size_t i = 0; i < n; i++)
		free(ok[i]);
	free(ok);
	FAILS(st_sign_verify_signatures(pub, SIGNED_DIGEST, "other/repo", &sig, 1, &ok, &n, err),
	      ST_E_INVALID,
	      "signature 1: the payload's docker-reference "
	      "'192.168.64.2:5000/cosign-signed-single-sample' is not repository 'other/repo'");
	const char *other =
	    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	FAILS(st_sign_verify_signatures(pub, other, NULL, &sig, 1, &ok, &n, err), ST_E_INVALID,
	      "signature 1: the payload signs manifest " SIGNED_DIGEST
	      ", not this image's sha256:1111");
	sig.media_type = "text/plain";
	FAILS(st_sign_verify_signatures(pub, SIGNED_DIGEST, NULL, &sig, 1, &ok, &n, err),
	      ST_E_INVALID, "a 'text/plain' payload, not a simple-signing signature");
	FAILS(st_sign_verify_signatures(pub, SIGNED_DIGEST, NULL, &sig, 0, &ok, &n, err),
	      ST_E_NOTFOUND, "no signatures found");
}

static void generated_key_round_trips(void **state)
{
	st_auto(st_sign_key) struct st_sign_key *k = NULL;
	OK(st_sign_key_generate(&k, err));
	struct st_buf priv = ST_BUF_INIT, pub = ST_BUF_INIT;
	OK(st_sign_key_private_pem(k, "pw", &priv, err));
	OK(st_sign_key_public_pem(k, &pub, err));
	assert_non_null(strstr(priv.data, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"));
	assert_null(strstr(priv.data, "Proc-Type")); /* no PEM headers: cosign writes none */

	struct st_sign_sealed_key sealed;
	OK(st_sign_sealed_key_parse(priv.data, priv.len, "k", &sealed, err));
	assert_int_equal(sealed.scrypt_n, ST_SIGN_SCRYPT_N);
	assert_int_equal(sealed.scrypt_r, 8);
	assert_int_equal(sealed.scrypt_p, 1);
	assert_int_equal(sealed.salt_len, 32);
	st_auto(st_sign_key) struct st_sign_key *again = NULL;
	FAILS(st_sign_sealed_key_open(&sealed, "wrong", &again, err), ST_E_INVALID,
	      "wrong password");
	OK(st_sign_sealed_key_open(&sealed, "pw", &again, err));
	st_sign_sealed_key_release(&sealed);

	char *sig = NULL;
	OK(st_sign_data(again, "data", 4, &sig, err));
	st_auto(st_sign_key) struct st_sign_key *p = load_pub(pub.data);
	OK(st_sign_data_verify(p, "data", 4, sig, err));
	FAILS(st_sign_data(p, "data", 4, &sig, err), ST_E_INVALID, "needs a private key");
	free(sig);
	st_buf_release(&priv);
	st_buf_release(&pub);
}

/* A docker-reference names its repository whatever its tag and however Docker Hub is spelled. */
static void identity_is_the_repository(void **state)
{
	st_auto(st_sign_key) struct st_sign_key *k = NULL;
	OK(st_sign_key_generate(&k, err));
	const char *refs[][2] = {
		{ "index.docker.io/library/busybox", "docker.io/library/busybox" },
		{ "busybox:1.36", "docker.io/library/busybox" },
		{ "localhost:5000/a/b:tag", "localhost:5000/a/b" },
	};
	for (size_t i = 0; i < sizeof(refs) / sizeof(*refs); i++) {
		struct st_buf payload = ST_BUF_INIT;
		st_sign_payload_make(refs[i][0], SIGNED_DIGEST, NULL, &payload);
		char *b64 = NULL;
		OK(st_sign_data(k, payload.data, payload.len, &b64, err));
		struct st_sign_signature sig = { ST_SIGN_PAYLOAD_MEDIA_TYPE, payload.data,
						 payload.len, b64 };
		char **ok = NULL;
		size_t n = 0;
		OK(st_sign_verify_signatures(k, SIGNED_DIGEST, refs[i][1], &sig, 1, &ok, &n, err));
		assert_int_equal(n, 1);
		free(ok[0]);
		free(ok);
		FAILS(st_sign_verify_signatures(k, SIGNED_DIGEST, "docker.io/library/other", &sig,
						1, &ok, &n, err),
		      ST_E_INVALID, "is not repository 'docker.io/library/other'");
		free(b64);
		st_buf_release(&payload);
	}
}

/* A sealed key PEM around 'json'. */
static void sealed_pem(const char *json, struct st_buf *out)
{
	size_t n = strlen(json);
	unsigned char *b64 = calloc(n / 3 * 4 + 5, 1);
	int o = EVP_EncodeBlock(b64, (const unsigned char *)json, (int)n);
	st_buf_addf(out, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n");
	for (int i = 0; i < o; i += 64)
		st_buf_addf(out, "%.64s\n", (const char *)b64 + i);
	st_buf_addf(out, "-----END ENCRYPTED COSIGN PRIVATE KEY-----\n");
	free(b64);
}

static void sealed_key_errors_name_the_field(void **state)
{
	const char *salt = "\"salt\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"";
	const char *nonce = "\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"";
	char json[1024];
	struct {
		const char *kdf, *cipher, *ct;
		enum st_errkind kind;
		const char *want;
	} cases[] = {
		{ "\"name\":\"pbkdf2\"", "\"name\":\"nacl/secretbox\"", "AAAA", ST_E_INVALID,
		  "kdf.name: 'pbkdf2', expected 'scrypt'" },
		{ "\"name\":\"scrypt\",\"params\":{\"N\":65536,\"r\":8,\"p\":1}",
		  "\"name\":\"aes\"", "AAAA", ST_E_INVALID, "cipher.name: 'aes'" },
		{ "\"name\":\"scrypt\",\"params\":{\"N\":65535,\"r\":8,\"p\":1}",
		  "\"name\":\"nacl/secretbox\"", "AAAA", ST_E_INVALID,
		  "kdf.params.N: 65535, expected a power of two" },
		{ "\"name\":\"scrypt\",\"params\":{\"N\":4194304,\"r\":8,\"p\":1}",
		  "\"name\":\"nacl/secretbox\"", "AAAA", ST_E_INVALID, "kdf.params.N: 4194304" },
		{ "\"name\":\"scrypt\",\"params\":{\"N\":1024,\"r\":8,\"p\":1}",
		  "\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"", "AAAA", ST_E_PARSE,
		  "cipher.nonce: 3 bytes, expected 24" },
		{ "\"name\":\"scrypt\",\"params\":{\"N\":1024,\"r\":8,\"p\":1}",
		  "\"name\":\"nacl/secretbox\"", "AAAA", ST_E_PARSE, "ciphertext: too short" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bool has_nonce = strstr(cases[i].cipher, "nonce") != NULL;
		snprintf(json, sizeof(json),
			 "{\"kdf\":{%s,%s},\"cipher\":{%s%s%s},\"ciphertext\":\"%s\"}",
			 cases[i].kdf, salt, cases[i].cipher, has_nonce ? "" : ",",
			 has_nonce ? "" : nonce, cases[i].ct);
		struct st_buf pem = ST_BUF_INIT;
		sealed_pem(json, &pem);
		struct st_sign_sealed_key k;
		FAILS(st_sign_sealed_key_parse(pem.data, pem.len, "k.key", &k, err), cases[i].kind,
		      cases[i].want);
		st_buf_release(&pem);
	}
	struct st_sign_sealed_key k;
	FAILS(st_sign_sealed_key_parse("junk", 4, "k.key", &k, err), ST_E_PARSE,
	      "k.key: no PEM block");
	FAILS(st_sign_sealed_key_parse(cosign_pub, strlen(cosign_pub), "k.key", &k, err),
	      ST_E_INVALID, "k.key: a 'PUBLIC KEY' PEM block");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(payload_is_byte_for_byte_cosigns),
		cmocka_unit_test(payload_errors_name_the_field),
		cmocka_unit_test(cosigns_signature_verifies),
		cmocka_unit_test(generated_key_round_trips),
		cmocka_unit_test(identity_is_the_repository),
		cmocka_unit_test(sealed_key_errors_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
