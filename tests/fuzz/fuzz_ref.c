/* fuzz_ref.c: reference and platform parsing; a parsed reference must print and re-parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct st_image_ref *r = NULL, *again = NULL;
	struct st_error *err = NULL;
	struct st_platform p;
	memcpy(s, data, size);
	s[size] = 0;
	if (st_image_ref_parse(s, &r, &err) == 0) {
		char *full = st_image_ref_string(r);
		char *fam = st_image_ref_familiar(r);
		char *name = st_image_ref_familiar_name(r);
		/* the full string is a fixed point of parse -> print */
		if (st_image_ref_parse(full, &again, &err) != 0)
			abort();
		char *full2 = st_image_ref_string(again);
		if (strcmp(full, full2) != 0)
			abort();
		free(full2);
		st_image_ref_free(again);
		free(full);
		free(fam);
		free(name);
		st_image_ref_free(r);
	}
	st_error_clear(&err);
	(void)st_image_ref_is_id(s);
	if (st_platform_parse(s, &p, &err) == 0) {
		struct st_buf b = ST_BUF_INIT;
		st_platform_format(&p, &b);
		st_buf_release(&b);
	}
	st_error_clear(&err);
	free(s);
	return 0;
}
