/*
 * fuzz_tar: arbitrary bytes as a layer (any compression) extracted into a fresh temp dir.
 * Whatever the input, nothing may appear next to the extraction root, and nothing may crash
 * or leak. The low bit of the size picks apply or overlay mode.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "layer/layer.h"
#include "util/buf.h"
#include "util/fs.h"

struct mem {
	const uint8_t *p;
	size_t len, pos;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct mem *m = ctx;
	size_t k = m->len - m->pos;
	if (k > n)
		k = n;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

/* Only 'root' may exist in the base directory after extraction. */
static void check_base(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		abort();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "root")) {
			fprintf(stderr, "fuzz_tar: '%s' written outside the root\n", de->d_name);
			abort();
		}
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char base[] = "/tmp/fuzz_tar.XXXXXX";
	if (!mkdtemp(base))
		abort();
	char *root = st_path_join(base, "root");
	if (mkdir(root, 0755) < 0)
		abort();
	struct mem m = { data, size, 0 };
	struct st_layer_source src = { mem_read, &m };
	struct st_layer_extract_opts o = {
		.mode = (size & 1) ? ST_LAYER_EXTRACT_OVERLAY : ST_LAYER_EXTRACT_APPLY,
	};
	struct st_error *err = NULL;
	struct st_digest d;
	(void)st_layer_extract(src, root, &o, &d, &err);
	st_error_free(err);
	err = NULL;
	check_base(base);
	if (st_rm_rf(base, &err) < 0)
		abort();
	free(root);
	return 0;
}
