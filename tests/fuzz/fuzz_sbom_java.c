/* fuzz_sbom_java.c: Java archives (zip, with manifests, pom.properties and nested jars). */
#include <stdint.h>

#include "sbom/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_sbom_found f = { 0 };
	st_sbom_parse_java((const char *)data, size, "usr/share/java/x-1.0.jar", &f);
	for (size_t i = 0; i < f.n; i++)
		st_sbom_pkg_identify(&f.pkgs[i], &f.distro);
	st_sbom_found_release(&f);
	return 0;
}
