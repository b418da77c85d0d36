/*
 * fuzz_cache_doc: arbitrary bytes as a shared build cache a registry or a directory serves: a
 * manifest, a NUL, then the cache document. It either yields records or fails with an error;
 * nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t mlen = nul ? (size_t)(nul - data) : size;
	const uint8_t *doc = nul ? nul + 1 : data + size;
	size_t dlen = size - mlen - (nul ? 1 : 0);
	static const char *const from[] = { "type=local,src=/nonexistent" };
	struct st_builder_opts o = ST_BUILDER_OPTS_INIT;
	o.cache_from = from;
	o.n_cache_from = 1;
	struct builder_cache_share *c = NULL;
	struct st_error *err = NULL;
	if (builder_cache_share_new(&o, &c, &err) == 0) {
		char sum[ST_DIGEST_HEX_LEN + 1];
		if (builder_cache_share_parse(c, data, mlen, doc, dlen, &err) == 0)
			(void)builder_cache_share_sum(
			    c, "3b03546c9b713daa3530e9b7a8078208c4dbadfc1cf18f747054a093411fce8c",
			    sum);
		builder_cache_share_free(c);
	}
	st_error_free(err);
	return 0;
}
