/*
 * fuzz_build_spec: arbitrary bytes as the value of strata build's -o (type=oci,dest=x,"name=a,b")
 * and of --build-context (name=docker-image://ref, name=oci-layout://dir@sha256:...). Each either
 * parses or fails with an error; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	struct st_error *err = NULL;
	struct st_builder_output out = ST_BUILDER_OUTPUT_INIT;
	(void)st_builder_output_parse(s, &out, &err);
	st_builder_output_release(&out);
	st_error_clear(&err);
	struct st_builder_context c;
	(void)st_builder_context_parse(s, &c, &err);
	st_builder_context_release(&c);
	st_error_free(err);
	free(s);
	return 0;
}
