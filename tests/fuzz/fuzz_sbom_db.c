/*
 * fuzz_sbom_db.c: the package databases a layer can carry, as text: dpkg's status, Debian
 * copyright files, apk's installed, Python's METADATA, npm's package.json, os-release. The
 * first byte picks the parser; whatever the bytes, a parser only warns.
 */
#include <stdint.h>

#include "sbom/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct st_sbom_found f = { 0 };
	switch (data[0] % 6) {
	case 0:
		st_sbom_parse_dpkg(text, len, "var/lib/dpkg/status", &f);
		break;
	case 1:
		st_sbom_parse_copyright(text, len, &f);
		break;
	case 2:
		st_sbom_parse_apk(text, len, "lib/apk/db/installed", &f);
		break;
	case 3:
		st_sbom_parse_python(text, len, "x.dist-info/METADATA", &f);
		break;
	case 4:
		st_sbom_parse_npm(text, len, "node_modules/x/package.json", &f);
		break;
	case 5:
		st_sbom_parse_os_release(text, len, &f);
		break;
	}
	/* what was found must make a purl and CPEs whatever its fields hold */
	for (size_t i = 0; i < f.n; i++)
		st_sbom_pkg_identify(&f.pkgs[i], &f.distro);
	st_sbom_found_release(&f);
	return 0;
}
