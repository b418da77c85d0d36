/*
 * fuzz_mount: arbitrary bytes as a RUN --mount value (type=cache,target=/x,sharing=locked...).
 * It either parses into a canonical form for the cache key or fails with an error; nothing may
 * crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	struct st_buf canon = ST_BUF_INIT;
	struct st_error *err = NULL;
	(void)builder_mount_spec_check(s, &canon, &err);
	st_error_free(err);
	st_buf_release(&canon);
	free(s);
	return 0;
}
