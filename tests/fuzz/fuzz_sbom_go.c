/* fuzz_sbom_go.c: the build information of a Go executable, from its magic on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbom/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the magic is what the scan found: the fuzzer varies what follows it */
	char *b = malloc(ST_SBOM_GO_MAGIC_LEN + size);
	memcpy(b, ST_SBOM_GO_MAGIC, ST_SBOM_GO_MAGIC_LEN);
	memcpy(b + ST_SBOM_GO_MAGIC_LEN, data, size);
	struct st_sbom_found f = { 0 };
	st_sbom_parse_go_buildinfo(b, ST_SBOM_GO_MAGIC_LEN + size, "usr/bin/x", &f);
	for (size_t i = 0; i < f.n; i++)
		st_sbom_pkg_identify(&f.pkgs[i], &f.distro);
	st_sbom_found_release(&f);
	free(b);
	return 0;
}
