/* fuzz_expand.c: word expansion and splitting. The first byte picks the escape character. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char esc = (data[0] & 1) ? '`' : '\\';
	char *word = malloc(size);
	memcpy(word, data + 1, size - 1);
	word[size - 1] = 0;
	const char *kv[] = { "A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "B=x y  z",
			     "E=", "P=a/b/c.d" };
	struct st_dockerfile_env env = { .kv = kv, .nkv = 4 };
	struct st_error *err = NULL;
	char *out = NULL;
	if (st_dockerfile_expand(word, &env, esc, &out, &err) == 0)
		free(out);
	st_error_clear(&err);
	char **w = NULL;
	size_t n = 0;
	if (st_dockerfile_words(word, &env, esc, &w, &n, &err) == 0)
		st_dockerfile_strv_free(w);
	st_error_clear(&err);
	free(word);
	return 0;
}
