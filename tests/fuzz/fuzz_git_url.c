/*
 * fuzz_git_url: arbitrary bytes as a git URL (ADD's source, a build context): BuildKit's grammar,
 * with its "#ref:subdir" and "##key=value" fragments and its query form. Whether the bytes are a
 * git URL, and then either a parsed source or an error; nothing may crash or leak.
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
	(void)builder_git_is_url(s);
	struct git_source g;
	struct st_error *err = NULL;
	if (builder_git_parse(s, &g, &err) == 0)
		builder_git_source_release(&g);
	st_error_free(err);
	free(s);
	return 0;
}
