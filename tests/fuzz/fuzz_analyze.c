/*
 * fuzz_analyze: arbitrary bytes as an image archive read in place by `strata dive
 * docker-archive:F` / `oci-archive:F` (manifest.json, index.json, manifests, configs, entry
 * names) and every layer of the image it names analysed (tar entries, whiteouts, hardlinks).
 * Whatever the input, the analysis either fails with an error or gives its figures; nothing
 * may crash, hang or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "archive/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_analyze", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct st_error *err = NULL;
	struct st_archive_image *img = NULL;
	if (st_archive_image_open(path, ST_ARCHIVE_UNKNOWN, NULL, NULL, &img, &err) == 0) {
		struct st_local_layers in;
		st_archive_image_layers(img, &in);
		struct st_analyze *a = NULL;
		if (st_analyze_read(&in, NULL, &a, &err) == 0) {
			struct st_analyze_diff_entry *v = NULL;
			size_t nv = 0;
			st_analyze_diff(a, a, &v, &nv);
			st_analyze_diff_free(v, nv);
		}
		st_analyze_free(a);
	}
	st_error_free(err);
	st_archive_image_free(img);
	close(fd);
	return 0;
}
