/*
 * fuzz_sign_payload.c: cosign's simple-signing payload and containers/image's sigstore
 * signature files. A payload that parses is made again from what was read, and that must parse
 * to the same identity and digest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_error *err = NULL;
	struct st_sign_payload p, q;
	if (st_sign_payload_parse(data, size, &p, &err) == 0) {
		struct st_buf b = ST_BUF_INIT;
		st_sign_payload_make(p.docker_reference, p.digest.str, &p.optional, &b);
		if (st_sign_payload_parse(b.data, b.len, &q, &err) < 0 ||
		    strcmp(p.docker_reference, q.docker_reference) != 0 ||
		    strcmp(p.digest.str, q.digest.str) != 0 || q.optional.n != p.optional.n)
			abort();
		st_sign_payload_release(&q);
		st_sign_payload_release(&p);
		st_buf_release(&b);
	}
	st_error_clear(&err);
	struct st_sign_sigstore s;
	if (st_sign_sigstore_parse(data, size, "fuzz", &s, &err) == 0)
		st_sign_sigstore_release(&s);
	st_error_clear(&err);
	return 0;
}
