/*
 * fuzz_sign_key.c: cosign key files: the encrypted private key's PEM and JSON (up to the
 * password, whose scrypt is not the parser's business) and PKIX public keys.
 */
#include <stdint.h>

#include "sign/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_error *err = NULL;
	struct st_sign_sealed_key k;
	if (st_sign_sealed_key_parse(data, size, "fuzz", &k, &err) == 0)
		st_sign_sealed_key_release(&k);
	st_error_clear(&err);
	struct st_sign_key *pub = NULL;
	if (st_sign_key_load_public(data, size, "fuzz", &pub, &err) == 0)
		st_sign_key_free(pub);
	st_error_clear(&err);
	return 0;
}
