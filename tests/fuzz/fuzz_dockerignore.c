/*
 * fuzz_dockerignore: arbitrary bytes as a .dockerignore file, then matched against paths taken
 * from the same input. A pattern set either fails to parse with an error or answers every
 * query; nothing may crash, hang or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile/dockerignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first line is the path to match; the rest is the file. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : 0;
	char *path = malloc(plen + 1);
	memcpy(path, data, plen);
	path[plen] = 0;
	const char *text = nl ? (const char *)nl + 1 : (const char *)data;
	size_t tlen = nl ? size - plen - 1 : size;

	struct st_dockerignore *m = st_dockerignore_new();
	struct st_error *err = NULL;
	if (st_dockerignore_add_text(m, ".dockerignore", text, tlen, &err) == 0) {
		(void)st_dockerignore_matches(m, path);
		(void)st_dockerignore_may_include_under(m, path);
	}
	st_error_free(err);
	st_dockerignore_free(m);
	free(path);
	return 0;
}
