/*
 * fuzz_attest.c: the attestation manifests an index lists (index bytes come from archives and
 * registries) and --attest values. Nothing may crash; what is found names an attestation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "util/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **v = NULL;
	size_t n = 0;
	struct st_error *err = NULL;
	if (st_attest_for((const char *)data, size, NULL, &v, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (strncmp(v[i], "sha256:", 7) != 0)
				abort();
		st_strv_free(v, n);
	} else {
		st_error_free(err);
		err = NULL;
	}
	char *spec = malloc(size + 1);
	memcpy(spec, data, size);
	spec[size] = '\0';
	struct st_attest_opts o = { 0 };
	char *warning = NULL;
	if (st_attest_parse(spec, &o, &warning, &err) < 0)
		st_error_free(err);
	free(warning);
	free(spec);
	return 0;
}
