/* fuzz_sbom_rpm.c: rpm's SQLite database and the header blobs in its Packages table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbom/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the parser changes the bytes it reads (the journal mode) */
	char *b = malloc(size ? size : 1);
	memcpy(b, data, size);
	struct st_sbom_found f = { 0 };
	st_sbom_parse_rpmdb(b, size, "var/lib/rpm/rpmdb.sqlite", &f);
	for (size_t i = 0; i < f.n; i++)
		st_sbom_pkg_identify(&f.pkgs[i], &f.distro);
	st_sbom_found_release(&f);
	free(b);
	return 0;
}
